//! perfloop's statistics: pure maths over measurements, no I/O.
//!
//! - [`alert`]: alert rules (`p99 > 200ms for 10s`, `rss > 90% of limit`) checked second by
//!   second: when each fires and resolves, what was not measured.
//! - [`slo`]: service-level objectives and constraints (`p99<200ms`, `error_rate<0.1%`,
//!   `rps>1000`, `cpu<2`, `rss_mb<500`), parsed from the text users type and evaluated
//!   against a run's [`Metrics`]: the one grammar of `--slo` and of a study's constraints.
//! - [`sample`]: statistics of repeated measurements (command benchmarks): summaries,
//!   Student's t confidence intervals, modified Z-score outliers and benchmark warnings.
//! - [`usl`]: the Universal Scalability Law fitted to throughput against concurrency
//!   (contention σ, coherency κ, the peak concurrency and what limits scaling).
//! - [`trend`]: the Mann–Kendall test for a monotonic trend over time, with Sen's slope.
//! - [`grid`]: a fixed 1 % logarithmic grid of latency buckets, so histograms of different
//!   seconds and runs merge bucket by bucket.
//! - [`compare`]: two runs (or pooled runs) compared metric by metric, with a bootstrap
//!   over per-second intervals.
//! - [`changepoint`]: where a series of measurements shifted level: E-divisive means with a
//!   t-test, Apache Otava's method, with a minimum segment length.
//!
//! Nothing in this crate reads a file, a socket or a clock: every function is a function of
//! its arguments, so every result can be checked against reference values in a unit test.

pub mod alert;
pub mod changepoint;
pub mod compare;
pub mod grid;
pub mod sample;
pub mod slo;
pub mod trend;
pub mod usl;

pub use slo::{Metric, Metrics, Op, Slo, SloError, ThresholdProblem, UnknownEndpoint, Verdict};
pub use trend::{MannKendall, mann_kendall};
