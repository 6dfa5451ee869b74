//! The verdict on one step, and the knee of the latency curve. Pure functions of run
//! records, so every rule is tested without a server.
//!
//! A step is judged by what it was asked to deliver and what it delivered. A rate step is
//! **sustainable** when all of these hold:
//! - every objective held (the search adds `error_rate<1%` when none was given about
//!   errors, so a step that fails requests is never sustainable);
//! - the step delivered what it was asked: its throughput — the requests counted for the
//!   window's arrivals (each followed to its end) per second of the window, or of the
//!   longer time the target took to answer them — reaches the asked rate within the margin
//!   (`--rate-margin`, 5 %), give or take the one arrival by which a window's share of a
//!   constant schedule may differ;
//! - no arrival was dropped for want of a connection;
//! - latency did not rise within the step by an amount that matters: the per-second p90
//!   latencies of the measured window show an upward Mann–Kendall trend at
//!   p < [`TREND_ALPHA`], **and** the rise projected over the step's own duration (Sen's
//!   slope × the window, the horizon over which the step claims the rate is sustained)
//!   would use up at least [`TREND_HEADROOM_SHARE`] of the headroom the step left under a
//!   latency objective (threshold − the step's value of that percentile). A queue that
//!   grows is a step beyond capacity even while its p99 is under the objective, but a rise
//!   of a few milliseconds against an objective of tens is not. Without a latency
//!   objective the rise must reach [`TREND_MIN_RISE`] of the series' median and
//!   [`TREND_MIN_RISE_MS`];
//! - the step is trusted (below).
//!
//! A step is **trusted** when the load generator was not saturated and Little's law holds.
//! The engine measures the mean number of requests in flight exactly (each request's time
//! in flight inside the window, from its intended start in the open model, divided by the
//! window), so it must equal the time the responses' latencies account for
//! (responses per second of the window × mean latency) up to what the window's edges and
//! the requests without a latency can explain: [`LITTLE_TOLERANCE`] of it; plus, at the
//! edge where time in flight is counted without a latency (the start: requests sent during
//! the warm-up) or a latency without its time in flight (the end: responses after the
//! window), the requests that straddle it: arriving at rate λ over the slowest latency
//! `W` before the edge, each in flight at most `W`, at most `λW²/2` request-seconds (a
//! stall just before the window opens puts a backlog there, and this bound covers it);
//! plus the requests that ended without a latency (failed attempts, dropped arrivals,
//! unfinished requests; each for at most the timeout, within the window). More time in
//! flight than that means requests that were lost or latencies not measured from each
//! request's start; less means latencies longer than the requests were in flight. Either
//! way the step's numbers are not trusted, and it never passes. The check holds at any
//! latency, sub-millisecond or seconds.
//!
//! Sweep steps (closed model) are judged by the objectives, the latency trend and trust.

use perfloop_report::capacity::format_rate;
use perfloop_report::{LittlesLaw, RunRecord, StepKind, StepVerdict, TimelinePoint, Trend};
use perfloop_stats::slo::{Op, Slo};
use perfloop_stats::trend::mann_kendall;

/// Significance of the latency trend test.
pub const TREND_ALPHA: f64 = 0.05;
/// The share of the headroom under a latency objective that a rise projected over the
/// step's duration must use up to count.
pub const TREND_HEADROOM_SHARE: f64 = 0.5;
/// Without a latency objective: the smallest rise over a step, as a fraction of the
/// series' median, that counts.
pub const TREND_MIN_RISE: f64 = 0.5;
/// Without a latency objective: the smallest rise over a step that counts, ms.
pub const TREND_MIN_RISE_MS: f64 = 1.0;
/// Little's law tolerance, relative.
pub const LITTLE_TOLERANCE: f64 = 0.25;
/// A p99 this many times the lightest step's marks the knee.
pub const KNEE_FACTOR: f64 = 2.0;

