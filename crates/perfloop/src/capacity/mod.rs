//! `perfloop capacity`: the highest arrival rate the target sustains within its objectives.
//!
//! Open-model steps at growing rates (each with its own warm-up, measured with the
//! target's resources), a verdict per step (`verdict`), a bisection after the first
//! failing step (`search`), then optionally a closed-model concurrency sweep fitted with
//! the Universal Scalability Law, and the diagnosis of everything measured. The whole
//! search is bounded by `--max-time`: a step that would end after it is not started.
//!
//! Exit codes: 0 when a sustainable rate was found (or every step up to `--max-rate`
//! passed), 1 when already the first step failed its objectives, 2 for bad input, 3 when
//! the target could not be reached, died, or the search was interrupted — the steps
//! measured so far are reported in every case.

mod search;
mod verdict;

use std::time::{Duration, Instant, SystemTime};

use anyhow::anyhow;
use perfloop_engine::{Ending, Limits, LoadConfig, Model, Plan, parse_duration, parse_rate};
use perfloop_report::{
    CAPACITY_SCHEMA, CapacityRecord, CapacityResult, CapacityTarget, RunRecord, SearchEnding,
    SearchSettings, Step, StepKind, Sweep, SweepAbove, SweepPoint, UslRecord,
};
use perfloop_stats::slo::{Metric, Slo};
use perfloop_target::Ready;

use crate::cli::CapacityArgs;
use crate::load::{Measured, Request, Resolved, measure, request, stop_flag};
use crate::target::{Watch, WatchPlan};
use crate::{Exit, Failure};

pub use search::RateSearch;

/// The objective added when none is about errors.
const DEFAULT_ERROR_SLO: &str = "error_rate<1%";

/// A capacity search ready to run.
#[derive(Debug, Clone)]
pub struct SearchPlan {
    /// What each request is.
    pub request: Request,
    /// The objectives every step is held to.
    pub slos: Vec<Slo>,
    /// The settings, as written into the record.
    pub settings: SearchSettings,
    /// Open model: the most connections per step.
    pub max_connections: usize,
    /// `error_rate<1%` was added because no objective was about errors.
    pub implicit_error_slo: bool,
}

/// What a search produced: the record, and the failure that ended it early, if any.
#[derive(Debug)]
pub struct Searched {
    /// Every step measured, the result and the findings.
    pub record: CapacityRecord,
    /// Why the search could not finish (target unreachable or dead, interrupted).
    pub failure: Option<Failure>,
}

/// Parses `5%` or `0.05` into a fraction in (0, 1).
fn parse_fraction(flag: &str, text: &str) -> Result<f64, Failure> {
    let t = text.trim();
    let value = match t.strip_suffix('%') {
        Some(p) => p.trim().parse::<f64>().map(|v| v / 100.0),
        None => t.parse::<f64>(),
    };
    match value {
        Ok(v) if v.is_finite() && v > 0.0 && v < 1.0 => Ok(v),
        _ => Err(Failure::usage(anyhow!(
            "invalid {flag} '{text}': expected a percentage between 0 and 100, e.g. 5%"
        ))),
    }
}

