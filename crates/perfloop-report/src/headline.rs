//! The headline of a result: the few figures a history of runs lists, charts and compares,
//! taken from any record kind (run, capacity search, command benchmark, tuning study).
//!
//! A [`Headline`] is what the history store keeps as a run's metrics (its `metrics_json`);
//! every figure is optional, `null` when the record did not measure it (the target's CPU
//! without a watched process, a latency of a run without responses), never zero. What each
//! figure is for each kind:
//!
//! | figure | run | capacity search | command benchmark | study |
//! | --- | --- | --- | --- | --- |
//! | `throughput_rps` | requests per second | the maximum sustainable throughput | work per second (with a work regex) | the best configuration's throughput |
//! | `p50_ms` … `p999_ms` | the run's latency | the latency of the highest passing step | `p50_ms`: the median wall time of a run | the best configuration's latency (p999 not measured) |
//! | `error_rate` | errors over requests | at the highest passing step | failed runs over runs | the best configuration's |
//! | `cpu_ms_per_request` | target CPU ms per request | at the highest passing step | CPU ms (user + system) per run | from the best configuration's CPU and throughput |
//! | `rss_mb` | target peak RSS | the highest peak over the steps | the largest peak RSS of a run | the best configuration's |
//! | `requests` | requests counted | over every step | measured runs | – |
//!
//! A command benchmark of several parameter combinations is headlined by its first one.
//!
//! [`series`] is a metric over a result's own course (a run's seconds, a search's steps, a
//! benchmark's runs, a study's trials): the numbers a sparkline draws. [`significant`] and
//! [`HeadlineMetric::show`] are how a headline figure reads in a listing.

use serde::{Deserialize, Serialize};

use crate::bench::BenchReport;
use crate::capacity::CapacityRecord;
use crate::run::RunRecord;
use crate::stored::StoredRecord;
use crate::study::StudyRecord;

/// Bytes in a MiB.
const MIB: f64 = 1024.0 * 1024.0;

/// The headline figures of one result; `None` (`null`) when not measured.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Headline {
    /// Throughput: requests per second (a capacity search: its maximum sustainable
    /// throughput; a command benchmark: work per second).
    pub throughput_rps: Option<f64>,
    /// Median latency, ms.
    pub p50_ms: Option<f64>,
    /// 90th percentile latency, ms.
    pub p90_ms: Option<f64>,
    /// 99th percentile latency, ms.
    pub p99_ms: Option<f64>,
    /// 99.9th percentile latency, ms.
    pub p999_ms: Option<f64>,
    /// Errors over requests (0 to 1).
    pub error_rate: Option<f64>,
    /// The target's CPU milliseconds per request, when the target was watched.
    pub cpu_ms_per_request: Option<f64>,
    /// The target's peak resident memory, MiB.
    pub rss_mb: Option<f64>,
    /// Requests counted (a command benchmark: runs measured).
    pub requests: Option<u64>,
}

/// One of the headline figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HeadlineMetric {
    /// Requests per second.
    Throughput,
    /// Median latency.
    P50,
    /// 90th percentile latency.
    P90,
    /// 99th percentile latency.
    P99,
    /// 99.9th percentile latency.
    P999,
    /// Errors over requests.
    ErrorRate,
    /// The target's CPU milliseconds per request.
    CpuPerRequest,
    /// The target's peak resident memory.
    Rss,
}

impl HeadlineMetric {
    /// Every metric, in the order reports list them.
    pub const ALL: [HeadlineMetric; 8] = [
        HeadlineMetric::Throughput,
        HeadlineMetric::P50,
        HeadlineMetric::P90,
        HeadlineMetric::P99,
        HeadlineMetric::P999,
        HeadlineMetric::ErrorRate,
        HeadlineMetric::CpuPerRequest,
        HeadlineMetric::Rss,
    ];

