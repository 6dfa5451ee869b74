//! The study's conclusion, from its trials alone: the table of trials with the best so
//! far, the finalists against the baseline of the same rounds, the best configuration with
//! its gain and 95 % confidence interval, and the knobs' importance.
//!
//! A finalist wins only when its gain is significant: the whole interval lies on the
//! better side of no change. Otherwise the defaults stand, and the best finalist is named
//! as the runner-up. This guards against the winner's curse: the exploration's best trial
//! is the luckiest as much as the best, so only the confirmation rounds are compared.

use std::collections::BTreeMap;

use perfloop_report::{Best, Direction, Finalist, Gain, KnobShare, TrialEntry, TrialRole};
use perfloop_stats::sample::{PairedChange, paired_difference, paired_ratio};
use perfloop_store::TrialState;
use perfloop_tune::study::Objective;
use perfloop_tune::{Config, Study, Trial, importance};

use super::schedule::{Done, finalists, score};
use super::trial::Metrics;

/// The confidence level of every interval.
const LEVEL: f64 = 0.95;

/// Which way the objective is better.
pub fn direction(objective: &Objective) -> Direction {
    match objective {
        Objective::Minimize(_) => Direction::Minimize,
        Objective::Maximize(_) | Objective::Weighted(_) => Direction::Maximize,
    }
}

/// A configuration as JSON values.
pub fn config_json(config: &Config) -> BTreeMap<String, serde_json::Value> {
    config
        .iter()
        .map(|(k, v)| (k.clone(), serde_json::to_value(v).unwrap_or_default()))
        .collect()
}

/// Metrics by name, finite values only.
pub fn metrics_json(metrics: &Metrics) -> BTreeMap<String, f64> {
    metrics
        .iter()
        .filter(|(_, v)| v.is_finite())
        .map(|(k, v)| (k.name().to_string(), *v))
        .collect()
}

fn role_name(role: TrialRole) -> &'static str {
    match role {
        TrialRole::Explore => "explore",
        TrialRole::Baseline => "baseline",
        TrialRole::Confirm => "confirm",
    }
}

/// The table of trials, with the best objective so far among the exploration's.
pub fn entries(study: &Study, done: &[Done]) -> Vec<TrialEntry> {
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
            TrialEntry {
                number: d.number,
                role: d.role,
                round: d.round,
                config: config_json(&d.config),
                state: d.state.as_str().to_string(),
                objective: if d.state == TrialState::Complete {
                    d.objective
                } else {
                    None
                },
                best_so_far: best,
                metrics: metrics_json(&d.metrics),
                reason: d.reason.clone(),
                duration_s: d.duration_s,
            }
        })
        .collect()
}

/// The role's name in the store.
pub fn role_str(role: TrialRole) -> &'static str {
    role_name(role)
}

/// One configuration's confirmation rounds: the objective and the metrics of each.
struct Rounds {
    objective: Vec<Option<f64>>,
    metrics: Vec<Option<Metrics>>,
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
    let dir = direction(&study.objective);
    let (method, change): (&str, PairedChange) = match &study.objective {
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
    let significant = match (dir, low, high) {
        (Direction::Maximize, Some(l), _) => l > 0.0,
        (Direction::Minimize, _, Some(h)) => h < 0.0,
        _ => false,
    };
    Some(Gain {
        method: method.to_string(),
        pairs: change.pairs,
        percent,
        ci95_low_pct: low,
        ci95_high_pct: high,
        significant,
    })
}

/// The mean of each metric over the rounds where both were measured.
fn mean_metrics(
    rounds: &[Option<Metrics>],
    paired_with: &[Option<Metrics>],
) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for metric in perfloop_tune::study::Metric::ALL {
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
                config: config_json(config),
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

/// The study's conclusion; `None` when no configuration completed.
pub fn best(study: &Study, done: &[Done], finalists: &[Finalist]) -> Option<Best> {
    let default = study.space.default_config();
    let baseline = rounds(study, done, &default);
    let config_of = |json: &BTreeMap<String, serde_json::Value>| -> Option<Config> {
        serde_json::from_value(serde_json::to_value(json).ok()?).ok()
    };
    let changed = |config: &Config| -> Vec<String> {
        config
            .iter()
            .filter(|(k, v)| default.get(*k) != Some(v))
            .map(|(k, _)| k.clone())
            .collect()
    };
    let confirmed = finalists.iter().find(|f| f.mean.is_some());
    if let Some(top) = confirmed {
        let top_config = config_of(&top.config)?;
        let r = rounds(study, done, &top_config);
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
                changed: changed(&top_config),
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
            config: config_json(&default),
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
    let before: Vec<Option<Metrics>> = baselines.iter().map(|d| Some(d.metrics.clone())).collect();
    Some(Best {
        config: config_json(&best.config),
        is_default: best.config == default,
        changed: changed(&best.config),
        objective: best.objective?,
        baseline_objective,
        gain: None,
        before: mean_metrics(&before, &before),
        after: mean_metrics(&[Some(best.metrics.clone())], &[Some(Metrics::new())]),
        runner_up: None,
    })
}

/// Each knob's share of the variation of the exploration's objective.
pub fn knob_shares(study: &Study, done: &[Done]) -> Vec<KnobShare> {
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
    let shares: Vec<KnobShare> = importance(&study.space, &trials)
        .into_iter()
        .map(|k| KnobShare {
            knob: k.name,
            share: k.share,
        })
        .collect();
    // All zero: too few complete trials, or none of the knobs explains anything beyond
    // chance; either way there is no ranking to show.
    if shares.iter().all(|s| s.share <= 0.0) {
        return Vec::new();
    }
    shares
}
