//! The TLS client: rustls with the `ring` provider, built once per run from [`TlsOptions`]
//! and shared by every connection.
//!
//! Certificates are checked against the system's roots, or only against `--cacert FILE`;
//! a certificate in that file which the server presents as its own is trusted as it is,
//! its name still checked (a self-signed certificate made with `openssl req -x509` is a CA
//! certificate, which a chain check refuses as a server's own; curl accepts it the same way);
//! `--insecure` accepts any certificate (its signature over the handshake is still
//! checked, so the figures are those of a real handshake). `--cert`/`--key` present a
//! client certificate. The host name of the URL is sent as SNI (an address literal is not,
//! as RFC 6066 says) and checked against the certificate; ALPN offers `http/1.1`, or `h2`
//! with `--http2`.
//!
//! [`TlsClient::preflight`] makes one handshake before the run, so that a certificate the
//! client refuses stops the run at once, before the measured window, with the TLS error.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use perfloop_url::TargetUrl;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms, ring};
use rustls::{
    CertificateError, ClientConfig, ClientConnection, DigitallySignedStruct, RootCertStore,
    SignatureScheme,
};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};

use crate::config::ConfigError;

/// How long the handshake before the run waits for the server's answer to its close (a
/// late refusal of the client certificate).
const CLOSE_WAIT: Duration = Duration::from_millis(500);

/// The ALPN name of HTTP/1.1.
pub const ALPN_HTTP1: &[u8] = b"http/1.1";
/// The ALPN name of HTTP/2 (offered alone by `--http2`).
pub const ALPN_H2: &[u8] = b"h2";

/// How the TLS client checks the server and presents itself, as given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsOptions {
    /// Trust only the certificates in this PEM file (instead of the system's roots).
    pub cacert: Option<PathBuf>,
    /// Accept any server certificate (expired, self-signed, another host's).
    pub insecure: bool,
    /// A client certificate chain (PEM), presented when the server asks for one.
    pub cert: Option<PathBuf>,
    /// The client certificate's private key (PEM); `None`: looked for in `cert`.
    pub key: Option<PathBuf>,
    /// The protocols offered by ALPN, most preferred first.
    pub alpn: Vec<Vec<u8>>,
}

impl Default for TlsOptions {
    fn default() -> TlsOptions {
        TlsOptions {
            cacert: None,
            insecure: false,
            cert: None,
            key: None,
            alpn: vec![ALPN_HTTP1.to_vec()],
        }
    }
}

impl TlsOptions {
    /// Whether any option differs from the default (which only an `https://` URL uses).
    pub fn is_given(&self) -> bool {
        self.cacert.is_some() || self.insecure || self.cert.is_some() || self.key.is_some()
    }
}

/// A TLS client ready to open connections to one server.
#[derive(Clone)]
pub struct TlsClient {
    config: Arc<ClientConfig>,
    name: ServerName<'static>,
    options: TlsOptions,
}

impl PartialEq for TlsClient {
    fn eq(&self, other: &TlsClient) -> bool {
        self.options == other.options && self.name == other.name
    }
}

impl Eq for TlsClient {}

impl fmt::Debug for TlsClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsClient")
            .field("name", &self.name)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

/// What the handshake before the run agreed on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Negotiated {
    /// The protocol version, e.g. `TLSv1_3`.
    pub version: String,
    /// The cipher suite, e.g. `TLS13_AES_256_GCM_SHA384`.
    pub cipher: String,
    /// The protocol chosen by ALPN, if the server chose one.
    pub alpn: Option<String>,
    /// How long the handshake took (after the TCP connection was up).
    pub handshake: Duration,
}

/// Why the handshake before the run did not complete.
#[derive(Debug)]
pub enum PreflightError {
    /// TLS itself failed: a refused certificate, an alert, a server that does not speak
    /// TLS. The run cannot measure anything useful.
    Tls(rustls::Error),
    /// The network failed (refused, reset, timed out): left to the run to count.
    Io(std::io::Error),
}

