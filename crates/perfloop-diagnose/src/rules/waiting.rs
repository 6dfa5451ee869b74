//! `waiting` (critical): throughput stops growing while the target's CPU idles.
//!
//! Compares two steps of the rate curve (see [`crate::search`]): the lower one `L`, the
//! highest passing step (the lowest step when nothing passed), and the upper one `U`, the
//! highest offered. It fires when all of these hold:
//!
//! - **a plateau:** offered load grew by at least [`MIN_OFFERED_GROWTH`] (20 %) from `L` to
//!   `U` but throughput by less than [`MAX_THROUGHPUT_GROWTH`] (10 %). The offered growth is
//!   twice the throughput bound so that noise and the bisection's resolution (5 % by
//!   default) cannot make a plateau;
//! - **latency rising:** p99 or p50 at `U` is at least [`LATENCY_GROWTH`] (1.5 ×) that at `L`
//!   and at least [`MIN_LATENCY_RISE_MS`] (1 ms) higher: requests queue;
//! - **idle CPU** at `U` and, when it was watched, at `L`: the target used less than
//!   [`MAX_TARGET_SHARE`] (50 %) of the machine, its busiest thread less than
//!   [`MAX_TOP_THREAD_PCT`] (60 %) of a core.
//!
//! Critical, or a warning when the host was at least 90 % busy at `U`: other processes
//! may then have starved the target of CPU, which also looks like waiting from outside,
//! and the finding says so.
//!
//! Saturation with idle CPU means requests wait for something that is not a core: a lock, a
//! pool (worker threads, database or HTTP connections) or a downstream call. The CPU bound is
//! relative to the machine rather than an absolute per-core figure because a target behind a
//! lock can keep one core busy spread over many threads and still be waiting: its limit is
//! the lock, not the CPU. The CPU conditions exclude both CPU-bound cases by a margin:
//! `cpu_machine` needs 80 % of the machine (or a 90 % busy host), `cpu_one_thread` a thread at
//! 85 %. Without target figures the rule cannot rule out CPU and stays silent.

use perfloop_report::{Finding, Severity};

use crate::rules::cpu_machine::HOST_BUSY_PCT;
use crate::search::{Point, Search, TargetFigures, machine_share};
use crate::strategy;
use crate::text::{evidence, num, pct};

/// The rule's identifier.
pub(crate) const RULE: &str = "waiting";

/// Offered load must grow at least this much (fraction) from the lower to the upper step.
pub(crate) const MIN_OFFERED_GROWTH: f64 = 0.20;

/// Throughput growing less than this (fraction) over the same steps is a plateau.
pub(crate) const MAX_THROUGHPUT_GROWTH: f64 = 0.10;

/// So is throughput that took up less than this share of the offered load's growth: a
/// highest passing step found a little below the plateau (a bisection step that fell
/// short of its rate) must not hide it (offered +160 %, throughput +10.3 %).
pub(crate) const MAX_RESPONSE_SHARE: f64 = 0.10;

/// p99 or p50 must grow by at least this factor...
pub(crate) const LATENCY_GROWTH: f64 = 1.5;

/// ...and by at least this many milliseconds.
pub(crate) const MIN_LATENCY_RISE_MS: f64 = 1.0;

/// The target's share of the machine below which its CPU is idle.
pub(crate) const MAX_TARGET_SHARE: f64 = 0.50;

/// The busiest thread's CPU, % of one core, below which no thread is saturated.
pub(crate) const MAX_TOP_THREAD_PCT: f64 = 60.0;

