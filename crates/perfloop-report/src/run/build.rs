//! From an engine [`Outcome`] to a [`RunRecord`]: unit conversion (µs to ms), the figures
//! objectives are checked against ([`metrics`]) and the SLO verdicts; the warnings that say
//! when the figures should not be trusted come from `warnings.rs`.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use perfloop_engine::{
    Backend, Ending, EndpointOutcome, ErrorKind, LoadConfig, Model, Outcome, Plan,
};
use perfloop_stats::{Metrics, Slo, Verdict};

use super::histogram::{self, BUCKETS};
use super::{
    EndpointFigures, Generator, IoBackend, LagMs, LoadInfo, LoadModel, OpenModel, PhasesMs,
    Requests, RunEnding, RunRecord, SCHEMA, ScenarioInfo, SloResult, StageInfo, TargetInfo,
    TimelinePoint, TlsInfo, warnings,
};

/// Everything a run record is made from.
#[derive(Debug, Clone, Copy)]
pub struct BuildInput<'a> {
    /// The run's configuration.
    pub config: &'a LoadConfig,
    /// What the engine measured.
    pub outcome: &'a Outcome,
    /// The objectives to check, in the order given.
    pub slos: &'a [Slo],
    /// The named level the configuration came from, if any.
    pub level: Option<&'a str>,
    /// When the run started (wall clock).
    pub started_at: SystemTime,
    /// What the resource monitor recorded, with `t_s` already on the timeline's axis.
    pub monitor: Option<&'a perfloop_monitor::Recording>,
    /// The managed target's command template.
    pub target_command: Option<&'a str>,
}

