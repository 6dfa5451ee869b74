//! Servers for the engine's tests: a well-behaved axum server and raw-TCP hostile ones,
//! all on 127.0.0.1 with an ephemeral port, in process; and the configs and checks the
//! suites share.

#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    missing_docs
)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use perfloop_engine::{
    IoChoice, Limits, LoadConfig, Model, Outcome, Plan, RequestSpec, Silent, Target, run,
};

/// Shared state of the axum test server.
#[derive(Default)]
pub struct Stats {
    pub requests: AtomicU64,
    /// While set, `/` holds every response until it is cleared.
    pub stalled: AtomicBool,
}

/// Serves `app` on 127.0.0.1 (an ephemeral port) from a one-thread runtime of its own;
/// returns its address.
pub fn serve(app: Router) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    addr
}

/// Starts the axum server on its own runtime thread; returns its address and counters.
pub fn start_axum() -> (SocketAddr, Arc<Stats>) {
    let stats = Arc::new(Stats::default());
    let app = Router::new()
        .route("/", get(hello))
        .route("/echo", post(echo))
        .route("/status/{code}", get(status))
        .route("/chunked", get(chunked))
        .route("/sleep/{ms}", get(sleep))
        .with_state(stats.clone());
    (serve(app), stats)
}

async fn hello(State(stats): State<Arc<Stats>>) -> &'static str {
    stats.requests.fetch_add(1, Ordering::Relaxed);
    while stats.stalled.load(Ordering::Relaxed) {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    "hello world\n"
}

async fn echo(State(stats): State<Arc<Stats>>, body: String) -> String {
    stats.requests.fetch_add(1, Ordering::Relaxed);
    body
}

async fn status(State(stats): State<Arc<Stats>>, Path(code): Path<u16>) -> StatusCode {
    stats.requests.fetch_add(1, Ordering::Relaxed);
    StatusCode::from_u16(code).unwrap()
}

async fn sleep(State(stats): State<Arc<Stats>>, Path(ms): Path<u64>) -> &'static str {
    stats.requests.fetch_add(1, Ordering::Relaxed);
    tokio::time::sleep(Duration::from_millis(ms)).await;
    "slept\n"
}

/// Bytes `/chunked` sends per response: five chunks of `part N\n`.
pub const CHUNKED_BODY: u64 = 5 * 7;

async fn chunked(State(stats): State<Arc<Stats>>) -> Body {
    stats.requests.fetch_add(1, Ordering::Relaxed);
    let parts: Vec<Result<String, std::io::Error>> =
        (0..5).map(|i| Ok(format!("part {i}\n"))).collect();
    Body::from_stream(futures_util::stream::iter(parts))
}

/// A raw TCP server: `handle` gets each accepted connection on its own thread.
pub fn start_raw(handle: impl Fn(TcpStream) + Send + Sync + 'static) -> SocketAddr {
    start_raw_counted(handle).0
}

/// Like [`start_raw`], also counting the connections accepted.
pub fn start_raw_counted(
    handle: impl Fn(TcpStream) + Send + Sync + 'static,
) -> (SocketAddr, Arc<AtomicU64>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicU64::new(0));
    let counter = accepted.clone();
    let handle = Arc::new(handle);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            counter.fetch_add(1, Ordering::Relaxed);
            let handle = handle.clone();
            std::thread::spawn(move || handle(stream));
        }
    });
    (addr, accepted)
}

/// Reads one request head (up to the blank line); false on EOF or error. Bodies are not
/// read: the raw servers only get GETs.
pub fn read_request(stream: &mut TcpStream) -> bool {
    let mut seen = Vec::new();
    let mut byte = [0u8; 1];
    while !seen.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => seen.push(byte[0]),
            _ => return false,
        }
    }
    true
}

/// Answers every request on the connection with `response`.
pub fn serve_each(mut stream: TcpStream, response: &[u8]) {
    while read_request(&mut stream) {
        if stream.write_all(response).is_err() {
            return;
        }
    }
}

/// Answers one request with `response`, then closes the connection.
pub fn serve_once(mut stream: TcpStream, response: &[u8]) {
    if read_request(&mut stream) {
        let _ = stream.write_all(response);
    }
}

/// A raw server that answers every request with `response` on a kept-alive connection.
pub fn start_responder(response: &'static [u8]) -> SocketAddr {
    start_raw(move |s| serve_each(s, response))
}

/// An address on which nothing listens: port 1 (tcpmux, privileged, unused). A port taken
/// from the ephemeral range and released could be handed to the next test's server in the
/// same process, which would then answer a test that expects no answer.
pub fn dead_addr() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 1))
}

/// A server that answers at once, except for one stall: from `after` past its first request
/// for `length`, every request it reads is held until the stall ends.
pub struct StallServer {
    pub addr: SocketAddr,
    /// Requests read during the stall.
    pub in_stall: Arc<AtomicU64>,
    /// Requests read in all.
    pub requests: Arc<AtomicU64>,
}

pub fn start_stalling(after: Duration, length: Duration) -> StallServer {
    let first = Arc::new(OnceLock::<Instant>::new());
    let in_stall = Arc::new(AtomicU64::new(0));
    let requests = Arc::new(AtomicU64::new(0));
    let (stalled, total) = (in_stall.clone(), requests.clone());
    let addr = start_raw(move |mut s| {
        while read_request(&mut s) {
            total.fetch_add(1, Ordering::Relaxed);
            let now = Instant::now();
            let from = *first.get_or_init(|| now) + after;
            let until = from + length;
            if now >= from && now < until {
                stalled.fetch_add(1, Ordering::Relaxed);
                std::thread::sleep(until - now);
            }
            if s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\nhello world\n")
                .is_err()
            {
                return;
            }
        }
    });
    StallServer {
        addr,
        in_stall,
        requests,
    }
}

