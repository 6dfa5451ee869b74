//! Change points in a series of measurements: E-divisive means with a significance test,
//! the method of Apache Otava (formerly DataStax Hunter), plus a minimum segment length.
//!
//! [`detect`] answers "after which points did the level of this series shift?" for a series
//! in time order (one figure per run, per commit, per night). A change point at index `i`
//! means point `i` is the first of a new segment. Each comes with the means of the segments
//! on either side and the p-value of the difference.
//!
//! # Method
//!
//! D. S. Matteson and N. A. James, *A Nonparametric Approach for Multiple Change Point
//! Analysis of Multivariate Data*, JASA 109 (2014), as adapted by D. Daly et al., *Creating a
//! Virtuous Cycle in Performance Testing at MongoDB* (ICPE 2021) and M. Fleming et al.,
//! *Hunter: Using Change Point Detection to Hunt for Performance Regressions* (ICPE 2023),
//! and as Apache Otava implements it today:
//!
//! 1. **Split** (`split.rs`): the series is cut into windows of `window` points, each
//!    starting half a window after the previous one (or at the last change point found, if
//!    that is further). In each window E-divisive bisects greedily: among the current
//!    segments it takes the split `τ` (and right end `κ`) maximising the energy statistic
//!    `Q̂` of Matteson and James (`energy.rs`), tests it with Student's t-test between the two
//!    parts of the segment it cuts ([`t_test`]), keeps it if the p-value is at most a relaxed
//!    threshold (10 × `p_value` below 0.05, 2 × below 0.5) and stops at the first candidate
//!    that fails. The union over all windows are the *weak* change points.
//! 2. **Merge** (`merge.rs`): each weak change point is tested between its neighbours (the
//!    whole segments on either side). Repeatedly, the weakest is removed and its neighbours
//!    re-tested: first any change point bounding a segment shorter than `min_segment`
//!    points (the one with the highest p-value among them), then, as in Otava, the one with
//!    the highest p-value if that is not below `p_value`, or else the one with the smallest
//!    relative change if that is not above `magnitude`.
//!
//! [`Params::otava`] is Otava's detector exactly: the tests check Otava's expected change
//! points on its Tigerbeetle series for its ten parameter sets. [`Params::default`] keeps
//! Otava's `window`, `p_value` and `magnitude` and corrects three things, each measured on
//! the Turing Change Point Dataset (TCPD, scored as TCPDBench scores it; `bench/changepoints.md`):
//!
//! - **A minimum segment length** ([`DEFAULT_MIN_SEGMENT`] points): one outlier makes two
//!   change points in Otava (into the spike and out of it), each significant against its
//!   neighbours, a known complaint about it. Here the split's energy search never takes
//!   fewer than `min_segment` points as its `Y` (unless they run to the segment's end), so
//!   an outlier does not outbid the level shift beside it, and the merge removes change
//!   points that bound a shorter segment (the weaker of each pair first).
//! - **Autocorrelated noise** in the split step ([`Noise::Autocorrelated`]): Otava's t-test
//!   takes the points as independent, so a drift or a random walk proposes a change point
//!   in nearly every window (60 on TCPD's `bank`, which no annotator marks; on TCPD it
//!   scores F1 0.566 and cover 0.446, below the 0.647 and 0.557 of reporting nothing).
//!   Counting each side as its effective size under the lag-1 autocorrelation of its
//!   residuals leaves a shift in independent noise as it was (perfloop: F1 0.744, cover
//!   0.670; TCPDBench's best default method, binseg, 0.690 and 0.655 on the same series).
//! - **A strict merge** ([`Merge::Strict`]): Otava re-tests only the change point after a
//!   removed one, so the one before may keep a test against a segment that no longer exists
//!   and end with a p-value above the threshold; here every change point returned passes
//!   its own test against the segments it separates.
//!
//! The t-test is Otava's: the pooled-variance Student's t-test computed from each side's mean
//! and *population* standard deviation (divisor `n`, NumPy's default, passed where SciPy's
//! `ttest_ind_from_stats` expects the sample one), two-sided; one point against one point
//! has no degrees of freedom and a p-value of 1. The relative change is
//! `max(|after/before − 1|, |before/after − 1|)`, 0 when a mean is 0. The p-value and means
//! returned are those of the final segments.
//!
//! The work is `O(n · window²)` for the split and `O(k · n)` at most for the merge of `k` weak
//! change points; the memory `O(window² + n)`.

mod energy;
mod merge;
mod split;
mod ttest;

use std::fmt;

pub use ttest::{TTest, pooled_t_test, t_test};

/// The settings of the detector; [`Params::default`] gives Otava's defaults (window 50,
/// p-value 0.001, magnitude 0) with segments of at least [`DEFAULT_MIN_SEGMENT`] points,
/// autocorrelated noise and the strict merge; [`Params::otava`] is Otava's detector.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Params {
    /// Points in each sliding window of the split step (at least 2; the step is half of it).
    pub window: usize,
    /// The largest p-value a change point may have (in `(0, 1]`).
    pub p_value: f64,
    /// The smallest relative change a change point must exceed (`0` keeps any change).
    pub magnitude: f64,
    /// The fewest points a segment between two change points (or an end) may have; `1`
    /// imposes nothing.
    pub min_segment: usize,
    /// How the merge step re-tests change points (strict unless reproducing Otava).
    pub merge: Merge,
    /// How the split step's t-test takes the noise (autocorrelated unless reproducing
    /// Otava).
    pub noise: Noise,
}

