//! From a study and its trials to a [`StudyRecord`]: the settings described for a person,
//! the table of trials, the conclusion of `perfloop_tune::conclude` (finalists, the best
//! configuration with its gain, importance) in the record's form, and the warnings.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use perfloop_tune::conclude::{self, best_so_far};
use perfloop_tune::study::{Objective, Target, Workload};
use perfloop_tune::trials::metrics_by_name;
use perfloop_tune::{Config, Done, KnobKind, StudyEnding, TrialState};

use super::{
    Best, BudgetInfo, Direction, Finalist, Gain, KnobInfo, KnobShare, STUDY_SCHEMA, StudyObjective,
    StudyRecord, StudyTarget, TrialEntry,
};

/// Everything a study record is made from.
#[derive(Debug, Clone, Copy)]
pub struct StudyInput<'a> {
    /// The study.
    pub study: &'a perfloop_tune::Study,
    /// The fingerprint the store keeps for it.
    pub fingerprint: &'a str,
    /// When the study was created.
    pub started_at: SystemTime,
    /// Its trials as the store holds them, in the order measured.
    pub done: &'a [Done],
    /// Why it ended.
    pub ending: StudyEnding,
}

impl StudyRecord {
    /// Builds the record of a study from its trials.
    #[must_use]
    pub fn build(input: &StudyInput<'_>) -> StudyRecord {
        let StudyInput {
            study,
            fingerprint,
            started_at,
            done,
            ending,
        } = *input;
        let finalists = conclude::finalist_table(study, done);
        let best = conclude::best(study, done, &finalists);
        let importance: Vec<KnobShare> = conclude::knob_shares(study, done)
            .into_iter()
            .map(|k| KnobShare {
                knob: k.name,
                share: k.share,
            })
            .collect();
        let mut warnings = Vec::new();
        let abandoned = done
            .iter()
            .filter(|d| d.state == TrialState::Abandoned)
            .count();
        if abandoned > 0 {
            warnings.push(format!(
                "{abandoned} trial(s) were abandoned by a stopped process and measured again"
            ));
        }
        if best.as_ref().is_some_and(|b| b.gain.is_none())
            && !finalists.iter().any(|f| f.mean.is_some())
        {
            warnings.push(
                "the best configuration was not re-measured against the baseline: its figure \
                 is one exploration trial, with no interval"
                    .to_string(),
            );
        }
        warnings.extend(conclude::passed_over(study, done));
        if importance.is_empty() && done.iter().any(|d| d.state == TrialState::Complete) {
            warnings.push(
                "no knob importance: it needs at least 3 complete exploration trials whose \
                 objectives differ beyond what chance explains"
                    .to_string(),
            );
        }
        StudyRecord {
            schema: STUDY_SCHEMA.to_string(),
            perfloop_version: env!("CARGO_PKG_VERSION").to_string(),
            name: study.name.clone(),
            fingerprint: fingerprint.to_string(),
            started_at: humantime::format_rfc3339_seconds(started_at).to_string(),
            elapsed_s: perfloop_tune::schedule::elapsed_s(done),
            target: StudyTarget {
                kind: match study.target {
                    Target::Managed { .. } => "managed",
                    Target::Bench { .. } => "bench",
                }
                .to_string(),
                command: study.target.command().to_string(),
            },
            workload: workload_description(study),
            objective: StudyObjective {
                direction: if study.objective.maximizes() {
                    Direction::Maximize
                } else {
                    Direction::Minimize
                },
                description: objective_description(&study.objective),
                unit: study.objective_unit().to_string(),
            },
            constraints: study
                .constraints
                .iter()
                .map(|c| c.expr().to_string())
                .collect(),
            knobs: study
                .space
                .knobs()
                .iter()
                .map(|k| KnobInfo {
                    name: k.name.clone(),
                    domain: knob_domain(&k.kind),
                    default: serde_json::to_value(&k.default).unwrap_or_default(),
                    choices: match &k.kind {
                        KnobKind::Categorical { values } => values
                            .iter()
                            .map(|v| serde_json::Value::String(v.clone()))
                            .collect(),
                        _ => Vec::new(),
                    },
                })
                .collect(),
            budget: BudgetInfo {
                trials: study.budget.trials,
                time_s: study.budget.time.map(|t| t.as_secs_f64()),
                repeats: study.budget.repeats,
                finalists: study.budget.finalists,
                confirm_rounds: study.budget.confirm_rounds,
                sampler: format!("{:?}", study.budget.sampler).to_lowercase(),
                seed: study.budget.seed,
            },
            trials: entries(study, done),
            finalists: finalists.into_iter().map(finalist).collect(),
            best: best.map(best_of),
            importance,
            ending,
            warnings,
        }
    }
}

