//! Reading `/proc`: the counters of a process tree and of the host.
//!
//! **Tree.** The descendants of a root pid are found from the parent pid of every process
//! (`/proc/[0-9]*/stat`, field 4), walking down from the root. The
//! `/proc/PID/task/TID/children` files would be cheaper, but they exist only on kernels
//! built with `CONFIG_PROC_CHILDREN`, which many are not. A parent changes only when it
//! exits, so the parents are cached: each scan lists `/proc` and reads `stat` only for
//! new processes, reused pids (told by a new inode of `/proc/PID`), processes whose
//! parent has gone (adopted since), and every process on each 100th scan.
//!
//! **Per process of the tree** (all counters, never rates; [`crate::Sampler`] takes the
//! differences):
//! - `/proc/PID/stat`: state, parent, `utime`, `stime` and the reaped children's `cutime`,
//!   `cstime` (clock ticks), `num_threads`, `starttime` (ticks since boot, which tells a
//!   reused pid from the process that had it) and `rss` (pages);
//! - `/proc/PID/io`: `rchar`/`wchar` (bytes through `read`/`write`-family calls, sockets and
//!   pipes included) and `read_bytes`/`write_bytes` (bytes fetched from or sent to storage);
//! - `/proc/PID/fd`: the open descriptors (the size the kernel reports for the directory,
//!   which is the count since Linux 6.2; the entries counted on older kernels);
//! - `/proc/PID/task/TID/status`: `voluntary_ctxt_switches` and
//!   `nonvoluntary_ctxt_switches` per thread (the process-level `status` holds only the
//!   main thread's counts);
//! - CPU time per thread ([`ThreadTimes`]): a single-threaded process's thread is the
//!   process, whose `stat` gives it; a multi-threaded process's threads are read from
//!   `/proc/PID/task/TID/schedstat`, whose first field is the thread's run time in
//!   nanoseconds: the same figure as `utime + stime` of `task/TID/stat` (fields 14 and 15;
//!   the kernel splits the run time between the two), but exact rather than in 10 ms clock
//!   ticks, and about a third of the time to read (1.4 against 4 µs per read, on the
//!   machine of the cost figures below). The thread's start time, which tells a new
//!   thread from one seen late, is read once from its `stat`. Where the kernel keeps no
//!   scheduler statistics (built without `CONFIG_SCHED_INFO`, or writing `0 0 0`; checked
//!   once on this process's own thread), `task/TID/stat` is read instead, in ticks.
//!
//! These files stay open between samples and are read again from offset 0 (`pread`),
//! which costs a third of opening them each time; a held file keeps referring to the
//! process it was opened for, so a reused pid cannot be mistaken for it. A process that
//! vanishes between two reads is left out, never an error. Files the kernel refuses
//! (`EACCES`, a process of another user) leave that figure out and are reported in
//! [`TreeSnapshot::denied`].
//!
//! **Host:** the aggregate `cpu` line of `/proc/stat` and `MemTotal`/`MemAvailable` of
//! `/proc/meminfo`.
//!
//! **Cost** (the `monitor_cost` example and `read_tree` timed alone, on a 2-core virtual
//! machine): 25 to 45 µs of CPU per process of the tree and about 11 µs per extra thread of a multi-threaded one
//! (1.3 µs of it for the thread's `schedstat`), per sample, most of it the kernel
//! formatting the files.
//!
//! The parsers are small and written here rather than taken from the `procfs` crate: the
//! monitor needs a dozen fields from seven files, and `procfs` (0.17) brings `procfs-core`,
//! `rustix`, `bitflags`, `hex` and, by default, `chrono` and `flate2`, more to compile
//! than all of this crate.

use std::collections::{HashMap, HashSet};
use std::fs::{self, File};
use std::io;
use std::os::unix::fs::{DirEntryExt, FileExt};
use std::time::Duration;

use nix::time::{ClockId, clock_gettime};
use nix::unistd::{SysconfVar, sysconf};

use crate::MonitorError;

mod parse;

use parse::{parse_host_cpu, parse_io, parse_meminfo, parse_schedstat, parse_stat, parse_switches};

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

/// Why one file could not be read.
#[derive(Debug)]
enum Failure {
    /// The process (or thread) is gone, or the file made no sense: leave it out.
    Gone,
    /// The kernel refused.
    Denied,
}

impl From<io::Error> for Failure {
    fn from(e: io::Error) -> Failure {
        if e.kind() == io::ErrorKind::PermissionDenied {
            Failure::Denied
        } else {
            Failure::Gone
        }
    }
}

