//! The plots of the run report, drawn from the record with the shared helpers of
//! `export/plot.rs`: throughput per second, latency percentiles per second, errors per
//! second, the latency distribution on a log axis, and the watched target's CPU and memory.
//!
//! A timeline row covers `[t_s, t_s + length_s)` of the measured window and is drawn as a
//! step over that span, so a last, partial second keeps its true width and a second
//! without a response leaves a gap rather than an invented value. A plot whose data the
//! run did not measure is not drawn: it is an [`Absent`] with the reason.

use plotters::prelude::*;

use crate::export::figures::duration;
use crate::export::plot::{
    AXIS, BLUE_LINE, FAIL, Key, LatencyAxes, MUTED, ORANGE_LINE, PURPLE_LINE, Plot, WIDE,
    latency_keys, latency_svg, linear_svg, max_or, mesh, objective_keys, objective_lines,
    right_axis, solid_line, tick,
};
use crate::run::{BUCKETS, RunRecord, TimelinePoint};

/// A plot of the page, or why it was not drawn.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum RunPlot {
    /// Drawn from measured data.
    Drawn(Plot),
    /// Not drawn: its data was not measured (or there is none to show).
    Absent(Absent),
}

/// A plot left out, with its heading and the reason.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Absent {
    /// The `id` its figure would have had.
    pub id: &'static str,
    /// Its heading.
    pub title: &'static str,
    /// Why it is not drawn, in a sentence.
    pub reason: String,
}

fn absent(id: &'static str, title: &'static str, reason: impl Into<String>) -> RunPlot {
    RunPlot::Absent(Absent {
        id,
        title,
        reason: reason.into(),
    })
}

/// A plot drawn from measured data, with its heading, caption and legend.
fn drawn(
    id: &str,
    title: &str,
    caption: impl Into<String>,
    svg: Result<String, String>,
    keys: Vec<Key>,
) -> RunPlot {
    RunPlot::Drawn(Plot {
        id: id.to_string(),
        title: title.to_string(),
        caption: caption.into(),
        svg,
        keys,
    })
}

/// Every plot of the page, in its order.
pub(super) fn plots(r: &RunRecord) -> Vec<RunPlot> {
    vec![
        throughput_plot(r),
        latency_plot(r),
        errors_plot(r),
        histogram_plot(r),
        resources_plot(r),
    ]
}

/// The end of the measured window on the timeline's axis.
fn window_end(r: &RunRecord) -> f64 {
    max_or(
        r.timeline.iter().map(|p| p.t_s as f64 + p.length_s),
        r.load.duration_s,
    )
    .max(1e-3)
}

/// The rows' values as steps, one path per run of consecutive rows that have a positive
/// value: a row without one breaks the line.
fn steps(
    rows: &[TimelinePoint],
    pick: impl Fn(&TimelinePoint) -> Option<f64>,
) -> Vec<Vec<(f64, f64)>> {
    let mut paths: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut open = false;
    for row in rows {
        match pick(row).filter(|v| v.is_finite() && *v > 0.0) {
            Some(v) => {
                let start = row.t_s as f64;
                let segment = [(start, v), (start + row.length_s, v)];
                match paths.last_mut() {
                    Some(path) if open => path.extend(segment),
                    _ => paths.push(segment.to_vec()),
                }
                open = true;
            }
            None => open = false,
        }
    }
    paths
}

/// Requests completed per second, with the run's throughput and any throughput objective.
fn throughput_plot(r: &RunRecord) -> RunPlot {
    const ID: &str = "plot-throughput";
    const TITLE: &str = "Throughput per second";
    if r.timeline.is_empty() {
        return absent(ID, TITLE, "Not measured: the timeline has no second.");
    }
    let paths = steps(&r.timeline, |p| Some(p.rps));
    let objectives: Vec<(&str, f64)> = r
        .slo
        .iter()
        .filter(|s| s.endpoint.is_none() && s.unit == "req/s" && s.threshold.is_finite())
        .map(|s| (s.expr.as_str(), s.threshold))
        .collect();
    let x_max = window_end(r);
    let y_max = max_or(
        r.timeline
            .iter()
            .map(|p| p.rps)
            .chain([r.throughput_rps])
            .chain(objectives.iter().map(|o| o.1)),
        1.0,
    ) * 1.15;
    let mut keys = vec![
        Key::new("━", BLUE_LINE, "requests completed per second"),
        Key::new(
            "┄",
            MUTED,
            format!("run throughput {} req/s", tick(&r.throughput_rps)),
        ),
    ];
    keys.extend(objective_keys(&objectives));
    let svg = linear_svg(
        x_max,
        y_max,
        "time in the measured window, s",
        "throughput, req/s",
        |chart| {
            chart.draw_series(DashedLineSeries::new(
                [(0.0, r.throughput_rps), (x_max, r.throughput_rps)],
                6,
                4,
                MUTED.stroke_width(1),
            ))?;
            objective_lines(chart, x_max, &objectives)?;
            for path in &paths {
                solid_line(chart, path, BLUE_LINE)?;
            }
            Ok(())
        },
    );
    drawn(
        ID,
        TITLE,
        "Requests counted in each second of the measured window (warm-up excluded), \
                  over the second's length. Requests answered after the window, while it \
                  drained, are in the run's throughput but in no second.",
        svg,
        keys,
    )
}

