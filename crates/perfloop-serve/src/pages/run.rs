//! `/runs/{id}`: one saved run.
//!
//! A load run: what it was (the store's facts: when, tags, commit, command line), then its
//! HTML report (perfloop-report's `RunHtml`: warnings, headline, objectives, latency,
//! endpoints, requests, resources) with the report's static plots replaced by the
//! dashboard's charts (`.chart` elements drawn by app.js from `/api/runs/{id}/timeline`)
//! and the diagnosis's findings (`perfloop-diagnose`, a pure function of the record). A
//! capacity search or a study: its HTML report as `perfloop show --html` writes it; a
//! command benchmark: its text report.

use std::fmt::Write as _;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use perfloop_report::export::{Exporter, RunHtml};
use perfloop_report::{CapacityHtml, Finding, StoredRecord, StudyHtml, render_bench_text};
use perfloop_store::RunEntry;

use super::report::{Report, replace_section, split};
use super::{Page, error_page, escape, html};
use crate::AppState;
use crate::api::store;
use crate::api::{ApiError, run_id};

/// The charts of a load run: id, title, what it shows.
pub(crate) const RUN_CHARTS: [(&str, &str, &str); 6] = [
    ("chart-throughput", "Throughput", "requests per second"),
    (
        "chart-latency",
        "Latency",
        "p50, p90, p99 and max of each second, ms",
    ),
    ("chart-errors", "Errors", "errors per second"),
    (
        "chart-cpu",
        "CPU",
        "the target's and the generator's CPU, cores",
    ),
    ("chart-rss", "Memory", "the target's resident memory, MiB"),
    (
        "chart-histogram",
        "Latency distribution",
        "the whole run's latencies, merged from its seconds",
    ),
];

pub(super) async fn page(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    let id = match run_id(&id) {
        Ok(id) => id,
        Err(e) => return error_page(&state, &e),
    };
    let Some(location) = state.store.clone() else {
        return error_page(
            &state,
            &ApiError::not_found(format!("run {id} is not in the store")),
        );
    };
    let loaded = store::blocking(move || {
        let (entry, record) = store::load(&location, id)?;
        Ok(render(&entry, &record))
    })
    .await;
    match loaded {
        Ok((title, view, report)) => {
            let page = Page {
                title,
                view,
                data: vec![("run-id", id.to_string())],
                style: report.style,
                body: report.body,
                live: state.live.is_some(),
            };
            html(StatusCode::OK, &page)
        }
        Err(e) => error_page(&state, &e),
    }
}

/// The page's title, what app.js draws, and the content.
fn render(entry: &RunEntry, record: &StoredRecord) -> (String, &'static str, Report) {
    let id = entry.id.get();
    let mut head = String::new();
    facts(&mut head, entry);
    let (view, mut report) = match record {
        StoredRecord::Run(r) => {
            let page = RunHtml.to_bytes(r).unwrap_or_default();
            let mut report = split(&String::from_utf8_lossy(&page));
            let mut charts = String::new();
            charts_section(&mut charts);
            findings(&mut charts, &perfloop_diagnose::diagnose_run(r));
            report.body = replace_section(&report.body, "plots", &charts)
                .unwrap_or_else(|| format!("{}\n{charts}", report.body));
            ("run", report)
        }
        StoredRecord::Capacity(r) => (
            "",
            split(&String::from_utf8_lossy(
                &CapacityHtml.to_bytes(r).unwrap_or_default(),
            )),
        ),
        StoredRecord::Study(r) => (
            "",
            split(&String::from_utf8_lossy(
                &StudyHtml.to_bytes(r).unwrap_or_default(),
            )),
        ),
        StoredRecord::Bench(r) => (
            "",
            Report {
                style: String::new(),
                body: format!(
                    "<section id=\"bench\"><pre class=\"report\">{}</pre></section>",
                    escape(&render_bench_text(r))
                ),
            },
        ),
    };
    report.body = format!("{head}{}", report.body);
    (
        format!("Run {id} · {} · {}", entry.kind, entry.target),
        view,
        report,
    )
}

/// What the store knows of the run, and where to go from it.
fn facts(h: &mut String, e: &RunEntry) {
    let id = e.id.get();
    let _ = writeln!(h, "<div class=\"run-facts\" id=\"run-facts\">");
    let _ = writeln!(
        h,
        "<p class=\"crumbs\"><a href=\"/runs\">Runs</a> › run {id} · {} · saved {} · \
         <a href=\"/api/runs/{id}\">JSON</a>{}</p>",
        escape(e.kind.as_str()),
        escape(&perfloop_store::when::rfc3339(e.started_at)),
        if e.kind.as_str() == "load" {
            format!(" · <a href=\"/api/runs/{id}/timeline\">timeline JSON</a>")
        } else {
            String::new()
        }
    );
    let mut parts: Vec<String> = e
        .tags
        .iter()
        .map(|(k, v)| format!("<span class=\"tag\">{}</span>", escape(&format!("{k}={v}"))))
        .collect();
    if let Some(commit) = &e.git_commit {
        let branch = e
            .git_branch
            .as_deref()
            .map_or_else(String::new, |b| format!(" on {}", escape(b)));
        parts.push(format!(
            "commit <code>{}</code>{branch}",
            escape(commit.get(..12).unwrap_or(commit))
        ));
    }
    if !parts.is_empty() {
        let _ = writeln!(h, "<p class=\"meta\">{}</p>", parts.join(" · "));
    }
    let _ = writeln!(
        h,
        "<p class=\"meta\">command <code>{}</code></p>",
        escape(&e.command_line)
    );
    if e.kind.as_str() == "load" {
        let _ = writeln!(
            h,
            "<form class=\"compare inline\" method=\"get\" action=\"/compare\">\
             <input type=\"hidden\" name=\"a\" value=\"{id}\">\
             <label>compare with run <input name=\"b\" type=\"number\" min=\"1\" required></label> \
             <button type=\"submit\">Compare</button></form>"
        );
    }
    let _ = writeln!(h, "</div>");
}

/// The charts app.js draws from the timeline.
fn charts_section(h: &mut String) {
    h.push_str(
        "<section id=\"charts\">\n<h2>Over the run</h2>\n\
         <p class=\"note\" id=\"charts-status\">Loading the timeline…</p>\n<div class=\"charts\">\n",
    );
    for (id, title, what) in RUN_CHARTS {
        let _ = writeln!(
            h,
            "<figure class=\"chart-box\"><h3>{title}</h3><div class=\"chart\" id=\"{id}\" \
             data-points=\"0\"></div><figcaption>{what}</figcaption></figure>"
        );
    }
    h.push_str("</div>\n</section>\n");
}

/// The diagnosis's findings, as the capacity report shows them.
fn findings(h: &mut String, list: &[Finding]) {
    let _ = perfloop_report::export::write_findings_html(h, list);
}