/// A `/proc` file of one process, held open between samples when the budget allows.
#[derive(Debug)]
enum Slot {
    /// Not open: opened for each read (and then kept if the process's files are kept).
    Closed,
    /// Open; read again from offset 0 each time.
    Open(File),
    /// The kernel refused to open it; not tried again for this process.
    Denied,
}

impl Slot {
    /// Reads the whole file, opening it if need be; `keep` holds it open afterwards.
    fn read<'b>(
        &mut self,
        path: impl FnOnce() -> String,
        buf: &'b mut Vec<u8>,
        keep: bool,
    ) -> Result<&'b [u8], Failure> {
        match self {
            Slot::Open(f) => return read_whole(f, buf),
            Slot::Denied => return Err(Failure::Denied),
            Slot::Closed => {}
        }
        let file = File::open(path()).map_err(|e| {
            let failure = Failure::from(e);
            if matches!(failure, Failure::Denied) {
                *self = Slot::Denied;
            }
            failure
        })?;
        let text = read_whole(&file, buf);
        if keep {
            *self = Slot::Open(file);
        }
        text
    }

    fn is_open(&self) -> bool {
        matches!(self, Slot::Open(_))
    }

    /// Stops holding the file (a refusal is remembered).
    fn close(&mut self) {
        if self.is_open() {
            *self = Slot::Closed;
        }
    }
}

/// The files of one thread of a multi-threaded process.
#[derive(Debug)]
struct Task {
    tid: u32,
    /// `task/TID/status`: context switches.
    status: Slot,
    /// `task/TID/schedstat`, or `task/TID/stat` where the kernel keeps no scheduler
    /// statistics: CPU time.
    cpu: Slot,
    /// The thread's start time (from `task/TID/stat`), read once.
    start_time: Option<u64>,
}

impl Task {
    fn new(tid: u32) -> Task {
        Task {
            tid,
            status: Slot::Closed,
            cpu: Slot::Closed,
            start_time: None,
        }
    }

    /// Descriptors it holds.
    fn files(&self) -> usize {
        usize::from(self.status.is_open()) + usize::from(self.cpu.is_open())
    }
}

/// Where the CPU time of the threads of a multi-threaded process is read.
#[derive(Debug, Clone, Copy)]
struct ThreadClock {
    /// Whether `task/TID/schedstat` gives the run time; `task/TID/stat` is read otherwise.
    schedstat: bool,
    clk_tck: u64,
}

impl ThreadClock {
    /// `schedstat` when the kernel keeps scheduler statistics: the file exists (only with
    /// `CONFIG_SCHED_INFO`) and shows this thread, which is running, as having been put
    /// on a CPU (a kernel that keeps none writes `0 0 0`).
    fn detect(clk_tck: u64) -> ThreadClock {
        let schedstat = fs::read("/proc/thread-self/schedstat")
            .ok()
            .and_then(|text| parse_schedstat(&text))
            .is_some_and(|s| s.timeslices > 0);
        ThreadClock { schedstat, clk_tck }
    }

    fn ticks_ns(self, ticks: u64) -> u64 {
        let ns = u128::from(ticks) * 1_000_000_000 / u128::from(self.clk_tck.max(1));
        u64::try_from(ns).unwrap_or(u64::MAX)
    }

    /// The per-thread CPU file, as named in [`TreeSnapshot::denied`].
    fn file(self) -> &'static str {
        if self.schedstat {
            "task/*/schedstat"
        } else {
            "task/*/stat"
        }
    }
}

/// The files of one process of the watched tree. A held file keeps referring to the
/// process it was opened for: once that process is gone, reads fail, even if its pid has
/// been given to a new process.
#[derive(Debug)]
struct Held {
    /// Whether this process's files are held open (within [`MAX_HELD_FILES`]).
    keep: bool,
    stat: Slot,
    io: Slot,
    status: Slot,
    fd_dir: Slot,
    /// Per-thread files, sorted by thread id (multi-threaded processes).
    tasks: Vec<Task>,
    /// `num_threads` when `tasks` was listed; 0 when it must be listed again.
    listed_threads: u32,
}

impl Held {
    fn new(keep: bool) -> Held {
        Held {
            keep,
            stat: Slot::Closed,
            io: Slot::Closed,
            status: Slot::Closed,
            fd_dir: Slot::Closed,
            tasks: Vec::new(),
            listed_threads: 0,
        }
    }

