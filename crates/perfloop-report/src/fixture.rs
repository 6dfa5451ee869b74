//! A minimal run record for tests (the `fixture` feature): a load run of `url` that counted
//! nothing, as the record's own JSON reads it. Tests that only need a record's identity
//! (its target, its kind) start from it instead of writing the record out again.

use serde_json::json;

use crate::run::RunRecord;

/// A completed closed-model run of `url` with no request counted.
///
/// # Panics
///
/// Never for a URL without quotes: the JSON is the record's own schema, checked by this
/// crate's tests.
#[must_use]
#[allow(clippy::expect_used)]
pub fn empty_run(url: &str) -> RunRecord {
    serde_json::from_value(json!({
        "schema": "perfloop.run.v1", "perfloop_version": "0.1.0",
        "started_at": "2026-01-31T12:00:00Z",
        "target": {"url": url, "method": "GET", "header_names": []},
        "load": {"model": "closed", "connections": 1, "duration_s": 1.0, "warmup_s": 0.0,
            "threads": 1, "timeout_s": 5.0},
        "requests": {"total": 0, "ok": 0, "errors": 0, "dropped": 0, "unfinished": 0,
            "by_status": {}, "errors_by_kind": {}},
        "throughput_rps": 0.0, "in_flight_mean": 0.0, "bytes_received": 0,
        "latency_ms": {"count": 0, "min": 0.0, "mean": 0.0, "stdev": 0.0, "p50": 0.0,
            "p75": 0.0, "p90": 0.0, "p95": 0.0, "p99": 0.0, "p99_9": 0.0, "max": 0.0},
        "latency_histogram": [],
        "generator": {"cpu_user_s": 0.0, "cpu_sys_s": 0.0, "cpu_us_per_request": 0.0,
            "threads_busy": [], "saturated": false},
        "timeline": [], "slo": [], "ending": "completed", "warnings": []
    }))
    .expect("the minimal run record reads as a record")
}
