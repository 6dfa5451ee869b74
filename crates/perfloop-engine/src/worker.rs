//! One worker thread: a `mio` event loop that owns its connections and its recorder.
//!
//! Per request the hot path costs one `write`, one `read` and a share of one `epoll_wait`:
//! the next request is written as soon as the previous response is parsed, with no
//! readiness round trip, and sockets stay registered edge-triggered for their whole life.
//! Open-model arrivals are timed by a `timerfd` (nanosecond resolution, timer slack
//! lowered) so the schedule does not inherit `epoll_wait`'s millisecond granularity.
//!
//! Nothing here is shared with other workers except two flags read once per loop turn.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};
use nix::sys::time::TimeSpec;
use nix::sys::timerfd::{ClockId, Expiration, TimerFd, TimerFlags, TimerSetTimeFlags};
use perfloop_monitor::thread_cpu;
use slab::Slab;

use crate::config::{LoadConfig, Model};
use crate::http::{ParseError, Progress, Response, ResponseParser};
use crate::outcome::ErrorKind;
use crate::recorder::{Recorder, WorkerResult};
use crate::schedule::{Arrivals, Plan};

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
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Phase {
    Connecting,
    Idle,
    Writing,
    Reading,
    Backoff(Instant),
}

struct Slot {
    stream: Option<TcpStream>,
    phase: Phase,
    parser: ResponseParser,
    written: usize,
    /// Which request variant the slot is sending.
    request: usize,
    /// The latency origin: the intended time (open) or the start of the attempt (closed).
    start: Instant,
    /// The timeout origin: when the write (or the connect) began.
    since: Instant,
    /// Closed model: the slot's connect belongs to a counted request.
    attempt: bool,
    backoff: Duration,
    /// The connection has carried a complete response (so it may have been closed since).
    reused: bool,
    /// The current request has already been sent again on a new connection.
    retried: bool,
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
    requests: &'a [Vec<u8>],
    /// The next request variant to send.
    next_request: usize,
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
    /// Requests are sent again once on a new connection when a reused one turns out closed.
    retry_idempotent: bool,
    /// The request asks the server to close after each response (`Connection: close`).
    close_each: bool,
}

struct OpenState {
    arrivals: Arrivals,
    next: Option<Instant>,
    pending: VecDeque<Instant>,
    idle: Vec<usize>,
    timer: Option<TimerFd>,
    armed: Option<Instant>,
}

