//! The plots of the capacity report: throughput and latency against the offered rate, the
//! sweep's throughput against concurrency with its fitted law, and the target's CPU and
//! memory across the steps; drawn with the shared helpers of `export/plot.rs`.

use plotters::prelude::*;

use super::figures::{StepFigures, is_rate};
use crate::capacity::{CapacityRecord, Step, Sweep};
use crate::export::figures::figure;
use crate::export::plot::{
    AXIS, BLUE_LINE, FAIL, FONT, Fallible, Key, LatencyAxes, LinearChart, MUTED, ORANGE_LINE, PASS,
    PURPLE_LINE, Plot, WIDE, latency_keys, latency_svg, linear_svg, max_or, mesh, right_axis,
    solid_line,
};

/// Points not trusted, as open grey circles (nothing when there are none).
fn untrusted_marks(chart: &mut LinearChart<'_, '_>, points: &[(f64, f64)]) -> Fallible<()> {
    if !points.is_empty() {
        chart.draw_series(
            points
                .iter()
                .map(|&p| Circle::new(p, 6, MUTED.stroke_width(2))),
        )?;
    }
    Ok(())
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
    let svg = linear_svg(
        x_max,
        y_max,
        "offered rate, req/s",
        "throughput, req/s",
        |chart| {
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
            untrusted_marks(chart, &untrusted)
        },
    );
    Plot {
        id: "plot-throughput".to_string(),
        title: "Throughput against offered rate".to_string(),
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
    let series = [
        ("p50", &p50, BLUE_LINE),
        ("p90", &p90, ORANGE_LINE),
        ("p99", &p99, PURPLE_LINE),
    ];
    let keys = latency_keys(&series, &objectives);
    let axes = LatencyAxes {
        x_max,
        lo,
        hi,
        x_desc: "offered rate, req/s",
        y_labels: None,
    };
    let svg = latency_svg(axes, &objectives, |chart| {
        for (_, points, color) in series {
            solid_line(chart, points, color)?;
            chart.draw_series(
                points
                    .iter()
                    .map(move |&p| Circle::new(p, 3, color.filled())),
            )?;
        }
        Ok(())
    });
    Some(Plot {
        id: "plot-latency".to_string(),
        title: "Latency against offered rate".to_string(),
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
    let svg = linear_svg(
        x_max,
        y_max,
        "concurrency (connections)",
        "throughput, req/s",
        |chart| {
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
            untrusted_marks(chart, &untrusted)
        },
    );
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
        id: "plot-usl".to_string(),
        title: "Throughput against concurrency".to_string(),
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
    let svg = WIDE.svg(|root| {
        let mut chart = WIDE
            .chart(root)
            .right_y_label_area_size(70)
            .build_cartesian_2d(0.0..x_max, 0.0..cpu_max)?
            .set_secondary_coord(0.0..x_max, 0.0..rss_max);
        mesh(&mut chart)
            .x_desc("time across the steps, s")
            .y_desc("CPU, % of one core")
            .draw()?;
        right_axis(&mut chart, "RSS, MiB")?;
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
        id: "plot-resources".to_string(),
        title: "Target resources across the steps".to_string(),
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
