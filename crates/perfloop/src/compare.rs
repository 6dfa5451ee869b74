//! `perfloop compare`: two saved load runs (or pooled runs), metric by metric, with the
//! bootstrap over per-second intervals of `perfloop_report::CompareRecord::build`.
//!
//! The sides are read from the store through `history::reference` (a run id, `latest`,
//! `tag:k=v`, `last:N`); only load runs carry the per-second samples a comparison needs.
//! Runs of different targets are refused unless `--force`. `gate` compares the same way.

use anyhow::anyhow;
use perfloop_report::export::{CompareText, Exporter, JsonExporter};
use perfloop_report::{CompareInput, CompareRecord, RunRecord};
use perfloop_stats::compare::CompareOptions;
use perfloop_store::{RunEntry, RunKind, Store};

use crate::cli::CompareArgs;
use crate::history::reference::{self, RunRef, StoredRecord};
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

/// A percentage as typed (`5%`, `5`, `0.5%`) as a fraction; bad text is bad input.
pub fn percent(flag: &str, text: &str) -> Result<f64, Failure> {
    let number = text.trim().trim_end_matches('%').trim();
    match number.parse::<f64>() {
        Ok(v) if v.is_finite() && (0.0..1000.0).contains(&v) => Ok(v / 100.0),
        _ => Err(Failure::usage(anyhow!(
            "{flag} '{text}': expected a percentage such as 5% (0 to 1000)"
        ))),
    }
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

/// Runs of different targets measure different things: refused without `--force`.
pub fn comparable(a: &CompareInput, b: &CompareInput, force: bool) -> Result<(), Failure> {
    if force {
        return Ok(());
    }
    let targets = |side: &CompareInput| {
        let mut t: Vec<String> = side
            .runs
            .iter()
            .map(|(_, r)| r.target.url.clone())
            .collect();
        t.sort();
        t.dedup();
        t
    };
    let (ta, tb) = (targets(a), targets(b));
    let mut all = ta.clone();
    all.extend(tb.iter().cloned());
    all.sort();
    all.dedup();
    if all.len() > 1 {
        return Err(Failure::usage(anyhow!(
            "the runs measured different targets ({} : {}; {} : {}); add --force to compare \
             them anyway",
            a.label,
            ta.join(", "),
            b.label,
            tb.join(", ")
        )));
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

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
