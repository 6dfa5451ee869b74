//! What limits throughput: the generator, the machine's CPU, one thread, or waiting.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use common::{LINEAR, PLATEAU, assert_well_formed, cpu, finding, rules, run, search};
use perfloop_diagnose::{diagnose, diagnose_run};
use perfloop_report::{Severity, StepKind};

/// A target whose one busy thread follows throughput up to 95 % of a core on 8 cores.
fn one_thread(throughput: f64) -> Option<perfloop_monitor::Summary> {
    let top = throughput / 500.0 * 95.0;
    Some(cpu(8, top + 10.0, top, 20.0))
}

/// A target that waits: 30 % of one core at most, no thread above 8 %, on 8 cores.
fn waiting(throughput: f64) -> Option<perfloop_monitor::Summary> {
    Some(cpu(
        8,
        throughput / 500.0 * 30.0,
        throughput / 500.0 * 8.0,
        15.0,
    ))
}

/// A target using 95 % of 4 cores at the limit.
fn whole_machine(throughput: f64) -> Option<perfloop_monitor::Summary> {
    let load = throughput / 500.0;
    Some(cpu(4, load * 380.0, load * 97.0, load * 97.0))
}

#[test]
fn one_thread_cpu_bound_search_gives_cpu_one_thread_and_not_waiting() {
    let findings = diagnose(&search(&PLATEAU, one_thread));
    assert_well_formed(&findings);
    assert_eq!(rules(&findings), ["cpu_one_thread"]);
    let f = finding(&findings, "cpu_one_thread");
    assert_eq!(f.severity, Severity::Critical);
    // Near the limit: step 5 (500 req/s, passing) and step 4 (600 req/s, the first failing
    // above it); the busier thread is step 4's.
    assert!(f.summary.starts_with("At step 4 "), "{}", f.summary);
    assert!(
        f.summary.contains("busiest thread ran at 95.4 %"),
        "{}",
        f.summary
    );
    assert!(f.evidence.iter().all(|e| e.step == Some(4)));
}

#[test]
fn waiting_search_gives_waiting_and_no_cpu_rule() {
    let findings = diagnose(&search(&PLATEAU, waiting));
    assert_well_formed(&findings);
    assert_eq!(rules(&findings), ["waiting"]);
    let f = finding(&findings, "waiting");
    assert_eq!(f.severity, Severity::Critical);
    // The highest passing step (5, 500 req/s) against the highest offered (3, 800 req/s).
    assert!(
        f.summary.starts_with("From step 5 to step 3"),
        "{}",
        f.summary
    );
    assert!(
        f.summary.contains("throughput only 3.06 %"),
        "{}",
        f.summary
    );
    let sections: Vec<&str> = f
        .recommendations
        .iter()
        .map(|r| r.strategy.section.as_str())
        .collect();
    assert!(
        sections.contains(&"5.8") && sections.contains(&"6.1"),
        "{sections:?}"
    );
}

#[test]
fn machine_cpu_bound_search_gives_cpu_machine_only() {
    let findings = diagnose(&search(&PLATEAU, whole_machine));
    assert_well_formed(&findings);
    assert_eq!(rules(&findings), ["cpu_machine"]);
    let f = finding(&findings, "cpu_machine");
    assert_eq!(f.severity, Severity::Critical);
    assert!(
        f.summary.contains("of the machine's 4 cores"),
        "{}",
        f.summary
    );
    assert!(
        f.evidence
            .iter()
            .any(|e| e.label == "target CPU per request" && e.unit == "ms")
    );
}

#[test]
fn busy_host_with_a_light_target_gives_warnings_naming_the_generator() {
    let record = search(&PLATEAU, |throughput| {
        let load = throughput / 500.0;
        let mut s = cpu(2, load * 60.0, load * 30.0, load * 95.0);
        s.generator_cpu_pct_mean = load * 120.0;
        Some(s)
    });
    let findings = diagnose(&record);
    assert_well_formed(&findings);
    // On a busy host the plateau may be starvation: waiting drops to a warning that says so.
    assert_eq!(rules(&findings), ["cpu_machine", "waiting"]);
    let w = finding(&findings, "waiting");
    assert_eq!(w.severity, Severity::Warning);
    assert!(w.summary.contains("starved"), "{}", w.summary);
    let f = finding(&findings, "cpu_machine");
    assert_eq!(f.severity, Severity::Warning);
    assert!(
        f.summary.contains("generator shares these cores"),
        "{}",
        f.summary
    );
    assert_eq!(f.recommendations[0].strategy.section, "8.1");
}

#[test]
fn healthy_search_gives_no_finding() {
    for monitor in [waiting, one_thread] {
        // Far from any limit: the busiest thread stays below 40 % of a core.
        let record = search(&LINEAR, |t| monitor(t / 4.0));
        assert_eq!(rules(&diagnose(&record)), Vec::<&str>::new());
    }
}

#[test]
fn plateau_without_monitor_figures_blames_nothing() {
    let findings = diagnose(&search(&PLATEAU, |_| None));
    assert_eq!(rules(&findings), Vec::<&str>::new());
}