    /// Descriptors it holds.
    fn files(&self) -> usize {
        [&self.stat, &self.io, &self.status, &self.fd_dir]
            .into_iter()
            .filter(|s| s.is_open())
            .count()
            + self.tasks.iter().map(Task::files).sum::<usize>()
    }
}

/// What the reader remembers of every process on the machine: its parent.
#[derive(Debug, Clone, Copy)]
struct Parent {
    /// Inode of its `/proc/PID` entry, which changes when the pid is reused.
    ino: u64,
    ppid: u32,
}

/// Scans after which every parent is read again, whatever the cache says.
const FULL_SCAN_EVERY: u32 = 100;

/// Descriptors the reader holds open at most, so that a large target tree cannot take
/// the descriptors the load generator needs; files beyond it are opened for each read.
const MAX_HELD_FILES: usize = 256;

/// Files a process's own files take (`stat`, `io`, `status`, `fd`).
const FILES_PER_PROCESS: usize = 4;

/// Threads of one process whose files are held open at most.
const MAX_HELD_THREADS: u32 = 32;

/// Files a thread of a multi-threaded process takes (`status` and `schedstat` or `stat`).
const FILES_PER_THREAD: usize = 2;

/// Reads `/proc` through one reused buffer, holding the files of the watched tree open.
#[derive(Debug)]
pub struct ProcReader {
    clk_tck: u64,
    page_size: u64,
    buf: Vec<u8>,
    /// Every process's parent, from the last scan.
    parents: HashMap<u32, Parent>,
    held: HashMap<u32, Held>,
    /// Descriptors held (or promised to processes whose files are kept).
    held_files: usize,
    scans: u32,
    host_stat: Slot,
    host_meminfo: Slot,
    thread_clock: ThreadClock,
}

impl ProcReader {
    /// A reader; fails only if the kernel does not tell its clock tick rate or page size.
    pub fn new() -> Result<ProcReader, MonitorError> {
        let clk_tck = sysconf_positive(SysconfVar::CLK_TCK, "clock ticks per second")?;
        Ok(ProcReader {
            clk_tck,
            page_size: sysconf_positive(SysconfVar::PAGE_SIZE, "the page size")?,
            buf: vec![0; 16 * 1024],
            parents: HashMap::new(),
            held: HashMap::new(),
            held_files: 0,
            scans: 0,
            host_stat: Slot::Closed,
            host_meminfo: Slot::Closed,
            thread_clock: ThreadClock::detect(clk_tck),
        })
    }

    /// Clock ticks per second (`sysconf(_SC_CLK_TCK)`, almost always 100).
    pub fn clk_tck(&self) -> u64 {
        self.clk_tck
    }

    /// The time since boot in clock ticks, on the clock of `starttime` in `/proc/PID/stat`.
    pub fn boot_ticks(&self) -> u64 {
        let since_boot = clock_gettime(ClockId::CLOCK_BOOTTIME)
            .map(Duration::from)
            .unwrap_or_default();
        let ticks = since_boot.as_nanos() * u128::from(self.clk_tck) / 1_000_000_000;
        u64::try_from(ticks).unwrap_or(u64::MAX)
    }

    /// The tree rooted at `root`: the root and all its live descendants. Empty when the
    /// root has exited (or is a zombie).
    pub fn read_tree(&mut self, root: u32) -> TreeSnapshot {
        self.scan_parents();
        let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
        for (&pid, p) in &self.parents {
            if pid != root {
                children.entry(p.ppid).or_default().push(pid);
            }
        }
        let mut tree = Vec::new();
        if self.parents.contains_key(&root) {
            tree.push(root);
        }
        let mut next = 0;
        while next < tree.len() {
            if let Some(mut kids) = children.remove(&tree[next]) {
                kids.sort_unstable();
                tree.extend(kids);
            }
            next += 1;
        }
        let members: HashSet<u32> = tree.iter().copied().collect();
        self.held.retain(|pid, _| members.contains(pid));
        self.held_files = self
            .held
            .values()
            .map(|h| {
                if h.keep {
                    h.files().max(FILES_PER_PROCESS)
                } else {
                    0
                }
            })
            .sum();

        let mut snapshot = TreeSnapshot::default();
        for (i, pid) in tree.into_iter().enumerate() {
            match self.process(pid, &mut snapshot.denied) {
                Some(p) if i == 0 && p.stat.has_exited() => return TreeSnapshot::default(),
                Some(p) => snapshot.processes.push(p),
                // The root vanished while being read: the tree has exited.
                None if i == 0 => return TreeSnapshot::default(),
                None => {}
            }
        }
        snapshot
    }

