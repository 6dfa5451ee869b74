//! The trials of a study as the store keeps them, and what the schedule and the conclusion
//! read of them: why each ran ([`TrialRole`]), its confirmation round, how it ended
//! ([`TrialState`]), its objective and metrics ([`Done`]); and how a measured trial is
//! judged against the study's objective and constraints.

use std::collections::BTreeMap;
use std::fmt;

use perfloop_stats::Metric;
use serde::{Deserialize, Serialize};

use crate::space::Config;
use crate::study::{Objective, Study};

/// The metrics of one trial (means over its repeats), by metric: those of
/// [`STUDY_METRICS`](crate::study::STUDY_METRICS); a metric that was not measured is NaN
/// or absent.
pub type TrialMetrics = BTreeMap<Metric, f64>;

/// Why a trial was run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TrialRole {
    /// A configuration chosen by the sampler.
    Explore,
    /// The default configuration, measured between the others so that drift shows.
    Baseline,
    /// A finalist re-measured in a confirmation round.
    Confirm,
}

impl TrialRole {
    /// The role's name, as serialised and stored.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Explore => "explore",
            Self::Baseline => "baseline",
            Self::Confirm => "confirm",
        }
    }

    /// The role named `name`.
    #[must_use]
    pub fn parse(name: &str) -> Option<TrialRole> {
        [Self::Explore, Self::Baseline, Self::Confirm]
            .into_iter()
            .find(|r| r.as_str() == name)
    }
}

/// Where a trial stands; the word of each state is what the store writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TrialState {
    /// Begun and not finished: being measured, or left so by a process that died.
    Running,
    /// Measured; its objective counts.
    Complete,
    /// The target or the measurement failed (see the reason).
    Failed,
    /// Stopped early because it could not beat the best trial.
    Pruned,
    /// Measured, but it broke a constraint (an SLO); its objective does not count.
    Violated,
    /// Left `running` by a process that died, marked so on resume. Kept for the record,
    /// never counted, and its number is not reused.
    Abandoned,
}

impl TrialState {
    const ALL: [TrialState; 6] = [
        Self::Running,
        Self::Complete,
        Self::Failed,
        Self::Pruned,
        Self::Violated,
        Self::Abandoned,
    ];

    /// The word stored in the database (and shown to users).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Complete => "complete",
            Self::Failed => "failed",
            Self::Pruned => "pruned",
            Self::Violated => "violated",
            Self::Abandoned => "abandoned",
        }
    }

    /// The value of a stored word, if it is one.
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

impl fmt::Display for TrialState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A trial as the store holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct Done {
    /// Its number.
    pub number: u32,
    /// Why it ran.
    pub role: TrialRole,
    /// Its confirmation round.
    pub round: Option<u32>,
    /// Its configuration.
    pub config: Config,
    /// Its state (never `running` once read for a decision).
    pub state: TrialState,
    /// Its objective, in the objective's unit.
    pub objective: Option<f64>,
    /// Its metrics.
    pub metrics: TrialMetrics,
    /// Why it failed or violated a constraint.
    pub reason: Option<String>,
    /// Time it took, seconds (0 for an abandoned trial: unknown).
    pub duration_s: f64,
}

impl Done {
    /// Finished with a result: complete, failed or violated (not abandoned).
    #[must_use]
    pub fn counts(&self) -> bool {
        matches!(
            self.state,
            TrialState::Complete | TrialState::Failed | TrialState::Violated
        )
    }

    /// Part of the exploration phase.
    #[must_use]
    pub fn explores(&self) -> bool {
        self.round.is_none()
    }
}

/// The metrics by name (`throughput`, `p99`, ...), finite values only: how the store and
/// the study record keep them.
#[must_use]
pub fn metrics_by_name(metrics: &TrialMetrics) -> BTreeMap<String, f64> {
    metrics
        .iter()
        .filter(|(_, v)| v.is_finite())
        .map(|(k, v)| (k.name().to_string(), *v))
        .collect()
}

