//! The session against a scripted server: every frame it is sent is written out here, and
//! every frame it sends is read back.

use loona_hpack::Encoder;

use super::frame::{self, Head, Reason};
use super::session::MAX_IDLE_FRAMES;
use super::{Config, Error, Event, Request, Session, StartError};

fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    frame::put_head(&mut out, payload.len(), kind, flags, stream);
    out.extend_from_slice(payload);
    out
}

fn settings(pairs: &[(u16, u32)]) -> Vec<u8> {
    let mut out = Vec::new();
    frame::put_settings(&mut out, pairs);
    out
}

fn response_block(enc: &mut Encoder<'static>, status: &str) -> Vec<u8> {
    enc.encode([
        (&b":status"[..], status.as_bytes()),
        (&b"content-type"[..], &b"text/plain"[..]),
        (
            &b"x-server-header"[..],
            &b"a value long enough to matter"[..],
        ),
    ])
}

fn headers(enc: &mut Encoder<'static>, stream: u32, status: &str, end: bool) -> Vec<u8> {
    let flags = frame::END_HEADERS | if end { frame::END_STREAM } else { 0 };
    frame(frame::HEADERS, flags, stream, &response_block(enc, status))
}

/// The frames in `bytes`, in order.
fn frames(bytes: &[u8]) -> Vec<(Head, Vec<u8>)> {
    let mut at = 0;
    let mut out = Vec::new();
    while at + frame::HEADER_LEN <= bytes.len() {
        let head: [u8; frame::HEADER_LEN] = bytes[at..at + frame::HEADER_LEN]
            .try_into()
            .unwrap_or_default();
        let h = Head::parse(&head);
        let start = at + frame::HEADER_LEN;
        out.push((h, bytes[start..start + h.len].to_vec()));
        at = start + h.len;
    }
    assert_eq!(at, bytes.len(), "output ends mid-frame");
    out
}

/// Takes what the session has to send, as frames.
fn take(s: &mut Session) -> Vec<(Head, Vec<u8>)> {
    let out = s.output().to_vec();
    s.sent(out.len());
    frames(&out)
}

fn events(s: &mut Session) -> Vec<Event> {
    std::iter::from_fn(|| s.poll_event()).collect()
}

fn get() -> Request {
    Request::new("GET", "http", "127.0.0.1:1", "/", &[], b"")
}

/// A session past the prefaces (the server's SETTINGS are `server`), its output drained.
fn connected(config: Config, server: &[(u16, u32)]) -> Session {
    let mut s = Session::new(config);
    let out = s.output().to_vec();
    assert!(out.starts_with(frame::PREFACE));
    s.sent(out.len());
    s.recv(&settings(server));
    let acks = take(&mut s);
    assert!(
        acks.iter()
            .any(|(h, _)| h.kind == frame::SETTINGS && h.has(frame::ACK))
    );
    s
}

fn kinds(frames: &[(Head, Vec<u8>)]) -> Vec<u8> {
    frames.iter().map(|(h, _)| h.kind).collect()
}

#[test]
fn the_preface_announces_no_push_and_the_windows() {
    let config = Config {
        max_streams: 4,
        stream_window: 1 << 20,
        connection_window: 1 << 24,
    };
    let mut s = Session::new(config);
    let out = s.output().to_vec();
    let rest = &out[frame::PREFACE.len()..];
    let f = frames(rest);
    assert_eq!(kinds(&f), [frame::SETTINGS, frame::WINDOW_UPDATE]);
    let pairs: Vec<(u16, u32)> = f[0]
        .1
        .chunks_exact(6)
        .map(|c| {
            (
                u16::from_be_bytes([c[0], c[1]]),
                u32::from_be_bytes([c[2], c[3], c[4], c[5]]),
            )
        })
        .collect();
    assert!(pairs.contains(&(frame::SETTINGS_ENABLE_PUSH, 0)));
    assert!(pairs.contains(&(frame::SETTINGS_INITIAL_WINDOW_SIZE, 1 << 20)));
    assert_eq!(f[1].1, ((1u32 << 24) - 65_535).to_be_bytes());
    s.sent(out.len());
    assert!(!s.wants_write());
}

