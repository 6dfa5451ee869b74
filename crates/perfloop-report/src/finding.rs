//! Findings: what the diagnosis concluded from the runs, with the figures that led to it
//! and the optimisation strategies it recommends.
//!
//! The types live here, beside the records they are written into; the rules that produce
//! them are in `perfloop-diagnose`.

use serde::{Deserialize, Serialize};

/// How much a finding matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing; nothing is wrong.
    Info,
    /// Limits performance or weakens the result.
    Warning,
    /// The bottleneck, or a reason not to trust the result.
    Critical,
}

impl Severity {
    /// The name written in reports.
    pub fn name(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

/// One figure that triggered a finding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Evidence {
    /// What the figure is, e.g. `target CPU, busiest thread`.
    pub label: String,
    /// The measured value.
    pub value: f64,
    /// Its unit, e.g. `%`, `ms`, `req/s`, `MiB/s`; empty for a plain number.
    pub unit: String,
    /// The step (or run) it was measured in, as an index into the record's steps; `None`
    /// when it is a figure over several.
    pub step: Option<usize>,
}

/// A strategy of the optimisation catalogue (seed `004_57728ef7ad85b9c6.txt`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StrategyRef {
    /// Section number in the catalogue, e.g. `4.2`.
    pub section: String,
    /// The section's title as written in the catalogue.
    pub name: String,
    /// The title in English.
    pub name_en: String,
}

/// What to try, and where the idea comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recommendation {
    /// The catalogue's strategy.
    pub strategy: StrategyRef,
    /// How it applies to what was measured.
    pub advice: String,
}

/// A diagnosis with its evidence and recommendations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Finding {
    /// The rule that produced it, a stable identifier such as `cpu_one_thread`.
    pub rule: String,
    /// How much it matters.
    pub severity: Severity,
    /// One line.
    pub title: String,
    /// What the figures show, in a sentence or two.
    pub summary: String,
    /// The figures that triggered it.
    pub evidence: Vec<Evidence>,
    /// What to try, most promising first; empty when there is nothing to change.
    pub recommendations: Vec<Recommendation>,
}