impl RunRecord {
    /// Builds the record of a finished run and evaluates its objectives.
    pub fn build(input: &BuildInput<'_>) -> RunRecord {
        let BuildInput {
            config,
            outcome,
            slos,
            level,
            started_at,
            monitor,
            target_command,
        } = *input;
        let counts = &outcome.counts;
        let total = counts.total();
        let generator = &outcome.generator;
        let cpu_s = generator.cpu_user_s + generator.cpu_sys_s;
        let mut metrics = metrics(outcome);
        if let Some(summary) = monitor.map(|m| &m.summary) {
            metrics.cpu_cores = summary.cpu_pct_mean.map_or(f64::NAN, |c| c / 100.0);
            metrics.rss_mb = summary.rss_max_mb.unwrap_or(f64::NAN);
        }
        let open_model = matches!(config.model, Model::Open { .. }).then(|| OpenModel {
            asked_rate: finite(asked_rate(config, outcome.window)),
            achieved_rate: finite(outcome.achieved_rate()),
            peak_connections: outcome.peak_connections as u64,
            answering_s: finite(outcome.answering.as_secs_f64()),
            lag_ms: outcome.lag.as_ref().map_or(
                LagMs {
                    p50: 0.0,
                    p99: 0.0,
                    max: 0.0,
                },
                histogram::lag_summary,
            ),
        });
        let mut record = RunRecord {
            schema: SCHEMA.to_string(),
            perfloop_version: env!("CARGO_PKG_VERSION").to_string(),
            started_at: humantime::format_rfc3339_seconds(started_at).to_string(),
            target: TargetInfo {
                url: config.target.url.to_string(),
                // Raw TCP has no method: what it sends is the --send file; a scenario's
                // requests each have their own (the endpoints name them).
                method: if config.raw.is_some() || config.request.scenario.is_some() {
                    String::new()
                } else {
                    config.request.method.clone()
                },
                header_names: config
                    .request
                    .headers
                    .iter()
                    .map(|(n, _)| n.clone())
                    .collect(),
                scenario: ScenarioInfo::of(&config.request),
                command: target_command.map(str::to_string),
                pid: monitor.and_then(|m| m.summary.target_pid),
                samples: monitor.map(|m| m.samples.clone()).unwrap_or_default(),
                summary: monitor.map(|m| m.summary.clone()),
                scraped: monitor.map(|m| m.scraped.clone()).unwrap_or_default(),
                monitor_errors: monitor.map(|m| m.errors.clone()).unwrap_or_default(),
            },
            load: load_info(config, outcome, level),
            requests: Requests {
                total,
                ok: counts.ok,
                errors: counts.errors,
                dropped: counts.dropped,
                unfinished: counts.unfinished,
                drained: counts.drained,
                connections: counts.connections,
                reconnects: counts.reconnects,
                by_status: counts
                    .by_status
                    .iter()
                    .map(|(s, n)| (s.to_string(), *n))
                    .collect(),
                errors_by_kind: ErrorKind::ALL
                    .into_iter()
                    .map(|k| (k.name().to_string(), counts.errors_of(k)))
                    .filter(|&(_, n)| n > 0)
                    .collect::<BTreeMap<_, _>>(),
            },
            throughput_rps: finite(outcome.throughput_rps()),
            in_flight_mean: finite(outcome.in_flight_mean),
            bytes_received: counts.body_bytes,
            latency_ms: histogram::latency_summary(&outcome.latency),
            latency_histogram: histogram::log_buckets(&outcome.latency, BUCKETS),
            phases_ms: PhasesMs {
                connect: histogram::phase_summary(&outcome.phases.connect),
                tls_handshake: histogram::phase_summary(&outcome.phases.handshake),
                first_byte: histogram::phase_summary(&outcome.phases.ttfb),
            },
            tls: outcome.tls.as_ref().map(|t| TlsInfo {
                version: t.version.clone(),
                cipher: t.cipher.clone(),
                alpn: t.alpn.clone(),
            }),
            open_model,
            generator: Generator {
                cpu_user_s: finite(generator.cpu_user_s),
                cpu_sys_s: finite(generator.cpu_sys_s),
                cpu_us_per_request: if total == 0 {
                    0.0
                } else {
                    finite(cpu_s * 1e6 / total as f64)
                },
                threads_busy: generator.threads_busy.iter().map(|&b| finite(b)).collect(),
                saturated: generator.saturated,
            },
            timeline: outcome.timeline.iter().map(TimelinePoint::of).collect(),
            endpoints: outcome
                .endpoints
                .iter()
                .map(|e| endpoint_figures(outcome, e))
                .collect(),
            slo: slos
                .iter()
                .map(|s| {
                    let verdict = match s.endpoint() {
                        None => s.evaluate(&metrics),
                        Some(name) => s.evaluate(&endpoint_metrics_named(outcome, name)),
                    };
                    SloResult {
                        endpoint: s.endpoint().map(str::to_string),
                        ..slo_result(verdict)
                    }
                })
                .collect(),
            alerts: Vec::new(),
            ending: match outcome.ending {
                Ending::Completed => RunEnding::Completed,
                Ending::Interrupted => RunEnding::Interrupted,
                Ending::Unreachable => RunEnding::Unreachable,
            },
            warnings: Vec::new(),
        };
        record.warnings = warnings::of(&record, outcome, config);
        record
    }
}

/// The figures objectives are checked against. Latency figures are NaN when no response
/// was received and the error rate is NaN without requests: such objectives fail. The
/// target's CPU and memory are NaN here: [`RunRecord::build`] takes them from the monitor.
pub fn metrics(outcome: &Outcome) -> Metrics {
    let h = &outcome.latency;
    let total = outcome.counts.total();
    Metrics {
        p50_ms: histogram::quantile_ms(h, 0.5),
        p75_ms: histogram::quantile_ms(h, 0.75),
        p90_ms: histogram::quantile_ms(h, 0.9),
        p95_ms: histogram::quantile_ms(h, 0.95),
        p99_ms: histogram::quantile_ms(h, 0.99),
        p99_9_ms: histogram::quantile_ms(h, 0.999),
        max_ms: histogram::max_ms(h),
        mean_ms: histogram::mean_ms(h),
        error_rate: if total == 0 {
            f64::NAN
        } else {
            outcome.counts.errors as f64 / total as f64
        },
        rps: outcome.throughput_rps(),
        cpu_cores: f64::NAN,
        rss_mb: f64::NAN,
    }
}

