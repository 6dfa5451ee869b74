//! The `perfloop` command line end to end: a real axum server on 127.0.0.1 in this test
//! process, the binary as a child process, and its exit codes, messages and outputs.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::net::SocketAddr;
use std::sync::OnceLock;

use assert_cmd::Command;
use axum::Router;
use axum::routing::get;

/// One server for the whole file, on its own runtime thread.
fn server() -> SocketAddr {
    static ADDR: OnceLock<SocketAddr> = OnceLock::new();
    *ADDR.get_or_init(|| {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let app = Router::new()
                    .route("/", get(|| async { "hello world\n" }))
                    .route(
                        "/missing",
                        get(|| async { (axum::http::StatusCode::NOT_FOUND, "no") }),
                    );
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                axum::serve(listener, app).await.unwrap();
            });
        });
        addr
    })
}

fn url(path: &str) -> String {
    format!("http://{}{path}", server())
}

fn perfloop() -> Command {
    Command::cargo_bin("perfloop").unwrap()
}

/// Runs perfloop with `args`; returns (exit code, stdout, stderr).
fn run(args: &[&str]) -> (i32, String, String) {
    let out = perfloop()
        .args(args)
        .timeout(std::time::Duration::from_secs(60))
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
        (vec!["load", "https://127.0.0.1/"], "TLS"),
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
    let started = std::time::Instant::now();
    let (code, _, err) = run(&["load", &target, "-d", "30s", "-q"]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("no connection"), "{err}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
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
        Some("t_s,requests,errors,rps,p50_ms,p90_ms,p99_ms,max_ms")
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
        .map(|r| r.split(',').nth(1).unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(total, v["requests"]["total"].as_u64().unwrap());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn closed_stdout_is_not_an_error() {
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("perfloop"))
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
