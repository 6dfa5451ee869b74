//! `generator_saturated` (critical): steps whose load generator was saturated.
//!
//! Fires when any step's run has `generator.saturated` (a worker thread of perfloop was busy
//! at least 90 % of the run, the engine's threshold) or its verdict says so. Such a step
//! measured how fast perfloop could send, not how fast the target could answer: its
//! throughput is a lower bound and its latency includes perfloop's own queueing. The other
//! rules leave these steps out.

use perfloop_report::{Finding, Severity};

use crate::search::Search;
use crate::strategy;
use crate::text::{evidence, num, steps};

/// The rule's identifier.
pub(crate) const RULE: &str = "generator_saturated";

/// See the module documentation.
pub(crate) fn generator_saturated(search: &Search<'_>) -> Option<Finding> {
    let hits: Vec<_> = search
        .points
        .iter()
        .filter(|p| p.generator_saturated)
        .collect();
    let first = hits.first()?;
    let mut evidence_rows = Vec::new();
    for p in &hits {
        let busiest = p
            .run
            .generator
            .threads_busy
            .iter()
            .copied()
            .fold(0.0, f64::max);
        evidence_rows.push(evidence(
            "generator, busiest worker thread",
            busiest * 100.0,
            "%",
            Some(p.index),
        ));
        if let Some(host) = p.host() {
            evidence_rows.push(evidence(
                "generator CPU, % of one core",
                host.generator_cpu_pct_mean,
                "%",
                Some(p.index),
            ));
        }
    }
    let indices: Vec<usize> = hits.iter().map(|p| p.index).collect();
    let busiest = first
        .run
        .generator
        .threads_busy
        .iter()
        .copied()
        .fold(0.0, f64::max);
    let summary = format!(
        "The load generator was saturated in {} of {} steps ({}; at {} its busiest worker \
         thread was busy {} % of the time): those steps measured how fast perfloop could \
         send, not how fast the target could answer, so their throughput is only a lower \
         bound, their latency includes perfloop's own delays, and the other diagnoses leave \
         them out.",
        hits.len(),
        search.points.len(),
        steps(&indices),
        steps(&[first.index]),
        num(busiest * 100.0),
    );
    Some(Finding {
        rule: RULE.to_owned(),
        severity: Severity::Critical,
        title: "The load generator was saturated: those steps are not valid".to_owned(),
        summary,
        evidence: evidence_rows,
        recommendations: vec![
            strategy::FIND_THE_BOTTLENECK.advise(
                "Make sure the bottleneck measured is the target's: measure again with more \
                 generator threads (--threads) or a lower rate on those steps.",
            ),
            strategy::LOAD_BALANCING.advise(
                "If perfloop has no spare core on this machine, generate the load from \
                 another machine (or several), as a load balancer spreads requests over \
                 nodes.",
            ),
        ],
    })
}
