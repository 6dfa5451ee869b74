//! The history end to end: loads against an in-process axum server saved with tags into a
//! store of their own, then `history` (filters, JSON, `--changes`), `show` and `diagnose`
//! reading them back, and the errors that name what exists.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use assert_cmd::Command;
use axum::Router;
use axum::routing::get;
use perfloop_report::Headline;
use perfloop_store::{HistoryRun, RunKind, Store};
use serde_json::Value;

fn server() -> SocketAddr {
    static ADDR: OnceLock<SocketAddr> = OnceLock::new();
    *ADDR.get_or_init(|| common::serve(Router::new().route("/", get(|| async { "hello\n" }))))
}

/// A fresh directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("history-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs perfloop in `dir` (so no default store outside it is touched); (code, stdout,
/// stderr).
fn perfloop(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::cargo_bin("perfloop")
        .unwrap()
        .current_dir(dir)
        .env("PERFLOOP_DB", dir.join("default.db"))
        .args(args)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The rows of the history table for run ids (the first field of each row).
fn listed_ids(table: &str) -> Vec<i64> {
    table
        .lines()
        .skip(1)
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_whitespace().next()?.parse().ok())
        .collect()
}

#[test]
fn saved_loads_are_listed_shown_and_diagnosed() {
    let dir = scratch("loads");
    let db = dir.join("h.db");
    let db = db.to_str().unwrap();
    let url = format!("http://{}/", server());
    let mut printed = Vec::new();
    for (i, branch) in ["main", "feature"].iter().enumerate() {
        let json = dir.join(format!("run{i}.json"));
        let tag = format!("branch={branch}");
        let (code, out, err) = perfloop(
            &dir,
            &[
                "load",
                &url,
                "-c",
                "2",
                "-d",
                "2s",
                "-q",
                "--store",
                db,
                "--tag",
                &tag,
                "--tag",
                "host=ci",
                "-H",
                "Authorization: Bearer s3cret",
                "--json",
                json.to_str().unwrap(),
            ],
        );
        assert_eq!(code, 0, "{err}");
        assert!(
            err.contains(&format!("saved as run {} in {db}", i + 1)),
            "{err}"
        );
        printed.push((out, std::fs::read_to_string(&json).unwrap()));
    }
    let record: Value = serde_json::from_str(&printed[0].1).unwrap();
    let target = record["target"]["url"].as_str().unwrap().to_owned();

    // The table: newest first, tags, a sparkline of the run's seconds.
    let (code, table, err) = perfloop(&dir, &["history", "--store", db]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(listed_ids(&table), [2, 1], "{table}");
    let first = table.lines().nth(1).unwrap();
    assert!(first.contains("branch=feature host=ci"), "{table}");
    assert!(first.contains(" load "), "{table}");
    assert!(first.chars().any(|c| ('▁'..='█').contains(&c)), "{table}");
    assert!(table.contains("branch=main"), "{table}");

    // Filters.
    let ids = |args: &[&str]| {
        let mut all = vec!["history", "--store", db];
        all.extend_from_slice(args);
        let (code, out, err) = perfloop(&dir, &all);
        assert_eq!(code, 0, "{args:?}: {err}");
        (listed_ids(&out), out)
    };
    assert_eq!(ids(&["--tag", "branch=main"]).0, [1]);
    assert_eq!(ids(&["--tag", "branch=main", "--tag", "host=ci"]).0, [1]);
    assert_eq!(ids(&["--kind", "load"]).0, [2, 1]);
    assert_eq!(ids(&["--target", &target]).0, [2, 1]);
    assert_eq!(ids(&["--since", "1h"]).0, [2, 1]);
    assert_eq!(ids(&["--since", "2000-01-01"]).0, [2, 1]);
    let (none, text) = ids(&["--since", "2999-01-01T00:00:00Z"]);
    assert!(
        none.is_empty() && text.contains("matches these filters"),
        "{text}"
    );
    let (none, text) = ids(&["--kind", "capacity"]);
    assert!(
        none.is_empty() && text.contains("matches these filters"),
        "{text}"
    );
    assert!(ids(&["--target", "http://elsewhere/"]).0.is_empty());
    let (limited, text) = ids(&["--limit", "1"]);
    assert_eq!(limited, [2]);
    assert!(text.contains("1 of 2 matching runs shown"), "{text}");
    let (code, _, err) = perfloop(&dir, &["history", "--store", db, "--since", "lately"]);
    assert_eq!(code, 2);
    assert!(err.contains("'lately'"), "{err}");

    // JSON.
    let (code, out, err) = perfloop(&dir, &["history", "--store", db, "--json"]);
    assert_eq!(code, 0, "{err}");
    let list: Vec<Value> = serde_json::from_str(&out).unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["id"], 2);
    assert_eq!(list[0]["kind"], "load");
    assert_eq!(list[0]["target"], target.as_str());
    assert_eq!(list[1]["tags"]["branch"], "main");
    assert!(list[0]["headline"]["throughput_rps"].as_f64().unwrap() > 0.0);
    assert!(list[0]["host"]["cores"].as_u64().unwrap() >= 1);
    assert!(list[0]["started_at"].as_str().unwrap().ends_with('Z'));
    let line = list[0]["command_line"].as_str().unwrap();
    assert!(
        line.contains("Authorization: REDACTED") && !line.contains("s3cret"),
        "{line}"
    );

    // show: the text the load printed, the JSON it wrote.
    for (id, (text, json)) in ["1", "2"].iter().zip(&printed) {
        let (code, out, err) = perfloop(&dir, &["show", id, "--store", db]);
        assert_eq!(code, 0, "{err}");
        assert_eq!(&out, text);
        let (code, out, err) = perfloop(&dir, &["show", id, "--store", db, "--json"]);
        assert_eq!(code, 0, "{err}");
        assert_eq!(&out, json);
    }
    assert_eq!(
        perfloop(&dir, &["show", "latest", "--store", db]).1,
        printed[1].0
    );
    assert_eq!(
        perfloop(&dir, &["show", "tag:branch=main", "--store", db]).1,
        printed[0].0
    );
    let html = dir.join("run.html");
    let (code, _, err) = perfloop(
        &dir,
        &["show", "1", "--store", db, "--html", html.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{err}");
    assert!(std::fs::read_to_string(&html).unwrap().contains("<html"));

    // diagnose.
    let (code, out, err) = perfloop(&dir, &["diagnose", "1", "--store", db]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("Diagnosis of run 1 (load, "), "{out}");
    assert!(out.contains("\nFindings\n"), "{out}");
    let (code, out, err) = perfloop(&dir, &["diagnose", "latest", "--store", db, "--json"]);
    assert_eq!(code, 0, "{err}");
    let diagnosis: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(diagnosis["run"], 2);
    assert!(diagnosis["findings"].is_array());

    // What does not exist says what does.
    let (code, _, err) = perfloop(&dir, &["show", "99", "--store", db]);
    assert_eq!(code, 2);
    assert!(
        err.contains("run 99 is not in the store") && err.contains("ids 1 to 2"),
        "{err}"
    );
    let (code, _, err) = perfloop(&dir, &["diagnose", "tag:branch=nope", "--store", db]);
    assert_eq!(code, 2);
    assert!(err.contains("branch=nope"), "{err}");
    assert!(
        err.contains("branch=main (1 run)") && err.contains("host=ci (2 runs)"),
        "{err}"
    );
    for command in ["show", "diagnose"] {
        let (code, _, err) = perfloop(&dir, &[command, "yesterday", "--store", db]);
        assert_eq!(code, 2, "{command}");
        assert!(
            err.contains("run 'yesterday'") && err.contains("tag:KEY=VALUE"),
            "{err}"
        );
    }
    let (code, _, err) = perfloop(
        &dir,
        &["load", &url, "-d", "1s", "--store", db, "--tag", "oops"],
    );
    assert_eq!(code, 2);
    assert!(err.contains("--tag 'oops'"), "{err}");
}

#[test]
fn a_corrupt_store_is_refused_and_left_unchanged() {
    let dir = scratch("corrupt");
    let db = dir.join("broken.db");
    let garbage = b"this is not an SQLite database, and must stay as it is\n".repeat(100);
    std::fs::write(&db, &garbage).unwrap();
    let url = format!("http://{}/", server());
    let db_text = db.to_str().unwrap();
    for args in [
        vec!["load", url.as_str(), "-d", "1s", "-q", "--store", db_text],
        vec!["history", "--store", db_text],
        vec!["show", "latest", "--store", db_text],
    ] {
        let (code, out, err) = perfloop(&dir, &args);
        assert_eq!(code, 2, "{args:?}: {out}{err}");
        assert!(err.contains(db_text), "{err}");
        // Refused before any load: no report.
        assert!(out.is_empty(), "{out}");
    }
    assert_eq!(std::fs::read(&db).unwrap(), garbage);
}

#[test]
fn no_save_leaves_the_store_empty() {
    let dir = scratch("nosave");
    let db = dir.join("h.db");
    let db = db.to_str().unwrap();
    let url = format!("http://{}/", server());
    let (code, _, err) = perfloop(
        &dir,
        &["load", &url, "-d", "1s", "-q", "--store", db, "--no-save"],
    );
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("saved as"), "{err}");
    assert!(!Path::new(db).exists());
    let (code, out, err) = perfloop(&dir, &["history", "--store", db]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("No runs saved in"), "{out}");
    let (code, out, _) = perfloop(&dir, &["history", "--store", db, "--json"]);
    assert_eq!(code, 0);
    assert_eq!(out.trim(), "[]");
    // Reading it created nothing.
    assert!(!Path::new(db).exists());
    let (code, _, err) = perfloop(&dir, &["show", "latest", "--store", db]);
    assert_eq!(code, 2);
    assert!(err.contains(&format!("there is no store at {db}")), "{err}");
    // An existing, empty store.
    drop(Store::open(Path::new(db)).unwrap());
    let (code, _, err) = perfloop(&dir, &["diagnose", "latest", "--store", db]);
    assert_eq!(code, 2);
    assert!(err.contains("holds no runs yet"), "{err}");
    let (code, out, _) = perfloop(&dir, &["history", "--store", db]);
    assert_eq!(code, 0);
    assert!(out.starts_with("No runs saved in"), "{out}");
}

/// A saved row written directly: `throughput` as its headline.
fn synthetic(
    target: &str,
    kind: RunKind,
    minute: u64,
    throughput: f64,
    record: &str,
) -> HistoryRun {
    let headline = Headline {
        throughput_rps: Some(throughput),
        p99_ms: Some(10_000.0 / throughput),
        ..Headline::default()
    };
    HistoryRun {
        kind,
        started_at: SystemTime::UNIX_EPOCH + Duration::from_secs(1_780_000_000 + minute * 60),
        target: target.to_owned(),
        command_line: "perfloop load".to_owned(),
        perfloop_version: "0.1.0".to_owned(),
        host_json: "{}".to_owned(),
        git_commit: Some(format!("{minute:040x}")),
        git_branch: Some("main".to_owned()),
        tags: vec![("series".to_owned(), target.to_owned())],
        metrics_json: serde_json::to_string(&headline).unwrap(),
        record_json: record.to_owned(),
        study: None,
    }
}

const BENCH: &str = r#"{"schema": "perfloop.bench.v1", "command": "true", "shell": "sh",
    "runs": 2, "warmup": 0, "work_unit": "items",
    "results": [{"command": "true", "params": {}, "runs": 2,
        "wall_s": {"mean": 0.002, "median": 0.002, "min": 0.001, "max": 0.003, "outliers": 0},
        "user_s_mean": 0.001, "sys_s_mean": 0.0, "peak_rss_bytes_max": 1048576,
        "work_mean": null, "work_per_s": null, "failed_runs": 0, "times_s": [0.001, 0.003],
        "exit_codes": [0, 0], "warnings": []}]}"#;

