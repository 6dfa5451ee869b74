//! The pages: HTML written on the server from the store, charts drawn in the browser by
//! `assets/app.js` from the API (no inline script anywhere: the page says what to draw
//! in `data-` attributes of its `<body>`).
//!
//! | route | page |
//! | --- | --- |
//! | `/` | the live run when there is one (`live.rs`), else a redirect to `/runs` |
//! | `/runs` | the saved runs, filtered, with a sparkline each (`runs.rs`) |
//! | `/runs/{id}` | one run: a load run's charts, warnings, findings and report tables; a capacity search's, a study's or a benchmark's report (`run.rs`) |
//! | `/compare/{a}/{b}` | two runs overlaid, and the compare verdicts of two load runs (`compare.rs`) |
//!
//! Every string from the store is escaped ([`escape`]); an unknown run or path is a 404
//! page (a JSON 404 under `/api/`).

mod compare;
mod live;
mod report;
mod run;
mod runs;
mod spark;

use std::fmt::Write as _;

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::{StatusCode, Uri};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;

use crate::AppState;
use crate::api::ApiError;

/// The routes of this part.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(index))
        .route("/runs", get(runs::page))
        .route("/runs/{id}", get(run::page))
        .route("/compare", get(compare_form))
        .route("/compare/{a}/{b}", get(compare::page))
        .fallback(not_found)
}

pub use perfloop_report::export::escape_html as escape;

/// A page to lay out.
#[derive(Debug, Default)]
pub(crate) struct Page {
    /// The title (escaped here).
    pub title: String,
    /// What app.js draws on it: `run`, `compare`, `live`; empty for nothing.
    pub view: &'static str,
    /// More `data-` attributes of `<body>` (name without `data-`, value escaped here).
    pub data: Vec<(&'static str, String)>,
    /// A style sheet of the page's own (a report's), before the dashboard's.
    pub style: String,
    /// The content of `<main>`, HTML.
    pub body: String,
    /// Whether a run is live (the nav links to it).
    pub live: bool,
}

impl Page {
    /// The whole document.
    pub fn render(&self) -> String {
        let mut h = String::with_capacity(self.body.len() + 2048);
        let _ = write!(
            h,
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <title>{} · perfloop</title>\n",
            escape(&self.title)
        );
        if !self.style.is_empty() {
            let _ = writeln!(h, "<style>{}</style>", self.style.replace("</", "<\\/"));
        }
        h.push_str(
            "<link rel=\"icon\" href=\"/assets/favicon.svg\" type=\"image/svg+xml\">\n\
             <link rel=\"stylesheet\" href=\"/assets/uPlot.min.css\">\n\
             <link rel=\"stylesheet\" href=\"/assets/app.css\">\n",
        );
        if !self.view.is_empty() {
            h.push_str(
                "<script src=\"/assets/uPlot.iife.min.js\" defer></script>\n\
                 <script src=\"/assets/app.js\" defer></script>\n",
            );
        }
        h.push_str("</head>\n<body");
        if !self.view.is_empty() {
            let _ = write!(h, " data-view=\"{}\"", self.view);
        }
        for (name, value) in &self.data {
            let _ = write!(h, " data-{name}=\"{}\"", escape(value));
        }
        h.push_str(">\n<nav class=\"top\"><a class=\"brand\" href=\"/runs\">perfloop</a>");
        h.push_str("<a href=\"/runs\">Runs</a>");
        if self.live {
            h.push_str("<a href=\"/\" class=\"live-link\">Live</a>");
        }
        h.push_str("</nav>\n<main>\n");
        h.push_str(&self.body);
        h.push_str("\n</main>\n</body>\n</html>\n");
        h
    }
}

/// A page as a response with `status`.
pub(crate) fn html(status: StatusCode, page: &Page) -> Response {
    (status, Html(page.render())).into_response()
}

/// An error as a page: its status, its sentence.
pub(crate) fn error_page(state: &AppState, error: &ApiError) -> Response {
    let title = match error.status {
        StatusCode::NOT_FOUND => "Not found",
        StatusCode::BAD_REQUEST => "Bad request",
        _ => "Error",
    };
    let page = Page {
        title: title.to_owned(),
        body: format!(
            "<h1>{title}</h1>\n<p class=\"error\">{}</p>\n<p><a href=\"/runs\">All runs</a></p>",
            escape(&error.message)
        ),
        live: state.live.is_some(),
        ..Page::default()
    };
    html(error.status, &page)
}

/// `/`: the live run, or the runs.
async fn index(State(state): State<AppState>) -> Response {
    if state.live.is_some() {
        html(StatusCode::OK, &live::page())
    } else {
        Redirect::to("/runs").into_response()
    }
}

/// `/compare?a=A&b=B` (the runs page's form): to `/compare/A/B`.
async fn compare_form(State(state): State<AppState>, RawQuery(raw): RawQuery) -> Response {
    let mut a = None;
    let mut b = None;
    for (name, value) in form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
        match name.as_ref() {
            "a" => a = Some(value.trim().to_owned()),
            "b" => b = Some(value.trim().to_owned()),
            _ => {}
        }
    }
    let ids = (
        crate::api::run_id(a.as_deref().unwrap_or("")),
        crate::api::run_id(b.as_deref().unwrap_or("")),
    );
    match ids {
        (Ok(a), Ok(b)) => Redirect::to(&format!("/compare/{a}/{b}")).into_response(),
        (Err(e), _) | (_, Err(e)) => error_page(&state, &e),
    }
}

/// Anything else: a 404 page, JSON under `/api/`.
async fn not_found(State(state): State<AppState>, uri: Uri) -> Response {
    let path = uri.path();
    let error = ApiError::not_found(format!("nothing at {path}"));
    if path == "/api" || path.starts_with("/api/") {
        error.into_response()
    } else {
        error_page(&state, &error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_markup_and_quotes() {
        assert_eq!(
            escape(r#"<script>alert('x')</script> & "q""#),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
    }
}
