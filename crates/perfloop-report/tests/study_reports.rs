//! The study exporters — JSON checked against the committed schema
//! `schema/perfloop.study.v1.json`, the text summary and the HTML page — on a realistic
//! study, a long one, one where the defaults stand, one where every trial failed and an
//! empty one.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use common::study::{COMMAND, DEFAULTS, ODD_CACHE};
use common::{Validator, as_xml, check_xml, svgs};
use perfloop_report::export::WIDTH;
use perfloop_report::{
    Exporter, Gain, JsonExporter, StudyEnding, StudyHtml, StudyRecord, StudyText, TrialRole,
    write_study_html, write_study_text,
};
use serde_json::Value;

fn json_of(record: &StudyRecord) -> Value {
    let bytes = JsonExporter.to_bytes(record).unwrap();
    assert!(bytes.ends_with(b"}\n"));
    assert!(bytes.starts_with(b"{\n  \"schema\""), "not pretty");
    serde_json::from_slice(&bytes).unwrap()
}

fn validate(record: &StudyRecord) -> Value {
    let value = json_of(record);
    if let Err(e) = Validator::study().check(&value) {
        panic!("record does not match the schema:\n{e}\n{value:#}");
    }
    value
}

fn text_of(record: &StudyRecord) -> String {
    let mut out = Vec::new();
    write_study_text(record, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert_eq!(StudyText.to_bytes(record).unwrap(), text.as_bytes());
    for line in text.lines() {
        assert!(
            line.chars().count() <= WIDTH,
            "too wide ({}): {line}",
            line.chars().count()
        );
    }
    text
}

fn html_of(record: &StudyRecord) -> String {
    let mut out = Vec::new();
    write_study_html(record, &mut out).unwrap();
    let html = String::from_utf8(out).unwrap();
    assert_eq!(StudyHtml.to_bytes(record).unwrap(), html.as_bytes());
    assert!(html.starts_with("<!DOCTYPE html>"));
    check_xml(&as_xml(&html));
    for svg in svgs(&html) {
        assert!(svg.contains("<text"), "an unlabelled plot: {svg}");
    }
    // Nothing is fetched and nothing runs.
    for needle in [
        "http://", "https://", "<script", "src=", "<link", "url(", "@import", "<iframe",
    ] {
        assert!(!html.contains(needle), "{needle} in the page");
    }
    html
}

/// The text with every run of whitespace made one space, so wrapped sentences can be
/// searched for.
fn flat(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The labelled line of the text that starts with `label` and the lines continuing it
/// (indented past the label), flattened.
fn block(text: &str, label: &str) -> String {
    let mut lines = text.lines().skip_while(|l| !l.starts_with(label));
    let first = lines
        .next()
        .unwrap_or_else(|| panic!("no {label:?} in\n{text}"));
    let rest = lines.take_while(|l| l.starts_with(&" ".repeat(label.len() + 1)));
    flat(
        &std::iter::once(first)
            .chain(rest)
            .collect::<Vec<_>>()
            .join(" "),
    )
}

/// A gain as the reports print it.
fn gain_text(g: &Gain) -> String {
    format!(
        "{:+.1} % [{:+.1}, {:+.1}]",
        g.percent,
        g.ci95_low_pct.unwrap(),
        g.ci95_high_pct.unwrap()
    )
}

/// Whether two JSON values are equal, numbers to 1e-12 relative (serde_json reads floats
/// fast, not always to the last bit).
fn close(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            (x - y).abs() <= 1e-12 * x.abs().max(y.abs())
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| close(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| close(v, w)))
        }
        _ => a == b,
    }
}

