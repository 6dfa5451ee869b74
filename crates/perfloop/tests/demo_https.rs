//! The README's HTTPS scenario by hand: `perfloop demo-target --tls --cert-out FILE`, then
//! `perfloop load https://… --scenario examples/scenario/demo.toml --cacert FILE`. The
//! certificate the target generates at its start is trusted through `--cacert` (refused
//! without it), the run's report names the scenario and measures each endpoint and the TLS
//! handshakes, and the target removes its certificate when it stops.

#![cfg(feature = "demo")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use common::perfloop;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// The demo target, stopped with SIGTERM (or killed) when dropped.
struct Target(Child);

impl Drop for Target {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the demo target over TLS and returns it with the lines it printed up to the
/// `listening on` line.
fn start(cert: &Path) -> (Target, Vec<String>) {
    let exe = assert_cmd::cargo::cargo_bin("perfloop");
    let mut child = Command::new(exe)
        .args(["demo-target", "--tls", "--cert-out"])
        .arg(cert)
        .args(["--listen", "127.0.0.1:0", "--users", "2000"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let target = Target(child);
    let mut lines = Vec::new();
    // Ends with the target's standard output if it fails before it listens.
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        let done = line.starts_with("listening on ");
        lines.push(line);
        if done {
            break;
        }
    }
    (target, lines)
}

#[test]
fn an_https_scenario_against_the_demo_target_trusting_its_certificate() {
    let dir = std::env::temp_dir().join(format!("perfloop-demo-https-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cert = dir.join("demo.pem");
    let (mut target, lines) = start(&cert);
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(
        lines[0].starts_with(&format!(
            "certificate {} (self-signed for localhost",
            cert.display()
        )),
        "{lines:?}"
    );
    let addr = lines[1].strip_prefix("listening on https://").unwrap();
    let pem = std::fs::read_to_string(&cert).unwrap();
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"), "{pem}");

    let scenario: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "..",
        "..",
        "examples",
        "scenario",
    ]
    .iter()
    .collect::<PathBuf>()
    .join("demo.toml");
    let scenario = scenario.to_str().unwrap();
    let url = format!("https://{addr}/");
    let json = dir.join("run.json");
    let (code, out, err) = perfloop(&[
        "load",
        &url,
        "--scenario",
        scenario,
        "--cacert",
        cert.to_str().unwrap(),
        "-c",
        "4",
        "-n",
        "300",
        "--json",
        json.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}\n{err}");
    // The header says what was sent (the URL may be on a line of its own).
    assert!(
        out.contains(&format!("scenario {scenario} (2 requests)")),
        "{out}"
    );
    assert!(out.contains(&url), "{out}");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(v["requests"]["total"], 300, "{v}");
    assert_eq!(v["requests"]["errors"], 0, "{v}");
    assert_eq!(v["target"]["scenario"]["requests"], 2, "{v}");
    assert_eq!(v["target"]["method"], "", "{v}");
    let endpoints = v["endpoints"].as_array().unwrap();
    let names: Vec<&str> = endpoints
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["match", "health"]);
    for e in endpoints {
        assert!(e["requests"].as_u64().unwrap() > 0, "{e}");
        assert!(e["time_share"].as_f64().unwrap() > 0.0, "{e}");
    }
    let handshakes = v["phases_ms"]["tls_handshake"]["count"].as_u64().unwrap();
    assert!((1..=4).contains(&handshakes), "{v}");
    assert!(
        v["tls"]["version"].as_str().unwrap().starts_with("TLSv1_"),
        "{v}"
    );
    assert_eq!(v["tls"]["alpn"], "http/1.1", "{v}");

    // Without the certificate the system's roots do not trust it: refused before any load.
    let (code, _, err) = perfloop(&["load", &url, "--scenario", scenario, "-n", "10"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("certificate"), "{err}");

    // Stopped, the target removes the certificate it wrote.
    kill(Pid::from_raw(target.0.id() as i32), Signal::SIGTERM).unwrap();
    let status = target.0.wait().unwrap();
    assert!(status.success(), "{status:?}");
    assert!(!cert.exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_certificate_file_that_cannot_be_written_is_bad_input() {
    let dir = std::env::temp_dir().join(format!("perfloop-no-such-dir-{}", std::process::id()));
    let cert = dir.join("demo.pem");
    let (code, out, err) = perfloop(&[
        "demo-target",
        "--tls",
        "--cert-out",
        cert.to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
    ]);
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(
        err.contains(&format!("--cert-out '{}'", cert.display())),
        "{err}"
    );
    assert!(!out.contains("listening"), "{out}");
}
