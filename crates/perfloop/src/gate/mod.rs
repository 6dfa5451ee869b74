//! `perfloop gate`: a CI step. Measures a load run (the flags after `--`, as `perfloop
//! load` takes them) or takes a saved one, saves it, compares it with a baseline from the
//! store as `perfloop compare` does, and fails when a checked metric got significantly
//! worse by more than it may.
//!
//! A metric regresses when the comparison's verdict is `slower` (its interval excludes 0
//! and the change reaches the threshold) and the change is past the allowed regression.
//! With `--confirm`, a regression is measured once more and the gate fails only if the
//! second comparison regresses too. Everything is checked before any load: the flags, the
//! output paths, the store, the baseline.

mod report;

use anyhow::anyhow;
use clap::Parser;
use perfloop_report::export::{Exporter, JsonExporter};
use perfloop_report::{CompareInput, CompareRecord, MetricChange, RunRecord};
use perfloop_stats::compare::CompareOptions;
use std::path::Path;

use crate::cli::{Cli, Command, GateArgs, LoadArgs};
use crate::compare::{comparable, options, percent, side};
use crate::history::reference::RunRef;
use crate::history::save::Saver;
use crate::{Exit, Failure};

/// The allowed regression when no `--max-regression` is given.
const DEFAULT_MAX_REGRESSION: f64 = 0.05;

/// The metrics a gate can check, as `--metric` names them (`p99.9` is accepted for p999).
const METRICS: [&str; 6] = ["throughput", "p50", "p90", "p99", "p999", "error_rate"];

/// One metric the gate checks and how much worse it may get (a fraction: 0.05).
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    /// The metric's key in the compare record.
    pub metric: &'static str,
    /// The allowed relative regression.
    pub max_regression: f64,
}

/// One checked metric's outcome in one comparison.
#[derive(Debug, Clone)]
pub struct Judged {
    /// What was checked.
    pub check: Check,
    /// The comparison's figures for it.
    pub change: MetricChange,
    /// Significantly worse, by more than allowed.
    pub regressed: bool,
}

/// Runs `perfloop gate`. Exit 0 pass, 1 regression, 2 usage, 3 the run failed.
pub fn run(args: &GateArgs) -> Result<Exit, Failure> {
    let checks = checks(&args.metrics, &args.max_regressions)?;
    let options = options(&args.threshold, &args.tail_threshold)?;
    let baseline = RunRef::parse(&args.baseline)?;
    let taken = args.run.as_deref().map(RunRef::parse).transpose()?;
    let load = match &taken {
        Some(_) => None,
        None => Some(load_args(args)?),
    };
    crate::output::check_outputs(&[
        ("--summary", args.summary.as_deref().map(Path::new)),
        ("--junit", args.junit.as_deref().map(Path::new)),
        ("--json", args.json.as_deref().map(Path::new)),
    ])?;
    let prepared = load.as_ref().map(crate::load::prepare).transpose()?;
    let saver = Saver::open(&args.save)?;
    let owned;
    let store = match saver.store() {
        Some(store) => store,
        None => {
            owned = crate::history::save::existing_store(args.save.store.as_deref())?;
            &owned
        }
    };
    let tags = crate::history::save::parse_tags(&args.save.tags)?;
    let base = side(store, &baseline, &tags)?;
    // The dashboard and the alerts of the load after `--`, over every round it measures.
    let live = match (&load, &prepared) {
        (Some(load), Some(prepared)) => {
            crate::live::Live::start(&load.live, &prepared.about(&saver)?)?
        }
        _ => None,
    };

    let measure = || -> Result<CompareInput, Failure> {
        match (&taken, &load, &prepared) {
            (Some(what), _, _) => side(store, what, &[]),
            (None, Some(load), Some(prepared)) => {
                let finished = crate::load::execute(load, prepared, &saver)?;
                usable(&finished.record)?;
                let id = finished.saved.map_or(0, |id| id.get());
                Ok(CompareInput {
                    label: finished.saved.map_or_else(
                        || "this run (not saved)".to_string(),
                        |id| format!("this run ({id})"),
                    ),
                    runs: vec![(id, finished.record)],
                })
            }
            _ => Err(Failure::usage(anyhow!(
                "perfloop gate needs the load's URL and flags after --, or --run REF"
            ))),
        }
    };
    let first = measure()?;
    // A saved run is never its own baseline (`--run latest` with `--baseline last:5`).
    let mut base = base;
    let before = base.runs.len();
    base.runs
        .retain(|(id, _)| !first.runs.iter().any(|(taken, _)| taken == id));
    if base.runs.len() < before && !base.runs.is_empty() {
        base.label = format!("{} without {}", base.label, first.label);
    }
    if base.runs.is_empty() {
        return Err(Failure::usage(anyhow!(
            "the baseline {} is the run the gate judges ({}): there is nothing to compare it with",
            args.baseline,
            first.label
        )));
    }
    comparable(&base, &first, args.force)?;
    let mut rounds = vec![judge(&base, &first, &options, &checks)];
    let mut measured_id = first.runs.first().map(|(id, _)| *id);
    if args.confirm && taken.is_none() && rounds[0].1.iter().any(|j| j.regressed) {
        crate::output::stderr_text(
            "gate: a regression; measuring once more to confirm it (--confirm)\n",
        );
        let second = measure()?;
        rounds.push(judge(&base, &second, &options, &checks));
        measured_id = second.runs.first().map(|(id, _)| *id);
    }
    if let Some(live) = live {
        live.finish(measured_id.filter(|id| *id > 0));
    }
    // A regression stands only when every round agrees on it.
    let failed: Vec<&'static str> = checks
        .iter()
        .map(|c| c.metric)
        .filter(|m| {
            rounds
                .iter()
                .all(|(_, judged)| judged.iter().any(|j| j.check.metric == *m && j.regressed))
        })
        .collect();
    let outcome = report::Outcome {
        rounds: &rounds,
        failed: &failed,
        confirm: args.confirm,
    };
    let text = report::text(&outcome);
    crate::output::stdout_text(&text);
    let (last, _) = rounds
        .last()
        .map_or((None, None), |(r, j)| (Some(r), Some(j)));
    crate::output::first_failure([
        args.summary.as_deref().map_or(Ok(()), |p| {
            crate::output::write_text(p, &report::markdown(&outcome))
        }),
        args.junit.as_deref().map_or(Ok(()), |p| {
            crate::output::write_text(p, &report::junit(&outcome))
        }),
        match (args.json.as_deref(), last) {
            (Some(p), Some(record)) => write_json(p, record),
            _ => Ok(()),
        },
    ])?;
    Ok(if failed.is_empty() {
        Exit::Ok
    } else {
        Exit::SloFailed
    })
}

