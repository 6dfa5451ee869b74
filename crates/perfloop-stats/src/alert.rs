//! Alert rules over a run's seconds: `p99 > 200ms for 10s`, `error_rate > 1%`,
//! `rss > 90% of limit`, `rps < 100 for 5s`, `cpu > 1.5`, `saturated`.
//!
//! A rule is `METRIC OP THRESHOLD [for DURATION]` (or `saturated [for DURATION]`), checked
//! once per second of a run against that second's [`Reading`]:
//!
//! | metric | threshold | example |
//! | --- | --- | --- |
//! | `p50` `p75` `p90` `p95` `p99` `p99.9` (`p999`) `max` `mean` | a latency with a unit: `us`, `ms`, `s` | `p99 > 200ms` |
//! | `error_rate` | a percentage (`1%`) or a fraction (`0.01`) | `error_rate > 1%` |
//! | `rps`, `throughput` | requests per second | `rps < 100 for 5s` |
//! | `cpu` | the target's CPU in cores, or a percentage of one core | `cpu > 1.5`, `cpu > 150%` |
//! | `rss` | the target's resident memory: bytes, `kB` `MB` `GB`, `KiB` `MiB` `GiB`, or `N% of limit` | `rss > 2GiB`, `rss > 90% of limit` |
//! | `rss_mb` | the same in MiB (or `GiB`), or `N% of limit` | `rss_mb > 500` |
//! | `saturated` | none: the load generator was saturated in that second | `saturated for 3s` |
//!
//! Metric names, latency, percentage and CPU thresholds are the SLO grammar's
//! ([`crate::slo`]), read by the same code; `OP` is one of `>`, `>=`, `<`, `<=`. Without
//! `for` a rule fires in the first second its condition holds; with `for 10s` (`s`, `m`
//! or `h`, whole seconds) it fires once the condition has held in that many consecutive
//! seconds. A firing rule is resolved in the first second its condition no longer holds.
//!
//! Not measured is not zero: a metric a second did not measure (no response in that second,
//! no watched target, no memory limit for `% of limit`) neither fires nor resolves a rule,
//! and breaks a `for` streak; a rule whose metric no second measured is listed by
//! [`Evaluator::unmeasured`], so that it can be reported once.
//!
//! [`AlertRule::parse`] never panics; each error carries the byte position where the rule
//! stops making sense and says what was expected there ([`AlertError`]).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::slo::{Metric, Op, ThresholdProblem, number_len};

/// Text that is not an alert rule: where it goes wrong and what was expected there.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("alert rule '{text}': at column {}: {message}", self.column())]
pub struct AlertError {
    /// The rule as given.
    pub text: String,
    /// The byte offset in `text` where the problem is.
    pub position: usize,
    /// What is wrong, and what was expected.
    pub message: String,
}

impl AlertError {
    fn new(text: &str, position: usize, message: impl Into<String>) -> AlertError {
        AlertError {
            text: text.to_string(),
            position,
            message: message.into(),
        }
    }

    /// The 1-based column (in characters) of [`AlertError::position`].
    pub fn column(&self) -> usize {
        self.text
            .get(..self.position)
            .map_or(self.position, |s| s.chars().count())
            + 1
    }
}

/// What a rule watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AlertMetric {
    /// A metric of the SLO grammar (latency, `error_rate`, `rps`, `throughput`, `cpu`,
    /// `rss_mb`), in that metric's unit ([`Metric::unit`]).
    Slo(Metric),
    /// The target's resident memory, in bytes.
    Rss,
    /// Whether the load generator was saturated (1 or 0).
    Saturated,
}

impl AlertMetric {
    /// Every metric a rule can name, in the order error messages list them.
    const NAMES: &'static str = "p50, p75, p90, p95, p99, p99.9, max, mean, error_rate, rps, \
                                 throughput, cpu, rss, rss_mb, saturated";

    /// The name as rules write it.
    pub fn name(self) -> &'static str {
        match self {
            AlertMetric::Slo(m) => m.name(),
            AlertMetric::Rss => "rss",
            AlertMetric::Saturated => "saturated",
        }
    }

    /// The unit of values and thresholds: [`Metric::unit`], `"bytes"` for `rss`, `""` for
    /// `saturated`.
    pub fn unit(self) -> &'static str {
        match self {
            AlertMetric::Slo(m) => m.unit(),
            AlertMetric::Rss => "bytes",
            AlertMetric::Saturated => "",
        }
    }

    fn parse(name: &str) -> Option<AlertMetric> {
        match name.to_lowercase().as_str() {
            "rss" => Some(AlertMetric::Rss),
            "saturated" => Some(AlertMetric::Saturated),
            _ => Metric::parse(name).map(AlertMetric::Slo),
        }
    }

    fn is_memory(self) -> bool {
        matches!(self, AlertMetric::Rss | AlertMetric::Slo(Metric::RssMb))
    }
}

impl fmt::Display for AlertMetric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a rule's value is compared with.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Threshold {
    /// A value in the metric's unit ([`AlertMetric::unit`]).
    Value(f64),
    /// A fraction of the target's memory limit (`90% of limit` is 0.9); the value compared
    /// is then the resident memory as a fraction of the limit.
    OfLimit(f64),
}

