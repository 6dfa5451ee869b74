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
//!
//! **Files:** `reader` walks the tree and reads each process ([`ProcReader`]), `threads`
//! the threads of one process, `held` keeps their files open within the descriptor budget,
//! `readings` holds what they return, `parse` turns the files' text into it, and `system`
//! answers [`pid_exists`], [`online_cpus`] and the kernel's `sysconf` figures.

mod held;
mod parse;
mod reader;
mod readings;
mod system;
#[cfg(test)]
mod test_support;
mod threads;

pub use reader::ProcReader;
pub use readings::{
    CpuTicks, HostCpu, HostMemory, IoCounters, ProcStat, ProcessSnapshot, ThreadCpu,
    ThreadSwitches, ThreadTimes, TreeSnapshot,
};
pub use system::{online_cpus, pid_exists};
