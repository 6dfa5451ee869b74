//! The search as a sequence of steps: the rate ramp and bisection ([`RateSearch`]) while
//! time is left, then the concurrency sweep when the rate search ran to its end, each step
//! judged as it is measured ([`judge`]); then the record, assembled by
//! [`CapacityRecord::build`] with the knee, the sweep's fit and the diagnosis's findings.
//!
//! Measuring is behind [`Measure`]: the binary runs the engine against the watched target,
//! a test a fake. A step that was measured is kept even when it ends the search (the target
//! unreachable or dead, an interruption), so a search cut short still reports every step.

use std::time::{Duration, Instant, SystemTime};

use perfloop_engine::LoadConfig;
use perfloop_report::{
    CapacityInput, CapacityRecord, CapacityTarget, RunRecord, ScenarioInfo, SearchEnding, Step,
    StepKind,
};
use perfloop_stats::slo::Slo;

use crate::search::RateSearch;
use crate::spec::{CapacityPlan, DEFAULT_ERROR_SLO};
use crate::sweep::sweep;
use crate::verdict::{Asked, judge, knee};

/// Why the search cannot go on, and the error to report.
#[derive(Debug)]
pub struct Halt<E> {
    /// How the record says the search ended.
    pub ending: SearchEnding,
    /// What went wrong.
    pub error: E,
}

/// A step measured.
#[derive(Debug)]
pub struct Measured<E> {
    /// Everything measured in the step, its objectives judged.
    pub run: RunRecord,
    /// Set when the search cannot go on after this step (the target could not be reached
    /// or died, the search was interrupted); the step is kept.
    pub halt: Option<Halt<E>>,
}

/// Measures the steps of a search.
pub trait Measure {
    /// What goes wrong.
    type Error;

    /// Runs one step as configured and judges `slos` on it; `Err` when nothing could be
    /// measured.
    fn measure(
        &mut self,
        config: &LoadConfig,
        slos: &[Slo],
    ) -> Result<Measured<Self::Error>, Halt<Self::Error>>;

    /// Sees each step once it is judged, before the search goes on (progress lines).
    fn judged(&mut self, step: &Step);
}

/// The process the search watched, as the record names it.
#[derive(Debug, Clone, Default)]
pub struct Watched {
    /// The managed target's command, when perfloop started it.
    pub command: Option<String>,
    /// The watched process.
    pub pid: Option<u32>,
}

/// What a search produced: the record, and the error that ended it early, if any.
#[derive(Debug)]
pub struct Searched<E> {
    /// Every step measured, the result and the findings.
    pub record: CapacityRecord,
    /// Why the search could not finish (target unreachable or dead, interrupted).
    pub failure: Option<E>,
}

/// The search in progress.
/// A step's verdict as the rate search takes it.
struct Judged {
    pass: bool,
    /// The step failed delivering only this many requests per second of those asked.
    overloaded: Option<f64>,
}

struct Searcher<'a, M> {
    plan: &'a CapacityPlan,
    measure: &'a mut M,
    began: Instant,
    steps: Vec<Step>,
}

