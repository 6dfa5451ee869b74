//! The monitor against real child processes: one that burns CPU, one that sleeps, one that
//! holds a known amount of memory, a shell with two busy children, a shell whose
//! short-lived children come and go faster than the interval, a target that exits
//! mid-run, threads busy and idle, and pids that are not processes.
//!
//! CPU figures are checked against the kernel's own counters for the same processes
//! (read independently before and after), with bounds generous enough for a loaded
//! machine; nothing here asserts speed. Every child runs in its own process group, which
//! is killed when the test ends, pass or fail.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use perfloop_monitor::proc::{ProcReader, TreeSnapshot};
use perfloop_monitor::{
    MonitorError, Recording, Sample, Sampler, SamplerConfig, SamplerHandle, pid_exists,
};

const INTERVAL: Duration = Duration::from_millis(100);

/// A child in its own process group; the whole group is killed on drop.
struct Group {
    child: Child,
}

impl Group {
    fn spawn(program: &str, args: &[&str]) -> Group {
        let child = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .process_group(0)
            .spawn()
            .unwrap();
        Group { child }
    }

    fn sh(script: &str) -> Group {
        Group::spawn("sh", &["-c", script])
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        let _ = killpg(Pid::from_raw(self.child.id() as i32), Signal::SIGKILL);
        let _ = self.child.wait();
    }
}

fn start(pid: Option<u32>) -> SamplerHandle {
    start_every(pid, INTERVAL)
}

fn start_every(pid: Option<u32>, interval: Duration) -> SamplerHandle {
    let mut config = SamplerConfig::new(Instant::now());
    config.pid = pid;
    config.interval = interval;
    Sampler::start(config).unwrap()
}

/// Waits for the child to print `ready` (its threads started, its start-up done).
fn wait_ready(group: &mut Group) {
    let mut line = String::new();
    BufReader::new(group.child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "ready");
}

/// A Python process with three threads asleep and a main thread that spins when `busy`
/// (or sleeps too).
fn python_threads(busy: bool) -> Group {
    let main = if busy {
        "while True: pass"
    } else {
        "time.sleep(30)"
    };
    let mut group = Group::spawn(
        "python3",
        &[
            "-c",
            &format!(
                "import threading, time\n\
                 for _ in range(3): threading.Thread(target=time.sleep, args=(30,), daemon=True).start()\n\
                 print('ready', flush=True)\n\
                 {main}\n"
            ),
        ],
    );
    wait_ready(&mut group);
    group
}

/// About 1.5 s of 200 ms samples of each of `pids`, recorded side by side.
fn record_threads(pids: &[u32]) -> Vec<Recording> {
    let handles: Vec<SamplerHandle> = pids
        .iter()
        .map(|&pid| start_every(Some(pid), Duration::from_millis(200)))
        .collect();
    for h in &handles {
        wait_for(h, |s| s.t_s >= 1.5);
    }
    handles.into_iter().map(SamplerHandle::stop).collect()
}

/// Waits (polling, with a deadline) until the latest sample satisfies `done`.
fn wait_for(handle: &SamplerHandle, done: impl Fn(&Sample) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if handle.latest().is_some_and(|s| done(&s)) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "condition not reached: {:?}",
            handle.latest()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Records about `seconds` of samples of `pid`.
fn record(pid: u32, seconds: f64) -> Recording {
    let handle = start(Some(pid));
    wait_for(&handle, |s| s.t_s >= seconds);
    handle.stop()
}

/// Total CPU seconds (own and reaped children's) of every process in the tree now.
fn tree_cpu_s(reader: &mut ProcReader, root: u32) -> f64 {
    let tree: TreeSnapshot = reader.read_tree(root);
    let ticks: u64 = tree
        .processes
        .iter()
        .map(|p| p.stat.cpu.utime + p.stat.cpu.stime + p.stat.cpu.cutime + p.stat.cpu.cstime)
        .sum();
    ticks as f64 / reader.clk_tck() as f64
}

/// Bytes read (`rchar`) by every process in the tree now, reaped children included.
fn tree_rchar(reader: &mut ProcReader, root: u32) -> u64 {
    reader
        .read_tree(root)
        .processes
        .iter()
        .filter_map(|p| p.io)
        .map(|io| io.rchar)
        .sum()
}

/// CPU seconds (user + system) of one thread now, from its `stat` (fields 14 and 15).
fn thread_cpu_s(reader: &ProcReader, pid: u32, tid: u32) -> f64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/stat")).unwrap();
    let fields: Vec<&str> = text[text.rfind(')').unwrap() + 1..]
        .split_ascii_whitespace()
        .collect();
    // Field n of proc(5) is at index n - 3 after the command name.
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    ticks as f64 / reader.clk_tck() as f64
}

