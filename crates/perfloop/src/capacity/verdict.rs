//! The verdict on one step, and the knee of the latency curve. Pure functions of run
//! records, so every rule is tested without a server.
//!
//! A rate step is **sustainable** when all of these hold:
//! - every objective held (the search adds `error_rate<1%` when none was given about
//!   errors, so a step that fails requests is never sustainable);
//! - throughput reached the asked rate within the margin (`--rate-margin`, 5 %);
//! - no arrival was dropped for want of a connection;
//! - latency did not rise within the step: the per-second p90 latencies of the measured
//!   window show an upward Mann–Kendall trend at p < [`TREND_ALPHA`] **and** the rise
//!   over the step (Sen's slope × duration) is at least [`TREND_MIN_RISE`] of their median
//!   and at least [`TREND_MIN_RISE_MS`]: a queue that grows is a step beyond capacity even
//!   when its p99 is still under the objective;
//! - the step is trusted (below).
//!
//! A step is **trusted** when the load generator was not saturated and Little's law holds:
//! the requests in flight sampled by the generator agree with throughput × mean latency
//! within [`LITTLE_TOLERANCE`] (or [`LITTLE_SLACK`] requests, whichever is larger, since a
//! sample every 10 ms resolves little at low concurrency). A disagreement means latencies
//! that do not account for the time requests spent in flight (for instance a drain at the
//! end of an overloaded step dominating the figures): the step's numbers are not trusted,
//! and it never passes.
//!
//! Sweep steps (closed model) are judged by the objectives, the latency trend and trust.

use perfloop_report::{LittlesLaw, RunRecord, StepKind, StepVerdict, Trend};
use perfloop_stats::trend::mann_kendall;

/// Significance of the latency trend test.
pub const TREND_ALPHA: f64 = 0.05;
/// The smallest rise over a step, as a fraction of the series' median, that counts.
pub const TREND_MIN_RISE: f64 = 0.5;
/// The smallest rise over a step that counts, ms.
pub const TREND_MIN_RISE_MS: f64 = 1.0;
/// Little's law tolerance, relative.
pub const LITTLE_TOLERANCE: f64 = 0.25;
/// Little's law tolerance, absolute (requests in flight).
pub const LITTLE_SLACK: f64 = 0.5;
/// A p99 this many times the lightest step's marks the knee.
pub const KNEE_FACTOR: f64 = 2.0;

/// Judges one step measured with `offered` load (arrivals per second, or connections for
/// a sweep step).
pub fn judge(run: &RunRecord, kind: StepKind, offered: f64, rate_margin: f64) -> StepVerdict {
    let mut reasons = Vec::new();
    for slo in run.slo.iter().filter(|s| !s.pass) {
        reasons.push(match slo.value {
            Some(v) => format!(
                "{} broken: {} was {}",
                slo.expr,
                slo.metric,
                show(v, &slo.unit)
            ),
            None => format!("{} broken: {} could not be measured", slo.expr, slo.metric),
        });
    }
    let slo_pass = run.slo.iter().all(|s| s.pass);

    let achieved_ratio =
        (kind != StepKind::Sweep && offered > 0.0).then(|| run.throughput_rps / offered);
    let short = achieved_ratio.filter(|r| *r < 1.0 - rate_margin);
    if let Some(r) = short {
        reasons.push(format!(
            "throughput {:.1} req/s is {:.1} % of the asked {:.1}/s (margin {:.0} %)",
            run.throughput_rps,
            r * 100.0,
            offered,
            rate_margin * 100.0
        ));
    }

    let latency_trend = trend(run);
    if latency_trend.rising {
        reasons.push(format!(
            "latency rose within the step: p90 +{:.2} ms/s (Mann–Kendall p = {:.3})",
            latency_trend.slope_per_s, latency_trend.p_value
        ));
    }
    let dropped = run.requests.dropped;
    if dropped > 0 {
        reasons.push(format!(
            "{dropped} arrivals dropped: no connection was free to send them"
        ));
    }
    let total = run.requests.total;
    let errors = run.requests.errors;
    let error_rate = if total > 0 {
        errors as f64 / total as f64
    } else {
        0.0
    };

    let littles_law = littles_law(run);
    let generator_saturated = run.generator.saturated;
    if generator_saturated {
        reasons.push(
            "the load generator was saturated: the step measured perfloop, not the target"
                .to_string(),
        );
    }
    if !littles_law.holds {
        reasons.push(format!(
            "Little's law does not hold: {:.2} requests in flight sampled against {:.2} from \
             throughput × mean latency",
            littles_law.in_flight, littles_law.expected
        ));
    }
    let trusted = !generator_saturated && littles_law.holds;
    let served = total > 0;
    if !served {
        reasons.push("no response was received".to_string());
    }
    let pass =
        served && slo_pass && short.is_none() && !latency_trend.rising && dropped == 0 && trusted;
    StepVerdict {
        pass,
        trusted,
        reasons,
        slo_pass,
        achieved_ratio,
        latency_trend,
        dropped,
        errors,
        error_rate,
        littles_law,
        generator_saturated,
    }
}

