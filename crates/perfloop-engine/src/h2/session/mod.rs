//! The client session: one HTTP/2 connection's state, without I/O.
//!
//! The caller feeds it the bytes it reads ([`Session::recv`]), writes out what it has to
//! send ([`Session::output`], [`Session::sent`]), starts requests on new streams
//! ([`Session::start`]) and takes what happened as [`Event`]s. Every started request ends in
//! exactly one terminal event (a response, a reset, refused by GOAWAY, a broken response,
//! or aborted with the connection), so a caller can account for every attempt.
//!
//! Costs: a request copies its precomputed header block into the output buffer; DATA
//! payloads are counted as they pass and never copied or stored; the buffers (output,
//! a partial frame, a header block split over CONTINUATIONs) are reused, so a session in
//! its steady state allocates nothing per frame (beyond a field the server adds to the
//! HPACK dynamic table).
//!
//! Hostile peers are bounded: frames above [`frame::MAX_FRAME`] bytes, header blocks above
//! [`HEADER_CAP`] bytes, and more than [`MAX_IDLE_FRAMES`] frames in a row that make no
//! progress on a request (SETTINGS, PING, empty frames, CONTINUATIONs, unknown types) end
//! the connection with a GOAWAY and an [`Error`].

use std::collections::VecDeque;
use std::sync::Arc;

use super::hpack::Decoder;

use super::frame::{self, Head, Reason};
use super::request::Request;
use crate::http::HEADER_CAP;

mod inbound;

/// Frames in a row that make no progress on any request before the peer counts as
/// flooding (a well-behaved server sends a handful between two responses).
pub const MAX_IDLE_FRAMES: u32 = 1_000;
/// Unsent output beyond which the session stops queueing replies to the peer's SETTINGS
/// and PINGs: the peer is flooding faster than the connection carries the answers.
const MAX_PENDING_OUTPUT: usize = 1 << 20;
/// The streams allowed when the server's SETTINGS name no limit (RFC 9113 §6.5.2
/// recommends servers allow at least 100; without a limit, the client's own applies).
const INITIAL_STREAM_LIMIT: usize = usize::MAX;
/// The HPACK dynamic table the client's decoder allows (the protocol's default).
const DECODER_TABLE: usize = 4_096;
/// The highest stream identifier.
const MAX_STREAM_ID: u32 = (1 << 31) - 1;

/// A session's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// The most streams open at once (the server's own limit applies too).
    pub max_streams: usize,
    /// Each stream's receive window (at least the protocol's 65,535).
    pub stream_window: u32,
    /// The connection's receive window (at least the protocol's 65,535).
    pub connection_window: u32,
}

impl Default for Config {
    /// Ten streams; receive windows of 1 GiB, so flow control never holds back a response
    /// (bodies are counted, not stored) and WINDOW_UPDATEs stay rare.
    fn default() -> Self {
        Config {
            max_streams: 10,
            stream_window: 1 << 30,
            connection_window: 1 << 30,
        }
    }
}

