//! `errors_grow` (warning, critical from 5 %): the error rate grows with the offered load.
//!
//! Over the rate curve (see [`crate::search`]), with `top` the highest offered step and
//! `bottom` the lowest, it fires when the error rate at `top` is at least
//! [`MIN_TOP_ERROR_RATE`] (1 %, below which errors are noise for most objectives) and it
//! grew, by either test:
//!
//! - Mann–Kendall over (offered, error rate) with at least [`MIN_TREND_STEPS`] (4) steps and
//!   a one-sided p-value below [`TREND_P`] (0.05);
//! - a clear rise: the rate at `top` at least twice that at `bottom` and at least
//!   [`MIN_RISE`] (0.5 percentage points) above it, for curves too short for the test.
//!
//! A one-step search (a single run) has no growth to measure: there it fires on the level
//! alone and says so. It is critical from [`CRITICAL_ERROR_RATE`] (5 %), one failure in
//! twenty. The errors are split by kind over the saturating region, each kind with its
//! usual cause: `connect`/`reset`/`closed` — the accept backlog, a connection or descriptor
//! limit; `timeout` — requests queued past the timeout; `status_5xx` (503 above all) — a pool
//! or queue exhausted, the target shedding load; `status_4xx` (429 above all) — a rate limiter.

use std::collections::BTreeMap;

use perfloop_report::{Finding, Recommendation, Severity};
use perfloop_stats::mann_kendall;

use crate::search::{Point, Search};
use crate::strategy;
use crate::text::{evidence, num, pct};

/// The rule's identifier.
pub(crate) const RULE: &str = "errors_grow";

/// The error rate at the highest offered step from which the rule fires.
pub(crate) const MIN_TOP_ERROR_RATE: f64 = 0.01;

/// The error rate at the highest offered step from which the finding is critical.
pub(crate) const CRITICAL_ERROR_RATE: f64 = 0.05;

/// Steps needed for the Mann–Kendall test.
pub(crate) const MIN_TREND_STEPS: usize = 4;

/// One-sided p-value below which the error rate rises.
pub(crate) const TREND_P: f64 = 0.05;

/// Least rise of the error rate (fraction) for the two-step test.
pub(crate) const MIN_RISE: f64 = 0.005;

/// See the module documentation.
pub(crate) fn errors_grow(search: &Search<'_>) -> Option<Finding> {
    let curve = search.rate_curve();
    let (bottom, top) = (*curve.first()?, *curve.last()?);
    let (low, high) = (bottom.error_rate(), top.error_rate());
    if high < MIN_TOP_ERROR_RATE {
        return None;
    }
    let trend = (curve.len() >= MIN_TREND_STEPS)
        .then(|| {
            let xs: Vec<f64> = curve.iter().map(|p| p.offered).collect();
            let ys: Vec<f64> = curve.iter().map(|p| p.error_rate()).collect();
            mann_kendall(&xs, &ys)
        })
        .flatten();
    let single = curve.len() == 1;
    let trending = trend.is_some_and(|mk| mk.p_increasing < TREND_P);
    let rising = high >= 2.0 * low && high - low >= MIN_RISE;
    if !(single || trending || rising) {
        return None;
    }

    let mut text = if single {
        format!(
            "{} of the requests failed at {} (offered {} req/s); with one step, whether errors \
             grow with load cannot be measured.",
            pct(high),
            crate::text::steps(&[top.index]),
            num(top.offered),
        )
    } else {
        format!(
            "The error rate grew with the offered load, from {} at {} req/s (step {}) to {} \
             at {} req/s (step {}){}.",
            pct(low),
            num(bottom.offered),
            bottom.index,
            pct(high),
            num(top.offered),
            top.index,
            trend
                .filter(|_| trending)
                .map(|mk| format!(
                    " (Mann–Kendall over {} steps: τ = {}, p = {})",
                    mk.n,
                    num(mk.tau),
                    num(mk.p_increasing)
                ))
                .unwrap_or_default(),
        )
    };

    let region = search.saturating_region();
    let kinds = sum_maps(region.iter().map(|p| &p.run.requests.errors_by_kind));
    let statuses = sum_maps(region.iter().map(|p| &p.run.requests.by_status));
    let mut causes = Vec::new();
    let mut recommendations = Vec::new();
    explain(&kinds, &statuses, top, &mut causes, &mut recommendations);
    if !causes.is_empty() {
        text.push_str(" Near the limit: ");
        text.push_str(&causes.join("; "));
        text.push('.');
    }

    let mut rows: Vec<_> = curve
        .iter()
        .map(|p| evidence("error rate", p.error_rate() * 100.0, "%", Some(p.index)))
        .collect();
    if let Some(mk) = trend {
        rows.push(evidence(
            "Mann–Kendall τ, error rate against load",
            mk.tau,
            "",
            None,
        ));
        rows.push(evidence(
            "Mann–Kendall p, rising",
            mk.p_increasing,
            "",
            None,
        ));
    }
    for (kind, count) in &kinds {
        rows.push(evidence(
            &format!("errors: {kind}, near the limit"),
            *count as f64,
            "",
            None,
        ));
    }
    for (status, count) in statuses.iter().filter(|(s, _)| s.as_str() >= "400") {
        rows.push(evidence(
            &format!("responses: status {status}, near the limit"),
            *count as f64,
            "",
            None,
        ));
    }

    let severity = if high >= CRITICAL_ERROR_RATE {
        Severity::Critical
    } else {
        Severity::Warning
    };
    Some(Finding {
        rule: RULE.to_owned(),
        severity,
        title: format!(
            "Errors grow with load: {} of requests fail at the top",
            pct(high)
        ),
        summary: text,
        evidence: rows,
        recommendations,
    })
}