/// Checks the flags; every error is bad input (exit 2).
pub fn plan(args: &CapacityArgs) -> Result<SearchPlan, Failure> {
    let request = request(&args.request)?;
    let mut slo_texts = args.slos.clone();
    let mut slos = slo_texts
        .iter()
        .map(|s| Slo::parse(s))
        .collect::<Result<Vec<_>, _>>()
        .map_err(Failure::usage)?;
    let implicit_error_slo = !slos.iter().any(|s| s.metric() == Metric::ErrorRate);
    if implicit_error_slo {
        slos.push(Slo::parse(DEFAULT_ERROR_SLO).map_err(Failure::usage)?);
        slo_texts.push(DEFAULT_ERROR_SLO.to_string());
    }
    let start_rate = parse_rate(&args.start_rate).map_err(Failure::usage)?;
    let max_rate = args
        .max_rate
        .as_deref()
        .map(parse_rate)
        .transpose()
        .map_err(Failure::usage)?;
    if !(args.growth.is_finite() && args.growth > 1.0 && args.growth <= 100.0) {
        return Err(Failure::usage(anyhow!(
            "invalid --growth '{}': expected a factor above 1 (and at most 100), e.g. 2",
            args.growth
        )));
    }
    let step = parse_duration(&args.step_duration).map_err(Failure::usage)?;
    if step < Duration::from_secs(1) {
        return Err(Failure::usage(anyhow!(
            "--step-duration '{}' is too short: a step needs at least 1s to show a trend",
            args.step_duration
        )));
    }
    let warmup = parse_duration(&args.step_warmup).map_err(Failure::usage)?;
    let max_time = parse_duration(&args.max_time).map_err(Failure::usage)?;
    if max_time < step + warmup {
        return Err(Failure::usage(anyhow!(
            "--max-time '{}' leaves no room for one step of {} plus {} warm-up",
            args.max_time,
            args.step_duration,
            args.step_warmup
        )));
    }
    let resolution = parse_fraction("--resolution", &args.resolution)?;
    let rate_margin = parse_fraction("--rate-margin", &args.rate_margin)?;
    let levels: std::collections::BTreeSet<u32> = args.concurrency.iter().copied().collect();
    if let Some(zero) = args.concurrency.iter().find(|c| **c == 0) {
        return Err(Failure::usage(anyhow!(
            "invalid --concurrency level {zero}: levels are connections, 1 or more"
        )));
    }
    if !args.concurrency.is_empty() && levels.len() < perfloop_stats::usl::MIN_POINTS {
        return Err(Failure::usage(anyhow!(
            "--concurrency has {} distinct levels; the Universal Scalability Law fit needs at \
             least {}, e.g. 1,2,4,8,16,32",
            levels.len(),
            perfloop_stats::usl::MIN_POINTS
        )));
    }
    if args.max_connections == 0 {
        return Err(Failure::usage(anyhow!(
            "--max-connections must be at least 1"
        )));
    }
    let plan = SearchPlan {
        request,
        slos,
        settings: SearchSettings {
            start_rate,
            growth: args.growth,
            max_rate,
            step_duration_s: step.as_secs_f64(),
            step_warmup_s: warmup.as_secs_f64(),
            resolution,
            max_time_s: max_time.as_secs_f64(),
            rate_margin,
            slo: slo_texts,
            concurrency: args.concurrency.iter().map(|&c| u64::from(c)).collect(),
        },
        max_connections: args.max_connections,
        implicit_error_slo,
    };
    plan.step(Model::Open {
        rate: Plan::Constant(start_rate),
        max_connections: plan.max_connections,
    })
    .config
    .validate()
    .map_err(Failure::usage)?;
    Ok(plan)
}

impl SearchPlan {
    fn step(&self, model: Model) -> Resolved {
        let s = &self.settings;
        Resolved {
            config: LoadConfig {
                request: self.request.spec.clone(),
                target: self.request.target.clone(),
                model,
                threads: self.request.threads,
                limits: Limits {
                    duration: Some(Duration::from_secs_f64(s.step_duration_s)),
                    requests: None,
                    warmup: Duration::from_secs_f64(s.step_warmup_s),
                    timeout: self.request.timeout,
                },
            },
            slos: self.slos.clone(),
            level: None,
        }
    }

    /// A step's expected wall time (the drain of an overloaded step comes on top).
    fn step_time(&self) -> Duration {
        Duration::from_secs_f64(self.settings.step_duration_s + self.settings.step_warmup_s)
    }
}

/// The search in progress.
struct Searcher<'a> {
    plan: &'a SearchPlan,
    watch: Option<&'a Watch>,
    quiet: bool,
    began: Instant,
    steps: Vec<Step>,
}

/// Why measuring stopped early, and the error to report.
struct Halt(SearchEnding, Option<Failure>);

