//! One sample: an interval of the target, the host and the generator, as the sampling
//! thread (`sampler`) measures it and the summary (`summary`) reads it.

use serde::{Deserialize, Serialize};

/// One interval of the target, the host and the generator. A target figure that was not
/// measured is `None` (`null` in JSON), never zero: every target figure is `None` when no
/// target is watched, and all but `processes` (then 0) once it has exited.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// End of the interval, seconds since the run's origin (negative before it).
    pub t_s: f64,
    /// Length of the interval, seconds.
    pub interval_s: f64,
    /// Target user CPU, % of one core.
    #[serde(default)]
    pub cpu_user_pct: Option<f64>,
    /// Target system CPU, % of one core.
    #[serde(default)]
    pub cpu_sys_pct: Option<f64>,
    /// Target CPU, % of one core (200 = two cores busy).
    #[serde(default)]
    pub cpu_pct: Option<f64>,
    /// Target CPU, % of the whole machine (`cpu_pct` / online CPUs).
    #[serde(default)]
    pub cpu_machine_pct: Option<f64>,
    /// The target's busiest thread over the interval (user + system CPU of one thread of
    /// any of its processes), % of one core: near 100 while `cpu_pct` is far below
    /// `100 × cores` means a serial hot path.
    #[serde(default)]
    pub top_thread_cpu_pct: Option<f64>,
    /// Target resident set size summed over its processes, MiB.
    #[serde(default)]
    pub rss_mb: Option<f64>,
    /// Target threads.
    #[serde(default)]
    pub threads: Option<u64>,
    /// Target open file descriptors.
    #[serde(default)]
    pub fds: Option<u64>,
    /// Live processes in the target's tree: 0 once it has exited, `None` when no target
    /// is watched.
    #[serde(default)]
    pub processes: Option<u32>,
    /// Target voluntary context switches per second (blocking: I/O, locks, sleeps).
    #[serde(default)]
    pub ctx_voluntary_per_s: Option<f64>,
    /// Target involuntary context switches per second (preemption: CPU contention).
    #[serde(default)]
    pub ctx_involuntary_per_s: Option<f64>,
    /// Target bytes fetched from storage per second (`read_bytes`).
    #[serde(default)]
    pub read_bytes_per_s: Option<f64>,
    /// Target bytes sent to storage per second (`write_bytes`).
    #[serde(default)]
    pub write_bytes_per_s: Option<f64>,
    /// Target bytes through `read`-family calls per second, sockets and pipes included
    /// (`rchar`).
    #[serde(default)]
    pub rchar_per_s: Option<f64>,
    /// Target bytes through `write`-family calls per second (`wchar`).
    #[serde(default)]
    pub wchar_per_s: Option<f64>,
    /// Host CPU busy, % of the whole machine.
    pub host_cpu_pct: f64,
    /// Host memory in use (`MemTotal − MemAvailable`), MiB.
    pub host_mem_used_mb: f64,
    /// Host memory, MiB.
    pub host_mem_total_mb: f64,
    /// This process's CPU (the generator's), % of one core.
    pub generator_cpu_pct: f64,
}

impl Sample {
    /// Whether the target was watched and alive during this interval (its figures are
    /// measured).
    pub fn target_alive(&self) -> bool {
        self.processes.is_some_and(|n| n > 0)
    }
}
