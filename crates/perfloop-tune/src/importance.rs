//! Which knobs matter: the share of the objective's variance each knob explains.
//!
//! The method is a first-order, functional-ANOVA-like effect computed from the trials alone
//! (no surrogate model):
//!
//! 1. Only successful trials count (an objective that is a number).
//! 2. For each knob, trials are grouped by the knob's value: by category for categorical and
//!    boolean knobs; by value for numeric knobs with few distinct values, otherwise into
//!    `round(sqrt(n))` (2 to 10) quantile bins of the observed values.
//! 3. The knob's effect is epsilon-squared, the between-group sum of squares corrected for
//!    the share that chance alone would explain with that many groups:
//!    `max(0, (SS_between - (k - 1) * MS_within) / SS_total)`. Without the correction a knob
//!    that does not matter would still "explain" about `(k - 1) / (n - 1)` of the variance.
//! 4. The effects are normalised to shares summing to 1 (all zero when no knob has an
//!    effect or the objective does not vary).
//!
//! First-order effects miss pure interactions (a knob that matters only through another):
//! they rank knobs for a report, they do not prove a knob irrelevant.

use std::collections::BTreeMap;

use crate::sampler::Trial;
use crate::space::Space;

/// One knob's importance.
#[derive(Debug, Clone, PartialEq)]
pub struct KnobImportance {
    /// The knob's name.
    pub name: String,
    /// Epsilon-squared: the share of the objective's variance the knob explains alone,
    /// corrected for chance, in `[0, 1]`.
    pub effect: f64,
    /// `effect` normalised over all knobs: the shares sum to 1 (or are all 0).
    pub share: f64,
}

/// Most quantile bins a numeric knob is split into.
const MAX_BINS: usize = 10;

/// The importance of every knob of `space` from `trials`, most important first (ties in
/// knob order). Trials without an objective, or missing a knob, are ignored.
#[must_use]
#[allow(clippy::cast_precision_loss)]
pub fn importance(space: &Space, trials: &[Trial]) -> Vec<KnobImportance> {
    let usable: Vec<&Trial> = trials
        .iter()
        .filter(|t| t.value().is_some_and(f64::is_finite))
        .filter(|t| space.knobs().iter().all(|k| t.config.contains_key(&k.name)))
        .collect();
    let ys: Vec<f64> = usable.iter().filter_map(|t| t.value()).collect();
    let n = ys.len();
    let mean = ys.iter().sum::<f64>() / n.max(1) as f64;
    let ss_total: f64 = ys.iter().map(|y| (y - mean).powi(2)).sum();

    let mut out: Vec<KnobImportance> = space
        .knobs()
        .iter()
        .map(|knob| {
            let groups = group_of(knob, &usable);
            let effect = if n < 3 || ss_total <= 0.0 {
                0.0
            } else {
                epsilon_squared(&groups, &ys, mean, ss_total)
            };
            KnobImportance {
                name: knob.name.clone(),
                effect,
                share: 0.0,
            }
        })
        .collect();
    let sum: f64 = out.iter().map(|k| k.effect).sum();
    if sum > 0.0 {
        for k in &mut out {
            k.share = k.effect / sum;
        }
    }
    out.sort_by(|a, b| b.share.total_cmp(&a.share));
    out
}