impl<M: Measure> Searcher<'_, M> {
    fn time_left(&self) -> bool {
        self.began.elapsed() + self.plan.step_time()
            <= Duration::from_secs_f64(self.plan.settings.max_time_s)
    }

    /// Measures one step and judges it; `Err` when the search cannot go on.
    fn step(&mut self, kind: StepKind, offered: f64) -> Result<Judged, Halt<M::Error>> {
        let config = self.plan.step(kind, offered);
        let Measured { run, halt } = self.measure.measure(&config, &self.plan.slos)?;
        let asked = Asked {
            kind,
            offered,
            window_s: self.plan.settings.step_duration_s,
            rate_margin: self.plan.settings.rate_margin,
        };
        let verdict = judge(&run, &asked);
        let judged = Judged {
            pass: verdict.pass,
            // Only a trusted step's delivery measures the target.
            overloaded: verdict
                .achieved_ratio
                .filter(|&r| verdict.trusted && r < 1.0 - asked.rate_margin)
                .map(|r| r * offered),
        };
        let step = Step {
            index: self.steps.len(),
            kind,
            offered,
            verdict,
            run,
        };
        self.measure.judged(&step);
        self.steps.push(step);
        match halt {
            Some(h) => Err(h),
            None => Ok(judged),
        }
    }

    /// The rate ramp and bisection.
    fn rates(&mut self, rates: &mut RateSearch) -> Result<SearchEnding, Halt<M::Error>> {
        while let Some((kind, rate)) = rates.next() {
            if !self.time_left() {
                return Ok(SearchEnding::MaxTime);
            }
            let Judged { pass, overloaded } = self.step(kind, rate)?;
            rates.record(rate, pass, overloaded);
        }
        Ok(if rates.passing().is_none() {
            SearchEnding::FailedAtStart
        } else {
            SearchEnding::Completed
        })
    }

    /// The closed-model sweep; `Ok(false)` when time ran out.
    fn sweep(&mut self) -> Result<bool, Halt<M::Error>> {
        for &n in &self.plan.settings.concurrency {
            if !self.time_left() {
                return Ok(false);
            }
            self.step(StepKind::Sweep, n as f64)?;
        }
        Ok(true)
    }
}

