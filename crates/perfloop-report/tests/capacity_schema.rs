//! A capacity record made of real runs, serialised and validated against the committed
//! schema `schema/perfloop.capacity.v1.json` (whose steps refer to the run schema).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use perfloop_report::{CapacityRecord, Exporter, JsonExporter, StepKind};
use serde_json::Value;

fn json_of(record: &CapacityRecord) -> Value {
    let bytes = JsonExporter.to_bytes(record).unwrap();
    assert!(bytes.ends_with(b"}\n"));
    serde_json::from_slice(&bytes).unwrap()
}

#[test]
fn a_measured_capacity_record_matches_the_schema() {
    let record = common::capacity::realistic();
    // Every kind of step, a fitted sweep, findings with evidence and recommendations.
    for kind in [StepKind::Ramp, StepKind::Bisect, StepKind::Sweep] {
        assert!(record.steps.iter().any(|s| s.kind == kind), "no {kind:?}");
    }
    assert!(record.steps.iter().any(|s| !s.verdict.trusted));
    assert!(record.sweep.as_ref().unwrap().usl.is_some());
    assert!(record.findings.iter().any(|f| !f.evidence.is_empty()));
    assert!(
        record
            .findings
            .iter()
            .any(|f| !f.recommendations.is_empty())
    );
    assert!(
        record
            .steps
            .iter()
            .all(|s| !s.run.target.samples.is_empty())
    );

    let value = json_of(&record);
    let v = common::Validator::capacity();
    if let Err(e) = v.check(&value) {
        panic!("record does not match the schema:\n{e}\n{value:#}");
    }
    assert_eq!(value["schema"], "perfloop.capacity.v1");
    assert_eq!(value["steps"][0]["kind"], "ramp");
    assert_eq!(value["steps"][0]["run"]["schema"], "perfloop.run.v1");
    // Read back (figures may differ in the last bit: serde_json parses floats fast, not
    // exactly).
    let back: CapacityRecord = serde_json::from_value(value).unwrap();
    let shape = |r: &CapacityRecord| {
        (
            r.steps
                .iter()
                .map(|s| (s.index, s.kind, s.verdict.pass, s.verdict.reasons.clone()))
                .collect::<Vec<_>>(),
            r.result.max_passing_step,
            r.result.bounded_by.clone(),
            r.findings
                .iter()
                .map(|f| (f.rule.clone(), f.severity, f.recommendations.clone()))
                .collect::<Vec<_>>(),
        )
    };
    assert_eq!(shape(&back), shape(&record));
}

#[test]
fn a_capacity_record_without_a_passing_step_or_sweep_matches_the_schema() {
    let record = common::capacity::nothing_passed();
    let value = json_of(&record);
    assert_eq!(value["sweep"], Value::Null);
    assert_eq!(value["result"]["max_sustainable_rps"], Value::Null);
    common::Validator::capacity().check(&value).unwrap();
}

#[test]
fn the_capacity_schema_rejects_broken_records() {
    let v = common::Validator::capacity();
    let good = json_of(&common::capacity::nothing_passed());
    v.check(&good).unwrap();

    let mut broken: Vec<(&str, Value)> = Vec::new();
    let mut extra = good.clone();
    extra["surprise"] = Value::from(1);
    broken.push(("unknown field", extra));
    let mut extra_in_verdict = good.clone();
    extra_in_verdict["steps"][0]["verdict"]["surprise"] = Value::from(true);
    broken.push(("unknown field in a verdict", extra_in_verdict));
    let mut extra_in_run = good.clone();
    extra_in_run["steps"][0]["run"]["requests"]["surprise"] = Value::from(1);
    broken.push(("unknown field in a step's run", extra_in_run));
    let mut wrong_schema = good.clone();
    wrong_schema["schema"] = Value::from("perfloop.run.v1");
    broken.push(("other schema", wrong_schema));
    let mut wrong_kind = good.clone();
    wrong_kind["steps"][0]["kind"] = Value::from("warmup");
    broken.push(("unknown step kind", wrong_kind));
    let mut wrong_severity = good.clone();
    wrong_severity["findings"][0]["severity"] = Value::from("fatal");
    broken.push(("unknown severity", wrong_severity));
    let mut without_result = good.clone();
    without_result.as_object_mut().unwrap().remove("result");
    broken.push(("no result", without_result));
    let mut run_without_latency = good;
    run_without_latency["steps"][1]["run"]
        .as_object_mut()
        .unwrap()
        .remove("latency_ms");
    broken.push(("a step's run without latency", run_without_latency));

    for (what, value) in broken {
        assert!(v.check(&value).is_err(), "{what} was accepted");
        // The types refuse it too, except what only the schema checks.
        if what != "other schema" {
            assert!(
                serde_json::from_value::<CapacityRecord>(value).is_err(),
                "{what} was read"
            );
        }
    }
}
