//! Descriptive statistics of a sample and the confidence interval of its mean.
//!
//! The standard deviation is the sample one (Bessel's correction, divisor `n − 1`). The
//! confidence interval of the mean is Student's: `mean ± t(1 − α/2; n − 1) · s / √n`, which
//! assumes roughly normal, independent observations; it needs at least two of them.

use super::student_t::t_quantile;

/// The arithmetic mean; `None` for an empty sample.
pub fn mean(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    Some(values.iter().sum::<f64>() / values.len() as f64)
}

/// The median (the mean of the two middle values for an even count); `None` for an empty
/// sample or one holding NaN.
pub fn median(values: &[f64]) -> Option<f64> {
    if values.is_empty() || values.iter().any(|v| v.is_nan()) {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    Some(if sorted.len() % 2 == 0 {
        0.5 * (sorted[mid - 1] + sorted[mid])
    } else {
        sorted[mid]
    })
}

/// The sample standard deviation (divisor `n − 1`); `None` for fewer than two values.
pub fn std_dev(values: &[f64]) -> Option<f64> {
    if values.len() < 2 {
        return None;
    }
    let m = mean(values)?;
    let ss: f64 = values.iter().map(|v| (v - m) * (v - m)).sum();
    Some((ss / (values.len() - 1) as f64).sqrt())
}

/// A two-sided confidence interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ConfidenceInterval {
    /// The confidence level, e.g. 0.95.
    pub level: f64,
    /// The lower bound.
    pub low: f64,
    /// The upper bound.
    pub high: f64,
}

impl ConfidenceInterval {
    /// Half the width of the interval (the "±" part).
    pub fn half_width(&self) -> f64 {
        0.5 * (self.high - self.low)
    }
}

/// The Student's t confidence interval of the mean at `level` (e.g. 0.95); `None` for fewer
/// than two values or a level outside (0, 1).
pub fn mean_confidence_interval(values: &[f64], level: f64) -> Option<ConfidenceInterval> {
    if !(level > 0.0 && level < 1.0) {
        return None;
    }
    let m = mean(values)?;
    let s = std_dev(values)?;
    let n = values.len() as f64;
    let t = t_quantile(0.5 + 0.5 * level, n - 1.0)?;
    let half = t * s / n.sqrt();
    Some(ConfidenceInterval {
        level,
        low: m - half,
        high: m + half,
    })
}

/// The summary of a sample: what a benchmark reports per measured quantity.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    /// Number of values.
    pub n: usize,
    /// Arithmetic mean.
    pub mean: f64,
    /// Median.
    pub median: f64,
    /// Sample standard deviation; `None` for a single value.
    pub std_dev: Option<f64>,
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
    /// 95 % confidence interval of the mean; `None` for a single value.
    pub ci95: Option<ConfidenceInterval>,
}

impl Summary {
    /// Summarises `values`; `None` when the sample is empty or holds a value that is not
    /// finite.
    pub fn of(values: &[f64]) -> Option<Summary> {
        if values.iter().any(|v| !v.is_finite()) {
            return None;
        }
        Some(Summary {
            n: values.len(),
            mean: mean(values)?,
            median: median(values)?,
            std_dev: std_dev(values),
            min: values.iter().copied().fold(f64::INFINITY, f64::min),
            max: values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            ci95: mean_confidence_interval(values, 0.95),
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn hand_computed_sample() {
        // 2 4 4 4 5 5 7 9: mean 5, median 4.5, Σ(x − 5)² = 32, s = √(32/7) = 2.138090;
        // t(0.975; 7) = 2.364624, half width = 2.364624 · 2.138090 / √8 = 1.787488.
        let x = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0];
        let s = Summary::of(&x).unwrap();
        assert_eq!(s.n, 8);
        assert_eq!(s.mean, 5.0);
        assert_eq!(s.median, 4.5);
        assert!(close(s.std_dev.unwrap(), 2.138_090, 1e-6));
        assert_eq!((s.min, s.max), (2.0, 9.0));
        let ci = s.ci95.unwrap();
        assert!(close(ci.half_width(), 1.787_488, 1e-6), "{ci:?}");
        assert!(close(ci.low, 3.212_512, 1e-6) && close(ci.high, 6.787_488, 1e-6));
        assert_eq!(ci.level, 0.95);
    }

    #[test]
    fn five_values_use_t_with_four_degrees_of_freedom() {
        // 10 12 14 16 18: mean 14, s = √10, half width = 2.776445 · √10 / √5 = 3.926503.
        let x = [18.0, 10.0, 14.0, 12.0, 16.0];
        let ci = mean_confidence_interval(&x, 0.95).unwrap();
        assert!(
            close(ci.half_width(), 2.776_445 * 2f64.sqrt(), 1e-6),
            "{ci:?}"
        );
        assert_eq!(median(&x), Some(14.0));
    }

    #[test]
    fn small_and_bad_samples() {
        assert_eq!(Summary::of(&[]), None);
        assert_eq!(Summary::of(&[1.0, f64::NAN]), None);
        assert_eq!(Summary::of(&[1.0, f64::INFINITY]), None);
        let one = Summary::of(&[3.0]).unwrap();
        assert_eq!(
            (one.mean, one.median, one.std_dev, one.ci95),
            (3.0, 3.0, None, None)
        );
        assert_eq!(mean_confidence_interval(&[1.0, 2.0], 1.0), None);
        let same = Summary::of(&[2.0, 2.0, 2.0]).unwrap();
        assert_eq!(same.std_dev, Some(0.0));
        assert_eq!(same.ci95.map(|c| (c.low, c.high)), Some((2.0, 2.0)));
    }
}
