//! perfloop's load engine.
//!
//! [`run`] drives one run: it validates a [`LoadConfig`], starts one worker thread per
//! share of the load (each an event loop with its own connections and recorder, see
//! `worker`: `mio` over epoll, or io_uring for plain HTTP/1.1 as `--io` and the kernel
//! allow), collects each worker's finished seconds into the timeline as they arrive,
//! and merges the workers' histograms and counts into an [`Outcome`] at the end.
//!
//! The engine knows nothing of storage, reports or the command line.

mod config;
mod framing;
// The HTTP/2 codec is complete and tested on its own; the worker integration follows.
#[allow(dead_code)]
mod h2;
mod http;
mod level;
mod outcome;
mod recorder;
mod schedule;
mod source;
pub mod spec;
pub mod tls;
mod transport;
mod worker;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use perfloop_monitor::ProcessCpu;

pub use config::{
    ConfigError, IoChoice, Limits, LoadConfig, Model, RequestSpec, Target, parse_duration,
    parse_header, parse_rate, parse_stages,
};
pub use framing::{EscapeError, NO_STATUS, RawExchange, ResponseEnd, decode_escapes};
pub use http::HEADER_CAP;
pub use level::{Level, Preset};
use tls::PreflightError;

pub use outcome::{
    Backend, Counts, Ending, EndpointOutcome, EndpointSecond, ErrorKind, GeneratorUsage, Outcome,
    Phases, SATURATION_BUSY, SecondDetail, TimelineRow,
};
pub use schedule::{Arrivals, Plan, Stage};
pub use tls::{Negotiated, TlsClient, TlsOptions};

use recorder::{Basis, Interval, Recorder, Report, Tally, Window, WorkerResult, histogram};
use worker::{Share, Shared, Worker};

/// The share of the open model's answers trimmed from each end of their completion times
/// when measuring how long the target took to answer the window's arrivals.
const ANSWER_TRIM: f64 = 0.01;

/// Receives the timeline as the run goes.
pub trait Observer {
    /// A second of the measured window is complete.
    fn second(&mut self, row: &TimelineRow);

    /// A second of the measured window is complete, with what a live display shows beside
    /// its row (statuses, requests in flight, the busiest worker); the engine calls this,
    /// and by default it hands the row to [`Observer::second`].
    fn second_detail(&mut self, row: &TimelineRow, detail: &SecondDetail) {
        let _ = detail;
        self.second(row);
    }
}

/// An observer that ignores everything.
#[derive(Debug, Default, Clone, Copy)]
pub struct Silent;

impl Observer for Silent {
    fn second(&mut self, _row: &TimelineRow) {}
}

/// A run that could not take place.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A worker thread could not be started.
    #[error("cannot start worker thread: {0}")]
    Spawn(#[source] std::io::Error),
}

