//! One worker thread: an event loop (`mio`, or io_uring in `uring.rs`) that owns its
//! connections and its recorder.
//!
//! Per request the hot path costs one `write`, one `read` and a share of one `epoll_wait`:
//! the next request is written as soon as the previous response is parsed, with no
//! readiness round trip, and sockets stay registered edge-triggered for their whole life.
//! Open-model arrivals are timed by a `timerfd` (nanosecond resolution, timer slack
//! lowered) so the schedule does not inherit `epoll_wait`'s millisecond granularity.
//! Above [`BATCH_ABOVE`] arrivals per second per worker, the timer fires on a
//! [`BATCH_QUANTUM`] grid: the arrivals due within one quantum are sent together at its
//! end, one wake-up for several requests instead of one each. The wait counts: latency is
//! measured from each arrival's intended time, and the delay is reported as schedule lag.
//!
//! What each request sends comes from the worker's request source (`source.rs`): shared
//! bytes, or a scenario's request rendered into the slot's own buffer. A scenario's think
//! time parks a closed-model slot after each answer (`Phase::Thinking`) on a heap of
//! deadlines that bounds the loop's wait.
//!
//! The connection's state machine (connect, request, response, failure, retry, timeouts,
//! the closed and open models' decisions) is the backends' common part; only the I/O loop
//! differs. With `--io uring` (plain HTTP/1.1) the loop is `uring.rs`'s: the same turn
//! (`Worker::turn`), the same framer (`feed`, `eof`), the same methods on completion;
//! `connect`, `write` and `disconnect` submit to its ring instead of the sockets.
//!
//! Nothing here is shared with other workers except two flags read once per loop turn.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::io;
use std::os::fd::{AsFd, AsRawFd};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};
use nix::sys::time::TimeSpec;
use nix::sys::timerfd::{ClockId, Expiration, TimerFd, TimerFlags, TimerSetTimeFlags};
use perfloop_monitor::thread_cpu;
use slab::Slab;

use crate::config::{LoadConfig, Model};
use crate::framing::Framer;
use crate::http::{ParseError, Progress, Response};
use crate::outcome::{Backend, ErrorKind};
use crate::recorder::{NO_ENDPOINT, Recorder, WorkerResult};
use crate::schedule::{Arrivals, Plan};
use crate::source::{Payload, Source, Wires};
use crate::tls::tls_error;
use crate::transport::Stream;

#[path = "h2conn.rs"]
mod h2conn;
pub(crate) use h2conn::preflight as h2_preflight;
use h2conn::{H2Conn, H2Run};

#[path = "uring.rs"]
mod uring;

const TIMER: Token = Token(usize::MAX);
/// How often timeouts, back-offs and the closed model's connection target are checked.
const TICK: Duration = Duration::from_millis(10);
const BACKOFF_MIN: Duration = Duration::from_millis(10);
const BACKOFF_MAX: Duration = Duration::from_secs(1);
/// Failed connects in a row, with nothing ever connected, after which the target is
/// declared unreachable (about 0.3 s of back-off).
const UNREACHABLE_AFTER: u32 = 6;
/// Open model: the most arrivals one worker queues while no connection is free.
const PENDING_CAP: usize = 1 << 20;
/// Open model: the most connections one worker has on their way at once. A short stall of
/// the target queues many arrivals; opening a connection for each at once would overflow
/// the target's accept queue, and a dropped SYN costs a 200 ms+ retransmission, far more
/// than waiting for a connection to come free.
const CONNECTING_CAP: usize = 8;
const READ_BUF: usize = 64 * 1024;
/// Open model: the grid on which a fast schedule's arrivals are sent (at most this much of
/// a request's latency is the generator's batching).
const BATCH_QUANTUM: Duration = Duration::from_micros(100);
/// Open model: the arrival rate per worker above which arrivals are batched. Below it a
/// quantum rarely holds two arrivals, so batching would only delay them.
const BATCH_ABOVE: f64 = 5_000.0;

/// Flags shared by all workers and the coordinator.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    /// Stop now (Ctrl-C, or the target is unreachable).
    pub(crate) stop: Arc<AtomicBool>,
    /// Some worker has established a connection.
    pub(crate) any_connected: AtomicBool,
    /// A worker gave up on connecting.
    pub(crate) unreachable: AtomicBool,
}

