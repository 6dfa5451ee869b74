//! `expensive_endpoints` (info / warning): the endpoints ranked by their share of the time
//! spent waiting on the target, the most expensive first — the catalogue's first rule,
//! find the part that takes the most time and start there.
//!
//! Fires for a step with two or more endpoints that received requests: near the limit, the
//! highest passing rate step (where the mix is still served as asked), else the first
//! failing one; for a single run, the run. An endpoint's share is the sum of its requests'
//! latencies over the sum for every endpoint. It is a **warning** when the top endpoint
//! takes at least [`DOMINANT_SHARE`] (50 %) of the time while it is at most half as
//! frequent as that (its share of requests ≤ its share of time / [`OUT_OF_PROPORTION`]):
//! a minority of requests holds the target most of the time, so speeding it up is worth
//! more than anything else; an **info** otherwise. It recommends starting with the top
//! endpoint and tracing its requests, and — when it is out of proportion — serving its
//! core data apart from the slow rest.

use perfloop_report::{EndpointFigures, Finding, Severity};

use crate::search::{Point, Search};
use crate::strategy;
use crate::text::{evidence, num, pct};

/// The rule's identifier.
pub(crate) const RULE: &str = "expensive_endpoints";

/// The top endpoint's share of the time waited from which it dominates.
pub(crate) const DOMINANT_SHARE: f64 = 0.5;

/// How many times its share of requests its share of time must be.
pub(crate) const OUT_OF_PROPORTION: f64 = 2.0;

/// Whether the step's requests went to two or more endpoints.
fn with_endpoints(p: &Point<'_>) -> bool {
    p.run.endpoints.iter().filter(|e| e.requests > 0).count() >= 2
}

/// See the module documentation.
pub(crate) fn expensive_endpoints(search: &Search<'_>) -> Option<Finding> {
    let near = search.near_limit();
    let point = near
        .iter()
        .copied()
        .find(|p| p.pass && with_endpoints(p))
        .or_else(|| near.iter().copied().find(|p| with_endpoints(p)))
        .or_else(|| search.valid().find(|p| with_endpoints(p)))?;
    let run = point.run;
    let total: u64 = run.endpoints.iter().map(|e| e.requests).sum();
    let mut ranked: Vec<&EndpointFigures> = run.endpoints.iter().collect();
    ranked.sort_by(|a, b| b.time_share.total_cmp(&a.time_share));
    let request_share = |e: &EndpointFigures| {
        if total > 0 {
            e.requests as f64 / total as f64
        } else {
            0.0
        }
    };
    let top = ranked[0];
    let dominant = top.time_share >= DOMINANT_SHARE
        && request_share(top) * OUT_OF_PROPORTION <= top.time_share;
    let step = Some(point.index);
    let mut rows = Vec::new();
    for e in &ranked {
        rows.push(evidence(
            &format!("{}: share of the time waited", e.name),
            e.time_share * 100.0,
            "%",
            step,
        ));
        rows.push(evidence(
            &format!("{}: share of the requests", e.name),
            request_share(e) * 100.0,
            "%",
            step,
        ));
        if e.latency_ms.count > 0 {
            rows.push(evidence(
                &format!("{}: p99 latency", e.name),
                e.latency_ms.p99,
                "ms",
                step,
            ));
        }
    }
    let ranking: Vec<String> = ranked
        .iter()
        .map(|e| {
            format!(
                "{} {} of the time ({} of the requests, mean {} ms)",
                e.name,
                pct(e.time_share),
                pct(request_share(e)),
                num(e.latency_ms.mean)
            )
        })
        .collect();
    let at = if search.points.len() > 1 {
        format!(" at step {} ({} offered)", point.index, num(point.offered))
    } else {
        String::new()
    };
    let summary = format!(
        "Where the target's time goes, by endpoint (the sum of each one's latencies){at}, \
         most expensive first: {}.{}",
        ranking.join("; "),
        if dominant {
            format!(
                " {} holds the target {} of the time with {} of the requests: making it \
                 faster gains more than anything else.",
                top.name,
                pct(top.time_share),
                pct(request_share(top))
            )
        } else {
            String::new()
        }
    );
    let mut recommendations = vec![
        strategy::FIND_THE_BOTTLENECK.advise(format!(
            "Start with {}: it takes {} of the time waited on the target; a gain there is \
             worth the most.",
            top.name,
            pct(top.time_share)
        )),
        strategy::TRACING.advise(format!(
            "Trace {}'s requests through the service to see which call holds them.",
            top.name
        )),
    ];
    if dominant {
        recommendations.push(strategy::SPLIT_CORE_DATA.advise(format!(
            "If {} returns data its callers do not all need at once, serve the core part on \
             its own and move the slow, non-core part to a separate endpoint.",
            top.name
        )));
    }
    Some(Finding {
        rule: RULE.to_owned(),
        severity: if dominant {
            Severity::Warning
        } else {
            Severity::Info
        },
        title: format!(
            "Most expensive endpoint: {} ({} of the time waited)",
            top.name,
            pct(top.time_share)
        ),
        summary,
        evidence: rows,
        recommendations,
    })
}
