//! The human summary of a capacity search, plain text (no colours) within [`WIDTH`]
//! columns.
//!
//! Sections, in order: what was measured and how the search was set up, the result (the
//! maximum sustainable throughput at the objectives, the rate bracket and its resolution,
//! the knee, the time spent, what bounded the search, and the sweep when it sustained more
//! than the search found, and the endpoint that broke an objective first), the endpoints of
//! the step the result rests on (two or more, the most time waited first), the steps table, the concurrency sweep with its Universal
//! Scalability Law fit (or why the fit failed), the findings with their evidence and
//! recommendations, and last a loud block of the warnings that can change a figure (notes
//! that change none stay in the header). A figure that was not measured shows as `–`;
//! nothing is estimated.

use std::io;

use super::figures::{self, StepFigures, offered_short};
use crate::capacity::{CapacityRecord, CapacityResult, Step, Sweep};
use crate::export::Exporter;
use crate::export::figures::{
    DASH, elapsed, figure, fixed, fraction, ms, number, seconds, sent, with_unit,
};
use crate::export::page::{Page, WIDTH, labelled, warning_block, wrap};
use crate::finding::{Finding, Recommendation};

/// Left column of the labelled lines.
const LABEL: usize = 10;

/// Left column of the result's lines.
const RESULT: usize = 19;

/// Writes the human summary of a capacity search.
#[derive(Debug, Clone, Copy, Default)]
pub struct CapacityText;

impl Exporter<CapacityRecord> for CapacityText {
    fn write(&self, record: &CapacityRecord, out: &mut dyn io::Write) -> io::Result<()> {
        write_capacity_text(record, out)
    }
}

/// Writes the human summary of a capacity search to `out`.
pub fn write_capacity_text(record: &CapacityRecord, out: &mut dyn io::Write) -> io::Result<()> {
    let mut page = Page::default();
    header(&mut page, record);
    result(&mut page, record);
    endpoints(&mut page, record);
    steps(&mut page, record);
    if let Some(sweep) = &record.sweep {
        sweep_section(&mut page, sweep);
    }
    findings(&mut page, &record.findings);
    let warnings: Vec<&str> = record.warnings.iter().map(String::as_str).collect();
    warning_block(&mut page, &warnings);
    page.write_to(out)
}

fn header(page: &mut Page, r: &CapacityRecord) {
    page.line(format!(
        "perfloop {} · capacity · {}{}",
        r.perfloop_version,
        sent(&r.target.method, r.target.scenario.as_ref()),
        r.target.url
    ));
    if let Some(command) = &r.target.command {
        labelled(page, "command", command, LABEL);
    }
    if let Some(pid) = r.target.pid {
        page.line(format!("{:LABEL$}{pid}", "pid"));
    }
    page.line(format!(
        "{:LABEL$}{} · took {} · ended {}",
        "started",
        r.started_at,
        elapsed(r.elapsed_s),
        r.ending.name()
    ));
    let s = &r.settings;
    let mut search = vec![
        format!("from {} req/s", number(s.start_rate)),
        format!("×{} per ramp step", number(s.growth)),
    ];
    search.push(match s.max_rate {
        Some(max) => format!("up to {} req/s", number(max)),
        None => "no rate limit".to_string(),
    });
    search.push(format!(
        "{} per step after {} warm-up",
        seconds(s.step_duration_s),
        seconds(s.step_warmup_s)
    ));
    search.push(format!("resolution {}", fraction(s.resolution)));
    search.push(format!("rate margin {}", fraction(s.rate_margin)));
    search.push(format!("at most {}", elapsed(s.max_time_s)));
    page.flow("search", &search);
    if s.slo.is_empty() {
        page.line(format!("{:LABEL$}none", "SLO"));
    } else {
        page.flow("SLO", &s.slo);
    }
    for note in &r.notes {
        labelled(page, "note", note, LABEL);
    }
    if !s.concurrency.is_empty() {
        let levels: Vec<String> = s.concurrency.iter().map(u64::to_string).collect();
        labelled(
            page,
            "sweep",
            &format!("{} connections", levels.join(", ")),
            LABEL,
        );
    }
}

fn result(page: &mut Page, r: &CapacityRecord) {
    let res = &r.result;
    page.section("Result");
    labelled(page, "  max sustainable", &figures::headline(res), RESULT);
    labelled(page, "  bracket", &figures::bracket(res), RESULT);
    if res.max_passing_rate.is_some() && res.min_failing_rate.is_some() {
        labelled(page, "", &figures::resolution(r), RESULT);
    }
    labelled(page, "  knee", &figures::knee(res), RESULT);
    if let Some(k) = &res.knee {
        labelled(page, "", &k.method, RESULT);
    }
    labelled(page, "  time", &figures::time_spent(r), RESULT);
    labelled(page, "  bounded by", &res.bounded_by, RESULT);
    if let Some(text) = figures::first_broken(res) {
        labelled(page, "  broke first", &text, RESULT);
    }
    if let Some(text) = sweep_above(res) {
        labelled(page, "  sweep above", &text, RESULT);
    }
    if let Some(text) = sweep_below(res) {
        labelled(page, "  sweep below", &text, RESULT);
    }
}

