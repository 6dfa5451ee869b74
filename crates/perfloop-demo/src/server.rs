//! The HTTP service (axum): `POST /match`, `GET /health`, `GET /metrics`, over plain TCP
//! ([`serve`]) or TLS ([`serve_tls`]).
//!
//! `POST /match` takes `{"records": [{"name", "email", "phone", "city"}, ...]}` (at most
//! [`MAX_RECORDS_PER_REQUEST`] records), splits the records into batches of
//! `--batch-size`, runs them through the engine and answers
//! `{"results": [{"matched": id|null, "candidates": [{"user_id", "score"}, ...]}, ...]}`
//! in the order of the records. Malformed JSON is a 400, a well-formed body of the wrong
//! shape a 422 (axum's `Json` rejections), too many records a 413.

use std::future::Future;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::data::workload::Workload;
use crate::engine::Engine;
use crate::error::DemoError;
use crate::matching::MatchOutcome;
use crate::metrics::Metrics;
use crate::record::Record;
use crate::tls::TlsListener;

/// The most records one `POST /match` may carry.
pub const MAX_RECORDS_PER_REQUEST: usize = 10_000;

/// The body of `POST /match`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatchRequest {
    /// The records to match.
    pub records: Vec<Record>,
}

impl MatchRequest {
    /// A request carrying records `start..start + count` of `workload` (a load
    /// generator's body: about half of them planted duplicates).
    pub fn from_workload(workload: &Workload<'_>, start: u64, count: usize) -> Self {
        Self {
            records: workload
                .records(start, count)
                .into_iter()
                .map(|labelled| labelled.record)
                .collect(),
        }
    }

    /// The request as JSON.
    pub fn to_json(&self) -> String {
        // Strings and vectors always serialise.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// The answer of `POST /match`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MatchResponse {
    /// One result per record, in the order of the request.
    pub results: Vec<MatchOutcome>,
}

/// The service's routes over a running engine.
pub fn router(engine: Arc<Engine>) -> Router {
    Router::new()
        .route("/match", post(match_records))
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .with_state(engine)
}

/// Serves the routes on `listener` until `shutdown` completes, then finishes the requests
/// in progress.
pub async fn serve<F>(
    listener: TcpListener,
    engine: Arc<Engine>,
    shutdown: F,
) -> Result<(), DemoError>
where
    F: Future<Output = ()> + Send + 'static,
{
    axum::serve(listener, router(engine))
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(DemoError::Serve)
}

/// Serves the routes over TLS on `listener` (see [`crate::SelfSigned::listener`]) until
/// `shutdown` completes, then finishes the requests in progress.
pub async fn serve_tls<F>(
    listener: TlsListener,
    engine: Arc<Engine>,
    shutdown: F,
) -> Result<(), DemoError>
where
    F: Future<Output = ()> + Send + 'static,
{
    axum::serve(listener, router(engine))
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(DemoError::Serve)
}

async fn health() -> &'static str {
    "ok\n"
}

async fn metrics(State(engine): State<Arc<Engine>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        engine.metrics().render(),
    )
        .into_response()
}

async fn match_records(
    State(engine): State<Arc<Engine>>,
    Json(request): Json<MatchRequest>,
) -> Response {
    let count = request.records.len();
    if count > MAX_RECORDS_PER_REQUEST {
        let message = format!("{count} records: at most {MAX_RECORDS_PER_REQUEST} per request\n");
        return (StatusCode::PAYLOAD_TOO_LARGE, message).into_response();
    }
    match run(&engine, request.records).await {
        Ok(results) => {
            Metrics::add(&engine.metrics().requests, 1);
            Json(MatchResponse { results }).into_response()
        }
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, format!("{e}\n")).into_response(),
    }
}

/// Submits the records in batches and gathers the results in order.
async fn run(engine: &Engine, mut records: Vec<Record>) -> Result<Vec<MatchOutcome>, DemoError> {
    let batch = engine.knobs().batch_size.max(1);
    let mut pending = Vec::with_capacity(records.len().div_ceil(batch));
    let total = records.len();
    while !records.is_empty() {
        let rest = records.split_off(batch.min(records.len()));
        let chunk = std::mem::replace(&mut records, rest);
        let (tx, rx) = oneshot::channel();
        engine.submit(
            chunk,
            Box::new(move |results| {
                // The request may have been abandoned by its client; nothing to do then.
                let _ = tx.send(results);
            }),
        )?;
        pending.push(rx);
    }
    let mut results = Vec::with_capacity(total);
    for rx in pending {
        results.extend(rx.await.map_err(|_| DemoError::EngineStopped)?);
    }
    Ok(results)
}
