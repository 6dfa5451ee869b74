//! `perfloop tune STUDY.toml`: the best configuration of a target, found by measuring it.
//!
//! The study file (`perfloop_tune::study`) names the target, its knobs, the workload, the
//! objective and the budget. Each trial starts the target with one configuration,
//! measures it (`trial`) and stops it; what to try next, and when to stop, is decided from
//! the trials in the store alone (`perfloop_tune::schedule`); the study record
//! (`perfloop_report::StudyRecord::build`, with `perfloop_tune::conclude`) compares the
//! finalists with the baseline measured in the same rounds. This module runs the loop,
//! writes the trials to the store, prints the progress and writes the outputs.
//!
//! Every trial is written to the store (`perfloop-store`) as `running` before it starts
//! and finished, with its runs, before the next one begins. `--resume` continues a study
//! stopped at any point: a trial left `running` is marked abandoned (and redone), none
//! finished is lost or repeated, and a study file changed in substance is refused.
//!
//! Exit codes: 0 when the study ran (whatever it found), 1 when no configuration met the
//! constraints, 2 for bad input (the study file, an existing study without `--resume`, a
//! changed study with it), 3 when every trial failed (with the first failures' log lines)
//! or the study was interrupted (resumable).

mod apply;
mod trial;

use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime};

use anyhow::anyhow;
use perfloop_report::{StudyInput, StudyRecord};
use perfloop_store::{
    FinalState, Location, NewRun, NewStudy, Store, StudyRow, StudyStatus, TrialOutcome, TrialRow,
    TrialState,
};
use perfloop_tune::schedule::{self, Next};
use perfloop_tune::study::{Target, Workload};
use perfloop_tune::trials::{format_value, metrics_by_name, metrics_from_names};
use perfloop_tune::{Config, Done, Study, StudyEnding, TrialRole};

use crate::cli::{ServeArgs, TuneArgs, TuneCmdArgs};
use crate::history::save::{Saved, Saver};
use crate::live::Live;
use crate::load::stop_flag;
use crate::{Exit, Failure};

use trial::{Metrics, Outcome, Runner};

pub use apply::Format as ApplyFormat;

/// Failed trials whose reasons are shown when every trial failed.
const FAILURES_SHOWN: usize = 3;

/// Runs `perfloop tune`.
pub fn run(args: &TuneCmdArgs) -> Result<Exit, Failure> {
    execute_live(&args.tune, &args.live).map(|(_, exit)| exit)
}

/// Runs a study and returns its record with the exit code (`perfloop demo`'s tuning stage).
#[cfg_attr(not(feature = "demo"), allow(dead_code))]
pub fn execute(args: &TuneArgs) -> Result<(StudyRecord, Exit), Failure> {
    execute_live(args, &ServeArgs::default())
}

/// Runs a study, with the live dashboard and alerts `live` asks for, and returns its record
/// with the exit code.
pub fn execute_live(args: &TuneArgs, live: &ServeArgs) -> Result<(StudyRecord, Exit), Failure> {
    let study = Study::load(&args.study).map_err(|e| Failure::usage(anyhow!("{e}")))?;
    crate::output::check_outputs(&[
        ("--json", args.json.as_deref().map(Path::new)),
        ("--html", args.html.as_deref().map(Path::new)),
        ("--apply", args.apply.as_deref()),
    ])?;
    apply_to(args)?;
    let base = args
        .study
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let runner = Runner::new(&study, base, args.quiet);
    runner.check()?;
    // The study lives in the store even with --no-save: that flag keeps only its result out
    // of the history.
    let saver = Saver::open(&args.save)?;
    let location = args
        .save
        .store
        .as_deref()
        .map_or_else(Location::default, Location::parse);
    let owned;
    let store = match saver.store() {
        Some(store) => store,
        None => {
            owned = Store::connect(&location).map_err(Failure::usage)?;
            &owned
        }
    };
    let row = open_study(store, &study, args.resume, &location)?;
    let about = crate::live::About {
        kind: "tune",
        target: study.target.command().to_owned(),
        window_s: None,
        store: Some(store.location().clone()),
        alerts: study.alerts.clone(),
    };
    let live = Live::start(live, &about)?;
    let session = Session {
        study: &study,
        store,
        row: &row,
        runner,
        quiet: args.quiet,
        live: live.clone(),
    };
    let result = study_result(args, &study, &session, &saver);
    if let Some(live) = live {
        let saved = result.as_ref().ok().and_then(|(_, saved, _)| *saved);
        live.finish(saved.map(perfloop_store::RunId::get));
    }
    result.map(|(record, _, exit)| (record, exit))
}

