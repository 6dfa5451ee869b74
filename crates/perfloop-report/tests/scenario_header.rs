//! What the reports' headers say was sent: the method and URL of a run of one request, the
//! scenario file and its number of requests for a scenario (whose requests each have their
//! own method), in the run's text and the capacity search's text and HTML; the records
//! with a scenario still match their schemas.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use perfloop_report::{
    CapacityText, Exporter, JsonExporter, ScenarioInfo, TextExporter, write_capacity_html,
};

const URL: &str = "https://127.0.0.1:8443/";

fn scenario() -> Option<ScenarioInfo> {
    Some(ScenarioInfo {
        file: "examples/scenario/demo.toml".into(),
        requests: 2,
    })
}

fn text<R>(exporter: &dyn Exporter<R>, record: &R) -> String {
    String::from_utf8(exporter.to_bytes(record).unwrap()).unwrap()
}

#[test]
fn a_run_header_names_the_scenario_and_keeps_the_url_whole() {
    let plain = common::saturated_record();
    let page = text(&TextExporter, &plain);
    assert!(
        page.starts_with("perfloop 0.1.0 · POST http://127.0.0.1:8080/api/items?id=7\n"),
        "{page}"
    );

    let mut record = common::saturated_record();
    record.target.url = URL.into();
    record.target.method = String::new();
    record.target.scenario = scenario();
    let page = text(&TextExporter, &record);
    let lines: Vec<&str> = page.lines().collect();
    // Too long for one line: the URL whole on a line of its own.
    assert_eq!(
        lines[..2],
        [
            "perfloop 0.1.0 · scenario examples/scenario/demo.toml (2 requests)",
            "  https://127.0.0.1:8443/"
        ],
        "{page}"
    );
    assert!(lines.iter().all(|l| l.chars().count() <= 80), "{page}");

    record.target.scenario = Some(ScenarioInfo {
        file: "a.toml".into(),
        requests: 1,
    });
    let page = text(&TextExporter, &record);
    assert!(
        page.starts_with(
            "perfloop 0.1.0 · scenario a.toml (1 request) · https://127.0.0.1:8443/\n"
        ),
        "{page}"
    );

    let json = JsonExporter.to_bytes(&record).unwrap();
    let value: serde_json::Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(value["target"]["scenario"]["file"], "a.toml");
    common::Validator::new().check(&value).unwrap();
    let back: perfloop_report::RunRecord = serde_json::from_slice(&json).unwrap();
    assert_eq!(back, record);
}

#[test]
fn a_capacity_header_names_the_scenario_not_a_method() {
    let mut record = common::capacity::realistic();
    let page = text(&CapacityText, &record);
    assert!(
        page.lines()
            .next()
            .is_some_and(|l| l.starts_with("perfloop 0.1.0 · capacity · GET http://")),
        "{page}"
    );

    record.target.url = URL.into();
    record.target.method = String::new();
    record.target.scenario = scenario();
    let page = text(&CapacityText, &record);
    assert_eq!(
        page.lines().next(),
        Some(
            "perfloop 0.1.0 · capacity · scenario examples/scenario/demo.toml (2 requests) · \
             https://127.0.0.1:8443/"
        ),
        "{page}"
    );
    let mut html = Vec::new();
    write_capacity_html(&record, &mut html).unwrap();
    let html = String::from_utf8(html).unwrap();
    assert!(
        html.contains(
            "<title>perfloop capacity · scenario examples/scenario/demo.toml (2 requests) · \
             https://127.0.0.1:8443/"
        ),
        "{html}"
    );
    assert!(!html.contains("GET https://"), "{html}");

    let value: serde_json::Value =
        serde_json::from_slice(&JsonExporter.to_bytes(&record).unwrap()).unwrap();
    common::Validator::capacity().check(&value).unwrap();
}
