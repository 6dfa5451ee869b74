//! The evidence every rule reads: the steps of a search (or one run as a one-step search),
//! with the selections the rules share.
//!
//! - **Valid steps** are those whose load generator was not saturated: a saturated
//!   generator measured itself, so only the `generator_saturated` rule looks at those steps.
//! - **The rate curve** is the valid rate steps (ramp and bisection) sorted by offered
//!   arrival rate: throughput and latency against load.
//! - **Near the limit** are the highest passing step of the curve and the first failing
//!   step above it, where whatever limits the target is at work. Without a passing step it
//!   is the lowest failing one; without rate steps (a sweep alone), the valid step with the
//!   highest throughput.
//! - **The saturating region** is the highest passing step and every failing step above it
//!   (the whole curve when nothing passed).

use perfloop_monitor::Summary;
use perfloop_report::{CapacityRecord, RunRecord, StepKind, UslRecord};

/// One measured step, as the rules see it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Point<'a> {
    /// Index into the record's steps (0 for a single run).
    pub index: usize,
    /// Ramp, bisection or sweep.
    pub kind: StepKind,
    /// Arrivals per second (rate steps) or connections (sweep steps).
    pub offered: f64,
    /// The step was sustainable.
    pub pass: bool,
    /// The load generator was saturated: the step's figures are not the target's.
    pub generator_saturated: bool,
    /// Everything measured.
    pub run: &'a RunRecord,
}

impl<'a> Point<'a> {
    /// Whether the step belongs to the rate search (ramp or bisection).
    pub fn is_rate(&self) -> bool {
        matches!(self.kind, StepKind::Ramp | StepKind::Bisect)
    }

    /// The watched target's figures, when the monitor measured them (a target was watched
    /// and seen alive).
    pub fn target(&self) -> Option<TargetFigures> {
        self.run.target.summary.as_ref().and_then(TargetFigures::of)
    }

    /// The monitor's summary when the host was sampled (target or not).
    pub fn host(&self) -> Option<&'a Summary> {
        self.run.target.summary.as_ref().filter(|s| s.cores > 0)
    }

    /// Failed requests over requests completed, 0 without requests.
    pub fn error_rate(&self) -> f64 {
        let requests = &self.run.requests;
        if requests.total == 0 {
            0.0
        } else {
            requests.errors as f64 / requests.total as f64
        }
    }
}

/// The target's CPU as a fraction of the whole machine (1 = every core busy).
pub(crate) fn machine_share(target: &TargetFigures) -> f64 {
    target.cpu_pct_mean / (f64::from(target.cores.max(1)) * 100.0)
}

/// A step's figures of the watched target, all measured, with the host's beside them
/// (means over the step, % of one core unless said otherwise).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct TargetFigures {
    /// CPUs online.
    pub cores: u32,
    /// Target CPU.
    pub cpu_pct_mean: f64,
    /// The busiest target thread's CPU.
    pub top_thread_cpu_pct_mean: f64,
    /// Its peak over one interval.
    pub top_thread_cpu_pct_max: f64,
    /// Target RSS peak, MiB.
    pub rss_max_mb: f64,
    /// Target voluntary context switches over the step.
    pub ctx_voluntary_total: u64,
    /// Target involuntary context switches over the step.
    pub ctx_involuntary_total: u64,
    /// Time the samples cover, seconds.
    pub duration_s: f64,
    /// Host CPU busy, % of the machine.
    pub host_cpu_pct_mean: f64,
    /// The load generator's CPU.
    pub generator_cpu_pct_mean: f64,
}

impl TargetFigures {
    /// The figures of `summary` when its target was measured (and the host's cores known).
    pub fn of(summary: &Summary) -> Option<TargetFigures> {
        (summary.cores > 0).then_some(())?;
        Some(TargetFigures {
            cores: summary.cores,
            cpu_pct_mean: summary.cpu_pct_mean?,
            top_thread_cpu_pct_mean: summary.top_thread_cpu_pct_mean?,
            top_thread_cpu_pct_max: summary.top_thread_cpu_pct_max?,
            rss_max_mb: summary.rss_max_mb?,
            ctx_voluntary_total: summary.ctx_voluntary_total.unwrap_or(0),
            ctx_involuntary_total: summary.ctx_involuntary_total.unwrap_or(0),
            duration_s: summary.duration_s,
            host_cpu_pct_mean: summary.host_cpu_pct_mean,
            generator_cpu_pct_mean: summary.generator_cpu_pct_mean,
        })
    }
}

