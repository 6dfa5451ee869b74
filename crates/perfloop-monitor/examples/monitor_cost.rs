//! The monitor's own cost: samples a busy process tree of 20 processes (a shell with 18
//! busy shell loops and a Python process with 16 threads under it) every 100 ms for 10 s,
//! and prints the sampling thread's CPU time (its thread CPU clock) as % of one core, with
//! what it measured alongside.
//!
//! ```text
//! cargo run --release -p perfloop-monitor --example monitor_cost [-- SECONDS BUSY]
//! ```

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    missing_docs
)]

use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use perfloop_monitor::proc::ProcReader;
use perfloop_monitor::{Sampler, SamplerConfig};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let seconds: f64 = args.first().map_or(10.0, |s| s.parse().expect("SECONDS"));
    let busy: usize = args.get(1).map_or(18, |s| s.parse().expect("BUSY"));

    // The interpreter itself, not a version manager's wrapper script around it.
    let python = Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .expect("python3");
    let python = String::from_utf8(python.stdout).unwrap().trim().to_owned();

    let mut script = String::new();
    for _ in 0..busy {
        script.push_str("while :; do :; done & ");
    }
    script.push_str(
        &format!(
            "{python} -c 'import threading, time\n\
             for _ in range(15): threading.Thread(target=time.sleep, args=(3600,), daemon=True).start()\n\
             time.sleep(3600)' & wait"
        ),
    );
    let mut child = Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::null())
        .process_group(0)
        .spawn()
        .expect("spawn the tree");
    let root = child.id();

    // Wait until the whole tree is up: the shell, the loops and the 16 Python threads.
    let mut reader = ProcReader::new().unwrap();
    let (processes, threads) = (busy + 2, busy as u32 + 17);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let tree = reader.read_tree(root);
        let t: u32 = tree.processes.iter().map(|p| p.stat.threads).sum();
        if (tree.processes.len() == processes && t == threads) || Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let machine_processes = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().parse::<u32>().is_ok())
        .count();

    let mut config = SamplerConfig::new(Instant::now());
    config.pid = Some(root);
    config.interval = Duration::from_millis(100);
    let handle = Sampler::start(config).unwrap();
    std::thread::sleep(Duration::from_secs_f64(seconds));
    let rec = handle.stop();

    let _ = killpg(Pid::from_raw(i32::try_from(root).unwrap()), Signal::SIGKILL);
    let _ = child.wait();

    let s = &rec.summary;
    let per_sample_us = s.monitor_cpu_pct / 100.0 * s.duration_s / s.samples.max(1) as f64 * 1e6;
    println!(
        "tree: {} processes, {} threads, target CPU {:.0} % of one core (mean), busiest \
         thread {:.0} %; {machine_processes} processes on the machine, {} cores",
        s.processes_max.unwrap_or(0),
        s.threads_max.unwrap_or(0),
        s.cpu_pct_mean.unwrap_or(0.0),
        s.top_thread_cpu_pct_mean.unwrap_or(0.0),
        s.cores
    );
    println!(
        "sampled every {:.0} ms for {:.1} s: {} samples",
        s.interval_s * 1000.0,
        s.duration_s,
        s.samples
    );
    println!(
        "monitor thread CPU: {:.2} % of one core ({per_sample_us:.0} µs per sample)",
        s.monitor_cpu_pct
    );
    if !rec.errors.is_empty() {
        println!("errors: {:?}", rec.errors);
    }
}
