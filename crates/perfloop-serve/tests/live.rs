//! The live hub and its routes: thinning keeps the totals exact, the event stream replays
//! to a late client and then follows the run to its end, a hundred clients and one that
//! does not read never hold the run up, and `/metrics` reads as Prometheus' own parser
//! reads it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod sse_client;

use std::io::Write;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use perfloop_serve::AppState;
use perfloop_serve::live::{self, LiveHub, LiveInfo, LiveSample, MAX_SAMPLES};
use perfloop_stats::grid;
use serde_json::Value;
use sse_client::{http_get, next_event, open_stream};

fn info() -> LiveInfo {
    LiveInfo {
        kind: "load".into(),
        target: "http://127.0.0.1:8080/".into(),
        command: "perfloop load http://127.0.0.1:8080/ --serve".into(),
        started_at: "2026-12-07T15:00:00Z".into(),
        window_s: Some(10.0),
    }
}

/// A second with `requests` responses spread over `spread` grid buckets from 1 ms.
fn second(t_s: u64, requests: u64, errors: u64, spread: u32) -> LiveSample {
    let mut s = LiveSample::empty(t_s);
    s.second.requests = requests;
    s.second.errors = errors;
    s.second.rps = requests as f64;
    let first = grid::bucket_of_us(1000.0) + (t_s % 50) as u32;
    let per = (requests - errors) / u64::from(spread.max(1));
    let mut left = requests - errors;
    for i in 0..spread {
        let n = if i + 1 == spread { left } else { per };
        left -= n;
        if n > 0 {
            s.second.latency_buckets.push((first + i * 3, n));
        }
    }
    s.statuses = Some(
        [(200, requests - errors), (503, errors)]
            .into_iter()
            .collect(),
    );
    // Each response took its bucket's upper bound: the second's sum, as the engine gives it.
    s.latency_sum_ms = Some(
        s.second
            .latency_buckets
            .iter()
            .map(|&(b, n)| grid::upper_us(b) * n as f64 / 1000.0)
            .sum(),
    );
    s.in_flight = Some(2.0);
    s.generator_cpu = Some(0.25);
    s.target_cpu = Some(0.5);
    s.target_rss_bytes = Some(1_000_000 + t_s);
    s
}

/// Serves the live routes over `hub` on 127.0.0.1, port 0, from a runtime of its own.
fn serve(hub: Option<Arc<LiveHub>>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    let state = AppState {
        store: None,
        live: hub,
        token: None,
    };
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            let app = live::routes().with_state(state);
            axum::serve(listener, app).await.unwrap();
        });
    });
    addr
}

#[test]
fn thinning_keeps_the_totals_and_the_percentiles_exact() {
    let hub = LiveHub::new(info());
    let mut all = Vec::new();
    let (mut requests, mut errors) = (0, 0);
    let n = 3 * MAX_SAMPLES as u64 + 17;
    for t in 0..n {
        let s = second(t, 100 + t % 7, t % 3, 4);
        requests += s.second.requests;
        errors += s.second.errors;
        grid::merge(&mut all, &s.second.latency_buckets);
        hub.sample(s);
    }
    let snap = hub.snapshot();
    assert!(snap.samples.len() <= MAX_SAMPLES, "{}", snap.samples.len());
    assert!(snap.samples.len() >= MAX_SAMPLES / 2);
    let kept: u64 = snap.samples.iter().map(|s| s.second.requests).sum();
    let kept_errors: u64 = snap.samples.iter().map(|s| s.second.errors).sum();
    let length: f64 = snap.samples.iter().map(|s| s.second.length_s).sum();
    assert_eq!((kept, kept_errors), (requests, errors));
    assert!((length - n as f64).abs() < 1e-6);
    let statuses: u64 = snap
        .samples
        .iter()
        .map(|s| s.statuses.as_ref().unwrap()[&200])
        .sum();
    assert_eq!(statuses, requests - errors);
    // Oldest first, contiguous: each sample starts where the one before ended.
    for pair in snap.samples.windows(2) {
        assert_eq!(
            pair[1].second.t_s as f64,
            pair[0].second.t_s as f64 + pair[0].second.length_s
        );
    }
    // The older samples were merged, the newest kept as they came.
    assert!(snap.samples[0].second.length_s > 1.0);
    assert_eq!(snap.samples.last().unwrap().second.length_s, 1.0);
    // The histograms merged bucket by bucket: the same whole-run percentiles.
    let mut merged = Vec::new();
    for s in &snap.samples {
        grid::merge(&mut merged, &s.second.latency_buckets);
    }
    assert_eq!(merged, all);
    let totals = hub.totals();
    assert_eq!((totals.requests, totals.errors), (requests, errors));
    assert_eq!(totals.latency_buckets, all);
    assert_eq!(totals.statuses[&503], errors);
}