#[test]
fn a_response_is_reported_with_its_status_and_body_length() {
    let mut s = connected(Config::default(), &[]);
    let mut enc = Encoder::new();
    let id = s.start(&get(), 7);
    assert_eq!(id, Ok(1));
    let sent = take(&mut s);
    assert_eq!(kinds(&sent), [frame::HEADERS]);
    assert!(sent[0].0.has(frame::END_STREAM) && sent[0].0.has(frame::END_HEADERS));
    assert_eq!(sent[0].1, get().block());

    let mut wire = headers(&mut enc, 1, "200", false);
    wire.extend(frame(frame::DATA, 0, 1, b"hello"));
    // A padded DATA frame: 1 pad-length byte, 3 data bytes, 4 bytes of padding.
    wire.extend(frame(
        frame::DATA,
        frame::PADDED | frame::END_STREAM,
        1,
        &[4, b'a', b'b', b'c', 0, 0, 0, 0],
    ));
    // Byte by byte: every split of a frame must read the same.
    for b in &wire[..wire.len() - 1] {
        s.recv(std::slice::from_ref(b));
    }
    assert_eq!(events(&mut s), []);
    s.recv(&wire[wire.len() - 1..]);
    assert_eq!(
        events(&mut s),
        [Event::Response {
            token: 7,
            status: 200,
            body: 8
        }]
    );
    assert_eq!(s.open_streams(), 0);
}

#[test]
fn interim_responses_are_skipped_and_trailers_end_the_stream() {
    let mut s = connected(Config::default(), &[]);
    let mut enc = Encoder::new();
    s.start(&get(), 1).ok();
    let mut wire = headers(&mut enc, 1, "103", false);
    wire.extend(headers(&mut enc, 1, "404", false));
    wire.extend(frame(frame::DATA, 0, 1, &[0; 10]));
    let trailers = enc.encode([(&b"grpc-status"[..], &b"0"[..])]);
    wire.extend(frame(
        frame::HEADERS,
        frame::END_HEADERS | frame::END_STREAM,
        1,
        &trailers,
    ));
    s.recv(&wire);
    assert_eq!(
        events(&mut s),
        [Event::Response {
            token: 1,
            status: 404,
            body: 10
        }]
    );
}

#[test]
fn a_header_block_split_over_continuations_is_decoded_whole() {
    let mut s = connected(Config::default(), &[]);
    let mut enc = Encoder::new();
    s.start(&get(), 3).ok();
    let block = response_block(&mut enc, "204");
    let (a, rest) = block.split_at(5);
    let (b, c) = rest.split_at(rest.len() / 2);
    let mut wire = frame(frame::HEADERS, frame::END_STREAM, 1, a);
    wire.extend(frame(frame::CONTINUATION, 0, 1, b));
    wire.extend(frame(frame::CONTINUATION, frame::END_HEADERS, 1, c));
    s.recv(&wire);
    assert_eq!(
        events(&mut s),
        [Event::Response {
            token: 3,
            status: 204,
            body: 0
        }]
    );
}

#[test]
fn settings_and_pings_are_acknowledged() {
    let mut s = connected(Config::default(), &[]);
    s.recv(&frame(frame::PING, 0, 0, b"12345678"));
    s.recv(&settings(&[(frame::SETTINGS_MAX_FRAME_SIZE, 32_768)]));
    // An acknowledgement of ours needs no answer.
    s.recv(&frame(frame::PING, frame::ACK, 0, b"abcdefgh"));
    let out = take(&mut s);
    assert_eq!(kinds(&out), [frame::PING, frame::SETTINGS]);
    assert!(out.iter().all(|(h, _)| h.has(frame::ACK)));
    assert_eq!(out[0].1, b"12345678");
    assert!(out[1].1.is_empty());
}