#[test]
fn a_study_record_matches_the_schema_and_reads_back() {
    let record = common::study::realistic();
    // What the fixture promises: failed and violated exploration, the baseline between,
    // three rounds of three finalists and the baseline, a significant best.
    let count = |role: TrialRole| record.trials.iter().filter(|t| t.role == role).count();
    assert_eq!(count(TrialRole::Explore), 12);
    assert_eq!(count(TrialRole::Baseline), 4 + 3);
    assert_eq!(count(TrialRole::Confirm), 9);
    assert!(record.trials.iter().any(|t| t.state == "failed"));
    assert!(record.trials.iter().any(|t| t.state == "violated"));
    assert_eq!(record.finalists.len(), 3);
    let best = record.best.as_ref().unwrap();
    assert!(best.gain.as_ref().unwrap().significant);

    let value = validate(&record);
    assert_eq!(value["schema"], "perfloop.study.v1");
    assert_eq!(value["ending"], "trials");
    assert_eq!(value["objective"]["direction"], "maximize");
    assert_eq!(value["trials"][0]["role"], "baseline");
    assert_eq!(value["trials"][0]["round"], Value::Null);
    assert_eq!(value["trials"][1]["role"], "explore");
    assert_eq!(value["trials"][1]["config"]["workers"], 8);
    assert_eq!(value["trials"][1]["config"]["compress"], false);
    assert_eq!(value["trials"][4]["config"]["cache"], ODD_CACHE);
    assert_eq!(value["trials"][4]["objective"], Value::Null);
    assert_eq!(value["best"]["runner_up"], Value::Null);
    assert_eq!(value["best"]["gain"]["method"], "log_ratio");

    let back: StudyRecord = serde_json::from_value(value.clone()).unwrap();
    let again = serde_json::to_value(&back).unwrap();
    assert!(close(&value, &again), "the record changed on its way back");
    assert_eq!(back.trials.len(), record.trials.len());
    assert_eq!(back.best.as_ref().unwrap().config, best.config);
}

#[test]
fn the_edge_records_match_the_schema() {
    let failed = common::study::all_failed();
    let value = validate(&failed);
    assert_eq!(value["best"], Value::Null);
    assert_eq!(value["ending"], "all_failed");
    assert_eq!(value["finalists"], Value::Array(vec![]));
    assert_eq!(value["trials"][0]["best_so_far"], Value::Null);

    let stand = common::study::defaults_stand();
    let value = validate(&stand);
    assert_eq!(value["best"]["is_default"], true);
    assert_eq!(value["best"]["gain"], Value::Null);
    assert!(value["best"]["runner_up"].is_object());

    let mut empty = common::study::all_failed();
    empty.trials.clear();
    empty.knobs.clear();
    empty.budget.trials = None;
    empty.budget.time_s = None;
    validate(&empty);
}

#[test]
fn the_study_schema_rejects_broken_records() {
    let v = Validator::study();
    let good = json_of(&common::study::realistic());
    v.check(&good).unwrap();

    let mut broken: Vec<(&str, Value)> = Vec::new();
    let mut extra = good.clone();
    extra["surprise"] = Value::from(1);
    broken.push(("unknown field", extra));
    let mut extra_in_trial = good.clone();
    extra_in_trial["trials"][3]["surprise"] = Value::from(true);
    broken.push(("unknown field in a trial", extra_in_trial));
    let mut extra_in_gain = good.clone();
    extra_in_gain["best"]["gain"]["p_value"] = Value::from(0.01);
    broken.push(("unknown field in a gain", extra_in_gain));
    let mut wrong_role = good.clone();
    wrong_role["trials"][0]["role"] = Value::from("warmup");
    broken.push(("unknown role", wrong_role));
    let mut wrong_ending = good.clone();
    wrong_ending["ending"] = Value::from("all-failed");
    broken.push(("unknown ending", wrong_ending));
    let mut wrong_direction = good.clone();
    wrong_direction["objective"]["direction"] = Value::from("Maximize");
    broken.push(("unknown direction", wrong_direction));
    let mut object_value = good.clone();
    object_value["trials"][1]["config"]["workers"] = serde_json::json!({"min": 1});
    broken.push(("a knob value that is an object", object_value));
    let mut text_objective = good.clone();
    text_objective["trials"][1]["objective"] = Value::from("fast");
    broken.push(("an objective that is text", text_objective));
    let mut without_best = good.clone();
    without_best.as_object_mut().unwrap().remove("best");
    broken.push(("no best", without_best));
    // What only the schema checks: the types hold any JSON value or string here.
    let mut wrong_schema = good.clone();
    wrong_schema["schema"] = Value::from("perfloop.capacity.v1");
    broken.push(("other schema", wrong_schema));
    let mut wrong_state = good.clone();
    wrong_state["trials"][1]["state"] = Value::from("done");
    broken.push(("unknown state", wrong_state));
    let mut wrong_sampler = good;
    wrong_sampler["budget"]["sampler"] = Value::from("bayes");
    broken.push(("unknown sampler", wrong_sampler));

    for (what, value) in broken {
        assert!(v.check(&value).is_err(), "{what} was accepted");
        // serde reads a missing `Option` as `None`; the schema wants every field written.
        let schema_only = [
            "no best",
            "a knob value that is an object",
            "other schema",
            "unknown state",
            "unknown sampler",
        ];
        if !schema_only.contains(&what) {
            assert!(
                serde_json::from_value::<StudyRecord>(value).is_err(),
                "{what} was read"
            );
        }
    }
}

