//! The live run: what `perfloop load|capacity|tune --serve` shows while it measures.
//!
//! The binary's observer feeds a [`LiveHub`] (`hub.rs`) once per second with a
//! [`LiveSample`] (`sample.rs`), and with each capacity step, study trial and alert event;
//! the routes here read it:
//!
//! | route | what |
//! | --- | --- |
//! | `GET /api/live` | Server-Sent Events: `hello`, the replay, the live events, `end` (`sse.rs`) |
//! | `GET /metrics` | the run in Prometheus' text format (`metrics.rs`) |
//! | `GET /api/performance_metrics` | the headline figures now (`performance.rs`) |
//! | `GET /api/performance_history?limit=N` | the last N seconds (or saved runs) |
//! | `GET /api/system_health` | the target, the host, the alerts firing (`host.rs`) |
//!
//! The last three answer from the store when no run is live.

pub mod host;
pub mod hub;
pub mod metrics;
pub mod performance;
pub mod sample;
pub mod sse;

use axum::Router;
use axum::routing::get;

use crate::AppState;

pub use hub::{LiveEvent, LiveHub, LiveSnapshot, LiveTotals, MAX_SAMPLES};
pub use sample::{LiveInfo, LiveSample};

/// The routes of this part.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/live", get(sse::live))
        .route("/metrics", get(metrics::metrics))
        .route("/api/performance_metrics", get(performance::metrics))
        .route("/api/performance_history", get(performance::history))
        .route("/api/system_health", get(performance::health))
}
