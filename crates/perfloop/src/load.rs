//! `perfloop load`: maps the typed flags to a [`LoadSpec`] and resolves it (the engine's
//! `spec`: flag > level preset > default, every error bad input) into a validated
//! [`LoadConfig`], runs the engine with live progress, builds the run record and writes the
//! requested outputs.

use std::path::Path;
use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Instant, SystemTime};

use anyhow::anyhow;
use nix::sys::resource::{Resource, getrlimit, setrlimit};
use perfloop_engine::spec::{Body, Given, LoadSpec, ModelKind, RawOptions, RequestOptions};
use perfloop_engine::{Ending, ErrorKind, Level, LoadConfig, Model, Outcome, TlsOptions};
use perfloop_report::export::{CsvExporter, JsonExporter, RunHtml, TextExporter};
use perfloop_report::{BuildInput, RunRecord};
use perfloop_store::RunId;

use crate::cli::{LoadArgs, ModelArg, RequestArgs};
use crate::history::save::{Saved, Saver};
use crate::progress::Progress;
use crate::target::{Watch, WatchPlan};
use crate::{Exit, Failure};
use perfloop_target::Ready;

pub use perfloop_engine::spec::Resolved;

/// The flags as a load spec; their text is parsed by the resolver, which names it in errors.
fn spec(args: &LoadArgs) -> LoadSpec {
    LoadSpec {
        request: request_options(&args.request),
        model: args.model.map(|m| match m {
            ModelArg::Closed => ModelKind::Closed,
            ModelArg::Open => ModelKind::Open,
        }),
        connections: args.connections,
        rate: text(&args.rate),
        stages: text(&args.stages),
        max_connections: args.max_connections,
        level: text(&args.level),
        duration: text(&args.duration),
        requests: args.requests,
        warmup: text(&args.warmup),
        slos: args.slos.iter().cloned().map(Given::Text).collect(),
    }
}

/// A flag's text, for the resolver to parse.
fn text<T>(flag: &Option<String>) -> Option<Given<T>> {
    flag.clone().map(Given::Text)
}

/// Turns the flags into a run description; every error is bad input (exit 2).
pub fn resolve(args: &LoadArgs) -> Result<Resolved, Failure> {
    spec(args).resolve().map_err(Failure::usage)
}

/// The request flags as the request part of a spec.
pub fn request_options(args: &RequestArgs) -> RequestOptions {
    let body = match (&args.body, &args.body_file, &args.body_lines) {
        (Some(text), _, _) => Body::Text(text.clone()),
        (None, Some(path), _) => Body::File(path.clone()),
        (None, None, Some(path)) => Body::Lines(path.clone()),
        (None, None, None) => Body::None,
    };
    RequestOptions {
        url: args.url.clone(),
        method: args.method.clone(),
        headers: args.headers.clone(),
        body,
        timeout: Given::Text(args.timeout.clone()),
        threads: args.threads,
        raw: RawOptions {
            send: args.send.clone(),
            expect_bytes: args.expect_bytes,
            expect_delimiter: args.expect_delimiter.clone(),
        },
        tls: TlsOptions {
            cacert: args.cacert.clone(),
            insecure: args.insecure,
            cert: args.cert.clone(),
            key: args.key.clone(),
            ..TlsOptions::default()
        },
        keepalive: !args.no_keepalive,
        scenario: args.scenario.clone(),
        http2: args.http2,
        streams: args.streams,
        io: Given::Text(args.io.clone()),
    }
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
    // The progress bar, and the live session's dashboard and alerts when there is one.
    let mut tee = crate::live::Tee::new(
        &mut progress,
        config.limits.duration,
        sampler.as_ref(),
        watch.and_then(Watch::pid),
    );
    let outcome = perfloop_engine::run(config, stop_flag(), &mut tee).map_err(|e| match e {
        perfloop_engine::RunError::Config(c) => Failure::usage(c),
        other => Failure::run(other),
    });
    let alerts = tee.finish(outcome.as_ref().ok());
    progress.finish();
    let recording = sampler.map(|s| {
        let mut r = s.stop();
        crate::target::shift(&mut r, config.limits.warmup.as_secs_f64());
        r
    });
    let outcome = outcome?;
    let mut record = RunRecord::build(&BuildInput {
        config,
        outcome: &outcome,
        slos: &resolved.slos,
        level: resolved.level.map(Level::name),
        started_at,
        monitor: recording.as_ref(),
        target_command: watch.and_then(Watch::command),
    });
    record.alerts = alerts;
    Ok(Measured { record, outcome })
}

/// Runs `perfloop load`.
///
/// Exit codes: 0 the run completed and every objective held; 1 an objective failed; 2 bad
/// input, found before any load (flags, output paths, the open-file limit, the store); 3 the
/// run failed: no connection could ever be made, the run was interrupted (Ctrl-C: its report
/// is printed, but a partial run is no pass), the managed target died, or an output or the
/// store could not be written at the end (the report is printed first).
pub fn run(args: &LoadArgs) -> Result<Exit, Failure> {
    let prepared = prepare(args)?;
    let saver = Saver::open(&args.save)?;
    let live = crate::live::Live::start(&args.live, &prepared.about(&saver)?)?;
    let finished = execute(args, &prepared, &saver);
    if let Some(live) = live {
        let saved = finished.as_ref().ok().and_then(|f| f.saved);
        live.finish(saved.map(RunId::get));
    }
    finished.map(|finished| finished.exit)
}

