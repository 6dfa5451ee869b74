//! What a recording amounts to: means, peaks and totals.
//!
//! Means are weighted by each sample's interval, so a mean CPU % is the CPU time over the
//! span divided by the span, whatever the length of the last, shorter sample. Target
//! means and peaks are taken over the samples in which the target was alive (at least one
//! process); host and generator figures over all samples. Totals are the exact sums of
//! the counters' changes, not rates multiplied back. A target figure no sample measured
//! (no target watched, or never seen alive) is `None`, not zero.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::proc::IoCounters;
use crate::sample::Sample;
use crate::series::Series;

/// Everything a [`crate::SamplerHandle`] recorded; goes into the run record as
/// `target: {samples: [...], summary: {...}}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Recording {
    /// One per interval, in time order.
    pub samples: Vec<Sample>,
    /// The scraped series that matched, empty without scraping.
    pub scraped: Vec<Series>,
    /// Means, peaks and totals.
    pub summary: Summary,
    /// What went wrong on the way (failed scrapes, unreadable files, the target's exit),
    /// each distinct message once with its count.
    pub errors: Vec<String>,
}

/// Means, peaks and totals of a recording. A target figure that was not measured is `None`
/// (`null` in JSON), never zero: every target figure is `None` when no target was watched
/// or no sample saw it alive.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// The watched pid, if any.
    pub target_pid: Option<u32>,
    /// When the target exited, seconds on the run's time axis; `None` if it outlived the
    /// recording.
    pub target_exited_at_s: Option<f64>,
    /// Number of samples.
    pub samples: u64,
    /// Time covered by the samples, seconds.
    pub duration_s: f64,
    /// The configured interval, seconds.
    pub interval_s: f64,
    /// CPUs online: 100 % of the machine is `cores` × 100 % of one core.
    pub cores: u32,
    /// Target CPU mean, % of one core.
    #[serde(default)]
    pub cpu_pct_mean: Option<f64>,
    /// Target CPU peak over one interval, % of one core.
    #[serde(default)]
    pub cpu_pct_max: Option<f64>,
    /// Target user CPU mean, % of one core.
    #[serde(default)]
    pub cpu_user_pct_mean: Option<f64>,
    /// Target system CPU mean, % of one core.
    #[serde(default)]
    pub cpu_sys_pct_mean: Option<f64>,
    /// Target CPU mean, % of the whole machine.
    #[serde(default)]
    pub cpu_machine_pct_mean: Option<f64>,
    /// The busiest target thread's CPU, mean over the samples, % of one core (each sample
    /// contributes its own busiest thread).
    #[serde(default)]
    pub top_thread_cpu_pct_mean: Option<f64>,
    /// The busiest target thread's CPU, peak over one interval, % of one core.
    #[serde(default)]
    pub top_thread_cpu_pct_max: Option<f64>,
    /// Target RSS peak, MiB.
    #[serde(default)]
    pub rss_max_mb: Option<f64>,
    /// Target RSS mean, MiB.
    #[serde(default)]
    pub rss_mean_mb: Option<f64>,
    /// Target threads peak.
    #[serde(default)]
    pub threads_max: Option<u64>,
    /// Target open descriptors peak.
    #[serde(default)]
    pub fds_max: Option<u64>,
    /// Processes in the target's tree, peak.
    #[serde(default)]
    pub processes_max: Option<u32>,
    /// Target voluntary context switches.
    #[serde(default)]
    pub ctx_voluntary_total: Option<u64>,
    /// Target involuntary context switches.
    #[serde(default)]
    pub ctx_involuntary_total: Option<u64>,
    /// Target bytes fetched from storage.
    #[serde(default)]
    pub read_bytes_total: Option<u64>,
    /// Target bytes sent to storage.
    #[serde(default)]
    pub write_bytes_total: Option<u64>,
    /// Target bytes through `read`-family calls (sockets and pipes included).
    #[serde(default)]
    pub rchar_total: Option<u64>,
    /// Target bytes through `write`-family calls.
    #[serde(default)]
    pub wchar_total: Option<u64>,
    /// Host CPU mean, % of the machine.
    pub host_cpu_pct_mean: f64,
    /// Host CPU peak over one interval, % of the machine.
    pub host_cpu_pct_max: f64,
    /// Host memory in use, peak, MiB.
    pub host_mem_used_max_mb: f64,
    /// Host memory, MiB.
    pub host_mem_total_mb: f64,
    /// The generator's (this process's) CPU mean, % of one core.
    pub generator_cpu_pct_mean: f64,
    /// The generator's CPU peak over one interval, % of one core.
    pub generator_cpu_pct_max: f64,
    /// The monitor's own threads' CPU (sampling and scraping) over the recording, % of
    /// one core; part of the generator's.
    pub monitor_cpu_pct: f64,
    /// Scrapes attempted.
    pub scrapes: u64,
    /// Scrapes that failed.
    pub scrape_failures: u64,
    /// Series the target exposed in the last successful scrape, kept or not.
    #[serde(default)]
    pub scrape_series_exposed: u64,
    /// Series the match expression kept (all of them without one).
    #[serde(default)]
    pub scrape_series_kept: u64,
}

