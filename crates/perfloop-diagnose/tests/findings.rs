//! What every finding shares: order, well-formedness, and citations of the catalogue.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use common::{PLATEAU, assert_well_formed, cpu, rules, samples, search, with_errors};
use perfloop_diagnose::diagnose;
use perfloop_report::{CapacityRecord, Finding, Severity, Sweep, UslRecord};

/// A waiting target whose errors and memory grow, with a heavy tail at step 2 and a
/// coherency-limited sweep: five rules at once.
fn troubled() -> CapacityRecord {
    let mut levels = PLATEAU;
    levels[2].4 = 20.0;
    let mut record = search(&levels, |t| {
        Some(cpu(8, t / 500.0 * 30.0, t / 500.0 * 8.0, 15.0))
    });
    for (k, step) in record.steps.iter_mut().enumerate() {
        step.run.target.samples =
            samples((0..40).map(|i| 200.0 + 10.0 * k as f64 + 0.3 * f64::from(i)));
    }
    for (index, rate) in [(4, 0.03), (3, 0.08)] {
        let step = &mut record.steps[index];
        step.run = with_errors(step.run.clone(), rate, "timeout", None);
    }
    record.sweep = Some(Sweep {
        points: vec![],
        usl: Some(UslRecord {
            sigma: 0.02,
            kappa: 0.001,
            lambda: 100.0,
            peak_concurrency: Some(31.0),
            max_throughput_rps: Some(2000.0),
            r_squared: 0.95,
            points: 7,
            limit: "coherency".into(),
        }),
        usl_error: None,
    });
    record
}

#[test]
fn findings_come_most_severe_first_in_rule_order() {
    let findings = diagnose(&troubled());
    assert_well_formed(&findings);
    assert_eq!(
        rules(&findings),
        [
            "waiting",
            "errors_grow",
            "memory_growth",
            "heavy_tail",
            "usl_coherency"
        ]
    );
    let severities: Vec<Severity> = findings.iter().map(|f| f.severity).collect();
    assert_eq!(
        severities,
        [
            Severity::Critical,
            Severity::Critical,
            Severity::Warning,
            Severity::Warning,
            Severity::Info
        ]
    );
}

#[test]
fn diagnosis_is_a_pure_function_of_the_record() {
    let record = troubled();
    let before = record.clone();
    assert_eq!(diagnose(&record), diagnose(&record));
    assert_eq!(record, before);
}

/// Regression (not measured is not zero): a search that sampled the host but watched no
/// target has no target figures, so no rule reads its CPU as an idle 0 % — the waiting
/// rule, which needs an idle CPU, stays silent instead of blaming a lock.
#[test]
fn a_target_not_watched_is_not_an_idle_target() {
    let host_only = |t: f64| {
        let mut s = cpu(8, 0.0, 0.0, 15.0);
        s.target_pid = None;
        (s.cpu_pct_mean, s.cpu_pct_max, s.cpu_machine_pct_mean) = (None, None, None);
        (s.top_thread_cpu_pct_mean, s.top_thread_cpu_pct_max) = (None, None);
        (s.rss_max_mb, s.rss_mean_mb, s.threads_max, s.processes_max) = (None, None, None, None);
        s.generator_cpu_pct_mean = t / 100.0;
        Some(s)
    };
    let watched = diagnose(&search(&PLATEAU, |t| {
        Some(cpu(8, t / 500.0 * 30.0, 5.0, 15.0))
    }));
    assert!(
        rules(&watched).contains(&"waiting"),
        "{:?}",
        rules(&watched)
    );
    let findings = diagnose(&search(&PLATEAU, host_only));
    assert_well_formed(&findings);
    for rule in ["waiting", "cpu_machine", "cpu_one_thread", "memory_growth"] {
        assert!(!rules(&findings).contains(&rule), "{:?}", rules(&findings));
    }
}

#[test]
fn an_empty_search_gives_no_finding() {
    let record = search(&[], |_| None);
    assert_eq!(diagnose(&record), Vec::<Finding>::new());
}

#[test]
fn every_recommendation_cites_a_heading_of_the_catalogue() {
    // The catalogue's headings are part of the crate: a missing file fails the test.
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/catalogue/headings.md");
    let catalogue = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("the catalogue's headings {path}: {e}"));
    let one_thread = search(&PLATEAU, |t| Some(cpu(8, t / 5.0, t / 500.0 * 95.0, 20.0)));
    let machine = search(&PLATEAU, |t| Some(cpu(4, t / 500.0 * 380.0, 97.0, 97.0)));
    let mut generator = troubled();
    generator.steps[0].run.generator.saturated = true;
    let mut cited = 0;
    for record in [troubled(), one_thread, machine, generator] {
        for f in diagnose(&record) {
            for r in &f.recommendations {
                let heading = format!("### {} {}", r.strategy.section, r.strategy.name);
                assert!(
                    catalogue.lines().any(|l| l == heading),
                    "{}: `{heading}` is not a heading of the catalogue",
                    f.rule
                );
                cited += 1;
            }
        }
    }
    assert!(cited > 20, "only {cited} recommendations checked");
}