/// The median, 90th and 99th percentile of each second, on a log scale, with the run's
/// latency objectives.
fn latency_plot(r: &RunRecord) -> RunPlot {
    const ID: &str = "plot-latency";
    const TITLE: &str = "Latency per second";
    let series = [
        ("p50", steps(&r.timeline, |p| p.p50_ms), BLUE_LINE),
        ("p90", steps(&r.timeline, |p| p.p90_ms), ORANGE_LINE),
        ("p99", steps(&r.timeline, |p| p.p99_ms), PURPLE_LINE),
    ];
    if series.iter().all(|(_, paths, _)| paths.is_empty()) {
        return absent(ID, TITLE, "Not measured: no second had a response.");
    }
    let objectives: Vec<(&str, f64)> = r
        .slo
        .iter()
        .filter(|s| {
            s.endpoint.is_none() && s.unit == "ms" && s.threshold > 0.0 && s.threshold.is_finite()
        })
        .map(|s| (s.expr.as_str(), s.threshold))
        .collect();
    let values = || {
        series
            .iter()
            .flat_map(|(_, paths, _)| paths.iter().flatten().map(|p| p.1))
            .chain(objectives.iter().map(|o| o.1))
    };
    // From a power of ten: the log axis labels start at the first one in its range.
    let lo = 10f64.powf(
        (values().fold(f64::INFINITY, f64::min) / 1.2)
            .log10()
            .floor(),
    );
    let hi = values().fold(0.0, f64::max) * 1.6;
    let x_max = window_end(r);
    let keys = latency_keys(&series, &objectives);
    let axes = LatencyAxes {
        x_max,
        lo,
        hi,
        x_desc: "time in the measured window, s",
        y_labels: Some(12),
    };
    let svg = latency_svg(axes, &objectives, |chart| {
        for (_, paths, color) in &series {
            for path in paths {
                solid_line(chart, path, *color)?;
            }
        }
        Ok(())
    });
    drawn(
        ID,
        TITLE,
        "Median, 90th and 99th percentile latency of the responses of each second; a \
                  gap is a second without a response. Dashed: the run's latency objectives.",
        svg,
        keys,
    )
}

/// Failed requests per second, as bars; left out when no request failed.
fn errors_plot(r: &RunRecord) -> RunPlot {
    const ID: &str = "plot-errors";
    const TITLE: &str = "Errors per second";
    if r.timeline.is_empty() {
        return absent(ID, TITLE, "Not measured: the timeline has no second.");
    }
    if r.timeline.iter().all(|p| p.errors == 0) {
        return absent(ID, TITLE, "No request of the measured window failed.");
    }
    let bars: Vec<(f64, f64, f64)> = r
        .timeline
        .iter()
        .filter(|p| p.errors > 0 && p.length_s > 0.0)
        .map(|p| {
            let start = p.t_s as f64;
            (start, start + p.length_s, p.errors as f64 / p.length_s)
        })
        .collect();
    let x_max = window_end(r);
    let y_max = max_or(bars.iter().map(|b| b.2), 1.0) * 1.15;
    let svg = linear_svg(
        x_max,
        y_max,
        "time in the measured window, s",
        "errors per second",
        |chart| {
            chart.draw_series(bars.iter().map(|&(from, to, v)| {
                Rectangle::new([(from, 0.0), (to, v)], FAIL.mix(0.75).filled())
            }))?;
            Ok(())
        },
    );
    drawn(
        ID,
        TITLE,
        "Failed attempts and responses with a status of 400 or more in each second, \
                  over the second's length; their kinds are in the accounting below.",
        svg,
        vec![Key::new("■", FAIL, "errors per second")],
    )
}