/// Runs the load described by `config` until it ends or `stop` is set.
pub fn run(
    config: &LoadConfig,
    stop: Arc<AtomicBool>,
    observer: &mut dyn Observer,
) -> Result<Outcome, RunError> {
    config.validate()?;
    let tls = match &config.target.tls {
        Some(client) => preflight(client, config)?,
        None => None,
    };
    if config.target.http2.is_some() {
        http2_preflight(config, tls.as_ref())?;
    }
    let backend = backend(config)?;
    let wires = source::Wires::new(config);
    let names = config.endpoint_names();
    let plan = config.model.plan();
    let duration = config.limits.duration.or(plan.length());
    let workers = match &config.model {
        Model::Closed { connections } => config.threads.min(connections.peak().max(1.0) as usize),
        Model::Open {
            max_connections, ..
        } => config.threads.min(*max_connections),
    }
    .max(1);
    let max_per_worker = match &config.model {
        Model::Open {
            max_connections, ..
        } => max_connections.div_ceil(workers),
        Model::Closed { .. } => usize::MAX,
    };

    let shared = Shared {
        stop,
        ..Shared::default()
    };
    let (tx, rx) = mpsc::channel::<Report>();
    let cpu0 = ProcessCpu::now();
    let t0 = Instant::now();
    let window_start = t0 + config.limits.warmup;
    let window_end = duration.map(|d| window_start + d);
    // A closed-model run with a duration counts what completes in its window; every other
    // run counts the requests its window sends (see the recorder).
    let closed = matches!(config.model, Model::Closed { .. });
    let basis = if closed && window_end.is_some() && config.limits.requests.is_none() {
        Basis::Completed
    } else {
        Basis::Started
    };
    let window = Window {
        start: window_start,
        end: window_end,
        basis,
    };

    let mut results: Vec<Option<(WorkerResult, Instant)>> = (0..workers).map(|_| None).collect();
    let mut rows = RowAssembler::new(workers);
    std::thread::scope(|scope| -> Result<(), RunError> {
        for id in 0..workers {
            let share = Share {
                id,
                workers,
                t0,
                window_start,
                window_end,
                quota: config
                    .limits
                    .requests
                    .map(|n| n / workers as u64 + u64::from((id as u64) < n % workers as u64)),
                max_connections: max_per_worker,
                backend,
            };
            let tx = tx.clone();
            let (shared, wires) = (&shared, &wires);
            let endpoints = names.len();
            let spawned = std::thread::Builder::new()
                .name(format!("perfloop-worker-{id}"))
                .spawn_scoped(scope, move || {
                    let rec = Recorder::new(id, window, tx.clone()).endpoints(endpoints);
                    match Worker::new(share, shared, config, wires, rec) {
                        Ok(w) => w.run(),
                        Err(e) => {
                            shared.stop.store(true, Ordering::Relaxed);
                            let rec = Recorder::new(id, window, tx);
                            rec.finish(|rec| WorkerResult {
                                latency: rec.latency,
                                lag: rec.lag,
                                unfinished_age: rec.unfinished_age,
                                completed_at: rec.completed_at,
                                counts: rec.counts,
                                busy: 0.0,
                                last_completion: None,
                                last_start: None,
                                peak_connections: 0,
                                residence: Duration::ZERO,
                                ever_connected: false,
                                last_connect_error: Some(format!("worker setup failed: {e}")),
                                waited: Duration::ZERO,
                                endpoints: Vec::new(),
                                phases: rec.phases,
                            });
                        }
                    }
                });
            if let Err(e) = spawned {
                shared.stop.store(true, Ordering::Relaxed);
                return Err(RunError::Spawn(e));
            }
        }
        drop(tx);
        while let Ok(report) = rx.recv() {
            match report {
                Report::Interval(w, interval) => rows.add(w, interval, observer),
                Report::Done(w, result) => {
                    results[w] = Some((*result, Instant::now()));
                    rows.worker_done(w, observer);
                }
            }
        }
        Ok(())
    })?;

    let interrupted = shared.stop.load(Ordering::Relaxed);
    let stopped_at = results
        .iter()
        .flatten()
        .map(|(_, at)| *at)
        .max()
        .unwrap_or(t0);
    let last_completion = results
        .iter()
        .flatten()
        .filter_map(|(r, _)| r.last_completion)
        .max();
    let last_start = results
        .iter()
        .flatten()
        .filter_map(|(r, _)| r.last_start)
        .max();
    let since_start = |t: Instant| t.saturating_duration_since(window_start);
    let cpu = ProcessCpu::now().since(cpu0);

    let mut latency = histogram();
    let mut lag = histogram();
    let mut unfinished_age = histogram();
    let mut completed_at = histogram();
    let mut counts = Counts::default();
    let mut busy = Vec::with_capacity(workers);
    let mut peak_connections = 0;
    let mut residence = Duration::ZERO;
    let mut any_connected = false;
    let mut last_connect_error = None;
    let mut waited = Duration::ZERO;
    let mut tallies: Vec<Tally> = Vec::new();
    let mut phases = Phases::default();
    for (r, _) in results.into_iter().flatten() {
        phases.merge(&r.phases);
        waited += r.waited;
        if tallies.len() < r.endpoints.len() {
            tallies.resize_with(r.endpoints.len(), Tally::new);
        }
        for (mine, theirs) in tallies.iter_mut().zip(&r.endpoints) {
            mine.merge(theirs);
        }
        let _ = latency.add(&r.latency);
        let _ = lag.add(&r.lag);
        let _ = unfinished_age.add(&r.unfinished_age);
        let _ = completed_at.add(&r.completed_at);
        counts.merge(&r.counts);
        busy.push(r.busy);
        peak_connections += r.peak_connections;
        residence += r.residence;
        any_connected |= r.ever_connected;
        last_connect_error = last_connect_error.or(r.last_connect_error);
    }
    // A request count can end the run before the duration does.
    let by_count = config
        .limits
        .requests
        .is_some_and(|n| counts.sent + counts.dropped >= n);
    let window_end = window_end.filter(|_| !by_count);
    let measured = match (window_end, &config.model) {
        _ if interrupted => since_start(stopped_at),
        (Some(end), Model::Closed { .. }) => end - window_start,
        // The open model drains what is in flight after the window.
        (Some(end), Model::Open { .. }) => {
            (end - window_start).max(last_completion.map_or(Duration::ZERO, since_start))
        }
        (None, _) => last_completion.map_or_else(|| since_start(stopped_at), since_start),
    };
    let window = match (window_end, &config.model) {
        (Some(end), _) => measured.min(end - window_start),
        // A request count ends the open model's schedule with its last arrival: the window
        // is the span of the arrivals plus the one gap that the last of them stands for.
        (None, Model::Open { rate, .. }) if !interrupted => last_start.map_or(measured, |l| {
            let r = rate.at(l.saturating_duration_since(t0).as_secs_f64());
            let gap = if r > 0.0 { 1.0 / r } else { 0.0 };
            since_start(l) + Duration::try_from_secs_f64(gap).unwrap_or_default()
        }),
        (None, _) => measured,
    };
    // The open model's arrivals are answered after the window when the target cannot keep
    // up: then throughput is per second of the time it took to answer them.
    let answering = match &config.model {
        Model::Open { .. } if completed_at.len() >= 2 => {
            let span = |lo: f64, hi: f64| {
                let (a, b) = (
                    completed_at.value_at_quantile(lo),
                    completed_at.value_at_quantile(hi),
                );
                Duration::from_micros(b.saturating_sub(a)).div_f64(hi - lo)
            };
            span(ANSWER_TRIM, 1.0 - ANSWER_TRIM)
        }
        _ => Duration::ZERO,
    };
    let in_flight_mean = if window.is_zero() {
        0.0
    } else {
        residence.as_secs_f64() / window.as_secs_f64()
    };
    let never_connected = !any_connected
        && (shared.unreachable.load(Ordering::Relaxed) || last_connect_error.is_some());
    let ending = if never_connected {
        Ending::Unreachable
    } else if interrupted {
        Ending::Interrupted
    } else {
        Ending::Completed
    };
    let saturated = busy.iter().any(|&b| b >= SATURATION_BUSY);
    let endpoints = endpoint_outcomes(names, tallies, &latency, &counts, waited);
    Ok(Outcome {
        latency,
        lag: matches!(config.model, Model::Open { .. }).then_some(lag),
        counts,
        timeline: rows.finish(window),
        measured,
        window,
        generator: GeneratorUsage {
            cpu_user_s: cpu.user.as_secs_f64(),
            cpu_sys_s: cpu.sys.as_secs_f64(),
            threads_busy: busy,
            saturated,
        },
        ending,
        peak_connections,
        in_flight_mean,
        unfinished_age,
        answering,
        last_connect_error,
        endpoints,
        waited,
        phases,
        tls,
        backend,
    })
}

