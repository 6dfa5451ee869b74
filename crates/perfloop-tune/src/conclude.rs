//! The study's conclusion, from its trials alone: the best objective so far, the
//! finalists against the baseline of the same rounds, the best configuration with its gain
//! and 95 % confidence interval, and the knobs' importance.
//!
//! A finalist wins only when its gain is significant: the whole interval lies on the
//! better side of no change. Otherwise the defaults stand, and the best finalist is named
//! as the runner-up. This guards against the winner's curse: the exploration's best trial
//! is the luckiest as much as the best, so only the confirmation rounds are compared.

use std::collections::BTreeMap;

use perfloop_stats::sample::{PairedChange, paired_difference, paired_ratio};

use crate::importance::{KnobImportance, importance};
use crate::sampler::Trial;
use crate::schedule::{finalists, score};
use crate::space::Config;
use crate::study::{Objective, STUDY_METRICS, Study};
use crate::trials::{Done, TrialMetrics, TrialRole, TrialState};

/// The confidence level of every interval.
const LEVEL: f64 = 0.95;

/// A measured change against the baseline, with its 95 % confidence interval.
///
/// For a single metric (maximize or minimize) the change is a ratio, the geometric mean of
/// the per-round ratios candidate ÷ baseline, and its interval comes from Student's t on
/// the logarithms of those ratios; `percent` is `(ratio − 1) × 100`, so a latency that falls
/// has a negative percent. For a weighted score it is the mean per-round difference with
/// Student's t on the differences, and `percent` is that difference over the baseline's
/// mean score (its magnitude).
#[derive(Debug, Clone, PartialEq)]
pub struct Gain {
    /// `log_ratio` or `difference`.
    pub method: &'static str,
    /// Paired rounds used.
    pub pairs: usize,
    /// The change in percent of the baseline.
    pub percent: f64,
    /// The 95 % interval of that change; `None` with fewer than 2 pairs.
    pub ci95_low_pct: Option<f64>,
    /// Upper end of the interval.
    pub ci95_high_pct: Option<f64>,
    /// Whether the interval lies wholly on the better side of no change.
    pub significant: bool,
}

/// A finalist re-measured against the baseline.
#[derive(Debug, Clone, PartialEq)]
pub struct Finalist {
    /// Its configuration.
    pub config: Config,
    /// Its objective in exploration (the trial that made it a finalist).
    pub explored: f64,
    /// Its objective in each confirmation round; `None` where that measurement failed.
    pub rounds: Vec<Option<f64>>,
    /// The mean of its complete rounds.
    pub mean: Option<f64>,
    /// Its gain over the baseline of the same rounds.
    pub gain: Option<Gain>,
}

/// The study's conclusion.
#[derive(Debug, Clone, PartialEq)]
pub struct Best {
    /// The configuration to use: the best finalist when its gain is significant, otherwise
    /// the defaults.
    pub config: Config,
    /// Whether that configuration is the defaults.
    pub is_default: bool,
    /// The knobs whose value differs from the default.
    pub changed: Vec<String>,
    /// Its objective: the mean of its confirmation rounds (of its exploration trial when
    /// nothing was confirmed).
    pub objective: f64,
    /// The baseline's objective over the same rounds.
    pub baseline_objective: Option<f64>,
    /// Its gain over the baseline; `None` when nothing was paired.
    pub gain: Option<Gain>,
    /// The baseline's metrics by name (means over the confirmation rounds).
    pub before: BTreeMap<String, f64>,
    /// The best configuration's metrics over the same rounds.
    pub after: BTreeMap<String, f64>,
    /// The best finalist that did not make it, when its gain was not significant.
    pub runner_up: Option<Config>,
}

/// The best objective among the complete exploration trials so far, after each trial.
#[must_use]
pub fn best_so_far(study: &Study, done: &[Done]) -> Vec<Option<f64>> {
    let mut best: Option<f64> = None;
    done.iter()
        .map(|d| {
            if d.explores() && d.state == TrialState::Complete {
                if let Some(v) = d.objective {
                    let better = best
                        .is_none_or(|b| score(&study.objective, v) > score(&study.objective, b));
                    if better {
                        best = Some(v);
                    }
                }
            }
            best
        })
        .collect()
}