/// This worker's share of the run.
#[derive(Debug, Clone)]
pub(crate) struct Share {
    pub(crate) id: usize,
    pub(crate) workers: usize,
    pub(crate) t0: Instant,
    pub(crate) window_start: Instant,
    pub(crate) window_end: Option<Instant>,
    pub(crate) quota: Option<u64>,
    pub(crate) max_connections: usize,
    /// The I/O backend that drives the connections.
    pub(crate) backend: Backend,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Phase {
    Connecting,
    /// TCP is up; the TLS handshake is under way.
    Handshaking,
    Idle,
    Writing,
    Reading,
    Backoff(Instant),
    /// Closed model: the think time after a request, until this instant.
    Thinking(Instant),
    /// HTTP/2: the connection is up; the server's SETTINGS are awaited.
    Settings,
    /// HTTP/2: the connection carries streams (see `h2conn`).
    Multiplexed,
}

struct Slot {
    stream: Option<Stream>,
    /// io_uring: the connection's socket and buffers (`stream` is then `None`).
    ring_conn: Option<uring::Conn>,
    /// HTTP/2: the connection's session and its streams in flight.
    h2: Option<Box<H2Conn>>,
    phase: Phase,
    /// Where each response ends: HTTP/1.1, or raw TCP's length or delimiter.
    parser: Framer,
    written: usize,
    /// Where the bytes of the current request are.
    payload: Payload,
    /// The current request's bytes when rendered for it (a scenario's templated request);
    /// its capacity is kept from one request to the next.
    rendered: Vec<u8>,
    /// The framer expects the answer to a `HEAD` request (no body).
    head: bool,
    /// The current request may be sent again on a new connection (an idempotent method).
    idempotent: bool,
    /// The current request asks the server to close after the response.
    closes: bool,
    /// Which endpoint (named request) the current request is, an index into
    /// [`LoadConfig::endpoint_names`]; 0 for a plain single-URL run.
    endpoint: usize,
    /// The latency origin: the intended time (open) or the start of the attempt (closed).
    start: Instant,
    /// The timeout origin: when the write (or the connect) began.
    since: Instant,
    /// When TCP came up (the handshake's start).
    up: Instant,
    /// When the first byte of the current response arrived.
    first_byte: Instant,
    /// Closed model: the slot's connect belongs to a counted request.
    attempt: bool,
    backoff: Duration,
    /// The connection has carried a complete response (so it may have been closed since).
    reused: bool,
    /// The current request has already been sent again on a new connection.
    retried: bool,
}

impl Slot {
    /// Whether the slot has a connection (up, or on its way).
    fn has_connection(&self) -> bool {
        self.stream.is_some() || self.ring_conn.is_some()
    }
}

/// What bytes fed to a slot's framer came to.
enum Fed {
    /// The response needs more bytes.
    More,
    /// The response ended, or the attempt failed.
    End(ReadEnd),
}

/// Feeds a response's bytes to the slot's framer: both backends' reads end here. The first
/// bytes of a response read the clock for its time to first byte; a complete one reads it
/// for its end.
fn feed(slot: &mut Slot, bytes: &[u8]) -> Fed {
    let failed = |kind, parser: &Framer| {
        Fed::End(ReadEnd::Failed {
            kind,
            fresh: !parser.started(),
        })
    };
    match (slot.parser.started(), slot.parser.feed(bytes)) {
        (false, Ok(Progress::More)) => {
            slot.first_byte = Instant::now();
            Fed::More
        }
        (true, Ok(Progress::More)) => Fed::More,
        (started, Ok(Progress::Done(resp))) => {
            let at = Instant::now();
            if !started {
                slot.first_byte = at;
            }
            Fed::End(ReadEnd::Done(resp, at))
        }
        (_, Err(ParseError::Malformed)) => failed(ErrorKind::Malformed, &slot.parser),
        (_, Err(ParseError::HeadersTooLarge)) => failed(ErrorKind::HeadersTooLarge, &slot.parser),
    }
}

/// The end of a response's stream: a close-delimited response is complete, any other
/// attempt failed as closed.
fn eof(slot: &mut Slot) -> ReadEnd {
    match slot.parser.eof() {
        Some(resp) => ReadEnd::Done(resp, Instant::now()),
        None => ReadEnd::Failed {
            kind: ErrorKind::Closed,
            fresh: !slot.parser.started(),
        },
    }
}

/// What a read turn ended with.
enum ReadEnd {
    Pending,
    Done(Response, Instant),
    /// The attempt failed; `fresh` when not one byte of its response had arrived.
    Failed {
        kind: ErrorKind,
        fresh: bool,
    },
}

pub(crate) struct Worker<'a> {
    share: Share,
    shared: &'a Shared,
    config: &'a LoadConfig,
    /// What each request sends: the next one picked, its bytes shared or rendered.
    source: Source<'a>,
    wires: &'a Wires,
    /// Closed model: the slots in their think time, the earliest first.
    thinking: BinaryHeap<Reverse<(Instant, usize)>>,
    poll: Poll,
    slots: Slab<Slot>,
    buf: Box<[u8]>,
    rec: Recorder,
    closed_plan: Option<Plan>,
    open: Option<OpenState>,
    /// Measured requests begun (closed) or arrivals taken (open), against the quota.
    issued: u64,
    stopping: bool,
    connect_failures: u32,
    ever_connected: bool,
    last_connect_error: Option<String>,
    peak_connections: usize,
    next_tick: Instant,
    /// HTTP/2 (`--http2`): the requests encoded, the streams per connection.
    h2: Option<H2Run>,
    /// io_uring: the ring and its completions (`poll` then stays idle).
    ring: Option<uring::Io>,
}

struct OpenState {
    arrivals: Arrivals,
    next: Option<Instant>,
    pending: VecDeque<Instant>,
    idle: Vec<usize>,
    timer: Option<TimerFd>,
    armed: Option<Instant>,
    /// Fast schedules: arrivals are sent on this grid (from `t0`) rather than one by one.
    quantum: Option<Duration>,
}

impl OpenState {
    /// When the worker should wake for the next arrival: its intended time, or the end of
    /// the quantum that holds it.
    fn wake_at(&self, t0: Instant) -> Option<Instant> {
        let next = self.next?;
        let Some(quantum) = self.quantum else {
            return Some(next);
        };
        let q = quantum.as_nanos();
        let since = next.saturating_duration_since(t0).as_nanos();
        let grid = u64::try_from(since.div_ceil(q) * q).unwrap_or(u64::MAX);
        Some(t0 + Duration::from_nanos(grid))
    }
}

