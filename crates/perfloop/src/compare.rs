//! `perfloop compare`: two saved load runs (or pooled runs), metric by metric, with the
//! bootstrap over per-second intervals of `perfloop_report::CompareRecord::build`.
//!
//! The sides are read from the store through `history::reference` (a run id, `latest`,
//! `tag:k=v`, `last:N`); only load runs carry the per-second samples a comparison needs.
//! Runs of different targets are refused unless `--force` (perfloop-report's
//! `compare::incomparable` says why). `gate` compares the same way.

use anyhow::anyhow;
use perfloop_report::compare::{Incomparable, incomparable};
use perfloop_report::export::{CompareText, Exporter, JsonExporter};
use perfloop_report::{CompareInput, CompareRecord, RunRecord, StoredRecord};
use perfloop_stats::compare::CompareOptions;
use perfloop_store::{RunEntry, RunKind, Store};

use crate::cli::CompareArgs;
use crate::history::reference::{self, RunRef};
use crate::{Exit, Failure};

/// Runs `perfloop compare`: exit 0 once the comparison is printed, whatever it says (a
/// CI that must fail on a regression runs `perfloop gate`); 2 for a reference that names
/// nothing, runs that cannot be compared, or bad flags.
pub fn run(args: &CompareArgs) -> Result<Exit, Failure> {
    let options = options(&args.threshold, &args.tail_threshold)?;
    let tags = crate::history::save::parse_tags(&args.tags)?;
    let a_ref = RunRef::parse(&args.a)?;
    let b_ref = RunRef::parse(&args.b)?;
    let store = crate::history::save::existing_store(args.store.as_deref())?;
    let a = side(&store, &a_ref, &tags)?;
    let b = side(&store, &b_ref, &tags)?;
    comparable(&a, &b, args.force)?;
    let record = CompareRecord::build(&a, &b, &options);
    let mut out = Vec::new();
    let written = if args.json {
        JsonExporter.write(&record, &mut out)
    } else {
        CompareText.write(&record, &mut out)
    };
    written.map_err(|e| Failure::run(anyhow!("cannot format the comparison: {e}")))?;
    crate::output::stdout_text(&String::from_utf8_lossy(&out));
    Ok(Exit::Ok)
}

/// The comparison's settings from `--threshold` and `--tail-threshold`.
pub fn options(threshold: &str, tail: &str) -> Result<CompareOptions, Failure> {
    Ok(CompareOptions {
        threshold: percent("--threshold", threshold)?,
        tail_threshold: percent("--tail-threshold", tail)?,
        ..CompareOptions::default()
    })
}

/// A percentage as typed (`5%`, `5`, `0.5%`) as a fraction (perfloop-report's
/// [`percent`](perfloop_report::compare::percent)); bad text is bad input naming `flag`.
pub fn percent(flag: &str, text: &str) -> Result<f64, Failure> {
    perfloop_report::compare::percent(text)
        .map_err(|e| Failure::usage(anyhow!("{flag} '{text}': {e}")))
}

/// A side of a comparison: the runs a reference names, read as load runs.
pub fn side(
    store: &Store,
    what: &RunRef,
    tags: &[(String, String)],
) -> Result<CompareInput, Failure> {
    let entries = reference::resolve(store, what, Some(RunKind::Load), tags)?;
    let mut runs = Vec::with_capacity(entries.len());
    // Newest first, as the record lists them.
    for entry in entries.iter().rev() {
        runs.push((entry.id.get(), load_run(store, entry)?));
    }
    Ok(CompareInput {
        label: label(what, &entries),
        runs,
    })
}

/// A stored load run; any other kind cannot be compared.
fn load_run(store: &Store, entry: &RunEntry) -> Result<RunRecord, Failure> {
    match reference::load_record(store, entry)? {
        StoredRecord::Run(record) => Ok(*record),
        _ => Err(Failure::usage(anyhow!(
            "run {} is a {} result, not a load run: compare and gate take load runs, whose \
             per-second samples they resample",
            entry.id,
            entry.kind
        ))),
    }
}

/// How a side reads in the report: `run 12`, `latest (run 14)`, `tag:branch=main (run 9)`,
/// `last:5 (runs 3–9)`.
fn label(what: &RunRef, entries: &[RunEntry]) -> String {
    let ids: Vec<i64> = entries.iter().map(|e| e.id.get()).collect();
    match (what, ids.as_slice()) {
        (RunRef::Id(id), _) => format!("run {id}"),
        (_, [one]) => format!("{what} (run {one})"),
        (_, many) => format!(
            "{what} (runs {})",
            many.iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Sides that should not be compared (perfloop-report's [`incomparable`]: runs of different
/// targets measure different things) are refused without `--force`.
pub fn comparable(a: &CompareInput, b: &CompareInput, force: bool) -> Result<(), Failure> {
    if force {
        return Ok(());
    }
    match incomparable(a, b) {
        None => Ok(()),
        Some(Incomparable::DifferentTargets { a: ta, b: tb }) => Err(Failure::usage(anyhow!(
            "the runs measured different targets ({} : {}; {} : {}); add --force to compare \
             them anyway",
            a.label,
            ta.join(", "),
            b.label,
            tb.join(", ")
        ))),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// A side of one run of `url`.
    fn side(label: &str, url: &str) -> CompareInput {
        let run = perfloop_report::fixture::empty_run(url);
        CompareInput {
            label: label.to_owned(),
            runs: vec![(1, run)],
        }
    }

    #[test]
    fn runs_of_different_targets_are_refused_unless_forced() {
        let a = side("run 1", "http://x/");
        assert!(comparable(&a, &side("run 2", "http://x/"), false).is_ok());
        let b = side("run 2", "http://y/");
        assert!(comparable(&a, &b, true).is_ok());
        let refused = comparable(&a, &b, false).unwrap_err();
        assert_eq!(refused.exit, Exit::Usage);
        assert_eq!(
            refused.error.to_string(),
            "the runs measured different targets (run 1 : http://x/; run 2 : http://y/); add \
             --force to compare them anyway"
        );
    }

    #[test]
    fn percentages_read_as_fractions_and_nonsense_is_refused() {
        for (text, want) in [("5%", 0.05), ("5", 0.05), (" 0.5 % ", 0.005), ("0%", 0.0)] {
            let got = percent("--threshold", text).map_err(|f| f.error.to_string());
            assert_eq!(got, Ok(want), "{text}");
        }
        for text in ["", "%", "five", "-1%", "NaN", "2000%"] {
            let err = percent("--threshold", text).map(|_| ()).unwrap_err();
            assert!(matches!(err.exit, Exit::Usage), "{text}");
            assert!(
                err.error.to_string().contains(&format!("'{text}'")),
                "{text}"
            );
        }
    }
}
