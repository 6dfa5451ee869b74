//! Real runs against an in-process server, turned into records, serialised and validated
//! against the committed schema `schema/perfloop.run.v1.json`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::time::Duration;

use perfloop_report::{
    Exporter, JsonExporter, LoadModel, PhaseMs, PhasesMs, RunEnding, RunRecord, TextExporter,
    TlsInfo, WarningKind,
};
use serde_json::Value;

fn json_of(record: &RunRecord) -> (String, Value) {
    let text = String::from_utf8(JsonExporter.to_bytes(record).unwrap()).unwrap();
    let value = serde_json::from_str(&text).unwrap();
    (text, value)
}

/// Checks what every record of a real run against a healthy server must hold.
fn check_common(record: &RunRecord, text: &str) {
    let v = common::Validator::new();
    let value: Value = serde_json::from_str(text).unwrap();
    if let Err(e) = v.check(&value) {
        panic!("record does not match the schema:\n{e}\n{text}");
    }
    let back: RunRecord = serde_json::from_str(text).unwrap();
    assert_eq!(back.requests, record.requests);
    assert_eq!(back.timeline.len(), record.timeline.len());

    let r = &record.requests;
    assert_eq!(r.total, r.ok + r.errors);
    assert!(r.ok > 0, "{r:?}");
    assert_eq!(r.by_status.get("200"), Some(&r.ok));
    assert_eq!(record.latency_ms.count, r.total);
    assert_eq!(
        record
            .latency_histogram
            .iter()
            .map(|b| b.count)
            .sum::<u64>(),
        r.total
    );
    let l = &record.latency_ms;
    assert!(
        0.0 < l.min && l.min <= l.p50 && l.p50 <= l.p99 && l.p99 <= l.max,
        "{l:?}"
    );
    assert_eq!(record.ending, RunEnding::Completed);
    assert!(!record.timeline.is_empty());
    // Plain HTTP: a first byte per response, no TLS handshake.
    let phases = &record.phases_ms;
    assert_eq!(
        phases.first_byte.as_ref().map(|p| p.count),
        Some(record.latency_ms.count)
    );
    assert!(phases.tls_handshake.is_none() && record.tls.is_none());
    // The open model's drain after the window is in the totals, not in the timeline.
    assert_eq!(
        record.timeline.iter().map(|t| t.requests).sum::<u64>() + r.drained,
        r.total
    );
    // Header names only: a secret never reaches the record.
    assert_eq!(record.target.header_names, ["Authorization", "X-Trace"]);
    assert!(!text.contains("top-secret-token"));
    assert!(record.started_at.ends_with('Z'), "{}", record.started_at);
    let g = &record.generator;
    let expected = (g.cpu_user_s + g.cpu_sys_s) * 1e6 / r.total as f64;
    assert!((g.cpu_us_per_request - expected).abs() <= 1e-9 * expected.max(1.0));
    // A run of about a second is no warning by itself; against a healthy server only
    // requests cut off at the end could be (when a stalled machine made them old).
    assert!(
        record
            .warnings
            .iter()
            .all(|w| w.kind == WarningKind::Unfinished),
        "{:?}",
        record.warnings
    );
    // The watched process's figures were measured.
    let summary = &value["target"]["summary"];
    for field in ["cpu_pct_mean", "rss_max_mb", "threads_max", "rchar_total"] {
        assert!(summary[field].is_number(), "{field}: {summary}");
    }
}

#[test]
fn a_closed_model_run_matches_the_schema() {
    let addr = common::start_axum();
    let config = common::closed(&format!("http://{addr}/"), 4, Duration::from_secs(1));
    let record = common::record_of(&config, &["p99<10s", "error_rate<1%", "rps>1e9"]);
    let (text, value) = json_of(&record);
    check_common(&record, &text);

    assert_eq!(record.load.model, LoadModel::Closed);
    assert_eq!(record.load.connections, Some(4));
    assert_eq!(record.load.rate, None);
    assert_eq!(value["open_model"], Value::Null);
    assert_eq!(value["schema"], "perfloop.run.v1");
    let verdicts: Vec<(&str, bool)> = record
        .slo
        .iter()
        .map(|s| (s.expr.as_str(), s.pass))
        .collect();
    assert_eq!(
        verdicts,
        [
            ("p99<10s", true),
            ("error_rate<1%", true),
            ("rps>1e9", false)
        ]
    );
    assert!(record.slo_failed());
}