/// One configuration's confirmation rounds: the objective and the metrics of each.
struct Rounds {
    objective: Vec<Option<f64>>,
    metrics: Vec<Option<TrialMetrics>>,
}

fn rounds(study: &Study, done: &[Done], config: &Config) -> Rounds {
    let n = study.budget.confirm_rounds as usize;
    let mut objective = vec![None; n];
    let mut metrics = vec![None; n];
    for d in done {
        let Some(round) = d.round else { continue };
        let r = round as usize;
        if r < n && &d.config == config && d.state == TrialState::Complete {
            objective[r] = d.objective;
            metrics[r] = Some(d.metrics.clone());
        }
    }
    Rounds { objective, metrics }
}

fn mean(values: &[Option<f64>]) -> Option<f64> {
    let v: Vec<f64> = values.iter().flatten().copied().collect();
    perfloop_stats::sample::mean(&v)
}

/// The gain of `candidate` over `baseline`, round by round.
fn gain(study: &Study, baseline: &[Option<f64>], candidate: &[Option<f64>]) -> Option<Gain> {
    let (method, change): (&'static str, PairedChange) = match &study.objective {
        Objective::Weighted(_) => ("difference", paired_difference(baseline, candidate, LEVEL)?),
        _ => ("log_ratio", paired_ratio(baseline, candidate, LEVEL)?),
    };
    let to_pct: Box<dyn Fn(f64) -> f64> = if method == "difference" {
        let base = mean(baseline)?.abs();
        if base < 1e-12 {
            return None;
        }
        Box::new(move |d| d / base * 100.0)
    } else {
        Box::new(|r| (r - 1.0) * 100.0)
    };
    let percent = to_pct(change.estimate);
    let (low, high) = match change.interval {
        Some((l, h)) => (Some(to_pct(l)), Some(to_pct(h))),
        None => (None, None),
    };
    let significant = match (study.objective.maximizes(), low, high) {
        (true, Some(l), _) => l > 0.0,
        (false, _, Some(h)) => h < 0.0,
        _ => false,
    };
    Some(Gain {
        method,
        pairs: change.pairs,
        percent,
        ci95_low_pct: low,
        ci95_high_pct: high,
        significant,
    })
}

/// The mean of each metric over the rounds where both were measured.
fn mean_metrics(
    rounds: &[Option<TrialMetrics>],
    paired_with: &[Option<TrialMetrics>],
) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for metric in STUDY_METRICS {
        let values: Vec<f64> = rounds
            .iter()
            .zip(paired_with)
            .filter(|(_, p)| p.is_some())
            .filter_map(|(r, _)| r.as_ref()?.get(&metric).copied())
            .filter(|v| v.is_finite())
            .collect();
        if let Some(m) = perfloop_stats::sample::mean(&values) {
            out.insert(metric.name().to_string(), m);
        }
    }
    out
}

/// The finalists measured against the baseline, best first.
#[must_use]
pub fn finalist_table(study: &Study, done: &[Done]) -> Vec<Finalist> {
    let default = study.space.default_config();
    let baseline = rounds(study, done, &default);
    let mut out: Vec<Finalist> = finalists(study, done)
        .iter()
        .map(|config| {
            let r = rounds(study, done, config);
            let explored = done
                .iter()
                .filter(|d| d.explores() && &d.config == config)
                .find_map(|d| d.objective)
                .unwrap_or(f64::NAN);
            Finalist {
                config: config.clone(),
                explored,
                mean: mean(&r.objective),
                gain: gain(study, &baseline.objective, &r.objective),
                rounds: r.objective,
            }
        })
        .filter(|f| !(f.explored.is_nan() || f.rounds.iter().all(Option::is_none)))
        .collect();
    let key = |f: &Finalist| {
        f.mean
            .map_or(f64::NEG_INFINITY, |m| score(&study.objective, m))
    };
    out.sort_by(|a, b| key(b).total_cmp(&key(a)));
    out
}

/// The confirmation rounds in which `config` failed or broke a constraint: such a
/// configuration cannot win, however fast it was in the other rounds.
#[must_use]
pub fn broken_rounds(done: &[Done], config: &Config) -> Vec<u32> {
    done.iter()
        .filter(|d| &d.config == config)
        .filter(|d| matches!(d.state, TrialState::Failed | TrialState::Violated))
        .filter_map(|d| d.round)
        .collect()
}

