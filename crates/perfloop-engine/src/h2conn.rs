//! HTTP/2 connections in the worker: each slot is one connection carrying up to
//! `--streams` requests at once through its [`Session`].
//!
//! The models, the plan, the arrivals, the back-off and the recorder calls are the
//! worker's own: a request still begins in `Worker::begin` (which counts it) and lands
//! here only for where its bytes go. A connection is set up as for HTTP/1.1 (connect,
//! TLS with ALPN `h2`), then waits in `Phase::Settings` for the server's SETTINGS (bounded
//! by the timeout, like the handshake: a server that never sends them, or allows no
//! stream, costs one timeout per attempt, counted), then runs in `Phase::Multiplexed`:
//! each stream in flight is a [`Flight`] (its latency origin, its timeout origin, its
//! endpoint), named by its token in the session's events.
//!
//! Writes are gathered: starting a stream (or acknowledging a frame) only marks the
//! connection, and the loop writes each marked connection once per turn, so the arrivals
//! of one batch, or the new requests that several responses of one read make room for,
//! go out in one write.

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use slab::Slab;

use super::{Phase, Worker, io_kind};
use crate::config::LoadConfig;
use crate::h2::{self, Event, Request, Session};
use crate::outcome::ErrorKind;
use crate::source::Payload;

/// The run's HTTP/2 settings and requests, shared by the worker's connections.
pub(super) struct H2Run {
    /// Every variant of the run's request, HPACK-encoded once (`Payload::Shared` indexes
    /// them as it indexes the HTTP/1.1 bytes).
    requests: Vec<Request>,
    /// Streams per connection.
    streams: usize,
    session: h2::Config,
    /// Connections with something to write, written at the end of the loop's turn.
    dirty: Vec<usize>,
}

impl H2Run {
    pub(super) fn new(config: &LoadConfig, streams: usize) -> H2Run {
        let scheme = if config.target.tls.is_some() {
            "https"
        } else {
            "http"
        };
        H2Run {
            requests: Request::all(&config.request, scheme),
            streams,
            session: h2::Config {
                max_streams: streams,
                ..h2::Config::default()
            },
            dirty: Vec::new(),
        }
    }
    /// Streams per connection.
    pub(super) fn streams(&self) -> usize {
        self.streams
    }
}

/// One request on a stream.
struct Flight {
    /// The latency origin: the intended time (open) or the start of the attempt (closed).
    start: Instant,
    /// The timeout origin: when the stream was started.
    since: Instant,
    endpoint: usize,
    stream: u32,
}

/// One HTTP/2 connection's state beside its transport.
pub(super) struct H2Conn {
    session: Session,
    flights: Slab<Flight>,
    /// Marked to be written at the end of the loop's turn.
    dirty: bool,
    /// Why the connection ended, for the streams it aborted.
    failure: Option<ErrorKind>,
}

impl H2Conn {
    fn new(config: h2::Config) -> H2Conn {
        H2Conn {
            session: Session::new(config),
            flights: Slab::with_capacity(config.max_streams.min(1024)),
            dirty: false,
            failure: None,
        }
    }

    /// The transport ended (its end of stream, or an I/O error of `kind`).
    fn end(&mut self, kind: ErrorKind) {
        self.failure.get_or_insert(kind);
        self.session.closed();
    }

    /// The latency origins of the requests in flight.
    pub(super) fn in_flight(&self) -> impl Iterator<Item = Instant> + '_ {
        self.flights.iter().map(|(_, f)| f.start)
    }

    /// Forgets the requests in flight (once they are counted as unfinished).
    pub(super) fn forget(&mut self) {
        self.flights.clear();
    }

    /// Whether requests are in flight.
    pub(super) fn busy(&self) -> bool {
        !self.flights.is_empty()
    }
}

/// The error kind of a connection the session failed.
fn kind_of(error: h2::Error) -> ErrorKind {
    match error {
        h2::Error::HeadersTooLarge => ErrorKind::HeadersTooLarge,
        _ => ErrorKind::Malformed,
    }
}

/// Why the connection was set up in vain (its first request's error kind).
fn setup_kind(failure: Option<ErrorKind>) -> ErrorKind {
    failure.unwrap_or(ErrorKind::Closed)
}

