//! The sampling thread: every interval, one [`Sample`] of the target's process tree, the
//! host and this process.
//!
//! Method, for an interval of wall time `Δt` (measured with the monotonic clock between
//! the starts of two readings):
//! - target CPU % of one core = Δticks / (Δt × `CLK_TCK`) × 100, with Δticks the tree's
//!   user (or system, or both) clock ticks over the interval (see `tree` for processes
//!   that start and end); % of the machine = that / online CPUs. With the usual 100 ticks
//!   per second one tick is 10 ms, so at a 100 ms interval a single sample moves in steps
//!   of 10 % of a core; means over many samples are exact to a tick over the whole span;
//! - busiest thread % of one core = Δt_thread / Δt × 100, with Δt_thread the largest
//!   change of one thread's CPU time (user + system) over the interval, over the threads of
//!   every process of the tree (see `tree` for threads that start and end). The time of a
//!   thread of a multi-threaded process is its run time in nanoseconds from
//!   `/proc/PID/task/TID/schedstat`, the same total the kernel splits into that thread's
//!   `utime` and `stime` (fields 14 and 15 of its `stat`), but not rounded down to a clock
//!   tick (`task/TID/stat` is read instead where the kernel keeps no scheduler
//!   statistics). A single-threaded process's thread is the process: its `utime + stime`,
//!   in ticks as above. The kernel brings a running thread's time up to date at each
//!   scheduler tick, so one sample of a thread that never stops may read a little above
//!   100 %;
//! - rates (context switches, bytes) = Δcounter / Δt;
//! - host CPU % = Δbusy / Δtotal ticks of `/proc/stat` × 100 (of the whole machine);
//!   host memory used = `MemTotal − MemAvailable`;
//! - generator CPU % = Δ(user + system time of this process, `getrusage`) / Δt × 100:
//!   the whole perfloop process (load engine and monitor alike), as % of one core.
//!
//! Megabytes are MiB (2^20 bytes). The thread sleeps in `recv_timeout` on a stop channel,
//! so [`SamplerHandle::stop`] returns at once; a last, shorter sample is taken then if at
//! least [`MIN_INTERVAL`](crate::MIN_INTERVAL) has passed since the previous one. Ticks
//! lie on a fixed grid from the start; one missed (a stalled machine) is skipped, not
//! caught up.

use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::errors::ErrorLog;
use crate::own_cpu::{ProcessCpu, thread_cpu};
use crate::proc::{self, HostCpu, ProcReader, TreeSnapshot};
use crate::sample::Sample;
use crate::scrape::{self, ScrapeConfig, ScrapeOutcome};
use crate::summary::{Recording, RunFacts, Summary, Totals};
use crate::time_axis::seconds_since;
use crate::tree::TreeTracker;
use crate::{DEFAULT_INTERVAL, MIN_INTERVAL, MonitorError};

const MIB: f64 = 1024.0 * 1024.0;

/// What to watch and how often.
#[derive(Debug, Clone)]
pub struct SamplerConfig {
    /// The root of the target's process tree; `None` watches only the host and this
    /// process.
    pub pid: Option<u32>,
    /// Time between samples; at least [`MIN_INTERVAL`](crate::MIN_INTERVAL).
    pub interval: Duration,
    /// The instant `t_s = 0` of the run's time axis, shared with the load engine.
    pub origin: Instant,
    /// The target's Prometheus endpoint, scraped every interval.
    pub scrape: Option<ScrapeConfig>,
}

impl SamplerConfig {
    /// Host and generator only, every [`DEFAULT_INTERVAL`](crate::DEFAULT_INTERVAL).
    pub fn new(origin: Instant) -> SamplerConfig {
        SamplerConfig {
            pid: None,
            interval: DEFAULT_INTERVAL,
            origin,
            scrape: None,
        }
    }
}

/// Starts monitoring; see [`Sampler::start`].
#[derive(Debug)]
pub struct Sampler;

impl Sampler {
    /// Validates `config`, takes the baseline readings and starts the sampling thread
    /// (and the scrape thread when asked). Fails on an interval below
    /// [`MIN_INTERVAL`](crate::MIN_INTERVAL) or a pid that is not a live process.
    pub fn start(config: SamplerConfig) -> Result<SamplerHandle, MonitorError> {
        let SamplerConfig {
            pid,
            interval,
            origin,
            scrape,
        } = config;
        if interval < MIN_INTERVAL {
            return Err(MonitorError::IntervalTooShort(interval));
        }
        if let Some(pid) = pid {
            if !proc::pid_exists(pid) {
                return Err(MonitorError::NoSuchProcess(pid));
            }
        }
        let latest = Arc::new(Mutex::new(None));
        let state = SamplerState::baseline(pid, origin, Arc::clone(&latest))?;
        let (stop_tx, stop_rx) = mpsc::channel();
        let sampler = std::thread::Builder::new()
            .name("perfloop-monitor".into())
            .spawn(move || state.run(interval, &stop_rx))
            .map_err(MonitorError::Thread)?;
        let scraper = match scrape {
            Some(scrape) => {
                let (tx, rx) = mpsc::channel();
                let handle = std::thread::Builder::new()
                    .name("perfloop-scrape".into())
                    .spawn(move || scrape::run(&scrape, interval, origin, &rx));
                match handle {
                    Ok(h) => Some((tx, h)),
                    Err(e) => {
                        let _ = stop_tx.send(());
                        let _ = sampler.join();
                        return Err(MonitorError::Thread(e));
                    }
                }
            }
            None => None,
        };
        Ok(SamplerHandle {
            stop_tx,
            sampler,
            scraper,
            latest,
            pid,
            interval,
            started: Instant::now(),
        })
    }
}

