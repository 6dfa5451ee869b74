//! One second of a live run as the dashboard sees it ([`LiveSample`]), what the run is
//! ([`LiveInfo`]), and how two neighbouring samples merge into one when the hub thins its
//! history out: counts add up, latency histograms add bucket by bucket on the fixed grid of
//! [`perfloop_stats::grid`], so the percentiles of a merged sample are those of its seconds
//! together, not an average of theirs.

use std::collections::BTreeMap;

use perfloop_stats::grid;
use serde::{Deserialize, Serialize};

/// What the live run is: the SSE stream's `hello`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiveInfo {
    /// `load`, `capacity` or `tune`.
    pub kind: String,
    /// The target: its URL (secrets redacted) or its command.
    pub target: String,
    /// The command line, its secrets redacted.
    pub command: String,
    /// When the run started, RFC 3339.
    pub started_at: String,
    /// The measured window in seconds when it is known in advance.
    pub window_s: Option<f64>,
}

/// One second (or, once merged, a few neighbouring seconds) of a live run: the SSE stream's
/// `sample` and an element of `/api/performance_history`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiveSample {
    /// Start, seconds since the live run began.
    pub t_s: u64,
    /// Length in seconds (1 for a second; the sum of the lengths once merged).
    pub length_s: f64,
    /// Requests completed in it (responses and failed attempts).
    pub requests: u64,
    /// Of which errors.
    pub errors: u64,
    /// `requests / length_s`.
    pub rps: f64,
    /// Median latency of its responses, ms; `None` without a response.
    pub p50_ms: Option<f64>,
    /// 90th percentile, ms.
    pub p90_ms: Option<f64>,
    /// 99th percentile, ms.
    pub p99_ms: Option<f64>,
    /// Slowest response, ms.
    pub max_ms: Option<f64>,
    /// Its responses' latencies on [`perfloop_stats::grid`]: `(bucket, count)`, ascending.
    pub latency_buckets: Vec<(u32, u64)>,
    /// Responses by HTTP status (`{"200": 1234}`); `None` when not known.
    pub statuses: Option<BTreeMap<u16, u64>>,
    /// The sum of the latencies of its responses (those of `latency_buckets`), ms; `None`
    /// when not known (a stored run's seconds).
    pub latency_sum_ms: Option<f64>,
    /// Mean requests in flight; `None` when not known.
    pub in_flight: Option<f64>,
    /// perfloop's own CPU, in cores; `None` when not measured.
    pub generator_cpu: Option<f64>,
    /// Whether a load generator thread was saturated (its figures may be the generator's);
    /// `None` when not known (a stored run's seconds).
    pub saturated: Option<bool>,
    /// The target's CPU, in cores; `None` when not watched.
    pub target_cpu: Option<f64>,
    /// The target's resident memory, bytes; `None` when not watched.
    pub target_rss_bytes: Option<u64>,
}

impl LiveSample {
    /// An empty second starting at `t_s`: the base the binary fills in.
    #[must_use]
    pub fn empty(t_s: u64) -> LiveSample {
        LiveSample {
            t_s,
            length_s: 1.0,
            requests: 0,
            errors: 0,
            rps: 0.0,
            p50_ms: None,
            p90_ms: None,
            p99_ms: None,
            max_ms: None,
            latency_buckets: Vec::new(),
            statuses: None,
            latency_sum_ms: None,
            in_flight: None,
            generator_cpu: None,
            saturated: None,
            target_cpu: None,
            target_rss_bytes: None,
        }
    }

    /// The responses counted by status that are errors (4xx and 5xx).
    #[must_use]
    pub fn status_errors(&self) -> u64 {
        self.statuses
            .iter()
            .flatten()
            .filter(|(code, _)| **code >= 400)
            .map(|(_, n)| n)
            .sum()
    }

