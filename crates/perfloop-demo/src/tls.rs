//! HTTPS for the demo target: a self-signed certificate generated at start-up (`rcgen`),
//! written as PEM for clients to trust (`perfloop load --cacert FILE`), and a listener that
//! hands axum connections whose TLS handshake is done (rustls with the `ring` provider,
//! through `tokio-rustls`).
//!
//! Each accepted connection's handshake runs in a task of its own, bounded by
//! [`HANDSHAKE_TIMEOUT`], so a client that stalls its handshake holds up no other
//! connection; the connections whose handshake failed are dropped without a word (the
//! client sees its own TLS error).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::serve::Listener;
use rustls::ServerConfig;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

use crate::error::DemoError;

/// The longest a client may take over its TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Connections whose handshake is done, waiting for the server to take them.
const READY_CONNECTIONS: usize = 256;

/// A self-signed server certificate and its key, made for the names a client may use to
/// reach the target.
pub struct SelfSigned {
    /// The certificate as PEM: what a client trusts (`--cacert`).
    pub cert_pem: String,
    /// The names and addresses the certificate is valid for.
    pub names: Vec<String>,
    config: Arc<ServerConfig>,
}

impl SelfSigned {
    /// A new key pair and a certificate for `localhost`, `127.0.0.1`, `::1` and the
    /// listening address's IP when it names one host (not `0.0.0.0` or `::`), offering
    /// HTTP/1.1 by ALPN.
    pub fn generate(listen: SocketAddr) -> Result<SelfSigned, DemoError> {
        let mut names = vec![
            "localhost".to_string(),
            "127.0.0.1".to_string(),
            "::1".to_string(),
        ];
        let ip = listen.ip();
        if !ip.is_unspecified() && !names.contains(&ip.to_string()) {
            names.push(ip.to_string());
        }
        let certified = rcgen::generate_simple_self_signed(names.clone())
            .map_err(|e| DemoError::Certificate(e.to_string()))?;
        let cert: CertificateDer<'static> = certified.cert.der().clone();
        let key = PrivateKeyDer::from(PrivatePkcs8KeyDer::from(certified.key_pair.serialize_der()));
        let provider = Arc::new(provider());
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .and_then(|b| b.with_no_client_auth().with_single_cert(vec![cert], key))
            .map_err(|e| DemoError::Certificate(e.to_string()))?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(SelfSigned {
            cert_pem: certified.cert.pem(),
            names,
            config: Arc::new(config),
        })
    }

    /// Writes the certificate (PEM) to `path`.
    pub fn write_pem(&self, path: &Path) -> Result<(), DemoError> {
        std::fs::write(path, &self.cert_pem).map_err(|source| DemoError::CertificateFile {
            path: path.to_path_buf(),
            source,
        })
    }

    /// A listener that accepts on `tcp` and yields connections with their handshake done.
    /// It must be called inside the async runtime that serves them.
    pub fn listener(&self, tcp: TcpListener) -> Result<TlsListener, DemoError> {
        let local = tcp.local_addr().map_err(DemoError::Serve)?;
        let (ready, accepted) = mpsc::channel(READY_CONNECTIONS);
        tokio::spawn(accept_loop(
            tcp,
            TlsAcceptor::from(self.config.clone()),
            ready,
        ));
        Ok(TlsListener { accepted, local })
    }
}

/// Where the certificate goes unless the command line says: a file under the system's
/// temporary directory named after the process.
pub fn default_cert_path() -> PathBuf {
    std::env::temp_dir().join(format!("perfloop-demo-target-{}.pem", std::process::id()))
}

/// Accepts TCP connections and runs each one's handshake in a task of its own.
async fn accept_loop(
    mut tcp: TcpListener,
    acceptor: TlsAcceptor,
    ready: mpsc::Sender<(TlsStream<TcpStream>, SocketAddr)>,
) {
    loop {
        // axum's accept retries what fails (a connection reset before it was taken, too
        // many open files) by itself.
        let (stream, peer) = Listener::accept(&mut tcp).await;
        let acceptor = acceptor.clone();
        let ready = ready.clone();
        tokio::spawn(async move {
            let handshake = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream));
            if let Ok(Ok(tls)) = handshake.await {
                // A closed channel: the server has stopped taking connections.
                let _ = ready.send((tls, peer)).await;
            }
        });
    }
}

/// Connections over TLS, handed to axum with their handshake done.
pub struct TlsListener {
    accepted: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
}

impl Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.accepted.recv().await {
            Some(connection) => connection,
            // The accepting task is gone (the runtime is shutting down): no more
            // connections will come.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}

/// rustls' `ring` provider, chosen over aws-lc-rs for its build time; rustls deprecates it
/// for its lack of post-quantum key exchange, which a demo's loopback does not need.
#[allow(deprecated)]
fn provider() -> rustls::crypto::CryptoProvider {
    rustls::crypto::ring::default_provider()
}
