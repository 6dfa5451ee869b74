//! Monotonic trends: the Mann–Kendall test with Sen's slope.
//!
//! [`mann_kendall`] asks whether `y` tends to rise (or fall) as `x` (time) grows, without
//! assuming the change is linear or the noise normal, and [`MannKendall::sen_slope`] says by
//! how much per unit of `x`.
//!
//! # Method
//!
//! - **Statistic** (H. B. Mann, *Nonparametric tests against trend*, Econometrica 13, 1945;
//!   M. G. Kendall, *Rank Correlation Methods*, 4th ed., Griffin 1970, ch. 3–4):
//!   `S = Σ_{i<j} sign(x_j − x_i) · sign(y_j − y_i)`. Pairs are thereby taken in the order of
//!   `x` whatever the order of the input, and a pair measured at the same `x` counts for
//!   nothing.
//! - **Variance with ties** (Kendall 1970, eq. 4.3), with `t` the sizes of the groups of
//!   equal `x` and `u` those of equal `y`:
//!
//!   ```text
//!   Var(S) = [n(n−1)(2n+5) − Σt(t−1)(2t+5) − Σu(u−1)(2u+5)] / 18
//!          + [Σt(t−1)(t−2)]·[Σu(u−1)(u−2)] / (9n(n−1)(n−2))
//!          + [Σt(t−1)]·[Σu(u−1)] / (2n(n−1))
//!   ```
//!
//!   Without ties in `x` (the usual time series) this is the textbook Mann–Kendall variance
//!   with the correction for ties in `y`; equal values are compared exactly.
//! - **τ** is Kendall's **tau-b**, `S / √((n₀ − n₁)(n₀ − n₂))` with `n₀ = n(n−1)/2` and `n₁`,
//!   `n₂` the pairs tied in `x` and in `y` (the τ of SciPy's `kendalltau`): tied pairs leave
//!   the denominator as they leave `S`, so repeated values do not pull τ towards 0 as they do
//!   tau-a (`S/n₀`), which it equals when nothing is tied.
//! - **z** uses the continuity correction: `(S − 1)/√Var(S)` for `S > 0`, `(S + 1)/√Var(S)`
//!   for `S < 0`, 0 for `S = 0`.
//! - **p-values**, one-sided: `p_increasing = P(S ≥ s)` and `p_decreasing = P(S ≤ s)` under
//!   the hypothesis of no trend. For `n < 10` with no tie in `x` or `y` they are exact: `S`
//!   is `n₀ − 2I` where `I` counts the inversions of a random permutation, and the number of
//!   permutations of `n` items with `I` inversions follows from the recursion
//!   `M(n, I) = Σ_{k=0}^{min(I, n−1)} M(n−1, I−k)` (at most 9! = 362 880 permutations, a
//!   table of 37 entries). Otherwise they come from the normal approximation of `z`, which is
//!   already close at `n = 10` (Kendall 1970, ch. 4). When every `y` (or every pair) is tied,
//!   `S` cannot be anything but 0 and both p-values are 1.
//! - **Sen's slope** (P. K. Sen, *Estimates of the regression coefficient based on Kendall's
//!   tau*, JASA 63, 1968): the median of `(y_j − y_i)/(x_j − x_i)` over the pairs with
//!   `x_j ≠ x_i`, the mean of the two middle slopes when their number is even. It takes
//!   `O(n²)` time and memory: keep `n` to a few thousand points (decimate longer series).
//!
//! The standard normal tail is computed here from the complementary error function of
//! W. H. Press et al., *Numerical Recipes in C*, 2nd ed., §6.2 (`erfcc`, a Chebyshev fit with
//! a fractional error below 1.2 × 10⁻⁷ everywhere, so small p-values keep their relative
//! precision). It is written by hand because the standard library has no `erf`, and
//! `statrs`, the crate that has one, requires a newer Rust than the workspace's minimum
//! (1.85); a dozen lines do not justify a dependency in a crate that has none for maths.

/// Series shorter than this get exact p-values (when nothing is tied).
pub const EXACT_MAX_N: usize = 9;

/// The result of a Mann–Kendall trend test of `y` against `x`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MannKendall {
    /// Number of points.
    pub n: usize,
    /// The statistic `S`: concordant minus discordant pairs.
    pub s: f64,
    /// Kendall's tau-b between `x` and `y`, −1 to 1.
    pub tau: f64,
    /// The normal score of `S`, with the continuity correction.
    pub z: f64,
    /// One-sided p-value of an upward trend, `P(S ≥ s)` under no trend.
    pub p_increasing: f64,
    /// One-sided p-value of a downward trend, `P(S ≤ s)` under no trend.
    pub p_decreasing: f64,
    /// Sen's slope: the median change of `y` per unit of `x`.
    pub sen_slope: f64,
}

