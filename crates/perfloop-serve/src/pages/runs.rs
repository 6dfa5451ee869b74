//! `/runs`: the saved runs, newest first, filtered by the query (`target`, `tag`, `kind`,
//! `since`, `limit`, as `/api/runs` reads them), one row `<tr data-run-id="ID">` each with
//! its headline figures and a sparkline of its throughput; a form to filter and one to
//! compare two runs.

use std::fmt::Write as _;

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use perfloop_report::StoredRecord;
use perfloop_report::headline::{self, Headline, HeadlineMetric, significant};
use perfloop_store::{RunEntry, RunId};

use super::{Page, error_page, escape, html, spark};
use crate::AppState;
use crate::api::query::RunsQuery;
use crate::api::store;

/// One listed run.
struct Listed {
    entry: RunEntry,
    headline: Headline,
    spark: String,
}

/// What the page shows.
struct Listing {
    runs: Vec<Listed>,
    targets: Vec<(String, u64)>,
}

pub(super) async fn page(State(state): State<AppState>, RawQuery(raw): RawQuery) -> Response {
    let query = match RunsQuery::parse(raw.as_deref()) {
        Ok(q) => q,
        Err(e) => return error_page(&state, &e),
    };
    let listing = match state.store.clone() {
        None => Listing {
            runs: Vec::new(),
            targets: Vec::new(),
        },
        Some(location) => {
            let filter = query.filter();
            let read = store::blocking(move || {
                let Some(db) = store::open(&location).map_err(store::ReadError::from)? else {
                    return Ok(Listing {
                        runs: Vec::new(),
                        targets: Vec::new(),
                    });
                };
                let entries = db.history(&filter).map_err(store::ReadError::from)?;
                let targets = db.targets().map_err(store::ReadError::from)?;
                let runs = entries
                    .into_iter()
                    .map(|entry| {
                        let headline =
                            serde_json::from_str(&entry.metrics_json).unwrap_or_default();
                        let spark = db
                            .run_record(RunId(entry.id.get()))
                            .ok()
                            .flatten()
                            .and_then(|json| StoredRecord::parse(entry.kind.as_str(), &json).ok())
                            .map(|record| {
                                spark::svg(&headline::series(&record, HeadlineMetric::Throughput))
                            })
                            .unwrap_or_default();
                        Listed {
                            entry,
                            headline,
                            spark,
                        }
                    })
                    .collect();
                Ok(Listing { runs, targets })
            })
            .await;
            match read {
                Ok(listing) => listing,
                Err(e) => return error_page(&state, &e),
            }
        }
    };
    let mut body = String::with_capacity(16 * 1024);
    body.push_str("<h1>Runs</h1>\n");
    if state.store.is_none() {
        body.push_str("<p class=\"note\">This run is not saved (--no-save): there is no history to show.</p>\n");
    }
    filters(&mut body, &query, &listing.targets);
    table(&mut body, &listing.runs, &query);
    compare_form(&mut body);
    let page = Page {
        title: "Runs".to_owned(),
        body,
        live: state.live.is_some(),
        ..Page::default()
    };
    html(StatusCode::OK, &page)
}

/// The filter form, filled with the query.
fn filters(h: &mut String, q: &RunsQuery, targets: &[(String, u64)]) {
    let value = |v: Option<&str>| escape(v.unwrap_or(""));
    h.push_str("<form class=\"filters\" method=\"get\" action=\"/runs\">\n");
    let _ = writeln!(
        h,
        "<label>target <input name=\"target\" list=\"targets\" value=\"{}\" size=\"28\"></label>",
        value(q.target.as_deref())
    );
    h.push_str("<datalist id=\"targets\">");
    for (target, n) in targets {
        let _ = write!(
            h,
            "<option value=\"{}\">{n} run{}</option>",
            escape(target),
            if *n == 1 { "" } else { "s" }
        );
    }
    h.push_str("</datalist>\n");
    let tags: Vec<String> = q.tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
    for tag in tags.iter().map(String::as_str).chain([""]) {
        let _ = writeln!(
            h,
            "<label>tag <input name=\"tag\" value=\"{}\" placeholder=\"key=value\" size=\"14\"></label>",
            escape(tag)
        );
    }
    h.push_str("<label>kind <select name=\"kind\"><option value=\"\">any</option>");
    for kind in ["load", "capacity", "bench", "study"] {
        let selected = q.kind.is_some_and(|k| k.as_str() == kind);
        let _ = write!(
            h,
            "<option{}>{kind}</option>",
            if selected { " selected" } else { "" }
        );
    }
    h.push_str("</select></label>\n");
    let _ = writeln!(
        h,
        "<label>since <input name=\"since\" value=\"{}\" placeholder=\"7d, 2026-01-31\" size=\"12\"></label>",
        value(q.since_text.as_deref())
    );
    let _ = writeln!(
        h,
        "<label>limit <input name=\"limit\" type=\"number\" min=\"1\" max=\"{}\" value=\"{}\"></label>",
        crate::api::query::MAX_LIMIT,
        q.limit
    );
    h.push_str("<button type=\"submit\">Filter</button> <a href=\"/runs\">clear</a>\n</form>\n");
}

