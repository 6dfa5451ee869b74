//! perfloop's records — run, capacity, study and bench — how they are built, and their
//! exporters.
//!
//! - [`run`]: [`RunRecord`], the one serialisable boundary type (schema
//!   `perfloop.run.v1`, committed in `schema/perfloop.run.v1.json`);
//!   [`RunRecord::build`] turns an engine outcome, its configuration and the service-level
//!   objectives into a record with its warnings; [`metrics`] gives the figures objectives
//!   are checked against.
//! - [`capacity`]: [`CapacityRecord`] (schema `perfloop.capacity.v1`), a capacity
//!   search's steps, result, concurrency sweep and findings, assembled by
//!   [`CapacityRecord::build`] from the steps and the search's decisions; [`finding`]: the
//!   diagnosis's [`Finding`]s.
//! - [`study`]: [`StudyRecord`] (schema `perfloop.study.v1`), a tuning study's settings,
//!   trials, finalists, conclusion with its gain and 95 % interval, and knob importance,
//!   assembled by [`StudyRecord::build`] from a study and its stored trials.
//! - [`bench`](mod@bench): [`BenchReport`] (schema `perfloop.bench.v1`), a command
//!   benchmark's statistics per parameter combination, built from the measured runs
//!   ([`BenchResult::build`]).
//! - [`compare`](mod@compare): [`CompareRecord`] (schema `perfloop.compare.v1`), side B
//!   against side A (one run or several pooled), metric by metric, with a bootstrap over
//!   per-second intervals ([`CompareRecord::build`]).
//! - [`headline`]: a result's [`Headline`] figures, whatever its kind: what the history
//!   store keeps beside the record for listings, sparklines and change points; a metric's
//!   series over a result's own course ([`headline::series`]).
//! - [`stored`]: a saved result's record read back by its kind ([`StoredRecord::parse`]).
//! - [`export`]: one [`Exporter`] trait for every record kind, one exporter per format:
//!   pretty JSON for any record ([`JsonExporter`]); for a run record the timeline as CSV
//!   ([`CsvExporter`]), the human summary as plain text that fits 80 columns
//!   ([`TextExporter`]) and a self-contained HTML page with SVG plots ([`RunHtml`]); for a capacity record the human summary within 80 columns
//!   ([`CapacityText`], [`write_capacity_text`]) and a self-contained HTML page with SVG
//!   plots of the measured data ([`CapacityHtml`], [`write_capacity_html`]); for a study
//!   record the human summary within 80 columns ([`StudyText`], [`write_study_text`]) and a
//!   self-contained HTML page with SVG plots of the trials ([`StudyHtml`],
//!   [`write_study_html`]); for a bench record the human summary in the manner of
//!   hyperfine ([`BenchText`], [`render_bench_text`]); for a compare record a table in
//!   the manner of benchstat as text ([`CompareText`]) and as Markdown ([`CompareMarkdown`]).
//!
//! The crate writes only to the `io::Write` it is given; choosing files, stdout and exit
//! codes is the binary's business.

pub mod bench;
pub mod capacity;
pub mod compare;
pub mod export;
pub mod finding;
#[cfg(any(test, feature = "fixture"))]
pub mod fixture;
pub mod headline;
pub mod run;
pub mod stored;
pub mod study;

pub use bench::{BENCH_SCHEMA, BenchReport, BenchResult, BenchRun};
pub use capacity::{
    CAPACITY_SCHEMA, CapacityInput, CapacityRecord, CapacityResult, CapacityTarget, EndpointBreak,
    Knee, LittlesLaw, RateBracket, SearchEnding, SearchSettings, Step, StepKind, StepVerdict,
    Sweep, SweepAbove, SweepBelow, SweepPoint, Trend, UslRecord,
};
pub use compare::{
    COMPARE_SCHEMA, CompareInput, CompareMetrics, CompareRecord, CompareSide, CompareVerdict,
    CompareWarning, MetricChange, SideName,
};
pub use export::{
    BenchText, CapacityHtml, CapacityText, CompareMarkdown, CompareText, CsvExporter, Exporter,
    Format, JsonExporter, RunHtml, StudyHtml, StudyText, TextExporter, render_bench_text,
    write_capacity_html, write_capacity_text, write_study_html, write_study_text,
};
pub use finding::{Evidence, Finding, Recommendation, Severity, StrategyRef};
pub use headline::{Headline, HeadlineMetric};
pub use run::{
    BUCKETS, Breach, BuildInput, EndpointFigures, EndpointPoint, Generator, LagMs, LatencyBucket,
    LatencyMs, LoadInfo, LoadModel, OpenModel, PhaseMs, PhasesMs, Requests, RunEnding, RunRecord,
    SCHEMA, ScenarioInfo, SloResult, StageInfo, TargetInfo, TimelinePoint, TlsInfo, Warning,
    WarningKind, endpoint_metrics, metrics,
};
pub use stored::{StoredError, StoredRecord};
pub use study::{
    Best, BudgetInfo, Direction, Finalist, Gain, KnobInfo, KnobShare, STUDY_SCHEMA, StudyEnding,
    StudyInput, StudyObjective, StudyRecord, StudyTarget, TrialEntry, TrialRole,
};
