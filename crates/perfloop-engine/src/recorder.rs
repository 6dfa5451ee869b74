//! Per-worker recording. Each worker owns its recorder: no lock, no atomics on the request
//! path. Latencies go into an HDR histogram (1 µs to 60 s, 3 significant digits) for the
//! whole window, and into a second histogram for the current second that is handed to the
//! coordinator when the second ends. Memory is the same for a 10-second and a 10-hour run.
//!
//! Which requests a run counts is decided here, once ([`Basis`]):
//! - the **open model** (and any run ended by a request count) counts the requests whose
//!   intended start lies in the measured window, each followed to its end (response, error or
//!   timeout) during the drain after the window;
//! - the **closed model** with a duration counts the responses and failures that *complete*
//!   inside the window, whatever their send time; requests still in flight when it closes
//!   are `unfinished`.
//!
//! In both, throughput is the counted requests per second of the window. The recorder also
//! sums each request's time in flight inside the window (its residence), so the mean number
//! of requests in flight is exact, not sampled.
//!
//! Per endpoint (a named request of the run, [`LoadConfig::endpoint_names`]) it keeps a
//! [`Tally`]: latencies, outcomes and the time spent waiting on the target, the sum of the
//! counted requests' latencies. Only a run of two or more endpoints keeps tallies: one
//! endpoint's figures are the run's totals, so a plain run pays nothing for them. The
//! endpoint is an index into a small `Vec`: no hashing, no allocation per request.
//!
//! [`LoadConfig::endpoint_names`]: crate::LoadConfig::endpoint_names

use std::collections::BTreeMap;
use std::sync::mpsc::Sender;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use perfloop_monitor::thread_cpu;

use crate::outcome::{Counts, ErrorKind, Phases};

/// Lowest and highest trackable latency in microseconds, and significant digits.
pub(crate) const LOW_US: u64 = 1;
pub(crate) const HIGH_US: u64 = 60_000_000;
pub(crate) const SIGFIG: u8 = 3;

/// A histogram with the engine's bounds.
#[allow(clippy::expect_used)]
pub(crate) fn histogram() -> Histogram<u64> {
    // Constant bounds inside hdrhistogram's documented domain (low >= 1, high >= 2 * low,
    // sigfig <= 5): this cannot fail at run time, and every test exercises it.
    Histogram::new_with_bounds(LOW_US, HIGH_US, SIGFIG)
        .expect("constant histogram bounds are valid")
}

/// A latency in whole microseconds, rounded to the nearest (truncating would bias every
/// recorded latency, and so the mean and each percentile, half a microsecond low).
fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_nanos().saturating_add(500) / 1000).unwrap_or(u64::MAX)
}

/// Which requests the run's figures count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Basis {
    /// Requests whose (intended) start lies in the window, drained to their end.
    Started,
    /// Requests that complete inside the window.
    Completed,
}

/// The measured window and how requests are counted in it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Window {
    pub(crate) start: Instant,
    /// The end of the window, if the run has a duration.
    pub(crate) end: Option<Instant>,
    pub(crate) basis: Basis,
}

impl Window {
    /// How long `[from, to]` overlaps the window.
    fn overlap(&self, from: Instant, to: Instant) -> Duration {
        let to = self.end.map_or(to, |e| to.min(e));
        to.saturating_duration_since(from.max(self.start))
    }
}

/// The index of a failed attempt that belongs to no endpoint yet: an open-model arrival
/// charged with a failed connect before a request was chosen for it. It is in the totals
/// and in no endpoint's figures.
pub(crate) const NO_ENDPOINT: usize = usize::MAX;

/// One endpoint's figures in one worker.
#[derive(Debug)]
pub(crate) struct Tally {
    /// Latencies of its responses, in microseconds.
    pub(crate) latency: Histogram<u64>,
    pub(crate) ok: u64,
    pub(crate) errors: u64,
    /// Errors by kind, indexed like [`ErrorKind::ALL`].
    pub(crate) by_kind: [u64; ErrorKind::COUNT],
    /// Σ latency of its counted requests, responses and failed attempts alike.
    pub(crate) waited: Duration,
}