impl<'a> Worker<'a> {
    pub(crate) fn new(
        share: Share,
        shared: &'a Shared,
        config: &'a LoadConfig,
        wires: &'a Wires,
        rec: Recorder,
    ) -> io::Result<Self> {
        let poll = Poll::new()?;
        let (closed_plan, open) = match &config.model {
            Model::Closed { connections } => (Some(connections.clone()), None),
            Model::Open { rate, .. } => {
                // A finer timer slack sharpens the schedule; not fatal if refused.
                let _ = nix::sys::prctl::set_timerslack(1_000);
                // io_uring times its waits itself (nanoseconds, like the timer).
                let timer = match share.backend {
                    Backend::Epoll => TimerFd::new(
                        ClockId::CLOCK_MONOTONIC,
                        TimerFlags::TFD_NONBLOCK | TimerFlags::TFD_CLOEXEC,
                    )
                    .ok(),
                    Backend::Uring => None,
                };
                if let Some(t) = &timer {
                    poll.registry().register(
                        &mut SourceFd(&t.as_fd().as_raw_fd()),
                        TIMER,
                        Interest::READABLE,
                    )?;
                }
                let per_worker = rate.peak() / share.workers as f64;
                let quantum = (per_worker > BATCH_ABOVE).then_some(BATCH_QUANTUM);
                let mut arrivals = Arrivals::new(rate, share.id, share.workers);
                let next = arrivals
                    .next_time()
                    .map(|s| share.t0 + Duration::from_secs_f64(s));
                let open = OpenState {
                    arrivals,
                    next,
                    pending: VecDeque::new(),
                    idle: Vec::new(),
                    timer,
                    armed: None,
                    quantum,
                };
                (None, Some(open))
            }
        };
        let now = Instant::now();
        let source = Source::new(wires, share.id, share.workers);
        let ring = match share.backend {
            Backend::Epoll => None,
            Backend::Uring => {
                // The most connections this worker holds at once.
                let connections = match &config.model {
                    Model::Closed { connections } => {
                        (connections.peak() / share.workers as f64).ceil() as usize
                    }
                    Model::Open { .. } => share.max_connections,
                };
                Some(uring::Io::new(connections)?)
            }
        };
        Ok(Worker {
            share,
            shared,
            config,
            source,
            wires,
            thinking: BinaryHeap::new(),
            poll,
            slots: Slab::new(),
            buf: vec![0u8; READ_BUF].into_boxed_slice(),
            rec,
            closed_plan,
            open,
            issued: 0,
            stopping: false,
            connect_failures: 0,
            ever_connected: false,
            last_connect_error: None,
            peak_connections: 0,
            next_tick: now,
            h2: config
                .target
                .http2
                .map(|streams| H2Run::new(config, streams)),
            ring,
        })
    }

    /// Runs until the share is done, then hands the results to the coordinator.
    pub(crate) fn run(mut self) {
        let cpu0 = thread_cpu();
        let wall0 = Instant::now();
        let ran = match self.ring {
            Some(_) => self.uring_loop(),
            None => self.event_loop(),
        };
        if let Err(e) = ran {
            self.last_connect_error = Some(format!("event loop failed: {e}"));
            self.shared.stop.store(true, Ordering::Relaxed);
        }
        let busy = {
            let wall = wall0.elapsed().as_secs_f64();
            if wall > 0.0 {
                (thread_cpu().saturating_sub(cpu0)).as_secs_f64() / wall
            } else {
                0.0
            }
        };
        let peak = self.peak_connections;
        let ever = self.ever_connected;
        let err = self.last_connect_error.take();
        self.rec.finish(|rec| WorkerResult {
            latency: rec.latency,
            lag: rec.lag,
            unfinished_age: rec.unfinished_age,
            completed_at: rec.completed_at,
            counts: rec.counts,
            busy,
            last_completion: rec.last_completion,
            last_start: rec.last_start,
            peak_connections: peak,
            residence: rec.residence,
            ever_connected: ever,
            last_connect_error: err,
            waited: rec.waited,
            endpoints: rec.endpoints,
            phases: rec.phases,
        });
    }

    fn event_loop(&mut self) -> io::Result<()> {
        let mut events = Events::with_capacity(1024);
        let now = Instant::now();
        self.start(now);
        loop {
            let now = Instant::now();
            let Some(wake) = self.turn(now) else {
                return Ok(());
            };
            if self.h2.is_some() {
                self.h2_flush(now);
            }
            self.arm_timer(now);
            let timeout = wake.saturating_duration_since(now);
            match self.poll.poll(&mut events, Some(timeout)) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
            for event in &events {
                let token = event.token();
                if token == TIMER {
                    continue;
                }
                self.on_event(token.0, event);
            }
        }
    }

    /// What every loop turn does before it waits, on either backend: the stop flag, the
    /// open model's arrivals, think times, the tick (timeouts, back-offs, the closed
    /// model's connections), the recorder's seconds. `None` once the worker is done, else
    /// when it must wake at the latest.
    fn turn(&mut self, now: Instant) -> Option<Instant> {
        if self.shared.stop.load(Ordering::Relaxed) {
            self.abandon();
            return None;
        }
        if self.open.is_some() {
            self.arrivals(now);
        }
        if !self.thinking.is_empty() {
            self.wake_thinkers(now);
        }
        if now >= self.next_tick {
            self.tick(now);
            while self.next_tick <= now {
                self.next_tick += TICK;
            }
        }
        self.rec.roll(now);
        if self.finished(now) {
            return None;
        }
        let mut wake = self.next_tick.min(self.rec.next_roll());
        if let Some(&Reverse((until, _))) = self.thinking.peek() {
            wake = wake.min(until);
        }
        if let Some(open @ OpenState { timer: None, .. }) = &self.open
            && let Some(next) = open.wake_at(self.share.t0)
        {
            wake = wake.min(next);
        }
        Some(match self.share.window_end {
            Some(end) if end > now => wake.min(end),
            _ => wake,
        })
    }