    /// The host's CPU ticks.
    pub fn host_cpu(&mut self) -> io::Result<HostCpu> {
        let text = self
            .host_stat
            .read(|| "/proc/stat".into(), &mut self.buf, true)
            .map_err(|_| unreadable("/proc/stat"))?;
        parse_host_cpu(text).ok_or_else(|| malformed("/proc/stat"))
    }

    /// The host's memory.
    pub fn host_memory(&mut self) -> io::Result<HostMemory> {
        let text = self
            .host_meminfo
            .read(|| "/proc/meminfo".into(), &mut self.buf, true)
            .map_err(|_| unreadable("/proc/meminfo"))?;
        parse_meminfo(text).ok_or_else(|| malformed("/proc/meminfo"))
    }

    /// `/proc/PID/stat`, or `None` if the process is gone.
    pub fn stat(&mut self, pid: u32) -> Option<ProcStat> {
        let file = File::open(format!("/proc/{pid}/stat")).ok()?;
        parse_stat(pid, read_whole(&file, &mut self.buf).ok()?)
    }

    /// Refreshes every process's parent. The parent of a process changes only when its
    /// parent exits (it is then adopted by a subreaper or init), so a cached parent is
    /// read again only for a new process, a reused pid (a new `/proc/PID` inode), a
    /// process whose parent has gone, and on every [`FULL_SCAN_EVERY`]th scan.
    fn scan_parents(&mut self) {
        self.scans = self.scans.wrapping_add(1);
        let full = self.scans % FULL_SCAN_EVERY == 1;
        let Ok(entries) = fs::read_dir("/proc") else {
            self.parents.clear();
            return;
        };
        let mut next = HashMap::with_capacity(self.parents.len() + 16);
        for entry in entries.flatten() {
            let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse().ok()) else {
                continue;
            };
            let ino = entry.ino();
            match self.parents.get(&pid) {
                Some(p) if p.ino == ino && !full => {
                    next.insert(pid, *p);
                }
                _ => {
                    if let Some(st) = self.stat(pid) {
                        next.insert(pid, Parent { ino, ppid: st.ppid });
                    }
                }
            }
        }
        let orphans: Vec<u32> = next
            .iter()
            .filter(|(_, p)| p.ppid != 0 && !next.contains_key(&p.ppid))
            .map(|(&pid, _)| pid)
            .collect();
        for pid in orphans {
            match self.stat(pid) {
                Some(st) => {
                    if let Some(p) = next.get_mut(&pid) {
                        p.ppid = st.ppid;
                    }
                }
                None => {
                    next.remove(&pid);
                }
            }
        }
        self.parents = next;
    }

    /// One process of the tree, through its held files where it has them.
    fn process(
        &mut self,
        pid: u32,
        denied: &mut Vec<(u32, &'static str)>,
    ) -> Option<ProcessSnapshot> {
        let stat = self.held_stat(pid)?;
        let mut snapshot = ProcessSnapshot {
            stat,
            rss_bytes: 0,
            fds: None,
            io: None,
            switches: None,
            thread_cpu: None,
        };
        if stat.has_exited() {
            return Some(snapshot);
        }
        snapshot.rss_bytes = stat.rss_pages * self.page_size;
        let held = self.held.get_mut(&pid)?;
        let keep = held.keep;
        match held
            .io
            .read(|| format!("/proc/{pid}/io"), &mut self.buf, keep)
        {
            Ok(text) => snapshot.io = Some(parse_io(text)?),
            Err(Failure::Denied) => denied.push((pid, "io")),
            Err(Failure::Gone) => return None,
        }
        match fd_count(pid, &mut held.fd_dir, keep) {
            Ok(n) => snapshot.fds = Some(n),
            Err(Failure::Denied) => denied.push((pid, "fd")),
            Err(Failure::Gone) => return None,
        }
        let room = MAX_HELD_FILES.saturating_sub(self.held_files);
        let threads = read_threads(&stat, held, room, &mut self.buf, self.thread_clock, denied)?;
        snapshot.switches = threads.switches;
        snapshot.thread_cpu = threads.cpu;
        self.held_files += threads.opened;
        Some(snapshot)
    }

    /// `stat` of a process of the tree. A process seen for the first time has its files
    /// held if the budget allows; one whose held `stat` no longer reads (its process is
    /// gone; the pid may hold another) starts afresh.
    fn held_stat(&mut self, pid: u32) -> Option<ProcStat> {
        for _ in 0..2 {
            let held = self.held.entry(pid).or_insert_with(|| {
                let keep = self.held_files + FILES_PER_PROCESS <= MAX_HELD_FILES;
                if keep {
                    self.held_files += FILES_PER_PROCESS;
                }
                Held::new(keep)
            });
            let was_open = held.stat.is_open();
            let keep = held.keep;
            let stat = held
                .stat
                .read(|| format!("/proc/{pid}/stat"), &mut self.buf, keep)
                .ok()
                .and_then(|text| parse_stat(pid, text));
            if stat.is_some() {
                return stat;
            }
            self.held.remove(&pid);
            if !was_open {
                return None;
            }
        }
        None
    }
}

