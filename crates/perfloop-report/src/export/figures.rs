//! The figures the capacity reports show, taken from the record the same way for the text
//! and the HTML: a figure that was not measured is `None` and shows as [`DASH`].

use crate::capacity::{CapacityRecord, CapacityResult, Step, StepKind};

use super::text::number;

/// What an absent figure shows as.
pub(super) const DASH: &str = "–";

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

/// `v` with `decimals`, or [`DASH`].
pub(super) fn fixed(v: Option<f64>, decimals: usize) -> String {
    match v {
        Some(v) if v.is_finite() => format!("{v:.decimals$}"),
        _ => DASH.to_string(),
    }
}

/// A latency in ms for a table cell: more decimals for small values.
pub(super) fn ms(v: Option<f64>) -> String {
    match v {
        Some(v) if v.is_finite() && v.abs() < 10.0 => format!("{v:.2}"),
        Some(v) if v.is_finite() && v.abs() < 1000.0 => format!("{v:.1}"),
        Some(v) if v.is_finite() => format!("{v:.0}"),
        _ => DASH.to_string(),
    }
}

/// A measured figure with about four significant digits and no needless zeros:
/// `1234.5`, `98.25`, `0.00456`, `3`.
pub(super) fn figure(v: f64) -> String {
    if !v.is_finite() {
        return DASH.to_string();
    }
    if v == 0.0 || (v.fract() == 0.0 && v.abs() < 1e15) {
        return format!("{v:.0}");
    }
    let magnitude = v.abs().log10().floor();
    if magnitude < -4.0 {
        return format!("{v:.3e}");
    }
    let decimals = (3.0 - magnitude).clamp(0.0, 8.0) as usize;
    let text = format!("{v:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

/// A figure with its unit: `98.2 %`, `12.5 ms`, `3` (no unit).
pub(super) fn with_unit(v: f64, unit: &str) -> String {
    if unit.is_empty() {
        figure(v)
    } else {
        format!("{} {unit}", figure(v))
    }
}

/// A wall time: `42.0 s`, `3 min 12 s`, `1 h 05 min`.
pub(super) fn elapsed(s: f64) -> String {
    if !s.is_finite() || s < 0.0 {
        return DASH.to_string();
    }
    if s < 60.0 {
        return format!("{s:.1} s");
    }
    let total = s.round() as u64;
    if total < 3600 {
        format!("{} min {:02} s", total / 60, total % 60)
    } else {
        format!("{} h {:02} min", total / 3600, total % 3600 / 60)
    }
}

/// A fraction as a percentage without needless decimals: `5 %`, `2.5 %`.
pub(super) fn fraction(f: f64) -> String {
    format!("{} %", figure(f * 100.0))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_keep_about_four_significant_digits() {
        assert_eq!(figure(1234.56), "1235");
        assert_eq!(figure(98.25), "98.25");
        assert_eq!(figure(0.004567), "0.004567");
        assert_eq!(figure(0.1), "0.1");
        assert_eq!(figure(3.0), "3");
        assert_eq!(figure(0.0), "0");
        assert_eq!(figure(-12.5), "-12.5");
        assert_eq!(figure(0.000_012_34), "1.234e-5");
        assert_eq!(figure(f64::NAN), DASH);
        assert_eq!(with_unit(98.25, "%"), "98.25 %");
        assert_eq!(fraction(0.05), "5 %");
        assert_eq!(fraction(0.025), "2.5 %");
    }

    #[test]
    fn absent_figures_show_a_dash() {
        assert_eq!(fixed(None, 1), DASH);
        assert_eq!(fixed(Some(f64::INFINITY), 1), DASH);
        assert_eq!(fixed(Some(12.345), 1), "12.3");
        assert_eq!(ms(None), DASH);
        assert_eq!(ms(Some(0.6123)), "0.61");
        assert_eq!(ms(Some(48.127)), "48.1");
        assert_eq!(ms(Some(1203.2)), "1203");
    }

    #[test]
    fn elapsed_times_read_well() {
        assert_eq!(elapsed(4.21), "4.2 s");
        assert_eq!(elapsed(192.4), "3 min 12 s");
        assert_eq!(elapsed(3900.0), "1 h 05 min");
        assert_eq!(elapsed(f64::NAN), DASH);
    }
}