impl Summary {
    /// Whether the target's figures were measured: a target was watched and at least one
    /// sample saw it alive.
    pub fn target_measured(&self) -> bool {
        self.cpu_pct_mean.is_some()
    }
}

/// The counters' changes summed over the recording.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Totals {
    pub ctx_voluntary: u64,
    pub ctx_involuntary: u64,
    pub io: IoCounters,
}

/// What the summary needs besides the samples.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RunFacts {
    pub target_pid: Option<u32>,
    pub target_exited_at_s: Option<f64>,
    pub interval: Duration,
    pub cores: u32,
    pub monitor_cpu: Duration,
    pub wall: Duration,
    pub scrapes: u64,
    pub scrape_failures: u64,
    pub scrape_series_exposed: u64,
    pub scrape_series_kept: u64,
}

/// Interval-weighted mean of `f` over `samples`; `None` when no sample has the figure.
fn mean<'a>(
    samples: impl Iterator<Item = &'a Sample>,
    f: impl Fn(&Sample) -> Option<f64>,
) -> Option<f64> {
    let (mut sum, mut weight) = (0.0, 0.0);
    for s in samples {
        if let Some(v) = f(s) {
            sum += v * s.interval_s;
            weight += s.interval_s;
        }
    }
    (weight > 0.0).then(|| sum / weight)
}

/// Interval-weighted mean of a figure every sample has; 0 when there are no samples.
fn mean_all<'a>(samples: impl Iterator<Item = &'a Sample>, f: impl Fn(&Sample) -> f64) -> f64 {
    mean(samples, |s| Some(f(s))).unwrap_or(0.0)
}

/// The largest value of `f`; `None` when no sample has the figure.
fn max_of<'a, T: PartialOrd + Copy>(
    samples: impl Iterator<Item = &'a Sample>,
    f: impl Fn(&Sample) -> Option<T>,
) -> Option<T> {
    samples.filter_map(f).fold(None, |top, v| match top {
        Some(t) if t >= v => Some(t),
        _ => Some(v),
    })
}

fn max_all<'a>(samples: impl Iterator<Item = &'a Sample>, f: impl Fn(&Sample) -> f64) -> f64 {
    samples.map(f).fold(0.0, f64::max)
}

