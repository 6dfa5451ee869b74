//! The study record (schema `perfloop.study.v1`, committed in
//! `schema/perfloop.study.v1.json`): a tuning study's settings, every trial it measured
//! (exploration, the interleaved baseline and the confirmation rounds), the finalists
//! re-measured against the baseline, the best configuration with its gain and 95 %
//! confidence interval, and the importance of each knob.
//!
//! Objective values are in the objective's own unit, as the reader knows it: requests per
//! second for `maximize = "throughput"`, milliseconds for `minimize = "p99"`, the score for
//! a weighted objective. [`StudyObjective::direction`] says which way is better.
//!
//! The types of the record are here; [`StudyRecord::build`] (in `build.rs`) assembles one
//! from a study and its trials, with the conclusion of `perfloop_tune::conclude`. A trial's
//! role ([`TrialRole`]) and why a study ended ([`StudyEnding`]) are the tuning crate's own.

mod build;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use build::StudyInput;
pub use perfloop_tune::{StudyEnding, TrialRole};

/// The schema identifier written in every study record.
pub const STUDY_SCHEMA: &str = "perfloop.study.v1";

/// A tuning study and what it found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StudyRecord {
    /// Always [`STUDY_SCHEMA`].
    pub schema: String,
    /// The perfloop version that wrote the record.
    pub perfloop_version: String,
    /// The study's name (its key in the store).
    pub name: String,
    /// The fingerprint of the study file's content.
    pub fingerprint: String,
    /// When the study was created, RFC 3339 UTC.
    pub started_at: String,
    /// Time spent measuring, over every trial of every session, seconds.
    pub elapsed_s: f64,
    /// What was tuned.
    pub target: StudyTarget,
    /// How each trial was measured, for a person (`closed model, 64 connections, 10 s`).
    pub workload: String,
    /// What the study optimised.
    pub objective: StudyObjective,
    /// The constraints every trial was held to, as written.
    pub constraints: Vec<String>,
    /// The knobs and their defaults (the baseline).
    pub knobs: Vec<KnobInfo>,
    /// The budget and the sampler.
    pub budget: BudgetInfo,
    /// Every trial in the order measured.
    pub trials: Vec<TrialEntry>,
    /// The finalists re-measured against the baseline, best first.
    pub finalists: Vec<Finalist>,
    /// The conclusion; `None` when no trial completed.
    pub best: Option<Best>,
    /// How much of the objective's variation each knob explains, largest first.
    pub importance: Vec<KnobShare>,
    /// Why the study ended.
    pub ending: StudyEnding,
    /// Things the reader should know.
    pub warnings: Vec<String>,
}

/// The target of a study.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StudyTarget {
    /// `managed` (a server started per trial) or `bench` (a command run to completion).
    pub kind: String,
    /// The command template.
    pub command: String,
}

/// Which way is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Larger is better.
    Maximize,
    /// Smaller is better.
    Minimize,
}

/// What a study optimises.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StudyObjective {
    /// Which way is better.
    pub direction: Direction,
    /// For a person: `maximize throughput`, `minimize p99`, `maximize 1×throughput − 10×p99`.
    pub description: String,
    /// The unit of the objective's values (`req/s`, `ms`, `score`).
    pub unit: String,
}

/// A knob of the study.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KnobInfo {
    /// Its name.
    pub name: String,
    /// Its values, for a person (`int 1..32, log`, `one of hash, sort`, `bool`).
    pub domain: String,
    /// The target's default, part of the baseline.
    pub default: serde_json::Value,
    /// A categorical knob's values in the study file's order (empty for numbers and
    /// booleans): the order reports keep.
    #[serde(default)]
    pub choices: Vec<serde_json::Value>,
}

/// The budget and the sampler.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BudgetInfo {
    /// The most exploration trials (baseline measurements included).
    pub trials: Option<u32>,
    /// The most time spent measuring, seconds.
    pub time_s: Option<f64>,
    /// Measurements per trial, averaged.
    pub repeats: u32,
    /// Configurations re-measured against the baseline at the end.
    pub finalists: u32,
    /// Rounds of that re-measurement.
    pub confirm_rounds: u32,
    /// `tpe`, `grid` or `random`.
    pub sampler: String,
    /// The sampler's seed.
    pub seed: u64,
}