/// Runs the study's trials, builds its record, saves it and writes the outputs: the record,
/// its id in the history, and the exit code.
fn study_result(
    args: &TuneArgs,
    study: &Study,
    session: &Session<'_>,
    saver: &Saver,
) -> Result<(StudyRecord, Option<perfloop_store::RunId>, Exit), Failure> {
    let (store, row) = (session.store, session.row);
    let ending = session.drive()?;
    let status = if ending == StudyEnding::Interrupted {
        StudyStatus::Interrupted
    } else {
        StudyStatus::Finished
    };
    store
        .set_study_status(row.id, status)
        .map_err(Failure::run)?;
    let done = session.done()?;
    let record = StudyRecord::build(&StudyInput {
        study,
        fingerprint: &row.fingerprint,
        started_at: row.created_at,
        done: &done,
        ending,
    });
    // An interrupted study is resumed, not kept: its result joins the history when it ends.
    let saved = if record.ending == StudyEnding::Interrupted {
        Ok(None)
    } else {
        saver.save(Saved::Study(&record, row.id))
    };
    let written = outputs(args, &record);
    if let Ok(Some(id)) = &saved {
        say(&format!("{}\n", saver.describe(*id)));
    }
    let applied = match (apply_to(args)?, &record.best) {
        (Some((path, format)), Some(best)) => write_best(study, best, path, format),
        _ => Ok(()),
    };
    written?;
    applied?;
    let saved = saved?;
    let exit = finish(&record, &done)?;
    Ok((record, saved, exit))
}

/// `--apply`'s file and format.
fn apply_to(args: &TuneArgs) -> Result<Option<(&Path, ApplyFormat)>, Failure> {
    args.apply
        .as_deref()
        .map(|p| ApplyFormat::of(p, args.apply_format.as_deref()).map(|f| (p, f)))
        .transpose()
}

/// `--apply`: the best configuration written where the target reads its settings.
fn write_best(
    study: &Study,
    best: &perfloop_report::Best,
    path: &Path,
    format: ApplyFormat,
) -> Result<(), Failure> {
    let config: Config =
        serde_json::from_value(serde_json::to_value(&best.config).map_err(Failure::run)?)
            .map_err(Failure::run)?;
    apply::write(path, &apply::render(study, &config, format)?)?;
    say(&format!(
        "wrote {} to {}\n",
        apply::describe(&best.config),
        path.display()
    ));
    Ok(())
}

/// The exit code and message of a finished study.
fn finish(record: &StudyRecord, done: &[Done]) -> Result<Exit, Failure> {
    match record.ending {
        StudyEnding::Interrupted => Err(Failure::run(anyhow!(
            "the study was interrupted; `perfloop tune --resume` continues it"
        ))),
        StudyEnding::AllFailed => {
            let reasons: Vec<String> = done
                .iter()
                .filter(|d| d.state == TrialState::Failed)
                .take(FAILURES_SHOWN)
                .map(|d| {
                    format!(
                        "trial {}: {}",
                        d.number,
                        d.reason.as_deref().unwrap_or("no reason recorded")
                    )
                })
                .collect();
            Err(Failure::run(anyhow!(
                "every trial failed; the first failures:\n{}",
                reasons.join("\n")
            )))
        }
        _ if record.best.is_none() => {
            #[allow(clippy::print_stderr)]
            {
                eprintln!("no configuration met the constraints");
            }
            Ok(Exit::SloFailed)
        }
        _ => Ok(Exit::Ok),
    }
}