/// The bars of the latency distribution, `(lower, upper, count)` in ms. The record keeps
/// the non-empty buckets of [`BUCKETS`] geometric buckets over `[min, max]`, by their upper
/// bounds: a bucket starts one ratio `(max / min)^(1 / BUCKETS)` below its upper bound, and
/// never below the previous bucket's.
pub(super) fn histogram_bars(r: &RunRecord) -> Vec<(f64, f64, u64)> {
    let (min, max) = (r.latency_ms.min, r.latency_ms.max);
    let ratio = if min > 0.0 && max > min {
        (max / min).powf(1.0 / BUCKETS as f64)
    } else {
        1.1
    };
    let mut previous = 0.0_f64;
    let mut bars = Vec::with_capacity(r.latency_histogram.len());
    for b in r.latency_histogram.iter().filter(|b| b.le_ms > 0.0) {
        let lower = (b.le_ms / ratio).max(previous).min(b.le_ms);
        bars.push((lower, b.le_ms, b.count));
        previous = b.le_ms;
    }
    bars
}

/// The latency distribution on a log axis, with the run's median and 99th percentile.
fn histogram_plot(r: &RunRecord) -> RunPlot {
    const ID: &str = "plot-histogram";
    const TITLE: &str = "Latency distribution";
    let bars = histogram_bars(r);
    if bars.is_empty() || r.latency_ms.count == 0 {
        return absent(ID, TITLE, "Not measured: no response was received.");
    }
    let lo = bars.iter().map(|b| b.0).fold(f64::INFINITY, f64::min) / 1.3;
    let hi = max_or(bars.iter().map(|b| b.1), lo * 2.0) * 1.3;
    let y_max = max_or(bars.iter().map(|b| b.2 as f64), 1.0) * 1.12;
    let marks = [
        ("p50", r.latency_ms.p50, BLUE_LINE),
        ("p99", r.latency_ms.p99, PURPLE_LINE),
    ];
    let keys = vec![
        Key::new("■", MUTED, "responses in the bucket"),
        Key::new(
            "┆",
            BLUE_LINE,
            format!("p50 {}", duration(r.latency_ms.p50)),
        ),
        Key::new(
            "┆",
            PURPLE_LINE,
            format!("p99 {}", duration(r.latency_ms.p99)),
        ),
    ];
    let svg = WIDE.svg(|root| {
        let mut chart = WIDE
            .chart(root)
            .build_cartesian_2d((lo..hi).log_scale(), 0.0..y_max)?;
        mesh(&mut chart)
            .x_desc("latency, ms (log scale)")
            .x_labels(12)
            .y_desc("responses")
            .draw()?;
        chart.draw_series(bars.iter().map(|&(from, to, n)| {
            Rectangle::new([(from, 0.0), (to, n as f64)], MUTED.mix(0.55).filled())
        }))?;
        for (_, at, color) in marks {
            if at > lo && at < hi {
                chart.draw_series(DashedLineSeries::new(
                    [(at, 0.0), (at, y_max)],
                    5,
                    4,
                    color.stroke_width(2),
                ))?;
            }
        }
        Ok(())
    });
    drawn(
        ID,
        TITLE,
        format!(
            "The {} responses' latencies in log-spaced buckets between the fastest and the \
             slowest (measured from the intended send time in the open model); each bar spans \
             its bucket. Empty buckets are not drawn.",
            r.latency_ms.count
        ),
        svg,
        keys,
    )
}