/// Why the connection failed. The session has sent GOAWAY with [`Error::reason`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The server answered in HTTP/1.x.
    #[error("the server answered in HTTP/1.x: it does not speak HTTP/2 over this connection")]
    NotHttp2,
    /// The peer broke the protocol.
    #[error("HTTP/2 protocol error: {0}")]
    Protocol(&'static str),
    /// A frame longer than the client accepts, or of a length its type forbids.
    #[error("HTTP/2 frame size error: {0}")]
    FrameSize(&'static str),
    /// The peer sent more than its window or overflowed one.
    #[error("HTTP/2 flow-control error: {0}")]
    FlowControl(&'static str),
    /// A header block the HPACK decoder rejected.
    #[error("HTTP/2 header compression error")]
    Compression,
    /// A header block longer than the cap (endless CONTINUATION frames).
    #[error("HTTP/2 header block over {HEADER_CAP} bytes")]
    HeadersTooLarge,
    /// Frames that make no progress, in a row (a SETTINGS or PING flood).
    #[error("HTTP/2 flood: {MAX_IDLE_FRAMES} frames in a row without progress, last {0}")]
    Flood(&'static str),
}

impl Error {
    /// The code sent with the GOAWAY.
    pub fn reason(self) -> Reason {
        match self {
            Error::NotHttp2 | Error::Protocol(_) => Reason::PROTOCOL_ERROR,
            Error::FrameSize(_) => Reason::FRAME_SIZE_ERROR,
            Error::FlowControl(_) => Reason::FLOW_CONTROL_ERROR,
            Error::Compression => Reason::COMPRESSION_ERROR,
            Error::HeadersTooLarge | Error::Flood(_) => Reason::ENHANCE_YOUR_CALM,
        }
    }
}

/// What happened. `token` is the caller's, given to [`Session::start`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// A response arrived whole.
    Response {
        /// The request's token.
        token: usize,
        /// The final status.
        status: u16,
        /// The body's length (DATA payloads without padding).
        body: u64,
    },
    /// The server reset the stream (RST_STREAM).
    Reset {
        /// The request's token.
        token: usize,
        /// The server's code; REFUSED_STREAM means the request was not processed.
        reason: Reason,
    },
    /// The server's GOAWAY left the stream out: the request was never processed.
    Refused {
        /// The request's token.
        token: usize,
        /// The GOAWAY's code.
        reason: Reason,
    },
    /// The response broke the protocol (no status, DATA before HEADERS, a window
    /// overrun); the client reset the stream.
    Malformed {
        /// The request's token.
        token: usize,
    },
    /// The connection ended (an [`Event::Error`] or [`Session::closed`]) before the
    /// response was whole.
    Aborted {
        /// The request's token.
        token: usize,
    },
    /// The server is going away: no new streams; those up to `last_stream` go on.
    GoAway {
        /// The last stream the server processes.
        last_stream: u32,
        /// Its code.
        reason: Reason,
    },
    /// The connection failed; the open streams follow as [`Event::Aborted`].
    Error(Error),
}

/// Why a stream could not be started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum StartError {
    /// As many streams are open as allowed; wait for one to end.
    #[error("no stream free on this connection")]
    Busy,
    /// The connection takes no new streams (GOAWAY, an error, identifiers exhausted).
    #[error("the connection takes no new streams")]
    Closed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for the response's header block.
    Head,
    /// The final status is in: DATA and trailers follow.
    Body,
}

#[derive(Debug)]
struct Stream {
    id: u32,
    token: usize,
    phase: Phase,
    status: u16,
    body: u64,
    /// Receive window left.
    recv_window: i64,
    /// Send window left.
    send_window: i64,
    /// Request body still to send, and how much of it is sent.
    pending: Option<(Arc<[u8]>, usize)>,
}

/// Where the reader is within the frame stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rx {
    /// Reading a frame header into `head`.
    Head,
    /// Collecting a (non-DATA) frame's payload.
    Payload,
    /// A padded DATA frame: its pad-length byte is next.
    DataPad,
    /// DATA: skipping `left` payload bytes.
    DataSkip { left: usize },
}

/// The DATA frame being read.
#[derive(Debug, Clone, Copy, Default)]
struct Data {
    stream: u32,
    /// Payload bytes that are body (not padding).
    body: u64,
    end: bool,
}

/// A header block spread over HEADERS and CONTINUATION frames.
#[derive(Debug, Clone, Copy)]
struct Continuing {
    stream: u32,
    end_stream: bool,
}

/// One HTTP/2 client connection, without I/O.
pub struct Session {
    config: Config,
    out: Vec<u8>,
    out_at: usize,
    events: VecDeque<Event>,
    streams: Vec<Stream>,
    next_id: u32,
    decoder: Decoder,