/// The endpoints of the step the result rests on, the most expensive first.
fn endpoints(page: &mut Page, r: &CapacityRecord) {
    let Some((step, list)) = figures::endpoints(r) else {
        return;
    };
    page.section(&format!(
        "Endpoints at step {} ({}), the most time waited first",
        step.index,
        offered_short(step)
    ));
    page.line(format!(
        "  {:<24}{:>10}{:>10}{:>10}{:>8}{:>8}{:>8}",
        "endpoint", "req/s", "p50 ms", "p99 ms", "errors", "err %", "time"
    ));
    for e in list {
        let lat = |v: f64| ms((e.latency_ms.count > 0).then_some(v));
        let err = if e.requests > 0 {
            fixed(Some(e.errors as f64 / e.requests as f64 * 100.0), 1)
        } else {
            DASH.to_string()
        };
        let figures = format!(
            "{:>10}{:>10}{:>10}{:>8}{:>8}{:>8}",
            format!("{:.1}", e.throughput_rps),
            lat(e.latency_ms.p50),
            lat(e.latency_ms.p99),
            e.errors,
            err,
            format!("{:.1} %", e.time_share * 100.0)
        );
        if e.name.chars().count() < 24 {
            page.line(format!("  {:<24}{figures}", e.name));
        } else {
            page.line(format!("  {}", e.name));
            page.line(format!("  {:<24}{figures}", ""));
        }
    }
}

/// When the concurrency sweep sustained more within the objectives than the rate search
/// found: by how much, and why the search stopped below it.
pub(super) fn sweep_above(res: &CapacityResult) -> Option<String> {
    let above = res.sweep_above.as_ref()?;
    let than = match res.max_sustainable_rps {
        Some(rps) if rps > 0.0 => format!(
            "{}× the search's {} req/s",
            figure(above.throughput_rps / rps),
            figure(rps)
        ),
        _ => "while no rate step passed".to_string(),
    };
    Some(format!(
        "the concurrency sweep sustained {} req/s within the objectives ({} connections, step \
         {}, p99 {} ms), {than}; {}",
        figure(above.throughput_rps),
        above.concurrency,
        above.step,
        figure(above.p99_ms),
        above.why
    ))
}

/// When the rate search sustained more than every step of the concurrency sweep: the
/// sweep's best, and what it measured near the search's concurrency.
pub(super) fn sweep_below(res: &CapacityResult) -> Option<String> {
    let below = res.sweep_below.as_ref()?;
    Some(format!(
        "the concurrency sweep's best was {} req/s ({} connections, step {}), below the \
         search's {} req/s; {}",
        figure(below.throughput_rps),
        below.concurrency,
        below.step,
        figure(res.max_sustainable_rps.unwrap_or_default()),
        below.why
    ))
}

fn steps(page: &mut Page, r: &CapacityRecord) {
    page.section("Steps");
    if r.steps.is_empty() {
        page.line("  no step was measured");
        return;
    }
    page.line(format!(
        "  {:>3}  {:<6} {:>9} {:>9} {:>7} {:>7} {:>6} {:>5} {:>5}  verdict",
        "#", "kind", "offered", "req/s", "p50 ms", "p99 ms", "err %", "cpu", "thr"
    ));
    for step in &r.steps {
        step_row(page, r, step);
    }
    labelled(
        page,
        "  ",
        "! not trusted · cpu, thr: mean CPU of the target and of its busiest thread, \
         % of one core · – not measured",
        2,
    );
}

fn step_row(page: &mut Page, r: &CapacityRecord, step: &Step) {
    let f = StepFigures::of(step);
    let mark = if step.verdict.trusted { ' ' } else { '!' };
    let mut verdict = figures::verdict(step).to_string();
    if r.result.max_passing_step == Some(step.index) {
        verdict.push_str(" (max)");
    }
    page.line(format!(
        "  {:>3}{mark} {:<6} {:>9} {:>9} {:>7} {:>7} {:>6} {:>5} {:>5}  {verdict}",
        step.index,
        figures::kind(step.kind),
        offered_short(step),
        format!("{:.1}", f.throughput_rps),
        ms(f.p50_ms),
        ms(f.p99_ms),
        fixed(f.errors_pct, 2),
        fixed(f.cpu_pct, 0),
        fixed(f.top_thread_pct, 0),
    ));
    let reasons = &step.verdict.reasons;
    if let Some(first) = reasons.first() {
        let more = match reasons.len() {
            1 => String::new(),
            n => format!(" (+{} more)", n - 1),
        };
        for chunk in wrap(&format!("{first}{more}"), WIDTH - 9) {
            page.line(format!("{:9}{chunk}", ""));
        }
    }
}

