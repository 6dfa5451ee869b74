//! The pages and the assets, over a store of runs built here, served on 127.0.0.1.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod web_support;

use web_support::{filled_store, get, serve};

#[test]
fn the_runs_page_lists_every_run_with_user_strings_escaped() {
    let (store, ids) = filled_store("runs-page");
    let server = serve(Some(store), None);
    let reply = get(server.addr(), "/runs", &[]);
    assert_eq!(reply.status, 200);
    assert!(
        reply
            .header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
    let html = &reply.body;
    assert!(html.contains("<table id=\"runs\""), "{html}");
    for id in &ids {
        assert!(
            html.contains(&format!("<tr data-run-id=\"{id}\">")),
            "run {id}"
        );
    }
    assert!(html.contains("<svg class=\"spark\""));
    assert!(!html.contains("<script>alert"), "a tag value came out raw");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    // No inline script: only the dashboard's own files.
    assert!(!html.contains("<script>"));

    let filtered = get(server.addr(), "/runs?tag=branch%3Dfeature", &[]).body;
    assert!(filtered.contains(&format!("data-run-id=\"{}\"", ids[2])));
    assert!(!filtered.contains(&format!("data-run-id=\"{}\"", ids[0])));
    assert_eq!(get(server.addr(), "/runs?limit=nope", &[]).status, 400);
}

#[test]
fn a_load_run_page_has_charts_findings_and_the_report() {
    let (store, ids) = filled_store("run-page");
    let server = serve(Some(store), None);
    let reply = get(server.addr(), &format!("/runs/{}", ids[0]), &[]);
    assert_eq!(reply.status, 200, "{}", reply.body);
    let html = &reply.body;
    assert!(html.contains(&format!("data-view=\"run\" data-run-id=\"{}\"", ids[0])));
    for chart in [
        "chart-throughput",
        "chart-latency",
        "chart-errors",
        "chart-cpu",
        "chart-rss",
        "chart-histogram",
    ] {
        assert!(
            html.contains(&format!("class=\"chart\" id=\"{chart}\" data-points=\"0\"")),
            "{chart}"
        );
    }
    assert!(html.contains("<section id=\"findings\">"));
    // The run report's own sections, its static plots replaced by the charts.
    assert!(html.contains("<section id=\"headline\">"));
    assert!(html.contains("<section id=\"requests\">"));
    assert!(!html.contains("<section id=\"plots\">"));
    assert!(html.contains("<script src=\"/assets/app.js\" defer></script>"));
    assert!(!html.contains("<script>"));
}

#[test]
fn unknown_runs_and_paths_are_404_pages() {
    let (store, _) = filled_store("missing");
    let server = serve(Some(store), None);
    let reply = get(server.addr(), "/runs/4242", &[]);
    assert_eq!(reply.status, 404);
    assert!(reply.body.contains("run 4242 is not in the store"));
    assert_eq!(get(server.addr(), "/no/such/page", &[]).status, 404);
    assert_eq!(get(server.addr(), "/runs/x", &[]).status, 400);
}

#[test]
fn the_compare_page_overlays_and_gives_the_verdicts() {
    let (store, ids) = filled_store("compare-page");
    let server = serve(Some(store), None);
    let reply = get(
        server.addr(),
        &format!("/compare/{}/{}", ids[0], ids[1]),
        &[],
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    let html = &reply.body;
    assert!(html.contains("<table id=\"verdicts\">"));
    assert!(html.contains("<tr data-metric=\"p99\">"));
    assert!(html.contains("id=\"chart-compare-throughput\" data-points=\"0\""));
    assert!(html.contains("id=\"chart-compare-p99\" data-points=\"0\""));
    let form = get(
        server.addr(),
        &format!("/compare?a={}&b={}", ids[0], ids[1]),
        &[],
    );
    assert_eq!(form.status, 303);
    assert_eq!(
        form.header("location"),
        Some(format!("/compare/{}/{}", ids[0], ids[1]).as_str())
    );
}

#[test]
fn the_root_goes_to_the_runs_without_a_live_run() {
    let server = serve(None, None);
    let reply = get(server.addr(), "/", &[]);
    assert_eq!(reply.status, 303);
    assert_eq!(reply.header("location"), Some("/runs"));
}

#[test]
fn assets_are_served_from_the_binary_with_their_types() {
    let server = serve(None, None);
    for (path, kind, holds) in [
        ("/assets/uPlot.iife.min.js", "text/javascript", "uPlot"),
        ("/assets/uPlot.min.css", "text/css", ".uplot"),
        ("/assets/app.js", "text/javascript", "EventSource"),
        ("/assets/app.css", "text/css", "nav.top"),
    ] {
        let reply = get(server.addr(), path, &[]);
        assert_eq!(reply.status, 200, "{path}");
        assert!(
            reply.header("content-type").unwrap().starts_with(kind),
            "{path}"
        );
        assert_eq!(
            reply.header("cache-control"),
            Some("public, max-age=3600"),
            "{path}"
        );
        assert!(reply.body.contains(holds), "{path}");
    }
    assert_eq!(
        get(server.addr(), "/assets/..%2FCargo.toml", &[]).status,
        404
    );
    assert_eq!(get(server.addr(), "/assets/secret", &[]).status, 404);
}
