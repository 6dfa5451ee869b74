//! How a process ended: an exit code or a signal.

use std::fmt;
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;

use nix::sys::signal::Signal;
use serde::{Deserialize, Serialize};

/// How a process ended. Exactly one of `code` and `signal` is set for a process that ended;
/// both are `None` only when the end could not be observed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExitInfo {
    /// The exit code, if the process exited.
    pub code: Option<i32>,
    /// The signal that killed the process, if one did.
    pub signal: Option<i32>,
}

impl ExitInfo {
    /// A process that exited with `code`.
    pub fn code(code: i32) -> ExitInfo {
        ExitInfo {
            code: Some(code),
            signal: None,
        }
    }

    /// A process killed by `signal`.
    pub fn signal(signal: i32) -> ExitInfo {
        ExitInfo {
            code: None,
            signal: Some(signal),
        }
    }

    /// The end of a child process as std reports it.
    pub fn from_status(status: ExitStatus) -> ExitInfo {
        ExitInfo {
            code: status.code(),
            signal: status.signal(),
        }
    }

    /// Whether the process exited with code 0.
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }

    /// The status a shell would report: the exit code, or 128 + the signal number.
    pub fn shell_code(&self) -> i32 {
        match (self.code, self.signal) {
            (Some(code), _) => code,
            (None, Some(signal)) => 128 + signal,
            (None, None) => 1,
        }
    }

    /// Reads back a status encoded by [`ExitInfo::shell_code`].
    pub(crate) fn from_shell_code(code: i32) -> ExitInfo {
        if code > 128 && code < 128 + 65 {
            ExitInfo::signal(code - 128)
        } else {
            ExitInfo::code(code)
        }
    }

    /// The text form used between the supervisor and perfloop: `code N` or `signal N`.
    pub(crate) fn to_wire(self) -> String {
        match (self.code, self.signal) {
            (Some(c), _) => format!("code {c}"),
            (None, Some(s)) => format!("signal {s}"),
            (None, None) => "unknown".to_string(),
        }
    }

    /// Parses [`ExitInfo::to_wire`].
    pub(crate) fn from_wire(text: &str) -> Option<ExitInfo> {
        let (kind, n) = text.split_once(' ')?;
        let n: i32 = n.trim().parse().ok()?;
        match kind {
            "code" => Some(ExitInfo::code(n)),
            "signal" => Some(ExitInfo::signal(n)),
            _ => None,
        }
    }
}

impl fmt::Display for ExitInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.code, self.signal) {
            (Some(c), _) => write!(f, "exit code {c}"),
            (None, Some(s)) => match Signal::try_from(s) {
                Ok(sig) => write!(f, "killed by signal {s} ({})", sig.as_str()),
                Err(_) => write!(f, "killed by signal {s}"),
            },
            (None, None) => f.write_str("unknown exit status"),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn wire_and_shell_codes_round_trip() {
        for e in [ExitInfo::code(0), ExitInfo::code(3), ExitInfo::signal(15)] {
            assert_eq!(ExitInfo::from_wire(&e.to_wire()), Some(e));
            assert_eq!(ExitInfo::from_shell_code(e.shell_code()), e);
        }
        assert_eq!(ExitInfo::from_wire("nonsense"), None);
        assert_eq!(
            ExitInfo::signal(9).to_string(),
            "killed by signal 9 (SIGKILL)"
        );
        assert_eq!(ExitInfo::code(2).to_string(), "exit code 2");
        assert!(ExitInfo::code(0).success() && !ExitInfo::signal(15).success());
    }
}
