//! The server: the listening socket bound before anything else happens, the application
//! served from a tokio runtime on threads of its own, and its bounded shutdown.
//!
//! [`Server::start`] binds with `std::net::TcpListener` before it returns, so a bad address
//! or a port in use is reported before any load is offered; the socket is then handed to
//! tokio (`TcpListener::from_std`) on a runtime of two worker threads named
//! `perfloop-serve`, and the accept loop runs on a thread of its own. The load engine's
//! threads never wait for it.
//!
//! A server bound to an address other than loopback requires a token: when none is given,
//! one is generated from the operating system's random source (128 bits, hex) and
//! [`Server::token_generated`] says so, for the caller to print it. [`Server::shutdown`]
//! stops accepting, lets requests in progress finish for a moment and then drops what is left
//! (live streams never finish on their own): it returns within [`SHUTDOWN_LIMIT`].

use std::net::{SocketAddr, TcpListener as StdListener, ToSocketAddrs};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use perfloop_store::Location;
use tokio::sync::watch;

use crate::app::{AppState, router};
use crate::live::LiveHub;

/// The address `perfloop serve` binds when none is given.
pub const DEFAULT_BIND: &str = "127.0.0.1:9400";

/// How long [`Server::shutdown`] takes at most.
pub const SHUTDOWN_LIMIT: Duration = Duration::from_secs(2);

/// How long requests in progress may go on after a shutdown is asked.
const GRACE: Duration = Duration::from_millis(1500);

/// How long the runtime waits for its tasks once the grace is over.
const RUNTIME_DROP: Duration = Duration::from_millis(250);

/// How often [`Server::run_until`] looks at its stop flag.
const POLL: Duration = Duration::from_millis(100);

/// How to serve.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// The address to listen on, `HOST:PORT` (`127.0.0.1:9400` by default; port 0 picks a
    /// free one).
    pub bind: String,
    /// The token every request must carry; generated when `None` and the address is not
    /// loopback.
    pub token: Option<String>,
    /// The history store the pages and the API read; `None`: nothing saved (`--no-save`).
    pub store: Option<Location>,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            bind: DEFAULT_BIND.to_owned(),
            token: None,
            store: None,
        }
    }
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The address is not `HOST:PORT`, or its host name does not resolve.
    #[error("--bind '{address}': {reason}; expected HOST:PORT such as 127.0.0.1:9400")]
    BadAddress {
        /// The address as given.
        address: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The address could not be bound: in use, not an address of this machine, or not
    /// allowed.
    #[error("cannot listen on {address}: {error}{hint}")]
    Bind {
        /// The address as given.
        address: String,
        /// What the system said.
        error: std::io::Error,
        /// A sentence on what to do, for the common causes.
        hint: &'static str,
    },
    /// The token given is empty.
    #[error("--token: the token is empty; give one of at least one character, or none")]
    EmptyToken,
    /// No token could be generated (the system's random source failed).
    #[error("cannot generate a token for {address}: {reason}; give one with --token")]
    Token {
        /// The address bound.
        address: String,
        /// What failed.
        reason: String,
    },
    /// The runtime or its thread could not be started.
    #[error("cannot start the web server on {address}: {error}")]
    Runtime {
        /// The address bound.
        address: String,
        /// What the system said.
        error: std::io::Error,
    },
}

