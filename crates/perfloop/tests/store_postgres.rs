//! The history in PostgreSQL, end to end: runs saved by `perfloop load --store postgres://…`
//! are listed, shown and compared from the same URL; a server that refuses the connection
//! is bad input (exit 2, its own message) before any load. The cluster is a throw-away one
//! the test starts (Debian's `postgresql` package must be installed; the test fails
//! without it).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use axum::Router;
use axum::routing::get;
use common::perfloop;
use perfloop_store::testing::PgCluster;

#[test]
fn runs_saved_in_postgresql_are_listed_shown_and_compared() {
    let cluster = PgCluster::start().unwrap_or_else(|e| panic!("{e}"));
    let db = cluster.new_database().unwrap();
    let url = format!(
        "http://{}/",
        common::serve(Router::new().route("/", get(|| async { "ok" })))
    );
    for tag in ["n=1", "n=2"] {
        let (code, _, err) = perfloop(&[
            "load", &url, "-c", "2", "-d", "1s", "-q", "--store", &db, "--tag", tag,
        ]);
        assert_eq!(code, 0, "{err}");
        assert!(err.contains("saved as run"), "{err}");
    }
    let (code, out, err) = perfloop(&["history", "--store", &db, "--json"]);
    assert_eq!(code, 0, "{err}");
    let runs: serde_json::Value = serde_json::from_str(&out).unwrap();
    let tags: Vec<&str> = runs
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["tags"]["n"].as_str().unwrap())
        .collect();
    assert_eq!(tags, ["2", "1"], "newest first: {out}");

    let (code, out, err) = perfloop(&["show", "tag:n=1", "--store", &db, "--json"]);
    assert_eq!(code, 0, "{err}");
    let record: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(record["schema"], "perfloop.run.v1");

    let (code, out, err) = perfloop(&["compare", "tag:n=1", "tag:n=2", "--store", &db, "--json"]);
    assert_eq!(code, 0, "{err}");
    let compared: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(compared["schema"], "perfloop.compare.v1");
    assert!(
        compared["metrics"]["throughput"]["a"].as_f64().unwrap() > 0.0,
        "{out}"
    );

    // The password never shows, whatever fails.
    let wrong = format!(
        "postgresql://postgres:s3cret@127.0.0.1:{}/no_such_db",
        cluster.port()
    );
    let (code, out, err) = perfloop(&["load", &url, "-n", "5", "--store", &wrong]);
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(
        err.contains("no_such_db") && err.contains("does not exist"),
        "{err}"
    );
    assert!(!err.contains("s3cret"), "{err}");
    assert!(!out.contains("Summary"), "a load ran: {out}");
}
