//! The slot state machine, step by step, against a real listener on loopback.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::TcpListener;
use std::sync::mpsc;

use super::*;
use crate::config::{Limits, RequestSpec, Target};
use crate::recorder::{Basis, Window};

/// The backend the state machine is driven on: `PERFLOOP_TEST_IO=uring` for io_uring.
fn backend() -> Backend {
    match std::env::var("PERFLOOP_TEST_IO").as_deref() {
        Ok("uring") => Backend::Uring,
        _ => Backend::Epoll,
    }
}

struct Rig {
    listener: TcpListener,
    config: LoadConfig,
    shared: Shared,
    wires: Wires,
}

fn rig(model: Model, method: &str) -> Rig {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let target = Target::parse(&url).unwrap();
    let config = LoadConfig {
        request: RequestSpec {
            method: method.into(),
            authority: target.authority.clone(),
            path: target.path.clone(),
            headers: vec![],
            body: vec![],
            alternate_bodies: vec![],
            scenario: None,
        },
        target,
        model,
        threads: 1,
        raw: None,
        limits: Limits {
            duration: Some(Duration::from_secs(60)),
            requests: None,
            warmup: Duration::ZERO,
            timeout: Duration::from_secs(5),
        },
    };
    let wires = Wires::new(&config);
    Rig {
        listener,
        config,
        shared: Shared::default(),
        wires,
    }
}

fn closed(n: f64) -> Model {
    Model::Closed {
        connections: Plan::Constant(n),
    }
}

impl Rig {
    fn worker(&self, t0: Instant) -> (Worker<'_>, mpsc::Receiver<crate::recorder::Report>) {
        let (tx, rx) = mpsc::channel();
        let window = Window {
            start: t0,
            end: Some(t0 + Duration::from_secs(60)),
            basis: Basis::Completed,
        };
        let share = Share {
            id: 0,
            workers: 1,
            t0,
            window_start: t0,
            window_end: window.end,
            quota: None,
            max_connections: 16,
            backend: backend(),
        };
        let rec = Recorder::new(0, window, tx);
        let w = Worker::new(share, &self.shared, &self.config, &self.wires, rec).unwrap();
        (w, rx)
    }
}

/// A slot with a connected stream, as after a completed handshake.
fn connected_slot(w: &mut Worker<'_>, now: Instant) -> usize {
    let key = w.new_slot(Phase::Idle, now, false);
    w.connect(key, now);
    w.slots[key].phase = Phase::Idle;
    key
}

fn ok() -> Response {
    Response {
        status: 200,
        keep_alive: true,
        trailing: 0,
    }
}

#[test]
fn a_request_on_a_slot_without_a_connection_connects_first() {
    let r = rig(closed(1.0), "GET");
    let now = Instant::now();
    let (mut w, _rx) = r.worker(now);
    let key = w.new_slot(Phase::Idle, now, false);
    w.begin(key, now, now);
    let slot = &w.slots[key];
    assert_eq!(slot.phase, Phase::Connecting);
    assert!(slot.attempt && slot.has_connection());
    assert_eq!(w.rec.counts.sent, 1);
}

#[test]
fn a_response_that_came_with_the_servers_close_does_not_reuse_the_connection() {
    let r = rig(closed(1.0), "GET");
    let now = Instant::now();
    let (mut w, _rx) = r.worker(now);
    let key = connected_slot(&mut w, now);
    w.slots[key].phase = Phase::Reading;
    w.complete(key, ok(), now, true);
    assert_eq!(w.rec.counts.ok, 1);
    // The next request goes out on a new connection, not the closed one.
    assert_eq!(w.slots[key].phase, Phase::Connecting);
    assert!(w.slots[key].attempt);
    // Kept alive, the same connection carries the next request at once.
    w.slots[key].phase = Phase::Reading;
    w.slots[key].attempt = false;
    w.complete(key, ok(), now, false);
    assert!(matches!(
        w.slots[key].phase,
        Phase::Writing | Phase::Reading
    ));
    assert!(w.slots[key].reused);
}

