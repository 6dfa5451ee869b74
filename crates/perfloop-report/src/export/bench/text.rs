//! The human summary of a benchmark, in the manner of hyperfine:
//!
//! ```text
//! Benchmark 1 (workers=4): demo-target batch --workers 4
//!   Time (mean ± σ):     812.4 ms ± 10.2 ms    [User: 2901.3 ms, System: 120.4 ms]
//!   Range (min … max):   801.0 ms … 830.9 ms    10 runs
//!   95 % CI of mean:     805.1 ms … 819.7 ms
//!   Peak RSS:            61.2 MiB
//!   Work (mean ± σ):     24620 records/s ± 310 records/s
//!   Work range:          24090 … 24970 records/s, 95 % CI 24400 … 24840
//! ```
//!
//! followed by a ranking when there are several combinations: by work rate when work was
//! counted, else by mean time, with the ratio's uncertainty propagated from both standard
//! deviations (`σ_r = r · √((σ_a/a)² + (σ_b/b)²)`).

use std::fmt::Write as _;
use std::io;

use crate::bench::{BenchReport, BenchResult, SampleStats};
use crate::export::Exporter;

/// Writes the human summary of a benchmark.
#[derive(Debug, Clone, Copy, Default)]
pub struct BenchText;

impl Exporter<BenchReport> for BenchText {
    fn write(&self, record: &BenchReport, out: &mut dyn io::Write) -> io::Result<()> {
        out.write_all(render_bench_text(record).as_bytes())
    }
}

/// A time unit fitted to a magnitude in seconds.
#[derive(Clone, Copy)]
enum Unit {
    Micros,
    Millis,
    Seconds,
}

impl Unit {
    fn fit(seconds: f64) -> Unit {
        if seconds < 1e-3 {
            Unit::Micros
        } else if seconds < 1.0 {
            Unit::Millis
        } else {
            Unit::Seconds
        }
    }

    fn show(self, seconds: f64) -> String {
        match self {
            Unit::Micros => format!("{:.1} µs", seconds * 1e6),
            Unit::Millis => format!("{:.1} ms", seconds * 1e3),
            Unit::Seconds => format!("{:.3} s", seconds),
        }
    }
}

