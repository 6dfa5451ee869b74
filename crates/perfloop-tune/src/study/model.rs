//! The validated study: target, knobs, workload, objective and constraints, budget, with
//! the defaults of what a study file may leave out.

use std::collections::BTreeMap;
use std::time::Duration;

use perfloop_stats::alert::AlertRule;
use perfloop_stats::slo::{Metric, Slo};
use serde::{Deserialize, Serialize};

use crate::space::Space;

/// Placeholders that perfloop fills itself and that therefore cannot be knob names:
/// `port`, a free TCP port chosen for each trial of a managed target.
pub const RESERVED_PLACEHOLDERS: &[&str] = &["port"];

/// How long a managed target has to become ready when `ready_timeout` is not given.
pub const DEFAULT_READY_TIMEOUT: Duration = Duration::from_secs(30);
/// Finalists re-measured when `finalists` is not given.
pub const DEFAULT_FINALISTS: u32 = 3;
/// The most finalists a study may ask for.
pub const MAX_FINALISTS: u32 = 10;
/// Confirmation rounds when `confirm_rounds` is not given.
pub const DEFAULT_CONFIRM_ROUNDS: u32 = 3;
/// The most confirmation rounds a study may ask for.
pub const MAX_CONFIRM_ROUNDS: u32 = 50;
/// Exploration trials between two baseline measurements when `baseline_every` is not given.
pub const DEFAULT_BASELINE_EVERY: u32 = 5;

/// A validated tuning study.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Study {
    /// The study's name, its key in the store.
    pub name: String,
    /// What is tuned and how it is started.
    pub target: Target,
    /// The knobs, validated.
    pub space: Space,
    /// How each trial is measured.
    pub workload: Workload,
    /// What the study optimises.
    pub objective: Objective,
    /// Limits a trial must respect to count (a violating trial has no objective), in the
    /// grammar of `--slo` over the metrics a study measures
    /// ([`parse_constraint`](super::parse_constraint)).
    #[serde(serialize_with = "super::fingerprint::constraints")]
    pub constraints: Vec<Slo>,
    /// How long the study may run and how it chooses configurations.
    pub budget: Budget,
    /// Alert rules checked each second of every trial's runs (`[workload] alerts`), in the
    /// order of the file. They change nothing that is measured, so they are not part of
    /// the fingerprint: a study resumes with other alerts.
    #[serde(skip)]
    pub alerts: Vec<AlertRule>,
}

/// The target of a study.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Target {
    /// A managed target: a long-running command started for each trial, then measured by the
    /// workload.
    Managed {
        /// The command template.
        command: String,
        /// How to tell that it is ready, if given.
        ready: Option<Ready>,
        /// How long it has to become ready before the trial fails.
        ready_timeout: Duration,
        /// Environment variables (name → template).
        env: BTreeMap<String, String>,
    },
    /// A command benchmark: a command run to completion, measured by its work rate.
    Bench {
        /// The command template.
        command: String,
        /// A regular expression whose first capture group is the work the command reports.
        work_regex: Option<String>,
        /// Environment variables (name → template).
        env: BTreeMap<String, String>,
    },
}

impl Target {
    /// The command template.
    #[must_use]
    pub fn command(&self) -> &str {
        match self {
            Self::Managed { command, .. } | Self::Bench { command, .. } => command,
        }
    }

    /// The environment variable templates.
    #[must_use]
    pub fn env(&self) -> &BTreeMap<String, String> {
        match self {
            Self::Managed { env, .. } | Self::Bench { env, .. } => env,
        }
    }
}

/// A readiness probe, as written after its prefix. Templates are kept unfilled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Ready {
    /// An `http://` URL that answers.
    Http(String),
    /// `tcp:PORT`: a port (a number or a placeholder such as `{port}`) that accepts.
    Tcp(String),
    /// `log:REGEX`: a line of the target's log that matches.
    Log(String),
}

/// How a trial is measured.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Workload {
    /// A load run against a managed target.
    Load(LoadSpec),
    /// A capacity search against a managed target: the maximum sustainable throughput at
    /// the SLOs.
    Capacity(CapacitySpec),
    /// A bench target's work per second.
    WorkRate,
}

/// A load run (the options of `perfloop load`); absent options take `perfloop load`'s
/// defaults or the level's.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LoadSpec {
    /// The URL (a template: `{port}` and knobs may appear).
    pub url: String,
    /// Closed or open model.
    pub model: Model,
    /// Connections.
    pub connections: Option<u32>,
    /// Arrival rate in requests per second (open model only).
    pub rate: Option<f64>,
    /// Measured duration.
    pub duration: Option<Duration>,
    /// Warm-up before measuring.
    pub warmup: Option<Duration>,
    /// A named load level.
    pub level: Option<Level>,
    /// What each request sends.
    pub request: HttpRequest,
}

