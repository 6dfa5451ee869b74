//! How a figure reads in every report, text and HTML alike: a figure that was not measured
//! is `None` or not finite and shows as [`DASH`]; nothing is estimated.

use crate::run::{LatencyMs, OpenModel, PhaseMs, ScenarioInfo};

/// The latency figures a run's report lists, by name, in their order: the fastest, the
/// percentiles and the slowest.
pub(super) fn percentiles(l: &LatencyMs) -> [(&'static str, f64); 8] {
    [
        ("min", l.min),
        ("p50", l.p50),
        ("p75", l.p75),
        ("p90", l.p90),
        ("p95", l.p95),
        ("p99", l.p99),
        ("p99.9", l.p99_9),
        ("max", l.max),
    ]
}

/// The achieved rate as a share of the asked one, after `gap`: `{gap}(98.5 % of asked)`;
/// nothing when no rate was asked.
pub(super) fn of_asked(o: &OpenModel, gap: &str) -> String {
    if o.asked_rate > 0.0 {
        format!(
            "{gap}({:.1} % of asked)",
            o.achieved_rate / o.asked_rate * 100.0
        )
    } else {
        String::new()
    }
}

/// A phase's figures as a report lists them: count, mean, p50, p90, p99 and max.
pub(super) fn phase_figures(ph: &PhaseMs) -> [String; 6] {
    [
        ph.count.to_string(),
        duration(ph.mean),
        duration(ph.p50),
        duration(ph.p90),
        duration(ph.p99),
        duration(ph.max),
    ]
}

/// What an absent figure shows as.
pub(super) const DASH: &str = "–";

/// `v` with `decimals`, or [`DASH`].
pub(super) fn fixed(v: Option<f64>, decimals: usize) -> String {
    match v {
        Some(v) if v.is_finite() => format!("{v:.decimals$}"),
        _ => DASH.to_string(),
    }
}

/// What was sent, to go before the URL it went to: `GET `, `scenario demo.toml (2
/// requests) · `, or nothing for raw TCP (the URL says it).
pub(super) fn sent(method: &str, scenario: Option<&ScenarioInfo>) -> String {
    match scenario {
        Some(s) => format!(
            "scenario {} ({} request{}) · ",
            s.file,
            s.requests,
            if s.requests == 1 { "" } else { "s" }
        ),
        None if method.is_empty() => String::new(),
        None => format!("{method} "),
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

/// A latency in milliseconds, in the unit that reads best: `123 µs`, `12.34 ms`, `2.50 s`.
pub(super) fn duration(ms: f64) -> String {
    if ms < 1.0 {
        format!("{:.0} µs", ms * 1000.0)
    } else if ms < 1000.0 {
        format!("{ms:.2} ms")
    } else {
        format!("{:.2} s", ms / 1000.0)
    }
}

/// Seconds without needless decimals: `10s`, `1.5s`.
pub(super) fn seconds(s: f64) -> String {
    format!("{}s", number(s))
}

/// A number without needless decimals: `100`, `2.5`.
pub(super) fn number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// `part` as a percentage of `whole`.
pub(super) fn share(part: u64, whole: u64) -> String {
    if whole == 0 {
        String::new()
    } else {
        format!("{:5.1} %", part as f64 / whole as f64 * 100.0)
    }
}

/// A byte count in binary units.
pub(super) fn bytes(n: f64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{v:.0} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
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
    fn what_was_sent_goes_before_the_url() {
        let scenario = ScenarioInfo {
            file: "demo.toml".into(),
            requests: 2,
        };
        assert_eq!(
            sent("", Some(&scenario)),
            "scenario demo.toml (2 requests) · "
        );
        assert_eq!(sent("POST", None), "POST ");
        assert_eq!(sent("", None), "");
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

    #[test]
    fn durations_pick_a_readable_unit() {
        assert_eq!(duration(0.123), "123 µs");
        assert_eq!(duration(12.345), "12.35 ms");
        assert_eq!(duration(2500.0), "2.50 s");
        assert_eq!(seconds(10.0), "10s");
        assert_eq!(seconds(1.5), "1.5s");
    }

    #[test]
    fn bytes_use_binary_units() {
        assert_eq!(bytes(512.0), "512 B");
        assert_eq!(bytes(1536.0), "1.5 KiB");
        assert_eq!(bytes(3.0 * 1024.0 * 1024.0), "3.0 MiB");
    }
}