#[test]
fn a_late_client_gets_the_replay_then_the_live_events_then_end() {
    let hub = LiveHub::new(info());
    let addr = serve(Some(hub.clone()));
    for t in 0..3 {
        hub.sample(second(t, 50, 1, 2));
    }
    hub.step(serde_json::json!({"index": 1, "offered": 100.0}));
    hub.alert(serde_json::json!({"rule": "p99 > 1ms", "state": "firing", "t_s": 2}));
    let mut reader = open_stream(addr);
    let mut names = Vec::new();
    let (name, hello) = next_event(&mut reader).unwrap();
    assert_eq!(name, "hello");
    let hello: Value = serde_json::from_str(&hello).unwrap();
    assert_eq!(hello["kind"], "load");
    assert_eq!(hello["window_s"], 10.0);
    for _ in 0..5 {
        names.push(next_event(&mut reader).unwrap());
    }
    let kinds: Vec<&str> = names.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(kinds, ["sample", "sample", "sample", "step", "alert"]);
    let first: LiveSample = serde_json::from_str(&names[0].1).unwrap();
    assert_eq!((first.second.t_s, first.second.requests), (0, 50));

    // Live from here on.
    hub.sample(second(3, 70, 0, 2));
    let (name, data) = next_event(&mut reader).unwrap();
    assert_eq!(name, "sample");
    assert_eq!(
        serde_json::from_str::<LiveSample>(&data)
            .unwrap()
            .second
            .t_s,
        3
    );
    hub.trial(serde_json::json!({"number": 1}));
    hub.end(Some(42));
    assert_eq!(next_event(&mut reader).unwrap().0, "trial");
    let (name, data) = next_event(&mut reader).unwrap();
    assert_eq!(name, "end");
    let end: Value = serde_json::from_str(&data).unwrap();
    assert_eq!(end["run_id"], 42);
    assert_eq!(end["url"], "/runs/42");
    // The stream closes after `end`.
    assert_eq!(next_event(&mut reader), None);

    // A client after the end gets everything and `end` at once.
    let mut reader = open_stream(addr);
    let mut after = Vec::new();
    while let Some((name, _)) = next_event(&mut reader) {
        after.push(name);
    }
    assert_eq!(
        after,
        [
            "hello", "sample", "sample", "sample", "sample", "step", "trial", "alert", "end"
        ]
    );
}

#[test]
fn a_hundred_clients_and_one_that_does_not_read_never_hold_the_run_up() {
    let hub = LiveHub::new(info());
    let addr = serve(Some(hub.clone()));
    let clients = 100;
    let seconds = 40u64;
    let (tx, rx) = mpsc::channel();
    let mut readers = Vec::new();
    for _ in 0..clients {
        let mut reader = open_stream(addr);
        let tx = tx.clone();
        readers.push(std::thread::spawn(move || {
            let mut requests = 0u64;
            let mut samples = 0;
            let mut ended = None;
            let _ = tx.send(());
            while let Some((name, data)) = next_event(&mut reader) {
                match name.as_str() {
                    "sample" => {
                        samples += 1;
                        requests += serde_json::from_str::<LiveSample>(&data)
                            .unwrap()
                            .second
                            .requests;
                    }
                    "end" => ended = Some(data),
                    _ => {}
                }
            }
            (samples, requests, ended)
        }));
    }
    for _ in 0..clients {
        rx.recv_timeout(Duration::from_secs(30)).unwrap();
    }
    // Connected, never reads a byte.
    let silent = open_stream(addr);

    // The run's observer: every call must return, whatever the clients do.
    let feeder = {
        std::thread::spawn(move || {
            let mut total = 0;
            for t in 0..seconds {
                let s = second(t, 1000 + t, 0, 8);
                total += s.second.requests;
                hub.sample(s);
            }
            hub.end(Some(7));
            total
        })
    };
    let (done_tx, done_rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = done_tx.send(feeder.join().unwrap());
    });
    let total = done_rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the hub's sample() was held up by its clients");
    for reader in readers {
        let (samples, requests, ended) = reader.join().unwrap();
        assert_eq!(samples, seconds);
        assert_eq!(requests, total);
        let ended: Value = serde_json::from_str(&ended.expect("no end event")).unwrap();
        assert_eq!(ended["run_id"], 7);
    }
    drop(silent);
}