/// The comparison of one measured side with the baseline, and each check judged on it.
fn judge(
    base: &CompareInput,
    new: &CompareInput,
    options: &CompareOptions,
    checks: &[Check],
) -> (CompareRecord, Vec<Judged>) {
    let record = CompareRecord::build(base, new, options);
    let judged = checks
        .iter()
        .map(|check| {
            let change = record
                .metrics
                .all()
                .iter()
                .find(|(name, _)| *name == check.metric)
                .map_or_else(unmeasured, |(_, m)| (*m).clone());
            let regressed = regressed(check, &change);
            Judged {
                check: check.clone(),
                change,
                regressed,
            }
        })
        .collect();
    (record, judged)
}

fn unmeasured() -> MetricChange {
    MetricChange {
        a: None,
        b: None,
        change: None,
        ci_low: None,
        ci_high: None,
        verdict: perfloop_report::CompareVerdict::Same,
    }
}

/// Significantly worse (the verdict), and by more than allowed. Throughput regresses when
/// it falls, latencies and the error rate when they rise. An error rate from zero has no
/// relative change: its `slower` verdict is a regression of any size.
fn regressed(check: &Check, m: &MetricChange) -> bool {
    if m.verdict != perfloop_report::CompareVerdict::Slower {
        return false;
    }
    match m.change {
        None => true,
        Some(change) if check.metric == "throughput" => -change > check.max_regression,
        Some(change) => change > check.max_regression,
    }
}

/// A measured run whose figures are not the target's cannot pass or fail a gate.
fn usable(record: &RunRecord) -> Result<(), Failure> {
    match record.warnings.iter().find(|w| w.invalidates) {
        Some(w) => Err(Failure::run(anyhow!(
            "the run's figures cannot be judged: {}",
            w.message
        ))),
        None => Ok(()),
    }
}

/// The flags after `--`, parsed as `perfloop load` parses them; the gate's own store and
/// tags win over any given there.
fn load_args(args: &GateArgs) -> Result<LoadArgs, Failure> {
    if args.load.is_empty() {
        return Err(Failure::usage(anyhow!(
            "perfloop gate needs a run: the load's URL and flags after -- (perfloop gate \
             --baseline {} -- http://127.0.0.1:8080/ -c 32 -d 10s), or --run REF for a saved \
             run",
            args.baseline
        )));
    }
    let argv = ["perfloop", "load"]
        .into_iter()
        .map(str::to_string)
        .chain(args.load.iter().cloned());
    let cli = Cli::try_parse_from(argv).map_err(|e| {
        Failure::usage(anyhow!(
            "the load flags after --: {}",
            e.to_string().trim_start_matches("error: ").trim_end()
        ))
    })?;
    match cli.command {
        Command::Load(mut load) => {
            if load.save.store.is_some() || !load.save.tags.is_empty() || load.save.no_save {
                return Err(Failure::usage(anyhow!(
                    "--store, --tag and --no-save belong before --, to the gate: it saves the \
                     run and finds the baseline with them"
                )));
            }
            load.save = args.save.clone();
            Ok(*load)
        }
        _ => Err(Failure::usage(anyhow!("the flags after -- are not a load"))),
    }
}

