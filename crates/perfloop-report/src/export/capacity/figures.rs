//! The figures both capacity reports show, taken from the record the same way for the text
//! and the HTML: a figure that was not measured is `None` and shows as [`DASH`].

use crate::capacity::{CapacityRecord, CapacityResult, Step, StepKind};
use crate::export::figures::{DASH, elapsed, figure, fraction, number};
use crate::run::EndpointFigures;

/// One step's figures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct StepFigures {
    /// Responses per second.
    pub throughput_rps: f64,
    /// Latency percentiles, ms; `None` when no response was received.
    pub p50_ms: Option<f64>,
    pub p90_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    /// Failed requests, % of all; `None` without requests.
    pub errors_pct: Option<f64>,
    /// The watched target's mean CPU over the step, % of one core.
    pub cpu_pct: Option<f64>,
    /// Its busiest thread's mean CPU, % of one core.
    pub top_thread_pct: Option<f64>,
    /// Its peak resident set, MiB.
    pub rss_max_mb: Option<f64>,
}

impl StepFigures {
    pub(super) fn of(step: &Step) -> StepFigures {
        let run = &step.run;
        let latency = (run.latency_ms.count > 0).then_some(&run.latency_ms);
        let target = run.target.summary.as_ref();
        StepFigures {
            throughput_rps: run.throughput_rps,
            p50_ms: latency.map(|l| l.p50),
            p90_ms: latency.map(|l| l.p90),
            p99_ms: latency.map(|l| l.p99),
            errors_pct: (run.requests.total > 0).then_some(step.verdict.error_rate * 100.0),
            cpu_pct: target.and_then(|s| s.cpu_pct_mean),
            top_thread_pct: target.and_then(|s| s.top_thread_cpu_pct_mean),
            rss_max_mb: target.and_then(|s| s.rss_max_mb),
        }
    }
}

/// Whether the step offered a rate (ramp, bisection) rather than connections (sweep).
pub(super) fn is_rate(step: &Step) -> bool {
    matches!(step.kind, StepKind::Ramp | StepKind::Bisect)
}

/// The kind's name.
pub(super) fn kind(kind: StepKind) -> &'static str {
    match kind {
        StepKind::Ramp => "ramp",
        StepKind::Bisect => "bisect",
        StepKind::Sweep => "sweep",
    }
}

/// The load offered, short: `1200/s`, `32 conn`.
pub(super) fn offered_short(step: &Step) -> String {
    if is_rate(step) {
        format!("{}/s", number(step.offered))
    } else {
        format!("{} conn", number(step.offered))
    }
}

/// The load offered, long: `1200 req/s`, `32 connections`.
pub(super) fn offered_long(step: &Step) -> String {
    if is_rate(step) {
        format!("{} req/s", number(step.offered))
    } else if step.offered == 1.0 {
        "1 connection".to_string()
    } else {
        format!("{} connections", number(step.offered))
    }
}

/// The maximum sustainable throughput, as a sentence.
pub(super) fn headline(r: &CapacityResult) -> String {
    match r.max_sustainable_rps {
        Some(rps) => {
            let mut text = format!("{} req/s at the objectives", figure(rps));
            let at: Vec<String> = [
                r.max_passing_rate
                    .map(|a| format!("asked {} req/s", number(a))),
                r.max_passing_step.map(|s| format!("step {s}")),
            ]
            .into_iter()
            .flatten()
            .collect();
            if !at.is_empty() {
                text.push_str(&format!(" ({})", at.join(", ")));
            }
            text
        }
        None => "none: no step passed the objectives".to_string(),
    }
}

/// The rate bracket of the search, as a sentence.
pub(super) fn bracket(r: &CapacityResult) -> String {
    match (r.max_passing_rate, r.min_failing_rate) {
        (Some(pass), Some(fail)) => {
            let apart = if pass > 0.0 {
                format!(" · {} apart", fraction(fail / pass - 1.0))
            } else {
                String::new()
            };
            format!(
                "passes at {} req/s · fails at {} req/s{apart}",
                number(pass),
                number(fail)
            )
        }
        (Some(pass), None) => format!("passes at {} req/s · no rate failed", number(pass)),
        (None, Some(fail)) => format!("fails at {} req/s · no rate passed", number(fail)),
        (None, None) => DASH.to_string(),
    }
}

/// Whether the bracket reached the resolution, as a sentence.
pub(super) fn resolution(record: &CapacityRecord) -> String {
    let at = fraction(record.settings.resolution);
    if record.result.resolved {
        format!("resolved to within {at}")
    } else {
        format!("not resolved to within {at}")
    }
}

/// The knee, as a sentence (without its method).
pub(super) fn knee(r: &CapacityResult) -> String {
    match &r.knee {
        Some(k) => format!(
            "{} req/s asked · throughput {} req/s · p99 {} ms (step {})",
            number(k.rate),
            figure(k.throughput_rps),
            figure(k.p99_ms),
            k.step
        ),
        None => format!("{DASH} latency did not climb within the rates measured"),
    }
}

/// The endpoint that broke an objective first, as a sentence; `None` when none did.
pub(super) fn first_broken(r: &CapacityResult) -> Option<String> {
    let f = r.first_broken_endpoint.as_ref()?;
    let b = &f.breach;
    let value = match b.value {
        Some(v) if b.unit == "ratio" => fraction(v),
        Some(v) => format!("{} {}", figure(v), b.unit),
        None => "not measured".to_string(),
    };
    let mut text = format!(
        "{} at step {} ({} req/s asked): its {} was {value} against {}",
        b.endpoint,
        f.step,
        number(f.rate),
        b.metric,
        b.expr
    );
    if !f.others.is_empty() {
        text.push_str(&format!("; then {}", f.others.join(", ")));
    }
    Some(text)
}

/// The time spent, as a sentence.
pub(super) fn time_spent(record: &CapacityRecord) -> String {
    let steps = record.steps.len();
    format!(
        "{} · {steps} step{} · ended {}",
        elapsed(record.elapsed_s),
        if steps == 1 { "" } else { "s" },
        record.ending.name()
    )
}

/// The verdict word of a step.
pub(super) fn verdict(step: &Step) -> &'static str {
    if step.verdict.pass { "pass" } else { "FAIL" }
}

/// The step whose endpoints the reports show, and its endpoints the most expensive first:
/// the highest passing rate step, else the step where an endpoint broke an objective first,
/// else the first step; `None` when that step has fewer than two endpoints.
pub(super) fn endpoints(r: &CapacityRecord) -> Option<(&Step, Vec<&EndpointFigures>)> {
    let index =
        r.result
            .max_passing_step
            .or(r.result.first_broken_endpoint.as_ref().map(|f| f.step));
    let step = match index {
        Some(i) => r.steps.iter().find(|s| s.index == i)?,
        None => r.steps.first()?,
    };
    if step.run.endpoints.len() < 2 {
        return None;
    }
    let mut list: Vec<&EndpointFigures> = step.run.endpoints.iter().collect();
    list.sort_by(|a, b| b.time_share.total_cmp(&a.time_share));
    Some((step, list))
}
