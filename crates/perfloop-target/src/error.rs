//! The errors of managed targets. Each message says what happened and, where the target
//! wrote anything, ends with the last lines of its log.

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::time::Duration;

use crate::exit::ExitInfo;
use crate::template::TemplateError;

/// The last lines of a target's log, shown at the end of an error message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogTail {
    /// The log file.
    pub path: PathBuf,
    /// Its last lines (written by this run of the target), oldest first.
    pub lines: Vec<String>,
}

impl fmt::Display for LogTail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.lines.is_empty() {
            return write!(f, "\n(the target wrote nothing to {})", self.path.display());
        }
        write!(
            f,
            "\nlast {} lines of {}:",
            self.lines.len(),
            self.path.display()
        )?;
        for line in &self.lines {
            write!(f, "\n  | {line}")?;
        }
        Ok(())
    }
}

/// A managed target could not be started, made ready or stopped.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    /// The command template cannot be filled (bad input).
    #[error(transparent)]
    Template(#[from] TemplateError),
    /// The path of the executable that supervises the target cannot be found.
    #[error("cannot find the executable that supervises the target: {0}")]
    CurrentExe(#[source] io::Error),
    /// The log file cannot be opened.
    #[error("cannot open the target's log file {}: {source}", path.display())]
    Log {
        /// The log file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// The supervisor process cannot be started.
    #[error("cannot start the target's supervisor {}: {source}", program.display())]
    Supervisor {
        /// The supervisor program.
        program: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// The supervisor started but did not report the target.
    #[error("the supervisor of `{command}` did not report the target: {reason}{last_lines}")]
    Handshake {
        /// The target command.
        command: String,
        /// What went wrong.
        reason: String,
        /// The end of the log (the supervisor writes its own errors there too).
        last_lines: LogTail,
    },
    /// The target command could not be started (not found, not executable, ...).
    #[error("the target `{command}` could not start: {message}{last_lines}")]
    Start {
        /// The target command.
        command: String,
        /// The reason the supervisor gave.
        message: String,
        /// The end of the log.
        last_lines: LogTail,
    },
    /// The target exited before it was ready.
    #[error("the target `{command}` exited before it was ready ({status}){last_lines}")]
    Exited {
        /// The target command.
        command: String,
        /// How it ended.
        status: ExitInfo,
        /// The end of its log.
        last_lines: LogTail,
    },
    /// The target was not ready in time; it has been stopped.
    #[error(
        "the target `{command}` was not ready after {:.1} s (waiting for {ready}); it was \
         stopped. Check the readiness condition, or allow more time with --ready-timeout{last_lines}",
        timeout.as_secs_f64()
    )]
    NotReady {
        /// The target command.
        command: String,
        /// The readiness condition, as text.
        ready: String,
        /// How long perfloop waited.
        timeout: Duration,
        /// The end of its log.
        last_lines: LogTail,
    },
    /// `--pid` names no live process (bad input).
    #[error("no process with pid {pid} is running (check --pid)")]
    NoSuchProcess {
        /// The pid given.
        pid: u32,
    },
    /// The target could not be stopped cleanly.
    #[error("cannot stop the target `{command}` (pid {pid}): {reason}")]
    Stop {
        /// The target command.
        command: String,
        /// The target's pid.
        pid: u32,
        /// What went wrong.
        reason: String,
    },
}

impl TargetError {
    /// Whether the error comes from the user's input (a bad template, a missing knob value,
    /// a `--pid` of no process) rather than from running the target.
    pub fn is_input_error(&self) -> bool {
        matches!(
            self,
            TargetError::Template(_) | TargetError::NoSuchProcess { .. }
        )
    }

    /// The last lines of the target's log carried by the error, if any.
    pub fn last_lines(&self) -> Option<&LogTail> {
        match self {
            TargetError::Handshake { last_lines, .. }
            | TargetError::Start { last_lines, .. }
            | TargetError::Exited { last_lines, .. }
            | TargetError::NotReady { last_lines, .. } => Some(last_lines),
            _ => None,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn messages_carry_the_log_tail() {
        let err = TargetError::Exited {
            command: "server --port 1".into(),
            status: ExitInfo::code(3),
            last_lines: LogTail {
                path: "/tmp/t.log".into(),
                lines: vec!["bind: address in use".into()],
            },
        };
        let text = err.to_string();
        assert!(text.contains("exit code 3"), "{text}");
        assert!(text.contains("  | bind: address in use"), "{text}");
        assert!(!err.is_input_error());
        let empty = LogTail {
            path: "/tmp/t.log".into(),
            lines: vec![],
        };
        assert!(empty.to_string().contains("wrote nothing"));
    }
}
