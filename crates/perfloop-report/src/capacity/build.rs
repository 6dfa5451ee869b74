//! From the steps a capacity search measured, and what the search decided about them (each
//! step's verdict, the bracket of passing and failing rates, the knee, the sweep's fit), to
//! a [`CapacityRecord`]: the result — the throughput measured at the highest passing step,
//! what bounded the search, a sweep step that sustained more — the warnings and the notes,
//! one sentence each. The findings are the diagnosis's to add.

use std::time::{Duration, SystemTime};

use super::{
    CAPACITY_SCHEMA, CapacityRecord, CapacityResult, CapacityTarget, EndpointBreak, Knee,
    SearchEnding, SearchSettings, Step, StepKind, Sweep, SweepAbove, SweepBelow,
};

/// Where the rate search left the boundary between passing and failing rates.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct RateBracket {
    /// The highest asked rate that passed.
    pub passing: Option<f64>,
    /// The lowest asked rate that failed.
    pub failing: Option<f64>,
    /// The failing rate is within the resolution above the passing one.
    pub resolved: bool,
    /// Every step up to the maximum rate passed.
    pub reached_max: bool,
}

/// Everything a capacity record is made from.
#[derive(Debug, Clone)]
pub struct CapacityInput {
    /// When the search began (wall clock).
    pub started_at: SystemTime,
    /// Wall time the whole search took.
    pub elapsed: Duration,
    /// What was measured.
    pub target: CapacityTarget,
    /// How the search was run.
    pub settings: SearchSettings,
    /// Every step in the order measured, each with its verdict.
    pub steps: Vec<Step>,
    /// Why the search ended.
    pub ending: SearchEnding,
    /// The rate search's bracket.
    pub bracket: RateBracket,
    /// The knee of the latency curve over the rate steps, if there is one.
    pub knee: Option<Knee>,
    /// The concurrency sweep with its fit, when one was asked for.
    pub sweep: Option<Sweep>,
    /// What the reader should know that changes no figure, one sentence each.
    pub notes: Vec<String>,
}

impl CapacityRecord {
    /// Assembles the record of a search; its findings are left empty for the diagnosis.
    pub fn build(input: CapacityInput) -> CapacityRecord {
        let CapacityInput {
            started_at,
            elapsed,
            target,
            settings,
            steps,
            ending,
            bracket,
            knee,
            sweep,
            notes,
        } = input;
        let result = result(&bracket, &steps, ending, &settings, knee);
        let warnings = stopper(&steps)
            .filter(|st| !st.verdict.trusted)
            .map(|st| {
                format!(
                    "step {} ({}/s), which stopped the rate search, was not trusted ({}): the \
                     target may sustain more than the result says",
                    st.index,
                    format_rate(st.offered),
                    st.verdict.reasons.join("; ")
                )
            })
            .into_iter()
            .collect();
        CapacityRecord {
            schema: CAPACITY_SCHEMA.to_string(),
            perfloop_version: env!("CARGO_PKG_VERSION").to_string(),
            started_at: humantime::format_rfc3339_seconds(started_at).to_string(),
            elapsed_s: elapsed.as_secs_f64(),
            target,
            settings,
            steps,
            result,
            sweep,
            findings: Vec::new(),
            ending,
            warnings,
            notes,
        }
    }
}

/// A rate for a sentence: `50`, `1131.4`.
pub fn format_rate(r: f64) -> String {
    if (r - r.round()).abs() < 0.05 {
        format!("{r:.0}")
    } else {
        format!("{r:.1}")
    }
}

/// The rate step that stopped the search: the lowest asked rate that failed. Untrusted
/// failing steps above it were meant to overload the target and change no figure.
fn stopper(steps: &[Step]) -> Option<&Step> {
    steps
        .iter()
        .filter(|st| st.kind != StepKind::Sweep && !st.verdict.pass)
        .min_by(|a, b| a.offered.total_cmp(&b.offered))
}

/// The sweep step that sustained the most within the objectives, when that is more than
/// the rate search's maximum by more than its resolution, and why the search stopped below.
fn sweep_above(
    steps: &[Step],
    search_rps: Option<f64>,
    bounded_by: &str,
    resolution: f64,
) -> Option<SweepAbove> {
    let top = steps
        .iter()
        .filter(|st| st.kind == StepKind::Sweep && st.verdict.pass)
        .max_by(|a, b| a.run.throughput_rps.total_cmp(&b.run.throughput_rps))?;
    let rps = top.run.throughput_rps;
    if search_rps.is_some_and(|s| rps <= s * (1.0 + resolution)) {
        return None;
    }
    let stopped = stopper(steps);
    let why = match stopped {
        Some(st) => format!(
            "the rate search stopped at step {} ({}/s): {}",
            st.index,
            format_rate(st.offered),
            st.verdict.reasons.join("; ")
        ),
        None => format!("the rate search ended: {bounded_by}"),
    };
    Some(SweepAbove {
        step: top.index,
        concurrency: top.offered as u64,
        throughput_rps: rps,
        p99_ms: top.run.latency_ms.p99,
        search_stopped_at: stopped.map(|st| st.index),
        why,
    })
}

