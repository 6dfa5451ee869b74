//! perfloop's statistics: pure maths over measurements, no I/O.
//!
//! - [`slo`]: service-level objectives (`p99<200ms`, `error_rate<0.1%`, `rps>1000`), parsed
//!   from the text users type and evaluated against a run's [`Metrics`].
//! - [`sample`]: statistics of repeated measurements (command benchmarks): summaries,
//!   Student's t confidence intervals, modified Z-score outliers and benchmark warnings.
//!
//! Nothing in this crate reads a file, a socket or a clock: every function is a function of
//! its arguments, so every result can be checked against reference values in a unit test.

pub mod sample;
pub mod slo;

pub use slo::{Metric, Metrics, Op, Slo, SloError, Verdict};