fn sweep_section(page: &mut Page, sweep: &Sweep) {
    page.section("Concurrency sweep (closed model; ! not trusted, left out of the fit)");
    if sweep.points.is_empty() {
        page.line("  no level was measured");
    } else {
        page.line(format!(
            "  {:>6}  {:>10} {:>8} {:>8} {:>10}  {:>4}",
            "conn", "req/s", "p50 ms", "p99 ms", "USL req/s", "step"
        ));
    }
    for p in &sweep.points {
        let fitted = sweep
            .usl
            .as_ref()
            .map(|u| u.throughput(p.concurrency as f64));
        page.line(format!(
            "  {:>6}  {:>10} {:>8} {:>8} {:>10}  {:>4}{}",
            p.concurrency,
            format!("{:.1}", p.throughput_rps),
            ms(Some(p.p50_ms)),
            ms(Some(p.p99_ms)),
            fixed(fitted, 1),
            p.step,
            if p.trusted { "" } else { "!" }
        ));
    }
    match (&sweep.usl, &sweep.usl_error) {
        (Some(u), _) => {
            let parts = vec![
                format!("σ {}", figure(u.sigma)),
                format!("κ {}", figure(u.kappa)),
                format!("λ {} req/s", figure(u.lambda)),
                format!(
                    "N* {}",
                    u.peak_concurrency.map_or_else(|| DASH.to_string(), figure)
                ),
                format!(
                    "max {}",
                    u.max_throughput_rps
                        .map_or_else(|| DASH.to_string(), |m| format!("{} req/s", figure(m)))
                ),
                format!("R² {:.4}", u.r_squared),
                format!("{} points", u.points),
                format!("limited by {}", u.limit),
            ];
            page.flow("  USL fit", &parts);
        }
        (None, Some(error)) => labelled(page, "  USL fit", &format!("failed: {error}"), LABEL),
        (None, None) => page.line(format!("{:LABEL$}not fitted", "  USL fit")),
    }
}

/// The findings section alone, as the capacity report writes it (`perfloop diagnose`
/// prints it for a saved run).
pub fn write_findings_text(list: &[Finding], out: &mut dyn io::Write) -> io::Result<()> {
    let mut page = Page::default();
    findings(&mut page, list);
    page.write_to(out)
}

fn findings(page: &mut Page, list: &[Finding]) {
    page.section("Findings");
    if list.is_empty() {
        page.line("  none");
        return;
    }
    const INDENT: usize = 12;
    for (i, f) in list.iter().enumerate() {
        if i > 0 {
            page.blank();
        }
        labelled(
            page,
            &format!("  {}", f.severity.name().to_uppercase()),
            &f.title,
            INDENT,
        );
        labelled(page, "", &f.summary, INDENT);
        for e in &f.evidence {
            let step = e.step.map_or_else(String::new, |s| format!(" (step {s})"));
            labelled(
                page,
                "",
                &format!("• {}: {}{step}", e.label, with_unit(e.value, &e.unit)),
                INDENT,
            );
        }
        for rec in &f.recommendations {
            labelled(page, "", &format!("→ {}", strategy(rec)), INDENT);
            labelled(page, "", &rec.advice, INDENT + 2);
        }
    }
}

/// `section name_en (name)`, the name left out when it is the English one.
pub(super) fn strategy(rec: &Recommendation) -> String {
    let s = &rec.strategy;
    if s.name == s.name_en || s.name.is_empty() {
        format!("{} {}", s.section, s.name_en)
    } else {
        format!("{} {} ({})", s.section, s.name_en, s.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labelled_text_wraps_under_its_label() {
        let mut page = Page::default();
        labelled(&mut page, "  bounded by", &"word ".repeat(40), RESULT);
        assert!(page.lines.len() > 1);
        assert!(page.lines[0].starts_with("  bounded by       word"));
        assert!(page.lines[1].starts_with(&format!("{:RESULT$}word", "")));
        assert!(page.lines.iter().all(|l| l.chars().count() <= WIDTH));
        let mut page = Page::default();
        labelled(&mut page, "  knee", "", RESULT);
        assert_eq!(page.lines, [format!("  knee{:13}{DASH}", "")]);
    }
}
