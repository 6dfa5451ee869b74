//! The errors of command benchmarks.

use std::io;
use std::time::Duration;

use crate::exit::ExitInfo;
use crate::template::TemplateError;

/// A benchmark that cannot be set up or run.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// The command template cannot be filled (bad input).
    #[error(transparent)]
    Template(#[from] TemplateError),
    /// A `--param` is not `NAME=V1,V2,...` (bad input).
    #[error("invalid parameter `{text}`: {reason}")]
    Param {
        /// The text given.
        text: String,
        /// What is wrong.
        reason: String,
    },
    /// The number of runs is zero (bad input).
    #[error("the number of runs must be at least 1")]
    NoRuns,
    /// The work regex does not compile or has no capture group (bad input).
    #[error("invalid work regex `{regex}`: {reason}")]
    WorkRegex {
        /// The regex given.
        regex: String,
        /// What is wrong.
        reason: String,
    },
    /// The work regex never matched a successful run's output (bad input).
    #[error(
        "the work regex `{regex}` did not match the output of `{command}`; its output ended \
         with:\n{output}"
    )]
    WorkNotFound {
        /// The regex.
        regex: String,
        /// The command as run.
        command: String,
        /// The last lines of the command's stdout (or a note that it was empty).
        output: String,
    },
    /// The work regex captured something that is not a number (bad input).
    #[error(
        "the work regex `{regex}` captured `{captured}` from the output of `{command}`, which \
         is not a number; the capture group must hold the count alone"
    )]
    WorkNotANumber {
        /// The regex.
        regex: String,
        /// The command as run.
        command: String,
        /// What the group captured.
        captured: String,
    },
    /// The command could not be started.
    #[error("cannot run `{command}`: {source}")]
    Spawn {
        /// The command as run.
        command: String,
        /// Why.
        source: io::Error,
    },
    /// Waiting for the command failed.
    #[error("waiting for `{command}` failed: {source}")]
    Wait {
        /// The command as run.
        command: String,
        /// Why.
        source: io::Error,
    },
    /// A run exceeded the timeout and was killed.
    #[error("`{command}` took longer than {:.1} s and was killed", timeout.as_secs_f64())]
    Timeout {
        /// The command as run.
        command: String,
        /// The timeout per run.
        timeout: Duration,
    },
    /// A run failed and failures are not ignored.
    #[error(
        "`{command}` failed ({status}); use --ignore-failure to benchmark it anyway. Its \
         output ended with:\n{output}"
    )]
    CommandFailed {
        /// The command as run.
        command: String,
        /// How it ended.
        status: ExitInfo,
        /// The last lines of its stderr, then stdout.
        output: String,
    },
}

impl BenchError {
    /// Whether the error comes from the user's input (template, parameters, runs, work
    /// regex) rather than from running the command.
    pub fn is_input_error(&self) -> bool {
        matches!(
            self,
            BenchError::Template(_)
                | BenchError::Param { .. }
                | BenchError::NoRuns
                | BenchError::WorkRegex { .. }
                | BenchError::WorkNotFound { .. }
                | BenchError::WorkNotANumber { .. }
        )
    }
}