fn rate(x: f64) -> String {
    if x.abs() >= 100.0 {
        format!("{x:.0}")
    } else {
        format!("{x:.3}")
    }
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

/// How a combination is named in the ranking: its parameter values, or its command.
fn label(r: &BenchResult) -> String {
    if r.params.is_empty() {
        r.command.clone()
    } else {
        let p: Vec<String> = r.params.iter().map(|(k, v)| format!("{k}={v}")).collect();
        p.join(", ")
    }
}

fn write_result(out: &mut String, index: usize, r: &BenchResult, unit: &str) {
    let params: Vec<String> = r.params.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let head = if params.is_empty() {
        format!("Benchmark {index}")
    } else {
        format!("Benchmark {index} ({})", params.join(", "))
    };
    let _ = writeln!(out, "{head}: {}", r.command);
    let w = &r.wall_s;
    let u = Unit::fit(w.mean);
    let sigma = w.std_dev.map_or_else(|| "n/a".to_string(), |s| u.show(s));
    let _ = writeln!(
        out,
        "  Time (mean ± σ):     {} ± {}    [User: {}, System: {}]",
        u.show(w.mean),
        sigma,
        u.show(r.user_s_mean),
        u.show(r.sys_s_mean)
    );
    let _ = writeln!(
        out,
        "  Range (min … max):   {} … {}    {} runs",
        u.show(w.min),
        u.show(w.max),
        r.runs
    );
    if let (Some(lo), Some(hi)) = (w.ci95_low, w.ci95_high) {
        let _ = writeln!(
            out,
            "  95 % CI of mean:     {} … {}",
            u.show(lo),
            u.show(hi)
        );
    }
    let _ = writeln!(out, "  Peak RSS:            {}", mib(r.peak_rss_bytes_max));
    if let Some(p) = &r.work_per_s {
        let sigma = p
            .std_dev
            .map_or_else(|| "n/a".to_string(), |s| format!("{} {unit}/s", rate(s)));
        let _ = writeln!(
            out,
            "  Work (mean ± σ):     {} {unit}/s ± {sigma}",
            rate(p.mean)
        );
        let ci = match (p.ci95_low, p.ci95_high) {
            (Some(lo), Some(hi)) => format!(", 95 % CI {} … {}", rate(lo), rate(hi)),
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            "  Work range:          {} … {} {unit}/s{ci}",
            rate(p.min),
            rate(p.max)
        );
    }
    for warning in &r.warnings {
        let _ = writeln!(out, "  Warning: {}", warning.message);
    }
}

/// The ratio `a / b` and its standard deviation.
fn ratio(a: &SampleStats, b: &SampleStats) -> (f64, Option<f64>) {
    let r = a.mean / b.mean;
    let rel = |s: &SampleStats| s.std_dev.map(|sd| sd / s.mean);
    let sigma = match (rel(a), rel(b)) {
        (Some(x), Some(y)) => Some(r * (x * x + y * y).sqrt()),
        _ => None,
    };
    (r, sigma)
}

fn write_ranking(out: &mut String, report: &BenchReport) {
    let results = &report.results;
    let by_work = results.iter().all(|r| r.work_per_s.is_some());
    let mut order: Vec<&BenchResult> = results.iter().collect();
    if by_work {
        order.sort_by(|a, b| {
            let rate = |r: &BenchResult| r.work_per_s.map_or(0.0, |w| w.mean);
            rate(b).total_cmp(&rate(a))
        });
    } else {
        order.sort_by(|a, b| a.wall_s.mean.total_cmp(&b.wall_s.mean));
    }
    let Some((best, rest)) = order.split_first() else {
        return;
    };
    let _ = writeln!(out, "\nSummary");
    let unit = &report.work_unit;
    if by_work {
        let _ = writeln!(out, "  '{}' processed the most {unit}/s", label(best));
    } else {
        let _ = writeln!(out, "  '{}' ran", label(best));
    }
    for other in rest {
        let (r, sigma) = match (by_work, best.work_per_s, other.work_per_s) {
            (true, Some(b), Some(o)) => ratio(&b, &o),
            _ => ratio(&other.wall_s, &best.wall_s),
        };
        let pm = sigma.map_or_else(String::new, |s| format!(" ± {s:.2}"));
        if by_work {
            let _ = writeln!(
                out,
                "    {r:.2}{pm} times the {unit}/s of '{}'",
                label(other)
            );
        } else {
            let _ = writeln!(out, "    {r:.2}{pm} times faster than '{}'", label(other));
        }
    }
}

/// The human summary of `report`.
pub fn render_bench_text(report: &BenchReport) -> String {
    let mut out = String::new();
    if let Some(s) = &report.shell_startup {
        let w = &s.wall_s;
        let u = Unit::fit(w.mean);
        let sigma = w
            .std_dev
            .map_or_else(String::new, |sd| format!(" ± {}", u.show(sd)));
        let _ = writeln!(
            out,
            "Shell start-up: {}{sigma} ({} runs of {}), subtracted from every run\n",
            u.show(w.mean),
            s.runs,
            s.command
        );
    }
    for (i, r) in report.results.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        write_result(&mut out, i + 1, r, &report.work_unit);
    }
    if report.results.len() > 1 {
        write_ranking(&mut out, report);
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::bench::{Shell, ShellStartup, Warning};

    fn stats(mean: f64, sd: f64) -> SampleStats {
        SampleStats {
            mean,
            median: mean,
            std_dev: Some(sd),
            min: mean - sd,
            max: mean + sd,
            ci95_low: Some(mean - 2.0 * sd),
            ci95_high: Some(mean + 2.0 * sd),
            outliers: 0,
        }
    }

    fn result(n: &str, wall: f64, rate: f64) -> BenchResult {
        BenchResult {
            command: format!("job --n {n}"),
            params: [("n".to_string(), n.to_string())].into(),
            runs: 10,
            wall_s: stats(wall, wall / 100.0),
            user_s_mean: wall / 2.0,
            sys_s_mean: 0.0,
            peak_rss_bytes_max: 3 << 20,
            work_mean: Some(rate * wall),
            work_per_s: Some(stats(rate, rate / 100.0)),
            failed_runs: 0,
            times_s: vec![wall; 10],
            exit_codes: vec![0; 10],
            warnings: vec![Warning {
                kind: "outliers".into(),
                message: "statistical outliers were detected".into(),
            }],
        }
    }

    #[test]
    fn renders_like_hyperfine_and_ranks_by_work() {
        let report = BenchReport {
            schema: "perfloop.bench.v1".into(),
            command: "job --n {n}".into(),
            shell: Shell::None,
            runs: 10,
            warmup: 0,
            work_regex: Some("processed (\\d+)".into()),
            work_unit: "records".into(),
            shell_startup: None,
            results: vec![result("1", 0.5, 1000.0), result("2", 0.4, 2500.0)],
        };
        let text = render_bench_text(&report);
        for line in [
            "Benchmark 1 (n=1): job --n 1",
            "  Time (mean ± σ):     500.0 ms ± 5.0 ms    [User: 250.0 ms, System: 0.0 ms]",
            "  Range (min … max):   495.0 ms … 505.0 ms    10 runs",
            "  95 % CI of mean:     490.0 ms … 510.0 ms",
            "  Peak RSS:            3.0 MiB",
            "  Work (mean ± σ):     1000 records/s ± 10.000 records/s",
            "  Warning: statistical outliers were detected",
            "  'n=2' processed the most records/s",
            "    2.50 ± 0.04 times the records/s of 'n=1'",
        ] {
            assert!(text.contains(line), "missing {line:?} in:\n{text}");
        }
    }

    #[test]
    fn ranks_by_time_without_work() {
        let mut a = result("1", 2.0, 1.0);
        let mut b = result("2", 0.0005, 1.0);
        a.work_per_s = None;
        b.work_per_s = None;
        let report = BenchReport {
            schema: "perfloop.bench.v1".into(),
            command: "job --n {n}".into(),
            shell: Shell::Sh,
            runs: 10,
            warmup: 0,
            work_regex: None,
            work_unit: "records".into(),
            shell_startup: Some(ShellStartup {
                command: "sh -c ''".into(),
                runs: 50,
                wall_s: stats(0.00094, 0.0001),
                user_s_mean: 0.0002,
                sys_s_mean: 0.0005,
            }),
            results: vec![a, b],
        };
        let text = render_bench_text(&report);
        assert!(
            text.starts_with(
                "Shell start-up: 940.0 µs ± 100.0 µs (50 runs of sh -c ''), subtracted from \
                 every run\n\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("Time (mean ± σ):     2.000 s ± 0.020 s"),
            "{text}"
        );
        assert!(
            text.contains("Time (mean ± σ):     500.0 µs ± 5.0 µs"),
            "{text}"
        );
        assert!(
            text.contains("  'n=2' ran\n    4000.00 ± 56.57 times faster than 'n=1'"),
            "{text}"
        );
    }
}
