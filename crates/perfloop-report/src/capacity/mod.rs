//! The capacity record (schema `perfloop.capacity.v1`, committed in
//! `schema/perfloop.capacity.v1.json`): a capacity search's settings, every step it
//! measured (each a full [`RunRecord`] with its verdict), the maximum sustainable
//! throughput it found, the concurrency sweep with its Universal Scalability Law fit, and
//! the findings of the diagnosis. [`CapacityRecord::build`] assembles it from the steps a
//! search measured and what the search decided about them.

mod build;

use serde::{Deserialize, Serialize};

use crate::finding::Finding;
use crate::run::{Breach, RunRecord};

pub use build::{CapacityInput, RateBracket, format_rate};

/// The schema identifier written in every capacity record.
pub const CAPACITY_SCHEMA: &str = "perfloop.capacity.v1";

/// A capacity search and what it found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CapacityRecord {
    /// Always [`CAPACITY_SCHEMA`].
    pub schema: String,
    /// The perfloop version that measured it.
    pub perfloop_version: String,
    /// When the search began, RFC 3339 UTC.
    pub started_at: String,
    /// Wall time the whole search took, seconds.
    pub elapsed_s: f64,
    /// What was measured.
    pub target: CapacityTarget,
    /// How the search was run.
    pub settings: SearchSettings,
    /// Every step in the order measured: the rate ramp, the bisection, then the sweep.
    pub steps: Vec<Step>,
    /// The outcome of the rate search.
    pub result: CapacityResult,
    /// The concurrency sweep, when one was asked for.
    pub sweep: Option<Sweep>,
    /// What the diagnosis concluded, most severe first.
    pub findings: Vec<Finding>,
    /// Why the search ended.
    pub ending: SearchEnding,
    /// What can change a reported figure (e.g. a step not trusted at or below the rate
    /// that stopped the search), one sentence each.
    pub warnings: Vec<String>,
    /// What the reader should know that changes no figure (e.g. an objective the search
    /// added), one sentence each.
    pub notes: Vec<String>,
}

/// The target of a capacity search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CapacityTarget {
    /// The URL requests were sent to.
    pub url: String,
    /// The request method (empty for a scenario, whose requests each have their own).
    pub method: String,
    /// The scenario the requests came from; `null` for a search with one request.
    #[serde(default)]
    pub scenario: Option<crate::run::ScenarioInfo>,
    /// The managed target's command, when perfloop started it.
    pub command: Option<String>,
    /// The watched process, if any.
    pub pid: Option<u32>,
}

/// How the search was run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchSettings {
    /// Arrival rate of the first step, requests per second.
    pub start_rate: f64,
    /// Each ramp step's rate is the previous one's times this.
    pub growth: f64,
    /// The ramp stops here even if every step passed; `None` for no limit.
    pub max_rate: Option<f64>,
    /// Measured time of each step, seconds.
    pub step_duration_s: f64,
    /// Warm-up of each step before it is measured, seconds.
    pub step_warmup_s: f64,
    /// The bisection stops when the failing rate is within this fraction above the passing
    /// one (0.05 = 5 %).
    pub resolution: f64,
    /// The whole search is bounded by this, seconds.
    pub max_time_s: f64,
    /// A step whose throughput falls short of its asked rate by more than this fraction is
    /// saturated.
    pub rate_margin: f64,
    /// The service-level objectives every step is held to, as written.
    pub slo: Vec<String>,
    /// Connections of the closed-model sweep steps; empty without a sweep.
    pub concurrency: Vec<u64>,
}

/// What part of the search a step belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StepKind {
    /// The geometric ramp of arrival rates.
    Ramp,
    /// The bisection between the last passing and the first failing rate.
    Bisect,
    /// A closed-model step of the concurrency sweep.
    Sweep,
}

/// One measured step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// Position in the order measured, from 0.
    pub index: usize,
    /// Ramp, bisection or sweep.
    pub kind: StepKind,
    /// The load offered: arrivals per second (ramp, bisection) or connections (sweep).
    pub offered: f64,
    /// The verdict.
    pub verdict: StepVerdict,
    /// Everything measured in the step.
    pub run: RunRecord,
}

