//! Service-level objectives and constraints: `p99<200ms`, `error_rate<0.1%`, `rps>1000`,
//! `cpu<2`, `rss_mb<500`. The one grammar of `--slo`, a capacity workload's `slo` and a
//! tuning study's `constraints` and objectives.
//!
//! An objective is `METRIC OP THRESHOLD`:
//!
//! | metric | threshold | example |
//! | --- | --- | --- |
//! | `p50` `p75` `p90` `p95` `p99` `p99.9` `max` `mean` | a latency with a unit: `us` (or `µs`), `ms`, `s` | `p99<200ms`, `p95<100ms`, `p99.9<=1s` |
//! | `error_rate` | a percentage (`0.1%`) or a fraction in \[0, 1\] (`0.001`) | `error_rate<0.1%` |
//! | `rps` | a positive number of requests per second, optionally `/s` | `rps>1000`, `rps>=1e3` |
//! | `throughput` | requests (a command benchmark: units of work) per second, 0 or more, optionally `/s` | `throughput>=1000` |
//! | `cpu` | the target's CPU in cores, or a percentage of one core | `cpu<2`, `cpu<150%` |
//! | `rss_mb` | the target's peak resident memory in MiB (optionally `MiB`), or `GiB` | `rss_mb<500`, `rss_mb<2GiB` |
//!
//! An objective may be set on one endpoint of a run (a named request of a scenario, or
//! the one request of a plain run, `GET /path`): `ENDPOINT: METRIC OP THRESHOLD`, like
//! `search: p99<200ms`, checked against that endpoint's figures (latency, `error_rate`,
//! `rps`/`throughput`; not the target's `cpu` or `rss_mb`). The name is what comes before
//! the last `:` ahead of the operator; [`Slo::check_endpoint`] checks it against the run's
//! names.
//!
//! `OP` is one of `<`, `<=`, `>`, `>=`; whitespace around the parts is allowed and metric
//! names and units are case-insensitive. A threshold is a number (what Rust's `f64` reads,
//! finite, not negative) followed by its unit. [`Slo::parse`] never panics: every input it
//! cannot read is a [`SloError`] that quotes the text and says what was expected; the error
//! keeps what went wrong ([`ThresholdProblem`]) so that a front end can word it its own way.
//!
//! Thresholds are kept in the metric's reporting unit — milliseconds for latency, a fraction
//! for the error rate, per second for throughput, cores for CPU, MiB for memory — so a
//! [`Verdict`] compares like with like. A metric that was not measured (NaN, e.g. a latency
//! percentile of a run that received no response, or the target's CPU when no target was
//! watched) fails every objective: no evidence is not a pass.

use std::fmt;
use std::str::FromStr;

/// Text that is not a service-level objective. Each message quotes the text and says what
/// was expected instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SloError {
    /// No comparison operator was found.
    #[error(
        "invalid SLO '{text}': expected METRIC OP THRESHOLD with OP one of <, <=, >, >=, \
         like p99<200ms, error_rate<0.1% or rps>1000"
    )]
    NoOperator {
        /// The text given.
        text: String,
    },
    /// The part before the operator is not a known metric.
    #[error("invalid SLO '{text}': unknown metric '{metric}'; expected one of {}", Metric::names(&Metric::ALL))]
    UnknownMetric {
        /// The text given.
        text: String,
        /// The metric as written.
        metric: String,
    },
    /// An endpoint's objective is set on a metric of the whole target, or names no endpoint.
    #[error("invalid SLO '{text}': {reason}")]
    Endpoint {
        /// The text given.
        text: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The part after the operator is not a valid threshold for the metric.
    #[error("invalid SLO '{text}': {}", problem.reason(*metric, threshold))]
    Threshold {
        /// The text given.
        text: String,
        /// The metric the threshold is for.
        metric: Metric,
        /// The threshold as written (without surrounding whitespace).
        threshold: String,
        /// What is wrong with it.
        problem: ThresholdProblem,
    },
}

/// What is wrong with a threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ThresholdProblem {
    /// It does not start with a finite number.
    NotANumber,
    /// The number is negative.
    Negative,
    /// A latency without its unit.
    NoUnit,
    /// A unit the metric does not take.
    Unit,
    /// Outside the metric's range: an error rate above 100 % (or a fraction above 1), a
    /// request rate of 0.
    OutOfRange,
    /// Too large once converted to the metric's unit.
    TooLarge,
}