/// The study as stored for reading: URLs and headers with their secrets redacted (trials
/// run from the study file, never from this copy).
fn stored_spec(study: &Study) -> Study {
    use perfloop_tune::study::Ready;
    use perfloop_url::{redact_header, redact_url};
    let mut s = study.clone();
    if let Target::Managed {
        ready: Some(Ready::Http(u)),
        ..
    } = &mut s.target
    {
        *u = redact_url(u);
    }
    let (url, request) = match &mut s.workload {
        Workload::Load(l) => (&mut l.url, &mut l.request),
        Workload::Capacity(c) => (&mut c.url, &mut c.request),
        Workload::WorkRate => return s,
    };
    *url = redact_url(url);
    for h in &mut request.headers {
        *h = redact_header(h);
    }
    s
}

/// Creates the study, or finds it to resume.
fn open_study(
    store: &Store,
    study: &Study,
    resume: bool,
    location: &Location,
) -> Result<StudyRow, Failure> {
    let fingerprint = study.fingerprint();
    let existing = store.find_study(&study.name).map_err(Failure::run)?;
    let Some(row) = existing else {
        let spec_json = serde_json::to_string(&stored_spec(study)).map_err(Failure::run)?;
        let id = store
            .create_study(&NewStudy {
                name: study.name.clone(),
                spec_json,
                fingerprint,
            })
            .map_err(Failure::run)?;
        return store
            .study(id)
            .map_err(Failure::run)?
            .ok_or_else(|| Failure::run(anyhow!("the study just created is missing")));
    };
    let trials = store.trials(row.id).map_err(Failure::run)?.len();
    if !resume {
        return Err(Failure::usage(anyhow!(
            "a study named '{}' is already in {} ({trials} trials); add --resume to continue it, \
             or give the study another name",
            study.name,
            location
        )));
    }
    if row.fingerprint != fingerprint {
        return Err(Failure::usage(anyhow!(
            "the study file has changed since study '{}' began (fingerprint {} then, {} now): its \
             trials would not be comparable; undo the change, or give the changed study another \
             name",
            study.name,
            row.fingerprint,
            fingerprint
        )));
    }
    for lost in store.abandon_running(row.id).map_err(Failure::run)? {
        say(&format!(
            "trial {} was left running by a stopped process: marked abandoned, it will be run again\n",
            lost.number
        ));
    }
    store
        .set_study_status(row.id, StudyStatus::Running)
        .map_err(Failure::run)?;
    say(&format!(
        "resuming study '{}' after {trials} trials\n",
        study.name
    ));
    Ok(row)
}

/// A study being run.
struct Session<'a> {
    study: &'a Study,
    store: &'a Store,
    row: &'a StudyRow,
    runner: Runner<'a>,
    quiet: bool,
    /// The live dashboard, shown each trial.
    live: Option<std::sync::Arc<Live>>,
}

