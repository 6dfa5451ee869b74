//! Per-interval figures of a process tree whose members come and go.
//!
//! Between two snapshots the tree's CPU time, context switches and I/O are the sum over
//! its processes of the change in each counter, with three rules for a changing tree:
//!
//! - **A process seen before** (same pid and start time): the change of its counters;
//!   per thread for context switches (a new thread counts from zero).
//! - **A process first seen** that started after the previous snapshot: all its counters,
//!   since they were zero when it started. One that started earlier (seen late, for
//!   instance after a read failure) only sets its baseline, so no history is counted as
//!   if it happened in this interval.
//! - **A process that vanished**: the work it did after it was last seen is not lost when
//!   its parent waited for it, because the kernel then adds the child's totals to the
//!   parent's `cutime`/`cstime` and to the parent's I/O counters. The parent's change
//!   therefore contains each reaped child's total; the part already counted (the child's
//!   counters when last seen) is subtracted, floored at zero per parent, so that a
//!   child that was never seen (shorter than an interval) is counted whole and nothing
//!   is counted twice. Children that are reaped automatically (`SIGCHLD` ignored) or by
//!   a process outside the tree lose their last partial interval.
//!
//! RSS, threads and descriptors are levels: summed over the live processes. The RSS of
//! pages shared between processes is counted once per process, as `ps` would.
//!
//! **The busiest thread** is the largest change of one thread's CPU time over the interval,
//! over every thread of every process of the tree. Each thread is known by its process
//! (pid and start time) and its thread id and start time, and compared with its own figure
//! at the previous snapshot, read the same way: a process that goes from one thread to
//! several, or back, changes how its threads are read (see [`ThreadTimes`]), so its threads
//! then start afresh. A thread with nothing to compare with follows the rule for
//! processes: counted whole if it started after the previous snapshot began, otherwise it
//! only sets its baseline. A thread that ended during the interval loses its last partial
//! interval, and one that lived only between two snapshots is not seen: its time is in its
//! process's (and so in the tree's CPU), but no thread figure can hold it. A process whose
//! threads could not be read has no figure for that interval, and the next readable one
//! is a baseline.

use std::collections::HashMap;

use crate::proc::{
    CpuTicks, IoCounters, ProcessSnapshot, ThreadCpu, ThreadSwitches, ThreadTimes, TreeSnapshot,
};

/// What the tracker keeps of a process between snapshots.
#[derive(Debug, Clone)]
struct Known {
    start_time: u64,
    ppid: u32,
    cpu: CpuTicks,
    io: Option<IoCounters>,
    switches: Option<Vec<ThreadSwitches>>,
    threads: Option<ThreadTimes>,
}

/// The tree's change over one interval and its levels at the end of it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct TreeDelta {
    /// User CPU, clock ticks.
    pub user_ticks: u64,
    /// System CPU, clock ticks.
    pub sys_ticks: u64,
    /// Voluntary context switches.
    pub ctx_voluntary: u64,
    /// Involuntary context switches.
    pub ctx_involuntary: u64,
    /// I/O bytes.
    pub io: IoCounters,
    /// Resident set size summed over the live processes, bytes.
    pub rss_bytes: u64,
    /// Threads of the live processes.
    pub threads: u64,
    /// Open descriptors of the live processes (of those whose descriptors are readable).
    pub fds: u64,
    /// Live processes (zombies excluded).
    pub processes: u32,
    /// CPU time (user plus system) of the busiest thread over the interval, nanoseconds.
    pub top_thread_ns: u64,
}

/// Turns successive snapshots of one tree into interval figures.
#[derive(Debug, Default)]
pub(crate) struct TreeTracker {
    known: HashMap<u32, Known>,
    /// Boot-clock ticks when the previous snapshot began; `None` before the first.
    previous_scan: Option<u64>,
}

/// What vanished children had shown when last seen, summed per parent.
#[derive(Debug, Default, Clone, Copy)]
struct Vanished {
    user: u64,
    sys: u64,
    io: IoCounters,
}

