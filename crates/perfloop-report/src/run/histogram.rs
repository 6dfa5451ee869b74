//! Summaries of the engine's HDR histograms (values in microseconds) in milliseconds: the
//! percentile block and a compact log-spaced distribution for drawing.
//!
//! Percentiles are hdrhistogram's `value_at_quantile`: the highest value equivalent to the
//! recorded one at 3 significant digits, as wrk2 and HdrHistogram's own reports give them.
//! The distribution divides `[min, max]` into [`BUCKETS`] geometrically growing buckets
//! (edges `min · (max/min)^(i/n)`, rounded up to whole microseconds) and keeps the
//! non-empty ones: a log scale shows a fast median and a slow tail on the same page.

use hdrhistogram::Histogram;

use super::{LagMs, LatencyBucket, LatencyMs, PhaseMs};

/// Number of log-spaced buckets the latency range is divided into.
pub const BUCKETS: usize = 30;

/// Microseconds to milliseconds.
fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

/// The `q` quantile in milliseconds, or NaN for an empty histogram.
pub(crate) fn quantile_ms(h: &Histogram<u64>, q: f64) -> f64 {
    if h.is_empty() {
        f64::NAN
    } else {
        ms(h.value_at_quantile(q))
    }
}

/// The mean in milliseconds, or NaN for an empty histogram.
pub(crate) fn mean_ms(h: &Histogram<u64>) -> f64 {
    if h.is_empty() {
        f64::NAN
    } else {
        h.mean() / 1000.0
    }
}

/// The maximum in milliseconds, or NaN for an empty histogram.
pub(crate) fn max_ms(h: &Histogram<u64>) -> f64 {
    if h.is_empty() { f64::NAN } else { ms(h.max()) }
}

/// How many recorded values are above `ms` milliseconds (at the histogram's precision).
pub(crate) fn count_above_ms(h: &Histogram<u64>, ms: f64) -> u64 {
    let limit = (ms * 1000.0).max(0.0) as u64;
    h.iter_recorded()
        .filter(|v| h.lowest_equivalent(v.value_iterated_to()) > limit)
        .map(|v| v.count_at_value())
        .sum()
}

/// The percentile block; all zero for an empty histogram.
pub(crate) fn latency_summary(h: &Histogram<u64>) -> LatencyMs {
    if h.is_empty() {
        return LatencyMs {
            count: 0,
            min: 0.0,
            mean: 0.0,
            stdev: 0.0,
            p50: 0.0,
            p75: 0.0,
            p90: 0.0,
            p95: 0.0,
            p99: 0.0,
            p99_9: 0.0,
            max: 0.0,
        };
    }
    let q = |q: f64| ms(h.value_at_quantile(q));
    LatencyMs {
        count: h.len(),
        min: ms(h.min()),
        mean: h.mean() / 1000.0,
        stdev: h.stdev() / 1000.0,
        p50: q(0.5),
        p75: q(0.75),
        p90: q(0.9),
        p95: q(0.95),
        p99: q(0.99),
        p99_9: q(0.999),
        max: ms(h.max()),
    }
}

/// A phase's summary; `None` for an empty histogram (the phase did not occur).
pub(crate) fn phase_summary(h: &Histogram<u64>) -> Option<PhaseMs> {
    if h.is_empty() {
        return None;
    }
    let q = |q: f64| ms(h.value_at_quantile(q));
    Some(PhaseMs {
        count: h.len(),
        mean: h.mean() / 1000.0,
        p50: q(0.5),
        p90: q(0.9),
        p99: q(0.99),
        max: ms(h.max()),
    })
}

/// Median, p99 and maximum of the scheduling lag; zero for an empty histogram.
pub(crate) fn lag_summary(h: &Histogram<u64>) -> LagMs {
    if h.is_empty() {
        return LagMs {
            p50: 0.0,
            p99: 0.0,
            max: 0.0,
        };
    }
    LagMs {
        p50: ms(h.value_at_quantile(0.5)),
        p99: ms(h.value_at_quantile(0.99)),
        max: ms(h.max()),
    }
}