#[test]
fn the_servers_stream_limit_is_obeyed() {
    let config = Config {
        max_streams: 10,
        ..Config::default()
    };
    let mut s = connected(config, &[(frame::SETTINGS_MAX_CONCURRENT_STREAMS, 2)]);
    let mut enc = Encoder::new();
    assert_eq!(s.start(&get(), 0), Ok(1));
    assert_eq!(s.start(&get(), 1), Ok(3));
    assert!(!s.can_start());
    assert_eq!(s.start(&get(), 2), Err(StartError::Busy));
    s.recv(&headers(&mut enc, 3, "200", true));
    assert!(s.can_start());
    assert_eq!(s.start(&get(), 2), Ok(5));
    // The client's own limit applies when the server's is higher.
    s.recv(&settings(&[(frame::SETTINGS_MAX_CONCURRENT_STREAMS, 1000)]));
    for token in 3..10 {
        assert!(s.start(&get(), token).is_ok());
    }
    assert_eq!(s.open_streams(), 9);
    assert!(s.start(&get(), 10).is_ok());
    assert_eq!(s.start(&get(), 11), Err(StartError::Busy));
}

#[test]
fn receive_windows_are_replenished_for_the_stream_and_the_connection() {
    let config = Config {
        max_streams: 1,
        stream_window: 65_535,
        connection_window: 65_535,
    };
    let mut s = connected(config, &[]);
    let mut enc = Encoder::new();
    s.start(&get(), 0).ok();
    take(&mut s);
    s.recv(&headers(&mut enc, 1, "200", false));
    let chunk = vec![0u8; 16_384];
    s.recv(&frame(frame::DATA, 0, 1, &chunk));
    assert_eq!(
        take(&mut s).len(),
        0,
        "a quarter of the window needs no update"
    );
    s.recv(&frame(frame::DATA, 0, 1, &chunk));
    let updates = take(&mut s);
    let mut got: Vec<(u32, u32)> = updates
        .iter()
        .filter(|(h, _)| h.kind == frame::WINDOW_UPDATE)
        .map(|(h, p)| (h.stream, u32::from_be_bytes([p[0], p[1], p[2], p[3]])))
        .collect();
    got.sort_unstable();
    assert_eq!(got, [(0, 32_768), (1, 32_768)]);
    // The window is full again: 65,535 more bytes are accepted.
    for _ in 0..3 {
        s.recv(&frame(frame::DATA, 0, 1, &chunk));
    }
    s.recv(&frame(frame::DATA, frame::END_STREAM, 1, &chunk[..16_383]));
    let e = events(&mut s);
    assert_eq!(
        e,
        [Event::Response {
            token: 0,
            status: 200,
            body: 2 * 16_384 + 3 * 16_384 + 16_383
        }]
    );
}

#[test]
fn request_bodies_wait_for_the_servers_windows() {
    let mut s = connected(
        Config::default(),
        &[
            (frame::SETTINGS_INITIAL_WINDOW_SIZE, 40_000),
            (frame::SETTINGS_MAX_FRAME_SIZE, 16_384),
        ],
    );
    let body = vec![7u8; 100_000];
    let post = Request::new("POST", "http", "h", "/up", &[], &body);
    s.start(&post, 0).ok();
    let sent_data = |f: &[(Head, Vec<u8>)]| -> usize {
        f.iter()
            .filter(|(h, _)| h.kind == frame::DATA)
            .map(|(_, p)| p.len())
            .sum()
    };
    let first = take(&mut s);
    assert_eq!(first[0].0.kind, frame::HEADERS);
    assert!(!first[0].0.has(frame::END_STREAM));
    assert_eq!(sent_data(&first), 40_000, "the stream's window");
    // More stream window: the connection's 65,535 bounds it now.
    s.recv(&frame(
        frame::WINDOW_UPDATE,
        0,
        1,
        &100_000u32.to_be_bytes(),
    ));
    assert_eq!(sent_data(&take(&mut s)), 65_535 - 40_000);
    s.recv(&frame(
        frame::WINDOW_UPDATE,
        0,
        0,
        &100_000u32.to_be_bytes(),
    ));
    let last = take(&mut s);
    assert_eq!(sent_data(&last), 100_000 - 65_535);
    assert!(last.last().is_some_and(|(h, _)| h.has(frame::END_STREAM)));
    assert!(
        last.iter()
            .all(|(h, p)| p.len() <= 16_384 || h.kind != frame::DATA)
    );
}

