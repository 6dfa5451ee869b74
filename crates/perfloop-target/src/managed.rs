//! Managed targets: perfloop's side of the lifecycle.
//!
//! [`ManagedTarget::start`] fills the command template, starts the supervisor (see
//! [`crate::supervisor`]) which starts the target in its own process group with stdout and
//! stderr appended to a log file, learns the target's pid, and waits for readiness. The
//! target is stopped — SIGTERM to its whole tree, a grace period, SIGKILL — by
//! [`ManagedTarget::stop`], by `Drop`, and, should perfloop die (even by SIGKILL), by the
//! supervisor, which gets SIGTERM from the kernel (`PR_SET_PDEATHSIG`) and sees its stdin
//! close.
//!
//! The program of the target is found through `PATH`; a relative program path (`./server`)
//! is relative to [`TargetSpec::cwd`] when it is set. A target must run in the foreground: a
//! target that daemonises (forks and exits) counts as exited, and what it left behind is
//! stopped.

use std::fs::OpenOptions;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use std::os::unix::process::CommandExt;

use crate::error::{LogTail, TargetError};
use crate::exit::ExitInfo;
use crate::helper_exe::{HelperExe, absolute};
use crate::logfile;
use crate::ready::{Probe, Ready};
use crate::spawner;
use crate::supervisor::{Options, SUPERVISE_ARG};
use crate::template::{CommandTemplate, Knobs, knob_env};

/// The default time a target has to become ready.
pub const DEFAULT_READY_TIMEOUT: Duration = Duration::from_secs(30);

/// The default time between SIGTERM and SIGKILL when a target is stopped.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(5);

/// How many log lines an error message carries.
const ERROR_LINES: usize = 20;

/// How often readiness is probed.
const READY_POLL: Duration = Duration::from_millis(25);

/// The longest single readiness probe.
const PROBE_TIMEOUT: Duration = Duration::from_millis(500);

/// How long the supervisor has to report the target's pid.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// How long, beyond the grace period, the supervisor has to finish a stop.
const STOP_MARGIN: Duration = Duration::from_secs(5);

/// What to start and how.
#[derive(Debug, Clone)]
pub struct TargetSpec {
    /// The command template (`--target-cmd`).
    pub command: CommandTemplate,
    /// The knob values that fill the template.
    pub knobs: Knobs,
    /// Whether knob values are also exported as `PERFLOOP_KNOB_<NAME>` variables.
    pub knob_env: bool,
    /// More environment variables for the target.
    pub env: Vec<(String, String)>,
    /// The target's working directory; perfloop's when `None`.
    pub cwd: Option<PathBuf>,
    /// The log file for the target's stdout and stderr, appended to; a new file in the
    /// temporary directory when `None`. The file is kept after the target stops.
    pub log_path: Option<PathBuf>,
    /// The readiness condition (`--ready`); `None` starts without waiting.
    pub ready: Option<Ready>,
    /// How long the target has to become ready (`--ready-timeout`).
    pub ready_timeout: Duration,
    /// Time between SIGTERM and SIGKILL when the target is stopped by `Drop`, a failed
    /// start, or perfloop's death.
    pub grace: Duration,
    /// The executable that runs the supervisor (`__supervise`): perfloop itself by default.
    pub supervisor: HelperExe,
}

impl TargetSpec {
    /// A spec with the defaults: no knobs, knob variables exported, no readiness condition,
    /// a 30 s readiness timeout, a 5 s grace period, perfloop as the supervisor.
    pub fn new(command: CommandTemplate) -> TargetSpec {
        TargetSpec {
            command,
            knobs: Knobs::new(),
            knob_env: true,
            env: Vec::new(),
            cwd: None,
            log_path: None,
            ready: None,
            ready_timeout: DEFAULT_READY_TIMEOUT,
            grace: DEFAULT_GRACE,
            supervisor: HelperExe::CurrentExe,
        }
    }
}

/// The target's state as the supervisor reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Running,
    Exited(ExitInfo),
    /// The supervisor ended without reporting the target's end.
    Gone,
}

/// The supervisor's first report.
enum Hello {
    Pid(u32),
    Error(String),
}

/// A running managed target. Stopped (with its whole process tree) by [`ManagedTarget::stop`]
/// or when dropped.
#[derive(Debug)]
pub struct ManagedTarget {
    supervisor: Child,
    control: Option<ChildStdin>,
    pid: u32,
    state: Arc<Mutex<State>>,
    log_path: PathBuf,
    log_start: u64,
    command: String,
    grace: Duration,
    stopped: Option<ExitInfo>,
}

/// A fresh log path in the temporary directory.
fn default_log_path() -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir().join(format!("perfloop-target-{}-{n}.log", std::process::id()))
}

