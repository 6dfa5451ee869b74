//! The open model: arrivals on a schedule, counted exactly; stages; warm-up; the stop
//! flag; an unreachable target; a server that closes every connection.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::*;
use perfloop_engine::{Ending, ErrorKind, Model, Outcome, parse_stages};

/// Every arrival of the window is either sent or dropped; every sent one is answered
/// (the open model drains what is in flight).
fn assert_arrivals_accounted(o: &Outcome, arrivals: u64) {
    let c = &o.counts;
    assert_eq!(c.sent + c.dropped, arrivals, "{c:?}");
    assert_eq!(c.total(), c.sent, "every sent request is answered: {c:?}");
    assert_eq!(c.unfinished, 0, "{c:?}");
    let lag = o
        .lag
        .as_ref()
        .expect("the open model reports its scheduling lag");
    assert_eq!(lag.len(), arrivals, "one lag per arrival");
}

#[test]
fn constant_rate_sends_the_scheduled_arrivals() {
    let (addr, stats) = start_axum();
    let o = run_to_end(&open(&url(addr, "/"), 500.0));
    assert_consistent(&o);
    assert_eq!(o.ending, Ending::Completed);
    // 500/s for 1 s: arrivals at 0, 2 ms, ..., 998 ms.
    assert_arrivals_accounted(&o, 500);
    assert!(
        o.counts.sent >= 485,
        "sent {} of 500 scheduled: {:?}",
        o.counts.sent,
        o.counts
    );
    assert_eq!(o.counts.errors, 0, "{:?}", o.counts);
    assert_eq!(stats.requests.load(Ordering::Relaxed), o.counts.sent);
    assert_eq!(o.window, Duration::from_secs(1));
    let achieved = o.achieved_rate();
    assert!(
        (485.0..=500.0).contains(&achieved),
        "achieved {achieved}/s of 500/s"
    );
    assert!(
        o.measured >= o.window,
        "the drain belongs to the measured time"
    );
}

#[test]
fn request_count_ends_an_open_run_exactly() {
    let (addr, stats) = start_axum();
    let mut c = open(&url(addr, "/"), 1000.0);
    c.limits.duration = None;
    c.limits.requests = Some(300);
    let o = run_to_end(&c);
    assert_consistent(&o);
    assert_eq!(o.ending, Ending::Completed);
    assert_eq!(o.counts.total(), 300, "{:?}", o.counts);
    assert_eq!(o.counts.sent, 300);
    assert_eq!(o.counts.dropped, 0);
    assert_eq!(stats.requests.load(Ordering::Relaxed), 300);
}

#[test]
fn low_rate_run_ends_at_the_window_not_at_the_next_arrival() {
    // 0.5/s for 0.5 s: one arrival at 0; the next ones (2 s, 4 s) lie after the window.
    let (addr, _) = start_axum();
    let mut c = open(&url(addr, "/"), 0.5);
    c.limits.duration = Some(Duration::from_millis(500));
    let began = Instant::now();
    let o = run_to_end(&c);
    let took = began.elapsed();
    assert_consistent(&o);
    assert_arrivals_accounted(&o, 1);
    assert_eq!(o.counts.ok, 1);
    assert!(
        took < Duration::from_millis(1900),
        "the run waited for an arrival after its end: {took:?}"
    );
}

