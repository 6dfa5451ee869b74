//! The human summary of a tuning study, plain text (no colours) within [`WIDTH`] columns.
//!
//! Sections, in order: what was tuned and how (target, workload, objective, sampler,
//! budget, knobs, the trials run, the time spent and why the study ended), every trial in
//! the order measured (a record: a long study shows them all), the finalists re-measured
//! against the baseline with their gain and 95 % interval, the conclusion with its
//! before/after table — near the end, so that it stays on screen — the knobs' importance,
//! and last one line per warning (what qualifies the conclusion: a best configuration not
//! re-measured, no importance; none of them invalidates a figure). A figure that was not
//! measured shows as `–`; nothing is cut.

use std::io;

use super::figures::{
    self as sf, MetricRow, before_after, better, changes, config, config_short, gain, gain_basis,
    objective, objective_with_unit, role_tag, significance,
};
use crate::export::Exporter;
use crate::export::figures::{DASH, elapsed};
use crate::export::page::{Page, WIDTH, labelled, warning_lines, wrap};
use crate::study::{Best, StudyRecord, TrialEntry};

/// Left column of the header's labelled lines.
const LABEL: usize = 10;

/// Left column of the conclusion's labelled lines.
const CONCLUSION: usize = 14;

/// Width of the objective column of the trials table.
const OBJECTIVE: usize = 10;

/// Width of the state column of the trials table (`abandoned`).
const STATE: usize = 9;

/// The narrowest and widest configuration column of the trials table: what the number,
/// role, objective and state columns leave.
const CONFIG_MIN: usize = 16;
const CONFIG_MAX: usize = WIDTH - (2 + 3 + 1 + 3 + 1) - 1 - OBJECTIVE - 2 - STATE;

/// Longest bar of the importance chart, in characters.
const BAR: usize = 40;

/// Writes the human summary of a tuning study.
#[derive(Debug, Clone, Copy, Default)]
pub struct StudyText;

impl Exporter<StudyRecord> for StudyText {
    fn write(&self, record: &StudyRecord, out: &mut dyn io::Write) -> io::Result<()> {
        write_study_text(record, out)
    }
}

/// Writes the human summary of a tuning study to `out`.
pub fn write_study_text(record: &StudyRecord, out: &mut dyn io::Write) -> io::Result<()> {
    let mut page = Page::default();
    header(&mut page, record);
    trials(&mut page, record);
    finalists(&mut page, record);
    conclusion(&mut page, record);
    importance(&mut page, record);
    let warnings: Vec<&str> = record.warnings.iter().map(String::as_str).collect();
    warning_lines(&mut page, &warnings);
    page.write_to(out)
}

