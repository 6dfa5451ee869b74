//! The HTML report of a capacity search: one self-contained page (inline CSS, inline SVG,
//! no script, nothing fetched) that opens from a file.
//!
//! Sections, in order: the result, the findings, the plots (throughput and latency against
//! the offered rate, the sweep with its fitted law, the target's CPU and memory across the
//! steps; see `plot.rs`), the steps table, the sweep table, the settings and the warnings.
//! Every string taken from the record is escaped; a figure that was not measured shows as
//! `–`.

use std::fmt::Write as _;
use std::io;

use super::figures::{self, StepFigures, offered_long};
use super::plot::plots;
use super::text::{sweep_above, sweep_below};
use crate::capacity::{CapacityRecord, Step, Sweep};
use crate::export::Exporter;
use crate::export::figures::{
    DASH, elapsed, figure, fixed, fraction, ms, number, seconds, sent, with_unit,
};
use crate::export::html::{self, escape, head, kv, warnings, watched};
use crate::export::plot::Plot;
use crate::finding::{Finding, Recommendation};

/// Writes the HTML report of a capacity search.
#[derive(Debug, Clone, Copy, Default)]
pub struct CapacityHtml;

impl Exporter<CapacityRecord> for CapacityHtml {
    fn write(&self, record: &CapacityRecord, out: &mut dyn io::Write) -> io::Result<()> {
        write_capacity_html(record, out)
    }
}

/// Writes the HTML report of a capacity search to `out`: one page, no external resource.
pub fn write_capacity_html(record: &CapacityRecord, out: &mut dyn io::Write) -> io::Result<()> {
    let mut page = String::with_capacity(64 * 1024);
    render(&mut page, record).map_err(|_| io::Error::other("the report could not be formatted"))?;
    out.write_all(page.as_bytes())
}

fn render(h: &mut String, r: &CapacityRecord) -> std::fmt::Result {
    let target = format!(
        "{}{}",
        sent(&r.target.method, r.target.scenario.as_ref()),
        r.target.url
    );
    head(h, &format!("perfloop capacity · {target}"), "")?;
    header(h, r, &target)?;
    result(h, r)?;
    endpoints(h, r)?;
    findings(h, &r.findings)?;
    plot_section(h, &plots(r))?;
    steps(h, r)?;
    if let Some(sweep) = &r.sweep {
        sweep_section(h, sweep)?;
    }
    settings(h, r)?;
    warnings(h, &r.warnings)?;
    writeln!(
        h,
        "<footer>perfloop {} · capacity record {}</footer>",
        escape(&r.perfloop_version),
        escape(&r.schema)
    )?;
    writeln!(h, "</body>")?;
    writeln!(h, "</html>")
}

fn header(h: &mut String, r: &CapacityRecord, target: &str) -> std::fmt::Result {
    writeln!(h, "<header>")?;
    writeln!(h, "<h1>Capacity of <code>{}</code></h1>", escape(target))?;
    writeln!(
        h,
        "<p class=\"meta\">started {} · took {} · ended {} · perfloop {}</p>",
        escape(&r.started_at),
        elapsed(r.elapsed_s),
        r.ending.name(),
        escape(&r.perfloop_version)
    )?;
    watched(h, r.target.command.as_deref(), r.target.pid)?;
    writeln!(h, "</header>")
}

