//! `perfloop load`: resolves the typed flags into a validated [`LoadConfig`], runs the
//! engine with live progress, builds the run record and writes the requested outputs.
//!
//! Precedence for every setting: an explicit flag, then the `--level` preset, then the
//! built-in default.

use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, anyhow};
use perfloop_engine::{
    Ending, Level, Limits, LoadConfig, Model, Plan, RequestSpec, Target, parse_duration,
    parse_header, parse_rate, parse_stages,
};
use perfloop_report::export::{CsvExporter, JsonExporter, TextExporter};
use perfloop_report::{BuildInput, RunRecord};
use perfloop_stats::slo::Slo;

use crate::cli::{LoadArgs, ModelArg, RequestArgs};
use crate::progress::Progress;
use crate::target::{Watch, WatchPlan};
use crate::{Exit, Failure};
use perfloop_target::Ready;

/// Connections of the closed model when neither `-c` nor a level says.
const DEFAULT_CONNECTIONS: u32 = 10;
/// Measured window when neither `-d`, `-n`, `--stages` nor a level says.
const DEFAULT_DURATION: Duration = Duration::from_secs(10);

/// A run ready to start.
#[derive(Debug)]
pub struct Resolved {
    /// The engine's configuration.
    pub config: LoadConfig,
    /// Objectives to judge the run by.
    pub slos: Vec<Slo>,
    /// The level, if one was named.
    pub level: Option<Level>,
}

/// Turns the flags into a run description; every error is bad input (exit 2).
pub fn resolve(args: &LoadArgs) -> Result<Resolved, Failure> {
    let level = args
        .level
        .as_deref()
        .map(Level::parse)
        .transpose()
        .map_err(Failure::usage)?;
    let preset = level.map(Level::preset);
    let Request {
        target,
        spec: request,
        timeout,
        threads,
    } = request(&args.request)?;
    let rate = args
        .rate
        .as_deref()
        .map(parse_rate)
        .transpose()
        .map_err(Failure::usage)?;
    let stages = args
        .stages
        .as_deref()
        .map(parse_stages)
        .transpose()
        .map_err(Failure::usage)?;
    let usage = |m: &str| Failure::usage(anyhow!("{m}"));
    if rate.is_some() && args.connections.is_some() {
        return Err(usage(
            "-c (closed model) and --rate (open model) exclude each other; give one",
        ));
    }
    if stages.is_some() && (rate.is_some() || args.connections.is_some()) {
        return Err(usage(
            "--stages sets the load itself; drop -c/--rate and choose the model with --model",
        ));
    }
    let kind = match (args.model, rate) {
        (Some(ModelArg::Closed), Some(_)) => {
            return Err(usage("--rate needs the open model, not --model closed"));
        }
        (Some(m), _) => m,
        (None, Some(_)) => ModelArg::Open,
        (None, None) => ModelArg::Closed,
    };
    let model = match kind {
        ModelArg::Open => {
            let plan = match (stages.clone(), rate) {
                (Some(p), _) => p,
                (None, Some(r)) => Plan::Constant(r),
                (None, None) => return Err(usage("the open model needs --rate R or --stages")),
            };
            Model::Open {
                rate: plan,
                max_connections: args.max_connections,
            }
        }
        ModelArg::Closed => {
            let plan = match (stages.clone(), args.connections) {
                (Some(p), _) => p,
                (None, Some(c)) => Plan::Constant(f64::from(c)),
                (None, None) => preset
                    .as_ref()
                    .map_or(Plan::Constant(f64::from(DEFAULT_CONNECTIONS)), |p| {
                        p.connections.clone()
                    }),
            };
            Model::Closed { connections: plan }
        }
    };
    let duration = match &args.duration {
        Some(d) => Some(parse_duration(d).map_err(Failure::usage)?),
        None if args.requests.is_some() => None,
        None => match (model.plan().length(), &preset) {
            (Some(len), _) => Some(len),
            (None, Some(p)) => Some(p.duration),
            (None, None) => Some(DEFAULT_DURATION),
        },
    };
    let warmup = match &args.warmup {
        Some(w) => parse_duration(w).map_err(Failure::usage)?,
        None if stages.is_some() => Duration::ZERO,
        None => preset.as_ref().map_or(Duration::ZERO, |p| {
            if matches!(model.plan(), Plan::Stages(_)) {
                Duration::ZERO
            } else {
                p.warmup
            }
        }),
    };
    let slos = args
        .slos
        .iter()
        .map(|s| Slo::parse(s))
        .collect::<Result<Vec<_>, _>>()
        .map_err(Failure::usage)?;
    let config = LoadConfig {
        request,
        target,
        model,
        threads,
        limits: Limits {
            duration,
            requests: args.requests,
            warmup,
            timeout,
        },
    };
    config.validate().map_err(Failure::usage)?;
    if args.json.as_deref() == Some("-") && args.csv.as_deref() == Some("-") {
        return Err(usage("--json - and --csv - cannot both write to stdout"));
    }
    Ok(Resolved {
        config,
        slos,
        level,
    })
}

/// The request part of the flags, resolved.
#[derive(Debug, Clone)]
pub struct Request {
    /// Where requests go.
    pub target: Target,
    /// What each request is.
    pub spec: RequestSpec,
    /// Time allowed for one request.
    pub timeout: Duration,
    /// Worker threads of the engine.
    pub threads: usize,
}