impl TreeTracker {
    /// Takes a snapshot that began at `scan_ticks` (boot clock) and returns the change
    /// since the previous one. The first snapshot only sets the baseline: its changes are
    /// zero, its levels real.
    pub(crate) fn observe(&mut self, snapshot: &TreeSnapshot, scan_ticks: u64) -> TreeDelta {
        let current: HashMap<u32, u64> = snapshot
            .processes
            .iter()
            .map(|p| (p.stat.pid, p.stat.start_time))
            .collect();
        let mut vanished: HashMap<u32, Vanished> = HashMap::new();
        for (pid, k) in &self.known {
            if current.get(pid) != Some(&k.start_time) {
                let v = vanished.entry(k.ppid).or_default();
                v.user += k.cpu.utime + k.cpu.cutime;
                v.sys += k.cpu.stime + k.cpu.cstime;
                v.io = v.io + k.io.unwrap_or_default();
            }
        }

        let mut delta = TreeDelta::default();
        let mut next = HashMap::with_capacity(snapshot.processes.len());
        for p in &snapshot.processes {
            let st = &p.stat;
            let previous = self
                .known
                .get(&st.pid)
                .filter(|k| k.start_time == st.start_time);
            match previous {
                Some(k) => {
                    let reaped = vanished.get(&st.pid).copied().unwrap_or_default();
                    add_change(&mut delta, p, k, reaped);
                }
                None if self.previous_scan.is_some_and(|t| st.start_time >= t) => {
                    add_whole(&mut delta, p);
                }
                None => {}
            }
            if let Some(now) = &p.thread_cpu {
                let was = previous.and_then(|k| k.threads.as_ref());
                delta.top_thread_ns =
                    delta
                        .top_thread_ns
                        .max(busiest_thread(now, was, self.previous_scan));
            }
            if !st.has_exited() {
                delta.processes += 1;
                delta.rss_bytes += p.rss_bytes;
                delta.threads += u64::from(st.threads);
                delta.fds += p.fds.unwrap_or(0);
            }
            next.insert(
                st.pid,
                Known {
                    start_time: st.start_time,
                    ppid: st.ppid,
                    cpu: st.cpu,
                    // A figure that could not be read this time keeps its last value, so the
                    // next readable one is compared with it.
                    io: p.io.or_else(|| previous.and_then(|k| k.io)),
                    switches: p
                        .switches
                        .clone()
                        .or_else(|| previous.and_then(|k| k.switches.clone())),
                    // Unlike the counters, not kept: a change over two intervals would
                    // make one thread look busier than a core.
                    threads: p.thread_cpu.clone(),
                },
            );
        }
        self.known = next;
        self.previous_scan = Some(scan_ticks);
        delta
    }
}

/// Adds the change of a process seen before; `reaped` is what its vanished children had
/// shown when last seen.
fn add_change(delta: &mut TreeDelta, p: &ProcessSnapshot, k: &Known, reaped: Vanished) {
    let (now, was) = (p.stat.cpu, k.cpu);
    delta.user_ticks += now.utime.saturating_sub(was.utime)
        + now
            .cutime
            .saturating_sub(was.cutime)
            .saturating_sub(reaped.user);
    delta.sys_ticks += now.stime.saturating_sub(was.stime)
        + now
            .cstime
            .saturating_sub(was.cstime)
            .saturating_sub(reaped.sys);
    if let (Some(now), Some(was)) = (p.io, k.io) {
        delta.io = delta.io + now.saturating_sub(was).saturating_sub(reaped.io);
    }
    if let (Some(now), Some(was)) = (&p.switches, &k.switches) {
        for t in now {
            // A thread not seen before counts from zero.
            let before = was
                .binary_search_by_key(&t.tid, |w| w.tid)
                .map_or(ThreadSwitches::default(), |i| was[i]);
            delta.ctx_voluntary += t.voluntary.saturating_sub(before.voluntary);
            delta.ctx_involuntary += t.involuntary.saturating_sub(before.involuntary);
        }
    }
}

/// The largest change of one thread's CPU time among the threads of one process,
/// nanoseconds; `was` is what they showed at the previous snapshot, if anything. See the
/// module documentation for the rules.
fn busiest_thread(now: &ThreadTimes, was: Option<&ThreadTimes>, previous_scan: Option<u64>) -> u64 {
    let was: &[ThreadCpu] = match (now, was) {
        (ThreadTimes::Process(_), Some(w @ ThreadTimes::Process(_)))
        | (ThreadTimes::Threads(_), Some(w @ ThreadTimes::Threads(_))) => w.threads(),
        _ => &[],
    };
    now.threads()
        .iter()
        .map(|t| {
            let before = was
                .binary_search_by_key(&t.tid, |w| w.tid)
                .ok()
                .and_then(|i| was.get(i))
                .filter(|w| w.start_time == t.start_time);
            match before {
                Some(w) => t.cpu_ns.saturating_sub(w.cpu_ns),
                None if previous_scan.is_some_and(|scan| t.start_time >= scan) => t.cpu_ns,
                None => 0,
            }
        })
        .max()
        .unwrap_or(0)
}

