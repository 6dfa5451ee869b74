//! The HTML report of a tuning study: one self-contained page (inline CSS, inline SVG, no
//! script, nothing fetched) that opens from a file.
//!
//! Sections, in order: the conclusion (the configuration to use, its gain over the defaults
//! with the 95 % interval, the before/after table of every metric), the plots (see
//! `plot.rs`), the finalists round by round, every trial with one column per knob,
//! the knobs' importance, the study's settings and the warnings. Every string taken from
//! the record is escaped; a figure that was not measured shows as `–`.

use std::fmt::Write as _;
use std::io;

use super::figures::{
    self as sf, before_after, better, changes, config, gain, gain_basis, objective,
    objective_with_unit, role_tag, significance,
};
use super::plot::StudyPlots;
use crate::export::Exporter;
use crate::export::figures::{DASH, elapsed, fixed};
use crate::export::html::{escape, figure, head, kv, legend};
use crate::study::{Best, Gain, StudyRecord, TrialEntry};

/// Writes the HTML report of a tuning study.
#[derive(Debug, Clone, Copy, Default)]
pub struct StudyHtml;

impl Exporter<StudyRecord> for StudyHtml {
    fn write(&self, record: &StudyRecord, out: &mut dyn io::Write) -> io::Result<()> {
        write_study_html(record, out)
    }
}

/// Writes the HTML report of a tuning study to `out`: one page, no external resource.
pub fn write_study_html(record: &StudyRecord, out: &mut dyn io::Write) -> io::Result<()> {
    let mut page = String::with_capacity(128 * 1024);
    render(&mut page, record).map_err(|_| io::Error::other("the report could not be formatted"))?;
    out.write_all(page.as_bytes())
}