#[test]
fn a_fresh_failure_on_a_reused_connection_is_retried_once() {
    let r = rig(closed(1.0), "GET");
    let now = Instant::now();
    let (mut w, _rx) = r.worker(now);
    let key = connected_slot(&mut w, now);
    w.slots[key].phase = Phase::Reading;
    w.complete(key, ok(), now, false);
    let start = w.slots[key].start;
    w.fail(key, now, ErrorKind::Closed, true);
    assert_eq!((w.rec.counts.errors, w.rec.counts.reconnects), (0, 1));
    assert_eq!(w.slots[key].phase, Phase::Connecting);
    assert_eq!(w.slots[key].start, start, "the latency keeps its origin");
    // The same request failing again is an error: once only.
    w.slots[key].phase = Phase::Reading;
    w.slots[key].reused = true;
    w.fail(key, now, ErrorKind::Closed, true);
    assert_eq!(w.rec.counts.errors_of(ErrorKind::Closed), 1);
}

#[test]
fn failures_after_response_bytes_or_on_new_connections_are_errors() {
    let r = rig(closed(1.0), "GET");
    let now = Instant::now();
    let (mut w, _rx) = r.worker(now);
    let key = connected_slot(&mut w, now);
    w.slots[key].phase = Phase::Reading;
    w.fail(key, now, ErrorKind::Closed, true); // a new connection: not reused
    assert_eq!(w.rec.counts.errors, 1);
    let key = connected_slot(&mut w, now);
    w.slots[key].reused = true;
    w.slots[key].phase = Phase::Reading;
    w.fail(key, now, ErrorKind::Closed, false); // part of the answer had come
    assert_eq!((w.rec.counts.errors, w.rec.counts.reconnects), (2, 0));
}

#[test]
fn a_post_that_meets_a_closed_connection_is_not_sent_again() {
    let r = rig(closed(1.0), "POST");
    let now = Instant::now();
    let (mut w, _rx) = r.worker(now);
    let key = connected_slot(&mut w, now);
    w.slots[key].reused = true;
    w.slots[key].phase = Phase::Reading;
    w.fail(key, now, ErrorKind::Reset, true);
    assert_eq!((w.rec.counts.errors, w.rec.counts.reconnects), (1, 0));
}

#[test]
fn extra_bytes_after_a_response_are_a_framing_error_and_end_the_connection() {
    let r = rig(closed(1.0), "GET");
    let now = Instant::now();
    let (mut w, _rx) = r.worker(now);
    let key = connected_slot(&mut w, now);
    w.slots[key].phase = Phase::Reading;
    let resp = Response {
        trailing: 1,
        ..ok()
    };
    w.complete(key, resp, now, false);
    assert_eq!(w.rec.counts.errors_of(ErrorKind::Framing), 1);
    assert_eq!(w.rec.counts.ok, 0);
    assert_eq!(w.slots[key].phase, Phase::Connecting);
}

#[test]
fn the_closed_model_splits_its_connections_over_the_workers() {
    let r = rig(closed(5.0), "GET");
    let now = Instant::now();
    let (mut w, _rx) = r.worker(now);
    assert_eq!(w.closed_target(now), 5);
    w.share.workers = 2;
    assert_eq!(w.closed_target(now), 3);
    w.share.id = 1;
    assert_eq!(w.closed_target(now), 2);
    // Past the window, no connection is wanted.
    let end = w.share.window_end.unwrap();
    assert_eq!(w.closed_target(end), 0);
}

#[test]
fn stopping_counts_requests_in_flight_as_unfinished() {
    let r = rig(closed(2.0), "GET");
    let now = Instant::now();
    let (mut w, _rx) = r.worker(now);
    let a = connected_slot(&mut w, now);
    let _idle = connected_slot(&mut w, now);
    w.slots[a].phase = Phase::Reading;
    w.abandon();
    assert_eq!(w.rec.counts.unfinished, 1);
    assert!(w.slots.is_empty());
}

#[test]
fn the_open_model_drops_what_waits_unsent_at_the_end_of_the_window() {
    let model = Model::Open {
        rate: Plan::Constant(10.0),
        max_connections: 1,
    };
    let r = rig(model, "GET");
    let now = Instant::now();
    let (mut w, _rx) = r.worker(now);
    let open = w.open.as_mut().unwrap();
    open.pending.extend([now, now + Duration::from_millis(1)]);
    open.next = None;
    let end = w.share.window_end.unwrap();
    w.end_schedule(end);
    assert_eq!(w.rec.counts.dropped, 2);
    assert!(w.stopping);
    drop(r.listener);
}