/// Why finalists were passed over, one sentence each.
#[must_use]
pub fn passed_over(study: &Study, done: &[Done]) -> Vec<String> {
    finalists(study, done)
        .iter()
        .filter_map(|config| {
            let rounds = broken_rounds(done, config);
            (!rounds.is_empty()).then(|| {
                let knobs = config
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(" ");
                let rounds = rounds
                    .iter()
                    .map(|r| (r + 1).to_string())
                    .collect::<Vec<_>>()
                    .join(", ");
                format!(
                    "finalist {knobs} failed or broke a constraint in confirmation round {rounds}: \
                     it cannot win"
                )
            })
        })
        .collect()
}

/// The study's conclusion; `None` when no configuration completed. The winner is the best
/// finalist that completed every confirmation round it ran, if its gain is significant.
#[must_use]
pub fn best(study: &Study, done: &[Done], finalists: &[Finalist]) -> Option<Best> {
    let default = study.space.default_config();
    let baseline = rounds(study, done, &default);
    let changed = |config: &Config| -> Vec<String> {
        config
            .iter()
            .filter(|(k, v)| default.get(*k) != Some(v))
            .map(|(k, _)| k.clone())
            .collect()
    };
    let confirmed = finalists
        .iter()
        .filter(|f| f.mean.is_some())
        .find(|f| broken_rounds(done, &f.config).is_empty());
    if let Some(top) = confirmed {
        let top_config = &top.config;
        let r = rounds(study, done, top_config);
        let wins = top.gain.as_ref().is_some_and(|g| g.significant);
        let before = mean_metrics(&baseline.metrics, &r.metrics);
        let after = mean_metrics(&r.metrics, &baseline.metrics);
        let baseline_objective = mean(
            &baseline
                .objective
                .iter()
                .zip(&r.objective)
                .map(|(b, c)| c.and(*b))
                .collect::<Vec<_>>(),
        );
        if wins {
            return Some(Best {
                config: top.config.clone(),
                is_default: false,
                changed: changed(top_config),
                objective: top.mean?,
                baseline_objective,
                gain: top.gain.clone(),
                before,
                after,
                runner_up: None,
            });
        }
        let base_mean = mean(&baseline.objective)?;
        let all = mean_metrics(&baseline.metrics, &baseline.metrics);
        return Some(Best {
            config: default.clone(),
            is_default: true,
            changed: Vec::new(),
            objective: base_mean,
            baseline_objective: Some(base_mean),
            gain: None,
            before: all.clone(),
            after: all,
            runner_up: Some(top.config.clone()),
        });
    }
    // Every finalist broke a round: none of them can win, and the defaults, measured in the
    // same rounds, stand.
    if !finalists.is_empty() {
        if let Some(base_mean) = mean(&baseline.objective) {
            let all = mean_metrics(&baseline.metrics, &baseline.metrics);
            return Some(Best {
                config: default.clone(),
                is_default: true,
                changed: Vec::new(),
                objective: base_mean,
                baseline_objective: Some(base_mean),
                gain: None,
                before: all.clone(),
                after: all,
                runner_up: None,
            });
        }
    }
    // Nothing confirmed: the best complete trial of the exploration, unconfirmed.
    let best = done
        .iter()
        .filter(|d| d.explores() && d.state == TrialState::Complete)
        .filter_map(|d| Some((d, score(&study.objective, d.objective?))))
        .max_by(|a, b| a.1.total_cmp(&b.1))?
        .0;
    let baselines: Vec<&Done> = done
        .iter()
        .filter(|d| d.role == TrialRole::Baseline && d.state == TrialState::Complete)
        .collect();
    let baseline_objective = perfloop_stats::sample::mean(
        &baselines
            .iter()
            .filter_map(|d| d.objective)
            .collect::<Vec<_>>(),
    );
    let before: Vec<Option<TrialMetrics>> =
        baselines.iter().map(|d| Some(d.metrics.clone())).collect();
    Some(Best {
        config: best.config.clone(),
        is_default: best.config == default,
        changed: changed(&best.config),
        objective: best.objective?,
        baseline_objective,
        gain: None,
        before: mean_metrics(&before, &before),
        after: mean_metrics(&[Some(best.metrics.clone())], &[Some(TrialMetrics::new())]),
        runner_up: None,
    })
}

