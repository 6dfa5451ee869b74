//! Command benchmarks: `perfloop bench-cmd 'COMMAND {knob}'`.
//!
//! For every combination of parameter values (the cross product of the `--param` lists, the
//! first parameter varying slowest), the command is filled from the template, run
//! [`BenchSpec::warmup`] times unmeasured, then [`BenchSpec::runs`] times measured: wall time,
//! user and system CPU, peak RSS (see [`exec`]) and, with a work regex, the work the command
//! reports on stdout, giving work per second. Statistics and warnings come from
//! `perfloop_stats::sample`; the result is a [`BenchReport`] (schema `perfloop.bench.v1`),
//! the record `perfloop-report` defines, builds from the measured runs and exports (its
//! hyperfine-like text is `perfloop_report::BenchText`).
//!
//! How the command runs ([`Shell`]): by default through `sh -c` with the filled text, as
//! hyperfine does, so that pipes, redirections and variables work. The shell's start-up
//! (about a millisecond) is then measured before the benchmark, as hyperfine does: `sh -c
//! ''` is run [`DEFAULT_STARTUP_RUNS`] times through the same measurer, and the means of
//! its wall, user and system times are subtracted from every measured run (a difference
//! below zero counts as zero). The figure is reported ([`ShellStartup`]). [`Shell::None`]
//! (`-N`) splits the template into words and runs the program directly: nothing to
//! subtract, only the cost of starting the program itself is measured with it.
//!
//! The work regex must have a capture group: the group named `work` if there is one, else
//! the first group that took part in the match, holds the count (`,` and `_` separators are
//! allowed). The last match in the run's stdout (its last 1 MiB) counts.

pub mod error;
pub mod exec;
pub mod measure;

use std::time::Duration;

use regex::Regex;

pub use error::BenchError;
pub use exec::{Executor, Invocation, ProcessExecutor, RunMeasurement};
pub use measure::{MEASURE_ARG, measure};
pub use perfloop_report::bench::{
    BENCH_SCHEMA, BenchReport, BenchResult, BenchRun, SampleStats, Shell, ShellStartup, Warning,
};

use crate::helper_exe::HelperExe;
use crate::template::{CommandTemplate, Knobs, is_valid_knob_name, knob_env};

/// The default number of measured runs.
pub const DEFAULT_RUNS: usize = 10;

/// Runs of the empty shell command whose mean is the shell's start-up (hyperfine's count).
pub const DEFAULT_STARTUP_RUNS: usize = 50;

/// How many lines of output an error message shows.
const OUTPUT_LINES: usize = 10;

/// How the shell's start-up is taken out of the measured times (with [`Shell::Sh`] only).
#[derive(Debug, Clone, PartialEq)]
pub enum Startup {
    /// Measured before the benchmark, over this many runs of `sh -c ''` (0: not at all).
    Measure(usize),
    /// Measured already (by an earlier benchmark through the same shell).
    Known(ShellStartup),
    /// Neither measured nor subtracted.
    Ignore,
}

/// What to benchmark and how. Build it with [`BenchSpec::new`] and set the fields.
#[derive(Debug, Clone)]
pub struct BenchSpec {
    /// The command template (`'COMMAND {knob}'`).
    pub command_template: CommandTemplate,
    /// Parameter names and their values (`--param workers=1,2,4,8`, repeatable); the
    /// benchmark runs their cross product.
    pub params: Vec<(String, Vec<String>)>,
    /// Measured runs per combination (`--runs`), at least 1.
    pub runs: usize,
    /// Unmeasured warm-up runs per combination (`--warmup`).
    pub warmup: usize,
    /// The regex that finds the work count in the command's stdout (`--work-regex`); see
    /// [`parse_work_regex`].
    pub work_regex: Option<Regex>,
    /// The unit of work, for display (`records`).
    pub work_unit: String,
    /// How the command is run.
    pub shell: Shell,
    /// How the shell's start-up is subtracted (with [`Shell::Sh`]).
    pub startup: Startup,
    /// Kill a run that takes longer, and fail the benchmark.
    pub timeout: Option<Duration>,
    /// Measure runs that exit with a non-zero status instead of failing (`--ignore-failure`).
    pub ignore_failure: bool,
    /// Also pass parameter values as `PERFLOOP_KNOB_<NAME>` environment variables.
    pub knob_env: bool,
    /// More environment variables for the command, set after the knob variables.
    pub env: Vec<(String, String)>,
    /// The executable that runs the measurer (`__measure`): perfloop itself by default.
    pub measurer: HelperExe,
}