/// Reads a whole `/proc` file from offset 0 into `buf` (grown as needed). The kernel
/// builds the text afresh for a read at offset 0 and fills the buffer as far as the text
/// goes, so a short read is the end.
fn read_whole<'b>(file: &File, buf: &'b mut Vec<u8>) -> Result<&'b [u8], Failure> {
    let mut filled = 0;
    loop {
        if filled == buf.len() {
            buf.resize(buf.len() * 2, 0);
        }
        let room = buf.len() - filled;
        let n = file.read_at(&mut buf[filled..], filled as u64)?;
        filled += n;
        if n < room {
            return Ok(&buf[..filled]);
        }
    }
}

/// Open descriptors: the size the kernel reports for `/proc/PID/fd` (Linux 6.2 and
/// later: the count), or else the entries counted.
fn fd_count(pid: u32, dir: &mut Slot, keep: bool) -> Result<u64, Failure> {
    let path = || format!("/proc/{pid}/fd");
    let size = match dir {
        Slot::Open(f) => f.metadata()?.len(),
        Slot::Denied => return Err(Failure::Denied),
        Slot::Closed if keep => match File::open(path()) {
            Ok(f) => {
                let size = f.metadata()?.len();
                *dir = Slot::Open(f);
                size
            }
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
                *dir = Slot::Denied;
                return Err(Failure::Denied);
            }
            Err(_) => return Err(Failure::Gone),
        },
        Slot::Closed => fs::metadata(path())?.len(),
    };
    if size > 0 {
        return Ok(size);
    }
    let mut n = 0;
    for entry in fs::read_dir(path())? {
        if entry.is_ok() {
            n += 1;
        }
    }
    Ok(n)
}

/// What the threads of one process show.
#[derive(Debug)]
struct ThreadReadings {
    /// Context switches per thread; `None` when refused.
    switches: Option<Vec<ThreadSwitches>>,
    /// CPU time per thread; `None` when refused.
    cpu: Option<ThreadTimes>,
    /// Descriptors newly held.
    opened: usize,
}