/// A validated alert rule.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertRule {
    metric: AlertMetric,
    op: Op,
    threshold: Threshold,
    hold_s: u64,
    /// The threshold as displayed: the number as written, its unit in canonical form.
    shown: String,
}

/// Reads rules one piece at a time, keeping byte positions in the original text.
struct Cursor<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn rest(&self) -> &'a str {
        self.text.get(self.pos..).unwrap_or("")
    }

    fn skip_space(&mut self) {
        let rest = self.rest();
        self.pos += rest.len() - rest.trim_start().len();
    }

    fn at_end(&self) -> bool {
        self.rest().is_empty()
    }

    /// Takes the longest prefix whose characters satisfy `keep`; returns it and its start.
    fn take(&mut self, keep: impl Fn(char) -> bool) -> (usize, &'a str) {
        let rest = self.rest();
        let len = rest.find(|c: char| !keep(c)).unwrap_or(rest.len());
        let start = self.pos;
        self.pos += len;
        (start, &rest[..len])
    }

    fn word(&mut self) -> (usize, &'a str) {
        self.take(|c| c.is_alphanumeric() || c == '_' || c == '.')
    }

    /// The next word without taking it.
    fn peek_word(&self) -> &'a str {
        let rest = self.rest();
        let len = rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.'))
            .unwrap_or(rest.len());
        &rest[..len]
    }

    /// What comes next, for "found ..." in messages.
    fn found(&self) -> String {
        match self.rest().split_whitespace().next() {
            Some(token) => format!("found '{token}'"),
            None => "found the end of the rule".to_string(),
        }
    }
}

impl AlertRule {
    /// Parses `METRIC OP THRESHOLD [for DURATION]` or `saturated [for DURATION]`.
    pub fn parse(text: &str) -> Result<AlertRule, AlertError> {
        let err = |position: usize, message: String| AlertError::new(text, position, message);
        let mut c = Cursor { text, pos: 0 };
        c.skip_space();
        let (start, name) = c.word();
        if name.is_empty() {
            return Err(err(
                start,
                format!("expected a metric ({}), {}", AlertMetric::NAMES, c.found()),
            ));
        }
        let metric = AlertMetric::parse(name).ok_or_else(|| {
            err(
                start,
                format!(
                    "unknown metric '{name}'; expected one of {}",
                    AlertMetric::NAMES
                ),
            )
        })?;
        c.skip_space();
        let (op, threshold, shown) = if metric == AlertMetric::Saturated {
            (Op::Ge, Threshold::Value(1.0), String::new())
        } else {
            let op = [("<=", Op::Le), (">=", Op::Ge), ("<", Op::Lt), (">", Op::Gt)]
                .into_iter()
                .find(|(sym, _)| c.rest().starts_with(sym))
                .map(|(sym, op)| {
                    c.pos += sym.len();
                    op
                })
                .ok_or_else(|| {
                    err(
                        c.pos,
                        format!("expected an operator (>, >=, <, <=), {}", c.found()),
                    )
                })?;
            c.skip_space();
            let (threshold, shown) = read_threshold(&mut c, metric)?;
            (op, threshold, shown)
        };
        let hold_s = read_for(&mut c)?;
        Ok(AlertRule {
            metric,
            op,
            threshold,
            hold_s,
            shown,
        })
    }

    /// The metric it watches.
    pub fn metric(&self) -> AlertMetric {
        self.metric
    }

    /// The comparison.
    pub fn op(&self) -> Op {
        self.op
    }

    /// What the value is compared with.
    pub fn threshold(&self) -> Threshold {
        self.threshold
    }

    /// The unit of the rule's values and threshold ([`AlertEvent::value`]): `"ms"`,
    /// `"ratio"` (the error rate, and `% of limit`), `"req/s"`, `"cores"`, `"bytes"` (`rss`),
    /// `"MiB"` (`rss_mb`), `""` (`saturated`).
    pub fn unit(&self) -> &'static str {
        match self.threshold {
            Threshold::OfLimit(_) => "ratio",
            Threshold::Value(_) => self.metric.unit(),
        }
    }

    /// How many consecutive seconds the condition must hold before the rule fires (`for`;
    /// 1 without it).
    pub fn hold_s(&self) -> u64 {
        self.hold_s.max(1)
    }

    /// The rule's value in `reading` and the threshold it is compared with, in the same
    /// unit; `None` if the reading did not measure it (or, for `% of limit`, has no limit).
    pub fn measure(&self, reading: &Reading) -> Option<(f64, f64)> {
        let measured = |v: Option<f64>| v.filter(|v| v.is_finite());
        let value = match self.metric {
            AlertMetric::Saturated => reading.saturated.map(|s| if s { 1.0 } else { 0.0 }),
            AlertMetric::Rss => reading.target_rss_bytes.map(|b| b as f64),
            AlertMetric::Slo(m) => measured(match m {
                Metric::P50 => reading.p50_ms,
                Metric::P75 => reading.p75_ms,
                Metric::P90 => reading.p90_ms,
                Metric::P95 => reading.p95_ms,
                Metric::P99 => reading.p99_ms,
                Metric::P99_9 => reading.p99_9_ms,
                Metric::Max => reading.max_ms,
                Metric::Mean => reading.mean_ms,
                Metric::ErrorRate => reading.error_rate,
                Metric::Rps | Metric::Throughput => reading.rps,
                Metric::Cpu => reading.target_cpu,
                Metric::RssMb => reading
                    .target_rss_bytes
                    .map(|b| b as f64 / (1024.0 * 1024.0)),
            }),
        }?;
        match self.threshold {
            Threshold::Value(t) => Some((value, t)),
            Threshold::OfLimit(fraction) => {
                let bytes = reading.target_rss_bytes? as f64;
                let limit = reading.rss_limit_bytes.filter(|&l| l > 0)? as f64;
                Some((bytes / limit, fraction))
            }
        }
    }

    /// Whether the rule's condition holds in `reading`; `None` if it was not measured.
    pub fn holds(&self, reading: &Reading) -> Option<bool> {
        self.measure(reading)
            .map(|(value, threshold)| self.op.holds(value, threshold))
    }
}