#[test]
fn rate_ramp_stages_follow_the_integral_of_the_rate() {
    // Ramp 0 -> 400/s over 0.5 s (100 arrivals), then 400/s for 0.5 s (200 arrivals).
    let first = std::sync::OnceLock::<Instant>::new();
    let early = Arc::new(AtomicU64::new(0));
    let early_seen = early.clone();
    let addr = start_raw(move |mut s| {
        while read_request(&mut s) {
            let now = Instant::now();
            if now < *first.get_or_init(|| now) + Duration::from_millis(500) {
                early_seen.fetch_add(1, Ordering::Relaxed);
            }
            let ok: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
            if std::io::Write::write_all(&mut s, ok).is_err() {
                return;
            }
        }
    });
    let mut c = open(&url(addr, "/"), 1.0);
    c.model = Model::Open {
        rate: parse_stages("0.5s:400,0.5s:400").unwrap(),
        max_connections: 64,
    };
    c.limits.duration = None;
    let o = run_to_end(&c);
    assert_consistent(&o);
    assert_eq!(o.ending, Ending::Completed);
    assert_arrivals_accounted(&o, 300);
    assert!(o.counts.ok >= 285, "{:?}", o.counts);
    assert_eq!(o.window, Duration::from_secs(1));
    // Λ(0.5 s) = 100: the ramp's arrivals reach the server in its first half second.
    let early = early.load(Ordering::Relaxed);
    assert!(
        (70..=140).contains(&early),
        "{early} arrivals in the ramp, 100 scheduled"
    );
}

#[test]
fn warmup_arrivals_are_not_measured() {
    let (addr, stats) = start_axum();
    let mut c = open(&url(addr, "/"), 500.0);
    c.limits.warmup = Duration::from_millis(200);
    c.limits.duration = Some(Duration::from_millis(500));
    let o = run_to_end(&c);
    assert_consistent(&o);
    // Arrivals at n × 2 ms; those in [200 ms, 700 ms) are measured: 250, give or take the
    // one on the boundary.
    let arrivals = o.counts.sent + o.counts.dropped;
    assert!((249..=251).contains(&arrivals), "{:?}", o.counts);
    assert_arrivals_accounted(&o, arrivals);
    let served = stats.requests.load(Ordering::Relaxed);
    assert!(
        served >= o.counts.total() + 90,
        "server saw {served}: no warm-up load"
    );
}

#[test]
fn stop_flag_ends_an_open_run_early_as_interrupted() {
    let (addr, _) = start_axum();
    let mut c = open(&url(addr, "/"), 200.0);
    c.limits.duration = Some(Duration::from_secs(30));
    let (o, took) = run_interrupted(&c, Duration::from_millis(200));
    assert_eq!(o.ending, Ending::Interrupted);
    assert!(took < Duration::from_secs(15), "took {:?}", took);
    assert!(o.counts.total() > 0);
    let c = &o.counts;
    assert_eq!(c.sent, c.total() + c.unfinished, "{c:?}");
    assert_consistent(&o);
}

#[test]
fn unreachable_target_ends_an_open_run_early() {
    let mut c = open(&url(dead_addr(), "/"), 200.0);
    c.limits.duration = Some(Duration::from_secs(30));
    let began = Instant::now();
    let o = run_to_end(&c);
    assert_eq!(o.ending, Ending::Unreachable);
    assert!(
        began.elapsed() < Duration::from_secs(15),
        "began.elapsed() {:?}",
        began.elapsed()
    );
    assert!(o.counts.errors_of(ErrorKind::Connect) > 0, "{:?}", o.counts);
    assert_eq!(o.counts.errors, o.counts.errors_of(ErrorKind::Connect));
    assert_eq!(o.counts.ok, 0);
    assert!(o.last_connect_error.is_some());
    assert_consistent(&o);
}

#[test]
fn connection_close_server_gets_every_arrival_on_a_new_connection() {
    let (addr, accepted) = start_raw_counted(|s| {
        serve_once(
            s,
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
        );
    });
    let mut c = open(&url(addr, "/"), 200.0);
    c.limits.duration = Some(Duration::from_millis(500));
    let o = run_to_end(&c);
    assert_consistent(&o);
    assert_arrivals_accounted(&o, 100);
    assert_eq!(o.counts.errors, 0, "{:?}", o.counts);
    assert_eq!(o.counts.body_bytes, 5 * o.counts.ok);
    assert!(
        accepted.load(Ordering::Relaxed) >= o.counts.ok,
        "a connection per response"
    );
}
