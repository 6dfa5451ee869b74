//! [`CompareRecord::build`]: the runs' seconds and headline figures handed to
//! `perfloop_stats::compare`, its result written as a record with the runs' warnings.
//!
//! A side of one run reports the run's own figures (throughput, the HDR percentiles,
//! errors over requests); a side of several runs the pooled figures of all their seconds
//! (requests over time, the quantiles of the merged grid histograms, errors over
//! requests). When any run has a warning the intervals are at 99 % instead of 95 % and the
//! record says it is weakened.

use perfloop_stats::compare::{
    self, CompareOptions, Comparison, Figures, Metric, Second, Side, Verdict,
};

use super::{
    COMPARE_SCHEMA, CompareInput, CompareMetrics, CompareRecord, CompareSide, CompareVerdict,
    CompareWarning, Incomparable, MetricChange, SideName, incomparable,
};
use crate::run::RunRecord;

/// The confidence level of the intervals when a run compared had warnings.
const WEAKENED_CONFIDENCE: f64 = 0.99;

impl CompareRecord {
    /// Compares side `b` against side `a`. `opts.confidence` is the level without warnings;
    /// with a warning on any run it becomes 99 %.
    pub fn build(a: &CompareInput, b: &CompareInput, opts: &CompareOptions) -> CompareRecord {
        let mut warnings = Vec::new();
        for (side, input) in [(SideName::A, a), (SideName::B, b)] {
            for (id, run) in &input.runs {
                warnings.extend(run.warnings.iter().map(|w| CompareWarning {
                    side,
                    run: *id,
                    kind: w.kind,
                    message: w.message.clone(),
                }));
            }
        }
        let weakened = !warnings.is_empty();
        let opts = CompareOptions {
            confidence: if weakened {
                opts.confidence.max(WEAKENED_CONFIDENCE)
            } else {
                opts.confidence
            },
            ..*opts
        };
        let mut notes = Vec::new();
        for (name, input) in [("A", a), ("B", b)] {
            for (id, run) in &input.runs {
                let seconds_with_requests = run.timeline.iter().filter(|t| t.requests > 0);
                if seconds_with_requests
                    .clone()
                    .any(|t| t.latency_buckets.is_empty())
                {
                    notes.push(format!(
                        "run {id} (side {name}) has seconds without a latency histogram \
                         (recorded by an older perfloop): its latencies are not resampled"
                    ));
                }
            }
        }
        let (side_a, side_b) = (side_of(a), side_of(b));
        if let Some(Incomparable::DifferentTargets { a: ta, b: tb }) = incomparable(a, b) {
            notes.push(format!(
                "A and B measured different targets: {} and {}",
                ta.join(", "),
                tb.join(", ")
            ));
        }
        let compared = compare::compare(&side_a, &side_b, &opts);
        notes.extend(compared.notes);
        let m = |metric: Metric| {
            compared
                .comparisons
                .iter()
                .find(|c| c.metric == metric)
                .map_or_else(|| empty(side_a.headline, side_b.headline, metric), change)
        };
        CompareRecord {
            schema: COMPARE_SCHEMA.to_string(),
            a: describe(a),
            b: describe(b),
            method: format!(
                "bootstrap over per-second intervals: {} resamples of each run's seconds drawn \
                 with replacement (stratified per run), the percentile interval of the ratio B/A \
                 re-centred on the reported change",
                opts.resamples
            ),
            confidence: opts.confidence,
            threshold: opts.threshold,
            tail_threshold: opts.threshold_for(Metric::P99),
            metrics: CompareMetrics {
                throughput: m(Metric::Throughput),
                p50: m(Metric::P50),
                p90: m(Metric::P90),
                p99: m(Metric::P99),
                p999: m(Metric::P999),
                error_rate: m(Metric::ErrorRate),
            },
            warnings,
            weakened,
            notes,
        }
    }
}

/// A side's seconds and headline figures.
fn side_of(input: &CompareInput) -> Side<'_> {
    let runs: Vec<Vec<Second<'_>>> = input
        .runs
        .iter()
        .map(|(_, r)| {
            r.timeline
                .iter()
                .map(|t| Second {
                    requests: t.requests,
                    errors: t.errors,
                    length_s: t.length_s,
                    buckets: &t.latency_buckets,
                })
                .collect()
        })
        .collect();
    let headline = match input.runs.as_slice() {
        [(_, run)] => headline(run),
        _ => Figures::pooled(&runs),
    };
    // Closed-model runs: each connection may straddle each edge of the window, together.
    let edge_requests = input
        .runs
        .iter()
        .map(|(_, r)| match r.load.model {
            crate::run::LoadModel::Closed => r.load.connections.unwrap_or(0) as f64,
            crate::run::LoadModel::Open => 0.0,
        })
        .map(|c| c * c)
        .sum::<f64>()
        .sqrt();
    Side {
        runs,
        headline,
        edge_requests,
    }
}

/// A run's own figures: its throughput, HDR percentiles and errors over requests.
fn headline(r: &RunRecord) -> Figures {
    let l = &r.latency_ms;
    let latency = |v: f64| (l.count > 0).then_some(v);
    Figures {
        throughput_rps: Some(r.throughput_rps),
        p50_ms: latency(l.p50),
        p90_ms: latency(l.p90),
        p99_ms: latency(l.p99),
        p999_ms: latency(l.p99_9),
        error_rate: (r.requests.total > 0)
            .then(|| r.requests.errors as f64 / r.requests.total as f64),
    }
}

/// The side's newest run: the latest `started_at` (RFC 3339 UTC sorts as text).
fn newest(input: &CompareInput) -> Option<&RunRecord> {
    input
        .runs
        .iter()
        .map(|(_, r)| r)
        .max_by(|x, y| x.started_at.cmp(&y.started_at))
}

fn describe(input: &CompareInput) -> CompareSide {
    let newest = newest(input);
    CompareSide {
        runs: input.runs.iter().map(|(id, _)| *id).collect(),
        label: input.label.clone(),
        target: newest.map(|r| r.target.url.clone()).unwrap_or_default(),
        started_at: newest.map(|r| r.started_at.clone()).unwrap_or_default(),
    }
}

fn change(c: &Comparison) -> MetricChange {
    MetricChange {
        a: c.a,
        b: c.b,
        change: c.change,
        ci_low: c.interval.map(|(lo, _)| lo),
        ci_high: c.interval.map(|(_, hi)| hi),
        verdict: match c.verdict {
            Verdict::Faster => CompareVerdict::Faster,
            Verdict::Slower => CompareVerdict::Slower,
            Verdict::Same => CompareVerdict::Same,
        },
    }
}

fn empty(a: Figures, b: Figures, metric: Metric) -> MetricChange {
    MetricChange {
        a: a.get(metric),
        b: b.get(metric),
        change: None,
        ci_low: None,
        ci_high: None,
        verdict: CompareVerdict::Same,
    }
}
