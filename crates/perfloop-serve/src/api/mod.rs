//! The REST API over the history store, version [`API_VERSION`]: every response is a JSON
//! object with `"api": "perfloop.api.v1"`, errors included (`{"api": …, "error": "…"}`
//! with 400 for a bad query, 404 for an unknown run or path, 503 for a store that cannot be
//! read).
//!
//! | route | what |
//! | --- | --- |
//! | `GET /api` | the version and the routes |
//! | `GET /api/runs` | the saved runs, newest first, with their headline figures; filters `target`, `tag=KEY=VALUE` (repeatable), `kind`, `since`, `limit` (`query.rs`) |
//! | `GET /api/runs/{id}` | one run: what the listing says, and its whole record as stored |
//! | `GET /api/runs/{id}/timeline` | a load run's seconds in the live sample's shape, merged down to `max_points` rows (`timeline.rs`) |
//! | `GET /api/compare/{a}/{b}` | run B against run A: perfloop-report's compare record when both are load runs (`compare.rs`) |
//!
//! The store is opened per request on tokio's blocking threads (`store.rs`): an SQLite
//! store is a file any process may write meanwhile, and a `Store` is not `Sync`. The live
//! run's routes (`/api/live`, the `/api/performance_*` family) are in `live/`.

pub mod compare;
pub mod query;
pub mod store;
pub mod timeline;

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use crate::AppState;
pub use crate::security::API_VERSION;

use self::query::{CompareQuery, RunsQuery, TimelineQuery};
use self::store::ReadError;

/// The routes of this part.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api", get(index))
        .route("/api/runs", get(runs))
        .route("/api/runs/{id}", get(run))
        .route("/api/runs/{id}/timeline", get(timeline))
        .route("/api/compare/{a}/{b}", get(compare))
}

/// An API error: its status and its sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// 400, 404, 500 or 503.
    pub status: StatusCode,
    /// What went wrong, for a person.
    pub message: String,
}

impl ApiError {
    /// 400: the request is wrong.
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }

    /// 404: nothing by that name.
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::NOT_FOUND,
            message: message.into(),
        }
    }

    /// 500: the server failed.
    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message: message.into(),
        }
    }
}

impl From<ReadError> for ApiError {
    fn from(e: ReadError) -> ApiError {
        let status = match &e {
            ReadError::NotFound(_) => StatusCode::NOT_FOUND,
            ReadError::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
            ReadError::Record { .. } | ReadError::Task(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError {
            status,
            message: e.to_string(),
        }
    }
}

impl From<perfloop_store::StoreError> for ApiError {
    fn from(e: perfloop_store::StoreError) -> ApiError {
        ApiError::from(ReadError::Store(e))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            axum::Json(json!({"api": API_VERSION, "error": self.message})),
        )
            .into_response()
    }
}

/// A JSON response: `value`'s fields after `"api"`.
pub fn ok(value: Value) -> Response {
    let mut object = serde_json::Map::new();
    object.insert("api".to_owned(), Value::from(API_VERSION));
    if let Value::Object(fields) = value {
        object.extend(fields);
    }
    axum::Json(Value::Object(object)).into_response()
}

/// A JSON response written as text already (`body` must be a JSON object's text).
fn raw_json(body: String) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// A run id from the path: a positive integer.
pub fn run_id(text: &str) -> Result<i64, ApiError> {
    match text.parse::<i64>() {
        Ok(id) if id > 0 => Ok(id),
        _ => Err(ApiError::bad_request(format!(
            "'{text}' is not a run id: expected a positive integer such as 12"
        ))),
    }
}

async fn index() -> Response {
    ok(json!({
        "routes": [
            "GET /api/runs?target=&tag=KEY=VALUE&kind=load|capacity|bench|study&since=7d&limit=50",
            "GET /api/runs/{id}",
            "GET /api/runs/{id}/timeline?max_points=2000",
            "GET /api/compare/{a}/{b}",
            "GET /api/live (text/event-stream)",
            "GET /api/performance_metrics",
            "GET /api/performance_history?limit=",
            "GET /api/system_health",
            "GET /metrics (Prometheus text)",
        ],
        "docs": "docs/api.md in perfloop's sources",
    }))
}

async fn runs(State(state): State<AppState>, RawQuery(raw): RawQuery) -> Response {
    let query = match RunsQuery::parse(raw.as_deref()) {
        Ok(q) => q,
        Err(e) => return e.into_response(),
    };
    let Some(location) = state.store.clone() else {
        return ok(json!({"runs": [], "count": 0, "store": null}));
    };
    let shown = location.to_string();
    match store::blocking(move || Ok(store::list(&location, &query.filter())?)).await {
        Ok(entries) => {
            let runs: Vec<Value> = entries.iter().map(store::summary).collect();
            ok(json!({"count": runs.len(), "store": shown, "runs": runs}))
        }
        Err(e) => e.into_response(),
    }
}

async fn run(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    let id = match run_id(&id) {
        Ok(id) => id,
        Err(e) => return e.into_response(),
    };
    let Some(location) = state.store.clone() else {
        return ReadError::NotFound(id).into_response();
    };
    match store::blocking(move || Ok(store::find(&location, id)?)).await {
        Ok((entry, record)) => {
            let summary = store::summary(&entry);
            let head = json!({"api": API_VERSION, "run": summary});
            // The record goes out as stored: its numbers exactly as they were written.
            let mut body = head.to_string();
            body.pop();
            body.push_str(",\"record\":");
            body.push_str(&record);
            body.push('}');
            raw_json(body)
        }
        Err(e) => e.into_response(),
    }
}

async fn timeline(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    let id = match run_id(&id) {
        Ok(id) => id,
        Err(e) => return e.into_response(),
    };
    let query = match TimelineQuery::parse(raw.as_deref()) {
        Ok(q) => q,
        Err(e) => return e.into_response(),
    };
    let Some(location) = state.store.clone() else {
        return ReadError::NotFound(id).into_response();
    };
    let built = store::blocking(move || {
        let (entry, record) = store::find(&location, id)?;
        timeline::of_record(&entry, &record, query.max_points)
    })
    .await;
    match built {
        Ok(value) => ok(value),
        Err(e) => e.into_response(),
    }
}

async fn compare(
    State(state): State<AppState>,
    Path((a, b)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Response {
    let ids = run_id(&a).and_then(|a| Ok((a, run_id(&b)?)));
    let (a, b) = match ids {
        Ok(ids) => ids,
        Err(e) => return e.into_response(),
    };
    let options = match CompareQuery::parse(raw.as_deref()) {
        Ok(q) => q.options,
        Err(e) => return e.into_response(),
    };
    let Some(location) = state.store.clone() else {
        return ReadError::NotFound(a).into_response();
    };
    match store::blocking(move || compare::build(&location, a, b, &options)).await {
        Ok(comparison) => ok(comparison.to_json()),
        Err(e) => e.into_response(),
    }
}

impl IntoResponse for ReadError {
    fn into_response(self) -> Response {
        ApiError::from(self).into_response()
    }
}