/// Context switches and CPU time per thread; `None` when the process has gone. A
/// single-threaded process reads its `status`, and its `stat` (already read) gives its
/// thread's CPU time. A multi-threaded one reads each thread's `status` and `schedstat`
/// (or `stat`), listing the threads again when their count changes or one has gone.
/// Thread files are held while `room` and [`MAX_HELD_THREADS`] allow. Refused files are
/// noted in `denied`.
fn read_threads(
    stat: &ProcStat,
    held: &mut Held,
    room: usize,
    buf: &mut Vec<u8>,
    clock: ThreadClock,
    denied: &mut Vec<(u32, &'static str)>,
) -> Option<ThreadReadings> {
    let pid = stat.pid;
    let keep = held.keep;
    if stat.threads <= 1 {
        held.tasks.clear();
        held.listed_threads = 0;
        let switches = match held
            .status
            .read(|| format!("/proc/{pid}/status"), buf, keep)
        {
            Ok(text) => Some(vec![parse_switches(pid, text)?]),
            Err(Failure::Denied) => {
                denied.push((pid, "status"));
                None
            }
            Err(Failure::Gone) => return None,
        };
        let cpu = ThreadTimes::Process(ThreadCpu {
            tid: pid,
            start_time: stat.start_time,
            cpu_ns: clock.ticks_ns(stat.cpu.utime + stat.cpu.stime),
        });
        return Some(ThreadReadings {
            switches,
            cpu: Some(cpu),
            opened: 0,
        });
    }
    let before: usize = held.tasks.iter().map(Task::files).sum();
    if held.listed_threads != stat.threads {
        let tids = match fs::read_dir(format!("/proc/{pid}/task")) {
            Ok(entries) => entries
                .flatten()
                .filter_map(|e| e.file_name().to_str().and_then(|s| s.parse().ok())),
            Err(e) => {
                if matches!(Failure::from(e), Failure::Gone) {
                    return None;
                }
                denied.extend([(pid, "status"), (pid, clock.file())]);
                return Some(ThreadReadings {
                    switches: None,
                    cpu: None,
                    opened: 0,
                });
            }
        };
        let mut tids: Vec<u32> = tids.collect();
        tids.sort_unstable();
        let mut old = std::mem::take(&mut held.tasks);
        for tid in tids {
            let task = match old.binary_search_by_key(&tid, |t| t.tid) {
                Ok(i) => old.remove(i),
                Err(_) => Task::new(tid),
            };
            held.tasks.push(task);
        }
        held.listed_threads = stat.threads;
    }
    let keep_tasks = keep && stat.threads <= MAX_HELD_THREADS;
    // Descriptors the threads may hold, theirs now included.
    let mut room = room + before;
    let mut switches = Some(Vec::with_capacity(held.tasks.len()));
    let mut cpu = Some(Vec::with_capacity(held.tasks.len()));
    for task in &mut held.tasks {
        let keep = keep_tasks && room >= FILES_PER_THREAD;
        if !keep {
            // Too many threads now: stop holding this one's files.
            task.status.close();
            task.cpu.close();
        }
        let tid = task.tid;
        let mut gone = false;
        if let Some(out) = &mut switches {
            match task
                .status
                .read(|| format!("/proc/{pid}/task/{tid}/status"), buf, keep)
            {
                Ok(text) => out.extend(parse_switches(tid, text)),
                Err(Failure::Denied) => {
                    denied.push((pid, "status"));
                    switches = None;
                }
                Err(Failure::Gone) => gone = true,
            }
        }
        if let (Some(out), false) = (&mut cpu, gone) {
            match thread_cpu(pid, task, buf, keep, clock) {
                Ok(t) => out.push(t),
                Err(Failure::Denied) => {
                    denied.push((pid, clock.file()));
                    cpu = None;
                }
                Err(Failure::Gone) => gone = true,
            }
        }
        if gone {
            // A thread that has ended: forget its files (its id may be given to a new
            // thread) and list the threads again next time.
            *task = Task::new(tid);
            held.listed_threads = 0;
        }
        room = room.saturating_sub(task.files());
    }
    let after: usize = held.tasks.iter().map(Task::files).sum();
    Some(ThreadReadings {
        switches,
        cpu: cpu.map(ThreadTimes::Threads),
        opened: after.saturating_sub(before),
    })
}

/// The CPU time of one thread of a multi-threaded process. With `schedstat`, the thread's
/// `stat` is read once for its start time.
fn thread_cpu(
    pid: u32,
    task: &mut Task,
    buf: &mut Vec<u8>,
    keep: bool,
    clock: ThreadClock,
) -> Result<ThreadCpu, Failure> {
    let tid = task.tid;
    let stat_path = || format!("/proc/{pid}/task/{tid}/stat");
    if !clock.schedstat {
        let text = task.cpu.read(stat_path, buf, keep)?;
        let st = parse_stat(tid, text).ok_or(Failure::Gone)?;
        task.start_time = Some(st.start_time);
        return Ok(ThreadCpu {
            tid,
            start_time: st.start_time,
            cpu_ns: clock.ticks_ns(st.cpu.utime + st.cpu.stime),
        });
    }
    let start_time = match task.start_time {
        Some(t) => t,
        None => {
            let file = File::open(stat_path())?;
            let st = parse_stat(tid, read_whole(&file, buf)?).ok_or(Failure::Gone)?;
            task.start_time = Some(st.start_time);
            st.start_time
        }
    };
    let text = task
        .cpu
        .read(|| format!("/proc/{pid}/task/{tid}/schedstat"), buf, keep)?;
    let run = parse_schedstat(text).ok_or(Failure::Gone)?;
    Ok(ThreadCpu {
        tid,
        start_time,
        cpu_ns: run.run_ns,
    })
}

/// Whether `pid` is a live process: a process id (not the id of a non-main thread) that
/// has not exited. `--pid` is validated with it.
pub fn pid_exists(pid: u32) -> bool {
    if pid == 0 || i32::try_from(pid).is_err() {
        return false;
    }
    let Ok(text) = fs::read_to_string(format!("/proc/{pid}/status")) else {
        return false;
    };
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .map(str::trim)
            .unwrap_or_default()
            .to_owned()
    };
    field("Tgid:") == pid.to_string()
        && !matches!(field("State:").bytes().next(), Some(b'Z' | b'X'))
}

