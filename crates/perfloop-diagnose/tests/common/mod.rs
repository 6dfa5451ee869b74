//! Synthetic records for the diagnosis tests: runs, monitor summaries, steps and capacity
//! records built directly from their public fields, and the two shapes of search the rules
//! tell apart (a plateau at 500 req/s, a healthy linear ramp).

#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    missing_docs
)]

use std::collections::BTreeMap;

use perfloop_monitor::{Sample, Summary};
use perfloop_report::{
    CAPACITY_SCHEMA, CapacityRecord, CapacityResult, CapacityTarget, Finding, Generator, LagMs,
    LatencyMs, LittlesLaw, LoadInfo, LoadModel, OpenModel, Requests, RunEnding, RunRecord, SCHEMA,
    SearchEnding, SearchSettings, Severity, Step, StepKind, StepVerdict, TargetInfo, Trend,
};

/// Seconds measured per step.
pub const STEP_S: f64 = 5.0;

/// An open-model run at `offered` req/s that served `throughput` req/s with the given
/// median and p99 latency, no errors, no monitor figures.
pub fn run(offered: f64, throughput: f64, p50: f64, p99: f64) -> RunRecord {
    let total = (throughput * STEP_S).round() as u64;
    RunRecord {
        schema: SCHEMA.into(),
        perfloop_version: "0.1.0".into(),
        started_at: "2025-01-31T12:00:00Z".into(),
        target: TargetInfo {
            url: "http://127.0.0.1:8080/".into(),
            method: "GET".into(),
            header_names: vec![],
            scenario: None,
            command: None,
            pid: None,
            samples: vec![],
            summary: None,
            scraped: vec![],
            monitor_errors: vec![],
        },
        load: LoadInfo {
            model: LoadModel::Open,
            connections: None,
            max_connections: Some(1024),
            rate: Some(offered),
            duration_s: STEP_S,
            warmup_s: 1.0,
            threads: 2,
            request_limit: None,
            timeout_s: 10.0,
            stages: None,
            level: None,
            io_backend: None,
        },
        requests: Requests {
            total,
            ok: total,
            errors: 0,
            dropped: 0,
            unfinished: 0,
            drained: 0,
            connections: 0,
            reconnects: 0,
            by_status: BTreeMap::from([("200".to_owned(), total)]),
            errors_by_kind: BTreeMap::new(),
        },
        throughput_rps: throughput,
        in_flight_mean: throughput * p50 / 1000.0,
        bytes_received: total * 100,
        latency_ms: LatencyMs {
            count: total,
            min: p50 / 4.0,
            mean: p50 * 1.2,
            stdev: p50,
            p50,
            p75: p50 * 1.2,
            p90: (p50 + p99) / 2.0,
            p95: (p50 + p99) / 1.8,
            p99,
            p99_9: p99 * 1.2,
            max: p99 * 1.5,
        },
        latency_histogram: vec![],
        phases_ms: Default::default(),
        tls: None,
        open_model: Some(OpenModel {
            asked_rate: offered,
            achieved_rate: offered,
            peak_connections: 64,
            answering_s: 0.0,
            lag_ms: LagMs {
                p50: 0.01,
                p99: 0.1,
                max: 1.0,
            },
        }),
        generator: Generator {
            cpu_user_s: 0.5,
            cpu_sys_s: 0.5,
            cpu_us_per_request: 20.0,
            threads_busy: vec![0.3, 0.3],
            saturated: false,
        },
        timeline: vec![],
        endpoints: Vec::new(),
        slo: vec![],
        alerts: vec![],
        ending: RunEnding::Completed,
        warnings: vec![],
    }
}