impl Tally {
    pub(crate) fn new() -> Tally {
        Tally {
            latency: histogram(),
            ok: 0,
            errors: 0,
            by_kind: [0; ErrorKind::COUNT],
            waited: Duration::ZERO,
        }
    }

    /// Adds another worker's tally of the same endpoint.
    pub(crate) fn merge(&mut self, other: &Tally) {
        let _ = self.latency.add(&other.latency);
        self.ok += other.ok;
        self.errors += other.errors;
        for (mine, theirs) in self.by_kind.iter_mut().zip(other.by_kind) {
            *mine += theirs;
        }
        self.waited += other.waited;
    }
}

/// One endpoint's share of one finished second.
#[derive(Debug)]
pub(crate) struct Second {
    pub(crate) latency: Histogram<u64>,
    pub(crate) requests: u64,
    pub(crate) errors: u64,
}

impl Second {
    fn new() -> Second {
        Second {
            latency: histogram(),
            requests: 0,
            errors: 0,
        }
    }

    pub(crate) fn merge(&mut self, other: &Second) {
        let _ = self.latency.add(&other.latency);
        self.requests += other.requests;
        self.errors += other.errors;
    }
}

/// One finished second of one worker.
#[derive(Debug)]
pub(crate) struct Interval {
    pub(crate) index: u64,
    pub(crate) latency: Histogram<u64>,
    pub(crate) requests: u64,
    pub(crate) errors: u64,
    /// Per endpoint, when the run has two or more; empty otherwise.
    pub(crate) endpoints: Vec<Second>,
    /// Responses by status counted while this second was current (taken when it ends).
    pub(crate) statuses: Vec<(u16, u64)>,
    /// Time in flight inside the window of the requests that ended while it was current.
    pub(crate) residence: Duration,
    /// Σ latency of the responses in `latency` (exactly those: failed attempts have none).
    pub(crate) latency_sum: Duration,
    /// The worker thread's CPU over its wall time since its previous second (0 to 1).
    pub(crate) busy: f64,
}

impl Interval {
    fn new(index: u64, latency: Histogram<u64>, endpoints: usize) -> Interval {
        Interval {
            index,
            latency,
            requests: 0,
            errors: 0,
            endpoints: (0..endpoints).map(|_| Second::new()).collect(),
            statuses: Vec::new(),
            residence: Duration::ZERO,
            latency_sum: Duration::ZERO,
            busy: 0.0,
        }
    }
}

/// The recorder's running figures when it last handed over a second, so that each
/// second's share of them is a difference taken once per second, off the request path.
#[derive(Debug)]
struct Rolled {
    statuses: BTreeMap<u16, u64>,
    residence: Duration,
    cpu: Duration,
    at: Instant,
}

impl Rolled {
    fn now() -> Rolled {
        Rolled {
            statuses: BTreeMap::new(),
            residence: Duration::ZERO,
            cpu: thread_cpu(),
            at: Instant::now(),
        }
    }
}

/// Messages from workers to the coordinator.
#[derive(Debug)]
pub(crate) enum Report {
    Interval(usize, Interval),
    Done(usize, Box<WorkerResult>),
}

/// What a worker hands back when it ends.
#[derive(Debug)]
pub(crate) struct WorkerResult {
    pub(crate) latency: Histogram<u64>,
    pub(crate) lag: Histogram<u64>,
    pub(crate) unfinished_age: Histogram<u64>,
    pub(crate) completed_at: Histogram<u64>,
    pub(crate) counts: Counts,
    pub(crate) busy: f64,
    pub(crate) last_completion: Option<Instant>,
    pub(crate) last_start: Option<Instant>,
    pub(crate) peak_connections: usize,
    pub(crate) residence: Duration,
    pub(crate) ever_connected: bool,
    pub(crate) last_connect_error: Option<String>,
    /// Σ latency of every counted request.
    pub(crate) waited: Duration,
    /// Per endpoint, when the run has two or more; empty otherwise.
    pub(crate) endpoints: Vec<Tally>,
    /// Connect, TLS handshake and time to first byte.
    pub(crate) phases: Phases,
}

