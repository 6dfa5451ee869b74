//! `GET /metrics`: the live run in Prometheus' text exposition format 0.0.4, so that a
//! Prometheus server (or anything that reads its format) can scrape a run as it goes.
//!
//! | metric | type | what |
//! | --- | --- | --- |
//! | `perfloop_up` | gauge | 1 while a run is served (live or ended), 0 when none is |
//! | `perfloop_run_ended` | gauge | 1 once the run has ended |
//! | `perfloop_requests_total{status}` | counter | requests by HTTP status (`status="200"`); requests without one as `status="ok"` (raw TCP responses) or `status="error",kind="no_response"` (failed attempts: connect, timeout, reset…) |
//! | `perfloop_request_errors_total` | counter | requests that failed (error statuses included) |
//! | `perfloop_request_duration_seconds` | histogram | response latency; buckets from 0.5 ms to 10 s |
//! | `perfloop_requests_in_flight` | gauge | mean requests in flight over the last second |
//! | `perfloop_generator_cpu_seconds_total` | counter | perfloop's own CPU time |
//! | `perfloop_generator_saturated` | gauge | 1 when a load generator thread was saturated in the last second |
//! | `perfloop_target_cpu_seconds_total` | counter | the target's CPU time (only when it is watched) |
//! | `perfloop_target_resident_memory_bytes` | gauge | the target's resident memory (only when watched) |
//! | `perfloop_alerts_firing` | gauge | alert rules firing now |
//!
//! Without a live run (`perfloop serve`) the answer is 200 with `perfloop_up 0` alone: the
//! scrape succeeds, and says there is nothing to measure.
//!
//! Latencies are kept per second on the 1 % grid of `perfloop_stats::grid`: a histogram
//! bucket `le` counts the grid buckets whose upper bound is at most `le` (a response within
//! 1 % under a bound may count in the next one); `_sum` is measured: the engine sums each
//! second's response latencies exactly. The counters count from the run's
//! start; a figure the run does not measure is left out, never written as 0.

use std::fmt::Write as _;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use perfloop_stats::grid;

use super::hub::{LiveHub, LiveTotals};
use crate::AppState;

/// The exposition format's content type.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The upper bounds of the latency histogram's buckets, seconds.
pub const BOUNDS_S: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The handler.
pub async fn metrics(State(state): State<AppState>) -> Response {
    let body = match &state.live {
        Some(hub) => exposition(hub),
        None => absent(),
    };
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], body).into_response()
}

/// The exposition without a run.
#[must_use]
pub fn absent() -> String {
    let mut out = String::new();
    family(
        &mut out,
        "perfloop_up",
        "gauge",
        "Whether a perfloop run is served (1) or not (0).",
    );
    out.push_str("perfloop_up 0\n");
    out
}

/// Writes HELP and TYPE.
fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// A number as the format writes it.
fn number(v: f64) -> String {
    if v.is_nan() {
        "NaN".to_owned()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.to_owned()
    } else {
        format!("{v}")
    }
}

/// The live run's exposition.
#[must_use]
pub fn exposition(hub: &LiveHub) -> String {
    let totals = hub.totals();
    let firing = hub.firing().len();
    let ended = hub.ended().is_some();
    render(&totals, firing, ended)
}

