//! Per-endpoint figures in every run report: a plain run of one endpoint (real, against an
//! in-process server) and a run of two endpoints (the real run's outcome with two
//! endpoints' figures in it), in JSON (against the schema), text and CSV, with objectives
//! set on one endpoint.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, SystemTime};

use hdrhistogram::Histogram;
use perfloop_engine::{EndpointOutcome, EndpointSecond, ErrorKind, Outcome, Silent, run};
use perfloop_report::export::CSV_HEADER;
use perfloop_report::{BuildInput, CsvExporter, Exporter, JsonExporter, RunRecord, TextExporter};
use perfloop_stats::Slo;
use serde_json::Value;

fn text_of(exporter: &dyn Exporter<RunRecord>, record: &RunRecord) -> String {
    String::from_utf8(exporter.to_bytes(record).unwrap()).unwrap()
}

fn plain_outcome() -> (perfloop_engine::LoadConfig, Outcome) {
    let addr = common::start_axum();
    let config = common::closed(&format!("http://{addr}/"), 2, Duration::from_millis(400));
    let outcome = run(&config, Arc::new(AtomicBool::new(false)), &mut Silent).unwrap();
    (config, outcome)
}

fn build(config: &perfloop_engine::LoadConfig, outcome: &Outcome, slos: &[&str]) -> RunRecord {
    let slos: Vec<Slo> = slos.iter().map(|s| Slo::parse(s).unwrap()).collect();
    RunRecord::build(&BuildInput {
        config,
        outcome,
        slos: &slos,
        level: None,
        started_at: SystemTime::now(),
        monitor: None,
        target_command: None,
    })
}

fn valid(record: &RunRecord) -> Value {
    let text = String::from_utf8(JsonExporter.to_bytes(record).unwrap()).unwrap();
    let value: Value = serde_json::from_str(&text).unwrap();
    if let Err(e) = common::Validator::new().check(&value) {
        panic!("record does not match the schema:\n{e}\n{text}");
    }
    let back: RunRecord = serde_json::from_str(&text).unwrap();
    let names = |r: &RunRecord| -> Vec<(String, u64, u64)> {
        r.endpoints
            .iter()
            .map(|e| (e.name.clone(), e.requests, e.errors))
            .collect()
    };
    assert_eq!(names(&back), names(record));
    value
}

#[test]
fn a_plain_run_carries_its_one_endpoint_in_json_and_shows_no_table() {
    let (config, outcome) = plain_outcome();
    let record = build(&config, &outcome, &["GET /: p99<10s"]);
    assert_eq!(record.endpoints.len(), 1);
    let e = &record.endpoints[0];
    assert_eq!(e.name, "GET /");
    assert!(e.requests > 0);
    assert_eq!(
        (e.requests, e.ok, e.errors),
        (
            record.requests.total,
            record.requests.ok,
            record.requests.errors
        )
    );
    assert_eq!(e.latency_ms, record.latency_ms);
    assert_eq!(e.throughput_rps, record.throughput_rps);
    assert_eq!(e.time_share, 1.0);
    // The time waited is the sum of the latencies: the mean times the count, to the
    // histogram's precision.
    let from_mean = e.latency_ms.mean * e.requests as f64 / 1000.0;
    assert!(
        (e.waited_s - from_mean).abs() <= 0.01 * from_mean,
        "{} vs {from_mean}",
        e.waited_s
    );
    // The objective on the endpoint was checked on its figures.
    assert_eq!(record.slo[0].endpoint.as_deref(), Some("GET /"));
    assert_eq!(record.slo[0].value, Some(e.latency_ms.p99));
    let json = valid(&record);
    assert!(json["timeline"][0].get("endpoints").is_none(), "{json}");
    assert!(!text_of(&TextExporter, &record).contains("Endpoints"));
    let csv = text_of(&CsvExporter, &record);
    assert_eq!(csv.lines().next(), Some(CSV_HEADER));
}

fn histogram_of(values_us: &[(u64, u64)]) -> Histogram<u64> {
    let mut h = Histogram::new_with_bounds(1, 60_000_000, 3).unwrap();
    for &(v, n) in values_us {
        h.record_n(v, n).unwrap();
    }
    h
}

