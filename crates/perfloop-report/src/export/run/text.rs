//! The text exporter: the human summary of a run, plain text (no colours) that fits in
//! [`WIDTH`] columns.
//!
//! Sections, in order: what was measured and how, the request summary, the latency
//! percentiles, where the time went before the responses (connect, TLS handshake, time
//! to first byte), the endpoints (two or more; the most time waited on the target first),
//! the latency distribution drawn as bars (from the record's log-spaced
//! buckets), status codes, errors by kind, the open model's rates and lag, the generator's
//! own CPU use, the target's resources, the SLO verdicts, the alerts that fired or resolved
//! (when any did), then one line per warning that
//! bounds or qualifies a figure and last — so that it is what stays on screen — a loud
//! block for the warnings that invalidate the figures (a saturated generator, an
//! unreachable target, no successful response). A figure that was not measured shows as
//! `–`. Nothing is cut: long text is wrapped at spaces (a word longer than the width is
//! split across lines), and a target URL too long for the header stays whole on a line of
//! its own, so that it can be copied.

use std::io;

use super::alert_figure;
use crate::export::Exporter;
use crate::export::figures::{
    DASH, bytes, duration, number, of_asked, percentiles, phase_figures, seconds, sent, share,
};
use crate::export::page::{Page, WIDTH, warning_block, warning_lines, wrap};
use crate::run::{AlertState, LoadModel, RunEnding, RunRecord, SloResult, Warning, WarningKind};

/// Longest bar of the latency distribution, in characters.
const BAR: usize = 40;

/// Writes the human summary.
#[derive(Debug, Clone, Copy, Default)]
pub struct TextExporter;

impl Exporter<RunRecord> for TextExporter {
    fn write(&self, record: &RunRecord, out: &mut dyn io::Write) -> io::Result<()> {
        let mut page = Page::default();
        header(&mut page, record);
        summary(&mut page, record);
        latency(&mut page, record);
        phases(&mut page, record);
        endpoints(&mut page, record);
        distribution(&mut page, record);
        statuses(&mut page, record);
        errors(&mut page, record);
        open_model(&mut page, record);
        generator(&mut page, record);
        resources(&mut page, record);
        slo(&mut page, record);
        alerts(&mut page, record);
        warnings(&mut page, record);
        page.write_to(out)
    }
}

fn header(page: &mut Page, r: &RunRecord) {
    let sent = sent(&r.target.method, r.target.scenario.as_ref());
    let first = format!("perfloop {} · {sent}{}", r.perfloop_version, r.target.url);
    if first.chars().count() <= WIDTH {
        page.line(first);
    } else {
        // The URL whole on a line of its own: cut, it could not be copied.
        let sent = sent.trim_end_matches(" · ").trim_end();
        page.line(if sent.is_empty() {
            format!("perfloop {}", r.perfloop_version)
        } else {
            format!("perfloop {} · {sent}", r.perfloop_version)
        });
        page.line(format!("  {}", r.target.url));
    }
    let load = &r.load;
    let mut parts = vec![match load.model {
        LoadModel::Closed => "closed model".to_string(),
        LoadModel::Open => "open model".to_string(),
    }];
    if let Some(c) = load.connections {
        let peak = if load.stages.is_some() { "up to " } else { "" };
        parts.push(format!("{peak}{c} connections"));
    }
    if let Some(rate) = load.rate {
        let peak = if load.stages.is_some() { "up to " } else { "" };
        parts.push(format!("{peak}{} req/s", number(rate)));
    }
    if let Some(max) = load.max_connections {
        parts.push(format!("max {max} connections"));
    }
    parts.push(format!("{} threads", load.threads));
    if let Some(io) = load.io_backend {
        parts.push(io.name().to_string());
    }
    if let Some(level) = &load.level {
        parts.push(format!("level {level}"));
    }
    page.flow("load", &parts);
    let mut when = vec![format!("{:.2} s measured", load.duration_s)];
    if load.warmup_s > 0.0 {
        when.push(format!("after {:.1} s warm-up", load.warmup_s));
    }
    if let Some(n) = load.request_limit {
        when.push(format!("limit {n} requests"));
    }
    when.push(format!("timeout {}", seconds(load.timeout_s)));
    page.flow("run", &when);
    if let Some(tls) = &r.tls {
        let mut parts = vec![tls.version.clone(), tls.cipher.clone()];
        parts.push(match &tls.alpn {
            Some(alpn) => format!("ALPN {alpn}"),
            None => "no ALPN".to_string(),
        });
        page.flow("tls", &parts);
    }
    if let Some(stages) = &load.stages {
        let list: Vec<String> = stages
            .iter()
            .map(|s| format!("{}→{}", seconds(s.duration_s), number(s.target)))
            .collect();
        for (i, chunk) in wrap(&list.join(", "), WIDTH - 10).into_iter().enumerate() {
            page.line(format!("{:10}{chunk}", if i == 0 { "stages" } else { "" }));
        }
    }
    page.line(format!(
        "started   {} · ended {}",
        r.started_at,
        r.ending.name()
    ));
    if !r.target.header_names.is_empty() {
        page.line(format!("headers   {}", r.target.header_names.join(", ")));
    }
}