impl Worker<'_> {
    /// TCP (and TLS) is up: the session's preface goes out, and requests wait for the
    /// server's SETTINGS.
    pub(super) fn h2_open(&mut self, key: usize) {
        let Some(run) = &mut self.h2 else { return };
        let Some(slot) = self.slots.get_mut(key) else {
            return;
        };
        let mut conn = Box::new(H2Conn::new(run.session));
        conn.dirty = true;
        run.dirty.push(key);
        slot.h2 = Some(conn);
        slot.phase = Phase::Settings;
    }

    /// Begins a counted request on the slot (`Worker::begin` has counted it): a new stream
    /// on its connection, or the connection first.
    pub(super) fn h2_begin(&mut self, key: usize, start: Instant, now: Instant) {
        let Some(run) = &mut self.h2 else { return };
        let Some(slot) = self.slots.get_mut(key) else {
            return;
        };
        let next = self.source.next(&mut slot.rendered);
        let index = match next.payload {
            Payload::Shared(index) => index,
            // Scenarios (rendered requests) are refused with `--http2`.
            Payload::Rendered => 0,
        };
        let conn = match slot.h2.as_mut() {
            Some(conn) if slot.phase == Phase::Multiplexed => conn,
            _ => {
                slot.start = start;
                slot.since = now;
                slot.endpoint = next.endpoint;
                slot.payload = next.payload;
                slot.attempt = true;
                if slot.stream.is_none() {
                    self.connect(key, now);
                }
                return;
            }
        };
        let Some(request) = run.requests.get(index).or(run.requests.first()) else {
            return;
        };
        let token = conn.flights.insert(Flight {
            start,
            since: now,
            endpoint: next.endpoint,
            stream: 0,
        });
        match conn.session.start(request, token) {
            Ok(stream) => {
                if let Some(flight) = conn.flights.get_mut(token) {
                    flight.stream = stream;
                }
                if !conn.dirty {
                    conn.dirty = true;
                    run.dirty.push(key);
                }
            }
            // Callers start only where a stream is free, so only a connection that has
            // just stopped taking streams (GOAWAY) refuses one.
            Err(_) => {
                conn.flights.remove(token);
                self.rec.error(next.endpoint, start, now, ErrorKind::GoAway);
            }
        }
        let room = conn.session.can_start() && conn.flights.len() < run.streams;
        if room
            && let Some(open) = &mut self.open
            && !open.idle.contains(&key)
        {
            open.idle.push(key);
        }
    }

    /// An event on an HTTP/2 connection: reads what is there into the session, then
    /// settles what it completed.
    pub(super) fn h2_event(&mut self, key: usize, event: &mio::event::Event) {
        let peer_closed = event.is_read_closed() || event.is_error();
        let Some(slot) = self.slots.get_mut(key) else {
            return;
        };
        let (Some(stream), Some(conn)) = (slot.stream.as_mut(), slot.h2.as_mut()) else {
            return;
        };
        if event.is_readable() || peer_closed {
            loop {
                match stream.read(&mut self.buf) {
                    Ok(0) => {
                        conn.end(ErrorKind::Closed);
                        break;
                    }
                    Ok(n) => {
                        conn.session.recv(&self.buf[..n]);
                        if n < self.buf.len() && !peer_closed {
                            break;
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        conn.end(io_kind(&e));
                        break;
                    }
                }
            }
        }
        // A socket that drained lets the rest of the output (or TLS's) go.
        if event.is_writable()
            && !conn.dirty
            && let Some(run) = &mut self.h2
        {
            conn.dirty = true;
            run.dirty.push(key);
        }
        self.h2_settle(key, Instant::now());
    }

    /// Takes the session's events: each request's end recorded, the connection made ready
    /// by the server's SETTINGS, a finished connection closed; then fills its free streams.
    fn h2_settle(&mut self, key: usize, now: Instant) {
        let Some(run) = &mut self.h2 else { return };
        let Some(slot) = self.slots.get_mut(key) else {
            return;
        };
        let Some(conn) = slot.h2.as_mut() else {
            return;
        };
        while let Some(event) = conn.session.poll_event() {
            let (token, end) = match event {
                Event::Response {
                    token,
                    status,
                    body,
                } => (token, Ok((status, body))),
                Event::Reset { token, .. } => (token, Err(ErrorKind::StreamReset)),
                Event::Refused { token, .. } => (token, Err(ErrorKind::GoAway)),
                Event::Malformed { token } => (token, Err(ErrorKind::Malformed)),
                Event::Aborted { token } => (token, Err(setup_kind(conn.failure))),
                Event::GoAway { .. } => continue,
                Event::Error(error) => {
                    conn.failure.get_or_insert(kind_of(error));
                    self.last_connect_error = Some(error.to_string());
                    continue;
                }
            };
            let Some(flight) = conn.flights.try_remove(token) else {
                continue;
            };
            match end {
                Ok((status, body)) => {
                    self.rec
                        .response(flight.endpoint, flight.start, now, status, body);
                }
                Err(kind) => self.rec.error(flight.endpoint, flight.start, now, kind),
            }
        }
        if conn.session.wants_write() && !conn.dirty {
            conn.dirty = true;
            run.dirty.push(key);
        }
        let done = !conn.session.accepting() && conn.session.open_streams() == 0;
        if slot.phase == Phase::Settings {
            if done {
                // The connection ended before it could carry a request (the server
                // answered in HTTP/1.x, closed, or broke the protocol).
                let kind = setup_kind(conn.failure);
                self.disconnect(key);
                return self.setup_failed(key, now, kind);
            }
            if !conn.session.can_start() {
                return;
            }
            slot.phase = Phase::Multiplexed;
            if slot.attempt {
                // The request the connection was opened for, counted when it began.
                slot.attempt = false;
                let index = match slot.payload {
                    Payload::Shared(index) => index,
                    Payload::Rendered => 0,
                };
                let Some(request) = run.requests.get(index).or(run.requests.first()) else {
                    return;
                };
                let token = conn.flights.insert(Flight {
                    start: slot.start,
                    since: now,
                    endpoint: slot.endpoint,
                    stream: 0,
                });
                if let Ok(stream) = conn.session.start(request, token)
                    && let Some(flight) = conn.flights.get_mut(token)
                {
                    flight.stream = stream;
                }
                if !conn.dirty {
                    conn.dirty = true;
                    run.dirty.push(key);
                }
            }
        } else if done {
            self.disconnect(key);
            return self.next_for(key, now);
        }
        self.h2_fill(key, now);
    }

    /// Starts requests on the connection's free streams: the closed model's next requests
    /// while the plan wants them, the open model's waiting arrivals; a connection with room
    /// left waits among the open model's idle ones, and one the run no longer needs goes.
    fn h2_fill(&mut self, key: usize, now: Instant) {
        let Some(streams) = self.h2.as_ref().map(|run| run.streams) else {
            return;
        };
        let closed = self.closed_plan.is_some();
        loop {
            let Some(conn) = self.slots.get(key).and_then(|s| s.h2.as_ref()) else {
                return;
            };
            let room = conn.session.can_start() && conn.flights.len() < streams;
            if !room {
                // Starting streams here may have filled a connection the open model lists
                // as having room.
                if let Some(open) = &mut self.open {
                    open.idle.retain(|&k| k != key);
                }
                break;
            }
            if self.stopping {
                break;
            }
            if closed {
                if self.closed_retire(now) {
                    break;
                }
                self.begin(key, now, now);
                continue;
            }
            let Some(open) = &mut self.open else { return };
            match open.pending.pop_front() {
                Some(intended) => self.begin(key, intended, now),
                None => {
                    if !open.idle.contains(&key) {
                        open.idle.push(key);
                    }
                    break;
                }
            }
        }
        let idle = self
            .slots
            .get(key)
            .and_then(|s| s.h2.as_ref())
            .is_some_and(|conn| !conn.busy());
        if idle && (self.stopping || (closed && self.closed_retire(now))) {
            self.remove(key);
        }
    }

    /// Writes what the marked connections have to send.
    pub(super) fn h2_flush(&mut self, now: Instant) {
        let Some(run) = &mut self.h2 else { return };
        if run.dirty.is_empty() {
            return;
        }
        let mut dirty = std::mem::take(&mut run.dirty);
        for &key in &dirty {
            self.h2_write(key, now);
        }
        dirty.clear();
        if let Some(run) = &mut self.h2 {
            // Connections marked while writing (their settling started streams) keep
            // their mark for the next turn.
            dirty.append(&mut run.dirty);
            run.dirty = dirty;
        }
    }

    fn h2_write(&mut self, key: usize, now: Instant) {
        let Some(slot) = self.slots.get_mut(key) else {
            return;
        };
        let (Some(stream), Some(conn)) = (slot.stream.as_mut(), slot.h2.as_mut()) else {
            return;
        };
        if !conn.dirty {
            return;
        }
        conn.dirty = false;
        loop {
            let out = conn.session.output();
            if out.is_empty() {
                break;
            }
            match stream.write(out) {
                Ok(0) => {
                    conn.end(ErrorKind::Closed);
                    break;
                }
                Ok(n) => conn.session.sent(n),
                // The writable edge marks the connection again.
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    conn.end(io_kind(&e));
                    break;
                }
            }
        }
        match stream.flush() {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => conn.end(io_kind(&e)),
        }
        if conn.failure.is_some() {
            self.h2_settle(key, now);
        }
    }

    /// Timeouts: a connection still without the server's SETTINGS fails as a setup
    /// would; a stream past the timeout is cancelled (RST_STREAM) and counted.
    pub(super) fn h2_tick(&mut self, now: Instant) {
        let timeout = self.config.limits.timeout;
        let late = |since: Instant| now.saturating_duration_since(since) >= timeout;
        let mut stalled = Vec::new();
        let mut expired = Vec::new();
        for (key, slot) in &self.slots {
            match (&slot.phase, &slot.h2) {
                (Phase::Settings, _) if late(slot.since) => stalled.push(key),
                (Phase::Multiplexed, Some(conn)) => expired.extend(
                    conn.flights
                        .iter()
                        .filter(|(_, f)| late(f.since))
                        .map(|(token, _)| (key, token)),
                ),
                _ => {}
            }
        }
        for key in stalled {
            self.last_connect_error = Some(format!(
                "HTTP/2: no SETTINGS allowing a stream within the timeout ({timeout:?})"
            ));
            self.disconnect(key);
            self.setup_failed(key, now, ErrorKind::Timeout);
        }
        let mut touched = Vec::new();
        for (key, token) in expired {
            let Some(run) = &mut self.h2 else { return };
            let Some(conn) = self.slots.get_mut(key).and_then(|s| s.h2.as_mut()) else {
                continue;
            };
            let Some(flight) = conn.flights.try_remove(token) else {
                continue;
            };
            conn.session.cancel(flight.stream);
            self.rec
                .error(flight.endpoint, flight.start, now, ErrorKind::Timeout);
            if !conn.dirty {
                conn.dirty = true;
                run.dirty.push(key);
            }
            if touched.last() != Some(&key) {
                touched.push(key);
            }
        }
        for key in touched {
            self.h2_fill(key, now);
        }
    }
}