#[test]
fn an_open_model_run_matches_the_schema() {
    let addr = common::start_axum();
    let config = common::open(&format!("http://{addr}/"), 400.0, Duration::from_secs(1));
    let record = common::record_of(&config, &["p99<10s"]);
    let (text, value) = json_of(&record);
    check_common(&record, &text);

    assert_eq!(record.load.model, LoadModel::Open);
    assert_eq!(record.load.rate, Some(400.0));
    assert_eq!(record.load.connections, None);
    let open = record.open_model.as_ref().unwrap();
    assert_eq!(open.asked_rate, 400.0);
    assert!(open.achieved_rate > 0.0);
    assert!(value["open_model"]["lag_ms"]["p99"].is_number());
    assert!(!record.slo_failed());
}

#[test]
fn a_record_with_errors_only_matches_the_schema() {
    let addr = common::start_axum();
    let config = common::closed(
        &format!("http://{addr}/missing"),
        2,
        Duration::from_millis(300),
    );
    let record = common::record_of(&config, &["p99<10s", "error_rate<=0.5"]);
    let (_, value) = json_of(&record);
    common::Validator::new().check(&value).unwrap();
    let r = &record.requests;
    assert_eq!((r.ok, r.errors), (0, r.total));
    assert_eq!(r.errors_by_kind.get("status_4xx"), Some(&r.total));
    assert_eq!(r.errors_by_kind.len(), 1);
    let w = record.warning(WarningKind::NoSuccess).unwrap();
    assert!(w.invalidates, "{w:?}");
    assert_eq!(value["warnings"][0]["kind"], "no_success");
    assert!(record.slo[0].pass, "4xx responses still have latencies");
    assert!(!record.slo[1].pass);
}

/// Regression (not measured is not zero): without a watched process the target's figures
/// are `null` in the samples and the summary, never 0, and the record still validates.
#[test]
fn figures_of_a_target_not_watched_are_null_not_zero() {
    let addr = common::start_axum();
    let config = common::closed(&format!("http://{addr}/"), 2, Duration::from_millis(600));
    let record = common::record_unwatched(&config);
    let (text, value) = json_of(&record);
    common::Validator::new().check(&value).unwrap();
    let back: RunRecord = serde_json::from_str(&text).unwrap();
    let read = back.target.summary.unwrap();
    assert!(!read.target_measured());
    assert_eq!((read.cpu_pct_mean, read.threads_max), (None, None));
    let summary = &value["target"]["summary"];
    assert!(summary["host_cpu_pct_mean"].is_number(), "{summary}");
    for field in [
        "cpu_pct_mean",
        "cpu_pct_max",
        "top_thread_cpu_pct_mean",
        "rss_max_mb",
        "threads_max",
        "fds_max",
        "processes_max",
        "ctx_voluntary_total",
        "rchar_total",
    ] {
        assert!(summary[field].is_null(), "{field}: {summary}");
    }
    let samples = value["target"]["samples"].as_array().unwrap();
    assert!(!samples.is_empty());
    for sample in samples {
        assert!(sample["host_cpu_pct"].is_number(), "{sample}");
        for field in ["cpu_pct", "rss_mb", "threads", "fds", "processes"] {
            assert!(sample[field].is_null(), "{field}: {sample}");
        }
    }
    let page = String::from_utf8(TextExporter.to_bytes(&record).unwrap()).unwrap();
    assert!(!page.contains("Target resources"), "{page}");
}

#[test]
fn a_hand_built_record_matches_the_schema() {
    let (_, value) = json_of(&common::saturated_record());
    common::Validator::new().check(&value).unwrap();
}