fn show(v: f64, unit: &str) -> String {
    match unit {
        "ratio" => format!("{:.2} %", v * 100.0),
        "ms" => format!("{v:.2} ms"),
        other => format!("{v:.1} {other}"),
    }
}

/// The Mann–Kendall test of the per-second p90 latencies inside the measured window (the
/// drain of an open-model step, after the window, is left out).
pub fn trend(run: &RunRecord) -> Trend {
    let window = run.load.duration_s;
    let rows: Vec<_> = run
        .timeline
        .iter()
        .filter(|r| r.requests > 0 && (r.t_s as f64) + 1.0 <= window + 1e-9)
        .collect();
    let xs: Vec<f64> = rows.iter().map(|r| r.t_s as f64).collect();
    let ys: Vec<f64> = rows.iter().map(|r| r.p90_ms).collect();
    let series = "p90 latency per second, ms".to_string();
    let Some(mk) = mann_kendall(&xs, &ys) else {
        return Trend {
            series,
            n: xs.len(),
            tau: 0.0,
            p_value: 1.0,
            slope_per_s: 0.0,
            rising: false,
        };
    };
    let mut sorted = ys;
    sorted.sort_by(f64::total_cmp);
    let median = sorted[sorted.len() / 2];
    let span = xs.last().copied().unwrap_or(0.0) - xs.first().copied().unwrap_or(0.0);
    let rise = mk.sen_slope * span.max(1.0);
    let rising = mk.p_increasing < TREND_ALPHA
        && rise >= TREND_MIN_RISE * median
        && rise >= TREND_MIN_RISE_MS;
    Trend {
        series,
        n: mk.n,
        tau: mk.tau,
        p_value: mk.p_increasing,
        slope_per_s: mk.sen_slope,
        rising,
    }
}

/// Little's law for one run.
pub fn littles_law(run: &RunRecord) -> LittlesLaw {
    let in_flight = run.in_flight_mean;
    let expected = run.throughput_rps * run.latency_ms.mean / 1000.0;
    let ratio = if expected > 0.0 {
        in_flight / expected
    } else if in_flight > 0.0 {
        f64::INFINITY
    } else {
        1.0
    };
    let holds = (in_flight - expected).abs() <= (LITTLE_TOLERANCE * expected).max(LITTLE_SLACK);
    LittlesLaw {
        in_flight,
        expected,
        ratio: if ratio.is_finite() { ratio } else { 0.0 },
        holds,
    }
}