impl BenchSpec {
    /// A spec with the defaults: no parameters, 10 runs, no warm-up, no work regex, work
    /// counted in `records`, `sh -c` with its start-up measured and subtracted, no timeout,
    /// failures not ignored, knob variables exported, perfloop itself as the measurer.
    pub fn new(command_template: CommandTemplate) -> BenchSpec {
        BenchSpec {
            command_template,
            params: Vec::new(),
            runs: DEFAULT_RUNS,
            warmup: 0,
            work_regex: None,
            work_unit: "records".to_string(),
            shell: Shell::Sh,
            startup: Startup::Measure(DEFAULT_STARTUP_RUNS),
            timeout: None,
            ignore_failure: false,
            knob_env: true,
            env: Vec::new(),
            measurer: HelperExe::CurrentExe,
        }
    }

    /// Checks everything that can be checked before a run: runs, parameters, the work
    /// regex's capture group and that every placeholder has a value.
    pub fn validate(&self) -> Result<(), BenchError> {
        if self.runs == 0 {
            return Err(BenchError::NoRuns);
        }
        let mut seen: Vec<&str> = Vec::new();
        for (name, values) in &self.params {
            let text = format!("{name}={}", values.join(","));
            check_param(&text, name, values)?;
            if seen.contains(&name.as_str()) {
                return Err(BenchError::Param {
                    text,
                    reason: format!("`{name}` is given twice; list all its values at once"),
                });
            }
            seen.push(name);
        }
        if let Some(re) = &self.work_regex {
            check_work_regex(re)?;
        }
        let first: Knobs = self
            .params
            .iter()
            .filter_map(|(k, v)| Some((k.clone(), v.first()?.clone())))
            .collect();
        self.command_template.check(&first)?;
        Ok(())
    }

    /// The command to run for one combination.
    fn invocation(&self, knobs: &Knobs) -> Result<Invocation, BenchError> {
        let mut env = if self.knob_env {
            knob_env(knobs)
        } else {
            Vec::new()
        };
        env.extend(self.env.iter().cloned());
        let (program, args, display) = match self.shell {
            Shell::Sh => {
                let text = self.command_template.shell_text(knobs)?;
                ("sh".to_string(), vec!["-c".to_string(), text.clone()], text)
            }
            Shell::None => {
                let mut argv = self.command_template.argv(knobs)?;
                let display = shell_words::join(&argv);
                let program = argv.remove(0);
                (program, argv, display)
            }
        };
        Ok(Invocation {
            program,
            args,
            env,
            display,
            timeout: self.timeout,
        })
    }
}

fn check_param(text: &str, name: &str, values: &[String]) -> Result<(), BenchError> {
    let err = |reason: String| BenchError::Param {
        text: text.to_string(),
        reason,
    };
    if !is_valid_knob_name(name) {
        return Err(err(format!(
            "`{name}` is not a parameter name (a letter or `_`, then letters, digits, `_` or `-`)"
        )));
    }
    if values.is_empty() || values.iter().any(String::is_empty) {
        return Err(err("expected NAME=V1,V2,... with no empty value".into()));
    }
    Ok(())
}

/// Parses `NAME=V1,V2,...` (`--param workers=1,2,4,8`).
pub fn parse_param(text: &str) -> Result<(String, Vec<String>), BenchError> {
    let Some((name, values)) = text.split_once('=') else {
        return Err(BenchError::Param {
            text: text.to_string(),
            reason: "expected NAME=V1,V2,... like workers=1,2,4,8".into(),
        });
    };
    let name = name.trim().to_string();
    let values: Vec<String> = values.split(',').map(|v| v.trim().to_string()).collect();
    check_param(text, &name, &values)?;
    Ok((name, values))
}

fn check_work_regex(re: &Regex) -> Result<(), BenchError> {
    if re.captures_len() < 2 {
        return Err(BenchError::WorkRegex {
            regex: re.as_str().to_string(),
            reason: "it has no capture group; put the count in parentheses, like \
                     'processed (\\d+) records'"
                .into(),
        });
    }
    Ok(())
}