impl Searcher<'_> {
    fn time_left(&self) -> bool {
        self.began.elapsed() + self.plan.step_time()
            <= Duration::from_secs_f64(self.plan.settings.max_time_s)
    }

    /// Measures one step and judges it; `Err` when the search cannot go on.
    fn step(&mut self, kind: StepKind, offered: f64) -> Result<bool, Halt> {
        let model = match kind {
            StepKind::Sweep => Model::Closed {
                connections: Plan::Constant(offered),
            },
            _ => Model::Open {
                rate: Plan::Constant(offered),
                max_connections: self.plan.max_connections,
            },
        };
        let resolved = self.plan.step(model);
        let measured = measure(&resolved, self.watch, self.quiet);
        let Measured { record, outcome } = match measured {
            Ok(m) => m,
            Err(f) => return Err(Halt(SearchEnding::Failed, Some(f))),
        };
        let asked = verdict::Asked {
            kind,
            offered,
            window_s: self.plan.settings.step_duration_s,
            rate_margin: self.plan.settings.rate_margin,
        };
        let verdict = verdict::judge(&record, &asked);
        let pass = verdict.pass;
        let index = self.steps.len();
        if !self.quiet {
            crate::output::stderr_text(&step_line(index, kind, offered, &record, pass));
        }
        self.steps.push(Step {
            index,
            kind,
            offered,
            verdict,
            run: record,
        });
        if outcome.ending == Ending::Unreachable {
            let why = outcome
                .last_connect_error
                .as_deref()
                .unwrap_or("connection failed");
            let target = &self.plan.request.target;
            return Err(Halt(
                SearchEnding::Unreachable,
                Some(Failure::run(anyhow!(
                    "no connection to {} ({}) could be established: {why}; is the target \
                     running?",
                    target.url,
                    target.addr
                ))),
            ));
        }
        if let Some(w) = self.watch {
            if let Err(f) = w.check_alive() {
                return Err(Halt(SearchEnding::TargetDied, Some(f)));
            }
        }
        if outcome.ending == Ending::Interrupted
            || stop_flag().load(std::sync::atomic::Ordering::Relaxed)
        {
            return Err(Halt(
                SearchEnding::Interrupted,
                Some(Failure::run(anyhow!(
                    "interrupted after {} steps; the report holds them",
                    self.steps.len()
                ))),
            ));
        }
        Ok(pass)
    }

    /// The rate ramp and bisection.
    fn rates(&mut self, rates: &mut RateSearch) -> Result<SearchEnding, Halt> {
        while let Some((kind, rate)) = rates.next() {
            if !self.time_left() {
                return Ok(SearchEnding::MaxTime);
            }
            let pass = self.step(kind, rate)?;
            rates.record(rate, pass);
        }
        Ok(if rates.passing().is_none() {
            SearchEnding::FailedAtStart
        } else {
            SearchEnding::Completed
        })
    }

    /// The closed-model sweep; `Ok(false)` when time ran out.
    fn sweep(&mut self) -> Result<bool, Halt> {
        for &n in &self.plan.settings.concurrency {
            if !self.time_left() {
                return Ok(false);
            }
            self.step(StepKind::Sweep, n as f64)?;
        }
        Ok(true)
    }
}

/// Runs the search against the (watched) target.
pub fn search(plan: &SearchPlan, watch: Option<&Watch>, quiet: bool) -> Searched {
    let started_at = SystemTime::now();
    let mut searcher = Searcher {
        plan,
        watch,
        quiet,
        began: Instant::now(),
        steps: Vec::new(),
    };
    let s = &plan.settings;
    let mut rates = RateSearch::new(s.start_rate, s.growth, s.max_rate, s.resolution);
    let (mut ending, mut failure) = match searcher.rates(&mut rates) {
        Ok(e) => (e, None),
        Err(Halt(e, f)) => (e, f),
    };
    let sweep_allowed = matches!(
        ending,
        SearchEnding::Completed | SearchEnding::FailedAtStart
    );
    if sweep_allowed && !s.concurrency.is_empty() {
        match searcher.sweep() {
            Ok(true) => {}
            Ok(false) => ending = SearchEnding::MaxTime,
            Err(Halt(e, f)) => {
                ending = e;
                failure = f;
            }
        }
    }
    let steps = searcher.steps;
    let sweep = (!s.concurrency.is_empty()).then(|| sweep_record(&steps));
    let result = result(&rates, &steps, ending, s);
    let warnings = stopper(&steps)
        .filter(|st| !st.verdict.trusted)
        .map(|st| {
            format!(
                "step {} ({}/s), which stopped the rate search, was not trusted ({}): the \
                 target may sustain more than the result says",
                st.index,
                verdict::rate(st.offered),
                st.verdict.reasons.join("; ")
            )
        })
        .into_iter()
        .collect();
    let mut notes = Vec::new();
    if plan.implicit_error_slo {
        notes.push(format!(
            "no error_rate objective was given: {DEFAULT_ERROR_SLO} applied to every step"
        ));
    }
    let mut record = CapacityRecord {
        schema: CAPACITY_SCHEMA.to_string(),
        perfloop_version: env!("CARGO_PKG_VERSION").to_string(),
        started_at: humantime::format_rfc3339_seconds(started_at).to_string(),
        elapsed_s: searcher.began.elapsed().as_secs_f64(),
        target: CapacityTarget {
            url: plan.request.target.url.to_string(),
            method: plan.request.spec.method.clone(),
            command: watch.and_then(Watch::command).map(str::to_string),
            pid: watch.and_then(Watch::pid),
        },
        settings: s.clone(),
        steps,
        result,
        sweep,
        findings: Vec::new(),
        ending,
        warnings,
        notes,
    };
    record.findings = perfloop_diagnose::diagnose(&record);
    Searched { record, failure }
}

