//! Statistics of a small sample of repeated measurements, as a command benchmark produces
//! them: one wall time (or one work rate) per run.
//!
//! - [`summary`]: mean, median, sample standard deviation, range and the confidence interval
//!   of the mean ([`Summary`]).
//! - [`student_t`]: Student's t distribution (CDF and quantiles), computed from the
//!   regularized incomplete beta function.
//! - [`paired`]: changes measured in paired rounds (a ratio with a t interval on its
//!   logarithm, or a difference), so that drift between rounds cancels.
//! - [`outliers`]: the modified Z-score of Iglewicz and Hoaglin and the outliers it flags.
//! - [`warnings`]: the warnings a benchmark reader must see (outliers, too-fast runs, a slow
//!   first run, failed runs), in the manner of hyperfine.
//!
//! Every function here is pure: the same sample always gives the same result.

pub mod outliers;
pub mod paired;
pub mod student_t;
pub mod summary;
pub mod warnings;

pub use outliers::{OUTLIER_THRESHOLD, modified_z_scores, outlier_indices};
pub use paired::{PairedChange, paired_difference, paired_ratio};
pub use student_t::{t_cdf, t_quantile};
pub use summary::{ConfidenceInterval, Summary, mean, mean_confidence_interval, median, std_dev};
pub use warnings::{BenchWarning, FAST_RUN_S, bench_warnings};
