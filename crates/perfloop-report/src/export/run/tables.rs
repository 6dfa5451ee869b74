//! The tables of the run's HTML page (`html.rs`): the latency percentiles and the phases
//! before the responses, the endpoints (two or more), the requests' accounting (by status,
//! errors by kind), the open model's rates, and the target's and the generator's resources.
//! Every string taken from the record is escaped; a figure that was not measured shows as
//! `–`.

use std::fmt::Write as _;

use crate::export::figures::{
    DASH, bytes, duration, elapsed, figure, fixed, of_asked, percentiles, phase_figures,
};
use crate::export::html::{escape, kv};
use crate::run::{LoadModel, PhaseMs, RunRecord};

pub(super) fn latency(h: &mut String, r: &RunRecord) -> std::fmt::Result {
    let l = &r.latency_ms;
    writeln!(h, "<section id=\"latency\">")?;
    writeln!(h, "<h2>Latency</h2>")?;
    writeln!(h, "<div class=\"tables\">")?;
    if l.count == 0 {
        writeln!(h, "<p class=\"note\">No response was received.</p>")?;
    } else {
        writeln!(h, "<table class=\"kv\">")?;
        for (name, v) in percentiles(l) {
            writeln!(
                h,
                "<tr><th>{name}</th><td class=\"num\">{}</td></tr>",
                duration(v)
            )?;
        }
        writeln!(
            h,
            "<tr><th>mean</th><td class=\"num\">{} ± {} stdev</td></tr>",
            duration(l.mean),
            duration(l.stdev)
        )?;
        writeln!(h, "</table>")?;
    }
    phases(h, r)?;
    writeln!(h, "</div>")?;
    writeln!(h, "</section>")
}

/// Connect and TLS handshake per connection, time to first byte per response; a phase
/// the run did not go through is left out, and the table with it when there is none.
fn phases(h: &mut String, r: &RunRecord) -> std::fmt::Result {
    let p = &r.phases_ms;
    let rows: Vec<(&str, &PhaseMs)> = [
        ("connect", &p.connect),
        ("TLS handshake", &p.tls_handshake),
        ("first byte", &p.first_byte),
    ]
    .into_iter()
    .filter_map(|(name, phase)| phase.as_ref().map(|ph| (name, ph)))
    .collect();
    if rows.is_empty() {
        return Ok(());
    }
    writeln!(h, "<table class=\"phases\">")?;
    writeln!(
        h,
        "<caption class=\"note\">Where the time went: connect and handshake per connection, \
         first byte per response</caption>"
    )?;
    writeln!(
        h,
        "<thead><tr><th>phase</th><th class=\"num\">count</th><th class=\"num\">mean</th>\
         <th class=\"num\">p50</th><th class=\"num\">p90</th><th class=\"num\">p99</th>\
         <th class=\"num\">max</th></tr></thead>"
    )?;
    writeln!(h, "<tbody>")?;
    for (name, ph) in rows {
        let cells: String = phase_figures(ph)
            .iter()
            .map(|v| format!("<td class=\"num\">{v}</td>"))
            .collect();
        writeln!(h, "<tr><td>{name}</td>{cells}</tr>")?;
    }
    writeln!(h, "</tbody>")?;
    writeln!(h, "</table>")
}

/// The endpoints, the most time waited on the target first; a run of one endpoint has
/// nothing to add to the totals.
pub(super) fn endpoints(h: &mut String, r: &RunRecord) -> std::fmt::Result {
    if r.endpoints.len() < 2 {
        return Ok(());
    }
    let mut rows: Vec<_> = r.endpoints.iter().collect();
    rows.sort_by(|a, b| b.time_share.total_cmp(&a.time_share));
    writeln!(h, "<section id=\"endpoints\">")?;
    writeln!(h, "<h2>Endpoints</h2>")?;
    writeln!(h, "<table class=\"endpoints\">")?;
    writeln!(
        h,
        "<thead><tr><th>endpoint</th><th class=\"num\">requests</th>\
         <th class=\"num\">throughput, req/s</th><th class=\"num\">p50</th>\
         <th class=\"num\">p99</th><th class=\"num\">errors</th>\
         <th class=\"num\">share of the time waited</th></tr></thead>"
    )?;
    writeln!(h, "<tbody>")?;
    for e in rows {
        let lat = |v: f64| {
            if e.latency_ms.count > 0 {
                duration(v)
            } else {
                DASH.to_string()
            }
        };
        writeln!(
            h,
            "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{:.1}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{:.1} %</td></tr>",
            escape(&e.name),
            e.requests,
            e.throughput_rps,
            lat(e.latency_ms.p50),
            lat(e.latency_ms.p99),
            e.errors,
            e.time_share * 100.0
        )?;
    }
    writeln!(h, "</tbody>")?;
    writeln!(h, "</table>")?;
    writeln!(h, "</section>")
}

