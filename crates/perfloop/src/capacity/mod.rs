//! `perfloop capacity`: the highest arrival rate the target sustains within its objectives.
//!
//! Open-model steps at growing rates (each with its own warm-up, measured with the
//! target's resources), a verdict per step, a bisection after the first failing step, then
//! optionally a closed-model concurrency sweep fitted with the Universal Scalability Law,
//! and the diagnosis of everything measured. The whole search is bounded by `--max-time`:
//! a step that would end after it is not started. The search and its record are
//! `perfloop_capacity`'s; here the flags become a [`CapacitySpec`], each step is measured by
//! the engine against the watched target, and the steps and the reports are shown.
//!
//! Exit codes: 0 when a sustainable rate was found (or every step up to `--max-rate`
//! passed), 1 when already the first step failed its objectives, 2 for bad input, 3 when
//! the target could not be reached, died, or the search was interrupted — the steps
//! measured so far are reported in every case.

use std::sync::atomic::Ordering;

use anyhow::anyhow;
use perfloop_capacity::{CapacityPlan, CapacitySpec, Halt, Measure, Measured, Watched};
use perfloop_engine::spec::Given;
use perfloop_engine::{Ending, LoadConfig};
use perfloop_report::{CapacityRecord, RunRecord, SearchEnding, Step, StepKind};
use perfloop_stats::slo::Slo;
use perfloop_target::Ready;

use crate::cli::CapacityArgs;
use crate::history::save::{Saved, Saver};
use crate::load::{Resolved, measure, stop_flag};
use crate::target::{Watch, WatchPlan};
use crate::{Exit, Failure};

/// What a search produced: the record, and the failure that ended it early, if any.
pub type Searched = perfloop_capacity::Searched<Failure>;

/// The flags as a capacity spec; their text is parsed by the resolver, which names it in
/// errors.
pub fn spec(args: &CapacityArgs) -> CapacitySpec {
    fn text<T>(t: &str) -> Given<T> {
        Given::Text(t.to_string())
    }
    CapacitySpec {
        request: crate::load::request_options(&args.request),
        slos: args.slos.iter().map(|s| text(s)).collect(),
        start_rate: text(&args.start_rate),
        growth: args.growth,
        max_rate: args.max_rate.as_deref().map(text),
        step_duration: text(&args.step_duration),
        step_warmup: text(&args.step_warmup),
        resolution: text(&args.resolution),
        rate_margin: text(&args.rate_margin),
        max_time: text(&args.max_time),
        concurrency: args.concurrency.clone(),
        max_connections: args.max_connections,
    }
}

/// Checks the flags; every error is bad input (exit 2).
pub fn plan(args: &CapacityArgs) -> Result<CapacityPlan, Failure> {
    spec(args).resolve().map_err(Failure::usage)
}

/// Each step measured by the engine against the (watched) target, with a line per step
/// on stderr.
struct Steps<'a> {
    watch: Option<&'a Watch>,
    quiet: bool,
    measured: usize,
}

impl Measure for Steps<'_> {
    type Error = Failure;

    fn measure(
        &mut self,
        config: &LoadConfig,
        slos: &[Slo],
    ) -> Result<Measured<Failure>, Halt<Failure>> {
        let resolved = Resolved {
            config: config.clone(),
            slos: slos.to_vec(),
            level: None,
        };
        let crate::load::Measured { record, outcome } = measure(&resolved, self.watch, self.quiet)
            .map_err(|error| Halt {
                ending: SearchEnding::Failed,
                error,
            })?;
        self.measured += 1;
        let halt = if outcome.ending == Ending::Unreachable {
            let why = outcome
                .last_connect_error
                .as_deref()
                .unwrap_or("connection failed");
            Some(Halt {
                ending: SearchEnding::Unreachable,
                error: Failure::run(anyhow!(
                    "no connection to {} ({}) could be established: {why}; is the target \
                     running?",
                    config.target.url,
                    config.target.addr
                )),
            })
        } else if let Some(Err(error)) = self.watch.map(Watch::check_alive) {
            Some(Halt {
                ending: SearchEnding::TargetDied,
                error,
            })
        } else if outcome.ending == Ending::Interrupted || stop_flag().load(Ordering::Relaxed) {
            Some(Halt {
                ending: SearchEnding::Interrupted,
                error: Failure::run(anyhow!(
                    "interrupted after {} steps; the report holds them",
                    self.measured
                )),
            })
        } else {
            None
        };
        Ok(Measured { run: record, halt })
    }

    fn judged(&mut self, step: &Step) {
        if !self.quiet {
            crate::output::stderr_text(&step_line(step));
        }
        if let Some(live) = crate::live::current() {
            live.step(step);
        }
    }
}

