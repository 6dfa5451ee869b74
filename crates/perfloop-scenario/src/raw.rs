//! The scenario file as written: serde structures over TOML that refuse unknown fields
//! (a typo is an error with its line, never a silent default) and keep the span of every
//! value, so that validation can point at its line and column.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

/// The whole file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawScenario {
    /// Headers sent with every request (`Name: value`); a request's own header of the same
    /// name wins.
    #[serde(default)]
    pub(crate) headers: Vec<Spanned<String>>,
    /// Closed model: the pause between a connection's requests, `100ms` or `50ms..150ms`.
    pub(crate) think_time: Option<Spanned<String>>,
    /// The seed of the random choices (feeder rows taken at random, random numbers, think
    /// time).
    pub(crate) seed: Option<u64>,
    /// CSV files whose columns are placeholders.
    #[serde(default, rename = "feeder")]
    pub(crate) feeders: Vec<Spanned<RawFeeder>>,
    /// Counters, by placeholder name.
    #[serde(default)]
    pub(crate) sequence: BTreeMap<String, Spanned<RawSequence>>,
    /// Random whole numbers, by placeholder name.
    #[serde(default)]
    pub(crate) random: BTreeMap<String, Spanned<RawRandom>>,
    /// Alert rules checked each second of a run of this scenario, as written.
    #[serde(default)]
    pub(crate) alerts: Vec<Spanned<String>>,
    /// The requests.
    #[serde(rename = "request")]
    pub(crate) requests: Spanned<Vec<Spanned<RawRequest>>>,
}

/// How a feeder's rows are taken.
#[derive(Deserialize, Debug, Clone, Copy, Default, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Order {
    /// Each row in turn, from the first, starting again after the last.
    #[default]
    Sequential,
    /// A row chosen at random for each request.
    Random,
}

/// `[[feeder]]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFeeder {
    /// The CSV file, relative to the scenario file; its first line names the columns.
    pub(crate) file: Spanned<String>,
    /// How rows are taken.
    #[serde(default)]
    pub(crate) order: Order,
}

/// `[sequence.NAME]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSequence {
    /// The first value.
    #[serde(default)]
    pub(crate) start: i64,
    /// The difference between two values.
    #[serde(default = "one")]
    pub(crate) step: i64,
}

fn one() -> i64 {
    1
}

/// `[random.NAME]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRandom {
    /// The smallest value.
    pub(crate) min: i64,
    /// The largest value (inclusive).
    pub(crate) max: i64,
}

/// `[[request]]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRequest {
    /// The request's name in reports and SLOs.
    pub(crate) name: Spanned<String>,
    /// The method; default GET, or POST with a body.
    pub(crate) method: Option<Spanned<String>>,
    /// Path and query, from `/`.
    pub(crate) path: Option<Spanned<String>>,
    /// A full URL on the run's target (same scheme, host and port).
    pub(crate) url: Option<Spanned<String>>,
    /// Headers, `Name: value`.
    #[serde(default)]
    pub(crate) headers: Vec<Spanned<String>>,
    /// The body.
    pub(crate) body: Option<Spanned<String>>,
    /// The body from a file, relative to the scenario file (templated as well).
    pub(crate) body_file: Option<Spanned<String>>,
    /// The request's share of the mix, against the other weights; default 1.
    pub(crate) weight: Option<Spanned<u32>>,
}
