//! Paired comparisons: a change measured in rounds, each round measuring the reference and
//! the candidate back to back, so that drift of the machine between rounds cancels out.
//!
//! - [`paired_ratio`]: the geometric mean of the per-round ratios candidate ÷ reference,
//!   with Student's t interval on the logarithms of the ratios (for positive quantities:
//!   throughput, latency).
//! - [`paired_difference`]: the mean per-round difference candidate − reference, with
//!   Student's t interval on the differences (for scores of any sign).

use super::summary::{mean, mean_confidence_interval};

/// A change estimated from paired rounds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PairedChange {
    /// Rounds with both values.
    pub pairs: usize,
    /// The estimate: a ratio ([`paired_ratio`]) or a difference ([`paired_difference`]).
    pub estimate: f64,
    /// The interval at the level asked, `None` with fewer than two pairs.
    pub interval: Option<(f64, f64)>,
}

/// The pairs where both values are present and finite.
fn pairs(reference: &[Option<f64>], candidate: &[Option<f64>]) -> Vec<(f64, f64)> {
    reference
        .iter()
        .zip(candidate)
        .filter_map(|(r, c)| Some(((*r)?, (*c)?)))
        .filter(|(r, c)| r.is_finite() && c.is_finite())
        .collect()
}

/// The ratio candidate ÷ reference over paired rounds (a round is dropped where either
/// value is missing): the geometric mean of the ratios and, with two pairs or more, the
/// Student's t interval of the mean log-ratio at `level`, exponentiated. `None` when no
/// pair is left or a paired value is not positive.
#[must_use]
pub fn paired_ratio(
    reference: &[Option<f64>],
    candidate: &[Option<f64>],
    level: f64,
) -> Option<PairedChange> {
    let pairs = pairs(reference, candidate);
    if pairs.iter().any(|(r, c)| *r <= 0.0 || *c <= 0.0) {
        return None;
    }
    let logs: Vec<f64> = pairs.iter().map(|(r, c)| (c / r).ln()).collect();
    Some(PairedChange {
        pairs: logs.len(),
        estimate: mean(&logs)?.exp(),
        interval: mean_confidence_interval(&logs, level).map(|ci| (ci.low.exp(), ci.high.exp())),
    })
}

/// The difference candidate − reference over paired rounds: the mean difference and, with
/// two pairs or more, its Student's t interval at `level`. `None` when no pair is left.
#[must_use]
pub fn paired_difference(
    reference: &[Option<f64>],
    candidate: &[Option<f64>],
    level: f64,
) -> Option<PairedChange> {
    let diffs: Vec<f64> = pairs(reference, candidate)
        .iter()
        .map(|(r, c)| c - r)
        .collect();
    Some(PairedChange {
        pairs: diffs.len(),
        estimate: mean(&diffs)?,
        interval: mean_confidence_interval(&diffs, level).map(|ci| (ci.low, ci.high)),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9 * b.abs().max(1.0)
    }

    /// Log-ratios ln(1.1), ln(1.2), ln(1.3): mean 0.18121, sd 0.08338, t(0.975, 2) = 4.30265
    /// (computed independently: numpy and scipy.stats.t.ppf).
    #[test]
    fn ratio_is_the_geometric_mean_with_a_t_interval_on_logs() {
        let reference = [Some(100.0), Some(200.0), Some(50.0)];
        let candidate = [Some(110.0), Some(240.0), Some(65.0)];
        let c = paired_ratio(&reference, &candidate, 0.95).unwrap();
        assert_eq!(c.pairs, 3);
        assert!(close(c.estimate, (1.1f64 * 1.2 * 1.3).cbrt()), "{c:?}");
        let logs = [1.1f64.ln(), 1.2f64.ln(), 1.3f64.ln()];
        let m = logs.iter().sum::<f64>() / 3.0;
        let sd = (logs.iter().map(|l| (l - m).powi(2)).sum::<f64>() / 2.0).sqrt();
        let half = 4.302_652_729_911_275 * sd / 3f64.sqrt();
        let (low, high) = c.interval.unwrap();
        assert!((low - (m - half).exp()).abs() < 1e-6, "{low}");
        assert!((high - (m + half).exp()).abs() < 1e-6, "{high}");
        assert!(low < 1.0 && high > 1.3, "{low} {high}");
    }

    #[test]
    fn drift_shared_by_a_round_cancels() {
        // The machine slows down by half over the rounds; the candidate stays 10 % ahead.
        let reference = [Some(1000.0), Some(800.0), Some(600.0), Some(500.0)];
        let candidate: Vec<_> = reference.iter().map(|r| r.map(|v| v * 1.1)).collect();
        let c = paired_ratio(&reference, &candidate, 0.95).unwrap();
        let (low, high) = c.interval.unwrap();
        assert!(close(c.estimate, 1.1) && close(low, 1.1) && close(high, 1.1));
    }

    #[test]
    fn missing_rounds_are_dropped_and_one_pair_has_no_interval() {
        let reference = [Some(100.0), None, Some(100.0)];
        let candidate = [None, Some(5.0), Some(120.0)];
        let c = paired_ratio(&reference, &candidate, 0.95).unwrap();
        assert_eq!((c.pairs, c.interval), (1, None));
        assert!(close(c.estimate, 1.2));
        assert_eq!(paired_ratio(&[None], &[Some(1.0)], 0.95), None);
        assert_eq!(paired_ratio(&[Some(-1.0)], &[Some(1.0)], 0.95), None);
    }

    #[test]
    fn difference_has_a_t_interval() {
        let reference = [Some(-10.0), Some(-12.0), Some(-11.0)];
        let candidate = [Some(-8.0), Some(-9.0), Some(-10.0)];
        let c = paired_difference(&reference, &candidate, 0.95).unwrap();
        assert_eq!(c.pairs, 3);
        assert!(close(c.estimate, 2.0));
        // Differences 2, 3, 1: sd 1, half-width 4.30265 / sqrt(3).
        let (low, high) = c.interval.unwrap();
        let half = 4.302_652_729_911_275 / 3f64.sqrt();
        assert!((low - (2.0 - half)).abs() < 1e-6 && (high - (2.0 + half)).abs() < 1e-6);
    }
}