/// The exposition of `totals`.
#[must_use]
pub fn render(totals: &LiveTotals, firing: usize, ended: bool) -> String {
    let mut out = String::with_capacity(4096);
    family(
        &mut out,
        "perfloop_up",
        "gauge",
        "Whether a perfloop run is served (1) or not (0).",
    );
    out.push_str("perfloop_up 1\n");
    family(
        &mut out,
        "perfloop_run_ended",
        "gauge",
        "Whether the run has ended (1) or is going on (0).",
    );
    let _ = writeln!(out, "perfloop_run_ended {}", u8::from(ended));

    family(
        &mut out,
        "perfloop_requests_total",
        "counter",
        "Requests completed by the load generator, by HTTP status; status=\"ok\" for \
         responses without one, status=\"error\" for failed attempts.",
    );
    for (code, n) in &totals.statuses {
        let _ = writeln!(out, "perfloop_requests_total{{status=\"{code}\"}} {n}");
    }
    if totals.other_ok > 0 || totals.statuses.is_empty() {
        let _ = writeln!(
            out,
            "perfloop_requests_total{{status=\"ok\"}} {}",
            totals.other_ok
        );
    }
    let _ = writeln!(
        out,
        "perfloop_requests_total{{status=\"error\",kind=\"no_response\"}} {}",
        totals.other_errors
    );
    family(
        &mut out,
        "perfloop_request_errors_total",
        "counter",
        "Requests that failed: error statuses (4xx, 5xx) and failed attempts.",
    );
    let _ = writeln!(out, "perfloop_request_errors_total {}", totals.errors);

    family(
        &mut out,
        "perfloop_request_duration_seconds",
        "histogram",
        "Response latency, from the (intended) send to the end of the response.",
    );
    let buckets = &totals.latency_buckets;
    let mut cumulative = 0u64;
    let mut next = buckets.iter().peekable();
    for bound in BOUNDS_S {
        let bound_us = bound * 1e6;
        while let Some(&&(i, n)) = next.peek() {
            if grid::upper_us(i) <= bound_us * (1.0 + 1e-12) {
                cumulative += n;
                next.next();
            } else {
                break;
            }
        }
        let _ = writeln!(
            out,
            "perfloop_request_duration_seconds_bucket{{le=\"{}\"}} {cumulative}",
            number(bound)
        );
    }
    let count = grid::count(buckets);
    let _ = writeln!(
        out,
        "perfloop_request_duration_seconds_bucket{{le=\"+Inf\"}} {count}"
    );
    // Measured: each second's sum of its responses' latencies, added up.
    if !totals.latency_sum_partial {
        let _ = writeln!(
            out,
            "perfloop_request_duration_seconds_sum {}",
            number(totals.latency_sum_s)
        );
    }
    let _ = writeln!(out, "perfloop_request_duration_seconds_count {count}");

    let latest = totals.latest.as_ref();
    family(
        &mut out,
        "perfloop_requests_in_flight",
        "gauge",
        "Mean requests in flight over the last second.",
    );
    if let Some(v) = latest.and_then(|s| s.in_flight) {
        let _ = writeln!(out, "perfloop_requests_in_flight {}", number(v));
    }
    family(
        &mut out,
        "perfloop_generator_cpu_seconds_total",
        "counter",
        "CPU time used by perfloop itself (user and system) during the run.",
    );
    let _ = writeln!(
        out,
        "perfloop_generator_cpu_seconds_total {}",
        number(totals.generator_cpu_s)
    );
    family(
        &mut out,
        "perfloop_generator_saturated",
        "gauge",
        "Whether a load generator thread was saturated in the last second (its figures may \
         be the generator's, not the target's).",
    );
    let _ = writeln!(
        out,
        "perfloop_generator_saturated {}",
        u8::from(latest.is_some_and(|s| s.saturated == Some(true)))
    );
    family(
        &mut out,
        "perfloop_target_cpu_seconds_total",
        "counter",
        "CPU time used by the watched target's processes during the run.",
    );
    if let Some(v) = totals.target_cpu_s {
        let _ = writeln!(out, "perfloop_target_cpu_seconds_total {}", number(v));
    }
    family(
        &mut out,
        "perfloop_target_resident_memory_bytes",
        "gauge",
        "Resident memory of the watched target's processes.",
    );
    if let Some(v) = latest.and_then(|s| s.target_rss_bytes) {
        let _ = writeln!(out, "perfloop_target_resident_memory_bytes {v}");
    }
    family(
        &mut out,
        "perfloop_alerts_firing",
        "gauge",
        "Alert rules firing now.",
    );
    let _ = writeln!(out, "perfloop_alerts_firing {firing}");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::live::LiveSample;

    #[test]
    fn buckets_are_cumulative_and_end_with_the_count() {
        let mut s = LiveSample::empty(0);
        s.second.requests = 10;
        s.second.errors = 1;
        s.second.latency_buckets = vec![
            (grid::bucket_of_us(300.0), 4),
            (grid::bucket_of_us(2000.0), 5),
        ];
        s.statuses = Some([(200, 9)].into_iter().collect());
        let totals = LiveTotals {
            requests: 10,
            errors: 1,
            statuses: [(200, 9)].into_iter().collect(),
            other_errors: 1,
            latency_buckets: s.second.latency_buckets.clone(),
            latest: Some(s),
            ..LiveTotals::default()
        };
        let text = render(&totals, 0, false);
        assert!(text.contains("perfloop_request_duration_seconds_bucket{le=\"0.0005\"} 4\n"));
        assert!(text.contains("perfloop_request_duration_seconds_bucket{le=\"0.001\"} 4\n"));
        assert!(text.contains("perfloop_request_duration_seconds_bucket{le=\"0.0025\"} 9\n"));
        assert!(text.contains("perfloop_request_duration_seconds_bucket{le=\"+Inf\"} 9\n"));
        assert!(text.contains("perfloop_requests_total{status=\"200\"} 9\n"));
        assert!(
            text.contains("perfloop_requests_total{status=\"error\",kind=\"no_response\"} 1\n")
        );
        // Not watched: no target figures.
        assert!(!text.contains("\nperfloop_target_resident_memory_bytes "));
    }
}