/// The rate search's best step, when it sustained more than every passing sweep step by
/// more than the resolution: the sweep's best, and what the sweep measured at the
/// concurrencies around the search step's requests in flight.
fn sweep_below(steps: &[Step], best: Option<&Step>, resolution: f64) -> Option<SweepBelow> {
    let best = best?;
    let sweep: Vec<&Step> = steps
        .iter()
        .filter(|st| st.kind == StepKind::Sweep && st.verdict.pass)
        .collect();
    let top = sweep
        .iter()
        .max_by(|a, b| a.run.throughput_rps.total_cmp(&b.run.throughput_rps))?;
    if best.run.throughput_rps <= top.run.throughput_rps * (1.0 + resolution) {
        return None;
    }
    let in_flight = best.verdict.littles_law.in_flight;
    let point = |st: &Step| {
        format!(
            "{} connections {} req/s (p50 {} ms)",
            st.offered as u64,
            format_rate(st.run.throughput_rps),
            format_rate(st.run.latency_ms.p50)
        )
    };
    let below = sweep
        .iter()
        .filter(|st| st.offered <= in_flight)
        .max_by(|a, b| a.offered.total_cmp(&b.offered));
    let above = sweep
        .iter()
        .filter(|st| st.offered > in_flight)
        .min_by(|a, b| a.offered.total_cmp(&b.offered));
    let p50 = best.run.latency_ms.p50;
    let slower = |st: &Step| st.run.latency_ms.p50 > p50;
    let around = match (below, above) {
        (Some(lo), Some(hi)) => {
            let mut text = format!(
                "the sweep measured {} and {}, no concurrency between",
                point(lo),
                point(hi)
            );
            if slower(lo) || slower(hi) {
                text.push_str(
                    ": with a fixed number of connections always waiting the target answered \
                     slower than under the search's steady arrivals",
                );
            }
            text
        }
        (Some(st), None) => format!(
            "the sweep went up to {} only, fewer connections than that: a sweep to more \
             connections would measure the closed model there",
            point(st)
        ),
        (None, Some(st)) => format!(
            "the sweep began at {}, more connections than that",
            point(st)
        ),
        (None, None) => "no sweep step passed".to_string(),
    };
    Some(SweepBelow {
        step: top.index,
        concurrency: top.offered as u64,
        throughput_rps: top.run.throughput_rps,
        search_step: best.index,
        search_in_flight: in_flight,
        why: format!(
            "at the search's step {} the target answered {} req/s in p50 {} ms with {:.1} \
             requests in flight on average; {around}",
            best.index,
            format_rate(best.run.throughput_rps),
            format_rate(p50),
            in_flight
        ),
    })
}

/// The outcome of the rate search: the maximum sustainable throughput is the throughput
/// measured at the highest passing rate step, never a figure the search did not measure.
fn result(
    bracket: &RateBracket,
    steps: &[Step],
    ending: SearchEnding,
    s: &SearchSettings,
    knee: Option<Knee>,
) -> CapacityResult {
    let rate_steps: Vec<&Step> = steps
        .iter()
        .filter(|st| st.kind != StepKind::Sweep)
        .collect();
    let best = rate_steps
        .iter()
        .filter(|st| st.verdict.pass)
        .max_by(|a, b| a.offered.total_cmp(&b.offered));
    let bounded_by = match ending {
        SearchEnding::FailedAtStart => {
            let why = rate_steps
                .first()
                .and_then(|st| st.verdict.reasons.first())
                .map_or(String::new(), |r| format!(": {r}"));
            format!("the first step, at {}/s, already failed{why}", s.start_rate)
        }
        SearchEnding::MaxTime => format!(
            "--max-time ({:.0} s) ran out before the search resolved",
            s.max_time_s
        ),
        SearchEnding::Interrupted => "the search was interrupted".to_string(),
        SearchEnding::Failed => "a step could not be measured".to_string(),
        SearchEnding::TargetDied => "the target exited during the search".to_string(),
        SearchEnding::Unreachable => "the target could not be reached".to_string(),
        SearchEnding::Completed if bracket.reached_max => format!(
            "every step up to --max-rate {}/s passed",
            s.max_rate.unwrap_or_default()
        ),
        SearchEnding::Completed => format!(
            "the failing rate is within {:.1} % of the passing one (resolution {:.1} %)",
            match (bracket.passing, bracket.failing) {
                (Some(lo), Some(hi)) => (hi / lo - 1.0) * 100.0,
                _ => 0.0,
            },
            s.resolution * 100.0
        ),
    };
    let max_sustainable_rps = best.map(|st| st.run.throughput_rps);
    CapacityResult {
        first_broken_endpoint: first_broken_endpoint(&rate_steps),
        sweep_above: sweep_above(steps, max_sustainable_rps, &bounded_by, s.resolution),
        sweep_below: sweep_below(steps, best.copied(), s.resolution),
        max_sustainable_rps,
        max_passing_rate: best.map(|st| st.offered),
        max_passing_step: best.map(|st| st.index),
        min_failing_rate: bracket.failing,
        resolved: bracket.resolved,
        knee,
        bounded_by,
    }
}

/// The endpoint that broke an objective at the lowest rate where one did.
fn first_broken_endpoint(rate_steps: &[&Step]) -> Option<EndpointBreak> {
    let mut by_rate: Vec<&&Step> = rate_steps.iter().collect();
    by_rate.sort_by(|a, b| a.offered.total_cmp(&b.offered));
    by_rate.into_iter().find_map(|st| {
        let mut breaches = st.run.endpoint_breaches().into_iter();
        let breach = breaches.next()?;
        let mut others: Vec<String> = Vec::new();
        for b in breaches {
            if b.endpoint != breach.endpoint && !others.contains(&b.endpoint) {
                others.push(b.endpoint);
            }
        }
        Some(EndpointBreak {
            step: st.index,
            rate: st.offered,
            breach,
            others,
        })
    })
}
