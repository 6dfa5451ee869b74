//! The static assets, embedded in the binary (nothing is fetched from elsewhere): uPlot
//! 1.6.32 (MIT, vendored in `assets/` with its licence), the dashboard's own script
//! `app.js` (plain JavaScript, no build step), style sheet `app.css` and icon `favicon.svg`.
//!
//! Served under `/assets/NAME` with their content type and `Cache-Control: public,
//! max-age=3600` (an hour: a new perfloop's assets are picked up the next hour at worst).

use axum::Router;
use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::AppState;

/// The cache header of the assets.
const CACHE: &str = "public, max-age=3600";

/// Each asset: its name under `/assets/`, its content type, its bytes.
const ASSETS: [(&str, &str, &[u8]); 6] = [
    (
        "uPlot.iife.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/uPlot.iife.min.js"),
    ),
    (
        "uPlot.min.css",
        "text/css; charset=utf-8",
        include_bytes!("../assets/uPlot.min.css"),
    ),
    (
        "uPlot.LICENSE",
        "text/plain; charset=utf-8",
        include_bytes!("../assets/uPlot.LICENSE"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/app.js"),
    ),
    (
        "app.css",
        "text/css; charset=utf-8",
        include_bytes!("../assets/app.css"),
    ),
    (
        "favicon.svg",
        "image/svg+xml",
        include_bytes!("../assets/favicon.svg"),
    ),
];

/// The routes of this part.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/assets/{name}", get(asset))
        // Browsers ask for it whatever the page says.
        .route(
            "/favicon.ico",
            get(|| asset(Path("favicon.svg".to_owned()))),
        )
}

/// One asset by name; 404 for any other name (names are looked up, never used as paths).
async fn asset(Path(name): Path<String>) -> Response {
    match ASSETS.iter().find(|(n, _, _)| *n == name) {
        Some((_, content_type, bytes)) => (
            [
                (header::CONTENT_TYPE, *content_type),
                (header::CACHE_CONTROL, CACHE),
            ],
            *bytes,
        )
            .into_response(),
        None => (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "no such asset\n",
        )
            .into_response(),
    }
}
