//! The live side of a run: `--serve` (the dashboard while the run goes) and `--alert`.
//!
//! [`Live::start`] runs before any load: the alert rules parsed (a syntax error exits 2 with
//! its column), the linger read, the dashboard's address bound (a bad or busy address exits
//! 2 naming it) and its address printed (`dashboard: http://…/`). It registers itself as the
//! process's live session, so that every measurement of the command — a load run, each
//! capacity step, each tuning trial's runs — goes through a [`Tee`]: the engine's
//! per-second rows go to the progress bar, to the hub (a `LiveSample` from the row, the
//! target's latest sample and perfloop's own CPU) and to the alert evaluator, whose events
//! are printed, pushed to the hub, posted to the webhook and kept for the run's record.
//! [`Live::finish`] ends the stream with the saved run's id and keeps serving for
//! `--serve-linger` (or until Ctrl-C).

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use anyhow::anyhow;
use perfloop_engine::{Observer, Outcome, SATURATION_BUSY, SecondDetail, TimelineRow};
use perfloop_monitor::{ProcessCpu, Sample, SamplerHandle};
use perfloop_stats::alert::{AlertEvent, AlertRule, AlertState, Evaluator, Reading};
use perfloop_stats::grid;

use crate::Failure;
use crate::cli::ServeArgs;
use crate::progress::Progress;
use crate::webhook::{Webhook, WebhookError};

/// How long the webhook's last events may take to be delivered at the end.
const WEBHOOK_DRAIN: Duration = Duration::from_secs(5);

/// What a live session is of, for the dashboard's `hello`.
#[derive(Debug, Clone)]
#[cfg_attr(not(feature = "dashboard"), allow(dead_code))]
pub struct About {
    /// `load`, `capacity` or `tune`.
    pub kind: &'static str,
    /// The target: its URL (redacted) or command.
    pub target: String,
    /// The measured window, when known in advance.
    pub window_s: Option<f64>,
    /// The history store the dashboard's pages read (`None` with `--no-save`).
    pub store: Option<perfloop_store::Location>,
    /// The alert rules the run's files carry (a scenario's, a study's), beside `--alert`'s.
    pub alerts: Vec<AlertRule>,
}

/// A scenario file's alert rules, each parsed; a mistake is bad input naming the file, the
/// line and the column.
pub fn scenario_rules(
    scenario: Option<&perfloop_scenario::Scenario>,
) -> Result<Vec<AlertRule>, Failure> {
    scenario.map_or(Ok(Vec::new()), |s| {
        s.alerts
            .iter()
            .map(|a| {
                AlertRule::parse(&a.text)
                    .map_err(|e| Failure::usage(a.error_at(e.position, e.message)))
            })
            .collect()
    })
}

/// The process's live session, when the command has one.
static CURRENT: Mutex<Option<Arc<Live>>> = Mutex::new(None);

/// The live session of the command running, if it asked for one.
pub fn current() -> Option<Arc<Live>> {
    CURRENT
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone()
}

/// The dashboard and the alerts of one command.
pub struct Live {
    dashboard: Option<dashboard::Dashboard>,
    alerts: Mutex<Alerts>,
    linger: Duration,
}

/// The alert rules' state, and what they produced.
struct Alerts {
    evaluator: Option<Evaluator>,
    webhook: Option<Webhook>,
}

impl Live {
    /// Parses the alert rules and the linger, binds the dashboard and prints its address;
    /// `None` when the command asked for neither. Every error is bad input (exit 2), found
    /// before any load.
    pub fn start(args: &ServeArgs, about: &About) -> Result<Option<Arc<Live>>, Failure> {
        let mut rules = parse_rules(&args.alerts)?;
        rules.extend(about.alerts.iter().cloned());
        if args.serve.is_none() && rules.is_empty() {
            return Ok(None);
        }
        let linger = match &args.serve_linger {
            Some(text) => perfloop_engine::parse_duration(text)
                .map_err(|e| Failure::usage(anyhow!("--serve-linger '{text}': {e}")))?,
            None => Duration::ZERO,
        };
        let webhook = args
            .alert_webhook
            .as_deref()
            .map(Webhook::start)
            .transpose()
            .map_err(|e| match e {
                WebhookError::Thread(_) => Failure::run(anyhow!("--alert-webhook: {e}")),
                _ => Failure::usage(anyhow!("--alert-webhook: {e}")),
            })?;
        let dashboard = match &args.serve {
            Some(addr) => Some(dashboard::Dashboard::start(
                addr,
                args.token.as_deref(),
                about,
            )?),
            None => None,
        };
        let live = Arc::new(Live {
            dashboard,
            alerts: Mutex::new(Alerts {
                evaluator: (!rules.is_empty()).then(|| Evaluator::new(rules)),
                webhook,
            }),
            linger,
        });
        *CURRENT.lock().unwrap_or_else(PoisonError::into_inner) = Some(live.clone());
        Ok(Some(live))
    }