/// The real run's outcome as if two endpoints had shared it: `home` fast and frequent,
/// `search, by name` slow and rarer, so the most time is waited on the rarer one.
fn two_endpoints(outcome: &mut Outcome) {
    let mut by_kind = [0; ErrorKind::COUNT];
    by_kind[ErrorKind::ALL
        .iter()
        .position(|k| *k == ErrorKind::Timeout)
        .unwrap()] = 2;
    // The totals are the endpoints' sums.
    outcome.counts.ok = 398;
    outcome.counts.errors = 2;
    outcome.counts.by_kind = by_kind;
    outcome.endpoints = vec![
        EndpointOutcome {
            name: "home".into(),
            latency: histogram_of(&[(1_000, 300)]),
            ok: 300,
            errors: 0,
            by_kind: [0; ErrorKind::COUNT],
            waited: Duration::from_millis(300),
        },
        EndpointOutcome {
            name: "search, by name".into(),
            latency: histogram_of(&[(20_000, 98)]),
            ok: 98,
            errors: 2,
            by_kind,
            waited: Duration::from_millis(98 * 20 + 2 * 1000),
        },
    ];
    for row in &mut outcome.timeline {
        row.endpoints = vec![
            EndpointSecond {
                requests: 3,
                errors: 0,
                p50_ms: Some(1.0),
                p99_ms: Some(1.0),
            },
            EndpointSecond {
                requests: 1,
                errors: 1,
                p50_ms: None,
                p99_ms: None,
            },
        ];
    }
}

#[test]
fn two_endpoints_are_in_every_report_the_most_expensive_first() {
    let (config, mut outcome) = plain_outcome();
    two_endpoints(&mut outcome);
    let record = build(
        &config,
        &outcome,
        &[
            "home: p99<5ms",
            "search, by name: p99<5ms",
            "search, by name: error_rate<1%",
        ],
    );
    let [home, search] = &record.endpoints[..] else {
        panic!("{:?}", record.endpoints)
    };
    assert_eq!((home.requests, search.requests), (300, 100));
    assert!((search.time_share - 3.96 / 4.26).abs() < 1e-9, "{search:?}");
    assert!((home.time_share + search.time_share - 1.0).abs() < 1e-9);
    assert!(
        (home.throughput_rps + search.throughput_rps - record.throughput_rps).abs()
            < 1e-6 * record.throughput_rps,
    );
    assert_eq!(search.errors_by_kind.get("timeout"), Some(&2));
    // Each objective is checked on its endpoint's figures.
    let verdicts: Vec<_> = record
        .slo
        .iter()
        .map(|s| (s.endpoint.as_deref().unwrap(), s.pass, s.value.unwrap()))
        .collect();
    assert_eq!(verdicts[0].0, "home");
    assert!(
        verdicts[0].1 && (verdicts[0].2 - 1.0).abs() < 0.01,
        "{verdicts:?}"
    );
    assert!(
        !verdicts[1].1 && (verdicts[1].2 - 20.0).abs() < 0.05,
        "{verdicts:?}"
    );
    assert!(
        !verdicts[2].1 && (verdicts[2].2 - 0.02).abs() < 1e-12,
        "{verdicts:?}"
    );

    let json = valid(&record);
    assert_eq!(json["endpoints"][1]["name"], "search, by name");
    assert_eq!(json["timeline"][0]["endpoints"][0]["requests"], 3);

    let text = text_of(&TextExporter, &record);
    let table: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.starts_with("Endpoints"))
        .take(4)
        .collect();
    assert!(
        table[1].contains("endpoint") && table[1].contains("time"),
        "{text}"
    );
    assert!(
        table[2].starts_with("  search, by name") && table[2].contains("93.0 %"),
        "{text}"
    );
    assert!(
        table[3].starts_with("  home") && table[3].contains("7.0 %"),
        "{text}"
    );
    assert!(text.lines().all(|l| l.chars().count() <= 80), "{text}");

    let csv = text_of(&CsvExporter, &record);
    let mut lines = csv.lines();
    let header = lines.next().unwrap();
    assert_eq!(
        header,
        format!(
            "{CSV_HEADER},home requests,home errors,home rps,home p50_ms,home p99_ms,\
             \"search, by name requests\",\"search, by name errors\",\"search, by name rps\",\
             \"search, by name p50_ms\",\"search, by name p99_ms\""
        )
    );
    for (line, row) in lines.zip(&record.timeline) {
        let fields: Vec<&str> = line.split(',').collect();
        assert_eq!(fields.len(), 9 + 2 * 5, "{line}");
        let rps = |n: f64| format!("{:.3}", n / row.length_s);
        assert_eq!(fields[9..12], ["3", "0", &rps(3.0)], "{line}");
        assert_eq!(fields[14..19], ["1", "1", &rps(1.0), "", ""], "{line}");
    }
}