/// Whether a step was sustainable, and why not.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepVerdict {
    /// Sustainable: the objectives held, no saturation sign, and the step is trusted.
    pub pass: bool,
    /// The validity checks held (Little's law, the generator not saturated); a step that
    /// is not trusted never passes.
    pub trusted: bool,
    /// Every reason the step did not pass or is not trusted, one sentence each; empty
    /// when it passed.
    pub reasons: Vec<String>,
    /// All objectives held.
    pub slo_pass: bool,
    /// Open model: the requests counted for the window's arrivals (responses and failed
    /// attempts) over the arrivals asked for in the window (rate × window); `None` for sweep
    /// steps.
    pub achieved_ratio: Option<f64>,
    /// The trend of latency within the step.
    pub latency_trend: Trend,
    /// Arrivals dropped because no connection could take them.
    pub dropped: u64,
    /// Failed requests.
    pub errors: u64,
    /// Failed requests over all requests completed (0 to 1).
    pub error_rate: f64,
    /// Little's law check.
    pub littles_law: LittlesLaw,
    /// The load generator was saturated: the step measured perfloop, not the target.
    pub generator_saturated: bool,
}

/// A monotonic trend test over a series measured once per second within a step
/// (Mann–Kendall, with Sen's slope for the size of the change).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Trend {
    /// What the series is, e.g. `p99 latency per second, ms`.
    pub series: String,
    /// Number of points tested.
    pub n: usize,
    /// Kendall's τ between the values and time (−1 to 1).
    pub tau: f64,
    /// One-sided p-value of an upward trend.
    pub p_value: f64,
    /// Sen's slope: the median change per second, in the series' unit.
    pub slope_per_s: f64,
    /// Judged rising: significant and large enough to matter (the rule is documented
    /// where the verdict is made).
    pub rising: bool,
}

/// Little's law, `L = X × W`: the mean number of requests in flight, measured exactly over
/// the window, against the time the responses' latencies account for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LittlesLaw {
    /// Mean requests in flight over the window: each request's time in flight inside it
    /// (from its intended start in the open model), summed, over the window.
    pub in_flight: f64,
    /// Responses per second of the window times their mean latency (seconds).
    pub expected: f64,
    /// `in_flight / expected`; 1 when both are 0.
    pub ratio: f64,
    /// The two agree within what the window's edges and the requests without a latency
    /// can explain (the rule is documented where the verdict is made).
    pub holds: bool,
}

/// The outcome of the rate search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CapacityResult {
    /// Throughput measured at the highest passing step, responses per second: the maximum
    /// sustainable throughput at the objectives. `None` when no step passed.
    pub max_sustainable_rps: Option<f64>,
    /// The asked rate of that step.
    pub max_passing_rate: Option<f64>,
    /// The index of that step.
    pub max_passing_step: Option<usize>,
    /// The lowest asked rate that failed; `None` when every step passed.
    pub min_failing_rate: Option<f64>,
    /// The failing rate is within `resolution` above the passing rate.
    pub resolved: bool,
    /// Where latency starts to climb, if it did within the rates measured.
    pub knee: Option<Knee>,
    /// What ended the rate search, in a sentence.
    pub bounded_by: String,
    /// The concurrency sweep sustained more within the objectives than the rate search
    /// found; `None` when it did not (or there was no sweep).
    pub sweep_above: Option<SweepAbove>,
    /// The rate search sustained more within the objectives than any step of the
    /// concurrency sweep (by more than the resolution), and what the sweep measured near
    /// the search's concurrency; `None` when it did not (or there was no sweep).
    #[serde(default)]
    pub sweep_below: Option<SweepBelow>,
    /// The endpoint that broke an objective first: at the lowest rate step where one did,
    /// the one furthest beyond its threshold; `None` when no endpoint broke one.
    #[serde(default)]
    pub first_broken_endpoint: Option<EndpointBreak>,
}

/// The endpoint that broke an objective first as the rate rose.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointBreak {
    /// The step where it broke.
    pub step: usize,
    /// That step's asked rate, requests per second.
    pub rate: f64,
    /// The endpoint, its figure and the objective it broke.
    pub breach: Breach,
    /// The other endpoints that broke an objective at that step, the furthest beyond
    /// first.
    pub others: Vec<String>,
}

/// A sweep step that sustained, within the objectives, more throughput than the rate
/// search's maximum (by more than the search's resolution), and why the search stopped
/// below it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepAbove {
    /// The sweep step with the highest throughput among those that passed.
    pub step: usize,
    /// Its connections.
    pub concurrency: u64,
    /// Its throughput, responses per second.
    pub throughput_rps: f64,
    /// Its p99 latency, ms.
    pub p99_ms: f64,
    /// The step that stopped the rate search (the lowest failing rate), if one did.
    pub search_stopped_at: Option<usize>,
    /// Why the search stopped below the sweep, in a sentence: that step's reasons, or what
    /// bounded the search.
    pub why: String,
}

