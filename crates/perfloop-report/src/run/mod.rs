//! The run record: everything one run measured, as the one serialisable type that leaves
//! the process (schema `perfloop.run.v1`, committed in `schema/perfloop.run.v1.json`).
//!
//! The types here are plain data with serde derives; [`RunRecord::build`] (`build.rs`)
//! fills them from an engine outcome, with the latency summaries of `histogram.rs` and the
//! warning rules of `warnings.rs`. Every object denies unknown fields when read back, as
//! the schema's `additionalProperties: false` does. Units are in the field names: `_ms`,
//! `_s`, `_rps`. Secrets never get here: the target keeps header *names* only and redacts
//! query values whose names look like credentials.

mod build;
mod endpoints;
mod histogram;
mod timeline;
mod warnings;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use perfloop_stats::alert::{AlertEvent, AlertState};

pub use self::build::{BuildInput, endpoint_metrics, metrics};
pub use self::endpoints::Breach;
pub use self::histogram::BUCKETS;

/// The schema identifier written in every record.
pub const SCHEMA: &str = "perfloop.run.v1";

/// One run, as written to JSON and read back by later tools.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunRecord {
    /// Always [`SCHEMA`].
    pub schema: String,
    /// The perfloop version that made the record.
    pub perfloop_version: String,
    /// When the run started, RFC 3339 in UTC (`2025-01-31T12:00:00Z`).
    pub started_at: String,
    /// What was measured.
    pub target: TargetInfo,
    /// The load that was offered.
    pub load: LoadInfo,
    /// Request accounting.
    pub requests: Requests,
    /// Counted requests (`requests.total`) per second of the measured window: the closed
    /// model counts what completed inside the window, the open model the outcomes of the
    /// arrivals the window sent (drained after it).
    pub throughput_rps: f64,
    /// Mean requests in flight over the measured window, exact (each request's time in
    /// flight inside the window, summed, over the window). Little's law: about
    /// `throughput_rps` × mean latency.
    pub in_flight_mean: f64,
    /// Bytes of the message bodies of the responses counted in `requests.total`, as they
    /// arrived: without status lines, headers and chunked framing, not decompressed.
    /// Bodies of failed attempts are not counted.
    pub bytes_received: u64,
    /// Latency summary of the responses, in milliseconds.
    pub latency_ms: LatencyMs,
    /// The latency distribution in log-spaced buckets (non-empty ones, ascending).
    pub latency_histogram: Vec<LatencyBucket>,
    /// Where the time went before the responses, in milliseconds: each connection's
    /// connect and TLS handshake, each response's time to first byte.
    #[serde(default)]
    pub phases_ms: PhasesMs,
    /// What the TLS handshake before the run agreed on; `null` for plain TCP.
    #[serde(default)]
    pub tls: Option<TlsInfo>,
    /// Open model only (`null` in the closed model): asked and achieved rate, lag.
    pub open_model: Option<OpenModel>,
    /// The load generator's own resource use.
    pub generator: Generator,
    /// One row per second of the measured window.
    pub timeline: Vec<TimelinePoint>,
    /// Per endpoint (a named request of a scenario; a plain run has one, its figures the
    /// totals), in the run's order. Failed connects charged to open-model arrivals before
    /// a request was chosen for them are in the totals only.
    #[serde(default)]
    pub endpoints: Vec<EndpointFigures>,
    /// One verdict per service-level objective, in the order given.
    pub slo: Vec<SloResult>,
    /// The alerts that fired or resolved during the run (`--alert` rules checked each
    /// second), in the order they happened; empty when no rule was given or none fired.
    /// Set by the caller that watched the seconds: `record.alerts = events`.
    #[serde(default)]
    pub alerts: Vec<AlertEvent>,
    /// Why the run ended.
    pub ending: RunEnding,
    /// What can change a reported figure, one sentence each, those that invalidate the
    /// figures first.
    pub warnings: Vec<Warning>,
}

impl RunRecord {
    /// Whether the run spoke raw TCP (`tcp://`): its responses have no status code, and
    /// what it received counts every byte of them.
    pub fn raw_tcp(&self) -> bool {
        self.target
            .url
            .get(..6)
            .is_some_and(|s| s.eq_ignore_ascii_case("tcp://"))
    }

    /// Whether at least one service-level objective failed.
    pub fn slo_failed(&self) -> bool {
        self.slo.iter().any(|s| !s.pass)
    }

    /// The warning of `kind`, if the run has one.
    pub fn warning(&self, kind: WarningKind) -> Option<&Warning> {
        self.warnings.iter().find(|w| w.kind == kind)
    }
}

