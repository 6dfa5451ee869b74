//! From an engine [`Outcome`] to a [`RunRecord`]: unit conversion (µs to ms), the figures
//! objectives are checked against ([`metrics`]), SLO verdicts and the warnings that say
//! when the figures should not be trusted.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use perfloop_engine::{Ending, ErrorKind, LoadConfig, Model, Outcome, Plan, SATURATION_BUSY};
use perfloop_stats::{Metrics, Slo, Verdict};

use crate::histogram::{self, BUCKETS};
use crate::record::{
    Generator, LoadInfo, LoadModel, OpenModel, Requests, RunEnding, RunRecord, SCHEMA, SloResult,
    StageInfo, TargetInfo, TimelinePoint, Warning, WarningKind,
};

/// Below this relative difference a bound and a figure are the same value (the histograms
/// keep 3 significant digits).
const SAME_VALUE: f64 = 0.001;

/// The latency figures a run reports, as (name, quantile); `max` is quantile 1.
const LATENCY_FIGURES: [(&str, f64); 7] = [
    ("p50", 0.5),
    ("p75", 0.75),
    ("p90", 0.9),
    ("p95", 0.95),
    ("p99", 0.99),
    ("p99.9", 0.999),
    ("max", 1.0),
];

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
        let metrics = metrics(outcome);
        let open_model = matches!(config.model, Model::Open { .. }).then(|| OpenModel {
            asked_rate: finite(asked_rate(config, outcome.window)),
            achieved_rate: finite(outcome.achieved_rate()),
            peak_connections: outcome.peak_connections as u64,
            answering_s: finite(outcome.answering.as_secs_f64()),
            lag_ms: outcome.lag.as_ref().map_or(
                crate::record::LagMs {
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
                method: config.request.method.clone(),
                header_names: config
                    .request
                    .headers
                    .iter()
                    .map(|(n, _)| n.clone())
                    .collect(),
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
            timeline: outcome
                .timeline
                .iter()
                .map(|r| TimelinePoint {
                    t_s: r.t_s,
                    length_s: finite(r.length_s),
                    requests: r.requests,
                    errors: r.errors,
                    rps: finite(r.rps),
                    p50_ms: r.p50_ms.map(finite),
                    p90_ms: r.p90_ms.map(finite),
                    p99_ms: r.p99_ms.map(finite),
                    max_ms: r.max_ms.map(finite),
                })
                .collect(),
            slo: slos
                .iter()
                .map(|s| slo_result(s.evaluate(&metrics)))
                .collect(),
            ending: match outcome.ending {
                Ending::Completed => RunEnding::Completed,
                Ending::Interrupted => RunEnding::Interrupted,
                Ending::Unreachable => RunEnding::Unreachable,
            },
            warnings: Vec::new(),
        };
        record.warnings = warnings(&record, outcome);
        if let Some(w) = handshakes(&record.requests, input.config) {
            record.warnings.push(w);
        }
        record
    }
}

/// The figures objectives are checked against. Latency figures are NaN when no response
/// was received and the error rate is NaN without requests: such objectives fail.
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
    }
}

fn slo_result(v: Verdict) -> SloResult {
    SloResult {
        expr: v.expr,
        metric: v.metric.to_string(),
        value: v.value.is_finite().then_some(v.value),
        threshold: v.threshold,
        unit: v.unit.to_string(),
        pass: v.pass,
    }
}

