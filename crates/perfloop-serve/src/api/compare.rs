//! `GET /api/compare/{a}/{b}`: run B against run A, as `perfloop compare A B` compares
//! them: perfloop-report's [`CompareRecord::build`] over the two stored load runs, with
//! the same bootstrap over their seconds and the same default thresholds (or those the
//! query gives). Only load runs carry the seconds a comparison resamples; for any other
//! kind the answer says so and has no `compare` record. Runs that `perfloop compare`
//! refuses without `--force` (perfloop-report's `compare::incomparable`: different targets)
//! are compared all the same (a page asked for it), with a note saying why not to trust it.

use perfloop_report::compare::{Incomparable, incomparable};
use perfloop_report::{CompareInput, CompareRecord, StoredRecord};
use perfloop_stats::compare::CompareOptions;
use perfloop_store::{Location, RunEntry};
use serde_json::{Value, json};

use super::ApiError;
use super::store;

/// Two runs and, when both are load runs, their comparison.
#[derive(Debug, Clone)]
pub struct Comparison {
    /// Run A, the reference.
    pub a: RunEntry,
    /// Run B, compared with it.
    pub b: RunEntry,
    /// The compare record; `None` unless both are load runs.
    pub record: Option<CompareRecord>,
    /// What limited the comparison, one sentence each.
    pub notes: Vec<String>,
}

impl Comparison {
    /// The API's answer: both runs' listing entries, the compare record (or `null`), the
    /// notes.
    #[must_use]
    pub fn to_json(&self) -> Value {
        json!({
            "a": store::summary(&self.a),
            "b": store::summary(&self.b),
            "compare": self.record,
            "notes": self.notes,
        })
    }
}

/// Runs `a` and `b` read from the store and compared when both are load runs.
///
/// # Errors
///
/// 404 when a run is not in the store, 500 or 503 when it cannot be read.
pub fn build(
    location: &Location,
    a: i64,
    b: i64,
    options: &CompareOptions,
) -> Result<Comparison, ApiError> {
    let (entry_a, record_a) = store::load(location, a)?;
    let (entry_b, record_b) = store::load(location, b)?;
    let mut notes: Vec<String> = Vec::new();
    let record = match (record_a, record_b) {
        (StoredRecord::Run(ra), StoredRecord::Run(rb)) => {
            let side = |id: i64, record| CompareInput {
                label: format!("run {id}"),
                runs: vec![(id, record)],
            };
            let (side_a, side_b) = (side(a, *ra), side(b, *rb));
            if let Some(Incomparable::DifferentTargets { a: ta, b: tb }) =
                incomparable(&side_a, &side_b)
            {
                notes.push(format!(
                    "the runs measured different targets ({} and {}): the comparison says \
                     how they differ, not whether a change made one faster",
                    ta.join(", "),
                    tb.join(", ")
                ));
            }
            Some(CompareRecord::build(&side_a, &side_b, options))
        }
        _ => {
            notes.push(format!(
                "run {a} is a {} result and run {b} a {} result: only two load runs are \
                 compared (their per-second samples are resampled)",
                entry_a.kind, entry_b.kind
            ));
            None
        }
    };
    Ok(Comparison {
        a: entry_a,
        b: entry_b,
        record,
        notes,
    })
}