    rx: Rx,
    head: [u8; frame::HEADER_LEN],
    head_len: usize,
    frame: Head,
    payload: Vec<u8>,
    data: Data,
    block: Vec<u8>,
    continuing: Option<Continuing>,
    idle_frames: u32,
    peer_settings_seen: bool,

    peer_max_streams: usize,
    peer_max_frame: usize,
    peer_stream_window: i64,
    send_window: i64,
    recv_window: i64,
    /// The last stream a GOAWAY allows; `None` while the server has sent none.
    goaway: Option<u32>,
    dead: bool,
}

impl Session {
    /// A session whose preface, SETTINGS and first WINDOW_UPDATE are ready to send.
    pub fn new(config: Config) -> Session {
        let config = Config {
            max_streams: config.max_streams.max(1),
            stream_window: config
                .stream_window
                .clamp(frame::DEFAULT_WINDOW, frame::MAX_WINDOW as u32),
            connection_window: config
                .connection_window
                .clamp(frame::DEFAULT_WINDOW, frame::MAX_WINDOW as u32),
        };
        let mut out = Vec::with_capacity(4096);
        out.extend_from_slice(frame::PREFACE);
        frame::put_settings(
            &mut out,
            &[
                (frame::SETTINGS_ENABLE_PUSH, 0),
                (frame::SETTINGS_INITIAL_WINDOW_SIZE, config.stream_window),
                (frame::SETTINGS_MAX_HEADER_LIST_SIZE, HEADER_CAP as u32),
            ],
        );
        let extra = config.connection_window - frame::DEFAULT_WINDOW;
        if extra > 0 {
            frame::put_window_update(&mut out, 0, extra);
        }
        let decoder = Decoder::new(DECODER_TABLE);
        Session {
            config,
            out,
            out_at: 0,
            events: VecDeque::with_capacity(2 * config.max_streams + 4),
            streams: Vec::with_capacity(config.max_streams),
            next_id: 1,
            decoder,
            rx: Rx::Head,
            head: [0; frame::HEADER_LEN],
            head_len: 0,
            frame: Head::default(),
            payload: Vec::new(),
            data: Data::default(),
            block: Vec::new(),
            continuing: None,
            idle_frames: 0,
            peer_settings_seen: false,
            peer_max_streams: INITIAL_STREAM_LIMIT,
            peer_max_frame: frame::MAX_FRAME,
            peer_stream_window: i64::from(frame::DEFAULT_WINDOW),
            send_window: i64::from(frame::DEFAULT_WINDOW),
            recv_window: i64::from(config.connection_window),
            goaway: None,
            dead: false,
        }
    }

    /// Bytes waiting to be written.
    pub fn output(&self) -> &[u8] {
        &self.out[self.out_at..]
    }

    /// Whether there is anything to write.
    pub fn wants_write(&self) -> bool {
        self.out_at < self.out.len()
    }

    /// `n` bytes of [`Session::output`] were written.
    pub fn sent(&mut self, n: usize) {
        self.out_at = (self.out_at + n).min(self.out.len());
        if self.out_at == self.out.len() {
            self.out.clear();
            self.out_at = 0;
        } else if self.out_at >= 64 * 1024 {
            self.out.drain(..self.out_at);
            self.out_at = 0;
        }
    }

    /// The next event, oldest first.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Streams open now.
    pub fn open_streams(&self) -> usize {
        self.streams.len()
    }

    /// Whether the connection takes new streams at all (no GOAWAY, no error, identifiers
    /// left). When it does not and [`Session::open_streams`] is 0, it is done.
    pub fn accepting(&self) -> bool {
        !self.dead && self.goaway.is_none() && self.next_id <= MAX_STREAM_ID
    }

    /// Whether a stream can be started now: the server's SETTINGS are in (its stream
    /// limit is known, so no stream is refused for being one too many) and a stream is
    /// free under both its limit and the client's.
    pub fn can_start(&self) -> bool {
        self.accepting()
            && self.peer_settings_seen
            && self.streams.len() < self.config.max_streams.min(self.peer_max_streams)
    }