/// Reads the threshold after the operator: a number, its unit, or `N% of limit`.
fn read_threshold(
    c: &mut Cursor<'_>,
    metric: AlertMetric,
) -> Result<(Threshold, String), AlertError> {
    let text = c.text;
    let number_start = c.pos;
    let number = &c.rest()[..number_len(c.rest())];
    c.pos += number.len();
    let after_number = c.pos;
    c.skip_space();
    // The unit runs to the next space; `for` after a space is the next clause, not a unit.
    let (unit_start, unit) = if c.pos > after_number && c.peek_word().eq_ignore_ascii_case("for") {
        (c.pos, "")
    } else {
        c.take(|ch| !ch.is_whitespace())
    };
    if unit.is_empty() {
        c.pos = after_number;
    }
    let written = text.get(number_start..c.pos).unwrap_or("").trim_end();
    let value = number.parse::<f64>().ok().filter(|v| v.is_finite());
    let shown_number = value.map(|v| v.to_string()).unwrap_or_default();
    if metric.is_memory() && unit == "%" {
        let fraction = value.filter(|v| *v >= 0.0).ok_or_else(|| {
            AlertError::new(
                text,
                number_start,
                format!("'{number}' is not a percentage; expected one like 90% of limit"),
            )
        })?;
        for expected in ["of", "limit"] {
            c.skip_space();
            let (at, word) = c.word();
            if !word.eq_ignore_ascii_case(expected) {
                c.pos = at;
                return Err(AlertError::new(
                    text,
                    at,
                    format!(
                        "expected 'of limit' after a percentage of memory, like {metric} > 90% \
                         of limit; {}",
                        c.found()
                    ),
                ));
            }
        }
        return Ok((
            Threshold::OfLimit(fraction / 100.0),
            format!("{shown_number}% of limit"),
        ));
    }
    let unit_position = |problem: ThresholdProblem| match problem {
        ThresholdProblem::Unit => unit_start,
        ThresholdProblem::NoUnit => after_number,
        _ => number_start,
    };
    match metric {
        AlertMetric::Slo(m) => {
            let converted = m
                // The space keeps a unit that starts like a number (`5 3ms`) a unit.
                .threshold(&format!("{number} {unit}"))
                .map_err(|p| AlertError::new(text, unit_position(p), p.reason(m, written)))?;
            Ok((
                Threshold::Value(converted),
                shown_number + &canonical_unit(m, unit),
            ))
        }
        _ => {
            let bytes_problem = |p: ThresholdProblem| {
                AlertError::new(
                    text,
                    unit_position(p),
                    format!(
                        "memory '{written}' is not a size; expected bytes (500000000), kB, MB, \
                         GB, KiB, MiB or GiB (2GiB), or a share of the limit (90% of limit)"
                    ),
                )
            };
            let v = value.ok_or_else(|| bytes_problem(ThresholdProblem::NotANumber))?;
            if v < 0.0 {
                return Err(bytes_problem(ThresholdProblem::Negative));
            }
            let (scale, shown_unit) = match unit.to_lowercase().as_str() {
                "" | "b" => (1.0, ""),
                "kb" => (1e3, "kB"),
                "mb" => (1e6, "MB"),
                "gb" => (1e9, "GB"),
                "kib" => (1024.0, "KiB"),
                "mib" => (1024.0 * 1024.0, "MiB"),
                "gib" => (1024.0 * 1024.0 * 1024.0, "GiB"),
                _ => return Err(bytes_problem(ThresholdProblem::Unit)),
            };
            let bytes = v * scale;
            if !bytes.is_finite() {
                return Err(bytes_problem(ThresholdProblem::TooLarge));
            }
            Ok((Threshold::Value(bytes), shown_number + shown_unit))
        }
    }
}

/// The unit as a displayed rule writes it (the SLO grammar reads units case-insensitively
/// and takes a few spellings).
fn canonical_unit(metric: Metric, unit: &str) -> String {
    let unit = unit.trim().to_lowercase();
    match unit.as_str() {
        "us" | "µs" | "μs" => "us".to_string(),
        "gib" => "GiB".to_string(),
        "mib" | "/s" => String::new(),
        _ if metric == Metric::RssMb => String::new(),
        _ => unit,
    }
}

