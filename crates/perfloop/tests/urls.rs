//! URLs on the command line end to end: a URL perfloop cannot use is refused with exit 2,
//! the offending text and a hint before any work, whichever flag it came through; and a URL
//! or header carrying secrets is sent as given but never shown — not in `capacity`'s text,
//! JSON or HTML, not in `tune`'s, not in the store.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::extract::RawQuery;
use axum::http::HeaderMap;
use axum::routing::get;
use common::perfloop;
use perfloop_store::Store;

const SERVER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/servers/limited.py");

/// The query and header carrying the secrets every test looks for.
const SECRET_QUERY: &str = "token=SECRET&api_key=SECRET2&page=1";
const SECRET_HEADER: &str = "Authorization: Bearer SECRET3";

/// Requests that arrived with the secret query and header intact.
static WITH_SECRETS: AtomicU64 = AtomicU64::new(0);

/// One server for the whole file; it counts the requests that carried the secrets, to show
/// that redaction hides them from reports, not from the server.
fn server() -> SocketAddr {
    static ADDR: OnceLock<SocketAddr> = OnceLock::new();
    *ADDR.get_or_init(|| {
        let app = Router::new().route(
            "/",
            get(|RawQuery(q): RawQuery, headers: HeaderMap| async move {
                let auth = headers.get("authorization").and_then(|v| v.to_str().ok());
                if q.as_deref() == Some(SECRET_QUERY) && auth == Some("Bearer SECRET3") {
                    WITH_SECRETS.fetch_add(1, Ordering::SeqCst);
                }
                "ok\n"
            }),
        );
        common::serve(app)
    })
}

fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("perfloop-urls-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Fails naming the place when `text` shows any of the secrets.
fn assert_no_secret(place: &str, text: &str) {
    assert!(!text.contains("SECRET"), "{place} shows a secret:\n{text}");
}

#[test]
fn a_url_perfloop_cannot_use_exits_2_with_the_text_and_a_hint() {
    let ok = format!("http://{}/", server());
    let cases: Vec<(Vec<&str>, Vec<&str>)> = vec![
        // Out of range: this used to connect to port 80.
        (
            vec!["load", "http://127.0.0.1:99999/", "-n", "1"],
            vec!["'http://127.0.0.1:99999/'", "port '99999'", "1 to 65535"],
        ),
        (
            vec!["load", "http://:8080/", "-n", "1"],
            vec!["'http://:8080/'", "no host", "http://127.0.0.1:8080/"],
        ),
        (
            vec!["load", "http://user:pw@127.0.0.1:8080/", "-n", "1"],
            vec!["user information", "Authorization"],
        ),
        // Missing scheme: the same hint with or without a path.
        (
            vec!["load", "127.0.0.1:8099/", "-n", "1"],
            vec!["'127.0.0.1:8099/'", "no scheme", "http://127.0.0.1:8099/"],
        ),
        (
            vec!["load", "127.0.0.1:8099", "-n", "1"],
            vec!["'127.0.0.1:8099'", "no scheme", "http://127.0.0.1:8099"],
        ),
        (
            vec!["load", "http://127.0.0.1:8443/", "--insecure", "-n", "1"],
            vec!["'http://127.0.0.1:8443/'", "need an https:// URL"],
        ),
        (
            vec!["capacity", "127.0.0.1:8099/", "--slo", "p99<1s"],
            vec!["'127.0.0.1:8099/'", "http://127.0.0.1:8099/"],
        ),
        // The monitor's scrape and the readiness probe take the same URLs.
        (
            vec![
                "load",
                &ok,
                "-n",
                "1",
                "--scrape",
                "http://127.0.0.1:99999/metrics",
            ],
            vec!["http://127.0.0.1:99999/metrics", "port '99999'"],
        ),
        (
            vec![
                "load",
                &ok,
                "-n",
                "1",
                "--target-cmd",
                "sleep 30",
                "--ready",
                "127.0.0.1:8099/health",
            ],
            vec!["`127.0.0.1:8099/health`", "http://127.0.0.1:8099/health"],
        ),
    ];
    for (args, says) in cases {
        let (code, out, err) = perfloop(&args);
        assert_eq!(code, 2, "{args:?}: {err}");
        for s in says {
            assert!(err.contains(s), "{args:?}: expected '{s}' in: {err}");
        }
        // Refused before any work: nothing measured, nothing reported.
        assert!(out.is_empty(), "{args:?}: {out}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
    // A refused URL keeps its secrets out of the message too.
    let (code, _, err) = perfloop(&["load", "http://127.0.0.1:0/?token=SECRET", "-n", "1"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("token=REDACTED"), "{err}");
    assert_no_secret("the error", &err);
}

#[test]
fn capacity_reports_never_show_the_urls_secrets() {
    let dir = scratch("capacity");
    let url = format!("http://{}/?{SECRET_QUERY}", server());
    let (json, html) = (dir.join("c.json"), dir.join("c.html"));
    let before = WITH_SECRETS.load(Ordering::SeqCst);
    let (code, out, err) = perfloop(&[
        "capacity",
        &url,
        "-H",
        SECRET_HEADER,
        "--slo",
        "p99<1s",
        "--start-rate",
        "20",
        "--max-rate",
        "40",
        "--step-duration",
        "1s",
        "--step-warmup",
        "200ms",
        "--json",
        json.to_str().unwrap(),
        "--html",
        html.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        WITH_SECRETS.load(Ordering::SeqCst) > before,
        "the requests carry the secrets"
    );
    let json = std::fs::read_to_string(&json).unwrap();
    let html = std::fs::read_to_string(&html).unwrap();
    for (place, text) in [
        ("the text report", &out),
        ("stderr", &err),
        ("the JSON", &json),
        ("the HTML", &html),
    ] {
        assert_no_secret(place, text);
    }
    let record: serde_json::Value = serde_json::from_str(&json).unwrap();
    let shown = record["target"]["url"].as_str().unwrap();
    assert!(
        shown.ends_with("/?token=REDACTED&api_key=REDACTED&page=1"),
        "{shown}"
    );
    assert!(out.contains("token=REDACTED"), "{out}");
    assert!(html.contains("token=REDACTED"), "the HTML names the target");
}

/// A study of the pool server with the secrets in its workload URL and headers.
fn secret_study(name: &str) -> String {
    format!(
        r#"name = "{name}"

[target]
command = "python3 {SERVER} pool:{{permits}}:5 60 {{port}}"
ready_timeout = "10s"

[knobs.permits]
type = "int"
low = 1
high = 2
default = 1

[workload]
load = {{ url = "http://127.0.0.1:{{port}}/?{SECRET_QUERY}", connections = 2, duration = "500ms", warmup = "100ms", headers = ["{SECRET_HEADER}"] }}

[objective]
maximize = "throughput"

[budget]
trials = 2
finalists = 0
"#
    )
}

#[test]
fn tune_reports_and_the_store_never_show_the_urls_secrets() {
    let dir = scratch("tune");
    let study = dir.join("study.toml");
    std::fs::write(&study, secret_study("secrets")).unwrap();
    let db = dir.join("store.db");
    let (json, html) = (dir.join("s.json"), dir.join("s.html"));
    let (code, out, err) = perfloop(&[
        "tune",
        study.to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
        "--html",
        html.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}\n{err}");
    let json = std::fs::read_to_string(&json).unwrap();
    let html = std::fs::read_to_string(&html).unwrap();
    for (place, text) in [
        ("the text report", &out),
        ("stderr", &err),
        ("the JSON", &json),
        ("the HTML", &html),
    ] {
        assert_no_secret(place, text);
    }
    let record: serde_json::Value = serde_json::from_str(&json).unwrap();
    let workload = record["workload"].as_str().unwrap();
    assert!(workload.contains("token=REDACTED"), "{workload}");

    // What the store keeps: the study as written (redacted) and every run's record.
    let store = Store::open(&db).unwrap();
    let row = store.find_study("secrets").unwrap().unwrap();
    assert_no_secret("the stored study", &row.spec_json);
    assert!(
        row.spec_json.contains("Authorization: REDACTED"),
        "{}",
        row.spec_json
    );
    let trials = store.trials(row.id).unwrap();
    assert!(!trials.is_empty());
    let mut runs = 0;
    for t in &trials {
        assert_no_secret("a trial's reason", t.reason.as_deref().unwrap_or(""));
        for run in store.runs_of_trial(t.id).unwrap() {
            assert_no_secret("a stored run", &run.record_json);
            runs += 1;
        }
    }
    assert!(runs > 0, "the trials stored their runs");
}
