//! The closed model against a well-behaved server: request counts, durations, status and
//! body accounting, timeouts, warm-up, stages, the stop flag and an unreachable target.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use common::*;
use perfloop_engine::{Ending, ErrorKind, Model, Observer, TimelineRow, parse_stages, run};

#[test]
fn request_count_is_exact_across_workers_and_uneven_connections() {
    let (addr, stats) = start_axum();
    let mut c = closed_n(&url(addr, "/"), 7, 1000);
    c.threads = 3;
    let o = run_to_end(&c);
    assert_consistent(&o);
    assert_eq!(o.counts.total(), 1000, "{:?}", o.counts);
    assert_eq!(o.counts.ok, 1000);
    assert_eq!(o.counts.sent, 1000);
    assert_eq!(o.counts.unfinished, 0);
    assert_eq!(o.ending, Ending::Completed);
    assert_eq!(
        stats.requests.load(Ordering::Relaxed),
        1000,
        "the server saw a different count"
    );
    assert_eq!(o.counts.body_bytes, 1000 * 12);
    assert!(
        o.peak_connections <= 7,
        "peak {} connections for -c 7",
        o.peak_connections
    );
}

#[test]
fn request_count_smaller_than_connections_and_workers_is_exact() {
    for (n, connections, threads) in [(5, 8, 2), (1, 2, 2), (3, 1, 4)] {
        let (addr, stats) = start_axum();
        let mut c = closed_n(&url(addr, "/"), connections, n);
        c.threads = threads;
        let o = run_to_end(&c);
        assert_consistent(&o);
        assert_eq!(
            o.counts.total(),
            n,
            "-n {n} -c {connections} threads {threads}"
        );
        assert_eq!(
            stats.requests.load(Ordering::Relaxed),
            n,
            "-n {n} -c {connections}"
        );
        assert_eq!(o.ending, Ending::Completed);
    }
}

/// Keeps every row the observer is handed as the run goes.
#[derive(Default)]
struct Rows(Vec<TimelineRow>);

impl Observer for Rows {
    fn second(&mut self, row: &TimelineRow) {
        self.0.push(row.clone());
    }
}

#[test]
fn duration_run_has_one_timeline_row_per_second_adding_up_to_the_total() {
    let (addr, stats) = start_axum();
    let mut c = closed(&url(addr, "/"), 3);
    c.limits.duration = Some(Duration::from_millis(1500));
    let mut seen = Rows::default();
    let o = run(&c, no_stop(), &mut seen).unwrap();
    assert_consistent(&o);
    assert!(o.counts.total() > 0);
    assert_eq!(o.counts.errors, 0, "{:?}", o.counts);
    assert_eq!(o.ending, Ending::Completed);
    assert_eq!(o.measured, Duration::from_millis(1500));
    assert_eq!(o.timeline.len(), 2, "{:?}", o.timeline);
    assert_eq!(o.timeline[0].length_s, 1.0);
    assert!(
        (o.timeline[1].length_s - 0.5).abs() < 1e-9,
        "{:?}",
        o.timeline[1]
    );
    assert!(
        o.timeline.iter().all(|r| r.requests > 0),
        "{:?}",
        o.timeline
    );
    // Requests cut off by the end are unfinished, never more than one per connection.
    assert!(o.counts.unfinished <= 3, "{:?}", o.counts);
    // Every request the server answered was either counted or left unfinished.
    let served = stats.requests.load(Ordering::Relaxed);
    assert!(
        served >= o.counts.total(),
        "server {served} < counted {}",
        o.counts.total()
    );
    assert!(
        served <= o.counts.total() + o.counts.unfinished,
        "server {served}: {:?}",
        o.counts
    );
    // The observer saw the seconds as they went, with the same counts.
    assert!(!seen.0.is_empty());
    for (live, last) in seen.0.iter().zip(&o.timeline) {
        assert_eq!(
            (live.t_s, live.requests, live.errors),
            (last.t_s, last.requests, last.errors)
        );
    }
    let (p50, max) = (o.timeline[0].p50_ms.unwrap(), o.timeline[0].max_ms.unwrap());
    assert!(p50 > 0.0 && p50 <= max, "{:?}", o.timeline[0]);
}