/// JSON has no NaN or infinity: such a value is written as 0.
fn finite(x: f64) -> f64 {
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

/// The warnings of a run: only conditions that can change a reported figure, each with
/// the figures it changes and by how much; those that invalidate the figures first.
fn warnings(record: &RunRecord, outcome: &Outcome) -> Vec<Warning> {
    let mut w = Vec::new();
    let gen_ = &record.generator;
    if gen_.saturated {
        let busiest = gen_.threads_busy.iter().copied().fold(0.0, f64::max);
        w.push(Warning::new(
            WarningKind::GeneratorSaturated,
            format!(
                "GENERATOR SATURATED: a worker thread was busy {:.0} % of the run (limit {:.0} \
                 %). These figures measure perfloop, not the target: give it more cores \
                 (--threads) or offer less load per machine.",
                busiest * 100.0,
                SATURATION_BUSY * 100.0
            ),
        ));
    }
    let req = &record.requests;
    match record.ending {
        RunEnding::Unreachable => w.push(Warning::new(
            WarningKind::Unreachable,
            match &outcome.last_connect_error {
                Some(e) => format!("the target was unreachable: no connection succeeded ({e})"),
                None => "the target was unreachable: no connection succeeded".to_string(),
            },
        )),
        RunEnding::Interrupted | RunEnding::Completed if req.ok == 0 => w.push(Warning::new(
            WarningKind::NoSuccess,
            if req.total == 0 {
                "no request completed in the measured window: there is no figure to read"
                    .to_string()
            } else {
                format!(
                    "no successful response (status below 400): {} of {} failed, so the figures \
                     measure failures, not the service",
                    if req.total == 1 {
                        "the 1 request"
                    } else {
                        "all"
                    },
                    req.total
                )
            },
        )),
        _ => {}
    }
    if record.ending == RunEnding::Interrupted {
        w.push(Warning::new(
            WarningKind::Interrupted,
            format!(
                "the run was interrupted after {:.1} s: its figures cover only that part",
                record.load.duration_s
            ),
        ));
    }
    w.extend(unfinished(outcome));
    w.extend(dropped(outcome));
    if let Some(open) = &record.open_model {
        if open.asked_rate > 0.0 && open.achieved_rate < 0.99 * open.asked_rate {
            w.push(Warning::new(
                WarningKind::RateShort,
                format!(
                    "the achieved rate {:.1}/s is {:.1} % below the asked {:.1}/s: the target \
                     was offered less than asked",
                    open.achieved_rate,
                    (1.0 - open.achieved_rate / open.asked_rate) * 100.0,
                    open.asked_rate
                ),
            ));
        }
    }
    if let Some(s) = &record.target.summary {
        if s.scrapes > s.scrape_failures && s.scrape_series_kept == 0 && s.scrape_series_exposed > 0
        {
            w.push(Warning::new(
                WarningKind::ScrapeKeptNothing,
                format!(
                    "the scrape match expression kept none of the {} series the target \
                     exposes: no scraped series was recorded",
                    s.scrape_series_exposed
                ),
            ));
        }
    }
    w.sort_by_key(|w| !w.invalidates);
    w
}

/// A server that ignores keep-alive costs a handshake per request: say so when the
/// connections opened come near the requests counted.
fn handshakes(req: &Requests, config: &LoadConfig) -> Option<Warning> {
    let asked_to_close = config.request.closes_each();
    if req.total < 20 || (req.connections as f64) < 0.5 * req.total as f64 || asked_to_close {
        return None;
    }
    Some(Warning::new(
        WarningKind::HandshakePerRequest,
        format!(
            "{} connections were opened for {} requests: the server closed them after the              responses without saying so, so about every request paid a TCP handshake,              which its latency includes",
            req.connections, req.total
        ),
    ))
}

/// The requests still in flight when the run stopped will take at least the time they had
/// waited: counted with that time, each latency figure has a lower bound. A figure is
/// reported as understated when those already slower than it are more than the figure's
/// own sampling error — √(n·q·(1 − q)) responses, the binomial standard deviation of the
/// count below the `q` quantile of `n` — so that they move it by more than a second run
/// would (for the maximum, one is enough); the warning gives the bound. The others cannot
/// be shown to move: a request cut off early may still have been slow, but nothing
/// measured says so.
fn unfinished(outcome: &Outcome) -> Option<Warning> {
    let ages = &outcome.unfinished_age;
    let responses = &outcome.latency;
    if ages.is_empty() || outcome.counts.unfinished == 0 {
        return None;
    }
    let mut with_ages = responses.clone();
    with_ages.add(ages).ok()?;
    let n = responses.len() as f64;
    let raised: Vec<String> = LATENCY_FIGURES
        .iter()
        .filter_map(|&(name, q)| {
            let bound = histogram::quantile_ms(&with_ages, q);
            let reported = histogram::quantile_ms(responses, q);
            if reported.is_finite() {
                let slower = histogram::count_above_ms(ages, reported) as f64;
                let noise = (n * q * (1.0 - q)).sqrt();
                if slower <= noise || bound <= reported * (1.0 + SAME_VALUE) {
                    return None;
                }
            }
            Some(format!("{name} to at least {}", ms_text(bound)))
        })
        .collect();
    if raised.is_empty() {
        return None;
    }
    Some(Warning::new(
        WarningKind::Unfinished,
        format!(
            "{} requests were still in flight when the run stopped, the oldest for {}: counted \
             with the time they had already waited, they raise {}",
            outcome.counts.unfinished,
            ms_text(histogram::max_ms(ages)),
            list(&raised)
        ),
    ))
}

/// Open model: arrivals never sent have no latency. They can only move a percentile `q`
/// beyond every measured response when they are more than `1 − q` of all requests; the
/// warning names those percentiles (none: no warning; the achieved rate has its own).
fn dropped(outcome: &Outcome) -> Option<Warning> {
    let dropped = outcome.counts.dropped;
    let all = outcome.latency.len() + dropped;
    if dropped == 0 || all == 0 {
        return None;
    }
    let share = dropped as f64 / all as f64;
    // Not `max`: any one arrival could be the slowest, which says nothing.
    let moved: Vec<&str> = LATENCY_FIGURES
        .iter()
        .filter(|&&(_, q)| q < 1.0 && share > 1.0 - q)
        .map(|&(name, _)| name)
        .collect();
    if moved.is_empty() {
        return None;
    }
    Some(Warning::new(
        WarningKind::Dropped,
        format!(
            "{dropped} arrivals ({:.1} % of the requests) were never sent (no connection was \
             free): they have no latency, and so many could put {} above any response measured",
            share * 100.0,
            list(&moved.iter().map(|s| (*s).to_string()).collect::<Vec<_>>())
        ),
    ))
}

/// `a`, `a and b`, `a, b and c`.
fn list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// A latency in milliseconds as text: `850 µs`, `12.3 ms`, `2.10 s`.
fn ms_text(ms: f64) -> String {
    if !ms.is_finite() {
        "–".to_string()
    } else if ms < 1.0 {
        format!("{:.0} µs", ms * 1000.0)
    } else if ms < 1000.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{:.2} s", ms / 1000.0)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use hdrhistogram::Histogram;
    use perfloop_engine::{
        Counts, GeneratorUsage, Limits, RequestSpec, Stage, Target, TimelineRow,
    };

    fn config(model: Model) -> LoadConfig {
        let target = Target::parse("http://127.0.0.1:9/?token=abc").unwrap();
        LoadConfig {
            request: RequestSpec {
                method: "GET".into(),
                authority: target.authority.clone(),
                path: target.path.clone(),
                headers: vec![("Authorization".into(), "Bearer secret".into())],
                body: vec![],
                alternate_bodies: vec![],
            },
            target,
            model,
            threads: 4,
            limits: Limits {
                duration: Some(Duration::from_secs(2)),
                requests: None,
                warmup: Duration::ZERO,
                timeout: Duration::from_secs(1),
            },
        }
    }

    fn outcome(latencies_us: &[u64], counts: Counts, saturated: bool) -> Outcome {
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
        }
    }

    fn counts() -> Counts {
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

    fn record_of(outcome: &Outcome) -> RunRecord {
        let config = config(Model::Closed {
            connections: Plan::Constant(32.0),
        });
        RunRecord::build(&BuildInput {
            config: &config,
            outcome,
            slos: &[],
            level: None,
            started_at: SystemTime::now(),
            monitor: None,
            target_command: None,
        })
    }

    fn ages(outcome: &mut Outcome, ages_us: &[u64]) {
        for &a in ages_us {
            outcome.unfinished_age.record(a).unwrap();
        }
        outcome.counts.unfinished = ages_us.len() as u64;
    }

    #[test]
    fn requests_cut_off_young_change_no_figure() {
        // 32 connections cut off at the end of the window, each a few ms into a request
        // that takes 10 ms: nothing measured says they were slow.
        let mut o = outcome(&[10_000; 1000], counts(), false);
        ages(&mut o, &[2_000; 32]);
        let record = record_of(&o);
        assert!(record.warnings.is_empty(), "{:?}", record.warnings);
    }

    #[test]
    fn requests_older_than_a_percentile_raise_it_to_a_bound() {
        // 20 of 1020 requests (2 %) had waited 2 s when the run stopped: p99 and above are
        // at least 2 s; p95 stays what the responses say.
        let mut o = outcome(&[10_000; 1000], counts(), false);
        ages(&mut o, &[2_000_000; 20]);
        let record = record_of(&o);
        let w = record.warning(WarningKind::Unfinished).unwrap();
        assert!(!w.invalidates);
        assert!(
            w.message.starts_with("20 requests were still in flight"),
            "{}",
            w.message
        );
        assert!(
            w.message
                .contains("raise p99 to at least 2.00 s, p99.9 to at least 2.00 s and max to"),
            "{}",
            w.message
        );
        assert!(!w.message.contains("p95"), "{}", w.message);
        // One slow request among a thousand only moves the maximum.
        let mut o = outcome(&[10_000; 1000], counts(), false);
        ages(&mut o, &[500_000]);
        let w = record_of(&o)
            .warning(WarningKind::Unfinished)
            .cloned()
            .unwrap();
        assert!(
            w.message.contains("raise max to at least 500"),
            "{}",
            w.message
        );
    }

    #[test]
    fn dropped_arrivals_warn_only_when_they_can_move_a_percentile() {
        let mut c = counts();
        c.dropped = 5;
        let o = outcome(&[10_000; 95], c.clone(), false);
        let w = record_of(&o)
            .warning(WarningKind::Dropped)
            .cloned()
            .unwrap();
        // 5 of 100: more than 1 % and 0.1 %, not more than 5 %.
        assert!(
            w.message.contains("put p99 and p99.9 above"),
            "{}",
            w.message
        );
        c.dropped = 1;
        let o = outcome(&[10_000; 9999], c, false);
        assert!(record_of(&o).warning(WarningKind::Dropped).is_none());
    }

    #[test]
    fn a_scrape_that_kept_nothing_is_a_warning() {
        let o = outcome(&[10_000; 10], counts(), false);
        let config = config(Model::Closed {
            connections: Plan::Constant(1.0),
        });
        let mut monitor = perfloop_monitor::Recording::default();
        monitor.summary.scrapes = 3;
        monitor.summary.scrape_series_exposed = 42;
        let build = |monitor: &perfloop_monitor::Recording| {
            RunRecord::build(&BuildInput {
                config: &config,
                outcome: &o,
                slos: &[],
                level: None,
                started_at: SystemTime::now(),
                monitor: Some(monitor),
                target_command: None,
            })
        };
        let w = build(&monitor)
            .warning(WarningKind::ScrapeKeptNothing)
            .cloned()
            .unwrap();
        assert!(w.message.contains("none of the 42 series"), "{}", w.message);
        monitor.summary.scrape_series_kept = 1;
        assert!(
            build(&monitor)
                .warning(WarningKind::ScrapeKeptNothing)
                .is_none()
        );
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