/// The I/O backend of a run: `--io epoll` as asked; `--io uring` if io_uring works here (a
/// ring and a no-op through it), else bad input naming why; `--io auto` io_uring when the
/// run is plain HTTP/1.1 and io_uring works, else epoll, silently.
fn backend(config: &LoadConfig) -> Result<Backend, RunError> {
    match config.target.io {
        IoChoice::Epoll => Ok(Backend::Epoll),
        IoChoice::Auto if config.epoll_only().is_some() => Ok(Backend::Epoll),
        IoChoice::Auto => Ok(match perfloop_uring::Ring::probe() {
            Ok(()) => Backend::Uring,
            Err(_) => Backend::Epoll,
        }),
        IoChoice::Uring => match perfloop_uring::Ring::probe() {
            Ok(()) => Ok(Backend::Uring),
            Err(e) => Err(RunError::Config(ConfigError::Invalid(format!(
                "--io uring: io_uring is not available here ({e}); use --io epoll or --io auto"
            )))),
        },
    }
}

/// One TLS handshake before the run. A handshake that TLS itself refuses (the server's
/// certificate, an alert, a server that does not speak TLS) is bad input: the run would
/// only count failures. A network failure is left to the run, which counts it.
fn preflight(client: &TlsClient, config: &LoadConfig) -> Result<Option<Negotiated>, RunError> {
    match client.preflight(config.target.addr, config.limits.timeout) {
        Ok(negotiated) => Ok(Some(negotiated)),
        Err(PreflightError::Io(_)) => Ok(None),
        Err(PreflightError::Tls(e)) => {
            let hint = match e {
                // `openssl req -x509` makes a CA certificate unless told otherwise.
                rustls::Error::InvalidCertificate(_)
                    if e.to_string().contains("CaUsedAsEndEntity") =>
                {
                    "; the server presents a CA certificate as its own (make it with \
                     basicConstraints=critical,CA:FALSE), or skip the check with --insecure"
                }
                rustls::Error::InvalidCertificate(_) => {
                    "; give the server's CA with --cacert FILE, or skip the check with --insecure"
                }
                rustls::Error::InvalidMessage(_) | rustls::Error::InappropriateMessage { .. } => {
                    "; does the server speak TLS on this port? (http:// for plain HTTP)"
                }
                rustls::Error::AlertReceived(rustls::AlertDescription::NoApplicationProtocol)
                    if config.target.http2.is_some() =>
                {
                    "; the server does not offer HTTP/2 (ALPN h2): drop --http2 for HTTP/1.1"
                }
                rustls::Error::AlertReceived(_) => {
                    "; the server refused the handshake (a client certificate it wants: --cert \
                     FILE --key FILE)"
                }
                _ => "",
            };
            Err(RunError::Config(ConfigError::Tls(format!(
                "TLS handshake with {} failed: {e}{hint}",
                config.target.url
            ))))
        }
    }
}