    /// `self` and the sample that follows it, as one: counts summed, histograms merged
    /// bucket by bucket and their percentiles read again (the higher of the two when a
    /// second with responses has no histogram: a run saved before seconds kept theirs),
    /// rates and means weighted by length, the highest memory, saturated if either was.
    #[must_use]
    pub fn merged(&self, next: &LiveSample) -> LiveSample {
        let length_s = self.length_s + next.length_s;
        let requests = self.requests + next.requests;
        let mut latency_buckets = self.latency_buckets.clone();
        grid::merge(&mut latency_buckets, &next.latency_buckets);
        let histograms = |s: &LiveSample| s.p50_ms.is_none() || !s.latency_buckets.is_empty();
        let exact = histograms(self) && histograms(next);
        let higher = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        let ms = |q: f64, a: Option<f64>, b: Option<f64>| {
            if exact {
                grid::quantile_us(&latency_buckets, q).map(|us| us / 1000.0)
            } else {
                higher(a, b)
            }
        };
        let statuses = match (&self.statuses, &next.statuses) {
            (None, None) => None,
            (a, b) => {
                let mut all = a.clone().unwrap_or_default();
                for (code, n) in b.iter().flatten() {
                    *all.entry(*code).or_default() += n;
                }
                Some(all)
            }
        };
        let weighted = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(a), Some(b)) if length_s > 0.0 => {
                Some((a * self.length_s + b * next.length_s) / length_s)
            }
            (a, b) => b.or(a),
        };
        LiveSample {
            t_s: self.t_s,
            length_s,
            requests,
            errors: self.errors + next.errors,
            rps: if length_s > 0.0 {
                requests as f64 / length_s
            } else {
                0.0
            },
            p50_ms: ms(0.5, self.p50_ms, next.p50_ms),
            p90_ms: ms(0.9, self.p90_ms, next.p90_ms),
            p99_ms: ms(0.99, self.p99_ms, next.p99_ms),
            max_ms: higher(self.max_ms, next.max_ms),
            statuses,
            latency_sum_ms: match (self.latency_sum_ms, next.latency_sum_ms) {
                (Some(a), Some(b)) => Some(a + b),
                _ => None,
            },
            in_flight: weighted(self.in_flight, next.in_flight),
            generator_cpu: weighted(self.generator_cpu, next.generator_cpu),
            saturated: match (self.saturated, next.saturated) {
                (Some(a), Some(b)) => Some(a || b),
                (a, b) => a.or(b),
            },
            target_cpu: weighted(self.target_cpu, next.target_cpu),
            target_rss_bytes: match (self.target_rss_bytes, next.target_rss_bytes) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => a.or(b),
            },
            latency_buckets,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn the_json_has_the_documented_shape() {
        let mut s = LiveSample::empty(3);
        s.requests = 5;
        s.latency_buckets = vec![(412, 2), (413, 3)];
        s.statuses = Some(BTreeMap::from([(200, 5)]));
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v["t_s"], 3);
        assert_eq!(
            v["latency_buckets"],
            serde_json::json!([[412, 2], [413, 3]])
        );
        assert_eq!(v["statuses"]["200"], 5);
        assert!(v["target_rss_bytes"].is_null());
        let back: LiveSample = serde_json::from_value(v).unwrap();
        assert_eq!(back, s);
    }

    #[test]
    fn merged_percentiles_are_those_of_both_seconds_together() {
        let mut a = LiveSample::empty(0);
        a.requests = 100;
        a.latency_buckets = vec![(grid::bucket_of_us(1000.0), 100)];
        a.max_ms = Some(1.0);
        a.target_cpu = Some(1.0);
        let mut b = LiveSample::empty(1);
        b.requests = 100;
        b.errors = 2;
        b.latency_buckets = vec![(grid::bucket_of_us(9000.0), 100)];
        b.max_ms = Some(9.0);
        b.target_cpu = Some(3.0);
        let m = a.merged(&b);
        assert_eq!((m.t_s, m.requests, m.errors), (0, 200, 2));
        assert!((m.length_s - 2.0).abs() < 1e-12);
        assert!((m.rps - 100.0).abs() < 1e-9);
        // Half the responses took 1 ms, half 9 ms: the p90 is 9 ms, not the mean of p90s.
        assert!((m.p90_ms.unwrap() / 9.0 - 1.0).abs() < 0.01);
        assert!((m.p50_ms.unwrap() / 1.0 - 1.0).abs() < 0.01);
        assert_eq!(m.max_ms, Some(9.0));
        assert_eq!(m.target_cpu, Some(2.0));
    }
}
