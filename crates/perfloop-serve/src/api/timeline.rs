//! A stored load run's seconds in the live sample's shape (see `docs/api.md`), so that one
//! script draws a saved run and a live one alike.
//!
//! Each row of the record's `timeline` (read as the record's own row type,
//! `TimelinePoint`) becomes a [`Row`]: its counts and percentiles as recorded, its latency
//! buckets on `perfloop_stats::grid`, and the resources of the
//! monitor's samples that ended inside it (mean CPU of the target and of the generator,
//! in cores; the target's largest RSS, in bytes). A figure the record does not have (status
//! codes per second, requests in flight per second, saturation per second; the target's
//! resources without a watched process) is `null`.
//!
//! A timeline longer than `max_points` rows is merged down: groups of `k` adjacent seconds
//! (`k` the smallest that fits) become one row as the record merges its rows
//! (`TimelinePoint::merged`): counts summed, latency buckets merged bucket by bucket and
//! percentiles read from the merged buckets, exact to the grid's 1 %, not an average of
//! percentiles; rows of older records without buckets keep, merged, the highest of their
//! seconds' percentiles (an upper bound).

use perfloop_report::TimelinePoint;
use perfloop_store::{RunEntry, RunKind};
use serde::Deserialize;
use serde_json::{Value, json};

use super::ApiError;
use crate::live::LiveSample;

/// Bytes in a MiB.
const MIB: f64 = 1024.0 * 1024.0;

/// One row of a stored run's timeline: the live sample's shape, so that a page draws both
/// alike.
pub type Row = LiveSample;

/// What `/api/runs/{id}/timeline` answers for a run and its stored record.
///
/// # Errors
///
/// 404 for a run that is not a load run (no timeline of its own), 500 for a record that
/// does not read.
pub fn of_record(entry: &RunEntry, record: &str, max_points: usize) -> Result<Value, ApiError> {
    let id = entry.id.get();
    if entry.kind != RunKind::Load {
        return Err(ApiError::not_found(format!(
            "run {id} is a {} result: only load runs have a timeline (its page shows its \
             report)",
            entry.kind
        )));
    }
    let record: Value = serde_json::from_str(record)
        .map_err(|e| ApiError::internal(format!("run {id}: its record cannot be read: {e}")))?;
    let rows = rows(&record)
        .map_err(|e| ApiError::internal(format!("run {id}: its record cannot be read: {e}")))?;
    let total = rows.len();
    let (per_row, rows) = downsample(rows, max_points);
    Ok(json!({
        "run": id,
        "kind": entry.kind.as_str(),
        "started_at": record.get("started_at").cloned().unwrap_or(Value::Null),
        "seconds": total,
        "seconds_per_row": per_row,
        "rows": rows,
    }))
}

/// The rows of a run record (as JSON), one per second, with the monitor's figures.
///
/// # Errors
///
/// The record's `timeline` does not read as the record's rows (the message says why).
pub fn rows(record: &Value) -> Result<Vec<Row>, String> {
    let points: Vec<TimelinePoint> = match record.get("timeline") {
        Some(timeline) => {
            Vec::<TimelinePoint>::deserialize(timeline).map_err(|e| format!("its timeline: {e}"))?
        }
        None => Vec::new(),
    };
    let empty = Vec::new();
    let samples = record
        .pointer("/target/samples")
        .and_then(Value::as_array)
        .unwrap_or(&empty);
    let mut rows: Vec<Row> = points.into_iter().map(LiveSample::of).collect();
    attach_samples(&mut rows, samples);
    Ok(rows)
}