    /// Tells the dashboard which process the target runs as (its health: up, memory limit).
    pub fn target_pid(&self, pid: Option<u32>) {
        if let Some(d) = &self.dashboard {
            d.target_pid(pid);
        }
    }

    /// A capacity step just judged, as in the capacity record's `steps[]`.
    pub fn step(&self, step: &perfloop_report::Step) {
        if let Some(d) = &self.dashboard {
            d.step(serde_json::to_value(step).unwrap_or_default());
        }
    }

    /// A study trial just recorded, as the study record's trial row.
    pub fn trial(&self, trial: &perfloop_report::TrialEntry) {
        if let Some(d) = &self.dashboard {
            d.trial(serde_json::to_value(trial).unwrap_or_default());
        }
    }

    /// Ends the live stream with the saved run's id, then keeps serving for the linger or
    /// until Ctrl-C, and stops the server (within about two seconds).
    pub fn finish(&self, run_id: Option<i64>) {
        *CURRENT.lock().unwrap_or_else(PoisonError::into_inner) = None;
        let webhook = self
            .alerts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .webhook
            .take();
        if let Some(webhook) = webhook {
            let summary = webhook.finish(WEBHOOK_DRAIN);
            if summary.failed > 0 || summary.dropped > 0 {
                crate::output::stderr_text(&format!(
                    "alert webhook: {} events delivered, {} not delivered, {} dropped (queue \
                     full)\n",
                    summary.sent, summary.failed, summary.dropped
                ));
            }
        }
        if let Some(d) = &self.dashboard {
            d.end(run_id);
            let stop = crate::load::stop_flag();
            let until = Instant::now() + self.linger;
            if !self.linger.is_zero() && !stop.load(Ordering::SeqCst) {
                crate::output::stderr_text(&format!(
                    "dashboard: serving for {} more (Ctrl-C stops it)\n",
                    humantime::format_duration(self.linger)
                ));
            }
            while Instant::now() < until && !stop.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(100));
            }
            d.shutdown();
        }
    }

    /// Takes one second: evaluates the alerts, reports their events; returns them.
    fn alerts_at(&self, t_s: u64, reading: &Reading, progress: &Progress) -> Vec<AlertEvent> {
        let mut alerts = self.alerts.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(evaluator) = alerts.evaluator.as_mut() else {
            return Vec::new();
        };
        let mut events = evaluator.second(t_s, reading);
        if events.is_empty() {
            return events;
        }
        let at = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
        for event in &mut events {
            event.at = Some(at.clone());
            progress.note(&alert_line(event));
            if let Some(d) = &self.dashboard {
                d.alert(serde_json::to_value(&*event).unwrap_or_default());
            }
            if let Some(webhook) = &alerts.webhook {
                webhook.send(serde_json::to_value(&*event).unwrap_or_default());
            }
        }
        events
    }
}

/// The rules, each checked before any load (exit 2 naming the column of a mistake).
fn parse_rules(texts: &[String]) -> Result<Vec<AlertRule>, Failure> {
    texts
        .iter()
        .map(|t| AlertRule::parse(t).map_err(|e| Failure::usage(anyhow!("--alert: {e}"))))
        .collect()
}

/// `alert firing: p99 > 200ms for 10s (250.30 ms, threshold 200.00 ms) at 12 s`.
fn alert_line(event: &AlertEvent) -> String {
    let verb = match event.state {
        AlertState::Firing => "firing",
        AlertState::Resolved => "resolved",
    };
    let figure = |v| perfloop_report::export::alert_figure(&event.rule, v);
    format!(
        "alert {verb}: {} ({}, threshold {}) at {} s\n",
        event.rule,
        figure(event.value),
        figure(event.threshold),
        event.t_s
    )
}

