//! `perfloop tune` end to end: studies of real targets on 127.0.0.1, each trial a server
//! process started with its knob values (`servers/limited.py`, whose `pool:K:20` serves
//! at most K/20 ms requests per second), or a command benchmark; the store read back
//! after kills, Ctrl-C and resumes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command as Process, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::cargo::CommandCargoExt;
use common::perfloop;
use perfloop_store::{Store, StudyStatus, TrialRow, TrialState};
use serde_json::Value;

const SERVER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/servers/limited.py");

/// A scratch directory for one test.
fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("perfloop-tune-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A study of the pool server's permits (1 by default), 8 connections, 1 s per trial.
fn permits_study(name: &str, budget: &str, constraints: &str) -> String {
    format!(
        r#"name = "{name}"

[target]
command = "python3 {SERVER} pool:{{permits}}:20 60 {{port}}"
ready_timeout = "10s"

[knobs.permits]
type = "int"
low = 1
high = 8
default = 1

[workload]
load = {{ url = "http://127.0.0.1:{{port}}/", connections = 8, duration = "800ms", warmup = "200ms" }}

[objective]
maximize = "throughput"
constraints = [{constraints}]

[budget]
seed = 3
{budget}
"#
    )
}

fn write_study(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("study.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Runs `perfloop tune STUDY --db DB EXTRA...` to its end.
fn tune(study: &Path, db: &Path, extra: &[&str]) -> (i32, String, String) {
    let mut args = vec![
        "tune",
        study.to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    perfloop(&args)
}

fn trials(db: &Path, name: &str) -> Vec<TrialRow> {
    let store = Store::open(db).unwrap();
    let study = store.find_study(name).unwrap().unwrap();
    store.trials(study.id).unwrap()
}

fn finished(t: &TrialRow) -> bool {
    matches!(
        t.state,
        TrialState::Complete | TrialState::Failed | TrialState::Violated
    )
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn validate(record: &Value) {
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../perfloop-report/schema/perfloop.study.v1.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let mut schemas = boon::Schemas::new();
    let mut compiler = boon::Compiler::new();
    compiler.add_resource("study.json", schema).unwrap();
    let index = compiler.compile("study.json", &mut schemas).unwrap();
    if let Err(e) = schemas.validate(record, index) {
        panic!("the study record does not match its schema: {e:#}");
    }
}

#[test]
fn a_study_finds_confirms_and_applies_the_better_configuration() {
    let dir = scratch("e2e");
    let study = write_study(
        &dir,
        &permits_study(
            "permits",
            "trials = 5\nfinalists = 2\nconfirm_rounds = 3",
            r#""throughput<300", "p99<1s""#,
        ),
    );
    let db = dir.join("store.db");
    let (json, html, apply) = (dir.join("s.json"), dir.join("s.html"), dir.join("best.env"));
    let (code, out, err) = tune(
        &study,
        &db,
        &[
            "--json",
            json.to_str().unwrap(),
            "--html",
            html.to_str().unwrap(),
            "--apply",
            apply.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{out}\n{err}");

    // A progress line per trial, then the summary.
    let lines = out.lines().filter(|l| l.starts_with("trial ")).count();
    let record = read_json(&json);
    validate(&record);
    let entries = record["trials"].as_array().unwrap();
    assert_eq!(lines, entries.len(), "{out}");
    // 5 exploration trials (the baseline first), then 3 rounds of the baseline and 2
    // finalists.
    assert_eq!(entries.len(), 5 + 3 * 3, "{out}");
    assert_eq!(entries[0]["role"], "baseline");

    // Configurations above 300 req/s (7 or 8 permits at 20 ms) break the constraint: they
    // are recorded as violated with the figure, and never become finalists.
    for e in entries {
        let permits = e["config"]["permits"].as_i64().unwrap();
        let throughput = e["metrics"]["throughput"]
            .as_f64()
            .unwrap_or_else(|| panic!("{e}"));
        if e["state"] == "violated" {
            assert!(throughput >= 300.0, "{e}");
            assert!(
                e["reason"]
                    .as_str()
                    .unwrap()
                    .contains("breaks throughput<300")
            );
        } else {
            assert_eq!(e["state"], "complete", "{e}");
            // At most K / 20 ms, and not far below.
            let ceiling = f64::from(u32::try_from(permits).unwrap()) * 50.0;
            assert!(
                throughput <= ceiling * 1.02 && throughput > ceiling * 0.6,
                "{e}"
            );
        }
    }
    for f in record["finalists"].as_array().unwrap() {
        assert!(f["config"]["permits"].as_i64().unwrap() <= 6, "{f}");
    }

    // The best configuration serves several times the defaults' throughput; the gain and
    // its interval are measured against the baseline of the same rounds.
    let best = &record["best"];
    assert_eq!(best["is_default"], false, "{best}");
    let permits = best["config"]["permits"].as_i64().unwrap();
    assert!((2..=6).contains(&permits), "{best}");
    let gain = &best["gain"];
    assert_eq!(gain["pairs"], 3);
    assert_eq!(gain["significant"], true, "{gain}");
    let (low, pct, high) = (
        gain["ci95_low_pct"].as_f64().unwrap(),
        gain["percent"].as_f64().unwrap(),
        gain["ci95_high_pct"].as_f64().unwrap(),
    );
    assert!(low > 50.0 && low <= pct && pct <= high, "{gain}");
    let before = best["before"]["throughput"].as_f64().unwrap();
    let after = best["after"]["throughput"].as_f64().unwrap();
    assert!(before < 55.0 && after > 1.5 * before, "{best}");
    assert!(out.contains("Conclusion"), "{out}");

    // --apply wrote that configuration; the store holds every trial with its run.
    assert_eq!(
        std::fs::read_to_string(&apply).unwrap(),
        format!("PERMITS={permits}\n")
    );
    let rows = trials(&db, "permits");
    assert_eq!(rows.len(), entries.len());
    assert!(rows.iter().all(finished));
    let store = Store::open(&db).unwrap();
    for row in &rows {
        let runs = store.runs_of_trial(row.id).unwrap();
        assert_eq!(runs.len(), 1, "trial {}", row.number);
        assert_eq!(runs[0].kind, "load");
    }
    let html = std::fs::read_to_string(&html).unwrap();
    assert!(html.contains("<svg"));

    // The same name again without --resume is refused; a changed study with it too.
    let (code, _, err) = tune(&study, &db, &[]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("already in") && err.contains("--resume"),
        "{err}"
    );
    let changed = std::fs::read_to_string(&study)
        .unwrap()
        .replace("high = 8", "high = 9");
    std::fs::write(&study, changed).unwrap();
    let (code, _, err) = tune(&study, &db, &["--resume"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("the study file has changed"), "{err}");
    assert_eq!(trials(&db, "permits").len(), rows.len());
}

/// Starts `perfloop tune` in the background with its stdout piped.
fn spawn(study: &Path, db: &Path, resume: bool) -> Child {
    let mut cmd = Process::cargo_bin("perfloop").unwrap();
    cmd.args([
        "tune",
        study.to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
    ]);
    if resume {
        cmd.arg("--resume");
    }
    cmd.stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Waits until `ready` holds for the store's trials.
fn wait_for(db: &Path, name: &str, what: &str, ready: impl Fn(&[TrialRow]) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if db.exists() {
            if let Ok(store) = Store::open(db) {
                if let Ok(Some(study)) = store.find_study(name) {
                    if ready(&store.trials(study.id).unwrap()) {
                        return;
                    }
                }
            }
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn signal(child: &Child, sig: &str) {
    let status = Process::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn a_study_killed_between_and_during_trials_resumes_without_loss_or_repeat() {
    let dir = scratch("resume");
    let study = write_study(
        &dir,
        &permits_study("resume", "trials = 6\nfinalists = 0", ""),
    );
    let db = dir.join("store.db");

    // Killed right after its second trial was reported: between trials (or as the third
    // one was being begun).
    let mut child = spawn(&study, &db, false);
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut reported = 0;
    while reported < 2 {
        let line = lines.next().expect("a progress line").unwrap();
        if line.starts_with("trial ") {
            reported += 1;
        }
    }
    signal(&child, "-KILL");
    child.wait().unwrap();
    let first = trials(&db, "resume");
    let kept: Vec<(u32, Option<f64>)> = first
        .iter()
        .filter(|t| finished(t))
        .map(|t| (t.number, t.objective))
        .collect();
    assert_eq!(kept.len(), 2, "{first:?}");

    // Resumed, then killed in the middle of a trial's measurement.
    let mut child = spawn(&study, &db, true);
    wait_for(
        &db,
        "resume",
        "a running trial after the finished ones",
        |t| {
            t.iter().filter(|t| finished(t)).count() >= 3
                && t.iter().any(|t| t.state == TrialState::Running)
        },
    );
    signal(&child, "-KILL");
    child.wait().unwrap();
    let second = trials(&db, "resume");
    let running: Vec<u32> = second
        .iter()
        .filter(|t| t.state == TrialState::Running)
        .map(|t| t.number)
        .collect();
    assert_eq!(running.len(), 1, "{second:?}");

    // Resumed to the end.
    let (code, out, err) = tune(&study, &db, &["--resume"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains(&format!("trial {} was left running", running[0])),
        "{out}"
    );
    let all = trials(&db, "resume");
    // Numbers are unique and never reused; the interrupted trial is kept as abandoned.
    let numbers: Vec<u32> = all.iter().map(|t| t.number).collect();
    assert_eq!(
        numbers,
        (0..u32::try_from(all.len()).unwrap()).collect::<Vec<_>>()
    );
    let abandoned: Vec<u32> = all
        .iter()
        .filter(|t| t.state == TrialState::Abandoned)
        .map(|t| t.number)
        .collect();
    assert!(abandoned.contains(&running[0]), "{all:?}");
    assert!(
        all.iter()
            .all(|t| finished(t) || t.state == TrialState::Abandoned)
    );
    // Exactly the budget finished; the trials finished before the first kill are unchanged;
    // no exploration configuration was measured twice.
    let done: Vec<&TrialRow> = all.iter().filter(|t| finished(t)).collect();
    assert_eq!(done.len(), 6, "{all:?}");
    for (number, objective) in &kept {
        let t = all.iter().find(|t| t.number == *number).unwrap();
        assert_eq!(t.objective, *objective);
    }
    let explored: Vec<&str> = done
        .iter()
        .filter(|t| t.role == "explore")
        .map(|t| t.params_json.as_str())
        .collect();
    for (i, c) in explored.iter().enumerate() {
        assert!(!explored[..i].contains(c), "{c} measured twice");
    }
    let store = Store::open(&db).unwrap();
    let row = store.find_study("resume").unwrap().unwrap();
    assert_eq!(row.status, StudyStatus::Finished);
}

/// The processes descended from `root` (found through /proc), with their command lines.
fn descendants(root: u32) -> Vec<(u32, String)> {
    let mut parents: Vec<(u32, u32)> = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        // The parent is the second field after the command name in parentheses.
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let after = stat.rsplit(')').next().unwrap_or("");
        if let Some(ppid) = after.split_whitespace().nth(1).and_then(|p| p.parse().ok()) {
            parents.push((pid, ppid));
        }
    }
    let mut found = vec![root];
    let mut i = 0;
    while i < found.len() {
        let parent = found[i];
        found.extend(
            parents
                .iter()
                .filter(|(_, pp)| *pp == parent)
                .map(|(p, _)| *p),
        );
        i += 1;
    }
    found
        .into_iter()
        .skip(1)
        .map(|pid| (pid, command_line(pid).unwrap_or_default()))
        .collect()
}

/// The command line of a live (not zombie) process; `None` when it is gone.
fn command_line(pid: u32) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    if stat.rsplit(')').next()?.trim_start().starts_with('Z') {
        return None;
    }
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    Some(String::from_utf8_lossy(&raw).replace('\0', " "))
}

#[test]
fn ctrl_c_stops_the_trial_and_leaves_the_store_consistent() {
    let dir = scratch("ctrlc");
    let study = write_study(&dir, &permits_study("ctrlc", "trials = 6", ""));
    let db = dir.join("store.db");
    let mut child = spawn(&study, &db, false);
    wait_for(&db, "ctrlc", "a running trial", |t| {
        t.iter().any(|t| t.state == TrialState::Running)
    });
    // This study's own server: a process of this perfloop's tree (other tests run servers
    // of the same script beside it).
    let deadline = Instant::now() + Duration::from_secs(60);
    let servers = loop {
        let servers: Vec<(u32, String)> = descendants(child.id())
            .into_iter()
            .filter(|(_, cmd)| cmd.contains(SERVER))
            .collect();
        if !servers.is_empty() {
            break servers;
        }
        assert!(
            Instant::now() < deadline,
            "the trial's server never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    signal(&child, "-INT");
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(3));
    let rows = trials(&db, "ctrlc");
    assert!(
        rows.iter().all(|t| t.state != TrialState::Running),
        "{rows:?}"
    );
    assert_eq!(
        rows.iter()
            .filter(|t| t.state == TrialState::Abandoned)
            .count(),
        1,
        "{rows:?}"
    );
    let store = Store::open(&db).unwrap();
    let row = store.find_study("ctrlc").unwrap().unwrap();
    assert_eq!(row.status, StudyStatus::Interrupted);
    // The trial's server was stopped with it: none of the study's server processes is left
    // (a pid reused since by another program does not count).
    let left: Vec<&(u32, String)> = servers
        .iter()
        .filter(|(pid, cmd)| command_line(*pid).as_ref() == Some(cmd))
        .collect();
    assert!(left.is_empty(), "servers left running: {left:?}");
}

#[test]
fn every_trial_failing_exits_3_with_the_log_lines() {
    let dir = scratch("failing");
    let text =
        permits_study("failing", "trials = 3", "").replace("pool:{permits}:20", "broken:{permits}");
    let study = write_study(&dir, &text);
    let db = dir.join("store.db");
    let (code, out, err) = tune(&study, &db, &[]);
    assert_eq!(code, 3, "{out}\n{err}");
    assert!(err.contains("every trial failed"), "{err}");
    assert!(
        err.contains("trial 0:") && err.contains("trial 2:"),
        "{err}"
    );
    assert!(err.contains("unknown server kind 'broken:"), "{err}");
    let rows = trials(&db, "failing");
    assert_eq!(rows.len(), 3);
    assert!(rows.iter().all(|t| t.state == TrialState::Failed));
}

#[test]
fn a_command_benchmark_study_minimises_wall_time() {
    let dir = scratch("bench");
    let study = write_study(
        &dir,
        r#"name = "sleepy"
[target]
bench = "sleep 0.0{tenths}"
[knobs.tenths]
type = "int"
low = 1
high = 5
default = 5
[objective]
minimize = "p50"
[budget]
trials = 4
finalists = 1
confirm_rounds = 3
seed = 1
"#,
    );
    let db = dir.join("store.db");
    let apply = dir.join("best.toml");
    let json = dir.join("s.json");
    let (code, out, err) = tune(
        &study,
        &db,
        &[
            "--apply",
            apply.to_str().unwrap(),
            "--json",
            json.to_str().unwrap(),
            "--quiet",
        ],
    );
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        !out.contains("trial   0"),
        "--quiet shows no progress: {out}"
    );
    let record = read_json(&json);
    validate(&record);
    assert_eq!(record["objective"]["direction"], "minimize");
    // Every trial's p50 is its wall time: 10 ms per step of the knob, and a little more, less
    // the shell's start-up (a mean measured once for the study, on a machine shared with
    // the other tests: a few milliseconds off either way).
    for e in record["trials"].as_array().unwrap() {
        let tenths = e["config"]["tenths"].as_f64().unwrap();
        let p50 = e["metrics"]["p50"].as_f64().unwrap();
        assert!(
            p50 > tenths * 10.0 - 8.0 && p50 < tenths * 10.0 + 40.0,
            "{e}"
        );
    }
    let best = &record["best"];
    let tenths = best["config"]["tenths"].as_i64().unwrap();
    assert!(tenths <= 3, "{best}");
    let gain = &best["gain"];
    assert_eq!(gain["significant"], true, "{gain}");
    assert!(gain["ci95_high_pct"].as_f64().unwrap() < -20.0, "{gain}");
    assert_eq!(
        std::fs::read_to_string(&apply).unwrap(),
        format!("tenths = {tenths}\n")
    );
    let rows = trials(&db, "sleepy");
    let store = Store::open(&db).unwrap();
    assert_eq!(store.runs_of_trial(rows[0].id).unwrap()[0].kind, "bench");
}

#[test]
fn bad_study_files_exit_2_with_the_line() {
    let dir = scratch("bad");
    let text =
        permits_study("bad", "trials = 3", "").replace("pool:{permits}:20", "pool:{permit}:20");
    let study = write_study(&dir, &text);
    let db = dir.join("store.db");
    let (code, _, err) = tune(&study, &db, &[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains(&format!("{}:4:", study.display())), "{err}");
    assert!(err.contains("permit"), "{err}");
    assert!(!db.exists(), "nothing is created for a bad study");

    let (code, _, err) = tune(&dir.join("missing.toml"), &db, &[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("missing.toml"), "{err}");

    let good = write_study(&dir, &permits_study("bad", "trials = 3", ""));
    let (code, _, err) = tune(
        &good,
        &db,
        &["--apply", dir.join("best.yaml").to_str().unwrap()],
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("best.yaml"), "{err}");
}

#[test]
fn workload_files_and_outputs_are_checked_before_any_trial() {
    let dir = scratch("checks");
    let db = dir.join("store.db");
    // A body file that is not there: exit 2 at its line and column, no target started.
    let text = permits_study("checks", "trials = 3", "").replace(
        r#"warmup = "200ms" }"#,
        r#"warmup = "200ms", body_lines = "bodies.jsonl" }"#,
    );
    let study = write_study(&dir, &text);
    let line = text.lines().position(|l| l.contains("body_lines")).unwrap() + 1;
    let started = Instant::now();
    let (code, _, err) = tune(&study, &db, &[]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains(&format!("{}:{line}:", study.display())),
        "{err}"
    );
    assert!(
        err.contains("cannot read `body_lines` = \"bodies.jsonl\""),
        "{err}"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(!db.exists(), "nothing is created for a bad study");

    // Outputs that cannot be written: exit 2 naming the flag and the path.
    let study = write_study(&dir, &permits_study("checks", "trials = 3", ""));
    let json = dir.join("s.json");
    let json = json.to_str().unwrap();
    let dir_text = dir.to_str().unwrap();
    let cases: [(&[&str], &str); 3] = [
        (
            &["--json", "/nonexistent/dir/s.json"],
            "--json '/nonexistent/dir/s.json'",
        ),
        (
            &["--json", json, "--html", json],
            "--json and --html both write to",
        ),
        (&["--apply", dir_text], "is a directory"),
    ];
    for (flags, says) in cases {
        let (code, _, err) = tune(&study, &db, flags);
        assert_eq!(code, 2, "{flags:?}: {err}");
        assert!(err.contains(says), "{flags:?}: expected '{says}' in: {err}");
        assert!(!db.exists(), "{flags:?}: nothing is created");
    }
}

#[test]
fn a_zero_warmup_is_accepted_as_load_accepts_it() {
    let dir = scratch("nowarmup");
    let text = permits_study("nowarmup", "trials = 1\nfinalists = 0", "")
        .replace(r#"warmup = "200ms""#, r#"warmup = "0s""#);
    let study = write_study(&dir, &text);
    let db = dir.join("store.db");
    let (code, out, err) = tune(&study, &db, &["--quiet"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("0s warm-up"), "{out}");
    let rows = trials(&db, "nowarmup");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].state, TrialState::Complete, "{rows:?}");
}