fn summary(page: &mut Page, r: &RunRecord) {
    let q = &r.requests;
    page.section("Summary");
    page.line(format!("  requests    {:>12}", q.total));
    page.line(format!(
        "    ok        {:>12}  {}",
        q.ok,
        share(q.ok, q.total)
    ));
    page.line(format!(
        "    errors    {:>12}  {}",
        q.errors,
        share(q.errors, q.total)
    ));
    if q.dropped > 0 || r.load.model == LoadModel::Open {
        page.line(format!("  dropped     {:>12}", q.dropped));
    }
    if q.unfinished > 0 {
        page.line(format!("  unfinished  {:>12}", q.unfinished));
    }
    if q.drained > 0 {
        page.line(format!(
            "  drained     {:>12}  answered after the window, counted",
            q.drained
        ));
    }
    if q.connections > 0 {
        let reconnects = if q.reconnects > 0 {
            format!(
                " · {} requests sent again after the server closed",
                q.reconnects
            )
        } else {
            String::new()
        };
        page.line(format!(
            "  connections {:>12}  opened{reconnects}",
            q.connections
        ));
    }
    page.line(format!(
        "  throughput  {:>12} req/s",
        format!("{:.1}", r.throughput_rps)
    ));
    page.line(format!(
        "  duration    {:>12} s",
        format!("{:.2}", r.load.duration_s)
    ));
    let rate = if r.load.duration_s > 0.0 {
        format!(
            "  ({}/s)",
            bytes(r.bytes_received as f64 / r.load.duration_s)
        )
    } else {
        String::new()
    };
    let of = if r.raw_tcp() {
        "responses"
    } else {
        "response bodies"
    };
    page.line(format!(
        "  received    {:>12}{rate} of {of}",
        bytes(r.bytes_received as f64)
    ));
}

fn latency(page: &mut Page, r: &RunRecord) {
    let l = &r.latency_ms;
    page.section(&format!("Latency ({} responses)", l.count));
    if l.count == 0 {
        page.line("  no response was received");
        return;
    }
    for (name, v) in percentiles(l) {
        page.line(format!("  {name:<8}{:>12}", duration(v)));
    }
    page.line(format!(
        "  {:<8}{:>12}  ± {} stdev",
        "mean",
        duration(l.mean),
        duration(l.stdev)
    ));
}

/// Connect and TLS handshake per connection, time to first byte per response; a phase
/// the run did not go through is left out.
fn phases(page: &mut Page, r: &RunRecord) {
    let p = &r.phases_ms;
    let rows = [
        ("connect", &p.connect),
        ("tls handshake", &p.tls_handshake),
        ("first byte", &p.first_byte),
    ];
    if rows.iter().all(|(_, phase)| phase.is_none()) {
        return;
    }
    page.section("Phases (connect and handshake per connection, first byte per response)");
    page.line(format!(
        "  {:<14}{:>9}{:>11}{:>11}{:>11}{:>11}{:>11}",
        "", "count", "mean", "p50", "p90", "p99", "max"
    ));
    for (name, phase) in rows {
        if let Some(ph) = phase {
            let [count, mean, p50, p90, p99, max] = phase_figures(ph);
            page.line(format!(
                "  {name:<14}{count:>9}{mean:>11}{p50:>11}{p90:>11}{p99:>11}{max:>11}"
            ));
        }
    }
}

/// Width of the endpoint column; a longer name takes a line of its own.
const NAME: usize = 24;