#[test]
fn plateau_with_flat_latency_is_not_waiting() {
    let mut levels = PLATEAU;
    for level in &mut levels {
        level.3 = 2.0;
        level.4 = 5.0;
    }
    let findings = diagnose(&search(&levels, waiting));
    assert!(
        !rules(&findings).contains(&"waiting"),
        "{:?}",
        rules(&findings)
    );
}

#[test]
fn throughput_that_keeps_growing_is_not_waiting() {
    let mut levels = PLATEAU;
    levels[3].2 = 700.0; // 800 offered, 700 served: +43 % over the 490 at 500 req/s.
    let findings = diagnose(&search(&levels, waiting));
    assert!(
        !rules(&findings).contains(&"waiting"),
        "{:?}",
        rules(&findings)
    );
}

/// The highest passing step found a little below the plateau (a bisection step fell short
/// of its rate): throughput still grows by 10 % towards the top step, a tenth of the
/// offered load's growth, and the waiting is still found.
#[test]
fn a_passing_step_below_the_plateau_does_not_hide_the_waiting() {
    let mut levels = PLATEAU;
    levels[2] = (StepKind::Ramp, 400.0, 330.0, 300.0, 700.0, false);
    levels[3].2 = 331.0; // 800 offered, 331 served: +10.3 % over 300 for +167 % offered.
    levels[4].2 = 330.0;
    levels[5] = (StepKind::Bisect, 300.0, 300.0, 2.5, 8.0, true);
    let findings = diagnose(&search(&levels, waiting));
    assert!(
        rules(&findings).contains(&"waiting"),
        "{:?}",
        rules(&findings)
    );
}

#[test]
fn saturated_generator_is_critical_and_its_steps_are_left_out() {
    // The top step passes with a heavy tail, but its generator was saturated: only the
    // generator finding may come from it.
    let mut record = search(&LINEAR, waiting);
    let top = &mut record.steps[3];
    top.run.generator.saturated = true;
    top.run.generator.threads_busy = vec![0.97, 0.95];
    top.run.latency_ms.p99 = 100.0;
    let findings = diagnose(&record);
    assert_well_formed(&findings);
    assert_eq!(rules(&findings), ["generator_saturated"]);
    let f = finding(&findings, "generator_saturated");
    assert_eq!(f.severity, Severity::Critical);
    assert!(f.evidence.iter().all(|e| e.step == Some(3)));
    assert!(f.summary.contains("1 of 4 steps (step 3"), "{}", f.summary);

    // Flagged by the verdict alone.
    let mut record = search(&LINEAR, waiting);
    record.steps[1].verdict.generator_saturated = true;
    assert_eq!(rules(&diagnose(&record)), ["generator_saturated"]);
}

#[test]
fn unsaturated_generator_gives_no_generator_finding() {
    let findings = diagnose(&search(&PLATEAU, waiting));
    assert!(!rules(&findings).contains(&"generator_saturated"));
}

#[test]
fn single_run_with_one_busy_thread_gives_cpu_one_thread() {
    let mut r = run(500.0, 495.0, 3.0, 9.0);
    r.target.summary = Some(cpu(8, 110.0, 97.0, 25.0));
    let findings = diagnose_run(&r);
    assert_well_formed(&findings);
    assert_eq!(rules(&findings), ["cpu_one_thread"]);
    assert_eq!(findings[0].evidence[0].step, Some(0));

    // The same run waiting: one step shows no plateau, so nothing is claimed.
    r.target.summary = Some(cpu(8, 20.0, 5.0, 10.0));
    assert_eq!(rules(&diagnose_run(&r)), Vec::<&str>::new());
}

#[test]
fn sweep_only_search_uses_its_best_step_for_cpu() {
    let mut record = search(&PLATEAU, one_thread);
    for step in &mut record.steps {
        step.kind = StepKind::Sweep;
    }
    let findings = diagnose(&record);
    assert_eq!(rules(&findings), ["cpu_one_thread"]);
    // The best step by throughput is step 3 (505 req/s).
    assert!(
        finding(&findings, "cpu_one_thread")
            .summary
            .starts_with("At step 3 ")
    );
}

#[test]
fn a_thread_held_back_by_a_busy_host_is_still_a_serial_hot_path() {
    // The busiest thread carries nearly all of the target's CPU but gets only 70 % of a
    // core, because the host is saturated by other processes.
    let contended = |host: f64| {
        search(&PLATEAU, move |throughput| {
            let load = throughput / 500.0;
            Some(cpu(2, load * 72.0, load * 70.0, host))
        })
    };
    let findings = diagnose(&contended(97.0));
    assert!(
        rules(&findings).contains(&"cpu_one_thread"),
        "{:?}",
        rules(&findings)
    );
    assert!(!rules(&findings).contains(&"waiting"));
    let f = finding(&findings, "cpu_one_thread");
    assert!(
        f.summary.contains("less than a whole core"),
        "{}",
        f.summary
    );
    // The same thread on a quiet host is not saturated: something else limits it.
    let quiet = diagnose(&contended(40.0));
    assert!(
        !rules(&quiet).contains(&"cpu_one_thread"),
        "{:?}",
        rules(&quiet)
    );
}
