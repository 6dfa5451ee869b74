//! One trial: the target started with a configuration's knob values, measured by the
//! study's workload (a load run, a capacity search, or the command's own work rate)
//! `repeats` times, stopped, and reduced to the metrics a study optimises and constrains.
//!
//! The workload's options are those of `perfloop load` and `perfloop capacity`: a study's
//! `load = { ... }` becomes the engine's `LoadSpec`, resolved by the same code as
//! `perfloop load`'s flags; its `capacity = { ... }` becomes a `CapacitySpec`, resolved by
//! the same code as `perfloop capacity`'s flags; so a trial measures exactly what the
//! command would.

use std::cell::OnceCell;
use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::anyhow;
use perfloop_capacity::CapacityPlan;
use perfloop_engine::Level;
use perfloop_engine::spec::{Given, LoadSpec, ModelKind, RequestOptions};
use perfloop_report::{CapacityRecord, RunRecord};
use perfloop_stats::Metric;
use perfloop_target::{
    BenchSpec, CommandTemplate, Knobs, Regex, ShellStartup, Startup, TargetSpec,
};
use perfloop_tune::Config;
use perfloop_tune::study::{
    self, Body, CapacitySpec, HttpRequest, Model, Ready, STUDY_METRICS, Study, Target, Workload,
};

use crate::Failure;
use crate::load::{Measured, Resolved, stop_flag};
use crate::target::{Watch, WatchPlan};

/// How often a trial's target is sampled.
const SAMPLE_INTERVAL: Duration = Duration::from_millis(250);
/// Log lines kept in a failed trial's reason.
const LOG_LINES: usize = 8;
/// A command benchmark's run is killed after this long.
const BENCH_TIMEOUT: Duration = Duration::from_secs(600);

/// The metrics of one trial, by metric: means over its repeats.
pub type Metrics = perfloop_tune::TrialMetrics;

/// What a trial produced.
#[derive(Debug)]
pub enum Outcome {
    /// Measured.
    Measured {
        /// Its metrics.
        metrics: Metrics,
        /// Every run measured, as (kind, record JSON), for the store.
        runs: Vec<(String, String)>,
        /// A reason the measurement does not count, found in the measurement itself (a
        /// capacity search where no step met the objectives).
        unmet: Option<String>,
    },
    /// The target or the measurement failed.
    Failed {
        /// Why, with the target's last log lines.
        reason: String,
    },
    /// Ctrl-C: the target was stopped; the trial is not finished.
    Interrupted,
}

/// Measures configurations of one study.
pub struct Runner<'a> {
    study: &'a Study,
    /// The study file's directory, against which body files are found.
    base: PathBuf,
    quiet: bool,
    /// A bench target's shell start-up, measured by the first trial and subtracted by all.
    startup: OnceCell<ShellStartup>,
}