/// Runs the search of `plan`, each step measured by `measure`, and makes its record.
pub fn run<M: Measure>(
    plan: &CapacityPlan,
    measure: &mut M,
    watched: Watched,
) -> Searched<M::Error> {
    let started_at = SystemTime::now();
    let mut searcher = Searcher {
        plan,
        measure,
        began: Instant::now(),
        steps: Vec::new(),
    };
    let s = &plan.settings;
    let mut rates = RateSearch::new(s.start_rate, s.growth, s.max_rate, s.resolution);
    let (mut ending, mut failure) = match searcher.rates(&mut rates) {
        Ok(e) => (e, None),
        Err(Halt { ending, error }) => (ending, Some(error)),
    };
    let sweep_allowed = matches!(
        ending,
        SearchEnding::Completed | SearchEnding::FailedAtStart
    );
    if sweep_allowed && !s.concurrency.is_empty() {
        match searcher.sweep() {
            Ok(true) => {}
            Ok(false) => ending = SearchEnding::MaxTime,
            Err(halt) => {
                ending = halt.ending;
                failure = Some(halt.error);
            }
        }
    }
    let elapsed = searcher.began.elapsed();
    let steps = searcher.steps;
    let knee_input: Vec<(usize, f64, &RunRecord)> = steps
        .iter()
        .filter(|st| st.kind != StepKind::Sweep)
        .map(|st| (st.index, st.offered, &st.run))
        .collect();
    let knee = knee(&knee_input);
    let sweep = (!s.concurrency.is_empty()).then(|| sweep(&steps));
    let notes = if plan.implicit_error_slo {
        vec![format!(
            "no error_rate objective was given: {DEFAULT_ERROR_SLO} applied to every step"
        )]
    } else {
        Vec::new()
    };
    let mut record = CapacityRecord::build(CapacityInput {
        started_at,
        elapsed,
        target: CapacityTarget {
            url: plan.request.target.url.to_string(),
            method: if plan.request.spec.scenario.is_some() {
                String::new()
            } else {
                plan.request.spec.method.clone()
            },
            scenario: ScenarioInfo::of(&plan.request.spec),
            command: watched.command,
            pid: watched.pid,
        },
        settings: s.clone(),
        steps,
        ending,
        bracket: rates.bracket(),
        knee,
        sweep,
        notes,
    });
    record.findings = perfloop_diagnose::diagnose(&record);
    Searched { record, failure }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use perfloop_engine::{Model, Plan};

    use super::*;
    use crate::spec::CapacitySpec;

    /// A target that sustains `capacity` requests per second (and, closed, a throughput of
    /// `100 N / (1 + 0.05 (N − 1))` at N connections), measured from a real step's record;
    /// `halt_at` ends the search after that step.
    struct Fake {
        capacity: f64,
        halt_at: Option<(usize, SearchEnding)>,
        unmeasurable_at: Option<usize>,
        asked: Vec<(String, f64)>,
        judged: Vec<usize>,
    }

    impl Fake {
        fn new(capacity: f64) -> Fake {
            Fake {
                capacity,
                halt_at: None,
                unmeasurable_at: None,
                asked: Vec::new(),
                judged: Vec::new(),
            }
        }
    }

    impl Measure for Fake {
        type Error = String;

        fn measure(
            &mut self,
            config: &LoadConfig,
            slos: &[Slo],
        ) -> Result<Measured<String>, Halt<String>> {
            assert_eq!(slos.len(), 2, "p99<100ms and the error objective added");
            let index = self.asked.len();
            let (model, level) = match &config.model {
                Model::Open {
                    rate: Plan::Constant(r),
                    ..
                } => ("open", *r),
                Model::Closed {
                    connections: Plan::Constant(n),
                } => ("closed", *n),
                other => panic!("a step asks for a constant level: {other:?}"),
            };
            self.asked.push((model.to_string(), level));
            if self.unmeasurable_at == Some(index) {
                return Err(Halt {
                    ending: SearchEnding::Failed,
                    error: "the monitor did not start".into(),
                });
            }
            let mut run: RunRecord =
                serde_json::from_str(include_str!("testdata/step-135.json")).unwrap();
            let throughput = match model {
                "open" => level.min(self.capacity),
                _ => 100.0 * level / (1.0 + 0.05 * (level - 1.0)),
            };
            let in_flight = match model {
                "open" => throughput * run.latency_ms.mean / 1000.0,
                _ => level,
            };
            let served = (throughput * 5.0).round() as u64;
            run.requests.total = served;
            run.requests.ok = served;
            run.latency_ms.count = served;
            run.latency_ms.mean = in_flight / throughput * 1000.0;
            run.throughput_rps = throughput;
            run.in_flight_mean = in_flight;
            let halt = self
                .halt_at
                .filter(|(at, _)| *at == index)
                .map(|(_, ending)| Halt {
                    ending,
                    error: format!("halted after step {index}"),
                });
            Ok(Measured { run, halt })
        }

        fn judged(&mut self, step: &Step) {
            self.judged.push(step.index);
        }
    }

    fn plan(concurrency: Vec<u32>) -> CapacityPlan {
        CapacitySpec {
            slos: vec![perfloop_engine::spec::Given::Text("p99<100ms".into())],
            concurrency,
            ..CapacitySpec::new("http://127.0.0.1:9/")
        }
        .resolve()
        .unwrap()
    }

    #[test]
    fn the_search_ramps_bisects_then_sweeps_and_reports_what_it_measured() {
        let mut fake = Fake::new(730.0);
        let plan = plan(vec![1, 2, 4, 8, 16, 32]);
        let Searched { record, failure } = run(&plan, &mut fake, Watched::default());
        assert!(failure.is_none());
        assert_eq!(record.ending, SearchEnding::Completed);
        let rates: Vec<f64> = fake.asked.iter().take(5).map(|(_, r)| *r).collect();
        assert_eq!(rates, vec![50.0, 100.0, 200.0, 400.0, 800.0]);
        let sweep: Vec<f64> = fake
            .asked
            .iter()
            .filter(|(m, _)| m == "closed")
            .map(|(_, n)| *n)
            .collect();
        assert_eq!(
            sweep,
            vec![1.0, 2.0, 4.0, 8.0, 16.0, 32.0],
            "after the rates"
        );
        assert!(
            fake.asked[..fake.asked.len() - 6]
                .iter()
                .all(|(m, _)| m == "open")
        );
        assert_eq!(fake.judged, (0..record.steps.len()).collect::<Vec<_>>());

        let result = &record.result;
        let best = &record.steps[result.max_passing_step.unwrap()];
        // Within the 5 % rate margin a step above the capacity still delivers its rate.
        assert!(
            best.verdict.pass && best.offered <= 730.0 / 0.95,
            "{}",
            best.offered
        );
        assert_eq!(result.max_passing_rate, Some(best.offered));
        assert_eq!(result.max_sustainable_rps, Some(best.run.throughput_rps));
        let failing = result.min_failing_rate.unwrap();
        assert!(failing > 730.0 && failing / best.offered - 1.0 <= 0.05);
        assert!(result.resolved);
        assert!(
            result.bounded_by.contains("resolution 5.0 %"),
            "{}",
            result.bounded_by
        );
        assert_eq!(record.sweep.as_ref().unwrap().points.len(), 6);
        assert!(record.sweep.as_ref().unwrap().usl.is_some());
        assert_eq!(record.settings.slo, vec!["p99<100ms", "error_rate<1%"]);
        assert!(
            record.notes[0].contains("error_rate<1% applied"),
            "{:?}",
            record.notes
        );
        assert_eq!(record.target.url, "http://127.0.0.1:9/");
    }

    #[test]
    fn a_step_that_ends_the_search_is_kept_and_no_sweep_follows() {
        let mut fake = Fake::new(730.0);
        fake.halt_at = Some((2, SearchEnding::TargetDied));
        let Searched { record, failure } = run(
            &plan(vec![1, 2, 4, 8, 16, 32]),
            &mut fake,
            Watched::default(),
        );
        assert_eq!(failure.as_deref(), Some("halted after step 2"));
        assert_eq!(record.ending, SearchEnding::TargetDied);
        assert_eq!(record.steps.len(), 3, "the step that ended it is reported");
        assert!(record.steps.iter().all(|s| s.kind == StepKind::Ramp));
        assert_eq!(record.result.max_passing_rate, Some(200.0));
        assert_eq!(
            record.result.bounded_by,
            "the target exited during the search"
        );
    }

    #[test]
    fn a_step_that_could_not_be_measured_ends_the_search_without_it() {
        let mut fake = Fake::new(730.0);
        fake.unmeasurable_at = Some(1);
        let Searched { record, failure } = run(&plan(Vec::new()), &mut fake, Watched::default());
        assert_eq!(failure.as_deref(), Some("the monitor did not start"));
        assert_eq!(record.ending, SearchEnding::Failed);
        assert_eq!(record.steps.len(), 1);
        assert!(record.sweep.is_none());
    }

    #[test]
    fn a_first_failing_step_still_sweeps() {
        let mut fake = Fake::new(10.0);
        let Searched { record, failure } = run(
            &plan(vec![1, 2, 4, 8, 16, 32]),
            &mut fake,
            Watched::default(),
        );
        assert!(failure.is_none());
        assert_eq!(record.ending, SearchEnding::FailedAtStart);
        assert_eq!(record.result.max_sustainable_rps, None);
        assert!(
            record
                .result
                .bounded_by
                .starts_with("the first step, at 50/s, already failed: delivered"),
            "{}",
            record.result.bounded_by
        );
        assert_eq!(record.steps.len(), 7);
        // The sweep sustained more than the rate search found (nothing).
        let above = record.result.sweep_above.as_ref().unwrap();
        assert_eq!(above.search_stopped_at, Some(0));
        assert!(record.result.sweep_below.is_none());
    }

    #[test]
    fn a_search_above_every_sweep_step_says_what_the_sweep_measured_near_it() {
        let mut fake = Fake::new(2000.0);
        let Searched { record, failure } =
            run(&plan(vec![1, 2, 3, 4, 6, 8]), &mut fake, Watched::default());
        assert!(failure.is_none());
        let res = &record.result;
        let found = res.max_sustainable_rps.unwrap();
        assert!(found > 1500.0, "{found}");
        assert!(res.sweep_above.is_none());
        let below = res.sweep_below.as_ref().unwrap();
        // The fake's closed model at 8 connections: 800 / 1.35 req/s.
        assert_eq!(below.concurrency, 8);
        assert!((below.throughput_rps - 800.0 / 1.35).abs() < 1e-6);
        assert_eq!(Some(below.search_step), res.max_passing_step);
        let step = &record.steps[below.search_step];
        assert!(
            (below.search_in_flight - step.verdict.littles_law.in_flight).abs() < 1e-9,
            "{below:?}"
        );
        assert!(
            below
                .why
                .contains("the sweep went up to 8 connections 592.6 req/s"),
            "{}",
            below.why
        );
    }
}