/// Sums count maps.
fn sum_maps<'a>(maps: impl Iterator<Item = &'a BTreeMap<String, u64>>) -> BTreeMap<String, u64> {
    let mut sum = BTreeMap::new();
    for map in maps {
        for (k, v) in map {
            *sum.entry(k.clone()).or_insert(0) += v;
        }
    }
    sum
}

/// The causes the error kinds point to, and what to try for each.
fn explain(
    kinds: &BTreeMap<String, u64>,
    statuses: &BTreeMap<String, u64>,
    top: &Point<'_>,
    causes: &mut Vec<String>,
    recs: &mut Vec<Recommendation>,
) {
    let count = |k: &str| kinds.get(k).copied().unwrap_or(0);
    let status = |s: &str| statuses.get(s).copied().unwrap_or(0);
    let mut add = |rec: Recommendation| {
        if !recs
            .iter()
            .any(|r| r.strategy.section == rec.strategy.section)
        {
            recs.push(rec);
        }
    };

    let (connect, reset, closed) = (count("connect"), count("reset"), count("closed"));
    if connect + reset + closed > 0 {
        causes.push(format!(
            "connections refused or cut (connect {connect}, reset {reset}, closed {closed}), \
             the mark of a full accept backlog or a connection or descriptor limit"
        ));
        add(strategy::LIMITS.advise(
            "Admit connections deliberately: raise the listen backlog and the descriptor limit \
             if the target should take this load, or put a connection limit with a queue in \
             front of it so that excess load waits or is refused cleanly instead of reset.",
        ));
        add(strategy::ASYNC_IO.advise(
            "A thread-per-connection server runs out of threads as connections grow; an event \
             loop holds many idle connections cheaply.",
        ));
    }
    let timeouts = count("timeout");
    if timeouts > 0 {
        causes.push(format!(
            "{timeouts} requests timed out (after {} s): they queued longer than the timeout",
            num(top.run.load.timeout_s)
        ));
        add(strategy::DEGRADATION.advise(
            "Give downstream calls timeouts shorter than the clients' and a circuit breaker, so \
             that overload fails fast instead of queueing until every request times out.",
        ));
    }
    let server = count("status_5xx");
    if server > 0 {
        let unavailable = status("503");
        if unavailable > 0 {
            causes.push(format!(
                "{server} server errors, {unavailable} of them 503 Service Unavailable: the \
                 target sheds load, typically when a pool or queue is exhausted"
            ));
            add(strategy::CONNECTION_POOL.advise(
                "503s under load usually mean a pool ran dry: check its size and its waiting \
                 time against the concurrency at the limit.",
            ));
            add(strategy::THREAD_POOL.advise(
                "If the 503s come from a full worker queue, size the pool to the hardware and \
                 the load.",
            ));
        } else {
            causes.push(format!(
                "{server} server errors that appear under load: exhausted resources, checkout \
                 timeouts or races"
            ));
            add(strategy::TRACING
                .advise("Trace the failing requests to the component that fails only under load."));
        }
    }
    let client = count("status_4xx");
    if client > 0 {
        let limited = status("429");
        if limited > 0 {
            causes.push(format!(
                "{client} client errors, {limited} of them 429 Too Many Requests: a rate \
                 limiter rejects the load"
            ));
            add(strategy::LIMITS.advise(
                "A rate limiter is at work: raise its limit if this load is legitimate, \
                 otherwise the capacity measured is the limit's, not the service's.",
            ));
        } else {
            causes.push(format!(
                "{client} client errors (4xx) that grow with load: a limiter, an \
                 authentication service or a cache of sessions refusing requests"
            ));
            add(strategy::TRACING.advise(
                "Find which component answers 4xx under load; the same request succeeds at low \
                 load.",
            ));
        }
    }
    let other = count("malformed") + count("headers_too_large");
    if other > 0 {
        causes.push(format!(
            "{other} malformed or oversized responses: the target breaks its responses under load"
        ));
        add(strategy::TRACING.advise(
            "Capture a malformed response: a truncated or interleaved body under load points \
             to a race in the response path.",
        ));
    }
    let streams = count("goaway") + count("stream_reset");
    if streams > 0 {
        causes.push(format!(
            "{streams} HTTP/2 streams refused by GOAWAY or reset by the target: it limits or \
             sheds streams under load"
        ));
        add(strategy::LIMITS.advise(
            "Check the server's HTTP/2 limits (concurrent streams, requests per connection) \
             against the load: the capacity measured may be the limit's.",
        ));
    }
    if other + streams == 0 && connect + reset + closed + timeouts + server + client == 0 {
        add(strategy::FIND_THE_BOTTLENECK.advise(
            "Check the target's logs at the highest offered load for the cause of the errors.",
        ));
    }
}
