//! The record of a command benchmark (schema `perfloop.bench.v1`, committed in
//! `schema/perfloop.bench.v1.json`): per parameter combination, the wall-time statistics,
//! mean CPU times, the peak RSS, the work rate and the warnings.
//!
//! Times are in seconds, memory in bytes, work rates in units of work per second. The
//! statistics of the measured runs ([`BenchRun`]) are taken in `build.rs`
//! ([`BenchResult::build`], [`ShellStartup::of`]); `perfloop-target` runs the command and
//! measures it.

mod build;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use self::build::BenchRun;

/// The schema identifier written in every report.
pub const BENCH_SCHEMA: &str = "perfloop.bench.v1";

/// A whole benchmark: every parameter combination.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BenchReport {
    /// Always [`BENCH_SCHEMA`].
    pub schema: String,
    /// The command template.
    pub command: String,
    /// How the command was run.
    pub shell: Shell,
    /// Measured runs per combination.
    pub runs: usize,
    /// Warm-up runs per combination (not measured).
    pub warmup: usize,
    /// The work regex, if work was counted.
    pub work_regex: Option<String>,
    /// The unit of work, e.g. `records`.
    pub work_unit: String,
    /// The shell's start-up, subtracted from every measured run (`null` without a shell).
    #[serde(default)]
    pub shell_startup: Option<ShellStartup>,
    /// One result per parameter combination, in run order.
    pub results: Vec<BenchResult>,
}

/// How a benchmarked command is run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Shell {
    /// `sh -c '<filled template>'`.
    #[default]
    Sh,
    /// The template split into words (shell quoting rules), the program run directly.
    None,
}

/// The statistics of one measured quantity over the runs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SampleStats {
    /// Mean.
    pub mean: f64,
    /// Median.
    pub median: f64,
    /// Sample standard deviation (`None` for one run).
    pub std_dev: Option<f64>,
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
    /// Lower bound of the 95 % confidence interval of the mean (Student's t).
    pub ci95_low: Option<f64>,
    /// Upper bound of the 95 % confidence interval of the mean.
    pub ci95_high: Option<f64>,
    /// Values with a modified Z-score above 3.5.
    pub outliers: usize,
}

/// The start-up of the shell that runs each command: runs of `sh -c ''` measured before the
/// benchmark, whose means are subtracted from every measured run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShellStartup {
    /// The command measured.
    pub command: String,
    /// How many times it was run.
    pub runs: usize,
    /// Wall time of those runs, in seconds.
    pub wall_s: SampleStats,
    /// Mean user CPU time, in seconds.
    pub user_s_mean: f64,
    /// Mean system CPU time, in seconds.
    pub sys_s_mean: f64,
}

/// A warning about a combination's figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Warning {
    /// `non_zero_exit`, `fast_runs`, `slow_first_run` or `outliers`.
    pub kind: String,
    /// What it means, for a person.
    pub message: String,
}

/// The result of one parameter combination.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BenchResult {
    /// The command as run.
    pub command: String,
    /// The parameter values of this combination.
    pub params: BTreeMap<String, String>,
    /// Measured runs.
    pub runs: usize,
    /// Wall time per run, in seconds.
    pub wall_s: SampleStats,
    /// Mean user CPU time per run, in seconds (the process and the descendants it waited
    /// for).
    pub user_s_mean: f64,
    /// Mean system CPU time per run, in seconds.
    pub sys_s_mean: f64,
    /// The largest peak RSS of any run, in bytes (largest single process).
    pub peak_rss_bytes_max: u64,
    /// Mean work reported per run, if a work regex was given.
    pub work_mean: Option<f64>,
    /// Work per second per run, if a work regex was given.
    pub work_per_s: Option<SampleStats>,
    /// Runs that exited with a non-zero status (only when failures are ignored).
    pub failed_runs: usize,
    /// Wall time of every run, in run order, in seconds.
    pub times_s: Vec<f64>,
    /// The status of every run as a shell reports it (the code, or 128 + the signal).
    pub exit_codes: Vec<i32>,
    /// Warnings about these figures.
    pub warnings: Vec<Warning>,
}