/// The watched target's CPU (whole and busiest thread) and RSS, sample by sample.
fn resources_plot(r: &RunRecord) -> RunPlot {
    const ID: &str = "plot-resources";
    const TITLE: &str = "Target CPU and memory";
    let series = |pick: fn(&perfloop_monitor::Sample) -> Option<f64>| -> Vec<(f64, f64)> {
        r.target
            .samples
            .iter()
            .filter_map(|s| pick(s).filter(|v| v.is_finite()).map(|v| (s.t_s, v)))
            .collect()
    };
    let cpu = series(|s| s.cpu_pct);
    let top = series(|s| s.top_thread_cpu_pct);
    let rss = series(|s| s.rss_mb);
    if cpu.is_empty() && rss.is_empty() {
        let why = if r.target.pid.is_none() {
            "Not measured: no target process was watched (--pid or a managed target)."
        } else {
            "Not measured: no sample saw the watched target alive."
        };
        return absent(ID, TITLE, why);
    }
    let all = || cpu.iter().chain(&top).chain(&rss);
    let x_min = all().map(|p| p.0).fold(0.0, f64::min);
    let x_max = max_or(all().map(|p| p.0), window_end(r));
    let cpu_max = max_or(cpu.iter().chain(&top).map(|p| p.1), 1.0) * 1.15;
    let rss_max = max_or(rss.iter().map(|p| p.1), 1.0) * 1.15;
    let mut keys = Vec::new();
    for (points, color, label) in [
        (&cpu, BLUE_LINE, "target CPU"),
        (&top, ORANGE_LINE, "busiest thread"),
        (&rss, PURPLE_LINE, "RSS (right axis)"),
    ] {
        if !points.is_empty() {
            keys.push(Key::new("━", color, label));
        }
    }
    if x_min < 0.0 {
        keys.push(Key::new("│", AXIS, "start of the measured window"));
    }
    let svg = WIDE.svg(|root| {
        let mut chart = WIDE
            .chart(root)
            .right_y_label_area_size(70)
            .build_cartesian_2d(x_min..x_max, 0.0..cpu_max)?
            .set_secondary_coord(x_min..x_max, 0.0..rss_max);
        mesh(&mut chart)
            .x_desc("time, s (negative: warm-up)")
            .y_desc("CPU, % of one core")
            .draw()?;
        right_axis(&mut chart, "RSS, MiB")?;
        if x_min < 0.0 {
            chart.draw_series([PathElement::new(
                [(0.0, 0.0), (0.0, cpu_max)],
                AXIS.stroke_width(2),
            )])?;
        }
        solid_line(&mut chart, &cpu, BLUE_LINE)?;
        solid_line(&mut chart, &top, ORANGE_LINE)?;
        chart.draw_secondary_series(LineSeries::new(
            rss.iter().copied(),
            PURPLE_LINE.stroke_width(2),
        ))?;
        Ok(())
    });
    drawn(
        ID,
        TITLE,
        "The watched target's CPU (its whole process tree and its busiest thread, % \
                  of one core) and resident memory, each point the end of a sampling interval.",
        svg,
        keys,
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::export::run::html::tests::record;

    fn drawn_plot<'a>(plots: &'a [RunPlot], id: &str) -> Option<&'a Plot> {
        plots.iter().find_map(|p| match p {
            RunPlot::Drawn(p) if p.id == id => Some(p),
            _ => None,
        })
    }

    #[test]
    fn steps_break_at_a_second_without_a_value() {
        let mut r = record();
        r.timeline[1].p99_ms = None;
        let paths = steps(&r.timeline, |p| p.p99_ms);
        assert_eq!(paths.len(), 2, "{paths:?}");
        assert_eq!(paths[0], vec![(0.0, 9.0), (1.0, 9.0)]);
        // The last row is a partial second: its step keeps its length.
        let last = paths[1].last().unwrap();
        assert!((last.0 - 3.5).abs() < 1e-9, "{last:?}");
    }

    #[test]
    fn every_measured_plot_is_drawn() {
        let plots = plots(&record());
        for id in [
            "plot-throughput",
            "plot-latency",
            "plot-errors",
            "plot-histogram",
            "plot-resources",
        ] {
            let plot = drawn_plot(&plots, id).unwrap_or_else(|| panic!("{id} missing: {plots:?}"));
            let svg = plot.svg.as_ref().unwrap();
            assert!(svg.starts_with("<svg ") && svg.contains("</svg>"), "{id}");
        }
    }

    #[test]
    fn histogram_bars_span_their_buckets_without_overlap() {
        let bars = histogram_bars(&record());
        assert_eq!(bars.len(), 3);
        for pair in bars.windows(2) {
            assert!(pair[0].1 <= pair[1].0, "{bars:?}");
        }
        assert!(bars.iter().all(|b| b.0 < b.1 && b.0 > 0.0), "{bars:?}");
        assert_eq!(bars.iter().map(|b| b.2).sum::<u64>(), 1000);
    }
}