/// The metrics of [`metrics_by_name`] read back; names that are not metrics are left out.
#[must_use]
pub fn metrics_from_names(by_name: BTreeMap<String, f64>) -> TrialMetrics {
    by_name
        .into_iter()
        .filter_map(|(k, v)| Some((Metric::parse(&k)?, v)))
        .collect()
}

/// A value for a sentence: one decimal from 100 up, three below.
#[must_use]
pub fn format_value(v: f64) -> String {
    if v.abs() >= 100.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.3}")
    }
}

impl Objective {
    /// The objective's value from a trial's metrics (a weighted objective's score);
    /// `None` when a metric it needs was not measured.
    #[must_use]
    pub fn value(&self, metrics: &TrialMetrics) -> Option<f64> {
        let value = |m| metrics.get(&m).copied().unwrap_or(f64::NAN);
        let v = match self {
            Objective::Maximize(m) | Objective::Minimize(m) => value(*m),
            Objective::Weighted(_) => self.score(value),
        };
        v.is_finite().then_some(v)
    }
}

impl Study {
    /// The constraints a trial broke, in a sentence, after `unmet` (a reason found in the
    /// measurement itself); `None` when it met them all.
    #[must_use]
    pub fn broken(&self, metrics: &TrialMetrics, unmet: Option<String>) -> Option<String> {
        let mut why: Vec<String> = unmet.into_iter().collect();
        for c in &self.constraints {
            let value = metrics.get(&c.metric()).copied().unwrap_or(f64::NAN);
            if !c.holds(value) {
                why.push(if value.is_finite() {
                    format!(
                        "{} = {} breaks {}",
                        c.metric(),
                        format_value(value),
                        c.expr()
                    )
                } else {
                    format!(
                        "{} was not measured, so {} cannot hold",
                        c.metric(),
                        c.expr()
                    )
                });
            }
        }
        (!why.is_empty()).then(|| why.join("; "))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn roles_read_back_as_serialised() {
        for role in [TrialRole::Explore, TrialRole::Baseline, TrialRole::Confirm] {
            let json = serde_json::to_value(role).unwrap();
            assert_eq!(json.as_str(), Some(role.as_str()));
            assert_eq!(TrialRole::parse(role.as_str()), Some(role));
        }
        assert_eq!(TrialRole::parse("Explore"), None);
    }

    #[test]
    fn states_read_back_as_stored() {
        for state in TrialState::ALL {
            assert_eq!(TrialState::parse(state.as_str()), Some(state));
            assert_eq!(state.to_string(), state.as_str());
        }
        assert_eq!(TrialState::parse("Complete"), None);
    }

    #[test]
    fn a_trial_is_judged_by_its_objective_and_constraints() {
        let study = Study::parse(
            r#"name = "s"
[target]
bench = "work --threads {threads}"
[knobs.threads]
type = "int"
low = 1
high = 4
default = 2
[objective]
weighted = { throughput = 1.0, p99 = -2.0 }
constraints = ["p99<100ms", "rss_mb<500"]
[budget]
trials = 3
"#,
        )
        .unwrap();
        let metrics = TrialMetrics::from([
            (Metric::Throughput, 300.0),
            (Metric::P99, 120.0),
            (Metric::RssMb, f64::NAN),
        ]);
        assert_eq!(study.objective.value(&metrics), Some(60.0));
        assert_eq!(
            study.broken(&metrics, None).unwrap(),
            "p99 = 120.0 breaks p99<100ms; rss_mb was not measured, so rss_mb<500 cannot hold"
        );
        let without_p99 = TrialMetrics::from([(Metric::Throughput, 300.0)]);
        assert_eq!(study.objective.value(&without_p99), None);
        let by_name = metrics_by_name(&metrics);
        assert_eq!(by_name.len(), 2, "{by_name:?}");
        assert_eq!(metrics_from_names(by_name)[&Metric::P99], 120.0);
    }
}
