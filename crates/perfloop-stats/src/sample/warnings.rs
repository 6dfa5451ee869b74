//! The warnings a command benchmark attaches to its results, after hyperfine's: failed runs,
//! runs too short to time reliably, a first run much slower than the rest (cold caches) and
//! statistical outliers (see [`super::outliers`]).
//!
//! A slow first run is the first value being an outlier on the slow side; it is reported on
//! its own and not counted again among the other outliers.

use std::fmt;

use super::outliers::{OUTLIER_THRESHOLD, modified_z_scores};
use super::summary::median;

/// A run shorter than this many seconds is too short to time reliably: the cost of starting
/// a process (and a shell) is of the same order.
pub const FAST_RUN_S: f64 = 0.005;

/// Something about a benchmark's runs that makes its figures less trustworthy.
#[derive(Debug, Clone, PartialEq)]
pub enum BenchWarning {
    /// Some runs exited with a non-zero status (their failures were ignored).
    NonZeroExit {
        /// Runs that failed.
        failed: usize,
        /// All measured runs.
        total: usize,
    },
    /// At least one run took less than [`FAST_RUN_S`].
    FastRuns {
        /// The shortest run, in seconds.
        fastest_s: f64,
    },
    /// The first run was an outlier on the slow side.
    SlowFirstRun {
        /// The first run's time, in seconds.
        first_s: f64,
        /// The median of all runs, in seconds.
        median_s: f64,
    },
    /// Runs other than the first are statistical outliers.
    Outliers {
        /// How many.
        count: usize,
        /// All measured runs.
        total: usize,
    },
}

impl BenchWarning {
    /// A stable identifier of the kind of warning, for machine-readable output.
    pub fn kind(&self) -> &'static str {
        match self {
            BenchWarning::NonZeroExit { .. } => "non_zero_exit",
            BenchWarning::FastRuns { .. } => "fast_runs",
            BenchWarning::SlowFirstRun { .. } => "slow_first_run",
            BenchWarning::Outliers { .. } => "outliers",
        }
    }
}

impl fmt::Display for BenchWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BenchWarning::NonZeroExit { failed, total } => write!(
                f,
                "{failed} of {total} runs exited with a non-zero status; failures were \
                 ignored, but the timing of a failing command rarely means much"
            ),
            BenchWarning::FastRuns { fastest_s } => write!(
                f,
                "a run took less than 5 ms ({:.2} ms): the results might be inaccurate, since \
                 starting the process (and the shell) costs about as much; give each run more \
                 work or run the command without a shell (-N)",
                fastest_s * 1e3
            ),
            BenchWarning::SlowFirstRun { first_s, median_s } => write!(
                f,
                "the first run was significantly slower than the rest ({:.3} s against a \
                 median of {:.3} s); caches may not have been filled until after it: consider \
                 warm-up runs (--warmup)",
                first_s, median_s
            ),
            BenchWarning::Outliers { count, total } => write!(
                f,
                "statistical outliers were detected ({count} of {total} runs with a modified \
                 Z-score above {OUTLIER_THRESHOLD}); consider re-running on a quiet system, \
                 without interference from other programs"
            ),
        }
    }
}

/// The warnings for a benchmark whose measured runs took `wall_s` seconds each (in run
/// order) and of which `failed_runs` exited with a non-zero status.
pub fn bench_warnings(wall_s: &[f64], failed_runs: usize) -> Vec<BenchWarning> {
    let mut warnings = Vec::new();
    if failed_runs > 0 {
        warnings.push(BenchWarning::NonZeroExit {
            failed: failed_runs,
            total: wall_s.len(),
        });
    }
    let fastest_s = wall_s.iter().copied().fold(f64::INFINITY, f64::min);
    if fastest_s < FAST_RUN_S {
        warnings.push(BenchWarning::FastRuns { fastest_s });
    }
    // With fewer than three runs a median-based score means nothing.
    if wall_s.len() >= 3 {
        let z = modified_z_scores(wall_s);
        let slow_first = z.first().is_some_and(|&z0| z0 > OUTLIER_THRESHOLD);
        if slow_first {
            warnings.push(BenchWarning::SlowFirstRun {
                first_s: wall_s[0],
                median_s: median(wall_s).unwrap_or(f64::NAN),
            });
        }
        let skip = usize::from(slow_first);
        let count = z
            .iter()
            .skip(skip)
            .filter(|s| s.abs() > OUTLIER_THRESHOLD)
            .count();
        if count > 0 {
            warnings.push(BenchWarning::Outliers {
                count,
                total: wall_s.len(),
            });
        }
    }
    warnings
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn a_quiet_sample_has_no_warning() {
        let x = [0.100, 0.101, 0.099, 0.102, 0.100, 0.098, 0.101];
        assert!(bench_warnings(&x, 0).is_empty());
    }

    #[test]
    fn slow_first_run_is_reported_alone() {
        let x = [0.300, 0.101, 0.099, 0.102, 0.100, 0.098, 0.101];
        let w = bench_warnings(&x, 0);
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(matches!(w[0], BenchWarning::SlowFirstRun { first_s, .. } if first_s == 0.3));
        assert_eq!(w[0].kind(), "slow_first_run");
        assert!(w[0].to_string().contains("--warmup"));
    }

    #[test]
    fn outliers_fast_runs_and_failures() {
        // median 1.1 ms, MAD 0.1 ms: 9 ms scores 53; the others stay below 1.4.
        let x = [0.001, 0.0011, 0.0012, 0.0010, 0.0013, 0.009, 0.0011];
        let w = bench_warnings(&x, 2);
        assert_eq!(
            w[0],
            BenchWarning::NonZeroExit {
                failed: 2,
                total: 7
            }
        );
        assert!(matches!(w[1], BenchWarning::FastRuns { fastest_s } if fastest_s == 0.001));
        assert_eq!(w[2], BenchWarning::Outliers { count: 1, total: 7 });
        assert!(w[1].to_string().contains("less than 5 ms"));
        assert!(w[2].to_string().contains("outliers"));
    }

    #[test]
    fn two_runs_are_not_scored() {
        assert!(bench_warnings(&[0.1, 1.0], 0).is_empty());
    }
}
