//! The exporters of a compare record besides JSON: a table in the manner of benchstat as
//! plain text (`text.rs`) and as a GitHub-flavoured Markdown table for CI summaries
//! (`markdown.rs`). The cells both show are made here, from the record only.

mod markdown;
mod text;

pub use self::markdown::CompareMarkdown;
pub use self::text::CompareText;

use crate::compare::{CompareRecord, CompareVerdict, MetricChange};
use crate::export::figures::{DASH, duration, figure};

/// A metric's name as a reader expects it.
fn label(name: &str) -> &'static str {
    match name {
        "throughput" => "throughput",
        "p50" => "p50",
        "p90" => "p90",
        "p99" => "p99",
        "p999" => "p99.9",
        _ => "error rate",
    }
}

/// A figure of metric `name` with its unit: `1234 req/s`, `12.35 ms`, `0.1 %`.
fn value(name: &str, v: Option<f64>) -> String {
    match v {
        Some(v) if v.is_finite() => match name {
            "throughput" => format!("{} req/s", figure(v)),
            "error_rate" => format!("{} %", figure(v * 100.0)),
            _ => duration(v),
        },
        _ => DASH.to_string(),
    }
}

/// A relative change as a signed percentage: `+4.2 %`, `-0.3 %`.
fn percent(v: f64) -> String {
    let v = v * 100.0;
    // No "-0.0 %": a change that rounds to nothing has no sign.
    if v.abs() < 0.05 {
        "0.0 %".to_string()
    } else {
        format!("{v:+.1} %")
    }
}

fn change(m: &MetricChange) -> String {
    m.change.map_or_else(|| DASH.to_string(), percent)
}

/// The interval as `low … high`, or a dash.
fn interval(m: &MetricChange) -> String {
    match (m.ci_low, m.ci_high) {
        (Some(lo), Some(hi)) => format!("{} … {}", percent(lo), percent(hi)),
        _ => DASH.to_string(),
    }
}

/// The interval column's heading: `95 % interval`.
fn interval_heading(r: &CompareRecord) -> String {
    format!("{} % interval", figure(r.confidence * 100.0))
}

/// `faster`, `slower`, or `~` for no significant difference.
fn verdict(v: CompareVerdict) -> &'static str {
    match v {
        CompareVerdict::Faster => "faster",
        CompareVerdict::Slower => "slower",
        CompareVerdict::Same => "~",
    }
}

/// What `~` means, with the record's thresholds.
fn same_legend(r: &CompareRecord) -> String {
    let fraction = crate::export::figures::fraction;
    if r.tail_threshold > r.threshold {
        format!(
            "~ no significant difference: the interval holds 0, or the change is smaller than \
             the {} threshold ({} for p99 and p99.9)",
            fraction(r.threshold),
            fraction(r.tail_threshold)
        )
    } else {
        format!(
            "~ no significant difference: the interval holds 0, or the change is smaller than \
             the {} threshold",
            fraction(r.threshold)
        )
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
pub(super) mod tests {
    use crate::compare::{
        COMPARE_SCHEMA, CompareMetrics, CompareRecord, CompareSide, CompareVerdict, CompareWarning,
        MetricChange, SideName,
    };
    use crate::run::WarningKind;

    fn m(a: f64, b: f64, ci: Option<(f64, f64)>, verdict: CompareVerdict) -> MetricChange {
        MetricChange {
            a: Some(a),
            b: Some(b),
            change: (a > 0.0).then(|| b / a - 1.0),
            ci_low: ci.map(|c| c.0),
            ci_high: ci.map(|c| c.1),
            verdict,
        }
    }

    /// A record made by hand: B slower in throughput and p99, a warning on run 14.
    pub(crate) fn record() -> CompareRecord {
        CompareRecord {
            schema: COMPARE_SCHEMA.to_string(),
            a: CompareSide {
                runs: vec![12],
                label: "run 12".to_string(),
                target: "http://127.0.0.1:8080/api".to_string(),
                started_at: "2025-01-31T12:00:00Z".to_string(),
            },
            b: CompareSide {
                runs: vec![14, 13],
                label: "tag:branch=fix|wip (last 2)".to_string(),
                target: "http://127.0.0.1:8080/api".to_string(),
                started_at: "2025-02-01T12:00:00Z".to_string(),
            },
            method: "bootstrap over per-second intervals".to_string(),
            confidence: 0.99,
            threshold: 0.02,
            tail_threshold: 0.05,
            metrics: CompareMetrics {
                throughput: m(1000.0, 900.0, Some((-0.12, -0.08)), CompareVerdict::Slower),
                p50: m(10.0, 10.1, Some((-0.01, 0.03)), CompareVerdict::Same),
                p90: m(12.0, 11.0, Some((-0.1, -0.05)), CompareVerdict::Faster),
                p99: m(20.0, 22.0, Some((0.05, 0.15)), CompareVerdict::Slower),
                p999: m(30.0, 30.0, None, CompareVerdict::Same),
                error_rate: m(0.0, 0.001, None, CompareVerdict::Slower),
            },
            warnings: vec![CompareWarning {
                side: SideName::B,
                run: 14,
                kind: WarningKind::Unfinished,
                message: "12 requests still in flight at the end had waited longer than p99"
                    .to_string(),
            }],
            weakened: true,
            notes: vec!["error_rate: side A's figure is 0".to_string()],
        }
    }

    #[test]
    fn cells_read_well() {
        use super::*;
        assert_eq!(value("throughput", Some(1234.6)), "1235 req/s");
        assert_eq!(value("p99", Some(12.345)), "12.35 ms");
        assert_eq!(value("error_rate", Some(0.001)), "0.1 %");
        assert_eq!(value("p50", None), DASH);
        assert_eq!(percent(0.0421), "+4.2 %");
        assert_eq!(percent(-0.0004), "0.0 %");
        let r = record();
        assert_eq!(interval(&r.metrics.p99), "+5.0 % … +15.0 %");
        assert_eq!(interval(&r.metrics.p999), DASH);
        assert_eq!(change(&r.metrics.error_rate), DASH);
        assert_eq!(interval_heading(&r), "99 % interval");
    }
}
