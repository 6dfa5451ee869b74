//! The threads of one process: context switches and CPU time per thread.
//!
//! A single-threaded process's thread is the process, whose `stat` (already read) gives
//! its CPU time. A multi-threaded one reads each thread's `task/TID/status` and
//! `task/TID/schedstat` (run time in nanoseconds, exact), or `task/TID/stat` (whole clock
//! ticks) where the kernel keeps no scheduler statistics; see [`super`] for the method.

use std::fs::{self, File};

use super::held::{FILES_PER_THREAD, Failure, Held, MAX_HELD_THREADS, Task, read_whole};
use super::parse::{parse_schedstat, parse_stat, parse_switches};
use super::{ProcStat, ThreadCpu, ThreadSwitches, ThreadTimes};

/// Where the CPU time of the threads of a multi-threaded process is read.
#[derive(Debug, Clone, Copy)]
pub(super) struct ThreadClock {
    /// Whether `task/TID/schedstat` gives the run time; `task/TID/stat` is read otherwise.
    pub(super) schedstat: bool,
    clk_tck: u64,
}

impl ThreadClock {
    /// `schedstat` when the kernel keeps scheduler statistics: the file exists (only with
    /// `CONFIG_SCHED_INFO`) and shows this thread, which is running, as having been put
    /// on a CPU (a kernel that keeps none writes `0 0 0`).
    pub(super) fn detect(clk_tck: u64) -> ThreadClock {
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

    /// The per-thread CPU file, as named in
    /// [`TreeSnapshot::denied`](super::TreeSnapshot::denied).
    pub(super) fn file(self) -> &'static str {
        if self.schedstat {
            "task/*/schedstat"
        } else {
            "task/*/stat"
        }
    }
}

/// What the threads of one process show.
#[derive(Debug)]
pub(super) struct ThreadReadings {
    /// Context switches per thread; `None` when refused.
    pub(super) switches: Option<Vec<ThreadSwitches>>,
    /// CPU time per thread; `None` when refused.
    pub(super) cpu: Option<ThreadTimes>,
    /// Descriptors newly held.
    pub(super) opened: usize,
}

/// Context switches and CPU time per thread; `None` when the process has gone. A
/// single-threaded process reads its `status`, and its `stat` (already read) gives its
/// thread's CPU time. A multi-threaded one reads each thread's `status` and `schedstat`
/// (or `stat`), listing the threads again when their count changes or one has gone.
/// Thread files are held while `room` and [`MAX_HELD_THREADS`] allow. Refused files are
/// noted in `denied`.
pub(super) fn read_threads(
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
            match read_thread_cpu(pid, task, buf, keep, clock) {
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
fn read_thread_cpu(
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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use std::io::{BufRead, BufReader};
    use std::time::Duration;

    use super::*;
    use crate::proc::ProcReader;
    use crate::proc::test_support::{Group, read_until};

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
}