#[test]
fn a_client_that_falls_behind_is_dropped_without_holding_the_run_up() {
    let hub = LiveHub::new(info());
    let addr = serve(Some(hub.clone()));
    let mut slow = open_stream(addr);
    // Each sample about 25 kB: the socket's buffers fill long before the hub's channel
    // (512 events) is overrun.
    let samples = 1500u64;
    let (tx, rx) = mpsc::channel();
    {
        std::thread::spawn(move || {
            for t in 0..samples {
                hub.sample(second(t, 3000, 0, 2000));
            }
            hub.end(None);
            let _ = tx.send(());
        });
    }
    rx.recv_timeout(Duration::from_secs(120))
        .expect("the hub's sample() was held up by a client that does not read");
    // Now it reads: what was buffered, then its stream ends without `end`, far short.
    let mut got = 0u64;
    let mut ended = false;
    while let Some((name, _)) = next_event(&mut slow) {
        match name.as_str() {
            "sample" => got += 1,
            "end" => ended = true,
            _ => {}
        }
    }
    assert!(!ended, "a client that fell behind was not dropped");
    assert!(got < samples, "{got} samples of {samples}");
}

/// Parses an exposition with Prometheus' own Python client and returns its samples as
/// JSON: `[[name, {labels}, value, family_type]]`. Fails when the parser is missing.
fn parse_with_prometheus_client(text: &str) -> Vec<(String, Value, f64, String)> {
    let script = r#"
import json, sys
from prometheus_client.parser import text_string_to_metric_families
out = []
for family in text_string_to_metric_families(sys.stdin.read()):
    for s in family.samples:
        out.append([s.name, s.labels, s.value, family.type])
print(json.dumps(out))
"#;
    let mut child = std::process::Command::new("python3")
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python3 is needed to check /metrics with prometheus_client");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "prometheus_client could not parse /metrics (is it installed? `pip install \
         prometheus_client`): {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Vec<(String, Value, f64, String)> = serde_json::from_slice(&out.stdout).unwrap();
    rows
}

fn value(rows: &[(String, Value, f64, String)], name: &str, labels: &[(&str, &str)]) -> f64 {
    rows.iter()
        .find(|(n, l, _, _)| {
            n == name
                && labels.iter().all(|(k, v)| l[*k] == *v)
                && l.as_object().map_or(0, serde_json::Map::len) == labels.len()
        })
        .unwrap_or_else(|| panic!("no {name} {labels:?}"))
        .2
}

#[test]
fn metrics_parse_as_prometheus_reads_them() {
    let hub = LiveHub::new(info());
    let addr = serve(Some(hub.clone()));
    for t in 0..5 {
        hub.sample(second(t, 200, 4, 6));
    }
    hub.alert(serde_json::json!({"rule": "error_rate > 1%", "state": "firing"}));
    let (head, body) = http_get(addr, "/metrics");
    assert!(head.starts_with("HTTP/1.0 200") || head.starts_with("HTTP/1.1 200"));
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: text/plain; version=0.0.4"),
        "{head}"
    );
    let rows = parse_with_prometheus_client(&body);
    let totals = hub.totals();
    assert_eq!(value(&rows, "perfloop_up", &[]), 1.0);
    assert_eq!(
        value(&rows, "perfloop_requests_total", &[("status", "200")]),
        (totals.requests - totals.errors) as f64
    );
    assert_eq!(
        value(&rows, "perfloop_requests_total", &[("status", "503")]),
        totals.errors as f64
    );
    let by_status: f64 = rows
        .iter()
        .filter(|(n, _, _, _)| n == "perfloop_requests_total")
        .map(|r| r.2)
        .sum();
    assert_eq!(by_status, 1000.0);
    let count = value(&rows, "perfloop_request_duration_seconds_count", &[]);
    assert_eq!(count, (totals.requests - totals.errors) as f64);
    let inf = value(
        &rows,
        "perfloop_request_duration_seconds_bucket",
        &[("le", "+Inf")],
    );
    assert_eq!(inf, count);
    // Cumulative: never decreasing with the bound.
    let mut buckets: Vec<(f64, f64)> = rows
        .iter()
        .filter(|(n, _, _, _)| n == "perfloop_request_duration_seconds_bucket")
        .map(|(_, l, v, _)| (l["le"].as_str().unwrap().parse::<f64>().unwrap(), *v))
        .collect();
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    assert!(buckets.windows(2).all(|w| w[0].1 <= w[1].1));
    assert!(buckets.len() >= 10);
    // All the responses took 1 to 1.5 ms.
    assert_eq!(
        value(
            &rows,
            "perfloop_request_duration_seconds_bucket",
            &[("le", "0.001")]
        ),
        0.0
    );
    assert_eq!(
        value(
            &rows,
            "perfloop_request_duration_seconds_bucket",
            &[("le", "0.0025")]
        ),
        count
    );
    let sum = value(&rows, "perfloop_request_duration_seconds_sum", &[]);
    assert!(sum > count * 0.001 && sum < count * 0.0025, "{sum}");
    assert!((value(&rows, "perfloop_generator_cpu_seconds_total", &[]) - 1.25).abs() < 1e-9);
    assert!((value(&rows, "perfloop_target_cpu_seconds_total", &[]) - 2.5).abs() < 1e-9);
    assert_eq!(
        value(&rows, "perfloop_target_resident_memory_bytes", &[]),
        1_000_004.0
    );
    assert_eq!(value(&rows, "perfloop_requests_in_flight", &[]), 2.0);
    assert_eq!(value(&rows, "perfloop_generator_saturated", &[]), 0.0);
    assert_eq!(value(&rows, "perfloop_alerts_firing", &[]), 1.0);
    let types: std::collections::BTreeMap<&str, &str> = rows
        .iter()
        .map(|(n, _, _, t)| (n.as_str(), t.as_str()))
        .collect();
    assert_eq!(
        types["perfloop_request_duration_seconds_bucket"],
        "histogram"
    );
    assert_eq!(types["perfloop_requests_total"], "counter");
    assert_eq!(types["perfloop_requests_in_flight"], "gauge");

    // Without a run: 200 and perfloop_up 0.
    let idle = serve(None);
    let (head, body) = http_get(idle, "/metrics");
    assert!(head.contains(" 200 "), "{head}");
    let rows = parse_with_prometheus_client(&body);
    assert_eq!(value(&rows, "perfloop_up", &[]), 0.0);
    let (head, _) = http_get(idle, "/api/live");
    assert!(head.contains(" 404 "), "{head}");
}