/// Reads the optional `for DURATION` and the end of the rule; returns the seconds (0: none).
fn read_for(c: &mut Cursor<'_>) -> Result<u64, AlertError> {
    let text = c.text;
    c.skip_space();
    if c.at_end() {
        return Ok(0);
    }
    let (at, word) = c.word();
    if !word.eq_ignore_ascii_case("for") {
        c.pos = at;
        return Err(AlertError::new(
            text,
            at,
            format!(
                "expected 'for DURATION' or the end of the rule, {}",
                c.found()
            ),
        ));
    }
    c.skip_space();
    let (start, duration) = c.take(|ch| !ch.is_whitespace());
    let expected = "expected a whole number of seconds (s), minutes (m) or hours (h), like 10s";
    if duration.is_empty() {
        return Err(AlertError::new(
            text,
            start,
            "expected a duration after 'for', like 10s",
        ));
    }
    let digits = duration
        .find(|ch: char| !ch.is_ascii_digit())
        .unwrap_or(duration.len());
    let (number, unit) = duration.split_at(digits);
    let scale = match unit.to_lowercase().as_str() {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        _ => {
            return Err(AlertError::new(
                text,
                start + digits,
                format!("'{duration}' is not a duration; {expected}"),
            ));
        }
    };
    let seconds = number
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(scale))
        .ok_or_else(|| {
            AlertError::new(
                text,
                start,
                format!("'{duration}' is not a duration; {expected}"),
            )
        })?;
    if seconds == 0 {
        return Err(AlertError::new(
            text,
            start,
            "expected a duration of at least 1s (rules are checked once a second)",
        ));
    }
    c.skip_space();
    if !c.at_end() {
        return Err(AlertError::new(
            text,
            c.pos,
            format!(
                "expected the end of the rule after the duration, {}",
                c.found()
            ),
        ));
    }
    Ok(seconds)
}

/// A number of seconds in the largest unit that writes it whole: `90s`, `2m`, `1h`.
fn duration_text(seconds: u64) -> String {
    if seconds % 3600 == 0 {
        format!("{}h", seconds / 3600)
    } else if seconds % 60 == 0 {
        format!("{}m", seconds / 60)
    } else {
        format!("{seconds}s")
    }
}

impl fmt::Display for AlertRule {
    /// The canonical form: `p99 > 200ms for 10s`, `rss > 90% of limit`, `saturated`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.metric.name())?;
        if self.metric != AlertMetric::Saturated {
            write!(f, " {} {}", self.op, self.shown)?;
        }
        if self.hold_s > 0 {
            write!(f, " for {}", duration_text(self.hold_s))?;
        }
        Ok(())
    }
}

impl FromStr for AlertRule {
    type Err = AlertError;

    fn from_str(text: &str) -> Result<AlertRule, AlertError> {
        AlertRule::parse(text)
    }
}

/// One second's figures. `None` (or NaN) means the second did not measure it.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Reading {
    /// Median latency of the second's responses, ms.
    pub p50_ms: Option<f64>,
    /// 75th percentile latency, ms.
    pub p75_ms: Option<f64>,
    /// 90th percentile latency, ms.
    pub p90_ms: Option<f64>,
    /// 95th percentile latency, ms.
    pub p95_ms: Option<f64>,
    /// 99th percentile latency, ms.
    pub p99_ms: Option<f64>,
    /// 99.9th percentile latency, ms.
    pub p99_9_ms: Option<f64>,
    /// Highest latency, ms.
    pub max_ms: Option<f64>,
    /// Mean latency, ms.
    pub mean_ms: Option<f64>,
    /// Errors divided by requests in the second, a fraction.
    pub error_rate: Option<f64>,
    /// Requests counted per second (`rps` and `throughput`).
    pub rps: Option<f64>,
    /// The target's CPU, cores.
    pub target_cpu: Option<f64>,
    /// The target's resident memory, bytes.
    pub target_rss_bytes: Option<u64>,
    /// The target's memory limit (cgroup or configured), bytes: what `% of limit` is of.
    pub rss_limit_bytes: Option<u64>,
    /// Whether the load generator was saturated in the second.
    pub saturated: Option<bool>,
}

/// Whether an alert started or stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertState {
    /// The rule's condition held (for its duration): the alert fires.
    Firing,
    /// The condition of a firing rule no longer holds.
    Resolved,
}

impl AlertState {
    /// `firing` or `resolved`.
    pub fn word(self) -> &'static str {
        match self {
            AlertState::Firing => "firing",
            AlertState::Resolved => "resolved",
        }
    }
}

impl fmt::Display for AlertState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.word())
    }
}

/// An alert that fired or resolved, as sent to webhooks and the live page and kept in the
/// run record: `{"rule":"p99 > 200ms for 10s","state":"firing","t_s":12,"value":250.3,
/// "threshold":200.0,"at":"2025-01-31T12:00:12Z"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertEvent {
    /// The rule, in its canonical form ([`AlertRule`]'s `Display`).
    pub rule: String,
    /// Fired or resolved.
    pub state: AlertState,
    /// The second of the run (on the timeline's axis) it happened in.
    pub t_s: u64,
    /// The rule's value in that second, in the metric's unit (ms, a fraction for the error
    /// rate and `% of limit`, req/s, cores, bytes for `rss`, MiB for `rss_mb`, 1 or 0 for
    /// `saturated`).
    pub value: f64,
    /// The threshold, in the same unit.
    pub threshold: f64,
    /// The wall-clock time, RFC 3339 in UTC, set by whoever has a clock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
}