/// Reads the supervisor's reports until it exits.
fn read_reports(out: ChildStdout, hello: Sender<Hello>, state: &Mutex<State>) {
    let mut hello = Some(hello);
    for line in BufReader::new(out).lines() {
        let Ok(line) = line else { break };
        if let Some(pid) = line.strip_prefix("pid ") {
            if let (Some(tx), Ok(pid)) = (hello.take(), pid.trim().parse()) {
                let _ = tx.send(Hello::Pid(pid));
            }
        } else if let Some(message) = line.strip_prefix("error ") {
            if let Some(tx) = hello.take() {
                let _ = tx.send(Hello::Error(message.to_string()));
            }
        } else if let Some(wire) = line.strip_prefix("exited ") {
            let mut s = state.lock().unwrap_or_else(PoisonError::into_inner);
            *s = ExitInfo::from_wire(wire).map_or(State::Gone, State::Exited);
        }
    }
    let mut s = state.lock().unwrap_or_else(PoisonError::into_inner);
    if *s == State::Running {
        *s = State::Gone;
    }
}

impl ManagedTarget {
    /// Starts the target described by `spec` and, if it has a readiness condition, waits
    /// until the target is ready. On any error after the start the target is stopped.
    ///
    /// Errors: [`TargetError::Template`] for a missing knob value (bad input),
    /// [`TargetError::Start`] when the command cannot be run, [`TargetError::Exited`] when it
    /// exits before it is ready, [`TargetError::NotReady`] when the readiness timeout passes;
    /// the last three carry the last lines of the log.
    pub fn start(spec: &TargetSpec) -> Result<ManagedTarget, TargetError> {
        let argv = spec.command.argv(&spec.knobs)?;
        let command = shell_words::join(&argv);
        let log_path = absolute(&spec.log_path.clone().unwrap_or_else(default_log_path));
        let log_error = |source| TargetError::Log {
            path: log_path.clone(),
            source,
        };
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(log_error)?;
        let log_start = log.metadata().map_err(log_error)?.len();
        let program = spec.supervisor.resolve().map_err(TargetError::CurrentExe)?;
        let options = Options {
            parent_pid: std::process::id(),
            log: log_path.clone(),
            grace: spec.grace,
            argv,
        };
        let mut cmd = Command::new(&program);
        cmd.arg(SUPERVISE_ARG)
            .args(options.to_args())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(log)
            // Ctrl-C in a terminal reaches perfloop only, which then stops the target in
            // order; should perfloop die of it, the supervisor stops the target anyway.
            .process_group(0);
        if spec.knob_env {
            cmd.envs(knob_env(&spec.knobs));
        }
        cmd.envs(spec.env.iter().map(|(k, v)| (k, v)));
        if let Some(dir) = &spec.cwd {
            cmd.current_dir(dir);
        }
        let mut supervisor = spawner::spawn(cmd).map_err(|source| TargetError::Supervisor {
            program: program.clone(),
            source,
        })?;
        let control = supervisor.stdin.take();
        let state = Arc::new(Mutex::new(State::Running));
        let (tx, rx) = mpsc::channel();
        if let Some(out) = supervisor.stdout.take() {
            let state = Arc::clone(&state);
            let spawned = std::thread::Builder::new()
                .name("target-reports".into())
                .spawn(move || read_reports(out, tx, &state));
            if let Err(e) = spawned {
                let _ = supervisor.kill();
                let _ = supervisor.wait();
                return Err(TargetError::Handshake {
                    command,
                    reason: format!("cannot start a thread: {e}"),
                    last_lines: tail(&log_path, log_start),
                });
            }
        }
        let hello = rx.recv_timeout(HANDSHAKE_TIMEOUT);
        let pid = match hello {
            Ok(Hello::Pid(pid)) => pid,
            Ok(Hello::Error(message)) => {
                drop(control);
                wait_bounded(&mut supervisor, STOP_MARGIN);
                return Err(TargetError::Start {
                    command,
                    message,
                    last_lines: tail(&log_path, log_start),
                });
            }
            Err(e) => {
                let _ = supervisor.kill();
                let status = supervisor.wait().ok();
                let reason = match (e, status) {
                    (mpsc::RecvTimeoutError::Timeout, _) => {
                        format!("no answer within {} s", HANDSHAKE_TIMEOUT.as_secs())
                    }
                    (_, Some(status)) => format!(
                        "it ended ({}) without reporting; is {} a perfloop binary that \
                         handles {SUPERVISE_ARG}?",
                        ExitInfo::from_status(status),
                        program.display()
                    ),
                    (_, None) => "it ended without reporting".to_string(),
                };
                return Err(TargetError::Handshake {
                    command,
                    reason,
                    last_lines: tail(&log_path, log_start),
                });
            }
        };
        let mut target = ManagedTarget {
            supervisor,
            control,
            pid,
            state,
            log_path,
            log_start,
            command,
            grace: spec.grace,
            stopped: None,
        };
        if let Some(ready) = &spec.ready {
            target.wait_ready(ready, spec.ready_timeout)?;
        }
        Ok(target)
    }