/// Something that can change a reported figure.
///
/// Reports show a warning that [`invalidates`](Warning::invalidates) the figures loudly
/// (the figures are not the target's, or there are none worth reading); the others
/// bound or qualify a figure and take one line each. A caller that expects a condition
/// (a step meant to overload the target drops arrivals) can tell it by its
/// [`kind`](Warning::kind).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Warning {
    /// What the warning is about.
    pub kind: WarningKind,
    /// The figures do not measure what the run was meant to measure.
    pub invalidates: bool,
    /// What it means and by how much, for a person, in a sentence.
    pub message: String,
}

impl Warning {
    /// A warning of `kind`; whether it invalidates the figures follows from the kind.
    pub fn new(kind: WarningKind, message: impl Into<String>) -> Warning {
        Warning {
            kind,
            invalidates: kind.invalidates(),
            message: message.into(),
        }
    }
}

/// What a [`Warning`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WarningKind {
    /// A worker thread of the load generator was saturated: the figures measure perfloop,
    /// not the target. Invalidates.
    GeneratorSaturated,
    /// No connection to the target could be made. Invalidates.
    Unreachable,
    /// No successful response (status below 400) was received. Invalidates.
    NoSuccess,
    /// The run was stopped before its end: the figures cover only the part measured.
    Interrupted,
    /// Requests still in flight at the end had already waited longer than a reported
    /// latency figure: that figure is a lower bound.
    Unfinished,
    /// Open model: arrivals never sent, numerous enough to move a reported percentile.
    Dropped,
    /// Open model: the achieved rate fell more than 1 % short of the asked rate.
    RateShort,
    /// The scrape's match expression kept none of the series the target exposes.
    ScrapeKeptNothing,
    /// The server closed its connections after (almost) every response: each request paid
    /// a TCP handshake, which the latency figures include.
    HandshakePerRequest,
    /// HTTP/2: the server ended connections with GOAWAY, and the requests it had not taken
    /// count as `goaway` errors (a per-connection request limit does this).
    #[serde(rename = "goaway")]
    GoAway,
}

impl WarningKind {
    /// Whether warnings of this kind invalidate the run's figures.
    pub fn invalidates(self) -> bool {
        matches!(
            self,
            WarningKind::GeneratorSaturated | WarningKind::Unreachable | WarningKind::NoSuccess
        )
    }
}

/// What was measured. Header values are never recorded: they may hold credentials.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetInfo {
    /// The URL, with credential-like query values replaced by `REDACTED`.
    pub url: String,
    /// The request method.
    pub method: String,
    /// The names of the extra request headers, in the order given.
    pub header_names: Vec<String>,
    /// The scenario the requests came from; `null` for a run of one request.
    #[serde(default)]
    pub scenario: Option<ScenarioInfo>,
    /// The command template of a managed target.
    #[serde(default)]
    pub command: Option<String>,
    /// The watched process (managed or `--pid`), if any.
    #[serde(default)]
    pub pid: Option<u32>,
    /// Resource samples of the target, the host and the generator, on the timeline's axis
    /// (negative `t_s`: warm-up).
    #[serde(default)]
    pub samples: Vec<perfloop_monitor::Sample>,
    /// Means, peaks and totals of the samples.
    #[serde(default)]
    pub summary: Option<perfloop_monitor::Summary>,
    /// Prometheus series scraped from the target.
    #[serde(default)]
    pub scraped: Vec<perfloop_monitor::Series>,
    /// What went wrong while watching (failed scrapes, unreadable files, the target's exit).
    #[serde(default)]
    pub monitor_errors: Vec<String>,
}

/// The scenario file a run's (or a capacity search's) requests came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioInfo {
    /// The file, as given.
    pub file: String,
    /// The requests it names: the endpoints.
    pub requests: u64,
}

impl ScenarioInfo {
    /// The scenario of a run's requests, if they came from one.
    pub fn of(request: &perfloop_engine::RequestSpec) -> Option<ScenarioInfo> {
        request.scenario.as_ref().map(|s| ScenarioInfo {
            file: s.file.clone(),
            requests: s.requests.len() as u64,
        })
    }
}

/// The load model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LoadModel {
    /// A fixed number of connections, each sending back to back.
    Closed,
    /// Arrivals on a schedule, independent of the responses.
    Open,
}

/// The load that was offered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoadInfo {
    /// Closed or open.
    pub model: LoadModel,
    /// Closed model: the (peak) number of connections asked for; `null` in the open model.
    pub connections: Option<u64>,
    /// Open model: the most connections the engine could open; `null` in the closed model.
    pub max_connections: Option<u64>,
    /// Open model: the (peak) arrival rate asked for, per second; `null` in the closed model.
    pub rate: Option<f64>,
    /// Length of the measured window in seconds (the open model includes the drain).
    pub duration_s: f64,
    /// Warm-up before the measured window, in seconds, excluded from every figure.
    pub warmup_s: f64,
    /// Worker threads that generated the load.
    pub threads: u64,
    /// The request count limit (`-n`), if one was set.
    pub request_limit: Option<u64>,
    /// Per-request timeout in seconds.
    pub timeout_s: f64,
    /// The stages, if the load ramped; `null` for a constant load.
    pub stages: Option<Vec<StageInfo>>,
    /// The named level the load came from, if any.
    pub level: Option<String>,
    /// The I/O backend that drove the connections (`--io`); `null` in records made
    /// before the choice existed.
    #[serde(default)]
    pub io_backend: Option<IoBackend>,
}