#[test]
fn the_performance_routes_answer_from_the_hub_while_live() {
    let hub = LiveHub::new(info());
    let addr = serve(Some(hub.clone()));
    for t in 0..10 {
        hub.sample(second(t, 100, 1, 3));
    }
    let (_, body) = http_get(addr, "/api/performance_metrics");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["api"], "perfloop.api.v1");
    assert_eq!(v["live"], true);
    assert_eq!(v["requests"], 1000);
    assert_eq!(v["errors"], 10);
    assert!((v["rps"].as_f64().unwrap() - 100.0).abs() < 1e-9);
    assert!(v["p99_ms"].as_f64().unwrap() > 1.0);

    let (_, body) = http_get(addr, "/api/performance_history?limit=4");
    let v: Value = serde_json::from_str(&body).unwrap();
    let samples = v["samples"].as_array().unwrap();
    assert_eq!(samples.len(), 4);
    assert_eq!(samples[0]["t_s"], 6);
    let (head, body) = http_get(addr, "/api/performance_history?limit=0");
    assert!(head.contains(" 400 "), "{head}");
    assert!(body.contains("perfloop.api.v1"));

    hub.set_target_pid(Some(std::process::id()));
    hub.alert(serde_json::json!({"rule": "rss > 1% of limit", "state": "firing"}));
    let (_, body) = http_get(addr, "/api/system_health");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["api"], "perfloop.api.v1");
    assert_eq!(v["target"]["up"], true);
    assert_eq!(v["target"]["rss_bytes"], 1_000_009);
    assert!(v["target"]["memory_limit_bytes"].as_u64().unwrap() > 0);
    assert!(v["host"]["mem_total_bytes"].as_u64().unwrap() > 0);
    assert_eq!(v["alerts"][0]["rule"], "rss > 1% of limit");
    assert_eq!(v["status"], "degraded");

    // Without a run and without a store: empty answers, not errors.
    let idle = serve(None);
    let (_, body) = http_get(idle, "/api/performance_metrics");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["live"], false);
    assert!(v["run"].is_null());
    let (_, body) = http_get(idle, "/api/system_health");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["live"], false);
    assert!(v["target"].is_null());
}