#[test]
fn rst_stream_and_goaway_are_events_of_their_own() {
    let mut s = connected(Config::default(), &[]);
    let mut enc = Encoder::new();
    for token in 0..4 {
        s.start(&get(), token).ok();
    }
    take(&mut s);
    s.recv(&frame(
        frame::RST_STREAM,
        0,
        3,
        &Reason::REFUSED_STREAM.0.to_be_bytes(),
    ));
    // GOAWAY: the server processes streams up to 3; 5 and 7 are refused.
    let mut goaway = 3u32.to_be_bytes().to_vec();
    goaway.extend(Reason::NO_ERROR.0.to_be_bytes());
    goaway.extend(b"shutting down");
    s.recv(&frame(frame::GOAWAY, 0, 0, &goaway));
    let mut e = events(&mut s);
    e[2..].sort_by_key(|e| format!("{e:?}"));
    assert_eq!(
        e,
        [
            Event::Reset {
                token: 1,
                reason: Reason::REFUSED_STREAM
            },
            Event::GoAway {
                last_stream: 3,
                reason: Reason::NO_ERROR
            },
            Event::Refused {
                token: 2,
                reason: Reason::NO_ERROR
            },
            Event::Refused {
                token: 3,
                reason: Reason::NO_ERROR
            },
        ]
    );
    assert!(!s.accepting());
    assert_eq!(s.start(&get(), 9), Err(StartError::Closed));
    // Stream 1 still completes; then the connection is done.
    s.recv(&headers(&mut enc, 1, "200", true));
    assert_eq!(
        events(&mut s),
        [Event::Response {
            token: 0,
            status: 200,
            body: 0
        }]
    );
    assert_eq!(s.open_streams(), 0);
}

/// Runs `wire` into a fresh session with one open stream; returns the events and what
/// the session sent last.
fn hostile(wire: &[u8]) -> (Vec<Event>, Vec<(Head, Vec<u8>)>) {
    let mut s = connected(Config::default(), &[]);
    s.start(&get(), 5).ok();
    take(&mut s);
    s.recv(wire);
    let e = events(&mut s);
    // Once failed, the session reads nothing more.
    s.recv(&settings(&[]));
    assert!(s.poll_event().is_none());
    (e, take(&mut s))
}

fn goaway_reason(out: &[(Head, Vec<u8>)]) -> Option<Reason> {
    out.iter()
        .find(|(h, _)| h.kind == frame::GOAWAY)
        .map(|(_, p)| Reason(u32::from_be_bytes([p[4], p[5], p[6], p[7]])))
}

#[test]
fn a_settings_flood_ends_the_connection() {
    let one = settings(&[(frame::SETTINGS_HEADER_TABLE_SIZE, 4096)]);
    let wire: Vec<u8> = one.repeat(MAX_IDLE_FRAMES as usize + 1);
    let (e, out) = hostile(&wire);
    assert_eq!(
        e,
        [
            Event::Error(Error::Flood("SETTINGS")),
            Event::Aborted { token: 5 }
        ]
    );
    assert_eq!(goaway_reason(&out), Some(Reason::ENHANCE_YOUR_CALM));
    assert!(out.len() <= MAX_IDLE_FRAMES as usize + 1);
}