#[test]
fn changes_mark_the_first_run_after_a_shift() {
    let dir = scratch("changes");
    let db = dir.join("h.db");
    {
        let store = Store::open(&db).unwrap();
        // 40 runs of one target, throughput up by 20 % from run 21, a little noise.
        for i in 0..40u64 {
            let level = if i < 20 { 1000.0 } else { 1200.0 };
            let noise = ((i * 37) % 11) as f64 - 5.0;
            let id = store
                .save_run(&synthetic(
                    "http://a/",
                    RunKind::Load,
                    i,
                    level + noise,
                    "{}",
                ))
                .unwrap();
            assert_eq!(id.get(), i as i64 + 1);
        }
        // A short series of another target, and a command benchmark.
        for i in 0..6u64 {
            store
                .save_run(&synthetic("http://b/", RunKind::Load, 100 + i, 500.0, "{}"))
                .unwrap();
        }
        store
            .save_run(&synthetic("true", RunKind::Bench, 200, 1.0, BENCH))
            .unwrap();
    }
    let db = db.to_str().unwrap();
    let (code, table, err) = perfloop(
        &dir,
        &[
            "history",
            "--store",
            db,
            "--changes",
            "--limit",
            "100",
            "--target",
            "http://a/",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let marks: Vec<&str> = table
        .lines()
        .filter(|l| l.contains("shifted here"))
        .collect();
    assert_eq!(marks.len(), 1, "{table}");
    let lines: Vec<&str> = table.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.contains("shifted here"))
        .unwrap();
    assert!(lines[at - 1].trim_start().starts_with("21 "), "{table}");
    assert!(
        marks[0].contains("→") && marks[0].contains("+20"),
        "{table}"
    );

    let (code, out, err) = perfloop(
        &dir,
        &[
            "history",
            "--store",
            db,
            "--changes",
            "--limit",
            "100",
            "--json",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let list: Vec<Value> = serde_json::from_str(&out).unwrap();
    assert_eq!(list.len(), 47);
    let changed: Vec<i64> = list
        .iter()
        .filter(|r| !r["change"].is_null())
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    assert_eq!(changed, [21]);
    let shift = &list.iter().find(|r| r["id"] == 21).unwrap()["change"];
    assert_eq!(shift["metric"], "throughput");
    assert!(
        (shift["before"].as_f64().unwrap() - 1000.0).abs() < 5.0,
        "{shift}"
    );
    assert!(
        (shift["after"].as_f64().unwrap() - 1200.0).abs() < 5.0,
        "{shift}"
    );
    assert!(shift["p_value"].as_f64().unwrap() < 0.001, "{shift}");

    // The short series says it cannot be judged.
    let (_, table, _) = perfloop(
        &dir,
        &[
            "history",
            "--store",
            db,
            "--changes",
            "--target",
            "http://b/",
        ],
    );
    assert!(
        table.contains("http://b/ (load): 6 runs with throughput; a change needs at least 10"),
        "{table}"
    );

    // A command benchmark: shown as text, no HTML, no diagnosis.
    let (code, out, err) = perfloop(&dir, &["show", "47", "--store", db]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("true"), "{out}");
    let html = dir.join("bench.html");
    let (code, _, err) = perfloop(
        &dir,
        &[
            "show",
            "47",
            "--store",
            db,
            "--html",
            html.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 2);
    assert!(
        err.contains("no HTML report for a command benchmark"),
        "{err}"
    );
    assert!(!html.exists());
    let (code, _, err) = perfloop(&dir, &["diagnose", "47", "--store", db]);
    assert_eq!(code, 2);
    assert!(
        err.contains("needs a load run or a capacity search"),
        "{err}"
    );
    // A record that does not read as its kind fails naming the run.
    let (code, _, err) = perfloop(&dir, &["show", "3", "--store", db]);
    assert_eq!(code, 3);
    assert!(
        err.contains("run 3 (load)") && err.contains("cannot be read"),
        "{err}"
    );
}
