//! The application: every route, behind the security layer.

use std::sync::Arc;

use axum::Router;
use perfloop_store::Location;

use crate::live::LiveHub;

/// What every handler may read: the store (opened per request, off the async threads), the
/// live run when there is one, and the token when one is required.
#[derive(Clone)]
pub struct AppState {
    /// The history store; `None` when the run does not save (`--no-save`).
    pub store: Option<Location>,
    /// The run going on, for `--serve`; `None` for `perfloop serve`.
    pub live: Option<Arc<LiveHub>>,
    /// The token every request must carry; `None` on loopback without `--token`.
    pub token: Option<Arc<str>>,
}

/// The whole application.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(crate::pages::routes())
        .merge(crate::api::routes())
        .merge(crate::live::routes())
        .merge(crate::assets::routes())
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::security::guard,
        ))
        .with_state(state)
}