/// CPU seconds in the recording, from the per-sample percentages.
fn recorded_cpu_s(rec: &Recording) -> f64 {
    rec.samples
        .iter()
        .map(|s| s.cpu_pct.unwrap_or(0.0) / 100.0 * s.interval_s)
        .sum()
}

/// The recording's CPU seconds agree with the kernel's counters over the same span: at
/// most the last partial interval (< 100 ms) and a few ticks apart.
fn assert_cpu_matches(rec: &Recording, kernel_s: f64) {
    let recorded = recorded_cpu_s(rec);
    assert!(
        (recorded - kernel_s).abs() <= 0.15 + 0.1 * kernel_s,
        "recorded {recorded:.3} CPU-s, kernel {kernel_s:.3} CPU-s: {:?}",
        rec.summary
    );
}

fn wait_tree_size(reader: &mut ProcReader, root: u32, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while reader.read_tree(root).processes.len() < n {
        assert!(
            Instant::now() < deadline,
            "the tree never reached {n} processes"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_busy_child_shows_its_cpu() {
    let child = Group::sh("while :; do :; done");
    let mut reader = ProcReader::new().unwrap();
    let before = tree_cpu_s(&mut reader, child.pid());
    let rec = record(child.pid(), 1.2);
    let after = tree_cpu_s(&mut reader, child.pid());

    assert_cpu_matches(&rec, after - before);
    let s = &rec.summary;
    // A busy loop on an idle core shows ~100 %; the bound leaves room for a loaded machine.
    assert!(s.cpu_pct_mean.unwrap() > 30.0, "{s:?}");
    assert!(
        s.cpu_pct_max.unwrap() <= 100.0 * f64::from(s.cores) + 15.0,
        "{s:?}"
    );
    assert!(
        s.cpu_user_pct_mean.unwrap() > s.cpu_sys_pct_mean.unwrap(),
        "{s:?}"
    );
    assert!(
        (s.cpu_machine_pct_mean.unwrap() - s.cpu_pct_mean.unwrap() / f64::from(s.cores)).abs()
            < 1e-6
    );
    // One single-threaded process: its thread is all of it (both from the same ticks).
    assert!(
        (s.top_thread_cpu_pct_mean.unwrap() - s.cpu_pct_mean.unwrap()).abs() < 1e-6,
        "{s:?}"
    );
    assert_eq!(s.processes_max.unwrap(), 1);
    assert_eq!(s.target_pid, Some(child.pid()));
    assert_eq!(s.target_exited_at_s, None);
    assert!(s.samples >= 10, "{s:?}");
    assert!(rec.errors.is_empty(), "{:?}", rec.errors);
    for w in rec.samples.windows(2) {
        assert!(w[0].t_s < w[1].t_s);
    }
}

#[test]
fn a_sleeping_child_costs_nothing() {
    let child = Group::spawn("sleep", &["30"]);
    let rec = record(child.pid(), 0.5);
    let s = &rec.summary;
    assert!(s.cpu_pct_mean.unwrap() < 5.0, "{s:?}");
    assert_eq!(s.processes_max.unwrap(), 1);
    assert_eq!(s.threads_max.unwrap(), 1);
    assert!(s.fds_max.unwrap() >= 3, "{s:?}");
    assert!(
        s.rss_max_mb.unwrap() > 0.0 && s.rss_max_mb.unwrap() < 50.0,
        "{s:?}"
    );
    assert!(s.ctx_involuntary_total.unwrap() < 50, "{s:?}");
    assert!(s.host_mem_total_mb > 0.0 && s.host_mem_used_max_mb <= s.host_mem_total_mb);
    assert!(
        s.host_cpu_pct_mean >= 0.0 && s.host_cpu_pct_max <= 100.0,
        "{s:?}"
    );
}

#[test]
fn a_child_holding_200_mib_shows_it() {
    let mut child = Group::spawn(
        "python3",
        &[
            "-c",
            "import sys, time\n\
             b = bytearray(200 * 1024 * 1024)\n\
             b[::4096] = b'\\x01' * (len(b) // 4096)  # touch every page\n\
             print('ready', flush=True)\n\
             time.sleep(30)\n",
        ],
    );
    let mut line = String::new();
    BufReader::new(child.child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "ready");
    let rec = record(child.pid(), 0.3);
    let s = &rec.summary;
    // 200 MiB of touched pages plus the interpreter (about 10 MiB).
    assert!((195.0..=280.0).contains(&s.rss_max_mb.unwrap()), "{s:?}");
    assert!(s.rss_mean_mb.unwrap() > 195.0, "{s:?}");
}

#[test]
fn a_process_tree_is_summed() {
    let child = Group::sh("while :; do :; done & while :; do :; done & wait");
    let mut reader = ProcReader::new().unwrap();
    wait_tree_size(&mut reader, child.pid(), 3);
    let before = tree_cpu_s(&mut reader, child.pid());
    let rec = record(child.pid(), 1.2);
    let after = tree_cpu_s(&mut reader, child.pid());

    assert_cpu_matches(&rec, after - before);
    let s = &rec.summary;
    assert_eq!(s.processes_max.unwrap(), 3, "{s:?}");
    assert_eq!(s.threads_max.unwrap(), 3, "{s:?}");
    // Two busy loops: up to 200 % on two idle cores; the bound leaves room for load.
    assert!(s.cpu_pct_mean.unwrap() > 50.0, "{s:?}");
    // The busiest thread is one loop, never the sum of two: at least half the tree's
    // CPU in every sample (the same ticks), at most one core.
    assert!(
        s.top_thread_cpu_pct_mean.unwrap() >= s.cpu_pct_mean.unwrap() / 2.0 - 1.0,
        "{s:?}"
    );
    assert!(
        s.top_thread_cpu_pct_mean.unwrap() < 0.8 * s.cpu_pct_mean.unwrap(),
        "{s:?}"
    );
    assert!(s.top_thread_cpu_pct_max.unwrap() <= 100.0 + 15.0, "{s:?}");
}

#[test]
fn one_busy_thread_among_idle_ones_is_the_busiest() {
    let busy = python_threads(true);
    let pid = busy.pid();
    let reader = ProcReader::new().unwrap();
    let before = thread_cpu_s(&reader, pid, pid);
    let rec = record_threads(&[pid]).remove(0);
    let kernel = thread_cpu_s(&reader, pid, pid) - before;
    let s = &rec.summary;
    assert_eq!(s.threads_max.unwrap(), 4, "{s:?}");
    assert!(s.samples >= 6, "{s:?}");
    // About 100 % on an idle core, less on a loaded machine (tests run side by side): the
    // figure must follow what the kernel counted for the spinning thread, which is the
    // busiest in every sample, over the same span (at most the last partial interval and
    // a few ticks apart).
    assert!(
        kernel > 0.15,
        "the thread ran too little to judge: {kernel} s"
    );
    let recorded: f64 = rec
        .samples
        .iter()
        .map(|x| x.top_thread_cpu_pct.unwrap_or(0.0) / 100.0 * x.interval_s)
        .sum();
    assert!(
        (recorded - kernel).abs() <= 0.15 + 0.1 * kernel,
        "recorded {recorded:.3} CPU-s, kernel {kernel:.3} CPU-s: {s:?}"
    );
    // The idle threads add nothing: the busiest thread is nearly all of the process.
    // (Nanoseconds against ticks, and the kernel updates a running thread's time at its
    // scheduler tick: a little apart, and never more than one core.)
    assert!(
        s.top_thread_cpu_pct_mean.unwrap() > 0.9 * s.cpu_pct_mean.unwrap() - 2.0,
        "{s:?}"
    );
    assert!(
        s.top_thread_cpu_pct_mean.unwrap() <= s.cpu_pct_mean.unwrap() + 10.0,
        "{s:?}"
    );
    assert!(s.top_thread_cpu_pct_max.unwrap() <= 100.0 + 15.0, "{s:?}");
    assert!(rec.errors.is_empty(), "{:?}", rec.errors);
}

#[test]
fn idle_processes_have_no_busy_thread() {
    let single = Group::spawn("sleep", &["5"]);
    let threaded = python_threads(false);
    let recs = record_threads(&[single.pid(), threaded.pid()]);
    for (rec, threads) in recs.iter().zip([1, 4]) {
        let s = &rec.summary;
        assert_eq!(s.threads_max.unwrap(), threads, "{s:?}");
        assert!(s.samples >= 6, "{s:?}");
        assert!(s.top_thread_cpu_pct_mean.unwrap() < 10.0, "{s:?}");
        assert!(rec.errors.is_empty(), "{:?}", rec.errors);
    }
}

#[test]
fn short_lived_children_are_counted_through_their_parent() {
    // Each child burns some tens of milliseconds and exits, so most are never seen by a
    // sample: their CPU reaches the tree through the parent's reaped-children time.
    let child =
        Group::sh("while :; do sh -c 'i=0; while [ $i -lt 10000 ]; do i=$((i+1)); done'; done");
    let mut reader = ProcReader::new().unwrap();
    let before = tree_cpu_s(&mut reader, child.pid());
    let rec = record(child.pid(), 1.2);
    let after = tree_cpu_s(&mut reader, child.pid());
    assert_cpu_matches(&rec, after - before);
    assert!(
        rec.summary.cpu_pct_mean.unwrap() > 30.0,
        "{:?}",
        rec.summary
    );
}

#[test]
fn io_of_short_lived_children_counts_once() {
    // Each child reads 5 MB through a grandchild it waits for, then lingers long enough to
    // be seen by a sample before its own parent waits for it: without care its bytes
    // would be counted once when seen and again in the parent's counters.
    let child =
        Group::sh("while :; do sh -c 'head -c 5000000 /dev/zero > /dev/null; sleep 0.15'; done");
    let mut reader = ProcReader::new().unwrap();
    let before = tree_rchar(&mut reader, child.pid());
    let rec = record(child.pid(), 1.0);
    let after = tree_rchar(&mut reader, child.pid());
    let kernel = (after - before) as f64;
    let recorded = rec.summary.rchar_total.unwrap() as f64;
    assert!(
        kernel > 10e6,
        "the children read too little to judge: {kernel}"
    );
    // Apart by at most the reads of the last partial interval and those of the processes
    // that end between the reads at either end.
    assert!(
        (recorded - kernel).abs() <= 0.2 * kernel + 6e6,
        "recorded {recorded}, kernel {kernel}"
    );
    assert!(rec.summary.wchar_total.unwrap() > 0);
    let sum: f64 = rec
        .samples
        .iter()
        .map(|s| s.rchar_per_s.unwrap_or(0.0) * s.interval_s)
        .sum();
    assert!((sum - recorded).abs() <= 0.01 * recorded + 1.0);
}

#[test]
fn an_orphan_adopted_by_a_subreaper_in_the_tree_stays_in_it() {
    // The root makes itself a subreaper (PR_SET_CHILD_SUBREAPER = 36), then starts a
    // shell that leaves a `sleep` behind and exits: the sleep is adopted by the root.
    let child = Group::spawn(
        "python3",
        &[
            "-c",
            "import ctypes, subprocess, time\n\
             ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)\n\
             subprocess.run(['sh', '-c', 'sleep 30 & sleep 0.5'])\n\
             time.sleep(30)\n",
        ],
    );
    let handle = start(Some(child.pid()));
    // The root, the shell and its two sleeps; then the root and the adopted sleep.
    wait_for(&handle, |s| s.processes == Some(4));
    wait_for(&handle, |s| s.processes == Some(2));
    let rec = handle.stop();
    assert!(rec.summary.processes_max.unwrap() >= 4);
}

#[test]
fn a_target_that_exits_leaves_the_host_sampled() {
    let mut child = Group::spawn("sleep", &["0.3"]);
    let handle = start(Some(child.pid()));
    child.child.wait().unwrap();
    wait_for(&handle, |s| s.processes == Some(0));
    // Sampling goes on for the host after the target is gone.
    wait_for(&handle, |s| s.processes == Some(0) && s.t_s > 0.1);
    let rec = handle.stop();
    let s = &rec.summary;
    let exited = s.target_exited_at_s.expect("the exit is noted");
    assert!(exited > 0.0, "{s:?}");
    let last = rec.samples.last().unwrap();
    assert!(last.t_s >= exited);
    assert_eq!((last.processes, last.cpu_pct), (Some(0), None));
    assert!(last.host_mem_total_mb > 0.0);
    assert_eq!(s.processes_max.unwrap(), 1);
    assert!(
        rec.errors.iter().any(|e| e.contains("exited")),
        "{:?}",
        rec.errors
    );
}

#[test]
fn pids_that_are_not_processes() {
    let mut gone = Command::new("true").spawn().unwrap();
    let pid = gone.id();
    gone.wait().unwrap();
    assert!(!pid_exists(pid));
    let mut config = SamplerConfig::new(Instant::now());
    config.pid = Some(pid);
    assert!(matches!(
        Sampler::start(config),
        Err(MonitorError::NoSuchProcess(p)) if p == pid
    ));
    assert!(pid_exists(std::process::id()));
    assert!(!pid_exists(0));
}

#[test]
fn without_a_target_host_and_generator_are_sampled() {
    let handle = start(None);
    // Spin this thread so that the generator's CPU shows.
    let t0 = Instant::now();
    let mut x = 0u64;
    while t0.elapsed() < Duration::from_millis(400) {
        x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
    }
    std::hint::black_box(x);
    wait_for(&handle, |s| s.t_s >= 0.45);
    let rec = handle.stop();
    let s = &rec.summary;
    assert_eq!(
        (s.target_pid, s.processes_max, s.cpu_pct_max),
        (None, None, None)
    );
    assert!(s.samples >= 4);
    assert!(s.generator_cpu_pct_max > 20.0, "{s:?}");
    assert!(s.monitor_cpu_pct < s.generator_cpu_pct_mean, "{s:?}");
    assert!(rec.samples.iter().all(|s| s.host_mem_total_mb > 0.0));
}

#[test]
fn stop_does_not_wait_for_the_next_tick() {
    let mut config = SamplerConfig::new(Instant::now());
    config.interval = Duration::from_secs(600);
    let t0 = Instant::now();
    let rec = Sampler::start(config).unwrap().stop();
    // Waiting for the tick would take ten minutes.
    assert!(t0.elapsed() < Duration::from_secs(60));
    assert!(rec.summary.samples <= 1);
}