#[test]
fn a_tls_record_with_its_phases_matches_the_schema_and_shows_them() {
    let phase = |count, mean| PhaseMs {
        count,
        mean,
        p50: mean,
        p90: mean * 1.5,
        p99: mean * 2.0,
        max: mean * 3.0,
    };
    let mut record = common::saturated_record();
    record.phases_ms = PhasesMs {
        connect: Some(phase(64, 0.08)),
        tls_handshake: Some(phase(64, 1.25)),
        first_byte: Some(phase(30_000, 0.5)),
    };
    record.tls = Some(TlsInfo {
        version: "TLSv1_3".into(),
        cipher: "TLS13_AES_256_GCM_SHA384".into(),
        alpn: Some("http/1.1".into()),
    });
    let (text, value) = json_of(&record);
    common::Validator::new().check(&value).unwrap();
    let back: RunRecord = serde_json::from_str(&text).unwrap();
    assert_eq!(back, record);
    let page = String::from_utf8(TextExporter.to_bytes(&record).unwrap()).unwrap();
    assert!(
        page.contains("tls       TLSv1_3 · TLS13_AES_256_GCM_SHA384 · ALPN http/1.1"),
        "{page}"
    );
    assert!(
        page.contains("  tls handshake        64    1.25 ms"),
        "{page}"
    );
    assert!(page.lines().all(|l| l.chars().count() <= 80), "{page}");

    // A phase that did not occur is null, and a record without any still reads.
    let mut plain = record;
    plain.tls = None;
    plain.phases_ms.tls_handshake = None;
    let (_, value) = json_of(&plain);
    assert!(value["phases_ms"]["tls_handshake"].is_null());
    assert!(value["tls"].is_null());
    common::Validator::new().check(&value).unwrap();
    let mut old = value;
    old.as_object_mut().unwrap().remove("phases_ms");
    old.as_object_mut().unwrap().remove("tls");
    let read: RunRecord = serde_json::from_value(old).unwrap();
    assert_eq!(read.phases_ms, PhasesMs::default());
}

#[test]
fn the_schema_rejects_broken_records() {
    let v = common::Validator::new();
    let (_, good) = json_of(&common::saturated_record());
    v.check(&good).unwrap();

    let mut broken: Vec<(&str, Value)> = Vec::new();
    let mut without_requests = good.clone();
    without_requests.as_object_mut().unwrap().remove("requests");
    broken.push(("no requests", without_requests));
    let mut without_p99 = good.clone();
    without_p99["latency_ms"]
        .as_object_mut()
        .unwrap()
        .remove("p99");
    broken.push(("no latency_ms.p99", without_p99));
    let mut without_saturated = good.clone();
    without_saturated["generator"]
        .as_object_mut()
        .unwrap()
        .remove("saturated");
    broken.push(("no generator.saturated", without_saturated));
    let mut extra = good.clone();
    extra["requests"]["surprise"] = Value::from(1);
    broken.push(("unknown field", extra));
    let mut wrong_schema = good.clone();
    wrong_schema["schema"] = Value::from("perfloop.run.v0");
    broken.push(("other schema", wrong_schema));
    let mut wrong_ending = good.clone();
    wrong_ending["ending"] = Value::from("finished");
    broken.push(("unknown ending", wrong_ending));
    let mut negative = good.clone();
    negative["requests"]["total"] = Value::from(-1);
    broken.push(("negative count", negative));
    let mut bad_time = good;
    bad_time["started_at"] = Value::from("yesterday");
    broken.push(("bad timestamp", bad_time));

    for (what, value) in broken {
        assert!(v.check(&value).is_err(), "{what} was accepted");
        // The types refuse what the schema refuses, except what only the schema checks.
        if !matches!(what, "other schema" | "negative count" | "bad timestamp") {
            assert!(
                serde_json::from_value::<RunRecord>(value).is_err(),
                "{what} was read"
            );
        }
    }
}

#[test]
fn alerts_match_the_schema_and_read_back() {
    let v = common::Validator::new();
    let record = common::saturated_record();
    assert_eq!(record.alerts.len(), 2);
    let (_, good) = json_of(&record);
    v.check(&good).unwrap();
    assert_eq!(good["alerts"][0]["state"], "firing");
    assert_eq!(good["alerts"][0]["at"], "2025-01-31T12:00:01Z");
    assert!(
        good["alerts"][1].get("at").is_none(),
        "{}",
        good["alerts"][1]
    );
    let back: RunRecord = serde_json::from_value(good.clone()).unwrap();
    assert_eq!(back.alerts, record.alerts);
    // A record written before alerts existed reads back with none.
    let mut older = good.clone();
    older.as_object_mut().unwrap().remove("alerts");
    v.check(&older).unwrap();
    let back: RunRecord = serde_json::from_value(older).unwrap();
    assert!(back.alerts.is_empty());
    for (what, field, value) in [
        ("unknown state", "state", Value::from("pending")),
        ("negative second", "t_s", Value::from(-1)),
        ("no threshold", "threshold", Value::Null),
        ("unknown field", "unit", Value::from("ms")),
    ] {
        let mut broken = good.clone();
        let alert = broken["alerts"][0].as_object_mut().unwrap();
        if value.is_null() {
            alert.remove(field);
        } else {
            alert.insert(field.to_string(), value);
        }
        assert!(v.check(&broken).is_err(), "{what} was accepted");
        assert!(
            serde_json::from_value::<RunRecord>(broken).is_err(),
            "{what} was read"
        );
    }
}
