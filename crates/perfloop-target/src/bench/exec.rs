//! Running one command and measuring it.
//!
//! [`ProcessExecutor`] starts the measurer ([`super::measure()`], the perfloop binary as
//! `__measure`), which starts the command with stdin from /dev/null and stdout and stderr
//! going to perfloop (the last 1 MiB of each is kept), and measures:
//! - wall time from just before the command's spawn to its reaping (the measurer's own
//!   start-up is not counted);
//! - user and system CPU time and peak RSS from `wait4(2)` (the `wait4` crate): the
//!   command's own usage plus that of every descendant it waited for (a shell's commands, a
//!   build's compilers). Descendants it left running are not counted. The peak RSS is the
//!   largest peak of any single one of those processes, not their sum (`ru_maxrss`), and
//!   has the measurer's few megabytes as a floor (see [`mod@super::measure`] for why a
//!   separate measuring process is needed at all).
//!
//! The command stays in perfloop's process group, so Ctrl-C in a terminal reaches it as it
//! would under a shell. On a timeout, the measurer and every descendant found in /proc get
//! SIGKILL.
//!
//! Behind the [`Executor`] trait so that the benchmark loop can be tested with a fake.

use std::io::{self, Read};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use super::error::BenchError;
use super::measure::{MEASURE_ARG, MeasureOptions, Measured};
use crate::exit::ExitInfo;
use crate::helper_exe::HelperExe;
use crate::proctree;

/// At most this much of the end of each output stream is kept.
const CAPTURE_BYTES: usize = 1 << 20;

/// How long the output readers may take after the command exited (a descendant left
/// running may hold the pipes open).
const READ_GRACE: Duration = Duration::from_millis(500);

/// One command to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    /// The program.
    pub program: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// Extra environment variables.
    pub env: Vec<(String, String)>,
    /// The command as shown to the user.
    pub display: String,
    /// Kill the run after this long.
    pub timeout: Option<Duration>,
}

/// What one run measured.
#[derive(Debug, Clone, PartialEq)]
pub struct RunMeasurement {
    /// Wall-clock time.
    pub wall: Duration,
    /// User CPU time of the process and the descendants it waited for.
    pub user: Duration,
    /// System CPU time of the process and the descendants it waited for.
    pub sys: Duration,
    /// Peak resident set size of the largest of those processes, in bytes.
    pub peak_rss_bytes: u64,
    /// How the process ended.
    pub exit: ExitInfo,
    /// The end of its stdout.
    pub stdout: String,
    /// The end of its stderr.
    pub stderr: String,
}

/// Runs commands and measures them.
pub trait Executor {
    /// Runs `invocation` once. A non-zero exit is a measurement, not an error; a timeout,
    /// a spawn failure or a failed wait is an error.
    fn run(&mut self, invocation: &Invocation) -> Result<RunMeasurement, BenchError>;
}

/// The real executor: commands run and measured by the measurer process.
#[derive(Debug, Clone, Default)]
pub struct ProcessExecutor {
    helper: HelperExe,
    resolved: Option<PathBuf>,
}

impl ProcessExecutor {
    /// An executor whose measurer (`__measure`) is run by `helper`: perfloop itself with
    /// [`HelperExe::CurrentExe`].
    pub fn new(helper: HelperExe) -> ProcessExecutor {
        ProcessExecutor {
            helper,
            resolved: None,
        }
    }

    fn program(&mut self) -> io::Result<PathBuf> {
        if let Some(p) = &self.resolved {
            return Ok(p.clone());
        }
        let p = self.helper.resolve()?;
        self.resolved = Some(p.clone());
        Ok(p)
    }
}

/// A fresh path for a measurer's result.
fn result_path() -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir().join(format!("perfloop-measure-{}-{n}.txt", std::process::id()))
}

/// A reader thread keeping the end of one output stream.
struct Capture {
    buffer: Arc<Mutex<Vec<u8>>>,
    done: mpsc::Receiver<()>,
}