/// Each knob's share of the variation of the exploration's objective, largest first;
/// empty when there is no ranking to show.
#[must_use]
pub fn knob_shares(study: &Study, done: &[Done]) -> Vec<KnobImportance> {
    let trials: Vec<Trial> = done
        .iter()
        .filter(|d| d.explores() && d.counts())
        .map(|d| Trial {
            config: d.config.clone(),
            objective: match d.state {
                TrialState::Complete => d.objective.map(|v| score(&study.objective, v)),
                _ => None,
            },
        })
        .collect();
    let shares = importance(&study.space, &trials);
    // All zero: too few complete trials, or none of the knobs explains anything beyond
    // chance; either way there is no ranking to show.
    if shares.iter().all(|s| s.share <= 0.0) {
        return Vec::new();
    }
    shares
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use perfloop_stats::Metric;

    use super::*;
    use crate::space::Value;

    const STUDY: &str = r#"
name = "s"
[target]
bench = "work --threads {threads}"
[knobs.threads]
type = "int"
low = 1
high = 16
default = 4
[objective]
OBJECTIVE
[budget]
trials = 3
finalists = 1
confirm_rounds = 3
"#;

    fn study(objective: &str) -> Study {
        Study::parse(&STUDY.replace("OBJECTIVE", objective)).unwrap()
    }

    fn config(threads: i64) -> Config {
        Config::from([("threads".to_string(), Value::Int(threads))])
    }

    fn trial(number: u32, role: TrialRole, round: Option<u32>, threads: i64, value: f64) -> Done {
        Done {
            number,
            role,
            round,
            config: config(threads),
            state: TrialState::Complete,
            objective: Some(value),
            metrics: TrialMetrics::from([
                (Metric::Throughput, value),
                (Metric::P99, 1000.0 / value),
            ]),
            reason: None,
            duration_s: 1.0,
        }
    }

    /// Exploration: the defaults (4 threads) at `base`, 8 threads at `explored`; then three
    /// rounds of the defaults and 8 threads at the values given.
    fn history(base: f64, explored: f64, rounds: &[(f64, f64)]) -> Vec<Done> {
        let mut done = vec![
            trial(0, TrialRole::Baseline, None, 4, base),
            trial(1, TrialRole::Explore, None, 8, explored),
            trial(2, TrialRole::Explore, None, 2, base / 2.0),
        ];
        for (r, (b, c)) in rounds.iter().enumerate() {
            let r32 = u32::try_from(r).unwrap();
            let n = u32::try_from(done.len()).unwrap();
            done.push(trial(n, TrialRole::Baseline, Some(r32), 4, *b));
            done.push(trial(n + 1, TrialRole::Confirm, Some(r32), 8, *c));
        }
        done
    }

    #[test]
    fn a_confirmed_gain_wins_with_its_interval() {
        let s = study("maximize = \"throughput\"");
        let done = history(
            100.0,
            150.0,
            &[(100.0, 121.0), (90.0, 108.0), (110.0, 130.0)],
        );
        let finalists = finalist_table(&s, &done);
        assert_eq!(finalists.len(), 1);
        let best = best(&s, &done, &finalists).unwrap();
        assert!(!best.is_default);
        assert_eq!(best.changed, ["threads"]);
        let gain = best.gain.unwrap();
        // Ratios 1.21, 1.2, 1.1818: the geometric mean, not the exploration's 1.5.
        assert!((gain.percent - 19.72).abs() < 0.05, "{gain:?}");
        assert!(
            gain.significant && gain.ci95_low_pct.unwrap() > 15.0,
            "{gain:?}"
        );
        assert!((best.objective - 119.667).abs() < 0.01);
        assert!((best.before["throughput"] - 100.0).abs() < 1e-9);
        // The table's best so far follows the exploration only.
        let rows = best_so_far(&s, &done);
        assert_eq!(rows[1], Some(150.0));
        assert_eq!(*rows.last().unwrap(), Some(150.0));
    }

    #[test]
    fn a_gain_within_the_noise_leaves_the_defaults() {
        let s = study("maximize = \"throughput\"");
        // The exploration's 150 was luck: the rounds say ±5 %.
        let done = history(
            100.0,
            150.0,
            &[(100.0, 104.0), (100.0, 97.0), (100.0, 103.0)],
        );
        let finalists = finalist_table(&s, &done);
        let best = best(&s, &done, &finalists).unwrap();
        assert!(best.is_default, "{best:?}");
        assert!(best.changed.is_empty());
        assert_eq!(best.runner_up, Some(config(8)));
        let gain = finalists[0].gain.clone().unwrap();
        assert!(
            !gain.significant && gain.ci95_low_pct.unwrap() < 0.0,
            "{gain:?}"
        );
    }

    #[test]
    fn a_minimised_metric_wins_when_it_falls() {
        let s = study("minimize = \"p99\"");
        // p99 = 1000 / throughput: 10 ms for the defaults, about 8.3 ms for 8 threads.
        let mut done = history(
            100.0,
            150.0,
            &[(100.0, 121.0), (90.0, 108.0), (110.0, 130.0)],
        );
        for d in &mut done {
            d.objective = Some(d.metrics[&Metric::P99]);
        }
        let finalists = finalist_table(&s, &done);
        let best = best(&s, &done, &finalists).unwrap();
        let gain = best.gain.unwrap();
        assert!(
            gain.percent < -15.0 && gain.ci95_high_pct.unwrap() < 0.0,
            "{gain:?}"
        );
        assert!(gain.significant);
        assert!(!best.is_default);
    }

    #[test]
    fn a_finalist_that_broke_a_constraint_in_a_round_cannot_win() {
        let mut s = study("maximize = \"throughput\"\nconstraints = [\"p99<100ms\"]");
        s.budget.finalists = 2;
        let mut done = history(
            100.0,
            150.0,
            &[(100.0, 121.0), (90.0, 108.0), (110.0, 130.0)],
        );
        // A second finalist, faster still, but violating in its second round.
        for (r, value) in [(0u32, 140.0), (1, 135.0), (2, 145.0)] {
            let n = u32::try_from(done.len()).unwrap();
            let mut t = trial(n, TrialRole::Confirm, Some(r), 16, value);
            if r == 1 {
                t.state = TrialState::Violated;
            }
            done.push(t);
        }
        done.push(trial(99, TrialRole::Explore, None, 16, 149.0));
        let finalists = finalist_table(&s, &done);
        assert_eq!(finalists.len(), 2);
        let best = best(&s, &done, &finalists).unwrap();
        assert_eq!(best.config, config(8), "{best:?}");
        let why = passed_over(&s, &done);
        assert_eq!(why.len(), 1, "{why:?}");
        assert!(
            why[0].contains("threads=16") && why[0].contains("round 2"),
            "{why:?}"
        );
    }

    #[test]
    fn when_every_finalist_broke_a_round_the_defaults_stand() {
        let s = study("maximize = \"throughput\"\nconstraints = [\"p99<100ms\"]");
        let mut done = history(
            100.0,
            150.0,
            &[(100.0, 121.0), (90.0, 108.0), (110.0, 130.0)],
        );
        let last = done.len() - 1;
        done[last].state = TrialState::Violated;
        let finalists = finalist_table(&s, &done);
        assert_eq!(finalists.len(), 1);
        let best = best(&s, &done, &finalists).unwrap();
        assert!(best.is_default, "{best:?}");
        assert!(best.gain.is_none() && best.changed.is_empty());
        assert!((best.objective - 100.0).abs() < 1e-9, "{best:?}");
    }

    #[test]
    fn failed_rounds_are_left_out_of_the_pairs() {
        let s = study("maximize = \"throughput\"");
        let mut done = history(
            100.0,
            150.0,
            &[(100.0, 121.0), (90.0, 108.0), (110.0, 130.0)],
        );
        let last = done.len() - 1;
        done[last].state = TrialState::Failed;
        done[last].objective = None;
        let finalists = finalist_table(&s, &done);
        assert_eq!(finalists[0].rounds, [Some(121.0), Some(108.0), None]);
        assert_eq!(finalists[0].gain.as_ref().unwrap().pairs, 2);
    }
}
