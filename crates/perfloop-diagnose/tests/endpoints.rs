//! The endpoints ranked by their share of the time waited on the target, most expensive
//! first (the catalogue's first rule: find the part that takes the most time).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::collections::BTreeMap;

use common::{PLATEAU, assert_well_formed, finding, rules, run, search};
use perfloop_diagnose::{diagnose, diagnose_run};
use perfloop_report::{EndpointFigures, LatencyMs, RunRecord, Severity};

/// An endpoint with `requests` requests of mean latency `mean_ms`.
fn endpoint(name: &str, requests: u64, mean_ms: f64) -> EndpointFigures {
    EndpointFigures {
        name: name.into(),
        requests,
        ok: requests,
        errors: 0,
        errors_by_kind: BTreeMap::new(),
        throughput_rps: requests as f64 / 5.0,
        latency_ms: LatencyMs {
            count: requests,
            min: mean_ms / 2.0,
            mean: mean_ms,
            stdev: mean_ms / 4.0,
            p50: mean_ms,
            p75: mean_ms,
            p90: mean_ms * 1.5,
            p95: mean_ms * 1.8,
            p99: mean_ms * 2.0,
            p99_9: mean_ms * 3.0,
            max: mean_ms * 4.0,
        },
        waited_s: requests as f64 * mean_ms / 1000.0,
        time_share: 0.0,
    }
}

/// `run` with these endpoints, their shares of the time computed as the engine does.
fn with_endpoints(mut run: RunRecord, endpoints: Vec<EndpointFigures>) -> RunRecord {
    let all: f64 = endpoints.iter().map(|e| e.waited_s).sum();
    run.endpoints = endpoints
        .into_iter()
        .map(|e| EndpointFigures {
            time_share: e.waited_s / all,
            ..e
        })
        .collect();
    run
}

#[test]
fn a_rare_slow_endpoint_that_holds_the_target_most_of_the_time_comes_first() {
    // 10 % of the requests at 40 ms against 90 % at 2 ms: 400 of 580 ms, 69 %.
    let r = with_endpoints(
        run(100.0, 100.0, 2.0, 5.0),
        vec![endpoint("home", 900, 2.0), endpoint("report", 100, 40.0)],
    );
    let findings = diagnose_run(&r);
    assert_well_formed(&findings);
    let f = finding(&findings, "expensive_endpoints");
    assert_eq!(f.severity, Severity::Warning);
    assert!(
        f.title.contains("report") && f.title.contains("69 %"),
        "{}",
        f.title
    );
    let report = f.summary.find("report 69 %").unwrap();
    let home = f.summary.find("home 31 %").unwrap();
    assert!(report < home, "most expensive first: {}", f.summary);
    assert_eq!(f.evidence[0].label, "report: share of the time waited");
    assert!((f.evidence[0].value - 400.0 / 5.8).abs() < 1e-9);
    let sections: Vec<&str> = f
        .recommendations
        .iter()
        .map(|r| r.strategy.section.as_str())
        .collect();
    assert_eq!(sections, ["8.1", "7.5", "1.1"]);
}

#[test]
fn endpoints_in_proportion_to_their_requests_are_ranked_for_information() {
    let r = with_endpoints(
        run(100.0, 100.0, 2.0, 5.0),
        vec![endpoint("a", 400, 2.0), endpoint("b", 600, 2.5)],
    );
    let f = finding(&diagnose_run(&r), "expensive_endpoints").clone();
    assert_eq!(f.severity, Severity::Info);
    assert!(
        f.title.starts_with("Most expensive endpoint: b"),
        "{}",
        f.title
    );
    // Splitting the endpoint is advice for one out of proportion only.
    let sections: Vec<&str> = f
        .recommendations
        .iter()
        .map(|r| r.strategy.section.as_str())
        .collect();
    assert_eq!(sections, ["8.1", "7.5"]);
}

#[test]
fn a_run_of_one_endpoint_has_nothing_to_rank() {
    let r = with_endpoints(
        run(100.0, 100.0, 2.0, 5.0),
        vec![endpoint("GET /", 500, 2.0)],
    );
    assert!(!rules(&diagnose_run(&r)).contains(&"expensive_endpoints"));
}

#[test]
fn a_search_ranks_the_endpoints_at_the_highest_passing_step() {
    let mut record = search(&PLATEAU, |_| None);
    for step in &mut record.steps {
        // Below the limit `cart` costs the most; above it `search` does.
        let (cart, found) = if step.verdict.pass {
            (10.0, 1.0)
        } else {
            (10.0, 500.0)
        };
        step.run = with_endpoints(
            step.run.clone(),
            vec![endpoint("cart", 100, cart), endpoint("search", 100, found)],
        );
    }
    let f = finding(&diagnose(&record), "expensive_endpoints").clone();
    // The highest passing rate step of PLATEAU is step 5 (500 req/s).
    assert!(
        f.summary
            .contains("at step 5 (500 offered), most expensive first: cart"),
        "{}",
        f.summary
    );
    assert!(f.title.contains("cart"), "{}", f.title);
    assert!(f.evidence.iter().all(|e| e.step == Some(5)));
}