impl<'a> Worker<'a> {
    pub(crate) fn new(
        share: Share,
        shared: &'a Shared,
        config: &'a LoadConfig,
        requests: &'a [Vec<u8>],
        rec: Recorder,
    ) -> io::Result<Self> {
        let poll = Poll::new()?;
        let (closed_plan, open) = match &config.model {
            Model::Closed { connections } => (Some(connections.clone()), None),
            Model::Open { rate, .. } => {
                // A finer timer slack sharpens the schedule; not fatal if refused.
                let _ = nix::sys::prctl::set_timerslack(1_000);
                let timer = TimerFd::new(
                    ClockId::CLOCK_MONOTONIC,
                    TimerFlags::TFD_NONBLOCK | TimerFlags::TFD_CLOEXEC,
                )
                .ok();
                if let Some(t) = &timer {
                    poll.registry().register(
                        &mut SourceFd(&t.as_fd().as_raw_fd()),
                        TIMER,
                        Interest::READABLE,
                    )?;
                }
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
                };
                (None, Some(open))
            }
        };
        let now = Instant::now();
        let request = &config.request;
        let retry_idempotent = ["GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE"]
            .iter()
            .any(|m| request.method.eq_ignore_ascii_case(m));
        let close_each = request.closes_each();
        Ok(Worker {
            share,
            shared,
            config,
            requests,
            next_request: 0,
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
            retry_idempotent,
            close_each,
        })
    }

    /// Runs until the share is done, then hands the results to the coordinator.
    pub(crate) fn run(mut self) {
        let cpu0 = thread_cpu();
        let wall0 = Instant::now();
        if let Err(e) = self.event_loop() {
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
        });
    }

    fn event_loop(&mut self) -> io::Result<()> {
        let mut events = Events::with_capacity(1024);
        let now = Instant::now();
        self.start(now);
        loop {
            let now = Instant::now();
            if self.shared.stop.load(Ordering::Relaxed) {
                self.abandon();
                return Ok(());
            }
            if self.open.is_some() {
                self.arrivals(now);
            }
            if now >= self.next_tick {
                self.tick(now);
                while self.next_tick <= now {
                    self.next_tick += TICK;
                }
            }
            self.rec.roll(now);
            if self.finished(now) {
                return Ok(());
            }
            let mut wake = self.next_tick.min(self.rec.next_roll());
            if let Some(OpenState {
                next: Some(next),
                timer: None,
                ..
            }) = &self.open
            {
                wake = wake.min(*next);
            }
            let wake = match self.share.window_end {
                Some(end) if end > now => wake.min(end),
                _ => wake,
            };
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
            phase,
            parser: ResponseParser::new(&self.config.request.method),
            written: 0,
            request: 0,
            start: now,
            since: now,
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
        let addr = self.config.target.addr;
        let result = TcpStream::connect(addr).and_then(|mut s| {
            s.set_nodelay(true)?;
            self.poll.registry().register(
                &mut s,
                Token(key),
                Interest::READABLE | Interest::WRITABLE,
            )?;
            Ok(s)
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
        let Some(slot) = self.slots.get_mut(key) else {
            return;
        };
        slot.stream = None;
        slot.parser.reset();
        slot.backoff = (slot.backoff * 2).clamp(BACKOFF_MIN, BACKOFF_MAX);
        slot.phase = Phase::Backoff(now + slot.backoff);
        if slot.attempt {
            slot.attempt = false;
            let start = slot.start;
            self.rec.error(start, now, ErrorKind::Connect);
        } else if let Some(open) = &mut self.open {
            // The open model charges the failure to the oldest waiting arrival.
            if let Some(intended) = open.pending.pop_front() {
                self.rec.sent(intended);
                self.rec.error(intended, now, ErrorKind::Connect);
            }
        }
        let nobody = !self.ever_connected && !self.shared.any_connected.load(Ordering::Relaxed);
        if nobody && self.connect_failures >= UNREACHABLE_AFTER {
            self.shared.unreachable.store(true, Ordering::Relaxed);
            self.shared.stop.store(true, Ordering::Relaxed);
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
                let _ = self.poll.registry().deregister(&mut s);
            }
            slot.parser.reset();
            slot.phase = Phase::Idle;
            slot.reused = false;
        }
        if let Some(open) = &mut self.open {
            open.idle.retain(|&k| k != key);
        }
    }

    fn remove(&mut self, key: usize) {
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
            if self.slots.len() > self.closed_target(now) || !self.quota_left() {
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
                if self.slots.get(key).is_some_and(|s| s.stream.is_some()) {
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
        let Some(slot) = self.slots.get_mut(key) else {
            return;
        };
        slot.start = start;
        slot.since = now;
        slot.written = 0;
        slot.retried = false;
        slot.request = self.next_request;
        if self.requests.len() > 1 {
            self.next_request = (self.next_request + 1) % self.requests.len();
        }
        if slot.stream.is_some() {
            slot.phase = Phase::Writing;
            self.write(key, now);
        } else {
            slot.attempt = true;
            self.connect(key, now);
        }
    }

    fn write(&mut self, key: usize, now: Instant) {
        let Some(slot) = self.slots.get_mut(key) else {
            return;
        };
        let Some(request) = self.requests.get(slot.request) else {
            return;
        };
        let Some(stream) = slot.stream.as_mut() else {
            return;
        };
        loop {
            match stream.write(&request[slot.written..]) {
                Ok(0) => return self.fail(key, now, ErrorKind::Closed, true),
                Ok(n) => {
                    slot.written += n;
                    if slot.written == request.len() {
                        slot.phase = Phase::Reading;
                        return;
                    }
                }
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
        let failed = |kind, parser: &ResponseParser| ReadEnd::Failed {
            kind,
            fresh: !parser.started(),
        };
        let Some(stream) = slot.stream.as_mut() else {
            return failed(ErrorKind::Closed, &slot.parser);
        };
        loop {
            match stream.read(buf) {
                Ok(0) => {
                    return match slot.parser.eof() {
                        Some(resp) => ReadEnd::Done(resp, Instant::now()),
                        None => failed(ErrorKind::Closed, &slot.parser),
                    };
                }
                Ok(n) => match slot.parser.feed(&buf[..n]) {
                    Ok(Progress::More) if n < buf.len() && !peer_closed => return ReadEnd::Pending,
                    Ok(Progress::More) => {}
                    Ok(Progress::Done(resp)) => return ReadEnd::Done(resp, Instant::now()),
                    Err(ParseError::Malformed) => {
                        return failed(ErrorKind::Malformed, &slot.parser);
                    }
                    Err(ParseError::HeadersTooLarge) => {
                        return failed(ErrorKind::HeadersTooLarge, &slot.parser);
                    }
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
        let (start, body) = (slot.start, slot.parser.body_bytes);
        slot.parser.reset();
        slot.phase = Phase::Idle;
        slot.reused = true;
        if resp.trailing > 0 {
            self.rec.error(start, now, ErrorKind::Framing);
        } else {
            self.rec.response(start, now, resp.status, body);
        }
        if !resp.keep_alive || resp.trailing > 0 || peer_closed || self.close_each {
            self.disconnect(key);
        }
        self.next_for(key, now);
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
            && self.retry_idempotent
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
        let start = slot.start;
        self.rec.error(start, now, kind);
        self.disconnect(key);
        self.next_for(key, now);
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
                let Some(stream) = slot.stream.as_ref() else {
                    return;
                };
                match stream.take_error() {
                    Ok(Some(e)) | Err(e) => self.connect_failed(key, now, &e),
                    Ok(None) => match stream.peer_addr() {
                        Ok(_) => self.connected(key, now),
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
                        self.disconnect(key);
                        if self.closed_plan.is_some() {
                            self.next_for(key, now);
                        } else {
                            self.remove(key);
                        }
                    }
                }
            }
            Phase::Reading | Phase::Backoff(_) => {}
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
                Phase::Backoff(until) if now >= until => retry.push(key),
                _ => {}
            }
        }
        for (key, kind) in expired {
            if kind == ErrorKind::Connect {
                let e = io::Error::new(io::ErrorKind::TimedOut, "connect timed out");
                self.disconnect(key);
                self.connect_failed(key, now, &e);
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
        // Open a connection unless enough are already on their way; the scan only happens
        // while the pool may still grow.
        if room {
            let connecting = self
                .slots
                .iter()
                .filter(|(_, s)| s.phase == Phase::Connecting)
                .count();
            if connecting < waiting.min(CONNECTING_CAP) {
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
                    matches!(s.phase, Phase::Connecting | Phase::Backoff(_) | Phase::Idle)
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
        let Some(next) = open.next else { return };
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
        for (_, s) in &self.slots {
            let in_flight = matches!(s.phase, Phase::Writing | Phase::Reading)
                || (s.phase == Phase::Connecting && s.attempt);
            if in_flight {
                self.rec.unfinished(s.start, now);
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
        io::ErrorKind::TimedOut => ErrorKind::Timeout,
        io::ErrorKind::UnexpectedEof => ErrorKind::Closed,
        _ => ErrorKind::Reset,
    }
}

#[cfg(test)]
#[path = "worker_tests.rs"]
mod tests;
