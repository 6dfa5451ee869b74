//! Symptoms: errors that grow with load, memory that grows, a heavy latency tail, and what
//! the Universal Scalability Law fit says.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use common::{
    LINEAR, PLATEAU, assert_well_formed, cpu, finding, rules, run, samples, search, with_errors,
};
use perfloop_diagnose::{diagnose, diagnose_run};
use perfloop_report::{CapacityRecord, Severity, Sweep, SweepPoint, UslRecord};

fn sections(f: &perfloop_report::Finding) -> Vec<&str> {
    f.recommendations
        .iter()
        .map(|r| r.strategy.section.as_str())
        .collect()
}

// errors_grow

/// Sets each step's error rate (and kind, status) by index.
fn with_step_errors(
    mut record: CapacityRecord,
    errors: &[(usize, f64, &str, Option<&str>)],
) -> CapacityRecord {
    for &(index, rate, kind, status) in errors {
        let step = &mut record.steps[index];
        step.run = with_errors(step.run.clone(), rate, kind, status);
    }
    record
}

#[test]
fn errors_rising_to_the_limit_are_critical_and_split_by_kind() {
    let record = with_step_errors(
        search(&PLATEAU, |_| None),
        &[
            (5, 0.005, "timeout", None),
            (4, 0.03, "status_5xx", Some("503")),
            (3, 0.08, "reset", None),
        ],
    );
    let findings = diagnose(&record);
    assert_well_formed(&findings);
    assert_eq!(rules(&findings), ["errors_grow"]);
    let f = finding(&findings, "errors_grow");
    assert_eq!(f.severity, Severity::Critical);
    assert!(
        f.summary
            .contains("from 0 % at 100 req/s (step 0) to 8 % at 800 req/s (step 3)"),
        "{}",
        f.summary
    );
    assert!(
        f.summary.contains("Mann–Kendall over 6 steps"),
        "{}",
        f.summary
    );
    for cause in [
        "connections refused or cut",
        "timed out",
        "503 Service Unavailable",
    ] {
        assert!(f.summary.contains(cause), "{cause}: {}", f.summary);
    }
    assert_eq!(sections(f), ["6.6", "6.4", "7.6", "5.8", "6.1"]);
    assert!(
        f.evidence
            .iter()
            .any(|e| e.label == "errors: reset, near the limit")
    );
}

#[test]
fn rate_limited_errors_are_a_warning_citing_limits() {
    let record = with_step_errors(
        search(&LINEAR, |_| None),
        &[(3, 0.03, "status_4xx", Some("429"))],
    );
    let findings = diagnose(&record);
    assert_well_formed(&findings);
    let f = finding(&findings, "errors_grow");
    assert_eq!(f.severity, Severity::Warning);
    assert!(f.summary.contains("429 Too Many Requests"), "{}", f.summary);
    assert_eq!(sections(f), ["6.6"]);
}

#[test]
fn steady_or_small_error_rates_do_not_fire() {
    let all = |rate| {
        (0..4)
            .map(move |i| (i, rate, "status_5xx", Some("500")))
            .collect::<Vec<_>>()
    };
    let steady = with_step_errors(search(&LINEAR, |_| None), &all(0.02));
    assert_eq!(rules(&diagnose(&steady)), Vec::<&str>::new());

    let small = with_step_errors(
        search(&LINEAR, |_| None),
        &[(2, 0.002, "timeout", None), (3, 0.008, "timeout", None)],
    );
    assert_eq!(rules(&diagnose(&small)), Vec::<&str>::new());
}

#[test]
fn single_run_errors_fire_on_their_level_alone() {
    let r = with_errors(run(500.0, 500.0, 2.0, 5.0), 0.03, "connect", None);
    let findings = diagnose_run(&r);
    assert_well_formed(&findings);
    let f = finding(&findings, "errors_grow");
    assert!(f.summary.contains("cannot be measured"), "{}", f.summary);

    let r = with_errors(run(500.0, 500.0, 2.0, 5.0), 0.005, "connect", None);
    assert_eq!(rules(&diagnose_run(&r)), Vec::<&str>::new());
}

// memory_growth