/// `--metric` and `--max-regression` paired in order: each metric takes the allowance
/// given after it, or the last one given before; without `--metric`, throughput and p99.
pub fn checks(metrics: &[String], allowances: &[String]) -> Result<Vec<Check>, Failure> {
    let allowances: Vec<f64> = allowances
        .iter()
        .map(|a| percent("--max-regression", a))
        .collect::<Result<_, _>>()?;
    if allowances.len() > metrics.len().max(1) {
        return Err(Failure::usage(anyhow!(
            "{} --max-regression values for {} --metric: give one after each --metric",
            allowances.len(),
            metrics.len()
        )));
    }
    let names: Vec<&'static str> = if metrics.is_empty() {
        vec!["throughput", "p99"]
    } else {
        metrics
            .iter()
            .map(|m| metric(m))
            .collect::<Result<_, _>>()?
    };
    let mut checks: Vec<Check> = Vec::new();
    for (i, name) in names.into_iter().enumerate() {
        let allowed = allowances
            .get(i)
            .or(allowances.last())
            .copied()
            .unwrap_or(DEFAULT_MAX_REGRESSION);
        if checks.iter().any(|c| c.metric == name) {
            return Err(Failure::usage(anyhow!("--metric {name} is given twice")));
        }
        checks.push(Check {
            metric: name,
            max_regression: allowed,
        });
    }
    Ok(checks)
}

/// A metric name as typed, with a suggestion for a near miss.
fn metric(text: &str) -> Result<&'static str, Failure> {
    let key = text.trim().to_ascii_lowercase().replace(['-', '.'], "_");
    let key = match key.as_str() {
        "p99_9" => "p999".to_string(),
        "rps" => "throughput".to_string(),
        "errors" | "error" => "error_rate".to_string(),
        _ => key,
    };
    if let Some(found) = METRICS.iter().find(|m| **m == key) {
        return Ok(found);
    }
    let near = METRICS
        .iter()
        .min_by(|a, b| strsim::levenshtein(a, &key).cmp(&strsim::levenshtein(b, &key)))
        .filter(|m| strsim::levenshtein(m, &key) <= 3);
    Err(Failure::usage(anyhow!(
        "--metric '{text}' is not a metric the gate checks{}; the metrics: {}",
        near.map_or_else(String::new, |m| format!(" (did you mean '{m}'?)")),
        METRICS.join(", ")
    )))
}

fn write_json(path: &str, record: &CompareRecord) -> Result<(), Failure> {
    let mut out = Vec::new();
    JsonExporter
        .write(record, &mut out)
        .map_err(|e| Failure::run(anyhow!("cannot encode the comparison: {e}")))?;
    crate::output::write_text(path, &String::from_utf8_lossy(&out))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use perfloop_report::CompareVerdict;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| (*x).to_string()).collect()
    }

    #[test]
    fn each_metric_takes_the_allowance_after_it() {
        let got = checks(&s(&["p99", "throughput"]), &s(&["5%", "10%"])).unwrap();
        assert_eq!(
            got[0],
            Check {
                metric: "p99",
                max_regression: 0.05
            }
        );
        assert_eq!(
            got[1],
            Check {
                metric: "throughput",
                max_regression: 0.10
            }
        );
        let one = checks(&s(&["p99", "p50"]), &s(&["3%"])).unwrap();
        assert!(one.iter().all(|c| (c.max_regression - 0.03).abs() < 1e-12));
        let default = checks(&[], &[]).unwrap();
        assert_eq!(
            default.iter().map(|c| c.metric).collect::<Vec<_>>(),
            ["throughput", "p99"]
        );
        assert!((default[0].max_regression - DEFAULT_MAX_REGRESSION).abs() < 1e-12);
        assert_eq!(checks(&s(&["p99.9"]), &[]).unwrap()[0].metric, "p999");
    }

    #[test]
    fn a_typo_is_bad_input_with_a_suggestion() {
        let err = checks(&s(&["p98"]), &[]).unwrap_err();
        assert!(matches!(err.exit, Exit::Usage));
        assert!(
            err.error.to_string().contains("did you mean"),
            "{:#}",
            err.error
        );
        assert!(checks(&s(&["p99", "p99"]), &[]).is_err());
        assert!(checks(&s(&["p99"]), &s(&["5%", "6%"])).is_err());
        assert!(checks(&s(&["p99"]), &s(&["lots"])).is_err());
    }

    fn change(change: f64, verdict: CompareVerdict) -> MetricChange {
        MetricChange {
            a: Some(1.0),
            b: Some(1.0 + change),
            change: Some(change),
            ci_low: Some(change - 0.01),
            ci_high: Some(change + 0.01),
            verdict,
        }
    }

    #[test]
    fn a_regression_is_significant_and_past_the_allowance() {
        let p99 = Check {
            metric: "p99",
            max_regression: 0.05,
        };
        let rps = Check {
            metric: "throughput",
            max_regression: 0.05,
        };
        assert!(regressed(&p99, &change(0.10, CompareVerdict::Slower)));
        assert!(!regressed(&p99, &change(0.04, CompareVerdict::Slower)));
        assert!(!regressed(&p99, &change(0.10, CompareVerdict::Same)));
        assert!(regressed(&rps, &change(-0.10, CompareVerdict::Slower)));
        assert!(!regressed(&rps, &change(0.10, CompareVerdict::Faster)));
    }
}
