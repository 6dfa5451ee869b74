//! The REST API over a store of runs built here, served on 127.0.0.1.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod web_support;

use perfloop_stats::grid;
use serde_json::Value;
use web_support::{bucket_ms, filled_store, get, serve};

#[test]
fn runs_are_listed_newest_first_with_their_headline_and_filtered() {
    let (store, ids) = filled_store("list");
    let server = serve(Some(store), None);
    let reply = get(server.addr(), "/api/runs", &[]);
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    let body = reply.json();
    assert_eq!(body["api"], "perfloop.api.v1");
    let listed: Vec<i64> = body["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    assert_eq!(listed, vec![ids[2], ids[1], ids[0]]);
    let newest = &body["runs"][0];
    assert_eq!(newest["kind"], "load");
    assert_eq!(newest["target"], "http://127.0.0.1:8080/items");
    assert_eq!(newest["tags"]["branch"], "feature");
    assert_eq!(newest["url"], format!("/runs/{}", ids[2]));
    // 8 seconds of 100 + t requests over 8 s.
    let rps = newest["headline"]["throughput_rps"].as_f64().unwrap();
    assert!((rps - 103.5).abs() < 1e-9, "{rps}");

    let by_tag = get(server.addr(), "/api/runs?tag=branch%3Dmain&limit=1", &[]).json();
    let ids_by_tag: Vec<i64> = by_tag["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids_by_tag, vec![ids[1]]);
    let none = get(server.addr(), "/api/runs?kind=capacity", &[]).json();
    assert_eq!(none["count"], 0);
    let old = get(server.addr(), "/api/runs?since=2000-01-01", &[]).json();
    assert_eq!(old["count"], 3);
}

#[test]
fn a_run_carries_its_record_as_stored() {
    let (store, ids) = filled_store("one");
    let server = serve(Some(store), None);
    let body = get(server.addr(), &format!("/api/runs/{}", ids[0]), &[]).json();
    assert_eq!(body["api"], "perfloop.api.v1");
    assert_eq!(body["run"]["id"], ids[0]);
    assert_eq!(body["run"]["git"]["commit"], "0123456789abcdef");
    assert_eq!(body["record"]["schema"], "perfloop.run.v1");
    assert_eq!(body["record"]["timeline"].as_array().unwrap().len(), 6);
}

#[test]
fn the_timeline_has_the_live_shape_and_merges_exactly() {
    let (store, ids) = filled_store("timeline");
    let server = serve(Some(store), None);
    let body = get(
        server.addr(),
        &format!("/api/runs/{}/timeline", ids[1]),
        &[],
    )
    .json();
    assert_eq!(body["api"], "perfloop.api.v1");
    assert_eq!(body["seconds"], 10);
    assert_eq!(body["seconds_per_row"], 1);
    let rows = body["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 10);
    let row = &rows[4];
    for field in [
        "t_s",
        "length_s",
        "requests",
        "errors",
        "rps",
        "p50_ms",
        "p90_ms",
        "p99_ms",
        "max_ms",
        "latency_buckets",
        "statuses",
        "in_flight",
        "generator_cpu",
        "saturated",
        "target_cpu",
        "target_rss_bytes",
    ] {
        assert!(row.get(field).is_some(), "{field} missing from {row}");
    }
    assert_eq!(row["t_s"], 4);
    assert_eq!(row["requests"], 104);
    assert_eq!(row["latency_buckets"], serde_json::json!([[704, 104]]));
    assert_eq!(row["statuses"], Value::Null);
    assert_eq!(row["in_flight"], Value::Null);
    assert!((row["target_cpu"].as_f64().unwrap() - 0.5).abs() < 1e-9);
    assert!((row["generator_cpu"].as_f64().unwrap() - 0.1).abs() < 1e-9);

    // Ten seconds in at most 3 rows: groups of 4, 4 and 2 seconds.
    let merged = get(
        server.addr(),
        &format!("/api/runs/{}/timeline?max_points=3", ids[1]),
        &[],
    )
    .json();
    assert_eq!(merged["seconds_per_row"], 4);
    let rows = merged["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0]["requests"], 100 + 101 + 102 + 103);
    assert_eq!(rows[0]["length_s"], 4.0);
    assert_eq!(rows[2]["t_s"], 8);
    // The p99 of the first group, read from its merged buckets as grid::quantile_us does.
    let buckets = vec![(700, 100), (701, 101), (702, 102), (703, 103)];
    let want = grid::quantile_us(&buckets, 0.99).unwrap() / 1000.0;
    let got = rows[0]["p99_ms"].as_f64().unwrap();
    assert!((got - want).abs() < 1e-12, "{got} vs {want}");
    assert!(got > bucket_ms(702) && got <= bucket_ms(703), "{got}");
    assert_eq!(rows[0]["max_ms"].as_f64().unwrap(), bucket_ms(703));
}

#[test]
fn unknown_runs_are_404_and_bad_queries_400_with_a_json_error() {
    let (store, ids) = filled_store("errors");
    let server = serve(Some(store), None);
    for path in [
        "/api/runs/999".to_owned(),
        "/api/runs/999/timeline".to_owned(),
        format!("/api/compare/{}/999", ids[0]),
        "/api/nothing-here".to_owned(),
    ] {
        let reply = get(server.addr(), &path, &[]);
        assert_eq!(reply.status, 404, "{path}");
        let body = reply.json();
        assert_eq!(body["api"], "perfloop.api.v1", "{path}");
        assert!(body["error"].as_str().unwrap().len() > 5, "{path}: {body}");
    }
    assert!(
        get(server.addr(), "/api/runs/999", &[]).json()["error"]
            .as_str()
            .unwrap()
            .contains("run 999")
    );
    for path in [
        "/api/runs?limit=0",
        "/api/runs?kind=nope",
        "/api/runs?since=someday",
        "/api/runs?tag=novalue",
        "/api/runs?colour=red",
        "/api/runs/abc",
        "/api/runs/1/timeline?max_points=1",
        "/api/compare/1/x",
    ] {
        let reply = get(server.addr(), path, &[]);
        assert_eq!(reply.status, 400, "{path}: {}", reply.body);
        assert_eq!(reply.json()["api"], "perfloop.api.v1");
    }
    let said = get(server.addr(), "/api/runs?limit=0", &[]).json();
    assert!(
        said["error"].as_str().unwrap().contains("limit '0'"),
        "{said}"
    );
}

#[test]
fn two_load_runs_are_compared_as_perfloop_compare_does() {
    let (store, ids) = filled_store("compare");
    let server = serve(Some(store), None);
    let body = get(
        server.addr(),
        &format!("/api/compare/{}/{}", ids[0], ids[1]),
        &[],
    )
    .json();
    assert_eq!(body["api"], "perfloop.api.v1");
    assert_eq!(body["a"]["id"], ids[0]);
    assert_eq!(body["b"]["id"], ids[1]);
    let record = &body["compare"];
    assert_eq!(record["schema"], "perfloop.compare.v1");
    assert_eq!(record["a"]["runs"][0], ids[0]);
    // Run B's seconds are slower (higher buckets) and busier: the figures are the runs'.
    let p50 = &record["metrics"]["p50"];
    assert!(
        p50["b"].as_f64().unwrap() > p50["a"].as_f64().unwrap(),
        "{p50}"
    );
    for metric in ["throughput", "p50", "p90", "p99", "p999", "error_rate"] {
        let verdict = record["metrics"][metric]["verdict"].as_str().unwrap();
        assert!(
            ["faster", "slower", "same"].contains(&verdict),
            "{metric}: {verdict}"
        );
    }
}

#[test]
fn a_server_without_a_store_lists_nothing() {
    let server = serve(None, None);
    let body = get(server.addr(), "/api/runs", &[]).json();
    assert_eq!(body["count"], 0);
    assert_eq!(get(server.addr(), "/api/runs/1", &[]).status, 404);
}

#[test]
fn latest_runs_gives_the_listing_entries() {
    let (store, ids) = filled_store("latest");
    let latest = perfloop_serve::api::store::latest_runs(&store, 2).unwrap();
    let got: Vec<i64> = latest.iter().map(|r| r["id"].as_i64().unwrap()).collect();
    assert_eq!(got, vec![ids[2], ids[1]]);
    assert!(latest[0]["headline"]["p99_ms"].as_f64().is_some());
}
