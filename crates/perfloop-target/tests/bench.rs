//! Command benchmarks with real, deterministic commands: work counting, the cross product
//! of parameters, the shell's start-up measured and subtracted, the errors of bad work
//! regexes and failing commands, timeouts, CPU and peak RSS of a process tree, and the
//! report against its committed schema.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::path::Path;
use std::time::{Duration, Instant};

use perfloop_report::render_bench_text;
use perfloop_target::bench::BENCH_SCHEMA;
use perfloop_target::{
    BenchError, BenchReport, BenchSpec, CommandTemplate, HelperExe, Shell, Startup, parse_param,
    parse_work_regex, run_bench,
};

/// A spec measured by the crate's helper binary, which dispatches `__measure` like perfloop.
fn spec(command: &str) -> BenchSpec {
    let mut s = BenchSpec::new(CommandTemplate::parse(command).unwrap());
    s.measurer = HelperExe::Program(env!("CARGO_BIN_EXE_perfloop-target-helper").into());
    s.runs = 3;
    s.timeout = Some(Duration::from_secs(20));
    s
}

fn validate(report: &BenchReport) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../perfloop-report/schema/perfloop.bench.v1.json");
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut schemas = boon::Schemas::new();
    let mut compiler = boon::Compiler::new();
    compiler
        .add_resource("perfloop.bench.v1.json", schema)
        .unwrap();
    let index = compiler
        .compile("perfloop.bench.v1.json", &mut schemas)
        .unwrap();
    let text = serde_json::to_string_pretty(report).unwrap();
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    if let Err(e) = schemas.validate(&value, index) {
        panic!("report does not match the schema:\n{e:#}\n{text}");
    }
    // Floats may come back one ulp off; everything else must be identical.
    let back: BenchReport = serde_json::from_str(&text).unwrap();
    assert_eq!(back.results.len(), report.results.len());
    for (b, r) in back.results.iter().zip(&report.results) {
        assert_eq!(
            (&b.command, &b.params, &b.exit_codes),
            (&r.command, &r.params, &r.exit_codes)
        );
        assert_eq!(
            (&b.warnings, b.peak_rss_bytes_max),
            (&r.warnings, r.peak_rss_bytes_max)
        );
        assert!((b.wall_s.mean - r.wall_s.mean).abs() <= 1e-12 * r.wall_s.mean);
    }
}

#[test]
fn counts_the_work_a_deterministic_command_reports() {
    // Run directly: through `sh -c`, the builtin printf would take no time beyond the
    // shell's start-up, which is subtracted.
    let mut s = spec("printf 'starting\\nprocessed 1000 records\\n'");
    s.shell = Shell::None;
    s.warmup = 1;
    s.work_regex = Some(parse_work_regex(r"processed (\d+) records").unwrap());
    let report = run_bench(&s).unwrap();
    assert_eq!(report.schema, BENCH_SCHEMA);
    assert_eq!(report.results.len(), 1);
    let r = &report.results[0];
    assert_eq!(r.runs, 3);
    assert_eq!(r.times_s.len(), 3);
    assert_eq!(r.exit_codes, [0, 0, 0]);
    assert_eq!(r.work_mean, Some(1000.0));
    let rate = r.work_per_s.unwrap();
    assert!(rate.min > 0.0 && rate.min <= rate.median && rate.median <= rate.max);
    // Work per second is per run: the slowest run has the lowest rate.
    let slowest = r.times_s.iter().copied().fold(0.0, f64::max);
    assert!((rate.min - 1000.0 / slowest).abs() < 1e-6 * rate.min);
    assert!(r.wall_s.ci95_low.unwrap() <= r.wall_s.mean);
    assert!(r.peak_rss_bytes_max > 0);
    let text = render_bench_text(&report);
    for needle in [
        "Benchmark 1: printf",
        "Time (mean ± σ):",
        "Range (min … max):",
        "95 % CI",
        "records/s",
    ] {
        assert!(text.contains(needle), "{needle} missing from:\n{text}");
    }
    validate(&report);
}

#[test]
fn the_shell_start_up_is_measured_reported_and_subtracted() {
    let mut s = spec("true");
    s.startup = Startup::Measure(20);
    let report = run_bench(&s).unwrap();
    let startup = report.shell_startup.clone().unwrap();
    assert_eq!((startup.runs, startup.command.as_str()), (20, "sh -c ''"));
    assert!(
        startup.wall_s.mean > 0.0 && startup.wall_s.min > 0.0,
        "{startup:?}"
    );
    let r = &report.results[0];
    assert!(r.times_s.iter().all(|t| *t >= 0.0), "{:?}", r.times_s);
    assert!(r.wall_s.ci95_low.unwrap() >= 0.0, "{:?}", r.wall_s);
    let text = render_bench_text(&report);
    assert!(
        text.starts_with("Shell start-up: ") && text.contains("(20 runs of sh -c ''), subtracted"),
        "{text}"
    );
    validate(&report);

    // Without a shell there is nothing to subtract.
    s.shell = Shell::None;
    let direct = run_bench(&s).unwrap();
    assert_eq!(direct.shell_startup, None);
    assert!(!render_bench_text(&direct).contains("Shell start-up"));
    validate(&direct);
}

