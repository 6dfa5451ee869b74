//! perfloop's demo target: a small, real record-matching service, the "intelligent
//! association matching system" whose throughput depends on batch size, worker threads
//! and database-pool size, re-created so that perfloop can show its whole loop on a fresh
//! machine.
//!
//! - `data`: the deterministic generated known users and the labelled workload;
//! - `index`: blocking keys (Soundex of surname with city, e-mail prefix, phone suffix)
//!   and the in-memory index;
//! - `matching`: weighted Jaro–Winkler scores and the match decision;
//! - `store` and `pool`: the simulated downstream store (its cost model is documented
//!   there) behind a bounded connection pool;
//! - `engine`: workers, cache and the batch pipeline shared by both modes;
//! - `server`: the HTTP API; `tls`: HTTPS with a self-signed certificate made at start-up;
//!   `batch`: the batch mode; `metrics`: Prometheus text;
//! - `config`: the [`Knobs`] and the validated [`DemoConfig`] (the command line is the
//!   `perfloop` binary's).
//!
//! [`run`] is the whole program behind `perfloop demo-target`. This crate depends on no
//! other perfloop crate and on no argument parser.
//!
//! # Why the knobs matter
//!
//! Each worker thread alternates between waiting for the store (pool, round trip,
//! service) and scoring on a CPU core, so the throughput is bounded by the cores free
//! for scoring and by what the store can serve, and every knob moves one of the two:
//! too few workers leave cores idle during store waits, too many put more queries in
//! the store than it serves well; too small a pool starves the store, too large a pool
//! lets it be overloaded; tiny batches pay a round trip and a per-query cost for a few
//! records, huge ones overflow the store's working memory; the cache spares store work
//! and helps most where the store is the bottleneck. Where the best values lie depends
//! on the speed and number of the cores, measured, not assumed.

mod batch;
mod config;
mod data;
mod engine;
mod error;
mod index;
mod matching;
mod metrics;
mod pool;
mod record;
mod server;
mod store;
mod tls;

use std::io::{self, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

pub use batch::{BatchReport, run_batch};
pub use config::{
    DEFAULT_BATCH_RECORDS, DEFAULT_SEED, DEFAULT_USERS, DemoConfig, KnobRange, Knobs, Mode,
};
pub use data::workload::{LabelledRecord, PLANTED_SHARE, Workload};
pub use data::{Dataset, User};
pub use engine::{Engine, Reply};
pub use error::DemoError;
pub use matching::{Candidate, MATCH_THRESHOLD, MatchOutcome, TOP_CANDIDATES, WEIGHTS};
pub use metrics::{Metrics, MetricsSnapshot};
pub use record::Record;
pub use server::{MAX_RECORDS_PER_REQUEST, MatchRequest, MatchResponse, router, serve, serve_tls};
pub use store::{CAPACITY, KEY_WORK, OVERLOAD_PENALTY, QUERY_WORK, ROUND_TRIP, SLICE, WORKING_SET};
pub use tls::{HANDSHAKE_TIMEOUT, SelfSigned, TlsListener, default_cert_path};

/// Runs `perfloop demo-target`: serves HTTP (or HTTPS) until SIGTERM or Ctrl-C, or runs the
/// batch.
///
/// In server mode the users are generated and indexed first; then one line
/// `listening on http://ADDR` is written to standard output, and the service is ready.
/// With TLS the certificate is generated and written first (a file that cannot be written
/// fails before any other work), the line `certificate FILE (self-signed for NAMES; trust
/// it with --cacert FILE)` comes before `listening on https://ADDR`, and the file is
/// removed when the service stops.
/// In batch mode the first line is `processed N records in X s (R records/s)`.
///
/// The configuration is validated first ([`DemoConfig::validate`]). It builds its own
/// async runtime, so it must not be called from inside one (use [`Engine::start`] and
/// [`serve`] there).
pub fn run(config: &DemoConfig) -> Result<(), DemoError> {
    config.validate()?;
    let tls = match &config.mode {
        Mode::Serve {
            listen,
            tls: Some(path),
        } => {
            let cert = SelfSigned::generate(*listen)?;
            cert.write_pem(path)?;
            Some((cert, path.clone()))
        }
        _ => None,
    };
    let data = Arc::new(Dataset::generate(config.users, config.seed));
    match config.mode {
        Mode::Batch { records } => {
            let report = run_batch(&data, config.knobs, records, config.seed)?;
            let mut lines = vec![report.headline()];
            lines.extend(report.details());
            say(&lines)
        }
        Mode::Serve { listen, .. } => {
            let served = serve_blocking(config, data, listen, tls.as_ref());
            if let Some((_, path)) = &tls {
                // Clients are done with it; a file already gone is no failure.
                let _ = std::fs::remove_file(path);
            }
            served
        }
    }
}

/// Starts the engine and the async runtime, and serves until SIGTERM or Ctrl-C.
fn serve_blocking(
    config: &DemoConfig,
    data: Arc<Dataset>,
    listen: SocketAddr,
    tls: Option<&(SelfSigned, PathBuf)>,
) -> Result<(), DemoError> {
    let engine = Arc::new(Engine::start(
        data,
        config.knobs,
        Arc::new(Metrics::default()),
    )?);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("demo-http")
        .build()
        .map_err(DemoError::Runtime)?;
    runtime.block_on(serve_until_signal(listen, engine, tls))
}

/// Binds, announces the address (and the certificate) and serves until SIGTERM or Ctrl-C.
async fn serve_until_signal(
    listen: SocketAddr,
    engine: Arc<Engine>,
    tls: Option<&(SelfSigned, PathBuf)>,
) -> Result<(), DemoError> {
    use tokio::signal::unix::{SignalKind, signal};

    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|source| DemoError::Bind {
            addr: listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| DemoError::Bind {
        addr: listen,
        source,
    })?;
    let mut term = signal(SignalKind::terminate()).map_err(DemoError::Signal)?;
    let shutdown = async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    };
    match tls {
        None => {
            say(&[format!("listening on http://{addr}")])?;
            serve(listener, engine, shutdown).await
        }
        Some((cert, path)) => {
            let listener = cert.listener(listener)?;
            let path = path.display();
            say(&[
                format!(
                    "certificate {path} (self-signed for {}; trust it with --cacert {path})",
                    cert.names.join(", ")
                ),
                format!("listening on https://{addr}"),
            ])?;
            serve_tls(listener, engine, shutdown).await
        }
    }
}

/// Writes lines to standard output and flushes them; a closed standard output (a reader
/// that went away) is not an error.
fn say(lines: &[String]) -> Result<(), DemoError> {
    let mut out = io::stdout().lock();
    let written = lines
        .iter()
        .try_for_each(|line| writeln!(out, "{line}"))
        .and_then(|()| out.flush());
    match written {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(DemoError::Output(e)),
        _ => Ok(()),
    }
}