/// The sweep's points and the fit over the trusted ones.
fn sweep_record(steps: &[Step]) -> Sweep {
    let points: Vec<SweepPoint> = steps
        .iter()
        .filter(|st| st.kind == StepKind::Sweep)
        .map(|st| SweepPoint {
            concurrency: st.offered as u64,
            throughput_rps: st.run.throughput_rps,
            p50_ms: st.run.latency_ms.p50,
            p99_ms: st.run.latency_ms.p99,
            step: st.index,
            trusted: st.verdict.trusted,
        })
        .collect();
    let xy: Vec<(f64, f64)> = points
        .iter()
        .filter(|p| p.trusted)
        .map(|p| (p.concurrency as f64, p.throughput_rps))
        .collect();
    let (usl, usl_error) = match perfloop_stats::usl::fit(&xy) {
        Ok(fit) => (Some(UslRecord::from_fit(&fit)), None),
        Err(e) => (None, Some(e.to_string())),
    };
    Sweep {
        points,
        usl,
        usl_error,
    }
}

/// The rate step that stopped the search: the lowest asked rate that failed. Untrusted
/// failing steps above it were meant to overload the target and change no figure.
fn stopper(steps: &[Step]) -> Option<&Step> {
    steps
        .iter()
        .filter(|st| st.kind != StepKind::Sweep && !st.verdict.pass)
        .min_by(|a, b| a.offered.total_cmp(&b.offered))
}

/// The sweep step that sustained the most within the objectives, when that is more than
/// the rate search's maximum by more than its resolution, and why the search stopped below.
fn sweep_above(
    steps: &[Step],
    search_rps: Option<f64>,
    bounded_by: &str,
    resolution: f64,
) -> Option<SweepAbove> {
    let top = steps
        .iter()
        .filter(|st| st.kind == StepKind::Sweep && st.verdict.pass)
        .max_by(|a, b| a.run.throughput_rps.total_cmp(&b.run.throughput_rps))?;
    let rps = top.run.throughput_rps;
    if search_rps.is_some_and(|s| rps <= s * (1.0 + resolution)) {
        return None;
    }
    let stopped = stopper(steps);
    let why = match stopped {
        Some(st) => format!(
            "the rate search stopped at step {} ({}/s): {}",
            st.index,
            verdict::rate(st.offered),
            st.verdict.reasons.join("; ")
        ),
        None => format!("the rate search ended: {bounded_by}"),
    };
    Some(SweepAbove {
        step: top.index,
        concurrency: top.offered as u64,
        throughput_rps: rps,
        p99_ms: top.run.latency_ms.p99,
        search_stopped_at: stopped.map(|st| st.index),
        why,
    })
}