impl ThresholdProblem {
    /// What is wrong with `threshold` for `metric`, and what was expected, as `--slo` says it.
    pub fn reason(self, metric: Metric, threshold: &str) -> String {
        let t = threshold;
        match metric {
            m if m.is_latency() => match self {
                Self::NoUnit => "latency needs a unit (us, ms, s), like p99<200ms".to_string(),
                Self::Negative => {
                    format!("latency '{t}' is negative; expected 0 or more, like 200ms")
                }
                Self::TooLarge => format!("latency '{t}' is too large"),
                _ => format!(
                    "'{t}' is not a latency; expected a number with a unit (us, ms, s), like 200ms"
                ),
            },
            Metric::ErrorRate if t.ends_with('%') => {
                format!("error rate '{t}' is not a percentage between 0% and 100%, like 0.1%")
            }
            Metric::ErrorRate => match self {
                Self::Negative | Self::OutOfRange | Self::TooLarge => format!(
                    "error rate '{t}' is not a fraction between 0 and 1; write a fraction like \
                     0.001 or a percentage like 0.1%"
                ),
                _ => format!(
                    "error rate '{t}' is not a number; expected a percentage like 0.1% or a \
                     fraction like 0.001"
                ),
            },
            Metric::Rps => format!(
                "throughput '{t}' is not a positive number of requests per second, like rps>1000"
            ),
            Metric::Throughput => format!(
                "throughput '{t}' is not a number of requests per second (0 or more), like \
                 throughput>1000"
            ),
            Metric::Cpu => format!(
                "CPU '{t}' is not a number of cores (2) or a percentage of one core (150%), like \
                 cpu<2"
            ),
            _ => format!(
                "memory '{t}' is not a size in MiB (500 or 500MiB) or GiB (2GiB), like rss_mb<500"
            ),
        }
    }
}

/// A quantity an objective can be set on.
///
/// The order of the variants is the order of maps keyed by metric (a study's weighted
/// objective, and so its fingerprint): a new metric goes where it keeps the others' order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Metric {
    /// Throughput: requests per second (for a command benchmark, units of work per second).
    Throughput,
    /// Median latency.
    P50,
    /// 75th percentile latency.
    P75,
    /// 90th percentile latency.
    P90,
    /// 95th percentile latency.
    P95,
    /// 99th percentile latency.
    P99,
    /// 99.9th percentile latency.
    P99_9,
    /// Highest latency.
    Max,
    /// Mean latency.
    Mean,
    /// Errors divided by requests (a fraction).
    ErrorRate,
    /// Throughput in requests per second.
    Rps,
    /// The target's CPU, in cores (CPU seconds per second).
    Cpu,
    /// The target's peak resident memory, in MiB.
    RssMb,
}

impl Metric {
    /// Every metric, in the order reports list them.
    pub const ALL: [Metric; 13] = [
        Metric::P50,
        Metric::P75,
        Metric::P90,
        Metric::P95,
        Metric::P99,
        Metric::P99_9,
        Metric::Max,
        Metric::Mean,
        Metric::ErrorRate,
        Metric::Rps,
        Metric::Throughput,
        Metric::Cpu,
        Metric::RssMb,
    ];