/// `parts` after a label in the first `indent` columns, joined by ` · `, a line broken
/// between parts where possible and under the label.
fn flow(page: &mut Page, label: &str, parts: &[String], indent: usize) {
    let room = WIDTH - indent;
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for part in parts.iter().filter(|p| !p.is_empty()) {
        let wanted = line.chars().count() + 3 + part.chars().count();
        if !line.is_empty() && wanted <= room {
            line.push_str(" · ");
            line.push_str(part);
            continue;
        }
        if !line.is_empty() {
            lines.push(std::mem::take(&mut line));
        }
        let mut chunks = wrap(part, room);
        line = chunks.pop().unwrap_or_default();
        lines.extend(chunks);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    if lines.is_empty() {
        page.line(format!("{label:indent$}{DASH}"));
    }
    for (i, text) in lines.into_iter().enumerate() {
        page.line(format!("{:indent$}{text}", if i == 0 { label } else { "" }));
    }
}

fn header(page: &mut Page, r: &StudyRecord) {
    page.line(format!(
        "perfloop {} · study {} · {} target",
        r.perfloop_version, r.name, r.target.kind
    ));
    labelled(page, "command", &r.target.command, LABEL);
    labelled(page, "workload", &r.workload, LABEL);
    let o = &r.objective;
    let unit = if o.unit.is_empty() {
        String::new()
    } else {
        format!(" · {}", o.unit)
    };
    labelled(
        page,
        "objective",
        &format!("{}{unit} ({})", o.description, better(o.direction)),
        LABEL,
    );
    if r.constraints.is_empty() {
        page.line(format!("{:LABEL$}none", "limits"));
    } else {
        page.flow("limits", &r.constraints);
    }
    let b = &r.budget;
    page.flow(
        "sampler",
        &[
            b.sampler.clone(),
            format!("seed {}", b.seed),
            format!(
                "{} measurement{} per trial",
                b.repeats,
                if b.repeats == 1 { "" } else { "s" }
            ),
        ],
    );
    flow(page, "budget", &sf::budget(r), LABEL);
    if r.knobs.is_empty() {
        page.line(format!("{:LABEL$}none", "knobs"));
    } else {
        let knobs: Vec<String> = r
            .knobs
            .iter()
            .map(|k| {
                format!(
                    "{} ({}; default {})",
                    k.name,
                    k.domain,
                    sf::value(&k.default)
                )
            })
            .collect();
        page.flow("knobs", &knobs);
    }
    flow(page, "trials", &sf::trial_counts(r), LABEL);
    flow(
        page,
        "started",
        &[
            r.started_at.clone(),
            format!("measured {}", elapsed(r.elapsed_s)),
            format!(
                "ended {}: {}",
                sf::ending_name(r.ending),
                sf::ending_reason(r.ending)
            ),
        ],
        LABEL,
    );
    labelled(
        page,
        "study",
        &format!("fingerprint {}", r.fingerprint),
        LABEL,
    );
}

fn trials(page: &mut Page, r: &StudyRecord) {
    page.section(&format!("Trials ({})", r.trials.len()));
    if r.trials.is_empty() {
        page.line("  no trial was run");
        return;
    }
    let configs: Vec<String> = r
        .trials
        .iter()
        .map(|t| config_short(&r.knobs, &t.config))
        .collect();
    let width = configs
        .iter()
        .map(|c| c.chars().count())
        .max()
        .unwrap_or(0)
        .clamp(CONFIG_MIN, CONFIG_MAX);
    let unit = r.objective.unit.clone();
    page.line(format!(
        "  {:>3} {:<3} {:<width$} {unit:>OBJECTIVE$}  state",
        "#", "", "configuration"
    ));
    for (t, cfg) in r.trials.iter().zip(&configs) {
        trial_row(page, r, t, cfg, width);
    }
    page.line("  E explore · B baseline · Cn, Bn finalist, baseline of confirmation round n");
}

/// A trial's row: its configuration wrapped in its column, and for a trial without an
/// objective the reason on the next line, shortened to fit.
fn trial_row(page: &mut Page, r: &StudyRecord, t: &TrialEntry, cfg: &str, width: usize) {
    const INDENT: usize = 2 + 3 + 1 + 3 + 1;
    let complete = sf::is_complete(t);
    let state = if complete { "ok" } else { t.state.as_str() };
    let mut chunks = wrap(cfg, width).into_iter();
    let first = chunks.next().unwrap_or_default();
    page.line(format!(
        "  {:>3} {:<3} {first:<width$} {:>OBJECTIVE$}  {state}",
        t.number,
        role_tag(t),
        objective(t.objective, &r.objective.unit),
    ));
    for chunk in chunks {
        page.line(format!("{:INDENT$}{chunk}", ""));
    }
    if let Some(reason) = t.reason.as_deref().filter(|r| !complete && !r.is_empty()) {
        // Continued under the reason's text, past the `↳ `.
        for (i, chunk) in wrap(reason, WIDTH - INDENT - 2).into_iter().enumerate() {
            let mark = if i == 0 { "↳ " } else { "  " };
            page.line(format!("{:INDENT$}{mark}{chunk}", ""));
        }
    }
}

fn finalists(page: &mut Page, r: &StudyRecord) {
    let rounds = r.budget.confirm_rounds;
    page.section(&format!(
        "Finalists (re-measured against the baseline in {rounds} round{}; gain, 95 % CI)",
        if rounds == 1 { "" } else { "s" }
    ));
    if r.finalists.is_empty() {
        page.line("  no finalist was re-measured");
        return;
    }
    const INDENT: usize = 7;
    let unit = &r.objective.unit;
    for (i, f) in r.finalists.iter().enumerate() {
        labelled(
            page,
            &format!("  {:>2}", i + 1),
            &config(&r.knobs, &f.config),
            INDENT,
        );
        let mut figures = vec![
            format!("explored {}", objective(Some(f.explored), unit)),
            format!("mean {}", objective(f.mean, unit)),
            format!("gain {}", gain(f.gain.as_ref())),
        ];
        if let Some(g) = &f.gain {
            figures.push(significance(g).to_string());
        }
        flow(page, "", &figures, INDENT);
        let measured: Vec<String> = f.rounds.iter().map(|v| objective(*v, unit)).collect();
        if !measured.is_empty() {
            flow(
                page,
                "",
                &[format!("rounds {}", measured.join(" · "))],
                INDENT,
            );
        }
    }
}

fn conclusion(page: &mut Page, r: &StudyRecord) {
    page.section("Conclusion");
    let Some(best) = &r.best else {
        labelled(
            page,
            "  ",
            &format!(
                "no trial completed, so there is no conclusion (ended {}: {})",
                sf::ending_name(r.ending),
                sf::ending_reason(r.ending)
            ),
            2,
        );
        return;
    };
    let unit = &r.objective.unit;
    let cfg = config(&r.knobs, &best.config);
    if best.is_default {
        labelled(
            page,
            "  best",
            &format!("the defaults stand: {cfg}"),
            CONCLUSION,
        );
        runner_up(page, r, best);
    } else {
        labelled(page, "  best", &cfg, CONCLUSION);
        let changed = changes(&r.knobs, best);
        if !changed.is_empty() {
            labelled(page, "  changed", &changed.join(" · "), CONCLUSION);
        }
    }
    let mut objective_parts = vec![objective_with_unit(Some(best.objective), unit)];
    if let Some(base) = best.baseline_objective {
        objective_parts.push(format!(
            "baseline {} (same rounds)",
            objective_with_unit(Some(base), unit)
        ));
    }
    flow(page, "  objective", &objective_parts, CONCLUSION);
    let gain_parts = match &best.gain {
        Some(g) => vec![
            gain(Some(g)),
            format!("95 % CI over {}", gain_basis(g)),
            significance(g).to_string(),
        ],
        None if best.is_default => vec!["none: this is the baseline".to_string()],
        None => vec!["n/a: nothing was paired with the baseline".to_string()],
    };
    flow(page, "  gain", &gain_parts, CONCLUSION);
    if sf::shows_before_after(best) {
        before_after_table(page, &before_after(best));
    }
}

/// The runner-up of a conclusion that kept the defaults, with its gain.
fn runner_up(page: &mut Page, r: &StudyRecord, best: &Best) {
    let Some(config_map) = &best.runner_up else {
        return;
    };
    let mut parts = vec![config(&r.knobs, config_map)];
    if let Some(f) = sf::runner_up(r, best) {
        parts.push(format!("gain {}", gain(f.gain.as_ref())));
        if let Some(g) = &f.gain {
            parts.push(significance(g).to_string());
        }
    }
    flow(page, "  runner-up", &parts, CONCLUSION);
}

fn before_after_table(page: &mut Page, rows: &[MetricRow]) {
    if rows.is_empty() {
        return;
    }
    page.blank();
    page.line(format!(
        "  {:<20}{:>12}{:>12}{:>12}",
        "metric", "before", "after", "change"
    ));
    for row in rows {
        // A label too long for its column gets a line of its own, not a cut.
        let label = if row.label.chars().count() < 20 {
            row.label.as_str()
        } else {
            page.line(format!("  {}", row.label));
            ""
        };
        page.line(format!(
            "  {label:<20}{:>12}{:>12}{:>12}",
            row.show(row.before),
            row.show(row.after),
            row.change()
        ));
    }
}

fn importance(page: &mut Page, r: &StudyRecord) {
    page.section("Knob importance (share of the objective's variation)");
    if r.importance.is_empty() {
        page.line("  not computed");
        return;
    }
    for k in &r.importance {
        let share = if k.share.is_finite() {
            k.share.clamp(0.0, 1.0)
        } else {
            0.0
        };
        let len = (share * BAR as f64).round() as usize;
        page.line(format!(
            "  {:<16} {:<BAR$} {:>7}",
            k.knob,
            "#".repeat(len),
            format!("{:.1} %", share * 100.0)
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn before_after_rows_fit_and_align() {
        let rows = [MetricRow {
            label: "a metric with a very long name".to_string(),
            before: Some(123_456_789.0),
            after: None,
            decimals: 1,
        }];
        let mut page = Page::default();
        before_after_table(&mut page, &rows);
        assert_eq!(page.lines.len(), 4);
        assert!(page.lines.iter().all(|l| l.chars().count() <= WIDTH));
        assert_eq!(page.lines[2], "  a metric with a very long name");
        assert!(page.lines[3].ends_with("123456789.0           –           –"));
        assert!(!page.lines.concat().contains('…'));
    }
}