/// A running server; dropping it shuts it down.
#[derive(Debug)]
pub struct Server {
    addr: SocketAddr,
    token: Option<Arc<str>>,
    generated: bool,
    stop: Option<watch::Sender<bool>>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    /// Binds `options.bind` now, then serves the application (over `options.store` and
    /// `live`, when given) on a runtime of its own.
    ///
    /// # Errors
    ///
    /// [`ServeError::BadAddress`] for an address that is not `HOST:PORT`,
    /// [`ServeError::Bind`] naming the address when it cannot be bound (in use, not local),
    /// [`ServeError::EmptyToken`] for an empty token, [`ServeError::Token`] and
    /// [`ServeError::Runtime`] when the system refuses randomness or threads.
    pub fn start(options: ServeOptions, live: Option<Arc<LiveHub>>) -> Result<Server, ServeError> {
        let ServeOptions { bind, token, store } = options;
        if token.as_deref().is_some_and(str::is_empty) {
            return Err(ServeError::EmptyToken);
        }
        let candidates = resolve(&bind)?;
        let listener = bind_first(&bind, &candidates)?;
        let runtime_err = |error| ServeError::Runtime {
            address: bind.clone(),
            error,
        };
        let addr = listener.local_addr().map_err(runtime_err)?;
        listener.set_nonblocking(true).map_err(runtime_err)?;
        let (token, generated) = match token {
            Some(t) => (Some(Arc::<str>::from(t)), false),
            None if !addr.ip().is_loopback() => {
                let t = generate_token().map_err(|reason| ServeError::Token {
                    address: addr.to_string(),
                    reason,
                })?;
                (Some(Arc::<str>::from(t)), true)
            }
            None => (None, false),
        };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("perfloop-serve")
            .enable_io()
            .enable_time()
            .build()
            .map_err(runtime_err)?;
        let listener = {
            let _inside = runtime.enter();
            tokio::net::TcpListener::from_std(listener).map_err(runtime_err)?
        };
        let app = router(AppState {
            store,
            live,
            token: token.clone(),
        });
        let (stop_tx, stop_rx) = watch::channel(false);
        let thread = std::thread::Builder::new()
            .name("perfloop-serve-accept".into())
            .spawn(move || serve(runtime, listener, app, stop_rx))
            .map_err(runtime_err)?;
        Ok(Server {
            addr,
            token,
            generated,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }

    /// The address the server listens on (the port chosen, for port 0).
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The token every request must carry, if one is required.
    #[must_use]
    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// Whether the token was generated (none was given and the address is not loopback).
    #[must_use]
    pub fn token_generated(&self) -> bool {
        self.generated
    }

    /// The dashboard's address for a browser: `http://ADDR/`, with `?token=…` when a token
    /// is required (a browser opening it keeps the token in a cookie). An unspecified
    /// address (`0.0.0.0`, `[::]`) is written as the loopback address of its family.
    #[must_use]
    pub fn url(&self) -> String {
        let mut addr = self.addr;
        if addr.ip().is_unspecified() {
            addr.set_ip(match addr {
                SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
                SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
            });
        }
        match &self.token {
            Some(token) => {
                let encoded: String = form_urlencoded::byte_serialize(token.as_bytes()).collect();
                format!("http://{addr}/?token={encoded}")
            }
            None => format!("http://{addr}/"),
        }
    }

    /// Serves until `stop` is set (or the server stops by itself), then shuts down.
    pub fn run_until(mut self, stop: &AtomicBool) {
        while !stop.load(Ordering::SeqCst) && self.thread.as_ref().is_some_and(|t| !t.is_finished())
        {
            std::thread::sleep(POLL);
        }
        self.stop_and_join();
    }

    /// Stops accepting, lets requests in progress finish for a moment, then closes every
    /// connection; returns within [`SHUTDOWN_LIMIT`].
    pub fn shutdown(mut self) {
        self.stop_and_join();
    }

    fn stop_and_join(&mut self) {
        if let Some(stop) = self.stop.take() {
            // No receiver left means the server has stopped already.
            let _ = stop.send(true);
        }
        if let Some(thread) = self.thread.take() {
            // The thread returns once its runtime is dropped; a panic in it has been
            // reported on stderr by the panic hook already.
            let _ = thread.join();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}

/// The accept loop, until `stop` turns true; then a bounded grace for the requests in
/// progress, then the runtime is dropped with whatever is left.
fn serve(
    runtime: tokio::runtime::Runtime,
    listener: tokio::net::TcpListener,
    app: axum::Router,
    stop: watch::Receiver<bool>,
) {
    let stopped = |mut rx: watch::Receiver<bool>| async move {
        // An error means the sender is gone: the server is being dropped.
        let _ = rx.wait_for(|stop| *stop).await;
    };
    let graceful = stopped(stop.clone());
    let deadline = async move {
        stopped(stop).await;
        tokio::time::sleep(GRACE).await;
    };
    runtime.block_on(async move {
        let served = axum::serve(listener, app).with_graceful_shutdown(graceful);
        tokio::select! {
            _ = served => {}
            () = deadline => {}
        }
    });
    runtime.shutdown_timeout(RUNTIME_DROP);
}

/// The socket addresses `bind` names.
fn resolve(bind: &str) -> Result<Vec<SocketAddr>, ServeError> {
    let bad = |reason: String| ServeError::BadAddress {
        address: bind.to_owned(),
        reason,
    };
    if let Ok(addr) = bind.parse::<SocketAddr>() {
        return Ok(vec![addr]);
    }
    let Some((host, port)) = bind.rsplit_once(':') else {
        return Err(bad("no port".to_owned()));
    };
    if host.is_empty() {
        return Err(bad("no host".to_owned()));
    }
    if port.parse::<u16>().is_err() {
        return Err(bad(format!("'{port}' is not a port (0 to 65535)")));
    }
    let addrs: Vec<SocketAddr> = bind
        .to_socket_addrs()
        .map_err(|e| bad(format!("the host does not resolve ({e})")))?
        .collect();
    if addrs.is_empty() {
        return Err(bad("the host resolves to no address".to_owned()));
    }
    Ok(addrs)
}

/// A listener on the first of `candidates` that can be bound.
fn bind_first(bind: &str, candidates: &[SocketAddr]) -> Result<StdListener, ServeError> {
    let mut last = None;
    for addr in candidates {
        match StdListener::bind(addr) {
            Ok(listener) => return Ok(listener),
            Err(e) => last = Some(e),
        }
    }
    let error = last.unwrap_or_else(|| std::io::Error::other("no address to bind"));
    let hint = match error.kind() {
        std::io::ErrorKind::AddrInUse => {
            " (another program listens there; choose another port with --bind, e.g. 127.0.0.1:0)"
        }
        std::io::ErrorKind::AddrNotAvailable => " (not an address of this machine)",
        std::io::ErrorKind::PermissionDenied => {
            " (ports below 1024 need privileges; choose a port above 1024)"
        }
        _ => "",
    };
    Err(ServeError::Bind {
        address: bind.to_owned(),
        error,
        hint,
    })
}

/// 128 random bits from the operating system, as 32 hex digits.
fn generate_token() -> Result<String, String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| e.to_string())?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_read_or_refused_with_a_reason() {
        assert_eq!(
            resolve("127.0.0.1:9400").unwrap(),
            vec!["127.0.0.1:9400".parse::<SocketAddr>().unwrap()]
        );
        assert!(!resolve("localhost:0").unwrap().is_empty());
        for (bad, says) in [
            ("9400", "no port"),
            (":9400", "no host"),
            ("127.0.0.1:http", "'http' is not a port"),
            ("127.0.0.1:70000", "'70000' is not a port"),
        ] {
            let e = resolve(bad).unwrap_err().to_string();
            assert!(e.contains(says) && e.contains(&format!("'{bad}'")), "{e}");
        }
    }

    #[test]
    fn generated_tokens_are_long_and_differ() {
        let a = generate_token().unwrap();
        let b = generate_token().unwrap();
        assert_eq!(a.len(), 32);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }
}
