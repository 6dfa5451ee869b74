//! `--serve` end to end: a load run against an in-process axum server streams its seconds
//! to a client of `/api/live` while it goes, ends the stream with the saved run's id, and
//! its samples add up to the run's record; `/metrics` counts the same requests while the
//! dashboard lingers. An address that is busy or not an address, and an alert rule that does
//! not parse, exit 2 before any load.

#![cfg(feature = "dashboard")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;
#[path = "../../perfloop-serve/tests/sse_client/mod.rs"]
mod sse_client;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use serde_json::Value;
use sse_client::{next_event, open_stream};

/// A target that counts the requests it answers.
fn counted_server() -> (SocketAddr, Arc<AtomicU64>) {
    let hits = Arc::new(AtomicU64::new(0));
    let counter = hits.clone();
    let app = Router::new().route(
        "/",
        get(move || {
            counter.fetch_add(1, Ordering::Relaxed);
            async { "hello\n" }
        }),
    );
    (common::serve(app), hits)
}

/// A webhook receiver: the JSON bodies POSTed to it.
fn hook_server() -> (SocketAddr, Arc<Mutex<Vec<Value>>>) {
    let got = Arc::new(Mutex::new(Vec::new()));
    let into = got.clone();
    let app = Router::new().route(
        "/hook",
        post(move |axum::Json(body): axum::Json<Value>| {
            into.lock().unwrap().push(body);
            async { "ok" }
        }),
    );
    (common::serve(app), got)
}