#[test]
fn duration_and_request_count_end_at_whichever_comes_first() {
    let (addr, _) = start_axum();
    let mut c = closed_n(&url(addr, "/"), 2, 50);
    c.limits.duration = Some(Duration::from_secs(30));
    let began = Instant::now();
    let o = run_to_end(&c);
    assert_consistent(&o);
    assert_eq!(o.counts.total(), 50);
    assert!(
        began.elapsed() < Duration::from_secs(20),
        "the count should have ended the run"
    );
    assert!(
        o.measured < Duration::from_secs(20),
        "measured {:?} for a run ended by -n",
        o.measured
    );
    // Throughput is over the time the run began.elapsed(), not over the unused duration.
    let rps = o.throughput_rps();
    assert!(
        rps > 50.0 / 20.0,
        "throughput {rps}/s over {:?}",
        o.measured
    );
    assert!((rps - 50.0 / o.measured.as_secs_f64()).abs() < 1e-6);
}

#[test]
fn status_4xx_and_5xx_are_errors_by_kind_and_2xx_3xx_are_ok() {
    let (addr, stats) = start_axum();
    let cases = [
        (404, Some(ErrorKind::Status4xx)),
        (429, Some(ErrorKind::Status4xx)),
        (503, Some(ErrorKind::Status5xx)),
        (500, Some(ErrorKind::Status5xx)),
        (200, None),
        (204, None),
        (302, None),
        (304, None),
    ];
    for (status, kind) in cases {
        let o = run_to_end(&closed_n(&url(addr, &format!("/status/{status}")), 3, 60));
        assert_consistent(&o);
        let c = &o.counts;
        assert_eq!(c.total(), 60, "{status}: {c:?}");
        assert_eq!(c.by_status.get(&status), Some(&60), "{status}: {c:?}");
        assert_eq!(c.by_status.len(), 1, "{status}: {c:?}");
        match kind {
            Some(kind) => {
                assert_eq!((c.errors, c.ok), (60, 0), "{status}: {c:?}");
                assert_eq!(c.errors_of(kind), 60, "{status}: {c:?}");
            }
            None => assert_eq!((c.errors, c.ok), (0, 60), "{status}: {c:?}"),
        }
        // A response with an error status still has a latency.
        assert_eq!(o.latency.len(), 60);
    }
    assert_eq!(
        stats.requests.load(Ordering::Relaxed),
        60 * cases.len() as u64
    );
}

#[test]
fn post_body_is_sent_and_echoed_bytes_are_counted() {
    let (addr, stats) = start_axum();
    let mut c = closed_n(&url(addr, "/echo"), 4, 300);
    let body: Vec<u8> = (0..3000).map(|i| b'a' + (i % 26) as u8).collect();
    c.request.method = "POST".into();
    c.request.headers = vec![("Content-Type".into(), "text/plain".into())];
    c.request.body = body.clone();
    let o = run_to_end(&c);
    assert_consistent(&o);
    assert_eq!(o.counts.ok, 300, "{:?}", o.counts);
    assert_eq!(o.counts.body_bytes, 300 * body.len() as u64);
    assert_eq!(stats.requests.load(Ordering::Relaxed), 300);
}

#[test]
fn chunked_bodies_are_counted() {
    let (addr, _) = start_axum();
    let o = run_to_end(&closed_n(&url(addr, "/chunked"), 2, 200));
    assert_consistent(&o);
    assert_eq!(o.counts.ok, 200, "{:?}", o.counts);
    assert_eq!(o.counts.errors, 0);
    assert_eq!(o.counts.body_bytes, 200 * CHUNKED_BODY);
}

#[test]
fn keep_alive_connections_are_reused() {
    // Chunked with extensions and trailers, then Content-Length: both keep the connection.
    let (addr, accepted) = start_raw_counted(|mut s| {
        let mut n = 0u64;
        while read_request(&mut s) {
            let response: &[u8] = if n % 2 == 0 {
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4;x=1\r\nwiki\r\n5\r\npedia\r\n0\r\nX-T: 1\r\n\r\n"
            } else {
                b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nwikipedia"
            };
            n += 1;
            if std::io::Write::write_all(&mut s, response).is_err() {
                return;
            }
        }
    });
    let o = run_to_end(&closed_n(&url(addr, "/"), 2, 100));
    assert_consistent(&o);
    assert_eq!(o.counts.ok, 100, "{:?}", o.counts);
    assert_eq!(o.counts.body_bytes, 100 * 9);
    assert_eq!(accepted.load(Ordering::Relaxed), 2, "one connection per -c");
}

