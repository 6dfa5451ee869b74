//! The plots of the capacity report, drawn from the measured data with `plotters`' SVG
//! backend.
//!
//! `plotters` is built without a font feature (no `ttf`, which needs the system's fonts
//! through font-kit, and no `ab_glyph`, which needs a font file embedded in the program).
//! Its SVG backend writes text as SVG `<text>` elements that the browser renders in its
//! own sans-serif font; without a font feature `plotters` estimates label sizes from the
//! character count, which is all the layout needs. The features are `svg_backend` and
//! `line_series` only: markers are drawn as plain elements.
//!
//! Each plot is an `<svg>` string without the `xmlns` attribute (inline SVG in HTML does
//! not need it), so the page refers to no address but the target's. The study's plots
//! (`study_plot.rs`) are drawn with the same helpers, colours and fonts.
//!
//! No legend is drawn inside a plot, where it would hide data: each plot comes with its
//! [`Key`]s, which the page writes under it in the same colours ([`legend_html`]).

use std::error::Error;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::capacity_html::escape;
use super::figures::{StepFigures, figure, is_rate};
use crate::capacity::{CapacityRecord, Step, Sweep};

/// Width and height of every plot, pixels.
pub(super) const SIZE: (u32, u32) = (760, 380);

/// The font family of every label; the browser picks the face.
const FONT: &str = "sans-serif";

pub(super) const PASS: RGBColor = RGBColor(0x2e, 0x7d, 0x32);
pub(super) const FAIL: RGBColor = RGBColor(0xc6, 0x28, 0x28);
pub(super) const MUTED: RGBColor = RGBColor(0x75, 0x75, 0x75);
pub(super) const GRID: RGBColor = RGBColor(0xee, 0xee, 0xee);
pub(super) const AXIS: RGBColor = RGBColor(0xbd, 0xbd, 0xbd);
pub(super) const BLUE_LINE: RGBColor = RGBColor(0x15, 0x65, 0xc0);
pub(super) const ORANGE_LINE: RGBColor = RGBColor(0xef, 0x6c, 0x00);
pub(super) const PURPLE_LINE: RGBColor = RGBColor(0x6a, 0x1b, 0x9a);

pub(super) type Fallible<T> = Result<T, Box<dyn Error>>;

/// One plot of the report.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Plot {
    /// The `id` of its figure in the page.
    pub id: &'static str,
    /// Its heading.
    pub title: &'static str,
    /// What it shows, in a sentence.
    pub caption: String,
    /// The `<svg>` element, or why it could not be drawn.
    pub svg: Result<String, String>,
    /// Its legend.
    pub keys: Vec<Key>,
}

/// One entry of a legend: a symbol in a colour, and what it stands for.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Key {
    /// The symbol, as text: `●`, `▲`, `━`.
    pub symbol: &'static str,
    /// Its colour, `#rrggbb`.
    pub color: String,
    /// What it stands for.
    pub label: String,
}

impl Key {
    pub(super) fn new(symbol: &'static str, color: RGBColor, label: impl Into<String>) -> Key {
        Key {
            symbol,
            color: format!("#{:02x}{:02x}{:02x}", color.0, color.1, color.2),
            label: label.into(),
        }
    }
}

/// A plot's legend as HTML: each symbol in its colour, then what it stands for; nothing
/// without keys.
pub(super) fn legend_html(keys: &[Key]) -> String {
    if keys.is_empty() {
        return String::new();
    }
    let mut h = String::from("<p class=\"legend\">");
    for k in keys {
        h.push_str(&format!(
            "<span class=\"key\"><span style=\"color:{}\">{}</span> {}</span>",
            escape(&k.color),
            k.symbol,
            escape(&k.label)
        ));
    }
    h.push_str("</p>");
    h
}

/// An SVG of [`SIZE`] drawn by `draw`, without the `xmlns` attribute.
fn svg_of<F>(draw: F) -> Result<String, String>
where
    F: for<'a, 'b> FnOnce(&'b DrawingArea<SVGBackend<'a>, Shift>) -> Fallible<()>,
{
    svg_sized(SIZE, draw)
}

/// An SVG of `size` pixels drawn by `draw`, without the `xmlns` attribute.
pub(super) fn svg_sized<F>(size: (u32, u32), draw: F) -> Result<String, String>
where
    F: for<'a, 'b> FnOnce(&'b DrawingArea<SVGBackend<'a>, Shift>) -> Fallible<()>,
{
    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, size).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        draw(&root).map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(buf.replacen(r#" xmlns="http://www.w3.org/2000/svg""#, "", 1))
}

/// The largest of `values`, or `floor` when they are all smaller (or there are none).
pub(super) fn max_or(values: impl IntoIterator<Item = f64>, floor: f64) -> f64 {
    values
        .into_iter()
        .filter(|v| v.is_finite())
        .fold(floor, f64::max)
}

/// An axis label: few digits, no needless zeros.
pub(super) fn tick(v: &f64) -> String {
    figure(*v)
}

pub(super) fn label_font() -> TextStyle<'static> {
    (FONT, 12).into_font().color(&MUTED)
}