/// A configuration as JSON values.
fn config_json(config: &Config) -> BTreeMap<String, serde_json::Value> {
    config
        .iter()
        .map(|(k, v)| (k.clone(), serde_json::to_value(v).unwrap_or_default()))
        .collect()
}

/// The table of trials, with the best objective so far among the exploration's.
fn entries(study: &perfloop_tune::Study, done: &[Done]) -> Vec<TrialEntry> {
    done.iter()
        .zip(best_so_far(study, done))
        .map(|(d, best)| TrialEntry {
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
            metrics: metrics_by_name(&d.metrics),
            reason: d.reason.clone(),
            duration_s: d.duration_s,
        })
        .collect()
}

fn gain(g: &conclude::Gain) -> Gain {
    Gain {
        method: g.method.to_string(),
        pairs: g.pairs,
        percent: g.percent,
        ci95_low_pct: g.ci95_low_pct,
        ci95_high_pct: g.ci95_high_pct,
        significant: g.significant,
    }
}

fn finalist(f: conclude::Finalist) -> Finalist {
    Finalist {
        config: config_json(&f.config),
        explored: f.explored,
        rounds: f.rounds,
        mean: f.mean,
        gain: f.gain.as_ref().map(gain),
    }
}

fn best_of(b: conclude::Best) -> Best {
    Best {
        config: config_json(&b.config),
        is_default: b.is_default,
        changed: b.changed,
        objective: b.objective,
        baseline_objective: b.baseline_objective,
        gain: b.gain.as_ref().map(gain),
        before: b.before,
        after: b.after,
        runner_up: b.runner_up.as_ref().map(config_json),
    }
}

fn objective_description(objective: &Objective) -> String {
    match objective {
        Objective::Maximize(m) => format!("maximize {m}"),
        Objective::Minimize(m) => format!("minimize {m}"),
        Objective::Weighted(w) => format!(
            "maximize {}",
            w.iter()
                .map(|(m, k)| format!("{k}×{m}"))
                .collect::<Vec<_>>()
                .join(" + ")
        ),
    }
}

fn workload_description(study: &perfloop_tune::Study) -> String {
    let secs = |d: Option<Duration>| d.map(|d| format!("{}", humantime::format_duration(d)));
    match &study.workload {
        Workload::Load(l) => {
            let mut parts = vec![format!("load {}", perfloop_url::redact_url(&l.url))];
            if let Some(scenario) = &l.request.scenario {
                parts.push(format!("scenario {scenario}"));
            }
            parts.push(format!("{:?} model", l.model).to_lowercase());
            if let Some(c) = l.connections {
                parts.push(format!("{c} connections"));
            }
            if let Some(r) = l.rate {
                parts.push(format!("{r}/s"));
            }
            if let Some(d) = secs(l.duration) {
                parts.push(format!("{d} measured"));
            }
            if let Some(w) = secs(l.warmup) {
                parts.push(format!("{w} warm-up"));
            }
            parts.join(", ")
        }
        Workload::Capacity(c) => format!(
            "capacity search {}{} within {}",
            perfloop_url::redact_url(&c.url),
            c.request
                .scenario
                .as_ref()
                .map(|s| format!(", scenario {s},"))
                .unwrap_or_default(),
            c.slo.join(", ")
        ),
        Workload::WorkRate => "the command's work rate".to_string(),
    }
}