/// The rate search's result above every passing step of the concurrency sweep (by more
/// than the search's resolution): the closed model at the concurrencies measured did not
/// reach what steady arrivals did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepBelow {
    /// The sweep step with the highest throughput among those that passed.
    pub step: usize,
    /// Its connections.
    pub concurrency: u64,
    /// Its throughput, responses per second.
    pub throughput_rps: f64,
    /// The search's step the result rests on.
    pub search_step: usize,
    /// Requests in flight on average during that step (time-weighted).
    pub search_in_flight: f64,
    /// What the sweep measured around that many requests in flight, in a sentence.
    pub why: String,
}

/// The knee of the latency curve.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Knee {
    /// The asked rate at the knee, requests per second.
    pub rate: f64,
    /// Throughput measured there.
    pub throughput_rps: f64,
    /// p99 latency there, ms.
    pub p99_ms: f64,
    /// The step.
    pub step: usize,
    /// How it was found, in a sentence.
    pub method: String,
}

/// The closed-model concurrency sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sweep {
    /// One per concurrency level measured.
    pub points: Vec<SweepPoint>,
    /// The Universal Scalability Law fitted to the points, when the fit succeeded.
    pub usl: Option<UslRecord>,
    /// Why the fit failed, when it did.
    pub usl_error: Option<String>,
}

/// One concurrency level of the sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepPoint {
    /// Connections, each with one request in flight.
    pub concurrency: u64,
    /// Responses per second.
    pub throughput_rps: f64,
    /// Median latency, ms.
    pub p50_ms: f64,
    /// p99 latency, ms.
    pub p99_ms: f64,
    /// The step that measured it.
    pub step: usize,
    /// The step passed its validity checks; untrusted points are left out of the fit.
    pub trusted: bool,
}

/// The Universal Scalability Law `X(N) = λN / (1 + σ(N − 1) + κN(N − 1))` fitted to the
/// sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UslRecord {
    /// Contention σ.
    pub sigma: f64,
    /// Coherency κ.
    pub kappa: f64,
    /// Throughput at concurrency 1, λ, responses per second.
    pub lambda: f64,
    /// `N* = ⌊√((1 − σ)/κ)⌋`; `None` when κ = 0.
    pub peak_concurrency: Option<f64>,
    /// The largest throughput the law predicts; `None` when it grows without bound.
    pub max_throughput_rps: Option<f64>,
    /// Coefficient of determination of the fit.
    pub r_squared: f64,
    /// Points fitted.
    pub points: usize,
    /// `contention`, `coherency` or `linear`: which term limits scaling over the measured
    /// range.
    pub limit: String,
}

impl UslRecord {
    /// The record of a fit.
    pub fn from_fit(fit: &perfloop_stats::usl::UslFit) -> UslRecord {
        UslRecord {
            sigma: fit.sigma,
            kappa: fit.kappa,
            lambda: fit.lambda,
            peak_concurrency: fit.peak_concurrency,
            max_throughput_rps: fit.max_throughput,
            r_squared: fit.r_squared,
            points: fit.points,
            limit: fit.limit().as_str().to_owned(),
        }
    }

    /// The throughput the law predicts at concurrency `n`, for drawing the curve.
    pub fn throughput(&self, n: f64) -> f64 {
        self.lambda * n / (1.0 + self.sigma * (n - 1.0) + self.kappa * n * (n - 1.0))
    }
}

/// Why a capacity search ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SearchEnding {
    /// The search ran to its end (resolution reached, or the maximum rate).
    Completed,
    /// Already the first step failed its objectives.
    FailedAtStart,
    /// `--max-time` was reached.
    MaxTime,
    /// Stopped from outside (Ctrl-C).
    Interrupted,
    /// The target exited during the search.
    TargetDied,
    /// No connection to the target could be made.
    Unreachable,
    /// A step could not be measured (for instance the monitor failed to start).
    Failed,
}

impl SearchEnding {
    /// The name written in the record.
    pub fn name(self) -> &'static str {
        match self {
            SearchEnding::Completed => "completed",
            SearchEnding::FailedAtStart => "failed_at_start",
            SearchEnding::MaxTime => "max_time",
            SearchEnding::Interrupted => "interrupted",
            SearchEnding::TargetDied => "target_died",
            SearchEnding::Unreachable => "unreachable",
            SearchEnding::Failed => "failed",
        }
    }
}
