//! What a recording amounts to: means, peaks and totals.
//!
//! Means are weighted by each sample's interval, so a mean CPU % is the CPU time over the
//! span divided by the span, whatever the length of the last, shorter sample. Target
//! means and peaks are taken over the samples in which the target was alive (at least one
//! process); host and generator figures over all samples. Totals are the exact sums of
//! the counters' changes, not rates multiplied back.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::proc::IoCounters;
use crate::sampler::Sample;
use crate::scrape::Series;

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

/// Means, peaks and totals of a recording. Target figures are zero when no target was
/// watched.
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
    pub cpu_pct_mean: f64,
    /// Target CPU peak over one interval, % of one core.
    pub cpu_pct_max: f64,
    /// Target user CPU mean, % of one core.
    pub cpu_user_pct_mean: f64,
    /// Target system CPU mean, % of one core.
    pub cpu_sys_pct_mean: f64,
    /// Target CPU mean, % of the whole machine.
    pub cpu_machine_pct_mean: f64,
    /// The busiest target thread's CPU, mean over the samples, % of one core (each sample
    /// contributes its own busiest thread).
    pub top_thread_cpu_pct_mean: f64,
    /// The busiest target thread's CPU, peak over one interval, % of one core.
    pub top_thread_cpu_pct_max: f64,
    /// Target RSS peak, MiB.
    pub rss_max_mb: f64,
    /// Target RSS mean, MiB.
    pub rss_mean_mb: f64,
    /// Target threads peak.
    pub threads_max: u64,
    /// Target open descriptors peak.
    pub fds_max: u64,
    /// Processes in the target's tree, peak.
    pub processes_max: u32,
    /// Target voluntary context switches.
    pub ctx_voluntary_total: u64,
    /// Target involuntary context switches.
    pub ctx_involuntary_total: u64,
    /// Target bytes fetched from storage.
    pub read_bytes_total: u64,
    /// Target bytes sent to storage.
    pub write_bytes_total: u64,
    /// Target bytes through `read`-family calls (sockets and pipes included).
    pub rchar_total: u64,
    /// Target bytes through `write`-family calls.
    pub wchar_total: u64,
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
}

/// Interval-weighted mean of `f` over `samples`; 0 when there are none.
fn mean<'a>(samples: impl Iterator<Item = &'a Sample>, f: impl Fn(&Sample) -> f64) -> f64 {
    let (mut sum, mut weight) = (0.0, 0.0);
    for s in samples {
        sum += f(s) * s.interval_s;
        weight += s.interval_s;
    }
    if weight > 0.0 { sum / weight } else { 0.0 }
}

fn max_f64<'a>(samples: impl Iterator<Item = &'a Sample>, f: impl Fn(&Sample) -> f64) -> f64 {
    samples.map(f).fold(0.0, f64::max)
}

impl Summary {
    pub(crate) fn compute(samples: &[Sample], totals: &Totals, facts: &RunFacts) -> Summary {
        let alive = || samples.iter().filter(|s| s.processes > 0);
        let all = || samples.iter();
        let wall = facts.wall.as_secs_f64();
        Summary {
            target_pid: facts.target_pid,
            target_exited_at_s: facts.target_exited_at_s,
            samples: samples.len() as u64,
            duration_s: samples.iter().map(|s| s.interval_s).sum(),
            interval_s: facts.interval.as_secs_f64(),
            cores: facts.cores,
            cpu_pct_mean: mean(alive(), |s| s.cpu_pct),
            cpu_pct_max: max_f64(alive(), |s| s.cpu_pct),
            cpu_user_pct_mean: mean(alive(), |s| s.cpu_user_pct),
            cpu_sys_pct_mean: mean(alive(), |s| s.cpu_sys_pct),
            cpu_machine_pct_mean: mean(alive(), |s| s.cpu_machine_pct),
            top_thread_cpu_pct_mean: mean(alive(), |s| s.top_thread_cpu_pct),
            top_thread_cpu_pct_max: max_f64(alive(), |s| s.top_thread_cpu_pct),
            rss_max_mb: max_f64(alive(), |s| s.rss_mb),
            rss_mean_mb: mean(alive(), |s| s.rss_mb),
            threads_max: alive().map(|s| s.threads).max().unwrap_or(0),
            fds_max: alive().map(|s| s.fds).max().unwrap_or(0),
            processes_max: alive().map(|s| s.processes).max().unwrap_or(0),
            ctx_voluntary_total: totals.ctx_voluntary,
            ctx_involuntary_total: totals.ctx_involuntary,
            read_bytes_total: totals.io.read_bytes,
            write_bytes_total: totals.io.write_bytes,
            rchar_total: totals.io.rchar,
            wchar_total: totals.io.wchar,
            host_cpu_pct_mean: mean(all(), |s| s.host_cpu_pct),
            host_cpu_pct_max: max_f64(all(), |s| s.host_cpu_pct),
            host_mem_used_max_mb: max_f64(all(), |s| s.host_mem_used_mb),
            host_mem_total_mb: max_f64(all(), |s| s.host_mem_total_mb),
            generator_cpu_pct_mean: mean(all(), |s| s.generator_cpu_pct),
            generator_cpu_pct_max: max_f64(all(), |s| s.generator_cpu_pct),
            monitor_cpu_pct: if wall > 0.0 {
                facts.monitor_cpu.as_secs_f64() / wall * 100.0
            } else {
                0.0
            },
            scrapes: facts.scrapes,
            scrape_failures: facts.scrape_failures,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn s(interval_s: f64, cpu_pct: f64, processes: u32) -> Sample {
        Sample {
            interval_s,
            cpu_pct,
            processes,
            rss_mb: cpu_pct,
            host_cpu_pct: cpu_pct,
            ..Sample::default()
        }
    }

    #[test]
    fn means_weigh_intervals_and_skip_a_dead_target() {
        let facts = RunFacts {
            target_pid: Some(1),
            target_exited_at_s: Some(3.0),
            interval: Duration::from_secs(1),
            cores: 2,
            monitor_cpu: Duration::from_millis(10),
            wall: Duration::from_secs(2),
            scrapes: 0,
            scrape_failures: 0,
        };
        let samples = [s(1.0, 100.0, 1), s(0.5, 40.0, 2), s(1.0, 0.0, 0)];
        let sum = Summary::compute(&samples, &Totals::default(), &facts);
        assert!((sum.cpu_pct_mean - 80.0).abs() < 1e-9);
        assert_eq!(sum.cpu_pct_max, 100.0);
        assert_eq!(sum.processes_max, 2);
        assert!((sum.host_cpu_pct_mean - 120.0 / 2.5).abs() < 1e-9);
        assert!((sum.duration_s - 2.5).abs() < 1e-9);
        assert!((sum.monitor_cpu_pct - 0.5).abs() < 1e-9);
        assert_eq!(sum.samples, 3);
    }

    #[test]
    fn an_empty_recording_is_all_zero() {
        let facts = RunFacts {
            target_pid: None,
            target_exited_at_s: None,
            interval: Duration::from_secs(1),
            cores: 1,
            monitor_cpu: Duration::ZERO,
            wall: Duration::ZERO,
            scrapes: 0,
            scrape_failures: 0,
        };
        let sum = Summary::compute(&[], &Totals::default(), &facts);
        assert_eq!(sum.cpu_pct_mean, 0.0);
        assert_eq!(sum.samples, 0);
    }
}
