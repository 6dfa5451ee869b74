//! The HTML report of one run: one self-contained page (inline CSS, inline SVG, no script,
//! nothing fetched) that opens from a file.
//!
//! Sections, in order: what was measured and how; the warnings that invalidate the figures,
//! loud, before any figure; the headline figures (throughput, median and 99th percentile
//! latency, errors, the objectives' verdict); the warnings that bound or qualify a figure;
//! the objectives one by one; the alerts that fired or resolved (when any did); the plots (see `plot.rs`; a plot whose data was not measured
//! is replaced by a line saying so); the latency percentiles and the phases before the
//! responses; the endpoints (two or more); the requests' accounting (by status, errors by
//! kind); the open model's rates; the target's resources and the generator's own (the
//! tables in `tables.rs`). Every string taken from the record is escaped; a figure that was
//! not measured shows as `–`.

use std::fmt::Write as _;
use std::io;

use super::alert_figure;
use super::plot::{RunPlot, plots};
use super::tables::{accounting, endpoints, latency, open_model, resources};
use crate::export::Exporter;
use crate::export::figures::{DASH, duration, figure, number, sent};
use crate::export::html::{self, escape, head, warnings, watched};
use crate::run::{AlertState, LoadModel, RunEnding, RunRecord, SloResult, WarningKind};

/// Writes the HTML report of one run.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunHtml;

impl Exporter<RunRecord> for RunHtml {
    fn write(&self, record: &RunRecord, out: &mut dyn io::Write) -> io::Result<()> {
        let mut page = String::with_capacity(64 * 1024);
        render(&mut page, record)
            .map_err(|_| io::Error::other("the report could not be formatted"))?;
        out.write_all(page.as_bytes())
    }
}

