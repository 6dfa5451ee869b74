//! Capacity records made of real runs against the in-process server: the runs, their
//! samples and figures are measured; the verdicts, the result and the findings are written
//! by the fixture, the way the capacity search and the diagnosis would write them.

use std::time::Duration;

use perfloop_report::{
    CAPACITY_SCHEMA, CapacityRecord, CapacityResult, CapacityTarget, Evidence, Finding, Knee,
    LittlesLaw, Recommendation, RunRecord, SearchEnding, SearchSettings, Severity, Step, StepKind,
    StepVerdict, StrategyRef, Sweep, SweepAbove, SweepPoint, Trend, UslRecord,
};

/// The objectives every step is held to.
pub const SLOS: [&str; 2] = ["p99<200ms", "error_rate<1%"];

/// A command with characters HTML must escape.
pub const COMMAND: &str = r#"./demo --listen 127.0.0.1:0 --label "<fast & loose>""#;

/// How long each real step runs.
const STEP: Duration = Duration::from_millis(300);

/// What the fixture decides about one step.
pub struct Plan {
    pub kind: StepKind,
    pub offered: f64,
    pub pass: bool,
    pub trusted: bool,
    pub reasons: Vec<String>,
}

impl Plan {
    pub fn pass(kind: StepKind, offered: f64) -> Plan {
        Plan {
            kind,
            offered,
            pass: true,
            trusted: true,
            reasons: vec![],
        }
    }

    pub fn fail(kind: StepKind, offered: f64, reason: &str) -> Plan {
        Plan {
            kind,
            offered,
            pass: false,
            trusted: true,
            reasons: vec![reason.to_string()],
        }
    }

    pub fn untrusted(kind: StepKind, offered: f64, reasons: &[&str]) -> Plan {
        Plan {
            kind,
            offered,
            pass: false,
            trusted: false,
            reasons: reasons.iter().map(|r| r.to_string()).collect(),
        }
    }
}

/// The rate search of the realistic record: a ramp of four, a bisection of three.
pub fn rate_plans() -> Vec<Plan> {
    use StepKind::{Bisect, Ramp};
    vec![
        Plan::pass(Ramp, 200.0),
        Plan::pass(Ramp, 400.0),
        Plan::pass(Ramp, 800.0),
        Plan::fail(
            Ramp,
            1600.0,
            "p99 latency rose through the step (Sen's slope 4.1 ms/s, p = 0.003)",
        ),
        Plan::pass(Bisect, 1200.0),
        Plan::untrusted(
            Bisect,
            1400.0,
            &[
                "the load generator was saturated: a worker thread was busy 96 % of the step",
                "Little's law does not hold: 3.1 requests in flight sampled, 1.9 expected",
            ],
        ),
        Plan::fail(
            Bisect,
            1300.0,
            "throughput 1204.7 req/s fell 7.3 % short of the asked 1300 req/s (margin 5 %)",
        ),
    ]
}

/// The concurrency levels of the realistic sweep.
pub const LEVELS: [u64; 6] = [1, 2, 4, 8, 16, 32];

/// Runs one step for real and gives it the fixture's verdict.
pub fn measure(url: &str, index: usize, plan: Plan) -> Step {
    let config = match plan.kind {
        StepKind::Sweep => super::closed(url, plan.offered as u32, STEP),
        StepKind::Ramp | StepKind::Bisect => super::open(url, plan.offered, STEP),
    };
    let run = super::record_of(&config, &SLOS);
    step_of(index, plan, run)
}