/// Runs the search against the (watched) target.
pub fn search(plan: &CapacityPlan, watch: Option<&Watch>, quiet: bool) -> Searched {
    let watched = Watched {
        command: watch.and_then(Watch::command).map(str::to_string),
        pid: watch.and_then(Watch::pid),
    };
    let mut steps = Steps {
        watch,
        quiet,
        measured: 0,
    };
    perfloop_capacity::run(plan, &mut steps, watched)
}

fn step_line(step: &Step) -> String {
    let Step {
        index,
        kind,
        offered,
        ref run,
        ..
    } = *step;
    let pass = step.verdict.pass;
    let load = match kind {
        StepKind::Sweep => format!("{offered:>8.0} conn"),
        _ => format!("{offered:>8.1}/s "),
    };
    let kind = match kind {
        StepKind::Ramp => "ramp",
        StepKind::Bisect => "bisect",
        StepKind::Sweep => "sweep",
    };
    let cpu = cpu_text(run);
    format!(
        "step {index:>2} {kind:<6} {load} → {:>9.1} req/s · p50 {:.2} ms · p99 {:.2} ms{cpu} · {}\n",
        run.throughput_rps,
        run.latency_ms.p50,
        run.latency_ms.p99,
        if pass { "pass" } else { "FAIL" }
    )
}

/// The target's CPU in a step, when it was watched.
fn cpu_text(run: &RunRecord) -> String {
    run.target
        .summary
        .as_ref()
        .and_then(|s| Some((s.cpu_pct_mean?, s.top_thread_cpu_pct_mean?)))
        .map_or(String::new(), |(cpu, thread)| {
            format!(" · CPU {cpu:.0} % (thread {thread:.0} %)")
        })
}

/// Runs `perfloop capacity`.
pub fn run(args: &CapacityArgs) -> Result<Exit, Failure> {
    let plan = plan(args)?;
    crate::output::check_outputs(&[
        ("--json", args.json.as_deref().map(std::path::Path::new)),
        ("--html", args.html.as_deref().map(std::path::Path::new)),
    ])?;
    let saver = Saver::open(&args.save)?;
    let about = crate::live::About {
        kind: "capacity",
        target: plan.request.target.url.to_string(),
        window_s: None,
        store: saver.store().map(|s| s.location().clone()),
        alerts: crate::live::scenario_rules(plan.request.spec.scenario.as_deref())?,
    };
    let live = crate::live::Live::start(&args.live, &about)?;
    let default_ready = Some(Ready::Tcp(plan.request.target.addr.port()));
    let watch = match WatchPlan::resolve(&args.target, default_ready).and_then(WatchPlan::start) {
        Ok(watch) => watch,
        Err(e) => {
            if let Some(live) = live {
                live.finish(None);
            }
            return Err(e);
        }
    };
    let Searched { record, failure } = search(&plan, Some(&watch), args.quiet);
    let stopped = watch.stop();
    // Saved before the outputs are written, so that a failed write loses nothing.
    let saved = if record.steps.is_empty() {
        Ok(None)
    } else {
        saver.save(Saved::Capacity(&record))
    };
    let written = write_outputs(&record, args.json.as_deref(), args.html.as_deref());
    if let Ok(Some(id)) = &saved {
        crate::output::stderr_text(&format!("{}\n", saver.describe(*id)));
    }
    if let Some(live) = live {
        live.finish(
            saved
                .as_ref()
                .ok()
                .copied()
                .flatten()
                .map(perfloop_store::RunId::get),
        );
    }
    written?;
    saved?;
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
