//! The study file: a TOML description of a tuning study, parsed and validated into a
//! [`Study`].
//!
//! A complete example:
//!
//! ```toml
//! name = "demo-matching"          # the study's name (its key in the store)
//!
//! [target]
//! # A managed target: a command template started once per trial. `{workers}` and `{batch}`
//! # are knobs; `{port}` is reserved: perfloop picks a free port and fills it in.
//! command = "perfloop demo-target --listen 127.0.0.1:{port} --workers {workers} --batch-size {batch}"
//! ready = "log:listening on"      # optional: an http:// URL, tcp:PORT or log:REGEX
//! ready_timeout = "30s"           # optional, 30s by default
//! env = { MATCH_ALGO = "{algo}", MATCH_CACHE = "{cache}", MATCH_RATIO = "{ratio}" }
//!
//! [knobs.workers]
//! type = "int"
//! low = 1
//! high = 32
//! log = true
//! default = 16
//!
//! [knobs.batch]
//! type = "int"
//! low = 1
//! high = 4096
//! log = true
//! default = 500
//!
//! [knobs.ratio]
//! type = "float"
//! low = 0.1
//! high = 0.9
//! step = 0.1
//! default = 0.5
//!
//! [knobs.algo]
//! type = "categorical"
//! values = ["hash", "sort"]
//! default = "hash"
//!
//! [knobs.cache]
//! type = "bool"
//! default = true
//!
//! [workload]
//! load = { url = "http://127.0.0.1:{port}/match", model = "closed", connections = 64, duration = "10s", warmup = "2s" }
//!
//! [objective]
//! maximize = "throughput"
//! constraints = ["p99<100ms", "rss_mb<500", "error_rate<1%"]
//!
//! [budget]
//! trials = 40
//! time = "20m"
//! repeats = 1
//! sampler = "tpe"
//! seed = 1
//! finalists = 3                   # re-measured against the baseline at the end
//! confirm_rounds = 3
//! baseline_every = 5              # the baseline is measured again every 5 trials
//! ```
//!
//! Every table and inline table refuses unknown fields. The sections:
//!
//! - `name`: a non-empty string.
//! - `[target]`: exactly one of
//!   - `command`: a managed target's command template ([`Target::Managed`]), with an optional
//!     `ready` probe (`http://...`, `tcp:PORT`, `log:REGEX`) and `ready_timeout`; or
//!   - `bench`: a command benchmark ([`Target::Bench`]) run to completion once per
//!     measurement, with an optional `work_regex` whose first capture group is the amount of
//!     work the command reports (without it, the work rate is runs per second).
//!
//!   `env` (optional, both kinds) sets environment variables from templates.
//!   Templates use the syntax of `perfloop bench-cmd`: `{name}` is a placeholder (a letter or
//!   `_`, then letters, digits, `_` or `-`), `{{` and `}}` are literal braces. Placeholders
//!   may appear in `command`, `env` values, `ready` and the workload's `url`. Each must be a
//!   declared knob or a reserved placeholder ([`RESERVED_PLACEHOLDERS`]: `{port}`, a free
//!   port perfloop chooses for each trial, managed targets only); each knob must appear in
//!   at least one of them (otherwise tuning it would change nothing).
//! - `[knobs.NAME]`: one table per knob, in the order of the file (the first knob varies
//!   slowest in a grid). `type` is `int`, `float`, `categorical` or `bool`; `int` and
//!   `float` take `low`, `high` (inclusive), optional `step` and `log`; `categorical` takes
//!   `values`; every knob needs a `default` (the baseline configuration). The rules are those
//!   of [`Space::new`]; `port` is not a knob name.
//! - `[workload]`: for a managed target exactly one of
//!   - `load = { url, model = "closed"|"open", connections, rate, duration, warmup, level }`
//!     ([`LoadSpec`]; `url` is required, an open model needs `rate`, a closed one takes no
//!     `rate`; `level` is `smoke`, `medium`, `large` or `extreme`);
//!   - `capacity = { url, slo = [...], start_rate, max_rate, step_duration, connections }`
//!     ([`CapacitySpec`]; the SLOs use the grammar of `perfloop capacity --slo`).
//!
//!   Both also take what each request sends ([`HttpRequest`]): `method`, `headers` (a list
//!   of `"Name: value"`), one of `body`, `body_file` or `body_lines` (a file whose lines are
//!   sent in turn, one per request; paths are relative to the study file, and
//!   [`Study::load`] checks that the file can be read), and `timeout`. `warmup` may be
//!   `"0s"` (no warm-up); every other duration must be positive.
//!
//!   A bench target has no `[workload]` (or an empty one): it is measured by its work rate.
//! - `[objective]`: exactly one of `maximize = "METRIC"`, `minimize = "METRIC"` or
//!   `weighted = { METRIC = WEIGHT, ... }` (the score is the weighted sum; a positive weight
//!   rewards a larger value, a negative one a smaller value), over the metrics of
//!   [`Metric`]: `throughput`, `p50`, `p90`, `p99`, `error_rate`, `cpu`, `rss_mb`.
//!   `constraints` is a list of `METRIC OP THRESHOLD` ([`Constraint`]).
//! - `[budget]`: `trials` and/or `time` (at least one), `repeats` per trial (default 1),
//!   `sampler` = `tpe` (default), `grid` or `random`, and `seed` (default 0). `finalists`
//!   (default 3, at most 10; 0 skips the confirmation), `confirm_rounds` (default 3) and
//!   `baseline_every` (default 5) shape how the winner is confirmed: see [`Budget`].
//!
//! Durations (`time`, `duration`, `warmup`, `step_duration`, `timeout`, `ready_timeout`) are
//! written like `500ms`, `10s`, `20m`, `1h 30m`.
//!
//! Every error is a [`StudyError`] with the line and column of the offending text, the
//! message quoting it, and the source line.
//!
//! A study's [`Study::fingerprint`] identifies its normalised content, so that a store can
//! refuse to resume a study whose file changed in substance.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::ops::Range;
use std::path::Path;
use std::time::Duration;

use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use toml::Spanned;

use crate::space::{Knob, KnobKind, Space, SpaceError, Value};

/// Placeholders that perfloop fills itself and that therefore cannot be knob names:
/// `port`, a free TCP port chosen for each trial of a managed target.
pub const RESERVED_PLACEHOLDERS: &[&str] = &["port"];

/// How long a managed target has to become ready when `ready_timeout` is not given.
pub const DEFAULT_READY_TIMEOUT: Duration = Duration::from_secs(30);
/// Finalists re-measured when `finalists` is not given.
pub const DEFAULT_FINALISTS: u32 = 3;
/// The most finalists a study may ask for.
pub const MAX_FINALISTS: u32 = 10;
/// Confirmation rounds when `confirm_rounds` is not given.
pub const DEFAULT_CONFIRM_ROUNDS: u32 = 3;
/// The most confirmation rounds a study may ask for.
pub const MAX_CONFIRM_ROUNDS: u32 = 50;
/// Exploration trials between two baseline measurements when `baseline_every` is not given.
pub const DEFAULT_BASELINE_EVERY: u32 = 5;

// ---------------------------------------------------------------------------------------
// The validated study
// ---------------------------------------------------------------------------------------

/// A validated tuning study.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Study {
    /// The study's name, its key in the store.
    pub name: String,
    /// What is tuned and how it is started.
    pub target: Target,
    /// The knobs, validated.
    pub space: Space,
    /// How each trial is measured.
    pub workload: Workload,
    /// What the study optimises.
    pub objective: Objective,
    /// Limits a trial must respect to count (a violating trial has no objective).
    pub constraints: Vec<Constraint>,
    /// How long the study may run and how it chooses configurations.
    pub budget: Budget,
}

/// The target of a study.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Target {
    /// A managed target: a long-running command started for each trial, then measured by the
    /// workload.
    Managed {
        /// The command template.
        command: String,
        /// How to tell that it is ready, if given.
        ready: Option<Ready>,
        /// How long it has to become ready before the trial fails.
        ready_timeout: Duration,
        /// Environment variables (name → template).
        env: BTreeMap<String, String>,
    },
    /// A command benchmark: a command run to completion, measured by its work rate.
    Bench {
        /// The command template.
        command: String,
        /// A regular expression whose first capture group is the work the command reports.
        work_regex: Option<String>,
        /// Environment variables (name → template).
        env: BTreeMap<String, String>,
    },
}

impl Target {
    /// The command template.
    #[must_use]
    pub fn command(&self) -> &str {
        match self {
            Self::Managed { command, .. } | Self::Bench { command, .. } => command,
        }
    }

    /// The environment variable templates.
    #[must_use]
    pub fn env(&self) -> &BTreeMap<String, String> {
        match self {
            Self::Managed { env, .. } | Self::Bench { env, .. } => env,
        }
    }
}

/// A readiness probe, as written after its prefix. Templates are kept unfilled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Ready {
    /// An `http://` URL that answers.
    Http(String),
    /// `tcp:PORT`: a port (a number or a placeholder such as `{port}`) that accepts.
    Tcp(String),
    /// `log:REGEX`: a line of the target's log that matches.
    Log(String),
}

/// How a trial is measured.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Workload {
    /// A load run against a managed target.
    Load(LoadSpec),
    /// A capacity search against a managed target: the maximum sustainable throughput at
    /// the SLOs.
    Capacity(CapacitySpec),
    /// A bench target's work per second.
    WorkRate,
}