pub(crate) struct Recorder {
    worker: usize,
    window: Window,
    pub(crate) latency: Histogram<u64>,
    pub(crate) lag: Histogram<u64>,
    /// Ages of the requests still in flight when the worker stopped.
    pub(crate) unfinished_age: Histogram<u64>,
    /// When the counted requests completed, in microseconds since the window opened.
    pub(crate) completed_at: Histogram<u64>,
    pub(crate) counts: Counts,
    current: Interval,
    tx: Sender<Report>,
    pub(crate) last_completion: Option<Instant>,
    /// The latest start of a request sent in the window.
    pub(crate) last_start: Option<Instant>,
    /// Σ time in flight inside the window, over every request.
    pub(crate) residence: Duration,
    /// Σ latency of every counted request (responses and failed attempts).
    pub(crate) waited: Duration,
    /// Per endpoint, when the run has two or more; empty otherwise.
    pub(crate) endpoints: Vec<Tally>,
    /// Connect, TLS handshake and time to first byte.
    pub(crate) phases: Phases,
    /// The running figures at the last second handed over.
    rolled: Rolled,
}

impl Recorder {
    pub(crate) fn new(worker: usize, window: Window, tx: Sender<Report>) -> Self {
        Recorder {
            worker,
            window,
            latency: histogram(),
            lag: histogram(),
            unfinished_age: histogram(),
            completed_at: histogram(),
            counts: Counts::default(),
            current: Interval::new(0, histogram(), 0),
            tx,
            last_completion: None,
            last_start: None,
            residence: Duration::ZERO,
            waited: Duration::ZERO,
            endpoints: Vec::new(),
            phases: Phases::default(),
            rolled: Rolled::now(),
        }
    }

    /// Records how long a connection established at `now` took to connect (TCP).
    #[inline]
    pub(crate) fn connect_time(&mut self, now: Instant, took: Duration) {
        if now >= self.window.start {
            self.phases.connect.saturating_record(micros(took).max(1));
        }
    }

    /// Records how long the TLS handshake of a connection ready at `now` took.
    #[inline]
    pub(crate) fn handshake_time(&mut self, now: Instant, took: Duration) {
        if now >= self.window.start {
            self.phases.handshake.saturating_record(micros(took).max(1));
        }
    }

    /// Records the time to first byte of a response to a request from `start`, complete
    /// at `now`, when the run counts it.
    #[inline]
    pub(crate) fn first_byte(&mut self, start: Instant, now: Instant, took: Duration) {
        let after = self.window.end.is_some_and(|e| now > e);
        let counted = self.counted(start, now) && !(after && self.window.basis == Basis::Completed);
        if counted {
            self.phases.ttfb.saturating_record(micros(took).max(1));
        }
    }

    /// Keeps figures per endpoint for a run of `count` endpoints (none for one: its
    /// figures are the totals).
    pub(crate) fn endpoints(mut self, count: usize) -> Self {
        let count = if count > 1 { count } else { 0 };
        self.endpoints = (0..count).map(|_| Tally::new()).collect();
        self.current.endpoints = (0..count).map(|_| Second::new()).collect();
        self
    }

    /// Whether a request that starts at `start` is sent inside the window (not warm-up).
    #[inline]
    pub(crate) fn measured(&self, start: Instant) -> bool {
        start >= self.window.start
    }

    /// Whether a request from `start` to `end` is one the run counts.
    #[inline]
    fn counted(&self, start: Instant, end: Instant) -> bool {
        match self.window.basis {
            Basis::Started => start >= self.window.start,
            Basis::Completed => end >= self.window.start,
        }
    }

    /// Counts a request sent (or attempted) at `start`.
    #[inline]
    pub(crate) fn sent(&mut self, start: Instant) {
        if self.measured(start) {
            self.counts.sent += 1;
            self.last_start = Some(self.last_start.map_or(start, |l| l.max(start)));
        }
    }

    /// Counts a connection established at `now`.
    #[inline]
    pub(crate) fn connected(&mut self, now: Instant) {
        if now >= self.window.start {
            self.counts.connections += 1;
        }
    }

    /// Counts a request sent again on a new connection because its reused one had closed.
    #[inline]
    pub(crate) fn reconnect(&mut self, now: Instant) {
        if now >= self.window.start {
            self.counts.reconnects += 1;
        }
    }

    /// Records how late an arrival was noticed.
    #[inline]
    pub(crate) fn lag(&mut self, intended: Instant, now: Instant) {
        if self.measured(intended) {
            self.lag
                .saturating_record(micros(now.saturating_duration_since(intended)));
        }
    }

