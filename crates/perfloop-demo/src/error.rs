//! What can go wrong, in words a user can act on.

use std::net::SocketAddr;
use std::path::PathBuf;

/// An error of the demo target.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// A knob is outside its range.
    #[error("--{flag} {value} is out of range: it must be between {min} and {max}")]
    KnobOutOfRange {
        /// The knob's flag, without dashes.
        flag: &'static str,
        /// The value given.
        value: usize,
        /// The smallest value allowed.
        min: usize,
        /// The largest value allowed.
        max: usize,
    },
    /// The data set would be empty.
    #[error("--users must be at least 1")]
    NoUsers,
    /// The listening socket could not be opened.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A worker thread could not be started.
    #[error("cannot start a worker thread: {0}")]
    Spawn(#[source] std::io::Error),
    /// The async runtime could not be built.
    #[error("cannot start the async runtime: {0}")]
    Runtime(#[source] std::io::Error),
    /// The signal handlers could not be installed.
    #[error("cannot install the SIGTERM handler: {0}")]
    Signal(#[source] std::io::Error),
    /// The self-signed certificate could not be made.
    #[error("cannot generate the self-signed certificate: {0}")]
    Certificate(String),
    /// The certificate could not be written where clients are told to find it.
    #[error("--cert-out '{}': cannot write the certificate: {source}", path.display())]
    CertificateFile {
        /// The file asked for.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The HTTP server failed.
    #[error("the HTTP server failed: {0}")]
    Serve(#[source] std::io::Error),
    /// The matching engine is no longer running.
    #[error("the matching engine has stopped")]
    EngineStopped,
    /// The result could not be written to standard output.
    #[error("cannot write to standard output: {0}")]
    Output(#[source] std::io::Error),
}

impl DemoError {
    /// Whether the error is bad usage (a value out of range, a certificate file that cannot be written) rather than a failure of the
    /// run: a command line maps the first to exit code 2, the second to 3.
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            Self::KnobOutOfRange { .. } | Self::NoUsers | Self::CertificateFile { .. }
        )
    }
}