#[test]
fn slow_responses_past_the_timeout_are_timeouts() {
    let (addr, _) = start_axum();
    let mut c = closed_n(&url(addr, "/sleep/500"), 2, 6);
    c.limits.timeout = Duration::from_millis(100);
    let o = run_to_end(&c);
    assert_consistent(&o);
    assert_eq!(o.counts.total(), 6, "{:?}", o.counts);
    assert_eq!(o.counts.errors_of(ErrorKind::Timeout), 6, "{:?}", o.counts);
    assert_eq!(o.counts.ok, 0);
    assert!(o.latency.is_empty(), "a timeout has no response latency");

    // Over a duration, the run goes on timing out request after request.
    let mut c = closed(&url(addr, "/sleep/500"), 2);
    c.limits.timeout = Duration::from_millis(100);
    c.limits.duration = Some(Duration::from_millis(700));
    let o = run_to_end(&c);
    assert_consistent(&o);
    assert!(
        o.counts.errors_of(ErrorKind::Timeout) >= 4,
        "{:?}",
        o.counts
    );
    assert_eq!(
        o.counts.errors,
        o.counts.errors_of(ErrorKind::Timeout),
        "{:?}",
        o.counts
    );
    assert_eq!(o.counts.ok, 0);
}

#[test]
fn warmup_requests_are_excluded_from_the_count() {
    let (addr, stats) = start_axum();
    let mut c = closed_n(&url(addr, "/"), 2, 100);
    c.limits.warmup = Duration::from_millis(300);
    let o = run_to_end(&c);
    assert_consistent(&o);
    assert_eq!(o.counts.total(), 100, "{:?}", o.counts);
    assert_eq!(o.counts.sent, 100, "{:?}", o.counts);
    assert_eq!(o.latency.len(), 100);
    let served = stats.requests.load(Ordering::Relaxed);
    assert!(served > 100, "the server saw {served}: no warm-up load");
}

#[test]
fn warmup_before_a_duration_window_is_not_measured() {
    let (addr, stats) = start_axum();
    let mut c = closed(&url(addr, "/"), 2);
    c.limits.warmup = Duration::from_millis(300);
    c.limits.duration = Some(Duration::from_millis(500));
    let o = run_to_end(&c);
    assert_consistent(&o);
    assert_eq!(o.measured, Duration::from_millis(500));
    let served = stats.requests.load(Ordering::Relaxed);
    assert!(o.counts.total() > 0);
    assert!(
        served > o.counts.total() + o.counts.unfinished,
        "server {served}: warm-up requests were counted: {:?}",
        o.counts
    );
}

#[test]
fn stop_flag_ends_a_long_run_early_as_interrupted() {
    let (addr, _) = start_axum();
    let mut c = closed(&url(addr, "/"), 2);
    c.limits.duration = Some(Duration::from_secs(30));
    let (o, took) = run_interrupted(&c, Duration::from_millis(200));
    assert_eq!(o.ending, Ending::Interrupted);
    assert!(took < Duration::from_secs(15), "took {:?}", took);
    assert!(
        o.measured < Duration::from_secs(15),
        "measured {:?}",
        o.measured
    );
    assert!(
        o.measured >= Duration::from_millis(150),
        "measured {:?}",
        o.measured
    );
    assert!(o.counts.total() > 0);
    assert!(o.counts.unfinished <= 2, "{:?}", o.counts);
    assert_consistent(&o);
}

#[test]
fn unreachable_target_ends_the_run_early_with_connect_errors() {
    let addr = dead_addr();
    let mut c = closed(&url(addr, "/"), 4);
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
    assert_eq!(
        o.counts.errors,
        o.counts.errors_of(ErrorKind::Connect),
        "{:?}",
        o.counts
    );
    assert_eq!(o.counts.ok, 0);
    assert!(o.last_connect_error.is_some());
    assert_consistent(&o);
}

#[test]
fn closed_stages_ramp_connections_and_end_at_the_stage_length() {
    let (addr, _) = start_axum();
    let mut c = closed(&url(addr, "/"), 1);
    c.model = Model::Closed {
        connections: parse_stages("400ms:4,400ms:4,200ms:0").unwrap(),
    };
    c.limits.duration = None;
    let o = run_to_end(&c);
    assert_consistent(&o);
    assert_eq!(o.ending, Ending::Completed);
    assert_eq!(o.measured, Duration::from_secs(1));
    assert_eq!(o.peak_connections, 4, "the plan peaks at 4 connections");
    assert!(o.counts.total() > 0);
    assert_eq!(o.counts.errors, 0, "{:?}", o.counts);
    assert!(o.counts.unfinished <= 4, "{:?}", o.counts);
    assert_eq!(o.timeline.len(), 1, "{:?}", o.timeline);
}