/// A search over LINEAR whose target's RSS follows `rss(i)` over its 4 × 60 samples.
fn memory(rss: impl Fn(usize) -> f64) -> CapacityRecord {
    let mut record = search(&LINEAR, |_| None);
    for (k, step) in record.steps.iter_mut().enumerate() {
        step.run.target.samples = samples((0..60).map(|i| rss(k * 60 + i)));
    }
    record
}

/// Deterministic noise in [−1, 1] MiB.
fn noise(i: usize) -> f64 {
    (i as f64 * 1.7).sin()
}

#[test]
fn rss_growing_across_steps_is_a_warning() {
    let record = memory(|i| 100.0 + 40.0 * i as f64 / 240.0 + noise(i));
    let findings = diagnose(&record);
    assert_well_formed(&findings);
    assert_eq!(rules(&findings), ["memory_growth"]);
    let f = finding(&findings, "memory_growth");
    assert_eq!(f.severity, Severity::Warning);
    let growth = f
        .evidence
        .iter()
        .find(|e| e.label == "target RSS growth")
        .unwrap();
    assert!((33.0..40.0).contains(&growth.value), "{growth:?}");
    let slope = f.evidence.iter().find(|e| e.unit == "MiB/s").unwrap();
    // 40 MiB over 4 steps of 6 s: about 1.67 MiB/s on the joined time axis.
    assert!((slope.value - 40.0 / 24.0).abs() < 0.2, "{slope:?}");
    assert_eq!(sections(f)[0], "6.9");
}

#[test]
fn flat_small_or_relatively_small_rss_growth_does_not_fire() {
    let cases: [Box<dyn Fn(usize) -> f64>; 3] = [
        Box::new(|i| 100.0 + 0.5 * noise(i)),
        Box::new(|i| 100.0 + 3.0 * i as f64 / 240.0 + 0.1 * noise(i)),
        Box::new(|i| 1000.0 + 30.0 * i as f64 / 240.0 + noise(i)),
    ];
    for rss in cases {
        assert_eq!(rules(&diagnose(&memory(rss))), Vec::<&str>::new());
    }
}

#[test]
fn steps_are_followed_in_the_order_measured() {
    // RSS grows within every step while the offered rates go up and down (PLATEAU).
    let mut record = search(&PLATEAU, |_| None);
    for (k, step) in record.steps.iter_mut().enumerate() {
        step.run.target.samples =
            samples((0..40).map(|i| 200.0 + 10.0 * k as f64 + 0.3 * f64::from(i)));
    }
    assert!(rules(&diagnose(&record)).contains(&"memory_growth"));
}

#[test]
fn memory_that_only_jumps_between_steps_follows_the_load() {
    // Flat within each step, higher at each step (connections and buffers at a higher
    // rate, or an overloaded step's high-water mark): not a leak.
    let mut record = search(&PLATEAU, |_| None);
    for (k, step) in record.steps.iter_mut().enumerate() {
        step.run.target.samples =
            samples((0..40).map(|i| 200.0 + 30.0 * k as f64 + 0.01 * f64::from(i % 3)));
    }
    assert_eq!(rules(&diagnose(&record)), Vec::<&str>::new());
}

// heavy_tail

#[test]
fn heavy_tail_at_a_passing_step_is_a_warning_with_causes() {
    let mut levels = LINEAR;
    levels[2].3 = 2.0;
    levels[2].4 = 20.0;
    let findings = diagnose(&search(&levels, |_| Some(cpu(4, 100.0, 40.0, 80.0))));
    assert_well_formed(&findings);
    assert_eq!(rules(&findings), ["heavy_tail"]);
    let f = finding(&findings, "heavy_tail");
    assert_eq!(f.severity, Severity::Warning);
    assert!(f.title.contains("10 × p50"), "{}", f.title);
    assert!(
        f.summary.contains("CPU contention (host 80 % busy"),
        "{}",
        f.summary
    );
    assert!(
        f.summary.contains("queueing for a pool slot or a lock"),
        "{}",
        f.summary
    );
    assert!(
        f.evidence
            .iter()
            .any(|e| e.label == "p99 over p50" && e.step == Some(2))
    );
}