/// A monitor summary of a watched target: `cores` CPUs, the target at `cpu_pct` of one core
/// with its busiest thread at `top_pct`, the host `host_pct` busy, the generator at 20 %.
pub fn cpu(cores: u32, cpu_pct: f64, top_pct: f64, host_pct: f64) -> Summary {
    Summary {
        target_pid: Some(4242),
        samples: 50,
        duration_s: STEP_S,
        interval_s: 0.1,
        cores,
        cpu_pct_mean: Some(cpu_pct),
        cpu_pct_max: Some(cpu_pct * 1.1),
        cpu_machine_pct_mean: Some(cpu_pct / f64::from(cores)),
        top_thread_cpu_pct_mean: Some(top_pct),
        top_thread_cpu_pct_max: Some((top_pct * 1.1).min(100.0)),
        rss_max_mb: Some(100.0),
        rss_mean_mb: Some(100.0),
        threads_max: Some(16),
        processes_max: Some(1),
        host_cpu_pct_mean: host_pct,
        host_cpu_pct_max: (host_pct * 1.1).min(100.0),
        generator_cpu_pct_mean: 20.0,
        generator_cpu_pct_max: 25.0,
        ..Summary::default()
    }
}

/// Sets the run's errors: `rate` of its requests failed, all of `kind` (with `status` for
/// the status kinds).
pub fn with_errors(mut run: RunRecord, rate: f64, kind: &str, status: Option<&str>) -> RunRecord {
    let errors = (run.requests.total as f64 * rate).round() as u64;
    run.requests.errors = errors;
    run.requests.ok = run.requests.total - errors;
    if errors > 0 {
        run.requests.errors_by_kind.insert(kind.to_owned(), errors);
        run.requests
            .by_status
            .insert("200".to_owned(), run.requests.ok);
        if let Some(status) = status {
            run.requests.by_status.insert(status.to_owned(), errors);
        }
    }
    run
}

/// Target samples on the step's own time axis (from −1 s), one per 100 ms, with the
/// resident set given per sample.
pub fn samples(rss: impl IntoIterator<Item = f64>) -> Vec<Sample> {
    rss.into_iter()
        .enumerate()
        .map(|(i, rss_mb)| Sample {
            t_s: -1.0 + 0.1 * (i as f64 + 1.0),
            interval_s: 0.1,
            processes: Some(1),
            threads: Some(8),
            rss_mb: Some(rss_mb),
            ..Sample::default()
        })
        .collect()
}

/// A step; its verdict follows `pass`.
pub fn step(index: usize, kind: StepKind, offered: f64, pass: bool, run: RunRecord) -> Step {
    let error_rate = if run.requests.total == 0 {
        0.0
    } else {
        run.requests.errors as f64 / run.requests.total as f64
    };
    Step {
        index,
        kind,
        offered,
        verdict: StepVerdict {
            pass,
            trusted: !run.generator.saturated,
            reasons: if pass {
                vec![]
            } else {
                vec!["p99 above the objective".into()]
            },
            slo_pass: pass,
            achieved_ratio: Some(run.throughput_rps / offered),
            latency_trend: Trend {
                series: "p99 latency per second, ms".into(),
                n: 5,
                tau: 0.0,
                p_value: 0.5,
                slope_per_s: 0.0,
                rising: false,
            },
            dropped: 0,
            errors: run.requests.errors,
            error_rate,
            littles_law: LittlesLaw {
                in_flight: 1.0,
                expected: 1.0,
                ratio: 1.0,
                holds: true,
            },
            generator_saturated: run.generator.saturated,
        },
        run,
    }
}

/// A capacity record made of `steps`, without a sweep.
pub fn record(steps: Vec<Step>) -> CapacityRecord {
    let best = steps
        .iter()
        .filter(|s| s.verdict.pass && s.kind != StepKind::Sweep)
        .max_by(|a, b| a.offered.total_cmp(&b.offered));
    CapacityRecord {
        schema: CAPACITY_SCHEMA.into(),
        perfloop_version: "0.1.0".into(),
        started_at: "2025-01-31T12:00:00Z".into(),
        elapsed_s: steps.len() as f64 * (STEP_S + 1.0),
        target: CapacityTarget {
            url: "http://127.0.0.1:8080/".into(),
            method: "GET".into(),
            scenario: None,
            command: None,
            pid: Some(4242),
        },
        settings: SearchSettings {
            start_rate: 100.0,
            growth: 2.0,
            max_rate: None,
            step_duration_s: STEP_S,
            step_warmup_s: 1.0,
            resolution: 0.05,
            max_time_s: 600.0,
            rate_margin: 0.05,
            slo: vec!["p99<100ms".into()],
            concurrency: vec![],
        },
        result: CapacityResult {
            first_broken_endpoint: None,
            max_sustainable_rps: best.map(|s| s.run.throughput_rps),
            max_passing_rate: best.map(|s| s.offered),
            max_passing_step: best.map(|s| s.index),
            min_failing_rate: None,
            resolved: true,
            knee: None,
            bounded_by: "the resolution".into(),
            sweep_above: None,
            sweep_below: None,
        },
        steps,
        sweep: None,
        findings: vec![],
        ending: SearchEnding::Completed,
        warnings: vec![],
        notes: vec![],
    }
}

