//! Servers that misbehave: each failure is counted as one error of the right kind and the
//! run goes on to its end; responses that are odd but valid are counted as responses.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::io::Write;
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::Duration;

use common::*;
use perfloop_engine::{Ending, ErrorKind, HEADER_CAP, Outcome};

/// Runs `-n requests` on two connections against `addr`.
fn run_n(addr: SocketAddr, requests: u64) -> Outcome {
    let o = run_to_end(&closed_n(&url(addr, "/"), 2, requests));
    assert_consistent(&o);
    assert_eq!(o.ending, Ending::Completed);
    o
}

/// Every one of the run's requests failed with `kind`: one error each, none lost.
fn assert_all_failed_with(o: &Outcome, requests: u64, kind: ErrorKind) {
    let c = &o.counts;
    assert_eq!(c.total(), requests, "{kind:?}: {c:?}");
    assert_eq!(c.errors_of(kind), requests, "{kind:?}: {c:?}");
    assert_eq!(c.ok, 0, "{kind:?}: {c:?}");
    assert!(c.by_status.is_empty(), "{kind:?}: {c:?}");
}

#[test]
fn garbage_instead_of_a_response_is_malformed() {
    let garbage: [&'static [u8]; 5] = [
        b"\x00\x01\x02 this is not http\r\n\r\n",
        b"SSH-2.0-OpenSSH_9.6\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: nope\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    ];
    for response in garbage {
        let o = run_n(start_responder(response), 20);
        assert_all_failed_with(&o, 20, ErrorKind::Malformed);
    }
}

#[test]
fn reset_connections_are_resets() {
    let addr = start_raw(|mut s| {
        if read_request(&mut s) {
            // SO_LINGER 0: closing sends RST instead of FIN.
            socket2::SockRef::from(&s)
                .set_linger(Some(Duration::ZERO))
                .unwrap();
        }
    });
    let o = run_n(addr, 20);
    assert_all_failed_with(&o, 20, ErrorKind::Reset);
}

#[test]
fn half_close_without_an_answer_is_closed() {
    let addr = start_raw(|mut s| {
        if read_request(&mut s) {
            let _ = s.shutdown(Shutdown::Write);
            // Keep reading until the client goes away: the server only half-closed.
            let _ = read_request(&mut s);
        }
    });
    let o = run_n(addr, 20);
    assert_all_failed_with(&o, 20, ErrorKind::Closed);
}

#[test]
fn response_cut_short_is_closed() {
    let addr = start_raw(|s| {
        serve_once(
            s,
            b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly a few bytes",
        );
    });
    let o = run_n(addr, 20);
    assert_all_failed_with(&o, 20, ErrorKind::Closed);
}

/// Writes a little of a body that is never finished, until the client goes away.
fn endless_body(mut s: TcpStream) {
    if !read_request(&mut s) {
        return;
    }
    if s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000000\r\n\r\n")
        .is_err()
    {
        return;
    }
    let piece = [b'x'; 1024];
    while s.write_all(&piece).is_ok() {
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn body_that_never_ends_times_out() {
    let addr = start_raw(endless_body);
    let mut c = closed_n(&url(addr, "/"), 2, 4);
    c.limits.timeout = Duration::from_millis(150);
    let o = run_to_end(&c);
    assert_consistent(&o);
    assert_all_failed_with(&o, 4, ErrorKind::Timeout);
}

#[test]
fn headers_over_the_cap_are_too_large() {
    let addr = start_raw(|mut s| {
        if !read_request(&mut s) || s.write_all(b"HTTP/1.1 200 OK\r\n").is_err() {
            return;
        }
        // Header lines without end, until the client gives up.
        let line = format!("X-Filler: {}\r\n", "a".repeat(1000));
        while s.write_all(line.as_bytes()).is_ok() {}
    });
    let o = run_n(addr, 10);
    assert_all_failed_with(&o, 10, ErrorKind::HeadersTooLarge);
}

#[test]
fn many_small_headers_under_the_cap_are_a_valid_response() {
    let mut response = String::from("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n");
    for i in 0..200 {
        response.push_str(&format!("Set-Cookie: c{i}=v\r\n"));
    }
    response.push_str("\r\nok");
    assert!(response.len() < HEADER_CAP / 4);
    let response: &'static [u8] = response.into_bytes().leak();
    let o = run_n(start_responder(response), 20);
    assert_eq!(o.counts.ok, 20, "{:?}", o.counts);
    assert_eq!(o.counts.body_bytes, 40);
}

#[test]
fn headers_just_under_the_cap_are_a_valid_response() {
    let head = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Big: ";
    let filler = "b".repeat(HEADER_CAP - head.len() - 4);
    let response = format!("{head}{filler}\r\n\r\nok");
    assert_eq!(response.len(), HEADER_CAP + 2);
    let response: &'static [u8] = response.into_bytes().leak();
    let o = run_n(start_responder(response), 10);
    assert_eq!(o.counts.ok, 10, "{:?}", o.counts);
    assert_eq!(o.counts.body_bytes, 20);
}

#[test]
fn close_delimited_bodies_are_counted_responses() {
    for response in [
        &b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the server closes"[..],
        &b"HTTP/1.0 200 OK\r\n\r\nuntil the server closes"[..],
    ] {
        let (addr, accepted) = start_raw_counted(move |s| serve_once(s, response));
        let o = run_n(addr, 30);
        assert_eq!(o.counts.ok, 30, "{:?}", o.counts);
        assert_eq!(o.counts.errors, 0);
        assert_eq!(o.counts.body_bytes, 30 * 23);
        assert_eq!(accepted.load(std::sync::atomic::Ordering::Relaxed), 30);
    }
}

#[test]
fn connection_close_responses_are_ok_and_the_client_reconnects() {
    let (addr, accepted) = start_raw_counted(|s| {
        serve_once(
            s,
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
        );
    });
    let o = run_n(addr, 100);
    assert_eq!(o.counts.ok, 100, "{:?}", o.counts);
    assert_eq!(o.counts.body_bytes, 500);
    assert_eq!(accepted.load(std::sync::atomic::Ordering::Relaxed), 100);

    // Over a duration, the run keeps reconnecting to its end.
    let mut c = closed(&url(addr, "/"), 2);
    c.limits.duration = Some(Duration::from_millis(300));
    let o = run_to_end(&c);
    assert_consistent(&o);
    assert!(o.counts.ok > 2, "{:?}", o.counts);
    assert_eq!(o.counts.errors, 0, "{:?}", o.counts);
}

#[test]
fn bytes_beyond_the_content_length_are_framing_errors() {
    // One byte too many after each response: the response broke its own framing, so it is
    // an error of its own kind, and the connection is not trusted again.
    let (addr, accepted) = start_raw_counted(|s| {
        serve_each(s, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok!");
    });
    let o = run_n(addr, 20);
    assert_consistent(&o);
    assert_eq!(o.counts.ok, 0, "{:?}", o.counts);
    assert_eq!(o.counts.errors_of(ErrorKind::Framing), 20, "{:?}", o.counts);
    assert_eq!(accepted.load(std::sync::atomic::Ordering::Relaxed), 20);
    assert_eq!(o.counts.connections, 20, "{:?}", o.counts);
}

#[test]
fn mixed_failures_are_each_counted_and_the_run_goes_on() {
    // Connection by connection: an answer, garbage, a reset, a half-close, in turn.
    let turn = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let addr = start_raw(move |mut s| {
        if !read_request(&mut s) {
            return;
        }
        match turn.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % 4 {
            0 => {
                let _ = s.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
                );
            }
            1 => {
                let _ = s.write_all(b"garbage\r\n\r\n");
                let _ = read_request(&mut s);
            }
            2 => socket2::SockRef::from(&s)
                .set_linger(Some(Duration::ZERO))
                .unwrap(),
            _ => {
                let _ = s.shutdown(Shutdown::Write);
                let _ = read_request(&mut s);
            }
        }
    });
    let o = run_to_end(&closed_n(&url(addr, "/"), 1, 40));
    assert_consistent(&o);
    let c = &o.counts;
    assert_eq!(c.total(), 40, "{c:?}");
    assert_eq!(c.ok, 10, "{c:?}");
    assert_eq!(c.errors_of(ErrorKind::Malformed), 10, "{c:?}");
    assert_eq!(c.errors_of(ErrorKind::Reset), 10, "{c:?}");
    assert_eq!(c.errors_of(ErrorKind::Closed), 10, "{c:?}");
}
