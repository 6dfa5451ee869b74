//! Scenarios end to end: a scenario file resolved like `perfloop load --scenario`, run by
//! the engine against an in-process server that counts and checks what it receives.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, Method, Uri};
use perfloop_engine::spec::{Given, LoadSpec, SpecError};

/// What the server saw.
#[derive(Default)]
struct Seen {
    /// Requests by endpoint (method and first path segment).
    by_endpoint: BTreeMap<String, u64>,
    /// Values of `{{id}}` in `/item/{{id}}`.
    item_ids: HashSet<u64>,
    /// Feeder users, over every request that took one.
    users: BTreeMap<String, u64>,
    /// Requests whose values disagree with the scenario (a row split, a number out of range).
    wrong: Vec<String>,
}

fn start_server() -> (SocketAddr, Arc<Mutex<Seen>>) {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let app = Router::new().fallback(handle).with_state(seen.clone());
    (common::serve(app), seen)
}

async fn handle(
    State(seen): State<Arc<Mutex<Seen>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: String,
) -> &'static str {
    let mut seen = seen.lock().unwrap();
    let path = uri.path();
    let segment = path.split('/').nth(1).unwrap_or_default();
    *seen
        .by_endpoint
        .entry(format!("{method} /{segment}"))
        .or_default() += 1;
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    };
    match (method.as_str(), segment) {
        ("GET", "search") => {
            let user = uri.query().and_then(|q| q.strip_prefix("q=")).unwrap_or("");
            let user = user.replace("%20", " ");
            *seen.users.entry(user).or_default() += 1;
        }
        ("GET", "item") => {
            let id = path.rsplit('/').next().and_then(|id| id.parse().ok());
            match id {
                Some(id) if seen.item_ids.insert(id) => {}
                _ => seen
                    .wrong
                    .push(format!("item id repeated or missing: {path}")),
            }
        }
        ("POST", "order") => {
            // The header and the body take the same row of the feeder.
            let user = header("x-user").to_owned();
            let qty = body
                .split("\"qty\":")
                .nth(1)
                .and_then(|q| q.trim_end_matches('}').parse::<i64>().ok());
            let whole = body.starts_with(&format!("{{\"user\":\"{user}\","));
            if !whole || !qty.is_some_and(|q| (1..=5).contains(&q)) {
                seen.wrong
                    .push(format!("order: X-User {user}, body {body}"));
            }
            if header("content-type") != "application/json" || header("x-run") != "mix" {
                seen.wrong.push(format!("order headers: {headers:?}"));
            }
            *seen.users.entry(user).or_default() += 1;
        }
        ("HEAD", "item") => {}
        _ => seen.wrong.push(format!("unexpected {method} {uri}")),
    }
    "ok\n"
}

/// A directory holding the scenario and its feeder, removed on drop.
struct Files(PathBuf);