    /// The name used in objectives and reports: `p50`, `p99.9`, `error_rate`, ...
    pub fn name(self) -> &'static str {
        match self {
            Metric::P50 => "p50",
            Metric::P75 => "p75",
            Metric::P90 => "p90",
            Metric::P95 => "p95",
            Metric::P99 => "p99",
            Metric::P99_9 => "p99.9",
            Metric::Max => "max",
            Metric::Mean => "mean",
            Metric::ErrorRate => "error_rate",
            Metric::Rps => "rps",
            Metric::Throughput => "throughput",
            Metric::Cpu => "cpu",
            Metric::RssMb => "rss_mb",
        }
    }

    /// The names of `metrics`, comma-separated: what an error message expects.
    pub fn names(metrics: &[Metric]) -> String {
        metrics
            .iter()
            .map(|m| m.name())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The unit of values and thresholds: `"ms"`, `"ratio"`, `"req/s"`, `"cores"` or
    /// `"MiB"`.
    pub fn unit(self) -> &'static str {
        match self {
            Metric::ErrorRate => "ratio",
            Metric::Rps | Metric::Throughput => "req/s",
            Metric::Cpu => "cores",
            Metric::RssMb => "MiB",
            _ => "ms",
        }
    }

    /// Whether the metric is a latency (thresholds need a time unit).
    pub fn is_latency(self) -> bool {
        self.unit() == "ms"
    }

    /// Whether an endpoint has this metric of its own (not the target's CPU or memory).
    pub fn per_endpoint(self) -> bool {
        !matches!(self, Metric::Cpu | Metric::RssMb)
    }

    /// Reads a metric name, case-insensitively (`p999` is accepted for `p99.9`).
    pub fn parse(name: &str) -> Option<Metric> {
        let name = name.trim().to_lowercase();
        if name == "p999" {
            return Some(Metric::P99_9);
        }
        Self::ALL.into_iter().find(|m| m.name() == name)
    }

    /// This metric's value in `m`, in [`Metric::unit`].
    pub fn value(self, m: &Metrics) -> f64 {
        match self {
            Metric::P50 => m.p50_ms,
            Metric::P75 => m.p75_ms,
            Metric::P90 => m.p90_ms,
            Metric::P95 => m.p95_ms,
            Metric::P99 => m.p99_ms,
            Metric::P99_9 => m.p99_9_ms,
            Metric::Max => m.max_ms,
            Metric::Mean => m.mean_ms,
            Metric::ErrorRate => m.error_rate,
            Metric::Rps | Metric::Throughput => m.rps,
            Metric::Cpu => m.cpu_cores,
            Metric::RssMb => m.rss_mb,
        }
    }

    /// Reads a threshold for this metric into its unit, or says what is wrong.
    ///
    /// The threshold is split into a number (the longest prefix of digits, `.`, `e`, `E`,
    /// `+` and `-`) and a unit (the rest, trimmed, case-insensitive); the number must be
    /// finite and not negative, then the unit one this metric takes.
    pub(crate) fn threshold(self, text: &str) -> Result<f64, ThresholdProblem> {
        let (number, unit) = text.split_at(number_len(text));
        let value = number
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .ok_or(ThresholdProblem::NotANumber)?;
        if value < 0.0 {
            return Err(ThresholdProblem::Negative);
        }
        let unit = unit.trim().to_lowercase();
        let unit = unit.as_str();
        let converted = match self {
            m if m.is_latency() => match unit {
                "us" | "µs" | "μs" => value / 1000.0,
                "ms" => value,
                "s" => value * 1000.0,
                "" => return Err(ThresholdProblem::NoUnit),
                _ => return Err(ThresholdProblem::Unit),
            },
            Metric::ErrorRate => match unit {
                "%" if value <= 100.0 => value / 100.0,
                "" if value <= 1.0 => value,
                "%" | "" => return Err(ThresholdProblem::OutOfRange),
                _ => return Err(ThresholdProblem::Unit),
            },
            Metric::Rps => match unit {
                "" | "/s" if value > 0.0 => value,
                "" | "/s" => return Err(ThresholdProblem::OutOfRange),
                _ => return Err(ThresholdProblem::Unit),
            },
            Metric::Cpu => match unit {
                "" => value,
                "%" => value / 100.0,
                _ => return Err(ThresholdProblem::Unit),
            },
            Metric::RssMb => match unit {
                "" | "mib" => value,
                "gib" => value * 1024.0,
                _ => return Err(ThresholdProblem::Unit),
            },
            _ => match unit {
                "" | "/s" => value,
                _ => return Err(ThresholdProblem::Unit),
            },
        };
        if converted.is_finite() {
            Ok(converted)
        } else {
            Err(ThresholdProblem::TooLarge)
        }
    }
}

/// The length in bytes of the number a threshold starts with: the longest prefix of digits,
/// `.`, `e`, `E`, `+` and `-` (what follows is its unit). Shared with the alert rules.
pub(crate) fn number_len(text: &str) -> usize {
    text.find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-')))
        .unwrap_or(text.len())
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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
    /// The operator as written.
    pub fn symbol(self) -> &'static str {
        match self {
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
        }
    }

    /// Whether `value OP threshold` holds. False whenever either side is NaN.
    pub fn holds(self, value: f64, threshold: f64) -> bool {
        match self {
            Op::Lt => value < threshold,
            Op::Le => value <= threshold,
            Op::Gt => value > threshold,
            Op::Ge => value >= threshold,
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.symbol())
    }
}

