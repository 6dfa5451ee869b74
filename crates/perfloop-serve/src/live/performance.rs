//! The routes of the original dashboard's API, kept for its clients:
//! `GET /api/performance_metrics`, `GET /api/performance_history?limit=N` and
//! `GET /api/system_health`. While a run is live they answer from the hub (`"live": true`);
//! otherwise from the history store (`"live": false`): the latest saved run's summary, the
//! last N runs' headline figures, and the host's facts.

use axum::extract::{RawQuery, State};
use axum::response::Response;
use perfloop_stats::grid;
use serde_json::{Value, json};

use super::host;
use crate::AppState;
use crate::api::store::{blocking, latest_runs};
use crate::api::{ApiError, ok};

/// Samples `/api/performance_history` gives by default while live.
pub const DEFAULT_SAMPLES: usize = 300;
/// Runs it gives by default from the store.
pub const DEFAULT_RUNS: usize = 20;
/// The most it gives of either.
pub const MAX_LIMIT: usize = 3600;

/// `?limit=N` (1 to [`MAX_LIMIT`]).
fn limit(raw: Option<&str>, default: usize) -> Result<usize, ApiError> {
    let mut limit = default;
    for pair in raw.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        if key != "limit" {
            continue;
        }
        limit = match value.parse::<usize>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
            _ => {
                return Err(ApiError::bad_request(format!(
                    "limit '{value}' is not a number from 1 to {MAX_LIMIT}"
                )));
            }
        };
    }
    Ok(limit)
}

/// The store's latest `limit` runs (an empty list without a store).
async fn stored_runs(state: &AppState, limit: usize) -> Result<Vec<Value>, ApiError> {
    let Some(location) = state.store.clone() else {
        return Ok(Vec::new());
    };
    blocking(move || {
        latest_runs(&location, limit)
            .map_err(|e| ApiError::from(crate::api::store::ReadError::Store(e)))
    })
    .await
}

/// `GET /api/performance_metrics`: the headline figures now.
pub async fn metrics(State(state): State<AppState>) -> Result<Response, ApiError> {
    if let Some(hub) = &state.live {
        let totals = hub.totals();
        let ended = hub.ended();
        let ms = |q: f64| grid::quantile_us(&totals.latency_buckets, q).map(|us| us / 1000.0);
        #[allow(clippy::cast_precision_loss)]
        let (rps, error_rate) = (
            (totals.seconds > 0.0).then(|| totals.requests as f64 / totals.seconds),
            (totals.requests > 0).then(|| totals.errors as f64 / totals.requests as f64),
        );
        let latest = totals.latest.as_ref();
        return Ok(ok(json!({
            "live": true,
            "kind": hub.info().kind,
            "target": hub.info().target,
            "started_at": hub.info().started_at,
            "ended": ended.is_some(),
            "run_id": ended.flatten(),
            "seconds": totals.seconds,
            "requests": totals.requests,
            "errors": totals.errors,
            "error_rate": error_rate,
            "rps": rps,
            "p50_ms": ms(0.5),
            "p90_ms": ms(0.9),
            "p99_ms": ms(0.99),
            "last": latest,
            "in_flight": latest.and_then(|s| s.in_flight),
            "generator_cpu": latest.and_then(|s| s.generator_cpu),
            "saturated": latest.and_then(|s| s.saturated),
            "target_cpu": latest.and_then(|s| s.target_cpu),
            "target_rss_bytes": latest.and_then(|s| s.target_rss_bytes),
            "alerts_firing": hub.firing(),
        })));
    }
    let run = stored_runs(&state, 1).await?.into_iter().next();
    Ok(ok(json!({"live": false, "run": run})))
}

/// `GET /api/performance_history?limit=N`: the last N seconds while live (default
/// [`DEFAULT_SAMPLES`]), else the last N saved runs (default [`DEFAULT_RUNS`]).
pub async fn history(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    if let Some(hub) = &state.live {
        let limit = limit(query.as_deref(), DEFAULT_SAMPLES)?;
        return Ok(ok(json!({
            "live": true,
            "samples": hub.recent(limit),
        })));
    }
    let limit = limit(query.as_deref(), DEFAULT_RUNS)?;
    let runs = stored_runs(&state, limit).await?;
    Ok(ok(json!({"live": false, "runs": runs})))
}

/// `GET /api/system_health`: the target, the host and the alerts firing while live; the
/// host and the store otherwise.
pub async fn health(State(state): State<AppState>) -> Result<Response, ApiError> {
    if let Some(hub) = &state.live {
        return Ok(ok(hub.health()));
    }
    let store = match &state.store {
        None => json!({"configured": false}),
        Some(location) => {
            let location = location.clone();
            let readable = blocking(move || {
                Ok(crate::api::store::open(&location)
                    .map(|_| ())
                    .map_err(|e| e.to_string()))
            })
            .await?;
            match readable {
                Ok(()) => json!({"configured": true, "readable": true}),
                Err(e) => json!({"configured": true, "readable": false, "error": e}),
            }
        }
    };
    let status = if store["readable"] == false {
        "degraded"
    } else {
        "ok"
    };
    Ok(ok(json!({
        "live": false,
        "status": status,
        "target": null,
        "host": host::read().to_json(),
        "store": store,
        "alerts": [],
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_is_checked() {
        assert_eq!(limit(None, 7), Ok(7));
        assert_eq!(limit(Some("limit=12"), 7), Ok(12));
        assert!(limit(Some("limit=0"), 7).is_err());
        assert!(limit(Some("limit=x"), 7).is_err());
        assert_eq!(limit(Some("other=1"), 7), Ok(7));
    }
}
