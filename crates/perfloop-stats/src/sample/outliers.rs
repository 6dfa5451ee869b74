//! Outlier detection with the modified Z-score (Iglewicz and Hoaglin, 1993, *How to Detect
//! and Handle Outliers*, ASQC Basic References in Quality Control, vol. 16).
//!
//! `M_i = 0.6745 · (x_i − median) / MAD`, where MAD is the median of the absolute deviations
//! from the median and 0.6745 the 0.75 quantile of the standard normal distribution (so that
//! `MAD / 0.6745` estimates σ for normal data). A value with `|M_i| > 3.5` is an outlier: the
//! threshold the authors recommend. hyperfine computes the same score without the 0.6745
//! factor and flags values above `1.4826 · 10` — about ten standard deviations, against about
//! 3.5 here — so this detector is the stricter of the two and warns more readily.
//!
//! When the MAD is zero (more than half of the values are equal) it is replaced by
//! `f64::EPSILON`, as hyperfine does: every value that differs from that majority is then an
//! outlier.

use super::summary::median;

/// The modified Z-score above which (in absolute value) a value is an outlier.
pub const OUTLIER_THRESHOLD: f64 = 3.5;

/// The 0.75 quantile of the standard normal distribution.
const NORMAL_Q3: f64 = 0.6745;

/// The modified Z-score of every value, in input order; empty for an empty sample.
pub fn modified_z_scores(values: &[f64]) -> Vec<f64> {
    let Some(m) = median(values) else {
        return Vec::new();
    };
    let deviations: Vec<f64> = values.iter().map(|x| (x - m).abs()).collect();
    let mad = match median(&deviations) {
        Some(mad) if mad > 0.0 => mad,
        _ => f64::EPSILON,
    };
    values.iter().map(|x| NORMAL_Q3 * (x - m) / mad).collect()
}

/// The indices of the values whose modified Z-score exceeds [`OUTLIER_THRESHOLD`] in
/// absolute value.
pub fn outlier_indices(values: &[f64]) -> Vec<usize> {
    modified_z_scores(values)
        .iter()
        .enumerate()
        .filter(|(_, z)| z.abs() > OUTLIER_THRESHOLD)
        .map(|(i, _)| i)
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn scores_by_hand() {
        // median 3, deviations 2 1 0 1 97 → MAD 1; M = 0.6745 · (x − 3): 100 scores 65.4.
        let x = [1.0, 2.0, 3.0, 4.0, 100.0];
        let z = modified_z_scores(&x);
        let want: Vec<f64> = x.iter().map(|v| 0.6745 * (v - 3.0)).collect();
        for (a, b) in z.iter().zip(&want) {
            assert!((a - b).abs() < 1e-12, "{z:?}");
        }
        assert_eq!(outlier_indices(&x), vec![4]);
        // 2 4 4 4 5 5 7 9: median 4.5, MAD 0.5; 9 scores 0.6745 · 4.5 / 0.5 = 6.07.
        assert_eq!(
            outlier_indices(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]),
            vec![7]
        );
    }

    #[test]
    fn a_far_value_is_flagged_and_a_near_one_is_not() {
        // median 10.1, MAD 0.1 → 12.0 scores 0.6745 · 1.9 / 0.1 = 12.8; 10.4 scores 2.02.
        let x = [10.0, 10.1, 10.2, 10.0, 10.2, 10.4, 12.0, 10.1, 10.1];
        let z = modified_z_scores(&x);
        assert!((z[6] - 12.8155).abs() < 1e-3, "{z:?}");
        assert_eq!(outlier_indices(&x), vec![6]);
    }

    #[test]
    fn zero_mad_and_empty_samples() {
        assert!(outlier_indices(&[1.0, 1.0, 1.0]).is_empty());
        assert_eq!(outlier_indices(&[1.0, 1.0, 1.0, 1.5]), vec![3]);
        assert!(modified_z_scores(&[]).is_empty());
    }
}
