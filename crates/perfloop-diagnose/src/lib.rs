//! perfloop's diagnosis: what limits a service, read from a capacity search or a single run,
//! as [`Finding`]s with their evidence and recommendations.
//!
//! The crate reads records and returns findings: it does no I/O and changes nothing. Each
//! rule is a function of the measured steps; a step's figures are its run's (throughput,
//! latency, errors, the generator) and the monitor's summary and samples of the target and
//! the host.
//!
//! | rule | severity | fires when |
//! | --- | --- | --- |
//! | `generator_saturated` | critical | a step's load generator was saturated (a worker ≥ 90 % busy); those steps are left out of every other rule |
//! | `cpu_machine` | critical / warning | near the limit the target uses ≥ 80 % of `cores × 100 %` (critical), or the host is ≥ 90 % busy (warning) |
//! | `cpu_one_thread` | critical | near the limit the busiest thread is ≥ 85 % of a core while the target uses < 60 % of the machine |
//! | `waiting` | critical | offered load +≥ 20 %, throughput +< 10 %, p99 or p50 ×≥ 1.5 (+≥ 1 ms), target < 50 % of the machine, busiest thread < 60 %, host < 90 % |
//! | `errors_grow` | warning / critical ≥ 5 % | error rate ≥ 1 % at the top and rising (Mann–Kendall p < 0.05 over ≥ 4 steps, or doubled and +0.5 points) |
//! | `memory_growth` | warning | target RSS over the search rises (Mann–Kendall p < 0.01) by ≥ 10 % and ≥ 5 MiB |
//! | `heavy_tail` | warning | at a passing step p99 ≥ 5 × p50 and p99 ≥ 5 ms |
//! | `usl_contention` | info / warning σ ≥ 0.05 | the sweep's USL fit (R² ≥ 0.8) is contention-limited |
//! | `usl_coherency` | info / warning past N* | the sweep's USL fit (R² ≥ 0.8) is coherency-limited |
//! | `expensive_endpoints` | info / warning | two or more endpoints: ranked by their share of the time waited on the target, most expensive first; warning when the top one takes ≥ 50 % of it with at most half that share of the requests |
//!
//! "Near the limit" is the highest passing rate step and the first failing one above it
//! (see the `search` module). Each rule's module documents its thresholds and why. The
//! recommendations cite the strategies of the optimisation catalogue by section number and
//! title (the `strategy` module).

mod rules;
mod search;
mod strategy;
mod text;

use std::cmp::Reverse;

use perfloop_report::{CapacityRecord, Finding, RunRecord};

use crate::search::Search;

/// Findings for a capacity search, most severe first (stable order within a severity).
pub fn diagnose(record: &CapacityRecord) -> Vec<Finding> {
    run_rules(&Search::from_record(record))
}

/// Findings for a single run (treated as a one-step search).
pub fn diagnose_run(run: &RunRecord) -> Vec<Finding> {
    run_rules(&Search::from_run(run))
}

fn run_rules(search: &Search<'_>) -> Vec<Finding> {
    let mut findings: Vec<Finding> = rules::RULES
        .iter()
        .filter_map(|rule| rule(search))
        .collect();
    findings.sort_by_key(|f| Reverse(f.severity));
    findings
}
