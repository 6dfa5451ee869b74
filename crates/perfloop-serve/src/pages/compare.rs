//! `/compare/{a}/{b}`: two runs side by side: their throughput and 99th percentile over
//! their seconds overlaid (`.chart` elements drawn by app.js from both timelines) and,
//! when both are load runs, the verdicts of `perfloop compare A B` (perfloop-report's
//! compare record) in `<table id="verdicts">`.

use std::fmt::Write as _;

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use perfloop_report::headline::{HeadlineMetric, significant};
use perfloop_report::{CompareRecord, MetricChange};
use perfloop_store::RunEntry;

use super::{Page, error_page, escape, html};
use crate::AppState;
use crate::api::compare::{self, Comparison};
use crate::api::query::CompareQuery;
use crate::api::store;
use crate::api::{ApiError, run_id};

pub(super) async fn page(
    State(state): State<AppState>,
    Path((a, b)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Response {
    let ids = run_id(&a).and_then(|a| Ok((a, run_id(&b)?)));
    let (a, b) = match ids {
        Ok(ids) => ids,
        Err(e) => return error_page(&state, &e),
    };
    let options = match CompareQuery::parse(raw.as_deref()) {
        Ok(q) => q.options,
        Err(e) => return error_page(&state, &e),
    };
    let Some(location) = state.store.clone() else {
        return error_page(
            &state,
            &ApiError::not_found(format!("run {a} is not in the store")),
        );
    };
    match store::blocking(move || compare::build(&location, a, b, &options)).await {
        Ok(c) => {
            let page = Page {
                title: format!("Run {b} against run {a}"),
                view: "compare",
                data: vec![("a", a.to_string()), ("b", b.to_string())],
                body: render(&c),
                live: state.live.is_some(),
                ..Page::default()
            };
            html(StatusCode::OK, &page)
        }
        Err(e) => error_page(&state, &e),
    }
}

fn render(c: &Comparison) -> String {
    let (a, b) = (c.a.id.get(), c.b.id.get());
    let mut h = String::new();
    let _ = writeln!(h, "<h1>Run {b} against run {a}</h1>");
    h.push_str("<table class=\"kv sides\">\n");
    side(&mut h, "A", &c.a);
    side(&mut h, "B", &c.b);
    h.push_str("</table>\n");
    if !c.notes.is_empty() {
        h.push_str("<ul class=\"notes\" id=\"notes\">\n");
        for note in &c.notes {
            let _ = writeln!(h, "<li>{}</li>", escape(note));
        }
        h.push_str("</ul>\n");
    }
    h.push_str("<section id=\"charts\">\n<h2>Over the runs</h2>\n\
                <p class=\"note\" id=\"charts-status\">Loading the timelines…</p>\n<div class=\"charts\">\n");
    for (id, title) in [
        ("chart-compare-throughput", "Throughput, req/s"),
        ("chart-compare-p99", "99th percentile, ms"),
    ] {
        let _ = writeln!(
            h,
            "<figure class=\"chart-box\"><h3>{title}</h3><div class=\"chart\" id=\"{id}\" \
             data-points=\"0\"></div><figcaption>run {a} (A) and run {b} (B), by second since each \
             run's start</figcaption></figure>"
        );
    }
    h.push_str("</div>\n</section>\n");
    if let Some(record) = &c.record {
        verdicts(&mut h, record);
    }
    h
}

fn side(h: &mut String, name: &str, e: &RunEntry) {
    let id = e.id.get();
    let tags: Vec<String> = e
        .tags
        .iter()
        .map(|(k, v)| escape(&format!("{k}={v}")))
        .collect();
    let _ = writeln!(
        h,
        "<tr><th>{name}</th><td><a href=\"/runs/{id}\">run {id}</a> · {} · {} · <code>{}</code>{}</td></tr>",
        escape(e.kind.as_str()),
        escape(&perfloop_store::when::rfc3339(e.started_at)),
        escape(&e.target),
        if tags.is_empty() {
            String::new()
        } else {
            format!(" · {}", tags.join(" "))
        }
    );
}

/// The compare record's metrics as a table.
fn verdicts(h: &mut String, r: &CompareRecord) {
    h.push_str("<section id=\"comparison\">\n<h2>Verdicts</h2>\n");
    let _ = writeln!(
        h,
        "<table id=\"verdicts\">\n<thead><tr><th>metric</th><th class=\"num\">A</th>\
         <th class=\"num\">B</th><th class=\"num\">change</th><th class=\"num\">{:.0} % interval</th>\
         <th>verdict</th></tr></thead>\n<tbody>",
        r.confidence * 100.0
    );
    for (name, m) in r.metrics.all() {
        let unit = match name {
            "throughput" => " req/s",
            "error_rate" => "",
            _ => " ms",
        };
        let shown = |v: Option<f64>| {
            if name == "error_rate" {
                HeadlineMetric::ErrorRate.show(v)
            } else {
                let f = significant(v);
                if f == "–" { f } else { format!("{f}{unit}") }
            }
        };
        let _ = writeln!(
            h,
            "<tr data-metric=\"{name}\"><td>{name}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"verdict {v}\">{v}</td></tr>",
            escape(&shown(m.a)),
            escape(&shown(m.b)),
            percent(m.change),
            interval(m),
            v = m.verdict.name()
        );
    }
    h.push_str("</tbody>\n</table>\n");
    let _ = writeln!(
        h,
        "<p class=\"note\">{} Changes smaller than {:.0} % ({:.0} % for p99 and p99.9) are called the same.</p>",
        escape(&r.method),
        r.threshold * 100.0,
        r.tail_threshold * 100.0
    );
    if !r.warnings.is_empty() {
        h.push_str("<ul class=\"warnings-list\">\n");
        for w in &r.warnings {
            let _ = writeln!(h, "<li>run {}: {}</li>", w.run, escape(&w.message));
        }
        h.push_str("</ul>\n");
    }
    for note in &r.notes {
        let _ = writeln!(h, "<p class=\"note\">{}</p>", escape(note));
    }
    h.push_str("</section>\n");
}

fn percent(v: Option<f64>) -> String {
    v.filter(|v| v.is_finite())
        .map_or_else(|| "–".to_owned(), |v| format!("{:+.1} %", v * 100.0))
}

fn interval(m: &MetricChange) -> String {
    match (m.ci_low, m.ci_high) {
        (Some(lo), Some(hi)) if lo.is_finite() && hi.is_finite() => {
            format!("{:+.1} % to {:+.1} %", lo * 100.0, hi * 100.0)
        }
        _ => "–".to_owned(),
    }
}