fn knob_domain(kind: &KnobKind) -> String {
    match kind {
        KnobKind::Int {
            low,
            high,
            step,
            log,
        } => format!(
            "int {low}..{high}{}{}",
            step.map(|s| format!(" step {s}")).unwrap_or_default(),
            if *log { ", log" } else { "" }
        ),
        KnobKind::Float {
            low,
            high,
            step,
            log,
        } => format!(
            "float {low}..{high}{}{}",
            step.map(|s| format!(" step {s}")).unwrap_or_default(),
            if *log { ", log" } else { "" }
        ),
        KnobKind::Categorical { values } => format!("one of {}", values.join(", ")),
        KnobKind::Bool => "bool".to_string(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use perfloop_stats::Metric;
    use perfloop_tune::schedule::{Next, next};
    use perfloop_tune::{Study, TrialMetrics};

    use super::*;

    const STUDY: &str = r#"
name = "s"
[target]
bench = "work --threads {threads} --mode {mode}"
[knobs.threads]
type = "int"
low = 1
high = 16
log = true
default = 4
[knobs.mode]
type = "categorical"
values = ["a", "b"]
default = "a"
[objective]
weighted = { throughput = 1.0, p99 = -2.0 }
constraints = ["p99<100ms", "error_rate<1%"]
[budget]
trials = 6
finalists = 1
confirm_rounds = 2
"#;

    /// Runs the study's schedule to its end: the objective grows with `threads`, one
    /// exploration trial is abandoned and measured again.
    fn history(study: &Study) -> Vec<Done> {
        let mut done: Vec<Done> = Vec::new();
        for number in 0..100 {
            let Next::Run {
                role,
                round,
                config,
            } = next(study, &done)
            else {
                break;
            };
            let threads = config["threads"].as_f64().unwrap();
            let metrics = TrialMetrics::from([
                (Metric::Throughput, 100.0 * threads),
                (Metric::P99, 10.0),
                (Metric::ErrorRate, 0.0),
                (Metric::Cpu, f64::NAN),
            ]);
            let abandoned = number == 2;
            done.push(Done {
                number,
                role,
                round,
                state: if abandoned {
                    TrialState::Abandoned
                } else {
                    TrialState::Complete
                },
                objective: (!abandoned)
                    .then(|| study.objective.value(&metrics))
                    .flatten(),
                metrics,
                config,
                reason: None,
                duration_s: if abandoned { 0.0 } else { 2.0 },
            });
        }
        done
    }

    #[test]
    fn a_study_record_is_its_settings_trials_and_conclusion() {
        let study = Study::parse(STUDY).unwrap();
        let done = history(&study);
        let record = StudyRecord::build(&StudyInput {
            study: &study,
            fingerprint: &study.fingerprint(),
            started_at: SystemTime::UNIX_EPOCH,
            done: &done,
            ending: StudyEnding::Trials,
        });
        assert_eq!(record.schema, STUDY_SCHEMA);
        assert_eq!(record.started_at, "1970-01-01T00:00:00Z");
        assert_eq!(record.target.kind, "bench");
        assert_eq!(record.workload, "the command's work rate");
        assert_eq!(record.objective.direction, Direction::Maximize);
        assert_eq!(
            record.objective.description,
            "maximize 1×throughput + -2×p99"
        );
        assert_eq!(record.objective.unit, "score");
        assert_eq!(record.constraints, ["p99<100ms", "error_rate<1%"]);
        assert_eq!(record.knobs[0].domain, "int 1..16, log");
        assert_eq!(record.knobs[1].choices, ["a", "b"]);
        assert_eq!(record.budget.sampler, "tpe");
        assert_eq!(record.trials.len(), done.len());
        assert_eq!(record.elapsed_s, 2.0 * (done.len() - 1) as f64);
        // The abandoned trial is in the table, with no objective, and said in a warning.
        assert_eq!(record.trials[2].state, "abandoned");
        assert_eq!(record.trials[2].objective, None);
        assert!(
            record.warnings[0].starts_with("1 trial(s) were abandoned"),
            "{:?}",
            record.warnings
        );
        // Metrics by name, unmeasured ones left out.
        assert_eq!(record.trials[0].metrics["throughput"], 400.0);
        assert!(!record.trials[0].metrics.contains_key("cpu"));
        // The best so far never falls.
        let best: Vec<f64> = record.trials.iter().filter_map(|t| t.best_so_far).collect();
        assert!(best.windows(2).all(|w| w[1] >= w[0]), "{best:?}");
        // One finalist, confirmed in two rounds against the defaults.
        assert_eq!(record.finalists.len(), 1);
        assert_eq!(record.finalists[0].rounds.len(), 2);
        let conclusion = record.best.as_ref().unwrap();
        assert_eq!(conclusion.before["throughput"], 400.0);
        assert_eq!(conclusion.config, record.finalists[0].config);
        assert!(!conclusion.is_default);
    }
}
