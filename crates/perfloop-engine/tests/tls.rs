//! HTTPS against real TLS servers in process: a rustls server thread on a loopback address
//! with certificates made by `rcgen` for each test. Certificates are checked (or refused
//! before the run), the client presents its own when asked, SNI and ALPN reach the server,
//! each connection's connect and handshake and each response's time to first byte are
//! measured, and a server that stalls the handshake costs one timeout per attempt.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use perfloop_engine::spec::LoadSpec;
use perfloop_engine::tls::provider;
use perfloop_engine::{
    ConfigError, Ending, ErrorKind, LoadConfig, Outcome, RunError, Silent, Target, TlsOptions, run,
};
use rcgen::{BasicConstraints, CertificateParams, CertifiedKey, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig, ServerConnection};

/// What the TLS server saw.
#[derive(Default)]
struct Seen {
    handshakes: AtomicU64,
    requests: AtomicU64,
    sni: Mutex<Option<String>>,
    alpn: Mutex<Option<Vec<u8>>>,
    client_certs: AtomicU64,
}

/// A certificate and its key, also written as PEM files.
struct Identity {
    cert: CertificateDer<'static>,
    key: PrivateKeyDer<'static>,
    cert_file: PathBuf,
    key_file: PathBuf,
}

/// A fresh directory for one test's files.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("perfloop-tls-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn identity(dir: &Path, name: &str, certified: &CertifiedKey) -> Identity {
    let cert_file = dir.join(format!("{name}.pem"));
    let key_file = dir.join(format!("{name}.key"));
    std::fs::write(&cert_file, certified.cert.pem()).unwrap();
    std::fs::write(&key_file, certified.key_pair.serialize_pem()).unwrap();
    Identity {
        cert: certified.cert.der().clone(),
        key: PrivatePkcs8KeyDer::from(certified.key_pair.serialize_der()).into(),
        cert_file,
        key_file,
    }
}

/// A self-signed server certificate for `names`.
fn self_signed(dir: &Path, names: &[&str]) -> Identity {
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    identity(
        dir,
        "server",
        &rcgen::generate_simple_self_signed(names).unwrap(),
    )
}

/// A CA and a client certificate it signed: (CA, client).
fn client_ca(dir: &Path) -> (Identity, Identity) {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_key = KeyPair::generate().unwrap();
    let ca_cert = params.self_signed(&ca_key).unwrap();
    let client_key = KeyPair::generate().unwrap();
    let client_cert = CertificateParams::new(vec!["client".to_string()])
        .unwrap()
        .signed_by(&client_key, &ca_cert, &ca_key)
        .unwrap();
    let ca = identity(
        dir,
        "ca",
        &CertifiedKey {
            cert: ca_cert,
            key_pair: ca_key,
        },
    );
    let client = identity(
        dir,
        "client",
        &CertifiedKey {
            cert: client_cert,
            key_pair: client_key,
        },
    );
    (ca, client)
}

/// The address `localhost` resolves to first: the engine connects there, so the server
/// listens there, and the URL can carry a name for SNI.
fn localhost() -> std::net::IpAddr {
    ("localhost", 0)
        .to_socket_addrs()
        .unwrap()
        .next()
        .unwrap()
        .ip()
}