    /// Records a complete response to a request of `endpoint` that started at `start`.
    #[inline]
    pub(crate) fn response(
        &mut self,
        endpoint: usize,
        start: Instant,
        now: Instant,
        status: u16,
        body_bytes: u64,
    ) {
        let Some(in_window) = self.enter(start, now) else {
            return;
        };
        let took = now.saturating_duration_since(start);
        let us = micros(took);
        self.waited += took;
        self.latency.saturating_record(us);
        if in_window {
            self.current.latency.saturating_record(us);
            self.current.latency_sum += took;
            self.current.requests += 1;
        }
        // A raw TCP response has no status: it stays out of the table of status codes.
        if status != crate::framing::NO_STATUS {
            *self.counts.by_status.entry(status).or_default() += 1;
        }
        self.counts.body_bytes += body_bytes;
        let error = ErrorKind::of_status(status);
        match error {
            None => self.counts.ok += 1,
            Some(kind) => self.error_counts(kind, in_window),
        }
        if let Some(tally) = self.endpoints.get_mut(endpoint) {
            tally.latency.saturating_record(us);
            tally.waited += took;
            match error {
                None => tally.ok += 1,
                Some(kind) => {
                    tally.errors += 1;
                    tally.by_kind[kind.index()] += 1;
                }
            }
            if in_window && let Some(second) = self.current.endpoints.get_mut(endpoint) {
                second.latency.saturating_record(us);
                second.requests += 1;
                second.errors += u64::from(error.is_some());
            }
        }
    }

    /// Records a failed attempt of `endpoint` ([`NO_ENDPOINT`] for none yet) that started
    /// at `start`.
    #[inline]
    pub(crate) fn error(&mut self, endpoint: usize, start: Instant, now: Instant, kind: ErrorKind) {
        let Some(in_window) = self.enter(start, now) else {
            return;
        };
        let took = now.saturating_duration_since(start);
        self.waited += took;
        if in_window {
            self.current.requests += 1;
        }
        self.error_counts(kind, in_window);
        if let Some(tally) = self.endpoints.get_mut(endpoint) {
            tally.waited += took;
            tally.errors += 1;
            tally.by_kind[kind.index()] += 1;
            if in_window && let Some(second) = self.current.endpoints.get_mut(endpoint) {
                second.requests += 1;
                second.errors += 1;
            }
        }
    }

    /// A request from `start` ended at `now`: adds its residence, and says whether it is
    /// counted (`None`: not; a closed-model completion after the window is unfinished
    /// instead) and whether it completed inside the window (and so in the timeline).
    #[inline]
    fn enter(&mut self, start: Instant, now: Instant) -> Option<bool> {
        self.residence += self.window.overlap(start, now);
        if !self.counted(start, now) {
            return None;
        }
        let after = self.window.end.is_some_and(|e| now > e);
        if after && self.window.basis == Basis::Completed {
            self.counts.unfinished += 1;
            return None;
        }
        self.last_completion = Some(now);
        if self.window.basis == Basis::Started {
            let since = now.saturating_duration_since(self.window.start);
            self.completed_at.saturating_record(micros(since).max(1));
        }
        if after {
            self.counts.drained += 1;
            return Some(false);
        }
        self.roll(now);
        Some(true)
    }

    /// A request from `start` was still in flight when the worker stopped at `now`.
    pub(crate) fn unfinished(&mut self, start: Instant, now: Instant) {
        self.residence += self.window.overlap(start, now);
        let belongs = match self.window.basis {
            Basis::Started => start >= self.window.start,
            Basis::Completed => true,
        };
        if belongs {
            self.counts.unfinished += 1;
            self.unfinished_age
                .saturating_record(micros(now.saturating_duration_since(start)));
        }
    }

    /// An open-model arrival that waited from `intended` to `now` and was never sent.
    pub(crate) fn never_sent(&mut self, intended: Instant, now: Instant) {
        self.residence += self.window.overlap(intended, now);
        if self.measured(intended) {
            self.counts.dropped += 1;
        }
    }