pub(super) fn desc_font() -> TextStyle<'static> {
    (FONT, 14).into_font().into()
}

/// The steps of the rate search (ramp and bisection), by offered rate.
fn rate_steps(record: &CapacityRecord) -> Vec<&Step> {
    let mut steps: Vec<&Step> = record.steps.iter().filter(|s| is_rate(s)).collect();
    steps.sort_by(|a, b| a.offered.total_cmp(&b.offered));
    steps
}

/// Every plot the record has data for, in the page's order.
pub(super) fn plots(record: &CapacityRecord) -> Vec<Plot> {
    let mut plots = Vec::new();
    let rates = rate_steps(record);
    if !rates.is_empty() {
        plots.push(throughput_plot(record, &rates));
        if let Some(p) = latency_plot(&rates) {
            plots.push(p);
        }
    }
    if let Some(sweep) = record.sweep.as_ref().filter(|s| !s.points.is_empty()) {
        plots.push(usl_plot(sweep));
    }
    if let Some(p) = resources_plot(record) {
        plots.push(p);
    }
    plots
}

/// (a) Throughput against the offered rate, with `y = x` and the verdicts.
fn throughput_plot(record: &CapacityRecord, steps: &[&Step]) -> Plot {
    let points: Vec<(f64, f64, &Step)> = steps
        .iter()
        .map(|s| (s.offered, s.run.throughput_rps, *s))
        .collect();
    let x_max = max_or(points.iter().map(|p| p.0), 1.0) * 1.08;
    let y_max = max_or(points.iter().map(|p| p.1), 1.0).max(x_max / 1.08) * 1.08;
    let best = record.result.max_sustainable_rps;
    let mut keys = vec![
        Key::new("┄", MUTED, "y = x (all offered served)"),
        Key::new("━", BLUE_LINE, "throughput"),
    ];
    if let Some(best) = best.filter(|b| b.is_finite()) {
        keys.push(Key::new(
            "┄",
            PASS,
            format!("max sustainable {} req/s", figure(best)),
        ));
    }
    for (shown, symbol, color, label) in [
        (points.iter().any(|p| p.2.verdict.pass), "●", PASS, "pass"),
        (
            points
                .iter()
                .any(|p| !p.2.verdict.pass && p.2.verdict.trusted),
            "×",
            FAIL,
            "FAIL",
        ),
        (
            points.iter().any(|p| !p.2.verdict.trusted),
            "○",
            MUTED,
            "not trusted",
        ),
    ] {
        if shown {
            keys.push(Key::new(symbol, color, label));
        }
    }
    let svg = svg_of(|root| {
        let mut chart = ChartBuilder::on(root)
            .margin(14)
            .x_label_area_size(44)
            .y_label_area_size(70)
            .build_cartesian_2d(0.0..x_max, 0.0..y_max)?;
        chart
            .configure_mesh()
            .light_line_style(WHITE)
            .bold_line_style(GRID)
            .axis_style(AXIS)
            .label_style(label_font())
            .axis_desc_style(desc_font())
            .x_label_formatter(&tick)
            .y_label_formatter(&tick)
            .x_desc("offered rate, req/s")
            .y_desc("throughput, req/s")
            .draw()?;
        let diagonal = x_max.min(y_max);
        chart.draw_series(DashedLineSeries::new(
            [(0.0, 0.0), (diagonal, diagonal)],
            6,
            4,
            MUTED.stroke_width(1),
        ))?;
        if let Some(best) = best.filter(|b| b.is_finite()) {
            chart.draw_series(DashedLineSeries::new(
                [(0.0, best), (x_max, best)],
                3,
                3,
                PASS.stroke_width(1),
            ))?;
        }
        chart.draw_series(LineSeries::new(
            points.iter().map(|p| (p.0, p.1)),
            BLUE_LINE.stroke_width(2),
        ))?;
        let passed: Vec<(f64, f64)> = points
            .iter()
            .filter(|p| p.2.verdict.pass)
            .map(|p| (p.0, p.1))
            .collect();
        let failed: Vec<(f64, f64)> = points
            .iter()
            .filter(|p| !p.2.verdict.pass && p.2.verdict.trusted)
            .map(|p| (p.0, p.1))
            .collect();
        let untrusted: Vec<(f64, f64)> = points
            .iter()
            .filter(|p| !p.2.verdict.trusted)
            .map(|p| (p.0, p.1))
            .collect();
        if !passed.is_empty() {
            chart.draw_series(passed.iter().map(|&p| Circle::new(p, 5, PASS.filled())))?;
        }
        if !failed.is_empty() {
            chart.draw_series(
                failed
                    .iter()
                    .map(|&p| Cross::new(p, 5, FAIL.stroke_width(2))),
            )?;
        }
        if !untrusted.is_empty() {
            chart.draw_series(
                untrusted
                    .iter()
                    .map(|&p| Circle::new(p, 6, MUTED.stroke_width(2))),
            )?;
        }
        Ok(())
    });
    Plot {
        id: "plot-throughput",
        title: "Throughput against offered rate",
        caption: format!(
            "The {} steps of the rate search: responses per second against the arrival rate \
             asked. Points under the dashed y = x line served less than was offered.",
            steps.len()
        ),
        svg,
        keys,
    }
}