/// `--http2` against a server that does not speak it is bad input: over TLS, ALPN did not
/// choose `h2` in the handshake before the run; over plain TCP, one connection's answer to
/// the HTTP/2 preface is HTTP/1.x.
fn http2_preflight(config: &LoadConfig, tls: Option<&Negotiated>) -> Result<(), RunError> {
    let refuse = |why: String| {
        Err(RunError::Config(ConfigError::Invalid(format!(
            "--http2: {} does not speak HTTP/2: {why}; drop --http2 for HTTP/1.1",
            config.target.url
        ))))
    };
    match tls {
        Some(negotiated) if negotiated.alpn.as_deref() != Some("h2") => refuse(format!(
            "its TLS handshake chose {} instead of h2",
            negotiated
                .alpn
                .as_deref()
                .map_or("no protocol (ALPN)".to_string(), |p| format!("'{p}'"))
        )),
        Some(_) => Ok(()),
        None if config.target.tls.is_some() => Ok(()),
        None => match worker::h2_preflight(config.target.addr, config.limits.timeout) {
            Ok(()) => Ok(()),
            Err(why) => refuse(format!("{why} (prior knowledge over http://)")),
        },
    }
}

/// Each endpoint's figures: its tally, or for a run of one endpoint, the totals.
fn endpoint_outcomes(
    names: Vec<String>,
    tallies: Vec<Tally>,
    latency: &Histogram<u64>,
    counts: &Counts,
    waited: Duration,
) -> Vec<EndpointOutcome> {
    if tallies.is_empty() {
        return names
            .into_iter()
            .take(1)
            .map(|name| EndpointOutcome {
                name,
                latency: latency.clone(),
                ok: counts.ok,
                errors: counts.errors,
                by_kind: counts.by_kind,
                waited,
            })
            .collect();
    }
    names
        .into_iter()
        .zip(tallies)
        .map(|(name, t)| EndpointOutcome {
            name,
            latency: t.latency,
            ok: t.ok,
            errors: t.errors,
            by_kind: t.by_kind,
            waited: t.waited,
        })
        .collect()
}

/// Merges the workers' seconds into timeline rows, in order, as soon as every worker has
/// reported a second (or ended).
struct RowAssembler {
    pending: BTreeMap<u64, Interval>,
    reported: Vec<Option<u64>>,
    done: Vec<bool>,
    next: u64,
    rows: Vec<TimelineRow>,
}

impl RowAssembler {
    fn new(workers: usize) -> Self {
        RowAssembler {
            pending: BTreeMap::new(),
            reported: vec![None; workers],
            done: vec![false; workers],
            next: 0,
            rows: Vec::new(),
        }
    }

