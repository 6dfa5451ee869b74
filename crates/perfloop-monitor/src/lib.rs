//! perfloop's monitor: what the target and the host do while the load runs.
//!
//! A [`Sampler`] runs on its own thread. Every interval it reads the target's process tree
//! and the host from `/proc` (see [`proc`]), turns the counters into per-interval figures
//! (see `tree` for the accounting across processes that come and go) and, when asked,
//! scrapes the target's Prometheus metrics on a second thread (see [`prometheus`] and
//! `scrape`). [`SamplerHandle::stop`] returns a [`Recording`]: the samples on the run's
//! time axis (`t_s`, seconds since an origin shared with the load engine), the scraped
//! series, a [`Summary`] and the errors met on the way.
//!
//! The modules depend one way: the data types ([`Sample`] in `sample`, [`Series`] in
//! `series`, the time axis in `time_axis`) depend on no thread; `scrape` and `summary` use
//! them; `sampler` starts both threads and builds the [`Recording`]. [`thread_cpu`] and
//! [`ProcessCpu`] (`own_cpu`) are perfloop's own CPU clocks, shared with the load engine.
//! [`HostFacts`] (`facts`) describe the machine a result was measured on (CPU model, cores,
//! kernel, memory, load average), saved with every result in the history.
//!
//! The monitor knows nothing of load generation: it watches a pid and a URL. Linux only.

mod errors;
mod facts;
mod http_get;
mod own_cpu;
pub mod proc;
pub mod prometheus;
mod sample;
mod sampler;
mod scrape;
mod series;
mod summary;
mod time_axis;
mod tree;

use std::time::Duration;

pub use facts::HostFacts;
pub use own_cpu::{ProcessCpu, thread_cpu};
pub use proc::pid_exists;
pub use prometheus::{MetricKind, ParseError, PromSample, parse_text};
pub use sample::Sample;
pub use sampler::{Sampler, SamplerConfig, SamplerHandle};
pub use scrape::ScrapeConfig;
pub use series::{Point, Series};
pub use summary::{Recording, Summary};

/// The sampling interval when none is given.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(1);

/// The shortest sampling interval accepted. Below it the kernel's CPU accounting (clock
/// ticks, usually 10 ms) makes per-interval CPU figures too coarse to read.
pub const MIN_INTERVAL: Duration = Duration::from_millis(100);

/// Why monitoring could not start.
#[derive(Debug, thiserror::Error)]
pub enum MonitorError {
    /// The interval is below [`MIN_INTERVAL`].
    #[error("sample interval {0:?} is too short: the minimum is 100ms")]
    IntervalTooShort(Duration),
    /// No live process has this pid.
    #[error("no process with pid {0}")]
    NoSuchProcess(u32),
    /// The scrape URL is not a plain `http://host[:port]/path` URL.
    #[error("scrape URL {url:?}: {reason}")]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The scrape match expression is not a valid regular expression.
    #[error("scrape match expression: {0}")]
    InvalidRegex(#[from] regex::Error),
    /// A kernel figure the monitor needs (clock ticks per second, page size) is unavailable.
    #[error("cannot read {what} from the kernel: {source}")]
    Kernel {
        /// The figure.
        what: &'static str,
        /// The failure.
        source: std::io::Error,
    },
    /// The monitor thread could not be started.
    #[error("cannot start the monitor thread: {0}")]
    Thread(std::io::Error),
}