/// See the module documentation.
pub(crate) fn waiting(search: &Search<'_>) -> Option<Finding> {
    let curve = search.rate_curve();
    let lower = curve
        .iter()
        .rposition(|p| p.pass)
        .map_or_else(|| curve.first().copied(), |i| Some(curve[i]))?;
    let upper = *curve.last()?;
    if upper.offered <= lower.offered || lower.offered <= 0.0 || lower.run.throughput_rps <= 0.0 {
        return None;
    }
    let offered_growth = upper.offered / lower.offered - 1.0;
    let throughput_growth = upper.run.throughput_rps / lower.run.throughput_rps - 1.0;
    let plateau = throughput_growth < MAX_THROUGHPUT_GROWTH
        || throughput_growth < MAX_RESPONSE_SHARE * offered_growth;
    if offered_growth < MIN_OFFERED_GROWTH || !plateau {
        return None;
    }
    let (lat_l, lat_u) = (&lower.run.latency_ms, &upper.run.latency_ms);
    let rose = |l: f64, u: f64| u >= LATENCY_GROWTH * l && u - l >= MIN_LATENCY_RISE_MS;
    if !(rose(lat_l.p99, lat_u.p99) || rose(lat_l.p50, lat_u.p50)) {
        return None;
    }
    let upper_cpu = upper.target()?;
    if !idle(&upper_cpu) || lower.target().is_some_and(|s| !idle(&s)) {
        return None;
    }

    let share = machine_share(&upper_cpu);
    let host_busy = upper_cpu.host_cpu_pct_mean >= HOST_BUSY_PCT;
    let mut text = format!(
        "From step {} to step {} the offered load grew {} ({} → {} req/s) but throughput only \
         {} ({} → {} req/s), while p99 latency went from {} to {} ms (p50 {} → {} ms). Yet \
         the target used {} % of one core ({} of the machine's {} cores) and its busiest \
         thread {} %: requests queue for something other than CPU — a lock, a pool (worker \
         threads, database or HTTP connections) or a downstream call.",
        lower.index,
        upper.index,
        pct(offered_growth),
        num(lower.offered),
        num(upper.offered),
        pct(throughput_growth),
        num(lower.run.throughput_rps),
        num(upper.run.throughput_rps),
        num(lat_l.p99),
        num(lat_u.p99),
        num(lat_l.p50),
        num(lat_u.p50),
        num(upper_cpu.cpu_pct_mean),
        pct(share),
        upper_cpu.cores,
        num(upper_cpu.top_thread_cpu_pct_mean),
    );
    let switches = voluntary_switches_per_request(upper, &upper_cpu);
    if let Some(v) = switches.filter(|v| *v >= 1.0) {
        text.push_str(&format!(
            " The target blocked (switched context voluntarily) {} times per request.",
            num(v)
        ));
    }

    if host_busy {
        text.push_str(&format!(
            " The host was {} % busy at step {}, though: other processes may have starved the \
             target of CPU, which looks the same from outside; measure again on a quieter \
             machine to be sure.",
            num(upper_cpu.host_cpu_pct_mean),
            upper.index
        ));
    }
    let (l, u) = (Some(lower.index), Some(upper.index));
    let mut rows = vec![
        evidence("offered load", lower.offered, "req/s", l),
        evidence("offered load", upper.offered, "req/s", u),
        evidence("throughput", lower.run.throughput_rps, "req/s", l),
        evidence("throughput", upper.run.throughput_rps, "req/s", u),
        evidence("p99 latency", lat_l.p99, "ms", l),
        evidence("p99 latency", lat_u.p99, "ms", u),
        evidence("p50 latency", lat_l.p50, "ms", l),
        evidence("p50 latency", lat_u.p50, "ms", u),
        evidence("target CPU, % of one core", upper_cpu.cpu_pct_mean, "%", u),
        evidence(
            "target busiest thread CPU, mean",
            upper_cpu.top_thread_cpu_pct_mean,
            "%",
            u,
        ),
        evidence("cores", f64::from(upper_cpu.cores), "", u),
        evidence("host CPU busy", upper_cpu.host_cpu_pct_mean, "%", u),
        evidence("requests in flight, mean", upper.run.in_flight_mean, "", u),
    ];
    if let Some(v) = switches {
        rows.push(evidence("voluntary context switches per request", v, "", u));
    }
    Some(Finding {
        rule: RULE.to_owned(),
        severity: if host_busy {
            Severity::Warning
        } else {
            Severity::Critical
        },
        title: "The target waits: throughput is flat while its CPU idles".to_owned(),
        summary: text,
        evidence: rows,
        recommendations: vec![
            strategy::CONNECTION_POOL.advise(format!(
                "If requests wait for database or HTTP-client connections, size the pool to \
                 the concurrency: about {} requests were in flight at step {}, and a pool of \
                 N connections caps throughput at N divided by the time each is held.",
                num(upper.run.in_flight_mean),
                upper.index,
            )),
            strategy::THREAD_POOL.advise(
                "If a fixed pool of worker threads blocks on I/O, enlarge it (blocked threads \
                 cost no CPU) or stop blocking them.",
            ),
            strategy::SHORT_TRANSACTIONS.advise(
                "If a lock or a transaction serialises requests, hold it for less time: do the \
                 I/O and the computing outside it.",
            ),
            strategy::ASYNC_IO.advise(
                "Waiting for a downstream service on a thread per request caps concurrency at \
                 the thread count: non-blocking I/O lets a few threads wait for many requests.",
            ),
            strategy::PARALLEL_CALLS.advise(
                "If a request calls several services one after another, call the independent \
                 ones in parallel: it then holds its thread or connection for less time.",
            ),
            strategy::TRACING.advise(
                "Trace a slow request through its downstream calls to find where it waits.",
            ),
        ],
    })
}

/// The target's CPU is idle by the rule's two conditions.
fn idle(summary: &TargetFigures) -> bool {
    machine_share(summary) < MAX_TARGET_SHARE
        && summary.top_thread_cpu_pct_mean < MAX_TOP_THREAD_PCT
}

/// The target's voluntary context switches per completed request.
fn voluntary_switches_per_request(point: &Point<'_>, summary: &TargetFigures) -> Option<f64> {
    let total = point.run.requests.total;
    (total > 0 && summary.ctx_voluntary_total > 0)
        .then(|| summary.ctx_voluntary_total as f64 / total as f64)
}