impl Files {
    fn new(name: &str, scenario: &str) -> Files {
        let dir = std::env::temp_dir().join(format!(
            "perfloop-engine-scenario-{name}-{}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("s.toml"), scenario).unwrap();
        std::fs::write(
            dir.join("users.csv"),
            "user,city\nann lee,Oslo\nbob,Lima\ncy,Rome\ndee,Pune\neve,Kyiv\n",
        )
        .unwrap();
        Files(dir)
    }

    fn scenario(&self) -> PathBuf {
        self.0.join("s.toml")
    }
}

impl Drop for Files {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const MIX: &str = r#"
headers = ["X-Run: mix"]

[[feeder]]
file = "users.csv"

[sequence.id]
start = 1

[random.qty]
min = 1
max = 5

[[request]]
name = "search"
path = "/search?q={{user}}"
weight = 6

[[request]]
name = "item"
path = "/item/{{id}}"
weight = 3

[[request]]
name = "order"
path = "/order"
headers = ["Content-Type: application/json", "X-User: {{user}}"]
body = '{"user":"{{user}}","city":"{{city}}","qty":{{qty}}}'
weight = 1

[[request]]
name = "probe"
method = "HEAD"
path = "/item/0"
weight = 2
"#;

#[test]
fn the_measured_mix_is_within_one_percent_of_the_weights_over_100000_requests() {
    const N: u64 = 100_000;
    let (addr, seen) = start_server();
    let files = Files::new("mix", MIX);
    let mut spec = LoadSpec::new(common::url(addr, "/"));
    spec.request.io = Given::Value(common::test_io());
    spec.request.scenario = Some(files.scenario());
    spec.request.threads = Some(2);
    spec.connections = Some(16);
    spec.requests = Some(N);
    let config = spec.resolve().unwrap().config;
    assert_eq!(
        config.endpoint_names(),
        vec!["search", "item", "order", "probe"]
    );
    let outcome = common::run_to_end(&config);
    common::assert_consistent(&outcome);
    assert_eq!(outcome.counts.errors, 0, "{:?}", outcome.counts);
    assert_eq!(outcome.counts.total(), N);

    let seen = seen.lock().unwrap();
    assert!(
        seen.wrong.is_empty(),
        "{:?}",
        &seen.wrong[..seen.wrong.len().min(5)]
    );
    let total: u64 = seen.by_endpoint.values().sum();
    assert!(total >= N, "the server counted {total} of {N}");
    let weights = [
        ("GET /search", 6.0),
        ("GET /item", 3.0),
        ("POST /order", 1.0),
        ("HEAD /item", 2.0),
    ];
    for (endpoint, weight) in weights {
        let count = seen.by_endpoint.get(endpoint).copied().unwrap_or(0);
        let share = count as f64 / total as f64;
        let asked = weight / 12.0;
        assert!(
            (share / asked - 1.0).abs() < 0.01,
            "{endpoint}: {count} of {total} requests is {:.4}, the weights ask {asked:.4}",
            share
        );
    }
    // Sequences never repeat across connections and workers.
    assert_eq!(seen.item_ids.len() as u64, seen.by_endpoint["GET /item"]);
    // Rows are taken in turn: every user about as often as the others.
    let users: Vec<u64> = seen.users.values().copied().collect();
    assert_eq!(users.len(), 5, "{:?}", seen.users);
    let spread = users.iter().max().unwrap() - users.iter().min().unwrap();
    assert!(spread <= 4, "rows in turn, yet {:?}", seen.users);
}

#[test]
fn think_time_paces_each_connection() {
    let (addr, seen) = start_server();
    let files = Files::new(
        "think",
        "think_time = \"20ms\"\n[[request]]\nname = \"item\"\npath = \"/item/0\"\nmethod = \"HEAD\"\n",
    );
    let mut spec = LoadSpec::new(common::url(addr, "/"));
    spec.request.io = Given::Value(common::test_io());
    spec.request.scenario = Some(files.scenario());
    spec.request.threads = Some(1);
    spec.connections = Some(2);
    spec.duration = Some(Given::Value(Duration::from_secs(1)));
    let config = spec.resolve().unwrap().config;
    let outcome = common::run_to_end(&config);
    common::assert_consistent(&outcome);
    // Two connections, each pausing 20 ms after every answer: at most 2 × (1 s / 20 ms),
    // where without the pause a loopback server answers thousands.
    let total = outcome.counts.total();
    assert!((10..=102).contains(&total), "{total} requests in 1 s");
    assert_eq!(outcome.counts.errors, 0);
    assert!(seen.lock().unwrap().wrong.is_empty());
}

#[test]
fn a_scenario_that_cannot_be_used_is_refused_before_any_load() {
    let files = Files::new(
        "bad",
        "think_time = \"10ms\"\n[[request]]\nname = \"a\"\nurl = \"http://127.0.0.1:1/x\"\n",
    );
    let resolve = |set: &dyn Fn(&mut LoadSpec)| {
        let mut spec = LoadSpec::new("http://127.0.0.1:2/");
        spec.request.scenario = Some(files.scenario());
        set(&mut spec);
        spec.resolve().unwrap_err()
    };
    let e = resolve(&|_| {});
    assert!(matches!(e, SpecError::Scenario(_)), "{e}");
    assert!(
        e.to_string().contains("s.toml:4:7") && e.to_string().contains("127.0.0.1:2"),
        "{e}"
    );
    let e = resolve(&|s| s.request.method = Some("POST".into())).to_string();
    assert!(e.contains("drop --method"), "{e}");
    let e = resolve(&|s| {
        s.request.url = "http://127.0.0.1:1/".into();
        s.rate = Some(Given::Value(100.0));
    })
    .to_string();
    assert!(
        e.contains("think_time") && e.contains("closed model"),
        "{e}"
    );
}
