//! Raw TCP (`tcp://` with `--send`): requests are the given bytes, responses end after a
//! fixed length or at a delimiter, in both load models; a peer that breaks the framing is
//! counted, never followed. Servers are real, on 127.0.0.1, counting what they receive.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use common::*;
use perfloop_engine::spec::{Given, LoadSpec, ModelKind, RawOptions, RequestOptions};
use perfloop_engine::{Ending, ErrorKind, LoadConfig, Outcome, RawExchange, ResponseEnd};

/// A file holding `text` (escapes as a user writes them), unique to the test.
fn send_file(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("perfloop-raw-tcp-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// A raw run against `addr` as `perfloop load tcp://ADDR --send FILE` resolves it.
fn spec(addr: SocketAddr, send: PathBuf, raw: RawOptions) -> LoadSpec {
    let mut spec = LoadSpec::new(format!("tcp://{addr}"));
    spec.request = RequestOptions {
        raw: RawOptions {
            send: Some(send),
            ..raw
        },
        threads: Some(2),
        ..spec.request
    };
    spec
}

fn delimiter(text: &str) -> RawOptions {
    RawOptions {
        expect_delimiter: Some(text.to_string()),
        ..RawOptions::default()
    }
}

fn bytes(n: u64) -> RawOptions {
    RawOptions {
        expect_bytes: Some(n),
        ..RawOptions::default()
    }
}

/// `n` requests on `connections` connections.
fn counted(mut spec: LoadSpec, connections: u32, n: u64) -> LoadConfig {
    spec.connections = Some(connections);
    spec.requests = Some(n);
    spec.resolve().unwrap().config
}

/// The accounting every raw outcome keeps: no status codes, one latency per response.
fn assert_raw_consistent(o: &Outcome) {
    let c = &o.counts;
    assert!(
        c.by_status.is_empty(),
        "raw responses have no status: {c:?}"
    );
    assert_eq!(c.by_kind.iter().sum::<u64>(), c.errors, "{c:?}");
    assert_eq!(o.latency.len(), c.ok, "one latency per response: {c:?}");
    let rows: u64 = o.timeline.iter().map(|r| r.requests).sum();
    assert_eq!(rows + c.drained, c.total(), "{:?}", o.timeline);
}

/// A line protocol: each `PING\r\n` is answered `PONG\r\n`; anything else ends the
/// connection. Returns the address and the pings received.
fn start_pong() -> (SocketAddr, Arc<AtomicU64>) {
    let pings = Arc::new(AtomicU64::new(0));
    let counter = pings.clone();
    let addr = start_raw(move |stream| {
        let mut out = stream.try_clone().unwrap();
        let mut lines = BufReader::new(stream);
        let mut line = Vec::new();
        loop {
            line.clear();
            if !matches!(lines.read_until(b'\n', &mut line), Ok(n) if n > 0) {
                return;
            }
            if line != b"PING\r\n" {
                return;
            }
            counter.fetch_add(1, Ordering::Relaxed);
            if out.write_all(b"PONG\r\n").is_err() {
                return;
            }
        }
    });
    (addr, pings)
}

/// A binary protocol: each 8-byte request `01 02 .. 08` is answered with 64 bytes, written
/// in two halves (so a response arrives split). Returns the address and requests received.
fn start_binary() -> (SocketAddr, Arc<AtomicU64>) {
    let requests = Arc::new(AtomicU64::new(0));
    let counter = requests.clone();
    let addr = start_raw(move |mut stream| {
        stream.set_nodelay(true).unwrap();
        let reply: Vec<u8> = (0..64u8).map(|b| b.wrapping_mul(37)).collect();
        let mut request = [0u8; 8];
        while stream.read_exact(&mut request).is_ok() {
            if request != [1, 2, 3, 4, 5, 6, 7, 8] {
                return;
            }
            counter.fetch_add(1, Ordering::Relaxed);
            if stream.write_all(&reply[..32]).is_err() || stream.write_all(&reply[32..]).is_err() {
                return;
            }
        }
    });
    (addr, requests)
}

/// Reads one raw request of `len` bytes; false on EOF.
fn read_len(stream: &mut TcpStream, len: usize) -> bool {
    let mut buf = vec![0u8; len];
    stream.read_exact(&mut buf).is_ok()
}

#[test]
fn the_send_file_and_the_delimiter_are_decoded() {
    let (addr, _) = start_pong();
    let send = send_file("decoded-ping", "PING\\r\\n");
    let config = counted(spec(addr, send, delimiter("\\r\\n")), 1, 1);
    let want = RawExchange {
        send: b"PING\r\n".to_vec(),
        end: ResponseEnd::Delimiter(b"\r\n".to_vec()),
    };
    assert_eq!(config.raw, Some(want));
}

#[test]
fn a_line_protocol_in_the_closed_model() {
    let (addr, pings) = start_pong();
    let send = send_file("closed-ping", "PING\\r\\n");
    let o = run_to_end(&counted(spec(addr, send, delimiter("\\r\\n")), 4, 2_000));
    assert_raw_consistent(&o);
    assert_eq!(o.ending, Ending::Completed);
    let c = &o.counts;
    assert_eq!((c.ok, c.errors), (2_000, 0), "{c:?}");
    // Every response is counted whole, delimiter included.
    assert_eq!(c.body_bytes, 2_000 * 6);
    assert_eq!(pings.load(Ordering::Relaxed), 2_000);
}

#[test]
fn a_fixed_size_binary_reply_in_the_open_model() {
    let (addr, received) = start_binary();
    let send = send_file("binary", "\\x01\\x02\\x03\\x04\\x05\\x06\\x07\\x08");
    let mut s = spec(addr, send, bytes(64));
    s.model = Some(ModelKind::Open);
    s.rate = Some(Given::Value(400.0));
    s.duration = Some(Given::Text("1s".to_string()));
    let o = run_to_end(&s.resolve().unwrap().config);
    assert_raw_consistent(&o);
    let c = &o.counts;
    assert_eq!(c.errors, 0, "{c:?}");
    assert!(
        (300..=500).contains(&c.ok),
        "about 400 arrivals in 1 s: {c:?}"
    );
    assert_eq!(c.body_bytes, c.ok * 64);
    assert!(received.load(Ordering::Relaxed) >= c.ok);
}

#[test]
fn more_than_expected_is_a_framing_error() {
    // A reply longer than --expect-bytes, and one with bytes after its delimiter.
    let long = start_raw(|mut s| {
        while read_len(&mut s, 6) {
            if s.write_all(b"PONG!!").is_err() {
                return;
            }
        }
    });
    let send = send_file("framing-ping", "PING\\r\\n");
    let o = run_to_end(&counted(spec(long, send.clone(), bytes(4)), 2, 40));
    assert_raw_consistent(&o);
    assert_eq!(o.counts.errors_of(ErrorKind::Framing), 40, "{:?}", o.counts);
    assert_eq!(o.counts.ok, 0);

    let extra = start_raw(|mut s| {
        while read_len(&mut s, 6) {
            if s.write_all(b"PONG\r\nEXTRA").is_err() {
                return;
            }
        }
    });
    let o = run_to_end(&counted(spec(extra, send, delimiter("\\r\\n")), 2, 40));
    assert_raw_consistent(&o);
    assert_eq!(o.counts.errors_of(ErrorKind::Framing), 40, "{:?}", o.counts);
}

#[test]
fn a_close_before_the_end_is_closed_and_not_sent_again() {
    let addr = start_raw(|mut s| {
        if read_len(&mut s, 6) {
            let _ = s.write_all(b"PO");
        }
    });
    let send = send_file("closed-early-ping", "PING\\r\\n");
    let o = run_to_end(&counted(spec(addr, send, delimiter("\\r\\n")), 2, 30));
    assert_raw_consistent(&o);
    assert_eq!(o.counts.errors_of(ErrorKind::Closed), 30, "{:?}", o.counts);

    // A reused connection closed before the answer: HTTP would send a GET again, raw
    // bytes are never sent twice.
    let addr = start_raw(|mut s| {
        if read_len(&mut s, 6) && s.write_all(b"PONG\r\n").is_ok() {
            let _ = read_len(&mut s, 6);
        }
    });
    let send = send_file("closed-reused-ping", "PING\\r\\n");
    let o = run_to_end(&counted(spec(addr, send, delimiter("\\r\\n")), 2, 30));
    assert_raw_consistent(&o);
    let c = &o.counts;
    // Each connection answers its first request and closes on its second.
    assert_eq!(c.ok, c.connections, "{c:?}");
    assert_eq!(c.errors_of(ErrorKind::Closed), 30 - c.ok, "{c:?}");
    assert!(c.ok <= 16, "{c:?}");
    assert_eq!(c.reconnects, 0, "{c:?}");
}

#[test]
fn an_endless_reply_without_its_delimiter_times_out() {
    // The server streams as fast as it can and never sends the delimiter: the request
    // ends at its timeout, the run at its end.
    let addr = start_raw(|mut s| {
        if read_len(&mut s, 6) {
            let chunk = vec![b'x'; 64 * 1024];
            while s.write_all(&chunk).is_ok() {}
        }
    });
    let send = send_file("endless-ping", "PING\\r\\n");
    let mut s = spec(addr, send, delimiter("\\r\\n"));
    s.request.timeout = Given::Text("300ms".to_string());
    let o = run_to_end(&counted(s, 1, 3));
    assert_raw_consistent(&o);
    assert_eq!(o.counts.errors_of(ErrorKind::Timeout), 3, "{:?}", o.counts);
}

#[test]
fn bad_raw_input_is_refused_before_any_work() {
    let addr = dead_addr();
    let send = send_file("bad-input-ping", "PING\\r\\n");
    let empty = send_file("bad-input-empty", "");
    let escape = send_file("bad-input-escape", "PING\\r\\n\nQUIT\\q");
    let missing = std::env::temp_dir().join("perfloop-raw-tcp-no-such-file");
    let error = |spec: LoadSpec| spec.resolve().unwrap_err().to_string();
    let tcp = LoadSpec::new(format!("tcp://{addr}"));
    let cases = [
        (tcp, "--send FILE"),
        (
            spec(addr, send.clone(), RawOptions::default()),
            "--expect-bytes N",
        ),
        (spec(addr, send.clone(), bytes(0)), "--expect-bytes 0"),
        (
            spec(
                addr,
                send.clone(),
                RawOptions {
                    expect_bytes: Some(4),
                    ..delimiter("\\n")
                },
            ),
            "exclude each other",
        ),
        (spec(addr, send.clone(), delimiter("")), "at least 1 byte"),
        (spec(addr, send.clone(), delimiter("\\x4")), "'\\x4'"),
        (spec(addr, empty, bytes(4)), "is empty"),
        (spec(addr, escape, bytes(4)), "line 2, column 5"),
        (spec(addr, missing, bytes(4)), "cannot read --send"),
    ];
    for (spec, says) in cases {
        let e = error(spec);
        assert!(e.contains(says), "expected '{says}' in: {e}");
    }
    // HTTP options beside tcp://, raw options beside http://.
    let mut with_header = spec(addr, send.clone(), bytes(4));
    with_header.request.headers = vec!["X: y".to_string()];
    assert!(error(with_header).contains("--header is HTTP's"));
    let mut http = LoadSpec::new(format!("http://{addr}/"));
    http.request.raw.send = Some(send);
    let e = error(http);
    assert!(e.contains("--send needs a tcp:// URL"), "{e}");
}