/// The figures an objective on one endpoint is checked against: its latency, error rate
/// and throughput (the target's CPU and memory are not an endpoint's: NaN).
pub fn endpoint_metrics(outcome: &Outcome, endpoint: &EndpointOutcome) -> Metrics {
    let h = &endpoint.latency;
    let total = endpoint.total();
    Metrics {
        p50_ms: histogram::quantile_ms(h, 0.5),
        p75_ms: histogram::quantile_ms(h, 0.75),
        p90_ms: histogram::quantile_ms(h, 0.9),
        p95_ms: histogram::quantile_ms(h, 0.95),
        p99_ms: histogram::quantile_ms(h, 0.99),
        p99_9_ms: histogram::quantile_ms(h, 0.999),
        max_ms: histogram::max_ms(h),
        mean_ms: histogram::mean_ms(h),
        error_rate: if total == 0 {
            f64::NAN
        } else {
            endpoint.errors as f64 / total as f64
        },
        rps: outcome.endpoint_rps(endpoint),
        cpu_cores: f64::NAN,
        rss_mb: f64::NAN,
    }
}

/// [`endpoint_metrics`] of the endpoint called `name`; every figure NaN (so every
/// objective fails) when the run has no such endpoint.
fn endpoint_metrics_named(outcome: &Outcome, name: &str) -> Metrics {
    outcome.endpoints.iter().find(|e| e.name == name).map_or(
        Metrics {
            p50_ms: f64::NAN,
            p75_ms: f64::NAN,
            p90_ms: f64::NAN,
            p95_ms: f64::NAN,
            p99_ms: f64::NAN,
            p99_9_ms: f64::NAN,
            max_ms: f64::NAN,
            mean_ms: f64::NAN,
            error_rate: f64::NAN,
            rps: f64::NAN,
            cpu_cores: f64::NAN,
            rss_mb: f64::NAN,
        },
        |e| endpoint_metrics(outcome, e),
    )
}

fn endpoint_figures(outcome: &Outcome, e: &EndpointOutcome) -> EndpointFigures {
    EndpointFigures {
        name: e.name.clone(),
        requests: e.total(),
        ok: e.ok,
        errors: e.errors,
        errors_by_kind: ErrorKind::ALL
            .into_iter()
            .map(|k| (k.name().to_string(), e.errors_of(k)))
            .filter(|&(_, n)| n > 0)
            .collect(),
        throughput_rps: finite(outcome.endpoint_rps(e)),
        latency_ms: histogram::latency_summary(&e.latency),
        waited_s: finite(e.waited.as_secs_f64()),
        time_share: finite(outcome.endpoint_share(e)),
    }
}

fn slo_result(v: Verdict) -> SloResult {
    SloResult {
        endpoint: None,
        expr: v.expr,
        metric: v.metric.to_string(),
        value: v.value.is_finite().then_some(v.value),
        threshold: v.threshold,
        unit: v.unit.to_string(),
        pass: v.pass,
    }
}

/// JSON has no NaN or infinity: such a value is written as 0.
pub(super) fn finite(x: f64) -> f64 {
    if x.is_finite() { x } else { 0.0 }
}

fn load_info(config: &LoadConfig, outcome: &Outcome, level: Option<&str>) -> LoadInfo {
    let plan = config.model.plan();
    let (model, connections, max_connections, rate) = match &config.model {
        Model::Closed { connections } => (
            LoadModel::Closed,
            Some(connections.peak().ceil() as u64),
            None,
            None,
        ),
        Model::Open {
            rate,
            max_connections,
        } => (
            LoadModel::Open,
            None,
            Some(*max_connections as u64),
            Some(rate.peak()),
        ),
    };
    let threads = match outcome.generator.threads_busy.len() {
        0 => config.threads,
        n => n,
    };
    LoadInfo {
        model,
        connections,
        max_connections,
        rate,
        duration_s: outcome.measured.as_secs_f64(),
        warmup_s: config.limits.warmup.as_secs_f64(),
        threads: threads as u64,
        request_limit: config.limits.requests,
        timeout_s: config.limits.timeout.as_secs_f64(),
        stages: match plan {
            Plan::Constant(_) => None,
            Plan::Stages(stages) => Some(
                stages
                    .iter()
                    .map(|s| StageInfo {
                        duration_s: s.duration.as_secs_f64(),
                        target: s.target,
                    })
                    .collect(),
            ),
        },
        level: level.map(str::to_string),
        io_backend: Some(match outcome.backend {
            Backend::Epoll => IoBackend::Epoll,
            Backend::Uring => IoBackend::Uring,
        }),
    }
}