    /// Starts `request` on a new stream; its terminal event carries `token`. Returns the
    /// stream's identifier (for [`Session::cancel`]).
    pub fn start(&mut self, request: &Request, token: usize) -> Result<u32, StartError> {
        if !self.accepting() {
            return Err(StartError::Closed);
        }
        if !self.can_start() {
            return Err(StartError::Busy);
        }
        let id = self.next_id;
        self.next_id = self.next_id.saturating_add(2);
        let body = request.body();
        frame::put_headers(
            &mut self.out,
            id,
            request.block(),
            body.is_none(),
            self.peer_max_frame,
        );
        self.streams.push(Stream {
            id,
            token,
            phase: Phase::Head,
            status: 0,
            body: 0,
            recv_window: i64::from(self.config.stream_window),
            send_window: self.peer_stream_window,
            pending: body.map(|b| (Arc::clone(b), 0)),
        });
        if body.is_some() {
            self.send_bodies();
        }
        Ok(id)
    }

    /// Gives up on a stream (its request timed out): resets it and forgets it; no event
    /// follows. Returns its token, or `None` if it had already ended.
    pub fn cancel(&mut self, stream: u32) -> Option<usize> {
        let at = self.find(stream)?;
        let s = self.streams.swap_remove(at);
        if !self.dead {
            frame::put_rst_stream(&mut self.out, s.id, Reason::CANCEL);
        }
        Some(s.token)
    }

    /// The transport closed (end of stream or an I/O error): every open stream is
    /// aborted.
    pub fn closed(&mut self) {
        self.dead = true;
        self.abort_all();
    }

    /// Sends as much of the request bodies as the windows allow.
    fn send_bodies(&mut self) {
        for s in &mut self.streams {
            let Some((body, sent)) = &mut s.pending else {
                continue;
            };
            while *sent < body.len() && self.send_window > 0 && s.send_window > 0 {
                let n = (body.len() - *sent)
                    .min(self.send_window as usize)
                    .min(s.send_window as usize)
                    .min(self.peer_max_frame);
                let last = *sent + n == body.len();
                let flags = if last { frame::END_STREAM } else { 0 };
                frame::put_head(&mut self.out, n, frame::DATA, flags, s.id);
                self.out.extend_from_slice(&body[*sent..*sent + n]);
                *sent += n;
                self.send_window -= n as i64;
                s.send_window -= n as i64;
            }
            if *sent == body.len() {
                s.pending = None;
            }
        }
    }

    fn find(&self, id: u32) -> Option<usize> {
        self.streams.iter().position(|s| s.id == id)
    }

    /// Whether `id` names a stream the client never opened (an even one, or one not yet
    /// used); frames on those are protocol errors, frames on closed ones are ignored.
    fn is_idle(&self, id: u32) -> bool {
        id % 2 == 0 || id >= self.next_id
    }

    fn complete(&mut self, at: usize) {
        let s = self.streams.swap_remove(at);
        self.idle_frames = 0;
        self.events.push_back(Event::Response {
            token: s.token,
            status: s.status,
            body: s.body,
        });
    }

    fn malformed(&mut self, at: usize) {
        let s = self.streams.swap_remove(at);
        frame::put_rst_stream(&mut self.out, s.id, Reason::PROTOCOL_ERROR);
        self.events.push_back(Event::Malformed { token: s.token });
    }

    /// A connection error: GOAWAY, the error, then every open stream aborted.
    fn fail(&mut self, error: Error) {
        frame::put_goaway(&mut self.out, 0, error.reason());
        self.dead = true;
        self.continuing = None;
        self.events.push_back(Event::Error(error));
        self.abort_all();
    }

    fn abort_all(&mut self) {
        for s in self.streams.drain(..) {
            self.events.push_back(Event::Aborted { token: s.token });
        }
    }
}