/// The I/O backend of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IoBackend {
    /// The epoll event loop.
    Epoll,
    /// io_uring.
    Uring,
}

impl IoBackend {
    /// `"epoll"` or `"uring"`.
    pub fn name(self) -> &'static str {
        match self {
            IoBackend::Epoll => "epoll",
            IoBackend::Uring => "uring",
        }
    }
}

/// One stage: a linear ramp to `target` over `duration_s`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageInfo {
    /// Length of the ramp in seconds.
    pub duration_s: f64,
    /// Connections (closed) or arrivals per second (open) at the end of the stage.
    pub target: f64,
}

/// Request accounting. `total == ok + errors`; `dropped` and `unfinished` are separate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Requests {
    /// Responses and failed attempts.
    pub total: u64,
    /// Responses with a status below 400.
    pub ok: u64,
    /// Failed attempts and responses with a status of 400 or more.
    pub errors: u64,
    /// Open model: arrivals that could not be sent before the end of the run.
    pub dropped: u64,
    /// Requests still in flight when the run stopped without draining.
    pub unfinished: u64,
    /// Open model: counted requests answered after the window, while it drained (in the
    /// totals and the latency, not in the timeline).
    #[serde(default)]
    pub drained: u64,
    /// Connections established in the measured window and its drain.
    #[serde(default)]
    pub connections: u64,
    /// Requests sent again on a new connection because the server had closed the reused
    /// one without saying so (idempotent methods; neither errors nor extra requests).
    #[serde(default)]
    pub reconnects: u64,
    /// Responses by status code (`"200": n`).
    pub by_status: BTreeMap<String, u64>,
    /// Errors by kind (`"timeout": n`), non-zero kinds only.
    pub errors_by_kind: BTreeMap<String, u64>,
}

/// Latency summary in milliseconds; all 0 when no response was received (`count == 0`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LatencyMs {
    /// Number of latencies recorded.
    pub count: u64,
    /// Lowest.
    pub min: f64,
    /// Arithmetic mean.
    pub mean: f64,
    /// Standard deviation.
    pub stdev: f64,
    /// Median.
    pub p50: f64,
    /// 75th percentile.
    pub p75: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 95th percentile.
    pub p95: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    pub p99_9: f64,
    /// Highest.
    pub max: f64,
}

/// One bucket of the latency distribution: latencies in (previous `le_ms`, `le_ms`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LatencyBucket {
    /// Upper bound of the bucket, in milliseconds.
    pub le_ms: f64,
    /// Latencies in the bucket.
    pub count: u64,
}

/// Open-model figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenModel {
    /// Arrivals per second the schedule asked for, averaged over the measured window.
    pub asked_rate: f64,
    /// Requests sent per second over the measured window.
    pub achieved_rate: f64,
    /// The most connections open at once.
    pub peak_connections: u64,
    /// How long the target took to answer the window's arrivals, in seconds: the span of
    /// their completion times without the first and last 1 %, scaled to all. Longer than
    /// the window when the target could not keep up; throughput is per second of the longer.
    #[serde(default)]
    pub answering_s: f64,
    /// How late the generator noticed each arrival (its scheduling lag).
    pub lag_ms: LagMs,
}

/// Scheduling lag in milliseconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LagMs {
    /// Median.
    pub p50: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Maximum.
    pub max: f64,
}

/// The load generator's own resource use during the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Generator {
    /// User CPU seconds of the perfloop process.
    pub cpu_user_s: f64,
    /// System CPU seconds of the perfloop process.
    pub cpu_sys_s: f64,
    /// (user + sys) CPU microseconds per request in `requests.total`; 0 without requests.
    pub cpu_us_per_request: f64,
    /// Per worker thread: CPU time over wall time (0 to 1).
    pub threads_busy: Vec<f64>,
    /// A worker thread was busy at least 90 % of the run: the figures measure the
    /// generator, not the target.
    pub saturated: bool,
}

/// Connect, TLS handshake and time to first byte, in milliseconds; a phase the run did
/// not go through (a handshake over plain TCP, a connect in a window that opened none) is
/// `null`. Connect and handshake are one value per connection established in the window
/// (with keep-alive far fewer than the requests), time to first byte one per counted
/// response, from its request's first byte written to its response's first byte read.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhasesMs {
    /// TCP connect.
    pub connect: Option<PhaseMs>,
    /// TLS handshake, from TCP up to the handshake complete.
    pub tls_handshake: Option<PhaseMs>,
    /// Time to first byte.
    pub first_byte: Option<PhaseMs>,
}