/// The endpoints, the most expensive first (by their share of the time spent waiting on
/// the target). A run of one endpoint has nothing to add to the totals: no table.
fn endpoints(page: &mut Page, r: &RunRecord) {
    if r.endpoints.len() < 2 {
        return;
    }
    let mut rows: Vec<_> = r.endpoints.iter().collect();
    rows.sort_by(|a, b| b.time_share.total_cmp(&a.time_share));
    page.section("Endpoints (the most time waited on the target first)");
    page.line(format!(
        "  {:<NAME$}{:>10}{:>10}{:>10}{:>8}{:>8}{:>8}",
        "endpoint", "req/s", "p50", "p99", "errors", "err %", "time"
    ));
    for e in rows {
        let (p50, p99) = if e.latency_ms.count == 0 {
            (DASH.to_string(), DASH.to_string())
        } else {
            (duration(e.latency_ms.p50), duration(e.latency_ms.p99))
        };
        let figures = format!(
            "{:>10}{:>10}{:>10}{:>8}{:>8}{:>8}",
            format!("{:.1}", e.throughput_rps),
            p50,
            p99,
            e.errors,
            share(e.errors, e.requests),
            format!("{:.1} %", e.time_share * 100.0)
        );
        if e.name.chars().count() < NAME {
            page.line(format!("  {:<NAME$}{figures}", e.name));
        } else {
            page.line(format!("  {}", e.name));
            page.line(format!("  {:<NAME$}{figures}", ""));
        }
    }
}

fn distribution(page: &mut Page, r: &RunRecord) {
    let buckets = &r.latency_histogram;
    let Some(most) = buckets.iter().map(|b| b.count).max().filter(|&m| m > 0) else {
        return;
    };
    let total: u64 = buckets.iter().map(|b| b.count).sum();
    page.section("Latency distribution (upper bound, count, share)");
    for b in buckets {
        let len = ((b.count as f64 / most as f64) * BAR as f64).round() as usize;
        let bar = "#".repeat(len.max(1));
        page.line(format!(
            "  ≤{:>10}  {bar:<BAR$}  {:>9}  {}",
            duration(b.le_ms),
            b.count,
            share(b.count, total)
        ));
    }
}

fn statuses(page: &mut Page, r: &RunRecord) {
    let by_status = &r.requests.by_status;
    if by_status.is_empty() {
        return;
    }
    let responses: u64 = by_status.values().sum();
    page.section("Status codes");
    for (status, n) in by_status {
        page.line(format!("  {status:<6}{n:>12}  {}", share(*n, responses)));
    }
}

fn errors(page: &mut Page, r: &RunRecord) {
    let mut kinds: Vec<(&String, &u64)> = r.requests.errors_by_kind.iter().collect();
    if kinds.is_empty() {
        return;
    }
    kinds.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    page.section("Errors by kind");
    for (kind, n) in kinds {
        let why = match kind.as_str() {
            "framing" if r.raw_tcp() => "  bytes after the expected end of a response",
            "framing" => "  more bytes than the response's Content-Length",
            "closed" if r.raw_tcp() => "  the server closed before the end of a response",
            _ => "",
        };
        page.line(format!(
            "  {kind:<18}{n:>12}  {}{why}",
            share(*n, r.requests.total)
        ));
    }
}

fn open_model(page: &mut Page, r: &RunRecord) {
    let Some(o) = &r.open_model else {
        return;
    };
    page.section("Open model (latency measured from the intended send time)");
    page.line(format!(
        "  asked rate       {:>12} req/s",
        format!("{:.1}", o.asked_rate)
    ));
    let of_asked = of_asked(o, "  ");
    page.line(format!(
        "  achieved rate    {:>12} req/s{of_asked}",
        format!("{:.1}", o.achieved_rate)
    ));
    page.line(format!("  peak connections {:>12}", o.peak_connections));
    if o.answering_s > r.load.duration_s * 1.01 {
        page.line(format!(
            "  answered over    {:>12} s  (the target fell behind: throughput is per second \
             of this)",
            format!("{:.2}", o.answering_s)
        ));
    }
    page.line(format!(
        "  scheduling lag   p50 {} · p99 {} · max {}",
        duration(o.lag_ms.p50),
        duration(o.lag_ms.p99),
        duration(o.lag_ms.max)
    ));
}