/// The knee among rate steps `(step index, offered rate, run)`: the highest offered rate
/// whose p99 stayed within [`KNEE_FACTOR`] × the lightest step's p99, provided a heavier
/// step went above it; `None` when latency stayed flat over every rate measured or fewer
/// than two steps served requests.
pub fn knee(steps: &[(usize, f64, &RunRecord)]) -> Option<perfloop_report::Knee> {
    let mut served: Vec<_> = steps
        .iter()
        .filter(|(_, _, r)| r.latency_ms.count > 0)
        .collect();
    served.sort_by(|a, b| a.1.total_cmp(&b.1));
    let (_, _, lightest) = served.first()?;
    let base = lightest.latency_ms.p99;
    let limit = KNEE_FACTOR * base;
    let first_high = served
        .iter()
        .position(|(_, _, r)| r.latency_ms.p99 > limit)?;
    let (step, rate, run) = served.get(first_high.checked_sub(1)?)?;
    Some(perfloop_report::Knee {
        rate: *rate,
        throughput_rps: run.throughput_rps,
        p99_ms: run.latency_ms.p99,
        step: *step,
        method: format!(
            "the highest rate whose p99 stayed within {KNEE_FACTOR}× the lightest step's \
             ({base:.2} ms); above it p99 exceeded {limit:.2} ms"
        ),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    /// A real step: 135/s asked of a server that takes 200/s (4 permits of 20 ms), p99
    /// `p99<100ms` and `error_rate<1%` held.
    fn measured() -> RunRecord {
        serde_json::from_str(include_str!("testdata/step-135.json")).unwrap()
    }

    fn judged(run: &RunRecord) -> StepVerdict {
        judge(run, StepKind::Ramp, 135.0, 0.05)
    }

    #[test]
    fn a_steady_step_within_its_objectives_passes() {
        let v = judged(&measured());
        assert!(v.pass && v.trusted && v.slo_pass, "{v:?}");
        assert!(v.reasons.is_empty(), "{:?}", v.reasons);
        assert!(!v.latency_trend.rising);
        assert!(v.littles_law.holds);
        let ratio = v.achieved_ratio.unwrap();
        assert!((0.95..1.05).contains(&ratio), "{ratio}");
    }

    #[test]
    fn a_broken_objective_fails_the_step_and_is_named() {
        let mut run = measured();
        run.slo[0].pass = false;
        let v = judged(&run);
        assert!(!v.pass && !v.slo_pass && v.trusted);
        assert!(
            v.reasons[0].starts_with("p99<100ms broken"),
            "{:?}",
            v.reasons
        );
    }

    #[test]
    fn throughput_short_of_the_asked_rate_fails_beyond_the_margin() {
        let run = measured();
        // 134.5 req/s measured: 4 % short of 140/s passes, 10 % short of 150/s does not.
        assert!(judge(&run, StepKind::Ramp, 140.0, 0.05).pass);
        let v = judge(&run, StepKind::Ramp, 150.0, 0.05);
        assert!(!v.pass);
        assert!(
            v.reasons.iter().any(|r| r.contains("of the asked 150.0/s")),
            "{:?}",
            v.reasons
        );
    }

    #[test]
    fn dropped_arrivals_fail_the_step() {
        let mut run = measured();
        run.requests.dropped = 3;
        let v = judged(&run);
        assert!(!v.pass && v.trusted);
        assert!(
            v.reasons
                .iter()
                .any(|r| r.starts_with("3 arrivals dropped"))
        );
    }

    #[test]
    fn latency_that_climbs_through_the_step_is_a_rising_trend() {
        let mut run = measured();
        for (i, row) in run.timeline.iter_mut().enumerate() {
            row.p90_ms = 22.0 + 15.0 * i as f64;
        }
        let v = judged(&run);
        assert!(v.latency_trend.rising, "{:?}", v.latency_trend);
        assert!(!v.pass);
        assert_eq!(v.latency_trend.n, 5, "the partial last second is left out");
        assert!((v.latency_trend.slope_per_s - 15.0).abs() < 1e-9);
        // The same ordering with a negligible rise is noise, not a queue.
        for (i, row) in run.timeline.iter_mut().enumerate() {
            row.p90_ms = 22.0 + 0.2 * i as f64;
        }
        assert!(!judged(&run).latency_trend.rising);
    }

    #[test]
    fn a_saturated_generator_or_a_broken_littles_law_is_not_trusted() {
        let mut run = measured();
        run.generator.saturated = true;
        let v = judged(&run);
        assert!(!v.trusted && !v.pass && v.generator_saturated);
        let mut run = measured();
        run.in_flight_mean *= 2.0;
        let v = judged(&run);
        assert!(!v.trusted && !v.pass && !v.littles_law.holds);
        assert!(v.reasons.iter().any(|r| r.starts_with("Little's law")));
    }

    #[test]
    fn the_knee_is_the_last_rate_before_p99_doubles() {
        let base = measured();
        let at = |p99: f64| {
            let mut r = base.clone();
            r.latency_ms.p99 = p99;
            r
        };
        let (a, b, c, d) = (at(10.0), at(12.0), at(19.0), at(45.0));
        let steps = [
            (0, 100.0, &a),
            (3, 400.0, &d),
            (1, 200.0, &b),
            (2, 300.0, &c),
        ];
        let knee = knee(&steps).unwrap();
        assert_eq!((knee.step, knee.rate), (2, 300.0));
        // Flat latency: no knee within the rates measured.
        assert!(knee_of_flat(&base).is_none());
    }

    fn knee_of_flat(run: &RunRecord) -> Option<perfloop_report::Knee> {
        knee(&[(0, 100.0, run), (1, 200.0, run)])
    }
}
