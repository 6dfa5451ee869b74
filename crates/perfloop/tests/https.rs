//! `perfloop load https://...` end to end: a rustls server thread on the address
//! `localhost` resolves to, with a certificate made by `rcgen`, and the binary as a child
//! process: a refused certificate exits 2 before any load, a trusted one is measured with
//! its TLS handshake in the report and the JSON.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use assert_cmd::Command;
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::{ServerConfig, ServerConnection};

/// An HTTPS server for `localhost` answering `ok`; returns its address, the PEM file of
/// its certificate and the requests it answered.
fn start() -> (SocketAddr, PathBuf, Arc<AtomicU64>) {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let dir = std::env::temp_dir().join(format!("perfloop-https-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let pem = dir.join("server.pem");
    std::fs::write(&pem, certified.cert.pem()).unwrap();
    let key: PrivateKeyDer<'static> =
        PrivatePkcs8KeyDer::from(certified.key_pair.serialize_der()).into();
    let mut config = ServerConfig::builder_with_provider(Arc::new(perfloop_engine_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![certified.cert.der().clone()], key)
        .unwrap();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let config = Arc::new(config);
    let ip = ("localhost", 0)
        .to_socket_addrs()
        .unwrap()
        .next()
        .unwrap()
        .ip();
    let listener = TcpListener::bind((ip, 0)).unwrap();
    let addr = listener.local_addr().unwrap();
    let answered = Arc::new(AtomicU64::new(0));
    let count = answered.clone();
    std::thread::spawn(move || {
        for sock in listener.incoming().flatten() {
            let (config, count) = (config.clone(), count.clone());
            std::thread::spawn(move || serve(sock, config, &count));
        }
    });
    (addr, pem, answered)
}

/// The provider perfloop's client uses, so the test server speaks what it speaks.
#[allow(deprecated)]
fn perfloop_engine_provider() -> rustls::crypto::CryptoProvider {
    rustls::crypto::ring::default_provider()
}

fn serve(mut sock: TcpStream, config: Arc<ServerConfig>, answered: &AtomicU64) {
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut conn = ServerConnection::new(config).unwrap();
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
        answered.fetch_add(1, Ordering::Relaxed);
        let close = String::from_utf8_lossy(&head)
            .to_ascii_lowercase()
            .contains("connection: close");
        let response: &[u8] = if close {
            b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n"
        } else {
            b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n"
        };
        if tls.write_all(response).and_then(|()| tls.flush()).is_err() || close {
            return;
        }
    }
}

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::cargo_bin("perfloop")
        .unwrap()
        .env(
            "PERFLOOP_DB",
            concat!(env!("CARGO_TARGET_TMPDIR"), "/history.db"),
        )
        .args(args)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_refused_certificate_exits_2_before_any_load_and_a_trusted_one_is_measured() {
    let (addr, pem, answered) = start();
    let url = format!("https://localhost:{}/", addr.port());

    let (code, _, err) = run(&["load", &url, "-n", "20", "-c", "2", "-q"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("certificate") && err.contains("--cacert"),
        "{err}"
    );
    assert_eq!(answered.load(Ordering::Relaxed), 0);

    let pem = pem.to_str().unwrap();
    let json = std::env::temp_dir().join(format!("perfloop-https-cli-{}.json", std::process::id()));
    let json_path = json.to_str().unwrap();
    let (code, out, err) = run(&[
        "load", &url, "-n", "20", "-c", "2", "-t", "1", "--cacert", pem, "--json", json_path,
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("ALPN http/1.1"), "{out}");
    assert!(out.contains("tls handshake"), "{out}");
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(record["requests"]["ok"], 20);
    assert_eq!(record["phases_ms"]["tls_handshake"]["count"], 2);
    assert_eq!(record["phases_ms"]["first_byte"]["count"], 20);
    assert_eq!(record["tls"]["alpn"], "http/1.1");

    // A handshake per request, to measure its cost on its own.
    let (code, _, err) = run(&[
        "load",
        &url,
        "-n",
        "20",
        "-c",
        "2",
        "-t",
        "1",
        "--insecure",
        "--no-keepalive",
        "--json",
        json_path,
        "-q",
    ]);
    assert_eq!(code, 0, "{err}");
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(record["requests"]["ok"], 20);
    assert_eq!(record["requests"]["connections"], 20);
    assert_eq!(record["phases_ms"]["tls_handshake"]["count"], 20);
}
