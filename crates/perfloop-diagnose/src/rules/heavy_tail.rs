//! `heavy_tail` (warning): at sustainable load a few requests wait far longer than the
//! typical one.
//!
//! Fires when a valid passing step (any kind) has p99 at least [`TAIL_RATIO`] (5 ×) its
//! p50 and at least [`MIN_P99_MS`] (5 ms). Most handlers do similar work for every request,
//! so their latency spreads by a factor of 2–3 from the median to p99; 5 × or more, close to
//! the ln 100 / ln 2 ≈ 6.6 of an exponential distribution (as irregular as service gets
//! without outside delays), means some requests wait for something the typical one does not
//! meet. The floor keeps out sub-millisecond services, whose ratios are inflated by
//! scheduling jitter. The worst step (largest ratio) is reported, with the likely causes
//! ranked by the evidence at that step:
//!
//! - **CPU contention**: the host at least [`BUSY_HOST_PCT`] (70 %) busy, or the target
//!   preempted at least [`PREEMPTIONS_PER_S`] (100) times a second: an uncontended thread is
//!   rarely preempted, and each preemption costs a scheduler slice of milliseconds;
//! - **timeouts and retries**: timeout errors at the step;
//! - **pauses** (GC, allocation, compaction, log flushes): the maximum at least
//!   [`STALL_RATIO`] (10 ×) p99, rare stalls far beyond the tail;
//! - **queueing at a pool or a lock**, always a candidate: short waits for a slot make the
//!   tail without showing on any counter.

use perfloop_report::{Finding, Recommendation, Severity};

use crate::search::{Point, Search};
use crate::strategy;
use crate::text::{evidence, num, steps};

/// The rule's identifier.
pub(crate) const RULE: &str = "heavy_tail";

/// p99 over p50 from which the tail is heavy.
pub(crate) const TAIL_RATIO: f64 = 5.0;

/// Least p99, ms.
pub(crate) const MIN_P99_MS: f64 = 5.0;

/// Host CPU busy, % of the machine, from which CPU contention is a likely cause.
pub(crate) const BUSY_HOST_PCT: f64 = 70.0;

/// Involuntary context switches of the target per second from which it is a likely cause.
pub(crate) const PREEMPTIONS_PER_S: f64 = 100.0;

/// Maximum over p99 from which pauses are a likely cause.
pub(crate) const STALL_RATIO: f64 = 10.0;

/// See the module documentation.
pub(crate) fn heavy_tail(search: &Search<'_>) -> Option<Finding> {
    let tail = |p: &Point<'_>| p.run.latency_ms.p99 / p.run.latency_ms.p50;
    let hits: Vec<&Point<'_>> = search
        .valid()
        .filter(|p| p.pass && p.run.latency_ms.count > 0 && p.run.latency_ms.p50 > 0.0)
        .filter(|p| tail(p) >= TAIL_RATIO && p.run.latency_ms.p99 >= MIN_P99_MS)
        .collect();
    let worst = *hits.iter().max_by(|a, b| tail(a).total_cmp(&tail(b)))?;
    let latency = &worst.run.latency_ms;
    let step = Some(worst.index);
    let mut rows = vec![
        evidence("p50 latency", latency.p50, "ms", step),
        evidence("p99 latency", latency.p99, "ms", step),
        evidence("p99 over p50", tail(worst), "", step),
        evidence("max latency", latency.max, "ms", step),
        evidence("throughput", worst.run.throughput_rps, "req/s", step),
    ];

    let mut likely: Vec<String> = Vec::new();
    let mut recs: Vec<Recommendation> = Vec::new();
    if let Some(host) = worst.host() {
        let preemptions = worst
            .target()
            .filter(|s| s.duration_s > 0.0)
            .map(|s| s.ctx_involuntary_total as f64 / s.duration_s);
        if host.host_cpu_pct_mean >= BUSY_HOST_PCT
            || preemptions.is_some_and(|p| p >= PREEMPTIONS_PER_S)
        {
            likely.push(format!(
                "CPU contention (host {} % busy{})",
                num(host.host_cpu_pct_mean),
                preemptions
                    .map(|p| format!(", the target preempted {} times a second", num(p)))
                    .unwrap_or_default()
            ));
            rows.push(evidence("host CPU busy", host.host_cpu_pct_mean, "%", step));
            if let Some(p) = preemptions {
                rows.push(evidence(
                    "target involuntary context switches per second",
                    p,
                    "/s",
                    step,
                ));
            }
            recs.push(strategy::FIND_THE_BOTTLENECK.advise(
                "Threads waited for a core: keep the load generator and other busy processes \
                 off the target's cores before tuning the target's tail.",
            ));
        }
    }
    let timeouts = worst
        .run
        .requests
        .errors_by_kind
        .get("timeout")
        .copied()
        .unwrap_or(0);
    if timeouts > 0 {
        likely.push(format!(
            "timeouts and retries ({timeouts} requests timed out)"
        ));
        rows.push(evidence("timeout errors", timeouts as f64, "", step));
        recs.push(strategy::DEGRADATION.advise(
            "Bound downstream waits with short timeouts and a circuit breaker, and retry at \
             most once with a budget, so that a slow dependency does not stretch the tail.",
        ));
    }
    let stalls = latency.p99 > 0.0 && latency.max >= STALL_RATIO * latency.p99;
    if stalls {
        likely.push(format!(
            "pauses (the slowest request took {} ms, {} × p99): GC, allocation or log flushes",
            num(latency.max),
            num(latency.max / latency.p99)
        ));
    }
    likely.push("queueing for a pool slot or a lock".to_owned());
    recs.push(strategy::THREAD_POOL.advise(
        "Size worker and connection pools so that requests do not wait for a slot at this \
         load; a short wait for a few requests is what a heavy tail looks like.",
    ));
    recs.push(strategy::CONNECTION_POOL.advise(
        "Check the connection pools' wait times at this load: a pool that is briefly empty \
         delays only some requests.",
    ));
    if !stalls {
        likely.push("GC or allocation pauses".to_owned());
    }
    recs.push(strategy::RUNTIME_TUNING.advise(
        "If the runtime collects garbage, check its pause times at this load: a larger heap \
         or a low-pause collector shortens stop-the-world pauses.",
    ));

    let indices: Vec<usize> = hits.iter().map(|p| p.index).collect();
    let text = format!(
        "At {} that passed, p99 latency was at least {} × p50; the worst is step {} ({} {}): \
         p50 {} ms, p99 {} ms ({} ×), max {} ms. A few requests wait far longer than the \
         typical one. Likely causes, most supported first: {}.",
        steps(&indices),
        num(TAIL_RATIO),
        worst.index,
        num(worst.offered),
        if worst.is_rate() {
            "req/s offered"
        } else {
            "connections"
        },
        num(latency.p50),
        num(latency.p99),
        num(tail(worst)),
        num(latency.max),
        likely.join("; "),
    );
    Some(Finding {
        rule: RULE.to_owned(),
        severity: Severity::Warning,
        title: format!("Heavy latency tail: p99 is {} × p50", num(tail(worst))),
        summary: text,
        evidence: rows,
        recommendations: recs,
    })
}