/// A fresh directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("serve-live-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Starts perfloop with its stderr read line by line into a channel.
fn spawn(dir: &Path, args: &[&str]) -> (Child, mpsc::Receiver<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_perfloop"))
        .current_dir(dir)
        .env("PERFLOOP_DB", dir.join("live.db"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    (child, rx)
}

/// Waits for a line of stderr that starts with `prefix`; the lines before it are kept.
fn wait_for(rx: &mpsc::Receiver<String>, prefix: &str, seen: &mut Vec<String>) -> String {
    loop {
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("no line starting with {prefix:?}; stderr: {seen:#?}"));
        seen.push(line.clone());
        if let Some(rest) = line.strip_prefix(prefix) {
            return rest.to_owned();
        }
    }
}

/// The rest of stderr, to its end.
fn rest(rx: &mpsc::Receiver<String>) -> String {
    let mut lines = Vec::new();
    while let Ok(line) = rx.recv_timeout(Duration::from_secs(10)) {
        lines.push(line);
    }
    lines.join("\n")
}

/// Waits for the process to exit (bounded); its exit code.
fn wait(child: &mut Child, limit: Duration) -> i32 {
    let start = std::time::Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code().unwrap_or(-1);
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("perfloop did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `http://127.0.0.1:PORT/` → the address.
fn addr_of(url: &str) -> SocketAddr {
    let rest = url.trim().strip_prefix("http://").unwrap();
    rest.split('/').next().unwrap().parse().unwrap()
}

/// `GET path` on `addr`, which must answer 200: the body.
fn http_get(addr: SocketAddr, path: &str) -> String {
    let (head, body) = sse_client::http_get(addr, path);
    assert!(
        head.starts_with("HTTP/1.0 200") || head.starts_with("HTTP/1.1 200"),
        "{head}"
    );
    body
}

#[test]
fn a_load_run_is_served_live_and_its_samples_add_up_to_its_record() {
    let (target, _) = counted_server();
    let (hook, posted) = hook_server();
    let hook_url = format!("http://{hook}/hook");
    let dir = scratch("load");
    let url = format!("http://{target}/");
    let json = dir.join("run.json");
    let (mut child, rx) = spawn(
        &dir,
        &[
            "load",
            &url,
            "-c",
            "2",
            "-d",
            "4s",
            "--serve",
            "127.0.0.1:0",
            "--serve-linger",
            "5s",
            "--json",
            json.to_str().unwrap(),
            "--alert",
            "rps > 1",
            "--alert-webhook",
            &hook_url,
        ],
    );
    let mut seen = Vec::new();
    let dashboard = wait_for(&rx, "dashboard: ", &mut seen);
    assert!(dashboard.starts_with("http://127.0.0.1:"), "{dashboard}");
    let addr = addr_of(&dashboard);
    assert_ne!(addr.port(), 0);

    let mut stream = open_stream(addr);
    let (name, hello) = next_event(&mut stream).unwrap();
    assert_eq!(name, "hello");
    let hello: Value = serde_json::from_str(&hello).unwrap();
    assert_eq!(hello["kind"], "load");
    assert_eq!(hello["target"], url.as_str());
    assert_eq!(hello["window_s"], 4.0);
    let mut samples = Vec::new();
    let mut alerts = Vec::new();
    let mut end = None;
    while let Some((name, data)) = next_event(&mut stream) {
        match name.as_str() {
            "sample" => samples.push(serde_json::from_str::<Value>(&data).unwrap()),
            "alert" => alerts.push(serde_json::from_str::<Value>(&data).unwrap()),
            "end" => {
                end = Some(serde_json::from_str::<Value>(&data).unwrap());
                break;
            }
            other => panic!("unexpected event {other}: {data}"),
        }
    }
    let end = end.expect("the stream ended without `end`");
    assert!(
        samples.len() >= 2,
        "{} samples before the end",
        samples.len()
    );
    let run_id = end["run_id"].as_i64().expect("the saved run's id");
    assert_eq!(end["url"], format!("/runs/{run_id}"));
    let saved = wait_for(&rx, "saved as run ", &mut seen);
    assert!(saved.starts_with(&format!("{run_id} in ")), "{saved}");

    // The samples are the run's seconds: the same requests as its record.
    let record: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let sum = |key: &str| {
        samples
            .iter()
            .map(|s| s[key].as_u64().unwrap())
            .sum::<u64>()
    };
    let timeline: u64 = record["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["requests"].as_u64().unwrap())
        .sum();
    assert!(sum("requests") > 0);
    assert_eq!(sum("requests"), timeline);
    assert_eq!(
        sum("requests"),
        record["requests"]["total"].as_u64().unwrap()
    );
    assert_eq!(
        sum("errors"),
        record["requests"]["errors"].as_u64().unwrap()
    );
    let ok_by_status: u64 = samples
        .iter()
        .map(|s| s["statuses"]["200"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(ok_by_status, record["requests"]["ok"].as_u64().unwrap());
    for (i, s) in samples.iter().enumerate() {
        assert_eq!(s["t_s"].as_u64(), Some(i as u64), "{s}");
        assert!(s["generator_cpu"].as_f64().is_some(), "{s}");
        assert!(s["in_flight"].as_f64().is_some(), "{s}");
    }

    // The alert fired in the first second: on stderr, in the stream, posted to the webhook,
    // in the record.
    assert!(
        seen.iter().any(|l| l.starts_with("alert firing: rps > 1")),
        "{seen:#?}"
    );
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0]["rule"], "rps > 1");
    assert_eq!(alerts[0]["state"], "firing");
    assert_eq!(alerts[0]["t_s"], 0);
    assert!(alerts[0]["at"].is_string());
    assert_eq!(record["alerts"].as_array().unwrap().len(), 1);
    assert_eq!(record["alerts"][0]["rule"], "rps > 1");
    assert_eq!(*posted.lock().unwrap(), [record["alerts"][0].clone()]);

    // Lingering: /metrics counts the same requests, and says the run ended.
    let metrics = http_get(addr, "/metrics");
    let line = |name: &str| {
        metrics
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("no {name} in {metrics}"))
            .rsplit(' ')
            .next()
            .unwrap()
            .parse::<f64>()
            .unwrap()
    };
    assert_eq!(line("perfloop_run_ended "), 1.0);
    assert_eq!(
        line("perfloop_requests_total{status=\"200\"} "),
        record["requests"]["ok"].as_u64().unwrap() as f64
    );
    // The latencies' sum is measured: its mean agrees with the record's (HDR, 0.1 %).
    let mean_s = line("perfloop_request_duration_seconds_sum ")
        / line("perfloop_request_duration_seconds_count ");
    let recorded = record["latency_ms"]["mean"].as_f64().unwrap() / 1000.0;
    assert!(
        (mean_s / recorded - 1.0).abs() < 0.01,
        "{mean_s} against {recorded}"
    );
    // A client after the end gets the whole run and `end` at once.
    let mut late = open_stream(addr);
    let mut names = Vec::new();
    while let Some((name, _)) = next_event(&mut late) {
        names.push(name);
    }
    assert_eq!(names.first().map(String::as_str), Some("hello"));
    assert_eq!(names.last().map(String::as_str), Some("end"));
    assert_eq!(
        names.iter().filter(|n| *n == "sample").count(),
        samples.len()
    );

    assert_eq!(wait(&mut child, Duration::from_secs(30)), 0, "{seen:#?}");
}

#[test]
fn a_busy_address_exits_2_naming_it_before_any_load() {
    let (target, hits) = counted_server();
    let dir = scratch("busy");
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken = busy.local_addr().unwrap().to_string();
    let url = format!("http://{target}/");
    let (mut child, rx) = spawn(&dir, &["load", &url, "-d", "30s", "--serve", &taken]);
    let code = wait(&mut child, Duration::from_secs(20));
    let stderr = rest(&rx);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains(&taken), "{stderr}");
    assert_eq!(hits.load(Ordering::Relaxed), 0, "the target was loaded");
    drop(busy);
}

#[test]
fn bad_serve_text_and_bad_alert_rules_exit_2_before_any_load() {
    let (target, hits) = counted_server();
    let dir = scratch("bad");
    let url = format!("http://{target}/");
    // A scenario's own rules are checked as strictly, at their place in the file.
    let scenario = dir.join("alerting.toml");
    std::fs::write(
        &scenario,
        "alerts = [\"p99 > 1ms\", \"p99 > 2x\"]\n\n[[request]]\nname = \"a\"\npath = \"/\"\n",
    )
    .unwrap();
    let scenario = scenario.to_str().unwrap();
    for (args, expected) in [
        (vec!["--scenario", scenario], "alerting.toml:1:32"),
        (
            vec!["--serve", "not-an-address"],
            "--serve 'not-an-address'",
        ),
        (vec!["--serve", "127.0.0.1:99999"], "127.0.0.1:99999"),
        (
            vec!["--serve", "127.0.0.1:0", "--serve-linger", "soon"],
            "--serve-linger 'soon'",
        ),
        (vec!["--alert", "p99 >> 200ms"], "column"),
    ] {
        let mut all = vec!["load", url.as_str(), "-d", "30s"];
        all.extend(args.iter().copied());
        let (mut child, rx) = spawn(&dir, &all);
        let code = wait(&mut child, Duration::from_secs(20));
        let stderr = rest(&rx);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
    // `--serve` before the URL takes it as its address: the missing URL is explained.
    let (mut child, rx) = spawn(&dir, &["load", "--serve", url.as_str(), "-d", "30s"]);
    let code = wait(&mut child, Duration::from_secs(20));
    let stderr = rest(&rx);
    assert_eq!(code, 2, "{stderr}");
    let hint = format!("hint: --serve took '{url}' as the dashboard's address");
    assert!(stderr.contains(&hint), "{stderr}");
    assert!(stderr.contains("--serve=ADDR"), "{stderr}");
    assert_eq!(hits.load(Ordering::Relaxed), 0, "the target was loaded");
}

#[test]
fn a_capacity_search_is_served_step_by_step() {
    let (target, _) = counted_server();
    let dir = scratch("capacity");
    let url = format!("http://{target}/");
    let json = dir.join("capacity.json");
    let (mut child, rx) = spawn(
        &dir,
        &[
            "capacity",
            &url,
            "--slo",
            "p99<2s",
            "--start-rate",
            "50",
            "--growth",
            "2",
            "--max-rate",
            "100",
            "--step-duration",
            "2s",
            "--step-warmup",
            "0s",
            "--json",
            json.to_str().unwrap(),
            "--serve=127.0.0.1:0",
            "--serve-linger",
            "10s",
        ],
    );
    let mut seen = Vec::new();
    let addr = addr_of(&wait_for(&rx, "dashboard: ", &mut seen));
    let mut stream = open_stream(addr);
    let (name, hello) = next_event(&mut stream).unwrap();
    assert_eq!(name, "hello");
    assert_eq!(
        serde_json::from_str::<Value>(&hello).unwrap()["kind"],
        "capacity"
    );
    let (mut samples, mut steps, mut end) = (Vec::new(), Vec::new(), None);
    while let Some((name, data)) = next_event(&mut stream) {
        let value: Value = serde_json::from_str(&data).unwrap();
        match name.as_str() {
            "sample" => samples.push(value),
            "step" => steps.push(value),
            "end" => end = Some(value),
            other => panic!("unexpected event {other}: {data}"),
        }
    }
    let end = end.expect("no end event");
    // The saved search's page is the capacity report, while the dashboard lingers.
    let page = http_get(addr, end["url"].as_str().expect("the saved run's page"));
    assert!(page.contains("<section id=\"steps\">"), "{page}");
    assert_eq!(wait(&mut child, Duration::from_secs(60)), 0, "{seen:#?}");
    let record: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let recorded = record["steps"].as_array().unwrap();
    assert!(recorded.len() >= 2, "{record}");
    // Each step as the record has it, in order.
    assert_eq!(&steps, recorded);
    // Each step's seconds, one after the other on the dashboard's axis.
    // (The timelines: an open-model step's requests answered after its window, while it
    // drained, are in its totals only.)
    let per_step: u64 = recorded
        .iter()
        .flat_map(|s| s["run"]["timeline"].as_array().unwrap())
        .map(|r| r["requests"].as_u64().unwrap())
        .sum();
    assert!(per_step > 0);
    let streamed: u64 = samples
        .iter()
        .map(|s| s["requests"].as_u64().unwrap())
        .sum();
    assert_eq!(streamed, per_step);
    let t: Vec<u64> = samples.iter().map(|s| s["t_s"].as_u64().unwrap()).collect();
    assert!(t.windows(2).all(|w| w[1] == w[0] + 1), "{t:?}");
    assert!(end["run_id"].as_i64().is_some(), "{end}");
}

#[test]
fn a_study_is_served_trial_by_trial() {
    let dir = scratch("tune");
    let server = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/servers/limited.py");
    let study = dir.join("study.toml");
    std::fs::write(
        &study,
        format!(
            r#"name = "served"

[target]
command = "python3 {server} pool:{{permits}}:20 60 {{port}}"
ready_timeout = "10s"

[knobs.permits]
type = "int"
low = 1
high = 4
default = 1

[workload]
load = {{ url = "http://127.0.0.1:{{port}}/", connections = 4, duration = "1s", warmup = "200ms" }}

[objective]
maximize = "throughput"

[budget]
seed = 3
trials = 2
finalists = 0
"#
        ),
    )
    .unwrap();
    let json = dir.join("study.json");
    let (mut child, rx) = spawn(
        &dir,
        &[
            "tune",
            study.to_str().unwrap(),
            "--json",
            json.to_str().unwrap(),
            "--serve=127.0.0.1:0",
            "--serve-linger",
            "10s",
        ],
    );
    let mut seen = Vec::new();
    let addr = addr_of(&wait_for(&rx, "dashboard: ", &mut seen));
    let mut stream = open_stream(addr);
    let (name, hello) = next_event(&mut stream).unwrap();
    assert_eq!(name, "hello");
    assert_eq!(
        serde_json::from_str::<Value>(&hello).unwrap()["kind"],
        "tune"
    );
    let (mut samples, mut trials, mut end) = (0, Vec::new(), None);
    while let Some((name, data)) = next_event(&mut stream) {
        let value: Value = serde_json::from_str(&data).unwrap();
        match name.as_str() {
            "sample" => samples += 1,
            "trial" => trials.push(value),
            "end" => end = Some(value),
            other => panic!("unexpected event {other}: {data}"),
        }
    }
    let end = end.expect("no end event");
    // The saved study's page is the study report, while the dashboard lingers.
    let page = http_get(addr, end["url"].as_str().expect("the saved study's page"));
    assert!(page.contains("<section id=\"conclusion\">"), "{page}");
    assert_eq!(wait(&mut child, Duration::from_secs(60)), 0, "{seen:#?}");
    let record: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    // Each trial as the study record has it, in order; the trials' seconds live.
    assert_eq!(&trials, record["trials"].as_array().unwrap());
    assert_eq!(trials.len(), 2);
    assert!(samples >= 2, "{samples} samples");
    assert!(end["run_id"].as_i64().is_some(), "{end}");
}
