//! `perfloop capacity` end to end against servers with known limits, each in its own
//! process on 127.0.0.1 so that the monitor watches the server and nothing else.
//!
//! The servers are `servers/limited.py` (Python asyncio, one event-loop thread):
//! - `pool:K:S_MS`: every request waits for one of K permits, then sleeps S ms: at most
//!   K/S requests per second, with almost no CPU (a waiting bottleneck);
//! - `cpu:US`: the handler spins US µs of CPU per request on the one thread: at most
//!   10⁶/US per second, that thread at 100 % (a serial hot path);
//!
//! each exiting after a given lifetime.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command as Process, Stdio};
use std::time::Duration;

use assert_cmd::Command;
use serde_json::Value;

/// A server process of `servers/limited.py`; killed on drop.
struct Server {
    child: Child,
    addr: String,
}

impl Server {
    fn start(kind: &str, lifetime_s: Option<f64>) -> Server {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/servers/limited.py");
        let mut cmd = Process::new("python3");
        cmd.arg(script)
            .arg(kind)
            .arg(lifetime_s.unwrap_or(120.0).to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut child = cmd.spawn().unwrap();
        let out = child.stdout.take().unwrap();
        let mut lines = BufReader::new(out).lines();
        let addr = loop {
            let line = lines
                .next()
                .expect("the server printed its address")
                .unwrap();
            if let Some(a) = line.strip_prefix("listening ") {
                break a.trim().to_string();
            }
        };
        // Keep draining the rest of its output so it never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Server { child, addr }
    }

    fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    fn pid(&self) -> String {
        self.child.id().to_string()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("perfloop-capacity-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// Runs perfloop; returns (exit code, stdout, stderr).
fn perfloop(args: &[&str]) -> (i32, String, String) {
    let out = Command::cargo_bin("perfloop")
        .unwrap()
        .args(args)
        .timeout(Duration::from_secs(150))
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn read_json(path: &std::path::Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn rules(record: &Value) -> Vec<String> {
    record["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap().to_string())
        .collect()
}

fn validate(record: &Value) {
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../perfloop-report/schema/perfloop.capacity.v1.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let mut schemas = boon::Schemas::new();
    let mut compiler = boon::Compiler::new();
    let run_schema: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../perfloop-report/schema/perfloop.run.v1.json"
        ))
        .unwrap(),
    )
    .unwrap();
    if let Some(id) = run_schema["$id"].as_str() {
        compiler.add_resource(id, run_schema.clone()).unwrap();
    }
    compiler.add_resource("capacity.json", schema).unwrap();
    let index = compiler.compile("capacity.json", &mut schemas).unwrap();
    if let Err(e) = schemas.validate(record, index) {
        panic!("the capacity record does not match its schema: {e:#}");
    }
}

/// K = 4 permits of S = 20 ms: at most 200 requests per second. The rate found must lie
/// in [0.8 × K/S, K/S]: the asked rate of the best passing step never above K/S, and its
/// measured throughput at most K/S plus the K requests that can complete in a window
/// beyond its rate (K / step duration).
#[test]
fn the_rate_found_lies_just_below_a_known_capacity() {
    let server = Server::start("pool:4:20", None);
    let json = scratch("known.json");
    let html = scratch("known.html");
    let (code, stdout, stderr) = perfloop(&[
        "capacity",
        &server.url(),
        "--pid",
        &server.pid(),
        "--slo",
        "p99<100ms",
        "--start-rate",
        "60",
        "--growth",
        "1.5",
        "--step-duration",
        "5s",
        "--step-warmup",
        "500ms",
        "--resolution",
        "5%",
        "--sample-interval",
        "250ms",
        "--max-time",
        "120s",
        "-q",
        "--json",
        json.to_str().unwrap(),
        "--html",
        html.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "stdout:\n{stdout}\nstderr:\n{stderr}");
    let record = read_json(&json);
    validate(&record);
    let capacity = 4.0 / 0.020;
    let result = &record["result"];
    let rate = result["max_passing_rate"].as_f64().unwrap();
    let throughput = result["max_sustainable_rps"].as_f64().unwrap();
    assert!(
        rate <= capacity && rate >= 0.8 * capacity,
        "max passing rate {rate} outside [{}, {capacity}]\n{stdout}",
        0.8 * capacity
    );
    assert!(
        throughput <= capacity + 4.0 / 5.0 && throughput >= 0.8 * capacity,
        "throughput {throughput}\n{stdout}"
    );
    assert!(result["resolved"].as_bool().unwrap(), "{stdout}");
    assert!(record["result"]["min_failing_rate"].as_f64().unwrap() > rate);
    assert!(stdout.contains("sustain"), "{stdout}");
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("<svg"), "the HTML report has plots");
}

/// Searches `kind` with short steps (a coarse resolution: the diagnosis needs steps on
/// both sides of the limit, not a precise rate) and returns the rules found, with the
/// summary for messages.
fn diagnosed(kind: &str, start_rate: &str) -> (Vec<String>, String) {
    let server = Server::start(kind, None);
    let json = scratch(&format!("{}.json", kind.replace(':', "-")));
    let (code, stdout, stderr) = perfloop(&[
        "capacity",
        &server.url(),
        "--pid",
        &server.pid(),
        "--slo",
        "p99<200ms",
        "--start-rate",
        start_rate,
        "--growth",
        "3",
        "--step-duration",
        "2s",
        "--step-warmup",
        "500ms",
        "--resolution",
        "25%",
        "--sample-interval",
        "200ms",
        "-q",
        "--json",
        json.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "stdout:\n{stdout}\nstderr:\n{stderr}");
    (rules(&read_json(&json)), stdout)
}

/// One thread spinning 2 ms per request: the one-thread CPU finding, not the waiting one.
#[test]
fn a_single_threaded_cpu_bound_server_is_diagnosed_as_a_serial_hot_path() {
    let (found, stdout) = diagnosed("cpu:2000", "100");
    assert!(
        found.iter().any(|r| r == "cpu_one_thread"),
        "{found:?}\n{stdout}"
    );
    assert!(!found.iter().any(|r| r == "waiting"), "{found:?}\n{stdout}");
}

/// Two permits of 10 ms: throughput flat at 200/s with an idle CPU: the waiting finding,
/// not the one-thread one. (On a machine busy with other work the CPU-of-the-machine
/// warning may come too: it is then true.)
#[test]
fn a_server_waiting_on_a_small_semaphore_is_diagnosed_as_waiting() {
    let (found, stdout) = diagnosed("pool:2:10", "50");
    assert!(found.iter().any(|r| r == "waiting"), "{found:?}\n{stdout}");
    assert!(
        !found.iter().any(|r| r == "cpu_one_thread"),
        "{found:?}\n{stdout}"
    );
}

/// A sweep of closed-model concurrencies fits the Universal Scalability Law.
#[test]
fn a_concurrency_sweep_is_fitted() {
    let server = Server::start("pool:4:5", None);
    let json = scratch("sweep.json");
    let (code, stdout, stderr) = perfloop(&[
        "capacity",
        &server.url(),
        "--slo",
        "p99<500ms",
        "--start-rate",
        "100",
        "--max-rate",
        "200",
        "--step-duration",
        "1s",
        "--step-warmup",
        "200ms",
        "--concurrency",
        "1,2,3,4,6,8,12",
        "-q",
        "--json",
        json.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "stdout:\n{stdout}\nstderr:\n{stderr}");
    let record = read_json(&json);
    validate(&record);
    let sweep = &record["sweep"];
    assert_eq!(sweep["points"].as_array().unwrap().len(), 7);
    let usl = &sweep["usl"];
    assert!(usl.is_object(), "fit failed: {}", sweep["usl_error"]);
    // 4 permits of 5 ms: about 200/s per connection, levelling off at most 800/s from
    // concurrency 4 on; the law must see the ceiling, not linear scaling.
    let lambda = usl["lambda"].as_f64().unwrap();
    assert!(lambda > 100.0 && lambda < 260.0, "λ {lambda}");
    assert_ne!(usl["limit"], "linear", "{usl}");
    let peak = usl["max_throughput_rps"].as_f64().unwrap();
    assert!(peak < 1.1 * 800.0, "{usl}");
    assert!(usl["r_squared"].as_f64().unwrap() > 0.8, "{usl}");
}

#[test]
fn an_unreachable_target_exits_3_with_the_step_reported() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let json = scratch("unreachable.json");
    let url = format!("http://127.0.0.1:{port}/");
    let (code, _, stderr) = perfloop(&[
        "capacity",
        &url,
        "--step-duration",
        "1s",
        "-q",
        "--json",
        json.to_str().unwrap(),
    ]);
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("no connection"), "{stderr}");
    let record = read_json(&json);
    assert_eq!(record["ending"], "unreachable");
    assert_eq!(record["steps"].as_array().unwrap().len(), 1);
}

#[test]
fn an_objective_broken_at_the_start_rate_exits_1() {
    let server = Server::start("pool:2:10", None);
    let json = scratch("start.json");
    let (code, stdout, stderr) = perfloop(&[
        "capacity",
        &server.url(),
        "--slo",
        "p50<1ms",
        "--start-rate",
        "20",
        "--step-duration",
        "1s",
        "--step-warmup",
        "0s",
        "-q",
        "--json",
        json.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "stdout:\n{stdout}\nstderr:\n{stderr}");
    let record = read_json(&json);
    assert_eq!(record["ending"], "failed_at_start");
    assert!(record["result"]["max_sustainable_rps"].is_null());
    assert!(stdout.contains("p50<1ms"), "{stdout}");
}

#[test]
fn a_target_that_dies_mid_search_exits_3_and_keeps_its_steps() {
    let server = Server::start("pool:8:1", Some(2.5));
    let json = scratch("died.json");
    let (code, _, stderr) = perfloop(&[
        "capacity",
        &server.url(),
        "--pid",
        &server.pid(),
        "--start-rate",
        "20",
        "--step-duration",
        "1s",
        "--step-warmup",
        "0s",
        "-q",
        "--json",
        json.to_str().unwrap(),
    ]);
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("exited"), "{stderr}");
    let record = read_json(&json);
    assert_eq!(record["ending"], "target_died");
    let steps = record["steps"].as_array().unwrap();
    assert!(!steps.is_empty());
    assert!(
        steps.iter().any(|s| s["verdict"]["pass"] == true),
        "{record}"
    );
}

#[test]
fn bad_capacity_flags_exit_2_naming_the_text() {
    for (args, needle) in [
        (&["--concurrency", "1,2,4"][..], "at least 6"),
        (&["--growth", "0.5"][..], "--growth"),
        (&["--resolution", "150%"][..], "150%"),
        (&["--start-rate", "fast"][..], "fast"),
        (&["--slo", "p99<<5ms"][..], "p99<<5ms"),
        (&["--step-duration", "100ms"][..], "100ms"),
    ] {
        let mut all = vec!["capacity", "http://127.0.0.1:9/"];
        all.extend_from_slice(args);
        let (code, _, stderr) = perfloop(&all);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
    }
}
