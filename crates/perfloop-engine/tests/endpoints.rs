//! Per-endpoint figures, end to end: a scenario of three endpoints (fast, slow, failing)
//! run by the engine against an in-process server that counts what each received; and
//! objectives on endpoints resolved against the run's names.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use perfloop_engine::ErrorKind;
use perfloop_engine::spec::{Given, LoadSpec};

type Seen = Arc<Mutex<BTreeMap<String, u64>>>;

/// `/fast` answers at once, `/slow` after 4 ms, `/bad` with a 500; each counted by path.
fn start_server() -> (SocketAddr, Seen) {
    let seen = Seen::default();
    let app = Router::new().fallback(handle).with_state(seen.clone());
    (common::serve(app), seen)
}

async fn handle(State(seen): State<Seen>, uri: Uri) -> (StatusCode, &'static str) {
    let path = uri.path().to_string();
    *seen.lock().unwrap().entry(path.clone()).or_default() += 1;
    match path.as_str() {
        "/slow" => {
            tokio::time::sleep(Duration::from_millis(4)).await;
            (StatusCode::OK, "slow\n")
        }
        "/bad" => (StatusCode::INTERNAL_SERVER_ERROR, "bad\n"),
        _ => (StatusCode::OK, "fast\n"),
    }
}

const SCENARIO: &str = r#"
[[request]]
name = "fast"
path = "/fast"
weight = 3

[[request]]
name = "slow"
path = "/slow"
weight = 1

[[request]]
name = "bad"
path = "/bad"
weight = 1
"#;

/// The scenario in a file of its own, removed on drop.
struct File(PathBuf);

impl File {
    fn new(name: &str) -> File {
        let path = std::env::temp_dir().join(format!(
            "perfloop-endpoints-{name}-{}.toml",
            std::process::id()
        ));
        std::fs::write(&path, SCENARIO).unwrap();
        File(path)
    }
}

impl Drop for File {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn spec(addr: SocketAddr, file: &File) -> LoadSpec {
    let mut spec = LoadSpec::new(common::url(addr, "/"));
    spec.request.io = Given::Value(common::test_io());
    spec.request.scenario = Some(file.0.clone());
    spec.request.threads = Some(2);
    spec.connections = Some(4);
    spec
}

#[test]
fn each_endpoint_has_its_own_figures_and_share_of_the_time_waited() {
    const N: u64 = 2_000;
    let (addr, seen) = start_server();
    let file = File::new("figures");
    let mut spec = spec(addr, &file);
    spec.requests = Some(N);
    let config = spec.resolve().unwrap().config;
    let outcome = common::run_to_end(&config);
    common::assert_consistent(&outcome);
    let names: Vec<&str> = outcome.endpoints.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["fast", "slow", "bad"]);
    let [fast, slow, bad] = &outcome.endpoints[..] else {
        unreachable!()
    };
    // Every counted request is one endpoint's; the endpoints add up to the totals.
    assert_eq!(outcome.counts.total(), N);
    assert_eq!(fast.total() + slow.total() + bad.total(), N);
    assert_eq!(fast.ok + slow.ok + bad.ok, outcome.counts.ok);
    assert_eq!(
        fast.latency.len() + slow.latency.len() + bad.latency.len(),
        outcome.latency.len()
    );
    assert_eq!(fast.waited + slow.waited + bad.waited, outcome.waited);
    // What the server received, endpoint by endpoint.
    let seen = seen.lock().unwrap();
    let reconnects = outcome.counts.reconnects;
    for (e, path) in [(fast, "/fast"), (slow, "/slow"), (bad, "/bad")] {
        let at_server = seen.get(path).copied().unwrap_or(0);
        assert!(
            at_server >= e.total() && at_server <= e.total() + reconnects,
            "{}: {} counted, {at_server} at the server",
            e.name,
            e.total()
        );
    }
    // Errors stay with their endpoint.
    assert_eq!((fast.errors, slow.errors), (0, 0));
    assert_eq!(bad.errors, bad.total());
    assert_eq!(bad.errors_of(ErrorKind::Status5xx), bad.total());
    // The slow endpoint is slow, and rarer, yet the most time was waited on it.
    let p50 = |e: &perfloop_engine::EndpointOutcome| e.latency.value_at_quantile(0.5);
    assert!(p50(slow) >= 4_000, "slow p50 {} µs", p50(slow));
    assert!(p50(fast) < p50(slow), "fast p50 {} µs", p50(fast));
    assert!(
        fast.total() > 2 * slow.total(),
        "{} vs {}",
        fast.total(),
        slow.total()
    );
    let (s_fast, s_slow, s_bad) = (
        outcome.endpoint_share(fast),
        outcome.endpoint_share(slow),
        outcome.endpoint_share(bad),
    );
    assert!(
        s_slow > s_fast && s_slow > s_bad,
        "{s_fast} {s_slow} {s_bad}"
    );
    assert!((s_fast + s_slow + s_bad - 1.0).abs() < 1e-9);
    let rps: f64 = outcome
        .endpoints
        .iter()
        .map(|e| outcome.endpoint_rps(e))
        .sum();
    assert!((rps - outcome.throughput_rps()).abs() < 1e-6 * rps);
    // The timeline splits each second by endpoint, and adds up to it.
    for row in &outcome.timeline {
        assert_eq!(row.endpoints.len(), 3);
        assert_eq!(
            row.endpoints.iter().map(|e| e.requests).sum::<u64>(),
            row.requests
        );
        assert_eq!(
            row.endpoints.iter().map(|e| e.errors).sum::<u64>(),
            row.errors
        );
    }
    let in_timeline: u64 = outcome
        .timeline
        .iter()
        .map(|r| r.endpoints[1].requests)
        .sum();
    assert_eq!(in_timeline, slow.total());
}

#[test]
fn an_objective_names_an_endpoint_of_the_run() {
    let (addr, _seen) = start_server();
    let file = File::new("slo");
    let mut ok = spec(addr, &file);
    ok.slos = vec![Given::Text("slow: p99<200ms".into())];
    let resolved = ok.resolve().unwrap();
    assert_eq!(resolved.slos[0].endpoint(), Some("slow"));
    let mut typo = spec(addr, &file);
    typo.slos = vec![Given::Text("slw: p99<200ms".into())];
    let e = typo.resolve().unwrap_err().to_string();
    assert!(
        e.contains("unknown endpoint 'slw'")
            && e.contains("did you mean 'slow'")
            && e.contains("'fast', 'slow', 'bad'"),
        "{e}"
    );
}