/// One measurement's observer: the progress bar, and the live session's hub and alerts.
pub struct Tee<'a> {
    progress: &'a mut Progress,
    live: Option<Arc<Live>>,
    sampler: Option<&'a SamplerHandle>,
    /// The hub's time axis at this measurement's second 0.
    base: u64,
    cpu: ProcessCpu,
    cpu_at: Instant,
    /// The last row handed on (its `t_s`).
    last: Option<u64>,
    /// The measured window when the run has a duration: seconds from its end on are not
    /// the run's (the engine leaves them out of the timeline).
    window: Option<Duration>,
    limit: Option<u64>,
    events: Vec<AlertEvent>,
}

impl<'a> Tee<'a> {
    /// An observer of one measurement of `window` (when it has a duration), its target
    /// (`pid`) watched by `sampler`, in the live session (if any).
    pub fn new(
        progress: &'a mut Progress,
        window: Option<Duration>,
        sampler: Option<&'a SamplerHandle>,
        pid: Option<u32>,
    ) -> Tee<'a> {
        let live = current();
        let base = live
            .as_ref()
            .and_then(|l| l.dashboard.as_ref())
            .map_or(0, dashboard::Dashboard::next_t_s);
        if let Some(l) = &live {
            l.target_pid(pid);
        }
        Tee {
            progress,
            live,
            sampler,
            base,
            cpu: ProcessCpu::now(),
            cpu_at: Instant::now(),
            last: None,
            window,
            limit: pid.and_then(dashboard::memory_limit),
            events: Vec::new(),
        }
    }

    /// Hands on the rows the engine finished after its last second (if any), and returns
    /// the alert events of this measurement, for its record.
    pub fn finish(mut self, outcome: Option<&Outcome>) -> Vec<AlertEvent> {
        if let Some(outcome) = outcome {
            let rest: Vec<TimelineRow> = outcome
                .timeline
                .iter()
                .filter(|r| self.last.is_none_or(|last| r.t_s > last))
                .cloned()
                .collect();
            for row in &rest {
                self.take(row, None);
            }
        }
        std::mem::take(&mut self.events)
    }

    /// perfloop's CPU since the last second, in cores.
    fn generator_cpu(&mut self) -> Option<f64> {
        let (now, at) = (ProcessCpu::now(), Instant::now());
        let wall = at.saturating_duration_since(self.cpu_at).as_secs_f64();
        let used = now.since(self.cpu).total().as_secs_f64();
        self.cpu = now;
        self.cpu_at = at;
        (wall > 0.0).then(|| used / wall)
    }
}

/// What the live sample and the alerts take from a second besides its row.
#[derive(Debug, Clone, Copy, Default)]
#[cfg_attr(not(feature = "dashboard"), allow(dead_code))]
pub struct Extras {
    /// perfloop's CPU, cores.
    pub generator_cpu: Option<f64>,
    /// A load generator thread was saturated.
    pub saturated: bool,
    /// The target's CPU, cores.
    pub target_cpu: Option<f64>,
    /// The target's resident memory, bytes.
    pub target_rss_bytes: Option<u64>,
}

impl Extras {
    fn of(
        sample: Option<&Sample>,
        detail: Option<&SecondDetail>,
        generator_cpu: Option<f64>,
    ) -> Self {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let rss = sample
            .and_then(|s| s.rss_mb)
            .map(|mb| (mb * 1024.0 * 1024.0).round().max(0.0) as u64);
        Extras {
            generator_cpu,
            saturated: detail.is_some_and(|d| d.busiest_worker >= SATURATION_BUSY),
            target_cpu: sample.and_then(|s| s.cpu_pct).map(|p| p / 100.0),
            target_rss_bytes: rss,
        }
    }
}

