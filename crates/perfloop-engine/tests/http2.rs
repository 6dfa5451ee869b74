//! `--http2` against real servers on 127.0.0.1: hyper's HTTP/2 server with prior knowledge
//! over TCP and behind TLS with ALPN `h2` (tokio-rustls, an rcgen certificate), each
//! counting the requests it served and the most it had in flight at once; and scripted
//! servers that refuse streams with GOAWAY, reset them, never send SETTINGS, or speak
//! only HTTP/1.1.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::convert::Infallible;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::*;
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http2;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use perfloop_engine::spec::LoadSpec;
use perfloop_engine::tls::provider;
use perfloop_engine::{
    ErrorKind, LoadConfig, Model, Plan, RunError, Silent, Target, TlsOptions, run,
};
use rustls::ServerConfig;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// What a server saw.
#[derive(Default)]
struct Seen {
    requests: AtomicU64,
    in_flight: AtomicUsize,
    most_in_flight: AtomicUsize,
    connections: AtomicU64,
}

/// A hyper HTTP/2 server answering `ok` after `delay` (so streams overlap), with at most
/// `limit` concurrent streams per connection; with `tls`, behind TLS offering `alpn`.
struct H2Server {
    addr: SocketAddr,
    seen: Arc<Seen>,
    _runtime: tokio::runtime::Runtime,
}

fn h2_server(delay: Duration, limit: u32, tls: Option<Arc<ServerConfig>>) -> H2Server {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Seen::default());
    let stats = Arc::clone(&seen);
    runtime.spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            stats.connections.fetch_add(1, Ordering::Relaxed);
            let stats = Arc::clone(&stats);
            let tls = tls.clone();
            tokio::spawn(async move {
                let service = service_fn(move |_req: hyper::Request<Incoming>| {
                    let stats = Arc::clone(&stats);
                    async move {
                        let now = stats.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                        stats.most_in_flight.fetch_max(now, Ordering::SeqCst);
                        tokio::time::sleep(delay).await;
                        stats.in_flight.fetch_sub(1, Ordering::SeqCst);
                        stats.requests.fetch_add(1, Ordering::SeqCst);
                        Ok::<_, Infallible>(hyper::Response::new(Full::new(Bytes::from_static(
                            b"ok",
                        ))))
                    }
                });
                let mut builder = http2::Builder::new(TokioExecutor::new());
                builder.max_concurrent_streams(limit);
                match tls {
                    None => {
                        let _ = builder.serve_connection(TokioIo::new(tcp), service).await;
                    }
                    Some(config) => {
                        let acceptor = tokio_rustls::TlsAcceptor::from(config);
                        if let Ok(stream) = acceptor.accept(tcp).await {
                            let _ = builder
                                .serve_connection(TokioIo::new(stream), service)
                                .await;
                        }
                    }
                }
            });
        }
    });
    H2Server {
        addr,
        seen,
        _runtime: runtime,
    }
}