/// The figures of one run that objectives are checked against.
///
/// Latencies are in milliseconds, `error_rate` is a fraction (errors / requests), `rps` is
/// requests per second, `cpu_cores` cores and `rss_mb` MiB. NaN means "not measured" (no
/// response, no request, no watched target) and fails every objective on that metric.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Metrics {
    /// Median latency, ms.
    pub p50_ms: f64,
    /// 75th percentile latency, ms.
    pub p75_ms: f64,
    /// 90th percentile latency, ms.
    pub p90_ms: f64,
    /// 95th percentile latency, ms.
    pub p95_ms: f64,
    /// 99th percentile latency, ms.
    pub p99_ms: f64,
    /// 99.9th percentile latency, ms.
    pub p99_9_ms: f64,
    /// Highest latency, ms.
    pub max_ms: f64,
    /// Mean latency, ms.
    pub mean_ms: f64,
    /// Errors divided by requests, a fraction in \[0, 1\].
    pub error_rate: f64,
    /// Throughput, requests per second (`rps` and `throughput`).
    pub rps: f64,
    /// The target's mean CPU over the run, cores.
    pub cpu_cores: f64,
    /// The target's peak resident memory, MiB.
    pub rss_mb: f64,
}

/// An objective that names an endpoint the run does not have.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "SLO '{expr}': unknown endpoint '{endpoint}'{}; the run's endpoints are: {}",
    suggestion.as_ref().map(|s| format!(" (did you mean '{s}'?)")).unwrap_or_default(),
    known.iter().map(|k| format!("'{k}'")).collect::<Vec<_>>().join(", ")
)]
pub struct UnknownEndpoint {
    /// The objective as written.
    pub expr: String,
    /// The endpoint as written.
    pub endpoint: String,
    /// The closest known name, if one is close.
    pub suggestion: Option<String>,
    /// The run's endpoint names.
    pub known: Vec<String>,
}

/// A validated service-level objective.
#[derive(Debug, Clone, PartialEq)]
pub struct Slo {
    expr: String,
    endpoint: Option<String>,
    metric: Metric,
    op: Op,
    threshold: f64,
}

impl Slo {
    /// Parses `[ENDPOINT:] METRIC OP THRESHOLD`, e.g. `p99<200ms`, `error_rate<0.1%`,
    /// `rps>=1e3`, `search: p99<200ms`.
    pub fn parse(text: &str) -> Result<Slo, SloError> {
        let expr = text.trim();
        let (endpoint, body) = match expr.rfind(':') {
            Some(i) if expr[i + 1..].contains(['<', '>']) => {
                (Some(expr[..i].trim()), &expr[i + 1..])
            }
            _ => (None, expr),
        };
        if endpoint.is_some_and(str::is_empty) {
            return Err(SloError::Endpoint {
                text: text.to_string(),
                reason: "no endpoint name before ':'; write ENDPOINT: METRIC OP THRESHOLD, \
                         like search: p99<200ms"
                    .to_string(),
            });
        }
        let mut slo = Self::parse_body(text, body)?;
        if let Some(name) = endpoint {
            if !slo.metric.per_endpoint() {
                return Err(SloError::Endpoint {
                    text: text.to_string(),
                    reason: format!(
                        "{} is the target's, not an endpoint's; drop '{name}:'",
                        slo.metric
                    ),
                });
            }
            slo.endpoint = Some(name.to_string());
            slo.expr = expr.to_string();
        }
        Ok(slo)
    }

