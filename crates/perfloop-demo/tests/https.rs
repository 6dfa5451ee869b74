//! The service over HTTPS, started in process on 127.0.0.1 (port 0) with a certificate
//! generated for the run: a client that trusts the written PEM gets its answers, a client
//! that trusts nothing else refuses the certificate.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::net::SocketAddr;
use std::sync::Arc;

use perfloop_demo::{Dataset, Engine, Knobs, Metrics, SelfSigned, serve_tls};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio_rustls::TlsConnector;

#[allow(deprecated)]
fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A client that trusts only `roots`.
fn client(roots: RootCertStore) -> TlsConnector {
    let mut config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    TlsConnector::from(Arc::new(config))
}

/// `GET path` over TLS to `addr`, the server named `name`: the ALPN protocol, the status
/// line and the body.
async fn get(
    connector: &TlsConnector,
    addr: SocketAddr,
    name: &str,
    path: &str,
) -> std::io::Result<(Option<Vec<u8>>, String, String)> {
    let tcp = TcpStream::connect(addr).await?;
    let name = ServerName::try_from(name.to_owned()).unwrap();
    let mut tls = connector.connect(name, tcp).await?;
    let alpn = tls.get_ref().1.alpn_protocol().map(<[u8]>::to_vec);
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    tls.write_all(request.as_bytes()).await?;
    let mut raw = Vec::new();
    tls.read_to_end(&mut raw).await?;
    let text = String::from_utf8(raw).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let status = head.lines().next().unwrap().to_owned();
    Ok((alpn, status, body.to_owned()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_with_the_generated_certificate() {
    let data = Arc::new(Dataset::generate(2_000, 7));
    let knobs = Knobs {
        workers: 2,
        batch_size: 2,
        pool_size: 2,
        cache_size: 100,
    };
    let engine = Arc::new(Engine::start(data, knobs, Arc::new(Metrics::default())).unwrap());
    let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = tcp.local_addr().unwrap();
    let cert = SelfSigned::generate(addr).unwrap();
    assert!(
        cert.names.iter().any(|n| n == "localhost"),
        "{:?}",
        cert.names
    );
    assert!(
        cert.names.iter().any(|n| n == "127.0.0.1"),
        "{:?}",
        cert.names
    );

    // The PEM as a client reads it from the file the target writes.
    let dir = std::env::temp_dir().join(format!("perfloop-demo-https-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let pem = dir.join("cert.pem");
    cert.write_pem(&pem).unwrap();
    let mut roots = RootCertStore::empty();
    for der in CertificateDer::pem_file_iter(&pem).unwrap() {
        roots.add(der.unwrap()).unwrap();
    }
    assert_eq!(roots.len(), 1);
    std::fs::remove_dir_all(&dir).unwrap();

    let listener = cert.listener(tcp).unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(serve_tls(listener, engine, async {
        let _ = stopped.await;
    }));

    let trusting = client(roots);
    for name in ["localhost", "127.0.0.1"] {
        let (alpn, status, body) = get(&trusting, addr, name, "/health").await.unwrap();
        assert_eq!(alpn.as_deref(), Some(&b"http/1.1"[..]), "{name}");
        assert_eq!(status, "HTTP/1.1 200 OK", "{name}");
        assert_eq!(body, "ok\n", "{name}");
    }
    let (_, status, body) = get(&trusting, addr, "localhost", "/metrics").await.unwrap();
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(body.contains("demo_"), "{body}");

    // Another host's name, and a client that trusts nothing: both refuse it.
    let wrong_host = get(&trusting, addr, "example.org", "/health").await;
    assert!(wrong_host.is_err(), "{wrong_host:?}");
    let distrusting = client(RootCertStore::empty());
    let untrusted = get(&distrusting, addr, "localhost", "/health").await;
    assert!(untrusted.is_err(), "{untrusted:?}");

    // A failed handshake leaves the service serving.
    let (_, status, _) = get(&trusting, addr, "localhost", "/health").await.unwrap();
    assert_eq!(status, "HTTP/1.1 200 OK");

    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}