#[test]
fn a_ping_flood_ends_the_connection() {
    let wire = frame(frame::PING, 0, 0, b"pingpong").repeat(5_000);
    let (e, out) = hostile(&wire);
    assert_eq!(e[0], Event::Error(Error::Flood("PING")));
    assert_eq!(goaway_reason(&out), Some(Reason::ENHANCE_YOUR_CALM));
}

#[test]
fn endless_continuations_end_the_connection() {
    let mut wire = frame(frame::HEADERS, 0, 1, &[0x88]);
    let filler = frame(frame::CONTINUATION, 0, 1, &[0x40; 4096]);
    for _ in 0..20 {
        wire.extend(&filler);
    }
    let (e, out) = hostile(&wire);
    assert_eq!(e[0], Event::Error(Error::HeadersTooLarge));
    assert_eq!(goaway_reason(&out), Some(Reason::ENHANCE_YOUR_CALM));
    // Empty ones make no block grow, but are frames without progress.
    let mut wire = frame(frame::HEADERS, 0, 1, &[0x88]);
    wire.extend(frame(frame::CONTINUATION, 0, 1, &[]).repeat(MAX_IDLE_FRAMES as usize + 1));
    let (e, _) = hostile(&wire);
    assert_eq!(e[0], Event::Error(Error::Flood("CONTINUATION")));
}

#[test]
fn an_oversized_frame_ends_the_connection_before_its_payload() {
    let mut head = Vec::new();
    frame::put_head(&mut head, 1 << 20, frame::DATA, 0, 1);
    let (e, out) = hostile(&head);
    assert!(matches!(e[0], Event::Error(Error::FrameSize(_))), "{e:?}");
    assert_eq!(goaway_reason(&out), Some(Reason::FRAME_SIZE_ERROR));
}

