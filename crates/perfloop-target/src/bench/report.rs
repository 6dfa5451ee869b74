//! The machine-readable result of a command benchmark (schema `perfloop.bench.v1`,
//! committed in `schema/perfloop.bench.v1.json`): per parameter combination, the wall-time
//! statistics, mean CPU times, the peak RSS, the work rate and the warnings.
//!
//! Times are in seconds, memory in bytes, work rates in units of work per second.

use std::collections::BTreeMap;
use std::time::Duration;

use perfloop_stats::sample::{BenchWarning, Summary, bench_warnings, outlier_indices};
use serde::{Deserialize, Serialize};

use super::Shell;
use super::exec::RunMeasurement;
use crate::template::Knobs;

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

impl SampleStats {
    /// The statistics of `values`, quantities that cannot be negative (times, rates): the
    /// interval's lower bound is cut at zero. `None` if empty or not all finite.
    pub fn of(values: &[f64]) -> Option<SampleStats> {
        let s = Summary::of(values)?;
        Some(SampleStats {
            mean: s.mean,
            median: s.median,
            std_dev: s.std_dev,
            min: s.min,
            max: s.max,
            ci95_low: s.ci95.map(|c| c.low.max(0.0)),
            ci95_high: s.ci95.map(|c| c.high),
            outliers: outlier_indices(values).len(),
        })
    }
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

impl ShellStartup {
    /// The start-up from the runs of the empty command; `None` when there are none.
    pub(crate) fn of(runs: &[RunMeasurement]) -> Option<ShellStartup> {
        let times: Vec<f64> = runs.iter().map(|m| m.wall.as_secs_f64()).collect();
        let n = runs.len() as f64;
        let mean = |f: &dyn Fn(&RunMeasurement) -> f64| runs.iter().map(f).sum::<f64>() / n;
        Some(ShellStartup {
            command: "sh -c ''".to_string(),
            runs: runs.len(),
            wall_s: SampleStats::of(&times)?,
            user_s_mean: mean(&|m| m.user.as_secs_f64()),
            sys_s_mean: mean(&|m| m.sys.as_secs_f64()),
        })
    }

    /// Takes the start-up out of one run's times (a difference below zero is zero).
    pub(crate) fn subtract(&self, m: &mut RunMeasurement) {
        let less = |d: Duration, s: f64| d.saturating_sub(Duration::from_secs_f64(s.max(0.0)));
        m.wall = less(m.wall, self.wall_s.mean);
        m.user = less(m.user, self.user_s_mean);
        m.sys = less(m.sys, self.sys_s_mean);
    }
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

impl From<&BenchWarning> for Warning {
    fn from(w: &BenchWarning) -> Warning {
        Warning {
            kind: w.kind().to_string(),
            message: w.to_string(),
        }
    }
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

/// One measured run and the work it reported.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct MeasuredRun {
    pub measurement: RunMeasurement,
    pub work: Option<f64>,
}

impl BenchResult {
    /// Summarises the measured runs of one combination; `None` when there are none.
    pub(crate) fn build(
        command: &str,
        params: &Knobs,
        runs: &[MeasuredRun],
    ) -> Option<BenchResult> {
        let times: Vec<f64> = runs
            .iter()
            .map(|r| r.measurement.wall.as_secs_f64())
            .collect();
        let n = runs.len() as f64;
        let mean_of = |f: &dyn Fn(&RunMeasurement) -> f64| {
            runs.iter().map(|r| f(&r.measurement)).sum::<f64>() / n
        };
        let work: Vec<f64> = runs.iter().filter_map(|r| r.work).collect();
        let rates: Vec<f64> = runs
            .iter()
            .filter_map(|r| {
                let wall = r.measurement.wall.as_secs_f64();
                r.work.filter(|_| wall > 0.0).map(|w| w / wall)
            })
            .collect();
        let failed_runs = runs
            .iter()
            .filter(|r| !r.measurement.exit.success())
            .count();
        Some(BenchResult {
            command: command.to_string(),
            params: params.clone(),
            runs: runs.len(),
            wall_s: SampleStats::of(&times)?,
            user_s_mean: mean_of(&|m| m.user.as_secs_f64()),
            sys_s_mean: mean_of(&|m| m.sys.as_secs_f64()),
            peak_rss_bytes_max: runs
                .iter()
                .map(|r| r.measurement.peak_rss_bytes)
                .max()
                .unwrap_or(0),
            work_mean: perfloop_stats::sample::mean(&work),
            work_per_s: SampleStats::of(&rates),
            failed_runs,
            exit_codes: runs
                .iter()
                .map(|r| r.measurement.exit.shell_code())
                .collect(),
            warnings: bench_warnings(&times, failed_runs)
                .iter()
                .map(Warning::from)
                .collect(),
            times_s: times,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn no_interval_reaches_below_zero() {
        // Two rates far apart: the t interval of their mean (t = 12.7 for one degree of
        // freedom) reaches far below zero, which no rate can be.
        let s = SampleStats::of(&[1.0, 100.0]).unwrap();
        assert_eq!(s.ci95_low, Some(0.0));
        assert!(s.ci95_high.unwrap() > 600.0, "{s:?}");
        let s = SampleStats::of(&[10.0, 11.0, 12.0]).unwrap();
        assert!(s.ci95_low.unwrap() > 0.0, "{s:?}");
    }
}
