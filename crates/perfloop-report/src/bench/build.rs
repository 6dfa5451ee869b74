//! The statistics of a benchmark's measured runs: a combination's [`BenchResult`] and the
//! shell's start-up ([`ShellStartup`]), with the summaries, intervals, outliers and
//! warnings of `perfloop_stats::sample`.

use std::collections::BTreeMap;
use std::time::Duration;

use perfloop_stats::sample::{BenchWarning, Summary, bench_warnings, outlier_indices};

use super::{BenchResult, SampleStats, ShellStartup, Warning};

/// One measured run of a benchmarked command, as the record summarises it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BenchRun {
    /// Wall-clock time.
    pub wall: Duration,
    /// User CPU time of the process and the descendants it waited for.
    pub user: Duration,
    /// System CPU time of the process and the descendants it waited for.
    pub sys: Duration,
    /// Peak resident set size of the largest of those processes, in bytes.
    pub peak_rss_bytes: u64,
    /// The status as a shell reports it: the exit code, or 128 + the signal; 0 is success.
    pub exit_code: i32,
    /// The work the run reported, if a work regex was given.
    pub work: Option<f64>,
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

impl ShellStartup {
    /// The start-up from the runs of the empty command; `None` when there are none.
    pub fn of(runs: &[BenchRun]) -> Option<ShellStartup> {
        let times: Vec<f64> = runs.iter().map(|r| r.wall.as_secs_f64()).collect();
        let n = runs.len() as f64;
        let mean = |f: &dyn Fn(&BenchRun) -> f64| runs.iter().map(f).sum::<f64>() / n;
        Some(ShellStartup {
            command: "sh -c ''".to_string(),
            runs: runs.len(),
            wall_s: SampleStats::of(&times)?,
            user_s_mean: mean(&|r| r.user.as_secs_f64()),
            sys_s_mean: mean(&|r| r.sys.as_secs_f64()),
        })
    }
}

impl From<&BenchWarning> for Warning {
    fn from(w: &BenchWarning) -> Warning {
        Warning {
            kind: w.kind().to_string(),
            message: w.to_string(),
        }
    }
}

impl BenchResult {
    /// Summarises the measured runs of one combination; `None` when there are none.
    pub fn build(
        command: &str,
        params: &BTreeMap<String, String>,
        runs: &[BenchRun],
    ) -> Option<BenchResult> {
        let times: Vec<f64> = runs.iter().map(|r| r.wall.as_secs_f64()).collect();
        let n = runs.len() as f64;
        let mean_of = |f: &dyn Fn(&BenchRun) -> f64| runs.iter().map(f).sum::<f64>() / n;
        let work: Vec<f64> = runs.iter().filter_map(|r| r.work).collect();
        let rates: Vec<f64> = runs
            .iter()
            .filter_map(|r| {
                let wall = r.wall.as_secs_f64();
                r.work.filter(|_| wall > 0.0).map(|w| w / wall)
            })
            .collect();
        let failed_runs = runs.iter().filter(|r| r.exit_code != 0).count();
        Some(BenchResult {
            command: command.to_string(),
            params: params.clone(),
            runs: runs.len(),
            wall_s: SampleStats::of(&times)?,
            user_s_mean: mean_of(&|r| r.user.as_secs_f64()),
            sys_s_mean: mean_of(&|r| r.sys.as_secs_f64()),
            peak_rss_bytes_max: runs.iter().map(|r| r.peak_rss_bytes).max().unwrap_or(0),
            work_mean: perfloop_stats::sample::mean(&work),
            work_per_s: SampleStats::of(&rates),
            failed_runs,
            exit_codes: runs.iter().map(|r| r.exit_code).collect(),
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
