//! The `perfloop` command line end to end: a real axum server on 127.0.0.1 in this test
//! process, the binary as a child process, and its exit codes, messages and outputs.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use axum::Router;
use axum::routing::get;

/// Requests answered on `/counted`, for a test that waits until its run has begun.
static COUNTED: AtomicU64 = AtomicU64::new(0);

/// One server for the whole file.
fn server() -> SocketAddr {
    static ADDR: OnceLock<SocketAddr> = OnceLock::new();
    *ADDR.get_or_init(|| {
        let app = Router::new()
            .route("/", get(|| async { "hello world\n" }))
            .route(
                "/counted",
                get(|| async {
                    COUNTED.fetch_add(1, Ordering::SeqCst);
                    "counted\n"
                }),
            )
            .route(
                "/missing",
                get(|| async { (axum::http::StatusCode::NOT_FOUND, "no") }),
            );
        common::serve(app)
    })
}

fn url(path: &str) -> String {
    format!("http://{}{path}", server())
}

fn perfloop() -> Command {
    let mut cmd = Command::cargo_bin("perfloop").unwrap();
    // The runs are saved in a store of the tests' own.
    cmd.env(
        "PERFLOOP_DB",
        concat!(env!("CARGO_TARGET_TMPDIR"), "/history.db"),
    );
    cmd
}

/// Runs perfloop with `args`; returns (exit code, stdout, stderr).
fn run(args: &[&str]) -> (i32, String, String) {
    let out = perfloop()
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

#[test]
fn bad_input_exits_2_naming_the_offending_text() {
    let u = url("/");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["load", "not a url"], "not a url"),
        (vec!["load", "ftp://127.0.0.1/"], "ftp://127.0.0.1/"),
        (vec!["load", &u, "--insecure"], "need an https:// URL"),
        (vec!["load", &u, "-d", "ten"], "'ten'"),
        (vec!["load", &u, "--rate", "fast"], "'fast'"),
        (
            vec!["load", &u, "--model", "open", "--stages", "10s:x"],
            "'10s:x'",
        ),
        (vec!["load", &u, "--slo", "p99<200"], "p99<200"),
        (vec!["load", &u, "--slo", "p42<1ms"], "p42"),
        (vec!["load", &u, "--level", "huge"], "'huge'"),
        (vec!["load", &u, "-H", "no colon"], "'no colon'"),
        (
            vec!["load", &u, "-c", "4", "--rate", "100"],
            "exclude each other",
        ),
        (
            vec!["load", &u, "--body-file", "/nonexistent/body"],
            "/nonexistent/body",
        ),
        (vec!["load", &u, "--frobnicate"], "--frobnicate"),
    ];
    for (args, says) in cases {
        let (code, _, err) = run(&args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: expected '{says}' in: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}

#[test]
fn unreachable_target_exits_3_quickly() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let target = format!("http://127.0.0.1:{port}/");
    let started = Instant::now();
    let (code, _, err) = run(&["load", &target, "-d", "30s", "-q"]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("no connection"), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "the run should end early"
    );
}

#[test]
fn request_count_is_exact_and_json_goes_to_stdout() {
    let (code, out, err) = run(&[
        "load",
        &url("/"),
        "-n",
        "250",
        "-c",
        "3",
        "--json",
        "-",
        "-q",
    ]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["schema"], "perfloop.run.v1");
    assert_eq!(v["requests"]["total"], 250);
    assert_eq!(v["requests"]["ok"], 250);
    assert_eq!(v["requests"]["by_status"]["200"], 250);
    // The human summary moved to stderr.
    assert!(err.contains("p99"), "{err}");
}