impl TlsClient {
    /// Builds the client for `url` (its host is the SNI and the name checked) from the
    /// options: the root certificates, the client certificate and ALPN. Files that cannot
    /// be read or hold nothing usable are errors naming the file.
    pub fn new(url: &TargetUrl, options: &TlsOptions) -> Result<TlsClient, ConfigError> {
        let err = |m: String| ConfigError::Tls(m);
        let provider = Arc::new(provider());
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| err(format!("TLS setup failed: {e}")))?;
        let builder = if options.insecure {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AnyCertificate {
                    algorithms: provider.signature_verification_algorithms,
                }))
        } else if let Some(cacert) = options.cacert.as_deref() {
            let pinned = read_certs(cacert, "--cacert")?;
            let chain = WebPkiServerVerifier::builder_with_provider(
                Arc::new(roots(Some(cacert))?),
                provider,
            )
            .build()
            .map_err(|e| err(format!("--cacert '{}': {e}", cacert.display())))?;
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(ChainOrPinned { chain, pinned }))
        } else {
            builder.with_root_certificates(roots(None)?)
        };
        let mut config = match (&options.cert, &options.key) {
            (None, None) => builder.with_no_client_auth(),
            (None, Some(key)) => {
                return Err(err(format!(
                    "--key '{}' needs --cert FILE (the client certificate)",
                    key.display()
                )));
            }
            (Some(cert), key) => {
                let key = key.as_deref().unwrap_or(cert);
                let chain = client_chain(cert)?;
                let private = PrivateKeyDer::from_pem_file(key).map_err(|e| {
                    err(format!(
                        "--key '{}': no usable private key ({e}); give a PEM file with a \
                         PKCS#8, PKCS#1 or SEC1 key",
                        key.display()
                    ))
                })?;
                builder
                    .with_client_auth_cert(chain, private)
                    .map_err(|e| err(format!("--cert and --key do not fit together: {e}")))?
            }
        };
        config.alpn_protocols.clone_from(&options.alpn);
        let name = ServerName::try_from(url.host())
            .map_err(|e| err(format!("'{}' is not a name TLS can check: {e}", url.host())))?
            .to_owned();
        Ok(TlsClient {
            config: Arc::new(config),
            name,
            options: options.clone(),
        })
    }

    /// The options the client was built from.
    pub fn options(&self) -> &TlsOptions {
        &self.options
    }

    /// A new client connection (nothing sent yet).
    pub(crate) fn connection(&self) -> Result<ClientConnection, rustls::Error> {
        ClientConnection::new(self.config.clone(), self.name.clone())
    }

    /// One blocking connection and handshake to `addr`, each step within `timeout`.
    pub fn preflight(
        &self,
        addr: SocketAddr,
        timeout: Duration,
    ) -> Result<Negotiated, PreflightError> {
        use std::io::Write;
        let io = PreflightError::Io;
        let mut sock = std::net::TcpStream::connect_timeout(&addr, timeout).map_err(io)?;
        sock.set_read_timeout(Some(timeout)).map_err(io)?;
        sock.set_write_timeout(Some(timeout)).map_err(io)?;
        let mut conn = self.connection().map_err(PreflightError::Tls)?;
        let t0 = Instant::now();
        while conn.is_handshaking() {
            if t0.elapsed() >= timeout {
                return Err(io(std::io::ErrorKind::TimedOut.into()));
            }
            if let Err(e) = conn.complete_io(&mut sock) {
                return Err(match tls_error(&e) {
                    Some(tls) => PreflightError::Tls(tls),
                    None => io(e),
                });
            }
        }
        let handshake = t0.elapsed();
        // A TLS 1.3 server checks a client certificate after the client's last flight: its
        // refusal comes as an alert after the handshake, so the answer to a close is read.
        conn.send_close_notify();
        while conn.wants_write() {
            conn.write_tls(&mut sock).map_err(io)?;
        }
        sock.set_read_timeout(Some(timeout.min(CLOSE_WAIT)))
            .map_err(io)?;
        loop {
            match conn.read_tls(&mut sock) {
                Ok(0) | Err(_) => break,
                Ok(_) => match conn.process_new_packets() {
                    Ok(state) if state.peer_has_closed() => break,
                    Ok(_) => {}
                    Err(rustls::Error::AlertReceived(rustls::AlertDescription::CloseNotify)) => {
                        break;
                    }
                    Err(e) => return Err(PreflightError::Tls(e)),
                },
            }
        }
        let _ = sock.flush();
        Ok(Negotiated {
            version: conn
                .protocol_version()
                .map_or_else(|| "unknown".to_string(), |v| format!("{v:?}")),
            cipher: conn
                .negotiated_cipher_suite()
                .map_or_else(|| "unknown".to_string(), |c| format!("{:?}", c.suite())),
            alpn: conn
                .alpn_protocol()
                .map(|p| String::from_utf8_lossy(p).into_owned()),
            handshake,
        })
    }
}

