//! A study's metrics, constraints and objective metrics, read with the grammar of `--slo`
//! ([`perfloop_stats::slo`]) and worded as a study file's errors.
//!
//! A study measures [`STUDY_METRICS`] for every trial (a bench target's latency is its run
//! time); a constraint or an objective on another metric of the grammar (`p75`, `rps`, ...)
//! is refused, since no trial would measure it.

use perfloop_stats::slo::{Metric, Slo, SloError, ThresholdProblem};

/// The metrics every trial measures, in the order reports list them: what a study can
/// optimise or constrain.
pub const STUDY_METRICS: [Metric; 7] = [
    Metric::Throughput,
    Metric::P50,
    Metric::P90,
    Metric::P99,
    Metric::ErrorRate,
    Metric::Cpu,
    Metric::RssMb,
];

/// Whether trials measure `metric`.
#[must_use]
pub fn is_study_metric(metric: Metric) -> bool {
    STUDY_METRICS.contains(&metric)
}

/// Reads a constraint, `METRIC OP THRESHOLD` such as `p99<100ms`, `rss_mb<500`,
/// `error_rate<1%`, `throughput>=1000`, `cpu<2` (cores; `cpu<150%` is 1.5 cores): the
/// grammar of `--slo` over [`STUDY_METRICS`].
///
/// Thresholds are kept in the metric's unit: milliseconds for latencies (written with `us`,
/// `ms` or `s`), a fraction for `error_rate` (written as a percentage or a fraction in
/// \[0, 1\]), per second for `throughput` (optionally `/s`), cores for `cpu` (or a percentage
/// of one core), MiB for `rss_mb` (optionally `MiB` or `GiB`).
///
/// # Errors
///
/// A message quoting the text and saying what was expected.
pub fn parse_constraint(text: &str) -> Result<Slo, String> {
    let bad = |reason: String| format!("invalid constraint `{text}`: {reason}");
    let slo = Slo::parse(text).map_err(|e| {
        bad(match e {
            SloError::NoOperator { .. } => {
                "expected METRIC OP THRESHOLD with OP one of <, <=, >, >=, like p99<100ms".into()
            }
            SloError::UnknownMetric { metric, .. } => unknown_metric(&metric),
            SloError::Endpoint { reason, .. } => reason,
            SloError::Threshold {
                metric,
                threshold,
                problem,
                ..
            } => threshold_reason(metric, &threshold, problem),
        })
    })?;
    if !is_study_metric(slo.metric()) {
        return Err(bad(not_measured(slo.metric())));
    }
    if let Some(name) = slo.endpoint() {
        return Err(bad(format!(
            "a constraint is on the whole trial, not on endpoint `{name}`; drop `{name}:`"
        )));
    }
    Ok(slo)
}

/// The names a study takes, for an error message.
pub(super) fn expected() -> String {
    Metric::names(&STUDY_METRICS)
}

fn unknown_metric(name: &str) -> String {
    format!(
        "unknown metric `{}`; expected one of {}",
        name.trim(),
        expected()
    )
}

/// Why a metric of the grammar cannot be a study's: trials do not measure it.
pub(super) fn not_measured(metric: Metric) -> String {
    format!(
        "a study does not measure `{metric}`; expected one of {}",
        expected()
    )
}

/// What is wrong with a threshold, in a study file's words.
fn threshold_reason(metric: Metric, threshold: &str, problem: ThresholdProblem) -> String {
    if matches!(
        problem,
        ThresholdProblem::NotANumber | ThresholdProblem::Negative
    ) {
        return format!("threshold `{threshold}` is not a non-negative number");
    }
    let expected = match metric {
        m if m.is_latency() => "a latency with a unit: us, ms or s (like 100ms)",
        Metric::ErrorRate => "a percentage (1%) or a fraction in [0, 1]",
        Metric::Cpu => "cores (2) or a percentage of one core (150%)",
        Metric::RssMb => "MiB (500 or 500MiB) or GiB",
        _ => "a number per second (1000 or 1000/s)",
    };
    format!("`{threshold}` is not a threshold for {metric}: expected {expected}")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use perfloop_stats::Op;

    use super::*;

    #[test]
    fn constraints_parse_units() {
        let c = |t: &str| parse_constraint(t).unwrap();
        assert_eq!(c("p50 <= 1.5s").threshold(), 1500.0);
        assert_eq!(c("p90<250us").threshold(), 0.25);
        assert_eq!(c("error_rate<0.001").threshold(), 0.001);
        assert_eq!(c("throughput>=1e3/s").op(), Op::Ge);
        assert_eq!(c("rss_mb<2GiB").threshold(), 2048.0);
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
            let e = parse_constraint(bad).unwrap_err();
            assert!(e.contains(bad), "{e}");
        }
    }

    #[test]
    fn a_constraint_is_on_the_whole_trial_not_an_endpoint() {
        let e = parse_constraint("search: p99<100ms").unwrap_err();
        assert!(
            e.contains("`search: p99<100ms`") && e.contains("not on endpoint `search`"),
            "{e}"
        );
        let e = parse_constraint("search: cpu<2").unwrap_err();
        assert!(e.contains("cpu is the target's"), "{e}");
    }

    #[test]
    fn constraint_errors_keep_the_study_wording() {
        for (text, message) in [
            (
                "p99",
                "invalid constraint `p99`: expected METRIC OP THRESHOLD with OP one of <, <=, \
                 >, >=, like p99<100ms",
            ),
            (
                "rss<500",
                "invalid constraint `rss<500`: unknown metric `rss`; expected one of \
                 throughput, p50, p90, p99, error_rate, cpu, rss_mb",
            ),
            (
                "p99<100",
                "invalid constraint `p99<100`: `100` is not a threshold for p99: expected a \
                 latency with a unit: us, ms or s (like 100ms)",
            ),
            (
                "p99<-1ms",
                "invalid constraint `p99<-1ms`: threshold `-1ms` is not a non-negative number",
            ),
            (
                "error_rate<150%",
                "invalid constraint `error_rate<150%`: `150%` is not a threshold for \
                 error_rate: expected a percentage (1%) or a fraction in [0, 1]",
            ),
            (
                "rss_mb<1MB",
                "invalid constraint `rss_mb<1MB`: `1MB` is not a threshold for rss_mb: \
                 expected MiB (500 or 500MiB) or GiB",
            ),
        ] {
            assert_eq!(parse_constraint(text).unwrap_err(), message);
        }
        let e = parse_constraint("p75<10ms").unwrap_err();
        assert!(e.contains("a study does not measure `p75`"), "{e}");
        let e = parse_constraint("rps>10").unwrap_err();
        assert!(e.contains("a study does not measure `rps`"), "{e}");
    }
}