    fn add(&mut self, worker: usize, interval: Interval, observer: &mut dyn Observer) {
        self.reported[worker] = Some(interval.index);
        match self.pending.get_mut(&interval.index) {
            Some(row) => {
                let _ = row.latency.add(&interval.latency);
                row.requests += interval.requests;
                row.errors += interval.errors;
                for (mine, theirs) in row.endpoints.iter_mut().zip(&interval.endpoints) {
                    mine.merge(theirs);
                }
                row.statuses = merge_statuses(&row.statuses, &interval.statuses);
                row.residence += interval.residence;
                row.latency_sum += interval.latency_sum;
                row.busy = row.busy.max(interval.busy);
            }
            None => {
                self.pending.insert(interval.index, interval);
            }
        }
        self.emit(observer);
    }

    fn worker_done(&mut self, worker: usize, observer: &mut dyn Observer) {
        self.done[worker] = true;
        self.emit(observer);
    }

    fn complete(&self, index: u64) -> bool {
        self.reported
            .iter()
            .zip(&self.done)
            .all(|(r, &d)| d || r.is_some_and(|r| r >= index))
    }

    fn emit(&mut self, observer: &mut dyn Observer) {
        while self.complete(self.next) {
            let Some(interval) = self.pending.remove(&self.next) else {
                if self.done.iter().all(|&d| d) {
                    return;
                }
                self.next += 1;
                continue;
            };
            let row = row_of(&interval, 1.0);
            let detail = SecondDetail {
                statuses: interval.statuses,
                in_flight: interval.residence.as_secs_f64(),
                latency_sum_s: interval.latency_sum.as_secs_f64(),
                busiest_worker: interval.busy,
            };
            observer.second_detail(&row, &detail);
            self.rows.push(row);
            self.next += 1;
        }
    }

    /// The rows inside the measured window; the last one's length is cut to the window.
    /// Completions after the window (the open model's drain) are in the totals only.
    fn finish(mut self, window: Duration) -> Vec<TimelineRow> {
        let mut rest: Vec<Interval> = std::mem::take(&mut self.pending).into_values().collect();
        rest.sort_by_key(|i| i.index);
        self.rows.extend(rest.iter().map(|i| row_of(i, 1.0)));
        let total = window.as_secs_f64();
        self.rows.retain(|r| (r.t_s as f64) < total);
        for row in &mut self.rows {
            let length = (total - row.t_s as f64).clamp(1e-3, 1.0);
            if length < 1.0 {
                *row = TimelineRow {
                    length_s: length,
                    rps: row.requests as f64 / length,
                    ..row.clone()
                };
            }
        }
        self.rows
    }
}

/// A second's HDR histogram (microseconds) on the fixed grid of `perfloop_stats::grid`: each
/// recorded value's bucket, from the highest value equivalent to it (the value the HDR
/// percentiles report).
fn grid_buckets(h: &Histogram<u64>) -> Vec<(u32, u64)> {
    let mut buckets: Vec<(u32, u64)> = Vec::new();
    for v in h.iter_recorded() {
        let bucket =
            perfloop_stats::grid::bucket_of_us(h.highest_equivalent(v.value_iterated_to()) as f64);
        match buckets.last_mut() {
            Some((last, count)) if *last == bucket => *count += v.count_at_value(),
            _ => buckets.push((bucket, v.count_at_value())),
        }
    }
    buckets
}

/// Two workers' counts by status, added: both ascending, and so is the result.
fn merge_statuses(a: &[(u16, u64)], b: &[(u16, u64)]) -> Vec<(u16, u64)> {
    let mut all: BTreeMap<u16, u64> = a.iter().copied().collect();
    for &(status, n) in b {
        *all.entry(status).or_default() += n;
    }
    all.into_iter().collect()
}

fn row_of(interval: &Interval, length_s: f64) -> TimelineRow {
    let ms = |h: &Histogram<u64>, q: f64| {
        (!h.is_empty()).then(|| h.value_at_quantile(q) as f64 / 1000.0)
    };
    let h = &interval.latency;
    TimelineRow {
        t_s: interval.index,
        length_s,
        requests: interval.requests,
        errors: interval.errors,
        rps: interval.requests as f64 / length_s,
        p50_ms: ms(h, 0.5),
        p90_ms: ms(h, 0.9),
        p99_ms: ms(h, 0.99),
        max_ms: (!h.is_empty()).then(|| h.max() as f64 / 1000.0),
        latency_buckets: grid_buckets(h),
        endpoints: interval
            .endpoints
            .iter()
            .map(|e| EndpointSecond {
                requests: e.requests,
                errors: e.errors,
                p50_ms: ms(&e.latency, 0.5),
                p99_ms: ms(&e.latency, 0.99),
            })
            .collect(),
    }
}
