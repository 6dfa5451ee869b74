//! perfloop's capacity search: the highest arrival rate a target sustains within its
//! objectives, and why not more. Pure decisions over measured runs; the measuring itself
//! (the engine, the target, the monitor) is the caller's, behind [`Measure`].
//!
//! - [`spec`]: [`CapacitySpec`], the search as asked with every default in one place, and
//!   its resolution into a validated [`CapacityPlan`] (objectives, settings, each step's
//!   run configuration).
//! - [`search`]: [`RateSearch`], the rate search as a state machine: a geometric ramp, then
//!   a bisection to the resolution, bounded by the maximum rate.
//! - [`verdict`]: a step's verdict (objectives, delivered rate, drops, latency trend,
//!   Little's law, the generator) and the knee of the latency curve.
//! - [`sweep`]: the closed-model concurrency sweep's points and its Universal Scalability
//!   Law fit.
//! - [`run`](mod@run): the steps in order within the search's time, then the record
//!   (`perfloop_report::CapacityRecord`) with the diagnosis's findings.

pub mod run;
pub mod search;
pub mod spec;
pub mod sweep;
pub mod verdict;

pub use run::{Halt, Measure, Measured, Searched, Watched, run};
pub use search::RateSearch;
pub use spec::{CapacityPlan, CapacitySpec, DEFAULT_ERROR_SLO, SpecError, parse_fraction};