fn result(h: &mut String, r: &CapacityRecord) -> std::fmt::Result {
    let res = &r.result;
    writeln!(h, "<section id=\"result\">")?;
    writeln!(h, "<h2>Result</h2>")?;
    match res.max_sustainable_rps {
        Some(rps) => {
            let at: Vec<String> = [
                res.max_passing_rate
                    .map(|a| format!("asked {} req/s", number(a))),
                res.max_passing_step.map(|s| format!("step {s}")),
            ]
            .into_iter()
            .flatten()
            .collect();
            let at = if at.is_empty() {
                String::new()
            } else {
                format!(" ({})", at.join(", "))
            };
            writeln!(
                h,
                "<p class=\"headline\">Maximum sustainable throughput at the objectives: \
                 <strong>{} req/s</strong>{at}</p>",
                figure(rps)
            )?;
        }
        None => writeln!(
            h,
            "<p class=\"headline none\">Maximum sustainable throughput: {}</p>",
            escape(&figures::headline(res))
        )?,
    }
    writeln!(h, "<table class=\"kv\">")?;
    let mut bracket = escape(&figures::bracket(res));
    if res.max_passing_rate.is_some() && res.min_failing_rate.is_some() {
        bracket.push_str(&format!(" · {}", escape(&figures::resolution(r))));
    }
    kv(h, "rate bracket", &bracket)?;
    let mut knee = escape(&figures::knee(res));
    if let Some(k) = &res.knee {
        knee.push_str(&format!(
            "<br><span class=\"note\">{}</span>",
            escape(&k.method)
        ));
    }
    kv(h, "knee", &knee)?;
    kv(h, "time spent", &escape(&figures::time_spent(r)))?;
    kv(h, "bounded by", &escape(&res.bounded_by))?;
    if let Some(text) = figures::first_broken(res) {
        kv(h, "endpoint that broke first", &escape(&text))?;
    }
    if let Some(text) = sweep_above(res) {
        kv(h, "sweep above the search", &escape(&text))?;
    }
    if let Some(text) = sweep_below(res) {
        kv(h, "sweep below the search", &escape(&text))?;
    }
    let slo = if r.settings.slo.is_empty() {
        "none".to_string()
    } else {
        r.settings
            .slo
            .iter()
            .map(|s| format!("<code>{}</code>", escape(s)))
            .collect::<Vec<_>>()
            .join(" ")
    };
    kv(h, "objectives", &slo)?;
    for note in &r.notes {
        kv(h, "note", &escape(note))?;
    }
    writeln!(h, "</table>")?;
    writeln!(h, "</section>")
}

/// The diagnosis's findings as the capacity page shows them (a `<section id="findings">`),
/// for other pages that show a diagnosis: the dashboard's run page.
pub fn write_findings_html(h: &mut String, list: &[Finding]) -> std::fmt::Result {
    findings(h, list)
}

fn findings(h: &mut String, list: &[Finding]) -> std::fmt::Result {
    writeln!(h, "<section id=\"findings\">")?;
    writeln!(h, "<h2>Findings</h2>")?;
    if list.is_empty() {
        writeln!(
            h,
            "<p class=\"note\">The diagnosis found nothing to report.</p>"
        )?;
    }
    for f in list {
        let severity = f.severity.name();
        writeln!(
            h,
            "<article class=\"finding {severity}\" data-rule=\"{}\">",
            escape(&f.rule)
        )?;
        writeln!(
            h,
            "<h3><span class=\"sev\">{severity}</span>{}</h3>",
            escape(&f.title)
        )?;
        writeln!(h, "<p>{}</p>", escape(&f.summary))?;
        if !f.evidence.is_empty() {
            writeln!(h, "<ul class=\"evidence\">")?;
            for e in &f.evidence {
                let step = e.step.map_or_else(String::new, |s| format!(" (step {s})"));
                writeln!(
                    h,
                    "<li>{}: <b>{}</b>{step}</li>",
                    escape(&e.label),
                    escape(&with_unit(e.value, &e.unit))
                )?;
            }
            writeln!(h, "</ul>")?;
        }
        if !f.recommendations.is_empty() {
            writeln!(h, "<ol class=\"recommendations\">")?;
            for rec in &f.recommendations {
                writeln!(
                    h,
                    "<li>{}: {}</li>",
                    strategy_html(rec),
                    escape(&rec.advice)
                )?;
            }
            writeln!(h, "</ol>")?;
        }
        writeln!(h, "</article>")?;
    }
    writeln!(h, "</section>")
}

fn plot_section(h: &mut String, plots: &[Plot]) -> std::fmt::Result {
    writeln!(h, "<section id=\"plots\">")?;
    writeln!(h, "<h2>Plots</h2>")?;
    if plots.is_empty() {
        writeln!(h, "<p class=\"note\">Nothing was measured to plot.</p>")?;
    }
    for p in plots {
        html::figure(h, p)?;
    }
    writeln!(h, "</section>")
}

fn steps(h: &mut String, r: &CapacityRecord) -> std::fmt::Result {
    writeln!(h, "<section id=\"steps\">")?;
    writeln!(h, "<h2>Steps</h2>")?;
    if r.steps.is_empty() {
        return writeln!(h, "<p class=\"note\">No step was measured.</p></section>");
    }
    writeln!(
        h,
        "<p class=\"note\">Latencies in ms. CPU: the watched target's mean over the step, % \
         of one core, for the whole process tree and for its busiest thread. {DASH}: not \
         measured.</p>"
    )?;
    // The reasons get a row of their own under their step, across the figures: the table
    // fits the page and the sentences wrap.
    writeln!(h, "<table class=\"steps\">")?;
    writeln!(
        h,
        "<thead><tr><th class=\"num\">#</th><th>kind</th><th class=\"num\">offered</th>\
         <th class=\"num\">throughput req/s</th><th class=\"num\">p50</th>\
         <th class=\"num\">p90</th><th class=\"num\">p99</th><th class=\"num\">errors %</th>\
         <th class=\"num\">CPU %</th><th class=\"num\">busiest thread %</th>\
         <th class=\"num\">RSS max MiB</th><th>verdict</th></tr></thead>"
    )?;
    writeln!(h, "<tbody>")?;
    for step in &r.steps {
        step_row(h, r, step)?;
    }
    writeln!(h, "</tbody>")?;
    writeln!(h, "</table>")?;
    writeln!(h, "</section>")
}