/// The table of runs.
fn table(h: &mut String, runs: &[Listed], q: &RunsQuery) {
    if runs.is_empty() {
        let filtered =
            q.target.is_some() || !q.tags.is_empty() || q.kind.is_some() || q.since.is_some();
        h.push_str(if filtered {
            "<p class=\"note\" id=\"no-runs\">No saved run matches these filters.</p>\n"
        } else {
            "<p class=\"note\" id=\"no-runs\">No runs saved yet. <code>perfloop load</code>, \
             <code>capacity</code>, <code>bench-cmd</code> and <code>tune</code> save each result \
             in the store.</p>\n"
        });
    }
    h.push_str(
        "<table id=\"runs\" class=\"runs\">\n<thead><tr><th class=\"num\">id</th><th>when (UTC)</th>\
         <th>kind</th><th>target</th><th class=\"num\">req/s</th><th class=\"num\">p50 ms</th>\
         <th class=\"num\">p99 ms</th><th class=\"num\">errors</th><th>throughput</th>\
         <th>tags</th><th>commit</th></tr></thead>\n<tbody>\n",
    );
    for run in runs {
        let e = &run.entry;
        let hl = &run.headline;
        let id = e.id.get();
        let when = perfloop_store::when::minute_utc(e.started_at);
        let tags: Vec<String> = e
            .tags
            .iter()
            .map(|(k, v)| {
                let text = format!("{k}={v}");
                format!(
                    "<a class=\"tag\" href=\"/runs?tag={}\">{}</a>",
                    escape(&form_urlencoded::byte_serialize(text.as_bytes()).collect::<String>()),
                    escape(&text)
                )
            })
            .collect();
        let commit = e.git_commit.as_deref().map_or_else(String::new, |c| {
            format!(
                "<code title=\"{}\">{}</code>",
                escape(&format!("{c} {}", e.git_branch.as_deref().unwrap_or(""))),
                escape(c.get(..7).unwrap_or(c))
            )
        });
        let errors = HeadlineMetric::ErrorRate.show(hl.error_rate);
        let _ = writeln!(
            h,
            "<tr data-run-id=\"{id}\"><td class=\"num\"><a href=\"/runs/{id}\">{id}</a></td>\
             <td class=\"when\">{}</td><td>{}</td><td class=\"target\"><code>{}</code></td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td class=\"spark\">{}</td><td>{}</td><td>{}</td></tr>",
            escape(&when),
            escape(e.kind.as_str()),
            escape(&e.target),
            significant(hl.throughput_rps),
            significant(hl.p50_ms),
            significant(hl.p99_ms),
            escape(&errors),
            run.spark,
            tags.join(" "),
            commit
        );
    }
    h.push_str("</tbody>\n</table>\n");
}

/// Two run ids to compare.
fn compare_form(h: &mut String) {
    h.push_str(
        "<form class=\"compare\" method=\"get\" action=\"/compare\">\n<h2>Compare two runs</h2>\n\
         <label>A <input name=\"a\" type=\"number\" min=\"1\" required></label>\n\
         <label>B <input name=\"b\" type=\"number\" min=\"1\" required></label>\n\
         <button type=\"submit\">Compare</button>\n</form>\n",
    );
}
