//! `perfloop load`: resolves the typed flags into a validated [`LoadConfig`], runs the
//! engine with live progress, builds the run record and writes the requested outputs.
//!
//! Precedence for every setting: an explicit flag, then the `--level` preset, then the
//! built-in default.

use std::path::Path;
use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, anyhow};
use nix::sys::resource::{Resource, getrlimit, setrlimit};
use perfloop_engine::{
    Ending, ErrorKind, Level, Limits, LoadConfig, Model, Outcome, Plan, RequestSpec, Target,
    parse_duration, parse_header, parse_rate, parse_stages,
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
    // A body given (even an empty one) makes the default method POST.
    let has_body = args.body.is_some() || args.body_file.is_some() || args.body_lines.is_some();
    let method = match &args.method {
        Some(m) => m.to_ascii_uppercase(),
        None if has_body => "POST".to_string(),
        None => "GET".to_string(),
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
    pub outcome: Outcome,
}

/// Runs the engine against the (watched) target and builds the record.
pub fn measure(
    resolved: &Resolved,
    watch: Option<&Watch>,
    quiet: bool,
) -> Result<Measured, Failure> {
    let config = &resolved.config;
    ensure_open_files(config)?;
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
///
/// Exit codes: 0 the run completed and every objective held; 1 an objective failed; 2 bad
/// input, found before any load (flags, output paths, the open-file limit); 3 the run
/// failed: no connection could ever be made, the run was interrupted (Ctrl-C: its report is
/// printed, but a partial run is no pass), the managed target died, or an output could not
/// be written at the end (the report is printed first).
pub fn run(args: &LoadArgs) -> Result<Exit, Failure> {
    let resolved = resolve(args)?;
    let config = &resolved.config;
    crate::output::check_outputs(&[
        ("--json", args.json.as_deref().map(Path::new)),
        ("--csv", args.csv.as_deref().map(Path::new)),
    ])?;
    ensure_open_files(config)?;
    let default_ready = Some(Ready::Tcp(config.target.addr.port()));
    let plan = WatchPlan::resolve(&args.target, default_ready)?;
    let watch = plan.start()?;
    let measured = measure(&resolved, Some(&watch), args.quiet);
    let alive = watch.check_alive();
    let stopped = watch.stop();
    let Measured { record, outcome } = measured?;

    let written = crate::output::first_failure([
        args.json.as_deref().map_or(Ok(()), |p| {
            crate::output::write_record(p, &JsonExporter, &record)
        }),
        args.csv.as_deref().map_or(Ok(()), |p| {
            crate::output::write_record(p, &CsvExporter, &record)
        }),
    ]);
    if unreachable(&outcome) {
        if let Err(f) = written {
            crate::output::stderr_text(&format!("error: {:#}\n", f.error));
        }
        let why = outcome
            .last_connect_error
            .as_deref()
            .unwrap_or("connection refused");
        return Err(Failure::run(anyhow!(
            "no connection to {} ({}) could be established: {why}; is the target running?",
            config.target.url,
            config.target.addr
        )));
    }
    let stdout_taken = args.json.as_deref() == Some("-") || args.csv.as_deref() == Some("-");
    let summary = if stdout_taken {
        crate::output::record_stderr(&TextExporter, &record)
    } else {
        crate::output::record_stdout(&TextExporter, &record)
    };
    summary.map_err(|e| Failure::run(anyhow!("cannot write the summary: {e}")))?;
    written?;
    alive?;
    stopped?;
    if outcome.ending == Ending::Interrupted {
        return Err(Failure::run(anyhow!(
            "the run was interrupted after {:.1} s of its measured window: its figures are \
             partial and its objectives were not judged over the whole run",
            outcome.window.as_secs_f64()
        )));
    }
    Ok(if record.slo_failed() {
        Exit::SloFailed
    } else {
        Exit::Ok
    })
}

/// Whether no connection could ever be made: the engine says so, or every attempt of the
/// run failed to connect (a short run can end before the engine gives up).
pub fn unreachable(outcome: &Outcome) -> bool {
    let c = &outcome.counts;
    outcome.ending == Ending::Unreachable
        || (c.ok == 0 && c.errors > 0 && c.errors_of(ErrorKind::Connect) == c.errors)
}

/// Open files kept free beside the connections: the standard streams, the monitor's /proc
/// reads and scrapes, the store, a managed target's pipes and log.
const FD_MARGIN: u64 = 64;
/// Open files per worker thread beside its connections: its event loop and waker.
const FD_PER_THREAD: u64 = 2;

/// A count from a plan's level (connections), rounded up.
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn whole(level: f64) -> u64 {
    level.ceil().max(0.0) as u64
}

/// Makes room for a run's connections under the open-file limit (`RLIMIT_NOFILE`): the soft
/// limit is raised as far as needed (up to the hard limit); when even the hard limit is too
/// low, exit 2 at once naming both figures, rather than failing connections mid-run.
pub fn ensure_open_files(config: &LoadConfig) -> Result<(), Failure> {
    let (connections, flag) = match &config.model {
        Model::Closed { connections } => (whole(connections.peak()), "-c (or the stages' peak)"),
        Model::Open {
            max_connections, ..
        } => (
            u64::try_from(*max_connections).unwrap_or(u64::MAX),
            "--max-connections",
        ),
    };
    let threads = u64::try_from(config.threads).unwrap_or(u64::MAX);
    let needed = connections
        .saturating_add(FD_MARGIN)
        .saturating_add(threads.saturating_mul(FD_PER_THREAD));
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE)
        .map_err(|e| Failure::run(anyhow!("cannot read the open-file limit: {e}")))?;
    if soft >= needed {
        return Ok(());
    }
    if hard >= needed {
        return setrlimit(Resource::RLIMIT_NOFILE, needed, hard).map_err(|e| {
            Failure::run(anyhow!(
                "cannot raise the open-file limit from {soft} to {needed}: {e}"
            ))
        });
    }
    let room = hard.saturating_sub(needed - connections);
    Err(Failure::usage(anyhow!(
        "{connections} connections need {needed} open files (with {} for perfloop itself), but \
         the open-file limit is {hard} (`ulimit -Hn`); lower {flag} to at most {room}, or \
         raise the hard limit (`ulimit -n`, limits.conf, or LimitNOFILE= for a service)",
        needed - connections
    )))
}