/// (b) Latency percentiles against the offered rate, with the latency objectives.
fn latency_plot(steps: &[&Step]) -> Option<Plot> {
    let rows: Vec<(f64, StepFigures)> = steps
        .iter()
        .map(|s| (s.offered, StepFigures::of(s)))
        .filter(|(_, f)| f.p50_ms.is_some())
        .collect();
    let series = |pick: fn(&StepFigures) -> Option<f64>| -> Vec<(f64, f64)> {
        rows.iter()
            .filter_map(|(x, f)| pick(f).filter(|v| *v > 0.0).map(|v| (*x, v)))
            .collect()
    };
    let p50 = series(|f| f.p50_ms);
    let p90 = series(|f| f.p90_ms);
    let p99 = series(|f| f.p99_ms);
    if p50.is_empty() && p99.is_empty() {
        return None;
    }
    // The latency objectives, as written in the first step that has them.
    let objectives: Vec<(String, f64)> = steps
        .iter()
        .map(|s| &s.run.slo)
        .find(|slo| !slo.is_empty())
        .map(|slo| {
            slo.iter()
                .filter(|o| o.unit == "ms" && o.threshold > 0.0 && o.threshold.is_finite())
                .map(|o| (o.expr.clone(), o.threshold))
                .collect()
        })
        .unwrap_or_default();
    let values = || {
        p50.iter()
            .chain(&p90)
            .chain(&p99)
            .map(|p| p.1)
            .chain(objectives.iter().map(|o| o.1))
    };
    let lo = values().fold(f64::INFINITY, f64::min) / 1.6;
    let hi = values().fold(0.0, f64::max) * 1.6;
    let x_max = max_or(rows.iter().map(|r| r.0), 1.0) * 1.08;
    let mut keys: Vec<Key> = [
        ("p50", &p50, BLUE_LINE),
        ("p90", &p90, ORANGE_LINE),
        ("p99", &p99, PURPLE_LINE),
    ]
    .into_iter()
    .filter(|(_, points, _)| !points.is_empty())
    .map(|(name, _, color)| Key::new("━", color, name))
    .collect();
    keys.extend(
        objectives
            .iter()
            .map(|(expr, _)| Key::new("┄", FAIL, format!("objective {expr}"))),
    );
    let svg = svg_of(|root| {
        let mut chart = ChartBuilder::on(root)
            .margin(14)
            .x_label_area_size(44)
            .y_label_area_size(70)
            .build_cartesian_2d(0.0..x_max, (lo..hi).log_scale())?;
        chart
            .configure_mesh()
            .light_line_style(WHITE)
            .bold_line_style(GRID)
            .axis_style(AXIS)
            .label_style(label_font())
            .axis_desc_style(desc_font())
            .x_label_formatter(&tick)
            .y_label_formatter(&tick)
            .x_desc("offered rate, req/s")
            .y_desc("latency, ms (log scale)")
            .draw()?;
        for (_, threshold) in &objectives {
            chart.draw_series(DashedLineSeries::new(
                [(0.0, *threshold), (x_max, *threshold)],
                6,
                4,
                FAIL.stroke_width(1),
            ))?;
        }
        for (_, points, color) in [
            ("p50", &p50, BLUE_LINE),
            ("p90", &p90, ORANGE_LINE),
            ("p99", &p99, PURPLE_LINE),
        ] {
            chart.draw_series(LineSeries::new(
                points.iter().copied(),
                color.stroke_width(2),
            ))?;
            chart.draw_series(
                points
                    .iter()
                    .map(move |&p| Circle::new(p, 3, color.filled())),
            )?;
        }
        Ok(())
    });
    Some(Plot {
        id: "plot-latency",
        title: "Latency against offered rate",
        caption: "Median, 90th and 99th percentile latency of each step of the rate search, \
                  measured from the intended send time; dashed: the latency objectives."
            .to_string(),
        svg,
        keys,
    })
}