/// Compiles a `--work-regex` and checks that it has a capture group.
pub fn parse_work_regex(text: &str) -> Result<Regex, BenchError> {
    let re = Regex::new(text).map_err(|e| BenchError::WorkRegex {
        regex: text.to_string(),
        reason: e.to_string(),
    })?;
    check_work_regex(&re)?;
    Ok(re)
}

/// The cross product of the parameter lists, the first parameter varying slowest; one empty
/// combination when there are no parameters.
pub fn combinations(params: &[(String, Vec<String>)]) -> Vec<Knobs> {
    let mut combos = vec![Knobs::new()];
    for (name, values) in params {
        combos = combos
            .iter()
            .flat_map(|base| {
                values.iter().map(move |v| {
                    let mut k = base.clone();
                    k.insert(name.clone(), v.clone());
                    k
                })
            })
            .collect();
    }
    combos
}

/// Progress of a benchmark, for a caller that shows it.
#[derive(Debug, Clone, Copy)]
pub enum BenchEvent<'a> {
    /// A combination starts.
    Combination {
        /// Its index, from 0.
        index: usize,
        /// The number of combinations.
        total: usize,
        /// Its parameter values.
        params: &'a Knobs,
        /// The command as run.
        command: &'a str,
    },
    /// A run finished.
    Run {
        /// Whether it was a warm-up run.
        warmup: bool,
        /// Its index among the runs of its kind, from 0.
        index: usize,
        /// The number of runs of its kind.
        total: usize,
        /// What it measured.
        measurement: &'a RunMeasurement,
    },
}

/// Runs the benchmark with real processes (measured by [`BenchSpec::measurer`]) and no
/// progress reports.
pub fn run_bench(spec: &BenchSpec) -> Result<BenchReport, BenchError> {
    run_bench_with(
        spec,
        &mut ProcessExecutor::new(spec.measurer.clone()),
        &mut |_| {},
    )
}

