//! One second of a live run as the dashboard sees it ([`LiveSample`]), what the run is
//! ([`LiveInfo`]), and how two neighbouring samples merge into one when the hub thins its
//! history out: their seconds as the run record merges its rows (counts add up, latency
//! histograms add bucket by bucket on the fixed grid of [`perfloop_stats::grid`], so the
//! percentiles of a merged sample are those of its seconds together, not an average of
//! theirs), and what the live run adds to a second merged alongside.

use std::collections::BTreeMap;

use perfloop_report::TimelinePoint;
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
/// `sample` and an element of `/api/performance_history`. Its counts, percentiles and
/// latency histogram are the record's row for that second ([`TimelinePoint`], its fields
/// at the top level of the JSON); the rest is what the live run knows of it besides.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiveSample {
    /// The second as the run record keeps it.
    #[serde(flatten)]
    pub second: TimelinePoint,
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
    /// The live sample of a second, with nothing known of it besides.
    #[must_use]
    pub fn of(second: TimelinePoint) -> LiveSample {
        LiveSample {
            second,
            statuses: None,
            latency_sum_ms: None,
            in_flight: None,
            generator_cpu: None,
            saturated: None,
            target_cpu: None,
            target_rss_bytes: None,
        }
    }

    /// An empty second starting at `t_s`: the base the binary fills in.
    #[must_use]
    pub fn empty(t_s: u64) -> LiveSample {
        LiveSample::of(TimelinePoint::empty(t_s))
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

    /// `self` and the sample that follows it, as one: the seconds merged as the record
    /// merges them ([`TimelinePoint::merged`]: histograms bucket by bucket, percentiles read
    /// again), statuses and latency sums added, rates and means weighted by length, the
    /// highest memory, saturated if either was.
    #[must_use]
    pub fn merged(&self, next: &LiveSample) -> LiveSample {
        let (a, b) = (self.second.length_s, next.second.length_s);
        let length_s = a + b;
        let statuses = match (&self.statuses, &next.statuses) {
            (None, None) => None,
            (x, y) => {
                let mut all = x.clone().unwrap_or_default();
                for (code, n) in y.iter().flatten() {
                    *all.entry(*code).or_default() += n;
                }
                Some(all)
            }
        };
        let weighted = |x: Option<f64>, y: Option<f64>| match (x, y) {
            (Some(x), Some(y)) if length_s > 0.0 => Some((x * a + y * b) / length_s),
            (x, y) => y.or(x),
        };
        LiveSample {
            second: self.second.merged(&next.second),
            statuses,
            latency_sum_ms: match (self.latency_sum_ms, next.latency_sum_ms) {
                (Some(x), Some(y)) => Some(x + y),
                _ => None,
            },
            in_flight: weighted(self.in_flight, next.in_flight),
            generator_cpu: weighted(self.generator_cpu, next.generator_cpu),
            saturated: match (self.saturated, next.saturated) {
                (Some(x), Some(y)) => Some(x || y),
                (x, y) => x.or(y),
            },
            target_cpu: weighted(self.target_cpu, next.target_cpu),
            target_rss_bytes: match (self.target_rss_bytes, next.target_rss_bytes) {
                (Some(x), Some(y)) => Some(x.max(y)),
                (x, y) => x.or(y),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use perfloop_stats::grid;

    use super::*;

    #[test]
    fn the_json_has_the_documented_shape() {
        let mut s = LiveSample::empty(3);
        s.second.requests = 5;
        s.second.latency_buckets = vec![(412, 2), (413, 3)];
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
    fn merged_samples_merge_their_seconds_and_weigh_their_means() {
        let mut a = LiveSample::empty(0);
        a.second.requests = 100;
        a.second.latency_buckets = vec![(grid::bucket_of_us(1000.0), 100)];
        a.target_cpu = Some(1.0);
        a.statuses = Some(BTreeMap::from([(200, 100)]));
        let mut b = LiveSample::empty(1);
        b.second.requests = 100;
        b.second.latency_buckets = vec![(grid::bucket_of_us(9000.0), 100)];
        b.target_cpu = Some(3.0);
        b.statuses = Some(BTreeMap::from([(200, 98), (503, 2)]));
        let m = a.merged(&b);
        assert_eq!(m.second, a.second.merged(&b.second));
        assert_eq!(m.target_cpu, Some(2.0));
        assert_eq!(m.statuses, Some(BTreeMap::from([(200, 198), (503, 2)])));
        assert_eq!(m.status_errors(), 2);
    }
}