/// (c) The sweep's throughput against concurrency, with the fitted law.
fn usl_plot(sweep: &Sweep) -> Plot {
    let trusted: Vec<(f64, f64)> = sweep
        .points
        .iter()
        .filter(|p| p.trusted)
        .map(|p| (p.concurrency as f64, p.throughput_rps))
        .collect();
    let untrusted: Vec<(f64, f64)> = sweep
        .points
        .iter()
        .filter(|p| !p.trusted)
        .map(|p| (p.concurrency as f64, p.throughput_rps))
        .collect();
    let x_max = max_or(sweep.points.iter().map(|p| p.concurrency as f64), 2.0) * 1.1;
    const SAMPLES: usize = 200;
    let curve: Vec<(f64, f64)> = sweep
        .usl
        .as_ref()
        .map(|u| {
            (0..=SAMPLES)
                .map(|i| 1.0 + (x_max - 1.0) * i as f64 / SAMPLES as f64)
                .map(|n| (n, u.throughput(n)))
                .filter(|p| p.1.is_finite() && p.1 >= 0.0)
                .collect()
        })
        .unwrap_or_default();
    let y_max = max_or(
        sweep
            .points
            .iter()
            .map(|p| p.throughput_rps)
            .chain(curve.iter().map(|p| p.1)),
        1.0,
    ) * 1.1;
    let mut keys = Vec::new();
    if let Some(u) = &sweep.usl {
        keys.push(Key::new(
            "━",
            ORANGE_LINE,
            format!(
                "USL fit (σ {}, κ {}, λ {}, R² {:.3})",
                figure(u.sigma),
                figure(u.kappa),
                figure(u.lambda),
                u.r_squared
            ),
        ));
    }
    if !trusted.is_empty() {
        keys.push(Key::new("●", BLUE_LINE, "measured"));
    }
    if !untrusted.is_empty() {
        keys.push(Key::new("○", MUTED, "not trusted (not fitted)"));
    }
    let svg = svg_of(|root| {
        let mut chart = ChartBuilder::on(root)
            .margin(14)
            .x_label_area_size(44)
            .y_label_area_size(70)
            .build_cartesian_2d(0.0..x_max, 0.0..y_max)?;
        chart
            .configure_mesh()
            .light_line_style(WHITE)
            .bold_line_style(GRID)
            .axis_style(AXIS)
            .label_style(label_font())
            .axis_desc_style(desc_font())
            .x_label_formatter(&tick)
            .y_label_formatter(&tick)
            .x_desc("concurrency (connections)")
            .y_desc("throughput, req/s")
            .draw()?;
        if sweep.usl.is_some() {
            chart.draw_series(LineSeries::new(
                curve.iter().copied(),
                ORANGE_LINE.stroke_width(2),
            ))?;
        }
        if !trusted.is_empty() {
            chart.draw_series(
                trusted
                    .iter()
                    .map(|&p| Circle::new(p, 5, BLUE_LINE.filled())),
            )?;
        }
        if !untrusted.is_empty() {
            chart.draw_series(
                untrusted
                    .iter()
                    .map(|&p| Circle::new(p, 6, MUTED.stroke_width(2))),
            )?;
        }
        Ok(())
    });
    let caption = match (&sweep.usl, &sweep.usl_error) {
        (Some(_), _) => "Closed-model throughput at each concurrency level, with the Universal \
                         Scalability Law fitted to the trusted points."
            .to_string(),
        (None, Some(e)) => format!(
            "Closed-model throughput at each concurrency level; the Universal Scalability Law \
             could not be fitted: {e}"
        ),
        (None, None) => "Closed-model throughput at each concurrency level.".to_string(),
    };
    Plot {
        id: "plot-usl",
        title: "Throughput against concurrency",
        caption,
        keys,
        svg,
    }
}

/// The target's samples of every step on one time axis.
#[derive(Debug, Default)]
struct Timeline {
    cpu: Vec<(f64, f64)>,
    top_thread: Vec<(f64, f64)>,
    rss: Vec<(f64, f64)>,
    /// Where each step starts, with its index.
    starts: Vec<(f64, usize)>,
    end: f64,
}

