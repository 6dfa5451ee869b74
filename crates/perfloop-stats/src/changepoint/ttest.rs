//! The significance test of a change point: Otava's two-sided Student's t-test between the
//! points before and after it.
//!
//! Method (Otava's `TTestSignificanceTester`): each side's mean and *population* standard
//! deviation `s` (divisor `n`) are given to the pooled-variance t-test of SciPy's
//! `ttest_ind_from_stats`, which takes them as sample deviations:
//! `v = ((n₁ − 1)s₁² + (n₂ − 1)s₂²) / (n₁ + n₂ − 2)`, `t = (m₁ − m₂) / √(v (1/n₁ + 1/n₂))`,
//! `p = 2 P(T > |t|)` with `n₁ + n₂ − 2` degrees of freedom. With no degrees of freedom (one
//! point each side) `p` is 1. Two sides without spread have `p = 0` when their means differ
//! and 1 when they are equal (SciPy's NaN; either way such a point is never kept).
//!
//! With autocorrelated noise ([`Noise::Autocorrelated`]) the same test counts each side as
//! `n (1 − ρ)/(1 + ρ)` points instead of `n`, the effective size of a mean of an AR(1)
//! series (F. W. Zwiers and H. von Storch, *Taking Serial Correlation into Account in Tests
//! of the Mean*, J. Climate 8, 1995), with `ρ` the lag-1 autocorrelation of the residuals
//! about each side's own mean, pooled over both sides, taken as 0 when negative. A level
//! shift in independent noise leaves `ρ` near 0 and the test as it was; a drift or a random
//! walk, whose residuals follow each other, is no longer a shift at every point.

use super::Noise;
use crate::sample::t_cdf;

/// The outcome of the test between two sides of a change point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TTest {
    /// The mean of the points before.
    pub mean_before: f64,
    /// The mean of the points after.
    pub mean_after: f64,
    /// The two-sided p-value.
    pub p_value: f64,
}

impl TTest {
    /// Otava's relative change: `max(|after/before − 1|, |before/after − 1|)`, each term 0
    /// when its divisor is 0.
    pub fn magnitude(&self) -> f64 {
        let ratio = |num: f64, den: f64| if den == 0.0 { 0.0 } else { num / den - 1.0 };
        ratio(self.mean_after, self.mean_before)
            .abs()
            .max(ratio(self.mean_before, self.mean_after).abs())
    }
}

/// Mean and population variance (divisor `n`; 0 for fewer than two points).
fn mean_and_variance(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    if xs.len() < 2 {
        return (mean, 0.0);
    }
    let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
    (mean, var)
}

/// Otava's t-test between `before` and `after`; both must hold at least one point.
pub fn t_test(before: &[f64], after: &[f64]) -> TTest {
    pooled_t_test(before, after, Noise::Independent)
}

/// The t-test between `before` and `after` with the noise taken as `noise` says: with
/// [`Noise::Autocorrelated`] each side's size is reduced to its effective size.
pub fn pooled_t_test(before: &[f64], after: &[f64], noise: Noise) -> TTest {
    let (m1, v1) = mean_and_variance(before);
    let (m2, v2) = mean_and_variance(after);
    let (n1, n2) = (before.len() as f64, after.len() as f64);
    let shrink = match noise {
        Noise::Independent => 1.0,
        Noise::Autocorrelated => {
            let rho = residual_autocorrelation(before, after, m1, m2).max(0.0);
            (1.0 - rho) / (1.0 + rho)
        }
    };
    let mut p_value = 1.0;
    if n1 + n2 > 2.0 && !before.is_empty() && !after.is_empty() {
        // SciPy squares the standard deviation it is given: keep that rounding.
        let (s1, s2) = (v1.sqrt(), v2.sqrt());
        let pooled = ((n1 - 1.0) * s1 * s1 + (n2 - 1.0) * s2 * s2) / (n1 + n2 - 2.0);
        let (e1, e2) = (n1 * shrink, n2 * shrink);
        let df = e1 + e2 - 2.0;
        let denominator = (pooled * (1.0 / e1 + 1.0 / e2)).sqrt();
        p_value = if df <= 0.0 {
            1.0
        } else if denominator > 0.0 {
            let t = (m1 - m2) / denominator;
            t_cdf(-t.abs(), df).map_or(1.0, |tail| (2.0 * tail).min(1.0))
        } else if m1 == m2 {
            1.0
        } else {
            0.0
        };
    }
    TTest {
        mean_before: m1,
        mean_after: m2,
        p_value,
    }
}