/// One rule's state between seconds.
#[derive(Debug, Clone)]
struct Tracked {
    rule: AlertRule,
    name: String,
    /// Consecutive seconds the condition has held.
    held: u64,
    last_t: Option<u64>,
    firing: bool,
    measured: bool,
}

/// Checks rules second by second and says when each fires and resolves.
#[derive(Debug, Clone)]
pub struct Evaluator {
    rules: Vec<Tracked>,
    seconds: u64,
}

impl Evaluator {
    /// An evaluator of `rules`, none firing.
    pub fn new(rules: Vec<AlertRule>) -> Evaluator {
        let rules = rules
            .into_iter()
            .map(|rule| Tracked {
                name: rule.to_string(),
                rule,
                held: 0,
                last_t: None,
                firing: false,
                measured: false,
            })
            .collect();
        Evaluator { rules, seconds: 0 }
    }

    /// The rules, in the order given.
    pub fn rules(&self) -> impl Iterator<Item = &AlertRule> {
        self.rules.iter().map(|t| &t.rule)
    }

    /// Takes second `t_s`'s reading; returns the alerts that fired or resolved in it, in
    /// the rules' order. Seconds are expected in order: a gap (or a second seen again)
    /// restarts every `for` streak.
    pub fn second(&mut self, t_s: u64, reading: &Reading) -> Vec<AlertEvent> {
        self.seconds += 1;
        let mut events = Vec::new();
        for tracked in &mut self.rules {
            let contiguous = tracked
                .last_t
                .is_some_and(|last| last.checked_add(1) == Some(t_s));
            tracked.last_t = Some(t_s);
            let Some((value, threshold)) = tracked.rule.measure(reading) else {
                tracked.held = 0;
                continue;
            };
            tracked.measured = true;
            let state = if tracked.rule.op.holds(value, threshold) {
                tracked.held = if contiguous { tracked.held + 1 } else { 1 };
                (!tracked.firing && tracked.held >= tracked.rule.hold_s())
                    .then_some(AlertState::Firing)
            } else {
                tracked.held = 0;
                tracked.firing.then_some(AlertState::Resolved)
            };
            if let Some(state) = state {
                tracked.firing = state == AlertState::Firing;
                events.push(AlertEvent {
                    rule: tracked.name.clone(),
                    state,
                    t_s,
                    value,
                    threshold,
                    at: None,
                });
            }
        }
        events
    }

    /// The rules firing now.
    pub fn firing(&self) -> Vec<&AlertRule> {
        self.rules
            .iter()
            .filter(|t| t.firing)
            .map(|t| &t.rule)
            .collect()
    }

