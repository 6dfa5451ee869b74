//! The readings of `/proc`: what one process, one thread and the host show at one
//! moment, as counters (never rates; [`crate::Sampler`] takes the differences).

/// CPU time of a process in clock ticks, as `/proc/PID/stat` gives it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CpuTicks {
    /// User time of the process (all its threads, live and exited).
    pub utime: u64,
    /// System time of the process.
    pub stime: u64,
    /// User time of the children it has waited for.
    pub cutime: u64,
    /// System time of the children it has waited for.
    pub cstime: u64,
}

/// The fields of `/proc/PID/stat` the monitor uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcStat {
    /// Process id.
    pub pid: u32,
    /// Parent's process id.
    pub ppid: u32,
    /// State letter (`R`, `S`, `D`, `Z`, ...).
    pub state: u8,
    /// CPU time.
    pub cpu: CpuTicks,
    /// Number of threads.
    pub threads: u32,
    /// Start time in clock ticks since boot.
    pub start_time: u64,
    /// Resident set size in pages.
    pub rss_pages: u64,
}

impl ProcStat {
    /// Whether the process has exited (a zombie waiting for its parent, or dead).
    pub fn has_exited(&self) -> bool {
        matches!(self.state, b'Z' | b'X' | b'x')
    }
}

/// I/O counters of `/proc/PID/io`, in bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IoCounters {
    /// Bytes read through `read`-family calls (files, sockets, pipes, page-cache hits).
    pub rchar: u64,
    /// Bytes written through `write`-family calls.
    pub wchar: u64,
    /// Bytes fetched from storage.
    pub read_bytes: u64,
    /// Bytes sent to storage.
    pub write_bytes: u64,
}

impl std::ops::Add for IoCounters {
    type Output = IoCounters;

    /// Field-wise sum.
    fn add(self, o: IoCounters) -> IoCounters {
        IoCounters {
            rchar: self.rchar + o.rchar,
            wchar: self.wchar + o.wchar,
            read_bytes: self.read_bytes + o.read_bytes,
            write_bytes: self.write_bytes + o.write_bytes,
        }
    }
}

impl IoCounters {
    /// Field-wise difference, floored at zero.
    pub fn saturating_sub(self, o: IoCounters) -> IoCounters {
        IoCounters {
            rchar: self.rchar.saturating_sub(o.rchar),
            wchar: self.wchar.saturating_sub(o.wchar),
            read_bytes: self.read_bytes.saturating_sub(o.read_bytes),
            write_bytes: self.write_bytes.saturating_sub(o.write_bytes),
        }
    }
}

/// Context switches of one thread.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ThreadSwitches {
    /// Thread id.
    pub tid: u32,
    /// Switches because the thread blocked or yielded.
    pub voluntary: u64,
    /// Switches because the scheduler preempted it.
    pub involuntary: u64,
}

/// CPU time of one thread.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ThreadCpu {
    /// Thread id.
    pub tid: u32,
    /// When the thread started, clock ticks since boot (the clock of
    /// [`ProcStat::start_time`]).
    pub start_time: u64,
    /// User plus system CPU time so far, nanoseconds.
    pub cpu_ns: u64,
}

/// CPU time of the threads of one process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ThreadTimes {
    /// A single-threaded process: its own `utime + stime` from `stat` (whole clock ticks,
    /// given in nanoseconds), which also holds the time of any threads it had that have
    /// ended. Its `tid` is the pid, its start time the process's.
    Process(ThreadCpu),
    /// Each thread's own CPU time, sorted by thread id.
    Threads(Vec<ThreadCpu>),
}

impl ThreadTimes {
    /// The threads: one for [`ThreadTimes::Process`].
    pub fn threads(&self) -> &[ThreadCpu] {
        match self {
            ThreadTimes::Process(t) => std::slice::from_ref(t),
            ThreadTimes::Threads(v) => v,
        }
    }
}

/// One process of a tree at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessSnapshot {
    /// Its `stat` fields.
    pub stat: ProcStat,
    /// Resident set size in bytes (zero for a process that has exited).
    pub rss_bytes: u64,
    /// Open file descriptors; `None` when not readable or the process has exited.
    pub fds: Option<u64>,
    /// I/O counters; `None` when not readable or the process has exited.
    pub io: Option<IoCounters>,
    /// Context switches per thread, sorted by thread id; `None` when not readable or the
    /// process has exited.
    pub switches: Option<Vec<ThreadSwitches>>,
    /// CPU time per thread; `None` when not readable or the process has exited.
    pub thread_cpu: Option<ThreadTimes>,
}

/// A process tree at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TreeSnapshot {
    /// The root first, then its descendants, parents before children. Empty when the root
    /// has exited.
    pub processes: Vec<ProcessSnapshot>,
    /// Files the kernel refused to show: `(pid, file name)`.
    pub denied: Vec<(u32, &'static str)>,
}

/// The host's CPU time from the aggregate line of `/proc/stat`, in clock ticks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HostCpu {
    /// Ticks spent on anything but idling or waiting for I/O (user, nice, system, irq,
    /// softirq, steal).
    pub busy: u64,
    /// All ticks, summed over the CPUs.
    pub total: u64,
}

/// The host's memory from `/proc/meminfo`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HostMemory {
    /// `MemTotal`, bytes.
    pub total_bytes: u64,
    /// `MemAvailable`, bytes: what new work could use without swapping.
    pub available_bytes: u64,
}