#[test]
fn the_text_summary_of_a_study() {
    let record = common::study::realistic();
    let text = text_of(&record);
    let flat_text = flat(&text);
    let best = record.best.as_ref().unwrap();
    let gain = best.gain.as_ref().unwrap();
    let best_config = format!(
        "workers={} batch={} cache={} compress={}",
        best.config["workers"],
        best.config["batch"],
        best.config["cache"].as_str().unwrap(),
        best.config["compress"]
    );
    for expected in [
        "perfloop 0.1.0 · study api-throughput · managed target".to_string(),
        "objective maximize throughput · req/s (higher is better)".to_string(),
        "limits p99<120ms · error_rate<1%".to_string(),
        "sampler tpe · seed 42 · 3 measurements per trial".to_string(),
        "workers (int 1..32, log; default 4)".to_string(),
        "trials 28 run: 12 explore, 7 baseline, 9 confirm 25 complete, 2 failed, 1 violated"
            .to_string(),
        "ended trials: every trial of the budget ran".to_string(),
        format!("best {best_config}"),
        "warning the baseline drifted by 1.2 %".to_string(),
    ] {
        assert!(
            flat_text.contains(&expected),
            "missing {expected:?} in\n{text}"
        );
    }
    let gain_block = block(&text, "  gain");
    assert!(
        gain_block.starts_with(&format!(
            "gain {} · 95 % CI over 3 paired rounds, log_ratio",
            gain_text(gain)
        )),
        "{gain_block}"
    );
    assert!(gain_block.ends_with(" significant") && !gain_block.contains("not"));
    // The command is whole, wrapped under its label: nothing is cut.
    assert_eq!(
        block(&text, "command"),
        format!("command {}", flat(COMMAND))
    );
    assert!(!text.contains('…'), "{text}");
    // Warnings qualify the conclusion, one line each; none invalidates a figure.
    assert!(!text.contains("!!!"), "{text}");
    // One row per trial, with its role and objective (or why it has none).
    for t in &record.trials {
        let tag = match (t.role, t.round) {
            (TrialRole::Explore, _) => "E".to_string(),
            (TrialRole::Baseline, None) => "B".to_string(),
            (TrialRole::Baseline, Some(r)) => format!("B{}", r + 1),
            (TrialRole::Confirm, Some(r)) => format!("C{}", r + 1),
            (TrialRole::Confirm, None) => "C".to_string(),
        };
        let head = format!("  {:>3} {tag:<3} ", t.number);
        let row = text
            .lines()
            .find(|l| l.starts_with(&head))
            .unwrap_or_else(|| panic!("no row for trial {} in\n{text}", t.number));
        match t.objective {
            Some(y) => assert!(row.ends_with(&format!(" {y:.1}  ok")), "{row}"),
            None => {
                assert!(row.ends_with(&format!("–  {}", t.state)), "{row}");
                // The reason whole on the next lines.
                let reason = t.reason.as_ref().unwrap();
                let next = text.lines().skip_while(|l| *l != row).nth(1).unwrap();
                assert!(next.trim_start().starts_with("↳ "), "{next}");
                assert!(flat(&text).contains(&flat(reason)), "{reason}");
            }
        }
    }
    // A configuration fits its column: no line continues one (a reason's lines start
    // with `↳` or continue under its text).
    let continued = text
        .lines()
        .skip_while(|l| !l.starts_with("Trials"))
        .skip(2)
        .take_while(|l| !l.trim().is_empty() && !l.starts_with("  E explore"))
        .filter(|l| l.starts_with(&" ".repeat(10)) && !l.trim_start().starts_with('↳'))
        .filter(|l| !l.starts_with(&" ".repeat(12)))
        .count();
    assert_eq!(continued, 0, "{text}");
    assert!(
        block(&text, "study")
            .replace(' ', "")
            .contains(&format!("fingerprint{}", record.fingerprint)),
        "{text}"
    );
    // The baseline rows say so instead of repeating the defaults.
    assert!(
        text.lines().any(|l| l.starts_with("    0 B   (defaults)")),
        "{text}"
    );
    // The finalists, best first, with their gains.
    for (i, f) in record.finalists.iter().enumerate() {
        let g = f.gain.as_ref().unwrap();
        assert!(
            flat_text.contains(&format!("gain {}", gain_text(g))),
            "finalist {i}: {}",
            gain_text(g)
        );
    }
    // The before/after table: throughput with one decimal, latencies with two, the change.
    let row = text
        .lines()
        .find(|l| l.starts_with("  throughput, req/s"))
        .unwrap();
    let before = best.before["throughput"];
    let after = best.after["throughput"];
    assert!(row.contains(&format!("{before:.1}")), "{row}");
    assert!(row.contains(&format!("{after:.1}")), "{row}");
    assert!(
        row.ends_with(&format!("{:+.1} %", (after / before - 1.0) * 100.0)),
        "{row}"
    );
    let p99 = text.lines().find(|l| l.starts_with("  p99, ms")).unwrap();
    assert!(p99.contains(&format!("{:.2}", best.before["p99"])), "{p99}");
    assert!(text.lines().any(|l| l.starts_with("  error rate, %")));
    assert!(text.lines().any(|l| l.starts_with("  RSS, MiB")));
    // Importance as bars, the longest for the largest share.
    let bar = |knob: &str| {
        let line = text
            .lines()
            .find(|l| l.starts_with(&format!("  {knob:<16} ")))
            .unwrap();
        line.matches('#').count()
    };
    assert_eq!(bar("workers"), 23);
    assert!(bar("batch") > bar("cache"));
    assert!(
        text.lines()
            .any(|l| l.starts_with("  workers") && l.ends_with("58.0 %"))
    );
    // The conclusion comes after the trials, the warnings last.
    let at = |s: &str| text.find(s).unwrap();
    assert!(at("\nTrials (28)") < at("\nFinalists"));
    assert!(at("\nFinalists") < at("\nConclusion"));
    assert!(at("\nConclusion") < at("\nKnob importance"));
    assert!(at("\nKnob importance") < at("\nwarning   "));
}

