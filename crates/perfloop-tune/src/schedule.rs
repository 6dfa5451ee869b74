//! What a study does next, decided from its trials alone: a pure function of the study and
//! the trials in the store, so that a resumed study continues exactly where the stopped
//! one was.
//!
//! The study has two phases:
//!
//! 1. **Exploration.** The baseline (every knob at its default) first, then configurations
//!    chosen by the sampler, with the baseline measured again after every `baseline_every`
//!    of them. It ends when `trials` exploration trials ran (the baseline's included), when
//!    the time left would not cover the confirmation, or when the sampler has nothing new.
//! 2. **Confirmation.** The best `finalists` configurations of the exploration (the
//!    defaults excepted) are measured again in `confirm_rounds` rounds. Each round measures
//!    the baseline first, then every finalist, in an order rotated by one each round, so
//!    that drift of the machine reaches every configuration alike and cancels in the
//!    per-round comparison with the baseline.
//!
//! The sampler is rebuilt for every suggestion with a seed derived from the study's seed
//! and the number of trials so far: the same trials always give the same suggestion.
//!
//! A study whose first [`EARLY_FAILURES`] trials all failed stops there: the target is
//! broken for every configuration tried, and more trials would fail the same way.

use serde::{Deserialize, Serialize};

use crate::sampler::{GridSampler, RandomSampler, Sampler, TpeSampler, Trial};
use crate::space::Config;
use crate::study::{Objective, SamplerKind, Study};
use crate::trials::{Done, TrialRole, TrialState};

/// A study stops when this many trials (or its whole budget, if smaller) all failed.
pub const EARLY_FAILURES: usize = 5;
/// Grid points per numeric knob of the grid sampler.
pub const GRID_POINTS: usize = 5;

/// Why a study ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StudyEnding {
    /// Every trial of the budget ran, and the confirmation.
    Trials,
    /// The time budget ran out.
    Time,
    /// The grid had no configuration left.
    Exhausted,
    /// Stopped by the user (Ctrl-C); resumable.
    Interrupted,
    /// Every trial failed.
    AllFailed,
}

/// The next step of a study.
#[derive(Debug, Clone, PartialEq)]
pub enum Next {
    /// Run a trial.
    Run {
        /// Why.
        role: TrialRole,
        /// Its confirmation round.
        round: Option<u32>,
        /// The configuration.
        config: Config,
    },
    /// The study is over.
    Stop(StudyEnding),
}

/// The score a sampler maximises: the objective, negated when it is minimised.
#[must_use]
pub fn score(objective: &Objective, value: f64) -> f64 {
    match objective {
        Objective::Minimize(_) => -value,
        Objective::Maximize(_) | Objective::Weighted(_) => value,
    }
}

/// Seconds spent so far.
#[must_use]
pub fn elapsed_s(done: &[Done]) -> f64 {
    done.iter().map(|d| d.duration_s).sum()
}

/// The mean duration of the trials that ran, seconds (0 before any).
fn mean_duration_s(done: &[Done]) -> f64 {
    let ran: Vec<f64> = done
        .iter()
        .filter(|d| d.counts())
        .map(|d| d.duration_s)
        .collect();
    if ran.is_empty() {
        0.0
    } else {
        #[allow(clippy::cast_precision_loss)]
        let n = ran.len() as f64;
        ran.iter().sum::<f64>() / n
    }
}

/// The finalists: the best complete exploration configurations, best first, the defaults
/// excepted, each once.
#[must_use]
pub fn finalists(study: &Study, done: &[Done]) -> Vec<Config> {
    let default = study.space.default_config();
    let mut ranked: Vec<(&Config, f64)> = done
        .iter()
        .filter(|d| d.explores() && d.state == TrialState::Complete && d.config != default)
        .filter_map(|d| Some((&d.config, score(&study.objective, d.objective?))))
        .collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
    let mut out: Vec<Config> = Vec::new();
    for (config, _) in ranked {
        if out.len() == study.budget.finalists as usize {
            break;
        }
        if !out.contains(config) {
            out.push(config.clone());
        }
    }
    out
}

/// The estimated time of the confirmation, seconds.
#[must_use]
pub fn confirmation_s(study: &Study, done: &[Done]) -> f64 {
    let configs = finalists(study, done).len().max(1) + 1;
    #[allow(clippy::cast_precision_loss)]
    let trials = (configs * study.budget.confirm_rounds as usize) as f64;
    trials * mean_duration_s(done)
}

/// Trials the study still plans to run (an estimate while exploring).
#[must_use]
pub fn remaining(study: &Study, done: &[Done]) -> Option<usize> {
    let explored = done.iter().filter(|d| d.explores() && d.counts()).count();
    let confirm_total = if study.budget.finalists == 0 {
        0
    } else {
        (study.budget.finalists as usize + 1) * study.budget.confirm_rounds as usize
    };
    let confirmed = done.iter().filter(|d| !d.explores() && d.counts()).count();
    let explore_left = study
        .budget
        .trials
        .map(|t| (t as usize).saturating_sub(explored))?;
    Some(explore_left + confirm_total.saturating_sub(confirmed))
}

