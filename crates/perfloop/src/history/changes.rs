//! `history --changes`: the runs after which a headline metric shifted level.
//!
//! Method: the runs of one target and kind, oldest first, form a series of the metric's
//! headline values (runs that did not measure it are left out); `perfloop-stats`'s change
//! point detector (E-divisive means in sliding windows with a t-test, as Apache Otava does,
//! with a minimum segment length; see `perfloop_stats::changepoint`) runs on it with its
//! defaults: window 50, p-value 0.001, no minimum magnitude, segments of 5 runs or more.
//! The first run of each new segment is marked with the mean before and after and the
//! p-value. A series shorter than two segments cannot show a change and says so.

use std::collections::BTreeMap;

use perfloop_report::{Headline, HeadlineMetric};
use perfloop_stats::changepoint::{self, Params};
use perfloop_store::RunEntry;

/// A shift of the metric: the first run of a new segment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shift {
    /// The mean of the segment before.
    pub before: f64,
    /// The mean of the segment from this run on.
    pub after: f64,
    /// `after / before − 1`; `None` when `before` is 0.
    pub change: Option<f64>,
    /// The two-sided p-value of the difference.
    pub p_value: f64,
}

/// The shifts found, by run id, and what could not be judged.
#[derive(Debug, Clone, Default)]
pub struct Changes {
    /// The first run of each new segment, by run id.
    pub shifts: BTreeMap<i64, Shift>,
    /// A sentence per series too short (or unreadable) to judge.
    pub notes: Vec<String>,
}

/// The shifts of `metric` in `runs` (any order), per target and kind.
pub fn detect(runs: &[RunEntry], metric: HeadlineMetric) -> Changes {
    let params = Params::default();
    let mut groups: BTreeMap<(&str, &str), Vec<&RunEntry>> = BTreeMap::new();
    for run in runs {
        groups
            .entry((run.target.as_str(), run.kind.as_str()))
            .or_default()
            .push(run);
    }
    let mut changes = Changes::default();
    for ((target, kind), mut group) in groups {
        group.sort_by_key(|r| (r.started_at, r.id));
        let points: Vec<(i64, f64)> = group
            .iter()
            .filter_map(|r| {
                let headline: Headline = serde_json::from_str(&r.metrics_json).ok()?;
                headline
                    .get(metric)
                    .filter(|v| v.is_finite())
                    .map(|v| (r.id.get(), v))
            })
            .collect();
        let needed = 2 * params.min_segment;
        let what = format!("{target} ({kind})");
        if points.len() < needed {
            changes.notes.push(format!(
                "{what}: {} run{} with {}; a change needs at least {needed} (two segments of {})",
                points.len(),
                if points.len() == 1 { "" } else { "s" },
                metric.name(),
                params.min_segment
            ));
            continue;
        }
        let values: Vec<f64> = points.iter().map(|&(_, v)| v).collect();
        match changepoint::detect(&values, &params) {
            Ok(found) => {
                for cp in found {
                    if let Some(&(id, _)) = points.get(cp.index) {
                        changes.shifts.insert(
                            id,
                            Shift {
                                before: cp.before,
                                after: cp.after,
                                change: cp.change(),
                                p_value: cp.p_value,
                            },
                        );
                    }
                }
            }
            Err(e) => changes.notes.push(format!("{what}: {e}")),
        }
    }
    changes
}
