//! The supervisor: a small process between perfloop and a managed target, so that the
//! target never outlives perfloop.
//!
//! perfloop re-executes itself as `perfloop __supervise --parent-pid PID --log FILE
//! --grace-ms MS -- PROGRAM ARGS...`; the binary hands the arguments after
//! [`SUPERVISE_ARG`] to [`supervise`]. The supervisor then:
//!
//! 1. catches SIGTERM, SIGINT and SIGHUP (a flag set by `signal-hook`), asks the kernel for
//!    SIGTERM when its parent dies (`PR_SET_PDEATHSIG`), and checks that the parent is still
//!    the one perfloop named, which closes the race with a parent that died before that;
//! 2. becomes a child subreaper (`PR_SET_CHILD_SUBREAPER`): processes that the target's tree
//!    orphans (double forks, `setsid`) are re-parented to it instead of to init;
//! 3. starts the target in a process group of its own, stdin from /dev/null, stdout and
//!    stderr appended to the log file, and reports `pid N` on its stdout;
//! 4. waits (polling every 20 ms) until the target exits, a signal arrives, or perfloop
//!    writes `stop MS` on its stdin or closes it (which also happens when perfloop dies);
//! 5. stops the tree: SIGTERM to the target's process group and to every descendant found in
//!    /proc, a grace period, then SIGKILL to whatever remains, reaping everything;
//! 6. reports `exited code N` or `exited signal N` as soon as the target itself is reaped
//!    and exits with the target's status (the code, or 128 + the signal).
//!
//! Its own errors go to stderr, which perfloop points at the log file too, and, before the
//! target runs, as an `error MESSAGE` line on stdout.

use std::fs::OpenOptions;
use std::io::{self, BufRead, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::prctl;
use nix::sys::signal::{Signal, kill, killpg};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;
use std::os::unix::process::CommandExt;

use crate::exit::ExitInfo;
use crate::proctree;

/// The first argument that makes the perfloop binary run [`supervise`] with the rest.
pub const SUPERVISE_ARG: &str = "__supervise";

/// How often the supervisor looks at its children and its stop flag.
const POLL: Duration = Duration::from_millis(20);

/// How long the supervisor keeps sending SIGKILL before it gives up on a process.
const KILL_PATIENCE: Duration = Duration::from_secs(3);

/// Exit code when the supervisor's own arguments are wrong.
const EXIT_USAGE: i32 = 2;

/// Exit code when the supervisor could not set itself up or start the target.
const EXIT_CANNOT_START: i32 = 127;

/// The supervisor's arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Options {
    pub parent_pid: u32,
    pub log: PathBuf,
    pub grace: Duration,
    pub argv: Vec<String>,
}

impl Options {
    /// The arguments that [`Options::parse`] reads back.
    pub fn to_args(&self) -> Vec<String> {
        let mut args = vec![
            "--parent-pid".to_string(),
            self.parent_pid.to_string(),
            "--log".to_string(),
            self.log.to_string_lossy().into_owned(),
            "--grace-ms".to_string(),
            self.grace.as_millis().to_string(),
            "--".to_string(),
        ];
        args.extend(self.argv.iter().cloned());
        args
    }

    pub fn parse(args: &[String]) -> Result<Options, String> {
        let mut parent_pid = None;
        let mut log = None;
        let mut grace = None;
        let mut it = args.iter();
        while let Some(arg) = it.next() {
            let mut value = |name: &str| {
                it.next()
                    .cloned()
                    .ok_or_else(|| format!("{name} needs a value"))
            };
            match arg.as_str() {
                "--parent-pid" => {
                    let v = value("--parent-pid")?;
                    parent_pid = Some(v.parse().map_err(|_| format!("bad --parent-pid {v}"))?);
                }
                "--log" => log = Some(PathBuf::from(value("--log")?)),
                "--grace-ms" => {
                    let v = value("--grace-ms")?;
                    let ms: u64 = v.parse().map_err(|_| format!("bad --grace-ms {v}"))?;
                    grace = Some(Duration::from_millis(ms));
                }
                "--" => {
                    let argv: Vec<String> = it.cloned().collect();
                    if argv.is_empty() {
                        return Err("no target command after --".into());
                    }
                    return Ok(Options {
                        parent_pid: parent_pid.ok_or("--parent-pid is required")?,
                        log: log.ok_or("--log is required")?,
                        grace: grace.ok_or("--grace-ms is required")?,
                        argv,
                    });
                }
                other => return Err(format!("unexpected argument {other}")),
            }
        }
        Err("no target command (expected -- PROGRAM ARGS...)".into())
    }
}