/// A running monitor. Dropping it stops the threads without waiting for them.
#[derive(Debug)]
pub struct SamplerHandle {
    stop_tx: Sender<()>,
    sampler: JoinHandle<SamplerOutcome>,
    scraper: Option<(Sender<()>, JoinHandle<ScrapeOutcome>)>,
    latest: Arc<Mutex<Option<Sample>>>,
    pid: Option<u32>,
    interval: Duration,
    started: Instant,
}

impl SamplerHandle {
    /// The most recent sample, for live display; `None` before the first interval ends.
    pub fn latest(&self) -> Option<Sample> {
        *self.latest.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Stops sampling and scraping (promptly: neither waits for its next tick) and returns
    /// what was recorded.
    pub fn stop(self) -> Recording {
        let _ = self.stop_tx.send(());
        if let Some((tx, _)) = &self.scraper {
            let _ = tx.send(());
        }
        let wall = self.started.elapsed();
        let mut errors = ErrorLog::default();
        let sampled = self.sampler.join().unwrap_or_else(|_| {
            errors.note("the sampling thread failed; its samples are lost".into());
            SamplerOutcome::default()
        });
        let scraped = match self.scraper {
            Some((_, h)) => h.join().unwrap_or_else(|_| {
                errors.note("the scrape thread failed; its series are lost".into());
                ScrapeOutcome::default()
            }),
            None => ScrapeOutcome::default(),
        };
        let facts = RunFacts {
            target_pid: self.pid,
            target_exited_at_s: sampled.exited_at_s,
            interval: self.interval,
            cores: sampled.cores,
            monitor_cpu: sampled.cpu + scraped.cpu,
            wall,
            scrapes: scraped.scrapes,
            scrape_failures: scraped.failures,
            scrape_series_exposed: scraped.exposed,
            scrape_series_kept: scraped.series.len() as u64,
        };
        let summary = Summary::compute(&sampled.samples, &sampled.totals, &facts);
        let mut log = sampled.errors;
        log.extend(scraped.errors);
        log.extend(errors);
        Recording {
            samples: sampled.samples,
            scraped: scraped.series,
            summary,
            errors: log.into_lines(),
        }
    }
}

/// What the sampling thread hands back.
#[derive(Debug, Default)]
struct SamplerOutcome {
    samples: Vec<Sample>,
    totals: Totals,
    errors: ErrorLog,
    exited_at_s: Option<f64>,
    cores: u32,
    cpu: Duration,
}

/// The sampling thread's readings between ticks.
struct SamplerState {
    reader: ProcReader,
    origin: Instant,
    pid: Option<u32>,
    /// The root's start time, which tells it from a later process given the same pid.
    root_start: Option<u64>,
    tracker: TreeTracker,
    host: Option<HostCpu>,
    generator: Duration,
    last: Instant,
    cores: u32,
    out: SamplerOutcome,
    latest: Arc<Mutex<Option<Sample>>>,
}

impl SamplerState {
    /// The first readings, against which the first interval is measured.
    fn baseline(
        pid: Option<u32>,
        origin: Instant,
        latest: Arc<Mutex<Option<Sample>>>,
    ) -> Result<SamplerState, MonitorError> {
        let mut reader = ProcReader::new()?;
        let mut tracker = TreeTracker::default();
        let last = Instant::now();
        let scan_ticks = reader.boot_ticks();
        let mut root_start = None;
        if let Some(pid) = pid {
            let tree = reader.read_tree(pid);
            let root = tree
                .processes
                .first()
                .ok_or(MonitorError::NoSuchProcess(pid))?;
            root_start = Some(root.stat.start_time);
            tracker.observe(&tree, scan_ticks);
        }
        let mut out = SamplerOutcome {
            cores: proc::online_cpus(),
            ..SamplerOutcome::default()
        };
        let host = match reader.host_cpu() {
            Ok(h) => Some(h),
            Err(e) => {
                out.errors.note(format!("host CPU: {e}"));
                None
            }
        };
        Ok(SamplerState {
            reader,
            origin,
            pid,
            root_start,
            tracker,
            host,
            generator: ProcessCpu::now().total(),
            last,
            cores: out.cores,
            out,
            latest,
        })
    }

