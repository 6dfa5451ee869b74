//! `--io` when the kernel refuses io_uring: `--io uring` exits 2 naming io_uring, the
//! kernel's reason and `--io epoll`; `--io auto` falls back to epoll without a word and
//! measures the run in full.
//!
//! The refusal is the kernel's own, not a switch in perfloop: a seccomp filter answers
//! `io_uring_setup` with an error number, the way a container runtime forbids io_uring
//! (Docker's default profile answers it EPERM, as does `kernel.io_uring_disabled`; a kernel
//! built without io_uring answers ENOSYS). Seccomp filters belong to a thread and pass to
//! the processes it starts, so each refused run installs its filter on a thread of its own
//! and starts perfloop from there; the test process's other threads keep io_uring. A control
//! run without a filter shows io_uring working here, so the fallback seen under the filter
//! is the filter's doing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::OnceLock;

use axum::Router;
use axum::routing::get;
use nix::libc;
use seccompiler::{BpfProgram, SeccompAction, SeccompFilter, TargetArch};

/// One server for the whole file, answering 200 `ok`.
fn url() -> String {
    static ADDR: OnceLock<SocketAddr> = OnceLock::new();
    let addr = ADDR.get_or_init(|| common::serve(Router::new().route("/", get(|| async { "ok" }))));
    format!("http://{addr}/")
}

/// A JSON report file of this test binary's own.
fn json_file(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("io_refused-{name}.json"))
}

/// Runs perfloop to its end (at most 2 minutes) from a new thread on which the kernel, when
/// `refusal` is given, answers `io_uring_setup` with that error number; returns (exit code,
/// stdout, stderr).
fn perfloop_refused(refusal: Option<i32>, args: &[&str]) -> (i32, String, String) {
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    std::thread::spawn(move || {
        if let Some(errno) = refusal {
            let filter = SeccompFilter::new(
                BTreeMap::from([(libc::SYS_io_uring_setup, vec![])]),
                SeccompAction::Allow,
                SeccompAction::Errno(u32::try_from(errno).unwrap()),
                TargetArch::try_from(std::env::consts::ARCH).unwrap(),
            )
            .unwrap();
            let program = BpfProgram::try_from(filter).unwrap();
            // This thread only: the rest of the test process is not filtered.
            seccompiler::apply_filter(&program).unwrap();
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        common::perfloop(&args)
    })
    .join()
    .unwrap()
}

/// `perfloop load --io IO` of 20 requests on 2 connections, not saved, its JSON report in
/// `json` when given.
fn load(refusal: Option<i32>, io: &str, json: Option<&PathBuf>) -> (i32, String, String) {
    let url = url();
    let mut args = vec!["load", "--io", io, "-n", "20", "-c", "2", "--no-save", "-q"];
    if let Some(json) = json {
        args.extend(["--json", json.to_str().unwrap()]);
    }
    args.push(&url);
    perfloop_refused(refusal, &args)
}

/// The backend a run's JSON report names and the requests it counted ok.
fn backend_and_ok(json: &PathBuf) -> (String, u64) {
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(json).unwrap()).unwrap();
    (
        report["load"]["io_backend"].as_str().unwrap().to_owned(),
        report["requests"]["ok"].as_u64().unwrap(),
    )
}

/// `--io uring` under a filter answering `errno`: exit 2, naming io_uring, why, the
/// kernel's own words and the way out.
fn refused_with(errno: i32, why: &str, words: &str) {
    let (code, _, err) = load(Some(errno), "uring", None);
    assert_eq!(code, 2, "{err}");
    for part in [
        "io_uring is not available here",
        why,
        words,
        "use --io epoll",
    ] {
        assert!(err.contains(part), "no '{part}' in: {err}");
    }
}

#[test]
fn io_uring_refused_with_eperm_exits_2_saying_why() {
    refused_with(
        libc::EPERM,
        "forbidden here",
        "Operation not permitted (os error 1)",
    );
}

#[test]
fn io_uring_refused_with_enosys_exits_2_saying_why() {
    refused_with(
        libc::ENOSYS,
        "the kernel has no io_uring",
        "Function not implemented (os error 38)",
    );
}

#[test]
fn io_auto_falls_back_to_epoll_silently_when_io_uring_is_refused() {
    let json = json_file("auto-refused");
    let (code, _, err) = load(Some(libc::EPERM), "auto", Some(&json));
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("io_uring"), "the fallback is silent: {err}");
    assert_eq!(backend_and_ok(&json), ("epoll".to_owned(), 20));
}

/// Without a filter, `--io auto` takes io_uring here: the fallback above is the filter's.
#[test]
fn io_auto_takes_io_uring_when_the_kernel_allows_it() {
    let json = json_file("auto-allowed");
    let (code, _, err) = load(None, "auto", Some(&json));
    assert_eq!(code, 0, "{err}");
    assert_eq!(backend_and_ok(&json), ("uring".to_owned(), 20));
}