    /// Its short name, as flags and JSON spell it (`throughput`, `p99`, `error_rate`).
    pub fn name(self) -> &'static str {
        match self {
            HeadlineMetric::Throughput => "throughput",
            HeadlineMetric::P50 => "p50",
            HeadlineMetric::P90 => "p90",
            HeadlineMetric::P99 => "p99",
            HeadlineMetric::P999 => "p999",
            HeadlineMetric::ErrorRate => "error_rate",
            HeadlineMetric::CpuPerRequest => "cpu_per_request",
            HeadlineMetric::Rss => "rss",
        }
    }

    /// The unit its values are in: `req/s`, `ms`, `ratio` (0 to 1), `ms/req`, `MiB`.
    pub fn unit(self) -> &'static str {
        match self {
            HeadlineMetric::Throughput => "req/s",
            HeadlineMetric::P50
            | HeadlineMetric::P90
            | HeadlineMetric::P99
            | HeadlineMetric::P999 => "ms",
            HeadlineMetric::ErrorRate => "ratio",
            HeadlineMetric::CpuPerRequest => "ms/req",
            HeadlineMetric::Rss => "MiB",
        }
    }

    /// Whether a higher value is better (throughput); every other metric is better lower.
    pub fn higher_is_better(self) -> bool {
        self == HeadlineMetric::Throughput
    }

    /// What it is, for a person (`p99 latency`).
    pub fn describe(self) -> &'static str {
        match self {
            HeadlineMetric::Throughput => "throughput",
            HeadlineMetric::P50 => "median latency",
            HeadlineMetric::P90 => "p90 latency",
            HeadlineMetric::P99 => "p99 latency",
            HeadlineMetric::P999 => "p99.9 latency",
            HeadlineMetric::ErrorRate => "error rate",
            HeadlineMetric::CpuPerRequest => "target CPU per request",
            HeadlineMetric::Rss => "target peak RSS",
        }
    }

    /// A value of this metric as a listing shows it: three significant digits, latencies and
    /// CPU per request in `ms`, RSS in `MiB`, the error rate as a percentage with two
    /// decimals (`1.23%`), throughput bare; `–` when not measured.
    pub fn show(self, value: Option<f64>) -> String {
        let Some(v) = value.filter(|v| v.is_finite()) else {
            return DASH.to_owned();
        };
        match self {
            HeadlineMetric::Throughput => significant(Some(v)),
            HeadlineMetric::P50
            | HeadlineMetric::P90
            | HeadlineMetric::P99
            | HeadlineMetric::P999
            | HeadlineMetric::CpuPerRequest => format!("{} ms", significant(Some(v))),
            HeadlineMetric::ErrorRate => format!("{:.2}%", v * 100.0),
            HeadlineMetric::Rss => format!("{} MiB", significant(Some(v))),
        }
    }
}

/// What a figure that was not measured shows as.
const DASH: &str = "–";

