//! `perfloop gate` end to end: a baseline saved by `perfloop load`, then the gate against the
//! same server (passes) and against the server made 10 % slower (fails with exit 1, its
//! Markdown summary and JUnit report written), and the usage errors found before any load.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};

use common::perfloop;

/// A server whose every response takes `service` microseconds, ±5 % (so that connections
/// drift apart rather than answering in lockstep), slept by a thread per connection: the
/// operating system's timers, precise to tens of microseconds, not an async runtime's
/// millisecond wheel.
fn server(service: Arc<AtomicU64>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for (n, stream) in listener.incoming().enumerate() {
            let Ok(stream) = stream else { continue };
            let service = service.clone();
            std::thread::spawn(move || answer(stream, &service, n as u64));
        }
    });
    format!("http://{addr}/")
}

fn answer(mut stream: TcpStream, service: &AtomicU64, seed: u64) {
    let _ = stream.set_nodelay(true);
    let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut pending = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        while let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
            pending.drain(..end + 4);
            // xorshift: a factor in [0.95, 1.05].
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let factor = 0.95 + 0.1 * (state % 1_000) as f64 / 1_000.0;
            let us = service.load(Ordering::Relaxed) as f64 * factor;
            std::thread::sleep(Duration::from_micros(us as u64));
            if stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                .is_err()
            {
                return;
            }
        }
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => pending.extend_from_slice(&chunk[..n]),
        }
    }
}

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("gate-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

const LOAD: [&str; 7] = ["-c", "8", "-d", "3s", "--warmup", "1s", "-q"];

#[test]
fn gate_passes_the_same_server_and_fails_a_slower_one() {
    let service = Arc::new(AtomicU64::new(20_000));
    let url = server(service.clone());
    let dir = scratch("slower");
    let store = dir.join("history.db");
    let store = store.to_str().unwrap();

    let mut baseline = vec!["load", &url, "--store", store, "--tag", "branch=main"];
    baseline.extend(LOAD);
    let (code, _, err) = perfloop(&baseline);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("saved as run 1"), "{err}");

    let gate = |summary: &str, junit: &str| {
        let mut args = vec![
            "gate",
            "--store",
            store,
            "--baseline",
            "tag:branch=main",
            "--metric",
            "p99",
            "--max-regression",
            "5%",
            "--metric",
            "throughput",
            "--max-regression",
            "5%",
            "--confirm",
            "--tag",
            "branch=feature",
            "--summary",
            summary,
            "--junit",
            junit,
            "--",
            &url,
        ];
        args.extend(LOAD);
        perfloop(&args)
    };
    let same_md = dir.join("same.md");
    let same_xml = dir.join("same.xml");
    let (code, out, err) = gate(same_md.to_str().unwrap(), same_xml.to_str().unwrap());
    assert_eq!(code, 0, "the same server regressed?\n{out}\n{err}");
    assert!(out.contains("PASS"), "{out}");
    let xml = std::fs::read_to_string(&same_xml).unwrap();
    assert!(xml.contains("tests=\"2\" failures=\"0\""), "{xml}");

    // 10 % slower: 22 ms instead of 20 ms per response.
    service.store(22_000, Ordering::Relaxed);
    let slow_md = dir.join("slow.md");
    let slow_xml = dir.join("slow.xml");
    let (code, out, err) = gate(slow_md.to_str().unwrap(), slow_xml.to_str().unwrap());
    assert_eq!(code, 1, "a 10 % slower server passed\n{out}\n{err}");
    // Throughput falls by 9 % at every try; p99's +10 % may hide in a noisy baseline's tail
    // (it has a 5 % floor of its own).
    let verdict = out.lines().find(|l| l.starts_with("FAIL: ")).unwrap_or("");
    assert!(verdict.contains("throughput"), "{out}");
    let md = std::fs::read_to_string(&slow_md).unwrap();
    assert!(md.starts_with("## perfloop gate: ❌ FAIL"), "{md}");
    assert!(md.contains("| p99 |"), "{md}");
    let xml = std::fs::read_to_string(&slow_xml).unwrap();
    assert!(xml.contains("tests=\"2\" failures=\""), "{xml}");
    assert!(xml.contains("<failure message=\"throughput: -"), "{xml}");

    // Every run the gates measured was saved with the gate's tag: two for the first gate
    // at most (no confirmation needed), two for the second (confirmed).
    let (code, out, _) = perfloop(&[
        "history",
        "--store",
        store,
        "--tag",
        "branch=feature",
        "--json",
    ]);
    assert_eq!(code, 0);
    let runs: serde_json::Value = serde_json::from_str(&out).unwrap();
    let n = runs.as_array().unwrap().len();
    assert!((3..=4).contains(&n), "{n} runs saved by the gates: {out}");
}

#[test]
fn gate_refuses_bad_input_before_any_load() {
    let dir = scratch("usage");
    let store = dir.join("history.db");
    let store = store.to_str().unwrap();
    // Nothing listens on port 1: any load would fail with exit 3, not 2.
    let url = "http://127.0.0.1:1/";
    let cases: [(&[&str], &str); 5] = [
        (
            &[
                "gate",
                "--store",
                store,
                "--baseline",
                "latest",
                "--",
                url,
                "-d",
                "1s",
            ],
            "holds no runs",
        ),
        (
            &["gate", "--store", store, "--baseline", "lastest", "--", url],
            "lastest",
        ),
        (
            &[
                "gate",
                "--store",
                store,
                "--baseline",
                "1",
                "--metric",
                "p98",
                "--",
                url,
            ],
            "did you mean 'p90'",
        ),
        (
            &[
                "gate",
                "--store",
                store,
                "--baseline",
                "1",
                "--max-regression",
                "five",
                "--",
                url,
            ],
            "'five'",
        ),
        (&["gate", "--store", store, "--baseline", "1"], "after --"),
    ];
    for (args, says) in cases {
        let (code, out, err) = perfloop(args);
        assert_eq!(code, 2, "{args:?}\n{out}\n{err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
    // A store with runs, but not the one asked.
    let service = Arc::new(AtomicU64::new(1_000));
    let live = server(service);
    let (code, _, err) = perfloop(&["load", &live, "-n", "20", "-q", "--store", store]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = perfloop(&[
        "gate",
        "--store",
        store,
        "--baseline",
        "7",
        "--",
        &live,
        "-n",
        "20",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("run 7") && err.contains("it holds run 1"),
        "{err}"
    );
    let (code, _, err) = perfloop(&[
        "gate",
        "--store",
        store,
        "--baseline",
        "1",
        "--",
        &live,
        "-c",
        "x",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("'x'"), "{err}");
}