/// Before an HTTP/2 run over plain TCP (prior knowledge): one connection that sends the
/// preface and reads the server's first answer. A server whose answer is not HTTP/2 (in
/// HTTP/1.x, or anything but SETTINGS) is bad input (`Err` with the reason); anything
/// else, network failures and silence included, is left to the run.
pub(crate) fn preflight(addr: SocketAddr, timeout: Duration) -> Result<(), String> {
    let Ok(mut sock) = std::net::TcpStream::connect_timeout(&addr, timeout) else {
        return Ok(());
    };
    let deadline = Instant::now() + timeout;
    let mut session = Session::new(h2::Config::default());
    if sock.set_write_timeout(Some(timeout)).is_err() || sock.write_all(session.output()).is_err() {
        return Ok(());
    }
    let mut buf = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || sock.set_read_timeout(Some(left)).is_err() {
            return Ok(());
        }
        match sock.read(&mut buf) {
            Ok(0) | Err(_) => return Ok(()),
            Ok(n) => session.recv(&buf[..n]),
        }
        // An HTTP/2 server's first frame is its SETTINGS: any other answer (HTTP/1.x, an
        // error page without a status line) is not HTTP/2.
        while let Some(event) = session.poll_event() {
            match event {
                Event::Error(e @ h2::Error::NotHttp2) => return Err(e.to_string()),
                Event::Error(e) => {
                    return Err(format!(
                        "its first answer is not an HTTP/2 SETTINGS frame ({e})"
                    ));
                }
                _ => {}
            }
        }
        if session.can_start() || !session.accepting() {
            return Ok(());
        }
    }
}