    /// Parses `METRIC OP THRESHOLD` (`text` is the whole objective, for errors).
    fn parse_body(text: &str, body: &str) -> Result<Slo, SloError> {
        let expr = body.trim();
        let Some(at) = expr.find(['<', '>']) else {
            return Err(SloError::NoOperator {
                text: text.to_string(),
            });
        };
        let (left, rest) = expr.split_at(at);
        let (op, right) = [("<=", Op::Le), (">=", Op::Ge), ("<", Op::Lt), (">", Op::Gt)]
            .into_iter()
            .find_map(|(sym, op)| rest.strip_prefix(sym).map(|r| (op, r)))
            .ok_or_else(|| SloError::NoOperator {
                text: text.to_string(),
            })?;
        let metric = Metric::parse(left).ok_or_else(|| SloError::UnknownMetric {
            text: text.to_string(),
            metric: left.trim().to_string(),
        })?;
        let right = right.trim();
        let threshold = metric
            .threshold(right)
            .map_err(|problem| SloError::Threshold {
                text: text.to_string(),
                metric,
                threshold: right.to_string(),
                problem,
            })?;
        Ok(Slo {
            expr: expr.to_string(),
            endpoint: None,
            metric,
            op,
            threshold,
        })
    }

    /// The objective as written (without surrounding whitespace).
    pub fn expr(&self) -> &str {
        &self.expr
    }

    /// The endpoint it is set on; `None`: the whole run.
    pub fn endpoint(&self) -> Option<&str> {
        self.endpoint.as_deref()
    }

    /// The position of its endpoint in `names` (`None` for the whole run), or an error
    /// naming the known endpoints and the closest one.
    pub fn check_endpoint(&self, names: &[String]) -> Result<Option<usize>, UnknownEndpoint> {
        let Some(endpoint) = &self.endpoint else {
            return Ok(None);
        };
        if let Some(i) = names.iter().position(|n| n == endpoint) {
            return Ok(Some(i));
        }
        let suggestion = names
            .iter()
            .map(|n| {
                (
                    strsim::jaro_winkler(&n.to_lowercase(), &endpoint.to_lowercase()),
                    n,
                )
            })
            .filter(|(score, _)| *score >= 0.8)
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(_, n)| n.clone());
        Err(UnknownEndpoint {
            expr: self.expr.clone(),
            endpoint: endpoint.clone(),
            suggestion,
            known: names.to_vec(),
        })
    }

    /// The metric it is set on.
    pub fn metric(&self) -> Metric {
        self.metric
    }

    /// The comparison.
    pub fn op(&self) -> Op {
        self.op
    }

    /// The threshold in the metric's unit ([`Metric::unit`]).
    pub fn threshold(&self) -> f64 {
        self.threshold
    }

    /// Whether a value of the metric, in its unit, meets the objective (NaN never does).
    pub fn holds(&self, value: f64) -> bool {
        self.op.holds(value, self.threshold)
    }

    /// Checks the objective against a run's figures.
    pub fn evaluate(&self, metrics: &Metrics) -> Verdict {
        let value = self.metric.value(metrics);
        Verdict {
            expr: self.expr.clone(),
            metric: self.metric.name(),
            value,
            threshold: self.threshold,
            unit: self.metric.unit(),
            pass: self.holds(value),
        }
    }
}

impl FromStr for Slo {
    type Err = SloError;

    fn from_str(text: &str) -> Result<Slo, SloError> {
        Slo::parse(text)
    }
}

impl fmt::Display for Slo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.expr)
    }
}

