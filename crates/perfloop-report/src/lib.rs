//! perfloop's run record and its exporters.
//!
//! - [`record`]: [`RunRecord`], the one serialisable boundary type (schema
//!   `perfloop.run.v1`, committed in `schema/perfloop.run.v1.json`).
//! - [`build`]: [`RunRecord::build`] turns an engine outcome, its configuration and the
//!   service-level objectives into a record; [`metrics`] gives the figures objectives are
//!   checked against.
//! - [`capacity`]: [`CapacityRecord`] (schema `perfloop.capacity.v1`), a capacity
//!   search's steps, result, concurrency sweep and findings; [`finding`]: the diagnosis's
//!   [`Finding`]s.
//! - [`study`]: [`StudyRecord`] (schema `perfloop.study.v1`), a tuning study's settings,
//!   trials, finalists, conclusion with its gain and 95 % interval, and knob importance.
//! - [`export`]: one [`Exporter`] per format of a run record — pretty JSON, the timeline as
//!   CSV, and the human summary as plain text that fits 80 columns — one
//!   [`CapacityExporter`] per format of a capacity record: pretty JSON ([`CapacityJson`],
//!   schema `schema/perfloop.capacity.v1.json`), the human summary within 80 columns
//!   ([`CapacityText`], [`write_capacity_text`]) and a self-contained HTML page with SVG
//!   plots of the measured data ([`CapacityHtml`], [`write_capacity_html`]) — and one
//!   [`StudyExporter`] per format of a study record: pretty JSON ([`StudyJson`], schema
//!   `schema/perfloop.study.v1.json`), the human summary within 80 columns ([`StudyText`],
//!   [`write_study_text`]) and a self-contained HTML page with SVG plots of the trials
//!   ([`StudyHtml`], [`write_study_html`]).
//!
//! The crate writes only to the `io::Write` it is given; choosing files, stdout and exit
//! codes is the binary's business.

pub mod build;
pub mod capacity;
pub mod export;
pub mod finding;
mod histogram;
pub mod record;
pub mod study;

pub use build::{BuildInput, metrics};
pub use capacity::{
    CAPACITY_SCHEMA, CapacityRecord, CapacityResult, CapacityTarget, Knee, LittlesLaw,
    SearchEnding, SearchSettings, Step, StepKind, StepVerdict, Sweep, SweepAbove, SweepPoint,
    Trend, UslRecord,
};
pub use export::{
    CapacityExporter, CapacityHtml, CapacityJson, CapacityText, CsvExporter, Exporter, Format,
    JsonExporter, StudyExporter, StudyHtml, StudyJson, StudyText, TextExporter,
    write_capacity_html, write_capacity_text, write_study_html, write_study_text,
};
pub use finding::{Evidence, Finding, Recommendation, Severity, StrategyRef};
pub use histogram::BUCKETS;
pub use record::{
    Generator, LagMs, LatencyBucket, LatencyMs, LoadInfo, LoadModel, OpenModel, Requests,
    RunEnding, RunRecord, SCHEMA, SloResult, StageInfo, TargetInfo, TimelinePoint, Warning,
    WarningKind,
};
pub use study::{
    Best, BudgetInfo, Direction, Finalist, Gain, KnobInfo, KnobShare, STUDY_SCHEMA, StudyEnding,
    StudyObjective, StudyRecord, StudyTarget, TrialEntry, TrialRole,
};