#[test]
fn runs_the_cross_product_of_two_parameters() {
    let mut s = spec("echo processed {a}{b} records");
    s.runs = 2;
    s.shell = Shell::None;
    s.params = vec![parse_param("a=1,2").unwrap(), parse_param("b=0,5").unwrap()];
    s.work_regex = Some(parse_work_regex(r"processed (\d+)").unwrap());
    let report = run_bench(&s).unwrap();
    let seen: Vec<(String, String, f64)> = report
        .results
        .iter()
        .map(|r| {
            (
                r.params["a"].clone(),
                r.params["b"].clone(),
                r.work_mean.unwrap(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("1".into(), "0".into(), 10.0),
            ("1".into(), "5".into(), 15.0),
            ("2".into(), "0".into(), 20.0),
            ("2".into(), "5".into(), 25.0)
        ]
    );
    assert_eq!(report.results[3].command, "echo processed 25 records");
    let text = render_bench_text(&report);
    assert!(
        text.contains("Benchmark 4 (a=2, b=5)") && text.contains("Summary"),
        "{text}"
    );
    validate(&report);
}

#[test]
fn parameters_also_reach_the_environment() {
    let mut s = spec("echo processed $PERFLOOP_KNOB_BATCH_SIZE records");
    s.runs = 1;
    s.params = vec![parse_param("batch-size=7").unwrap()];
    s.work_regex = Some(parse_work_regex(r"processed (\d+)").unwrap());
    let report = run_bench(&s).unwrap();
    assert_eq!(report.results[0].work_mean, Some(7.0));
}

#[test]
fn a_work_regex_without_a_capture_group_is_an_input_error() {
    let err = parse_work_regex(r"processed \d+ records").unwrap_err();
    assert!(err.is_input_error());
    let text = err.to_string();
    assert!(
        text.contains("capture group") && text.contains(r"processed \d+ records"),
        "{text}"
    );
}

#[test]
fn a_work_regex_that_never_matches_shows_the_output() {
    let mut s = spec("printf 'did 1000 things\\n'");
    s.work_regex = Some(parse_work_regex(r"processed (\d+)").unwrap());
    let err = run_bench(&s).unwrap_err();
    assert!(matches!(err, BenchError::WorkNotFound { .. }), "{err:?}");
    assert!(err.is_input_error());
    let text = err.to_string();
    assert!(
        text.contains("did 1000 things") && text.contains(r"processed (\d+)"),
        "{text}"
    );
}

#[test]
fn a_failing_command_is_an_error_unless_failures_are_ignored() {
    let mut s = spec("echo oops >&2; exit 3");
    let err = run_bench(&s).unwrap_err();
    let BenchError::CommandFailed { status, .. } = &err else {
        panic!("expected CommandFailed, got {err:?}");
    };
    assert_eq!(status.code, Some(3));
    assert!(!err.is_input_error());
    let text = err.to_string();
    assert!(
        text.contains("oops") && text.contains("exit code 3"),
        "{text}"
    );

    s.ignore_failure = true;
    let report = run_bench(&s).unwrap();
    let r = &report.results[0];
    assert_eq!(r.failed_runs, 3);
    assert_eq!(r.exit_codes, [3, 3, 3]);
    assert!(r.warnings.iter().any(|w| w.kind == "non_zero_exit"));
    validate(&report);
}

#[test]
fn a_run_past_its_timeout_is_killed() {
    let mut s = spec("sleep 9.5");
    s.shell = Shell::None;
    s.runs = 1;
    s.timeout = Some(Duration::from_millis(300));
    let started = Instant::now();
    let err = run_bench(&s).unwrap_err();
    assert!(matches!(err, BenchError::Timeout { .. }), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn cpu_and_peak_rss_include_the_waited_for_children() {
    // The shell waits for python, which holds about 64 MiB and burns some CPU.
    let mut s = spec(
        "python3 -c 'b = bytearray(64 << 20); s = sum(range(3000000)); print(\"processed\", len(b) >> 20)'",
    );
    s.runs = 2;
    s.work_regex = Some(parse_work_regex(r"processed (\d+)").unwrap());
    let report = run_bench(&s).unwrap();
    let r = &report.results[0];
    assert_eq!(r.work_mean, Some(64.0));
    assert!(r.peak_rss_bytes_max >= 64 << 20, "{}", r.peak_rss_bytes_max);
    assert!(r.user_s_mean + r.sys_s_mean > 0.01, "{r:?}");
}

/// The kernel folds the spawning parent's peak RSS into a child's `ru_maxrss` at exec; the
/// measuring process keeps perfloop's own memory out of the figure.
#[test]
fn peak_rss_is_the_commands_not_perfloops() {
    // 256 MiB, every page touched, so that it is resident.
    let mut ballast = vec![0u8; 256 << 20];
    for i in (0..ballast.len()).step_by(4096) {
        ballast[i] = 1;
    }
    let mut s = spec("true");
    s.shell = Shell::None;
    s.runs = 2;
    let report = run_bench(&s).unwrap();
    let rss = report.results[0].peak_rss_bytes_max;
    assert!(rss > 0 && rss < 32 << 20, "peak RSS of `true`: {rss} bytes");
    std::hint::black_box(&ballast);
}

#[test]
fn a_program_that_does_not_exist_cannot_be_run() {
    let mut s = spec("/nonexistent/perfloop-bench --flag");
    s.shell = Shell::None;
    let err = run_bench(&s).unwrap_err();
    assert!(matches!(err, BenchError::Spawn { .. }), "{err:?}");
    assert!(
        err.to_string().contains("/nonexistent/perfloop-bench"),
        "{err}"
    );
}