/// What to do next.
#[must_use]
pub fn next(study: &Study, done: &[Done]) -> Next {
    let confirming = done.iter().any(|d| !d.explores());
    let explored: Vec<&Done> = done.iter().filter(|d| d.explores() && d.counts()).collect();
    let budget = &study.budget;
    let early = budget
        .trials
        .map_or(EARLY_FAILURES, |t| (t as usize).min(EARLY_FAILURES));
    if explored.len() >= early && explored.iter().all(|d| d.state == TrialState::Failed) {
        return Next::Stop(StudyEnding::AllFailed);
    }
    let elapsed = elapsed_s(done);
    let trials_left = budget.trials.is_none_or(|t| explored.len() < t as usize);
    let reserve = if budget.finalists == 0 {
        0.0
    } else {
        confirmation_s(study, done)
    };
    let time_left = budget
        .time
        .is_none_or(|t| elapsed + reserve < t.as_secs_f64());
    let mut ending = if !trials_left {
        StudyEnding::Trials
    } else if !time_left {
        StudyEnding::Time
    } else {
        StudyEnding::Exhausted
    };
    if !confirming && trials_left && time_left {
        let default = study.space.default_config();
        let since_baseline = explored
            .iter()
            .rev()
            .take_while(|d| d.role != TrialRole::Baseline)
            .count();
        let has_baseline = explored.iter().any(|d| d.role == TrialRole::Baseline);
        if !has_baseline || since_baseline >= budget.baseline_every as usize {
            return Next::Run {
                role: TrialRole::Baseline,
                round: None,
                config: default,
            };
        }
        let history: Vec<Trial> = explored
            .iter()
            .map(|d| Trial {
                config: d.config.clone(),
                objective: match d.state {
                    TrialState::Complete => d.objective.map(|v| score(&study.objective, v)),
                    _ => None,
                },
            })
            .collect();
        let config = suggest(study, &history);
        if !history.iter().any(|t| t.config == config) {
            return Next::Run {
                role: TrialRole::Explore,
                round: None,
                config,
            };
        }
    }
    if confirming && !trials_left {
        ending = StudyEnding::Trials;
    }
    if budget.finalists == 0 {
        return Next::Stop(ending);
    }
    let finalists = finalists(study, done);
    if finalists.is_empty() {
        return Next::Stop(ending);
    }
    let default = study.space.default_config();
    for round in 0..budget.confirm_rounds {
        let mut order = finalists.clone();
        order.rotate_left(round as usize % finalists.len());
        order.insert(0, default.clone());
        for config in order {
            let measured = done
                .iter()
                .any(|d| d.counts() && d.round == Some(round) && d.config == config);
            if measured {
                continue;
            }
            if budget.time.is_some_and(|t| elapsed >= t.as_secs_f64()) {
                return Next::Stop(StudyEnding::Time);
            }
            let role = if config == default {
                TrialRole::Baseline
            } else {
                TrialRole::Confirm
            };
            return Next::Run {
                role,
                round: Some(round),
                config,
            };
        }
    }
    Next::Stop(ending)
}