/// The run page's rules, after the reports' shared style sheet.
const RUN_STYLE: &str = "
.cards{display:flex;flex-wrap:wrap;gap:.8em;margin:.6em 0 1em}
.card{border:1px solid #e0e0e0;border-radius:4px;padding:.45em .9em;min-width:9em}
.card .k{color:#616161;font-size:.85em}.card .v{font-size:1.45em;font-weight:600;
font-variant-numeric:tabular-nums;white-space:nowrap}.card .s{color:#616161;font-size:.85em}
.caveats{border-left:4px solid #ef6c00;padding:.1em 1em;background:#fffaf3}
.tables{display:flex;flex-wrap:wrap;gap:0 2.5em;align-items:flex-start}
figure.absent p{margin:.2em 0}caption{text-align:left;padding:0 .6em .3em}
";

fn render(h: &mut String, r: &RunRecord) -> std::fmt::Result {
    let target = format!(
        "{}{}",
        sent(&r.target.method, r.target.scenario.as_ref()),
        r.target.url
    );
    head(h, &format!("perfloop run · {target}"), RUN_STYLE)?;
    header(h, r, &target)?;
    warnings(h, &invalidating(r))?;
    headline(h, r)?;
    caveats(h, r)?;
    objectives(h, r)?;
    alerts(h, r)?;
    plot_section(h, r)?;
    latency(h, r)?;
    endpoints(h, r)?;
    accounting(h, r)?;
    open_model(h, r)?;
    resources(h, r)?;
    writeln!(
        h,
        "<footer>perfloop {} · run record {}</footer>",
        escape(&r.perfloop_version),
        escape(&r.schema)
    )?;
    writeln!(h, "</body>")?;
    writeln!(h, "</html>")
}

fn header(h: &mut String, r: &RunRecord, target: &str) -> std::fmt::Result {
    let load = &r.load;
    writeln!(h, "<header>")?;
    writeln!(h, "<h1>Load run of <code>{}</code></h1>", escape(target))?;
    let mut when = format!("{} s measured", number(load.duration_s));
    if load.warmup_s > 0.0 {
        when.push_str(&format!(" after {} s warm-up", number(load.warmup_s)));
    }
    writeln!(
        h,
        "<p class=\"meta\">started {} · {when} · ended {} · perfloop {}</p>",
        escape(&r.started_at),
        r.ending.name(),
        escape(&r.perfloop_version)
    )?;
    let up_to = if load.stages.is_some() { "up to " } else { "" };
    let mut parts = vec![match load.model {
        LoadModel::Closed => "closed model".to_string(),
        LoadModel::Open => "open model".to_string(),
    }];
    if let Some(c) = load.connections {
        parts.push(format!("{up_to}{c} connections"));
    }
    if let Some(rate) = load.rate {
        parts.push(format!("{up_to}{} req/s", number(rate)));
    }
    if let Some(max) = load.max_connections {
        parts.push(format!("max {max} connections"));
    }
    parts.push(format!("{} threads", load.threads));
    if let Some(n) = load.request_limit {
        parts.push(format!("limit {n} requests"));
    }
    parts.push(format!("timeout {} s", number(load.timeout_s)));
    if let Some(level) = &load.level {
        parts.push(format!("level {}", escape(level)));
    }
    writeln!(h, "<p class=\"meta\">{}</p>", parts.join(" · "))?;
    if let Some(stages) = &load.stages {
        let list: Vec<String> = stages
            .iter()
            .map(|s| format!("{} s → {}", number(s.duration_s), number(s.target)))
            .collect();
        writeln!(h, "<p class=\"meta\">stages {}</p>", list.join(", "))?;
    }
    if let Some(tls) = &r.tls {
        let alpn = tls
            .alpn
            .as_ref()
            .map_or_else(|| "no ALPN".to_string(), |a| format!("ALPN {}", escape(a)));
        writeln!(
            h,
            "<p class=\"meta\">TLS {} · {} · {alpn}</p>",
            escape(&tls.version),
            escape(&tls.cipher)
        )?;
    }
    if !r.target.header_names.is_empty() {
        let names: Vec<String> = r
            .target
            .header_names
            .iter()
            .map(|n| format!("<code>{}</code>", escape(n)))
            .collect();
        writeln!(
            h,
            "<p class=\"meta\">headers {} (values not recorded)</p>",
            names.join(" ")
        )?;
    }
    watched(h, r.target.command.as_deref(), r.target.pid)?;
    writeln!(h, "</header>")
}

/// The messages of the warnings that invalidate the figures; a saturated generator is one
/// even in a record without its warning.
fn invalidating(r: &RunRecord) -> Vec<String> {
    let mut list: Vec<String> = r
        .warnings
        .iter()
        .filter(|w| w.invalidates)
        .map(|w| w.message.clone())
        .collect();
    if r.generator.saturated && r.warning(WarningKind::GeneratorSaturated).is_none() {
        list.insert(
            0,
            "GENERATOR SATURATED: the load generator was the bottleneck of this run.".into(),
        );
    }
    list
}

/// One headline figure: what it is, its value (HTML), a line under it (HTML).
fn card(h: &mut String, key: &str, value: &str, sub: &str) -> std::fmt::Result {
    writeln!(
        h,
        "<div class=\"card\"><div class=\"k\">{key}</div><div class=\"v\">{value}</div>\
         <div class=\"s\">{sub}</div></div>"
    )
}

fn headline(h: &mut String, r: &RunRecord) -> std::fmt::Result {
    let (q, l) = (&r.requests, &r.latency_ms);
    writeln!(h, "<section id=\"headline\">")?;
    writeln!(h, "<div class=\"cards\">")?;
    card(
        h,
        "throughput",
        &format!("{} req/s", figure(r.throughput_rps)),
        &format!("{} requests", q.total),
    )?;
    let measured = |v: f64| {
        if l.count > 0 {
            duration(v)
        } else {
            DASH.to_string()
        }
    };
    card(
        h,
        "latency p50",
        &measured(l.p50),
        &format!("{} responses", l.count),
    )?;
    card(
        h,
        "latency p99",
        &measured(l.p99),
        &format!("max {}", measured(l.max)),
    )?;
    let rate = if q.total > 0 {
        format!("{} of the requests", error_share(q.errors, q.total))
    } else {
        "no request".to_string()
    };
    let class = if q.errors > 0 { " class=\"fail\"" } else { "" };
    card(
        h,
        "errors",
        &format!("<span{class}>{}</span>", q.errors),
        &rate,
    )?;
    if !r.slo.is_empty() {
        let passed = r.slo.iter().filter(|s| s.pass).count();
        let verdict = if r.slo_failed() {
            "<span class=\"fail\">FAIL</span>"
        } else {
            "<span class=\"pass\">PASS</span>"
        };
        card(
            h,
            "objectives",
            verdict,
            &format!("{passed} of {} passed", r.slo.len()),
        )?;
    }
    writeln!(h, "</div>")?;
    writeln!(h, "</section>")
}

/// `part` of `whole` as a percentage with enough decimals to tell a few errors from none.
fn error_share(part: u64, whole: u64) -> String {
    format!("{} %", figure(part as f64 / whole as f64 * 100.0))
}

fn caveats(h: &mut String, r: &RunRecord) -> std::fmt::Result {
    let list: Vec<&str> = r
        .warnings
        .iter()
        .filter(|w| !w.invalidates)
        .map(|w| w.message.as_str())
        .collect();
    if list.is_empty() {
        return Ok(());
    }
    writeln!(h, "<section id=\"caveats\" class=\"caveats\">")?;
    writeln!(h, "<h2>What bounds or qualifies these figures</h2>")?;
    writeln!(h, "<ul>")?;
    for w in list {
        writeln!(h, "<li>{}</li>", escape(w))?;
    }
    writeln!(h, "</ul>")?;
    writeln!(h, "</section>")
}

fn objectives(h: &mut String, r: &RunRecord) -> std::fmt::Result {
    if r.slo.is_empty() {
        return Ok(());
    }
    writeln!(h, "<section id=\"objectives\">")?;
    writeln!(h, "<h2>Objectives</h2>")?;
    if r.ending == RunEnding::Interrupted {
        writeln!(
            h,
            "<p class=\"fail\">Interrupted: the verdicts are on part of the run, not a pass.</p>"
        )?;
    }
    writeln!(h, "<table>")?;
    writeln!(
        h,
        "<thead><tr><th></th><th>objective</th><th>endpoint</th><th class=\"num\">measured</th>\
         <th class=\"num\">threshold</th></tr></thead>"
    )?;
    writeln!(h, "<tbody>")?;
    for s in &r.slo {
        writeln!(
            h,
            "<tr><td>{}</td><td><code>{}</code></td><td>{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td></tr>",
            if s.pass {
                "<span class=\"pass\">PASS</span>"
            } else {
                "<span class=\"fail\">FAIL</span>"
            },
            escape(&s.expr),
            s.endpoint
                .as_ref()
                .map_or_else(|| "the whole run".to_string(), |e| escape(e)),
            s.value
                .map_or_else(|| "not measured".to_string(), |v| escape(&slo_value(s, v))),
            escape(&slo_value(s, s.threshold))
        )?;
    }
    writeln!(h, "</tbody>")?;
    writeln!(h, "</table>")?;
    writeln!(h, "</section>")
}

/// The alerts that fired or resolved, in the order they happened; nothing when none did.
fn alerts(h: &mut String, r: &RunRecord) -> std::fmt::Result {
    if r.alerts.is_empty() {
        return Ok(());
    }
    writeln!(h, "<section id=\"alerts\">")?;
    writeln!(h, "<h2>Alerts</h2>")?;
    writeln!(h, "<table>")?;
    writeln!(
        h,
        "<thead><tr><th class=\"num\">second</th><th>state</th><th>rule</th>\
         <th class=\"num\">value</th><th class=\"num\">threshold</th><th>at</th></tr></thead>"
    )?;
    writeln!(h, "<tbody>")?;
    for a in &r.alerts {
        writeln!(
            h,
            "<tr><td class=\"num\">{}</td><td>{}</td><td><code>{}</code></td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
            a.t_s,
            match a.state {
                AlertState::Firing => "<span class=\"fail\">firing</span>",
                AlertState::Resolved => "<span class=\"pass\">resolved</span>",
            },
            escape(&a.rule),
            escape(&alert_figure(&a.rule, a.value)),
            escape(&alert_figure(&a.rule, a.threshold)),
            a.at.as_deref().map_or_else(String::new, escape)
        )?;
    }
    writeln!(h, "</tbody>")?;
    writeln!(h, "</table>")?;
    writeln!(h, "</section>")
}

fn slo_value(s: &SloResult, v: f64) -> String {
    match s.unit.as_str() {
        "ms" => duration(v),
        "ratio" => format!("{} %", figure(v * 100.0)),
        "req/s" => format!("{} req/s", figure(v)),
        "cores" => format!("{} cores", figure(v)),
        "MiB" => format!("{} MiB", figure(v)),
        unit => format!("{} {unit}", figure(v)),
    }
}

fn plot_section(h: &mut String, r: &RunRecord) -> std::fmt::Result {
    writeln!(h, "<section id=\"plots\">")?;
    writeln!(h, "<h2>Plots</h2>")?;
    for p in plots(r) {
        match p {
            RunPlot::Drawn(p) => html::figure(h, &p)?,
            RunPlot::Absent(a) => writeln!(
                h,
                "<figure id=\"{}\" class=\"absent\"><h3>{}</h3><p class=\"note\">{}</p></figure>",
                a.id,
                escape(a.title),
                escape(&a.reason)
            )?,
        }
    }
    writeln!(h, "</section>")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) mod tests {
    use std::collections::BTreeMap;

    use serde_json::{Value, json};

    use super::*;
    use crate::run::{AlertEvent, EndpointFigures, PhaseMs, SCHEMA, Warning};

    /// A closed-model run of four rows (the last half a second), with errors, a watched
    /// target sampled through the warm-up, one passing and one failing objective, and a
    /// caveat.
    pub(crate) fn record() -> RunRecord {
        let latency = json!({"count": 1000, "min": 0.5, "mean": 3.1, "stdev": 2.0, "p50": 2.5,
            "p75": 3.5, "p90": 5.0, "p95": 6.5, "p99": 9.75, "p99_9": 14.0, "max": 20.0});
        let samples: Vec<Value> = (-2..8)
            .map(|i| f64::from(i) * 0.5)
            .map(|t| {
                json!({"t_s": t, "interval_s": 0.5, "cpu_pct": 80.0 + t * 10.0,
                "top_thread_cpu_pct": 45.0, "rss_mb": 120.0 + t, "processes": 1,
                "host_cpu_pct": 30.0, "host_mem_used_mb": 900.0, "host_mem_total_mb": 4000.0,
                "generator_cpu_pct": 10.0})
            })
            .collect();
        let timeline: Vec<Value> = (0..4)
            .map(|t| {
                json!({"t_s": t, "length_s": if t == 3 { 0.5 } else { 1.0 },
                "requests": 290, "errors": if t == 1 { 12 } else { 0 },
                "rps": if t == 3 { 580.0 } else { 290.0 }, "p50_ms": 2.5, "p90_ms": 5.0,
                "p99_ms": 9.0 + f64::from(t), "max_ms": 20.0})
            })
            .collect();
        let slo = |expr: &str, metric: &str, value: f64, threshold: f64, unit: &str| {
            json!({"expr": expr, "metric": metric, "value": value, "threshold": threshold,
                "unit": unit, "pass": value < threshold})
        };
        serde_json::from_value(json!({
            "schema": SCHEMA, "perfloop_version": "0.1.0", "started_at": "2025-01-31T12:00:00Z",
            "target": {"url": "http://127.0.0.1:8080/items", "method": "GET",
                "header_names": ["Authorization"], "command": "server --port 8080", "pid": 4242,
                "samples": samples,
                "summary": {"target_pid": 4242, "samples": 10, "duration_s": 5.0,
                    "interval_s": 0.5, "cores": 4, "cpu_pct_mean": 95.0, "cpu_pct_max": 115.0,
                    "rss_max_mb": 123.5, "rss_mean_mb": 121.5, "host_cpu_pct_mean": 30.0,
                    "host_cpu_pct_max": 35.0, "host_mem_used_max_mb": 900.0,
                    "host_mem_total_mb": 4000.0, "generator_cpu_pct_mean": 10.0,
                    "generator_cpu_pct_max": 12.0, "monitor_cpu_pct": 0.5, "scrapes": 0,
                    "scrape_failures": 0}},
            "load": {"model": "closed", "connections": 8, "max_connections": null,
                "rate": null, "duration_s": 3.5, "warmup_s": 1.0, "threads": 2,
                "request_limit": null, "timeout_s": 5.0, "stages": null, "level": null},
            "requests": {"total": 1012, "ok": 1000, "errors": 12, "dropped": 0,
                "unfinished": 0, "connections": 8, "by_status": {"200": 1000, "503": 2},
                "errors_by_kind": {"status_5xx": 2, "timeout": 10}},
            "throughput_rps": 289.14, "in_flight_mean": 0.9, "bytes_received": 12000,
            "latency_ms": latency,
            "latency_histogram": [{"le_ms": 1.0, "count": 100}, {"le_ms": 3.0, "count": 700},
                {"le_ms": 20.0, "count": 200}],
            "open_model": null,
            "generator": {"cpu_user_s": 0.2, "cpu_sys_s": 0.1, "cpu_us_per_request": 296.4,
                "threads_busy": [0.1, 0.12], "saturated": false},
            "timeline": timeline,
            "slo": [slo("p99<50ms", "p99", 9.75, 50.0, "ms"),
                slo("error_rate<0.1%", "error_rate", 12.0 / 1012.0, 0.001, "ratio")],
            "ending": "completed",
            "warnings": [{"kind": "handshake_per_request", "invalidates": false,
                "message": "the server closed its connections after every response"}],
        }))
        .unwrap()
    }

    fn page(r: &RunRecord) -> String {
        String::from_utf8(RunHtml.to_bytes(r).unwrap()).unwrap()
    }

    /// The text of the element with `id`, up to its closing tag `end`.
    fn element<'a>(page: &'a str, id: &str, end: &str) -> &'a str {
        let start = page.find(&format!("id=\"{id}\"")).unwrap();
        let stop = page[start..].find(end).unwrap() + start;
        &page[start..stop]
    }

    #[test]
    fn every_string_from_the_record_is_escaped() {
        const EVIL: &str = "<script>alert(1)</script>";
        let mut r = record();
        r.target.url = format!("http://127.0.0.1:8080/{EVIL}");
        r.target.header_names = vec![EVIL.to_string()];
        r.target.command = Some(EVIL.to_string());
        r.target.monitor_errors = vec![EVIL.to_string()];
        r.perfloop_version = EVIL.to_string();
        r.started_at = EVIL.to_string();
        r.slo[0].expr = EVIL.to_string();
        r.slo[1].endpoint = Some(EVIL.to_string());
        r.requests.by_status.insert(EVIL.to_string(), 1);
        r.requests.errors_by_kind.insert(EVIL.to_string(), 1);
        r.warnings.push(Warning::new(WarningKind::NoSuccess, EVIL));
        r.load.level = Some(EVIL.to_string());
        let endpoint = |name: &str| EndpointFigures {
            name: name.to_string(),
            requests: 506,
            ok: 500,
            errors: 6,
            errors_by_kind: BTreeMap::new(),
            throughput_rps: 144.57,
            latency_ms: r.latency_ms.clone(),
            waited_s: 1.0,
            time_share: 0.5,
        };
        r.endpoints = vec![endpoint(EVIL), endpoint("list")];
        let html = page(&r);
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains(EVIL));
        let escaped = "&lt;script&gt;alert(1)&lt;/script&gt;";
        // Title, heading, headers, command, version (head and footer), start, level,
        // objective, its endpoint, a status, an error kind, a warning, the endpoint, a
        // monitor note, and the objective's legend entry under the latency plot.
        assert!(html.matches(escaped).count() >= 15, "{html}");
    }

    #[test]
    fn the_headline_agrees_with_the_record() {
        let r = record();
        let html = page(&r);
        let headline = element(&html, "headline", "</section>");
        assert!(headline.contains("289.1 req/s"), "{headline}");
        assert!(headline.contains("1012 requests"), "{headline}");
        assert!(headline.contains(&duration(r.latency_ms.p50)), "{headline}");
        assert!(headline.contains("9.75 ms"), "{headline}");
        assert!(headline.contains(">12<"), "{headline}");
        assert!(headline.contains("1.186 % of the requests"), "{headline}");
        assert!(headline.contains("FAIL") && headline.contains("1 of 2 passed"));
        let objectives = element(&html, "objectives", "</section>");
        assert_eq!(objectives.matches("PASS").count(), 1, "{objectives}");
        assert!(objectives.contains("1.186 %") && objectives.contains("0.1 %"));
        // The caveat is listed, and it does not make the loud box.
        assert!(element(&html, "caveats", "</section>").contains("closed its connections"));
        assert!(!html.contains("id=\"warnings\""));
        let requests = element(&html, "requests", "</section>");
        for cell in [">1012<", ">1000<", ">12<", ">503<", ">timeout<", ">10<"] {
            assert!(requests.contains(cell), "{cell} in {requests}");
        }
        // The timeout kind (10) comes before status_5xx (2).
        assert!(requests.find("timeout") < requests.find("status_5xx"));
    }

    #[test]
    fn invalidating_warnings_come_first_and_loud() {
        let mut r = record();
        r.generator.saturated = true;
        let html = page(&r);
        let loud = html.find("id=\"warnings\"").unwrap();
        assert!(loud < html.find("id=\"headline\"").unwrap());
        assert!(element(&html, "warnings", "</section>").contains("GENERATOR SATURATED"));
    }

    #[test]
    fn a_plot_without_measured_data_says_so() {
        let html = page(&record());
        for id in [
            "plot-throughput",
            "plot-latency",
            "plot-errors",
            "plot-histogram",
        ] {
            assert!(element(&html, id, "</figure>").contains("<svg "), "{id}");
        }
        assert!(element(&html, "plot-resources", "</figure>").contains("<svg "));
        let mut r = record();
        r.target.samples.clear();
        r.target.summary = None;
        r.target.pid = None;
        for row in &mut r.timeline {
            row.errors = 0;
        }
        let html = page(&r);
        let resources = element(&html, "plot-resources", "</figure>");
        assert!(!resources.contains("<svg") && resources.contains("Not measured"));
        let errors = element(&html, "plot-errors", "</figure>");
        assert!(!errors.contains("<svg") && errors.contains("No request"));
        assert!(element(&html, "resources", "</section>").contains("not measured"));
        assert_eq!(html.matches("<svg ").count(), 3, "{html}");
    }

    #[test]
    fn phases_and_endpoints_show_only_when_there_is_something_to_add() {
        let html = page(&record());
        assert!(!html.contains("class=\"phases\"") && !html.contains("id=\"endpoints\""));
        let mut r = record();
        r.phases_ms.connect = Some(PhaseMs {
            count: 8,
            mean: 0.2,
            p50: 0.15,
            p90: 0.3,
            p99: 0.4,
            max: 0.41,
        });
        let html = page(&r);
        let phases = &html[html.find("class=\"phases\"").unwrap()..];
        assert!(phases.contains("connect") && phases.contains("410 µs"));
        let table = &phases[..phases.find("</table>").unwrap()];
        assert!(!table.contains("<td>first byte</td>") && !table.contains("<td>TLS"));
    }

    /// Alerts: a fired and a resolved one, in the rule's unit.
    pub(crate) fn alerts() -> Vec<AlertEvent> {
        let event = |state, t_s, value| AlertEvent {
            rule: "p99 > 200ms for 10s".to_string(),
            state,
            t_s,
            value,
            threshold: 200.0,
            at: None,
        };
        vec![
            AlertEvent {
                at: Some("2025-01-31T12:00:12Z".to_string()),
                ..event(AlertState::Firing, 12, 250.5)
            },
            event(AlertState::Resolved, 30, 150.0),
            AlertEvent {
                rule: "rss > 90% of limit".to_string(),
                threshold: 0.9,
                ..event(AlertState::Firing, 31, 0.95)
            },
        ]
    }

    #[test]
    fn alerts_show_only_when_there_are_some_and_are_escaped() {
        let mut r = record();
        assert!(!page(&r).contains("id=\"alerts\""));
        r.alerts = alerts();
        let html = page(&r);
        let section = element(&html, "alerts", "</section>");
        let rows: Vec<&str> = section.split("<tr>").skip(2).collect();
        assert_eq!(rows.len(), 3, "{section}");
        assert!(
            rows[0].contains(">12<") && rows[0].contains("firing"),
            "{}",
            rows[0]
        );
        assert!(rows[0].contains("p99 &gt; 200ms for 10s") && rows[0].contains("250.50 ms"));
        assert!(rows[0].contains("200.00 ms") && rows[0].contains("2025-01-31T12:00:12Z"));
        assert!(
            rows[1].contains(">30<") && rows[1].contains("resolved"),
            "{}",
            rows[1]
        );
        assert!(
            rows[2].contains("95 %") && rows[2].contains("90 %"),
            "{}",
            rows[2]
        );
        // After the objectives, before the plots.
        let at = html.find("id=\"alerts\"").unwrap();
        assert!(html.find("id=\"objectives\"").unwrap() < at);
        assert!(at < html.find("id=\"plots\"").unwrap());
        r.alerts[0].rule = "<script>alert(1)</script>".to_string();
        let html = page(&r);
        assert!(!html.contains("<script>alert(1)"));
        assert!(html.contains("&lt;script&gt;alert(1)"));
    }
}
