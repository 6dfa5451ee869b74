//! perfloop's run record and its exporters.
//!
//! - [`record`]: [`RunRecord`], the one serialisable boundary type (schema
//!   `perfloop.run.v1`, committed in `schema/perfloop.run.v1.json`).
//! - [`build`]: [`RunRecord::build`] turns an engine outcome, its configuration and the
//!   service-level objectives into a record; [`metrics`] gives the figures objectives are
//!   checked against.
//! - [`export`]: one [`Exporter`] per format — pretty JSON, the timeline as CSV, and the
//!   human summary as plain text that fits 80 columns.
//!
//! The crate writes only to the `io::Write` it is given; choosing files, stdout and exit
//! codes is the binary's business.

pub mod build;
pub mod export;
mod histogram;
pub mod record;

pub use build::{BuildInput, SHORT_RUN, metrics};
pub use export::{CsvExporter, Exporter, Format, JsonExporter, TextExporter};
pub use histogram::BUCKETS;
pub use record::{
    Generator, LagMs, LatencyBucket, LatencyMs, LoadInfo, LoadModel, OpenModel, Requests,
    RunEnding, RunRecord, SCHEMA, SloResult, StageInfo, TargetInfo, TimelinePoint,
};
