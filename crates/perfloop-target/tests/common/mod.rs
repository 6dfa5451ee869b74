//! Helpers for the lifecycle tests: specs supervised by the crate's helper binary, /proc
//! queries, bounded waits, free ports and a guard that kills what a test leaves behind.

#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    missing_docs
)]

use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use perfloop_target::{CommandTemplate, HelperExe, TargetSpec};

/// The crate's helper binary, which dispatches `__supervise` like perfloop.
pub fn helper() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_perfloop-target-helper"))
}

/// A fresh log path for this test process.
pub fn temp_log(name: &str) -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let path = std::env::temp_dir().join(format!(
        "perfloop-target-test-{}-{name}-{n}.log",
        std::process::id()
    ));
    let _ = std::fs::remove_file(&path);
    path
}

/// A spec for `command`, supervised by the helper, with a 1 s grace period and its own log.
pub fn spec(command: &str) -> TargetSpec {
    let mut spec = TargetSpec::new(CommandTemplate::parse(command).unwrap());
    spec.supervisor = HelperExe::Program(helper());
    spec.grace = Duration::from_secs(1);
    spec.ready_timeout = Duration::from_secs(10);
    spec.log_path = Some(temp_log("target"));
    spec
}

/// `(pid, ppid, pgrp, state)` of a process, from /proc.
pub fn stat(pid: u32) -> Option<(u32, u32, u32, char)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = text.rsplit_once(')')?;
    let mut f = rest.split_whitespace();
    let state = f.next()?.chars().next()?;
    let ppid = f.next()?.parse().ok()?;
    let pgrp = f.next()?.parse().ok()?;
    Some((pid, ppid, pgrp, state))
}

/// Every live (not zombie) process: `(pid, ppid, pgrp)`.
pub fn processes() -> Vec<(u32, u32, u32)> {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(stat)
        .filter(|p| p.3 != 'Z' && p.3 != 'X')
        .map(|(pid, ppid, pgrp, _)| (pid, ppid, pgrp))
        .collect()
}

/// Whether `pid` is alive (exists and is not a zombie).
pub fn alive(pid: u32) -> bool {
    stat(pid).is_some_and(|p| p.3 != 'Z' && p.3 != 'X')
}

/// Live members of the process group `pgid`.
pub fn group(pgid: u32) -> Vec<u32> {
    processes()
        .into_iter()
        .filter(|p| p.2 == pgid)
        .map(|p| p.0)
        .collect()
}

/// Live processes whose command line contains `needle`.
pub fn with_cmdline(needle: &str) -> Vec<u32> {
    processes()
        .into_iter()
        .map(|p| p.0)
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|b| {
                String::from_utf8_lossy(&b)
                    .replace('\0', " ")
                    .contains(needle)
            })
        })
        .collect()
}

/// Live processes whose command line is exactly `cmd` (arguments joined by spaces).
pub fn exactly(cmd: &str) -> Vec<u32> {
    processes()
        .into_iter()
        .map(|p| p.0)
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|b| {
                let args: Vec<String> = b
                    .split(|c| *c == 0)
                    .filter(|a| !a.is_empty())
                    .map(|a| String::from_utf8_lossy(a).into_owned())
                    .collect();
                args.join(" ") == cmd
            })
        })
        .collect()
}

/// Polls `cond` every 10 ms for at most `limit`; whether it became true.
pub fn wait_until(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Kills, when dropped, every process whose command line contains its marker (a unique
/// argument such as `sleep 61.01`), so that a failing test leaves nothing running.
pub struct Reaper(pub &'static str);

impl Drop for Reaper {
    fn drop(&mut self) {
        for pid in with_cmdline(self.0) {
            let _ = kill(Pid::from_raw(pid as i32), Signal::SIGKILL);
        }
    }
}