/// A load run (the options of `perfloop load`); absent options take `perfloop load`'s
/// defaults or the level's.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LoadSpec {
    /// The URL (a template: `{port}` and knobs may appear).
    pub url: String,
    /// Closed or open model.
    pub model: Model,
    /// Connections.
    pub connections: Option<u32>,
    /// Arrival rate in requests per second (open model only).
    pub rate: Option<f64>,
    /// Measured duration.
    pub duration: Option<Duration>,
    /// Warm-up before measuring.
    pub warmup: Option<Duration>,
    /// A named load level.
    pub level: Option<Level>,
    /// What each request sends.
    pub request: HttpRequest,
}

/// What each request of a workload sends. Paths are relative to the study file.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct HttpRequest {
    /// The method; `GET`, or `POST` when a body is given, if not written.
    pub method: Option<String>,
    /// Headers, each `Name: value`.
    pub headers: Vec<String>,
    /// The body, if any.
    pub body: Option<Body>,
    /// How long a request may take before it counts as an error.
    pub timeout: Option<Duration>,
}

/// A request body.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Body {
    /// This text.
    Text(String),
    /// The content of this file.
    File(String),
    /// Each line of this file in turn, one per request (like `--body-lines`).
    Lines(String),
}

/// The load model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Model {
    /// Each connection sends its next request when the previous one completes.
    #[default]
    Closed,
    /// Requests arrive at a fixed rate whatever the responses.
    Open,
}

/// A named load level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// A short, light check.
    Smoke,
    /// The everyday level.
    Medium,
    /// A heavier run.
    Large,
    /// As hard as the generator goes.
    Extreme,
}

/// A capacity search (the options of `perfloop capacity`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CapacitySpec {
    /// The URL (a template).
    pub url: String,
    /// The SLOs a step must meet, e.g. `p99<100ms` (validated with
    /// [`perfloop_stats::slo::Slo::parse`]).
    pub slo: Vec<String>,
    /// The first step's rate.
    pub start_rate: Option<f64>,
    /// The highest rate tried.
    pub max_rate: Option<f64>,
    /// The duration of each step.
    pub step_duration: Option<Duration>,
    /// Connections.
    pub connections: Option<u32>,
    /// What each request sends.
    pub request: HttpRequest,
}

/// A metric a study can optimise or constrain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Requests (or, for a bench target, units of work) per second.
    Throughput,
    /// Median latency, in milliseconds.
    P50,
    /// 90th percentile latency, in milliseconds.
    P90,
    /// 99th percentile latency, in milliseconds.
    P99,
    /// Errors divided by requests, a fraction.
    ErrorRate,
    /// The target's CPU, in cores (CPU seconds per second).
    Cpu,
    /// The target's peak resident memory, in MiB.
    RssMb,
}

impl Metric {
    /// Every metric.
    pub const ALL: [Metric; 7] = [
        Metric::Throughput,
        Metric::P50,
        Metric::P90,
        Metric::P99,
        Metric::ErrorRate,
        Metric::Cpu,
        Metric::RssMb,
    ];

    /// The metric's name in a study file.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Throughput => "throughput",
            Self::P50 => "p50",
            Self::P90 => "p90",
            Self::P99 => "p99",
            Self::ErrorRate => "error_rate",
            Self::Cpu => "cpu",
            Self::RssMb => "rss_mb",
        }
    }

    /// The metric named `name` (case-insensitive).
    #[must_use]
    pub fn parse(name: &str) -> Option<Metric> {
        let name = name.trim().to_ascii_lowercase();
        Self::ALL.into_iter().find(|m| m.name() == name)
    }

    fn is_latency(self) -> bool {
        matches!(self, Self::P50 | Self::P90 | Self::P99)
    }

    fn expected() -> String {
        Self::ALL.map(Metric::name).join(", ")
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a study optimises. [`Objective::score`] turns it into a value to maximise.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Objective {
    /// Maximise one metric.
    Maximize(Metric),
    /// Minimise one metric.
    Minimize(Metric),
    /// Maximise the weighted sum of metrics (negative weights penalise).
    Weighted(BTreeMap<Metric, f64>),
}

impl Objective {
    /// The score to maximise, from the value of each metric.
    #[must_use]
    pub fn score(&self, value: impl Fn(Metric) -> f64) -> f64 {
        match self {
            Self::Maximize(m) => value(*m),
            Self::Minimize(m) => -value(*m),
            Self::Weighted(weights) => weights.iter().map(|(m, w)| w * value(*m)).sum(),
        }
    }
}

/// A comparison operator of a constraint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Op {
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

impl Op {
    /// Whether `value OP threshold` holds; a NaN value (not measured) never does.
    #[must_use]
    pub fn holds(self, value: f64, threshold: f64) -> bool {
        match self {
            Self::Lt => value < threshold,
            Self::Le => value <= threshold,
            Self::Gt => value > threshold,
            Self::Ge => value >= threshold,
        }
    }
}

/// A constraint: `METRIC OP THRESHOLD`, such as `p99<100ms`, `rss_mb<500`, `error_rate<1%`,
/// `throughput>=1000`, `cpu<2` (cores; `cpu<150%` is 1.5 cores).
///
/// Thresholds are kept in the metric's unit: milliseconds for latencies (written with `us`,
/// `ms` or `s`), a fraction for `error_rate` (written as a percentage or a fraction in
/// \[0, 1\]), per second for `throughput` (optionally `/s`), cores for `cpu` (or a percentage
/// of one core), MiB for `rss_mb` (optionally `MiB` or `GiB`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Constraint {
    /// The constraint as written (not part of the study's fingerprint: `1%` and `0.01` are
    /// the same constraint).
    #[serde(skip)]
    pub text: String,
    /// The metric constrained.
    pub metric: Metric,
    /// The comparison.
    pub op: Op,
    /// The threshold, in the metric's unit.
    pub threshold: f64,
}

impl Constraint {
    /// Parses `METRIC OP THRESHOLD`.
    ///
    /// # Errors
    ///
    /// A message quoting the text and saying what was expected.
    pub fn parse(text: &str) -> Result<Constraint, String> {
        let bad = |reason: String| format!("invalid constraint `{text}`: {reason}");
        let Some(at) = text.find(['<', '>']) else {
            return Err(bad(
                "expected METRIC OP THRESHOLD with OP one of <, <=, >, >=, like p99<100ms".into(),
            ));
        };
        let (name, rest) = text.split_at(at);
        let (op, rest) = match rest.as_bytes() {
            [b'<', b'=', ..] => (Op::Le, &rest[2..]),
            [b'>', b'=', ..] => (Op::Ge, &rest[2..]),
            [b'<', ..] => (Op::Lt, &rest[1..]),
            _ => (Op::Gt, &rest[1..]),
        };
        let Some(metric) = Metric::parse(name) else {
            return Err(bad(format!(
                "unknown metric `{}`; expected one of {}",
                name.trim(),
                Metric::expected()
            )));
        };
        let threshold = parse_threshold(metric, rest.trim()).map_err(bad)?;
        Ok(Constraint {
            text: text.trim().to_owned(),
            metric,
            op,
            threshold,
        })
    }

    /// Whether a measured value satisfies the constraint (NaN never does).
    #[must_use]
    pub fn holds(&self, value: f64) -> bool {
        self.op.holds(value, self.threshold)
    }
}

fn parse_threshold(metric: Metric, text: &str) -> Result<f64, String> {
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-')))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number
        .parse()
        .ok()
        .filter(|v: &f64| v.is_finite() && *v >= 0.0)
        .ok_or_else(|| format!("threshold `{text}` is not a non-negative number"))?;
    let unit = unit.trim().to_ascii_lowercase();
    let unit_error =
        |expected: &str| format!("`{text}` is not a threshold for {metric}: expected {expected}");
    match metric {
        m if m.is_latency() => match unit.as_str() {
            "us" | "µs" => Ok(number / 1000.0),
            "ms" => Ok(number),
            "s" => Ok(number * 1000.0),
            _ => Err(unit_error(
                "a latency with a unit: us, ms or s (like 100ms)",
            )),
        },
        Metric::ErrorRate => match unit.as_str() {
            "%" if number <= 100.0 => Ok(number / 100.0),
            "" if number <= 1.0 => Ok(number),
            _ => Err(unit_error("a percentage (1%) or a fraction in [0, 1]")),
        },
        Metric::Cpu => match unit.as_str() {
            "" => Ok(number),
            "%" => Ok(number / 100.0),
            _ => Err(unit_error("cores (2) or a percentage of one core (150%)")),
        },
        Metric::RssMb => match unit.as_str() {
            "" | "mib" => Ok(number),
            "gib" => Ok(number * 1024.0),
            _ => Err(unit_error("MiB (500 or 500MiB) or GiB")),
        },
        _ => match unit.as_str() {
            "" | "/s" => Ok(number),
            _ => Err(unit_error("a number per second (1000 or 1000/s)")),
        },
    }
}

/// How configurations are chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SamplerKind {
    /// Tree-structured Parzen Estimator ([`crate::TpeSampler`]).
    #[default]
    Tpe,
    /// The shuffled exhaustive grid ([`crate::GridSampler`]).
    Grid,
    /// Uniform random draws ([`crate::RandomSampler`]).
    Random,
}

/// The study's budget: it stops at whichever limit comes first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Budget {
    /// The maximum number of trials.
    pub trials: Option<u32>,
    /// The maximum wall-clock time.
    pub time: Option<Duration>,
    /// Measurements per trial.
    pub repeats: u32,
    /// The sampler.
    pub sampler: SamplerKind,
    /// The sampler's seed.
    pub seed: u64,
    /// How many of the best configurations are re-measured against the baseline before a
    /// winner is declared (0: none, the study only explores).
    pub finalists: u32,
    /// Rounds of that re-measurement: each measures the baseline and every finalist once.
    pub confirm_rounds: u32,
    /// The baseline is measured again after every this many exploration trials.
    pub baseline_every: u32,
}