/// An HTTPS server answering `ok` to every request on the connection, closing after one
/// that asks for it; with `client_ca`, it requires a client certificate signed by it.
fn start_tls(server: &Identity, client_ca: Option<&Identity>) -> (SocketAddr, Arc<Seen>) {
    let provider = Arc::new(provider());
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap();
    let builder = match client_ca {
        None => builder.with_no_client_auth(),
        Some(ca) => {
            let mut roots = RootCertStore::empty();
            roots.add(ca.cert.clone()).unwrap();
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .unwrap();
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config = builder
        .with_single_cert(vec![server.cert.clone()], server.key.clone_key())
        .unwrap();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let config = Arc::new(config);
    let listener = TcpListener::bind((localhost(), 0)).unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Seen::default());
    let stats = seen.clone();
    std::thread::spawn(move || {
        for sock in listener.incoming().flatten() {
            let (config, seen) = (config.clone(), stats.clone());
            std::thread::spawn(move || serve_tls(sock, config, &seen));
        }
    });
    (addr, seen)
}

fn serve_tls(mut sock: TcpStream, config: Arc<ServerConfig>, seen: &Seen) {
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let Ok(mut conn) = ServerConnection::new(config) else {
        return;
    };
    while conn.is_handshaking() {
        if conn.complete_io(&mut sock).is_err() {
            return;
        }
    }
    seen.handshakes.fetch_add(1, Ordering::Relaxed);
    *seen.sni.lock().unwrap() = conn.server_name().map(str::to_string);
    *seen.alpn.lock().unwrap() = conn.alpn_protocol().map(<[u8]>::to_vec);
    if conn.peer_certificates().is_some_and(|c| !c.is_empty()) {
        seen.client_certs.fetch_add(1, Ordering::Relaxed);
    }
    let mut tls = rustls::Stream::new(&mut conn, &mut sock);
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    loop {
        head.clear();
        while !head.ends_with(b"\r\n\r\n") {
            match tls.read(&mut byte) {
                Ok(1) => head.push(byte[0]),
                _ => return,
            }
        }
        seen.requests.fetch_add(1, Ordering::Relaxed);
        let close = String::from_utf8_lossy(&head)
            .to_ascii_lowercase()
            .contains("connection: close");
        let response: &[u8] = if close {
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
        } else {
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
        };
        if tls.write_all(response).and_then(|()| tls.flush()).is_err() {
            return;
        }
        if close {
            tls.conn.send_close_notify();
            let _ = tls.flush();
            return;
        }
    }
}

/// `-n requests` on `connections` connections to `https://{host}:{port}/` with `options`.
fn https(
    host: &str,
    addr: SocketAddr,
    options: &TlsOptions,
    connections: u32,
    n: u64,
) -> LoadConfig {
    let url = format!("https://{host}:{}/", addr.port());
    let mut config = closed_n(&url, connections, n);
    config.target = Target::parse_with(&url, options).unwrap();
    config
}

fn trusting(identity: &Identity) -> TlsOptions {
    TlsOptions {
        cacert: Some(identity.cert_file.clone()),
        ..TlsOptions::default()
    }
}

/// The error of a run refused before it started.
fn refused(config: &LoadConfig) -> String {
    match run(config, no_stop(), &mut Silent) {
        Err(RunError::Config(e @ ConfigError::Tls(_))) => e.to_string(),
        other => panic!("expected a TLS refusal, got {other:?}"),
    }
}

#[test]
fn https_with_a_trusted_ca_answers_every_request_and_splits_its_time() {
    let dir = scratch("trusted");
    let server = self_signed(&dir, &["localhost"]);
    let (addr, seen) = start_tls(&server, None);
    let o = run_to_end(&https("localhost", addr, &trusting(&server), 2, 200));
    assert_consistent(&o);
    assert_eq!((o.counts.ok, o.counts.errors), (200, 0), "{:?}", o.counts);
    assert_eq!(seen.requests.load(Ordering::Relaxed), 200);
    // Keep-alive: two connections, each with one handshake (and one before the run).
    assert_eq!(o.counts.connections, 2);
    assert_eq!(seen.handshakes.load(Ordering::Relaxed), 3);
    assert_eq!(o.phases.connect.len(), 2);
    assert_eq!(o.phases.handshake.len(), 2);
    assert_eq!(o.phases.ttfb.len(), 200);
    // The split is inside the latency: no response came before its first byte.
    assert!(o.phases.ttfb.max() <= o.latency.max() + 1);
    assert!(o.phases.handshake.min() >= 1);
    // SNI carried the URL's host name; ALPN chose HTTP/1.1 among the server's two.
    assert_eq!(seen.sni.lock().unwrap().as_deref(), Some("localhost"));
    assert_eq!(seen.alpn.lock().unwrap().as_deref(), Some(&b"http/1.1"[..]));
    let tls = o
        .tls
        .as_ref()
        .expect("the handshake before the run is described");
    assert_eq!(tls.alpn.as_deref(), Some("http/1.1"));
    assert!(tls.version.contains("TLS"), "{tls:?}");
}

#[test]
fn a_self_signed_certificate_stops_the_run_before_it_starts() {
    let dir = scratch("selfsigned");
    let server = self_signed(&dir, &["localhost"]);
    let (addr, seen) = start_tls(&server, None);
    let e = refused(&https("localhost", addr, &TlsOptions::default(), 2, 50));
    assert!(e.contains("certificate") && e.contains("--insecure"), "{e}");
    assert!(
        e.contains(&format!("https://localhost:{}/", addr.port())),
        "{e}"
    );
    assert_eq!(seen.requests.load(Ordering::Relaxed), 0);
}

/// A self-signed server certificate that is also a CA, as `openssl req -x509` makes by
/// default.
fn self_signed_ca(dir: &Path, name: &str, hosts: &[&str]) -> Identity {
    let hosts: Vec<String> = hosts.iter().map(|n| n.to_string()).collect();
    let mut params = CertificateParams::new(hosts).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let key_pair = KeyPair::generate().unwrap();
    let cert = params.self_signed(&key_pair).unwrap();
    identity(dir, name, &CertifiedKey { cert, key_pair })
}

#[test]
fn a_self_signed_ca_certificate_given_with_cacert_is_trusted_for_its_names() {
    let dir = scratch("pinned");
    let server = self_signed_ca(&dir, "server", &["localhost"]);
    let (addr, seen) = start_tls(&server, None);
    let o = run_to_end(&https("localhost", addr, &trusting(&server), 2, 50));
    assert_eq!((o.counts.ok, o.counts.errors), (50, 0), "{:?}", o.counts);
    assert_eq!(seen.requests.load(Ordering::Relaxed), 50);
    // Another such certificate in --cacert does not vouch for it.
    let other = self_signed_ca(&dir, "other", &["localhost"]);
    let e = refused(&https("localhost", addr, &trusting(&other), 2, 50));
    assert!(e.contains("UnknownIssuer") && e.contains("--cacert"), "{e}");
    // Nor is it trusted for a name it does not carry.
    let elsewhere = self_signed_ca(&dir, "elsewhere", &["other.example"]);
    let (addr, _) = start_tls(&elsewhere, None);
    let e = refused(&https("localhost", addr, &trusting(&elsewhere), 2, 50));
    assert!(e.contains("NotValidForName"), "{e}");
}

#[test]
fn a_certificate_for_another_host_is_refused() {
    let dir = scratch("otherhost");
    let server = self_signed(&dir, &["other.example"]);
    let (addr, seen) = start_tls(&server, None);
    let e = refused(&https("localhost", addr, &trusting(&server), 2, 50));
    assert!(e.contains("certificate"), "{e}");
    assert_eq!(seen.requests.load(Ordering::Relaxed), 0);
}

#[test]
fn insecure_accepts_any_certificate() {
    let dir = scratch("insecure");
    let server = self_signed(&dir, &["other.example"]);
    let (addr, seen) = start_tls(&server, None);
    let insecure = TlsOptions {
        insecure: true,
        ..TlsOptions::default()
    };
    let host = localhost().to_string();
    let host = if host.contains(':') {
        format!("[{host}]")
    } else {
        host
    };
    let o = run_to_end(&https(&host, addr, &insecure, 2, 50));
    assert_eq!((o.counts.ok, o.counts.errors), (50, 0), "{:?}", o.counts);
    // An address literal is not sent as SNI (RFC 6066).
    assert_eq!(*seen.sni.lock().unwrap(), None);
}

#[test]
fn a_client_certificate_is_presented_when_the_server_requires_one() {
    let dir = scratch("mtls");
    let server = self_signed(&dir, &["localhost"]);
    let (ca, client) = client_ca(&dir);
    let (addr, seen) = start_tls(&server, Some(&ca));
    let with_cert = TlsOptions {
        cert: Some(client.cert_file.clone()),
        key: Some(client.key_file),
        ..trusting(&server)
    };
    let o = run_to_end(&https("localhost", addr, &with_cert, 2, 40));
    assert_eq!((o.counts.ok, o.counts.errors), (40, 0), "{:?}", o.counts);
    assert_eq!(seen.client_certs.load(Ordering::Relaxed), 3);

    // Without one, the server's refusal stops the run before it starts.
    let e = refused(&https("localhost", addr, &trusting(&server), 2, 40));
    assert!(e.contains("--cert"), "{e}");
    assert_eq!(seen.requests.load(Ordering::Relaxed), 40);
}

#[test]
fn no_keepalive_opens_a_connection_and_a_handshake_per_request() {
    let dir = scratch("nokeepalive");
    let server = self_signed(&dir, &["localhost"]);
    let (addr, seen) = start_tls(&server, None);
    // As `perfloop load --no-keepalive` resolves it.
    let mut spec = LoadSpec::new(format!("https://localhost:{}/", addr.port()));
    spec.request.tls = trusting(&server);
    spec.request.keepalive = false;
    spec.request.threads = Some(2);
    spec.connections = Some(2);
    spec.requests = Some(60);
    let config = spec.resolve().unwrap().config;
    assert!(config.request.closes_each());
    let o = run_to_end(&config);
    assert_consistent(&o);
    assert_eq!((o.counts.ok, o.counts.errors), (60, 0), "{:?}", o.counts);
    assert_eq!(o.counts.connections, 60);
    assert_eq!(o.phases.handshake.len(), 60);
    assert_eq!(o.phases.connect.len(), 60);
    assert_eq!(seen.handshakes.load(Ordering::Relaxed), 61);
}

#[test]
fn plain_http_has_no_handshake_to_report() {
    let (addr, _) = start_axum();
    let o = run_to_end(&closed_n(&url(addr, "/"), 2, 100));
    assert_eq!(o.counts.ok, 100);
    assert_eq!(o.phases.handshake.len(), 0);
    assert_eq!(o.phases.connect.len(), 2);
    assert_eq!(o.phases.ttfb.len(), 100);
    assert!(o.tls.is_none());
}

#[test]
fn a_server_that_does_not_speak_tls_is_refused_with_a_hint() {
    let (addr, _) = start_axum();
    let url = format!("https://{addr}/");
    let mut config = closed_n(&url, 2, 10);
    config.target = Target::parse_with(
        &url,
        &TlsOptions {
            insecure: true,
            ..TlsOptions::default()
        },
    )
    .unwrap();
    let e = refused(&config);
    assert!(e.contains("speak TLS"), "{e}");
}

#[test]
fn a_stalled_handshake_costs_one_timeout_per_attempt_and_never_hangs_the_run() {
    // Accepts and reads the client's hello, then says nothing until the client gives up.
    let (addr, accepted) = start_raw_counted(|mut s| {
        let mut buf = [0u8; 4096];
        while matches!(s.read(&mut buf), Ok(n) if n > 0) {}
    });
    let url = format!("https://{addr}/");
    let mut config = closed(&url, 2);
    config.target = Target::parse_with(
        &url,
        &TlsOptions {
            insecure: true,
            ..TlsOptions::default()
        },
    )
    .unwrap();
    config.limits.timeout = Duration::from_millis(300);
    let t0 = Instant::now();
    let o: Outcome = run_to_end(&config);
    let took = t0.elapsed();
    assert_consistent(&o);
    // The handshake before the run (one timeout), the 1 s window, then at most a timeout.
    assert!(took < Duration::from_millis(2500), "took {took:?}");
    assert_eq!(o.ending, Ending::Completed, "reachable, so not unreachable");
    assert_eq!(o.counts.ok, 0);
    assert!(
        o.counts.errors_of(ErrorKind::Timeout) >= 2,
        "{:?}",
        o.counts
    );
    assert_eq!(o.counts.errors, o.counts.errors_of(ErrorKind::Timeout));
    // Every attempt is a connection the server accepted (and the one before the run).
    assert!(
        accepted.load(Ordering::Relaxed) > o.counts.errors,
        "{:?}",
        o.counts
    );
    assert_eq!(o.phases.handshake.len(), 0);
}

#[test]
fn tls_options_need_an_https_url_and_readable_files() {
    let insecure = TlsOptions {
        insecure: true,
        ..TlsOptions::default()
    };
    let e = Target::parse_with("http://127.0.0.1:9/", &insecure).unwrap_err();
    assert!(e.to_string().contains("https://"), "{e}");
    let missing = TlsOptions {
        cacert: Some("/nonexistent/ca.pem".into()),
        ..TlsOptions::default()
    };
    let e = Target::parse_with("https://127.0.0.1:9/", &missing).unwrap_err();
    assert!(e.to_string().contains("/nonexistent/ca.pem"), "{e}");
    let dir = scratch("badfiles");
    let not_pem = dir.join("not.pem");
    std::fs::write(&not_pem, "hello").unwrap();
    let e = Target::parse_with(
        "https://127.0.0.1:9/",
        &TlsOptions {
            cacert: Some(not_pem.clone()),
            ..TlsOptions::default()
        },
    )
    .unwrap_err();
    assert!(e.to_string().contains("no certificate"), "{e}");
    let server = self_signed(&dir, &["localhost"]);
    let e = Target::parse_with(
        "https://127.0.0.1:9/",
        &TlsOptions {
            cert: Some(server.cert_file),
            key: Some(not_pem),
            ..TlsOptions::default()
        },
    )
    .unwrap_err();
    assert!(e.to_string().contains("private key"), "{e}");
}

#[test]
fn the_open_model_sends_its_schedule_over_tls() {
    let dir = scratch("open");
    let server = self_signed(&dir, &["localhost"]);
    let (addr, seen) = start_tls(&server, None);
    let url = format!("https://localhost:{}/", addr.port());
    let mut config = open(&url, 200.0);
    config.target = Target::parse_with(&url, &trusting(&server)).unwrap();
    let o = run_to_end(&config);
    assert_consistent(&o);
    assert_eq!(o.ending, Ending::Completed);
    // 200 arrivals in the 1 s window, each answered.
    assert!((195..=205).contains(&o.counts.ok), "{:?}", o.counts);
    assert_eq!(o.counts.errors, 0, "{:?}", o.counts);
    assert_eq!(seen.requests.load(Ordering::Relaxed), o.counts.ok);
    // Every connection opened in the window paid one handshake, and was counted.
    assert_eq!(o.phases.handshake.len(), o.counts.connections);
    assert_eq!(o.phases.ttfb.len(), o.counts.ok);
}