/// A step around `run` with the fixture's verdict and the figures taken from the run.
pub fn step_of(index: usize, plan: Plan, run: RunRecord) -> Step {
    let (xs, ys): (Vec<f64>, Vec<f64>) = run
        .timeline
        .iter()
        .filter_map(|t| Some((t.t_s as f64, t.p99_ms?)))
        .unzip();
    let latency_trend = match perfloop_stats::trend::mann_kendall(&xs, &ys) {
        Some(mk) => Trend {
            series: "p99 latency per second, ms".to_string(),
            n: mk.n,
            tau: mk.tau,
            p_value: mk.p_increasing,
            slope_per_s: mk.sen_slope,
            rising: false,
        },
        None => Trend {
            series: "p99 latency per second, ms".to_string(),
            n: xs.len(),
            tau: 0.0,
            p_value: 1.0,
            slope_per_s: 0.0,
            rising: false,
        },
    };
    let expected = run.throughput_rps * run.latency_ms.mean / 1000.0;
    let ratio = if expected > 0.0 {
        run.in_flight_mean / expected
    } else {
        1.0
    };
    let requests = &run.requests;
    let error_rate = if requests.total == 0 {
        0.0
    } else {
        requests.errors as f64 / requests.total as f64
    };
    let verdict = StepVerdict {
        pass: plan.pass,
        trusted: plan.trusted,
        reasons: plan.reasons,
        slo_pass: !run.slo_failed(),
        achieved_ratio: match plan.kind {
            StepKind::Sweep => None,
            _ => Some(run.throughput_rps / plan.offered),
        },
        latency_trend,
        dropped: requests.dropped,
        errors: requests.errors,
        error_rate,
        littles_law: LittlesLaw {
            in_flight: run.in_flight_mean,
            expected,
            ratio,
            holds: plan.trusted,
        },
        generator_saturated: run.generator.saturated,
    };
    Step {
        index,
        kind: plan.kind,
        offered: plan.offered,
        verdict,
        run,
    }
}

/// The sweep of the sweep steps in `steps`, with the law fitted to their trusted points.
pub fn sweep_of(steps: &[Step]) -> Sweep {
    let points: Vec<SweepPoint> = steps
        .iter()
        .filter(|s| s.kind == StepKind::Sweep)
        .map(|s| SweepPoint {
            concurrency: s.offered as u64,
            throughput_rps: s.run.throughput_rps,
            p50_ms: s.run.latency_ms.p50,
            p99_ms: s.run.latency_ms.p99,
            step: s.index,
            trusted: s.verdict.trusted,
        })
        .collect();
    let data: Vec<(f64, f64)> = points
        .iter()
        .filter(|p| p.trusted)
        .map(|p| (p.concurrency as f64, p.throughput_rps))
        .collect();
    match perfloop_stats::usl::fit(&data) {
        Ok(fit) => Sweep {
            points,
            usl: Some(UslRecord::from_fit(&fit)),
            usl_error: None,
        },
        Err(e) => Sweep {
            points,
            usl: None,
            usl_error: Some(e.to_string()),
        },
    }
}

