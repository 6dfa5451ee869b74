//! The resampling behind [`compare`](super::compare): the figures of a set of seconds
//! (summed counts, merged grid histograms), one bootstrap draw of a side (stratified per
//! run), and the seed derived from the inputs so that the same runs give the same answer.

use rand::Rng;

use super::Second;
use crate::grid;

/// The figures of a set of seconds, one per metric in [`Metric::ALL`](super::Metric::ALL)'s order; `None`
/// where a figure is undefined (no time, no request, no latency).
pub(super) type Values = [Option<f64>; 6];

/// The bucket range both sides' histograms live in, so that a draw sums into a dense array.
#[derive(Debug, Clone, Copy)]
pub(super) struct Span {
    low: u32,
    len: usize,
}

impl Span {
    /// The buckets of every second of every run given.
    pub(super) fn of<'s>(runs: impl Iterator<Item = &'s Second<'s>>) -> Span {
        let (mut low, mut high) = (u32::MAX, 0u32);
        for s in runs {
            if let (Some(&(first, _)), Some(&(last, _))) = (s.buckets.first(), s.buckets.last()) {
                low = low.min(first);
                high = high.max(last);
            }
        }
        if low > high {
            return Span { low: 0, len: 0 };
        }
        Span {
            low,
            len: (high - low) as usize + 1,
        }
    }
}

/// Sums of a set of seconds: requests, errors, time, and the merged histogram (dense over a
/// [`Span`]).
pub(super) struct Totals {
    span: Span,
    requests: u64,
    errors: u64,
    length_s: f64,
    dense: Vec<u64>,
    /// The dense histogram back to `(bucket, count)` pairs, kept to reuse its allocation.
    sparse: Vec<(u32, u64)>,
}

impl Totals {
    pub(super) fn new(span: Span) -> Totals {
        Totals {
            span,
            requests: 0,
            errors: 0,
            length_s: 0.0,
            dense: vec![0; span.len],
            sparse: Vec::new(),
        }
    }

    fn clear(&mut self) {
        self.requests = 0;
        self.errors = 0;
        self.length_s = 0.0;
        self.dense.fill(0);
    }

    pub(super) fn add(&mut self, s: &Second<'_>) {
        self.requests += s.requests;
        self.errors += s.errors;
        self.length_s += s.length_s;
        for &(i, n) in s.buckets {
            // Every bucket is inside the span: it was measured over the same seconds.
            if let Some(slot) = i
                .checked_sub(self.span.low)
                .and_then(|k| self.dense.get_mut(k as usize))
            {
                *slot += n;
            }
        }
    }

    /// The figures of the seconds added: throughput (requests per second), the latency
    /// quantiles on the grid (ms), the error rate.
    pub(super) fn values(&mut self) -> Values {
        self.sparse.clear();
        for (k, &n) in self.dense.iter().enumerate() {
            if n > 0 {
                self.sparse.push((self.span.low + k as u32, n));
            }
        }
        let quantile = |q: f64, h: &[(u32, u64)]| grid::quantile_us(h, q).map(|us| us / 1000.0);
        [
            (self.length_s > 0.0).then(|| self.requests as f64 / self.length_s),
            quantile(0.5, &self.sparse),
            quantile(0.9, &self.sparse),
            quantile(0.99, &self.sparse),
            quantile(0.999, &self.sparse),
            (self.requests > 0).then(|| self.errors as f64 / self.requests as f64),
        ]
    }
}

/// The figures of every second of `runs`, pooled.
pub(super) fn pooled(runs: &[Vec<Second<'_>>], span: Span) -> Values {
    let mut totals = Totals::new(span);
    for s in runs.iter().flatten() {
        totals.add(s);
    }
    totals.values()
}

/// One bootstrap draw of a side into `totals`: from each run, as many seconds as it has,
/// drawn with replacement from that run only (stratified: a pooled side keeps each run's
/// weight).
pub(super) fn draw(runs: &[Vec<Second<'_>>], totals: &mut Totals, rng: &mut impl Rng) -> Values {
    totals.clear();
    for run in runs {
        for _ in 0..run.len() {
            let k = rng.random_range(0..run.len());
            totals.add(&run[k]);
        }
    }
    totals.values()
}

/// A seed from the inputs (FNV-1a over every number of both sides, then `extra`): the same
/// runs always give the same resamples, different runs independent ones.
pub(super) fn seed(a: &[Vec<Second<'_>>], b: &[Vec<Second<'_>>], extra: u64) -> u64 {
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |v: u64| {
        for byte in v.to_le_bytes() {
            h ^= u64::from(byte);
            h = h.wrapping_mul(PRIME);
        }
    };
    for (side, runs) in [a, b].into_iter().enumerate() {
        eat(side as u64);
        for run in runs {
            eat(run.len() as u64);
            for s in run {
                eat(s.requests);
                eat(s.errors);
                eat(s.length_s.to_bits());
                for &(i, n) in s.buckets {
                    eat(u64::from(i));
                    eat(n);
                }
            }
        }
    }
    eat(extra);
    h
}

/// The `p` quantile (0 to 1) of sorted values, interpolated linearly between order
/// statistics (Hyndman and Fan's type 7); `None` for no values.
pub(super) fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    let last = sorted.len().checked_sub(1)?;
    let pos = p.clamp(0.0, 1.0) * last as f64;
    let (i, frac) = (pos.floor() as usize, pos.fract());
    let lo = sorted[i];
    match sorted.get(i + 1) {
        Some(&hi) if frac > 0.0 => {
            if lo.is_infinite() || hi.is_infinite() {
                Some(if frac < 1.0 { lo } else { hi })
            } else {
                Some(lo + (hi - lo) * frac)
            }
        }
        _ => Some(lo),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn percentiles_interpolate_between_order_statistics() {
        let v = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(percentile(&v, 0.0), Some(1.0));
        assert_eq!(percentile(&v, 0.5), Some(3.0));
        assert_eq!(percentile(&v, 0.125), Some(1.5));
        assert_eq!(percentile(&v, 1.0), Some(5.0));
        assert_eq!(percentile(&[], 0.5), None);
        assert_eq!(percentile(&[1.0, f64::INFINITY], 0.9), Some(1.0));
    }

    #[test]
    fn totals_sum_counts_and_merge_histograms() {
        let h1 = [(100, 3), (110, 1)];
        let h2 = [(105, 2), (110, 4)];
        let seconds = [
            Second {
                requests: 4,
                errors: 1,
                length_s: 1.0,
                buckets: &h1,
            },
            Second {
                requests: 6,
                errors: 0,
                length_s: 0.5,
                buckets: &h2,
            },
        ];
        let span = Span::of(seconds.iter());
        let v = pooled(&[seconds.to_vec()], span);
        assert_eq!(v[0], Some(10.0 / 1.5));
        assert_eq!(v[5], Some(0.1));
        let mut merged = h1.to_vec();
        grid::merge(&mut merged, &h2);
        let p50 = grid::quantile_us(&merged, 0.5).unwrap() / 1000.0;
        assert_eq!(v[1], Some(p50));
    }
}