// ---------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------

/// A study file that cannot be used: where, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StudyError {
    /// The file, when the study was read with [`Study::load`].
    pub file: Option<String>,
    /// The line (1-based) of the offending text; 0 when the file could not be read.
    pub line: usize,
    /// The column (1-based, in characters) of the offending text.
    pub column: usize,
    /// What is wrong, quoting the offending text.
    pub message: String,
    /// The source line at `line`, for context.
    pub source_line: String,
}

impl fmt::Display for StudyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = self.file.as_deref().unwrap_or("study");
        if self.line == 0 {
            return write!(f, "{file}: {}", self.message);
        }
        write!(f, "{file}:{}:{}: {}", self.line, self.column, self.message)?;
        if !self.source_line.trim().is_empty() {
            write!(f, "\n  {} | {}", self.line, self.source_line)?;
        }
        Ok(())
    }
}

impl std::error::Error for StudyError {}

// ---------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------

impl Study {
    /// Parses and validates a study file's text.
    ///
    /// # Errors
    ///
    /// The first problem found, with its line and column: see the [module](self) docs.
    pub fn parse(text: &str) -> Result<Study, StudyError> {
        Self::parse_in(text, None)
    }

    /// Parses and validates a study file's text; with the directory of the file, also checks
    /// that the workload's body files can be read (paths are relative to that directory).
    fn parse_in(text: &str, base: Option<&Path>) -> Result<Study, StudyError> {
        let src = Source { text, base };
        let raw: RawStudy = toml::from_str(text).map_err(|e| {
            let span = e.span().unwrap_or(0..0);
            src.error(&span, e.message().trim_end().to_owned())
        })?;
        raw.validate(&src)
    }

    /// Reads, parses and validates a study file; errors name the file. Beyond
    /// [`Study::parse`], the workload's `body_file` or `body_lines` must be a readable file
    /// (relative to the study file's directory), `body_lines` with at least one non-empty
    /// line: a missing file is found here, with its line and column, not by every trial.
    ///
    /// # Errors
    ///
    /// The file cannot be read, [`Study::parse`] fails or a body file cannot be read.
    pub fn load(path: &Path) -> Result<Study, StudyError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| StudyError {
            file: Some(file.clone()),
            line: 0,
            column: 0,
            message: format!("cannot read the study file: {e}"),
            source_line: String::new(),
        })?;
        let base = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        Self::parse_in(&text, Some(base)).map_err(|mut e| {
            e.file = Some(file);
            e
        })
    }

    /// The validated search space.
    #[must_use]
    pub fn space(&self) -> &Space {
        &self.space
    }

    /// A stable identity of the study's normalised content: the FNV-1a 64-bit hash of the
    /// study's canonical JSON (the parsed [`Study`] serialised with its fields in a fixed
    /// order, maps sorted by key, durations and thresholds in their units), as 16 hex digits.
    ///
    /// Whitespace, comments, the order of keys within a table and equivalent spellings
    /// (`1%` and `0.01`) do not change it; any change of substance does, including the order
    /// of the knobs (it orders the grid).
    #[must_use]
    pub fn fingerprint(&self) -> String {
        let json = serde_json::to_string(self).unwrap_or_default();
        format!("{:016x}", fnv1a64(json.as_bytes()))
    }
}

fn fnv1a64(bytes: &[u8]) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    bytes
        .iter()
        .fold(OFFSET, |h, b| (h ^ u64::from(*b)).wrapping_mul(PRIME))
}

struct Source<'a> {
    text: &'a str,
    /// The study file's directory, against which body files are checked; `None` when only
    /// the text is validated.
    base: Option<&'a Path>,
}