/// The distribution in at most `buckets` log-spaced buckets, non-empty ones, ascending.
pub(crate) fn log_buckets(h: &Histogram<u64>, buckets: usize) -> Vec<LatencyBucket> {
    if h.is_empty() || buckets == 0 {
        return Vec::new();
    }
    let lo = h.min().max(1) as f64;
    let hi = h.max().max(1);
    let ratio = hi as f64 / lo;
    let mut edges: Vec<u64> = (1..=buckets)
        .map(|i| (lo * ratio.powf(i as f64 / buckets as f64)).ceil() as u64)
        .collect();
    edges.dedup();
    if let Some(last) = edges.last_mut() {
        *last = (*last).max(hi);
    }
    let mut counts = vec![0u64; edges.len()];
    for v in h.iter_recorded() {
        let i = edges
            .partition_point(|&e| e < v.value_iterated_to())
            .min(edges.len() - 1);
        counts[i] += v.count_at_value();
    }
    edges
        .into_iter()
        .zip(counts)
        .filter(|&(_, count)| count > 0)
        .map(|(le, count)| LatencyBucket {
            le_ms: ms(le),
            count,
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn histogram(values: &[(u64, u64)]) -> Histogram<u64> {
        let mut h = Histogram::new_with_bounds(1, 60_000_000, 3).unwrap();
        for &(v, n) in values {
            h.record_n(v, n).unwrap();
        }
        h
    }

    #[test]
    fn summary_converts_microseconds_to_milliseconds() {
        // 1..=1000 µs once each: p50 = 500 µs, p99 = 990 µs, mean = 500.5 µs.
        let mut h = histogram(&[]);
        for v in 1..=1000 {
            h.record(v).unwrap();
        }
        let s = latency_summary(&h);
        assert_eq!(s.count, 1000);
        assert_eq!(s.min, 0.001);
        assert_eq!(s.p50, 0.5);
        assert_eq!(s.p99, 0.99);
        assert_eq!(s.max, 1.0);
        assert!((s.mean - 0.5005).abs() < 1e-9);
        assert!((s.stdev - 0.288_675).abs() < 1e-3, "{}", s.stdev);
        assert!(s.p50 <= s.p75 && s.p75 <= s.p90 && s.p90 <= s.p95 && s.p95 <= s.p99);
        assert!(s.p99 <= s.p99_9 && s.p99_9 <= s.max);
    }

    #[test]
    fn empty_histograms_give_zeros_and_nan() {
        let h = histogram(&[]);
        assert_eq!(latency_summary(&h).count, 0);
        assert_eq!(latency_summary(&h).max, 0.0);
        assert_eq!(lag_summary(&h).p99, 0.0);
        assert!(quantile_ms(&h, 0.99).is_nan() && mean_ms(&h).is_nan() && max_ms(&h).is_nan());
        assert!(log_buckets(&h, BUCKETS).is_empty());
    }

    #[test]
    fn buckets_hold_every_value_once_in_ascending_order() {
        let h = histogram(&[
            (100, 500),
            (150, 300),
            (2_000, 20),
            (45_000, 2),
            (900_000, 1),
        ]);
        let b = log_buckets(&h, BUCKETS);
        assert!(!b.is_empty() && b.len() <= BUCKETS);
        assert_eq!(b.iter().map(|b| b.count).sum::<u64>(), h.len());
        assert!(b.windows(2).all(|w| w[0].le_ms < w[1].le_ms));
        assert!(b.last().unwrap().le_ms >= max_ms(&h));
        // The 100 µs values sit in the first bucket, the slowest in the last.
        assert_eq!(b[0].count, 500);
        assert_eq!(b.last().unwrap().count, 1);
    }

    #[test]
    fn a_single_value_is_one_bucket() {
        let h = histogram(&[(250, 7)]);
        let b = log_buckets(&h, BUCKETS);
        assert_eq!(
            b,
            vec![LatencyBucket {
                le_ms: 0.25,
                count: 7
            }]
        );
    }

    #[test]
    fn zero_latencies_are_counted() {
        let h = histogram(&[(0, 3), (10, 1)]);
        assert_eq!(
            log_buckets(&h, BUCKETS)
                .iter()
                .map(|b| b.count)
                .sum::<u64>(),
            4
        );
    }
}