/// The group index of each trial for this knob.
#[allow(
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss
)]
fn group_of(knob: &crate::space::Knob, trials: &[&Trial]) -> Vec<usize> {
    let values: Vec<Option<f64>> = trials
        .iter()
        .map(|t| t.config.get(&knob.name).and_then(|v| knob.to_unit(v)))
        .collect();
    if !knob.is_numeric() || values.iter().any(Option::is_none) {
        // By exact value (categories, or numeric knobs with odd values).
        let mut ids: BTreeMap<String, usize> = BTreeMap::new();
        return trials
            .iter()
            .map(|t| {
                let key = t
                    .config
                    .get(&knob.name)
                    .map(ToString::to_string)
                    .unwrap_or_default();
                let next = ids.len();
                *ids.entry(key).or_insert(next)
            })
            .collect();
    }
    let xs: Vec<f64> = values.into_iter().flatten().collect();
    let mut distinct = xs.clone();
    distinct.sort_by(f64::total_cmp);
    distinct.dedup();
    let bins = ((xs.len() as f64).sqrt().round() as usize).clamp(2, MAX_BINS);
    if distinct.len() <= bins {
        return xs
            .iter()
            .map(|x| distinct.partition_point(|d| d < x))
            .collect();
    }
    // Quantile cut points of the observed values; equal values share a bin.
    let mut sorted = xs.clone();
    sorted.sort_by(f64::total_cmp);
    let cuts: Vec<f64> = (1..bins).map(|b| sorted[b * sorted.len() / bins]).collect();
    xs.iter()
        .map(|x| cuts.partition_point(|c| c <= x))
        .collect()
}

#[allow(clippy::cast_precision_loss)]
fn epsilon_squared(groups: &[usize], ys: &[f64], mean: f64, ss_total: f64) -> f64 {
    let mut sums: BTreeMap<usize, (f64, usize)> = BTreeMap::new();
    for (g, y) in groups.iter().zip(ys) {
        let e = sums.entry(*g).or_insert((0.0, 0));
        e.0 += y;
        e.1 += 1;
    }
    let k = sums.len();
    let n = ys.len();
    if k < 2 || n <= k {
        return 0.0;
    }
    let ss_between: f64 = sums
        .values()
        .map(|(s, c)| *c as f64 * (s / *c as f64 - mean).powi(2))
        .sum();
    let ms_within = (ss_total - ss_between).max(0.0) / (n - k) as f64;
    ((ss_between - (k - 1) as f64 * ms_within) / ss_total).clamp(0.0, 1.0)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::sampler::{RandomSampler, Sampler};
    use crate::space::{Knob, Value};

    fn trials(space: &Space, f: impl Fn(&crate::space::Config) -> Option<f64>) -> Vec<Trial> {
        let mut sampler = RandomSampler::new(5);
        let mut history = Vec::new();
        for _ in 0..80 {
            let config = sampler.suggest(space, &history);
            history.push(Trial {
                objective: f(&config),
                config,
            });
        }
        history
    }

    #[test]
    fn the_knob_that_matters_dominates() {
        let space = Space::new(vec![
            Knob::int("noise", 1, 100, 50),
            Knob::int_log("batch", 1, 4096, 64),
            Knob::categorical("algo", &["a", "b", "c"], "a"),
        ])
        .unwrap();
        let history = trials(&space, |c| {
            let b = c["batch"].as_f64().unwrap();
            Some(1000.0 - 20.0 * (b.ln() - 5.0).powi(2))
        });
        let imp = importance(&space, &history);
        assert_eq!(imp[0].name, "batch");
        assert!(imp[0].share > 0.9, "{imp:?}");
        let sum: f64 = imp.iter().map(|k| k.share).sum();
        assert!((sum - 1.0).abs() < 1e-9);
    }

    #[test]
    fn categorical_effect_and_failed_trials_ignored() {
        let space = Space::new(vec![
            Knob::float("x", 0.0, 1.0, 0.5),
            Knob::categorical("algo", &["a", "b", "c"], "a"),
        ])
        .unwrap();
        let history = trials(&space, |c| match &c["algo"] {
            Value::Str(s) if s == "a" => Some(10.0),
            Value::Str(s) if s == "b" => Some(20.0),
            _ => None,
        });
        let imp = importance(&space, &history);
        assert_eq!(imp[0].name, "algo");
        assert!((imp[0].share - 1.0).abs() < 1e-9, "{imp:?}");
        assert_eq!(imp[1].share, 0.0);
    }

    #[test]
    fn constant_objective_gives_no_importance() {
        let space = Space::new(vec![Knob::int("w", 1, 8, 1)]).unwrap();
        let imp = importance(&space, &trials(&space, |_| Some(3.0)));
        assert_eq!(imp[0].share, 0.0);
        assert!(importance(&space, &[]).iter().all(|k| k.share == 0.0));
    }
}