/// The levels of a search that saturates at about 500 req/s: (kind, offered, throughput,
/// p50, p99, pass), in the order measured (a ramp 100–800, a bisection 600, 500).
pub const PLATEAU: [(StepKind, f64, f64, f64, f64, bool); 6] = [
    (StepKind::Ramp, 100.0, 100.0, 2.0, 5.0, true),
    (StepKind::Ramp, 200.0, 200.0, 2.0, 5.0, true),
    (StepKind::Ramp, 400.0, 398.0, 2.5, 8.0, true),
    (StepKind::Ramp, 800.0, 505.0, 400.0, 900.0, false),
    (StepKind::Bisect, 600.0, 502.0, 300.0, 700.0, false),
    (StepKind::Bisect, 500.0, 490.0, 5.0, 15.0, true),
];

/// A healthy search: every rate up to 800 req/s served in full with low latency.
pub const LINEAR: [(StepKind, f64, f64, f64, f64, bool); 4] = [
    (StepKind::Ramp, 100.0, 100.0, 2.0, 5.0, true),
    (StepKind::Ramp, 200.0, 200.0, 2.0, 5.0, true),
    (StepKind::Ramp, 400.0, 400.0, 2.0, 5.5, true),
    (StepKind::Ramp, 800.0, 800.0, 2.1, 6.0, true),
];

/// A search over `levels`, each step's monitor summary made by `monitor` from its
/// throughput (`None`: no target watched).
pub fn search(
    levels: &[(StepKind, f64, f64, f64, f64, bool)],
    monitor: impl Fn(f64) -> Option<Summary>,
) -> CapacityRecord {
    let steps = levels
        .iter()
        .enumerate()
        .map(|(i, &(kind, offered, throughput, p50, p99, pass))| {
            let mut r = run(offered, throughput, p50, p99);
            r.target.summary = monitor(throughput);
            step(i, kind, offered, pass, r)
        })
        .collect();
    record(steps)
}

/// The rules that fired.
pub fn rules(findings: &[Finding]) -> Vec<&str> {
    findings.iter().map(|f| f.rule.as_str()).collect()
}

/// The finding of `rule`; fails the test when it did not fire.
pub fn finding<'a>(findings: &'a [Finding], rule: &str) -> &'a Finding {
    findings
        .iter()
        .find(|f| f.rule == rule)
        .unwrap_or_else(|| panic!("no {rule} finding in {:?}", rules(findings)))
}

/// Checks what every finding must have: text, evidence and cited strategies.
pub fn assert_well_formed(findings: &[Finding]) {
    for f in findings {
        assert!(!f.title.is_empty() && !f.summary.is_empty(), "{f:?}");
        assert!(!f.evidence.is_empty(), "{} has no evidence", f.rule);
        assert!(
            !f.recommendations.is_empty(),
            "{} recommends nothing",
            f.rule
        );
        for r in &f.recommendations {
            assert!(!r.strategy.section.is_empty() && !r.strategy.name.is_empty());
            assert!(!r.strategy.name_en.is_empty() && !r.advice.is_empty());
        }
        assert!(f.evidence.iter().all(|e| e.value.is_finite()), "{f:?}");
    }
    let severities: Vec<Severity> = findings.iter().map(|f| f.severity).collect();
    assert!(
        severities.windows(2).all(|w| w[0] >= w[1]),
        "not most severe first: {severities:?}"
    );
}