    fn error_counts(&mut self, kind: ErrorKind, in_window: bool) {
        self.counts.errors += 1;
        self.counts.by_kind[kind.index()] += 1;
        if in_window {
            self.current.errors += 1;
        }
    }

    /// Hands finished seconds to the coordinator once `now` has passed them.
    #[inline]
    pub(crate) fn roll(&mut self, now: Instant) {
        if now < self.window.start {
            return;
        }
        let index = now.duration_since(self.window.start).as_secs();
        if self.current.index < index {
            self.take_detail();
        }
        while self.current.index < index {
            let next = Interval::new(
                self.current.index + 1,
                Histogram::new_from(&self.current.latency),
                self.endpoints.len(),
            );
            let done = std::mem::replace(&mut self.current, next);
            // The coordinator outlives the workers; a closed channel only means it gave up.
            let _ = self.tx.send(Report::Interval(self.worker, done));
        }
    }

    /// Puts into the current second its share of the running figures (statuses, residence,
    /// the thread's CPU): once per second, when it is handed over.
    fn take_detail(&mut self) {
        let rolled = &mut self.rolled;
        let current = &mut self.current;
        current.statuses = self
            .counts
            .by_status
            .iter()
            .filter_map(|(&status, &n)| {
                let before = rolled.statuses.get(&status).copied().unwrap_or(0);
                (n > before).then(|| (status, n - before))
            })
            .collect();
        rolled.statuses.clone_from(&self.counts.by_status);
        current.residence = self.residence.saturating_sub(rolled.residence);
        rolled.residence = self.residence;
        let cpu = thread_cpu();
        let now = Instant::now();
        let wall = now.saturating_duration_since(rolled.at).as_secs_f64();
        current.busy = if wall > 0.0 {
            (cpu.saturating_sub(rolled.cpu).as_secs_f64() / wall).clamp(0.0, 1.0)
        } else {
            0.0
        };
        rolled.cpu = cpu;
        rolled.at = now;
    }

    /// The start of the next second, for the event loop's wake-up.
    pub(crate) fn next_roll(&self) -> Instant {
        self.window.start + Duration::from_secs(self.current.index + 1)
    }

