//! `perfloop load`: resolves the typed flags into a validated [`LoadConfig`], runs the
//! engine with live progress, builds the run record and writes the requested outputs.
//!
//! Precedence for every setting: an explicit flag, then the `--level` preset, then the
//! built-in default.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use anyhow::{Context, anyhow};
use perfloop_engine::{
    Ending, Level, Limits, LoadConfig, Model, Plan, RequestSpec, Target, parse_duration,
    parse_header, parse_rate, parse_stages,
};
use perfloop_report::export::{CsvExporter, Exporter, JsonExporter, TextExporter};
use perfloop_report::{BuildInput, RunRecord};
use perfloop_stats::slo::Slo;

use crate::cli::{LoadArgs, ModelArg};
use crate::progress::Progress;
use crate::{Exit, Failure};

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
    let target = Target::parse(&args.url).map_err(Failure::usage)?;
    let headers = args
        .headers
        .iter()
        .map(|h| parse_header(h))
        .collect::<Result<Vec<_>, _>>()
        .map_err(Failure::usage)?;
    let body = match (&args.body, &args.body_file) {
        (Some(text), _) => text.clone().into_bytes(),
        (None, Some(path)) => std::fs::read(path)
            .with_context(|| format!("cannot read --body-file '{}'", path.display()))
            .map_err(Failure::usage)?,
        (None, None) => Vec::new(),
    };
    let method = match &args.method {
        Some(m) => m.to_ascii_uppercase(),
        None if body.is_empty() => "GET".to_string(),
        None => "POST".to_string(),
    };
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
    let timeout = parse_duration(&args.timeout).map_err(Failure::usage)?;
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let slos = args
        .slos
        .iter()
        .map(|s| Slo::parse(s))
        .collect::<Result<Vec<_>, _>>()
        .map_err(Failure::usage)?;
    let config = LoadConfig {
        request: RequestSpec {
            method,
            authority: target.authority.clone(),
            path: target.path.clone(),
            headers,
            body,
        },
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

/// Runs `perfloop load`.
pub fn run(args: &LoadArgs) -> Result<Exit, Failure> {
    let resolved = resolve(args)?;
    let config = &resolved.config;
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    // A second Ctrl-C ends the process at once.
    let _ = ctrlc::set_handler(move || {
        if flag.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
    });
    let mut progress = Progress::new(config.limits.duration, config.limits.warmup, args.quiet);
    let started_at = SystemTime::now();
    let outcome = perfloop_engine::run(config, stop, &mut progress).map_err(|e| match e {
        perfloop_engine::RunError::Config(c) => Failure::usage(c),
        other => Failure::run(other),
    })?;
    progress.finish();
    let record = RunRecord::build(&BuildInput {
        config,
        outcome: &outcome,
        slos: &resolved.slos,
        level: resolved.level.map(Level::name),
        started_at,
    });

    let stdout_taken = args.json.as_deref() == Some("-") || args.csv.as_deref() == Some("-");
    if let Some(path) = &args.json {
        write_to(path, &JsonExporter, &record)?;
    }
    if let Some(path) = &args.csv {
        write_to(path, &CsvExporter, &record)?;
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
        write_stderr(&TextExporter, &record)
    } else {
        write_stdout(&TextExporter, &record)
    };
    summary.map_err(|e| Failure::run(anyhow!("cannot write the summary: {e}")))?;
    Ok(if record.slo_failed() {
        Exit::SloFailed
    } else {
        Exit::Ok
    })
}

fn write_to(path: &str, exporter: &dyn Exporter, record: &RunRecord) -> Result<(), Failure> {
    if path == "-" {
        return write_stdout(exporter, record)
            .map_err(|e| Failure::run(anyhow!("cannot write to stdout: {e}")));
    }
    let file = File::create(path)
        .with_context(|| format!("cannot create '{path}'"))
        .map_err(Failure::run)?;
    let mut out = BufWriter::new(file);
    exporter
        .write(record, &mut out)
        .and_then(|()| out.flush())
        .with_context(|| format!("cannot write '{path}'"))
        .map_err(Failure::run)
}

/// Writes to stdout; a closed pipe (`| head`) is not an error.
fn write_stdout(exporter: &dyn Exporter, record: &RunRecord) -> io::Result<()> {
    let mut out = io::stdout().lock();
    ignore_broken_pipe(exporter.write(record, &mut out).and_then(|()| out.flush()))
}

fn write_stderr(exporter: &dyn Exporter, record: &RunRecord) -> io::Result<()> {
    let mut out = io::stderr().lock();
    ignore_broken_pipe(exporter.write(record, &mut out).and_then(|()| out.flush()))
}

fn ignore_broken_pipe(r: io::Result<()>) -> io::Result<()> {
    match r {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}