/// Number of CPUs online (`sysconf(_SC_NPROCESSORS_ONLN)`), at least 1.
pub fn online_cpus() -> u32 {
    match sysconf(SysconfVar::_NPROCESSORS_ONLN) {
        Ok(Some(n)) if n > 0 => u32::try_from(n).unwrap_or(u32::MAX),
        _ => std::thread::available_parallelism()
            .ok()
            .and_then(|n| u32::try_from(n.get()).ok())
            .unwrap_or(1),
    }
}

fn sysconf_positive(var: SysconfVar, what: &'static str) -> Result<u64, MonitorError> {
    match sysconf(var) {
        Ok(Some(v)) if v > 0 => u64::try_from(v).map_err(|_| MonitorError::Kernel {
            what,
            source: io::Error::other("out of range"),
        }),
        Ok(_) => Err(MonitorError::Kernel {
            what,
            source: io::Error::other("not reported"),
        }),
        Err(e) => Err(MonitorError::Kernel {
            what,
            source: e.into(),
        }),
    }
}

fn unreadable(path: &str) -> io::Error {
    io::Error::other(format!("cannot read {path}"))
}

fn malformed(path: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("unexpected format of {path}"),
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use std::io::{BufRead, BufReader};

    use super::*;

    #[test]
    fn own_stat_parses() {
        let pid = std::process::id();
        let mut r = ProcReader::new().unwrap();
        let st = r.stat(pid).unwrap();
        assert_eq!(st.pid, pid);
        assert!(st.threads >= 1);
        assert!(st.rss_pages > 0);
        assert!(st.start_time <= r.boot_ticks());
    }

    #[test]
    fn pid_exists_for_this_process_only() {
        assert!(pid_exists(std::process::id()));
        assert!(!pid_exists(0));
        assert!(!pid_exists(u32::MAX));
    }

    #[test]
    fn non_main_thread_id_is_not_a_process() {
        let (tx, rx) = std::sync::mpsc::channel();
        let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
        let t = std::thread::spawn(move || {
            tx.send(nix::unistd::gettid().as_raw()).unwrap();
            let _ = done_rx.recv();
        });
        let tid = u32::try_from(rx.recv().unwrap()).unwrap();
        assert!(!pid_exists(tid));
        drop(done_tx);
        t.join().unwrap();
    }

    /// A child in its own process group, killed with its group on drop.
    struct Group(std::process::Child);

    impl Group {
        fn spawn(program: &str, args: &[&str]) -> Group {
            use std::os::unix::process::CommandExt;
            Group(
                std::process::Command::new(program)
                    .args(args)
                    .stdin(std::process::Stdio::null())
                    .stdout(std::process::Stdio::piped())
                    .process_group(0)
                    .spawn()
                    .unwrap(),
            )
        }
    }

    impl Drop for Group {
        fn drop(&mut self) {
            let pgid = nix::unistd::Pid::from_raw(i32::try_from(self.0.id()).unwrap());
            let _ = nix::sys::signal::killpg(pgid, nix::sys::signal::Signal::SIGKILL);
            let _ = self.0.wait();
        }
    }

    fn read_until(
        r: &mut ProcReader,
        root: u32,
        done: impl Fn(&TreeSnapshot) -> bool,
    ) -> TreeSnapshot {
        let deadline = std::time::Instant::now() + Duration::from_secs(15);
        loop {
            let tree = r.read_tree(root);
            if done(&tree) {
                return tree;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "not reached: {tree:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    #[test]
    fn a_large_tree_is_read_within_the_descriptor_budget() {
        let child = Group::spawn(
            "sh",
            &["-c", "for i in $(seq 80); do sleep 30 & done; wait"],
        );
        let mut r = ProcReader::new().unwrap();
        let tree = read_until(&mut r, child.0.id(), |t| t.processes.len() == 81);
        let tree2 = r.read_tree(child.0.id());
        for t in [&tree, &tree2] {
            assert!(t.processes.iter().all(|p| {
                p.io.is_some() && p.fds.is_some_and(|n| n >= 3) && p.switches.is_some()
            }));
        }
        let open: usize = r.held.values().map(Held::files).sum();
        assert!(open <= MAX_HELD_FILES, "{open}");
        assert!(r.held.values().any(|h| !h.keep));
        assert!(
            r.held
                .values()
                .filter(|h| h.keep)
                .all(|h| h.files() == FILES_PER_PROCESS)
        );
    }

    #[test]
    fn every_thread_of_a_process_with_many_is_read() {
        let child = Group::spawn(
            "python3",
            &[
                "-c",
                "import threading, time\n\
                 for _ in range(40): threading.Thread(target=time.sleep, args=(30,), daemon=True).start()\n\
                 time.sleep(30)\n",
            ],
        );
        let mut r = ProcReader::new().unwrap();
        let tree = read_until(&mut r, child.0.id(), |t| {
            t.processes.first().is_some_and(|p| p.stat.threads == 41)
        });
        let tree = if tree.processes[0].switches.as_ref().unwrap().len() == 41 {
            tree
        } else {
            r.read_tree(child.0.id())
        };
        let p = &tree.processes[0];
        let switches = p.switches.as_ref().unwrap();
        assert_eq!(switches.len(), 41);
        assert!(switches.windows(2).all(|w| w[0].tid < w[1].tid));
        assert!(switches.iter().any(|t| t.tid == p.stat.pid));
        // More threads than are held open: their files are opened for each read.
        assert!(r.held[&p.stat.pid].tasks.iter().all(|t| t.files() == 0));
    }

    #[test]
    fn thread_cpu_by_schedstat_and_by_stat_agree() {
        let mut child = Group::spawn(
            "python3",
            &[
                "-c",
                "import threading, time\n\
                 for _ in range(3): threading.Thread(target=time.sleep, args=(30,), daemon=True).start()\n\
                 print('ready', flush=True)\n\
                 while True: pass\n",
            ],
        );
        let mut line = String::new();
        BufReader::new(child.0.stdout.as_mut().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "ready");
        std::thread::sleep(Duration::from_millis(300));
        let pid = child.0.id();
        let mut by_schedstat = ProcReader::new().unwrap();
        let mut by_stat = ProcReader::new().unwrap();
        by_stat.thread_clock.schedstat = false;
        let threads = |r: &mut ProcReader| {
            let tree = r.read_tree(pid);
            let p = &tree.processes[0];
            match p.thread_cpu.clone().unwrap() {
                ThreadTimes::Threads(t) => (p.stat.start_time, t),
                other => panic!("one process, four threads: {other:?}"),
            }
        };
        let (start, a) = threads(&mut by_schedstat);
        let (_, b) = threads(&mut by_stat);
        assert_eq!(a.len(), 4, "{a:?}");
        assert!(a.windows(2).all(|w| w[0].tid < w[1].tid));
        for (a, b) in a.iter().zip(&b) {
            assert_eq!((a.tid, a.start_time), (b.tid, b.start_time));
            assert!(a.start_time >= start);
            // Ticks are whole 10 ms (on the usual 100 per second); the main thread spins
            // on between the two reads.
            assert!(a.cpu_ns.abs_diff(b.cpu_ns) < 60_000_000, "{a:?} {b:?}");
        }
        let busiest = a.iter().max_by_key(|t| t.cpu_ns).unwrap();
        assert_eq!(busiest.tid, pid);
        assert!(busiest.cpu_ns > 100_000_000, "{a:?}");
        assert!(
            a.iter()
                .filter(|t| t.tid != pid)
                .all(|t| t.cpu_ns < 50_000_000),
            "{a:?}"
        );
        // The files are held open, and read again the same way.
        assert!(by_schedstat.held[&pid].tasks.iter().all(|t| t.files() == 2));
        let (_, again) = threads(&mut by_schedstat);
        let main = |v: &[ThreadCpu]| v.iter().find(|t| t.tid == pid).unwrap().cpu_ns;
        assert_eq!(again.len(), 4);
        assert!(main(&again) >= main(&a));
    }

    #[test]
    fn own_tree_has_this_process_first() {
        let mut r = ProcReader::new().unwrap();
        let tree = r.read_tree(std::process::id());
        let me = &tree.processes[0];
        assert_eq!(me.stat.pid, std::process::id());
        assert!(me.fds.unwrap() >= 3);
        assert!(me.io.is_some());
        assert!(!me.switches.as_ref().unwrap().is_empty());
        assert!(r.host_cpu().unwrap().total > 0);
        let mem = r.host_memory().unwrap();
        assert!(mem.available_bytes <= mem.total_bytes);
        assert!(online_cpus() >= 1);
    }
}