/// The findings of the realistic record, with figures taken from its steps.
pub fn findings(steps: &[Step]) -> Vec<Finding> {
    let busiest = steps
        .iter()
        .filter_map(|s| {
            let m = s.run.target.summary.as_ref()?;
            Some((s.index, m.top_thread_cpu_pct_max?, m.cpu_pct_mean?))
        })
        .max_by(|a, b| a.1.total_cmp(&b.1));
    let mut evidence = Vec::new();
    if let Some((step, top_thread, cpu)) = busiest {
        evidence.push(Evidence {
            label: "target CPU, busiest thread".to_string(),
            value: top_thread,
            unit: "%".to_string(),
            step: Some(step),
        });
        evidence.push(Evidence {
            label: "target CPU, whole process".to_string(),
            value: cpu,
            unit: "%".to_string(),
            step: Some(step),
        });
    }
    vec![
        Finding {
            rule: "cpu_one_thread".to_string(),
            severity: Severity::Critical,
            title: "One thread of the target does most of the work".to_string(),
            summary: "The busiest thread runs near one core while the process as a whole \
                      stays far below the machine's cores: a serial stage (p99 < 200 ms & \
                      errors < 1 % until it saturates) bounds the throughput."
                .to_string(),
            evidence,
            recommendations: vec![
                Recommendation {
                    strategy: StrategyRef {
                        section: "3.2".to_string(),
                        name: "Распараллеливание".to_string(),
                        name_en: "Parallelisation".to_string(),
                    },
                    advice: "Spread the request handling over a pool of workers instead of \
                             one event-loop thread."
                        .to_string(),
                },
                Recommendation {
                    strategy: StrategyRef {
                        section: "5.1".to_string(),
                        name: "Кэширование".to_string(),
                        name_en: "Caching".to_string(),
                    },
                    advice: "Cache the responses of the hot path so the serial stage runs \
                             less often."
                        .to_string(),
                },
            ],
        },
        Finding {
            rule: "untrusted_step".to_string(),
            severity: Severity::Warning,
            title: "A step measured the load generator, not the target".to_string(),
            summary: "Step 5 saturated a generator thread; it was left out of the result."
                .to_string(),
            evidence: vec![Evidence {
                label: "generator thread busy".to_string(),
                value: 96.0,
                unit: "%".to_string(),
                step: Some(5),
            }],
            recommendations: vec![],
        },
        Finding {
            rule: "usl_fit".to_string(),
            severity: Severity::Info,
            title: "Scaling with connections follows the Universal Scalability Law".to_string(),
            summary: "The sweep's points are fitted by the law; see the sweep.".to_string(),
            evidence: vec![Evidence {
                label: "sweep levels".to_string(),
                value: LEVELS.len() as f64,
                unit: String::new(),
                step: None,
            }],
            recommendations: vec![],
        },
    ]
}

/// The search settings of the fixture.
pub fn settings(sweep: bool) -> SearchSettings {
    SearchSettings {
        start_rate: 200.0,
        growth: 2.0,
        max_rate: Some(100_000.0),
        step_duration_s: STEP.as_secs_f64(),
        step_warmup_s: 0.0,
        resolution: 0.1,
        max_time_s: 600.0,
        rate_margin: 0.05,
        slo: SLOS.iter().map(|s| s.to_string()).collect(),
        concurrency: if sweep { LEVELS.to_vec() } else { vec![] },
    }
}

/// A record around `steps` and `result`, everything else as the fixture has it.
pub fn record(
    url: &str,
    steps: Vec<Step>,
    result: CapacityResult,
    sweep: Option<Sweep>,
) -> CapacityRecord {
    let elapsed_s = steps
        .iter()
        .map(|s| s.run.load.duration_s + s.run.load.warmup_s)
        .sum();
    let findings = findings(&steps);
    let warnings = warnings(&steps);
    CapacityRecord {
        schema: CAPACITY_SCHEMA.to_string(),
        perfloop_version: "0.1.0".to_string(),
        started_at: "2025-01-31T12:00:00Z".to_string(),
        elapsed_s,
        target: CapacityTarget {
            url: url.to_string(),
            method: "GET".to_string(),
            scenario: None,
            command: Some(COMMAND.to_string()),
            pid: Some(std::process::id()),
        },
        settings: settings(sweep.is_some()),
        steps,
        result,
        sweep,
        findings,
        ending: SearchEnding::Completed,
        warnings,
        notes: vec![],
    }
}

/// The warnings as the search writes them: only about the step that stopped it, when it
/// was not trusted; the failing steps above it were meant to overload the target.
pub fn warnings(steps: &[Step]) -> Vec<String> {
    stopper(steps)
        .filter(|s| !s.verdict.trusted)
        .map(|s| {
            format!(
                "step {} ({}/s), which stopped the rate search, was not trusted ({}): the \
                 target may sustain more than the result says",
                s.index,
                s.offered,
                s.verdict.reasons.join("; ")
            )
        })
        .into_iter()
        .collect()
}

/// The rate step with the lowest failing rate.
pub fn stopper(steps: &[Step]) -> Option<&Step> {
    steps
        .iter()
        .filter(|s| s.kind != StepKind::Sweep && !s.verdict.pass)
        .min_by(|a, b| a.offered.total_cmp(&b.offered))
}