/// Columns of the steps table.
const STEP_COLUMNS: usize = 12;

fn step_row(h: &mut String, r: &CapacityRecord, step: &Step) -> std::fmt::Result {
    let f = StepFigures::of(step);
    let stated = !step.verdict.reasons.is_empty();
    let classes: Vec<&str> = [
        (!step.verdict.trusted).then_some("untrusted"),
        stated.then_some("stated"),
    ]
    .into_iter()
    .flatten()
    .collect();
    let class = if classes.is_empty() {
        String::new()
    } else {
        format!(" class=\"{}\"", classes.join(" "))
    };
    let mut verdict = if step.verdict.pass {
        "<span class=\"pass\">pass</span>".to_string()
    } else {
        "<span class=\"fail\">FAIL</span>".to_string()
    };
    if r.result.max_passing_step == Some(step.index) {
        verdict.push_str("<span class=\"badge\">max</span>");
    }
    if !step.verdict.trusted {
        verdict.push_str("<span class=\"badge\">not trusted</span>");
    }
    let reasons = step
        .verdict
        .reasons
        .iter()
        .map(|s| escape(s))
        .collect::<Vec<_>>()
        .join("<br>");
    writeln!(
        h,
        "<tr{class}><td class=\"num\">{}</td><td>{}</td><td class=\"num\">{}</td>\
         <td class=\"num\">{:.1}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
         <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
         <td class=\"num\">{}</td><td class=\"num\">{}</td><td>{verdict}</td></tr>",
        step.index,
        figures::kind(step.kind),
        escape(&offered_long(step)),
        f.throughput_rps,
        ms(f.p50_ms),
        ms(f.p90_ms),
        ms(f.p99_ms),
        fixed(f.errors_pct, 2),
        fixed(f.cpu_pct, 0),
        fixed(f.top_thread_pct, 0),
        fixed(f.rss_max_mb, 1),
    )?;
    if !stated {
        return Ok(());
    }
    let untrusted = if step.verdict.trusted {
        ""
    } else {
        " untrusted"
    };
    writeln!(
        h,
        "<tr class=\"reasons{untrusted}\"><td></td><td colspan=\"{}\">{reasons}</td></tr>",
        STEP_COLUMNS - 1
    )
}

/// A recommended strategy by its section and English name; the catalogue's own title, when
/// it differs, only as the name's tooltip, so that the page reads the same whatever fonts
/// are installed.
fn strategy_html(rec: &Recommendation) -> String {
    let s = &rec.strategy;
    let name = format!("{} {}", s.section, s.name_en);
    if s.name.is_empty() || s.name == s.name_en {
        format!("<b>{}</b>", escape(&name))
    } else {
        format!(
            "<b title=\"{}\">{}</b>",
            escape(&format!("catalogue title: {}", s.name)),
            escape(&name)
        )
    }
}

