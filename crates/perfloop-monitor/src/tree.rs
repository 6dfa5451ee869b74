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

use std::collections::HashMap;

use crate::proc::{CpuTicks, IoCounters, ProcessSnapshot, ThreadSwitches, TreeSnapshot};

/// What the tracker keeps of a process between snapshots.
#[derive(Debug, Clone)]
struct Known {
    start_time: u64,
    ppid: u32,
    cpu: CpuTicks,
    io: Option<IoCounters>,
    switches: Option<Vec<ThreadSwitches>>,
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
        }
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
}
