//! The open model's truth test: a server stalls for a known time while arrivals keep
//! falling due. Latencies measured from the intended send time must show the stall;
//! a closed-model run against the same stall shows how it hides it.
//!
//! Bounds derive from the stall's length and leave wide margins: they check that the
//! numbers are true, not that anything is fast.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::sync::atomic::Ordering;
use std::time::Duration;

use common::*;
use perfloop_engine::{Model, Outcome, Plan};

/// The server freezes this long after its first request...
const AFTER: Duration = Duration::from_millis(300);
/// ...for this long.
const STALL: Duration = Duration::from_millis(400);
/// 1.5 s at 200/s: 300 arrivals, about 80 of them during the stall.
const RATE: f64 = 200.0;
const RUN: Duration = Duration::from_millis(1500);

fn stall_ms() -> f64 {
    STALL.as_secs_f64() * 1000.0
}

fn open_against_stall(max_connections: usize) -> (Outcome, StallServer) {
    let server = start_stalling(AFTER, STALL);
    let mut c = open(&url(server.addr, "/"), RATE);
    c.model = Model::Open {
        rate: Plan::Constant(RATE),
        max_connections,
    };
    c.limits.duration = Some(RUN);
    let o = run_to_end(&c);
    assert_consistent(&o);
    let arrivals = (RATE * RUN.as_secs_f64()) as u64;
    assert_eq!(o.counts.sent + o.counts.dropped, arrivals, "{:?}", o.counts);
    assert_eq!(o.counts.total(), o.counts.sent, "{:?}", o.counts);
    assert_eq!(o.counts.errors, 0, "{:?}", o.counts);
    (o, server)
}

/// The latencies of an open-model run show the stall: the arrivals that fell due while the
/// server was frozen waited up to the whole stall, about a quarter of all arrivals.
fn assert_stall_is_visible(o: &Outcome) {
    let stall = stall_ms();
    let (p50, p90, p99, max) = (ms(o, 0.5), ms(o, 0.9), ms(o, 0.99), ms(o, 1.0));
    let shown = format!("p50 {p50} p90 {p90} p99 {p99} max {max} ms, stall {stall} ms");
    assert!(
        max >= 0.75 * stall,
        "the longest wait must be about the stall: {shown}"
    );
    assert!(
        max <= stall + 3000.0,
        "nothing here waits seconds past the stall: {shown}"
    );
    // About 10 % of the arrivals waited over 60 % of the stall, 1 % over 95 %.
    assert!(p99 >= 0.5 * stall, "p99 must reflect the stall: {shown}");
    assert!(p90 >= 0.25 * stall, "p90 must reflect the stall: {shown}");
    // Most arrivals fell outside the stall and were answered at once.
    assert!(
        p50 < 0.25 * stall,
        "the stall must not leak into the median: {shown}"
    );
    let row_max = o
        .timeline
        .iter()
        .filter_map(|r| r.max_ms)
        .fold(0.0, f64::max);
    assert!(
        row_max >= 0.75 * stall,
        "the timeline must show the stall too: {:?}",
        o.timeline
    );
}

#[test]
fn open_model_latencies_reflect_a_server_stall() {
    let (o, server) = open_against_stall(256);
    assert_stall_is_visible(&o);
    // The schedule did not wait for the server: new connections carried the arrivals that
    // fell due during the stall (about 80).
    let in_stall = server.in_stall.load(Ordering::Relaxed);
    assert!(
        in_stall >= 30,
        "only {in_stall} requests reached the server during the stall"
    );
    assert!(
        o.peak_connections > 2,
        "no connections opened for the stall"
    );
}

#[test]
fn open_model_counts_the_wait_for_a_free_connection_in_the_latency() {
    // Two connections, both stuck in the stall: the arrivals queue in the engine and are
    // sent after it. Measured from the send time they would look fast; from the intended
    // time they carry the stall.
    let (o, server) = open_against_stall(2);
    assert!(o.peak_connections <= 2);
    let in_stall = server.in_stall.load(Ordering::Relaxed);
    assert!(
        in_stall <= 2,
        "{in_stall} requests reached the server during the stall"
    );
    assert_stall_is_visible(&o);
}

#[test]
fn closed_model_sends_almost_nothing_during_a_stall() {
    let server = start_stalling(AFTER, STALL);
    let mut c = closed(&url(server.addr, "/"), 2);
    c.limits.duration = Some(RUN);
    let o = run_to_end(&c);
    assert_consistent(&o);
    assert_eq!(o.counts.errors, 0, "{:?}", o.counts);
    // Each connection waits for its stuck request: one request per connection in the stall.
    let in_stall = server.in_stall.load(Ordering::Relaxed);
    assert!(
        (1..=2).contains(&in_stall),
        "{in_stall} requests reached the server during the stall"
    );
    // The stuck requests themselves are measured...
    let (p90, max) = (ms(&o, 0.9), ms(&o, 1.0));
    assert!(
        max >= 0.75 * stall_ms(),
        "max {max} ms for a {} ms stall",
        stall_ms()
    );
    // ...but the closed model's percentiles hide the stall: coordinated omission.
    assert!(p90 < 0.25 * stall_ms(), "p90 {p90} ms");
    assert!(
        server.requests.load(Ordering::Relaxed) > 300,
        "the closed run was not running"
    );
}