#[test]
fn an_http1_answer_is_named_as_such() {
    let mut s = Session::new(Config::default());
    s.recv(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
    assert_eq!(events(&mut s), [Event::Error(Error::NotHttp2)]);
    assert!(!s.accepting());
}

#[test]
fn protocol_violations_end_the_connection() {
    let mut enc = Encoder::new();
    let cases: Vec<(Vec<u8>, Reason)> = vec![
        // A stream the client never opened.
        (headers(&mut enc, 9, "200", true), Reason::PROTOCOL_ERROR),
        (frame(frame::DATA, 0, 2, b"x"), Reason::PROTOCOL_ERROR),
        // Push is disabled.
        (
            frame(frame::PUSH_PROMISE, frame::END_HEADERS, 1, &[0, 0, 0, 2]),
            Reason::PROTOCOL_ERROR,
        ),
        (frame(frame::PING, 0, 0, b"short"), Reason::FRAME_SIZE_ERROR),
        (
            frame(frame::RST_STREAM, 0, 0, &[0; 4]),
            Reason::PROTOCOL_ERROR,
        ),
        (
            frame(frame::WINDOW_UPDATE, 0, 0, &[0; 4]),
            Reason::PROTOCOL_ERROR,
        ),
        (
            frame(frame::WINDOW_UPDATE, 0, 0, &0x7fff_ffffu32.to_be_bytes()),
            Reason::FLOW_CONTROL_ERROR,
        ),
        (
            settings(&[(frame::SETTINGS_ENABLE_PUSH, 1)]),
            Reason::PROTOCOL_ERROR,
        ),
        (
            settings(&[(frame::SETTINGS_MAX_FRAME_SIZE, 100)]),
            Reason::PROTOCOL_ERROR,
        ),
        // Not a valid HPACK block.
        (
            frame(frame::HEADERS, frame::END_HEADERS, 1, &[0xff, 0xff, 0xff]),
            Reason::COMPRESSION_ERROR,
        ),
        // A header block interrupted by another frame.
        (
            [
                frame(frame::HEADERS, 0, 1, &[0x88]),
                frame(frame::PING, 0, 0, b"12345678"),
            ]
            .concat(),
            Reason::PROTOCOL_ERROR,
        ),
    ];
    for (wire, reason) in cases {
        let (e, out) = hostile(&wire);
        assert!(
            matches!(e[..], [Event::Error(_), Event::Aborted { token: 5 }]),
            "{e:?}"
        );
        assert_eq!(goaway_reason(&out), Some(reason), "{e:?}");
    }
}

#[test]
fn a_broken_response_resets_only_its_stream() {
    let mut s = connected(Config::default(), &[]);
    let mut enc = Encoder::new();
    s.start(&get(), 0).ok();
    s.start(&get(), 1).ok();
    take(&mut s);
    // DATA before HEADERS on stream 1; stream 3 goes on.
    s.recv(&frame(frame::DATA, frame::END_STREAM, 1, b"x"));
    s.recv(&headers(&mut enc, 3, "200", true));
    assert_eq!(
        events(&mut s),
        [
            Event::Malformed { token: 0 },
            Event::Response {
                token: 1,
                status: 200,
                body: 0
            }
        ]
    );
    let out = take(&mut s);
    assert_eq!(kinds(&out), [frame::RST_STREAM]);
    assert_eq!(out[0].0.stream, 1);
    assert!(s.accepting());
}

#[test]
fn frames_for_a_cancelled_stream_are_ignored_but_decoded() {
    let mut s = connected(Config::default(), &[]);
    let mut enc = Encoder::new();
    s.start(&get(), 0).ok();
    s.start(&get(), 1).ok();
    take(&mut s);
    assert_eq!(s.cancel(1), Some(0));
    assert_eq!(s.cancel(1), None);
    let out = take(&mut s);
    assert_eq!(kinds(&out), [frame::RST_STREAM]);
    // The server answers the cancelled stream anyway; its header block still updates the
    // HPACK table the next block refers to.
    s.recv(&headers(&mut enc, 1, "200", false));
    s.recv(&frame(frame::DATA, frame::END_STREAM, 1, b"late"));
    s.recv(&headers(&mut enc, 3, "201", true));
    assert_eq!(
        events(&mut s),
        [Event::Response {
            token: 1,
            status: 201,
            body: 0
        }]
    );
}

#[test]
fn closing_the_transport_aborts_every_open_stream() {
    let mut s = connected(Config::default(), &[]);
    for token in 0..3 {
        s.start(&get(), token).ok();
    }
    s.closed();
    let mut tokens: Vec<usize> = events(&mut s)
        .into_iter()
        .map(|e| match e {
            Event::Aborted { token } => token,
            _ => usize::MAX,
        })
        .collect();
    tokens.sort_unstable();
    assert_eq!(tokens, [0, 1, 2]);
    assert!(!s.accepting());
}

#[test]
fn random_bytes_never_panic_and_every_stream_ends_once() {
    // A fixed linear congruential sequence: the same bytes every run.
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (x >> 33) as u8
    };
    for round in 0..200 {
        let mut s = connected(Config::default(), &[]);
        for token in 0..4 {
            s.start(&get(), token).ok();
        }
        let mut wire = Vec::new();
        for _ in 0..(round * 7 % 300) {
            wire.push(next());
        }
        // Valid-looking frame headers with random payloads, then pure noise.
        for _ in 0..(round % 5) {
            let kind = next() % 10;
            let len = usize::from(next() % 32);
            let payload: Vec<u8> = (0..len).map(|_| next()).collect();
            wire.splice(0..0, frame(kind, next(), u32::from(next() % 8), &payload));
        }
        s.recv(&wire);
        s.closed();
        let mut ended = [0; 4];
        for e in events(&mut s) {
            if let Event::Response { token, .. }
            | Event::Reset { token, .. }
            | Event::Refused { token, .. }
            | Event::Malformed { token }
            | Event::Aborted { token } = e
            {
                ended[token] += 1;
            }
        }
        assert_eq!(ended, [1; 4], "round {round}");
    }
}