    fn run(mut self, interval: Duration, stop: &Receiver<()>) -> SamplerOutcome {
        let cpu0 = thread_cpu();
        let start = self.last;
        let mut tick: u32 = 1;
        loop {
            let now = Instant::now();
            let mut next = start + interval * tick;
            while next <= now {
                tick = tick.saturating_add(1);
                next = start + interval * tick;
            }
            match stop.recv_timeout(next - now) {
                Err(RecvTimeoutError::Timeout) => self.sample(),
                Ok(()) | Err(RecvTimeoutError::Disconnected) => {
                    if self.last.elapsed() >= MIN_INTERVAL {
                        self.sample();
                    }
                    break;
                }
            }
        }
        self.out.cpu = thread_cpu().saturating_sub(cpu0);
        self.out
    }

    fn sample(&mut self) {
        let now = Instant::now();
        let dt = now.duration_since(self.last).as_secs_f64().max(1e-9);
        self.last = now;
        let t_s = seconds_since(self.origin, now);
        let scan_ticks = self.reader.boot_ticks();
        let tree = self.read_target(t_s);
        let d = self.tracker.observe(&tree, scan_ticks);
        for (pid, file) in &tree.denied {
            self.out.errors.note(format!(
                "/proc/{pid}/{file} of a target process is not readable (permission \
                 denied); its {} are left out",
                match *file {
                    "io" => "I/O bytes",
                    "fd" => "open descriptors",
                    "status" => "context switches",
                    _ => "per-thread CPU times",
                }
            ));
        }
        let totals = &mut self.out.totals;
        totals.ctx_voluntary += d.ctx_voluntary;
        totals.ctx_involuntary += d.ctx_involuntary;
        totals.io = totals.io + d.io;

        // The target's figures only while it is watched and alive: no process, no figure.
        let alive = d.processes > 0;
        let measured = |v: f64| alive.then_some(v);
        let per_s = |v: u64| measured(v as f64 / dt);
        let core_pct = |ticks: u64| ticks as f64 / self.reader.clk_tck() as f64 / dt * 100.0;
        let cpu_pct = core_pct(d.user_ticks + d.sys_ticks);
        let mut sample = Sample {
            t_s,
            interval_s: dt,
            cpu_user_pct: measured(core_pct(d.user_ticks)),
            cpu_sys_pct: measured(core_pct(d.sys_ticks)),
            cpu_pct: measured(cpu_pct),
            cpu_machine_pct: measured(cpu_pct / f64::from(self.cores)),
            top_thread_cpu_pct: measured(d.top_thread_ns as f64 / 1e9 / dt * 100.0),
            rss_mb: measured(d.rss_bytes as f64 / MIB),
            threads: alive.then_some(d.threads),
            fds: alive.then_some(d.fds),
            processes: self.pid.map(|_| d.processes),
            ctx_voluntary_per_s: per_s(d.ctx_voluntary),
            ctx_involuntary_per_s: per_s(d.ctx_involuntary),
            read_bytes_per_s: per_s(d.io.read_bytes),
            write_bytes_per_s: per_s(d.io.write_bytes),
            rchar_per_s: per_s(d.io.rchar),
            wchar_per_s: per_s(d.io.wchar),
            ..Sample::default()
        };

        match self.reader.host_cpu() {
            Ok(h) => {
                if let Some(prev) = self.host {
                    let total = h.total.saturating_sub(prev.total);
                    if total > 0 {
                        sample.host_cpu_pct =
                            h.busy.saturating_sub(prev.busy) as f64 / total as f64 * 100.0;
                    }
                }
                self.host = Some(h);
            }
            Err(e) => self.out.errors.note(format!("host CPU: {e}")),
        }
        match self.reader.host_memory() {
            Ok(m) => {
                sample.host_mem_total_mb = m.total_bytes as f64 / MIB;
                sample.host_mem_used_mb =
                    m.total_bytes.saturating_sub(m.available_bytes) as f64 / MIB;
            }
            Err(e) => self.out.errors.note(format!("host memory: {e}")),
        }
        let generator = ProcessCpu::now().total();
        sample.generator_cpu_pct =
            generator.saturating_sub(self.generator).as_secs_f64() / dt * 100.0;
        self.generator = generator;

        self.out.samples.push(sample);
        *self.latest.lock().unwrap_or_else(PoisonError::into_inner) = Some(sample);
    }

    /// The target's tree, or an empty one once it has exited (noting when).
    fn read_target(&mut self, t_s: f64) -> TreeSnapshot {
        let Some(pid) = self.pid else {
            return TreeSnapshot::default();
        };
        if self.out.exited_at_s.is_some() {
            return TreeSnapshot::default();
        }
        let tree = self.reader.read_tree(pid);
        let alive = tree
            .processes
            .first()
            .is_some_and(|root| Some(root.stat.start_time) == self.root_start);
        if alive {
            tree
        } else {
            self.out.exited_at_s = Some(t_s);
            self.out
                .errors
                .note(format!("the target (pid {pid}) exited at t = {t_s:.1} s"));
            TreeSnapshot::default()
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn intervals_below_the_minimum_are_refused() {
        let mut c = SamplerConfig::new(Instant::now());
        c.interval = Duration::from_millis(99);
        assert!(matches!(
            Sampler::start(c),
            Err(MonitorError::IntervalTooShort(_))
        ));
    }
}