impl Capture {
    fn start(mut source: impl Read + Send + 'static) -> Capture {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let (tx, done) = mpsc::channel();
        let shared = Arc::clone(&buffer);
        // If the thread cannot start, the output is simply not captured.
        let _ = std::thread::Builder::new()
            .name("bench-output".into())
            .spawn(move || {
                let mut chunk = [0u8; 16 * 1024];
                while let Ok(n) = source.read(&mut chunk) {
                    if n == 0 {
                        break;
                    }
                    let mut b = shared.lock().unwrap_or_else(PoisonError::into_inner);
                    b.extend_from_slice(&chunk[..n]);
                    if b.len() > 2 * CAPTURE_BYTES {
                        let cut = b.len() - CAPTURE_BYTES;
                        b.drain(..cut);
                    }
                }
                let _ = tx.send(());
            });
        Capture { buffer, done }
    }

    /// The captured text once the stream ended or `grace` passed.
    fn finish(self, grace: Duration) -> String {
        let _ = self.done.recv_timeout(grace);
        let b = self.buffer.lock().unwrap_or_else(PoisonError::into_inner);
        let keep = &b[b.len().saturating_sub(CAPTURE_BYTES)..];
        String::from_utf8_lossy(keep).into_owned()
    }
}

/// Kills a run that exceeds its timeout.
struct Watchdog {
    done: mpsc::Sender<()>,
    fired: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Watchdog {
    fn start(pid: u32, timeout: Duration) -> Watchdog {
        let (done, rx) = mpsc::channel::<()>();
        let fired = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&fired);
        let thread = std::thread::Builder::new()
            .name("bench-timeout".into())
            .spawn(move || {
                if rx.recv_timeout(timeout) == Err(RecvTimeoutError::Timeout) {
                    flag.store(true, Ordering::SeqCst);
                    let tree = proctree::descendants(pid);
                    let _ = kill(Pid::from_raw(pid as i32), Signal::SIGKILL);
                    for p in tree {
                        let _ = kill(Pid::from_raw(p.pid as i32), Signal::SIGKILL);
                    }
                }
            })
            .ok();
        Watchdog {
            done,
            fired,
            thread,
        }
    }

    /// Stops the watchdog; whether it fired.
    fn finish(mut self) -> bool {
        let _ = self.done.send(());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.fired.load(Ordering::SeqCst)
    }
}

impl Executor for ProcessExecutor {
    fn run(&mut self, inv: &Invocation) -> Result<RunMeasurement, BenchError> {
        let spawn_error = |source| BenchError::Spawn {
            command: inv.display.clone(),
            source,
        };
        let program = self.program().map_err(spawn_error)?;
        let result = result_path();
        let mut argv = vec![inv.program.clone()];
        argv.extend(inv.args.iter().cloned());
        let options = MeasureOptions {
            result: result.clone(),
            argv,
        };
        let mut cmd = Command::new(&program);
        cmd.arg(MEASURE_ARG)
            .args(options.to_args())
            .envs(inv.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().map_err(spawn_error)?;
        let stdout = child.stdout.take().map(Capture::start);
        let stderr = child.stderr.take().map(Capture::start);
        let watchdog = inv.timeout.map(|t| Watchdog::start(child.id(), t));
        let waited = child.wait();
        let timed_out = watchdog.is_some_and(Watchdog::finish);
        let stdout = stdout.map(|c| c.finish(READ_GRACE)).unwrap_or_default();
        let stderr = stderr.map(|c| c.finish(READ_GRACE)).unwrap_or_default();
        let line = std::fs::read_to_string(&result);
        let _ = std::fs::remove_file(&result);
        if timed_out {
            return Err(BenchError::Timeout {
                command: inv.display.clone(),
                timeout: inv.timeout.unwrap_or_default(),
            });
        }
        let status = waited.map_err(|source| BenchError::Wait {
            command: inv.display.clone(),
            source,
        })?;
        let Ok(line) = line else {
            return Err(BenchError::Wait {
                command: inv.display.clone(),
                source: io::Error::other(format!(
                    "the measuring process {} ended ({}) without a result; is it a perfloop \
                     binary that handles {MEASURE_ARG}?",
                    program.display(),
                    ExitInfo::from_status(status)
                )),
            });
        };
        let m = Measured::parse(&line).map_err(|message| BenchError::Spawn {
            command: inv.display.clone(),
            source: io::Error::other(message),
        })?;
        Ok(RunMeasurement {
            wall: m.wall,
            user: m.user,
            sys: m.sys,
            peak_rss_bytes: m.maxrss,
            exit: m.exit,
            stdout,
            stderr,
        })
    }
}