/// One phase's summary, in milliseconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhaseMs {
    /// Values recorded.
    pub count: u64,
    /// Arithmetic mean.
    pub mean: f64,
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Highest.
    pub max: f64,
}

/// What a TLS handshake agreed on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsInfo {
    /// The protocol version, e.g. `TLSv1_3`.
    pub version: String,
    /// The cipher suite, e.g. `TLS13_AES_256_GCM_SHA384`.
    pub cipher: String,
    /// The protocol ALPN chose (`http/1.1`); `null` when the server chose none.
    pub alpn: Option<String>,
}

/// One endpoint's figures over the run, counted like the totals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointFigures {
    /// Its name: the scenario's request name, or `METHOD /path` for a plain run.
    pub name: String,
    /// Its responses and failed attempts.
    pub requests: u64,
    /// Of which responses with a status below 400.
    pub ok: u64,
    /// Of which failed attempts and responses with a status of 400 or more.
    pub errors: u64,
    /// Errors by kind (`"timeout": n`), non-zero kinds only.
    pub errors_by_kind: BTreeMap<String, u64>,
    /// Its requests per second, over the same span as the run's `throughput_rps` (the
    /// endpoints' throughputs add up to it).
    pub throughput_rps: f64,
    /// Latency summary of its responses, in milliseconds.
    pub latency_ms: LatencyMs,
    /// The time spent waiting on it, in seconds: the sum of its requests' latencies
    /// (responses and failed attempts).
    pub waited_s: f64,
    /// Its share (0 to 1) of the time spent waiting on the target, over all endpoints.
    pub time_share: f64,
}

/// One endpoint's share of one second of the timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointPoint {
    /// Its requests completed in this second.
    pub requests: u64,
    /// Of which errors.
    pub errors: u64,
    /// `requests / length_s` of the row.
    pub rps: f64,
    /// Median latency of its responses in this second, ms; `null` without a response.
    pub p50_ms: Option<f64>,
    /// 99th percentile, ms.
    pub p99_ms: Option<f64>,
}

/// One second of the measured window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimelinePoint {
    /// Start of the second, in seconds since the measured window opened.
    pub t_s: u64,
    /// Length of the row in seconds: 1, or less for a last, partial second of the window.
    #[serde(default = "one_second")]
    pub length_s: f64,
    /// Requests completed in this row.
    pub requests: u64,
    /// Of which errors.
    pub errors: u64,
    /// `requests / length_s`.
    pub rps: f64,
    /// Median latency of this second, ms; `null` when no response completed in it.
    pub p50_ms: Option<f64>,
    /// 90th percentile, ms.
    pub p90_ms: Option<f64>,
    /// 99th percentile, ms.
    pub p99_ms: Option<f64>,
    /// Maximum, ms.
    pub max_ms: Option<f64>,
    /// The second's latency histogram on a fixed logarithmic grid, `[bucket, count]` pairs
    /// (ascending, non-empty buckets only): bucket `i` holds latencies in
    /// `(1.01^(i-1), 1.01^i]` microseconds (`perfloop_stats::grid`). Seconds and runs merge
    /// bucket by bucket: `compare` resamples them, a live page sums them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub latency_buckets: Vec<(u32, u64)>,
    /// Per endpoint, in the order of the record's `endpoints`, when the run has two or
    /// more; absent for a run of one endpoint (the row is its own).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub endpoints: Vec<EndpointPoint>,
}

fn one_second() -> f64 {
    1.0
}

/// The verdict on one service-level objective.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SloResult {
    /// The objective as written, e.g. `p99<200ms` or `search: p99<200ms`.
    pub expr: String,
    /// The endpoint it was checked on; `null`: the whole run.
    #[serde(default)]
    pub endpoint: Option<String>,
    /// The metric, e.g. `p99`.
    pub metric: String,
    /// The measured value in `unit`; `null` when it could not be measured (a failure).
    pub value: Option<f64>,
    /// The threshold in `unit`.
    pub threshold: f64,
    /// `"ms"`, `"ratio"` or `"req/s"`.
    pub unit: String,
    /// Whether the objective held.
    pub pass: bool,
}

/// Why the run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunEnding {
    /// The duration, the stages or the request count was reached.
    Completed,
    /// Stopped from outside (Ctrl-C) before the end.
    Interrupted,
    /// No connection could ever be established.
    Unreachable,
}

impl RunEnding {
    /// The name written in the record.
    pub fn name(self) -> &'static str {
        match self {
            RunEnding::Completed => "completed",
            RunEnding::Interrupted => "interrupted",
            RunEnding::Unreachable => "unreachable",
        }
    }
}
