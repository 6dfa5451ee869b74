//! Every count agrees with what the server saw: servers that count the requests and
//! connections they receive, and runs whose figures must match them.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::io::{Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use common::*;
use perfloop_engine::{Ending, Model};

/// A server that reads each request head, sleeps `delay`, and answers; it counts requests.
fn start_fixed_latency(delay: Duration) -> (std::net::SocketAddr, Arc<AtomicU64>) {
    let requests = Arc::new(AtomicU64::new(0));
    let seen = requests.clone();
    let addr = start_raw(move |mut s| {
        while read_request(&mut s) {
            seen.fetch_add(1, Ordering::Relaxed);
            std::thread::sleep(delay);
            if s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                .is_err()
            {
                return;
            }
        }
    });
    (addr, requests)
}

fn within(measured: f64, expected: f64, share: f64) -> bool {
    (measured - expected).abs() <= share * expected
}

#[test]
fn closed_model_throughput_counts_completions_at_long_latency() {
    // 32 connections to a server answering each request in 288 ms: 111.1 requests per
    // second once warm. Counting only requests *sent* in the window lost about one latency's
    // worth of completions (−13.5 %).
    let (addr, _) = start_fixed_latency(Duration::from_millis(288));
    let mut c = closed(&url(addr, "/"), 32);
    c.limits.warmup = Duration::from_secs(1);
    c.limits.duration = Some(Duration::from_secs(2));
    let o = run_to_end(&c);
    assert_consistent(&o);
    let expected = 32.0 / 0.288;
    let got = o.throughput_rps();
    assert!(
        within(got, expected, 0.02),
        "{got:.1}/s, expected {expected:.1}/s: {:?}",
        o.counts
    );
    // Every connection was busy all the time: 32 in flight, exactly.
    assert!(
        within(o.in_flight_mean, 32.0, 0.02),
        "in flight {}",
        o.in_flight_mean
    );
}

#[test]
fn open_model_throughput_is_the_asked_rate_at_long_latency() {
    // 100/s for 3 s against 250 ms: the window's 300 arrivals are all answered, during the
    // window or the drain after it, and throughput is per second of the window.
    let (addr, served) = start_fixed_latency(Duration::from_millis(250));
    let mut c = open(&url(addr, "/"), 100.0);
    c.limits.duration = Some(Duration::from_secs(3));
    let o = run_to_end(&c);
    assert_consistent(&o);
    let got = o.throughput_rps();
    assert!(within(got, 100.0, 0.02), "{got:.1}/s: {:?}", o.counts);
    assert_eq!(
        o.counts.total(),
        served.load(Ordering::Relaxed),
        "{:?}",
        o.counts
    );
    assert!(o.counts.drained > 0, "{:?}", o.counts);
    // Little's law holds with the exact time in flight: 100/s × 0.25 s = 25.
    let mean_s = o.latency.mean() / 1e6;
    assert!(
        within(o.in_flight_mean, got * mean_s, 0.05),
        "in flight {} against {} × {mean_s}",
        o.in_flight_mean,
        got
    );
    // The timeline covers the window, not the drain.
    assert_eq!(o.timeline.len(), 3, "{:?}", o.timeline);
}

#[test]
fn an_overloaded_target_is_credited_with_what_it_answered_not_what_it_was_asked() {
    // One request at a time, 20 ms each: 50/s at most. Asked 100/s for 2 s, it answers the
    // window's 200 arrivals over about 4 s.
    let lock = Arc::new(std::sync::Mutex::new(()));
    let served = Arc::new(AtomicU64::new(0));
    let seen = served.clone();
    let addr = start_raw(move |mut s| {
        while read_request(&mut s) {
            {
                let _one = lock.lock().unwrap();
                std::thread::sleep(Duration::from_millis(20));
            }
            seen.fetch_add(1, Ordering::Relaxed);
            if s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                .is_err()
            {
                return;
            }
        }
    });
    let mut c = open(&url(addr, "/"), 100.0);
    c.limits.duration = Some(Duration::from_secs(2));
    c.limits.timeout = Duration::from_secs(30);
    let o = run_to_end(&c);
    assert_consistent(&o);
    assert_eq!(o.counts.ok, 200, "{:?}", o.counts);
    assert_eq!(served.load(Ordering::Relaxed), 200);
    let got = o.throughput_rps();
    assert!(
        got > 40.0 && got < 52.0,
        "{got:.1}/s over {:?} answering {:?}",
        o.window,
        o.answering
    );
}

#[test]
fn open_model_with_a_request_count_reports_the_asked_rate() {
    let (addr, served) = start_fixed_latency(Duration::from_millis(5));
    let mut c = open(&url(addr, "/"), 500.0);
    c.limits.duration = None;
    c.limits.requests = Some(100);
    let o = run_to_end(&c);
    assert_consistent(&o);
    assert_eq!(o.counts.total(), 100);
    assert_eq!(served.load(Ordering::Relaxed), 100);
    let got = o.throughput_rps();
    assert!(within(got, 500.0, 0.02), "{got:.1}/s over {:?}", o.window);
}