/// A capacity search (or a single run) seen by the rules.
#[derive(Debug, Clone)]
pub(crate) struct Search<'a> {
    /// Every step in the order measured.
    pub points: Vec<Point<'a>>,
    /// The Universal Scalability Law fit of the sweep, if any.
    pub usl: Option<&'a UslRecord>,
    /// The largest concurrency the sweep measured.
    pub sweep_max_concurrency: Option<f64>,
}

impl<'a> Search<'a> {
    /// The steps of a capacity search.
    pub fn from_record(record: &'a CapacityRecord) -> Search<'a> {
        let points = record
            .steps
            .iter()
            .map(|step| Point {
                index: step.index,
                kind: step.kind,
                offered: step.offered,
                pass: step.verdict.pass,
                generator_saturated: step.run.generator.saturated
                    || step.verdict.generator_saturated,
                run: &step.run,
            })
            .collect();
        let sweep = record.sweep.as_ref();
        Search {
            points,
            usl: sweep.and_then(|s| s.usl.as_ref()),
            sweep_max_concurrency: sweep
                .and_then(|s| s.points.iter().map(|p| p.concurrency).max())
                .map(|c| c as f64),
        }
    }

    /// A single run as a one-step search: a rate step offering the asked arrival rate (or,
    /// in the closed model, its connections), passing when every objective held.
    pub fn from_run(run: &'a RunRecord) -> Search<'a> {
        let offered = run
            .open_model
            .as_ref()
            .map(|o| o.asked_rate)
            .or(run.load.rate)
            .or(run.load.connections.map(|c| c as f64))
            .unwrap_or(0.0);
        Search {
            points: vec![Point {
                index: 0,
                kind: StepKind::Ramp,
                offered,
                pass: !run.slo_failed() && !run.generator.saturated,
                generator_saturated: run.generator.saturated,
                run,
            }],
            usl: None,
            sweep_max_concurrency: None,
        }
    }

    /// The steps whose generator was not saturated, in the order measured.
    pub fn valid(&self) -> impl Iterator<Item = &Point<'a>> {
        self.points.iter().filter(|p| !p.generator_saturated)
    }

    /// The valid rate steps sorted by offered load (then by index).
    pub fn rate_curve(&self) -> Vec<&Point<'a>> {
        let mut curve: Vec<&Point<'a>> = self.valid().filter(|p| p.is_rate()).collect();
        curve.sort_by(|a, b| a.offered.total_cmp(&b.offered).then(a.index.cmp(&b.index)));
        curve
    }

    /// The highest passing step of the rate curve and the first failing step above it (see
    /// the module documentation for the cases without either).
    pub fn near_limit(&self) -> Vec<&Point<'a>> {
        let curve = self.rate_curve();
        if curve.is_empty() {
            return self
                .valid()
                .max_by(|a, b| a.run.throughput_rps.total_cmp(&b.run.throughput_rps))
                .into_iter()
                .collect();
        }
        let passing = curve.iter().rposition(|p| p.pass);
        let failing = curve
            .iter()
            .enumerate()
            .skip(passing.map_or(0, |i| i + 1))
            .find(|(_, p)| !p.pass)
            .map(|(i, _)| i);
        [passing, failing]
            .into_iter()
            .flatten()
            .map(|i| curve[i])
            .collect()
    }

    /// The highest passing step of the rate curve and every failing step above it; the
    /// whole curve when nothing passed.
    pub fn saturating_region(&self) -> Vec<&Point<'a>> {
        let curve = self.rate_curve();
        match curve.iter().rposition(|p| p.pass) {
            Some(i) => {
                let mut region = vec![curve[i]];
                region.extend(curve[i + 1..].iter().filter(|p| !p.pass));
                region
            }
            None => curve,
        }
    }
}
