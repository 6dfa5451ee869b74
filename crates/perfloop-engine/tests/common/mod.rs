//! Servers for the engine's tests: a well-behaved axum server and raw-TCP hostile ones,
//! all on 127.0.0.1 with an ephemeral port, in process.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use perfloop_engine::{Limits, LoadConfig, Model, Plan, RequestSpec, Target};

/// Shared state of the axum test server.
#[derive(Default)]
pub struct Stats {
    pub requests: AtomicU64,
    /// While set, `/` holds every response until it is cleared.
    pub stalled: AtomicBool,
}

/// Starts the axum server on its own runtime thread; returns its address and counters.
pub fn start_axum() -> (SocketAddr, Arc<Stats>) {
    let stats = Arc::new(Stats::default());
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    let state = stats.clone();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let app = Router::new()
                .route("/", get(hello))
                .route("/echo", post(echo))
                .route("/status/{code}", get(status))
                .route("/chunked", get(chunked))
                .route("/sleep/{ms}", get(sleep))
                .with_state(state);
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    (addr, stats)
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

async fn chunked(State(stats): State<Arc<Stats>>) -> Body {
    stats.requests.fetch_add(1, Ordering::Relaxed);
    let parts: Vec<Result<String, std::io::Error>> = (0..5).map(|i| Ok(format!("part {i}\n"))).collect();
    Body::from_stream(futures_util::stream::iter(parts))
}

/// A raw TCP server: `handle` gets each accepted connection on its own thread.
pub fn start_raw(handle: fn(TcpStream)) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || handle(stream));
        }
    });
    addr
}

/// Reads one request head (up to the blank line); false on EOF.
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

/// A closed-model config against `url`.
pub fn closed(url: &str, connections: u32) -> LoadConfig {
    let target = Target::parse(url).unwrap();
    LoadConfig {
        request: RequestSpec {
            method: "GET".into(),
            authority: target.authority.clone(),
            path: target.path.clone(),
            headers: vec![],
            body: vec![],
        },
        target,
        model: Model::Closed { connections: Plan::Constant(f64::from(connections)) },
        threads: 2,
        limits: Limits {
            duration: Some(Duration::from_secs(1)),
            requests: None,
            warmup: Duration::ZERO,
            timeout: Duration::from_secs(5),
        },
    }
}

/// An open-model config against `url`.
pub fn open(url: &str, rate: f64) -> LoadConfig {
    let mut c = closed(url, 1);
    c.model = Model::Open { rate: Plan::Constant(rate), max_connections: 256 };
    c
}