/// What a step was asked to do.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Asked {
    /// Ramp, bisection or sweep.
    pub kind: StepKind,
    /// Arrivals per second (ramp, bisection) or connections (sweep).
    pub offered: f64,
    /// The measured window, seconds: the denominator of throughput and the horizon of the
    /// latency trend.
    pub window_s: f64,
    /// How far short of the asked arrivals the delivered requests may fall (0.05 = 5 %).
    pub rate_margin: f64,
}

/// Judges one step.
pub fn judge(run: &RunRecord, asked: &Asked) -> StepVerdict {
    let mut reasons = Vec::new();
    for slo in run.slo.iter().filter(|s| !s.pass) {
        let metric = match &slo.endpoint {
            Some(name) => format!("{name}'s {}", slo.metric),
            None => slo.metric.clone(),
        };
        reasons.push(match slo.value {
            Some(v) => format!("{} broken: {metric} was {}", slo.expr, show(v, &slo.unit)),
            None => format!("{} broken: {metric} could not be measured", slo.expr),
        });
    }
    let slo_pass = run.slo.iter().all(|s| s.pass);

    let delivery = delivery(run, asked);
    let achieved_ratio = delivery.as_ref().map(|d| d.ratio);
    let short = delivery.and_then(|d| d.short);
    let delivered = short.is_none();
    reasons.extend(short);

    let (latency_trend, rise) = trend(run, asked.window_s);
    reasons.extend(rise);
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

    let littles_law = littles_law(run, asked.window_s);
    let generator_saturated = run.generator.saturated;
    if generator_saturated {
        reasons.push(
            "the load generator was saturated: the step measured perfloop, not the target"
                .to_string(),
        );
    }
    if !littles_law.holds {
        reasons.push(little_reason(&littles_law));
    }
    let trusted = !generator_saturated && littles_law.holds;
    let served = total > 0;
    if !served {
        reasons.push("no response was received".to_string());
    }
    let pass = served && slo_pass && delivered && !latency_trend.rising && dropped == 0 && trusted;
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

/// What an open-model step delivered against what it was asked.
struct Delivery {
    /// Requests counted per second of the window over the asked rate.
    ratio: f64,
    /// Why it fell short, when it did.
    short: Option<String>,
}

/// The step's throughput (responses and failed attempts for the window's arrivals, each
/// followed to its end, per second of the window or of the longer time the target took to
/// answer them; failures are the error objective's to judge) against the asked rate, as
/// requests over the window. `None` for sweep steps, which are asked for connections.
fn delivery(run: &RunRecord, asked: &Asked) -> Option<Delivery> {
    let window = asked.window_s;
    if asked.kind == StepKind::Sweep || asked.offered <= 0.0 || window <= 0.0 {
        return None;
    }
    let asked_n = asked.offered * window;
    let delivered_n = run.throughput_rps * window;
    let ratio = delivered_n / asked_n;
    let short = (delivered_n + 1.0 < (1.0 - asked.rate_margin) * asked_n).then(|| {
        format!(
            "delivered {delivered_n:.0} of the {asked_n:.0} requests asked in the {} window \
             ({:.1}/s, {:.1} % of the asked {}/s; margin {:.0} %)",
            seconds(window),
            delivered_n / window,
            ratio * 100.0,
            format_rate(asked.offered),
            asked.rate_margin * 100.0
        )
    });
    Some(Delivery { ratio, short })
}

/// `5 s`, `1.5 s`.
fn seconds(s: f64) -> String {
    if s.fract() == 0.0 {
        format!("{s:.0} s")
    } else {
        format!("{s} s")
    }
}

/// The p90 latency of one full second of the measured window, when a response completed
/// in it.
fn p90(row: &TimelinePoint, window_s: f64) -> Option<f64> {
    let full = row.length_s >= 1.0 - 1e-9 && (row.t_s as f64) + 1.0 <= window_s + 1e-9;
    if full { row.p90_ms } else { None }
}

/// A latency objective with an upper bound, as the step measured it.
struct Headroom {
    expr: String,
    /// Threshold minus the step's value, ms (negative when the objective broke).
    left_ms: f64,
}

/// The step's latency objectives with an upper bound and a measured value.
fn headrooms(run: &RunRecord) -> Vec<Headroom> {
    run.slo
        .iter()
        // The trend is of the whole run's latency: objectives on one endpoint do not bound it.
        .filter(|s| s.endpoint.is_none())
        .filter_map(|s| {
            let slo = Slo::parse(&s.expr).ok()?;
            let upper = matches!(slo.op(), Op::Lt | Op::Le);
            (slo.metric().is_latency() && upper).then_some(())?;
            Some(Headroom {
                expr: s.expr.clone(),
                left_ms: s.threshold - s.value?,
            })
        })
        .collect()
}

/// The Mann–Kendall test of the per-second p90 latencies inside the measured window of
/// `window_s` seconds (a partial last second, and the open model's drain, are left out),
/// judged against the step's latency objectives (see the module documentation); with the
/// reason the step fails when the rise matters.
pub fn trend(run: &RunRecord, window_s: f64) -> (Trend, Option<String>) {
    let points: Vec<(f64, f64)> = run
        .timeline
        .iter()
        .filter_map(|r| Some((r.t_s as f64, p90(r, window_s)?)))
        .collect();
    let (xs, ys): (Vec<f64>, Vec<f64>) = points.into_iter().unzip();
    let series = "p90 latency per second, ms".to_string();
    let Some(mk) = mann_kendall(&xs, &ys) else {
        let flat = Trend {
            series,
            n: xs.len(),
            tau: 0.0,
            p_value: 1.0,
            slope_per_s: 0.0,
            rising: false,
        };
        return (flat, None);
    };
    let significant = mk.p_increasing < TREND_ALPHA && mk.sen_slope > 0.0;
    let rise = mk.sen_slope * window_s;
    let seen = format!(
        "latency rose within the step: p90 {:+.2} ms/s (Mann–Kendall p = {:.3}), {:+.1} ms over \
         the step's {}",
        mk.sen_slope,
        mk.p_increasing,
        rise,
        seconds(window_s)
    );
    let objectives = headrooms(run);
    let reason = if objectives.is_empty() {
        let mut sorted = ys;
        sorted.sort_by(f64::total_cmp);
        let median = sorted[sorted.len() / 2];
        (significant && rise >= TREND_MIN_RISE * median && rise >= TREND_MIN_RISE_MS).then(|| {
            format!(
                "{seen}, at least {:.0} % of its median {median:.2} ms (no latency objective \
                 to judge it by)",
                TREND_MIN_RISE * 100.0
            )
        })
    } else {
        objectives
            .iter()
            .find(|h| significant && (h.left_ms <= 0.0 || rise >= TREND_HEADROOM_SHARE * h.left_ms))
            .map(|h| {
                if h.left_ms <= 0.0 {
                    format!("{seen}, with {} already broken", h.expr)
                } else {
                    format!(
                        "{seen}: at least {:.0} % of the {:.1} ms left under {}",
                        TREND_HEADROOM_SHARE * 100.0,
                        h.left_ms,
                        h.expr
                    )
                }
            })
    };
    let trend = Trend {
        series,
        n: mk.n,
        tau: mk.tau,
        p_value: mk.p_increasing,
        slope_per_s: mk.sen_slope,
        rising: reason.is_some(),
    };
    (trend, reason)
}

/// Little's law for one run whose measured window lasted `window_s` seconds (see the
/// module documentation for the allowance).
pub fn littles_law(run: &RunRecord, window_s: f64) -> LittlesLaw {
    let in_flight = run.in_flight_mean;
    let latency = &run.latency_ms;
    let (expected, allowance) = if window_s > 0.0 {
        let expected = latency.count as f64 * latency.mean / 1000.0 / window_s;
        let rate = latency.count as f64 / window_s;
        let slowest = latency.max / 1000.0;
        let edge = rate * slowest * slowest / 2.0 / window_s;
        let requests = &run.requests;
        let without_latency =
            requests.total.saturating_sub(latency.count) + requests.dropped + requests.unfinished;
        let longest = run.load.timeout_s.min(window_s);
        let unmeasured = without_latency as f64 * longest / window_s;
        (
            expected,
            Allowance {
                below: LITTLE_TOLERANCE * expected + edge,
                above: LITTLE_TOLERANCE * expected + edge + unmeasured,
            },
        )
    } else {
        (0.0, Allowance::default())
    };
    let ratio = if expected > 0.0 {
        in_flight / expected
    } else if in_flight > 0.0 {
        f64::INFINITY
    } else {
        1.0
    };
    let holds = in_flight <= expected + allowance.above && in_flight >= expected - allowance.below;
    LittlesLaw {
        in_flight,
        expected,
        ratio: if ratio.is_finite() { ratio } else { 0.0 },
        holds,
    }
}

/// How far the time in flight may lie from what the latencies account for.
#[derive(Debug, Default)]
struct Allowance {
    below: f64,
    above: f64,
}

fn little_reason(law: &LittlesLaw) -> String {
    if law.in_flight > law.expected {
        format!(
            "Little's law does not hold: {:.2} requests were in flight on average, but the \
             responses' latencies account for {:.2} (throughput × mean latency): requests were \
             lost, or latency was not measured from each request's start",
            law.in_flight, law.expected
        )
    } else {
        format!(
            "Little's law does not hold: the responses' latencies account for {:.2} requests \
             in flight (throughput × mean latency), but only {:.2} were in flight on average: \
             latencies longer than the requests' time in flight",
            law.expected, law.in_flight
        )
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

    /// A real step: 135/s asked of a server that takes 200/s (4 permits of 20 ms) over a
    /// 5 s window, `p99<100ms` and `error_rate<1%` held.
    fn measured() -> RunRecord {
        serde_json::from_str(include_str!("testdata/step-135.json")).unwrap()
    }

    fn asked(offered: f64) -> Asked {
        Asked {
            kind: StepKind::Ramp,
            offered,
            window_s: 5.0,
            rate_margin: 0.05,
        }
    }

    fn judged(run: &RunRecord) -> StepVerdict {
        judge(run, &asked(135.0))
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
    fn a_step_is_judged_by_the_requests_asked_of_its_window_and_delivered() {
        let run = measured();
        // 675 delivered in 5 s: 700 asked at 140/s is within 5 %, 750 at 150/s is not.
        assert!(judge(&run, &asked(140.0)).pass);
        let v = judge(&run, &asked(150.0));
        assert!(!v.pass);
        assert!(
            v.reasons.iter().any(|r| r
                .contains("delivered 675 of the 750 requests asked in the 5 s window")
                && r.contains("of the asked 150/s")),
            "{:?}",
            v.reasons
        );
        // A window's share of the schedule may hold one arrival less than rate × window.
        let mut run = measured();
        run.throughput_rps = 9.0;
        let one_short = Asked {
            offered: 10.0,
            window_s: 1.0,
            ..asked(10.0)
        };
        assert!(delivery(&run, &one_short).unwrap().short.is_none());
        run.throughput_rps = 8.0;
        assert!(delivery(&run, &one_short).unwrap().short.is_some());
        // Every arrival answered, but over twice the window: the target fell behind.
        let mut run = measured();
        run.throughput_rps = 67.5;
        assert!(!judge(&run, &asked(135.0)).pass);
    }

    /// Every request of a server answering in a fixed 300 ms with unlimited concurrency,
    /// 50/s over 5 s: all 250 answered. The drain after the window (one latency) is no
    /// shortfall: throughput is per second of the window.
    #[test]
    fn a_slow_server_that_answers_every_arrival_passes() {
        let mut run = measured();
        run.requests.total = 250;
        run.requests.ok = 250;
        run.latency_ms.count = 250;
        run.latency_ms.mean = 300.4;
        run.latency_ms.max = 302.0;
        run.throughput_rps = 50.0;
        run.load.duration_s = 5.3;
        run.in_flight_mean = 15.0;
        for row in &mut run.timeline {
            row.p90_ms = Some(300.5);
        }
        run.slo[0].value = Some(301.0);
        run.slo[0].threshold = 1000.0;
        run.slo[0].expr = "p99<1s".to_string();
        let v = judge(&run, &asked(50.0));
        assert!(v.pass, "{:?}", v.reasons);
        assert_eq!(v.achieved_ratio, Some(1.0));
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

    fn with_p90(run: &mut RunRecord, p90: impl Fn(f64) -> f64) {
        for (i, row) in run.timeline.iter_mut().enumerate() {
            row.p90_ms = Some(p90(i as f64));
        }
    }

    #[test]
    fn latency_that_climbs_towards_the_objective_is_a_rising_trend() {
        let mut run = measured();
        with_p90(&mut run, |i| 22.0 + 15.0 * i);
        let v = judged(&run);
        assert!(v.latency_trend.rising, "{:?}", v.latency_trend);
        assert!(!v.pass);
        assert_eq!(v.latency_trend.n, 5, "one point per second of the window");
        assert!((v.latency_trend.slope_per_s - 15.0).abs() < 1e-9);
        // +75 ms over 5 s against the 75.6 ms left under p99<100ms.
        assert!(
            v.reasons
                .iter()
                .any(|r| r.contains("+75.0 ms over the step's 5 s")
                    && r.contains("75.6 ms left under p99<100ms")),
            "{:?}",
            v.reasons
        );
        // A small rise counts when little is left under the objective: p99 at 90 ms of
        // 100, +1 ms/s uses 5 of the 10 ms left.
        let mut run = measured();
        run.slo[0].value = Some(90.0);
        with_p90(&mut run, |i| 85.0 + i);
        assert!(judged(&run).latency_trend.rising);
    }

    #[test]
    fn a_partial_last_second_is_left_out_of_the_trend() {
        let mut run = measured();
        let mut partial = run.timeline[4].clone();
        partial.t_s = 5;
        partial.length_s = 0.3;
        partial.p90_ms = Some(500.0);
        run.timeline.push(partial);
        let (trend, reason) = trend(&run, 5.0);
        assert_eq!(trend.n, 5);
        assert!(!trend.rising && reason.is_none(), "{trend:?}");
        // Rows beyond the window (a longer record judged over a shorter one) too.
        assert_eq!(super::trend(&run, 3.0).0.n, 3);
    }

    /// Measured against `python3 -m http.server`: p90 rising 0.66 ms/s (p = 0.008) with
    /// p99 at 3 ms under a 50 ms objective is detectable and irrelevant.
    #[test]
    fn a_significant_rise_that_cannot_matter_for_the_objective_passes() {
        let mut run = measured();
        run.slo[0].expr = "p99<50ms".to_string();
        run.slo[0].threshold = 50.0;
        run.slo[0].value = Some(2.99);
        with_p90(&mut run, |i| 1.4 + 0.66 * i);
        let v = judged(&run);
        assert!(
            v.latency_trend.p_value < TREND_ALPHA,
            "{:?}",
            v.latency_trend
        );
        assert!((v.latency_trend.slope_per_s - 0.66).abs() < 1e-9);
        assert!(!v.latency_trend.rising, "{:?}", v.reasons);
        assert!(v.reasons.is_empty(), "{:?}", v.reasons);
    }

    #[test]
    fn without_a_latency_objective_a_rise_is_judged_against_the_latency_itself() {
        let mut run = measured();
        run.slo.remove(0);
        with_p90(&mut run, |i| 22.0 + 0.2 * i);
        assert!(!judged(&run).latency_trend.rising);
        with_p90(&mut run, |i| 22.0 + 5.0 * i);
        let v = judged(&run);
        assert!(v.latency_trend.rising);
        assert!(
            v.reasons.iter().any(|r| r.contains("no latency objective")),
            "{:?}",
            v.reasons
        );
    }

    /// 6,400/s asked of a server answering in 80 µs: 0.51 requests in flight, exactly as
    /// throughput × mean latency says.
    fn sub_millisecond() -> RunRecord {
        let mut run = measured();
        run.requests.total = 32_000;
        run.requests.ok = 32_000;
        run.latency_ms.count = 32_000;
        run.latency_ms.mean = 0.08;
        run.latency_ms.max = 1.2;
        run.throughput_rps = 6_400.0;
        run.in_flight_mean = 0.514;
        run
    }

    #[test]
    fn littles_law_holds_for_a_healthy_sub_millisecond_step() {
        let run = sub_millisecond();
        let law = littles_law(&run, 5.0);
        assert!((law.expected - 0.512).abs() < 1e-9, "{law:?}");
        assert!(law.holds, "{law:?}");
        let v = judge(&run, &asked(6_400.0));
        assert!(v.trusted && v.pass, "{:?}", v.reasons);
    }

    #[test]
    fn littles_law_fails_when_time_in_flight_is_not_in_the_latencies() {
        // Half the requests lost: in flight, never counted.
        let mut lost = sub_millisecond();
        lost.requests.total = 16_000;
        lost.requests.ok = 16_000;
        lost.latency_ms.count = 16_000;
        lost.throughput_rps = 3_200.0;
        let v = judge(&lost, &asked(3_200.0));
        assert!(!v.trusted && !v.pass && !v.littles_law.holds);
        assert!(
            v.reasons.iter().any(|r| r
                .starts_with("Little's law does not hold: 0.51 requests were in flight")
                && r.contains("account for 0.26")),
            "{:?}",
            v.reasons
        );
        // Latency measured from the send instead of the intended start: the queueing wait
        // (here two thirds of each request's time) is missing from it.
        let mut late_origin = measured();
        late_origin.latency_ms.mean /= 3.0;
        let v = judged(&late_origin);
        assert!(!v.trusted && !v.pass, "{:?}", v.littles_law);
        // A sampled in-flight figure biased low (0.03 against 0.51) fails the other way.
        let mut sampled = sub_millisecond();
        sampled.in_flight_mean = 0.03;
        let v = judge(&sampled, &asked(6_400.0));
        assert!(!v.trusted, "{:?}", v.littles_law);
        assert!(
            v.reasons.iter().any(|r| r.contains("but only 0.03 were")),
            "{:?}",
            v.reasons
        );
    }

    /// Measured: 15,194/s asked of the in-process server, a stall just before the window
    /// opened: 179.1 requests in flight against 87.5 from the latencies (p99 29.9 ms,
    /// slowest 115.6 ms, 1 s window). The warm-up's backlog straddling the start explains it.
    #[test]
    fn a_backlog_straddling_the_window_start_is_an_edge_not_a_loss() {
        let mut run = sub_millisecond();
        run.requests.total = 15_194;
        run.latency_ms.count = 15_194;
        run.latency_ms.mean = 5.7586;
        run.latency_ms.max = 115.647;
        run.in_flight_mean = 179.1;
        let law = littles_law(&run, 1.0);
        assert!((law.expected - 87.496).abs() < 0.01, "{law:?}");
        assert!(law.holds, "{law:?}");
        // Without a slow request to explain it, the same excess is time no latency holds.
        run.latency_ms.max = 20.0;
        assert!(!littles_law(&run, 1.0).holds);
    }

    #[test]
    fn requests_without_a_latency_widen_what_littles_law_allows() {
        // 20 timeouts of 10 s in a 5 s window may each have been in flight all of it.
        let mut run = measured();
        run.requests.total += 20;
        run.requests.errors = 20;
        run.in_flight_mean += 20.0;
        assert!(littles_law(&run, 5.0).holds);
        run.in_flight_mean += 5.0;
        assert!(!littles_law(&run, 5.0).holds);
    }

    #[test]
    fn a_saturated_generator_is_not_trusted() {
        let mut run = measured();
        run.generator.saturated = true;
        let v = judged(&run);
        assert!(!v.trusted && !v.pass && v.generator_saturated);
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