fn result(
    rates: &RateSearch,
    steps: &[Step],
    ending: SearchEnding,
    s: &SearchSettings,
) -> CapacityResult {
    let rate_steps: Vec<&Step> = steps
        .iter()
        .filter(|st| st.kind != StepKind::Sweep)
        .collect();
    let best = rate_steps
        .iter()
        .filter(|st| st.verdict.pass)
        .max_by(|a, b| a.offered.total_cmp(&b.offered));
    let knee_input: Vec<(usize, f64, &RunRecord)> = rate_steps
        .iter()
        .map(|st| (st.index, st.offered, &st.run))
        .collect();
    let bounded_by = match ending {
        SearchEnding::FailedAtStart => {
            let why = rate_steps
                .first()
                .and_then(|st| st.verdict.reasons.first())
                .map_or(String::new(), |r| format!(": {r}"));
            format!("the first step, at {}/s, already failed{why}", s.start_rate)
        }
        SearchEnding::MaxTime => format!(
            "--max-time ({:.0} s) ran out before the search resolved",
            s.max_time_s
        ),
        SearchEnding::Interrupted => "the search was interrupted".to_string(),
        SearchEnding::Failed => "a step could not be measured".to_string(),
        SearchEnding::TargetDied => "the target exited during the search".to_string(),
        SearchEnding::Unreachable => "the target could not be reached".to_string(),
        SearchEnding::Completed if rates.reached_max() => format!(
            "every step up to --max-rate {}/s passed",
            s.max_rate.unwrap_or_default()
        ),
        SearchEnding::Completed => format!(
            "the failing rate is within {:.1} % of the passing one (resolution {:.1} %)",
            match (rates.passing(), rates.failing()) {
                (Some(lo), Some(hi)) => (hi / lo - 1.0) * 100.0,
                _ => 0.0,
            },
            s.resolution * 100.0
        ),
    };
    let max_sustainable_rps = best.map(|st| st.run.throughput_rps);
    CapacityResult {
        sweep_above: sweep_above(steps, max_sustainable_rps, &bounded_by, s.resolution),
        max_sustainable_rps,
        max_passing_rate: best.map(|st| st.offered),
        max_passing_step: best.map(|st| st.index),
        min_failing_rate: rates.failing(),
        resolved: rates.resolved(),
        knee: verdict::knee(&knee_input),
        bounded_by,
    }
}

fn step_line(index: usize, kind: StepKind, offered: f64, run: &RunRecord, pass: bool) -> String {
    let load = match kind {
        StepKind::Sweep => format!("{offered:>8.0} conn"),
        _ => format!("{offered:>8.1}/s "),
    };
    let kind = match kind {
        StepKind::Ramp => "ramp",
        StepKind::Bisect => "bisect",
        StepKind::Sweep => "sweep",
    };
    let cpu = run
        .target
        .summary
        .as_ref()
        .and_then(|s| Some((s.cpu_pct_mean?, s.top_thread_cpu_pct_mean?)))
        .map_or(String::new(), |(cpu, thread)| {
            format!(" · CPU {cpu:.0} % (thread {thread:.0} %)")
        });
    format!(
        "step {index:>2} {kind:<6} {load} → {:>9.1} req/s · p50 {:.2} ms · p99 {:.2} ms{cpu} · {}\n",
        run.throughput_rps,
        run.latency_ms.p50,
        run.latency_ms.p99,
        if pass { "pass" } else { "FAIL" }
    )
}

/// Runs `perfloop capacity`.
pub fn run(args: &CapacityArgs) -> Result<Exit, Failure> {
    let plan = plan(args)?;
    crate::output::check_outputs(&[
        ("--json", args.json.as_deref().map(std::path::Path::new)),
        ("--html", args.html.as_deref().map(std::path::Path::new)),
    ])?;
    let default_ready = Some(Ready::Tcp(plan.request.target.addr.port()));
    let watch = WatchPlan::resolve(&args.target, default_ready)?.start()?;
    let Searched { record, failure } = search(&plan, Some(&watch), args.quiet);
    let stopped = watch.stop();
    write_outputs(&record, args.json.as_deref(), args.html.as_deref())?;
    if let Some(f) = failure {
        return Err(f);
    }
    stopped?;
    Ok(match record.ending {
        SearchEnding::FailedAtStart => Exit::SloFailed,
        _ => Exit::Ok,
    })
}

/// Writes the JSON and HTML reports, and the summary on stdout (stderr when stdout
/// carries a report).
pub fn write_outputs(
    record: &CapacityRecord,
    json: Option<&str>,
    html: Option<&str>,
) -> Result<(), Failure> {
    if let Some(path) = json {
        crate::output::write_with(path, |w| {
            serde_json::to_writer_pretty(&mut *w, record)?;
            w.write_all(b"\n")
        })?;
    }
    if let Some(path) = html {
        crate::output::write_with(path, |w| perfloop_report::write_capacity_html(record, w))?;
    }
    let mut text = Vec::new();
    perfloop_report::write_capacity_text(record, &mut text)
        .map_err(|e| Failure::run(anyhow!("cannot format the summary: {e}")))?;
    let text = String::from_utf8_lossy(&text);
    if json == Some("-") || html == Some("-") {
        crate::output::stderr_text(&text);
    } else {
        crate::output::stdout_text(&text);
    }
    Ok(())
}