impl Session<'_> {
    /// The study's trials as the store has them.
    fn done(&self) -> Result<Vec<Done>, Failure> {
        self.store
            .trials(self.row.id)
            .map_err(Failure::run)?
            .into_iter()
            .map(done_of)
            .collect()
    }

    /// Runs trials until the schedule says stop, or Ctrl-C.
    fn drive(&self) -> Result<StudyEnding, Failure> {
        let stop = stop_flag();
        loop {
            if stop.load(Ordering::SeqCst) {
                return Ok(StudyEnding::Interrupted);
            }
            let done = self.done()?;
            match schedule::next(self.study, &done) {
                Next::Stop(ending) => return Ok(ending),
                Next::Run {
                    role,
                    round,
                    config,
                } => {
                    if !self.trial(&done, role, round, &config)? {
                        return Ok(StudyEnding::Interrupted);
                    }
                }
            }
        }
    }

    /// Runs one trial and records it; `false` when Ctrl-C stopped it.
    fn trial(
        &self,
        done: &[Done],
        role: TrialRole,
        round: Option<u32>,
        config: &Config,
    ) -> Result<bool, Failure> {
        let number = self
            .store
            .next_trial_number(self.row.id)
            .map_err(Failure::run)?;
        let params = serde_json::to_string(config).map_err(Failure::run)?;
        let id = self
            .store
            .begin_trial_as(self.row.id, number, &params, role.as_str(), round)
            .map_err(Failure::run)?;
        let started_at = SystemTime::now();
        let began = Instant::now();
        let outcome = self.runner.run(config);
        let finished_at = SystemTime::now();
        let (state, objective, metrics, reason, runs) = match outcome {
            Outcome::Interrupted => {
                self.store
                    .abandon_running(self.row.id)
                    .map_err(Failure::run)?;
                return Ok(false);
            }
            Outcome::Failed { reason } => (
                FinalState::Failed,
                None,
                Metrics::new(),
                Some(reason),
                Vec::new(),
            ),
            Outcome::Measured {
                metrics,
                runs,
                unmet,
            } => {
                let value = self.study.objective.value(&metrics);
                let broken = self.study.broken(&metrics, unmet);
                match (value, broken) {
                    (None, _) => (
                        FinalState::Failed,
                        None,
                        metrics,
                        Some("the objective's metric was not measured".to_string()),
                        runs,
                    ),
                    (Some(v), Some(why)) => {
                        (FinalState::Violated, Some(v), metrics, Some(why), runs)
                    }
                    (Some(v), None) => (FinalState::Complete, Some(v), metrics, None, runs),
                }
            }
        };
        for (kind, record_json) in runs {
            self.store
                .insert_run(&NewRun {
                    study: Some(self.row.id),
                    trial: Some(id),
                    kind,
                    started_at,
                    record_json,
                })
                .map_err(Failure::run)?;
        }
        self.store
            .finish_trial(
                id,
                &TrialOutcome {
                    state,
                    objective,
                    metrics_json: serde_json::to_string(&metrics_by_name(&metrics))
                        .map_err(Failure::run)?,
                    reason: reason.clone(),
                    started_at,
                    finished_at,
                },
            )
            .map_err(Failure::run)?;
        if let Some(live) = &self.live {
            self.show_trial(live)?;
        }
        if !self.quiet {
            let line = progress_line(
                self.study,
                done,
                &ProgressItem {
                    number,
                    role,
                    round,
                    config,
                    state,
                    objective,
                    reason: reason.as_deref(),
                    took: began.elapsed(),
                },
            );
            say(&line);
        }
        Ok(true)
    }
}

impl Session<'_> {
    /// Shows the trial just recorded on the live dashboard, as the study record's row.
    fn show_trial(&self, live: &Live) -> Result<(), Failure> {
        let done = self.done()?;
        let record = StudyRecord::build(&StudyInput {
            study: self.study,
            fingerprint: &self.row.fingerprint,
            started_at: self.row.created_at,
            done: &done,
            ending: StudyEnding::Interrupted,
        });
        if let Some(entry) = record.trials.last() {
            live.trial(entry);
        }
        Ok(())
    }
}

/// A trial read from the store.
fn done_of(row: TrialRow) -> Result<Done, Failure> {
    let bad = |what: &str| {
        Failure::run(anyhow!(
            "trial {} in the store has an unreadable {what}",
            row.number
        ))
    };
    let config: Config =
        serde_json::from_str(&row.params_json).map_err(|_| bad("configuration"))?;
    let role = TrialRole::parse(&row.role).ok_or_else(|| bad("role"))?;
    let metrics: Metrics = match &row.metrics_json {
        Some(json) => metrics_from_names(serde_json::from_str(json).map_err(|_| bad("metrics"))?),
        None => Metrics::new(),
    };
    let duration_s = match (row.state, row.finished_at) {
        (TrialState::Abandoned, _) | (_, None) => 0.0,
        (_, Some(end)) => end
            .duration_since(row.started_at)
            .map_or(0.0, |d| d.as_secs_f64()),
    };
    Ok(Done {
        number: row.number,
        role,
        round: row.round,
        config,
        state: row.state,
        objective: row.objective,
        metrics,
        reason: row.reason,
        duration_s,
    })
}

/// What the progress line shows about a trial.
struct ProgressItem<'a> {
    number: u32,
    role: TrialRole,
    round: Option<u32>,
    config: &'a Config,
    state: FinalState,
    objective: Option<f64>,
    reason: Option<&'a str>,
    took: Duration,
}

