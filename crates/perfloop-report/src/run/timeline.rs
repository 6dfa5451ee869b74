//! The record's seconds ([`TimelinePoint`]): made from the engine's, and merged, so that
//! every reader of per-second figures (the record, the dashboard's live samples and its
//! stored timelines) has one row type and one way to join neighbouring rows.
//!
//! Rows merge on the fixed latency grid of [`perfloop_stats::grid`]: counts add up,
//! histograms add bucket by bucket and the merged row's percentiles are read from the sum,
//! so a merged row's p99 is that of its seconds together, not an average of theirs.

use perfloop_engine::TimelineRow;
use perfloop_stats::grid;

use super::build::finite;
use super::{EndpointPoint, TimelinePoint};

impl TimelinePoint {
    /// The record's row for one of the engine's seconds (a value JSON cannot hold, NaN or
    /// infinity, written as 0).
    #[must_use]
    pub fn of(row: &TimelineRow) -> TimelinePoint {
        TimelinePoint {
            t_s: row.t_s,
            length_s: finite(row.length_s),
            requests: row.requests,
            errors: row.errors,
            rps: finite(row.rps),
            p50_ms: row.p50_ms.map(finite),
            p90_ms: row.p90_ms.map(finite),
            p99_ms: row.p99_ms.map(finite),
            max_ms: row.max_ms.map(finite),
            latency_buckets: row.latency_buckets.clone(),
            endpoints: row
                .endpoints
                .iter()
                .map(|e| EndpointPoint {
                    requests: e.requests,
                    errors: e.errors,
                    rps: if row.length_s > 0.0 {
                        finite(e.requests as f64 / row.length_s)
                    } else {
                        0.0
                    },
                    p50_ms: e.p50_ms.map(finite),
                    p99_ms: e.p99_ms.map(finite),
                })
                .collect(),
        }
    }

    /// An empty second starting at `t_s`.
    #[must_use]
    pub fn empty(t_s: u64) -> TimelinePoint {
        TimelinePoint {
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
            endpoints: Vec::new(),
        }
    }

    /// `self` and the row that follows it, as one: counts summed, histograms merged bucket
    /// by bucket and the percentiles read again from the sum. Where a row with responses has
    /// no histogram (a record saved before seconds kept theirs), and for the endpoints'
    /// percentiles (kept without histograms), the higher of the two: an upper bound.
    #[must_use]
    pub fn merged(&self, next: &TimelinePoint) -> TimelinePoint {
        let length_s = self.length_s + next.length_s;
        let requests = self.requests + next.requests;
        let per_s = |n: u64| {
            if length_s > 0.0 {
                n as f64 / length_s
            } else {
                0.0
            }
        };
        let mut latency_buckets = self.latency_buckets.clone();
        grid::merge(&mut latency_buckets, &next.latency_buckets);
        let has_histogram = |p: &TimelinePoint| p.p50_ms.is_none() || !p.latency_buckets.is_empty();
        let exact = has_histogram(self) && has_histogram(next);
        let ms = |q: f64, a: Option<f64>, b: Option<f64>| {
            if exact {
                grid::quantile_us(&latency_buckets, q).map(|us| us / 1000.0)
            } else {
                higher(a, b)
            }
        };
        let endpoints = if self.endpoints.len() == next.endpoints.len() {
            self.endpoints
                .iter()
                .zip(&next.endpoints)
                .map(|(a, b)| EndpointPoint {
                    requests: a.requests + b.requests,
                    errors: a.errors + b.errors,
                    rps: per_s(a.requests + b.requests),
                    p50_ms: higher(a.p50_ms, b.p50_ms),
                    p99_ms: higher(a.p99_ms, b.p99_ms),
                })
                .collect()
        } else {
            Vec::new()
        };
        TimelinePoint {
            t_s: self.t_s,
            length_s,
            requests,
            errors: self.errors + next.errors,
            rps: per_s(requests),
            p50_ms: ms(0.5, self.p50_ms, next.p50_ms),
            p90_ms: ms(0.9, self.p90_ms, next.p90_ms),
            p99_ms: ms(0.99, self.p99_ms, next.p99_ms),
            max_ms: higher(self.max_ms, next.max_ms),
            latency_buckets,
            endpoints,
        }
    }
}

fn higher(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn second(t_s: u64, requests: u64, latency_us: f64, max_ms: f64) -> TimelinePoint {
        TimelinePoint {
            requests,
            rps: requests as f64,
            max_ms: Some(max_ms),
            p50_ms: Some(latency_us / 1000.0),
            latency_buckets: vec![(grid::bucket_of_us(latency_us), requests)],
            ..TimelinePoint::empty(t_s)
        }
    }

    #[test]
    fn merged_percentiles_are_those_of_both_seconds_together() {
        let a = second(0, 100, 1000.0, 1.0);
        let mut b = second(1, 100, 9000.0, 9.0);
        b.errors = 2;
        let m = a.merged(&b);
        assert_eq!((m.t_s, m.requests, m.errors), (0, 200, 2));
        assert!((m.length_s - 2.0).abs() < 1e-12);
        assert!((m.rps - 100.0).abs() < 1e-9);
        // Half the responses took 1 ms, half 9 ms: the p90 is 9 ms, not the mean of p90s.
        assert!((m.p90_ms.unwrap() / 9.0 - 1.0).abs() < 0.01);
        assert!((m.p50_ms.unwrap() / 1.0 - 1.0).abs() < 0.01);
        assert_eq!(m.max_ms, Some(9.0));
        assert_eq!(grid::count(&m.latency_buckets), 200);
    }

    #[test]
    fn rows_without_histograms_merge_to_the_higher_percentile() {
        let mut a = second(0, 10, 1000.0, 1.0);
        a.latency_buckets.clear();
        a.p99_ms = Some(3.0);
        let mut b = second(1, 10, 2000.0, 2.0);
        b.p99_ms = Some(5.0);
        b.endpoints = vec![EndpointPoint {
            requests: 10,
            errors: 1,
            rps: 10.0,
            p50_ms: Some(2.0),
            p99_ms: Some(5.0),
        }];
        let m = a.merged(&b);
        assert_eq!(m.p99_ms, Some(5.0));
        assert_eq!(m.p50_ms, Some(2.0));
        // Endpoints of one row only: not merged into a figure for both.
        assert!(m.endpoints.is_empty());
    }
}