/// `http://{addr}{path}`.
pub fn url(addr: SocketAddr, path: &str) -> String {
    format!("http://{addr}{path}")
}

/// The I/O backend the suites run on: `PERFLOOP_TEST_IO` (`epoll`, `uring` or `auto`),
/// epoll when unset. TLS, HTTP/2 and raw TCP configs set their own target and stay on epoll.
pub fn test_io() -> IoChoice {
    match std::env::var("PERFLOOP_TEST_IO") {
        Ok(text) => IoChoice::parse(&text).unwrap(),
        Err(_) => IoChoice::Epoll,
    }
}

/// A closed-model config against `url`: 1 s, 2 threads, 5 s timeout, on [`test_io`].
pub fn closed(url: &str, connections: u32) -> LoadConfig {
    let mut target = Target::parse(url).unwrap();
    target.io = test_io();
    LoadConfig {
        request: RequestSpec {
            method: "GET".into(),
            authority: target.authority.clone(),
            path: target.path.clone(),
            headers: vec![],
            body: vec![],
            alternate_bodies: vec![],
            scenario: None,
        },
        target,
        model: Model::Closed {
            connections: Plan::Constant(f64::from(connections)),
        },
        threads: 2,
        raw: None,
        limits: Limits {
            duration: Some(Duration::from_secs(1)),
            requests: None,
            warmup: Duration::ZERO,
            timeout: Duration::from_secs(5),
        },
    }
}

/// A closed-model config that ends after `n` requests (`-n`, no duration).
pub fn closed_n(url: &str, connections: u32, n: u64) -> LoadConfig {
    let mut c = closed(url, connections);
    c.limits.duration = None;
    c.limits.requests = Some(n);
    c
}

/// An open-model config against `url`: 1 s, up to 256 connections.
pub fn open(url: &str, rate: f64) -> LoadConfig {
    let mut c = closed(url, 1);
    c.model = Model::Open {
        rate: Plan::Constant(rate),
        max_connections: 256,
    };
    c
}

/// A stop flag nobody sets.
pub fn no_stop() -> Arc<AtomicBool> {
    Arc::new(AtomicBool::new(false))
}

/// Runs `config` and sets its stop flag from another thread after `delay`, as a Ctrl-C
/// during the run would; returns the outcome and how long the run took.
pub fn run_interrupted(config: &LoadConfig, delay: Duration) -> (Outcome, Duration) {
    let stop = no_stop();
    let setter = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            std::thread::sleep(delay);
            stop.store(true, Ordering::Relaxed);
        })
    };
    let began = Instant::now();
    let outcome = run(config, stop, &mut Silent).unwrap();
    let took = began.elapsed();
    setter.join().unwrap();
    (outcome, took)
}

/// Runs `config` to its end; panics if the run cannot start, or if it did not run on the
/// backend asked for.
pub fn run_to_end(config: &LoadConfig) -> Outcome {
    let o = run(config, no_stop(), &mut Silent).unwrap();
    match config.target.io {
        IoChoice::Uring => assert_eq!(o.backend, perfloop_engine::Backend::Uring),
        IoChoice::Epoll => assert_eq!(o.backend, perfloop_engine::Backend::Epoll),
        IoChoice::Auto => {}
    }
    o
}

/// The invariants every outcome keeps, whatever the server did.
pub fn assert_consistent(o: &Outcome) {
    let c = &o.counts;
    assert_eq!(
        c.by_kind.iter().sum::<u64>(),
        c.errors,
        "errors by kind must add up: {c:?}"
    );
    let responses: u64 = c.by_status.values().sum();
    let error_responses: u64 = c
        .by_status
        .iter()
        .filter(|(s, _)| **s >= 400)
        .map(|(_, n)| *n)
        .sum();
    assert_eq!(
        responses - error_responses,
        c.ok,
        "ok must be the responses below 400: {c:?}"
    );
    assert_eq!(
        o.latency.len(),
        responses,
        "one latency per response: {c:?}"
    );
    let rows: u64 = o.timeline.iter().map(|r| r.requests).sum();
    assert_eq!(
        rows + c.drained,
        c.total(),
        "timeline rows must add up to the total: {:?}",
        o.timeline
    );
    // Errors completed during the open model's drain are in the totals only.
    let row_errors: u64 = o.timeline.iter().map(|r| r.errors).sum();
    assert!(
        row_errors == c.errors || (c.drained > 0 && row_errors < c.errors),
        "timeline errors must add up: {:?} against {c:?}",
        o.timeline
    );
    for (i, row) in o.timeline.iter().enumerate() {
        assert_eq!(
            row.t_s, i as u64,
            "one row per second, in order: {:?}",
            o.timeline
        );
    }
}

/// Latency at quantile `q` in milliseconds.
pub fn ms(o: &Outcome, q: f64) -> f64 {
    o.latency.value_at_quantile(q) as f64 / 1000.0
}

/// Peak resident set size of this process in KiB (`VmHWM`).
pub fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}
