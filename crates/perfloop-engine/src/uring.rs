//! The io_uring backend of the worker (a child module of `worker.rs`): the loop and the I/O
//! of plain HTTP/1.1 connections on a [`Ring`]; everything else is the worker's own.
//!
//! Only the I/O differs from the epoll loop. The loop turn (stop flag, arrivals, think
//! times, timeouts, seconds) is `Worker::turn`; what a connection does on connect, on a
//! complete response, on a failure, and what the closed and open models decide next are the
//! worker's methods, which call back here through `connect`, `write` and `disconnect`.
//! Responses are parsed by the same framer (`worker::feed`, `worker::eof`).
//!
//! Per loop turn, one `io_uring_enter` submits every connection's queued sends and receives
//! and waits, with the turn's timeout (the next arrival, think time, tick or second), for
//! at least one completion. In the closed model the wait gathers: it waits up to
//! [`GATHER`] (20 µs) for a quarter of the connections' answers (at most [`GATHER_MAX`])
//! and then returns with what has come, so that a busy worker wakes once for several
//! answers rather than once for each (Linux 6.12; one each before). An answer can so be
//! read up to 20 µs after it arrived, which its latency includes: the same bound, smaller,
//! as the open model's batching quantum. The open model waits for one completion, its
//! arrivals timed by the wait's timeout.
//!
//! Each connection keeps one multishot receive armed from the moment it is up: the kernel
//! fills buffers of the worker's provided buffer ring (shared by its connections, one per
//! connection up to 4096, 8 KiB each) and posts a completion per arrival, with no new
//! submission per response; each buffer goes back to the ring as soon as its bytes are
//! parsed. A receive that ran out of buffers (`ENOBUFS`) is posted again. Being armed
//! while idle, it sees a server close an idle connection as the epoll loop does. A request
//! is one send of its bytes, copied into the connection's send buffer (its capacity kept).
//! The ring owns every buffer while the kernel uses it (see `perfloop-uring`). Completions
//! carry the slot's key, the connection's sequence number (a completion for a connection
//! since closed is ignored, its buffer given back) and the operation; a send also carries
//! its request's tag.

use std::io;
use std::time::{Duration, Instant};

use perfloop_uring::{BufId, Completion, Ring, Socket};

use super::{Fed, Phase, ReadEnd, Worker, eof, feed, io_kind};
use crate::outcome::ErrorKind;
use crate::source::Payload;

/// Closed model: the longest a turn waits to gather more answers once one has come (at
/// most this much of a response's measured latency is the generator's batching).
const GATHER: Duration = Duration::from_micros(20);
/// Closed model: the most answers a turn waits for.
const GATHER_MAX: usize = 32;
/// Submission queue entries per worker (completions get twice as many; a full queue is
/// submitted and refilled, never lost).
const ENTRIES: u32 = 4096;
/// The provided buffers multishot receives fill, shared by the worker's connections.
const PROVIDED_SIZE: usize = 8 * 1024;
/// Provided buffers per worker: one per connection (a turn's completions can fill one on
/// each), from 64 to 4096.
const PROVIDED_MIN: usize = 64;
const PROVIDED_MAX: usize = 4096;

const CONNECT: u64 = 1;
const SEND: u64 = 2;
const RECV: u64 = 3;
const SEQ_MASK: u32 = 0xFF_FFFF;
/// No provided buffer was free for a multishot receive.
const ENOBUFS: i32 = nix::errno::Errno::ENOBUFS as i32;
const TAG_MASK: u16 = 0xFFF;

/// A worker's ring and its completions.
pub(super) struct Io {
    ring: Ring,
    done: Vec<Completion>,
    /// The last connection's sequence number.
    seq: u32,
}

/// One connection on the ring.
pub(super) struct Conn {
    socket: Socket,
    seq: u32,
    send: BufId,
    /// The current request's tag: a send completion of an earlier one is ignored.
    tag: u16,
    /// The connection's multishot receive is armed.
    recv_posted: bool,
    /// The server's close (the end of the stream) is among this turn's completions.
    closed: bool,
}

