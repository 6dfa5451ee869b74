//! Which endpoints broke the run's objectives: an objective set on an endpoint that
//! failed, and — in a run of two or more endpoints — for a failed objective on the whole
//! run, each endpoint whose own figure breaks it. The capacity search names the first of
//! them at the step that stopped it.

use perfloop_stats::{Metric, Slo};
use serde::{Deserialize, Serialize};

use super::{EndpointFigures, RunRecord};

/// One endpoint's figure against an objective it broke.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Breach {
    /// The endpoint.
    pub endpoint: String,
    /// The objective as written (on the endpoint, or on the whole run).
    pub expr: String,
    /// The metric, e.g. `p99`.
    pub metric: String,
    /// The endpoint's value in `unit`; `null` when it could not be measured.
    pub value: Option<f64>,
    /// The threshold in `unit`.
    pub threshold: f64,
    /// The metric's unit.
    pub unit: String,
}

impl Breach {
    /// How far beyond its threshold the figure is: the value over the threshold for an
    /// upper bound, the threshold over the value for a lower one (unmeasured: infinite).
    fn severity(&self, slo: &Slo) -> f64 {
        let Some(v) = self.value else {
            return f64::INFINITY;
        };
        let (num, den) = match slo.op() {
            perfloop_stats::Op::Lt | perfloop_stats::Op::Le => (v, slo.threshold()),
            perfloop_stats::Op::Gt | perfloop_stats::Op::Ge => (slo.threshold(), v),
        };
        if den > 0.0 { num / den } else { f64::INFINITY }
    }
}

/// An endpoint's value of `metric`, in the metric's unit; NaN for the target's metrics
/// (CPU, memory) and for a latency without a response.
pub(crate) fn endpoint_value(e: &EndpointFigures, metric: Metric) -> f64 {
    let l = &e.latency_ms;
    let latency = |v: f64| if l.count == 0 { f64::NAN } else { v };
    match metric {
        Metric::P50 => latency(l.p50),
        Metric::P75 => latency(l.p75),
        Metric::P90 => latency(l.p90),
        Metric::P95 => latency(l.p95),
        Metric::P99 => latency(l.p99),
        Metric::P99_9 => latency(l.p99_9),
        Metric::Max => latency(l.max),
        Metric::Mean => latency(l.mean),
        Metric::ErrorRate if e.requests > 0 => e.errors as f64 / e.requests as f64,
        Metric::Rps | Metric::Throughput => e.throughput_rps,
        _ => f64::NAN,
    }
}

impl RunRecord {
    /// The endpoints that broke an objective, the furthest beyond its threshold first: an
    /// objective on an endpoint that failed; and, in a run of two or more endpoints, for a
    /// failed objective on the whole run, each endpoint whose own figure breaks it (a
    /// throughput objective is the run's alone: the endpoints share it).
    pub fn endpoint_breaches(&self) -> Vec<Breach> {
        let mut found: Vec<(f64, Breach)> = Vec::new();
        for result in self.slo.iter().filter(|s| !s.pass) {
            let Ok(slo) = Slo::parse(&result.expr) else {
                continue;
            };
            let breach = |endpoint: &str, value: Option<f64>| Breach {
                endpoint: endpoint.to_string(),
                expr: result.expr.clone(),
                metric: result.metric.clone(),
                value,
                threshold: result.threshold,
                unit: result.unit.clone(),
            };
            match slo.endpoint() {
                Some(name) => {
                    let b = breach(name, result.value);
                    found.push((b.severity(&slo), b));
                }
                None if self.endpoints.len() > 1
                    && !matches!(slo.metric(), Metric::Rps | Metric::Throughput) =>
                {
                    for e in &self.endpoints {
                        let v = endpoint_value(e, slo.metric());
                        if slo.holds(v) || (v.is_nan() && e.requests == 0) {
                            continue;
                        }
                        let b = breach(&e.name, v.is_finite().then_some(v));
                        found.push((b.severity(&slo), b));
                    }
                }
                None => {}
            }
        }
        found.sort_by(|a, b| b.0.total_cmp(&a.0));
        found.into_iter().map(|(_, b)| b).collect()
    }
}
