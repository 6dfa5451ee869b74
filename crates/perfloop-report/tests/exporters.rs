//! The CSV and text exporters on a record built by hand.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use perfloop_report::export::{CSV_HEADER, WIDTH};
use perfloop_report::{CsvExporter, Exporter, Format, TextExporter};

fn text_of(
    exporter: &dyn Exporter<perfloop_report::RunRecord>,
    record: &perfloop_report::RunRecord,
) -> String {
    String::from_utf8(exporter.to_bytes(record).unwrap()).unwrap()
}

#[test]
fn csv_has_a_header_and_one_line_of_numbers_per_second() {
    let record = common::saturated_record();
    let csv = text_of(&CsvExporter, &record);
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("t_s,length_s,requests,errors,rps,p50_ms,p90_ms,p99_ms,max_ms")
    );
    assert_eq!(CSV_HEADER.split(',').count(), 9);
    let rows: Vec<Vec<f64>> = lines
        .map(|l| {
            l.split(',')
                .map(|f| f.parse::<f64>().unwrap_or_else(|_| panic!("{l}")))
                .collect()
        })
        .collect();
    assert_eq!(rows.len(), record.timeline.len());
    for (row, point) in rows.iter().zip(&record.timeline) {
        assert_eq!(row.len(), 9);
        assert_eq!(row[0], point.t_s as f64);
        assert_eq!(row[1], point.length_s);
        assert_eq!(row[2], point.requests as f64);
        assert_eq!(row[3], point.errors as f64);
        assert!((row[7] - point.p99_ms.unwrap()).abs() < 1e-3);
    }
}

#[test]
fn csv_leaves_the_latency_of_a_second_without_responses_empty() {
    let mut record = common::saturated_record();
    let quiet = &mut record.timeline[1];
    (quiet.requests, quiet.errors, quiet.rps) = (0, 0, 0.0);
    (quiet.p50_ms, quiet.p90_ms, quiet.p99_ms, quiet.max_ms) = (None, None, None, None);
    let csv = text_of(&CsvExporter, &record);
    assert_eq!(csv.lines().nth(2), Some("1,1.000,0,0,0.000,,,,"));
}

#[test]
fn csv_of_an_empty_timeline_is_the_header() {
    let mut record = common::saturated_record();
    record.timeline.clear();
    assert_eq!(text_of(&CsvExporter, &record), format!("{CSV_HEADER}\n"));
}

#[test]
fn the_text_summary_shows_percentiles_verdicts_and_warnings() {
    let record = common::saturated_record();
    let text = text_of(&TextExporter, &record);
    for line in text.lines() {
        assert!(
            line.chars().count() <= WIDTH,
            "too wide ({}): {line}",
            line.chars().count()
        );
    }
    for expected in [
        "POST http://127.0.0.1:8080/api/items?id=7",
        "p50",
        "612 µs",
        "p99",
        "48.13 ms",
        "p99.9",
        "201.50 ms",
        "max",
        "1.20 s",
        "40950 responses",
        "PASS  p99<200ms",
        "FAIL  error_rate<0.1%",
        "PASS  rps>=1e4",
        "SLO (2 of 3 passed)",
        "503",
        "status_5xx",
        "achieved rate",
        "µs/request",
        "97% 95%",
        "GENERATOR SATURATED",
        "!!! WARNING — ",
        "warning   2000 arrivals",
        "warning   the achieved rate",
        "level large",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in\n{text}");
    }
    // The distribution is drawn: one bar per bucket, the fullest the longest.
    let bars: Vec<usize> = text
        .lines()
        .filter(|l| l.trim_start().starts_with('≤'))
        .map(|l| l.matches('#').count())
        .collect();
    assert_eq!(bars.len(), record.latency_histogram.len());
    assert_eq!(bars.iter().max(), Some(&bars[1]));
    assert!(bars.iter().all(|&b| b >= 1));
}

#[test]
fn saturation_is_loud_even_without_its_warning_text() {
    let mut record = common::saturated_record();
    record.warnings.clear();
    let text = text_of(Format::Text.exporter(), &record);
    assert!(text.contains("GENERATOR SATURATED"), "{text}");

    record.generator.saturated = false;
    let text = text_of(Format::Text.exporter(), &record);
    assert!(
        !text.contains("SATURATED") && !text.contains("WARNING"),
        "{text}"
    );
}

#[test]
fn the_text_summary_of_a_run_without_responses_fits_too() {
    let mut record = common::saturated_record();
    record.latency_ms.count = 0;
    record.latency_histogram.clear();
    record.requests.by_status.clear();
    record.open_model = None;
    record.slo[0].value = None;
    record.slo[0].pass = false;
    record.target.url = format!("http://127.0.0.1:1/{}", "x".repeat(200));
    let text = text_of(&TextExporter, &record);
    assert!(text.contains("no response was received"), "{text}");
    assert!(
        text.contains("FAIL  p99<200ms") && text.contains("not measured"),
        "{text}"
    );
    // Nothing is cut: the long URL is whole, on a line of its own, the only wide one.
    assert!(!text.contains('…'), "{text}");
    let wide: Vec<&str> = text.lines().filter(|l| l.chars().count() > WIDTH).collect();
    assert_eq!(wide, [format!("  {}", record.target.url)]);
}

#[test]
fn every_format_writes_something() {
    let record = common::saturated_record();
    for format in [Format::Json, Format::Csv, Format::Text] {
        assert!(
            !format.exporter().to_bytes(&record).unwrap().is_empty(),
            "{format:?}"
        );
    }
}