/// A process that started during the interval: everything it shows happened in it.
fn add_whole(delta: &mut TreeDelta, p: &ProcessSnapshot) {
    let cpu = p.stat.cpu;
    delta.user_ticks += cpu.utime + cpu.cutime;
    delta.sys_ticks += cpu.stime + cpu.cstime;
    delta.io = delta.io + p.io.unwrap_or_default();
    for t in p.switches.iter().flatten() {
        delta.ctx_voluntary += t.voluntary;
        delta.ctx_involuntary += t.involuntary;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::proc::ProcStat;

    fn proc_(pid: u32, ppid: u32, start: u64, cpu: [u64; 4], rchar: u64) -> ProcessSnapshot {
        ProcessSnapshot {
            stat: ProcStat {
                pid,
                ppid,
                state: b'R',
                cpu: CpuTicks {
                    utime: cpu[0],
                    stime: cpu[1],
                    cutime: cpu[2],
                    cstime: cpu[3],
                },
                threads: 1,
                start_time: start,
                rss_pages: 1,
            },
            rss_bytes: 4096,
            fds: Some(3),
            io: Some(IoCounters {
                rchar,
                ..IoCounters::default()
            }),
            switches: Some(vec![ThreadSwitches {
                tid: pid,
                voluntary: rchar,
                involuntary: 0,
            }]),
            thread_cpu: Some(ThreadTimes::Process(ThreadCpu {
                tid: pid,
                start_time: start,
                cpu_ns: (cpu[0] + cpu[1]) * TICK_NS,
            })),
        }
    }

    const TICK_NS: u64 = 10_000_000;
    const MS: u64 = 1_000_000;

    /// A multi-threaded process; `threads` are `(tid, start time, CPU ms)`.
    fn threaded(pid: u32, start: u64, threads: &[(u32, u64, u64)]) -> ProcessSnapshot {
        let mut p = proc_(pid, 1, start, [0; 4], 0);
        p.stat.threads = u32::try_from(threads.len()).unwrap();
        p.thread_cpu = Some(ThreadTimes::Threads(
            threads
                .iter()
                .map(|&(tid, start_time, ms)| ThreadCpu {
                    tid,
                    start_time,
                    cpu_ns: ms * MS,
                })
                .collect(),
        ));
        p
    }

    fn tree(p: Vec<ProcessSnapshot>) -> TreeSnapshot {
        TreeSnapshot {
            processes: p,
            denied: vec![],
        }
    }

    #[test]
    fn first_snapshot_is_a_baseline() {
        let mut t = TreeTracker::default();
        let d = t.observe(&tree(vec![proc_(10, 1, 5, [500, 100, 0, 0], 1000)]), 100);
        assert_eq!((d.user_ticks, d.sys_ticks, d.io.rchar), (0, 0, 0));
        assert_eq!(
            (d.processes, d.rss_bytes, d.threads, d.fds),
            (1, 4096, 1, 3)
        );
    }

    #[test]
    fn changes_are_summed_over_the_tree() {
        let mut t = TreeTracker::default();
        t.observe(
            &tree(vec![
                proc_(10, 1, 5, [500, 100, 0, 0], 1000),
                proc_(11, 10, 6, [50, 10, 0, 0], 0),
            ]),
            100,
        );
        let d = t.observe(
            &tree(vec![
                proc_(10, 1, 5, [510, 102, 0, 0], 1500),
                proc_(11, 10, 6, [70, 11, 0, 0], 100),
            ]),
            110,
        );
        assert_eq!((d.user_ticks, d.sys_ticks), (30, 3));
        assert_eq!(d.io.rchar, 600);
        assert_eq!(d.ctx_voluntary, 600);
        assert_eq!(d.processes, 2);
    }

    #[test]
    fn a_new_child_counts_whole_an_old_one_seen_late_only_from_now() {
        let mut t = TreeTracker::default();
        t.observe(&tree(vec![proc_(10, 1, 5, [0; 4], 0)]), 100);
        let d = t.observe(
            &tree(vec![
                proc_(10, 1, 5, [0; 4], 0),
                proc_(12, 10, 104, [7, 2, 0, 0], 0),
                proc_(13, 10, 50, [900, 90, 0, 0], 0),
            ]),
            110,
        );
        assert_eq!((d.user_ticks, d.sys_ticks), (7, 2));
        let d = t.observe(
            &tree(vec![
                proc_(10, 1, 5, [0; 4], 0),
                proc_(12, 10, 104, [8, 2, 0, 0], 0),
                proc_(13, 10, 50, [905, 90, 0, 0], 0),
            ]),
            120,
        );
        assert_eq!((d.user_ticks, d.sys_ticks), (6, 0));
    }

    #[test]
    fn reaped_children_count_once() {
        let mut t = TreeTracker::default();
        // Child 11 seen with 20 user ticks and 100 bytes read.
        t.observe(
            &tree(vec![
                proc_(10, 1, 5, [0; 4], 0),
                proc_(11, 10, 6, [20, 0, 0, 0], 100),
            ]),
            100,
        );
        // 11 ran 5 more ticks and read 50 more bytes, then was reaped (final 25 ticks,
        // 150 bytes); 12 started and was reaped inside the interval (8 ticks, 30 bytes).
        // The parent itself used 1 tick and read 10 bytes.
        let d = t.observe(
            &tree(vec![proc_(10, 1, 5, [1, 0, 25 + 8, 0], 10 + 150 + 30)]),
            110,
        );
        assert_eq!(d.user_ticks, 1 + 5 + 8);
        assert_eq!(d.io.rchar, 10 + 50 + 30);
        assert_eq!(d.processes, 1);
    }

    #[test]
    fn children_not_waited_for_never_make_the_sum_negative() {
        let mut t = TreeTracker::default();
        t.observe(
            &tree(vec![
                proc_(10, 1, 5, [0; 4], 0),
                proc_(11, 10, 6, [20, 0, 0, 0], 100),
            ]),
            100,
        );
        let d = t.observe(&tree(vec![proc_(10, 1, 5, [3, 0, 0, 0], 0)]), 110);
        assert_eq!(d.user_ticks, 3);
        assert_eq!(d.io.rchar, 0);
    }

    #[test]
    fn a_reused_pid_is_a_new_process() {
        let mut t = TreeTracker::default();
        t.observe(
            &tree(vec![
                proc_(10, 1, 5, [0; 4], 0),
                proc_(11, 10, 6, [500, 0, 0, 0], 0),
            ]),
            100,
        );
        let d = t.observe(
            &tree(vec![
                proc_(10, 1, 5, [0; 4], 0),
                proc_(11, 10, 105, [4, 0, 0, 0], 0),
            ]),
            110,
        );
        assert_eq!(d.user_ticks, 4);
    }

    #[test]
    fn unreadable_figures_keep_their_last_value() {
        let mut t = TreeTracker::default();
        t.observe(&tree(vec![proc_(10, 1, 5, [0; 4], 100)]), 100);
        let mut hidden = proc_(10, 1, 5, [0; 4], 0);
        hidden.io = None;
        hidden.switches = None;
        let d = t.observe(&tree(vec![hidden]), 110);
        assert_eq!((d.io.rchar, d.ctx_voluntary), (0, 0));
        let d = t.observe(&tree(vec![proc_(10, 1, 5, [0; 4], 130)]), 120);
        assert_eq!((d.io.rchar, d.ctx_voluntary), (30, 30));
    }

    #[test]
    fn the_busiest_thread_of_the_tree_is_picked() {
        let mut t = TreeTracker::default();
        let d = t.observe(
            &tree(vec![
                threaded(10, 5, &[(10, 5, 1000), (11, 6, 2000), (12, 7, 500)]),
                proc_(20, 10, 8, [100, 0, 0, 0], 0),
            ]),
            100,
        );
        assert_eq!(d.top_thread_ns, 0, "the first snapshot is a baseline");
        let d = t.observe(
            &tree(vec![
                threaded(10, 5, &[(10, 5, 1050), (11, 6, 2080), (12, 7, 590)]),
                proc_(20, 10, 8, [106, 0, 0, 0], 0),
            ]),
            110,
        );
        // Thread 12 moved 90 ms; the single-threaded process 60 ms; never a sum.
        assert_eq!(d.top_thread_ns, 90 * MS);
        let d = t.observe(
            &tree(vec![
                threaded(10, 5, &[(10, 5, 1050), (11, 6, 2080), (12, 7, 590)]),
                proc_(20, 10, 8, [110, 3, 0, 0], 0),
            ]),
            120,
        );
        assert_eq!(d.top_thread_ns, 70 * MS, "user plus system time");
    }

    #[test]
    fn a_new_thread_counts_whole_an_old_one_seen_late_only_from_now() {
        let mut t = TreeTracker::default();
        t.observe(
            &tree(vec![threaded(10, 5, &[(10, 5, 1000), (11, 6, 0)])]),
            100,
        );
        // 12 started after the previous snapshot: all its time is this interval's.
        // 13 started long ago (its thread was not listed last time): a baseline only.
        let d = t.observe(
            &tree(vec![threaded(
                10,
                5,
                &[(10, 5, 1010), (11, 6, 0), (12, 104, 70), (13, 50, 9000)],
            )]),
            110,
        );
        assert_eq!(d.top_thread_ns, 70 * MS);
        let d = t.observe(
            &tree(vec![threaded(
                10,
                5,
                &[(10, 5, 1020), (11, 6, 0), (12, 104, 75), (13, 50, 9040)],
            )]),
            120,
        );
        assert_eq!(d.top_thread_ns, 40 * MS);
        // A new process counts its threads whole.
        let d = t.observe(
            &tree(vec![
                threaded(
                    10,
                    5,
                    &[(10, 5, 1020), (11, 6, 0), (12, 104, 75), (13, 50, 9040)],
                ),
                threaded(30, 125, &[(30, 125, 20), (31, 126, 30)]),
            ]),
            130,
        );
        assert_eq!(d.top_thread_ns, 30 * MS);
    }

    #[test]
    fn a_vanished_thread_is_left_out() {
        let mut t = TreeTracker::default();
        t.observe(
            &tree(vec![threaded(
                10,
                5,
                &[(10, 5, 100), (11, 6, 5000), (12, 7, 0)],
            )]),
            100,
        );
        let d = t.observe(
            &tree(vec![threaded(
                10,
                5,
                &[(10, 5, 120), (11, 6, 5090), (12, 7, 0)],
            )]),
            110,
        );
        assert_eq!(d.top_thread_ns, 90 * MS);
        // 11 ended; 12's id was given to a new thread, which is not compared with the old.
        let d = t.observe(
            &tree(vec![threaded(10, 5, &[(10, 5, 135), (12, 115, 25)])]),
            120,
        );
        assert_eq!(d.top_thread_ns, 25 * MS);
        // The whole process gone: nothing.
        let d = t.observe(&tree(vec![proc_(20, 1, 2, [0; 4], 0)]), 130);
        assert_eq!(d.top_thread_ns, 0);
    }

    #[test]
    fn a_process_changing_between_one_thread_and_many_starts_its_threads_afresh() {
        let mut t = TreeTracker::default();
        // Single-threaded: the process's figure, which holds its ended threads' time too.
        t.observe(&tree(vec![proc_(10, 1, 5, [800, 0, 0, 0], 0)]), 100);
        // Now threaded: the main thread's own time (less than the process's) is a
        // baseline, the new thread counts whole.
        let d = t.observe(
            &tree(vec![threaded(10, 5, &[(10, 5, 3000), (11, 105, 40)])]),
            110,
        );
        assert_eq!(d.top_thread_ns, 40 * MS);
        // Back to one thread: the process's figure again, a baseline.
        let d = t.observe(&tree(vec![proc_(10, 1, 5, [900, 0, 0, 0], 0)]), 120);
        assert_eq!(d.top_thread_ns, 0);
        let d = t.observe(&tree(vec![proc_(10, 1, 5, [905, 0, 0, 0], 0)]), 130);
        assert_eq!(d.top_thread_ns, 50 * MS);
    }

    #[test]
    fn unreadable_threads_restart_from_a_baseline() {
        let mut t = TreeTracker::default();
        t.observe(&tree(vec![threaded(10, 5, &[(10, 5, 0), (11, 6, 0)])]), 100);
        let mut hidden = threaded(10, 5, &[]);
        hidden.thread_cpu = None;
        let d = t.observe(&tree(vec![hidden]), 110);
        assert_eq!(d.top_thread_ns, 0);
        // Not the change over two intervals, which would look like 200 % of a core; a
        // thread started meanwhile counts whole.
        let d = t.observe(
            &tree(vec![threaded(
                10,
                5,
                &[(10, 5, 200), (11, 6, 0), (12, 112, 30)],
            )]),
            120,
        );
        assert_eq!(d.top_thread_ns, 30 * MS);
        let d = t.observe(
            &tree(vec![threaded(
                10,
                5,
                &[(10, 5, 260), (11, 6, 0), (12, 112, 30)],
            )]),
            130,
        );
        assert_eq!(d.top_thread_ns, 60 * MS);
    }
}