#[test]
fn interim_responses_are_not_answers() {
    // 100 Continue and 103 Early Hints come before the real answer: one response each.
    let served = Arc::new(AtomicU64::new(0));
    let seen = served.clone();
    let addr = start_raw(move |mut s| {
        while read_request(&mut s) {
            seen.fetch_add(1, Ordering::Relaxed);
            let interim =
                b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\n";
            if s.write_all(interim).is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(2));
            if s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
                .is_err()
            {
                return;
            }
        }
    });
    let mut c = closed_n(&url(addr, "/"), 4, 200);
    c.request.headers = vec![("Expect".into(), "100-continue".into())];
    let o = run_to_end(&c);
    assert_consistent(&o);
    assert_eq!(o.counts.ok, 200, "{:?}", o.counts);
    assert_eq!(
        o.counts.by_status.keys().copied().collect::<Vec<_>>(),
        vec![200]
    );
    assert_eq!(o.counts.body_bytes, 200 * 5);
    assert_eq!(served.load(Ordering::Relaxed), 200);
    // Latency runs to the final response, after the server's 2 ms pause.
    assert!(ms(&o, 0.5) >= 2.0, "p50 {} ms", ms(&o, 0.5));
}

/// A server that closes each connection after one response, without saying so; `linger`
/// is how long it waits between the response and the close.
fn start_closing(linger: Duration) -> (std::net::SocketAddr, Arc<AtomicU64>, Arc<AtomicU64>) {
    let served = Arc::new(AtomicU64::new(0));
    let seen = served.clone();
    let (addr, accepted) = start_raw_counted(move |mut s| {
        if read_request(&mut s) {
            seen.fetch_add(1, Ordering::Relaxed);
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
            std::thread::sleep(linger);
        }
    });
    (addr, served, accepted)
}

#[test]
fn a_server_that_closes_after_each_response_gets_no_phantom_requests() {
    let (addr, served, accepted) = start_closing(Duration::ZERO);
    let o = run_to_end(&closed_n(&url(addr, "/"), 4, 300));
    assert_consistent(&o);
    assert_eq!(o.counts.errors, 0, "{:?}", o.counts);
    assert_eq!(o.counts.ok, 300, "{:?}", o.counts);
    assert_eq!(served.load(Ordering::Relaxed), 300);
    // A handshake per request, and the count says so.
    assert_eq!(o.counts.connections, accepted.load(Ordering::Relaxed));
    assert!(o.counts.connections >= 300, "{:?}", o.counts);
}

#[test]
fn a_request_that_meets_a_late_close_is_sent_again_once() {
    // The close comes a little after the response, so the next request is already written
    // on the dying connection: it is sent again on a new one, as a reconnect, not an error.
    let (addr, served, accepted) = start_closing(Duration::from_millis(3));
    let o = run_to_end(&closed_n(&url(addr, "/"), 2, 100));
    assert_consistent(&o);
    assert_eq!(o.counts.errors, 0, "{:?}", o.counts);
    assert_eq!(o.counts.ok, 100);
    assert_eq!(served.load(Ordering::Relaxed), 100);
    assert!(o.counts.reconnects > 0, "{:?}", o.counts);
    assert_eq!(o.counts.connections, accepted.load(Ordering::Relaxed));
}

#[test]
fn a_post_is_not_sent_again() {
    // Not idempotent: a POST that met the close is an error, never repeated.
    let (addr, served, _) = start_closing(Duration::from_millis(3));
    let mut c = closed_n(&url(addr, "/"), 1, 20);
    c.request.method = "POST".into();
    let o = run_to_end(&c);
    assert_consistent(&o);
    assert_eq!(o.counts.reconnects, 0);
    assert_eq!(o.counts.total(), 20);
    assert_eq!(
        o.counts.ok,
        served.load(Ordering::Relaxed),
        "{:?}",
        o.counts
    );
}

#[test]
fn connection_close_in_the_request_closes_after_each_response() {
    let (addr, accepted) = start_raw_counted(|s| {
        serve_each(s, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    });
    let mut c = closed_n(&url(addr, "/"), 1, 100);
    c.request.headers = vec![("Connection".into(), "close".into())];
    let o = run_to_end(&c);
    assert_consistent(&o);
    assert_eq!(o.counts.ok, 100);
    assert_eq!(accepted.load(Ordering::Relaxed), 100);
}

#[test]
fn an_empty_post_announces_its_length() {
    let heads = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let seen = heads.clone();
    let addr = start_raw(move |mut s| {
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            match s.read(&mut byte) {
                Ok(1) => head.push(byte[0]),
                _ => return,
            }
        }
        seen.lock()
            .unwrap()
            .push(String::from_utf8_lossy(&head).into_owned());
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    });
    let mut c = closed_n(&url(addr, "/submit"), 1, 1);
    c.request.method = "POST".into();
    let o = run_to_end(&c);
    assert_eq!(o.counts.ok, 1, "{:?}", o.counts);
    let heads = heads.lock().unwrap();
    assert!(
        heads[0].starts_with("POST /submit HTTP/1.1\r\n"),
        "{}",
        heads[0]
    );
    assert!(
        heads[0].contains("\r\nContent-Length: 0\r\n"),
        "{}",
        heads[0]
    );
}

#[test]
fn a_dead_target_is_unreachable_even_for_one_request() {
    for n in [1, 5] {
        let o = run_to_end(&closed_n(&url(dead_addr(), "/"), 1, n));
        assert_eq!(o.ending, Ending::Unreachable, "-n {n}: {:?}", o.counts);
    }
}

#[test]
fn the_stages_and_a_longer_duration_are_refused() {
    let mut c = closed(&url(dead_addr(), "/"), 1);
    c.model = Model::Closed {
        connections: perfloop_engine::parse_stages("1s:20").unwrap(),
    };
    c.limits.duration = Some(Duration::from_secs(3));
    let e = c.validate().unwrap_err().to_string();
    assert!(e.contains("longer than the stages"), "{e}");
    c.limits.duration = Some(Duration::from_millis(500));
    assert!(c.validate().is_ok());
}