    /// Opens the first connections.
    fn start(&mut self, now: Instant) {
        match &self.config.model {
            Model::Closed { .. } => self.adjust_connections(now),
            Model::Open { rate, .. } => {
                let per_worker = rate.peak() / self.share.workers as f64;
                let initial =
                    ((per_worker / 1000.0).ceil() as usize).clamp(1, self.share.max_connections);
                for _ in 0..initial {
                    self.open_slot(now, false);
                }
            }
        }
    }

    // ---- slots ---------------------------------------------------------------------------

    /// Adds a slot with no connection yet.
    fn new_slot(&mut self, phase: Phase, now: Instant, attempt: bool) -> usize {
        let key = self.slots.insert(Slot {
            stream: None,
            ring_conn: None,
            h2: None,
            phase,
            parser: Framer::new(self.config.raw.as_ref(), &self.config.request.method),
            written: 0,
            payload: Payload::Shared(0),
            rendered: Vec::new(),
            head: self.config.request.method.eq_ignore_ascii_case("HEAD"),
            idempotent: false,
            closes: false,
            endpoint: 0,
            start: now,
            since: now,
            up: now,
            first_byte: now,
            attempt,
            backoff: Duration::ZERO,
            reused: false,
            retried: false,
        });
        self.peak_connections = self.peak_connections.max(self.slots.len());
        key
    }

    fn open_slot(&mut self, now: Instant, attempt: bool) -> usize {
        let key = self.new_slot(Phase::Connecting, now, attempt);
        self.connect(key, now);
        key
    }

    /// Starts a non-blocking connect on the slot.
    fn connect(&mut self, key: usize, now: Instant) {
        if self.ring.is_some() {
            return self.uring_connect(key, now);
        }
        let addr = self.config.target.addr;
        let result =
            Stream::connect(addr, self.config.target.tls.as_ref()).and_then(|mut stream| {
                self.poll.registry().register(
                    stream.socket(),
                    Token(key),
                    Interest::READABLE | Interest::WRITABLE,
                )?;
                Ok(stream)
            });
        let Some(slot) = self.slots.get_mut(key) else {
            return;
        };
        slot.since = now;
        match result {
            Ok(stream) => {
                slot.stream = Some(stream);
                slot.phase = Phase::Connecting;
            }
            Err(e) => self.connect_failed(key, now, &e),
        }
    }

    fn connect_failed(&mut self, key: usize, now: Instant, error: &io::Error) {
        self.connect_failures += 1;
        self.last_connect_error = Some(error.to_string());
        self.setup_failed(key, now, ErrorKind::Connect);
        let nobody = !self.ever_connected && !self.shared.any_connected.load(Ordering::Relaxed);
        if nobody && self.connect_failures >= UNREACHABLE_AFTER {
            self.shared.unreachable.store(true, Ordering::Relaxed);
            self.shared.stop.store(true, Ordering::Relaxed);
        }
    }

    /// The TLS handshake failed or stalled past the timeout. The target is reachable (TCP
    /// came up), so this never makes it unreachable; each attempt is counted.
    fn handshake_failed(&mut self, key: usize, now: Instant, error: &io::Error) {
        let kind = if error.kind() == io::ErrorKind::TimedOut {
            ErrorKind::Timeout
        } else {
            ErrorKind::Tls
        };
        let why = tls_error(error).map_or_else(|| error.to_string(), |e| e.to_string());
        self.last_connect_error = Some(format!("TLS handshake: {why}"));
        self.disconnect(key);
        self.setup_failed(key, now, kind);
    }

    /// A connection could not be set up: the slot backs off, and the failure is charged
    /// to the request waiting for it.
    fn setup_failed(&mut self, key: usize, now: Instant, kind: ErrorKind) {
        let Some(slot) = self.slots.get_mut(key) else {
            return;
        };
        slot.stream = None;
        if let (Some(conn), Some(io)) = (slot.ring_conn.take(), self.ring.as_mut()) {
            io.close(conn);
        }
        slot.parser.reset();
        slot.backoff = (slot.backoff * 2).clamp(BACKOFF_MIN, BACKOFF_MAX);
        slot.phase = Phase::Backoff(now + slot.backoff);
        if slot.attempt {
            slot.attempt = false;
            let (start, endpoint) = (slot.start, slot.endpoint);
            self.rec.error(endpoint, start, now, kind);
        } else if let Some(open) = &mut self.open {
            // The open model charges the failure to the oldest waiting arrival.
            if let Some(intended) = open.pending.pop_front() {
                self.rec.sent(intended);
                self.rec.error(NO_ENDPOINT, intended, now, kind);
            }
        }
    }

    /// TCP is up: requests may start, or the TLS handshake first.
    fn tcp_up(&mut self, key: usize, now: Instant) {
        let Some(slot) = self.slots.get_mut(key) else {
            return;
        };
        self.rec
            .connect_time(now, now.saturating_duration_since(slot.since));
        if !slot.stream.as_ref().is_some_and(Stream::handshaking) {
            return self.connected(key, now);
        }
        // Reachable: a handshake that fails is the server's TLS, not the network.
        self.connect_failures = 0;
        if !self.ever_connected {
            self.ever_connected = true;
            self.shared.any_connected.store(true, Ordering::Relaxed);
        }
        slot.up = now;
        slot.phase = Phase::Handshaking;
        self.handshake(key, now);
    }

