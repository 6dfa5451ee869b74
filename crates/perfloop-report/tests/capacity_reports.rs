//! The capacity reports — the text summary and the HTML page — of a search measured for
//! real against the in-process server, and of cheap records built from the hand-made run.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use common::{as_xml, check_xml, svgs};

use perfloop_report::export::WIDTH;
use perfloop_report::{
    CapacityHtml, CapacityRecord, CapacityText, Exporter, Sweep, SweepPoint, write_capacity_html,
    write_capacity_text,
};

fn text_of(record: &CapacityRecord) -> String {
    let mut out = Vec::new();
    write_capacity_text(record, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert_eq!(CapacityText.to_bytes(record).unwrap(), text.as_bytes());
    for line in text.lines() {
        assert!(
            line.chars().count() <= WIDTH,
            "too wide ({}): {line}",
            line.chars().count()
        );
    }
    text
}

fn html_of(record: &CapacityRecord) -> String {
    let mut out = Vec::new();
    write_capacity_html(record, &mut out).unwrap();
    let html = String::from_utf8(out).unwrap();
    assert_eq!(CapacityHtml.to_bytes(record).unwrap(), html.as_bytes());
    html
}

/// The text with every run of whitespace made one space, so wrapped sentences can be
/// searched for.
fn flat(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A record with a sweep whose fit failed.
fn failed_fit() -> (CapacityRecord, String) {
    let mut record = common::capacity::nothing_passed();
    let error = perfloop_stats::usl::fit(&[(1.0, 100.0), (2.0, 180.0)])
        .unwrap_err()
        .to_string();
    record.sweep = Some(Sweep {
        points: vec![
            SweepPoint {
                concurrency: 1,
                throughput_rps: 100.0,
                p50_ms: 0.9,
                p99_ms: 2.1,
                step: 2,
                trusted: true,
            },
            SweepPoint {
                concurrency: 2,
                throughput_rps: 180.0,
                p50_ms: 1.0,
                p99_ms: 2.6,
                step: 3,
                trusted: true,
            },
        ],
        usl: None,
        usl_error: Some(error.clone()),
    });
    (record, error)
}

#[test]
fn the_text_summary_of_a_measured_search() {
    let record = common::capacity::realistic();
    let text = text_of(&record);
    std::fs::write("/tmp/capacity-sample.txt", &text).unwrap();
    let flat_text = flat(&text);
    let best = record.result.max_sustainable_rps.unwrap();
    let usl = record.sweep.as_ref().unwrap().usl.as_ref().unwrap();
    for expected in [
        format!("GET {}", record.target.url),
        "max sustainable".to_string(),
        "(asked 1200 req/s, step 4)".to_string(),
        "passes at 1200 req/s · fails at 1300 req/s · 8.333 % apart".to_string(),
        "resolved to within 10 %".to_string(),
        "800 req/s asked".to_string(),
        "(step 2)".to_string(),
        "bounded by the bisection reached the resolution".to_string(),
        format!("{} steps · ended completed", record.steps.len()),
        "Concurrency sweep".to_string(),
        format!("limited by {}", usl.limit),
        "R²".to_string(),
        "σ".to_string(),
        "κ".to_string(),
        "CRITICAL One thread of the target does most of the work".to_string(),
        "WARNING A step measured the load generator".to_string(),
        "• target CPU, busiest thread:".to_string(),
        "(step 5)".to_string(),
        "→ 3.2 Parallelisation (Распараллеливание)".to_string(),
        "→ 5.1 Caching (Кэширование)".to_string(),
        "Spread the request handling over a pool of workers".to_string(),
        "p99 latency rose through the step".to_string(),
        "(+1 more)".to_string(),
        "SLO p99<200ms · error_rate<1%".to_string(),
        "sweep above the concurrency sweep sustained".to_string(),
        "the rate search stopped at step 6 (1300/s): throughput 1204.7 req/s fell 7.3 % short"
            .to_string(),
    ] {
        assert!(
            flat_text.contains(&expected),
            "missing {expected:?} in\n{text}"
        );
    }
    assert!(
        flat_text.contains(&perfloop_report_figure(best)),
        "no {best} in\n{text}"
    );
    // The untrusted step lies above the rate that stopped the search: it was meant to
    // overload the target, its reasons say why it failed, and no alarm is raised.
    assert!(
        !text.contains("these figures may not be what they seem"),
        "{text}"
    );
    // One row per step, the untrusted one marked, the highest passing one too.
    for step in &record.steps {
        let mark = if step.verdict.trusted { " " } else { "!" };
        let head = format!("{:>5}{mark} ", step.index);
        assert!(
            text.lines().any(|l| l.starts_with(&head)),
            "no row for step {} in\n{text}",
            step.index
        );
    }
    assert!(
        text.lines()
            .any(|l| l.starts_with("    4  bisect") && l.ends_with("pass (max)"))
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("    5! bisect") && l.ends_with("FAIL"))
    );
    // One sweep row per level, with the fitted value beside the measured one.
    let sweep_rows = text
        .lines()
        .skip_while(|l| !l.starts_with("Concurrency sweep"))
        .skip(2)
        .take_while(|l| !l.trim().is_empty() && !l.contains("USL fit"))
        .count();
    assert_eq!(sweep_rows, common::capacity::LEVELS.len(), "{text}");
}

/// The figure as the reports print it (about four significant digits).
fn perfloop_report_figure(v: f64) -> String {
    let magnitude = v.abs().log10().floor();
    let decimals = (3.0 - magnitude).clamp(0.0, 8.0) as usize;
    let text = format!("{v:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

/// The step that stopped the search was not trusted: the result may be too low, and the
/// reports say so loudly; a note that changes no figure stays out of the alarm.
#[test]
fn an_untrusted_step_that_stopped_the_search_is_a_warning_and_a_note_is_not() {
    let mut record = common::capacity::nothing_passed();
    record.steps[0].verdict.trusted = false;
    record.steps[0].verdict.reasons =
        vec!["the load generator was saturated: the step measured perfloop".to_string()];
    record.warnings = common::capacity::warnings(&record.steps);
    assert_eq!(record.warnings.len(), 1, "{:?}", record.warnings);
    let note = "no error_rate objective was given: error_rate<1% applied to every step";
    record.notes = vec![note.to_string()];

    let text = text_of(&record);
    let flat_text = flat(&text);
    let alarm = text
        .find("these figures may not be what they seem")
        .unwrap_or_else(|| panic!("no warning block in\n{text}"));
    assert!(
        flat(&text[alarm..])
            .contains("step 0 (200/s), which stopped the rate search, was not trusted"),
        "{text}"
    );
    let at = text
        .find("\nnote ")
        .unwrap_or_else(|| panic!("no note in\n{text}"));
    assert!(at < alarm, "the note is in the warning block:\n{text}");
    assert!(flat_text.contains(&format!("note {note}")), "{text}");
    assert!(!flat(&text[alarm..]).contains(note), "{text}");

    let html = html_of(&record);
    assert!(html.contains("id=\"warnings\""));
    assert!(html.contains("which stopped the rate search, was not trusted"));
    let escaped = note.replace('<', "&lt;");
    assert!(html.contains(&format!("<tr><th>note</th><td>{escaped}</td></tr>")));
    let warnings = &html[html.find("id=\"warnings\"").unwrap()..];
    assert!(!warnings.contains(&escaped));
}

#[test]
fn the_text_summary_says_when_no_step_passed() {
    let record = common::capacity::nothing_passed();
    let text = text_of(&record);
    let flat_text = flat(&text);
    for expected in [
        "max sustainable none: no step passed the objectives",
        "bracket fails at 200 req/s · no rate passed",
        "knee – latency did not climb within the rates measured",
        "ended failed_at_start",
        "bounded by the first step already failed its objectives",
        "error_rate<1% failed: 1.22 % of the requests failed",
    ] {
        assert!(
            flat_text.contains(expected),
            "missing {expected:?} in\n{text}"
        );
    }
    assert!(!text.contains("Concurrency sweep"), "{text}");
    assert!(!text.contains("pass (max)"), "{text}");
    // No target was watched: the CPU columns say so instead of showing 0.
    let row = text.lines().find(|l| l.starts_with("    0  ramp")).unwrap();
    assert!(row.trim_end().ends_with("–     –  FAIL"), "{row}");
}

#[test]
fn the_text_summary_shows_why_the_fit_failed() {
    let (record, error) = failed_fit();
    let text = text_of(&record);
    assert!(text.contains("Concurrency sweep"), "{text}");
    assert!(
        flat(&text).contains(&format!("USL fit failed: {error}")),
        "{text}"
    );
    assert!(!text.contains("limited by"), "{text}");
    // No fitted value is made up for the levels.
    let row = text
        .lines()
        .find(|l| l.trim_start().starts_with("1 ") && l.contains("100.0"))
        .unwrap();
    assert!(row.contains('–'), "{row}");
}

#[test]
fn the_html_report_of_a_measured_search() {
    let record = common::capacity::realistic();
    let html = html_of(&record);
    std::fs::write("/tmp/capacity-sample.html", &html).unwrap();

    assert!(html.starts_with("<!DOCTYPE html>"));
    // One SVG per plot, each well-formed.
    let plots = svgs(&html);
    assert_eq!(plots.len(), 4, "{html}");
    for id in [
        "plot-throughput",
        "plot-latency",
        "plot-usl",
        "plot-resources",
    ] {
        assert!(html.contains(&format!("<figure id=\"{id}\">")), "no {id}");
    }
    for svg in &plots {
        check_xml(svg);
        assert!(svg.contains("<text"), "an unlabelled plot: {svg}");
    }
    check_xml(&as_xml(&html));

    // Strings from the record are escaped.
    assert!(
        html.contains("./demo --listen 127.0.0.1:0 --label &quot;&lt;fast &amp; loose&gt;&quot;")
    );
    assert!(!html.contains("<fast & loose>"));
    assert!(html.contains("p99 &lt; 200 ms &amp; errors &lt; 1 %"));
    // Every step's offered load is in the table.
    for step in &record.steps {
        let offered = match step.kind {
            perfloop_report::StepKind::Sweep if step.offered == 1.0 => "1 connection".to_string(),
            perfloop_report::StepKind::Sweep => format!("{} connections", step.offered),
            _ => format!("{} req/s", step.offered),
        };
        assert!(
            html.contains(&format!("<td class=\"num\">{offered}</td>")),
            "no {offered}"
        );
    }
    // The result and the findings.
    assert!(html.contains(&format!(
        "Maximum sustainable throughput at the objectives: <strong>{} req/s</strong> \
         (asked 1200 req/s, step 4)",
        perfloop_report_figure(record.result.max_sustainable_rps.unwrap())
    )));
    // The strategy in English; the catalogue's title only as a tooltip (no font needed).
    assert!(
        html.contains("<b title=\"catalogue title: Распараллеливание\">3.2 Parallelisation</b>")
    );
    assert!(html.contains("<span class=\"badge\">not trusted</span>"));
    // The sweep sustained more than the search found, and the page says why.
    assert!(
        html.contains("<tr><th>sweep above the search</th><td>the concurrency sweep sustained")
    );
    assert!(html.contains("the rate search stopped at step 6 (1300/s)"));
    // Only steps meant to overload the target were untrusted: no alarm.
    assert!(!html.contains("id=\"warnings\""));
    // Nothing is fetched: the only address is the target's, in the text.
    let without_target = html.replace(&record.target.url, "");
    assert!(
        !without_target.contains("http://"),
        "an address besides the target's"
    );
    assert!(
        !without_target.contains("https://"),
        "an address besides the target's"
    );
    for needle in ["<script", "src=", "<link", "url(", "@import", "<iframe"] {
        assert!(!html.contains(needle), "{needle} in the page");
    }
}

#[test]
fn the_html_report_without_a_sweep_has_no_usl_plot() {
    let record = common::capacity::nothing_passed();
    let html = html_of(&record);
    assert!(!html.contains("plot-usl"));
    assert!(!html.contains("id=\"sweep\""));
    // No target was watched: no resource plot either, and the cells say so.
    assert!(!html.contains("plot-resources"));
    assert_eq!(svgs(&html).len(), 2);
    assert!(html.contains("<td class=\"num\">–</td>"));
    assert!(html.contains("none: no step passed the objectives"));
    assert!(html.contains("<td class=\"num\">200 req/s</td>"));
    assert!(html.contains("<td class=\"num\">400 req/s</td>"));
    for svg in svgs(&html) {
        check_xml(svg);
    }
}

#[test]
fn the_html_report_shows_a_sweep_whose_fit_failed() {
    let (record, error) = failed_fit();
    let html = html_of(&record);
    assert!(html.contains("<figure id=\"plot-usl\">"));
    assert!(html.contains("could not be fitted"));
    assert!(html.contains(&error.replace('\'', "&#39;")));
    assert!(!html.contains("USL fit ("), "a curve without a fit");
    for svg in svgs(&html) {
        check_xml(svg);
    }
}

#[test]
fn an_empty_search_still_makes_a_page_and_a_summary() {
    let mut record = common::capacity::nothing_passed();
    record.steps.clear();
    record.findings.clear();
    record.warnings.clear();
    record.result.min_failing_rate = None;
    let html = html_of(&record);
    assert!(html.contains("Nothing was measured to plot."));
    assert!(html.contains("No step was measured."));
    assert!(svgs(&html).is_empty());
    let text = text_of(&record);
    assert!(text.contains("no step was measured"), "{text}");
    assert!(flat(&text).contains("Findings none"), "{text}");
}