/// A figure with three significant digits, no exponent for everyday magnitudes (`1234`,
/// `98.2`, `2.35`, `0.012`); `–` when not measured (`None` or not finite).
pub fn significant(value: Option<f64>) -> String {
    let Some(v) = value.filter(|v| v.is_finite()) else {
        return DASH.to_owned();
    };
    let magnitude = v.abs();
    if magnitude >= 100.0 {
        format!("{v:.0}")
    } else if magnitude >= 10.0 {
        format!("{v:.1}")
    } else if magnitude >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

impl Headline {
    /// The headline of one load run.
    pub fn of_run(record: &RunRecord) -> Headline {
        let total = record.requests.total;
        let responded = record.latency_ms.count > 0;
        let latency = |v: f64| responded.then_some(v);
        let summary = record.target.summary.as_ref();
        let throughput = record.throughput_rps;
        Headline {
            throughput_rps: Some(throughput),
            p50_ms: latency(record.latency_ms.p50),
            p90_ms: latency(record.latency_ms.p90),
            p99_ms: latency(record.latency_ms.p99),
            p999_ms: latency(record.latency_ms.p99_9),
            error_rate: (total > 0).then(|| record.requests.errors as f64 / total as f64),
            cpu_ms_per_request: summary
                .and_then(|s| s.cpu_pct_mean)
                .and_then(|cpu| cpu_ms_per_request(cpu / 100.0, throughput)),
            rss_mb: summary.and_then(|s| s.rss_max_mb),
            requests: Some(total),
        }
    }

    /// The headline of a capacity search: its maximum sustainable throughput and the
    /// figures of the step that measured it (the highest passing one); the peak RSS over
    /// every step, the requests of every step. No passing step: no throughput or latency.
    pub fn of_capacity(record: &CapacityRecord) -> Headline {
        let requests = record.steps.iter().map(|s| s.run.requests.total).sum();
        let rss_mb = record
            .steps
            .iter()
            .filter_map(|s| s.run.target.summary.as_ref().and_then(|m| m.rss_max_mb))
            .reduce(f64::max);
        let passing = record
            .result
            .max_passing_step
            .and_then(|i| record.steps.iter().find(|s| s.index == i));
        let at_step = passing
            .map(|s| Headline::of_run(&s.run))
            .unwrap_or_default();
        Headline {
            throughput_rps: passing.and(record.result.max_sustainable_rps),
            rss_mb,
            requests: Some(requests),
            ..at_step
        }
    }

    /// The headline of a command benchmark: its first parameter combination (wall-time
    /// median, work per second, failed runs, CPU and peak RSS per run).
    pub fn of_bench(report: &BenchReport) -> Headline {
        let Some(first) = report.results.first() else {
            return Headline::default();
        };
        let runs = first.runs as u64;
        Headline {
            throughput_rps: first.work_per_s.map(|w| w.mean),
            p50_ms: (runs > 0).then_some(first.wall_s.median * 1000.0),
            error_rate: (runs > 0).then(|| first.failed_runs as f64 / runs as f64),
            cpu_ms_per_request: (runs > 0)
                .then_some((first.user_s_mean + first.sys_s_mean) * 1000.0),
            rss_mb: (first.peak_rss_bytes_max > 0).then(|| first.peak_rss_bytes_max as f64 / MIB),
            requests: Some(runs),
            ..Headline::default()
        }
    }

    /// The headline of a tuning study: the best configuration's metrics over its
    /// confirmation rounds (`best.after`); nothing when no trial completed.
    pub fn of_study(record: &StudyRecord) -> Headline {
        let Some(best) = &record.best else {
            return Headline::default();
        };
        let get = |key: &str| best.after.get(key).copied().filter(|v| v.is_finite());
        let throughput = get("throughput");
        Headline {
            throughput_rps: throughput,
            p50_ms: get("p50"),
            p90_ms: get("p90"),
            p99_ms: get("p99"),
            p999_ms: None,
            error_rate: get("error_rate"),
            cpu_ms_per_request: get("cpu")
                .zip(throughput)
                .and_then(|(cores, rps)| cpu_ms_per_request(cores, rps)),
            rss_mb: get("rss_mb"),
            requests: None,
        }
    }

    /// The value of `metric`, if measured.
    pub fn get(&self, metric: HeadlineMetric) -> Option<f64> {
        match metric {
            HeadlineMetric::Throughput => self.throughput_rps,
            HeadlineMetric::P50 => self.p50_ms,
            HeadlineMetric::P90 => self.p90_ms,
            HeadlineMetric::P99 => self.p99_ms,
            HeadlineMetric::P999 => self.p999_ms,
            HeadlineMetric::ErrorRate => self.error_rate,
            HeadlineMetric::CpuPerRequest => self.cpu_ms_per_request,
            HeadlineMetric::Rss => self.rss_mb,
        }
    }
}

/// The series of `metric` over a saved result's own course, in order: a load run's seconds
/// (its timeline; the target's samples for CPU per request and RSS), a capacity search's
/// steps (each step's headline), a command benchmark's runs (the first combination's wall
/// times, in ms, as its latency), a study's trials (their metrics). Points that did not
/// measure it are left out, and so are values that are not finite.
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

/// CPU milliseconds per request from the CPU used (cores: CPU seconds per second) and the
/// requests per second; `None` without requests.
fn cpu_ms_per_request(cores: f64, rps: f64) -> Option<f64> {
    (rps > 0.0 && cores.is_finite()).then(|| cores * 1000.0 / rps)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    /// A run record of `total` requests (`errors` of them failed) at `rps`, its latency
    /// p-values `p50 × (1, 2, 4, 8)`, the target watched at `cpu_pct` % of a core.
    fn run(rps: f64, p50: f64, total: u64, errors: u64, cpu_pct: Option<f64>) -> Value {
        let summary = cpu_pct.map(|cpu| {
            serde_json::to_value(perfloop_monitor::Summary {
                cores: 2,
                cpu_pct_mean: Some(cpu),
                rss_max_mb: Some(64.5),
                ..Default::default()
            })
            .unwrap()
        });
        json!({
            "schema": "perfloop.run.v1", "perfloop_version": "0.1.0",
            "started_at": "2026-01-31T12:00:00Z",
            "target": {"url": "http://127.0.0.1:8080/", "method": "GET", "header_names": [],
                "summary": summary},
            "load": {"model": "closed", "connections": 8, "duration_s": 3.0, "warmup_s": 0.0,
                "threads": 1, "timeout_s": 5.0},
            "requests": {"total": total, "ok": total - errors, "errors": errors, "dropped": 0,
                "unfinished": 0, "by_status": {}, "errors_by_kind": {}},
            "throughput_rps": rps, "in_flight_mean": 1.0, "bytes_received": 0,
            "latency_ms": {"count": total - errors, "min": 0.1, "mean": p50, "stdev": 1.0,
                "p50": p50, "p75": p50, "p90": p50 * 2.0, "p95": p50 * 2.0, "p99": p50 * 4.0,
                "p99_9": p50 * 8.0, "max": p50 * 9.0},
            "latency_histogram": [],
            "generator": {"cpu_user_s": 0.0, "cpu_sys_s": 0.0, "cpu_us_per_request": 0.0,
                "threads_busy": [], "saturated": false},
            "timeline": [], "slo": [], "ending": "completed", "warnings": []
        })
    }

    fn record(value: Value) -> RunRecord {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn a_run_headline_has_its_figures_and_cpu_per_request() {
        let h = Headline::of_run(&record(run(200.0, 2.0, 600, 6, Some(50.0))));
        assert_eq!(h.throughput_rps, Some(200.0));
        assert_eq!(h.p50_ms, Some(2.0));
        assert_eq!(h.p90_ms, Some(4.0));
        assert_eq!(h.p99_ms, Some(8.0));
        assert_eq!(h.p999_ms, Some(16.0));
        assert_eq!(h.error_rate, Some(0.01));
        // Half a core over 200 requests a second: 2.5 ms of CPU each.
        assert_eq!(h.cpu_ms_per_request, Some(2.5));
        assert_eq!(h.rss_mb, Some(64.5));
        assert_eq!(h.requests, Some(600));
        assert_eq!(h.get(HeadlineMetric::P99), Some(8.0));
        assert_eq!(h.get(HeadlineMetric::CpuPerRequest), Some(2.5));
    }

    #[test]
    fn what_a_run_did_not_measure_is_null_not_zero() {
        let h = Headline::of_run(&record(run(0.0, 0.0, 0, 0, None)));
        assert_eq!(h.throughput_rps, Some(0.0));
        assert_eq!(h.p50_ms, None);
        assert_eq!(h.error_rate, None);
        assert_eq!(h.cpu_ms_per_request, None);
        assert_eq!(h.rss_mb, None);
        let text = serde_json::to_string(&h).unwrap();
        assert!(text.contains("\"p99_ms\":null"), "{text}");
        // Read back, with fields missing (an older headline) as null.
        let back: Headline = serde_json::from_str(&text).unwrap();
        assert_eq!(back, h);
        let partial: Headline = serde_json::from_str("{\"p99_ms\": 3.5}").unwrap();
        assert_eq!(partial.p99_ms, Some(3.5));
        assert_eq!(partial.throughput_rps, None);
    }

    fn step(index: usize, pass: bool, run: &Value) -> Value {
        json!({"index": index, "kind": "ramp", "offered": 100.0 * (index as f64 + 1.0),
            "verdict": {"pass": pass, "trusted": true, "reasons": [], "slo_pass": pass,
                "latency_trend": {"series": "p99", "n": 3, "tau": 0.0, "p_value": 1.0,
                    "slope_per_s": 0.0, "rising": false},
                "dropped": 0, "errors": 0, "error_rate": 0.0,
                "littles_law": {"in_flight": 1.0, "expected": 1.0, "ratio": 1.0, "holds": true},
                "generator_saturated": false},
            "run": run})
    }

    fn capacity(max_step: Option<usize>) -> CapacityRecord {
        let mut big = run(290.0, 9.0, 900, 0, Some(80.0));
        big["target"]["summary"]["rss_max_mb"] = json!(99.0);
        let value = json!({
            "schema": "perfloop.capacity.v1", "perfloop_version": "0.1.0",
            "started_at": "2026-01-31T12:00:00Z", "elapsed_s": 10.0,
            "target": {"url": "http://127.0.0.1:8080/", "method": "GET"},
            "settings": {"start_rate": 100.0, "growth": 2.0, "step_duration_s": 3.0,
                "step_warmup_s": 0.0, "resolution": 0.05, "max_time_s": 60.0,
                "rate_margin": 0.05, "slo": ["p99<20ms"], "concurrency": []},
            "steps": [step(0, true, &run(100.0, 1.0, 300, 0, Some(20.0))),
                step(1, true, &run(199.0, 2.0, 600, 3, Some(40.0))),
                step(2, false, &big)],
            "result": {"max_sustainable_rps": max_step.map(|_| 199.0),
                "max_passing_rate": max_step.map(|_| 200.0), "max_passing_step": max_step,
                "resolved": false, "bounded_by": "p99 at 300 req/s"},
            "findings": [], "ending": "completed", "warnings": [], "notes": []
        });
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn a_capacity_headline_is_its_highest_passing_step() {
        let h = Headline::of_capacity(&capacity(Some(1)));
        assert_eq!(h.throughput_rps, Some(199.0));
        assert_eq!(h.p50_ms, Some(2.0));
        assert_eq!(h.p99_ms, Some(8.0));
        assert_eq!(h.error_rate, Some(0.005));
        assert_eq!(h.cpu_ms_per_request, Some(0.4 * 1000.0 / 199.0));
        // The peak over every step, the requests of every step.
        assert_eq!(h.rss_mb, Some(99.0));
        assert_eq!(h.requests, Some(1800));
        let none = Headline::of_capacity(&capacity(None));
        assert_eq!(none.throughput_rps, None);
        assert_eq!(none.p99_ms, None);
        assert_eq!(none.requests, Some(1800));
    }

    #[test]
    fn a_bench_headline_is_its_first_combination() {
        let stats = json!({"mean": 0.2, "median": 0.25, "min": 0.1, "max": 0.3, "outliers": 0});
        let report: BenchReport = serde_json::from_value(json!({
            "schema": "perfloop.bench.v1", "command": "sleep 0.2", "shell": "sh", "runs": 4,
            "warmup": 0, "work_unit": "records",
            "results": [{"command": "sleep 0.2", "params": {}, "runs": 4, "wall_s": stats,
                "user_s_mean": 0.01, "sys_s_mean": 0.005, "peak_rss_bytes_max": 2097152,
                "work_mean": null, "work_per_s": null, "failed_runs": 1,
                "times_s": [0.1, 0.2, 0.3, 0.25], "exit_codes": [0, 0, 1, 0],
                "warnings": []}]
        }))
        .unwrap();
        let h = Headline::of_bench(&report);
        assert_eq!(h.p50_ms, Some(250.0));
        assert_eq!(h.throughput_rps, None);
        assert_eq!(h.error_rate, Some(0.25));
        assert_eq!(h.rss_mb, Some(2.0));
        assert_eq!(h.requests, Some(4));
        assert!((h.cpu_ms_per_request.unwrap() - 15.0).abs() < 1e-9);
    }

    #[test]
    fn a_study_headline_is_its_best_configuration() {
        let study = |best: Value| -> StudyRecord {
            serde_json::from_value(json!({
                "schema": "perfloop.study.v1", "perfloop_version": "0.1.0", "name": "s",
                "fingerprint": "f", "started_at": "2026-01-31T12:00:00Z", "elapsed_s": 60.0,
                "target": {"kind": "managed", "command": "./server --port {port}"},
                "workload": "closed model", "constraints": [], "knobs": [],
                "objective": {"direction": "maximize", "description": "maximize throughput",
                    "unit": "req/s"},
                "budget": {"repeats": 1, "finalists": 1, "confirm_rounds": 2,
                    "sampler": "tpe", "seed": 1},
                "trials": [], "finalists": [], "best": best, "importance": [],
                "ending": "trials", "warnings": []
            }))
            .unwrap()
        };
        let best = json!({"config": {}, "is_default": false, "changed": [], "objective": 500.0,
            "before": {"throughput": 400.0},
            "after": {"throughput": 500.0, "p50": 1.5, "p99": 7.0, "error_rate": 0.0,
                "cpu": 0.5, "rss_mb": 80.0}});
        let h = Headline::of_study(&study(best));
        assert_eq!(h.throughput_rps, Some(500.0));
        assert_eq!(h.p50_ms, Some(1.5));
        assert_eq!(h.p90_ms, None);
        assert_eq!(h.p99_ms, Some(7.0));
        assert_eq!(h.error_rate, Some(0.0));
        assert_eq!(h.cpu_ms_per_request, Some(1.0));
        assert_eq!(h.rss_mb, Some(80.0));
        assert_eq!(Headline::of_study(&study(Value::Null)), Headline::default());
    }

    #[test]
    fn series_follow_each_kind_over_its_course() {
        let mut value = run(200.0, 2.0, 600, 6, None);
        value["timeline"] = json!([
            {"t_s": 0, "requests": 100, "errors": 0, "rps": 100.0, "p50_ms": 1.0,
                "p90_ms": 2.0, "p99_ms": null, "max_ms": 5.0},
            {"t_s": 1, "requests": 300, "errors": 3, "rps": 300.0, "p50_ms": 2.0,
                "p90_ms": 4.0, "p99_ms": 9.0, "max_ms": 12.0},
            {"t_s": 2, "requests": 0, "errors": 0, "rps": 0.0, "p50_ms": null,
                "p90_ms": null, "p99_ms": null, "max_ms": null}
        ]);
        let load = StoredRecord::Run(Box::new(record(value)));
        assert_eq!(
            series(&load, HeadlineMetric::Throughput),
            [100.0, 300.0, 0.0]
        );
        assert_eq!(series(&load, HeadlineMetric::P50), [1.0, 2.0]);
        // A second without a p99 is left out, not zero.
        assert_eq!(series(&load, HeadlineMetric::P99), [9.0]);
        // Seconds without requests have no error rate.
        assert_eq!(series(&load, HeadlineMetric::ErrorRate), [0.0, 0.01]);
        // Not watched: no resources.
        assert!(series(&load, HeadlineMetric::Rss).is_empty());
        let cap = StoredRecord::Capacity(Box::new(capacity(Some(1))));
        assert_eq!(
            series(&cap, HeadlineMetric::Throughput),
            [100.0, 199.0, 290.0]
        );
        assert_eq!(series(&cap, HeadlineMetric::P99), [4.0, 8.0, 36.0]);
    }

    #[test]
    fn figures_read_with_three_digits_and_their_units() {
        assert_eq!(significant(None), "–");
        assert_eq!(significant(Some(f64::NAN)), "–");
        assert_eq!(significant(Some(1234.4)), "1234");
        assert_eq!(significant(Some(98.25)), "98.2");
        assert_eq!(significant(Some(2.345)), "2.35");
        assert_eq!(significant(Some(0.01234)), "0.012");
        assert_eq!(HeadlineMetric::P99.show(None), "–");
        assert_eq!(HeadlineMetric::Throughput.show(Some(1234.4)), "1234");
        assert_eq!(HeadlineMetric::P50.show(Some(2.345)), "2.35 ms");
        assert_eq!(HeadlineMetric::ErrorRate.show(Some(0.0123)), "1.23%");
        assert_eq!(HeadlineMetric::Rss.show(Some(64.5)), "64.5 MiB");
    }

    #[test]
    fn metrics_read_their_way() {
        assert!(HeadlineMetric::Throughput.higher_is_better());
        for m in &HeadlineMetric::ALL[1..] {
            assert!(!m.higher_is_better(), "{m:?}");
        }
        assert_eq!(HeadlineMetric::P999.unit(), "ms");
        assert_eq!(HeadlineMetric::ErrorRate.name(), "error_rate");
    }
}