/// A TLS server configuration with a self-signed certificate for 127.0.0.1, offering
/// `alpn`.
fn tls_config(alpn: &[&[u8]]) -> Arc<ServerConfig> {
    let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
    let cert: CertificateDer<'static> = certified.cert.der().clone();
    let key: PrivateKeyDer<'static> =
        PrivatePkcs8KeyDer::from(certified.key_pair.serialize_der()).into();
    let mut config = ServerConfig::builder_with_provider(Arc::new(provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .unwrap();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Arc::new(config)
}

/// `--http2 --streams N` on the config (HTTP/2 runs on epoll, whatever `PERFLOOP_TEST_IO`).
fn http2(mut config: LoadConfig, streams: usize) -> LoadConfig {
    config.target.http2 = Some(streams);
    config.target.io = perfloop_engine::IoChoice::Auto;
    config
}

/// `https://127.0.0.1:PORT/` with `--insecure --http2` (ALPN h2), closed, `n` requests.
fn https_h2(addr: SocketAddr, connections: u32, streams: usize, n: u64) -> LoadConfig {
    let url = format!("https://{addr}/");
    let mut config = closed_n(&url, connections, n);
    let options = TlsOptions {
        insecure: true,
        alpn: vec![b"h2".to_vec()],
        ..TlsOptions::default()
    };
    config.target = Target::parse_with(&url, &options).unwrap();
    http2(config, streams)
}

/// Runs `config` (`n` requests); each is answered, as the server counts too.
fn all_answered(config: &LoadConfig, n: u64, seen: &Seen) -> perfloop_engine::Outcome {
    let o = run(config, no_stop(), &mut Silent).unwrap();
    assert_consistent(&o);
    assert_eq!((o.counts.ok, o.counts.errors), (n, 0), "{:?}", o.counts);
    assert_eq!(seen.requests.load(Ordering::SeqCst), n);
    o
}

#[test]
fn closed_model_keeps_connections_times_streams_in_flight() {
    let server = h2_server(Duration::from_millis(5), 100, None);
    let config = http2(closed_n(&url(server.addr, "/"), 2, 600), 4);
    let o = all_answered(&config, 600, &server.seen);
    // Two connections (and the one before the run that checks the server speaks HTTP/2).
    assert_eq!(o.counts.connections, 2);
    assert_eq!(server.seen.connections.load(Ordering::SeqCst), 3);
    assert_eq!(server.seen.most_in_flight.load(Ordering::SeqCst), 8);
}

#[test]
fn the_servers_stream_limit_is_obeyed() {
    let server = h2_server(Duration::from_millis(5), 3, None);
    let config = http2(closed_n(&url(server.addr, "/"), 1, 200), 10);
    all_answered(&config, 200, &server.seen);
    assert_eq!(server.seen.most_in_flight.load(Ordering::SeqCst), 3);
}

#[test]
fn open_model_sends_its_arrivals_on_the_streams_of_few_connections() {
    let server = h2_server(Duration::from_millis(20), 100, None);
    let mut config = http2(open(&url(server.addr, "/"), 500.0), 16);
    config.threads = 1;
    let o = run(&config, no_stop(), &mut Silent).unwrap();
    assert_consistent(&o);
    assert_eq!(o.counts.errors, 0, "{:?}", o.counts);
    assert!(o.counts.ok >= 450, "{:?}", o.counts);
    assert_eq!(
        o.counts.total(),
        server.seen.requests.load(Ordering::SeqCst)
    );
    // About 10 requests in flight at 500/s × 20 ms: one connection's 16 streams hold them
    // (HTTP/1.1 would need 10 connections); a second may open if the server stalls.
    assert!(o.counts.connections <= 2, "{:?}", o.counts);
    let most = server.seen.most_in_flight.load(Ordering::SeqCst);
    assert!((2..=16).contains(&most), "{most} in flight at most");
}

#[test]
fn open_model_opens_more_connections_when_streams_run_out() {
    let server = h2_server(Duration::from_millis(50), 100, None);
    let mut config = http2(open(&url(server.addr, "/"), 400.0), 2);
    config.threads = 1;
    let o = run(&config, no_stop(), &mut Silent).unwrap();
    assert_consistent(&o);
    assert_eq!(o.counts.errors, 0, "{:?}", o.counts);
    assert_eq!(
        o.counts.total(),
        server.seen.requests.load(Ordering::SeqCst)
    );
    // About 20 in flight at 400/s × 50 ms, 2 per connection.
    assert!(o.counts.connections >= 8, "{:?}", o.counts);
}

#[test]
fn https_negotiates_h2_by_alpn() {
    let server = h2_server(
        Duration::from_millis(2),
        100,
        Some(tls_config(&[b"h2", b"http/1.1"])),
    );
    let o = all_answered(&https_h2(server.addr, 2, 5, 300), 300, &server.seen);
    assert_eq!(server.seen.most_in_flight.load(Ordering::SeqCst), 10);
    assert_eq!(o.tls.as_ref().and_then(|t| t.alpn.as_deref()), Some("h2"));
}

#[test]
fn the_flags_reach_the_run_through_the_spec() {
    let server = h2_server(Duration::from_millis(5), 100, None);
    let mut spec = LoadSpec::new(url(server.addr, "/"));
    spec.request.http2 = true;
    spec.request.streams = Some(3);
    spec.connections = Some(2);
    spec.requests = Some(300);
    let resolved = spec.resolve().unwrap();
    assert_eq!(resolved.config.target.http2, Some(3));
    all_answered(&resolved.config, 300, &server.seen);
    assert_eq!(server.seen.most_in_flight.load(Ordering::SeqCst), 6);

    // --streams needs --http2; 0 streams is refused.
    let mut spec = LoadSpec::new(url(server.addr, "/"));
    spec.request.streams = Some(4);
    let e = spec.resolve().err().unwrap().to_string();
    assert!(e.contains("--streams 4 needs --http2"), "{e}");
    spec.request.http2 = true;
    spec.request.streams = Some(0);
    let e = spec.resolve().err().unwrap().to_string();
    assert!(e.contains("--streams 0"), "{e}");
}

#[test]
fn a_server_that_speaks_only_http1_is_refused_before_the_run() {
    // Prior knowledge over TCP: the server answers the preface in HTTP/1.1.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for mut sock in listener.incoming().flatten() {
            let mut buf = [0u8; 1024];
            let _ = sock.read(&mut buf);
            let _ = sock.write_all(
                b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
        }
    });
    let config = http2(closed_n(&url(addr, "/"), 1, 10), 4);
    match run(&config, no_stop(), &mut Silent) {
        Err(RunError::Config(e)) => {
            assert!(e.to_string().contains("HTTP/2"), "{e}");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }

    // Over TLS: the server's ALPN offers only http/1.1.
    let server = h2_server(Duration::ZERO, 100, Some(tls_config(&[b"http/1.1"])));
    match run(&https_h2(server.addr, 1, 4, 10), no_stop(), &mut Silent) {
        Err(RunError::Config(e)) => {
            assert!(e.to_string().contains("HTTP/2"), "{e}");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(server.seen.requests.load(Ordering::SeqCst), 0);
}

// ---- scripted servers ----------------------------------------------------------------------

const SETTINGS: u8 = 0x4;
const HEADERS: u8 = 0x1;
const RST_STREAM: u8 = 0x3;
const GOAWAY: u8 = 0x7;

fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = payload.len() as u32;
    let mut f = vec![(len >> 16) as u8, (len >> 8) as u8, len as u8, kind, flags];
    f.extend_from_slice(&stream.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// What a scripted server does with each request's HEADERS.
#[derive(Clone, Copy)]
enum Script {
    /// GOAWAY naming no stream processed (the request is refused), then close.
    GoAway,
    /// RST_STREAM with INTERNAL_ERROR; the connection goes on.
    Reset,
    /// Never send SETTINGS (nor anything else).
    Silent,
}

/// A raw HTTP/2 server playing `script`; counts the requests (HEADERS frames) it saw.
fn scripted(script: Script) -> (SocketAddr, Arc<Seen>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Seen::default());
    let stats = Arc::clone(&seen);
    std::thread::spawn(move || {
        for sock in listener.incoming().flatten() {
            let stats = Arc::clone(&stats);
            std::thread::spawn(move || play(sock, script, &stats));
        }
    });
    (addr, seen)
}

fn play(mut sock: TcpStream, script: Script, seen: &Seen) {
    seen.connections.fetch_add(1, Ordering::SeqCst);
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut preface = [0u8; 24];
    if sock.read_exact(&mut preface).is_err() {
        return;
    }
    if !matches!(script, Script::Silent) && sock.write_all(&frame(SETTINGS, 0, 0, &[])).is_err() {
        return;
    }
    loop {
        let mut head = [0u8; 9];
        if sock.read_exact(&mut head).is_err() {
            return;
        }
        let len = usize::from(head[0]) << 16 | usize::from(head[1]) << 8 | usize::from(head[2]);
        let mut payload = vec![0u8; len];
        if sock.read_exact(&mut payload).is_err() {
            return;
        }
        let stream = u32::from_be_bytes([head[5], head[6], head[7], head[8]]) & 0x7fff_ffff;
        if head[3] != HEADERS {
            continue;
        }
        seen.requests.fetch_add(1, Ordering::SeqCst);
        let reply = match script {
            Script::GoAway => {
                let mut p = 0u32.to_be_bytes().to_vec();
                p.extend_from_slice(&0u32.to_be_bytes());
                frame(GOAWAY, 0, 0, &p)
            }
            Script::Reset => frame(RST_STREAM, 0, stream, &2u32.to_be_bytes()),
            Script::Silent => continue,
        };
        if sock.write_all(&reply).is_err() {
            return;
        }
        if matches!(script, Script::GoAway) {
            // Wait for the client to close.
            let mut rest = [0u8; 1024];
            while matches!(sock.read(&mut rest), Ok(n) if n > 0) {}
            return;
        }
    }
}

#[test]
fn streams_refused_by_goaway_are_counted_as_their_own_kind() {
    let (addr, seen) = scripted(Script::GoAway);
    let config = http2(closed_n(&url(addr, "/"), 1, 20), 1);
    let o = run(&config, no_stop(), &mut Silent).unwrap();
    assert_consistent(&o);
    assert_eq!(o.counts.errors_of(ErrorKind::GoAway), 20, "{:?}", o.counts);
    assert_eq!(o.counts.total(), 20);
    assert_eq!(seen.requests.load(Ordering::SeqCst), 20);
}

#[test]
fn streams_reset_by_the_server_are_counted_as_their_own_kind() {
    let (addr, seen) = scripted(Script::Reset);
    let config = http2(closed_n(&url(addr, "/"), 2, 100), 5);
    let o = run(&config, no_stop(), &mut Silent).unwrap();
    assert_consistent(&o);
    assert_eq!(
        o.counts.errors_of(ErrorKind::StreamReset),
        100,
        "{:?}",
        o.counts
    );
    assert_eq!(o.counts.total(), 100);
    assert_eq!(seen.requests.load(Ordering::SeqCst), 100);
    // Resets end streams, not the connections.
    assert_eq!(o.counts.connections, 2);
}

#[test]
fn a_server_that_never_sends_settings_costs_one_timeout_per_attempt() {
    let (addr, seen) = scripted(Script::Silent);
    let mut config = http2(closed(&url(addr, "/"), 1), 4);
    config.threads = 1;
    config.limits.timeout = Duration::from_millis(200);
    config.model = Model::Closed {
        connections: Plan::Constant(1.0),
    };
    let t0 = Instant::now();
    let o = run(&config, no_stop(), &mut Silent).unwrap();
    let took = t0.elapsed();
    assert_consistent(&o);
    // One second's window, 200 ms per attempt (plus back-off): a handful, all timeouts.
    let timeouts = o.counts.errors_of(ErrorKind::Timeout);
    assert!((2..=5).contains(&timeouts), "{:?}", o.counts);
    assert_eq!(o.counts.errors, timeouts);
    assert_eq!(seen.requests.load(Ordering::SeqCst), 0);
    assert!(took < Duration::from_millis(1_600), "took {took:?}");
}
