//! The compare record (schema `perfloop.compare.v1`, committed in
//! `schema/perfloop.compare.v1.json`): side B against side A (one run each, or several runs
//! pooled), metric by metric — throughput, p50, p90, p99, p99.9, error rate — each with
//! both figures, the change, its interval and a verdict, plus the runs' warnings.
//! [`CompareRecord::build`] (`build.rs`) makes it with `perfloop_stats::compare`'s bootstrap
//! over per-second intervals. `check.rs`: whether two sides should be compared at all
//! ([`incomparable`]) and thresholds as typed ([`percent`]).

mod build;
mod check;

pub use check::{BadPercent, Incomparable, incomparable, percent};

use serde::{Deserialize, Serialize};

use crate::run::{RunRecord, WarningKind};

/// The schema identifier written in every compare record.
pub const COMPARE_SCHEMA: &str = "perfloop.compare.v1";

/// Two sides compared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompareRecord {
    /// Always [`COMPARE_SCHEMA`].
    pub schema: String,
    /// The reference.
    pub a: CompareSide,
    /// What is compared with it.
    pub b: CompareSide,
    /// How the intervals were computed, in a sentence.
    pub method: String,
    /// The intervals' confidence level: 0.95, or 0.99 when a run had warnings.
    pub confidence: f64,
    /// The smallest relative change called `faster` or `slower`.
    pub threshold: f64,
    /// The same for p99 and p99.9, whose run-to-run noise is larger.
    pub tail_threshold: f64,
    /// Each metric compared.
    pub metrics: CompareMetrics,
    /// Every warning of every run compared.
    pub warnings: Vec<CompareWarning>,
    /// A run had warnings: its figures may not be what they seem, and the intervals are at
    /// 99 % instead of 95 %.
    pub weakened: bool,
    /// What limited the comparison, one sentence each.
    pub notes: Vec<String>,
}

impl CompareRecord {
    /// Whether any metric got worse beyond its interval and the threshold.
    pub fn any_slower(&self) -> bool {
        self.metrics
            .all()
            .iter()
            .any(|(_, m)| m.verdict == CompareVerdict::Slower)
    }
}

/// One side of a comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompareSide {
    /// The stored runs' ids, newest first as given.
    pub runs: Vec<i64>,
    /// How the side was chosen, e.g. `run 12` or `tag:branch=main (last 5)`.
    pub label: String,
    /// The target URL of its newest run (redacted as in the run record).
    pub target: String,
    /// When its newest run started, RFC 3339 UTC; empty for a side without runs.
    pub started_at: String,
}

/// Each metric compared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompareMetrics {
    /// Requests per second; higher is better.
    pub throughput: MetricChange,
    /// Median latency, ms.
    pub p50: MetricChange,
    /// 90th percentile latency, ms.
    pub p90: MetricChange,
    /// 99th percentile latency, ms.
    pub p99: MetricChange,
    /// 99.9th percentile latency, ms.
    pub p999: MetricChange,
    /// Errors over requests, 0 to 1.
    pub error_rate: MetricChange,
}

impl CompareMetrics {
    /// Every metric with its name (`throughput`, `p50`, …, `error_rate`), in order.
    pub fn all(&self) -> [(&'static str, &MetricChange); 6] {
        [
            ("throughput", &self.throughput),
            ("p50", &self.p50),
            ("p90", &self.p90),
            ("p99", &self.p99),
            ("p999", &self.p999),
            ("error_rate", &self.error_rate),
        ]
    }
}

/// One metric: both figures, the change and its interval, the verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricChange {
    /// Side A's figure (a single run's headline figure, or the pooled runs' figure);
    /// `null` when not measured.
    pub a: Option<f64>,
    /// Side B's figure; `null` when not measured.
    pub b: Option<f64>,
    /// `b / a − 1`; `null` when either figure is missing or `a` is 0.
    pub change: Option<f64>,
    /// Low end of the change's interval; `null` when there is none (too few seconds, `a`
    /// is 0).
    pub ci_low: Option<f64>,
    /// High end of the change's interval.
    pub ci_high: Option<f64>,
    /// Faster, slower or the same.
    pub verdict: CompareVerdict,
}

/// The verdict on one metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CompareVerdict {
    /// B is better: the interval excludes 0 and the change reaches the threshold.
    Faster,
    /// B is worse: the interval excludes 0 and the change reaches the threshold.
    Slower,
    /// No significant difference.
    Same,
}

impl CompareVerdict {
    /// The word written in the record.
    pub fn name(self) -> &'static str {
        match self {
            CompareVerdict::Faster => "faster",
            CompareVerdict::Slower => "slower",
            CompareVerdict::Same => "same",
        }
    }
}

/// Which side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SideName {
    /// The reference.
    A,
    /// What is compared with it.
    B,
}

/// A warning of one of the runs compared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompareWarning {
    /// The side of the run.
    pub side: SideName,
    /// The run's id.
    pub run: i64,
    /// The warning's kind, as in the run record.
    pub kind: WarningKind,
    /// The warning's sentence.
    pub message: String,
}

/// One side as given to [`CompareRecord::build`].
#[derive(Debug, Clone, PartialEq)]
pub struct CompareInput {
    /// How the side was chosen, e.g. `run 12`.
    pub label: String,
    /// The runs, each with its stored id, newest first.
    pub runs: Vec<(i64, RunRecord)>,
}
