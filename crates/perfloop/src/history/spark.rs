//! What a saved result looked like over its own course, as a sparkline: a load run's
//! seconds (its timeline and the target's samples), a capacity search's steps, a command
//! benchmark's runs, a study's trials, for one headline metric.

use perfloop_report::{Headline, HeadlineMetric, RunRecord};

use super::reference::StoredRecord;

/// The eight heights of a sparkline.
const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// The most characters a sparkline takes: longer series are averaged into this many.
pub const WIDTH: usize = 16;

/// The series of `metric` over a result's course, in order; points that did not measure it
/// are left out.
pub fn series(record: &StoredRecord, metric: HeadlineMetric) -> Vec<f64> {
    let values: Vec<f64> = match record {
        StoredRecord::Run(run) => run_series(run, metric),
        StoredRecord::Capacity(cap) => cap
            .steps
            .iter()
            .filter_map(|s| Headline::of_run(&s.run).get(metric))
            .collect(),
        StoredRecord::Bench(bench) => match (bench.results.first(), metric) {
            (Some(first), HeadlineMetric::P50 | HeadlineMetric::P90 | HeadlineMetric::P99) => {
                first.times_s.iter().map(|t| t * 1000.0).collect()
            }
            _ => Vec::new(),
        },
        StoredRecord::Study(study) => study
            .trials
            .iter()
            .filter_map(|t| {
                let get = |k: &str| t.metrics.get(k).copied();
                match metric {
                    HeadlineMetric::Throughput => get("throughput"),
                    HeadlineMetric::P50 => get("p50"),
                    HeadlineMetric::P90 => get("p90"),
                    HeadlineMetric::P99 => get("p99"),
                    HeadlineMetric::P999 => None,
                    HeadlineMetric::ErrorRate => get("error_rate"),
                    HeadlineMetric::CpuPerRequest => get("cpu")
                        .zip(get("throughput"))
                        .filter(|(_, rps)| *rps > 0.0)
                        .map(|(cores, rps)| cores * 1000.0 / rps),
                    HeadlineMetric::Rss => get("rss_mb"),
                }
            })
            .collect(),
    };
    values.into_iter().filter(|v| v.is_finite()).collect()
}

/// A load run's seconds: the timeline's figures, the target's samples for its resources.
fn run_series(run: &RunRecord, metric: HeadlineMetric) -> Vec<f64> {
    let timeline = &run.timeline;
    match metric {
        HeadlineMetric::Throughput => timeline.iter().map(|p| p.rps).collect(),
        HeadlineMetric::P50 => timeline.iter().filter_map(|p| p.p50_ms).collect(),
        HeadlineMetric::P90 => timeline.iter().filter_map(|p| p.p90_ms).collect(),
        HeadlineMetric::P99 => timeline.iter().filter_map(|p| p.p99_ms).collect(),
        HeadlineMetric::P999 => timeline
            .iter()
            .filter_map(|p| perfloop_stats::grid::quantile_us(&p.latency_buckets, 0.999))
            .map(|us| us / 1000.0)
            .collect(),
        HeadlineMetric::ErrorRate => timeline
            .iter()
            .filter(|p| p.requests > 0)
            .map(|p| p.errors as f64 / p.requests as f64)
            .collect(),
        HeadlineMetric::CpuPerRequest => run
            .target
            .samples
            .iter()
            .filter(|s| s.t_s >= 0.0)
            .filter_map(|s| {
                let second = s.t_s.floor() as u64;
                let rps = timeline.iter().find(|p| p.t_s == second)?.rps;
                s.cpu_pct
                    .filter(|_| rps > 0.0)
                    .map(|cpu| cpu / 100.0 * 1000.0 / rps)
            })
            .collect(),
        HeadlineMetric::Rss => run
            .target
            .samples
            .iter()
            .filter(|s| s.t_s >= 0.0)
            .filter_map(|s| s.rss_mb)
            .collect(),
    }
}

/// `values` as a sparkline of at most [`WIDTH`] characters, lowest ▁ to highest █ (a flat
/// series is a row of ▄); empty without values.
pub fn sparkline(values: &[f64]) -> String {
    let points = squeeze(values, WIDTH);
    let (lo, hi) = points
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    points
        .iter()
        .map(|&v| {
            if hi - lo <= f64::EPSILON * hi.abs().max(1.0) {
                BARS[3]
            } else {
                let level = ((v - lo) / (hi - lo) * (BARS.len() - 1) as f64).round();
                BARS[(level as usize).min(BARS.len() - 1)]
            }
        })
        .collect()
}

/// At most `width` points: consecutive runs of the values averaged.
fn squeeze(values: &[f64], width: usize) -> Vec<f64> {
    if values.len() <= width {
        return values.to_vec();
    }
    (0..width)
        .map(|i| {
            let from = i * values.len() / width;
            let to = ((i + 1) * values.len() / width).max(from + 1);
            let chunk = &values[from..to];
            chunk.iter().sum::<f64>() / chunk.len() as f64
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparklines_span_the_range() {
        assert_eq!(sparkline(&[]), "");
        assert_eq!(
            sparkline(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]),
            "▁▂▃▄▅▆▇█"
        );
        assert_eq!(sparkline(&[5.0, 5.0, 5.0]), "▄▄▄");
        assert_eq!(sparkline(&[0.0, 10.0]), "▁█");
        let long: Vec<f64> = (0..100).map(f64::from).collect();
        let line = sparkline(&long);
        assert_eq!(line.chars().count(), WIDTH);
        assert!(line.starts_with('▁') && line.ends_with('█'), "{line}");
    }
}