pub(super) fn accounting(h: &mut String, r: &RunRecord) -> std::fmt::Result {
    let q = &r.requests;
    writeln!(h, "<section id=\"requests\">")?;
    writeln!(h, "<h2>Requests</h2>")?;
    writeln!(h, "<div class=\"tables\">")?;
    writeln!(h, "<table class=\"kv\">")?;
    let count = |h: &mut String, key: &str, n: u64, note: &str| {
        writeln!(
            h,
            "<tr><th>{key}</th><td class=\"num\">{n}</td><td class=\"note\">{note}</td></tr>"
        )
    };
    count(h, "counted", q.total, "responses and failed attempts")?;
    count(h, "ok", q.ok, "status below 400")?;
    count(h, "errors", q.errors, "failed, or status 400 and above")?;
    if q.dropped > 0 || r.load.model == LoadModel::Open {
        count(h, "dropped", q.dropped, "arrivals never sent; not counted")?;
    }
    if q.unfinished > 0 {
        count(
            h,
            "unfinished",
            q.unfinished,
            "in flight at the end; not counted",
        )?;
    }
    if q.drained > 0 {
        count(
            h,
            "drained",
            q.drained,
            "answered after the window; counted",
        )?;
    }
    if q.connections > 0 {
        count(h, "connections", q.connections, "opened in the window")?;
    }
    if q.reconnects > 0 {
        count(h, "sent again", q.reconnects, "after the server closed")?;
    }
    let of = if r.raw_tcp() {
        "responses"
    } else {
        "response bodies"
    };
    writeln!(
        h,
        "<tr><th>received</th><td class=\"num\">{}</td><td class=\"note\">of {of}</td></tr>",
        bytes(r.bytes_received as f64)
    )?;
    writeln!(h, "</table>")?;
    let table = |h: &mut String, head: &str, rows: &[(&String, &u64)]| -> std::fmt::Result {
        if rows.is_empty() {
            return Ok(());
        }
        writeln!(h, "<table>")?;
        writeln!(
            h,
            "<thead><tr><th>{head}</th><th class=\"num\">count</th></tr></thead>"
        )?;
        for (name, n) in rows {
            writeln!(
                h,
                "<tr><td>{}</td><td class=\"num\">{n}</td></tr>",
                escape(name)
            )?;
        }
        writeln!(h, "</table>")
    };
    let statuses: Vec<_> = q.by_status.iter().collect();
    table(h, "status", &statuses)?;
    let mut kinds: Vec<_> = q.errors_by_kind.iter().collect();
    kinds.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    table(h, "error kind", &kinds)?;
    writeln!(h, "</div>")?;
    writeln!(h, "</section>")
}

pub(super) fn open_model(h: &mut String, r: &RunRecord) -> std::fmt::Result {
    let Some(o) = &r.open_model else {
        return Ok(());
    };
    writeln!(h, "<section id=\"open-model\">")?;
    writeln!(h, "<h2>Open model</h2>")?;
    writeln!(h, "<table class=\"kv\">")?;
    kv(h, "asked rate", &format!("{:.1} req/s", o.asked_rate))?;
    let of_asked = of_asked(o, " ");
    kv(
        h,
        "achieved rate",
        &format!("{:.1} req/s{of_asked}", o.achieved_rate),
    )?;
    kv(h, "peak connections", &o.peak_connections.to_string())?;
    if o.answering_s > r.load.duration_s * 1.01 {
        kv(
            h,
            "answered over",
            &format!("{} (the target fell behind)", elapsed(o.answering_s)),
        )?;
    }
    kv(
        h,
        "scheduling lag",
        &format!(
            "p50 {} · p99 {} · max {}",
            duration(o.lag_ms.p50),
            duration(o.lag_ms.p99),
            duration(o.lag_ms.max)
        ),
    )?;
    writeln!(h, "</table>")?;
    writeln!(h, "</section>")
}

pub(super) fn resources(h: &mut String, r: &RunRecord) -> std::fmt::Result {
    writeln!(h, "<section id=\"resources\">")?;
    writeln!(h, "<h2>Resources</h2>")?;
    writeln!(h, "<table class=\"kv\">")?;
    match r.target.summary.as_ref().filter(|s| s.target_measured()) {
        Some(s) => {
            let pct = |v: Option<f64>| fixed(v, 0) + if v.is_some() { " %" } else { "" };
            kv(
                h,
                "target CPU",
                &format!(
                    "mean {} · max {} of one core ({} cores) · busiest thread max {}",
                    pct(s.cpu_pct_mean),
                    pct(s.cpu_pct_max),
                    s.cores,
                    pct(s.top_thread_cpu_pct_max)
                ),
            )?;
            let mib = |v: Option<f64>| fixed(v, 1) + if v.is_some() { " MiB" } else { "" };
            kv(
                h,
                "target RSS",
                &format!("max {} · mean {}", mib(s.rss_max_mb), mib(s.rss_mean_mb)),
            )?;
            let n = |v: Option<u64>| v.map_or_else(|| DASH.to_string(), |v| v.to_string());
            kv(
                h,
                "target threads, fds",
                &format!("{} · {}", n(s.threads_max), n(s.fds_max)),
            )?;
            if let Some(at) = s.target_exited_at_s {
                kv(
                    h,
                    "target exited",
                    &format!("<span class=\"fail\">at {at:.1} s</span>"),
                )?;
            }
        }
        None => kv(h, "target", "not measured (no target process was watched)")?,
    }
    let g = &r.generator;
    kv(
        h,
        "generator CPU",
        &format!(
            "user {:.2} s · sys {:.2} s · {} µs per request{}",
            g.cpu_user_s,
            g.cpu_sys_s,
            figure(g.cpu_us_per_request),
            if g.saturated {
                " · <span class=\"fail\">saturated</span>"
            } else {
                ""
            }
        ),
    )?;
    let busy: Vec<String> = g
        .threads_busy
        .iter()
        .map(|b| format!("{:.0} %", b * 100.0))
        .collect();
    kv(h, "generator threads busy", &busy.join(" · "))?;
    for note in &r.target.monitor_errors {
        kv(h, "monitor", &escape(note))?;
    }
    writeln!(h, "</table>")?;
    writeln!(h, "</section>")
}