/// Runs the benchmark with `executor`, reporting progress to `observer`.
pub fn run_bench_with(
    spec: &BenchSpec,
    executor: &mut dyn Executor,
    observer: &mut dyn FnMut(&BenchEvent<'_>),
) -> Result<BenchReport, BenchError> {
    spec.validate()?;
    let startup = shell_startup(spec, executor)?;
    let combos = combinations(&spec.params);
    let mut results = Vec::with_capacity(combos.len());
    for (index, knobs) in combos.iter().enumerate() {
        let inv = spec.invocation(knobs)?;
        observer(&BenchEvent::Combination {
            index,
            total: combos.len(),
            params: knobs,
            command: &inv.display,
        });
        for i in 0..spec.warmup {
            let m = executor.run(&inv)?;
            check_exit(spec, &inv, &m)?;
            observer(&BenchEvent::Run {
                warmup: true,
                index: i,
                total: spec.warmup,
                measurement: &m,
            });
        }
        let mut runs = Vec::with_capacity(spec.runs);
        for i in 0..spec.runs {
            let mut m = executor.run(&inv)?;
            check_exit(spec, &inv, &m)?;
            if let Some(s) = &startup {
                subtract(s, &mut m);
            }
            let work = match &spec.work_regex {
                Some(re) => extract_work(re, &inv, &m)?,
                None => None,
            };
            observer(&BenchEvent::Run {
                warmup: false,
                index: i,
                total: spec.runs,
                measurement: &m,
            });
            runs.push(bench_run(&m, work));
        }
        if let Some(result) = BenchResult::build(&inv.display, knobs, &runs) {
            results.push(result);
        }
    }
    Ok(BenchReport {
        schema: BENCH_SCHEMA.to_string(),
        command: spec.command_template.as_str().to_string(),
        shell: spec.shell,
        runs: spec.runs,
        warmup: spec.warmup,
        work_regex: spec.work_regex.as_ref().map(|r| r.as_str().to_string()),
        work_unit: spec.work_unit.clone(),
        shell_startup: startup,
        results,
    })
}

/// The shell's start-up to subtract: measured now, known, or none (no shell, or ignored).
fn shell_startup(
    spec: &BenchSpec,
    executor: &mut dyn Executor,
) -> Result<Option<ShellStartup>, BenchError> {
    if spec.shell != Shell::Sh {
        return Ok(None);
    }
    let runs = match &spec.startup {
        Startup::Ignore | Startup::Measure(0) => return Ok(None),
        Startup::Known(s) => return Ok(Some(s.clone())),
        Startup::Measure(runs) => *runs,
    };
    let inv = Invocation {
        program: "sh".to_string(),
        args: vec!["-c".to_string(), String::new()],
        env: Vec::new(),
        display: "sh -c ''".to_string(),
        timeout: spec.timeout,
    };
    let mut measured = Vec::with_capacity(runs);
    for _ in 0..runs {
        let m = executor.run(&inv)?;
        if !m.exit.success() {
            return Err(BenchError::CommandFailed {
                command: inv.display.clone(),
                status: m.exit,
                output: last_lines(&m.stderr, OUTPUT_LINES),
            });
        }
        measured.push(m);
    }
    let runs: Vec<BenchRun> = measured.iter().map(|m| bench_run(m, None)).collect();
    Ok(ShellStartup::of(&runs))
}

/// A measured run as the record summarises it.
fn bench_run(m: &RunMeasurement, work: Option<f64>) -> BenchRun {
    BenchRun {
        wall: m.wall,
        user: m.user,
        sys: m.sys,
        peak_rss_bytes: m.peak_rss_bytes,
        exit_code: m.exit.shell_code(),
        work,
    }
}

/// Takes the shell's start-up out of one run's times (a difference below zero is zero).
fn subtract(startup: &ShellStartup, m: &mut RunMeasurement) {
    let less = |d: Duration, s: f64| d.saturating_sub(Duration::from_secs_f64(s.max(0.0)));
    m.wall = less(m.wall, startup.wall_s.mean);
    m.user = less(m.user, startup.user_s_mean);
    m.sys = less(m.sys, startup.sys_s_mean);
}

/// The last `n` lines of `text`, indented; a note when it is empty.
fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    if lines.iter().all(|l| l.trim().is_empty()) {
        return "  (no output)".to_string();
    }
    let skip = lines.len().saturating_sub(n);
    lines[skip..]
        .iter()
        .map(|l| format!("  | {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn check_exit(spec: &BenchSpec, inv: &Invocation, m: &RunMeasurement) -> Result<(), BenchError> {
    if m.exit.success() || spec.ignore_failure {
        return Ok(());
    }
    let output = if m.stderr.trim().is_empty() {
        last_lines(&m.stdout, OUTPUT_LINES)
    } else {
        last_lines(&m.stderr, OUTPUT_LINES)
    };
    Err(BenchError::CommandFailed {
        command: inv.display.clone(),
        status: m.exit,
        output,
    })
}

/// The work count of a run: the last match's count group. A failed (ignored) run without a
/// match has no count; a successful one is an error.
fn extract_work(
    re: &Regex,
    inv: &Invocation,
    m: &RunMeasurement,
) -> Result<Option<f64>, BenchError> {
    let Some(caps) = re.captures_iter(&m.stdout).last() else {
        if !m.exit.success() {
            return Ok(None);
        }
        return Err(BenchError::WorkNotFound {
            regex: re.as_str().to_string(),
            command: inv.display.clone(),
            output: last_lines(&m.stdout, OUTPUT_LINES),
        });
    };
    let group = caps
        .name("work")
        .or_else(|| caps.iter().skip(1).flatten().next());
    let captured = group.map_or("", |g| g.as_str());
    let cleaned: String = captured
        .chars()
        .filter(|c| *c != ',' && *c != '_')
        .collect();
    match cleaned.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(Some(v)),
        _ => Err(BenchError::WorkNotANumber {
            regex: re.as_str().to_string(),
            command: inv.display.clone(),
            captured: captured.to_string(),
        }),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::exit::ExitInfo;

    /// A deterministic executor: run `i` takes `times[i % len]` and prints `output`.
    struct Fake {
        times_ms: Vec<u64>,
        output: String,
        exit: ExitInfo,
        calls: Vec<Invocation>,
    }

    impl Fake {
        fn new(times_ms: &[u64], output: &str) -> Fake {
            Fake {
                times_ms: times_ms.to_vec(),
                output: output.to_string(),
                exit: ExitInfo::code(0),
                calls: Vec::new(),
            }
        }
    }

    impl Executor for Fake {
        fn run(&mut self, inv: &Invocation) -> Result<RunMeasurement, BenchError> {
            let ms = self.times_ms[self.calls.len() % self.times_ms.len()];
            self.calls.push(inv.clone());
            Ok(RunMeasurement {
                wall: Duration::from_millis(ms),
                user: Duration::from_millis(ms / 2),
                sys: Duration::from_millis(ms / 10),
                peak_rss_bytes: 1000 + self.calls.len() as u64,
                exit: self.exit,
                stdout: self.output.clone(),
                stderr: String::new(),
            })
        }
    }

    /// A spec whose shell start-up is not measured (the fake's times are the command's).
    fn spec(template: &str) -> BenchSpec {
        let mut s = BenchSpec::new(CommandTemplate::parse(template).unwrap());
        s.startup = Startup::Ignore;
        s
    }

    #[test]
    fn params_parse_and_combine() {
        assert_eq!(
            parse_param("workers=1, 2,4").unwrap(),
            (
                "workers".to_string(),
                vec!["1".into(), "2".into(), "4".into()]
            )
        );
        for bad in ["workers", "=1", "w=", "w=1,,2", "1w=3"] {
            let err = parse_param(bad).unwrap_err();
            assert!(err.is_input_error(), "{bad}");
        }
        let params = vec![
            ("a".to_string(), vec!["1".to_string(), "2".to_string()]),
            (
                "b".to_string(),
                vec!["x".to_string(), "y".to_string(), "z".to_string()],
            ),
        ];
        let combos = combinations(&params);
        assert_eq!(combos.len(), 6);
        let flat: Vec<String> = combos
            .iter()
            .map(|k| format!("{}{}", k["a"], k["b"]))
            .collect();
        assert_eq!(flat, ["1x", "1y", "1z", "2x", "2y", "2z"]);
        assert_eq!(combinations(&[]), vec![Knobs::new()]);
    }

    #[test]
    fn warmups_are_run_but_not_measured() {
        let mut s = spec("work --n {n}");
        s.params = vec![("n".into(), vec!["1".into(), "2".into()])];
        s.warmup = 2;
        s.runs = 3;
        s.shell = Shell::None;
        s.env = vec![("MODE".into(), "fast".into())];
        s.work_regex = Some(parse_work_regex("done (?<work>[0-9,_]+) items").unwrap());
        let mut fake = Fake::new(
            &[100, 200, 400, 400, 400],
            "done 1,000 items\ndone 2_000 items\n",
        );
        let mut events = 0;
        let report = run_bench_with(&s, &mut fake, &mut |_| events += 1).unwrap();
        assert_eq!(fake.calls.len(), 2 * (2 + 3));
        assert_eq!(events, 2 * (1 + 2 + 3));
        assert_eq!(fake.calls[0].program, "work");
        assert_eq!(fake.calls[0].args, ["--n", "1"]);
        assert_eq!(
            fake.calls[0].env,
            [
                ("PERFLOOP_KNOB_N".to_string(), "1".to_string()),
                ("MODE".to_string(), "fast".to_string())
            ]
        );
        assert_eq!(report.results.len(), 2);
        let r = &report.results[0];
        // Calls 0-1 are warm-ups (100, 200 ms); the measured runs are 400 ms each.
        assert_eq!(r.times_s, [0.4, 0.4, 0.4]);
        assert_eq!(r.command, "work --n 1");
        assert_eq!(r.work_mean, Some(2000.0));
        assert_eq!(r.work_per_s.unwrap().mean, 5000.0);
        assert!((r.user_s_mean - 0.2).abs() < 1e-12);
        assert_eq!(r.peak_rss_bytes_max, 1005);
        assert_eq!(r.exit_codes, [0, 0, 0]);
        assert_eq!(report.schema, BENCH_SCHEMA);
        assert_eq!(
            report.work_regex.as_deref(),
            Some("done (?<work>[0-9,_]+) items")
        );
    }

    #[test]
    fn shell_mode_runs_the_filled_text() {
        let mut s = spec("echo {x} | wc -c");
        s.params = vec![("x".into(), vec!["abc".into()])];
        s.runs = 1;
        let mut fake = Fake::new(&[10], "");
        run_bench_with(&s, &mut fake, &mut |_| {}).unwrap();
        assert_eq!(fake.calls[0].program, "sh");
        assert_eq!(fake.calls[0].args, ["-c", "echo abc | wc -c"]);
    }

    #[test]
    fn the_shell_start_up_is_measured_first_and_subtracted() {
        let mut s = spec("work");
        s.startup = Startup::Measure(4);
        s.runs = 2;
        // Four runs of the empty command (1, 1, 2, 2 ms: 1.5 ms on average), then runs of 3 ms
        // and of 1 ms, which is less than the start-up.
        let mut fake = Fake::new(&[1, 1, 2, 2, 3, 1], "");
        let report = run_bench_with(&s, &mut fake, &mut |_| {}).unwrap();
        assert_eq!(fake.calls[0].program, "sh");
        assert_eq!(fake.calls[0].args, ["-c", ""]);
        assert_eq!(fake.calls[4].args, ["-c", "work"]);
        let startup = report.shell_startup.as_ref().unwrap();
        assert!((startup.wall_s.mean - 0.0015).abs() < 1e-12, "{startup:?}");
        let r = &report.results[0];
        assert!((r.times_s[0] - 0.0015).abs() < 1e-12, "{:?}", r.times_s);
        assert_eq!(r.times_s[1], 0.0);
        assert!(r.wall_s.ci95_low.unwrap() >= 0.0);

        // Known: not measured again; without a shell: nothing to subtract.
        s.startup = Startup::Known(startup.clone());
        let mut fake = Fake::new(&[3], "");
        let again = run_bench_with(&s, &mut fake, &mut |_| {}).unwrap();
        assert_eq!(fake.calls.len(), 2);
        assert!((again.results[0].times_s[0] - 0.0015).abs() < 1e-12);
        s.shell = Shell::None;
        let mut fake = Fake::new(&[3], "");
        let direct = run_bench_with(&s, &mut fake, &mut |_| {}).unwrap();
        assert_eq!(direct.shell_startup, None);
        assert_eq!(direct.results[0].times_s, [0.003, 0.003]);
    }

    #[test]
    fn input_errors_come_before_any_run() {
        let mut fake = Fake::new(&[10], "");
        let mut s = spec("sleep {secs}");
        let err = run_bench_with(&s, &mut fake, &mut |_| {}).unwrap_err();
        assert!(matches!(err, BenchError::Template(_)) && err.is_input_error());
        assert!(err.to_string().contains("{secs}"), "{err}");
        s.params = vec![
            ("secs".into(), vec!["1".into()]),
            ("secs".into(), vec!["2".into()]),
        ];
        assert!(matches!(s.validate(), Err(BenchError::Param { .. })));
        s.params.pop();
        s.runs = 0;
        assert!(matches!(s.validate(), Err(BenchError::NoRuns)));
        s.runs = 1;
        s.work_regex = Some(Regex::new("processed \\d+").unwrap());
        assert!(matches!(s.validate(), Err(BenchError::WorkRegex { .. })));
        assert!(fake.calls.is_empty());
        assert!(parse_work_regex("(").is_err());
        assert!(parse_work_regex("processed \\d+").is_err());
    }

    #[test]
    fn work_that_is_not_a_number() {
        let mut s = spec("x");
        s.runs = 1;
        s.work_regex = Some(parse_work_regex("processed (\\S+)").unwrap());
        let mut fake = Fake::new(&[10], "processed many records");
        let err = run_bench_with(&s, &mut fake, &mut |_| {}).unwrap_err();
        assert!(
            matches!(err, BenchError::WorkNotANumber { ref captured, .. } if captured == "many")
        );
        assert!(err.is_input_error());
    }

    #[test]
    fn ignored_failures_are_measured_and_warned_about() {
        let mut s = spec("x");
        s.runs = 3;
        s.ignore_failure = true;
        s.work_regex = Some(parse_work_regex("processed (\\d+)").unwrap());
        let mut fake = Fake::new(&[10], "boom");
        fake.exit = ExitInfo::code(2);
        let report = run_bench_with(&s, &mut fake, &mut |_| {}).unwrap();
        let r = &report.results[0];
        assert_eq!(r.failed_runs, 3);
        assert_eq!(r.exit_codes, [2, 2, 2]);
        assert_eq!(r.work_per_s, None);
        assert!(r.warnings.iter().any(|w| w.kind == "non_zero_exit"));
    }

    #[test]
    fn output_tails() {
        assert_eq!(last_lines("", 3), "  (no output)");
        assert_eq!(last_lines("a\nb\nc\nd\n", 2), "  | c\n  | d");
    }
}