    /// Waits until `ready` holds, probing every 25 ms, for at most `timeout`. If the target
    /// exits first ([`TargetError::Exited`]) or the time runs out ([`TargetError::NotReady`]),
    /// the target is stopped.
    pub fn wait_ready(&mut self, ready: &Ready, timeout: Duration) -> Result<(), TargetError> {
        let deadline = Instant::now() + timeout;
        let mut probe = Probe::new(ready, &self.log_path, self.log_start);
        loop {
            if !self.is_running() {
                let status = self.stop_inner(self.grace)?;
                return Err(TargetError::Exited {
                    command: self.command.clone(),
                    status,
                    last_lines: self.log_tail(),
                });
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if probe.check(left.min(PROBE_TIMEOUT)) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                // The stop's own outcome matters less than the readiness failure.
                let _ = self.stop_inner(self.grace);
                return Err(TargetError::NotReady {
                    command: self.command.clone(),
                    ready: ready.to_string(),
                    timeout,
                    last_lines: self.log_tail(),
                });
            }
            std::thread::sleep(READY_POLL.min(deadline.saturating_duration_since(Instant::now())));
        }
    }

    /// The target's pid (not the supervisor's). It leads the target's process group.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The command line that was run, shell-quoted.
    pub fn command(&self) -> &str {
        &self.command
    }

    /// The log file with the target's stdout and stderr.
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// The last `n` lines the target wrote to its log since it started (read from at most
    /// the last 64 KiB of the file).
    pub fn last_log_lines(&self, n: usize) -> Vec<String> {
        logfile::tail_lines(&self.log_path, self.log_start, n)
    }

    /// Whether the target is still running (it has not exited and was not stopped).
    pub fn is_running(&self) -> bool {
        self.stopped.is_none()
            && *self.state.lock().unwrap_or_else(PoisonError::into_inner) == State::Running
    }

    /// How the target ended, once it has.
    pub fn exit_status(&self) -> Option<ExitInfo> {
        self.stopped.or(
            match *self.state.lock().unwrap_or_else(PoisonError::into_inner) {
                State::Exited(info) => Some(info),
                _ => None,
            },
        )
    }

    /// Stops the target and its whole process tree: SIGTERM, up to `grace`, then SIGKILL.
    /// Returns how the target ended (killed by SIGTERM, typically, or its own exit if it had
    /// already ended).
    pub fn stop(mut self, grace: Duration) -> Result<ExitInfo, TargetError> {
        self.stop_inner(grace)
    }

    fn log_tail(&self) -> LogTail {
        tail(&self.log_path, self.log_start)
    }

    fn current_state(&self) -> State {
        *self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Stops once; later calls return the first result.
    fn stop_inner(&mut self, grace: Duration) -> Result<ExitInfo, TargetError> {
        if let Some(info) = self.stopped {
            return Ok(info);
        }
        if let Some(mut control) = self.control.take() {
            // A supervisor that already exited has closed the pipe: nothing to tell it.
            let _ = writeln!(control, "stop {}", grace.as_millis());
        }
        let finished = wait_bounded(&mut self.supervisor, grace + STOP_MARGIN);
        let status = match finished {
            Some(status) => status,
            None => {
                // The supervisor is stuck: take the tree down directly.
                let _ = self.supervisor.kill();
                let _ = killpg(Pid::from_raw(self.pid as i32), Signal::SIGKILL);
                self.supervisor.wait().map_err(|e| TargetError::Stop {
                    command: self.command.clone(),
                    pid: self.pid,
                    reason: format!("cannot reap the supervisor: {e}"),
                })?
            }
        };
        // The reports thread sees the pipe close right after the supervisor exits.
        let deadline = Instant::now() + Duration::from_secs(1);
        while self.current_state() == State::Running && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(2));
        }
        let info = match self.current_state() {
            State::Exited(info) => info,
            State::Running | State::Gone => {
                // The supervisor did not report the target's end: make sure of it.
                let _ = killpg(Pid::from_raw(self.pid as i32), Signal::SIGKILL);
                let supervisor = ExitInfo::from_status(status);
                match supervisor.code {
                    Some(code) => ExitInfo::from_shell_code(code),
                    None => supervisor,
                }
            }
        };
        self.stopped = Some(info);
        if finished.is_none() {
            return Err(TargetError::Stop {
                command: self.command.clone(),
                pid: self.pid,
                reason: format!(
                    "the supervisor did not finish within {:.1} s and was killed, with the \
                     target's process group",
                    (grace + STOP_MARGIN).as_secs_f64()
                ),
            });
        }
        Ok(info)
    }
}

impl Drop for ManagedTarget {
    fn drop(&mut self) {
        let _ = self.stop_inner(self.grace);
    }
}

/// The last lines of the log since `start`, for an error message.
fn tail(path: &Path, start: u64) -> LogTail {
    LogTail {
        path: path.to_path_buf(),
        lines: logfile::tail_lines(path, start, ERROR_LINES),
    }
}

/// Waits for `child` to exit, for at most `limit`.
fn wait_bounded(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(2)),
            _ => return None,
        }
    }
}