    /// Advances the TLS handshake; once complete, the connection is ready.
    fn handshake(&mut self, key: usize, now: Instant) {
        let Some(slot) = self.slots.get_mut(key) else {
            return;
        };
        let Some(stream) = slot.stream.as_mut() else {
            return;
        };
        match stream.handshake() {
            Ok(false) => {}
            Ok(true) => {
                // The client's own cryptography is part of the handshake's time.
                let done = Instant::now();
                self.rec
                    .handshake_time(done, done.saturating_duration_since(slot.up));
                self.connected(key, done);
            }
            Err(e) => self.handshake_failed(key, now, &e),
        }
    }

    fn connected(&mut self, key: usize, now: Instant) {
        self.connect_failures = 0;
        self.rec.connected(now);
        if !self.ever_connected {
            self.ever_connected = true;
            self.shared.any_connected.store(true, Ordering::Relaxed);
        }
        let Some(slot) = self.slots.get_mut(key) else {
            return;
        };
        slot.backoff = Duration::ZERO;
        if self.h2.is_some() {
            return self.h2_open(key);
        }
        if slot.attempt {
            slot.attempt = false;
            slot.phase = Phase::Writing;
            slot.written = 0;
            slot.since = now;
            self.write(key, now);
        } else {
            slot.phase = Phase::Idle;
            self.next_for(key, now);
        }
    }

    /// Drops the slot's stream; the next step reconnects if needed.
    fn disconnect(&mut self, key: usize) {
        if let Some(slot) = self.slots.get_mut(key) {
            if let Some(mut s) = slot.stream.take() {
                let _ = self.poll.registry().deregister(s.socket());
            }
            if let (Some(conn), Some(io)) = (slot.ring_conn.take(), self.ring.as_mut()) {
                io.close(conn);
            }
            slot.parser.reset();
            slot.phase = Phase::Idle;
            slot.reused = false;
            slot.h2 = None;
        }
        if let Some(open) = &mut self.open {
            open.idle.retain(|&k| k != key);
        }
    }

    fn remove(&mut self, key: usize) {
        // An HTTP/2 connection with streams in flight stays until they end.
        if self
            .slots
            .get(key)
            .and_then(|s| s.h2.as_ref())
            .is_some_and(|c| c.busy())
        {
            return;
        }
        self.disconnect(key);
        self.slots.try_remove(key);
    }

    // ---- requests ------------------------------------------------------------------------

    /// Decides what an idle slot does next.
    fn next_for(&mut self, key: usize, now: Instant) {
        if self.stopping {
            self.remove(key);
            return;
        }
        if self.closed_plan.is_some() {
            if self.closed_retire(now) {
                self.remove(key);
            } else {
                self.begin(key, now, now);
            }
            return;
        }
        let Some(open) = &mut self.open else { return };
        match open.pending.pop_front() {
            Some(intended) => self.begin(key, intended, now),
            None => {
                if self.slots.get(key).is_some_and(Slot::has_connection) {
                    open.idle.push(key);
                } else {
                    self.remove(key);
                }
            }
        }
    }

    /// Begins a request on the slot: writes it, or connects first.
    fn begin(&mut self, key: usize, start: Instant, now: Instant) {
        if self.closed_plan.is_some() && self.rec.measured(start) {
            self.issued += 1;
        }
        self.rec.sent(start);
        if self.h2.is_some() {
            return self.h2_begin(key, start, now);
        }
        let Some(slot) = self.slots.get_mut(key) else {
            return;
        };
        slot.start = start;
        slot.since = now;
        slot.written = 0;
        slot.retried = false;
        let next = self.source.next(&mut slot.rendered);
        slot.payload = next.payload;
        slot.endpoint = next.endpoint;
        slot.idempotent = next.idempotent;
        slot.closes = next.closes;
        if next.head != slot.head {
            let method = if next.head { "HEAD" } else { "GET" };
            slot.head = next.head;
            slot.parser = Framer::new(self.config.raw.as_ref(), method);
        }
        if slot.has_connection() {
            slot.phase = Phase::Writing;
            self.write(key, now);
        } else {
            slot.attempt = true;
            self.connect(key, now);
        }
    }

    fn write(&mut self, key: usize, now: Instant) {
        if self.ring.is_some() {
            return self.uring_write(key, now);
        }
        let Some(slot) = self.slots.get_mut(key) else {
            return;
        };
        let request = match slot.payload {
            Payload::Shared(index) => self.wires.fixed(index),
            Payload::Rendered => slot.rendered.as_slice(),
        };
        let Some(stream) = slot.stream.as_mut() else {
            return;
        };
        loop {
            if slot.written == request.len() {
                // TLS may still hold encrypted bytes the socket did not take.
                match stream.flush() {
                    Ok(()) => slot.phase = Phase::Reading,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(e) => self.fail(key, now, io_kind(&e), true),
                }
                return;
            }
            match stream.write(&request[slot.written..]) {
                Ok(0) => return self.fail(key, now, ErrorKind::Closed, true),
                Ok(n) => slot.written += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return self.fail(key, now, io_kind(&e), true),
            }
        }
    }