/// The lag-1 autocorrelation of the residuals about each side's own mean, pooled over both
/// sides (pairs that straddle the change point are left out).
fn residual_autocorrelation(before: &[f64], after: &[f64], m1: f64, m2: f64) -> f64 {
    let mut lagged = 0.0;
    let mut squares = 0.0;
    for (side, mean) in [(before, m1), (after, m2)] {
        for (i, x) in side.iter().enumerate() {
            let e = x - mean;
            squares += e * e;
            if let Some(next) = side.get(i + 1) {
                lagged += e * (next - mean);
            }
        }
    }
    if squares > 0.0 { lagged / squares } else { 0.0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Otava's second t-test case, worked by hand: the population deviations go where the
    /// pooled test expects sample ones.
    #[test]
    fn otava_t_test_matches_scipy_with_population_deviations() {
        let a = [1.0, 1.02, 1.05, 0.95, 0.98];
        let b = [0.8, 0.82, 0.85, 0.79, 0.77];
        let t = t_test(&a, &b);
        assert!((t.mean_before - 1.0).abs() < 1e-12);
        assert!((t.mean_after - 0.806).abs() < 1e-12);
        // s² = 0.00116 and 0.000744 (divisor 5), pooled 4·(0.00116 + 0.000744)/8 = 0.000952,
        // t = 0.194 / √(0.000952 · (1/5 + 1/5)) = 9.94 with 8 degrees of freedom.
        let expected = 2.0 * t_cdf(-0.194 / (0.000952f64 * 0.4).sqrt(), 8.0).unwrap_or(1.0);
        assert!(
            (t.p_value - expected).abs() < 1e-9 * expected,
            "{} vs {expected}",
            t.p_value
        );
        assert!(t.p_value > 1e-6 && t.p_value < 1e-5, "{}", t.p_value);
    }

    #[test]
    fn degenerate_sides() {
        assert_eq!(t_test(&[1.0], &[2.0]).p_value, 1.0);
        assert_eq!(t_test(&[1.0, 1.0], &[2.0, 2.0]).p_value, 0.0);
        assert_eq!(t_test(&[1.0, 1.0], &[1.0, 1.0]).p_value, 1.0);
        // From 0 only the backward change is defined: 0/2 − 1.
        let from_zero = TTest {
            mean_before: 0.0,
            mean_after: 2.0,
            p_value: 0.5,
        };
        assert_eq!(from_zero.magnitude(), 1.0);
        let halved = TTest {
            mean_before: 2.0,
            mean_after: 1.0,
            p_value: 0.5,
        };
        assert_eq!(halved.magnitude(), 1.0);
    }

    #[test]
    fn autocorrelated_noise_weakens_the_test_of_a_drift() {
        // A steady climb: every split looks significant to a test that takes the points as
        // independent, not once their dependence is counted.
        let climb: Vec<f64> = (0..40)
            .map(|i| f64::from(i) + if i % 2 == 0 { 0.3 } else { 0.0 })
            .collect();
        let (a, b) = climb.split_at(20);
        assert!(t_test(a, b).p_value < 1e-10);
        assert!(pooled_t_test(a, b, Noise::Autocorrelated).p_value > 0.01);
        // Independent-looking noise around two levels is tested as before.
        let noise = [0.3, -0.2, 0.1, -0.4, 0.2, -0.1, 0.4, -0.3, 0.0, 0.1];
        let shifted: Vec<f64> = noise
            .iter()
            .map(|e| e + 1.0)
            .chain(noise.iter().map(|e| e + 3.0))
            .collect();
        let (a, b) = shifted.split_at(10);
        let plain = t_test(a, b).p_value;
        let corrected = pooled_t_test(a, b, Noise::Autocorrelated).p_value;
        assert!(
            plain < 1e-10 && corrected <= plain * 1.000_001,
            "{plain} {corrected}"
        );
    }
}