/// One trial.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrialEntry {
    /// Its number within the study, from 0 (never reused).
    pub number: u32,
    /// Why it ran.
    pub role: TrialRole,
    /// The confirmation round (baseline and finalists measured together), from 0.
    pub round: Option<u32>,
    /// The knob values.
    pub config: BTreeMap<String, serde_json::Value>,
    /// `complete`, `failed`, `violated` or `abandoned`.
    pub state: String,
    /// The objective measured (mean over the repeats); `None` unless complete.
    pub objective: Option<f64>,
    /// The best objective among the complete trials so far (explore and baseline only).
    pub best_so_far: Option<f64>,
    /// Every metric measured (means over the repeats): `throughput`, `p50`, `p90`, `p99`
    /// (ms), `error_rate` (fraction), `cpu` (cores), `rss_mb`.
    pub metrics: BTreeMap<String, f64>,
    /// Why it failed, violated a constraint or was abandoned.
    pub reason: Option<String>,
    /// Time it took, seconds (start of the target to its stop).
    pub duration_s: f64,
}

/// A finalist re-measured against the baseline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Finalist {
    /// The knob values.
    pub config: BTreeMap<String, serde_json::Value>,
    /// Its objective in exploration (the trial that made it a finalist).
    pub explored: f64,
    /// Its objective in each confirmation round; `None` where that measurement failed.
    pub rounds: Vec<Option<f64>>,
    /// The mean of its complete rounds.
    pub mean: Option<f64>,
    /// Its gain over the baseline of the same rounds.
    pub gain: Option<Gain>,
}

/// A measured change against the baseline, with its 95 % confidence interval.
///
/// For a single metric (maximize or minimize) the change is a ratio, the geometric mean of
/// the per-round ratios candidate ÷ baseline, and its interval comes from Student's t on
/// the logarithms of those ratios; `percent` is `(ratio − 1) × 100`, so a latency that falls
/// has a negative percent. For a weighted score it is the mean per-round difference with
/// Student's t on the differences, and `percent` is that difference over the baseline's
/// mean score (its magnitude).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Gain {
    /// `log_ratio` or `difference`.
    pub method: String,
    /// Paired rounds used.
    pub pairs: usize,
    /// The change in percent of the baseline.
    pub percent: f64,
    /// The 95 % interval of that change; `None` with fewer than 2 pairs.
    pub ci95_low_pct: Option<f64>,
    /// Upper end of the interval.
    pub ci95_high_pct: Option<f64>,
    /// Whether the interval lies wholly on the better side of no change.
    pub significant: bool,
}

/// The study's conclusion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Best {
    /// The configuration to use: the best finalist when its gain is significant, otherwise
    /// the defaults.
    pub config: BTreeMap<String, serde_json::Value>,
    /// Whether that configuration is the defaults.
    pub is_default: bool,
    /// The knobs whose value differs from the default.
    pub changed: Vec<String>,
    /// Its objective: the mean of its confirmation rounds (of its exploration trial when
    /// nothing was confirmed).
    pub objective: f64,
    /// The baseline's objective over the same rounds.
    pub baseline_objective: Option<f64>,
    /// Its gain over the baseline; `None` when nothing was paired.
    pub gain: Option<Gain>,
    /// The baseline's metrics (means over the confirmation rounds), for the before/after
    /// table.
    pub before: BTreeMap<String, f64>,
    /// The best configuration's metrics over the same rounds.
    pub after: BTreeMap<String, f64>,
    /// The best finalist that did not make it, when its gain was not significant: the
    /// configuration, so the reader can try it.
    pub runner_up: Option<BTreeMap<String, serde_json::Value>>,
}

/// A knob's share of the objective's variation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KnobShare {
    /// The knob.
    pub knob: String,
    /// Its share, 0 to 1; the shares sum to 1 (or all are 0).
    pub share: f64,
}
