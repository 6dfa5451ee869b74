//! A fixed logarithmic grid for latencies, so that histograms of different seconds and of
//! different runs can be merged bucket by bucket.
//!
//! Bucket `i` holds the latencies in `(RATIO^(i-1), RATIO^i]` microseconds, with
//! [`RATIO`] = 1.01: each bucket is 1 % wide, so a quantile read from the grid is within
//! about 0.5 % of the exact one. Bucket 0 holds everything up to 1 µs. A histogram on the
//! grid is a list of `(bucket, count)` pairs, ascending by bucket, without empty buckets:
//! about 230 buckets cover a decade of latencies, so a second's histogram stays small
//! whatever the request rate.
//!
//! This is HdrHistogram's idea (a fixed relative precision) with a coarser, fixed layout:
//! the run's own figures come from the engine's HDR histograms; the grid is for what has to
//! be merged later (seconds resampled by `compare`, seconds summed by a live page).

/// The ratio between a bucket's upper and lower bounds.
pub const RATIO: f64 = 1.01;

/// The bucket that holds a latency of `us` microseconds (0 for anything up to 1 µs).
#[must_use]
pub fn bucket_of_us(us: f64) -> u32 {
    if us.is_nan() || us <= 1.0 {
        return 0;
    }
    let exact = us.ln() / RATIO.ln();
    // The bounds are inclusive above: a value on an upper bound belongs to that bucket, and
    // rounding may put it a hair above the integer.
    let index = (exact - 1e-9).ceil();
    if index >= f64::from(u32::MAX) {
        u32::MAX
    } else {
        index as u32
    }
}

/// The upper bound of bucket `i`, in microseconds.
#[must_use]
pub fn upper_us(i: u32) -> f64 {
    RATIO.powf(f64::from(i))
}

/// The lower bound of bucket `i`, in microseconds (0 for bucket 0).
#[must_use]
pub fn lower_us(i: u32) -> f64 {
    if i == 0 { 0.0 } else { upper_us(i - 1) }
}

/// The `q` quantile (0 to 1) of a histogram on the grid, in microseconds, interpolated
/// linearly inside its bucket; `None` for an empty histogram.
#[must_use]
pub fn quantile_us(buckets: &[(u32, u64)], q: f64) -> Option<f64> {
    let total: u64 = buckets.iter().map(|&(_, n)| n).sum();
    if total == 0 {
        return None;
    }
    // The rank of the value asked, 1-based, as HdrHistogram counts it.
    let rank = (q.clamp(0.0, 1.0) * total as f64).max(1.0);
    let mut below = 0u64;
    for &(i, n) in buckets {
        if n == 0 {
            continue;
        }
        if (below + n) as f64 >= rank {
            let within = (rank - below as f64) / n as f64;
            let (lo, hi) = (lower_us(i), upper_us(i));
            return Some(lo + (hi - lo) * within);
        }
        below += n;
    }
    buckets.last().map(|&(i, _)| upper_us(i))
}

/// Adds the counts of `other` into `into`; both ascending, and so is the result.
pub fn merge(into: &mut Vec<(u32, u64)>, other: &[(u32, u64)]) {
    if other.is_empty() {
        return;
    }
    if into.is_empty() {
        into.extend_from_slice(other);
        return;
    }
    let mut merged = Vec::with_capacity(into.len() + other.len());
    let (mut a, mut b) = (into.iter().peekable(), other.iter().peekable());
    loop {
        match (a.peek(), b.peek()) {
            (Some(&&(i, n)), Some(&&(j, m))) => {
                if i == j {
                    merged.push((i, n + m));
                    a.next();
                    b.next();
                } else if i < j {
                    merged.push((i, n));
                    a.next();
                } else {
                    merged.push((j, m));
                    b.next();
                }
            }
            (Some(&&x), None) => {
                merged.push(x);
                a.next();
            }
            (None, Some(&&y)) => {
                merged.push(y);
                b.next();
            }
            (None, None) => break,
        }
    }
    *into = merged;
}

/// The total count of a histogram on the grid.
#[must_use]
pub fn count(buckets: &[(u32, u64)]) -> u64 {
    buckets.iter().map(|&(_, n)| n).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_falls_in_the_bucket_whose_bounds_hold_it() {
        for us in [1.5, 10.0, 999.0, 1_000.0, 20_000.0, 60_000_000.0] {
            let i = bucket_of_us(us);
            assert!(
                lower_us(i) < us && us <= upper_us(i) * (1.0 + 1e-9),
                "{us} in {i}"
            );
        }
        assert_eq!(bucket_of_us(0.5), 0);
        assert_eq!(bucket_of_us(1.0), 0);
        // An upper bound belongs to its own bucket.
        assert_eq!(bucket_of_us(upper_us(700)), 700);
    }

    #[test]
    fn quantiles_are_within_a_bucket_of_the_exact_ones() {
        // 1..=10_000 µs, once each: the exact p50 is 5,000 and the p99 9,900.
        let mut h = Vec::new();
        for us in 1..=10_000u32 {
            merge(&mut h, &[(bucket_of_us(f64::from(us)), 1)]);
        }
        assert_eq!(count(&h), 10_000);
        for (q, exact) in [(0.5, 5_000.0), (0.99, 9_900.0)] {
            let got = quantile_us(&h, q).unwrap_or(f64::NAN);
            assert!((got / exact - 1.0).abs() < 0.01, "q {q}: {got} vs {exact}");
        }
        assert_eq!(quantile_us(&[], 0.5), None);
    }

    #[test]
    fn merging_keeps_the_buckets_ascending_and_adds_counts() {
        let mut a = vec![(1, 2), (5, 1)];
        merge(&mut a, &[(0, 1), (5, 3), (9, 4)]);
        assert_eq!(a, vec![(0, 1), (1, 2), (5, 4), (9, 4)]);
    }
}
