//! The values the store keeps: ids, statuses and states, new rows and stored rows.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Where a trial stands: the tuning crate's trial states, stored by their words.
pub use perfloop_tune::TrialState;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub i64);

        impl $name {
            /// The integer key in the database.
            #[must_use]
            pub fn get(self) -> i64 {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }
    };
}

id_type!(
    /// The key of a study in the store.
    StudyId
);
id_type!(
    /// The key of a trial in the store (not its number within the study).
    TrialId
);
id_type!(
    /// The key of a run in the store.
    RunId
);

macro_rules! text_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vdoc])* $variant),+
        }

        impl $name {
            /// The word stored in the database (and shown to users).
            #[must_use]
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text),+
                }
            }

            /// The value of a stored word, if it is one.
            #[must_use]
            pub fn parse(text: &str) -> Option<Self> {
                match text {
                    $($text => Some(Self::$variant),)+
                    _ => None,
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

text_enum!(
    /// Where a study stands.
    StudyStatus {
        /// Trials are being run (or the process running them died: see
        /// [`Store::abandon_running`](crate::Store::abandon_running)).
        Running => "running",
        /// The study ran to its end.
        Finished => "finished",
        /// The study was stopped before its end (Ctrl-C, time limit); it can be resumed.
        Interrupted => "interrupted",
    }
);

text_enum!(
    /// How a trial ended: the states [`Store::finish_trial`](crate::Store::finish_trial)
    /// accepts.
    FinalState {
        /// Measured; its objective counts.
        Complete => "complete",
        /// The target or the measurement failed.
        Failed => "failed",
        /// Stopped early because it could not beat the best trial.
        Pruned => "pruned",
        /// Measured, but it broke a constraint (an SLO).
        Violated => "violated",
    }
);

text_enum!(
    /// What a history run measured: the command that saved it.
    RunKind {
        /// `perfloop load`: one load test.
        Load => "load",
        /// `perfloop capacity`: a search for the highest load that meets the objectives.
        Capacity => "capacity",
        /// `perfloop bench`: commands benchmarked.
        Bench => "bench",
        /// `perfloop tune`: a study, as a whole.
        Study => "study",
    }
);

impl From<FinalState> for TrialState {
    fn from(state: FinalState) -> Self {
        match state {
            FinalState::Complete => Self::Complete,
            FinalState::Failed => Self::Failed,
            FinalState::Pruned => Self::Pruned,
            FinalState::Violated => Self::Violated,
        }
    }
}

/// A study to create.
#[derive(Debug, Clone, PartialEq)]
pub struct NewStudy {
    /// Unique name of the study in the store.
    pub name: String,
    /// The study's specification (search space, objective, target), as JSON.
    pub spec_json: String,
    /// A fingerprint of the specification, so a resume can tell that the spec changed.
    pub fingerprint: String,
}

/// A stored study.
#[derive(Debug, Clone, PartialEq)]
pub struct StudyRow {
    /// Its key.
    pub id: StudyId,
    /// Its unique name.
    pub name: String,
    /// Its specification, as JSON.
    pub spec_json: String,
    /// The fingerprint of its specification.
    pub fingerprint: String,
    /// When it was created (millisecond precision).
    pub created_at: SystemTime,
    /// Where it stands.
    pub status: StudyStatus,
}

/// How a trial ended, given to [`Store::finish_trial`](crate::Store::finish_trial).
#[derive(Debug, Clone, PartialEq)]
pub struct TrialOutcome {
    /// The final state.
    pub state: FinalState,
    /// The objective value, when one was measured (never NaN).
    pub objective: Option<f64>,
    /// The trial's metrics, as JSON.
    pub metrics_json: String,
    /// Why it failed, was pruned or violated a constraint.
    pub reason: Option<String>,
    /// When its measurement started.
    pub started_at: SystemTime,
    /// When its measurement ended.
    pub finished_at: SystemTime,
}

/// A stored trial.
#[derive(Debug, Clone, PartialEq)]
pub struct TrialRow {
    /// Its key.
    pub id: TrialId,
    /// Its study.
    pub study: StudyId,
    /// Its number within the study (0, 1, 2, ...; never reused).
    pub number: u32,
    /// The parameter values tried, as JSON.
    pub params_json: String,
    /// Where it stands.
    pub state: TrialState,
    /// The objective value, when one was measured.
    pub objective: Option<f64>,
    /// Its metrics, as JSON, once finished.
    pub metrics_json: Option<String>,
    /// Why it failed, was pruned, violated a constraint or was abandoned.
    pub reason: Option<String>,
    /// When it was begun, then when its measurement started once finished.
    pub started_at: SystemTime,
    /// When it finished or was abandoned.
    pub finished_at: Option<SystemTime>,
    /// Why it ran (`explore` unless begun with
    /// [`Store::begin_trial_as`](crate::Store::begin_trial_as)).
    pub role: String,
    /// Its round, when it is one of a series of re-measurements.
    pub round: Option<u32>,
}

/// A run of a trial (or of a study) to record; history runs are [`HistoryRun`](crate::HistoryRun)s.
#[derive(Debug, Clone, PartialEq)]
pub struct NewRun {
    /// The study it belongs to, if any.
    pub study: Option<StudyId>,
    /// The trial it belongs to, if any.
    pub trial: Option<TrialId>,
    /// What kind of run it is (`load`, `capacity-step`, `bench-cmd`, ...).
    pub kind: String,
    /// When it started.
    pub started_at: SystemTime,
    /// The run record, as JSON.
    pub record_json: String,
}

/// A stored run.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRow {
    /// Its key.
    pub id: RunId,
    /// The study it belongs to, if any.
    pub study: Option<StudyId>,
    /// The trial it belongs to, if any.
    pub trial: Option<TrialId>,
    /// What kind of run it is.
    pub kind: String,
    /// When it started (millisecond precision).
    pub started_at: SystemTime,
    /// The run record, as JSON.
    pub record_json: String,
}

/// A time as stored: milliseconds since the Unix epoch (negative before it).
pub(crate) fn to_millis(time: SystemTime) -> i64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_millis()).unwrap_or(i64::MAX),
        Err(before) => i64::try_from(before.duration().as_millis()).map_or(i64::MIN, |ms| -ms),
    }
}

/// The time of a stored number of milliseconds since the Unix epoch.
pub(crate) fn from_millis(millis: i64) -> SystemTime {
    let magnitude = Duration::from_millis(millis.unsigned_abs());
    let time = if millis >= 0 {
        UNIX_EPOCH.checked_add(magnitude)
    } else {
        UNIX_EPOCH.checked_sub(magnitude)
    };
    time.unwrap_or(UNIX_EPOCH)
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::{from_millis, to_millis};

    #[test]
    fn times_round_trip_at_millisecond_precision() {
        for millis in [0, 1, -1, 1_700_000_000_123, -86_400_000] {
            assert_eq!(to_millis(from_millis(millis)), millis);
        }
        let time = UNIX_EPOCH + Duration::from_nanos(1_700_000_000_123_456_789);
        assert_eq!(to_millis(time), 1_700_000_000_123);
    }
}