#[test]
fn a_long_study_lists_every_trial() {
    let record = common::study::study(48, 1.0);
    assert!(record.trials.len() > 60);
    let text = text_of(&record);
    for t in &record.trials {
        assert!(
            text.lines()
                .any(|l| l.starts_with(&format!("  {:>3} ", t.number))),
            "no row for trial {}",
            t.number
        );
    }
    assert!(text.contains(&format!("Trials ({})", record.trials.len())));
}

#[test]
fn the_text_summary_when_the_defaults_stand() {
    let record = common::study::defaults_stand();
    let text = text_of(&record);
    let flat_text = flat(&text);
    let best = record.best.as_ref().unwrap();
    let runner_up = &record.finalists[0];
    assert_eq!(best.runner_up.as_ref(), Some(&runner_up.config));
    let g = runner_up.gain.as_ref().unwrap();
    assert!(!g.significant);
    for expected in [
        format!("best the defaults stand: {}", DEFAULTS.text()),
        "gain none: this is the baseline".to_string(),
    ] {
        assert!(
            flat_text.contains(&expected),
            "missing {expected:?} in\n{text}"
        );
    }
    let line = block(&text, "  runner-up");
    let workers = runner_up.config["workers"].to_string();
    assert!(
        line.starts_with(&format!("runner-up workers={workers} ")),
        "{line}"
    );
    assert!(
        line.ends_with(&format!("gain {} · not significant", gain_text(g))),
        "{line}"
    );
    assert!(!text.contains("  changed"), "{text}");
    // Before and after would both be the baseline: no table.
    assert!(!text.contains("  metric"), "{text}");
}

#[test]
fn the_text_summary_when_every_trial_failed() {
    let record = common::study::all_failed();
    let text = text_of(&record);
    let flat_text = flat(&text);
    for expected in [
        "trials 6 run: 5 explore, 1 baseline · 6 failed",
        "started 2025-02-03T09:15:00Z · measured 1 min 12 s",
        "ended all_failed: every trial failed",
        "no finalist was re-measured",
        "no trial completed, so there is no conclusion (ended all_failed: every trial failed)",
        "Knob importance (share of the objective's variation) not computed",
        "every trial failed; the first: the target exited with status 1",
    ] {
        assert!(
            flat_text.contains(expected),
            "missing {expected:?} in\n{text}"
        );
    }
    // Every row shows why, within the width; none shows a figure.
    for n in 0..6 {
        let row = text
            .lines()
            .find(|l| l.starts_with(&format!("  {n:>3} ")))
            .unwrap();
        assert!(row.ends_with("–  failed"), "{row}");
    }
    assert_eq!(
        text.matches("↳ the target exited with status 1 before it answered")
            .count(),
        6,
        "{text}"
    );
    assert!(!text.contains("  metric"), "{text}");
}

