//! Raw TCP on the command line: `perfloop load tcp://HOST:PORT --send FILE` with
//! `--expect-bytes N` or `--expect-delimiter TEXT` against a line protocol served in this
//! process; the report speaks of responses, not status codes; objectives set the exit code;
//! `capacity` takes the same flags; misuse exits 2 with the offending text and a hint.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use common::perfloop;

/// Pings the server answered.
static PINGS: AtomicU64 = AtomicU64::new(0);

/// One line-protocol server for the whole file: each `PING\r\n` is answered `PONG\r\n`.
fn server() -> SocketAddr {
    static ADDR: OnceLock<SocketAddr> = OnceLock::new();
    *ADDR.get_or_init(|| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                std::thread::spawn(move || {
                    let mut out = stream.try_clone().unwrap();
                    let mut lines = BufReader::new(stream);
                    let mut line = Vec::new();
                    while matches!(lines.read_until(b'\n', &mut line), Ok(n) if n > 0) {
                        if line != b"PING\r\n" || out.write_all(b"PONG\r\n").is_err() {
                            return;
                        }
                        PINGS.fetch_add(1, Ordering::SeqCst);
                        line.clear();
                    }
                });
            }
        });
        addr
    })
}

fn target() -> String {
    format!("tcp://{}", server())
}

/// A scratch file holding `text`.
fn file(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("perfloop-cli-raw-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn ping() -> String {
    file("ping", "PING\\r\\n").to_str().unwrap().to_string()
}

#[test]
fn a_line_protocol_is_measured_in_responses() {
    let (t, send) = (target(), ping());
    let before = PINGS.load(Ordering::SeqCst);
    let args = [
        "load",
        &t,
        "--send",
        &send,
        "--expect-delimiter",
        "\\r\\n",
        "-c",
        "4",
        "-n",
        "500",
        "--slo",
        "p99<5s",
        "--json",
        "-",
    ];
    let (code, out, err) = perfloop(&args);
    assert_eq!(code, 0, "{err}");
    let record: serde_json::Value = serde_json::from_str(&out).unwrap();
    let requests = &record["requests"];
    assert_eq!(requests["ok"], 500, "{requests}");
    assert_eq!(requests["errors"], 0, "{requests}");
    assert_eq!(requests["by_status"], serde_json::json!({}), "{requests}");
    assert_eq!(record["bytes_received"], 500 * 6);
    assert_eq!(record["target"]["method"], "");
    assert_eq!(record["slo"][0]["pass"], true);
    assert!(PINGS.load(Ordering::SeqCst) - before >= 500);
    // The text report (on stderr beside JSON on stdout).
    assert!(err.contains(&format!("· {t}")), "{err}");
    assert!(err.contains("of responses"), "{err}");
    assert!(!err.contains("Status codes"), "{err}");
}

#[test]
fn an_objective_that_fails_exits_1_in_the_open_model() {
    let (t, send) = (target(), ping());
    let (code, _, err) = perfloop(&[
        "load",
        &t,
        "--send",
        &send,
        "--expect-bytes",
        "6",
        "--rate",
        "200",
        "-d",
        "1s",
        "--slo",
        "p99<1us",
    ]);
    assert_eq!(code, 1, "{err}");
}

#[test]
fn capacity_takes_the_raw_flags() {
    let (t, send) = (target(), ping());
    let (code, out, err) = perfloop(&[
        "capacity",
        &t,
        "--send",
        &send,
        "--expect-delimiter",
        "\\n",
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
        "-q",
        "--json",
        "-",
    ]);
    assert_eq!(code, 0, "{err}");
    let record: serde_json::Value = serde_json::from_str(&out).unwrap();
    let steps = record["steps"].as_array().unwrap();
    assert!(!steps.is_empty(), "{record}");
}

#[test]
fn misuse_exits_2_with_a_hint() {
    let (t, send) = (target(), ping());
    let http = format!("http://{}/", server());
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["load", &t], "--send FILE"),
        (vec!["capacity", &t, "--slo", "p99<1s"], "--send FILE"),
        (
            vec!["load", &http, "--send", &send],
            "--send needs a tcp:// URL",
        ),
        (
            vec!["load", &t, "--send", &send, "--expect-bytes", "0"],
            "--expect-bytes 0",
        ),
        (
            vec![
                "load",
                &t,
                "--send",
                &send,
                "--expect-bytes",
                "6",
                "--expect-delimiter",
                "\\n",
            ],
            "exclude each other",
        ),
        (vec!["load", &t, "--send", &send], "--expect-bytes N"),
        (
            vec!["load", &t, "--send", "/nonexistent/ping"],
            "/nonexistent/ping",
        ),
        (
            vec!["load", &t, "--send", &send, "--expect-delimiter", "\\q"],
            "'\\q'",
        ),
        (vec!["load", "tcp://127.0.0.1"], "a host and a port"),
    ];
    for (args, says) in cases {
        let (code, _, err) = perfloop(&args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: expected '{says}' in: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}