/// The study's rules, after the reports' shared style sheet.
const STUDY_STYLE: &str = "
.knob-plots{display:flex;flex-wrap:wrap;gap:0 1.2em}.knob-plots figure{margin:.6em 0;
max-width:390px}.scroll{overflow-x:auto}
tr.missing td{color:#757575;background:#fafafa}
.caveats{border-left:4px solid #ef6c00;padding:.1em 1em;background:#fffaf3}
.track{width:240px;height:.8em;background:#f5f5f5;border-radius:2px}
.bar{height:100%;background:#1565c0;border-radius:2px}
";

fn render(h: &mut String, r: &StudyRecord) -> std::fmt::Result {
    head(h, &format!("perfloop study · {}", r.name), STUDY_STYLE)?;
    header(h, r)?;
    conclusion(h, r)?;
    plot_section(h, &StudyPlots::of(r))?;
    finalists(h, r)?;
    trials(h, r)?;
    importance(h, r)?;
    settings(h, r)?;
    caveats(h, &r.warnings)?;
    writeln!(
        h,
        "<footer>perfloop {} · study record {}</footer>",
        escape(&r.perfloop_version),
        escape(&r.schema)
    )?;
    writeln!(h, "</body>")?;
    writeln!(h, "</html>")
}

fn header(h: &mut String, r: &StudyRecord) -> std::fmt::Result {
    let o = &r.objective;
    writeln!(h, "<header>")?;
    writeln!(h, "<h1>Tuning study <code>{}</code></h1>", escape(&r.name))?;
    writeln!(
        h,
        "<p class=\"meta\">started {} · measured {} · ended {}: {} · perfloop {}</p>",
        escape(&r.started_at),
        elapsed(r.elapsed_s),
        sf::ending_name(r.ending),
        sf::ending_reason(r.ending),
        escape(&r.perfloop_version)
    )?;
    writeln!(
        h,
        "<p class=\"meta\">{} target <code>{}</code></p>",
        escape(&r.target.kind),
        escape(&r.target.command)
    )?;
    writeln!(
        h,
        "<p class=\"meta\">objective <strong>{}</strong> ({}{}) · workload {} · trials {}</p>",
        escape(&o.description),
        if o.unit.is_empty() {
            String::new()
        } else {
            format!("{}, ", escape(&o.unit))
        },
        better(o.direction),
        escape(&r.workload),
        escape(&sf::trial_counts(r).join(" · "))
    )?;
    writeln!(h, "</header>")
}

/// A configuration as escaped code.
fn code(text: &str) -> String {
    format!("<code>{}</code>", escape(text))
}

/// A gain with its interval and what it rests on, as HTML.
fn gain_cell(g: &Gain) -> String {
    let class = if g.significant { "pass" } else { "note" };
    format!(
        "<strong>{}</strong> <span class=\"note\">95 % CI over {}</span> · <span class=\"{class}\">{}</span>",
        escape(&gain(Some(g))),
        escape(&gain_basis(g)),
        significance(g)
    )
}

fn conclusion(h: &mut String, r: &StudyRecord) -> std::fmt::Result {
    writeln!(h, "<section id=\"conclusion\">")?;
    writeln!(h, "<h2>Conclusion</h2>")?;
    let Some(best) = &r.best else {
        writeln!(
            h,
            "<p class=\"headline none\">No conclusion: no trial completed ({}).</p>",
            sf::ending_reason(r.ending)
        )?;
        return writeln!(h, "</section>");
    };
    let unit = &r.objective.unit;
    let cfg = config(&r.knobs, &best.config);
    if best.is_default {
        writeln!(
            h,
            "<p class=\"headline\">The defaults stand: no finalist beat them by a significant \
             margin.</p>"
        )?;
    } else {
        let by = best
            .gain
            .as_ref()
            .map(|g| {
                format!(
                    ": <strong>{}</strong> against the defaults",
                    escape(&gain(Some(g)))
                )
            })
            .unwrap_or_default();
        writeln!(h, "<p class=\"headline\">Use {}{by}</p>", code(&cfg))?;
    }
    writeln!(h, "<table class=\"kv\">")?;
    kv(h, "configuration", &code(&cfg))?;
    if !best.is_default && !best.changed.is_empty() {
        let changed = changes(&r.knobs, best)
            .iter()
            .map(|c| escape(c))
            .collect::<Vec<_>>()
            .join("<br>");
        kv(h, "changed", &changed)?;
    }
    kv(
        h,
        "objective",
        &escape(&objective_with_unit(Some(best.objective), unit)),
    )?;
    kv(
        h,
        "baseline, same rounds",
        &escape(&objective_with_unit(best.baseline_objective, unit)),
    )?;
    let gain_html = match &best.gain {
        Some(g) => gain_cell(g),
        None if best.is_default => "none: this is the baseline".to_string(),
        None => "n/a: nothing was paired with the baseline".to_string(),
    };
    kv(h, "gain", &gain_html)?;
    runner_up(h, r, best)?;
    writeln!(h, "</table>")?;
    before_after_table(h, best)?;
    writeln!(h, "</section>")
}

/// The runner-up of a conclusion that kept the defaults, with its gain.
fn runner_up(h: &mut String, r: &StudyRecord, best: &Best) -> std::fmt::Result {
    let Some(map) = &best.runner_up else {
        return Ok(());
    };
    let mut cell = code(&config(&r.knobs, map));
    if let Some(g) = sf::runner_up(r, best).and_then(|f| f.gain.as_ref()) {
        cell.push_str(&format!("<br>{}", gain_cell(g)));
    }
    kv(h, "runner-up", &cell)
}

fn before_after_table(h: &mut String, best: &Best) -> std::fmt::Result {
    let rows = before_after(best);
    if rows.is_empty() || !sf::shows_before_after(best) {
        return Ok(());
    }
    writeln!(h, "<h3>Before and after</h3>")?;
    writeln!(h, "<table class=\"metrics\">")?;
    writeln!(
        h,
        "<thead><tr><th>metric</th><th class=\"num\">before (defaults)</th>\
         <th class=\"num\">after</th><th class=\"num\">change</th></tr></thead>"
    )?;
    writeln!(h, "<tbody>")?;
    for row in &rows {
        writeln!(
            h,
            "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td></tr>",
            escape(&row.label),
            row.show(row.before),
            row.show(row.after),
            row.change()
        )?;
    }
    writeln!(h, "</tbody>")?;
    writeln!(h, "</table>")?;
    writeln!(
        h,
        "<p class=\"note\">Means over the confirmation rounds of the baseline and of the \
         configuration above.</p>"
    )
}

/// The study's warnings: what qualifies the conclusion (none invalidates a figure), one
/// item each; nothing when there are none.
fn caveats(h: &mut String, list: &[String]) -> std::fmt::Result {
    if list.is_empty() {
        return Ok(());
    }
    writeln!(h, "<section id=\"warnings\" class=\"caveats\">")?;
    writeln!(h, "<h2>What qualifies the conclusion</h2>")?;
    writeln!(h, "<ul>")?;
    for w in list {
        writeln!(h, "<li>{}</li>", escape(w))?;
    }
    writeln!(h, "</ul>")?;
    writeln!(h, "</section>")
}

fn plot_section(h: &mut String, plots: &StudyPlots) -> std::fmt::Result {
    writeln!(h, "<section id=\"plots\">")?;
    writeln!(h, "<h2>Plots</h2>")?;
    if plots.is_empty() {
        writeln!(
            h,
            "<p class=\"note\">No trial measured an objective: nothing to plot.</p>"
        )?;
    }
    if let Some(p) = &plots.trials {
        figure(h, p)?;
    }
    if !plots.knobs.is_empty() {
        writeln!(h, "<h3>Objective against each knob</h3>")?;
        legend(h, &plots.knob_keys)?;
        writeln!(h, "<div class=\"knob-plots\">")?;
        for p in &plots.knobs {
            figure(h, p)?;
        }
        writeln!(h, "</div>")?;
    }
    if let Some(p) = &plots.rounds {
        figure(h, p)?;
    }
    writeln!(h, "</section>")
}

fn finalists(h: &mut String, r: &StudyRecord) -> std::fmt::Result {
    writeln!(h, "<section id=\"finalists\">")?;
    writeln!(h, "<h2>Finalists</h2>")?;
    if r.finalists.is_empty() {
        return writeln!(
            h,
            "<p class=\"note\">No finalist was re-measured.</p></section>"
        );
    }
    let unit = &r.objective.unit;
    let rounds = r
        .finalists
        .iter()
        .map(|f| f.rounds.len())
        .max()
        .unwrap_or(0);
    writeln!(
        h,
        "<p class=\"note\">Each finalist re-measured beside the baseline in every confirmation \
         round; objective in {}. Gain over the baseline of the same rounds, with its 95 % \
         confidence interval.</p>",
        escape(unit)
    )?;
    writeln!(h, "<div class=\"scroll\"><table class=\"finalists\">")?;
    write!(
        h,
        "<thead><tr><th class=\"num\">#</th><th>configuration</th>\
         <th class=\"num\">explored</th>"
    )?;
    for i in 1..=rounds {
        write!(h, "<th class=\"num\">round {i}</th>")?;
    }
    writeln!(
        h,
        "<th class=\"num\">mean</th><th class=\"num\">gain, 95 % CI</th><th></th></tr></thead>"
    )?;
    writeln!(h, "<tbody>")?;
    for (i, f) in r.finalists.iter().enumerate() {
        write!(
            h,
            "<tr><td class=\"num\">{}</td><td>{}</td><td class=\"num\">{}</td>",
            i + 1,
            code(&config(&r.knobs, &f.config)),
            objective(Some(f.explored), unit)
        )?;
        for round in 0..rounds {
            let v = f.rounds.get(round).copied().flatten();
            write!(h, "<td class=\"num\">{}</td>", objective(v, unit))?;
        }
        let verdict = match &f.gain {
            Some(g) if g.significant => "<span class=\"pass\">significant</span>",
            Some(_) => "<span class=\"note\">not significant</span>",
            None => "",
        };
        writeln!(
            h,
            "<td class=\"num\">{}</td><td class=\"num\">{}</td><td>{verdict}</td></tr>",
            objective(f.mean, unit),
            escape(&gain(f.gain.as_ref()))
        )?;
    }
    writeln!(h, "</tbody>")?;
    writeln!(h, "</table></div>")?;
    writeln!(h, "</section>")
}

/// The names of the trials' knob columns: the study's knobs, then any other name a trial
/// set.
fn knob_columns(r: &StudyRecord) -> Vec<&str> {
    let mut names: Vec<&str> = r.knobs.iter().map(|k| k.name.as_str()).collect();
    let mut others: Vec<&str> = r
        .trials
        .iter()
        .flat_map(|t| t.config.keys())
        .map(String::as_str)
        .filter(|n| !names.contains(n))
        .collect();
    others.sort_unstable();
    others.dedup();
    names.extend(others);
    names
}

fn trials(h: &mut String, r: &StudyRecord) -> std::fmt::Result {
    writeln!(h, "<section id=\"trials\">")?;
    writeln!(h, "<h2>Trials</h2>")?;
    if r.trials.is_empty() {
        return writeln!(h, "<p class=\"note\">No trial was run.</p></section>");
    }
    writeln!(
        h,
        "<p class=\"note\">Every trial in the order measured. Role: E explore, B baseline (the \
         defaults, measured between the others so that drift shows), Cn and Bn a finalist and \
         the baseline of confirmation round n. Metrics are means over the repeats; {DASH}: not \
         measured.</p>"
    )?;
    let columns = knob_columns(r);
    let unit = &r.objective.unit;
    writeln!(h, "<div class=\"scroll\"><table class=\"trials\">")?;
    write!(h, "<thead><tr><th class=\"num\">#</th><th>role</th>")?;
    for name in &columns {
        write!(h, "<th>{}</th>", escape(name))?;
    }
    writeln!(
        h,
        "<th class=\"num\">objective, {}</th><th class=\"num\">best so far</th>\
         <th class=\"num\">throughput, req/s</th><th class=\"num\">p99, ms</th>\
         <th class=\"num\">errors %</th><th class=\"num\">time, s</th><th>state</th></tr></thead>",
        escape(unit)
    )?;
    writeln!(h, "<tbody>")?;
    for t in &r.trials {
        trial_row(h, r, t, &columns)?;
    }
    writeln!(h, "</tbody>")?;
    writeln!(h, "</table></div>")?;
    writeln!(h, "</section>")
}

fn trial_row(
    h: &mut String,
    r: &StudyRecord,
    t: &TrialEntry,
    columns: &[&str],
) -> std::fmt::Result {
    let unit = &r.objective.unit;
    let complete = sf::is_complete(t);
    let class = if complete { "" } else { " class=\"missing\"" };
    write!(
        h,
        "<tr{class}><td class=\"num\">{}</td><td title=\"{}\">{}</td>",
        t.number,
        sf::role_name(t.role),
        escape(&role_tag(t))
    )?;
    for name in columns {
        let v = t
            .config
            .get(*name)
            .map_or_else(|| DASH.to_string(), sf::value);
        write!(h, "<td>{}</td>", escape(&v))?;
    }
    let metric = |key: &str| t.metrics.get(key).copied();
    let state = if complete {
        escape(&t.state)
    } else {
        format!("<span class=\"fail\">{}</span>", escape(&sf::state(t)))
    };
    writeln!(
        h,
        "<td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
         <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
         <td>{state}</td></tr>",
        objective(t.objective, unit),
        objective(t.best_so_far, unit),
        fixed(metric("throughput"), 1),
        fixed(metric("p99"), 2),
        fixed(metric("error_rate").map(|e| e * 100.0), 2),
        fixed(Some(t.duration_s), 1),
    )
}

fn importance(h: &mut String, r: &StudyRecord) -> std::fmt::Result {
    writeln!(h, "<section id=\"importance\">")?;
    writeln!(h, "<h2>Knob importance</h2>")?;
    if r.importance.is_empty() {
        return writeln!(
            h,
            "<p class=\"note\">Not computed: too few complete trials.</p></section>"
        );
    }
    writeln!(
        h,
        "<p class=\"note\">The share of the objective's variation each knob explains.</p>"
    )?;
    writeln!(h, "<table class=\"importance\">")?;
    for k in &r.importance {
        let pct = if k.share.is_finite() {
            k.share.clamp(0.0, 1.0) * 100.0
        } else {
            0.0
        };
        writeln!(
            h,
            "<tr><th>{}</th><td><div class=\"track\"><div class=\"bar\" \
             style=\"width:{pct:.1}%\"></div></div></td><td class=\"num\">{pct:.1} %</td></tr>",
            escape(&k.knob)
        )?;
    }
    writeln!(h, "</table>")?;
    writeln!(h, "</section>")
}

fn settings(h: &mut String, r: &StudyRecord) -> std::fmt::Result {
    writeln!(h, "<section id=\"settings\">")?;
    writeln!(h, "<h2>Study settings</h2>")?;
    if !r.knobs.is_empty() {
        writeln!(h, "<table class=\"knobs\">")?;
        writeln!(
            h,
            "<thead><tr><th>knob</th><th>values</th><th>default</th></tr></thead>"
        )?;
        writeln!(h, "<tbody>")?;
        for k in &r.knobs {
            writeln!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&k.name),
                escape(&k.domain),
                code(&sf::value(&k.default))
            )?;
        }
        writeln!(h, "</tbody>")?;
        writeln!(h, "</table>")?;
    }
    let b = &r.budget;
    writeln!(h, "<table class=\"kv\">")?;
    let limits = if r.constraints.is_empty() {
        "none".to_string()
    } else {
        r.constraints
            .iter()
            .map(|c| code(c))
            .collect::<Vec<_>>()
            .join(" ")
    };
    kv(h, "constraints", &limits)?;
    kv(h, "budget", &escape(&sf::budget(r).join(" · ")))?;
    kv(
        h,
        "sampler",
        &format!("{} · seed {}", escape(&b.sampler), b.seed),
    )?;
    kv(h, "measurements per trial", &b.repeats.to_string())?;
    kv(h, "workload", &escape(&r.workload))?;
    kv(h, "fingerprint", &code(&r.fingerprint))?;
    writeln!(h, "</table>")?;
    writeln!(h, "</section>")
}