    /// Reads what is there and advances the parser. A short read means the socket is
    /// drained, unless the peer has closed: its end of file came with the same edge and
    /// must be read now, or it would never be seen.
    fn read(slot: &mut Slot, buf: &mut [u8], peer_closed: bool) -> ReadEnd {
        let failed = |kind, parser: &Framer| ReadEnd::Failed {
            kind,
            fresh: !parser.started(),
        };
        loop {
            let Some(stream) = slot.stream.as_mut() else {
                return failed(ErrorKind::Closed, &slot.parser);
            };
            match stream.read(buf) {
                Ok(0) => return eof(slot),
                Ok(n) => match feed(slot, &buf[..n]) {
                    Fed::End(end) => return end,
                    Fed::More if n < buf.len() && !peer_closed => return ReadEnd::Pending,
                    Fed::More => {}
                },
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return ReadEnd::Pending,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return failed(io_kind(&e), &slot.parser),
            }
        }
    }

    /// A response is complete. A connection is not reused when the response or the request
    /// said so, when the server has already closed its end (the same event carried its
    /// FIN), or when the response broke its framing (bytes beyond its end).
    fn complete(&mut self, key: usize, resp: Response, now: Instant, peer_closed: bool) {
        let Some(slot) = self.slots.get_mut(key) else {
            return;
        };
        let (start, endpoint, body) = (slot.start, slot.endpoint, slot.parser.body_bytes());
        let closes = slot.closes;
        let ttfb = slot.first_byte.saturating_duration_since(slot.since);
        slot.parser.reset();
        slot.phase = Phase::Idle;
        slot.reused = true;
        if resp.trailing > 0 {
            self.rec.error(endpoint, start, now, ErrorKind::Framing);
        } else {
            self.rec.response(endpoint, start, now, resp.status, body);
            self.rec.first_byte(start, now, ttfb);
        }
        if !resp.keep_alive || resp.trailing > 0 || peer_closed || closes {
            self.disconnect(key);
        }
        self.after(key, now);
    }

    /// An attempt failed. A request that met the end of a *reused* connection before one
    /// byte of its response is sent again, once, on a new connection (RFC 9112 §9.3.1,
    /// idempotent methods): the server closed a keep-alive connection it did not announce
    /// as closing, and the request never reached it.
    fn fail(&mut self, key: usize, now: Instant, kind: ErrorKind, fresh: bool) {
        let Some(slot) = self.slots.get_mut(key) else {
            return;
        };
        let retry = fresh
            && slot.reused
            && !slot.retried
            && slot.idempotent
            && matches!(kind, ErrorKind::Closed | ErrorKind::Reset)
            && !self.stopping;
        if retry {
            slot.retried = true;
            self.rec.reconnect(now);
            self.disconnect(key);
            if let Some(slot) = self.slots.get_mut(key) {
                slot.attempt = true;
                slot.written = 0;
            }
            self.connect(key, now);
            return;
        }
        let (start, endpoint) = (slot.start, slot.endpoint);
        self.rec.error(endpoint, start, now, kind);
        self.disconnect(key);
        self.after(key, now);
    }

    /// A request has ended: the closed model's think time first, if the scenario has one,
    /// then the slot's next step.
    fn after(&mut self, key: usize, now: Instant) {
        if self.closed_plan.is_some() && !self.stopping {
            if let Some(pause) = self.source.think() {
                if let Some(slot) = self.slots.get_mut(key) {
                    let until = now + pause;
                    slot.phase = Phase::Thinking(until);
                    self.thinking.push(Reverse((until, key)));
                    return;
                }
            }
        }
        self.next_for(key, now);
    }

    /// Closed model: the slots whose think time is over go on to their next request.
    fn wake_thinkers(&mut self, now: Instant) {
        while let Some(&Reverse((until, key))) = self.thinking.peek() {
            if until > now {
                return;
            }
            self.thinking.pop();
            // A slot removed meanwhile, or its key reused, is no longer this pause's.
            let Some(slot) = self.slots.get_mut(key) else {
                continue;
            };
            if slot.phase == Phase::Thinking(until) {
                slot.phase = Phase::Idle;
                self.next_for(key, now);
            }
        }
    }

    fn on_event(&mut self, key: usize, event: &mio::event::Event) {
        let Some(slot) = self.slots.get_mut(key) else {
            return;
        };
        // The hot path (a response arriving) reads the clock once, after the read.
        if slot.phase == Phase::Reading {
            let peer_closed = event.is_read_closed() || event.is_error();
            match Self::read(slot, &mut self.buf, peer_closed) {
                ReadEnd::Pending => {}
                ReadEnd::Done(resp, at) => self.complete(key, resp, at, peer_closed),
                ReadEnd::Failed { kind, fresh } => self.fail(key, Instant::now(), kind, fresh),
            }
            return;
        }
        let now = Instant::now();
        match slot.phase {
            Phase::Connecting => {
                let Some(stream) = slot.stream.as_ref().map(Stream::socket_ref) else {
                    return;
                };
                match stream.take_error() {
                    Ok(Some(e)) | Err(e) => self.connect_failed(key, now, &e),
                    Ok(None) => match stream.peer_addr() {
                        Ok(_) => self.tcp_up(key, now),
                        Err(e) if e.kind() == io::ErrorKind::NotConnected => {
                            if event.is_error() || event.is_write_closed() {
                                let e = io::Error::new(
                                    io::ErrorKind::ConnectionRefused,
                                    "connection failed",
                                );
                                self.connect_failed(key, now, &e);
                            }
                        }
                        Err(e) => self.connect_failed(key, now, &e),
                    },
                }
            }
            Phase::Handshaking => self.handshake(key, now),
            Phase::Settings | Phase::Multiplexed => self.h2_event(key, event),
            Phase::Writing => {
                if event.is_writable() || event.is_error() {
                    self.write(key, now);
                }
            }
            Phase::Idle => {
                // The server closed an idle connection, or sent bytes nobody asked for.
                if event.is_readable() || event.is_read_closed() || event.is_error() {
                    let mut probe = [0u8; 1];
                    let gone = match slot.stream.as_mut().map(|s| s.read(&mut probe)) {
                        Some(Err(e)) => e.kind() != io::ErrorKind::WouldBlock,
                        _ => true,
                    };
                    if gone {
                        self.idle_closed(key, now);
                    }
                }
            }
            Phase::Thinking(_) => {
                // The server closed the connection during the pause: the next request
                // opens a new one when the pause is over.
                if event.is_readable() || event.is_read_closed() || event.is_error() {
                    let mut probe = [0u8; 1];
                    let gone = match slot.stream.as_mut().map(|s| s.read(&mut probe)) {
                        Some(Err(e)) => e.kind() != io::ErrorKind::WouldBlock,
                        _ => true,
                    };
                    if gone {
                        self.idle_closed(key, now);
                    }
                }
            }
            Phase::Reading | Phase::Backoff(_) => {}
        }
    }