fn sweep_section(h: &mut String, sweep: &Sweep) -> std::fmt::Result {
    writeln!(h, "<section id=\"sweep\">")?;
    writeln!(h, "<h2>Concurrency sweep</h2>")?;
    match (&sweep.usl, &sweep.usl_error) {
        (Some(u), _) => {
            writeln!(
                h,
                "<p>Universal Scalability Law <code>X(N) = λN / (1 + σ(N − 1) + κN(N − \
                 1))</code> fitted to {} points:</p>",
                u.points
            )?;
            writeln!(h, "<table class=\"kv\">")?;
            kv(h, "contention σ", &figure(u.sigma))?;
            kv(h, "coherency κ", &figure(u.kappa))?;
            kv(
                h,
                "λ (throughput at 1)",
                &format!("{} req/s", figure(u.lambda)),
            )?;
            kv(
                h,
                "peak concurrency N*",
                &u.peak_concurrency.map_or_else(|| DASH.to_string(), figure),
            )?;
            kv(
                h,
                "max throughput",
                &u.max_throughput_rps
                    .map_or_else(|| DASH.to_string(), |m| format!("{} req/s", figure(m))),
            )?;
            kv(h, "R²", &format!("{:.4}", u.r_squared))?;
            kv(h, "limited by", &escape(&u.limit))?;
            writeln!(h, "</table>")?;
        }
        (None, Some(e)) => writeln!(
            h,
            "<p class=\"fail\">The Universal Scalability Law could not be fitted: {}</p>",
            escape(e)
        )?,
        (None, None) => writeln!(h, "<p class=\"note\">No law was fitted.</p>")?,
    }
    if sweep.points.is_empty() {
        return writeln!(h, "<p class=\"note\">No level was measured.</p></section>");
    }
    writeln!(h, "<table class=\"sweep\">")?;
    writeln!(
        h,
        "<thead><tr><th class=\"num\">connections</th><th class=\"num\">throughput, req/s</th>\
         <th class=\"num\">p50, ms</th><th class=\"num\">p99, ms</th>\
         <th class=\"num\">USL, req/s</th><th class=\"num\">step</th><th></th></tr></thead>"
    )?;
    writeln!(h, "<tbody>")?;
    for p in &sweep.points {
        let fitted = sweep
            .usl
            .as_ref()
            .map(|u| u.throughput(p.concurrency as f64));
        let (class, note) = if p.trusted {
            ("", "")
        } else {
            (
                " class=\"untrusted\"",
                "<span class=\"badge\">not trusted, not fitted</span>",
            )
        };
        writeln!(
            h,
            "<tr{class}><td class=\"num\">{}</td><td class=\"num\">{:.1}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td>{note}</td></tr>",
            p.concurrency,
            p.throughput_rps,
            ms(Some(p.p50_ms)),
            ms(Some(p.p99_ms)),
            fixed(fitted, 1),
            p.step
        )?;
    }
    writeln!(h, "</tbody>")?;
    writeln!(h, "</table>")?;
    writeln!(h, "</section>")
}

/// The endpoints of the step the result rests on, the most expensive first.
fn endpoints(h: &mut String, r: &CapacityRecord) -> std::fmt::Result {
    let Some((step, list)) = figures::endpoints(r) else {
        return Ok(());
    };
    writeln!(h, "<section>")?;
    writeln!(
        h,
        "<h2>Endpoints at step {} ({})</h2>",
        step.index,
        escape(&figures::offered_short(step))
    )?;
    writeln!(h, "<table class=\"endpoints\">")?;
    writeln!(
        h,
        "<thead><tr><th>endpoint</th><th class=\"num\">throughput, req/s</th>\
         <th class=\"num\">p50, ms</th><th class=\"num\">p99, ms</th>\
         <th class=\"num\">errors</th><th class=\"num\">share of the time waited</th>\
         </tr></thead>"
    )?;
    writeln!(h, "<tbody>")?;
    for e in list {
        let lat = |v: f64| ms((e.latency_ms.count > 0).then_some(v));
        writeln!(
            h,
            "<tr><td>{}</td><td class=\"num\">{:.1}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{:.1} %</td></tr>",
            escape(&e.name),
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

fn settings(h: &mut String, r: &CapacityRecord) -> std::fmt::Result {
    let s = &r.settings;
    writeln!(h, "<section id=\"settings\">")?;
    writeln!(h, "<h2>Search settings</h2>")?;
    writeln!(h, "<table class=\"kv\">")?;
    kv(h, "first rate", &format!("{} req/s", number(s.start_rate)))?;
    kv(h, "growth per ramp step", &format!("×{}", number(s.growth)))?;
    kv(
        h,
        "rate limit",
        &s.max_rate
            .map_or_else(|| "none".to_string(), |m| format!("{} req/s", number(m))),
    )?;
    kv(
        h,
        "each step",
        &format!(
            "{} measured after {} warm-up",
            seconds(s.step_duration_s),
            seconds(s.step_warmup_s)
        ),
    )?;
    kv(h, "resolution", &fraction(s.resolution))?;
    kv(h, "rate margin", &fraction(s.rate_margin))?;
    kv(h, "time limit", &elapsed(s.max_time_s))?;
    let levels = if s.concurrency.is_empty() {
        "no sweep".to_string()
    } else {
        s.concurrency
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    kv(h, "sweep connections", &levels)?;
    writeln!(h, "</table>")?;
    writeln!(h, "</section>")
}