/// A second's reading for the alert rules.
fn reading(row: &TimelineRow, extras: &Extras, limit: Option<u64>) -> Reading {
    let ms = |q: f64| grid::quantile_us(&row.latency_buckets, q).map(|us| us / 1000.0);
    let count = grid::count(&row.latency_buckets);
    #[allow(clippy::cast_precision_loss)]
    let mean_ms = (count > 0).then(|| {
        row.latency_buckets
            .iter()
            .map(|&(i, n)| (grid::lower_us(i) + grid::upper_us(i)) / 2.0 * n as f64)
            .sum::<f64>()
            / count as f64
            / 1000.0
    });
    #[allow(clippy::cast_precision_loss)]
    let error_rate = (row.requests > 0).then(|| row.errors as f64 / row.requests as f64);
    Reading {
        p50_ms: row.p50_ms,
        p75_ms: ms(0.75),
        p90_ms: row.p90_ms,
        p95_ms: ms(0.95),
        p99_ms: row.p99_ms,
        p99_9_ms: ms(0.999),
        max_ms: row.max_ms,
        mean_ms,
        error_rate,
        rps: Some(row.rps),
        target_cpu: extras.target_cpu,
        target_rss_bytes: extras.target_rss_bytes,
        rss_limit_bytes: limit,
        saturated: Some(extras.saturated),
    }
}

impl Observer for Tee<'_> {
    fn second(&mut self, row: &TimelineRow) {
        self.take(row, None);
    }

    fn second_detail(&mut self, row: &TimelineRow, detail: &SecondDetail) {
        self.take(row, Some(detail));
    }
}

impl Tee<'_> {
    /// A second of the measurement, with the engine's detail when it gave one.
    fn take(&mut self, row: &TimelineRow, detail: Option<&SecondDetail>) {
        #[allow(clippy::cast_precision_loss)]
        if self
            .window
            .is_some_and(|w| row.t_s as f64 >= w.as_secs_f64())
        {
            return;
        }
        self.progress.second(row);
        self.last = Some(row.t_s);
        let Some(live) = self.live.clone() else {
            return;
        };
        let generator_cpu = self.generator_cpu();
        let sample = self.sampler.and_then(SamplerHandle::latest);
        let extras = Extras::of(sample.as_ref(), detail, generator_cpu);
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let limit = self.limit.or_else(|| {
            sample
                .map(|s| s.host_mem_total_mb)
                .filter(|mb| *mb > 0.0)
                .map(|mb| (mb * 1024.0 * 1024.0) as u64)
        });
        if let Some(d) = &live.dashboard {
            d.sample(self.base + row.t_s, row, detail, &extras);
        }
        let events = live.alerts_at(row.t_s, &reading(row, &extras, limit), self.progress);
        self.events.extend(events);
    }
}

#[cfg(feature = "dashboard")]
mod dashboard {
    //! The dashboard itself: the hub and the server of `perfloop-serve`.

    use std::sync::Arc;

    use anyhow::anyhow;
    use perfloop_engine::{SecondDetail, TimelineRow};
    use perfloop_report::TimelinePoint;
    use perfloop_serve::live::{LiveHub, LiveInfo, LiveSample};
    use perfloop_serve::{ServeError, ServeOptions, Server};
    use std::sync::Mutex;

    use super::{About, Extras};
    use crate::Failure;

    /// The hub and its server.
    pub struct Dashboard {
        hub: Arc<LiveHub>,
        server: Mutex<Option<Server>>,
    }

    impl Dashboard {
        /// Binds `addr` and starts serving; prints the address.
        pub fn start(addr: &str, token: Option<&str>, about: &About) -> Result<Dashboard, Failure> {
            let info = LiveInfo {
                kind: about.kind.to_owned(),
                target: about.target.clone(),
                command: crate::history::save::redact_command_line(std::env::args()),
                started_at: humantime::format_rfc3339_seconds(std::time::SystemTime::now())
                    .to_string(),
                window_s: about.window_s,
            };
            let hub = LiveHub::new(info);
            let options = ServeOptions {
                bind: addr.to_owned(),
                token: token.map(str::to_owned),
                store: about.store.clone(),
            };
            let server = Server::start(options, Some(hub.clone())).map_err(|e| match e {
                ServeError::BadAddress { address, reason } => Failure::usage(anyhow!(
                    "--serve '{address}': {reason}; expected HOST:PORT such as 127.0.0.1:9400 \
                     (port 0 picks a free one)"
                )),
                ServeError::Bind { .. } | ServeError::EmptyToken => {
                    Failure::usage(anyhow!("--serve: {e}"))
                }
                other => Failure::run(anyhow!("--serve: {other}")),
            })?;
            let mut text = format!("dashboard: {}\n", server.url());
            if server.token_generated()
                && let Some(token) = server.token()
            {
                text.push_str(&format!(
                    "dashboard: token {token} (generated: the address is not loopback)\n"
                ));
            }
            crate::output::stderr_text(&text);
            Ok(Dashboard {
                hub,
                server: Mutex::new(Some(server)),
            })
        }