impl Source<'_> {
    fn error(&self, span: &Range<usize>, message: String) -> StudyError {
        let start = span.start.min(self.text.len());
        let start = (0..=start)
            .rev()
            .find(|i| self.text.is_char_boundary(*i))
            .unwrap_or(0);
        let before = &self.text[..start];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = self.text[line_start..start].chars().count() + 1;
        let source_line = self.text[line_start..]
            .lines()
            .next()
            .unwrap_or_default()
            .to_owned();
        StudyError {
            file: None,
            line,
            column,
            message,
            source_line,
        }
    }

    fn text_of<T>(&self, spanned: &Spanned<T>) -> &str {
        self.text.get(spanned.span()).unwrap_or_default().trim()
    }

    /// Where the table `[name]` (or its first sub-table `[name.x]`) starts: tables can be
    /// implicit, without a span of their own. The start of the text when not found.
    fn table(&self, name: &str) -> Range<usize> {
        let mut offset = 0;
        for line in self.text.split_inclusive('\n') {
            let trimmed = line.trim_start();
            if let Some(rest) = trimmed.strip_prefix('[') {
                let rest = rest.trim_start();
                if rest.strip_prefix(name).is_some_and(|r| {
                    let r = r.trim_start();
                    r.starts_with(']') || r.starts_with('.')
                }) {
                    let start = offset + (line.len() - trimmed.len());
                    return start..start + trimmed.trim_end().len();
                }
            }
            offset += line.len();
        }
        0..0
    }

    fn at<T>(&self, spanned: &Spanned<T>, message: String) -> StudyError {
        self.error(&spanned.span(), message)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStudy {
    name: Spanned<String>,
    target: RawTarget,
    knobs: RawKnobs,
    #[serde(default)]
    workload: Option<RawWorkload>,
    objective: RawObjective,
    budget: RawBudget,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTarget {
    command: Option<Spanned<String>>,
    bench: Option<Spanned<String>>,
    work_regex: Option<Spanned<String>>,
    ready: Option<Spanned<String>>,
    ready_timeout: Option<Spanned<String>>,
    #[serde(default)]
    env: BTreeMap<String, Spanned<String>>,
}

/// The knob tables in the order of the file.
struct RawKnobs(Vec<(String, Spanned<RawKnob>)>);

impl<'de> Deserialize<'de> for RawKnobs {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KnobsVisitor;
        impl<'de> Visitor<'de> for KnobsVisitor {
            type Value = RawKnobs;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a table of knobs, one table per knob")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawKnobs, A::Error> {
                let mut knobs = Vec::new();
                while let Some((name, knob)) = map.next_entry()? {
                    knobs.push((name, knob));
                }
                Ok(RawKnobs(knobs))
            }
        }
        deserializer.deserialize_map(KnobsVisitor)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKnob {
    #[serde(rename = "type")]
    kind: Spanned<String>,
    low: Option<Spanned<toml::Value>>,
    high: Option<Spanned<toml::Value>>,
    step: Option<Spanned<toml::Value>>,
    log: Option<Spanned<bool>>,
    values: Option<Spanned<Vec<String>>>,
    default: Option<Spanned<toml::Value>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWorkload {
    load: Option<Spanned<RawLoad>>,
    capacity: Option<Spanned<RawCapacity>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLoad {
    url: Spanned<String>,
    #[serde(default)]
    model: Model,
    connections: Option<Spanned<u32>>,
    rate: Option<Spanned<f64>>,
    duration: Option<Spanned<String>>,
    warmup: Option<Spanned<String>>,
    level: Option<Level>,
    method: Option<Spanned<String>>,
    #[serde(default)]
    headers: Vec<Spanned<String>>,
    body: Option<Spanned<String>>,
    body_file: Option<Spanned<String>>,
    body_lines: Option<Spanned<String>>,
    timeout: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCapacity {
    url: Spanned<String>,
    slo: Spanned<Vec<Spanned<String>>>,
    start_rate: Option<Spanned<f64>>,
    max_rate: Option<Spanned<f64>>,
    step_duration: Option<Spanned<String>>,
    connections: Option<Spanned<u32>>,
    method: Option<Spanned<String>>,
    #[serde(default)]
    headers: Vec<Spanned<String>>,
    body: Option<Spanned<String>>,
    body_file: Option<Spanned<String>>,
    body_lines: Option<Spanned<String>>,
    timeout: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawObjective {
    maximize: Option<Spanned<String>>,
    minimize: Option<Spanned<String>>,
    weighted: Option<Spanned<BTreeMap<String, f64>>>,
    #[serde(default)]
    constraints: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBudget {
    trials: Option<Spanned<u32>>,
    time: Option<Spanned<String>>,
    repeats: Option<Spanned<u32>>,
    #[serde(default)]
    sampler: SamplerKind,
    #[serde(default)]
    seed: u64,
    finalists: Option<Spanned<u32>>,
    confirm_rounds: Option<Spanned<u32>>,
    baseline_every: Option<Spanned<u32>>,
}

/// Where each template placeholder was used: name → span of the first string using it.
type Uses = BTreeMap<String, Range<usize>>;

impl RawStudy {
    fn validate(self, src: &Source<'_>) -> Result<Study, StudyError> {
        if self.name.get_ref().trim().is_empty() {
            return Err(src.at(&self.name, "the study's `name` is empty".into()));
        }
        let (knobs, knob_spans) = self.knobs.to_knobs(src)?;
        let space = Space::new(knobs).map_err(|e| space_error(src, &knob_spans, &e))?;
        let mut uses = Uses::new();
        let target = self.target.validate(src, &mut uses)?;
        let managed = matches!(target, Target::Managed { .. });
        let workload = validate_workload(src, managed, self.workload.as_ref(), &mut uses)?;
        check_placeholders(src, &space, managed, &uses, &knob_spans)?;
        let (objective, constraints) = self.objective.validate(src)?;
        let budget = self.budget.validate(src)?;
        Ok(Study {
            name: self.name.get_ref().trim().to_owned(),
            target,
            space,
            workload,
            objective,
            constraints,
            budget,
        })
    }
}

/// The spans of one knob's table and fields.
struct KnobSpans<'a> {
    name: &'a str,
    table: Range<usize>,
    raw: &'a RawKnob,
}

impl RawKnobs {
    fn to_knobs<'a>(
        &'a self,
        src: &Source<'_>,
    ) -> Result<(Vec<Knob>, Vec<KnobSpans<'a>>), StudyError> {
        let mut knobs = Vec::new();
        let mut spans = Vec::new();
        for (name, raw) in &self.0 {
            if !is_placeholder_name(name) {
                return Err(src.at(
                    raw,
                    format!(
                        "knob name `{name}` cannot be a placeholder: use a letter or `_`, then \
                         letters, digits, `_` or `-`"
                    ),
                ));
            }
            if RESERVED_PLACEHOLDERS.contains(&name.as_str()) {
                return Err(src.at(
                    raw,
                    format!("`{name}` is reserved: perfloop fills `{{{name}}}` itself"),
                ));
            }
            knobs.push(raw.get_ref().to_knob(src, name, raw)?);
            spans.push(KnobSpans {
                name,
                table: raw.span(),
                raw: raw.get_ref(),
            });
        }
        Ok((knobs, spans))
    }
}

impl RawKnob {
    fn to_knob(
        &self,
        src: &Source<'_>,
        name: &str,
        whole: &Spanned<RawKnob>,
    ) -> Result<Knob, StudyError> {
        let kind_name = self.kind.get_ref().as_str();
        let not_for = |field: &str, span: &Range<usize>| {
            src.error(
                span,
                format!("knob `{name}`: `{field}` does not apply to a {kind_name} knob"),
            )
        };
        let need = |field: &str| {
            src.at(
                whole,
                format!("knob `{name}`: a {kind_name} knob needs `{field}`"),
            )
        };
        if !matches!(kind_name, "int" | "float" | "categorical" | "bool") {
            return Err(src.at(
                &self.kind,
                format!(
                    "knob `{name}`: unknown type `{kind_name}`; expected int, float, \
                     categorical or bool"
                ),
            ));
        }
        let default = self.default.as_ref().ok_or_else(|| need("default"))?;
        let numeric = matches!(kind_name, "int" | "float");
        if !numeric {
            for (field, span) in [
                ("low", self.low.as_ref().map(Spanned::span)),
                ("high", self.high.as_ref().map(Spanned::span)),
                ("step", self.step.as_ref().map(Spanned::span)),
                ("log", self.log.as_ref().map(Spanned::span)),
            ] {
                if let Some(span) = span {
                    return Err(not_for(field, &span));
                }
            }
        }
        if kind_name != "categorical" {
            if let Some(values) = &self.values {
                return Err(not_for("values", &values.span()));
            }
        }
        let log = self.log.as_ref().is_some_and(|l| *l.get_ref());
        let kind = match kind_name {
            "int" => {
                let int = |v: &Spanned<toml::Value>, field: &str| match v.get_ref() {
                    toml::Value::Integer(i) => Ok(*i),
                    _ => Err(src.at(
                        v,
                        format!(
                            "knob `{name}`: `{field}` must be an integer, not `{}`",
                            src.text_of(v)
                        ),
                    )),
                };
                let low = int(self.low.as_ref().ok_or_else(|| need("low"))?, "low")?;
                let high = int(self.high.as_ref().ok_or_else(|| need("high"))?, "high")?;
                let step = self.step.as_ref().map(|s| int(s, "step")).transpose()?;
                KnobKind::Int {
                    low,
                    high,
                    step,
                    log,
                }
            }
            "float" => {
                #[allow(clippy::cast_precision_loss)]
                let float = |v: &Spanned<toml::Value>, field: &str| match v.get_ref() {
                    toml::Value::Integer(i) => Ok(*i as f64),
                    toml::Value::Float(f) => Ok(*f),
                    _ => Err(src.at(
                        v,
                        format!(
                            "knob `{name}`: `{field}` must be a number, not `{}`",
                            src.text_of(v)
                        ),
                    )),
                };
                let low = float(self.low.as_ref().ok_or_else(|| need("low"))?, "low")?;
                let high = float(self.high.as_ref().ok_or_else(|| need("high"))?, "high")?;
                let step = self.step.as_ref().map(|s| float(s, "step")).transpose()?;
                KnobKind::Float {
                    low,
                    high,
                    step,
                    log,
                }
            }
            "categorical" => KnobKind::Categorical {
                values: self
                    .values
                    .as_ref()
                    .ok_or_else(|| need("values"))?
                    .get_ref()
                    .clone(),
            },
            "bool" => KnobKind::Bool,
            other => {
                return Err(src.at(
                    &self.kind,
                    format!(
                        "knob `{name}`: unknown type `{other}`; expected int, float, \
                         categorical or bool"
                    ),
                ));
            }
        };
        #[allow(clippy::cast_precision_loss)]
        let value = match (&kind, default.get_ref()) {
            (KnobKind::Float { .. }, toml::Value::Integer(i)) => Value::Float(*i as f64),
            (_, toml::Value::Integer(i)) => Value::Int(*i),
            (_, toml::Value::Float(f)) => Value::Float(*f),
            (_, toml::Value::String(s)) => Value::Str(s.clone()),
            (_, toml::Value::Boolean(b)) => Value::Bool(*b),
            (_, _) => {
                return Err(src.at(
                    default,
                    format!(
                        "knob `{name}`: default `{}` is not a number, string or boolean",
                        src.text_of(default)
                    ),
                ));
            }
        };
        Ok(Knob {
            name: name.to_owned(),
            kind,
            default: value,
        })
    }
}

/// A [`SpaceError`] located at the knob's field it is about.
fn space_error(src: &Source<'_>, spans: &[KnobSpans<'_>], error: &SpaceError) -> StudyError {
    let (name, field) = match error {
        SpaceError::NoKnobs | SpaceError::EmptyName => {
            return src.error(&src.table("knobs"), error.to_string());
        }
        SpaceError::DuplicateName { knob } => (knob, None),
        SpaceError::InvalidRange { knob, .. } => (knob, Some("high")),
        SpaceError::LogNonPositive { knob, .. } => (knob, Some("low")),
        SpaceError::InvalidStep { knob, .. } => (knob, Some("step")),
        SpaceError::NoCategories { knob } | SpaceError::DuplicateCategory { knob, .. } => {
            (knob, Some("values"))
        }
        SpaceError::DefaultOutOfRange { knob, .. } => (knob, Some("default")),
    };
    let Some(knob) = spans.iter().find(|k| k.name == name.as_str()) else {
        return src.error(&src.table("knobs"), error.to_string());
    };
    let span = match field {
        Some("high") => knob.raw.high.as_ref().map(Spanned::span),
        Some("low") => knob.raw.low.as_ref().map(Spanned::span),
        Some("step") => knob.raw.step.as_ref().map(Spanned::span),
        Some("values") => knob.raw.values.as_ref().map(Spanned::span),
        Some("default") => knob.raw.default.as_ref().map(Spanned::span),
        _ => None,
    }
    .unwrap_or_else(|| knob.table.clone());
    src.error(&span, error.to_string())
}

impl RawTarget {
    fn validate(&self, src: &Source<'_>, uses: &mut Uses) -> Result<Target, StudyError> {
        let command = match (&self.command, &self.bench) {
            (None, None) => {
                return Err(src.error(
                    &src.table("target"),
                    "[target] needs `command` (a managed target) or `bench` (a command \
                     benchmark)"
                        .into(),
                ));
            }
            (Some(_), Some(bench)) => {
                return Err(src.at(
                    bench,
                    "[target] has both `command` and `bench`: give one (a managed target or \
                     a command benchmark)"
                        .into(),
                ));
            }
            (Some(c), None) | (None, Some(c)) => c,
        };
        if command.get_ref().trim().is_empty() {
            return Err(src.at(command, "the target's command is empty".into()));
        }
        collect_placeholders(src, command, uses)?;
        let mut env = BTreeMap::new();
        for (key, value) in &self.env {
            if key.is_empty() || key.contains('=') || key.contains('\0') {
                return Err(src.at(value, format!("invalid environment variable name `{key}`")));
            }
            collect_placeholders(src, value, uses)?;
            env.insert(key.clone(), value.get_ref().clone());
        }
        if self.bench.is_some() {
            if let Some(ready) = self.ready.as_ref().or(self.ready_timeout.as_ref()) {
                return Err(src.at(
                    ready,
                    "`ready` applies to a managed target (`command`), not to `bench`".into(),
                ));
            }
            let work_regex = match &self.work_regex {
                Some(re) => {
                    let compiled = regex::Regex::new(re.get_ref()).map_err(|e| {
                        src.at(re, format!("invalid work_regex `{}`: {e}", re.get_ref()))
                    })?;
                    if compiled.captures_len() < 2 {
                        return Err(src.at(
                            re,
                            format!(
                                "work_regex `{}` needs a capture group around the amount of \
                                 work, like 'processed (\\d+)'",
                                re.get_ref()
                            ),
                        ));
                    }
                    Some(re.get_ref().clone())
                }
                None => None,
            };
            return Ok(Target::Bench {
                command: command.get_ref().clone(),
                work_regex,
                env,
            });
        }
        if let Some(re) = &self.work_regex {
            return Err(src.at(
                re,
                "`work_regex` applies to a command benchmark (`bench`), not to `command`".into(),
            ));
        }
        let ready = self
            .ready
            .as_ref()
            .map(|r| parse_ready(src, r, uses))
            .transpose()?;
        let ready_timeout = duration(src, self.ready_timeout.as_ref(), "ready_timeout")?
            .unwrap_or(DEFAULT_READY_TIMEOUT);
        Ok(Target::Managed {
            command: command.get_ref().clone(),
            ready,
            ready_timeout,
            env,
        })
    }
}

fn parse_ready(
    src: &Source<'_>,
    ready: &Spanned<String>,
    uses: &mut Uses,
) -> Result<Ready, StudyError> {
    let text = ready.get_ref().trim();
    let bad = |reason: &str| {
        src.at(
            ready,
            format!(
                "invalid readiness probe `{text}`: {reason}; expected an http:// URL, tcp:PORT \
                 or log:REGEX"
            ),
        )
    };
    if let Some(pattern) = text.strip_prefix("log:") {
        if pattern.is_empty() {
            return Err(bad("the regular expression is empty"));
        }
        regex::Regex::new(pattern).map_err(|e| bad(&e.to_string()))?;
        return Ok(Ready::Log(pattern.to_owned()));
    }
    collect_placeholders(src, ready, uses)?;
    if let Some(port) = text.strip_prefix("tcp:") {
        let placeholder = port.starts_with('{') && port.ends_with('}');
        if !placeholder && !port.parse::<u16>().is_ok_and(|p| p > 0) {
            return Err(bad(
                "the port must be a number from 1 to 65535 or a placeholder",
            ));
        }
        return Ok(Ready::Tcp(port.to_owned()));
    }
    if text.starts_with("http://") {
        if let Some(problem) = url_problem(text) {
            return Err(bad(&problem.to_string()));
        }
        return Ok(Ready::Http(text.to_owned()));
    }
    Err(bad("unknown kind of probe"))
}

fn validate_workload(
    src: &Source<'_>,
    managed: bool,
    workload: Option<&RawWorkload>,
    uses: &mut Uses,
) -> Result<Workload, StudyError> {
    let (load, capacity) =
        workload.map_or((None, None), |w| (w.load.as_ref(), w.capacity.as_ref()));
    if !managed {
        if let Some(load) = load {
            return Err(src.at(
                load,
                "a bench target is measured by its work rate: `load` does not apply (remove \
                 [workload] or use `command`)"
                    .into(),
            ));
        }
        if let Some(capacity) = capacity {
            return Err(src.at(
                capacity,
                "a bench target is measured by its work rate: `capacity` does not apply \
                 (remove [workload] or use `command`)"
                    .into(),
            ));
        }
        return Ok(Workload::WorkRate);
    }
    match (load, capacity) {
        (Some(load), None) => Ok(Workload::Load(load.get_ref().validate(src, uses)?)),
        (None, Some(cap)) => Ok(Workload::Capacity(cap.get_ref().validate(src, uses)?)),
        (Some(_), Some(cap)) => Err(src.at(
            cap,
            "[workload] has both `load` and `capacity`: give one".into(),
        )),
        (None, None) => Err(match workload {
            Some(_) => src.error(
                &src.table("workload"),
                "a managed target needs a workload: `load = { url = ... }` or \
                 `capacity = { url = ..., slo = [...] }` in [workload]"
                    .into(),
            ),
            None => src.error(
                &src.table("target"),
                "a managed target (`command`) needs a [workload] with `load` or `capacity`".into(),
            ),
        }),
    }
}

fn check_url(
    src: &Source<'_>,
    url: &Spanned<String>,
    uses: &mut Uses,
) -> Result<String, StudyError> {
    collect_placeholders(src, url, uses)?;
    if let Some(problem) = url_problem(url.get_ref()) {
        return Err(src.at(
            url,
            format!(
                "invalid url `{}`: {problem}",
                perfloop_url::redact_url(url.get_ref())
            ),
        ));
    }
    Ok(url.get_ref().clone())
}

/// What is wrong with a URL template as perfloop will send it: each placeholder filled with
/// `1` (a valid port, host octet and path segment), then parsed like every target URL.
fn url_problem(template: &str) -> Option<perfloop_url::Problem> {
    let mut filled = template.to_owned();
    for name in placeholders(template).unwrap_or_default() {
        filled = filled.replace(&format!("{{{name}}}"), "1");
    }
    let filled = filled.replace("{{", "{").replace("}}", "}");
    match perfloop_url::TargetUrl::parse(&filled) {
        Err(perfloop_url::UrlError::Invalid { problem, .. }) => Some(problem),
        _ => None,
    }
}

fn duration(
    src: &Source<'_>,
    text: Option<&Spanned<String>>,
    field: &str,
) -> Result<Option<Duration>, StudyError> {
    let Some(text) = text else {
        return Ok(None);
    };
    match humantime::parse_duration(text.get_ref().trim()) {
        Ok(d) if !d.is_zero() => Ok(Some(d)),
        Ok(_) => Err(src.at(
            text,
            format!("`{field}` = \"{}\" must be positive", text.get_ref()),
        )),
        Err(e) => Err(src.at(
            text,
            format!(
                "invalid duration `{}` for `{field}`: {e}; expected like 500ms, 10s, 20m",
                text.get_ref()
            ),
        )),
    }
}

/// A warm-up: a duration, zero included (`"0s"`: none, as `perfloop load --warmup 0s`).
fn warmup(
    src: &Source<'_>,
    text: Option<&Spanned<String>>,
) -> Result<Option<Duration>, StudyError> {
    match text {
        Some(t) if humantime::parse_duration(t.get_ref().trim()).is_ok_and(|d| d.is_zero()) => {
            Ok(Some(Duration::ZERO))
        }
        other => duration(src, other, "warmup"),
    }
}

fn positive_count(
    src: &Source<'_>,
    value: Option<&Spanned<u32>>,
    field: &str,
) -> Result<Option<u32>, StudyError> {
    match value {
        Some(v) if *v.get_ref() == 0 => {
            Err(src.at(v, format!("`{field}` must be at least 1, not 0")))
        }
        Some(v) => Ok(Some(*v.get_ref())),
        None => Ok(None),
    }
}

fn bounded(
    src: &Source<'_>,
    value: Option<&Spanned<u32>>,
    field: &str,
    range: std::ops::RangeInclusive<u32>,
) -> Result<Option<u32>, StudyError> {
    match value {
        Some(v) if !range.contains(v.get_ref()) => Err(src.at(
            v,
            format!(
                "`{field}` = {} is out of range: expected {} to {}",
                v.get_ref(),
                range.start(),
                range.end()
            ),
        )),
        Some(v) => Ok(Some(*v.get_ref())),
        None => Ok(None),
    }
}

fn positive_rate(
    src: &Source<'_>,
    value: Option<&Spanned<f64>>,
    field: &str,
) -> Result<Option<f64>, StudyError> {
    match value {
        Some(v) if !(v.get_ref().is_finite() && *v.get_ref() > 0.0) => Err(src.at(
            v,
            format!("`{field}` must be a positive number, not {}", v.get_ref()),
        )),
        Some(v) => Ok(Some(*v.get_ref())),
        None => Ok(None),
    }
}

impl RawLoad {
    fn validate(&self, src: &Source<'_>, uses: &mut Uses) -> Result<LoadSpec, StudyError> {
        let url = check_url(src, &self.url, uses)?;
        let rate = positive_rate(src, self.rate.as_ref(), "rate")?;
        match (self.model, &self.rate) {
            (Model::Open, None) => {
                return Err(src.at(&self.url, "the open model needs a `rate`".into()));
            }
            (Model::Closed, Some(r)) => {
                return Err(src.at(
                    r,
                    "`rate` applies to the open model: add model = \"open\"".into(),
                ));
            }
            _ => {}
        }
        Ok(LoadSpec {
            url,
            model: self.model,
            connections: positive_count(src, self.connections.as_ref(), "connections")?,
            rate,
            duration: duration(src, self.duration.as_ref(), "duration")?,
            warmup: warmup(src, self.warmup.as_ref())?,
            level: self.level,
            request: http_request(
                src,
                &RawRequest {
                    method: self.method.as_ref(),
                    headers: &self.headers,
                    body: self.body.as_ref(),
                    body_file: self.body_file.as_ref(),
                    body_lines: self.body_lines.as_ref(),
                    timeout: self.timeout.as_ref(),
                },
            )?,
        })
    }
}

impl RawCapacity {
    fn validate(&self, src: &Source<'_>, uses: &mut Uses) -> Result<CapacitySpec, StudyError> {
        let url = check_url(src, &self.url, uses)?;
        if self.slo.get_ref().is_empty() {
            return Err(src.at(
                &self.slo,
                "`slo` needs at least one objective, like \"p99<100ms\"".into(),
            ));
        }
        let mut slo = Vec::new();
        for s in self.slo.get_ref() {
            perfloop_stats::slo::Slo::parse(s.get_ref()).map_err(|e| src.at(s, e.to_string()))?;
            slo.push(s.get_ref().trim().to_owned());
        }
        let start_rate = positive_rate(src, self.start_rate.as_ref(), "start_rate")?;
        let max_rate = positive_rate(src, self.max_rate.as_ref(), "max_rate")?;
        if let (Some(start), Some(max), Some(span)) = (start_rate, max_rate, self.max_rate.as_ref())
        {
            if max <= start {
                return Err(src.at(
                    span,
                    format!("`max_rate` {max} must be above `start_rate` {start}"),
                ));
            }
        }
        Ok(CapacitySpec {
            url,
            slo,
            start_rate,
            max_rate,
            step_duration: duration(src, self.step_duration.as_ref(), "step_duration")?,
            connections: positive_count(src, self.connections.as_ref(), "connections")?,
            request: http_request(
                src,
                &RawRequest {
                    method: self.method.as_ref(),
                    headers: &self.headers,
                    body: self.body.as_ref(),
                    body_file: self.body_file.as_ref(),
                    body_lines: self.body_lines.as_ref(),
                    timeout: self.timeout.as_ref(),
                },
            )?,
        })
    }
}

/// The request fields shared by `load` and `capacity`.
struct RawRequest<'a> {
    method: Option<&'a Spanned<String>>,
    headers: &'a [Spanned<String>],
    body: Option<&'a Spanned<String>>,
    body_file: Option<&'a Spanned<String>>,
    body_lines: Option<&'a Spanned<String>>,
    timeout: Option<&'a Spanned<String>>,
}

fn http_request(src: &Source<'_>, raw: &RawRequest<'_>) -> Result<HttpRequest, StudyError> {
    let method = match raw.method {
        Some(m) => {
            let text = m.get_ref().trim();
            if text.is_empty() || !text.chars().all(|c| c.is_ascii_alphabetic()) {
                return Err(src.at(
                    m,
                    format!(
                        "invalid method `{}`: expected a word like GET or POST",
                        m.get_ref()
                    ),
                ));
            }
            Some(text.to_ascii_uppercase())
        }
        None => None,
    };
    let mut headers = Vec::new();
    for h in raw.headers {
        match h.get_ref().split_once(':') {
            Some((name, _)) if !name.trim().is_empty() && !name.contains(char::is_whitespace) => {
                headers.push(h.get_ref().trim().to_owned());
            }
            _ => {
                return Err(src.at(
                    h,
                    format!("invalid header `{}`: expected `Name: value`", h.get_ref()),
                ));
            }
        }
    }
    let bodies = [
        raw.body.map(|b| (b, Body::Text(b.get_ref().clone()))),
        raw.body_file.map(|b| (b, Body::File(b.get_ref().clone()))),
        raw.body_lines
            .map(|b| (b, Body::Lines(b.get_ref().clone()))),
    ];
    let mut given = bodies.into_iter().flatten();
    let body = given.next();
    if let Some((second, _)) = given.next() {
        return Err(src.at(
            second,
            "give one of `body`, `body_file` and `body_lines`, not several".into(),
        ));
    }
    if let Some((span, Body::File(path) | Body::Lines(path))) = &body {
        if path.trim().is_empty() {
            return Err(src.at(span, "the body's file name is empty".into()));
        }
    }
    if let (Some(base), Some((span, body))) = (src.base, &body) {
        check_body_file(base, body).map_err(|why| src.at(span, why))?;
    }
    Ok(HttpRequest {
        method,
        headers,
        body: body.map(|(_, b)| b),
        timeout: duration(src, raw.timeout, "timeout")?,
    })
}

/// Checks that a body file can be read as the trials will read it (as `perfloop load
/// --body-file` / `--body-lines` do); the reason it cannot.
fn check_body_file(base: &Path, body: &Body) -> Result<(), String> {
    let (field, path) = match body {
        Body::Text(_) => return Ok(()),
        Body::File(p) => ("body_file", p),
        Body::Lines(p) => ("body_lines", p),
    };
    let full = base.join(path);
    let cannot = |e: std::io::Error| {
        format!(
            "cannot read `{field}` = \"{path}\" ({}): {e}; paths are relative to the study \
             file's directory",
            full.display()
        )
    };
    match body {
        Body::Lines(_) => {
            let text = std::fs::read_to_string(&full).map_err(cannot)?;
            if text.lines().all(|l| l.trim().is_empty()) {
                return Err(format!(
                    "`{field}` = \"{path}\" ({}) has no non-empty line: each line is one \
                     request's body",
                    full.display()
                ));
            }
        }
        _ => {
            let meta = std::fs::metadata(&full).map_err(cannot)?;
            if meta.is_dir() {
                return Err(format!(
                    "`{field}` = \"{path}\" ({}) is a directory, not a file",
                    full.display()
                ));
            }
            std::fs::File::open(&full).map_err(cannot)?;
        }
    }
    Ok(())
}

impl RawObjective {
    fn validate(&self, src: &Source<'_>) -> Result<(Objective, Vec<Constraint>), StudyError> {
        let whole = src.table("objective");
        let metric = |m: &Spanned<String>| {
            Metric::parse(m.get_ref()).ok_or_else(|| {
                src.at(
                    m,
                    format!(
                        "unknown metric `{}`; expected one of {}",
                        m.get_ref(),
                        Metric::expected()
                    ),
                )
            })
        };
        let given = [
            self.maximize.is_some(),
            self.minimize.is_some(),
            self.weighted.is_some(),
        ];
        if given.iter().filter(|g| **g).count() != 1 {
            return Err(src.error(
                &whole,
                "[objective] needs exactly one of `maximize`, `minimize` or `weighted`".into(),
            ));
        }
        let objective = if let Some(m) = &self.maximize {
            Objective::Maximize(metric(m)?)
        } else if let Some(m) = &self.minimize {
            Objective::Minimize(metric(m)?)
        } else if let Some(w) = &self.weighted {
            let mut weights = BTreeMap::new();
            for (name, weight) in w.get_ref() {
                let m = Metric::parse(name).ok_or_else(|| {
                    src.at(
                        w,
                        format!(
                            "unknown metric `{name}` in `weighted`; expected one of {}",
                            Metric::expected()
                        ),
                    )
                })?;
                if !weight.is_finite() || *weight == 0.0 {
                    return Err(src.at(
                        w,
                        format!("the weight of `{name}` must be a non-zero number, not {weight}"),
                    ));
                }
                weights.insert(m, *weight);
            }
            if weights.is_empty() {
                return Err(src.at(w, "`weighted` needs at least one metric".into()));
            }
            Objective::Weighted(weights)
        } else {
            return Err(src.error(&whole, "[objective] is empty".into()));
        };
        let constraints = self
            .constraints
            .iter()
            .map(|c| Constraint::parse(c.get_ref()).map_err(|e| src.at(c, e)))
            .collect::<Result<Vec<_>, _>>()?;
        Ok((objective, constraints))
    }
}

impl RawBudget {
    fn validate(&self, src: &Source<'_>) -> Result<Budget, StudyError> {
        if self.trials.is_none() && self.time.is_none() {
            return Err(src.error(
                &src.table("budget"),
                "[budget] needs `trials` and/or `time` (like trials = 40 or time = \"20m\")".into(),
            ));
        }
        Ok(Budget {
            trials: positive_count(src, self.trials.as_ref(), "trials")?,
            time: duration(src, self.time.as_ref(), "time")?,
            repeats: positive_count(src, self.repeats.as_ref(), "repeats")?.unwrap_or(1),
            sampler: self.sampler,
            seed: self.seed,
            finalists: bounded(src, self.finalists.as_ref(), "finalists", 0..=MAX_FINALISTS)?
                .unwrap_or(DEFAULT_FINALISTS),
            confirm_rounds: bounded(
                src,
                self.confirm_rounds.as_ref(),
                "confirm_rounds",
                1..=MAX_CONFIRM_ROUNDS,
            )?
            .unwrap_or(DEFAULT_CONFIRM_ROUNDS),
            baseline_every: positive_count(src, self.baseline_every.as_ref(), "baseline_every")?
                .unwrap_or(DEFAULT_BASELINE_EVERY),
        })
    }
}

fn is_placeholder_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// The placeholders of a template, with the syntax of `perfloop-target`'s command templates.
fn placeholders(text: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find(['{', '}']) {
        let tail = &rest[i..];
        if tail.starts_with("{{") || tail.starts_with("}}") {
            rest = &tail[2..];
            continue;
        }
        if tail.starts_with('}') {
            return Err("a lone `}` (write `}}` for a literal brace)".into());
        }
        let Some(end) = tail.find('}') else {
            return Err("an unclosed `{` (write `{{` for a literal brace)".into());
        };
        let name = &tail[1..end];
        if !is_placeholder_name(name) {
            return Err(format!(
                "`{{{name}}}` is not a placeholder: a name starts with a letter or `_` and goes \
                 on with letters, digits, `_` or `-` (write `{{{{` for a literal brace)"
            ));
        }
        out.push(name.to_owned());
        rest = &tail[end + 1..];
    }
    Ok(out)
}

fn collect_placeholders(
    src: &Source<'_>,
    text: &Spanned<String>,
    uses: &mut Uses,
) -> Result<(), StudyError> {
    let names = placeholders(text.get_ref())
        .map_err(|e| src.at(text, format!("invalid template `{}`: {e}", text.get_ref())))?;
    for name in names {
        uses.entry(name).or_insert_with(|| text.span());
    }
    Ok(())
}

fn check_placeholders(
    src: &Source<'_>,
    space: &Space,
    managed: bool,
    uses: &Uses,
    knobs: &[KnobSpans<'_>],
) -> Result<(), StudyError> {
    let declared = space
        .knobs()
        .iter()
        .map(|k| k.name.as_str())
        .collect::<BTreeSet<_>>();
    for (name, span) in uses {
        if RESERVED_PLACEHOLDERS.contains(&name.as_str()) {
            if !managed {
                return Err(src.error(
                    span,
                    format!("`{{{name}}}` is only filled for a managed target (`command`)"),
                ));
            }
            continue;
        }
        if !declared.contains(name.as_str()) {
            let known = declared.iter().copied().collect::<Vec<_>>().join(", ");
            return Err(src.error(
                span,
                format!(
                    "unknown knob `{{{name}}}`: declare it as [knobs.{name}] (declared: \
                     {known}; `{{port}}` is filled by perfloop)"
                ),
            ));
        }
    }
    for knob in knobs {
        if !uses.contains_key(knob.name) {
            return Err(src.error(
                &knob.table,
                format!(
                    "unused knob `{}`: neither the target's command, its env nor the url \
                     mention `{{{}}}`, so tuning it would change nothing",
                    knob.name, knob.name
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    /// The module's example; line numbers matter to the tests below.
    const EXAMPLE: &str = r#"name = "demo-matching"          # the study's name

[target]
command = "perfloop demo-target --listen 127.0.0.1:{port} --workers {workers} --batch-size {batch}"
ready = "log:listening on"
env = { MATCH_ALGO = "{algo}", MATCH_CACHE = "{cache}", MATCH_RATIO = "{ratio}" }

[knobs.workers]
type = "int"
low = 1
high = 32
log = true
default = 16

[knobs.batch]
type = "int"
low = 1
high = 4096
log = true
default = 500

[knobs.ratio]
type = "float"
low = 0.1
high = 0.9
step = 0.1
default = 0.5

[knobs.algo]
type = "categorical"
values = ["hash", "sort"]
default = "hash"

[knobs.cache]
type = "bool"
default = true

[workload]
load = { url = "http://127.0.0.1:{port}/match", model = "closed", connections = 64, duration = "10s", warmup = "2s" }

[objective]
maximize = "throughput"
constraints = ["p99<100ms", "rss_mb<500", "error_rate<1%"]

[budget]
trials = 40
time = "20m"
repeats = 1
sampler = "tpe"
seed = 1
"#;

    fn edit(from: &str, to: &str) -> String {
        assert!(EXAMPLE.contains(from), "{from}");
        EXAMPLE.replacen(from, to, 1)
    }

    /// Asserts that `text` fails at `line` with `needle` in the message.
    fn fails(text: &str, line: usize, needle: &str) -> StudyError {
        let e = Study::parse(text).unwrap_err();
        let shown = e.to_string();
        assert_eq!(e.line, line, "{shown}");
        assert!(shown.starts_with(&format!("study:{line}:")), "{shown}");
        assert!(e.message.contains(needle), "`{needle}` not in: {shown}");
        e
    }

    #[test]
    fn the_example_parses_into_the_expected_study() {
        let study = Study::parse(EXAMPLE).unwrap();
        assert_eq!(study.name, "demo-matching");
        let Target::Managed {
            command,
            ready,
            ready_timeout,
            env,
        } = &study.target
        else {
            panic!("{:?}", study.target);
        };
        assert!(command.starts_with("perfloop demo-target --listen 127.0.0.1:{port}"));
        assert_eq!(ready, &Some(Ready::Log("listening on".into())));
        assert_eq!(env["MATCH_ALGO"], "{algo}");
        assert_eq!(env.len(), 3);
        assert_eq!(*ready_timeout, DEFAULT_READY_TIMEOUT);
        let expected = Space::new(vec![
            Knob::int_log("workers", 1, 32, 16),
            Knob::int_log("batch", 1, 4096, 500),
            Knob {
                name: "ratio".into(),
                kind: KnobKind::Float {
                    low: 0.1,
                    high: 0.9,
                    step: Some(0.1),
                    log: false,
                },
                default: Value::Float(0.5),
            },
            Knob::categorical("algo", &["hash", "sort"], "hash"),
            Knob::boolean("cache", true),
        ])
        .unwrap();
        assert_eq!(study.space(), &expected);
        assert_eq!(
            study.workload,
            Workload::Load(LoadSpec {
                url: "http://127.0.0.1:{port}/match".into(),
                model: Model::Closed,
                connections: Some(64),
                rate: None,
                duration: Some(Duration::from_secs(10)),
                warmup: Some(Duration::from_secs(2)),
                level: None,
                request: HttpRequest::default(),
            })
        );
        assert_eq!(study.objective, Objective::Maximize(Metric::Throughput));
        let constraints: Vec<_> = study
            .constraints
            .iter()
            .map(|c| (c.metric, c.op, c.threshold))
            .collect();
        assert_eq!(
            constraints,
            vec![
                (Metric::P99, Op::Lt, 100.0),
                (Metric::RssMb, Op::Lt, 500.0),
                (Metric::ErrorRate, Op::Lt, 0.01),
            ]
        );
        assert_eq!(
            study.budget,
            Budget {
                trials: Some(40),
                time: Some(Duration::from_secs(20 * 60)),
                repeats: 1,
                sampler: SamplerKind::Tpe,
                seed: 1,
                finalists: DEFAULT_FINALISTS,
                confirm_rounds: DEFAULT_CONFIRM_ROUNDS,
                baseline_every: DEFAULT_BASELINE_EVERY,
            }
        );
    }

    #[test]
    fn the_documented_example_is_valid() {
        let source = include_str!("study.rs");
        let doc: Vec<&str> = source
            .lines()
            .map_while(|l| l.strip_prefix("//!"))
            .map(|l| l.strip_prefix(' ').unwrap_or(l))
            .collect();
        let start = doc.iter().position(|l| *l == "```toml").unwrap() + 1;
        let len = doc[start..].iter().position(|l| *l == "```").unwrap();
        let example = doc[start..start + len].join("\n");
        let documented = Study::parse(&example).unwrap();
        assert_eq!(documented, Study::parse(EXAMPLE).unwrap());
    }

    #[test]
    fn bench_targets_capacity_and_weighted_objectives_parse() {
        let bench = r#"name = "batch"
[target]
bench = "perfloop demo-target batch --records 8000 --workers {workers}"
work_regex = 'processed (\d+)'
[knobs.workers]
type = "int"
low = 1
high = 8
default = 2
[objective]
weighted = { throughput = 1.0, rss_mb = -0.5 }
constraints = ["cpu<=150%"]
[budget]
time = "5m"
sampler = "grid"
"#;
        let study = Study::parse(bench).unwrap();
        assert_eq!(study.workload, Workload::WorkRate);
        assert!(
            matches!(&study.target, Target::Bench { work_regex: Some(re), .. } if re == r"processed (\d+)")
        );
        assert_eq!(study.budget.trials, None);
        assert_eq!(study.budget.repeats, 1);
        assert_eq!(study.budget.sampler, SamplerKind::Grid);
        assert_eq!(study.constraints[0].threshold, 1.5);
        assert_eq!(study.constraints[0].op, Op::Le);
        let score = study.objective.score(|m| match m {
            Metric::Throughput => 100.0,
            Metric::RssMb => 10.0,
            _ => 0.0,
        });
        assert!((score - 95.0).abs() < 1e-9);

        let capacity = edit(
            r#"load = { url = "http://127.0.0.1:{port}/match", model = "closed", connections = 64, duration = "10s", warmup = "2s" }"#,
            r#"capacity = { url = "http://127.0.0.1:{port}/match", slo = ["p99<100ms", "error_rate<0.1%"], start_rate = 100, max_rate = 5000 }"#,
        );
        let study = Study::parse(&capacity).unwrap();
        let Workload::Capacity(spec) = &study.workload else {
            panic!("{:?}", study.workload);
        };
        assert_eq!(spec.slo, vec!["p99<100ms", "error_rate<0.1%"]);
        assert_eq!(spec.start_rate, Some(100.0));
    }

    #[test]
    fn invalid_toml_names_its_line() {
        let e = fails(&edit("[knobs.batch]", "[knobs.batch"), 15, "");
        assert!(e.to_string().contains("[knobs.batch"), "{e}");
    }

    #[test]
    fn unknown_field_names_its_line_and_name() {
        fails(
            &edit("log = true\ndefault = 500", "logg = true\ndefault = 500"),
            19,
            "logg",
        );
        fails(&edit("seed = 1", "seed = 1\nseeds = 2"), 51, "seeds");
        fails(
            &edit("model = \"closed\"", "modell = \"closed\""),
            39,
            "modell",
        );
    }

    #[test]
    fn unknown_placeholder_is_refused() {
        fails(&edit("{batch}\"", "{batch} --pool {pool}\""), 4, "{pool}");
    }

    #[test]
    fn unused_knob_is_refused() {
        let e = fails(
            &edit(", MATCH_CACHE = \"{cache}\"", ""),
            34,
            "unused knob `cache`",
        );
        assert!(e.source_line.contains("[knobs.cache]"), "{e}");
    }

    #[test]
    fn port_is_reserved() {
        let text = edit(
            "[knobs.cache]",
            "[knobs.port]\ntype = \"int\"\nlow = 1\nhigh = 2\ndefault = 1\n\n[knobs.cache]",
        );
        fails(&text, 34, "`port` is reserved");
    }

    #[test]
    fn inverted_range_names_the_knob_line() {
        fails(
            &edit("high = 32", "high = 0"),
            11,
            "knob `workers`: empty or inverted range 1..0",
        );
    }

    #[test]
    fn log_scale_needs_positive_low() {
        fails(
            &edit("low = 1\nhigh = 4096", "low = 0\nhigh = 4096"),
            17,
            "knob `batch`: a log scale needs low > 0 (low is 0)",
        );
    }

    #[test]
    fn categorical_needs_values() {
        fails(
            &edit(r#"values = ["hash", "sort"]"#, "values = []"),
            31,
            "knob `algo`: a categorical knob needs at least one value",
        );
    }

    #[test]
    fn default_out_of_range_names_its_line() {
        fails(&edit("default = 500", "default = 5000"), 20, "default 5000");
        fails(
            &edit("default = \"hash\"", "default = \"tree\""),
            32,
            "default tree",
        );
    }

    #[test]
    fn wrong_knob_fields_are_refused() {
        fails(
            &edit("type = \"bool\"", "type = \"bool\"\nlow = 1"),
            36,
            "`low` does not apply to a bool knob",
        );
        fails(
            &edit("type = \"categorical\"", "type = \"enum\""),
            30,
            "unknown type `enum`",
        );
        fails(
            &edit("low = 0.1", "low = \"x\""),
            24,
            "`low` must be a number, not `\"x\"`",
        );
    }

    #[test]
    fn missing_target_is_refused() {
        let text = edit(
            "command = \"perfloop demo-target --listen 127.0.0.1:{port} --workers {workers} --batch-size {batch}\"\n",
            "",
        );
        fails(&text, 3, "needs `command`");
    }

    #[test]
    fn command_and_bench_together_are_refused() {
        fails(
            &edit("ready = ", "bench = \"x {workers}\"\nready = "),
            5,
            "both `command` and `bench`",
        );
    }

    #[test]
    fn workload_must_fit_the_target() {
        let text = edit("command = ", "bench = ").replacen("ready = \"log:listening on\"\n", "", 1);
        fails(
            &text,
            38,
            "a bench target is measured by its work rate: `load` does not apply",
        );
        let text = edit("[workload]\nload = ", "[workload]\nloads = ");
        fails(&text, 39, "loads");
        let start = EXAMPLE.find("[workload]").unwrap();
        let end = EXAMPLE.find("[objective]").unwrap();
        let text = format!("{}{}", &EXAMPLE[..start], &EXAMPLE[end..]);
        fails(&text, 3, "needs a [workload]");
        fails(
            &edit("model = \"closed\"", "model = \"open\""),
            39,
            "the open model needs a `rate`",
        );
    }

    #[test]
    fn unknown_metrics_are_refused() {
        fails(
            &edit("maximize = \"throughput\"", "maximize = \"qps\""),
            42,
            "unknown metric `qps`",
        );
        fails(
            &edit("\"rss_mb<500\"", "\"rss<500\""),
            43,
            "unknown metric `rss`",
        );
        fails(
            &edit(
                "maximize = \"throughput\"",
                "weighted = { throughput = 1.0, p98 = -1.0 }",
            ),
            42,
            "unknown metric `p98`",
        );
        fails(
            &edit("\"p99<100ms\"", "\"p99<100\""),
            43,
            "`100` is not a threshold for p99",
        );
    }

    #[test]
    fn requests_confirmation_and_ready_timeout() {
        let text = edit(
            "duration = \"10s\", warmup = \"2s\" }",
            "duration = \"10s\", method = \"post\", headers = [\"Content-Type: application/json\"], \
             body_lines = \"bodies.jsonl\", timeout = \"2s\" }",
        )
        .replacen("seed = 1\n", "seed = 1\nfinalists = 2\nconfirm_rounds = 4\nbaseline_every = 3\n", 1)
        .replacen("ready = \"log:listening on\"", "ready = \"log:listening on\"\nready_timeout = \"1m\"", 1);
        let study = Study::parse(&text).unwrap();
        let Workload::Load(load) = &study.workload else {
            panic!("{:?}", study.workload);
        };
        assert_eq!(
            load.request,
            HttpRequest {
                method: Some("POST".into()),
                headers: vec!["Content-Type: application/json".into()],
                body: Some(Body::Lines("bodies.jsonl".into())),
                timeout: Some(Duration::from_secs(2)),
            }
        );
        assert_eq!(
            (
                study.budget.finalists,
                study.budget.confirm_rounds,
                study.budget.baseline_every
            ),
            (2, 4, 3)
        );
        assert!(matches!(
            study.target,
            Target::Managed { ready_timeout, .. } if ready_timeout == Duration::from_secs(60)
        ));

        fails(
            &edit(
                "warmup = \"2s\" }",
                "warmup = \"2s\", body = \"x\", body_file = \"b\" }",
            ),
            39,
            "give one of `body`, `body_file` and `body_lines`",
        );
        fails(
            &edit(
                "warmup = \"2s\" }",
                "warmup = \"2s\", headers = [\"no colon\"] }",
            ),
            39,
            "invalid header `no colon`",
        );
        fails(
            &edit("warmup = \"2s\" }", "warmup = \"2s\", method = \"GE T\" }"),
            39,
            "invalid method `GE T`",
        );
        fails(
            &edit("seed = 1", "seed = 1\nfinalists = 11"),
            51,
            "`finalists` = 11 is out of range",
        );
        fails(
            &edit("seed = 1", "seed = 1\nconfirm_rounds = 0"),
            51,
            "`confirm_rounds` = 0",
        );
        fails(
            &edit("seed = 1", "seed = 1\nbaseline_every = 0"),
            51,
            "`baseline_every` must be at least 1",
        );
    }

    #[test]
    fn budget_needs_trials_or_time() {
        fails(
            &edit("trials = 40\ntime = \"20m\"\n", ""),
            45,
            "needs `trials` and/or `time`",
        );
        fails(
            &edit("time = \"20m\"", "time = \"20 parsecs\""),
            47,
            "invalid duration `20 parsecs`",
        );
    }

    #[test]
    fn load_names_the_file() {
        let dir = std::env::temp_dir().join(format!("perfloop-study-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("study.toml");
        std::fs::write(&path, edit("high = 32", "high = 0")).unwrap();
        let e = Study::load(&path).unwrap_err();
        let shown = e.to_string();
        assert!(
            shown.starts_with(&format!("{}:11:", path.display())),
            "{shown}"
        );
        assert!(shown.contains("11 | high = 0"), "{shown}");
        std::fs::write(&path, EXAMPLE).unwrap();
        assert!(Study::load(&path).is_ok());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_zero_warmup_is_no_warmup() {
        let study = Study::parse(&edit("warmup = \"2s\"", "warmup = \"0s\"")).unwrap();
        let Workload::Load(load) = &study.workload else {
            panic!("{:?}", study.workload);
        };
        assert_eq!(load.warmup, Some(Duration::ZERO));
        fails(
            &edit("duration = \"10s\"", "duration = \"0s\""),
            39,
            "`duration` = \"0s\" must be positive",
        );
    }

    #[test]
    fn load_checks_the_body_files_with_their_line() {
        let dir =
            std::env::temp_dir().join(format!("perfloop-study-bodies-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("study.toml");
        let with = |field: &str, file: &str| {
            edit(
                "warmup = \"2s\" }",
                &format!("warmup = \"2s\", {field} = \"{file}\" }}"),
            )
        };
        std::fs::write(&path, with("body_lines", "bodies.jsonl")).unwrap();
        // The text alone is valid; the file it names is missing.
        assert!(Study::parse(&with("body_lines", "bodies.jsonl")).is_ok());
        let e = Study::load(&path).unwrap_err();
        assert_eq!(e.line, 39, "{e}");
        assert!(e.column > 80, "{e}");
        assert!(
            e.message
                .contains("cannot read `body_lines` = \"bodies.jsonl\""),
            "{e}"
        );
        std::fs::write(dir.join("bodies.jsonl"), "\n  \n").unwrap();
        let e = Study::load(&path).unwrap_err();
        assert!(e.message.contains("has no non-empty line"), "{e}");
        std::fs::write(dir.join("bodies.jsonl"), "{\"a\": 1}\n").unwrap();
        assert!(Study::load(&path).is_ok());

        std::fs::write(&path, with("body_file", "sub")).unwrap();
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        let e = Study::load(&path).unwrap_err();
        assert!(e.message.contains("is a directory"), "{e}");
        std::fs::write(&path, with("body_file", "bodies.jsonl")).unwrap();
        assert!(Study::load(&path).is_ok());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn constraints_parse_units() {
        let c = |t: &str| Constraint::parse(t).unwrap();
        assert_eq!(c("p50 <= 1.5s").threshold, 1500.0);
        assert_eq!(c("p90<250us").threshold, 0.25);
        assert_eq!(c("error_rate<0.001").threshold, 0.001);
        assert_eq!(c("throughput>=1e3/s").op, Op::Ge);
        assert_eq!(c("rss_mb<2GiB").threshold, 2048.0);
        assert!(c("rss_mb<500").holds(499.0));
        assert!(!c("rss_mb<500").holds(f64::NAN));
        for bad in [
            "p99",
            "p99<",
            "p99<-1ms",
            "error_rate<2",
            "cpu<2cores",
            "rss_mb<1MB",
        ] {
            let e = Constraint::parse(bad).unwrap_err();
            assert!(e.contains(bad), "{e}");
        }
    }

    #[test]
    fn fingerprint_ignores_layout_and_follows_substance() {
        let base = Study::parse(EXAMPLE).unwrap().fingerprint();
        assert_eq!(base.len(), 16);
        assert_eq!(base, Study::parse(EXAMPLE).unwrap().fingerprint());
        let relaid = EXAMPLE
            .replace(" = ", "   =   ")
            .replace(
                "[knobs.batch]",
                "# the batch size\n\n[knobs.batch]   # comment",
            )
            .replace("\"error_rate<1%\"", "\"error_rate<0.01\"")
            .replace("trials = 40\ntime = \"20m\"", "time = \"20m\"\ntrials = 40");
        assert_eq!(Study::parse(&relaid).unwrap().fingerprint(), base);
        let changed = edit("high = 32", "high = 64");
        assert_ne!(Study::parse(&changed).unwrap().fingerprint(), base);
        let changed = edit("seed = 1", "seed = 2");
        assert_ne!(Study::parse(&changed).unwrap().fingerprint(), base);
    }

    #[test]
    fn a_workload_url_is_checked_as_it_will_be_sent() {
        let url = "http://127.0.0.1:{port}/match";
        for (bad, says) in [
            ("http://127.0.0.1:99999/match", "port '99999'"),
            ("127.0.0.1:{port}/match", "no scheme"),
            ("http://:{port}/match", "no host"),
            ("http://u:p@127.0.0.1:{port}/", "user information"),
            ("https://127.0.0.1:{port}/", "not supported yet"),
        ] {
            fails(&edit(url, bad), 39, says);
        }
        let e = fails(
            &edit(url, "http://127.0.0.1:0/?token=SECRET"),
            39,
            "token=REDACTED",
        );
        assert!(!e.message.contains("SECRET"), "{e}");
    }
}