/// Writes one protocol line to perfloop; a parent that is gone is not an error.
fn report(line: &str) {
    let mut out = io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// Writes a diagnostic to stderr (the log file).
fn diagnose(message: &str) {
    let _ = writeln!(io::stderr(), "perfloop supervisor: {message}");
}

/// Reports an error that prevents the target from running.
fn fail(message: &str) -> i32 {
    diagnose(message);
    report(&format!("error {message}"));
    EXIT_CANNOT_START
}

/// Runs the supervisor with the arguments that follow [`SUPERVISE_ARG`]; returns the exit
/// code for the process (the target's status: its code, or 128 + the signal that killed it).
/// See the module documentation for what it does.
pub fn supervise(args: &[String]) -> i32 {
    let options = match Options::parse(args) {
        Ok(o) => o,
        Err(e) => {
            diagnose(&format!("{e}; this mode is started by perfloop itself"));
            return EXIT_USAGE;
        }
    };
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [Signal::SIGTERM, Signal::SIGINT, Signal::SIGHUP] {
        if let Err(e) = signal_hook::flag::register(signal as i32, Arc::clone(&stop)) {
            return fail(&format!("cannot handle {}: {e}", signal.as_str()));
        }
    }
    if let Err(e) = prctl::set_pdeathsig(Signal::SIGTERM) {
        return fail(&format!(
            "cannot ask for a signal on the parent's death: {e}"
        ));
    }
    if std::os::unix::process::parent_id() != options.parent_pid {
        diagnose("perfloop exited before the target was started; not starting it");
        return EXIT_CANNOT_START;
    }
    if let Err(e) = prctl::set_child_subreaper(true) {
        return fail(&format!("cannot become a child subreaper: {e}"));
    }
    let grace_ms = Arc::new(AtomicU64::new(
        u64::try_from(options.grace.as_millis()).unwrap_or(u64::MAX),
    ));
    watch_control(Arc::clone(&stop), Arc::clone(&grace_ms));

    let log = match OpenOptions::new()
        .create(true)
        .append(true)
        .open(&options.log)
    {
        Ok(f) => f,
        Err(e) => return fail(&format!("cannot open {}: {e}", options.log.display())),
    };
    let stdout = match log.try_clone() {
        Ok(f) => f,
        Err(e) => return fail(&format!("cannot share {}: {e}", options.log.display())),
    };
    let program = &options.argv[0];
    let child = Command::new(program)
        .args(&options.argv[1..])
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(log)
        .process_group(0)
        .spawn();
    let target = match child {
        Ok(child) => child.id(),
        Err(e) => return fail(&format!("cannot run `{program}`: {e}")),
    };
    report(&format!("pid {target}"));

    let mut status = None;
    while status.is_none() && !stop.load(Ordering::SeqCst) {
        reap(target, &mut status);
        if status.is_none() {
            std::thread::sleep(POLL);
        }
    }
    let grace = Duration::from_millis(grace_ms.load(Ordering::SeqCst));
    stop_tree(target, grace, &mut status);
    match status {
        Some(info) => info.shell_code(),
        None => {
            diagnose("the target could not be reaped");
            report("exited unknown");
            1
        }
    }
}

/// Reads perfloop's commands on stdin: `stop MS` sets the grace period and stops; end of
/// input (perfloop closed the pipe or died) stops too.
fn watch_control(stop: Arc<AtomicBool>, grace_ms: Arc<AtomicU64>) {
    let spawned = std::thread::Builder::new()
        .name("control".into())
        .spawn(move || {
            for line in io::stdin().lock().lines() {
                let Ok(line) = line else { break };
                if let Some(ms) = line.strip_prefix("stop ") {
                    if let Ok(ms) = ms.trim().parse() {
                        grace_ms.store(ms, Ordering::SeqCst);
                    }
                    break;
                }
            }
            stop.store(true, Ordering::SeqCst);
        });
    if let Err(e) = spawned {
        // Signals and the parent-death signal still stop the target.
        diagnose(&format!("cannot watch stdin: {e}"));
    }
}

/// Reaps every child that has exited; records (and reports) the target's end.
fn reap(target: u32, status: &mut Option<ExitInfo>) {
    loop {
        let (pid, info) = match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(pid, code)) => (pid, ExitInfo::code(code)),
            Ok(WaitStatus::Signaled(pid, signal, _)) => (pid, ExitInfo::signal(signal as i32)),
            Ok(WaitStatus::StillAlive) | Err(Errno::ECHILD) => return,
            Err(Errno::EINTR) => continue,
            Ok(_) => continue,
            Err(e) => {
                diagnose(&format!("waitpid: {e}"));
                return;
            }
        };
        if pid.as_raw() as u32 == target && status.is_none() {
            *status = Some(info);
            report(&format!("exited {}", info.to_wire()));
        }
    }
}