impl<'a> Runner<'a> {
    /// A runner for `study`, read from a file in `base`.
    pub fn new(study: &'a Study, base: &Path, quiet: bool) -> Runner<'a> {
        Runner {
            study,
            base: base.to_path_buf(),
            quiet,
            startup: OnceCell::new(),
        }
    }

    /// Checks that the workload resolves with the default configuration as `perfloop load`
    /// or `capacity` would resolve it (bad request options, unreadable body files): exit 2
    /// before anything starts.
    pub fn check(&self) -> Result<(), Failure> {
        let knobs = knobs_of(&self.study.space.default_config(), Some(1));
        match &self.study.workload {
            Workload::Load(spec) => self.load_run(spec, &knobs).map(|_| ()),
            Workload::Capacity(spec) => self.capacity_plan(spec, &knobs).map(|_| ()),
            Workload::WorkRate => self.bench_spec(&knobs).map(|_| ()),
        }
    }

    /// Starts the target with `config`, measures it `repeats` times, stops it.
    pub fn run(&self, config: &Config) -> Outcome {
        if let Target::Bench { .. } = self.study.target {
            return self.run_bench(config);
        }
        let port = match free_port() {
            Ok(p) => p,
            Err(e) => return failed(format!("no free port for the target: {e}"), &[]),
        };
        let knobs = knobs_of(config, Some(port));
        let watch = match self.start(&knobs) {
            Ok(w) => w,
            Err(reason) => return Outcome::Failed { reason },
        };
        let measured = self.measure_repeats(&watch, &knobs);
        let alive = watch.check_alive();
        let logs = watch.log_lines(LOG_LINES);
        let _ = watch.stop();
        if stop_flag().load(Ordering::SeqCst) {
            return Outcome::Interrupted;
        }
        match (measured, alive) {
            (Ok(outcome), Ok(())) => outcome,
            (Err(reason), _) => failed(reason, &logs),
            (Ok(_), Err(e)) => Outcome::Failed {
                reason: format!("{:#}", e.error),
            },
        }
    }

    fn start(&self, knobs: &Knobs) -> Result<Watch, String> {
        let Target::Managed {
            command,
            ready,
            ready_timeout,
            env,
        } = &self.study.target
        else {
            return Err("not a managed target".into());
        };
        let template = CommandTemplate::parse(command).map_err(|e| e.to_string())?;
        let mut spec = TargetSpec::new(template);
        spec.knobs = knobs.clone();
        spec.env = render_env(env, knobs)?;
        spec.ready_timeout = *ready_timeout;
        spec.ready = Some(self.ready(ready.as_ref(), knobs)?);
        WatchPlan::managed(spec, SAMPLE_INTERVAL)
            .start()
            .map_err(|f| format!("the target did not start: {:#}", f.error))
    }

    /// The readiness probe; without one, the workload URL's port accepting.
    fn ready(
        &self,
        ready: Option<&Ready>,
        knobs: &Knobs,
    ) -> Result<perfloop_target::Ready, String> {
        let text = match ready {
            Some(Ready::Log(regex)) => {
                return Regex::new(regex)
                    .map(perfloop_target::Ready::Log)
                    .map_err(|e| e.to_string());
            }
            Some(Ready::Http(url)) => render(url, knobs)?,
            Some(Ready::Tcp(port)) => format!("tcp:{}", render(port, knobs)?),
            None => {
                let url = render(self.url(), knobs)?;
                let target = perfloop_engine::Target::parse(&url).map_err(|e| e.to_string())?;
                format!("tcp:{}", target.addr.port())
            }
        };
        perfloop_target::Ready::parse(&text).map_err(|e| e.to_string())
    }

    fn url(&self) -> &str {
        match &self.study.workload {
            Workload::Load(spec) => &spec.url,
            Workload::Capacity(spec) => &spec.url,
            Workload::WorkRate => "",
        }
    }

    fn measure_repeats(&self, watch: &Watch, knobs: &Knobs) -> Result<Outcome, String> {
        let mut all: Vec<Metrics> = Vec::new();
        let mut runs = Vec::new();
        let mut unmet = None;
        for _ in 0..self.study.budget.repeats {
            let (metrics, kind, json, not_met) = match &self.study.workload {
                Workload::Load(spec) => {
                    let resolved = self.load_run(spec, knobs).map_err(failure_text)?;
                    let record = self.load_once(&resolved, watch)?;
                    let json = serde_json::to_string(&record).map_err(|e| e.to_string())?;
                    (run_metrics(&record), "load", json, None)
                }
                Workload::Capacity(spec) => {
                    let plan = self.capacity_plan(spec, knobs).map_err(failure_text)?;
                    let searched = crate::capacity::search(&plan, Some(watch), self.quiet);
                    if let Some(f) = searched.failure {
                        return Err(format!("the capacity search failed: {:#}", f.error));
                    }
                    let json =
                        serde_json::to_string(&searched.record).map_err(|e| e.to_string())?;
                    let (metrics, not_met) = capacity_metrics(&searched.record);
                    (metrics, "capacity", json, not_met)
                }
                Workload::WorkRate => return Err("a work rate needs a bench target".into()),
            };
            if stop_flag().load(Ordering::SeqCst) {
                return Ok(Outcome::Interrupted);
            }
            watch.check_alive().map_err(failure_text)?;
            all.push(metrics);
            runs.push((kind.to_string(), json));
            unmet = unmet.or(not_met);
        }
        Ok(Outcome::Measured {
            metrics: mean_metrics(&all),
            runs,
            unmet,
        })
    }

    fn load_once(&self, resolved: &Resolved, watch: &Watch) -> Result<RunRecord, String> {
        let Measured { record, outcome } =
            crate::load::measure(resolved, Some(watch), self.quiet).map_err(failure_text)?;
        if crate::load::unreachable(&outcome) {
            let why = outcome
                .last_connect_error
                .as_deref()
                .unwrap_or("connection failed");
            return Err(format!(
                "no connection to {} could be established: {why}",
                resolved.config.target.url
            ));
        }
        Ok(record)
    }

    /// The load run of a load workload, resolved as `perfloop load` resolves its flags.
    fn load_run(&self, spec: &study::LoadSpec, knobs: &Knobs) -> Result<Resolved, Failure> {
        let url = render(&spec.url, knobs).map_err(usage)?;
        LoadSpec {
            request: self.request_options(url, &spec.request),
            model: Some(match spec.model {
                Model::Closed => ModelKind::Closed,
                Model::Open => ModelKind::Open,
            }),
            connections: spec.connections,
            rate: spec.rate.map(Given::Value),
            duration: spec.duration.map(Given::Value),
            warmup: spec.warmup.map(Given::Value),
            level: spec.level.map(|l| Given::Value(level(l))),
            ..LoadSpec::default()
        }
        .resolve()
        .map_err(Failure::usage)
    }

    /// What each request of a workload sends, as the request part of a load spec; body
    /// files are found beside the study file.
    fn request_options(&self, url: String, request: &HttpRequest) -> RequestOptions {
        let mut options = RequestOptions::new(url);
        options.method.clone_from(&request.method);
        options.headers.clone_from(&request.headers);
        options.body = match &request.body {
            Some(Body::Text(text)) => perfloop_engine::spec::Body::Text(text.clone()),
            Some(Body::File(path)) => perfloop_engine::spec::Body::File(self.base.join(path)),
            Some(Body::Lines(path)) => perfloop_engine::spec::Body::Lines(self.base.join(path)),
            None => perfloop_engine::spec::Body::None,
        };
        if let Some(timeout) = request.timeout {
            options.timeout = Given::Value(timeout);
        }
        options.scenario = request.scenario.as_ref().map(|path| self.base.join(path));
        options.http2 = request.http2;
        options.streams = request.streams.map(|n| n as usize);
        options
    }

    /// The capacity search of a capacity workload, resolved as `perfloop capacity`
    /// resolves its flags.
    fn capacity_plan(&self, spec: &CapacitySpec, knobs: &Knobs) -> Result<CapacityPlan, Failure> {
        let url = render(&spec.url, knobs).map_err(usage)?;
        let mut search = perfloop_capacity::CapacitySpec {
            request: self.request_options(url, &spec.request),
            slos: spec.slo.iter().cloned().map(Given::Text).collect(),
            max_rate: spec.max_rate.map(Given::Value),
            ..perfloop_capacity::CapacitySpec::default()
        };
        if let Some(rate) = spec.start_rate {
            search.start_rate = Given::Value(rate);
        }
        if let Some(step) = spec.step_duration {
            search.step_duration = Given::Value(step);
        }
        if let Some(connections) = spec.connections {
            search.max_connections = usize::try_from(connections).unwrap_or(usize::MAX);
        }
        search.resolve().map_err(Failure::usage)
    }

    fn bench_spec(&self, knobs: &Knobs) -> Result<BenchSpec, Failure> {
        let Target::Bench {
            command,
            work_regex,
            env,
        } = &self.study.target
        else {
            return Err(usage("not a command benchmark".into()));
        };
        let template = CommandTemplate::parse(command).map_err(Failure::usage)?;
        let mut spec = BenchSpec::new(template);
        spec.params = knobs
            .iter()
            .map(|(k, v)| (k.clone(), vec![v.clone()]))
            .collect();
        spec.runs = 1;
        spec.timeout = Some(BENCH_TIMEOUT);
        spec.env = render_env(env, knobs).map_err(usage)?;
        if let Some(re) = work_regex {
            spec.work_regex = Some(perfloop_target::parse_work_regex(re).map_err(Failure::usage)?);
        }
        spec.validate().map_err(Failure::usage)?;
        Ok(spec)
    }

    fn run_bench(&self, config: &Config) -> Outcome {
        let knobs = knobs_of(config, None);
        let mut spec = match self.bench_spec(&knobs) {
            Ok(s) => s,
            Err(f) => return failed(format!("{:#}", f.error), &[]),
        };
        if let Some(startup) = self.startup.get() {
            spec.startup = Startup::Known(startup.clone());
        }
        let mut all = Vec::new();
        let mut runs = Vec::new();
        for _ in 0..self.study.budget.repeats {
            let report = match perfloop_target::run_bench(&spec) {
                Ok(r) => r,
                Err(e) => return failed(e.to_string(), &[]),
            };
            if let Some(startup) = &report.shell_startup {
                spec.startup = Startup::Known(startup.clone());
                let _ = self.startup.set(startup.clone());
            }
            if stop_flag().load(Ordering::SeqCst) {
                return Outcome::Interrupted;
            }
            let Some(result) = report.results.first() else {
                return failed("the benchmark measured nothing".into(), &[]);
            };
            let wall_s = result.wall_s.mean;
            let mut m = Metrics::new();
            let rate = match result.work_per_s {
                Some(w) => w.mean,
                None if wall_s > 0.0 => 1.0 / wall_s,
                None => f64::NAN,
            };
            m.insert(Metric::Throughput, rate);
            for p in [Metric::P50, Metric::P90, Metric::P99] {
                m.insert(p, wall_s * 1000.0);
            }
            m.insert(Metric::ErrorRate, 0.0);
            let cpu = if wall_s > 0.0 {
                (result.user_s_mean + result.sys_s_mean) / wall_s
            } else {
                f64::NAN
            };
            m.insert(Metric::Cpu, cpu);
            #[allow(clippy::cast_precision_loss)]
            m.insert(
                Metric::RssMb,
                result.peak_rss_bytes_max as f64 / (1024.0 * 1024.0),
            );
            all.push(m);
            match serde_json::to_string(&report) {
                Ok(json) => runs.push(("bench".to_string(), json)),
                Err(e) => return failed(e.to_string(), &[]),
            }
        }
        Outcome::Measured {
            metrics: mean_metrics(&all),
            runs,
            unmet: None,
        }
    }
}

/// The metrics of one load run.
#[allow(clippy::cast_precision_loss)]
pub fn run_metrics(record: &RunRecord) -> Metrics {
    let total = record.requests.total;
    let error_rate = if total == 0 {
        1.0
    } else {
        record.requests.errors as f64 / total as f64
    };
    let (cpu, rss) = record
        .target
        .summary
        .as_ref()
        .map_or((f64::NAN, f64::NAN), |s| {
            (
                s.cpu_pct_mean.map_or(f64::NAN, |c| c / 100.0),
                s.rss_max_mb.unwrap_or(f64::NAN),
            )
        });
    Metrics::from([
        (Metric::Throughput, record.throughput_rps),
        (Metric::P50, record.latency_ms.p50),
        (Metric::P90, record.latency_ms.p90),
        (Metric::P99, record.latency_ms.p99),
        (Metric::ErrorRate, error_rate),
        (Metric::Cpu, cpu),
        (Metric::RssMb, rss),
    ])
}

/// The metrics of a capacity search: those of its highest passing step, with the
/// throughput measured there (the maximum sustainable throughput) and the peak memory of
/// the whole search; and why it does not count when no step passed.
fn capacity_metrics(record: &CapacityRecord) -> (Metrics, Option<String>) {
    let rss = record
        .steps
        .iter()
        .filter_map(|s| s.run.target.summary.as_ref().and_then(|m| m.rss_max_mb))
        .fold(f64::NAN, f64::max);
    let passing = record
        .result
        .max_passing_step
        .and_then(|i| record.steps.iter().find(|s| s.index == i));
    match (passing, record.result.max_sustainable_rps) {
        (Some(step), Some(mst)) => {
            let mut m = run_metrics(&step.run);
            m.insert(Metric::Throughput, mst);
            m.insert(Metric::RssMb, rss);
            (m, None)
        }
        _ => {
            let mut m = record
                .steps
                .first()
                .map(|s| run_metrics(&s.run))
                .unwrap_or_default();
            m.insert(Metric::Throughput, 0.0);
            m.insert(Metric::RssMb, rss);
            let why = format!(
                "no step of the capacity search met {}",
                record.settings.slo.join(", ")
            );
            (m, Some(why))
        }
    }
}

/// The mean of each metric over the repeats (NaN stays NaN: a metric not measured once is
/// not measured).
fn mean_metrics(all: &[Metrics]) -> Metrics {
    let mut out = Metrics::new();
    for metric in STUDY_METRICS {
        let values: Vec<f64> = all
            .iter()
            .map(|m| *m.get(&metric).unwrap_or(&f64::NAN))
            .collect();
        #[allow(clippy::cast_precision_loss)]
        let mean = values.iter().sum::<f64>() / values.len().max(1) as f64;
        out.insert(metric, mean);
    }
    out
}

/// The engine's level of a study's level.
fn level(level: study::Level) -> Level {
    match level {
        study::Level::Smoke => Level::Smoke,
        study::Level::Medium => Level::Medium,
        study::Level::Large => Level::Large,
        study::Level::Extreme => Level::Extreme,
    }
}

/// The knob values as template text, with the trial's port when it has one.
pub fn knobs_of(config: &Config, port: Option<u16>) -> Knobs {
    let mut knobs: Knobs = config
        .iter()
        .map(|(k, v)| (k.clone(), v.to_string()))
        .collect();
    if let Some(port) = port {
        knobs.insert("port".into(), port.to_string());
    }
    knobs
}

/// A port no one listens on now (the kernel's choice, released for the target).
fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// A template filled with the knob values.
fn render(template: &str, knobs: &Knobs) -> Result<String, String> {
    CommandTemplate::parse(template)
        .and_then(|t| t.shell_text(knobs))
        .map_err(|e| e.to_string())
}

fn render_env(
    env: &BTreeMap<String, String>,
    knobs: &Knobs,
) -> Result<Vec<(String, String)>, String> {
    env.iter()
        .map(|(name, value)| Ok((name.clone(), render(value, knobs)?)))
        .collect()
}

fn failed(reason: String, logs: &[String]) -> Outcome {
    let reason = if logs.is_empty() {
        reason
    } else {
        format!(
            "{reason}; the target's last log lines:\n  {}",
            logs.join("\n  ")
        )
    };
    Outcome::Failed { reason }
}

#[allow(clippy::needless_pass_by_value)] // used as `map_err(failure_text)`
fn failure_text(f: Failure) -> String {
    format!("{:#}", f.error)
}

fn usage(message: String) -> Failure {
    Failure::usage(anyhow!(message))
}
