//! The energy statistic of E-divisive (Matteson and James 2014, §2): where to cut a segment.
//!
//! For a segment `Z[s..e)` split at `τ` with right end `κ` (`s < τ < κ ≤ e`), `X = Z[s..τ)`
//! (`n` points) and `Y = Z[τ..κ)` (`m` points):
//!
//! ```text
//! Q̂(τ, κ) = 2/(n+m) · Σᵢⱼ |Xᵢ − Yⱼ|
//!          − 2m/((n+m)(n−1)) · Σ_{i<k} |Xᵢ − Xₖ|
//!          − 2n/((n+m)(m−1)) · Σ_{j<k} |Yⱼ − Yₖ|
//! ```
//!
//! (`mn/(m+n)` times the empirical energy distance with exponent 1; a within-side term is 0
//! when its side has one point). The candidate is the `τ` of the pair `(τ, κ)` maximising
//! `Q̂` over the whole segment, the first in the order of `τ` then `κ` on a tie, as Otava
//! takes it since its correction of the bisection (before, `κ` was fixed at `e`).
//!
//! Every sum is read in `O(1)` from `W(a, b) = Σ_{a≤i<j<b} |Zᵢ − Zⱼ|`, tabulated once per
//! window in `O(L²)`: the cross sum is `W(s, κ) − W(s, τ) − W(τ, κ)`. The coefficients are
//! computed in the order Otava's NumPy code computes them, so integer data give the same
//! floating-point values bit for bit (ties resolve the same way).
//!
//! A minimum size `min` keeps `Y` to at least `min` points, or all the points to the end of
//! the segment: a single outlier as `Y` (`κ = τ + 1`) has a large `Q̂` and would otherwise
//! win the search, and the t-test of the whole segment cut there then decides on a spike
//! instead of the level shift beside it. `min = 1` is Otava's unrestricted search.

/// The pairwise-distance sums of one window.
pub struct Distances {
    /// Points in the window.
    len: usize,
    /// `W(a, b)` at `a * (len + 1) + b`, for `a ≤ b ≤ len`.
    sums: Vec<f64>,
}

/// The best cut of one segment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Candidate {
    /// The first point of the right part.
    pub index: usize,
    /// The maximised energy statistic.
    pub q: f64,
}

impl Distances {
    /// Tabulates `W` for `window`.
    pub fn new(window: &[f64]) -> Self {
        let len = window.len();
        let stride = len + 1;
        let mut sums = vec![0.0; stride * stride];
        // W(a, b) = W(a + 1, b) + Σ_{a<j<b} |Z_a − Z_j|, rows from the last.
        for a in (0..len).rev() {
            let mut row = 0.0;
            for b in a + 2..=len {
                row += (window[a] - window[b - 1]).abs();
                sums[a * stride + b] = sums[(a + 1) * stride + b] + row;
            }
        }
        Distances { len, sums }
    }

    fn w(&self, a: usize, b: usize) -> f64 {
        self.sums[a * (self.len + 1) + b]
    }

    /// The energy statistic of splitting `[s, κ)` at `τ`.
    fn q(&self, s: usize, tau: usize, kappa: usize) -> f64 {
        let n = tau - s;
        let m = kappa - tau;
        let within_x = self.w(s, tau);
        let within_y = self.w(tau, kappa);
        let cross = self.w(s, kappa) - within_x - within_y;
        let total = (n + m) as f64;
        let a = 2.0 / total * cross;
        let b = if n > 1 {
            (2 * m) as f64 / ((n + m) * (n - 1)) as f64 * within_x
        } else {
            0.0
        };
        let c = if m > 1 {
            (2 * n) as f64 / ((n + m) * (m - 1)) as f64 * within_y
        } else {
            0.0
        };
        a - b - c
    }

    /// The best cut of the segment `[start, end)`, with `Y` of at least `min` points (`min`
    /// ≥ 1) or all the points up to `end`; `None` for a segment of fewer than two points.
    pub fn best_cut(&self, start: usize, end: usize, min: usize) -> Option<Candidate> {
        let mut best: Option<Candidate> = None;
        for tau in start + 1..end {
            for kappa in tau + min.max(1).min(end - tau)..=end {
                let q = self.q(start, tau, kappa);
                if best.is_none_or(|b| q > b.q) {
                    best = Some(Candidate { index: tau, q });
                }
            }
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `Q̂` straight from its definition.
    fn q_naive(z: &[f64], s: usize, tau: usize, kappa: usize) -> f64 {
        let (x, y) = (&z[s..tau], &z[tau..kappa]);
        let (n, m) = (x.len() as f64, y.len() as f64);
        let cross: f64 = x
            .iter()
            .flat_map(|a| y.iter().map(move |b| (a - b).abs()))
            .sum();
        let pairs = |v: &[f64]| -> f64 {
            let mut sum = 0.0;
            for i in 0..v.len() {
                for j in i + 1..v.len() {
                    sum += (v[i] - v[j]).abs();
                }
            }
            sum
        };
        let mut q = 2.0 / (n + m) * cross;
        if n > 1.0 {
            q -= 2.0 * m / ((n + m) * (n - 1.0)) * pairs(x);
        }
        if m > 1.0 {
            q -= 2.0 * n / ((n + m) * (m - 1.0)) * pairs(y);
        }
        q
    }

    #[test]
    fn table_matches_the_definition() {
        let z = [3.0, 1.5, 4.0, 1.0, 5.5, 9.0, 2.0, 6.0, 5.0, 3.5];
        let d = Distances::new(&z);
        for s in 0..z.len() {
            for tau in s + 1..z.len() {
                for kappa in tau + 1..=z.len() {
                    let (fast, slow) = (d.q(s, tau, kappa), q_naive(&z, s, tau, kappa));
                    assert!(
                        (fast - slow).abs() < 1e-9,
                        "{s} {tau} {kappa}: {fast} vs {slow}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_level_shift_is_cut_where_it_happens() {
        let z = [1.0, 1.1, 0.9, 1.0, 1.05, 5.0, 5.1, 4.9, 5.0];
        let d = Distances::new(&z);
        assert_eq!(d.best_cut(0, z.len(), 1).map(|c| c.index), Some(5));
        // Within the right part alone there is still a best cut, of little energy.
        let inner = d.best_cut(5, z.len(), 1);
        assert!(inner.is_some_and(|c| c.q < 1.0), "{inner:?}");
    }

    #[test]
    fn a_segment_of_one_point_has_no_cut() {
        let d = Distances::new(&[1.0, 2.0, 3.0]);
        assert_eq!(d.best_cut(1, 2, 1), None);
        // With Y of at least 2 points, or up to the end.
        assert_eq!(d.best_cut(0, 3, 2).map(|c| c.index), Some(1));
    }

    #[test]
    fn a_minimum_size_keeps_an_outlier_inside_a_part() {
        let z = [
            1.0, 1.1, 9.0, 0.9, 1.0, 1.05, 1.0, 2.0, 2.1, 1.9, 2.0, 2.05, 1.95,
        ];
        let d = Distances::new(&z);
        let free = d.best_cut(0, z.len(), 1).map(|c| c.index);
        let sized = d.best_cut(0, z.len(), 3).map(|c| c.index);
        assert_eq!((free, sized), (Some(2), Some(7)));
    }
}
