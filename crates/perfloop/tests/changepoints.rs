//! `perfloop changepoints`: Otava's expected change points through the command, the JSON
//! output's shape, and bad series refused with exit 2 naming the line or the JSON path. The
//! Otava data are read from `../shared/data/changepoint/otava/` beside the repository; a
//! missing file fails the test.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::path::PathBuf;

use common::perfloop;
use serde_json::Value;

fn otava_file(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/changepoint/otava")
        .join(name);
    assert!(
        path.is_file(),
        "the Otava reference data are missing: expected {} (the shared data directory beside \
         the repository)",
        path.display()
    );
    path.to_string_lossy().into_owned()
}

fn scratch(name: &str, text: &str) -> String {
    let dir = std::env::temp_dir().join(format!("perfloop-changepoints-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_string_lossy().into_owned()
}

fn indices(json: &str) -> Vec<u64> {
    let doc: Value = serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {json}"));
    doc["change_points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["index"].as_u64().unwrap())
        .collect()
}

#[test]
fn otava_mode_gives_otavas_tigerbeetle_change_points() {
    let series = otava_file("tigerbeetle_series.json");
    let cases: Value = serde_json::from_str(
        &std::fs::read_to_string(otava_file("tigerbeetle_expected.json")).unwrap(),
    )
    .unwrap();
    for case in cases.as_array().unwrap() {
        let (window, p, magnitude) = (
            case["window_len"].to_string(),
            case["max_pvalue"].to_string(),
            case["min_magnitude"].to_string(),
        );
        let args = [
            "changepoints",
            "--otava",
            "--json",
            "--window",
            &window,
            "--p-value",
            &p,
            "--magnitude",
            &magnitude,
            &series,
        ];
        let (code, out, err) = perfloop(&args);
        assert_eq!(code, 0, "{err}");
        let expected: Vec<u64> = case["expected"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap())
            .collect();
        assert_eq!(
            indices(&out),
            expected,
            "window {window} p {p} magnitude {magnitude}"
        );
    }
}

#[test]
fn json_output_has_exactly_the_documented_fields() {
    let series = otava_file("tigerbeetle_series.json");
    let (code, out, err) = perfloop(&["changepoints", "--json", &series]);
    assert_eq!(code, 0, "{err}");
    let doc: Value = serde_json::from_str(&out).unwrap();
    let object = doc.as_object().unwrap();
    assert_eq!(object.keys().collect::<Vec<_>>(), vec!["change_points"]);
    let points = doc["change_points"].as_array().unwrap();
    assert!(points.iter().any(|c| c["index"] == 71), "{out}");
    let mut previous = 0;
    for c in points {
        let mut keys: Vec<&String> = c.as_object().unwrap().keys().collect();
        keys.sort();
        assert_eq!(keys, vec!["after", "before", "index", "p_value"]);
        let index = c["index"].as_u64().unwrap();
        assert!(index > previous);
        previous = index;
        let p = c["p_value"].as_f64().unwrap();
        assert!((0.0..0.001).contains(&p), "{c}");
        assert!(c["before"].as_f64().unwrap() != c["after"].as_f64().unwrap());
    }
    // The fields come in the documented order.
    let first = out.lines().nth(1).unwrap();
    let at = |key: &str| first.find(key).unwrap();
    assert!(at("\"index\"") < at("\"before\"") && at("\"before\"") < at("\"after\""));
    assert!(at("\"after\"") < at("\"p_value\""));
}

#[test]
fn one_number_per_line_and_standard_input_work() {
    let mut text = String::new();
    for i in 0..60 {
        let level = if i < 30 { 10.0 } else { 20.0 };
        text.push_str(&format!("{}\n", level + f64::from((i * 7) % 5) * 0.1));
    }
    let file = scratch("levels.csv", &text);
    let (code, out, err) = perfloop(&["changepoints", "--json", &file]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(indices(&out), vec![30]);
    let (code, out, _) = perfloop(&["changepoints", &file]);
    assert_eq!(code, 0);
    assert!(out.contains("1 change point in 60 values"), "{out}");
    assert!(
        out.lines().any(|l| l.trim_start().starts_with("30 ")),
        "{out}"
    );
}

#[test]
fn bad_series_exit_2_naming_the_line_or_the_path() {
    let cases = [
        (
            "text.csv",
            "1.5\n2\nfast\n",
            "line 3: 'fast' is not a number",
        ),
        ("empty.csv", "\n\n", "holds no values"),
        ("empty.json", "{\"values\": []}", "holds no values"),
        (
            "string.json",
            "{\"values\": [1, 2, \"3\"]}",
            "$.values[2] is \"3\"",
        ),
        ("novalues.json", "{\"runs\": [1]}", "no $.values"),
    ];
    for (name, text, says) in cases {
        let file = scratch(name, text);
        let (code, out, err) = perfloop(&["changepoints", &file]);
        assert_eq!(code, 2, "{name}: {out}{err}");
        assert!(err.contains(says) && err.contains(name), "{name}: {err}");
        assert!(out.is_empty(), "{name}: {out}");
    }
    let file = scratch("ok.csv", "1\n2\n3\n");
    for flags in [
        ["--p-value", "0"],
        ["--window", "1"],
        ["--min-segment", "0"],
        ["--magnitude", "-1"],
    ] {
        let (code, _, err) = perfloop(&["changepoints", flags[0], flags[1], &file]);
        assert_eq!(code, 2, "{flags:?}: {err}");
    }
}