#[test]
fn the_html_report_of_a_study() {
    let record = common::study::realistic();
    let html = html_of(&record);
    std::fs::write("/tmp/study-sample.html", &html).unwrap();

    // The trials, one plot per knob, the rounds.
    let plots = svgs(&html);
    assert_eq!(plots.len(), 1 + record.knobs.len() + 1, "{html}");
    for id in [
        "plot-trials",
        "plot-knob-0",
        "plot-knob-1",
        "plot-knob-2",
        "plot-knob-3",
        "plot-rounds",
    ] {
        assert!(html.contains(&format!("<figure id=\"{id}\">")), "no {id}");
    }
    for svg in &plots {
        check_xml(svg);
    }
    // Each knob on the axis its domain asks for.
    let caption = |id: &str| {
        let at = html.find(&format!("<figure id=\"{id}\">")).unwrap();
        let rest = &html[at..];
        let start = rest.find("<figcaption>").unwrap();
        let end = rest.find("</figcaption>").unwrap();
        rest[start..end].to_string()
    };
    assert!(caption("plot-knob-0").contains("logarithmic axis"));
    assert!(caption("plot-knob-1").contains("linear axis"));
    assert!(caption("plot-knob-2").contains("categories"));
    assert!(caption("plot-knob-3").contains("categories"));
    assert!(caption("plot-trials").contains("The 3 trials without an objective"));
    // The categories are the axis labels of their plot, escaped.
    let cache_plot = plots[3];
    for label in [">\nnone\n<", ">\nlru\n<", ">\n&lt;b&gt;\n<"] {
        assert!(cache_plot.contains(label), "no {label} in {cache_plot}");
    }
    assert!(plots[4].contains(">\nfalse\n<") && plots[4].contains(">\ntrue\n<"));
    // The workers (1 to 32, log) are ticked at powers of two.
    for tick in ["1", "2", "4", "8", "16", "32"] {
        assert!(
            plots[1].contains(&format!(">\n{tick}\n<")),
            "no tick {tick}"
        );
    }

    // Strings from the record are escaped: the knob value, the domain, a warning.
    assert!(!html.contains(ODD_CACHE));
    assert!(html.contains("<td>&lt;b&gt;</td>"));
    assert!(html.contains("one of none, lru, &lt;b&gt;"));
    assert!(html.contains("rss &lt; 2 GiB &amp; no swap"));

    // The conclusion: the configuration, its gain with the interval, before and after.
    let best = record.best.as_ref().unwrap();
    let gain = best.gain.as_ref().unwrap();
    let config = format!(
        "workers={} batch={} cache={} compress={}",
        best.config["workers"],
        best.config["batch"],
        best.config["cache"].as_str().unwrap(),
        best.config["compress"]
    );
    assert!(html.contains(&format!(
        "<p class=\"headline\">Use <code>{config}</code>: <strong>{}</strong> against the \
         defaults</p>",
        gain_text(gain)
    )));
    assert!(html.contains("<span class=\"pass\">significant</span>"));
    assert!(html.contains(&format!(
        "<tr><td>throughput, req/s</td><td class=\"num\">{:.1}</td><td class=\"num\">{:.1}</td>",
        best.before["throughput"], best.after["throughput"]
    )));
    // Every trial is a row, the ones without an objective set apart.
    let rows = html.matches("<tr><td class=\"num\">").count()
        + html
            .matches("<tr class=\"missing\"><td class=\"num\">")
            .count();
    assert_eq!(rows, record.trials.len() + record.finalists.len());
    assert_eq!(
        html.matches("<tr class=\"missing\">").count(),
        record
            .trials
            .iter()
            .filter(|t| t.objective.is_none())
            .count()
    );
    // The finalists' rounds and the importance bars.
    assert!(html.contains("<th class=\"num\">round 3</th>"));
    assert!(html.contains("style=\"width:58.0%\""));
    // The warnings qualify the conclusion: no alarm box.
    assert!(html.contains("<section id=\"warnings\" class=\"caveats\">"));
    assert!(!html.contains("may not be what they seem"));
    assert!(html.contains("<h3>Before and after</h3>"));
    // The legends, beside the plots in the plots' colours.
    assert!(html.contains(
        "<span class=\"key\"><span style=\"color:#c62828\">✕</span> no objective (failed, \
         violated, abandoned)</span>"
    ));
    for (i, f) in record.finalists.iter().enumerate() {
        let label = format!(
            "finalist {}: {}</span>",
            i + 1,
            gain_text(f.gain.as_ref().unwrap())
        );
        assert!(html.contains(&label), "no legend {label}");
    }
}