/// The rustls error inside an I/O error from rustls' I/O helpers, if that is what it is.
pub(crate) fn tls_error(e: &std::io::Error) -> Option<rustls::Error> {
    e.get_ref()?.downcast_ref::<rustls::Error>().cloned()
}

/// The trust anchors: the certificates of `cacert`, or the system's.
fn roots(cacert: Option<&Path>) -> Result<RootCertStore, ConfigError> {
    let mut store = RootCertStore::empty();
    match cacert {
        Some(path) => {
            let certs = read_certs(path, "--cacert")?;
            let (added, _ignored) = store.add_parsable_certificates(certs);
            if added == 0 {
                return Err(ConfigError::Tls(format!(
                    "--cacert '{}': no certificate in it can be a trust anchor",
                    path.display()
                )));
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            store.add_parsable_certificates(found.certs);
            if store.is_empty() {
                return Err(ConfigError::Tls(
                    "no root certificate found on this system; give the server's CA with \
                     --cacert FILE, or skip the check with --insecure"
                        .to_string(),
                ));
            }
        }
    }
    Ok(store)
}

/// The certificates of a PEM file (at least one).
fn read_certs(path: &Path, flag: &str) -> Result<Vec<CertificateDer<'static>>, ConfigError> {
    let bad = |why: String| ConfigError::Tls(format!("{flag} '{}': {why}", path.display()));
    std::fs::metadata(path).map_err(|e| bad(format!("cannot read it ({e})")))?;
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| bad(format!("cannot read it ({e})")))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(format!("not a PEM certificate file ({e})")))?;
    if certs.is_empty() {
        return Err(bad(
            "no certificate in it (expected '-----BEGIN CERTIFICATE-----')".to_string(),
        ));
    }
    Ok(certs)
}

fn client_chain(path: &Path) -> Result<Vec<CertificateDer<'static>>, ConfigError> {
    read_certs(path, "--cert")
}

/// `--cacert FILE`: the chain is checked against the file's certificates; failing that, a
/// certificate of the file that the server presents as its own is accepted for the names
/// it is valid for.
#[derive(Debug)]
struct ChainOrPinned {
    chain: Arc<WebPkiServerVerifier>,
    pinned: Vec<CertificateDer<'static>>,
}

impl ServerCertVerifier for ChainOrPinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let refused = match self.chain.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        ) {
            Ok(verified) => return Ok(verified),
            Err(e) => e,
        };
        if !self
            .pinned
            .iter()
            .any(|c| c.as_ref() == end_entity.as_ref())
        {
            // A CA certificate presented as the server's own, but not one of the file's:
            // what is wrong is that --cacert does not hold it.
            let ca_as_own = matches!(
                &refused,
                rustls::Error::InvalidCertificate(CertificateError::Other(other))
                    if other.0.downcast_ref::<webpki::Error>()
                        == Some(&webpki::Error::CaUsedAsEndEntity)
            );
            return Err(if ca_as_own {
                rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer)
            } else {
                refused
            });
        }
        let cert = webpki::EndEntityCert::try_from(end_entity).map_err(|_| refused.clone())?;
        cert.verify_is_valid_for_subject_name(server_name)
            .map_err(|_| rustls::Error::InvalidCertificate(CertificateError::NotValidForName))?;
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.chain.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.chain.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.chain.supported_verify_schemes()
    }
}

/// `--insecure`: any certificate is accepted; the handshake's signatures are still
/// checked, so the cost measured is that of a real handshake.
#[derive(Debug)]
struct AnyCertificate {
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// The cryptography: rustls' `ring` provider, chosen over aws-lc-rs for its build time.
/// rustls deprecates it for its lack of post-quantum key exchange. Its own list of key
/// exchange groups puts P-384 first, whose arithmetic in `ring` costs about a millisecond
/// of CPU per handshake; X25519 comes first here, as in browsers and OpenSSL, so that a
/// handshake's cost is the one real clients pay.
#[allow(deprecated)]
pub fn provider() -> CryptoProvider {
    let mut provider = ring::default_provider();
    provider.kx_groups = vec![
        ring::kx_group::X25519,
        ring::kx_group::SECP256R1,
        ring::kx_group::SECP384R1,
    ];
    provider
}
