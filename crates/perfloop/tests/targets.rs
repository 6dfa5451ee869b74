//! Managed and watched targets through the command line: lifecycle, readiness, resource
//! samples in the run record, no orphans, scraping the demo target's own metrics, and
//! command benchmarks.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::path::PathBuf;
use std::process::{Command as Process, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::Command;

fn exe() -> PathBuf {
    assert_cmd::cargo::cargo_bin("perfloop")
}

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(exe())
        .env(
            "PERFLOOP_DB",
            concat!(env!("CARGO_TARGET_TMPDIR"), "/history.db"),
        )
        .args(args)
        .timeout(Duration::from_secs(90))
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        !s.rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z')
    })
}

fn wait_gone(pid: u32, within: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < within {
        if !alive(pid) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("perfloop-targets-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A python HTTP server that writes its pid to `pidfile` first.
fn http_server_cmd(pidfile: &std::path::Path) -> String {
    format!(
        "sh -c 'echo $$ > {}; exec python3 -m http.server --bind 127.0.0.1 {{port}}'",
        pidfile.display()
    )
}

#[test]
fn managed_target_is_started_watched_and_stopped() {
    let dir = scratch("managed");
    let pidfile = dir.join("pid");
    let port = free_port();
    let (code, out, err) = run(&[
        "load",
        &format!("http://127.0.0.1:{port}/"),
        "-c",
        "2",
        "-d",
        "1500ms",
        "--target-cmd",
        &http_server_cmd(&pidfile),
        "--knob",
        &format!("port={port}"),
        "--sample-interval",
        "200ms",
        "--json",
        "-",
        "-q",
    ]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let pid: u32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(v["target"]["pid"], pid);
    assert!(
        v["target"]["samples"].as_array().unwrap().len() >= 5,
        "{}",
        v["target"]
    );
    assert!(v["target"]["summary"]["rss_max_mb"].as_f64().unwrap() > 1.0);
    assert!(v["requests"]["ok"].as_u64().unwrap() > 0);
    assert!(err.contains("Target resources"), "{err}");
    assert!(
        wait_gone(pid, Duration::from_secs(5)),
        "the target outlived perfloop"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn no_orphan_when_perfloop_is_killed() {
    let dir = scratch("killed");
    let pidfile = dir.join("pid");
    let port = free_port();
    let mut child = Process::new(exe())
        .args([
            "load",
            &format!("http://127.0.0.1:{port}/"),
            "-c",
            "1",
            "-d",
            "60s",
            "-q",
            "--target-cmd",
            &http_server_cmd(&pidfile),
            "--knob",
            &format!("port={port}"),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let pid = loop {
        let text = std::fs::read_to_string(&pidfile).unwrap_or_default();
        if let Ok(pid) = text.trim().parse::<u32>() {
            break pid;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the target never started"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(alive(pid));
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        wait_gone(pid, Duration::from_secs(10)),
        "target {pid} survived a SIGKILL of perfloop"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn target_problems_have_the_right_exit_codes() {
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}/");
    // A placeholder with no value: exit 2 naming it.
    let (code, _, err) = run(&["load", &url, "-d", "1s", "--target-cmd", "sleep {seconds}"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("seconds"), "{err}");
    // A target that exits at once: exit 3 with its last log lines.
    let (code, _, err) = run(&[
        "load",
        &url,
        "-d",
        "1s",
        "--target-cmd",
        "sh -c 'echo kaboom-from-target; exit 4'",
    ]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("kaboom-from-target"), "{err}");
    // Never ready: exit 3, target stopped.
    let (code, _, err) = run(&[
        "load",
        &url,
        "-d",
        "1s",
        "--target-cmd",
        "sleep 30",
        "--ready",
        "log:never-printed",
        "--ready-timeout",
        "500ms",
    ]);
    assert_eq!(code, 3, "{err}");
    // --pid of no process: exit 2.
    let (code, _, err) = run(&["load", &url, "-d", "1s", "--pid", "999999999"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("999999999"), "{err}");
    // Sampling faster than 100 ms: exit 2.
    let (code, _, err) = run(&["load", &url, "-d", "1s", "--sample-interval", "10ms"]);
    assert_eq!(code, 2, "{err}");
}

#[cfg(feature = "demo")]
#[test]
fn scraping_reads_the_demo_targets_own_metrics() {
    let port = free_port();
    let exe = exe();
    let (code, out, err) = run(&[
        "load",
        &format!("http://127.0.0.1:{port}/health"),
        "-c",
        "2",
        "-d",
        "1s",
        "--target-cmd",
        &format!(
            "'{}' demo-target --listen 127.0.0.1:{{port}} --users 2000",
            exe.display()
        ),
        "--knob",
        &format!("port={port}"),
        "--ready",
        &format!("http://127.0.0.1:{port}/health"),
        "--scrape",
        &format!("http://127.0.0.1:{port}/metrics"),
        "--sample-interval",
        "200ms",
        "--json",
        "-",
        "-q",
    ]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let series = v["target"]["scraped"].as_array().unwrap();
    assert!(
        !series.is_empty(),
        "nothing scraped: {}",
        v["target"]["monitor_errors"]
    );
    assert!(
        series
            .iter()
            .all(|s| !s["points"].as_array().unwrap().is_empty())
    );
}

#[test]
fn bench_cmd_measures_a_deterministic_command() {
    let (code, out, err) = run(&[
        "bench-cmd",
        "echo processed {n} records",
        "--param",
        "n=100,200",
        "--runs",
        "3",
        "--warmup",
        "0",
        "--work-regex",
        r"processed (\d+)",
        "--json",
        "-",
    ]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["schema"], "perfloop.bench.v1");
    assert_eq!(v["results"].as_array().unwrap().len(), 2);
    let (code, _, err) = run(&["bench-cmd", "echo hi", "--runs", "2", "--work-regex", "hi"]);
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = run(&[
        "bench-cmd",
        "echo hi",
        "--runs",
        "2",
        "--work-regex",
        r"processed (\d+)",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("processed"), "{err}");
}