/// The Mann–Kendall test of `ys` against `xs` (the module documentation gives the method).
///
/// `None` when the two slices differ in length, hold fewer than 3 points, contain a value
/// that is not finite, or all `xs` are equal (no change over time can be measured).
pub fn mann_kendall(xs: &[f64], ys: &[f64]) -> Option<MannKendall> {
    let n = xs.len();
    if n != ys.len() || n < 3 || xs.iter().chain(ys).any(|v| !v.is_finite()) {
        return None;
    }

    let mut s = 0i64;
    let mut slopes = Vec::with_capacity(n * (n - 1) / 2);
    for i in 0..n {
        for j in (i + 1)..n {
            let dx = xs[j] - xs[i];
            let dy = ys[j] - ys[i];
            s += sign(dx) * sign(dy);
            if dx != 0.0 {
                slopes.push(dy / dx);
            }
        }
    }
    let sen_slope = median(&mut slopes)?;

    let x_ties = tie_groups(xs);
    let y_ties = tie_groups(ys);
    let nf = n as f64;
    let n0 = nf * (nf - 1.0) / 2.0;
    let pairs = |g: &[f64]| g.iter().map(|t| t * (t - 1.0)).sum::<f64>();
    let triples = |g: &[f64]| g.iter().map(|t| t * (t - 1.0) * (t - 2.0)).sum::<f64>();
    let weighted = |g: &[f64]| {
        g.iter()
            .map(|t| t * (t - 1.0) * (2.0 * t + 5.0))
            .sum::<f64>()
    };
    let var = (nf * (nf - 1.0) * (2.0 * nf + 5.0) - weighted(&x_ties) - weighted(&y_ties)) / 18.0
        + triples(&x_ties) * triples(&y_ties) / (9.0 * nf * (nf - 1.0) * (nf - 2.0))
        + pairs(&x_ties) * pairs(&y_ties) / (2.0 * nf * (nf - 1.0));

    let s = s as f64;
    let n1 = pairs(&x_ties) / 2.0;
    let n2 = pairs(&y_ties) / 2.0;
    let tau_denominator = ((n0 - n1) * (n0 - n2)).sqrt();
    let tau = if tau_denominator > 0.0 {
        s / tau_denominator
    } else {
        0.0
    };

    let z = if var <= 0.0 || s == 0.0 {
        0.0
    } else if s > 0.0 {
        (s - 1.0) / var.sqrt()
    } else {
        (s + 1.0) / var.sqrt()
    };

    let (p_increasing, p_decreasing) = if var <= 0.0 {
        (1.0, 1.0)
    } else if n <= EXACT_MAX_N && x_ties.is_empty() && y_ties.is_empty() {
        exact_p_values(n, s)
    } else {
        (normal_sf(z), normal_cdf(z))
    };

    Some(MannKendall {
        n,
        s,
        tau,
        z,
        p_increasing,
        p_decreasing,
        sen_slope,
    })
}

/// The standard normal distribution function `Φ(z)`.
pub fn normal_cdf(z: f64) -> f64 {
    0.5 * erfc(-z / std::f64::consts::SQRT_2)
}

/// The standard normal upper tail `1 − Φ(z)`, computed without cancellation.
pub fn normal_sf(z: f64) -> f64 {
    0.5 * erfc(z / std::f64::consts::SQRT_2)
}

/// The complementary error function, fractional error below 1.2 × 10⁻⁷ (Numerical Recipes'
/// `erfcc`, see the module documentation).
pub fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let ans = t * (-z * z + poly).exp();
    if x >= 0.0 { ans } else { 2.0 - ans }
}

fn sign(v: f64) -> i64 {
    if v > 0.0 {
        1
    } else if v < 0.0 {
        -1
    } else {
        0
    }
}

/// Sizes of the groups of equal values that hold more than one value.
fn tie_groups(values: &[f64]) -> Vec<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mut groups = Vec::new();
    let mut run = 1usize;
    for w in sorted.windows(2) {
        if w[0] == w[1] {
            run += 1;
        } else {
            if run > 1 {
                groups.push(run as f64);
            }
            run = 1;
        }
    }
    if run > 1 {
        groups.push(run as f64);
    }
    groups
}

/// The median, the mean of the two middle values for an even count; `None` when empty.
fn median(values: &mut [f64]) -> Option<f64> {
    let len = values.len();
    if len == 0 {
        return None;
    }
    let mid = len / 2;
    let (below, &mut upper, _) = values.select_nth_unstable_by(mid, f64::total_cmp);
    if len % 2 == 1 {
        return Some(upper);
    }
    let lower = below.iter().copied().max_by(f64::total_cmp)?;
    Some((lower + upper) / 2.0)
}