/// The real run's outcome with `home` at `home_ms` and `search, by name` at `search_ms`,
/// judged by `slos`.
fn step_run(
    config: &perfloop_engine::LoadConfig,
    outcome: &Outcome,
    home_ms: u64,
    search_ms: u64,
    slos: &[&str],
) -> RunRecord {
    let mut o = outcome.clone();
    two_endpoints(&mut o);
    o.endpoints[0].latency = histogram_of(&[(home_ms * 1000, 300)]);
    o.endpoints[1].latency = histogram_of(&[(search_ms * 1000, 98)]);
    // The run's latency is its endpoints', as the engine merges them.
    o.latency = o.endpoints[0].latency.clone();
    o.latency.add(&o.endpoints[1].latency).unwrap();
    build(config, &o, slos)
}

#[test]
fn the_capacity_search_names_the_endpoint_that_broke_an_objective_first() {
    use common::capacity::{Plan, settings, step_of};
    use perfloop_report::{
        CapacityHtml, CapacityInput, CapacityRecord, CapacityTarget, RateBracket, SearchEnding,
        StepKind,
    };
    let (config, outcome) = plain_outcome();
    // On the whole run, and on one endpoint.
    let slos = ["p99<50ms", "home: p99<5ms"];
    let steps = vec![
        // Both within their objectives.
        step_of(
            0,
            Plan::pass(StepKind::Ramp, 100.0),
            step_run(&config, &outcome, 1, 20, &slos),
        ),
        // At 400/s both break; `search` is the further beyond (300 ms against 50 ms).
        step_of(
            1,
            Plan::pass(StepKind::Ramp, 400.0),
            step_run(&config, &outcome, 8, 300, &slos),
        ),
        // At 200/s only `search` breaks the run's p99 objective.
        step_of(
            2,
            Plan::pass(StepKind::Bisect, 200.0),
            step_run(&config, &outcome, 2, 60, &slos),
        ),
    ];
    let breaches = steps[1].run.endpoint_breaches();
    let names: Vec<&str> = breaches.iter().map(|b| b.endpoint.as_str()).collect();
    assert_eq!(names, ["search, by name", "home"], "{breaches:?}");
    assert_eq!(breaches[0].expr, "p99<50ms");
    assert!((breaches[0].value.unwrap() - 300.0).abs() < 0.5);
    assert_eq!(breaches[1].expr, "home: p99<5ms");
    assert!(steps[0].run.endpoint_breaches().is_empty());

    let record = CapacityRecord::build(CapacityInput {
        started_at: SystemTime::now(),
        elapsed: Duration::from_secs(3),
        target: CapacityTarget {
            url: config.target.url.to_string(),
            method: "GET".into(),
            scenario: None,
            command: None,
            pid: None,
        },
        settings: settings(false),
        steps,
        ending: SearchEnding::Completed,
        bracket: RateBracket {
            passing: Some(100.0),
            failing: Some(200.0),
            resolved: false,
            reached_max: false,
        },
        knee: None,
        sweep: None,
        notes: vec![],
    });
    // The lowest rate at which an endpoint broke one is 200/s (step 2), not 400/s.
    let first = record.result.first_broken_endpoint.as_ref().unwrap();
    assert_eq!((first.step, first.rate), (2, 200.0));
    assert_eq!(first.breach.endpoint, "search, by name");
    assert!(first.others.is_empty(), "{first:?}");

    let text = String::from_utf8(JsonExporter.to_bytes(&record).unwrap()).unwrap();
    let value: Value = serde_json::from_str(&text).unwrap();
    if let Err(e) = common::Validator::capacity().check(&value) {
        panic!("record does not match the schema:\n{e}\n{text}");
    }
    let page = String::from_utf8(perfloop_report::CapacityText.to_bytes(&record).unwrap()).unwrap();
    assert!(
        page.contains("broke first") && page.contains("search, by name at step 2 (200 req/s"),
        "{page}"
    );
    // The endpoints of the step the result rests on (the highest passing, 400/s).
    let table: Vec<&str> = page
        .lines()
        .skip_while(|l| !l.starts_with("Endpoints at step 1 (400/s)"))
        .take(4)
        .collect();
    assert_eq!(table.len(), 4, "{page}");
    assert!(
        table[2].starts_with("  search, by name") && table[2].contains("300"),
        "{page}"
    );
    assert!(table[3].starts_with("  home"), "{page}");
    assert!(page.lines().all(|l| l.chars().count() <= 80), "{page}");
    let html = String::from_utf8(CapacityHtml.to_bytes(&record).unwrap()).unwrap();
    assert!(html.contains("endpoint that broke first"), "{html}");
    assert!(
        html.contains("<h2>Endpoints at step 1 (400/s)</h2>"),
        "{html}"
    );
    assert!(html.contains("<td>search, by name</td>"), "{html}");
}