    /// The server closed a connection that carries no request, or sent bytes nobody asked
    /// for: an idle slot goes on without it (the closed model's next request opens a new
    /// one; the open model lets the slot go); a thinking slot's next request, when its pause
    /// is over, opens a new one.
    fn idle_closed(&mut self, key: usize, now: Instant) {
        let Some(phase) = self.slots.get(key).map(|s| s.phase) else {
            return;
        };
        self.disconnect(key);
        match phase {
            Phase::Thinking(until) => {
                if let Some(slot) = self.slots.get_mut(key) {
                    slot.phase = Phase::Thinking(until);
                }
            }
            _ if self.closed_plan.is_some() => self.next_for(key, now),
            _ => self.remove(key),
        }
    }

    // ---- time ----------------------------------------------------------------------------

    fn closed_target(&self, now: Instant) -> usize {
        let Some(plan) = &self.closed_plan else {
            return 0;
        };
        if self.share.window_end.is_some_and(|end| now >= end) {
            return 0;
        }
        // Stage plans have no warm-up, so their clock starts with the window.
        let t = now
            .saturating_duration_since(self.share.window_start)
            .as_secs_f64();
        let total = plan.at(t).round().max(0.0) as usize;
        let (w, n) = (self.share.workers, self.share.id);
        total / w + usize::from(n < total % w)
    }

    fn quota_left(&self) -> bool {
        self.share.quota.is_none_or(|q| self.issued < q)
    }

    /// Closed model: whether a connection that comes free should go (more connections than
    /// the plan wants now, or the quota is met).
    fn closed_retire(&self, now: Instant) -> bool {
        self.slots.len() > self.closed_target(now) || !self.quota_left()
    }

    /// Closed model: opens or retires connections to follow the plan.
    fn adjust_connections(&mut self, now: Instant) {
        if self.stopping {
            return;
        }
        let target = self.closed_target(now);
        let mut busy = self.slots.len();
        while busy < target && self.quota_left() {
            let key = self.new_slot(Phase::Idle, now, false);
            self.begin(key, now, now);
            busy += 1;
        }
    }

    fn tick(&mut self, now: Instant) {
        let timeout = self.config.limits.timeout;
        let mut expired = Vec::new();
        let mut retry = Vec::new();
        for (key, slot) in &self.slots {
            match slot.phase {
                Phase::Writing | Phase::Reading
                    if now.saturating_duration_since(slot.since) >= timeout =>
                {
                    expired.push((key, ErrorKind::Timeout));
                }
                Phase::Connecting if now.saturating_duration_since(slot.since) >= timeout => {
                    expired.push((key, ErrorKind::Connect));
                }
                // Connect and handshake together within the timeout: a server that stalls
                // the handshake costs one timeout per attempt, counted.
                Phase::Handshaking if now.saturating_duration_since(slot.since) >= timeout => {
                    expired.push((key, ErrorKind::Tls));
                }
                Phase::Backoff(until) if now >= until => retry.push(key),
                _ => {}
            }
        }
        for (key, kind) in expired {
            if kind == ErrorKind::Connect {
                let e = io::Error::new(io::ErrorKind::TimedOut, "connect timed out");
                self.disconnect(key);
                self.connect_failed(key, now, &e);
            } else if kind == ErrorKind::Tls {
                let e = io::Error::new(io::ErrorKind::TimedOut, "TLS handshake timed out");
                self.handshake_failed(key, now, &e);
            } else {
                self.fail(key, now, kind, false);
            }
        }
        for key in retry {
            let attempt_needed = match &self.open {
                Some(open) => !open.pending.is_empty() && !self.stopping,
                None => !self.stopping,
            };
            if !attempt_needed {
                self.remove(key);
            } else if self.closed_plan.is_some() {
                if let Some(slot) = self.slots.get_mut(key) {
                    slot.phase = Phase::Idle;
                }
                self.next_for(key, now);
            } else {
                self.connect(key, now);
            }
        }
        if self.h2.is_some() {
            self.h2_tick(now);
        }
        // After the window the target is 0 connections; `finished` ends the worker.
        if self.closed_plan.is_some() {
            self.adjust_connections(now);
        }
    }