impl Io {
    /// A ring for a worker of up to `connections` connections at once.
    pub(super) fn new(connections: usize) -> io::Result<Io> {
        let mut ring = Ring::new(ENTRIES)?;
        let count = connections
            .clamp(PROVIDED_MIN, PROVIDED_MAX)
            .next_power_of_two();
        ring.provide(u16::try_from(count).unwrap_or(1 << 12), PROVIDED_SIZE)?;
        Ok(Io {
            ring,
            done: Vec::with_capacity(1024),
            seq: 0,
        })
    }

    /// Closes a connection through the ring (what is queued for it submitted first, its
    /// multishot receive ended), its send buffer back to the pool once its send, if one is
    /// in flight, completes.
    pub(super) fn close(&mut self, conn: Conn) {
        let Conn { socket, send, .. } = conn;
        self.ring.release(send);
        // Should the submission fail (rarely: the kernel short of memory), the entries stay
        // queued for the next turn's; the socket is closed either way.
        let _ = self.ring.close(socket);
    }
}

/// A completion's key: slot, connection, request tag, operation.
fn key_of(slot: usize, seq: u32, tag: u16, op: u64) -> u64 {
    ((slot as u64) << 40)
        | (u64::from(seq & SEQ_MASK) << 16)
        | (u64::from(tag & TAG_MASK) << 4)
        | op
}

fn parts(user_data: u64) -> (usize, u32, u16, u64) {
    (
        (user_data >> 40) as usize,
        ((user_data >> 16) as u32) & SEQ_MASK,
        ((user_data >> 4) as u16) & TAG_MASK,
        user_data & 0xF,
    )
}