/// The processes still alive in the target's group or below the supervisor.
fn remaining(target: u32) -> Vec<u32> {
    let mut pids: Vec<u32> = proctree::descendants(std::process::id())
        .into_iter()
        .chain(proctree::group_members(target))
        .filter(|p| !p.is_zombie())
        .map(|p| p.pid)
        .collect();
    pids.sort_unstable();
    pids.dedup();
    pids
}

/// Sends `signal` to the target's process group and to every live descendant.
fn signal_tree(target: u32, signal: Signal) {
    let _ = killpg(Pid::from_raw(target as i32), signal);
    for pid in remaining(target) {
        let _ = kill(Pid::from_raw(pid as i32), signal);
    }
}

/// SIGTERM, up to `grace` for the tree to end, then SIGKILL until nothing is left (bounded),
/// reaping all along.
fn stop_tree(target: u32, grace: Duration, status: &mut Option<ExitInfo>) {
    reap(target, status);
    if remaining(target).is_empty() {
        return;
    }
    signal_tree(target, Signal::SIGTERM);
    let deadline = Instant::now() + grace;
    loop {
        reap(target, status);
        if remaining(target).is_empty() {
            reap(target, status);
            return;
        }
        if Instant::now() >= deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(5).min(grace));
    }
    let deadline = Instant::now() + KILL_PATIENCE;
    loop {
        signal_tree(target, Signal::SIGKILL);
        std::thread::sleep(Duration::from_millis(5));
        reap(target, status);
        let left = remaining(target);
        if left.is_empty() {
            return;
        }
        if Instant::now() >= deadline {
            diagnose(&format!("processes {left:?} survived SIGKILL"));
            return;
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn options_round_trip() {
        let o = Options {
            parent_pid: 42,
            log: PathBuf::from("/tmp/a log.txt"),
            grace: Duration::from_millis(1500),
            argv: vec!["sh".into(), "-c".into(), "sleep 1 -- x".into()],
        };
        assert_eq!(Options::parse(&o.to_args()), Ok(o));
    }

    #[test]
    fn bad_options_are_refused() {
        let args = |s: &[&str]| s.iter().map(|a| a.to_string()).collect::<Vec<_>>();
        assert!(Options::parse(&args(&[])).is_err());
        assert!(Options::parse(&args(&["--log", "x", "--grace-ms", "1", "--", "a"])).is_err());
        assert!(Options::parse(&args(&["--parent-pid", "x"])).is_err());
        assert!(
            Options::parse(&args(&[
                "--parent-pid",
                "1",
                "--log",
                "l",
                "--grace-ms",
                "1",
                "--"
            ]))
            .is_err()
        );
        assert!(Options::parse(&args(&["--bogus"])).is_err());
        assert_eq!(supervise(&args(&["--bogus"])), EXIT_USAGE);
    }
}