#[test]
fn slo_verdicts_set_the_exit_code() {
    let u = url("/");
    let (code, out, _) = run(&[
        "load",
        &u,
        "-n",
        "200",
        "--slo",
        "p99<10s",
        "--slo",
        "error_rate<1%",
        "-q",
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("PASS"), "{out}");
    let (code, out, _) = run(&["load", &u, "-n", "200", "--slo", "rps>1000000000", "-q"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("FAIL"), "{out}");
    let (code, out, _) = run(&[
        "load",
        &url("/missing"),
        "-n",
        "50",
        "--slo",
        "error_rate<1%",
        "-q",
    ]);
    assert_eq!(code, 1, "{out}");
}

#[test]
fn csv_timeline_and_open_model_json() {
    let dir = std::env::temp_dir().join(format!("perfloop-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let csv = dir.join("timeline.csv");
    let json = dir.join("run.json");
    let (code, _, err) = run(&[
        "load",
        &url("/"),
        "--rate",
        "200",
        "-d",
        "2s",
        "--csv",
        csv.to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
        "-q",
    ]);
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(&csv).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("t_s,length_s,requests,errors,rps,p50_ms,p90_ms,p99_ms,max_ms")
    );
    let rows: Vec<&str> = lines.collect();
    assert!(rows.len() >= 2, "{text}");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(v["load"]["model"], "open");
    let asked = v["open_model"]["asked_rate"].as_f64().unwrap();
    let achieved = v["open_model"]["achieved_rate"].as_f64().unwrap();
    assert_eq!(asked, 200.0);
    assert!(
        (achieved - asked).abs() / asked < 0.05,
        "achieved {achieved}"
    );
    let total: u64 = rows
        .iter()
        .map(|r| r.split(',').nth(2).unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(total, v["requests"]["total"].as_u64().unwrap());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn closed_stdout_is_not_an_error() {
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("perfloop"))
        .env(
            "PERFLOOP_DB",
            concat!(env!("CARGO_TARGET_TMPDIR"), "/history.db"),
        )
        .args(["load", &url("/"), "-n", "50", "-q"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

/// A port nothing listens on: 1 (tcpmux, privileged, unused). A port the kernel handed out
/// and took back could be bound again by a server another test starts meanwhile.
fn dead_port() -> u16 {
    1
}

/// A scratch directory for one test.
fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("perfloop-cli-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn a_dead_target_exits_3_even_for_a_single_request() {
    let target = format!("http://127.0.0.1:{}/", dead_port());
    for n in ["1", "5"] {
        let (code, out, err) = run(&["load", &target, "-n", n, "-q"]);
        assert_eq!(code, 3, "-n {n}: {out}\n{err}");
        assert!(
            err.contains("no connection") && err.contains(&target),
            "-n {n}: {err}"
        );
    }
}

#[test]
fn output_paths_are_checked_before_any_load() {
    let dir = scratch("outputs");
    let file = dir.join("run.json");
    let file = file.to_str().unwrap();
    let dir_text = dir.to_str().unwrap();
    // Against a dead target: a run would exit 3, so exit 2 shows that nothing ran.
    let target = format!("http://127.0.0.1:{}/", dead_port());
    let cases: Vec<(Vec<&str>, Vec<&str>)> = vec![
        (
            vec!["--json", "/nonexistent/dir/out.json"],
            vec!["--json", "'/nonexistent/dir/out.json'", "does not exist"],
        ),
        (
            vec!["--csv", dir_text],
            vec!["--csv", dir_text, "is a directory"],
        ),
        (
            vec!["--json", "/sys/kernel/perfloop-out.json"],
            vec![
                "--json",
                "/sys/kernel/perfloop-out.json",
                "cannot be created",
            ],
        ),
        (
            vec!["--json", file, "--csv", file],
            vec!["--json and --csv both write to", file],
        ),
        (
            vec!["--json", "-", "--csv", "-"],
            vec!["--json - and --csv - both write to stdout"],
        ),
    ];
    for (flags, says) in cases {
        let mut args = vec!["load", &target, "-n", "5", "-q"];
        args.extend_from_slice(&flags);
        let (code, _, err) = run(&args);
        assert_eq!(code, 2, "{flags:?}: {err}");
        for s in says {
            assert!(err.contains(s), "{flags:?}: expected '{s}' in: {err}");
        }
    }
    assert!(
        std::fs::read_dir(&dir).unwrap().next().is_none(),
        "the checks leave no file behind"
    );
    // The same checks for the other commands' outputs.
    let (code, _, err) = run(&[
        "capacity",
        &target,
        "--slo",
        "p99<1s",
        "--html",
        "/nonexistent/x.html",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--html '/nonexistent/x.html'"), "{err}");
    let (code, _, err) = run(&["bench-cmd", "true", "--json", dir_text]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("is a directory"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_write_that_fails_at_the_end_still_prints_the_report() {
    // /dev/full accepts the open and fails every write.
    let (code, out, err) = run(&["load", &url("/"), "-n", "20", "-q", "--json", "/dev/full"]);
    assert_eq!(code, 3, "{out}\n{err}");
    assert!(out.contains("Summary") && out.contains("p99"), "{out}");
    assert!(err.contains("/dev/full"), "{err}");
}

/// Runs perfloop under `sh -c 'ulimit ...; exec perfloop ARGS'`.
fn with_ulimit(ulimit: &str, args: &[&str]) -> (i32, String, String) {
    let exe = assert_cmd::cargo::cargo_bin("perfloop");
    let script = format!("ulimit {ulimit} && exec \"$0\" \"$@\"");
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg(exe)
        .env(
            "PERFLOOP_DB",
            concat!(env!("CARGO_TARGET_TMPDIR"), "/history.db"),
        )
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_open_file_limit_is_raised_or_named_before_the_run() {
    let u = url("/");
    // A soft limit below what 200 connections need is raised to it.
    let (code, out, err) = with_ulimit("-Sn 128", &["load", &u, "-c", "200", "-n", "400", "-q"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("400"), "{out}");
    // A hard limit below it cannot be: exit 2 at once, naming both figures.
    let target = format!("http://127.0.0.1:{}/", dead_port());
    let started = Instant::now();
    let (code, _, err) = with_ulimit(
        "-n 128",
        &["load", &target, "-c", "200", "-t", "2", "-d", "30s", "-q"],
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("200 connections need 268 open files") && err.contains("limit is 128"),
        "{err}"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn ctrl_c_during_a_run_with_objectives_is_not_a_pass() {
    let before = COUNTED.load(Ordering::SeqCst);
    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("perfloop"))
        .env(
            "PERFLOOP_DB",
            concat!(env!("CARGO_TARGET_TMPDIR"), "/history.db"),
        )
        .args([
            "load",
            &url("/counted"),
            "-c",
            "2",
            "-d",
            "30s",
            "--slo",
            "p99<10s",
            "-q",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Interrupted once the run is under way: the server has answered it.
    let deadline = Instant::now() + Duration::from_secs(20);
    while COUNTED.load(Ordering::SeqCst) < before + 10 {
        assert!(
            Instant::now() < deadline,
            "the run never reached the server"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let started = Instant::now();
    let out = child.wait_with_output().unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(3), "{stdout}\n{stderr}");
    assert!(started.elapsed() < Duration::from_secs(10));
    // The report is printed; it and the error say that the run was cut short.
    assert!(stdout.contains("ended interrupted"), "{stdout}");
    assert!(stdout.contains("INTERRUPTED"), "{stdout}");
    assert!(stderr.contains("interrupted"), "{stderr}");
}

#[test]
fn bench_cmd_subtracts_the_shell_or_runs_without_one() {
    let (code, out, err) = run(&["bench-cmd", "true", "--runs", "3", "--json", "-"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["shell"], "sh");
    assert_eq!(v["shell_startup"]["runs"], 50);
    assert!(v["shell_startup"]["wall_s"]["mean"].as_f64().unwrap() > 0.0);
    assert!(err.contains("Shell start-up: "), "{err}");
    let (code, out, err) = run(&["bench-cmd", "-N", "true", "--runs", "3", "--json", "-"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["shell"], "none");
    assert!(v["shell_startup"].is_null(), "{v}");
    assert!(!err.contains("Shell start-up"), "{err}");
    // Without a shell, shell syntax is not interpreted: `true | false` runs `true` with
    // two arguments, which it ignores.
    let (code, _, err) = run(&["bench-cmd", "--no-shell", "true | false", "--runs", "1"]);
    assert_eq!(code, 0, "{err}");
}