/// One line per trial: its number, role, knob values, objective, the best so far and the
/// time left.
fn progress_line(study: &Study, before: &[Done], item: &ProgressItem<'_>) -> String {
    let unit = study.objective_unit();
    let knobs = study
        .space
        .knobs()
        .iter()
        .filter_map(|k| item.config.get(&k.name).map(|v| format!("{}={v}", k.name)))
        .collect::<Vec<_>>()
        .join(" ");
    let role = match (item.role, item.round) {
        (TrialRole::Explore, _) => "explore".to_string(),
        (TrialRole::Baseline, None) => "baseline".to_string(),
        (TrialRole::Baseline, Some(r)) => format!("baseline r{}", r + 1),
        (TrialRole::Confirm, r) => format!("confirm r{}", r.unwrap_or(0) + 1),
    };
    let result = match (item.state, item.objective) {
        (FinalState::Complete, Some(v)) => format!("{} {unit}", format_value(v)),
        (FinalState::Violated, _) => format!(
            "violated: {}",
            first_line(item.reason.unwrap_or("a constraint"))
        ),
        _ => format!("failed: {}", first_line(item.reason.unwrap_or("unknown"))),
    };
    let mut all = before.to_vec();
    all.push(Done {
        number: item.number,
        role: item.role,
        round: item.round,
        config: item.config.clone(),
        state: item.state.into(),
        objective: item.objective,
        metrics: Metrics::new(),
        reason: None,
        duration_s: item.took.as_secs_f64(),
    });
    let best = all
        .iter()
        .filter(|d| d.explores() && d.state == TrialState::Complete)
        .filter_map(|d| d.objective)
        .max_by(|a, b| {
            schedule::score(&study.objective, *a).total_cmp(&schedule::score(&study.objective, *b))
        });
    let best = best.map_or_else(|| "none yet".to_string(), format_value);
    let left = time_left(study, &all).map_or_else(String::new, |s| {
        format!(
            " · ~{} left",
            humantime::format_duration(Duration::from_secs(s))
        )
    });
    format!(
        "trial {:>3} {role:<11} {knobs} → {result} · best {best} · {:.1} s{left}\n",
        item.number,
        item.took.as_secs_f64()
    )
}

/// Seconds the study still needs: the time budget's rest, or the trials left at the mean
/// trial time.
fn time_left(study: &Study, done: &[Done]) -> Option<u64> {
    let elapsed = schedule::elapsed_s(done);
    let by_time = study
        .budget
        .time
        .map(|t| (t.as_secs_f64() - elapsed).max(0.0));
    let ran = done.iter().filter(|d| d.counts()).count().max(1);
    #[allow(clippy::cast_precision_loss)]
    let mean = elapsed / ran as f64;
    #[allow(clippy::cast_precision_loss)]
    let by_trials = schedule::remaining(study, done).map(|n| n as f64 * mean);
    let left = match (by_time, by_trials) {
        (Some(a), Some(b)) => a.min(b),
        (a, b) => a.or(b)?,
    };
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    Some(left.round() as u64)
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("")
}

/// The summary on stdout, then the files asked for (each tried, even after one failed).
fn outputs(args: &TuneArgs, record: &StudyRecord) -> Result<(), Failure> {
    use perfloop_report::{Exporter, JsonExporter, StudyHtml, StudyText};
    let stdout_taken = args.json.as_deref() == Some("-");
    let text = StudyText
        .to_bytes(record)
        .map_err(|e| Failure::run(anyhow!("cannot write the summary: {e}")))?;
    let text = String::from_utf8_lossy(&text);
    let summary = match &args.summary {
        Some(path) => crate::output::write_text(&path.to_string_lossy(), &text),
        None if stdout_taken => {
            crate::output::stderr_text(&text);
            Ok(())
        }
        None => {
            say(&text);
            Ok(())
        }
    };
    crate::output::first_failure([
        args.json.as_deref().map_or(Ok(()), |path| {
            crate::output::write_with(path, |out| JsonExporter.write(record, out))
        }),
        args.html.as_deref().map_or(Ok(()), |path| {
            crate::output::write_with(path, |out| StudyHtml.write(record, out))
        }),
        summary,
    ])
}

fn say(text: &str) {
    crate::output::stdout_text(text);
}