#[test]
fn heavy_tail_names_timeouts_and_pauses_when_they_show() {
    let mut levels = LINEAR;
    levels[1].4 = 30.0;
    let mut record = search(&levels, |_| None);
    let r = &mut record.steps[1].run;
    r.latency_ms.max = 900.0;
    r.requests.errors_by_kind.insert("timeout".into(), 3);
    let findings = diagnose(&record);
    let f = finding(&findings, "heavy_tail");
    assert!(
        f.summary
            .contains("timeouts and retries (3 requests timed out)"),
        "{}",
        f.summary
    );
    assert!(
        f.summary
            .contains("pauses (the slowest request took 900 ms"),
        "{}",
        f.summary
    );
    assert!(sections(f).contains(&"7.6") && sections(f).contains(&"6.2"));
}

#[test]
fn light_tails_fast_services_and_failing_steps_give_no_heavy_tail() {
    let mut levels = PLATEAU;
    levels[3].3 = 2.0; // a failing step with a 25 × tail: not at sustainable load
    levels[3].4 = 50.0;
    levels[1].3 = 0.2; // a 10 × tail under the 5 ms floor
    levels[1].4 = 2.0;
    let findings = diagnose(&search(&levels, |_| None));
    assert!(
        !rules(&findings).contains(&"heavy_tail"),
        "{:?}",
        rules(&findings)
    );
}

// usl_contention, usl_coherency

fn with_usl(
    sigma: f64,
    kappa: f64,
    peak: Option<f64>,
    r_squared: f64,
    limit: &str,
    largest: u64,
) -> CapacityRecord {
    let mut record = search(&LINEAR, |_| None);
    record.sweep = Some(Sweep {
        points: [1, 2, 4, 8, 16, 32, 64]
            .into_iter()
            .filter(|&c| c <= largest)
            .enumerate()
            .map(|(i, c)| SweepPoint {
                concurrency: c,
                throughput_rps: 100.0 * c as f64,
                p50_ms: 10.0,
                p99_ms: 20.0,
                step: i,
                trusted: true,
            })
            .collect(),
        usl: Some(UslRecord {
            sigma,
            kappa,
            lambda: 100.0,
            peak_concurrency: peak,
            max_throughput_rps: peak.map(|_| 2000.0),
            r_squared,
            points: 7,
            limit: limit.into(),
        }),
        usl_error: None,
    });
    record
}

#[test]
fn contention_limited_fit_gives_usl_contention() {
    let findings = diagnose(&with_usl(0.1, 0.0, None, 0.97, "contention", 64));
    assert_well_formed(&findings);
    assert_eq!(rules(&findings), ["usl_contention"]);
    let f = finding(&findings, "usl_contention");
    assert_eq!(f.severity, Severity::Warning);
    assert!(f.summary.contains("λ/σ = 1000 req/s"), "{}", f.summary);
    assert!(
        f.evidence
            .iter()
            .any(|e| e.label == "USL fit R²" && e.value == 0.97)
    );

    let findings = diagnose(&with_usl(0.01, 0.0, None, 0.97, "contention", 64));
    assert_eq!(
        finding(&findings, "usl_contention").severity,
        Severity::Info
    );
}

#[test]
fn coherency_limited_fit_gives_usl_coherency_warning_past_the_peak() {
    let findings = diagnose(&with_usl(0.02, 0.001, Some(31.0), 0.95, "coherency", 64));
    assert_well_formed(&findings);
    assert_eq!(rules(&findings), ["usl_coherency"]);
    let f = finding(&findings, "usl_coherency");
    assert_eq!(f.severity, Severity::Warning);
    assert!(f.summary.contains("N* = 31"), "{}", f.summary);
    assert!(
        f.evidence
            .iter()
            .any(|e| e.label == "USL peak concurrency N*" && e.value == 31.0)
    );

    let findings = diagnose(&with_usl(0.02, 0.001, Some(31.0), 0.95, "coherency", 16));
    assert_eq!(finding(&findings, "usl_coherency").severity, Severity::Info);
}

#[test]
fn poor_or_linear_fits_give_no_usl_finding() {
    for record in [
        with_usl(0.1, 0.0, None, 0.5, "contention", 64),
        with_usl(0.02, 0.001, Some(31.0), 0.79, "coherency", 64),
        with_usl(0.0, 0.0, None, 0.99, "linear", 64),
    ] {
        assert_eq!(rules(&diagnose(&record)), Vec::<&str>::new());
    }
}