/// A load run checked before any work: its description and its outputs.
pub struct Prepared {
    resolved: Resolved,
}

impl Prepared {
    /// What the live session is of: the run, its store, its scenario's alert rules (a rule
    /// that does not parse is bad input).
    pub fn about(&self, saver: &Saver) -> Result<crate::live::About, Failure> {
        let config = &self.resolved.config;
        Ok(crate::live::About {
            kind: "load",
            target: config.target.url.to_string(),
            window_s: config.limits.duration.map(|d| d.as_secs_f64()),
            store: saver.store().map(|s| s.location().clone()),
            alerts: crate::live::scenario_rules(config.request.scenario.as_deref())?,
        })
    }
}

/// Resolves the flags and checks the output paths: every error is bad input (exit 2).
pub fn prepare(args: &LoadArgs) -> Result<Prepared, Failure> {
    let resolved = resolve(args)?;
    crate::output::check_outputs(&[
        ("--json", args.json.as_deref().map(Path::new)),
        ("--csv", args.csv.as_deref().map(Path::new)),
        ("--html", args.html.as_deref().map(Path::new)),
    ])?;
    ensure_open_files(&resolved.config)?;
    Ok(Prepared { resolved })
}

/// A finished `perfloop load`: its record, where it was saved, and how the command ends.
pub struct Finished {
    /// The run record.
    pub record: RunRecord,
    /// The run's id in the store (`None` with `--no-save`).
    pub saved: Option<RunId>,
    /// The exit status of the run itself (objectives).
    pub exit: Exit,
}

/// Measures a prepared run with its target watched, writes its outputs, prints its report,
/// and saves it.
pub fn execute(args: &LoadArgs, prepared: &Prepared, saver: &Saver) -> Result<Finished, Failure> {
    let resolved = &prepared.resolved;
    let config = &resolved.config;
    let default_ready = Some(Ready::Tcp(config.target.addr.port()));
    let plan = WatchPlan::resolve(&args.target, default_ready)?;
    let watch = plan.start()?;
    let measured = measure(resolved, Some(&watch), args.quiet);
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
        args.html.as_deref().map_or(Ok(()), |p| {
            crate::output::write_record(p, &RunHtml, &record)
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
    let saved = saver.save(Saved::Run(&record));
    if let Ok(Some(id)) = &saved {
        crate::output::stderr_text(&format!("{}\n", saver.describe(*id)));
    }
    written?;
    let saved = saved?;
    alive?;
    stopped?;
    if outcome.ending == Ending::Interrupted {
        return Err(Failure::run(anyhow!(
            "the run was interrupted after {:.1} s of its measured window: its figures are \
             partial and its objectives were not judged over the whole run",
            outcome.window.as_secs_f64()
        )));
    }
    let exit = if record.slo_failed() {
        Exit::SloFailed
    } else {
        Exit::Ok
    };
    Ok(Finished {
        record,
        saved,
        exit,
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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::{Cli, Command};

    fn load_args(argv: &[&str]) -> LoadArgs {
        let argv = ["perfloop", "load"].iter().chain(argv);
        match Cli::try_parse_from(argv).unwrap().command {
            Command::Load(args) => *args,
            other => panic!("not load: {other:?}"),
        }
    }

    #[test]
    fn io_uring_with_tls_is_bad_usage() {
        let args = load_args(&["https://127.0.0.1:9/", "--io", "uring"]);
        let failure = resolve(&args).unwrap_err();
        assert_eq!(failure.exit, Exit::Usage);
        let message = format!("{:#}", failure.error);
        assert!(message.contains("--io uring"), "{message}");
        assert!(message.contains("TLS"), "{message}");
    }

    #[test]
    fn the_io_flag_reaches_the_config_and_defaults_to_auto() {
        let config = |argv: &[&str]| resolve(&load_args(argv)).unwrap().config;
        let default = config(&["http://127.0.0.1:9/"]);
        assert_eq!(default.target.io, perfloop_engine::IoChoice::Auto);
        let epoll = config(&["http://127.0.0.1:9/", "--io", "epoll"]);
        assert_eq!(epoll.target.io, perfloop_engine::IoChoice::Epoll);
        let uring = config(&["http://127.0.0.1:9/", "--io", "uring"]);
        assert_eq!(uring.target.io, perfloop_engine::IoChoice::Uring);
        // TLS with auto: accepted, and the engine picks epoll for it.
        let tls = config(&["https://127.0.0.1:9/"]);
        assert!(tls.epoll_only().is_some());
        assert!(Cli::try_parse_from(["perfloop", "load", "http://x/", "--io", "kqueue"]).is_err());
    }
}