/// Exact `(P(S ≥ s), P(S ≤ s))` for `n` points without ties, from the distribution of
/// inversions of a random permutation (Mahonian numbers).
fn exact_p_values(n: usize, s: f64) -> (f64, f64) {
    let max_inversions = n * (n - 1) / 2;
    let mut counts = vec![0.0f64; max_inversions + 1];
    counts[0] = 1.0;
    for m in 2..=n {
        let mut next = vec![0.0f64; max_inversions + 1];
        for (i, slot) in next.iter_mut().enumerate() {
            *slot = (0..m.min(i + 1)).map(|k| counts[i - k]).sum();
        }
        counts = next;
    }
    let total: f64 = counts.iter().sum();
    // S = n₀ − 2I, so S ≥ s exactly when I ≤ (n₀ − s)/2.
    let inversions = ((max_inversions as f64 - s) / 2.0).round();
    let at_most = inversions.clamp(0.0, max_inversions as f64) as usize;
    let p_up: f64 = counts[..=at_most].iter().sum::<f64>() / total;
    let p_down: f64 = counts[at_most..].iter().sum::<f64>() / total;
    (p_up, p_down)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    // Reference values: pymannkendall 1.4.3 `original_test` (S, Var(S), z, Sen's slope) and
    // SciPy 1.17 (`stats.kendalltau` for tau-b and the exact one-sided p-values,
    // `special.ndtr(-z)` for the normal tail, `stats.theilslopes`, `special.erfc`).

    fn close(a: f64, b: f64, rel: f64) -> bool {
        (a - b).abs() <= rel * a.abs().max(b.abs())
    }

    fn index(n: usize) -> Vec<f64> {
        (0..n).map(|i| i as f64).collect()
    }

    #[test]
    fn erfc_matches_reference_values() {
        for (x, want) in [
            (0.0, 1.0),
            (0.5, 0.479_500_122_186_953_5),
            (1.0, 0.157_299_207_050_285_16),
            (-1.0, 1.842_700_792_949_714_8),
            (2.0, 0.004_677_734_981_047_266),
            (3.0, 2.209_049_699_858_544_5e-5),
            (-3.0, 1.999_977_909_503_001_5),
            (5.0, 1.537_459_794_428_034_7e-12),
            (10.0, 2.088_487_583_762_544_6e-45),
        ] {
            assert!(
                close(erfc(x), want, 1.2e-7),
                "erfc({x}) = {} want {want}",
                erfc(x)
            );
        }
        assert!(close(normal_cdf(1.959_963_984_540_054), 0.975, 1e-7));
    }

    #[test]
    fn rising_series_is_significant() {
        let y = [1.0, 2.3, 1.9, 3.5, 4.1, 3.8, 5.2, 6.0, 5.7, 7.1, 7.9, 8.4];
        let mk = mann_kendall(&index(12), &y).unwrap();
        assert_eq!(mk.n, 12);
        assert_eq!(mk.s, 60.0);
        assert!(close(mk.tau, 0.909_090_909_090_909, 1e-12));
        assert!(close(mk.z, 4.045_780_339_810_076, 1e-12));
        assert!(close(mk.p_increasing, 2.607_455_791_220_122_8e-5, 1e-6));
        assert!(close(mk.p_decreasing, 0.999_973_925_442_087_9, 1e-7));
        assert!(close(mk.sen_slope, 0.633_333_333_333_333_3, 1e-12));
    }

    #[test]
    fn flat_noisy_series_is_not_significant() {
        let y = [
            5.1, 4.9, 5.3, 5.0, 4.8, 5.2, 5.1, 4.7, 5.0, 5.3, 4.9, 5.2, 5.0, 4.8, 5.1,
        ];
        let mk = mann_kendall(&index(15), &y).unwrap();
        assert_eq!(mk.s, -7.0);
        assert!(close(mk.tau, -0.070_087_664_405_046_25, 1e-10));
        assert!(close(mk.z, -0.301_131_367_937_097_3, 1e-12));
        assert!(close(mk.p_increasing, 0.618_342_838_825_137_3, 1e-7));
        assert!(close(mk.p_decreasing, 0.381_657_161_174_862_65, 1e-7));
        assert_eq!(mk.sen_slope, 0.0);
    }

    #[test]
    fn ties_in_y_use_the_corrected_variance() {
        let y = [3.0, 3.0, 4.0, 3.0, 5.0, 5.0, 5.0, 6.0, 4.0, 7.0, 7.0, 8.0];
        let mk = mann_kendall(&index(12), &y).unwrap();
        assert_eq!(mk.s, 48.0);
        // Var(S) = 203.333…: z = 47 / √Var(S).
        assert!(close(mk.z, 3.296_048_304_595_900_4, 1e-12));
        assert!(close(mk.tau, 0.775_809_820_602_283_1, 1e-12));
        assert!(close(mk.p_increasing, 4.902_757_699_216_052e-4, 1e-6));
        assert!(close(mk.sen_slope, 0.444_444_444_444_444_4, 1e-12));
    }

    #[test]
    fn ties_in_x_use_the_general_variance() {
        let x = [0.0, 0.0, 1.0, 1.0, 2.0, 3.0, 3.0, 4.0, 5.0, 6.0, 6.0, 7.0];
        let y = [1.0, 1.5, 1.2, 2.0, 2.0, 2.5, 3.1, 2.9, 3.0, 3.3, 4.0, 3.8];
        let mk = mann_kendall(&x, &y).unwrap();
        assert_eq!(mk.s, 53.0);
        // Var(S) = 207.727…, checked against SciPy's asymptotic kendalltau p-value.
        assert!(close(mk.z, 3.607_917_381_772_763, 1e-12));
        assert!(close(mk.tau, 0.834_878_633_399_013, 1e-12));
        assert!(close(mk.p_increasing, 1.543_323_698_547_557_3e-4, 1e-6));
        assert!(close(mk.sen_slope, 0.391_666_666_666_666_6, 1e-12));
    }

    #[test]
    fn small_series_without_ties_get_exact_p_values() {
        let mk = mann_kendall(&index(5), &[1.0, 2.0, 3.0, 4.0, 5.0]).unwrap();
        assert_eq!(mk.s, 10.0);
        assert_eq!(mk.tau, 1.0);
        assert!(close(mk.p_increasing, 1.0 / 120.0, 1e-12));
        assert!(close(mk.p_decreasing, 1.0, 1e-12));

        let mk = mann_kendall(&index(5), &[1.0, 3.0, 2.0, 4.0, 5.0]).unwrap();
        assert_eq!(mk.s, 8.0);
        assert!(close(mk.p_increasing, 0.041_666_666_666_666_664, 1e-12));
        assert!(close(mk.p_decreasing, 0.991_666_666_666_666_7, 1e-12));

        let y = [2.0, 1.0, 4.0, 3.0, 6.0, 5.0, 8.0, 7.0, 9.0];
        let mk = mann_kendall(&index(9), &y).unwrap();
        assert!(close(mk.tau, 0.777_777_777_777_777_8, 1e-12));
        assert!(close(mk.p_increasing, 1.212_522_045_855_379_1e-3, 1e-10));
        assert!(close(mk.p_decreasing, 0.999_572_861_552_028_2, 1e-10));
    }

    #[test]
    fn order_of_input_and_uneven_spacing_do_not_matter() {
        let x = [0.0, 0.5, 2.0, 2.5, 4.0, 7.0, 7.5, 9.0, 12.0, 13.0];
        let y = [10.0, 10.4, 11.0, 11.9, 12.1, 14.5, 14.2, 15.8, 17.9, 18.4];
        let mk = mann_kendall(&x, &y).unwrap();
        assert!(close(mk.sen_slope, 0.646_153_846_153_846_1, 1e-12));
        assert!(close(mk.tau, 0.955_555_555_555_555_4, 1e-12));

        let order = [7, 2, 9, 0, 4, 1, 8, 3, 6, 5];
        let xs: Vec<f64> = order.iter().map(|&i| x[i]).collect();
        let ys: Vec<f64> = order.iter().map(|&i| y[i]).collect();
        assert_eq!(mann_kendall(&xs, &ys), Some(mk));
    }

    #[test]
    fn a_constant_series_has_no_trend() {
        let mk = mann_kendall(&index(12), &[4.0; 12]).unwrap();
        assert_eq!((mk.s, mk.tau, mk.z, mk.sen_slope), (0.0, 0.0, 0.0, 0.0));
        assert_eq!((mk.p_increasing, mk.p_decreasing), (1.0, 1.0));
    }

    #[test]
    fn too_few_or_invalid_points_give_none() {
        assert_eq!(mann_kendall(&[], &[]), None);
        assert_eq!(mann_kendall(&[0.0, 1.0], &[1.0, 2.0]), None);
        assert_eq!(mann_kendall(&[0.0, 1.0, 2.0], &[1.0, 2.0]), None);
        assert_eq!(mann_kendall(&[0.0, 1.0, 2.0], &[1.0, f64::NAN, 3.0]), None);
        assert_eq!(
            mann_kendall(&[0.0, f64::INFINITY, 2.0], &[1.0, 2.0, 3.0]),
            None
        );
        assert_eq!(mann_kendall(&[1.0, 1.0, 1.0], &[1.0, 2.0, 3.0]), None);
    }
}