/// The monitor's samples that ended inside each row: mean CPUs (cores), largest RSS.
fn attach_samples(rows: &mut [Row], samples: &[Value]) {
    let mut sorted: Vec<&Value> = samples.iter().collect();
    let end = |s: &Value| s.get("t_s").and_then(Value::as_f64).unwrap_or(f64::NAN);
    sorted.retain(|s| end(s).is_finite());
    sorted.sort_by(|a, b| end(a).total_cmp(&end(b)));
    let mut next = 0;
    for row in rows {
        let (from, to) = (
            row.second.t_s as f64,
            row.second.t_s as f64 + row.second.length_s,
        );
        while next < sorted.len() && end(sorted[next]) <= from {
            next += 1;
        }
        let mut inside = Vec::new();
        while next < sorted.len() && end(sorted[next]) <= to {
            inside.push(sorted[next]);
            next += 1;
        }
        let mean = |name: &str| {
            let values: Vec<f64> = inside
                .iter()
                .filter_map(|s| s.get(name).and_then(Value::as_f64))
                .collect();
            (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
        };
        row.target_cpu = mean("cpu_pct").map(|pct| pct / 100.0);
        row.generator_cpu = mean("generator_cpu_pct").map(|pct| pct / 100.0);
        row.target_rss_bytes = inside
            .iter()
            .filter_map(|s| s.get("rss_mb").and_then(Value::as_f64))
            .reduce(f64::max)
            .map(|mb| (mb * MIB).round() as u64);
    }
}

/// `rows` merged in groups of the fewest adjacent rows that bring them within
/// `max_points`; the group size and the rows.
#[must_use]
pub fn downsample(rows: Vec<Row>, max_points: usize) -> (usize, Vec<Row>) {
    let max_points = max_points.max(1);
    if rows.len() <= max_points {
        return (1, rows);
    }
    let k = rows.len().div_ceil(max_points);
    let merged = rows.chunks(k).map(merge).collect();
    (k, merged)
}

/// Adjacent rows as one (see [`LiveSample::merged`]).
fn merge(group: &[Row]) -> Row {
    let mut rows = group.iter();
    let first = rows.next().cloned().unwrap_or_else(|| LiveSample::empty(0));
    rows.fold(first, |merged, next| merged.merged(next))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use perfloop_stats::grid;

    /// A timeline of `n` seconds, second `t` holding 100 latencies in bucket 600 + t.
    fn record(n: u64) -> Value {
        let timeline: Vec<Value> = (0..n)
            .map(|t| {
                let ms = grid::upper_us(600 + t as u32) / 1000.0;
                json!({"t_s": t, "length_s": 1.0, "requests": 100, "errors": t % 2, "rps": 100.0,
                    "p50_ms": ms, "p90_ms": ms, "p99_ms": ms, "max_ms": ms,
                    "latency_buckets": [[600 + t, 100]]})
            })
            .collect();
        let samples: Vec<Value> = (0..2 * n)
            .map(|i| {
                json!({"t_s": (i + 1) as f64 * 0.5, "interval_s": 0.5, "cpu_pct": 50.0 + i as f64,
                    "rss_mb": 10.0 + i as f64, "generator_cpu_pct": 20.0,
                    "host_cpu_pct": 1.0, "host_mem_used_mb": 1.0, "host_mem_total_mb": 2.0})
            })
            .collect();
        json!({"started_at": "2026-01-31T12:00:00Z", "timeline": timeline,
            "target": {"samples": samples}})
    }

    #[test]
    fn rows_carry_the_record_and_the_samples_inside_them() {
        let rows = rows(&record(3)).unwrap();
        assert_eq!(rows.len(), 3);
        let row = &rows[1];
        let second = &row.second;
        assert_eq!((second.t_s, second.requests, second.errors), (1, 100, 1));
        // Samples ending at 1.5 and 2.0 fall in [1, 2): CPU 52 % and 53 %.
        assert!((row.target_cpu.unwrap() - 0.525).abs() < 1e-9);
        assert!((row.generator_cpu.unwrap() - 0.2).abs() < 1e-9);
        assert_eq!(row.target_rss_bytes, Some((13.0 * MIB) as u64));
        assert_eq!(row.statuses, None);
        assert_eq!(row.in_flight, None);
        assert_eq!(second.latency_buckets, vec![(601, 100)]);
    }

    #[test]
    fn a_timeline_that_does_not_read_is_an_error_naming_it() {
        let mut bad = record(2);
        bad["timeline"][1]["requests"] = json!("many");
        let e = rows(&bad).unwrap_err();
        assert!(e.contains("its timeline"), "{e}");
    }

    #[test]
    fn merged_rows_read_percentiles_from_merged_buckets() {
        let (k, merged) = downsample(rows(&record(10)).unwrap(), 4);
        assert_eq!(k, 3);
        assert_eq!(merged.len(), 4);
        let first = &merged[0].second;
        assert_eq!((first.t_s, first.requests, first.errors), (0, 300, 1));
        assert!((first.length_s - 3.0).abs() < 1e-12);
        assert!((first.rps - 100.0).abs() < 1e-9);
        assert_eq!(
            first.latency_buckets,
            vec![(600, 100), (601, 100), (602, 100)]
        );
        // Rank 150 of 300 falls at the middle of bucket 601.
        let want = (grid::lower_us(601) + grid::upper_us(601)) / 2.0 / 1000.0;
        assert!((first.p50_ms.unwrap() - want).abs() < 1e-9);
        assert!((first.max_ms.unwrap() - grid::upper_us(602) / 1000.0).abs() < 1e-9);
        let last = &merged[3].second;
        assert_eq!((last.t_s, last.requests), (9, 100));
        let (k, same) = downsample(rows(&record(4)).unwrap(), 4);
        assert_eq!((k, same.len()), (1, 4));
    }
}