fn generator(page: &mut Page, r: &RunRecord) {
    let g = &r.generator;
    page.section("Generator (perfloop's own CPU)");
    page.line(format!(
        "  cpu           user {:.2} s · sys {:.2} s · {:.1} µs/request",
        g.cpu_user_s, g.cpu_sys_s, g.cpu_us_per_request
    ));
    let busy: Vec<String> = g
        .threads_busy
        .iter()
        .map(|b| format!("{:.0}%", b * 100.0))
        .collect();
    for (i, chunk) in wrap(&busy.join(" "), WIDTH - 16).into_iter().enumerate() {
        page.line(format!(
            "  {:14}{chunk}",
            if i == 0 { "threads busy" } else { "" }
        ));
    }
    page.line(format!(
        "  saturated     {}",
        if g.saturated {
            "YES (see the warning below)"
        } else {
            "no"
        }
    ));
}

/// The watched target's resources, when a target was watched; a figure that was not
/// measured shows as `–`. Then what the monitor noted on the way.
fn resources(page: &mut Page, r: &RunRecord) {
    let notes = &r.target.monitor_errors;
    let Some(s) = r.target.summary.as_ref().filter(|s| s.target_pid.is_some()) else {
        if !notes.is_empty() {
            page.section("Monitor");
            monitor_notes(page, notes);
        }
        return;
    };
    let pid = s
        .target_pid
        .map_or_else(String::new, |p| format!("pid {p}"));
    page.section(&format!(
        "Target resources ({pid}, {} samples every {:.1} s)",
        s.samples, s.interval_s
    ));
    let pct = |v: Option<f64>| v.map_or_else(|| DASH.to_string(), |v| format!("{v:.0}%"));
    let mib = |v: Option<f64>| v.map_or_else(|| DASH.to_string(), |v| format!("{v:.1} MiB"));
    let count = |v: Option<u64>| v.map_or_else(|| DASH.to_string(), |v| v.to_string());
    let size = |v: Option<u64>| v.map_or_else(|| DASH.to_string(), |v| bytes(v as f64));
    page.line(format!(
        "  cpu           mean {} · max {} of one core · {} of the machine ({} cores)",
        pct(s.cpu_pct_mean),
        pct(s.cpu_pct_max),
        pct(s.cpu_machine_pct_mean),
        s.cores
    ));
    page.line(format!(
        "  cpu split     user {} · sys {} of one core",
        pct(s.cpu_user_pct_mean),
        pct(s.cpu_sys_pct_mean)
    ));
    page.line(format!(
        "  memory        rss max {} · mean {}",
        mib(s.rss_max_mb),
        mib(s.rss_mean_mb)
    ));
    page.line(format!(
        "  threads       max {} · fds max {} · processes max {}",
        count(s.threads_max),
        count(s.fds_max),
        count(s.processes_max.map(u64::from))
    ));
    page.line(format!(
        "  ctx switches  voluntary {} · involuntary {}",
        count(s.ctx_voluntary_total),
        count(s.ctx_involuntary_total)
    ));
    page.line(format!(
        "  storage i/o   read {} · written {}",
        size(s.read_bytes_total),
        size(s.write_bytes_total)
    ));
    page.line(format!(
        "  all i/o       read {} · written {} (read/write calls, pipes included)",
        size(s.rchar_total),
        size(s.wchar_total)
    ));
    if let Some(at) = s.target_exited_at_s {
        page.line(format!(
            "  EXITED        the target exited at t = {at:.1} s"
        ));
    }
    if s.scrapes > 0 {
        page.line(format!(
            "  scraped       {} series kept of {} exposed · {} scrapes, {} failed",
            r.target.scraped.len(),
            s.scrape_series_exposed,
            s.scrapes,
            s.scrape_failures
        ));
    }
    monitor_notes(page, notes);
}

/// What the monitor noted (failed scrapes, unreadable files, the target's exit), one
/// wrapped line each.
fn monitor_notes(page: &mut Page, notes: &[String]) {
    for (i, note) in notes.iter().enumerate() {
        let label = if i == 0 { "  monitor" } else { "" };
        for (j, chunk) in wrap(note, WIDTH - 16).into_iter().enumerate() {
            page.line(format!("{:16}{chunk}", if j == 0 { label } else { "" }));
        }
    }
}

fn slo(page: &mut Page, r: &RunRecord) {
    if r.slo.is_empty() {
        return;
    }
    let failed = r.slo.iter().filter(|s| !s.pass).count();
    page.section(&format!(
        "SLO ({} of {} passed)",
        r.slo.len() - failed,
        r.slo.len()
    ));
    if r.ending == RunEnding::Interrupted {
        page.line("  INTERRUPTED  stopped before its end: verdicts on part of the run, not a pass");
    }
    for s in &r.slo {
        page.line(format!(
            "  {}  {:<26} {:>16}  threshold {}",
            if s.pass { "PASS" } else { "FAIL" },
            s.expr,
            s.value
                .map_or_else(|| "not measured".to_string(), |v| slo_value(s, v)),
            slo_value(s, s.threshold)
        ));
    }
}