/// The sampler's suggestion for the next exploration trial.
fn suggest(study: &Study, history: &[Trial]) -> Config {
    let seed = study
        .budget
        .seed
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(history.len() as u64);
    let space = &study.space;
    match study.budget.sampler {
        SamplerKind::Tpe => TpeSampler::new(seed).suggest(space, history),
        SamplerKind::Random => RandomSampler::new(seed).suggest(space, history),
        // The grid's order must not change from one suggestion to the next.
        SamplerKind::Grid => {
            GridSampler::new(GRID_POINTS, study.budget.seed).suggest(space, history)
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::trials::TrialMetrics;

    const STUDY: &str = r#"
name = "s"
[target]
bench = "work --threads {threads} --mode {mode}"
[knobs.threads]
type = "int"
low = 1
high = 16
default = 4
[knobs.mode]
type = "categorical"
values = ["a", "b", "c"]
default = "a"
[objective]
maximize = "throughput"
[budget]
trials = 8
finalists = 2
confirm_rounds = 2
baseline_every = 3
"#;

    fn study(edit: &[(&str, &str)]) -> Study {
        let mut text = STUDY.to_string();
        for (from, to) in edit {
            assert!(text.contains(from), "{from}");
            text = text.replacen(from, to, 1);
        }
        Study::parse(&text).unwrap()
    }

    /// Runs the schedule to its end with a deterministic objective (`threads` × mode
    /// factor), failing the trials `fail` says.
    fn simulate(study: &Study, fail: impl Fn(&Config) -> bool) -> (Vec<Done>, StudyEnding) {
        let mut done = Vec::new();
        for number in 0..200 {
            match next(study, &done) {
                Next::Stop(ending) => return (done, ending),
                Next::Run {
                    role,
                    round,
                    config,
                } => {
                    let failed = fail(&config);
                    let threads = config["threads"].as_f64().unwrap();
                    let factor = match config["mode"].to_string().as_str() {
                        "a" => 1.0,
                        "b" => 2.0,
                        _ => 1.5,
                    };
                    done.push(Done {
                        number,
                        role,
                        round,
                        config,
                        state: if failed {
                            TrialState::Failed
                        } else {
                            TrialState::Complete
                        },
                        objective: (!failed).then_some(threads * factor),
                        metrics: TrialMetrics::new(),
                        reason: None,
                        duration_s: 1.0,
                    });
                }
            }
        }
        panic!("the schedule did not end");
    }

    #[test]
    fn baseline_first_then_every_few_trials_then_rounds() {
        let s = study(&[]);
        let (done, ending) = simulate(&s, |_| false);
        assert_eq!(ending, StudyEnding::Trials);
        let roles: Vec<(TrialRole, Option<u32>)> = done.iter().map(|d| (d.role, d.round)).collect();
        use TrialRole::{Baseline as B, Confirm as C, Explore as E};
        assert_eq!(
            roles,
            [
                (B, None),
                (E, None),
                (E, None),
                (E, None),
                (B, None),
                (E, None),
                (E, None),
                (E, None),
                (B, Some(0)),
                (C, Some(0)),
                (C, Some(0)),
                (B, Some(1)),
                (C, Some(1)),
                (C, Some(1)),
            ]
        );
        // The finalists are the two best explored configurations, rotated each round.
        let best = finalists(&s, &done);
        assert_eq!(best.len(), 2);
        assert_eq!(done[9].config, best[0]);
        assert_eq!(done[10].config, best[1]);
        assert_eq!(done[12].config, best[1]);
        assert_eq!(done[13].config, best[0]);
        // No exploration configuration was measured twice.
        let explored: Vec<&Config> = done
            .iter()
            .filter(|d| d.role == TrialRole::Explore)
            .map(|d| &d.config)
            .collect();
        for (i, c) in explored.iter().enumerate() {
            assert!(!explored[..i].contains(c), "{c:?} twice");
        }
    }

    #[test]
    fn resuming_from_any_prefix_gives_the_same_study() {
        let s = study(&[]);
        let (done, _) = simulate(&s, |_| false);
        for cut in 0..done.len() {
            let expected = &done[cut];
            match next(&s, &done[..cut]) {
                Next::Run {
                    role,
                    round,
                    config,
                } => assert_eq!(
                    (role, round, &config),
                    (expected.role, expected.round, &expected.config),
                    "after {cut} trials"
                ),
                Next::Stop(e) => panic!("stopped after {cut}: {e:?}"),
            }
        }
        // An abandoned trial does not count: the same step comes again.
        let mut with_abandoned = done[..5].to_vec();
        let mut lost = done[5].clone();
        lost.state = TrialState::Abandoned;
        lost.duration_s = 0.0;
        with_abandoned.push(lost);
        assert!(matches!(
            next(&s, &with_abandoned),
            Next::Run { config, .. } if config == done[5].config
        ));
    }

    #[test]
    fn a_study_whose_trials_all_fail_stops_early() {
        let s = study(&[("trials = 8", "trials = 40")]);
        let (done, ending) = simulate(&s, |_| true);
        assert_eq!(ending, StudyEnding::AllFailed);
        assert_eq!(done.len(), EARLY_FAILURES);
        // Failing for some values only: the study goes on and avoids nothing it needs.
        let (done, ending) = simulate(&s, |c| c["mode"].to_string() == "c");
        assert_eq!(ending, StudyEnding::Trials);
        assert!(done.iter().any(|d| d.state == TrialState::Failed));
        assert!(
            finalists(&s, &done)
                .iter()
                .all(|c| c["mode"].to_string() != "c")
        );
    }

    #[test]
    fn the_time_budget_keeps_room_for_the_confirmation() {
        // Each trial takes 1 s; the confirmation needs 2 rounds × 3 = 6 s.
        let s = study(&[("trials = 8", "trials = 100\ntime = \"12s\"")]);
        let (done, ending) = simulate(&s, |_| false);
        assert_eq!(ending, StudyEnding::Time);
        let explored = done.iter().filter(|d| d.explores()).count();
        assert_eq!(explored, 6, "{done:?}");
        assert_eq!(done.len(), 12);
    }

    #[test]
    fn a_small_grid_is_exhausted() {
        let s = study(&[
            ("trials = 8", "trials = 100\nsampler = \"grid\""),
            ("high = 16\ndefault = 4", "high = 3\ndefault = 2"),
        ]);
        let (done, ending) = simulate(&s, |_| false);
        assert_eq!(ending, StudyEnding::Exhausted);
        // 3 × 3 grid points; the default (2, a) is one of them and ran as the baseline.
        let explored: Vec<&Config> = done
            .iter()
            .filter(|d| d.role == TrialRole::Explore)
            .map(|d| &d.config)
            .collect();
        assert_eq!(explored.len(), 8);
        assert!(!explored.contains(&&s.space.default_config()));
    }

    #[test]
    fn no_finalists_means_no_confirmation() {
        let s = study(&[("finalists = 2", "finalists = 0")]);
        let (done, ending) = simulate(&s, |_| false);
        assert_eq!(ending, StudyEnding::Trials);
        assert!(done.iter().all(Done::explores));
        assert_eq!(done.len(), 8);
    }
}