    /// The rules whose metric no second so far measured (empty before the first second):
    /// they cannot fire, and a front end says so once.
    pub fn unmeasured(&self) -> Vec<&AlertRule> {
        if self.seconds == 0 {
            return Vec::new();
        }
        self.rules
            .iter()
            .filter(|t| !t.measured)
            .map(|t| &t.rule)
            .collect()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    fn rule(text: &str) -> AlertRule {
        AlertRule::parse(text).unwrap_or_else(|e| panic!("{e}"))
    }

    fn latency(p99: f64) -> Reading {
        Reading {
            p99_ms: Some(p99),
            ..Reading::default()
        }
    }

    #[test]
    fn reads_the_documented_rules() {
        let cases = [
            (
                "p99 > 200ms for 10s",
                AlertMetric::Slo(Metric::P99),
                Op::Gt,
                Threshold::Value(200.0),
                10,
            ),
            (
                "p50 >= 1s",
                AlertMetric::Slo(Metric::P50),
                Op::Ge,
                Threshold::Value(1000.0),
                1,
            ),
            (
                "error_rate > 1%",
                AlertMetric::Slo(Metric::ErrorRate),
                Op::Gt,
                Threshold::Value(0.01),
                1,
            ),
            (
                "rps < 100 for 5s",
                AlertMetric::Slo(Metric::Rps),
                Op::Lt,
                Threshold::Value(100.0),
                5,
            ),
            (
                "throughput <= 10",
                AlertMetric::Slo(Metric::Throughput),
                Op::Le,
                Threshold::Value(10.0),
                1,
            ),
            (
                "cpu > 1.5",
                AlertMetric::Slo(Metric::Cpu),
                Op::Gt,
                Threshold::Value(1.5),
                1,
            ),
            (
                "cpu > 150%",
                AlertMetric::Slo(Metric::Cpu),
                Op::Gt,
                Threshold::Value(1.5),
                1,
            ),
            (
                "rss_mb > 500",
                AlertMetric::Slo(Metric::RssMb),
                Op::Gt,
                Threshold::Value(500.0),
                1,
            ),
            (
                "rss > 90% of limit",
                AlertMetric::Rss,
                Op::Gt,
                Threshold::OfLimit(0.9),
                1,
            ),
            (
                "rss_mb >= 80 % OF Limit for 1m",
                AlertMetric::Slo(Metric::RssMb),
                Op::Ge,
                Threshold::OfLimit(0.8),
                60,
            ),
            (
                "rss > 2GiB",
                AlertMetric::Rss,
                Op::Gt,
                Threshold::Value(2.0 * 1024.0 * 1024.0 * 1024.0),
                1,
            ),
            (
                "rss > 500MB",
                AlertMetric::Rss,
                Op::Gt,
                Threshold::Value(5e8),
                1,
            ),
            (
                "rss > 1000",
                AlertMetric::Rss,
                Op::Gt,
                Threshold::Value(1000.0),
                1,
            ),
            (
                "p999 > 50ms",
                AlertMetric::Slo(Metric::P99_9),
                Op::Gt,
                Threshold::Value(50.0),
                1,
            ),
            (
                "  MAX>500us  FOR 2h ",
                AlertMetric::Slo(Metric::Max),
                Op::Gt,
                Threshold::Value(0.5),
                7200,
            ),
            (
                "saturated",
                AlertMetric::Saturated,
                Op::Ge,
                Threshold::Value(1.0),
                1,
            ),
            (
                "saturated for 3s",
                AlertMetric::Saturated,
                Op::Ge,
                Threshold::Value(1.0),
                3,
            ),
        ];
        for (text, metric, op, threshold, hold) in cases {
            let r = rule(text);
            assert_eq!(
                (r.metric(), r.op(), r.threshold(), r.hold_s()),
                (metric, op, threshold, hold),
                "{text}"
            );
        }
    }

    #[test]
    fn displays_canonically_and_reads_its_display_back() {
        let cases = [
            ("p99>200ms for 10s", "p99 > 200ms for 10s"),
            ("  P99.9 <= 0.5 MS ", "p99.9 <= 0.5ms"),
            ("p999 > 1e3us", "p99.9 > 1000us"),
            ("p50 > 500µs", "p50 > 500us"),
            ("error_rate > 1%", "error_rate > 1%"),
            ("error_rate>=0.01", "error_rate >= 0.01"),
            ("rps < 100/s for 120s", "rps < 100 for 2m"),
            ("rps < 100 for 90s", "rps < 100 for 90s"),
            ("rps < 100 for 3600s", "rps < 100 for 1h"),
            ("rss_mb > 500MiB", "rss_mb > 500"),
            ("rss_mb > 2gib", "rss_mb > 2GiB"),
            ("rss > 90 % of LIMIT", "rss > 90% of limit"),
            ("rss > 2gib", "rss > 2GiB"),
            ("rss > 10b", "rss > 10"),
            ("cpu > 150%", "cpu > 150%"),
            ("Saturated  for 5S", "saturated for 5s"),
        ];
        for (text, shown) in cases {
            let r = rule(text);
            assert_eq!(r.to_string(), shown, "{text}");
            assert_eq!(rule(shown), r, "{shown}");
            assert_eq!(shown.parse::<AlertRule>().unwrap(), r);
        }
    }

    #[test]
    fn errors_point_at_the_column_and_say_what_was_expected() {
        let cases = [
            ("p99 > 2x00ms", 7, "is not a latency"),
            ("p99 > 200", 9, "latency needs a unit"),
            (
                "p98 > 200ms",
                0,
                "unknown metric 'p98'; expected one of p50",
            ),
            ("  > 200ms", 2, "expected a metric"),
            ("", 0, "expected a metric"),
            (
                "p99 = 200ms",
                4,
                "expected an operator (>, >=, <, <=), found '='",
            ),
            (
                "p99",
                3,
                "expected an operator (>, >=, <, <=), found the end",
            ),
            ("p99 > fast", 6, "'fast' is not a latency"),
            ("p99 > 5 3ms", 8, "'5 3ms' is not a latency"),
            ("p99 > -1ms", 6, "negative"),
            (
                "error_rate > 101%",
                13,
                "not a percentage between 0% and 100%",
            ),
            ("error_rate > 5", 13, "not a fraction between 0 and 1"),
            ("cpu > 2cores", 7, "not a number of cores"),
            ("rss > 5XB", 7, "expected bytes (500000000), kB, MB"),
            ("rss > lots", 6, "is not a size"),
            ("rss > 90% of memory", 13, "expected 'of limit'"),
            ("rss > 90%", 9, "expected 'of limit'"),
            (
                "p99 > 200ms during 10s",
                12,
                "expected 'for DURATION' or the end of the rule, found 'during'",
            ),
            ("p99 > 200ms for", 15, "expected a duration after 'for'"),
            ("p99 > 200ms for 10", 18, "is not a duration"),
            ("p99 > 200ms for 500ms", 19, "whole number of seconds"),
            ("p99 > 200ms for 1.5s", 17, "is not a duration"),
            ("p99 > 200ms for 0s", 16, "at least 1s"),
            (
                "p99 > 200ms for 99999999999999999999h",
                16,
                "is not a duration",
            ),
            (
                "p99 > 200ms for 10s now",
                20,
                "expected the end of the rule after the duration, found 'now'",
            ),
            ("saturated > 1", 10, "expected 'for DURATION' or the end"),
        ];
        for (text, position, says) in cases {
            let e = AlertRule::parse(text).unwrap_err();
            assert_eq!(e.position, position, "{text}: {e}");
            assert!(e.message.contains(says), "{text}: {e}");
            let shown = e.to_string();
            assert!(
                shown.starts_with(&format!(
                    "alert rule '{text}': at column {}: ",
                    position + 1
                )),
                "{shown}"
            );
        }
        // The column counts characters, not bytes.
        let e = AlertRule::parse("p99 > µµ").unwrap_err();
        assert_eq!((e.position, e.column()), (6, 7));
        let e = AlertRule::parse("p99 > 5ms for 5µ").unwrap_err();
        assert_eq!(e.column(), 16, "{e}");
    }

    #[test]
    fn never_panics_on_odd_input() {
        let alphabet = [
            'p', '9', '%', '>', '=', 's', 'µ', 'f', 'o', 'r', ' ', '1', '.',
        ];
        fn walk(s: &mut String, alphabet: &[char], depth: usize) {
            match AlertRule::parse(s) {
                Ok(r) => assert_eq!(AlertRule::parse(&r.to_string()).as_ref(), Ok(&r), "{s}"),
                Err(e) => assert!(
                    e.position <= s.len() && s.is_char_boundary(e.position),
                    "{s}"
                ),
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
        walk(&mut String::from("p99"), &alphabet, 4);
        walk(&mut String::from("rss > 9"), &alphabet, 3);
        for odd in [
            "🙂",
            "p99 > 5ms for 🙂",
            "rss > 1e400",
            "p99 > 1e308s",
            "\u{0}",
            "p99\n>\t5ms",
        ] {
            let _ = AlertRule::parse(odd);
        }
        assert!(AlertRule::parse("rss > 1e400").is_err());
        assert!(AlertRule::parse("p99 > 1e308s").is_err());
    }

    #[test]
    fn fires_in_the_first_second_and_resolves_when_it_no_longer_holds() {
        let mut e = Evaluator::new(vec![rule("p99 > 200ms")]);
        assert!(e.second(0, &latency(100.0)).is_empty());
        let fired = e.second(1, &latency(250.5));
        assert_eq!(
            fired,
            vec![AlertEvent {
                rule: "p99 > 200ms".to_string(),
                state: AlertState::Firing,
                t_s: 1,
                value: 250.5,
                threshold: 200.0,
                at: None,
            }]
        );
        assert_eq!(e.firing().len(), 1);
        // Still firing: no new event.
        assert!(e.second(2, &latency(300.0)).is_empty());
        // Exactly at the threshold `>` no longer holds.
        let resolved = e.second(3, &latency(200.0));
        assert_eq!(resolved.len(), 1);
        assert_eq!(
            (resolved[0].state, resolved[0].t_s, resolved[0].value),
            (AlertState::Resolved, 3, 200.0)
        );
        assert!(e.firing().is_empty());
        assert!(e.second(4, &latency(10.0)).is_empty());
        assert_eq!(e.second(5, &latency(201.0))[0].state, AlertState::Firing);
    }

    #[test]
    fn a_duration_needs_every_second_to_hold() {
        let mut e = Evaluator::new(vec![rule("p99 > 200ms for 3s")]);
        let states = |e: &mut Evaluator, series: &[(u64, f64)]| -> Vec<(u64, AlertState)> {
            series
                .iter()
                .flat_map(|&(t, v)| e.second(t, &latency(v)))
                .map(|ev| (ev.t_s, ev.state))
                .collect()
        };
        // Two seconds above, one below, then three above: fires at the third of those.
        let got = states(
            &mut e,
            &[
                (0, 300.0),
                (1, 300.0),
                (2, 100.0),
                (3, 300.0),
                (4, 300.0),
                (5, 300.0),
                (6, 300.0),
                (7, 150.0),
            ],
        );
        assert_eq!(
            got,
            vec![(5, AlertState::Firing), (7, AlertState::Resolved)]
        );
        // A missing second breaks the streak.
        let mut e = Evaluator::new(vec![rule("p99 > 200ms for 3s")]);
        assert!(states(&mut e, &[(0, 300.0), (1, 300.0), (3, 300.0), (4, 300.0)]).is_empty());
        assert_eq!(states(&mut e, &[(5, 300.0)]), vec![(5, AlertState::Firing)]);
        // So does a second that did not measure the metric.
        let mut e = Evaluator::new(vec![rule("p99 > 200ms for 2s")]);
        assert!(e.second(0, &latency(300.0)).is_empty());
        assert!(e.second(1, &Reading::default()).is_empty());
        assert!(e.second(2, &latency(300.0)).is_empty());
        assert_eq!(e.second(3, &latency(300.0)).len(), 1);
        // Resolution does not wait for the duration.
        assert_eq!(e.second(4, &latency(1.0))[0].state, AlertState::Resolved);
    }

    #[test]
    fn not_measured_never_fires_nor_resolves_and_is_listed() {
        let rules = vec![
            rule("cpu > 1.5"),
            rule("p99 > 200ms"),
            rule("rss > 90% of limit"),
        ];
        let mut e = Evaluator::new(rules);
        assert!(e.unmeasured().is_empty(), "nothing seen yet");
        let mut reading = Reading {
            target_rss_bytes: Some(950),
            ..latency(300.0)
        };
        let events = e.second(0, &reading);
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].rule, "p99 > 200ms");
        let unmeasured: Vec<String> = e.unmeasured().iter().map(|r| r.to_string()).collect();
        assert_eq!(unmeasured, ["cpu > 1.5", "rss > 90% of limit"]);
        // A second without latency neither fires nor resolves the firing rule.
        reading.p99_ms = None;
        assert!(e.second(1, &reading).is_empty());
        assert_eq!(e.firing().len(), 1);
        reading.p99_ms = Some(f64::NAN);
        assert!(e.second(2, &reading).is_empty());
        assert_eq!(e.firing().len(), 1);
        // Once measured, a rule is no longer listed.
        reading.rss_limit_bytes = Some(1000);
        let events = e.second(3, &reading);
        assert_eq!(events.len(), 1);
        assert_eq!(
            (
                events[0].rule.as_str(),
                events[0].value,
                events[0].threshold
            ),
            ("rss > 90% of limit", 0.95, 0.9)
        );
        let unmeasured: Vec<String> = e.unmeasured().iter().map(|r| r.to_string()).collect();
        assert_eq!(unmeasured, ["cpu > 1.5"]);
        assert_eq!(e.firing().len(), 2);
    }

    #[test]
    fn memory_rules_compare_in_their_units() {
        let reading = Reading {
            target_rss_bytes: Some(600 * 1024 * 1024),
            rss_limit_bytes: Some(1024 * 1024 * 1024),
            ..Reading::default()
        };
        let check = |text: &str| rule(text).holds(&reading);
        assert_eq!(check("rss_mb > 500"), Some(true));
        assert_eq!(check("rss_mb > 600"), Some(false));
        assert_eq!(check("rss_mb >= 600"), Some(true));
        assert_eq!(check("rss > 600MiB"), Some(false));
        assert_eq!(check("rss > 600MB"), Some(true));
        assert_eq!(check("rss > 50% of limit"), Some(true));
        assert_eq!(check("rss_mb > 60% of limit"), Some(false));
        assert_eq!(rule("rss_mb > 500").measure(&reading), Some((600.0, 500.0)));
        // No limit: `% of limit` is not measured; a zero limit neither.
        let no_limit = Reading {
            rss_limit_bytes: None,
            ..reading
        };
        assert_eq!(rule("rss > 50% of limit").holds(&no_limit), None);
        let zero = Reading {
            rss_limit_bytes: Some(0),
            ..reading
        };
        assert_eq!(rule("rss > 50% of limit").holds(&zero), None);
    }

    #[test]
    fn each_metric_reads_its_field() {
        let reading = Reading {
            p50_ms: Some(1.0),
            p75_ms: Some(2.0),
            p90_ms: Some(3.0),
            p95_ms: Some(4.0),
            p99_ms: Some(5.0),
            p99_9_ms: Some(6.0),
            max_ms: Some(7.0),
            mean_ms: Some(8.0),
            error_rate: Some(0.02),
            rps: Some(900.0),
            target_cpu: Some(1.25),
            target_rss_bytes: Some(1_000_000),
            rss_limit_bytes: Some(4_000_000),
            saturated: Some(true),
        };
        let cases = [
            ("p50 >= 1ms", 1.0),
            ("p75 >= 1ms", 2.0),
            ("p90 >= 1ms", 3.0),
            ("p95 >= 1ms", 4.0),
            ("p99 >= 1ms", 5.0),
            ("p99.9 >= 1ms", 6.0),
            ("max >= 1ms", 7.0),
            ("mean >= 1ms", 8.0),
            ("error_rate > 1%", 0.02),
            ("rps < 1000", 900.0),
            ("throughput < 1000", 900.0),
            ("cpu > 1", 1.25),
            ("rss > 1", 1_000_000.0),
            ("rss > 1% of limit", 0.25),
            ("saturated", 1.0),
        ];
        for (text, value) in cases {
            let (got, _) = rule(text).measure(&reading).unwrap();
            assert!((got - value).abs() < 1e-12, "{text}: {got}");
            assert_eq!(rule(text).holds(&reading), Some(true), "{text}");
        }
        let calm = Reading {
            saturated: Some(false),
            ..Reading::default()
        };
        assert_eq!(rule("saturated").holds(&calm), Some(false));
        assert_eq!(rule("saturated").holds(&Reading::default()), None);
        let units: Vec<&str> = [
            "p99 > 1ms",
            "error_rate > 1%",
            "rps < 1",
            "cpu > 1",
            "rss > 1",
            "rss > 1% of limit",
            "rss_mb > 1",
            "saturated",
        ]
        .iter()
        .map(|t| rule(t).unit())
        .collect();
        assert_eq!(
            units,
            ["ms", "ratio", "req/s", "cores", "bytes", "ratio", "MiB", ""]
        );
    }

    #[test]
    fn events_serialise_to_the_live_stream_shape() {
        let mut e = Evaluator::new(vec![rule("p99 > 200ms for 1s")]);
        let mut event = e.second(12, &latency(250.3)).remove(0);
        let json = serde_json::to_string(&event).unwrap();
        assert_eq!(
            json,
            r#"{"rule":"p99 > 200ms for 1s","state":"firing","t_s":12,"value":250.3,"threshold":200.0}"#
        );
        event.at = Some("2025-01-31T12:00:12Z".to_string());
        let value = serde_json::to_value(&event).unwrap();
        assert_eq!(value["at"], "2025-01-31T12:00:12Z");
        let back: AlertEvent = serde_json::from_value(value).unwrap();
        assert_eq!(back, event);
        let resolved = e.second(13, &latency(1.0)).remove(0);
        assert_eq!(
            serde_json::to_value(&resolved).unwrap()["state"],
            "resolved"
        );
    }
}