/// The sweep step with the highest passing throughput, above `search_rps`.
pub fn sweep_above(steps: &[Step], search_rps: f64) -> Option<SweepAbove> {
    let top = steps
        .iter()
        .filter(|s| s.kind == StepKind::Sweep && s.verdict.pass)
        .max_by(|a, b| a.run.throughput_rps.total_cmp(&b.run.throughput_rps))?;
    let stopped = stopper(steps)?;
    (top.run.throughput_rps > search_rps).then(|| SweepAbove {
        step: top.index,
        concurrency: top.offered as u64,
        throughput_rps: top.run.throughput_rps,
        p99_ms: top.run.latency_ms.p99,
        search_stopped_at: Some(stopped.index),
        why: format!(
            "the rate search stopped at step {} ({}/s): {}",
            stopped.index,
            stopped.offered,
            stopped.verdict.reasons.join("; ")
        ),
    })
}

/// A capacity search measured for real against the in-process server: a ramp, a bisection
/// with an untrusted step, and a concurrency sweep of six levels with the law fitted.
pub fn realistic() -> CapacityRecord {
    let addr = super::start_axum();
    let url = format!("http://{addr}/");
    let mut plans = rate_plans();
    plans.extend(
        LEVELS
            .iter()
            .map(|&n| Plan::pass(StepKind::Sweep, n as f64)),
    );
    let steps: Vec<Step> = plans
        .into_iter()
        .enumerate()
        .map(|(i, plan)| measure(&url, i, plan))
        .collect();
    let sweep = sweep_of(&steps);
    assert!(sweep.usl.is_some(), "the fit failed: {:?}", sweep.usl_error);
    let best = &steps[4];
    let result = CapacityResult {
        first_broken_endpoint: None,
        max_sustainable_rps: Some(best.run.throughput_rps),
        max_passing_rate: Some(best.offered),
        max_passing_step: Some(best.index),
        min_failing_rate: Some(1300.0),
        resolved: true,
        knee: Some(Knee {
            rate: 800.0,
            throughput_rps: steps[2].run.throughput_rps,
            p99_ms: steps[2].run.latency_ms.p99,
            step: 2,
            method: "the largest rise of p99 per added request per second between \
                     neighbouring passing steps"
                .to_string(),
        }),
        bounded_by: "the bisection reached the resolution: 1300 req/s fails within 10 % \
                     above 1200 req/s"
            .to_string(),
        sweep_above: sweep_above(&steps, best.run.throughput_rps),
        sweep_below: None,
    };
    assert!(
        result.sweep_above.is_some(),
        "the sweep of the in-process server sustains more than 1200/s"
    );
    record(&url, steps, result, Some(sweep))
}

/// A cheap record without a real run: every step is the hand-built saturated record, no
/// step passed, no sweep.
pub fn nothing_passed() -> CapacityRecord {
    let url = "http://127.0.0.1:8080/api/items?id=7";
    let steps = vec![
        step_of(
            0,
            Plan::fail(
                StepKind::Ramp,
                200.0,
                "error_rate<1% failed: 1.22 % of the requests failed",
            ),
            super::saturated_record(),
        ),
        step_of(
            1,
            Plan::untrusted(StepKind::Ramp, 400.0, &["the load generator was saturated"]),
            super::saturated_record(),
        ),
    ];
    let result = CapacityResult {
        first_broken_endpoint: None,
        max_sustainable_rps: None,
        max_passing_rate: None,
        max_passing_step: None,
        min_failing_rate: Some(200.0),
        resolved: false,
        knee: None,
        bounded_by: "the first step already failed its objectives".to_string(),
        sweep_above: None,
        sweep_below: None,
    };
    let mut record = record(url, steps, result, None);
    record.ending = SearchEnding::FailedAtStart;
    record.findings.truncate(1);
    record
}