/// What each request of a workload sends. Paths are relative to the study file.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct HttpRequest {
    /// The method; `GET`, or `POST` when a body is given, if not written.
    pub method: Option<String>,
    /// Headers, each `Name: value`.
    pub headers: Vec<String>,
    /// The body, if any.
    pub body: Option<Body>,
    /// How long a request may take before it counts as an error.
    pub timeout: Option<Duration>,
    /// A scenario file, in place of the method and body: named, weighted requests to the
    /// target (left out of the canonical JSON when absent, so other studies keep their
    /// fingerprint).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scenario: Option<String>,
    /// HTTP/2 (`--http2`; left out of the canonical JSON when false).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub http2: bool,
    /// HTTP/2 streams per connection (`--streams`; left out when absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub streams: Option<u32>,
}

/// A request body.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Body {
    /// This text.
    Text(String),
    /// The content of this file.
    File(String),
    /// Each line of this file in turn, one per request (like `--body-lines`).
    Lines(String),
}

/// The load model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Model {
    /// Each connection sends its next request when the previous one completes.
    #[default]
    Closed,
    /// Requests arrive at a fixed rate whatever the responses.
    Open,
}

/// A named load level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// A short, light check.
    Smoke,
    /// The everyday level.
    Medium,
    /// A heavier run.
    Large,
    /// As hard as the generator goes.
    Extreme,
}

/// A capacity search (the options of `perfloop capacity`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CapacitySpec {
    /// The URL (a template).
    pub url: String,
    /// The SLOs a step must meet, e.g. `p99<100ms` (validated with
    /// [`perfloop_stats::slo::Slo::parse`]).
    pub slo: Vec<String>,
    /// The first step's rate.
    pub start_rate: Option<f64>,
    /// The highest rate tried.
    pub max_rate: Option<f64>,
    /// The duration of each step.
    pub step_duration: Option<Duration>,
    /// Connections.
    pub connections: Option<u32>,
    /// What each request sends.
    pub request: HttpRequest,
}

/// What a study optimises, over the metrics a study measures
/// ([`STUDY_METRICS`](super::STUDY_METRICS)). [`Objective::score`] turns it into a value to
/// maximise.
#[derive(Debug, Clone, PartialEq)]
pub enum Objective {
    /// Maximise one metric.
    Maximize(Metric),
    /// Minimise one metric.
    Minimize(Metric),
    /// Maximise the weighted sum of metrics (negative weights penalise).
    Weighted(BTreeMap<Metric, f64>),
}

impl Objective {
    /// The score to maximise, from the value of each metric.
    #[must_use]
    pub fn score(&self, value: impl Fn(Metric) -> f64) -> f64 {
        match self {
            Self::Maximize(m) => value(*m),
            Self::Minimize(m) => -value(*m),
            Self::Weighted(weights) => weights.iter().map(|(m, w)| w * value(*m)).sum(),
        }
    }

    /// Whether larger values of the objective are better (a weighted score is maximised).
    #[must_use]
    pub fn maximizes(&self) -> bool {
        !matches!(self, Self::Minimize(_))
    }
}

impl Study {
    /// The unit of the objective's values, for a person: `req/s` (`/s` for a bench
    /// target's work rate), `ms`, `(fraction)`, `cores`, `MiB`, or `score` for a weighted
    /// objective.
    #[must_use]
    pub fn objective_unit(&self) -> &'static str {
        let metric = match &self.objective {
            Objective::Maximize(m) | Objective::Minimize(m) => *m,
            Objective::Weighted(_) => return "score",
        };
        match metric {
            Metric::Throughput if matches!(self.target, Target::Bench { .. }) => "/s",
            Metric::ErrorRate => "(fraction)",
            other => other.unit(),
        }
    }
}

/// How configurations are chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SamplerKind {
    /// Tree-structured Parzen Estimator ([`crate::TpeSampler`]).
    #[default]
    Tpe,
    /// The shuffled exhaustive grid ([`crate::GridSampler`]).
    Grid,
    /// Uniform random draws ([`crate::RandomSampler`]).
    Random,
}

/// The study's budget: it stops at whichever limit comes first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Budget {
    /// The maximum number of trials.
    pub trials: Option<u32>,
    /// The maximum wall-clock time.
    pub time: Option<Duration>,
    /// Measurements per trial.
    pub repeats: u32,
    /// The sampler.
    pub sampler: SamplerKind,
    /// The sampler's seed.
    pub seed: u64,
    /// How many of the best configurations are re-measured against the baseline before a
    /// winner is declared (0: none, the study only explores).
    pub finalists: u32,
    /// Rounds of that re-measurement: each measures the baseline and every finalist once.
    pub confirm_rounds: u32,
    /// The baseline is measured again after every this many exploration trials.
    pub baseline_every: u32,
}