    /// Sends the last, partial second and the totals.
    pub(crate) fn finish(mut self, result: impl FnOnce(Self) -> WorkerResult) {
        self.take_detail();
        let next = Interval::new(self.current.index + 1, histogram(), 0);
        let last = std::mem::replace(&mut self.current, next);
        let tx = self.tx.clone();
        let worker = self.worker;
        let _ = tx.send(Report::Interval(worker, last));
        let _ = tx.send(Report::Done(worker, Box::new(result(self))));
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use std::sync::mpsc;

    use super::*;

    #[test]
    fn latencies_round_to_the_nearest_microsecond() {
        assert_eq!(micros(Duration::from_nanos(12_499)), 12);
        assert_eq!(micros(Duration::from_nanos(12_500)), 13);
        assert_eq!(micros(Duration::from_nanos(12_999)), 13);
        assert_eq!(micros(Duration::from_nanos(400)), 0);
        assert_eq!(micros(Duration::from_secs(2)), 2_000_000);
    }

    fn recorder(basis: Basis, t0: Instant) -> (Recorder, mpsc::Receiver<Report>) {
        let (tx, rx) = mpsc::channel();
        let window = Window {
            start: t0 + Duration::from_secs(1),
            end: Some(t0 + Duration::from_secs(3)),
            basis,
        };
        (Recorder::new(0, window, tx), rx)
    }

    #[test]
    fn the_closed_model_counts_what_completes_in_the_window() {
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let (mut rec, _rx) = recorder(Basis::Completed, t0);
        rec.response(0, at(800), at(1100), 200, 5); // sent in the warm-up, completed inside
        rec.response(0, at(500), at(900), 200, 5); // completed in the warm-up
        rec.response(0, at(2900), at(3100), 200, 5); // completed after the window
        rec.error(0, at(1500), at(2000), ErrorKind::Timeout);
        assert_eq!((rec.counts.ok, rec.counts.errors), (1, 1));
        assert_eq!(rec.counts.unfinished, 1);
        // 0.1 + 0.5 + 0.1 s inside the window.
        assert_eq!(rec.residence, Duration::from_millis(700));
    }

    #[test]
    fn the_open_model_counts_what_starts_in_the_window() {
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let (mut rec, _rx) = recorder(Basis::Started, t0);
        rec.response(0, at(800), at(1100), 200, 5);
        rec.response(0, at(2900), at(3300), 200, 5); // drained after the window: counted
        rec.unfinished(at(2950), at(3500));
        rec.never_sent(at(2990), at(3000));
        assert_eq!((rec.counts.ok, rec.counts.drained), (1, 1));
        assert_eq!((rec.counts.unfinished, rec.counts.dropped), (1, 1));
        assert!(
            rec.unfinished_age
                .equivalent(rec.unfinished_age.max(), 550_000)
        );
        assert_eq!(rec.residence, Duration::from_millis(100 + 100 + 50 + 10));
    }

    #[test]
    fn each_endpoint_keeps_its_own_figures_and_time_waited() {
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let (rec, rx) = recorder(Basis::Started, t0);
        let mut rec = rec.endpoints(2);
        rec.response(0, at(1000), at(1010), 200, 5);
        rec.response(1, at(1000), at(1300), 200, 5);
        rec.response(1, at(1100), at(1200), 503, 0);
        rec.error(1, at(1200), at(1250), ErrorKind::Reset);
        rec.error(NO_ENDPOINT, at(1300), at(1301), ErrorKind::Connect);
        let (a, b) = (&rec.endpoints[0], &rec.endpoints[1]);
        assert_eq!((a.ok, a.errors, b.ok, b.errors), (1, 0, 1, 2));
        assert_eq!(b.by_kind[ErrorKind::Status5xx.index()], 1);
        assert_eq!(b.by_kind[ErrorKind::Reset.index()], 1);
        assert_eq!(a.waited, Duration::from_millis(10));
        assert_eq!(b.waited, Duration::from_millis(300 + 100 + 50));
        assert_eq!(rec.waited, Duration::from_millis(10 + 450 + 1));
        // Latencies of responses only, per endpoint.
        assert_eq!((a.latency.len(), b.latency.len()), (1, 2));
        assert_eq!(rec.counts.total(), 5);
        // The first second hands each endpoint's share to the coordinator.
        rec.roll(at(2000));
        let Ok(Report::Interval(0, second)) = rx.recv() else {
            panic!("no interval")
        };
        assert_eq!((second.requests, second.errors), (5, 3));
        let shares: Vec<_> = second
            .endpoints
            .iter()
            .map(|e| (e.requests, e.errors, e.latency.len()))
            .collect();
        assert_eq!(shares, [(1, 0, 1), (3, 2, 2)]);
    }

    #[test]
    fn each_second_carries_its_own_statuses_and_time_in_flight() {
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let (mut rec, rx) = recorder(Basis::Started, t0);
        rec.response(0, at(1000), at(1200), 200, 5);
        rec.response(0, at(1100), at(1400), 503, 0);
        // This one rolls the first second over before it is counted in the second one.
        rec.response(0, at(1900), at(2100), 200, 5);
        rec.roll(at(3000));
        let second = |rx: &mpsc::Receiver<Report>| match rx.recv() {
            Ok(Report::Interval(0, s)) => s,
            _ => panic!("no interval"),
        };
        let (first, next) = (second(&rx), second(&rx));
        assert_eq!(first.statuses, [(200, 1), (503, 1)]);
        // 0.2 + 0.3 s ended in the first second; the third request's 0.2 s is charged to
        // the second in which it ended (its residence was added before the roll).
        assert_eq!(
            first.residence + next.residence,
            Duration::from_millis(200 + 300 + 200)
        );
        assert_eq!(next.statuses, [(200, 1)]);
        assert!((0.0..=1.0).contains(&first.busy));
    }

    #[test]
    fn a_run_of_one_endpoint_keeps_no_tally() {
        let t0 = Instant::now();
        let (rec, _rx) = recorder(Basis::Started, t0);
        let mut rec = rec.endpoints(1);
        rec.response(
            0,
            t0 + Duration::from_secs(1),
            t0 + Duration::from_millis(1020),
            200,
            1,
        );
        assert!(rec.endpoints.is_empty() && rec.current.endpoints.is_empty());
        assert_eq!(rec.waited, Duration::from_millis(20));
    }
}