/// Concatenates the steps' target samples: each step's `t_s` (negative in the warm-up) is
/// moved by the time the previous steps took, a step taking its warm-up and measured
/// window, or the span of its samples when they run longer.
fn timeline(record: &CapacityRecord) -> Timeline {
    let mut t = Timeline::default();
    let mut offset = 0.0;
    for step in &record.steps {
        let run = &step.run;
        let warmup = run.load.warmup_s.max(0.0);
        let last = max_or(run.target.samples.iter().map(|s| s.t_s + warmup), 0.0);
        let span = (run.load.duration_s + warmup).max(last);
        t.starts.push((offset, step.index));
        for s in &run.target.samples {
            let at = offset + warmup + s.t_s;
            let point = |series: &mut Vec<(f64, f64)>, v: Option<f64>| {
                if let Some(v) = v {
                    series.push((at, v));
                }
            };
            point(&mut t.cpu, s.cpu_pct);
            point(&mut t.top_thread, s.top_thread_cpu_pct);
            point(&mut t.rss, s.rss_mb);
        }
        offset += span;
    }
    t.end = offset;
    t
}

/// (d) The target's CPU (whole and busiest thread) and RSS across the steps.
fn resources_plot(record: &CapacityRecord) -> Option<Plot> {
    let t = timeline(record);
    if t.cpu.is_empty() {
        return None;
    }
    let x_max = t.end.max(max_or(t.cpu.iter().map(|p| p.0), 0.0)).max(1e-3);
    let cpu_max = max_or(t.cpu.iter().chain(&t.top_thread).map(|p| p.1), 1.0) * 1.15;
    let rss_max = max_or(t.rss.iter().map(|p| p.1), 1.0) * 1.15;
    let svg = svg_of(|root| {
        let mut chart = ChartBuilder::on(root)
            .margin(14)
            .x_label_area_size(44)
            .y_label_area_size(70)
            .right_y_label_area_size(70)
            .build_cartesian_2d(0.0..x_max, 0.0..cpu_max)?
            .set_secondary_coord(0.0..x_max, 0.0..rss_max);
        chart
            .configure_mesh()
            .light_line_style(WHITE)
            .bold_line_style(GRID)
            .axis_style(AXIS)
            .label_style(label_font())
            .axis_desc_style(desc_font())
            .x_label_formatter(&tick)
            .y_label_formatter(&tick)
            .x_desc("time across the steps, s")
            .y_desc("CPU, % of one core")
            .draw()?;
        chart
            .configure_secondary_axes()
            .axis_style(AXIS)
            .label_style(label_font())
            .axis_desc_style(desc_font())
            .y_label_formatter(&tick)
            .y_desc("RSS, MiB")
            .draw()?;
        chart.draw_series(
            t.starts
                .iter()
                .map(|&(x, _)| PathElement::new([(x, 0.0), (x, cpu_max)], AXIS.stroke_width(1))),
        )?;
        chart.draw_series(t.starts.iter().map(|&(x, i)| {
            Text::new(
                format!("{i}"),
                (x, cpu_max),
                (FONT, 11).into_font().color(&MUTED),
            )
        }))?;
        chart.draw_series(LineSeries::new(
            t.cpu.iter().copied(),
            BLUE_LINE.stroke_width(2),
        ))?;
        chart.draw_series(LineSeries::new(
            t.top_thread.iter().copied(),
            ORANGE_LINE.stroke_width(2),
        ))?;
        chart.draw_secondary_series(LineSeries::new(
            t.rss.iter().copied(),
            PURPLE_LINE.stroke_width(1),
        ))?;
        Ok(())
    });
    Some(Plot {
        id: "plot-resources",
        title: "Target resources across the steps",
        caption: "The watched target's CPU (the whole process tree and its busiest thread, % \
                  of one core) and resident memory, sample by sample, the steps one after the \
                  other (warm-up included); the vertical lines mark where each step begins."
            .to_string(),
        svg,
        keys: vec![
            Key::new("━", BLUE_LINE, "target CPU"),
            Key::new("━", ORANGE_LINE, "busiest thread"),
            Key::new("━", PURPLE_LINE, "RSS (right axis)"),
        ],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_svg_has_no_namespace_address_and_is_closed() {
        let svg = svg_of(|_| Ok(())).unwrap_or_default();
        assert!(svg.starts_with("<svg "), "{svg}");
        assert!(svg.trim_end().ends_with("</svg>"), "{svg}");
        assert!(!svg.contains("http"), "{svg}");
    }

    #[test]
    fn drawing_errors_become_messages() {
        let svg = svg_of(|_| Err("no data".into()));
        assert_eq!(svg, Err("no data".to_string()));
    }
}