/// How the split step's t-test takes the noise between change points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Noise {
    /// Possibly autocorrelated: each side counts as its effective size under lag-1
    /// autocorrelation of its residuals, so a drift or a random walk does not propose a
    /// change point at every window.
    #[default]
    Autocorrelated,
    /// Independent points, as Otava takes them.
    Independent,
}

/// How the merge step re-tests the neighbours of a removed change point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Merge {
    /// Otava's merge, then every change point left re-tested against the segments it
    /// separates and removed if it fails: each change point returned passes its own test.
    #[default]
    Strict,
    /// Otava's merge alone, which reproduces Otava's results exactly: it re-tests the change
    /// point after a removed one but not the one before, which may so keep a change point
    /// whose p-value against its real neighbours is above the threshold.
    Otava,
}

/// Otava's default window.
pub const DEFAULT_WINDOW: usize = 50;
/// Otava's default largest p-value.
pub const DEFAULT_P_VALUE: f64 = 0.001;
/// Otava's default smallest relative change.
pub const DEFAULT_MAGNITUDE: f64 = 0.0;
/// The default fewest points per segment: an outlier, or a burst of a few (a noisy
/// neighbour on a shared runner for an evening), is not a new level.
pub const DEFAULT_MIN_SEGMENT: usize = 5;

impl Default for Params {
    fn default() -> Self {
        Params {
            window: DEFAULT_WINDOW,
            p_value: DEFAULT_P_VALUE,
            magnitude: DEFAULT_MAGNITUDE,
            min_segment: DEFAULT_MIN_SEGMENT,
            merge: Merge::Strict,
            noise: Noise::Autocorrelated,
        }
    }
}

/// A setting [`detect`] cannot work with.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ParamsError {
    /// The window is shorter than two points.
    #[error("window {0} is too short: a window needs at least 2 points")]
    Window(usize),
    /// The p-value threshold is not in `(0, 1]`.
    #[error("p-value {0} is out of range: give a probability above 0 and at most 1, like 0.001")]
    PValue(f64),
    /// The magnitude is negative or not finite.
    #[error("magnitude {0} is out of range: give a relative change of 0 or more, like 0.05")]
    Magnitude(f64),
    /// The minimum segment length is 0.
    #[error("minimum segment 0 is out of range: a segment has at least 1 point")]
    MinSegment,
    /// The series holds a value that is not a finite number.
    #[error("value {value} at index {index} is not a finite number")]
    NotFinite {
        /// Where it is (0-based).
        index: usize,
        /// The value.
        value: f64,
    },
}

impl Params {
    /// Apache Otava's detector exactly: no minimum segment length, its merge, independent
    /// noise.
    pub fn otava(window: usize, p_value: f64, magnitude: f64) -> Self {
        Params {
            window,
            p_value,
            magnitude,
            min_segment: 1,
            merge: Merge::Otava,
            noise: Noise::Independent,
        }
    }

    /// Checks the settings.
    pub fn validate(&self) -> Result<(), ParamsError> {
        if self.window < 2 {
            return Err(ParamsError::Window(self.window));
        }
        if !(self.p_value > 0.0 && self.p_value <= 1.0) {
            return Err(ParamsError::PValue(self.p_value));
        }
        if !(self.magnitude.is_finite() && self.magnitude >= 0.0) {
            return Err(ParamsError::Magnitude(self.magnitude));
        }
        if self.min_segment == 0 {
            return Err(ParamsError::MinSegment);
        }
        Ok(())
    }

    /// The relaxed threshold of the split step: Otava's 10 × below 0.05, 2 × below 0.5.
    pub fn first_pass_p_value(&self) -> f64 {
        if self.p_value < 0.05 {
            self.p_value * 10.0
        } else if self.p_value < 0.5 {
            self.p_value * 2.0
        } else {
            self.p_value
        }
    }
}

/// A change point: where the new segment starts and how it differs from the one before.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChangePoint {
    /// The first point of the new segment (0-based).
    pub index: usize,
    /// The mean of the segment before (from the previous change point, or the start).
    pub before: f64,
    /// The mean of the segment after (up to the next change point, or the end).
    pub after: f64,
    /// The two-sided p-value of the difference between the two segments.
    pub p_value: f64,
}

impl ChangePoint {
    /// The relative change `after / before − 1` (`None` when `before` is 0).
    pub fn change(&self) -> Option<f64> {
        (self.before != 0.0).then(|| self.after / self.before - 1.0)
    }
}

impl fmt::Display for ChangePoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "at {}: {} -> {} (p = {:.3e})",
            self.index, self.before, self.after, self.p_value
        )
    }
}

/// The change points of `series`, in index order.
///
/// A series shorter than two points has none. Errors when a setting is out of range or a
/// value is not finite (NaN or infinite).
pub fn detect(series: &[f64], params: &Params) -> Result<Vec<ChangePoint>, ParamsError> {
    params.validate()?;
    if let Some((index, &value)) = series.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(ParamsError::NotFinite { index, value });
    }
    let weak = split::weak_change_points(series, params);
    let kept = merge::merge(series, weak, params);
    Ok(kept
        .into_iter()
        .map(|(index, test)| ChangePoint {
            index,
            before: test.mean_before,
            after: test.mean_after,
            p_value: test.p_value,
        })
        .collect())
}

#[cfg(test)]
mod tests;
