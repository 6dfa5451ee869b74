//! Per-worker recording. Each worker owns its recorder: no lock, no atomics on the request
//! path. Latencies go into an HDR histogram (1 µs to 60 s, 3 significant digits) for the
//! whole window, and into a second histogram for the current second that is handed to the
//! coordinator when the second ends. Memory is the same for a 10-second and a 10-hour run.

use std::sync::mpsc::Sender;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use crate::outcome::{Counts, ErrorKind};

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

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// One finished second of one worker.
#[derive(Debug)]
pub(crate) struct Interval {
    pub(crate) index: u64,
    pub(crate) latency: Histogram<u64>,
    pub(crate) requests: u64,
    pub(crate) errors: u64,
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
    pub(crate) counts: Counts,
    pub(crate) busy: f64,
    pub(crate) last_completion: Option<Instant>,
    pub(crate) peak_connections: usize,
    pub(crate) in_flight: crate::worker::InFlight,
    pub(crate) ever_connected: bool,
    pub(crate) last_connect_error: Option<String>,
}

pub(crate) struct Recorder {
    worker: usize,
    window_start: Instant,
    /// Closed model: completions from here on are not measured (the window is over).
    cutoff: Option<Instant>,
    pub(crate) latency: Histogram<u64>,
    pub(crate) lag: Histogram<u64>,
    pub(crate) counts: Counts,
    current: Interval,
    tx: Sender<Report>,
    pub(crate) last_completion: Option<Instant>,
}

impl Recorder {
    pub(crate) fn new(
        worker: usize,
        window_start: Instant,
        cutoff: Option<Instant>,
        tx: Sender<Report>,
    ) -> Self {
        Recorder {
            worker,
            window_start,
            cutoff,
            latency: histogram(),
            lag: histogram(),
            counts: Counts::default(),
            current: Interval {
                index: 0,
                latency: histogram(),
                requests: 0,
                errors: 0,
            },
            tx,
            last_completion: None,
        }
    }

    /// Whether a request that started at `start` is measured (not warm-up).
    #[inline]
    pub(crate) fn measured(&self, start: Instant) -> bool {
        start >= self.window_start
    }

    /// Counts a request sent (or attempted) at `start`.
    #[inline]
    pub(crate) fn sent(&mut self, start: Instant) {
        if self.measured(start) {
            self.counts.sent += 1;
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

    /// Records a complete response to a request that started at `start`.
    #[inline]
    pub(crate) fn response(&mut self, start: Instant, now: Instant, status: u16, body_bytes: u64) {
        if !self.measured(start) || self.cut(now) {
            return;
        }
        self.roll(now);
        let us = micros(now.saturating_duration_since(start));
        self.latency.saturating_record(us);
        self.current.latency.saturating_record(us);
        self.current.requests += 1;
        *self.counts.by_status.entry(status).or_default() += 1;
        self.counts.body_bytes += body_bytes;
        match ErrorKind::of_status(status) {
            None => self.counts.ok += 1,
            Some(kind) => self.error_counts(kind),
        }
        self.last_completion = Some(now);
    }

    /// Records a failed attempt that started at `start`.
    #[inline]
    pub(crate) fn error(&mut self, start: Instant, now: Instant, kind: ErrorKind) {
        if !self.measured(start) || self.cut(now) {
            return;
        }
        self.roll(now);
        self.current.requests += 1;
        self.error_counts(kind);
        self.last_completion = Some(now);
    }

    /// A completion after the closed model's window is not measured; it counts as unfinished.
    fn cut(&mut self, now: Instant) -> bool {
        let cut = self.cutoff.is_some_and(|c| now >= c);
        if cut {
            self.counts.unfinished += 1;
        }
        cut
    }

    fn error_counts(&mut self, kind: ErrorKind) {
        self.counts.errors += 1;
        self.counts.by_kind[kind.index()] += 1;
        self.current.errors += 1;
    }

    /// Hands finished seconds to the coordinator once `now` has passed them.
    #[inline]
    pub(crate) fn roll(&mut self, now: Instant) {
        if now < self.window_start {
            return;
        }
        let index = now.duration_since(self.window_start).as_secs();
        while self.current.index < index {
            let next = Interval {
                index: self.current.index + 1,
                latency: Histogram::new_from(&self.current.latency),
                requests: 0,
                errors: 0,
            };
            let done = std::mem::replace(&mut self.current, next);
            // The coordinator outlives the workers; a closed channel only means it gave up.
            let _ = self.tx.send(Report::Interval(self.worker, done));
        }
    }

    /// The start of the next second, for the event loop's wake-up.
    pub(crate) fn next_roll(&self) -> Instant {
        self.window_start + Duration::from_secs(self.current.index + 1)
    }

    /// Sends the last, partial second and the totals.
    pub(crate) fn finish(mut self, result: impl FnOnce(Self) -> WorkerResult) {
        let next = Interval {
            index: self.current.index + 1,
            latency: histogram(),
            requests: 0,
            errors: 0,
        };
        let last = std::mem::replace(&mut self.current, next);
        let tx = self.tx.clone();
        let worker = self.worker;
        let _ = tx.send(Report::Interval(worker, last));
        let _ = tx.send(Report::Done(worker, Box::new(result(self))));
    }
}