/// The result of checking one objective.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// The objective as written.
    pub expr: String,
    /// The metric's name, e.g. `p99`.
    pub metric: &'static str,
    /// The measured value, in `unit`; NaN if it was not measured.
    pub value: f64,
    /// The threshold, in `unit`.
    pub threshold: f64,
    /// [`Metric::unit`]: `"ms"` for latency, `"ratio"` for the error rate, `"req/s"` for
    /// throughput, `"cores"` for CPU, `"MiB"` for memory.
    pub unit: &'static str,
    /// Whether the objective holds.
    pub pass: bool,
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * a.abs().max(b.abs()).max(1.0)
    }

    #[test]
    fn accepts_the_documented_forms() {
        let cases = [
            ("p99<200ms", Metric::P99, Op::Lt, 200.0),
            ("p99.9<=1s", Metric::P99_9, Op::Le, 1000.0),
            ("p50 < 500us", Metric::P50, Op::Lt, 0.5),
            ("p50<500µs", Metric::P50, Op::Lt, 0.5),
            ("mean<5ms", Metric::Mean, Op::Lt, 5.0),
            ("max<2s", Metric::Max, Op::Lt, 2000.0),
            ("p90<50ms", Metric::P90, Op::Lt, 50.0),
            ("p95<80ms", Metric::P95, Op::Lt, 80.0),
            ("p75<=30ms", Metric::P75, Op::Le, 30.0),
            ("error_rate<0.1%", Metric::ErrorRate, Op::Lt, 0.001),
            ("error_rate<=0.001", Metric::ErrorRate, Op::Le, 0.001),
            ("error_rate<=0", Metric::ErrorRate, Op::Le, 0.0),
            ("rps>1000", Metric::Rps, Op::Gt, 1000.0),
            ("rps>=1e3", Metric::Rps, Op::Ge, 1000.0),
            ("  P99 <  1.5 MS ", Metric::P99, Op::Lt, 1.5),
            ("p999 < 1e3ms", Metric::P99_9, Op::Lt, 1000.0),
            ("p99>=0ms", Metric::P99, Op::Ge, 0.0),
        ];
        for (text, metric, op, threshold) in cases {
            let slo = Slo::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(slo.metric(), metric, "{text}");
            assert_eq!(slo.op(), op, "{text}");
            assert!(
                close(slo.threshold(), threshold),
                "{text}: {}",
                slo.threshold()
            );
            assert_eq!(slo.expr(), text.trim());
            assert_eq!(slo.to_string(), text.trim());
        }
        assert_eq!("rps>5".parse::<Slo>().unwrap().threshold(), 5.0);
    }

    #[test]
    fn errors_quote_the_text_and_say_what_was_expected() {
        let cases = [
            (
                "p99<200",
                "latency needs a unit (us, ms, s), like p99<200ms",
            ),
            (
                "p98<200ms",
                "unknown metric 'p98'; expected one of p50, p75, p90, p95, p99, p99.9",
            ),
            ("p99=200ms", "expected METRIC OP THRESHOLD"),
            ("", "expected METRIC OP THRESHOLD"),
            ("p99<", "is not a latency"),
            ("p99<fast", "is not a latency"),
            ("p99<200ks", "is not a latency"),
            ("p99<-1ms", "negative"),
            ("p99<1e308s", "too large"),
            ("error_rate<5", "not a fraction between 0 and 1"),
            ("error_rate<101%", "not a percentage"),
            ("error_rate<lots", "not a number"),
            ("rps>0", "not a positive number"),
            ("rps>-5", "not a positive number"),
            ("rps>many", "not a positive number"),
            ("<5ms", "unknown metric ''"),
        ];
        for (text, says) in cases {
            let e = Slo::parse(text).unwrap_err().to_string();
            assert!(e.contains(&format!("invalid SLO '{text}'")), "{e}");
            assert!(e.contains(says), "{text}: {e}");
        }
    }

    #[test]
    fn never_panics_on_odd_input() {
        let odd = [
            "",
            " ",
            "<",
            ">",
            "<=",
            ">=",
            "<<",
            "p99<<5ms",
            "p99<=>5ms",
            "p99<5ms>3",
            "p99<NaNms",
            "p99<infms",
            "p99<-infms",
            "p99<nan",
            "error_rate<NaN%",
            "rps>inf",
            "rps>NaN",
            "rps>1e999",
            "error_rate<1e-999",
            "p99<1e-999s",
            "p99<99999999999999999999999999999999999999s",
            "p99<0x10ms",
            "p99<5 m s",
            "p99 < 5 µs",
            "p99<5μs",
            "p99<µs",
            "p99<s",
            "日本<5ms",
            "p99<五ms",
            "p99<5ms🙂",
            "🙂",
            "\u{0}",
            "p99\u{0}<5ms",
            "p99<\u{feff}5ms",
            "µ<µ",
            "%",
            "error_rate<%",
            "error_rate<-0%",
            "rps>/s",
            "rps>5/s",
            "p99.9.9<1ms",
            "p<1ms",
            "p99 ms<1",
            "\n\t",
            "p99<\n5ms",
            "ＭＳ<5",
            "İ<5ms",
            "p99<5MS",
            "p99<5Ms",
        ];
        for text in odd {
            if let Ok(slo) = Slo::parse(text) {
                assert!(slo.threshold().is_finite(), "{text}");
            }
        }
        // Every string of up to four characters over an alphabet of the parser's pieces.
        let alphabet = ['p', '9', '.', '<', '=', '>', 's', 'µ', '%', 'e', '-', ' '];
        let mut s = String::new();
        fn walk(s: &mut String, alphabet: &[char], depth: usize) {
            if let Ok(slo) = Slo::parse(s) {
                assert!(slo.threshold().is_finite(), "{s}");
            }
            if depth == 0 {
                return;
            }
            for &c in alphabet {
                s.push(c);
                walk(s, alphabet, depth - 1);
                s.pop();
            }
        }
        walk(&mut s, &alphabet, 4);
        let long = "p99<".to_string() + &"9".repeat(10_000) + "ms";
        assert!(Slo::parse(&long).is_err());
    }

    fn metrics() -> Metrics {
        Metrics {
            p50_ms: 1.0,
            p75_ms: 2.0,
            p90_ms: 5.0,
            p95_ms: 9.0,
            p99_ms: 20.0,
            p99_9_ms: 80.0,
            max_ms: 150.0,
            mean_ms: 2.5,
            error_rate: 0.002,
            rps: 1500.0,
            cpu_cores: 1.25,
            rss_mb: 300.0,
        }
    }

    #[test]
    fn evaluates_in_the_metric_unit() {
        let m = metrics();
        let check = |text: &str| Slo::parse(text).unwrap().evaluate(&m);
        let v = check("p99<200ms");
        assert!(v.pass);
        assert_eq!(
            (v.metric, v.unit, v.value, v.threshold),
            ("p99", "ms", 20.0, 200.0)
        );
        assert_eq!(v.expr, "p99<200ms");
        assert!(!check("p99<20ms").pass);
        assert!(check("p99<=20ms").pass);
        assert!(check("p99.9<0.1s").pass);
        assert!(!check("max<100ms").pass);
        assert!(check("p50<1001us").pass);
        assert!(!check("mean<2ms").pass);
        assert!(check("p90>=5ms").pass);
        assert!(check("p95<10ms").pass && !check("p95<9ms").pass);
        assert!(check("p75<=2ms").pass && !check("p75<2ms").pass);
        let v = check("error_rate<0.1%");
        assert!(!v.pass);
        assert_eq!((v.metric, v.unit, v.value), ("error_rate", "ratio", 0.002));
        assert!(check("error_rate<0.5%").pass);
        let v = check("rps>1000");
        assert!(v.pass);
        assert_eq!((v.unit, v.value, v.threshold), ("req/s", 1500.0, 1000.0));
        assert!(!check("rps>=2e3").pass);
    }

    #[test]
    fn unmeasured_metrics_fail_every_operator() {
        let m = Metrics {
            p99_ms: f64::NAN,
            error_rate: f64::NAN,
            ..metrics()
        };
        for text in [
            "p99<1s",
            "p99<=1s",
            "p99>0ms",
            "p99>=0ms",
            "error_rate<=100%",
        ] {
            assert!(!Slo::parse(text).unwrap().evaluate(&m).pass, "{text}");
        }
    }

    #[test]
    fn metric_names_round_trip() {
        for m in Metric::ALL {
            assert_eq!(Metric::parse(m.name()), Some(m));
            assert_eq!(m.to_string(), m.name());
            assert_eq!(m.is_latency(), m.unit() == "ms");
        }
    }

    #[test]
    fn target_and_throughput_metrics_take_their_units() {
        let cases = [
            ("throughput>=1000", Metric::Throughput, 1000.0),
            ("throughput>=1e3/s", Metric::Throughput, 1000.0),
            ("throughput>0", Metric::Throughput, 0.0),
            ("cpu<2", Metric::Cpu, 2.0),
            ("cpu<=150%", Metric::Cpu, 1.5),
            ("rss_mb<500", Metric::RssMb, 500.0),
            ("rss_mb<500MiB", Metric::RssMb, 500.0),
            ("RSS_MB < 2 GiB", Metric::RssMb, 2048.0),
        ];
        for (text, metric, threshold) in cases {
            let slo = Slo::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(slo.metric(), metric, "{text}");
            assert!(close(slo.threshold(), threshold), "{text}");
        }
        for (text, problem, says) in [
            (
                "cpu<2cores",
                ThresholdProblem::Unit,
                "not a number of cores",
            ),
            ("rss_mb<1MB", ThresholdProblem::Unit, "not a size in MiB"),
            ("throughput>-1", ThresholdProblem::Negative, "0 or more"),
            ("cpu<", ThresholdProblem::NotANumber, "CPU ''"),
        ] {
            let e = Slo::parse(text).unwrap_err();
            assert!(
                matches!(&e, SloError::Threshold { problem: p, .. } if *p == problem),
                "{text}: {e:?}"
            );
            assert!(e.to_string().contains(says), "{text}: {e}");
        }
        let m = metrics();
        let check = |text: &str| Slo::parse(text).unwrap().evaluate(&m);
        let v = check("cpu<150%");
        assert!(v.pass);
        assert_eq!((v.metric, v.unit, v.value), ("cpu", "cores", 1.25));
        assert!(!check("rss_mb<0.25GiB").pass);
        assert_eq!(check("rss_mb<1GiB").unit, "MiB");
        let v = check("throughput>1000");
        assert!(v.pass);
        assert_eq!((v.metric, v.value), ("throughput", 1500.0));
        // Without a watched target the target's figures are not measured: no pass.
        let unwatched = Metrics {
            cpu_cores: f64::NAN,
            rss_mb: f64::NAN,
            ..m
        };
        assert!(!Slo::parse("cpu<100").unwrap().evaluate(&unwatched).pass);
        assert!(!Slo::parse("rss_mb>=0").unwrap().evaluate(&unwatched).pass);
        assert!(Slo::parse("rss_mb<500").unwrap().holds(499.0));
        assert!(!Slo::parse("rss_mb<500").unwrap().holds(f64::NAN));
    }

    #[test]
    fn the_unknown_metric_message_lists_every_metric() {
        let e = Slo::parse("qps>5").unwrap_err().to_string();
        assert!(
            e.ends_with(
                "expected one of p50, p75, p90, p95, p99, p99.9, max, mean, error_rate, rps, \
                 throughput, cpu, rss_mb"
            ),
            "{e}"
        );
    }

    #[test]
    fn an_objective_may_name_an_endpoint() {
        let slo = Slo::parse(" search : p99 < 200ms ").unwrap();
        assert_eq!(slo.endpoint(), Some("search"));
        assert_eq!((slo.metric(), slo.threshold()), (Metric::P99, 200.0));
        assert_eq!(slo.expr(), "search : p99 < 200ms");
        let slo = Slo::parse("GET /a?b=1: error_rate<1%").unwrap();
        assert_eq!(slo.endpoint(), Some("GET /a?b=1"));
        assert_eq!(Slo::parse("p99<200ms").unwrap().endpoint(), None);
        let names = vec!["GET /a?b=1".to_string(), "search".to_string()];
        assert_eq!(slo.check_endpoint(&names), Ok(Some(0)));
        assert_eq!(
            Slo::parse("rps>1").unwrap().check_endpoint(&names),
            Ok(None)
        );
    }

    #[test]
    fn an_unknown_endpoint_names_the_known_ones_and_the_closest() {
        let names = vec!["search".to_string(), "checkout".to_string()];
        let e = Slo::parse("serch: p99<200ms")
            .unwrap()
            .check_endpoint(&names)
            .unwrap_err();
        assert_eq!(e.suggestion.as_deref(), Some("search"));
        let msg = e.to_string();
        assert!(
            msg.contains("'serch'")
                && msg.contains("did you mean 'search'")
                && msg.contains("'checkout'"),
            "{msg}"
        );
        let e = Slo::parse("zzz: p99<1ms")
            .unwrap()
            .check_endpoint(&names)
            .unwrap_err();
        assert_eq!(e.suggestion, None);
        assert!(!e.to_string().contains("did you mean"), "{e}");
    }

    #[test]
    fn an_endpoint_objective_takes_only_the_endpoints_metrics() {
        for (text, says) in [
            ("search: cpu<2", "cpu is the target's"),
            ("search: rss_mb<500", "rss_mb is the target's"),
            (": p99<1ms", "no endpoint name"),
            ("search: p42<1ms", "unknown metric 'p42'"),
            ("search: p99<fast", "'fast' is not a latency"),
        ] {
            let e = Slo::parse(text).unwrap_err().to_string();
            assert!(e.contains(says) && e.contains(text), "{text}: {e}");
        }
    }
}