#[test]
fn the_html_report_when_the_defaults_stand() {
    let record = common::study::defaults_stand();
    let html = html_of(&record);
    assert_eq!(svgs(&html).len(), 6);
    assert!(html.contains("The defaults stand"));
    let runner_up = &record.finalists[0];
    let g = runner_up.gain.as_ref().unwrap();
    let row_start = html.find("<tr><th>runner-up</th>").unwrap();
    let row = &html[row_start..row_start + html[row_start..].find("</tr>").unwrap()];
    assert!(row.contains(&gain_text(g)), "{row}");
    assert!(row.contains("not significant"), "{row}");
    assert!(!html.contains("<tr><th>changed</th>"));
    assert!(!html.contains("Before and after"));
}

#[test]
fn the_html_report_when_every_trial_failed() {
    let record = common::study::all_failed();
    let html = html_of(&record);
    assert!(svgs(&html).is_empty());
    assert!(html.contains("No trial measured an objective: nothing to plot."));
    assert!(html.contains("No conclusion: no trial completed (every trial failed)."));
    assert!(html.contains("No finalist was re-measured."));
    assert_eq!(html.matches("<tr class=\"missing\">").count(), 6);
}

#[test]
fn an_empty_study_still_makes_a_page_and_a_summary() {
    let mut record = common::study::all_failed();
    record.trials.clear();
    record.knobs.clear();
    record.constraints.clear();
    record.warnings.clear();
    record.ending = StudyEnding::Interrupted;
    let html = html_of(&record);
    assert!(html.contains("No trial was run."));
    assert!(!html.contains("id=\"warnings\""));
    let text = text_of(&record);
    assert!(text.contains("no trial was run"), "{text}");
    assert!(flat(&text).contains("knobs none"), "{text}");
    assert!(
        !text.contains("warning") && !text.contains("WARNING"),
        "{text}"
    );
    validate(&record);
}

#[test]
fn a_latency_study_with_long_values_fits_the_width() {
    let mut record = common::study::realistic();
    record.objective = perfloop_report::StudyObjective {
        direction: perfloop_report::Direction::Minimize,
        description: "minimize p99".to_string(),
        unit: "ms".to_string(),
    };
    let long = "jemalloc-with-background-threads-and-a-very-long-name-indeed";
    for t in &mut record.trials {
        t.objective = t
            .metrics
            .get("p99")
            .copied()
            .filter(|_| t.state == "complete");
        if t.number % 3 == 1 {
            t.config
                .insert("cache".to_string(), Value::from(long.to_string()));
        }
    }
    let text = text_of(&record);
    assert!(
        text.contains("minimize p99 · ms (lower is better)"),
        "{text}"
    );
    for t in &record.trials {
        let row = text
            .lines()
            .find(|l| l.starts_with(&format!("  {:>3} ", t.number)))
            .unwrap();
        if let Some(y) = t.objective {
            assert!(row.ends_with(&format!(" {y:.2}  ok")), "{row}");
        }
    }
    // The long value is wrapped in its column, not cut.
    let cell: String = text
        .lines()
        .skip_while(|l| !l.starts_with("    1 E   "))
        .take(3)
        .map(|l| {
            l.get(10..)
                .unwrap_or_default()
                .split("  ")
                .next()
                .unwrap()
                .trim()
        })
        .collect();
    assert!(cell.contains(&format!("cache={long}")), "{cell}\n{text}");
    let html = html_of(&record);
    assert!(html.contains(&format!("<td>{long}</td>")));
    assert_eq!(svgs(&html).len(), 6);
}