        pub fn next_t_s(&self) -> u64 {
            self.hub.next_t_s()
        }

        pub fn target_pid(&self, pid: Option<u32>) {
            self.hub.set_target_pid(pid);
        }

        pub fn step(&self, step: serde_json::Value) {
            self.hub.step(step);
        }

        pub fn trial(&self, trial: serde_json::Value) {
            self.hub.trial(trial);
        }

        pub fn alert(&self, event: serde_json::Value) {
            self.hub.alert(event);
        }

        pub fn end(&self, run_id: Option<i64>) {
            self.hub.end(run_id);
        }

        /// Stops the server (bounded).
        pub fn shutdown(&self) {
            let server = self
                .server
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .take();
            if let Some(server) = server {
                server.shutdown();
            }
        }

        /// A second of the run, at `t_s` on the hub's axis.
        pub fn sample(
            &self,
            t_s: u64,
            row: &TimelineRow,
            detail: Option<&SecondDetail>,
            extras: &Extras,
        ) {
            // Responses without a status: raw TCP.
            let statuses = detail
                .filter(|d| !(d.statuses.is_empty() && row.requests > row.errors))
                .map(|d| d.statuses.iter().copied().collect());
            let sample = LiveSample {
                second: TimelinePoint {
                    t_s,
                    ..TimelinePoint::of(row)
                },
                statuses,
                latency_sum_ms: detail.map(|d| d.latency_sum_s * 1000.0),
                in_flight: detail.map(|d| d.in_flight),
                generator_cpu: extras.generator_cpu,
                saturated: Some(extras.saturated),
                target_cpu: extras.target_cpu,
                target_rss_bytes: extras.target_rss_bytes,
            };
            self.hub.sample(sample);
        }
    }

    /// The memory limit of the target's cgroup, bytes.
    pub fn memory_limit(pid: u32) -> Option<u64> {
        perfloop_serve::live::host::cgroup_memory_max(pid)
    }
}

#[cfg(not(feature = "dashboard"))]
mod dashboard {
    //! Without the `dashboard` feature: `--serve` is refused.

    use anyhow::anyhow;
    use perfloop_engine::{SecondDetail, TimelineRow};

    use super::{About, Extras};
    use crate::Failure;

    /// No dashboard in this build: never made.
    pub enum Dashboard {}

    impl Dashboard {
        /// Refuses: the build lacks the dashboard (exit 2).
        pub fn start(
            _addr: &str,
            _token: Option<&str>,
            _about: &About,
        ) -> Result<Dashboard, Failure> {
            Err(Failure::usage(anyhow!(
                "--serve is not in this build: perfloop was built without the `dashboard` \
                 feature (the web dashboard, with axum and tokio); build it with the default \
                 features (`cargo build --release`) to use it"
            )))
        }

        pub fn next_t_s(&self) -> u64 {
            match *self {}
        }

        pub fn target_pid(&self, _pid: Option<u32>) {
            match *self {}
        }

        pub fn step(&self, _step: serde_json::Value) {
            match *self {}
        }

        pub fn trial(&self, _trial: serde_json::Value) {
            match *self {}
        }

        pub fn alert(&self, _event: serde_json::Value) {
            match *self {}
        }

        pub fn end(&self, _run_id: Option<i64>) {
            match *self {}
        }

        pub fn shutdown(&self) {
            match *self {}
        }

        pub fn sample(
            &self,
            _t_s: u64,
            _row: &TimelineRow,
            _detail: Option<&SecondDetail>,
            _extras: &Extras,
        ) {
            match *self {}
        }
    }

    /// Not read without the dashboard.
    pub fn memory_limit(_pid: u32) -> Option<u64> {
        None
    }
}