/// Resolves the request flags; every error is bad input (exit 2).
pub fn request(args: &RequestArgs) -> Result<Request, Failure> {
    let target = Target::parse(&args.url).map_err(Failure::usage)?;
    let headers = args
        .headers
        .iter()
        .map(|h| parse_header(h))
        .collect::<Result<Vec<_>, _>>()
        .map_err(Failure::usage)?;
    let mut bodies = match (&args.body, &args.body_file, &args.body_lines) {
        (Some(text), _, _) => vec![text.clone().into_bytes()],
        (None, Some(path), _) => vec![
            std::fs::read(path)
                .with_context(|| format!("cannot read --body-file '{}'", path.display()))
                .map_err(Failure::usage)?,
        ],
        (None, None, Some(path)) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read --body-lines '{}'", path.display()))
                .map_err(Failure::usage)?;
            let lines: Vec<Vec<u8>> = text
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(|l| l.as_bytes().to_vec())
                .collect();
            if lines.is_empty() {
                return Err(Failure::usage(anyhow!(
                    "--body-lines '{}' has no non-empty line",
                    path.display()
                )));
            }
            lines
        }
        (None, None, None) => vec![Vec::new()],
    };
    let body = bodies.remove(0);
    let alternate_bodies = bodies;
    let method = match &args.method {
        Some(m) => m.to_ascii_uppercase(),
        None if body.is_empty() => "GET".to_string(),
        None => "POST".to_string(),
    };
    let timeout = parse_duration(&args.timeout).map_err(Failure::usage)?;
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    Ok(Request {
        spec: RequestSpec {
            method,
            authority: target.authority.clone(),
            path: target.path.clone(),
            headers,
            body,
            alternate_bodies,
        },
        target,
        timeout,
        threads,
    })
}

/// The flag Ctrl-C sets; installed once per process. A second Ctrl-C ends the process.
pub fn stop_flag() -> Arc<AtomicBool> {
    static FLAG: OnceLock<Arc<AtomicBool>> = OnceLock::new();
    FLAG.get_or_init(|| {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let _ = ctrlc::set_handler(move || {
            if flag.swap(true, Ordering::SeqCst) {
                std::process::exit(130);
            }
        });
        stop
    })
    .clone()
}

/// One measured run with its record.
#[derive(Debug)]
pub struct Measured {
    /// The run record.
    pub record: RunRecord,
    /// What the engine measured.
    pub outcome: perfloop_engine::Outcome,
}

/// Runs the engine against the (watched) target and builds the record.
pub fn measure(
    resolved: &Resolved,
    watch: Option<&Watch>,
    quiet: bool,
) -> Result<Measured, Failure> {
    let config = &resolved.config;
    let mut progress = Progress::new(config.limits.duration, config.limits.warmup, quiet);
    let started_at = SystemTime::now();
    let sampler = watch.map(|w| w.sample(Instant::now())).transpose()?;
    let outcome = perfloop_engine::run(config, stop_flag(), &mut progress).map_err(|e| match e {
        perfloop_engine::RunError::Config(c) => Failure::usage(c),
        other => Failure::run(other),
    });
    progress.finish();
    let recording = sampler.map(|s| {
        let mut r = s.stop();
        crate::target::shift(&mut r, config.limits.warmup.as_secs_f64());
        r
    });
    let outcome = outcome?;
    let record = RunRecord::build(&BuildInput {
        config,
        outcome: &outcome,
        slos: &resolved.slos,
        level: resolved.level.map(Level::name),
        started_at,
        monitor: recording.as_ref(),
        target_command: watch.and_then(Watch::command),
    });
    Ok(Measured { record, outcome })
}

/// Runs `perfloop load`.
pub fn run(args: &LoadArgs) -> Result<Exit, Failure> {
    let resolved = resolve(args)?;
    let config = &resolved.config;
    let default_ready = Some(Ready::Tcp(config.target.addr.port()));
    let plan = WatchPlan::resolve(&args.target, default_ready)?;
    let watch = plan.start()?;
    let measured = measure(&resolved, Some(&watch), args.quiet);
    let alive = watch.check_alive();
    let stopped = watch.stop();
    let Measured { record, outcome } = measured?;

    let stdout_taken = args.json.as_deref() == Some("-") || args.csv.as_deref() == Some("-");
    if let Some(path) = &args.json {
        crate::output::write_record(path, &JsonExporter, &record)?;
    }
    if let Some(path) = &args.csv {
        crate::output::write_record(path, &CsvExporter, &record)?;
    }
    if outcome.ending == Ending::Unreachable {
        let why = outcome
            .last_connect_error
            .as_deref()
            .unwrap_or("connection failed");
        return Err(Failure::run(anyhow!(
            "no connection to {} ({}) could be established: {why}; is the target running?",
            config.target.url,
            config.target.addr
        )));
    }
    let summary = if stdout_taken {
        crate::output::record_stderr(&TextExporter, &record)
    } else {
        crate::output::record_stdout(&TextExporter, &record)
    };
    summary.map_err(|e| Failure::run(anyhow!("cannot write the summary: {e}")))?;
    alive?;
    stopped?;
    Ok(if record.slo_failed() {
        Exit::SloFailed
    } else {
        Exit::Ok
    })
}