/// The alerts that fired or resolved, one line each in the order they happened: the second,
/// the state, the rule, the value and the threshold. Nothing when there were none.
fn alerts(page: &mut Page, r: &RunRecord) {
    if r.alerts.is_empty() {
        return;
    }
    let fired = r
        .alerts
        .iter()
        .filter(|a| a.state == AlertState::Firing)
        .count();
    page.section(&format!(
        "Alerts ({fired} fired, {} resolved)",
        r.alerts.len() - fired
    ));
    for a in &r.alerts {
        let second = format!("{}s", a.t_s);
        let state = match a.state {
            AlertState::Firing => "FIRING",
            AlertState::Resolved => "resolved",
        };
        let value = alert_figure(&a.rule, a.value);
        let threshold = alert_figure(&a.rule, a.threshold);
        let line = format!(
            "  {second:>6}  {state:<8}  {:<26} {value:>12}  threshold {threshold}",
            a.rule
        );
        if line.chars().count() <= WIDTH {
            page.line(line);
        } else {
            // A rule too long for the line: on lines of its own, whole.
            page.line(format!(
                "  {second:>6}  {state:<8}  {value} (threshold {threshold})"
            ));
            for part in wrap(&a.rule, WIDTH - 20) {
                page.line(format!("{:20}{part}", ""));
            }
        }
    }
}

/// One line per warning that bounds or qualifies a figure, then the loud block for those
/// that invalidate the figures.
fn warnings(page: &mut Page, r: &RunRecord) {
    let (invalid, caveats): (Vec<&Warning>, Vec<&Warning>) =
        r.warnings.iter().partition(|w| w.invalidates);
    let caveats: Vec<&str> = caveats.iter().map(|w| w.message.as_str()).collect();
    warning_lines(page, &caveats);
    let mut invalid: Vec<&str> = invalid.iter().map(|w| w.message.as_str()).collect();
    let saturation = "GENERATOR SATURATED: the load generator was the bottleneck of this run.";
    if r.generator.saturated && r.warning(WarningKind::GeneratorSaturated).is_none() {
        invalid.insert(0, saturation);
    }
    warning_block(page, &invalid);
}

fn slo_value(s: &SloResult, v: f64) -> String {
    match s.unit.as_str() {
        "ms" => duration(v),
        "ratio" => format!("{:.3} %", v * 100.0),
        "req/s" => format!("{:.1} req/s", v),
        "cores" => format!("{v:.2} cores"),
        "MiB" => format!("{v:.1} MiB"),
        unit => format!("{v} {unit}"),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::export::run::html::tests::{alerts, record};

    fn page(r: &RunRecord) -> String {
        String::from_utf8(TextExporter.to_bytes(r).unwrap()).unwrap()
    }

    #[test]
    fn alerts_are_listed_after_the_objectives_when_there_are_some() {
        let mut r = record();
        assert!(!page(&r).contains("Alerts"));
        r.alerts = alerts();
        let text = page(&r);
        let at = text.find("Alerts (2 fired, 1 resolved)").unwrap();
        assert!(text.find("SLO (").unwrap() < at, "{text}");
        let lines: Vec<&str> = text[at..].lines().skip(1).take(3).collect();
        assert!(
            lines[0].contains("12s")
                && lines[0].contains("FIRING")
                && lines[0].contains("p99 > 200ms for 10s")
                && lines[0].contains("250.50 ms")
                && lines[0].contains("threshold 200.00 ms"),
            "{text}"
        );
        assert!(
            lines[1].contains("30s") && lines[1].contains("resolved"),
            "{text}"
        );
        assert!(
            lines[2].contains("rss > 90% of limit") && lines[2].contains("95 %"),
            "{text}"
        );
        for line in text.lines() {
            assert!(line.chars().count() <= WIDTH, "{line}");
        }
        r.alerts[1].rule = format!("rss > {}", "9".repeat(100));
        let text = page(&r);
        assert!(text.contains(&"9".repeat(WIDTH - 20)), "{text}");
        for line in text.lines() {
            assert!(line.chars().count() <= WIDTH, "{line}");
        }
    }
}