impl Worker<'_> {
    /// The io_uring loop: the worker's turn, then one submission and wait, then the
    /// completions.
    pub(super) fn uring_loop(&mut self) -> io::Result<()> {
        self.start(Instant::now());
        loop {
            let now = Instant::now();
            let Some(wake) = self.turn(now) else {
                return Ok(());
            };
            let Some(io) = self.ring.as_mut() else {
                return Ok(());
            };
            let timeout = wake.saturating_duration_since(now);
            match self.closed_plan {
                // Closed model: a quarter of the connections' answers are gathered per turn,
                // waiting at most GATHER for them (see the module's doc).
                Some(_) if timeout > GATHER => {
                    let want = (self.slots.len() / 4).min(GATHER_MAX);
                    io.ring.submit_and_gather(want, GATHER, timeout)?;
                }
                _ => io.ring.submit_and_wait(1, Some(timeout))?,
            }
            let mut done = std::mem::take(&mut io.done);
            io.ring.reap(&mut done);
            self.note_closes(&done);
            for c in done.drain(..) {
                self.on_completion(c);
            }
            if let Some(io) = self.ring.as_mut() {
                io.done = done;
            }
        }
    }

    /// Starts a connect on the slot: a new socket, its connect on the ring.
    pub(super) fn uring_connect(&mut self, key: usize, now: Instant) {
        let addr = self.config.target.addr;
        let Some(io) = self.ring.as_mut() else {
            return;
        };
        let conn = Socket::tcp(addr).and_then(|socket| {
            io.seq = io.seq.wrapping_add(1) & SEQ_MASK;
            io.ring
                .connect(socket.fd(), addr, key_of(key, io.seq, 0, CONNECT))?;
            Ok(Conn {
                socket,
                seq: io.seq,
                send: io.ring.buffer(0),
                tag: 0,
                recv_posted: false,
                closed: false,
            })
        });
        let Some(slot) = self.slots.get_mut(key) else {
            if let Ok(conn) = conn {
                io.close(conn);
            }
            return;
        };
        slot.since = now;
        match conn {
            Ok(conn) => {
                if let Some(old) = slot.ring_conn.replace(conn) {
                    io.close(old);
                }
                slot.phase = Phase::Connecting;
            }
            Err(e) => self.connect_failed(key, now, &e),
        }
    }

    /// Sends the slot's current request: its bytes into the connection's send buffer, one
    /// send on the ring.
    pub(super) fn uring_write(&mut self, key: usize, now: Instant) {
        let wires = self.wires;
        let (Some(slot), Some(io)) = (self.slots.get_mut(key), self.ring.as_mut()) else {
            return;
        };
        let Some(conn) = slot.ring_conn.as_mut() else {
            return self.fail(key, now, ErrorKind::Closed, true);
        };
        let request = match slot.payload {
            Payload::Shared(index) => wires.fixed(index),
            Payload::Rendered => slot.rendered.as_slice(),
        };
        if io.ring.data_mut(conn.send).is_none() {
            // The last send's completion is still to come: this request takes a buffer of
            // its own (the old one returns to the pool when that completion arrives).
            io.ring.release(conn.send);
            conn.send = io.ring.buffer(0);
        }
        if let Some(buf) = io.ring.data_mut(conn.send) {
            buf.clear();
            buf.extend_from_slice(request);
        }
        conn.tag = conn.tag.wrapping_add(1) & TAG_MASK;
        slot.written = 0;
        let sent = io.ring.send(
            conn.socket.fd(),
            conn.send,
            0,
            key_of(key, conn.seq, conn.tag, SEND),
        );
        if let Err(e) = sent {
            self.fail(key, now, io_kind(&e), true);
        }
    }

    /// Marks the connections whose end of stream is among `done`: a response completed by
    /// an earlier completion of the same batch came with the server's close, as the epoll
    /// loop sees a FIN that came with the same readiness, and its connection is not reused.
    fn note_closes(&mut self, done: &[Completion]) {
        for c in done.iter().filter(|c| c.result == 0) {
            let (key, seq, _, op) = parts(c.user_data);
            if op != RECV {
                continue;
            }
            if let Some(conn) = self
                .slots
                .get_mut(key)
                .and_then(|s| s.ring_conn.as_mut())
                .filter(|conn| conn.seq == seq)
            {
                conn.closed = true;
            }
        }
    }

    fn on_completion(&mut self, c: Completion) {
        let (key, seq, tag, op) = parts(c.user_data);
        let current = self
            .slots
            .get(key)
            .and_then(|s| s.ring_conn.as_ref())
            .is_some_and(|conn| conn.seq == seq);
        if current {
            match op {
                CONNECT => self.uring_connected(key, c),
                SEND => self.uring_sent(key, tag, c),
                RECV => self.uring_received(key, seq, c),
                _ => {}
            }
        }
        // The bytes are read (or were for a connection since closed): the buffer goes back.
        if let (Some(buf), Some(io)) = (c.buf, self.ring.as_mut()) {
            io.ring.recycle(buf);
        }
    }

    /// A connect completed: the connection's receive is posted, then the worker goes on.
    fn uring_connected(&mut self, key: usize, c: Completion) {
        let now = Instant::now();
        let (Some(slot), Some(io)) = (self.slots.get_mut(key), self.ring.as_mut()) else {
            return;
        };
        if slot.phase != Phase::Connecting {
            return;
        }
        let posted = c.io().and_then(|_| {
            let conn = slot
                .ring_conn
                .as_mut()
                .ok_or_else(|| io::Error::from(io::ErrorKind::NotConnected))?;
            io.ring
                .recv_multi(conn.socket.fd(), key_of(key, conn.seq, 0, RECV))?;
            conn.recv_posted = true;
            Ok(())
        });
        match posted {
            Ok(()) => self.tcp_up(key, now),
            Err(e) => self.connect_failed(key, now, &e),
        }
    }

    /// A send completed: the rest of the request is sent, or the response is awaited.
    fn uring_sent(&mut self, key: usize, tag: u16, c: Completion) {
        let (Some(slot), Some(io)) = (self.slots.get_mut(key), self.ring.as_mut()) else {
            return;
        };
        let Some(conn) = slot.ring_conn.as_mut() else {
            return;
        };
        if conn.tag != tag || slot.phase != Phase::Writing {
            // An earlier request's send, or the answer has already come.
            return;
        }
        let failure = match c.io() {
            Ok(0) => Some(ErrorKind::Closed),
            Ok(n) => {
                slot.written += n;
                let len = io.ring.data(conn.send).map_or(0, <[u8]>::len);
                if slot.written < len {
                    let key = key_of(key, conn.seq, conn.tag, SEND);
                    io.ring
                        .send(conn.socket.fd(), conn.send, slot.written, key)
                        .err()
                        .map(|e| io_kind(&e))
                } else {
                    slot.phase = Phase::Reading;
                    None
                }
            }
            Err(e) => Some(io_kind(&e)),
        };
        if let Some(kind) = failure {
            self.fail(key, Instant::now(), kind, true);
        }
    }

    /// A receive completed: bytes of the response (or bytes nobody asked for), the end of
    /// the stream, or an error; then the next receive is posted if the connection stays.
    fn uring_received(&mut self, key: usize, seq: u32, c: Completion) {
        let (Some(slot), Some(io)) = (self.slots.get_mut(key), self.ring.as_mut()) else {
            return;
        };
        let Some(conn) = slot.ring_conn.as_mut() else {
            return;
        };
        if !c.more {
            conn.recv_posted = false;
        }
        let closed = conn.closed;
        let awaiting = matches!(slot.phase, Phase::Writing | Phase::Reading);
        let end = match c.io() {
            // Every provided buffer was in use: the receive is posted again below, once this
            // turn's buffers are back.
            Err(e) if e.raw_os_error() == Some(ENOBUFS) => None,
            Ok(0) if awaiting => Some((eof(slot), true)),
            Ok(n) if awaiting => {
                let bytes = c.buf.and_then(|b| io.ring.provided(b, n));
                match bytes.map(|b| feed(slot, b)) {
                    Some(Fed::More) => {
                        // The answer has begun: the request is all sent.
                        slot.phase = Phase::Reading;
                        None
                    }
                    // The server's close in the same batch came with the response.
                    Some(Fed::End(end)) => Some((end, closed)),
                    None => Some((
                        ReadEnd::Failed {
                            kind: ErrorKind::Reset,
                            fresh: !slot.parser.started(),
                        },
                        false,
                    )),
                }
            }
            Err(e) if awaiting => Some((
                ReadEnd::Failed {
                    kind: io_kind(&e),
                    fresh: !slot.parser.started(),
                },
                false,
            )),
            // The server closed a connection without a request, or sent bytes nobody asked
            // for.
            _ => {
                self.idle_closed(key, Instant::now());
                return;
            }
        };
        match end {
            Some((ReadEnd::Done(resp, at), peer_closed)) => {
                self.complete(key, resp, at, peer_closed);
            }
            Some((ReadEnd::Failed { kind, fresh }, _)) => {
                self.fail(key, Instant::now(), kind, fresh);
            }
            Some((ReadEnd::Pending, _)) | None => {}
        }
        self.rearm(key, seq);
    }

    /// Posts the connection's next receive, if it is still the slot's.
    fn rearm(&mut self, key: usize, seq: u32) {
        let (Some(slot), Some(io)) = (self.slots.get_mut(key), self.ring.as_mut()) else {
            return;
        };
        let Some(conn) = slot.ring_conn.as_mut() else {
            return;
        };
        if conn.seq != seq || conn.recv_posted {
            return;
        }
        let posted = io
            .ring
            .recv_multi(conn.socket.fd(), key_of(key, conn.seq, 0, RECV));
        match posted {
            Ok(()) => conn.recv_posted = true,
            Err(e) if matches!(slot.phase, Phase::Writing | Phase::Reading) => {
                let fresh = !slot.parser.started();
                self.fail(key, Instant::now(), io_kind(&e), fresh);
            }
            Err(_) => self.idle_closed(key, Instant::now()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_completion_key_keeps_its_parts() {
        let k = key_of(99_999, 0xAB_CDEF, 0xFED, RECV);
        assert_eq!(parts(k), (99_999, 0xAB_CDEF, 0xFED, RECV));
        let k = key_of(0, SEQ_MASK + 5, TAG_MASK + 2, SEND);
        assert_eq!(parts(k), (0, 4, 1, SEND));
    }
}