impl Summary {
    pub(crate) fn compute(samples: &[Sample], totals: &Totals, facts: &RunFacts) -> Summary {
        let alive = || samples.iter().filter(|s| s.target_alive());
        let all = || samples.iter();
        let measured = facts.target_pid.is_some() && alive().next().is_some();
        let total = |v: u64| measured.then_some(v);
        let wall = facts.wall.as_secs_f64();
        Summary {
            target_pid: facts.target_pid,
            target_exited_at_s: facts.target_exited_at_s,
            samples: samples.len() as u64,
            duration_s: samples.iter().map(|s| s.interval_s).sum(),
            interval_s: facts.interval.as_secs_f64(),
            cores: facts.cores,
            cpu_pct_mean: mean(alive(), |s| s.cpu_pct),
            cpu_pct_max: max_of(alive(), |s| s.cpu_pct),
            cpu_user_pct_mean: mean(alive(), |s| s.cpu_user_pct),
            cpu_sys_pct_mean: mean(alive(), |s| s.cpu_sys_pct),
            cpu_machine_pct_mean: mean(alive(), |s| s.cpu_machine_pct),
            top_thread_cpu_pct_mean: mean(alive(), |s| s.top_thread_cpu_pct),
            top_thread_cpu_pct_max: max_of(alive(), |s| s.top_thread_cpu_pct),
            rss_max_mb: max_of(alive(), |s| s.rss_mb),
            rss_mean_mb: mean(alive(), |s| s.rss_mb),
            threads_max: max_of(alive(), |s| s.threads),
            fds_max: max_of(alive(), |s| s.fds),
            processes_max: max_of(alive(), |s| s.processes),
            ctx_voluntary_total: total(totals.ctx_voluntary),
            ctx_involuntary_total: total(totals.ctx_involuntary),
            read_bytes_total: total(totals.io.read_bytes),
            write_bytes_total: total(totals.io.write_bytes),
            rchar_total: total(totals.io.rchar),
            wchar_total: total(totals.io.wchar),
            host_cpu_pct_mean: mean_all(all(), |s| s.host_cpu_pct),
            host_cpu_pct_max: max_all(all(), |s| s.host_cpu_pct),
            host_mem_used_max_mb: max_all(all(), |s| s.host_mem_used_mb),
            host_mem_total_mb: max_all(all(), |s| s.host_mem_total_mb),
            generator_cpu_pct_mean: mean_all(all(), |s| s.generator_cpu_pct),
            generator_cpu_pct_max: max_all(all(), |s| s.generator_cpu_pct),
            monitor_cpu_pct: if wall > 0.0 {
                facts.monitor_cpu.as_secs_f64() / wall * 100.0
            } else {
                0.0
            },
            scrapes: facts.scrapes,
            scrape_failures: facts.scrape_failures,
            scrape_series_exposed: facts.scrape_series_exposed,
            scrape_series_kept: facts.scrape_series_kept,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn s(interval_s: f64, cpu_pct: f64, processes: u32) -> Sample {
        let alive = processes > 0;
        Sample {
            interval_s,
            cpu_pct: alive.then_some(cpu_pct),
            processes: Some(processes),
            rss_mb: alive.then_some(cpu_pct),
            host_cpu_pct: cpu_pct,
            ..Sample::default()
        }
    }

    fn facts(target_pid: Option<u32>) -> RunFacts {
        RunFacts {
            target_pid,
            target_exited_at_s: target_pid.map(|_| 3.0),
            interval: Duration::from_secs(1),
            cores: 2,
            monitor_cpu: Duration::from_millis(10),
            wall: Duration::from_secs(2),
            scrapes: 0,
            scrape_failures: 0,
            scrape_series_exposed: 0,
            scrape_series_kept: 0,
        }
    }

    #[test]
    fn means_weigh_intervals_and_skip_a_dead_target() {
        let samples = [s(1.0, 100.0, 1), s(0.5, 40.0, 2), s(1.0, 0.0, 0)];
        let sum = Summary::compute(&samples, &Totals::default(), &facts(Some(1)));
        assert!((sum.cpu_pct_mean.unwrap() - 80.0).abs() < 1e-9);
        assert_eq!(sum.cpu_pct_max, Some(100.0));
        assert_eq!(sum.processes_max, Some(2));
        assert_eq!(sum.ctx_voluntary_total, Some(0));
        assert!(sum.target_measured());
        assert!((sum.host_cpu_pct_mean - 120.0 / 2.5).abs() < 1e-9);
        assert!((sum.duration_s - 2.5).abs() < 1e-9);
        assert!((sum.monitor_cpu_pct - 0.5).abs() < 1e-9);
        assert_eq!(sum.samples, 3);
    }

    #[test]
    fn without_a_target_its_figures_are_not_measured_rather_than_zero() {
        let host_only = Sample {
            interval_s: 1.0,
            host_cpu_pct: 50.0,
            ..Sample::default()
        };
        let sum = Summary::compute(&[host_only; 2], &Totals::default(), &facts(None));
        assert!(!sum.target_measured());
        assert_eq!(
            (
                sum.cpu_pct_mean,
                sum.rss_max_mb,
                sum.threads_max,
                sum.rchar_total
            ),
            (None, None, None, None)
        );
        assert_eq!(sum.host_cpu_pct_mean, 50.0);
        let json = serde_json::to_value(&sum).unwrap();
        assert!(json["cpu_pct_mean"].is_null() && json["threads_max"].is_null());
        let json = serde_json::to_value(host_only).unwrap();
        assert!(json["cpu_pct"].is_null() && json["rss_mb"].is_null() && json["threads"].is_null());
    }

    #[test]
    fn an_empty_recording_measured_nothing() {
        let sum = Summary::compute(&[], &Totals::default(), &facts(Some(7)));
        assert_eq!(sum.cpu_pct_mean, None);
        assert_eq!(sum.host_cpu_pct_mean, 0.0);
        assert_eq!(sum.samples, 0);
    }
}