/// The mean arrival rate the plan asked for over the measured window, which starts after
/// the warm-up and lasts `window`. Stages are linear, so each piece integrates exactly.
fn asked_rate(config: &LoadConfig, window: Duration) -> f64 {
    let plan = config.model.plan();
    let from = config.limits.warmup.as_secs_f64();
    let len = window.as_secs_f64();
    let Plan::Stages(stages) = plan else {
        return plan.peak();
    };
    if len <= 0.0 {
        return plan.at(from);
    }
    let to = from + len;
    let (mut start, mut level, mut area) = (0.0, 0.0, 0.0);
    for s in stages {
        let d = s.duration.as_secs_f64();
        let value = |t: f64| level + (s.target - level) * (t - start) / d;
        let (a, b) = (from.max(start), to.min(start + d));
        if b > a {
            area += (b - a) * (value(a) + value(b)) / 2.0;
        }
        start += d;
        level = s.target;
    }
    area / len
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(super) mod tests {
    use super::*;
    use crate::run::WarningKind;
    use hdrhistogram::Histogram;
    use perfloop_engine::{
        Counts, GeneratorUsage, Limits, RequestSpec, Stage, Target, TimelineRow,
    };

    pub(crate) fn config(model: Model) -> LoadConfig {
        let target = Target::parse("http://127.0.0.1:9/?token=abc").unwrap();
        LoadConfig {
            request: RequestSpec {
                method: "GET".into(),
                authority: target.authority.clone(),
                path: target.path.clone(),
                headers: vec![("Authorization".into(), "Bearer secret".into())],
                body: vec![],
                alternate_bodies: vec![],
                scenario: None,
            },
            target,
            model,
            threads: 4,
            raw: None,
            limits: Limits {
                duration: Some(Duration::from_secs(2)),
                requests: None,
                warmup: Duration::ZERO,
                timeout: Duration::from_secs(1),
            },
        }
    }

    pub(crate) fn outcome(latencies_us: &[u64], counts: Counts, saturated: bool) -> Outcome {
        let mut latency = Histogram::new_with_bounds(1, 60_000_000, 3).unwrap();
        for &v in latencies_us {
            latency.record(v).unwrap();
        }
        Outcome {
            latency,
            lag: None,
            counts,
            timeline: vec![TimelineRow {
                t_s: 0,
                length_s: 1.0,
                requests: 3,
                errors: 1,
                rps: 3.0,
                p50_ms: Some(1.0),
                p90_ms: Some(2.0),
                p99_ms: Some(3.0),
                max_ms: Some(3.0),
                latency_buckets: vec![(694, 1), (763, 1)],
                endpoints: Vec::new(),
            }],
            measured: Duration::from_secs(2),
            window: Duration::from_secs(2),
            generator: GeneratorUsage {
                cpu_user_s: 0.002,
                cpu_sys_s: 0.001,
                threads_busy: vec![if saturated { 0.95 } else { 0.1 }, 0.1],
                saturated,
            },
            ending: Ending::Completed,
            peak_connections: 2,
            in_flight_mean: 1.5,
            unfinished_age: Histogram::new_with_bounds(1, 60_000_000, 3).unwrap(),
            answering: Duration::ZERO,
            last_connect_error: None,
            endpoints: Vec::new(),
            waited: Duration::ZERO,
            phases: perfloop_engine::Phases::default(),
            tls: None,
            backend: Backend::Uring,
        }
    }

    pub(crate) fn counts() -> Counts {
        let mut c = Counts {
            ok: 2,
            errors: 1,
            sent: 3,
            body_bytes: 24,
            ..Counts::default()
        };
        c.by_status.insert(200, 2);
        c.by_kind[ErrorKind::ALL
            .iter()
            .position(|k| *k == ErrorKind::Timeout)
            .unwrap()] = 1;
        c
    }

    #[test]
    fn a_record_carries_the_outcome_in_report_units() {
        let config = config(Model::Closed {
            connections: Plan::Constant(2.0),
        });
        let outcome = outcome(&[1000, 2000], counts(), true);
        let slos = [
            Slo::parse("p99<5ms").unwrap(),
            Slo::parse("error_rate<1%").unwrap(),
        ];
        let record = RunRecord::build(&BuildInput {
            config: &config,
            outcome: &outcome,
            slos: &slos,
            level: Some("smoke"),
            started_at: SystemTime::UNIX_EPOCH + Duration::from_secs(86_400),
            monitor: None,
            target_command: None,
        });
        assert_eq!(record.schema, "perfloop.run.v1");
        assert_eq!(record.started_at, "1970-01-02T00:00:00Z");
        assert_eq!(record.target.url, "http://127.0.0.1:9/?token=REDACTED");
        assert_eq!(record.target.header_names, ["Authorization"]);
        let r = &record.requests;
        assert_eq!((r.total, r.ok, r.errors), (3, 2, 1));
        assert_eq!(
            r.errors_by_kind,
            BTreeMap::from([("timeout".to_string(), 1)])
        );
        assert_eq!(r.by_status, BTreeMap::from([("200".to_string(), 2)]));
        assert_eq!(record.bytes_received, 24);
        assert_eq!(record.throughput_rps, 1.5);
        assert_eq!((record.latency_ms.p50, record.latency_ms.max), (1.0, 2.0));
        assert_eq!(record.load.connections, Some(2));
        assert_eq!(record.load.threads, 2);
        assert_eq!(record.load.level.as_deref(), Some("smoke"));
        assert_eq!(record.load.io_backend, Some(IoBackend::Uring));
        let json = serde_json::to_value(&record).unwrap();
        assert_eq!(json["load"]["io_backend"], "uring");
        // A record made before the backend was recorded reads back with none.
        let mut old = json;
        old["load"].as_object_mut().unwrap().remove("io_backend");
        let old: RunRecord = serde_json::from_value(old).unwrap();
        assert_eq!(old.load.io_backend, None);
        assert!(record.open_model.is_none());
        assert!((record.generator.cpu_us_per_request - 1000.0).abs() < 1e-9);
        assert_eq!(record.timeline.len(), 1);
        assert_eq!(record.slo.len(), 2);
        assert!(record.slo[0].pass);
        assert!(!record.slo[1].pass);
        assert_eq!(record.slo[1].value, Some(1.0 / 3.0));
        assert!(record.slo_failed());
        let first = &record.warnings[0];
        assert_eq!(first.kind, WarningKind::GeneratorSaturated, "{first:?}");
        assert!(first.invalidates && first.message.starts_with("GENERATOR SATURATED"));
        // A short window is no warning by itself: it changes no figure.
        assert_eq!(record.warnings.len(), 1, "{:?}", record.warnings);
    }

    #[test]
    fn objectives_on_unmeasured_figures_fail_and_record_null() {
        let config = config(Model::Closed {
            connections: Plan::Constant(1.0),
        });
        let mut c = counts();
        c.ok = 0;
        c.by_status.clear();
        let outcome = outcome(&[], c, false);
        let slos = [Slo::parse("p99<1s").unwrap()];
        let record = RunRecord::build(&BuildInput {
            config: &config,
            outcome: &outcome,
            slos: &slos,
            level: None,
            started_at: SystemTime::now(),
            monitor: None,
            target_command: None,
        });
        assert_eq!(record.slo[0].value, None);
        assert!(!record.slo[0].pass);
        assert_eq!(record.latency_ms.count, 0);
        assert!(record.latency_histogram.is_empty());
        let w = record.warning(WarningKind::NoSuccess).unwrap();
        assert!(
            w.invalidates && w.message.contains("the 1 request"),
            "{w:?}"
        );
        assert!(record.warning(WarningKind::GeneratorSaturated).is_none());
    }

    #[test]
    fn the_asked_rate_is_the_mean_of_the_plan_over_the_window() {
        let s = Duration::from_secs;
        let ramp = Plan::Stages(vec![
            Stage {
                duration: s(10),
                target: 100.0,
            },
            Stage {
                duration: s(10),
                target: 100.0,
            },
            Stage {
                duration: s(10),
                target: 0.0,
            },
        ]);
        let open = |rate: Plan| {
            config(Model::Open {
                rate,
                max_connections: 10,
            })
        };
        // Area: 500 + 1000 + 500 over 30 s.
        assert!((asked_rate(&open(ramp.clone()), s(30)) - 2000.0 / 30.0).abs() < 1e-9);
        // Interrupted after 10 s: the first ramp only.
        assert!((asked_rate(&open(ramp), s(10)) - 50.0).abs() < 1e-9);
        assert_eq!(asked_rate(&open(Plan::Constant(250.0)), s(3)), 250.0);
    }
}
