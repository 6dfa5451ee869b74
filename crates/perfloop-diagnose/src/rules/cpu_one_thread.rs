//! `cpu_one_thread` (critical): one thread is saturated while the machine idles.
//!
//! Fires when, at a step near the limit (see [`crate::search`]) that watched a target, the
//! target's busiest thread averaged at least [`TOP_THREAD_PCT`] (85 %) of a core while the
//! whole target used less than [`MAX_TARGET_SHARE`] (60 %) of the machine
//! (`cores × 100 %`). A thread cannot use more than one core, and like the machine it never
//! averages 100 % over a step, so 85 % is a saturated thread; 60 % of the machine leaves
//! cores idle, so the ceiling is that thread: a serial hot path (a single event loop or
//! worker, a CPU-heavy critical section, a single-threaded stage). The two conditions also
//! keep the rule apart from `cpu_machine` (≥ 80 % of the machine) and from `waiting` (the
//! busiest thread below 60 %); a target that waits has no busy thread and never fires it.
//!
//! On a busy host (at least 90 % of the machine) a saturated thread gets less than a core:
//! other processes take turns on it. There the rule also fires for a thread at
//! [`CONTENDED_THREAD_PCT`] (60 %) or more that carries at least [`SERIAL_SHARE`] (80 %) of
//! the whole target's CPU: the work is on one thread, and that thread runs whenever the
//! host lets it.

use perfloop_report::{Finding, Severity};

use crate::search::{Search, TargetFigures, machine_share};
use crate::strategy;
use crate::text::{evidence, num, pct};

/// The rule's identifier.
pub(crate) const RULE: &str = "cpu_one_thread";

/// The busiest thread's mean CPU, % of one core, from which it is saturated.
pub(crate) const TOP_THREAD_PCT: f64 = 85.0;

/// The target's share of the machine below which cores are left idle.
pub(crate) const MAX_TARGET_SHARE: f64 = 0.60;

/// On a busy host: the busiest thread's CPU from which it counts as saturated...
pub(crate) const CONTENDED_THREAD_PCT: f64 = 60.0;

/// ...when it carries at least this share of the target's CPU.
pub(crate) const SERIAL_SHARE: f64 = 0.80;

/// The busiest thread is saturated, by the rules of the module documentation.
fn saturated_thread(s: &TargetFigures) -> bool {
    let top = s.top_thread_cpu_pct_mean;
    let contended = s.host_cpu_pct_mean >= crate::rules::cpu_machine::HOST_BUSY_PCT
        && top >= CONTENDED_THREAD_PCT
        && s.cpu_pct_mean > 0.0
        && top / s.cpu_pct_mean >= SERIAL_SHARE;
    top >= TOP_THREAD_PCT || contended
}

/// See the module documentation.
pub(crate) fn cpu_one_thread(search: &Search<'_>) -> Option<Finding> {
    let (point, summary) = search
        .near_limit()
        .into_iter()
        .filter_map(|p| p.target().map(|s| (p, s)))
        .filter(|(_, s)| saturated_thread(s) && machine_share(s) < MAX_TARGET_SHARE)
        .max_by(|a, b| {
            a.1.top_thread_cpu_pct_mean
                .total_cmp(&b.1.top_thread_cpu_pct_mean)
        })?;
    let share = machine_share(&summary);
    let step = Some(point.index);
    let text = format!(
        "At step {} ({} req/s offered, {} req/s served) the target's busiest thread ran at \
         {} % of a core (peak {} %) while the whole target used {} % of one core, {} of the \
         machine's {} cores: one thread is saturated and the other cores wait for it, so a \
         serial path (one event loop or worker, a CPU-heavy critical section) bounds \
         throughput.",
        point.index,
        num(point.offered),
        num(point.run.throughput_rps),
        num(summary.top_thread_cpu_pct_mean),
        num(summary.top_thread_cpu_pct_max),
        num(summary.cpu_pct_mean),
        pct(share),
        summary.cores,
    );
    let text = if summary.top_thread_cpu_pct_mean < TOP_THREAD_PCT {
        format!(
            "{text} The host was {} % busy, so the thread got less than a whole core.",
            num(summary.host_cpu_pct_mean)
        )
    } else {
        text
    };
    Some(Finding {
        rule: RULE.to_owned(),
        severity: Severity::Critical,
        title: "One thread is CPU-bound: a serial hot path limits throughput".to_owned(),
        summary: text,
        evidence: vec![
            evidence(
                "target busiest thread CPU, mean",
                summary.top_thread_cpu_pct_mean,
                "%",
                step,
            ),
            evidence(
                "target busiest thread CPU, peak",
                summary.top_thread_cpu_pct_max,
                "%",
                step,
            ),
            evidence("target CPU, % of one core", summary.cpu_pct_mean, "%", step),
            evidence("target CPU, share of the machine", share * 100.0, "%", step),
            evidence("cores", f64::from(summary.cores), "", step),
            evidence("host CPU busy", summary.host_cpu_pct_mean, "%", step),
            evidence("throughput", point.run.throughput_rps, "req/s", step),
        ],
        recommendations: vec![
            strategy::THREAD_POOL.advise(format!(
                "Spread the work over more threads: run several workers or event loops (up \
                 to one per core, {} here) instead of one.",
                summary.cores
            )),
            strategy::EFFICIENT_ALGORITHMS.advise(
                "Profile that thread (per-thread CPU samples): every microsecond cut from the \
                 serial path raises the ceiling directly.",
            ),
            strategy::ASYNC_PROCESSING.advise(
                "Move work that need not happen in line (logging, metrics, writes, \
                 notifications) off the saturated thread.",
            ),
            strategy::SHORT_TRANSACTIONS.advise(
                "If the thread holds a global lock or transaction while it computes, shorten \
                 the critical section so that other threads can share the work.",
            ),
        ],
    })
}