    /// Open model: takes every arrival that is due.
    fn arrivals(&mut self, now: Instant) {
        loop {
            let Some(open) = &mut self.open else { return };
            let Some(intended) = open.next else { break };
            // The schedule ends as soon as it is known to be over, not when its next
            // arrival (perhaps seconds away at a low rate) falls due.
            let past_end = self.share.window_end.is_some_and(|end| intended >= end);
            let quota_hit = self.share.quota.is_some_and(|q| self.issued >= q);
            if past_end || quota_hit || self.stopping {
                open.next = None;
                break;
            }
            if intended > now {
                break;
            }
            if intended >= self.share.window_start {
                self.issued += 1;
            }
            open.next = open
                .arrivals
                .next_time()
                .map(|s| self.share.t0 + Duration::from_secs_f64(s));
            let idle = open.idle.pop();
            self.rec.lag(intended, now);
            match idle {
                Some(key) => self.begin(key, intended, now),
                None => self.enqueue(intended, now),
            }
        }
        let schedule_over = self.open.as_ref().is_some_and(|o| o.next.is_none());
        if schedule_over && !self.stopping {
            self.end_schedule(now);
        }
    }

    /// Open model: an arrival waits for a connection; its wait is part of its latency.
    fn enqueue(&mut self, intended: Instant, now: Instant) {
        let room = self.slots.len() < self.share.max_connections;
        let Some(open) = &mut self.open else { return };
        if open.pending.len() >= PENDING_CAP {
            self.rec.never_sent(intended, now);
            return;
        }
        open.pending.push_back(intended);
        let waiting = open.pending.len();
        // Open a connection unless enough are already on their way (each brings its
        // streams: one for HTTP/1.1); the scan only happens while the pool may still grow.
        let streams = self.h2.as_ref().map_or(1, H2Run::streams);
        if room {
            let connecting = self
                .slots
                .iter()
                .filter(|(_, s)| {
                    matches!(
                        s.phase,
                        Phase::Connecting | Phase::Handshaking | Phase::Settings
                    )
                })
                .count();
            if connecting < CONNECTING_CAP && connecting * streams < waiting {
                self.open_slot(now, false);
            }
        }
    }

    /// Open model: no more arrivals; what waits unsent at the end of the window is dropped.
    fn end_schedule(&mut self, now: Instant) {
        let Some(open) = &mut self.open else { return };
        if self.share.window_end.is_some_and(|end| now >= end) {
            for intended in open.pending.drain(..) {
                self.rec.never_sent(intended, now);
            }
        }
        if open.pending.is_empty() {
            self.stopping = true;
            let idle: Vec<usize> = open.idle.drain(..).collect();
            for key in idle {
                self.remove(key);
            }
            let waiting: Vec<usize> = self
                .slots
                .iter()
                .filter(|(_, s)| {
                    matches!(
                        s.phase,
                        Phase::Connecting
                            | Phase::Handshaking
                            | Phase::Settings
                            | Phase::Backoff(_)
                            | Phase::Idle
                    )
                })
                .map(|(k, _)| k)
                .collect();
            for key in waiting {
                self.remove(key);
            }
        }
    }

    fn arm_timer(&mut self, now: Instant) {
        let Some(open) = &mut self.open else { return };
        let Some(next) = open.wake_at(self.share.t0) else {
            return;
        };
        if open.armed == Some(next) {
            return;
        }
        let Some(timer) = &open.timer else { return };
        let wait = next
            .saturating_duration_since(now)
            .max(Duration::from_nanos(1));
        if timer
            .set(
                Expiration::OneShot(TimeSpec::from_duration(wait)),
                TimerSetTimeFlags::empty(),
            )
            .is_ok()
        {
            open.armed = Some(next);
        }
    }

    /// Whether the worker's share is complete.
    fn finished(&mut self, now: Instant) -> bool {
        let Some(open) = &self.open else {
            if self.share.window_end.is_some_and(|end| now >= end) {
                self.abandon();
                return true;
            }
            return !self.quota_left() && self.slots.is_empty();
        };
        if !self.stopping && open.next.is_none() {
            self.end_schedule(now);
        }
        self.stopping && self.slots.is_empty()
    }

    /// Stops at once: requests in flight are counted as unfinished, queued ones as dropped.
    fn abandon(&mut self) {
        self.stopping = true;
        let now = Instant::now();
        for (_, s) in &mut self.slots {
            let in_flight = matches!(s.phase, Phase::Writing | Phase::Reading)
                || (matches!(
                    s.phase,
                    Phase::Connecting | Phase::Handshaking | Phase::Settings
                ) && s.attempt);
            if in_flight {
                self.rec.unfinished(s.start, now);
            }
            if let Some(conn) = &mut s.h2 {
                for start in conn.in_flight() {
                    self.rec.unfinished(start, now);
                }
                conn.forget();
            }
        }
        if let Some(open) = &mut self.open {
            for intended in open.pending.drain(..) {
                self.rec.never_sent(intended, now);
            }
            open.next = None;
        }
        let keys: Vec<usize> = self.slots.iter().map(|(k, _)| k).collect();
        for key in keys {
            self.remove(key);
        }
    }
}

/// The error kind of a failed socket call.
fn io_kind(e: &io::Error) -> ErrorKind {
    match e.kind() {
        // TLS broke on the connection (see the transport).
        io::ErrorKind::InvalidData => ErrorKind::Tls,
        io::ErrorKind::TimedOut => ErrorKind::Timeout,
        io::ErrorKind::UnexpectedEof => ErrorKind::Closed,
        _ => ErrorKind::Reset,
    }
}

#[cfg(test)]
#[path = "worker_tests.rs"]
mod tests;
