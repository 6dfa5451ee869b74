//! perfloop's web dashboard, served by `perfloop serve` over the store and by
//! `perfloop load|capacity|tune --serve` while a run goes on.
//!
//! One axum application ([`app::router`]): the pages (`pages/`: runs list, run, compare,
//! capacity and study pages, the live page), the REST API over the store (`api/`), the live
//! run (`live/`: per-second samples streamed over Server-Sent Events at `/api/live`, seed
//! 002's `/api/performance_*` and `/api/system_health` while a run goes, Prometheus text at
//! `/metrics`), the static assets embedded in the binary (`assets/`: uPlot, vendored), and
//! the guard in front of everything (`security.rs`: the token, the Content-Security-Policy).
//!
//! The server runs on a tokio runtime of its own, on threads of its own: the load engine's
//! workers never wait for it (see [`server`]).

pub mod api;
pub mod app;
pub mod assets;
pub mod live;
pub mod pages;
pub mod security;
pub mod server;

pub use app::AppState;
pub use live::LiveHub;
pub use server::{ServeError, ServeOptions, Server};
