//! A capacity search as asked, and its resolution into a plan.
//!
//! [`CapacitySpec`] is plain data whose `Default` holds every default of a capacity search
//! (the `DEFAULT_*` constants below, which the command line's defaults use too);
//! `perfloop capacity`'s flags, the demo and a tuning study's capacity workload each fill in
//! what they set and resolve it with [`CapacitySpec::resolve`] into a validated
//! [`CapacityPlan`]: the request resolved as `perfloop load` resolves it
//! (`perfloop_engine::spec`), the objectives parsed (with [`DEFAULT_ERROR_SLO`] added when
//! none is about errors), the settings as the record writes them, and each step's run
//! configuration. As in the load spec, a setting is text as a user typed it
//! ([`Given::Text`], parsed here, its errors quoting it) or a value already typed
//! ([`Given::Value`], held to the same rules).

use std::collections::BTreeSet;
use std::time::Duration;

use perfloop_engine::spec::{DEFAULT_MAX_CONNECTIONS, Given, Request, RequestOptions};
use perfloop_engine::{ConfigError, Limits, LoadConfig, Model, Plan, parse_duration, parse_rate};
use perfloop_report::{SearchSettings, StepKind};
use perfloop_stats::slo::{Metric, Slo, SloError, UnknownEndpoint};

/// The objective added when none is about errors.
pub const DEFAULT_ERROR_SLO: &str = "error_rate<1%";
/// Arrivals per second of the first step.
pub const DEFAULT_START_RATE: f64 = 50.0;
/// Each ramp step's rate over the previous one's.
pub const DEFAULT_GROWTH: f64 = 2.0;
/// Measured time of each step.
pub const DEFAULT_STEP_DURATION: Duration = Duration::from_secs(5);
/// Load before each step's measured window.
pub const DEFAULT_STEP_WARMUP: Duration = Duration::from_secs(1);
/// How close the bisection brings the failing rate to the passing one, as a percentage.
pub const DEFAULT_RESOLUTION_PCT: f64 = 5.0;
/// How far short of its asked rate a step may fall, as a percentage.
pub const DEFAULT_RATE_MARGIN_PCT: f64 = 5.0;
/// The whole search's time.
pub const DEFAULT_MAX_TIME: Duration = Duration::from_secs(600);
/// The shortest measured step: a latency trend needs points.
pub const MIN_STEP: Duration = Duration::from_secs(1);
/// The largest growth factor of the ramp.
pub const MAX_GROWTH: f64 = 100.0;

/// A capacity search as asked. `CapacitySpec::new(url)` is the search `perfloop capacity
/// URL` runs when no other option is given.
#[derive(Debug, Clone)]
pub struct CapacitySpec {
    /// What each request is and where it goes.
    pub request: RequestOptions,
    /// The objectives every step is held to, e.g. `p99<50ms`; without one about errors,
    /// [`DEFAULT_ERROR_SLO`] applies.
    pub slos: Vec<Given<Slo>>,
    /// Arrivals per second of the first step.
    pub start_rate: Given<f64>,
    /// Each ramp step asks for this many times the previous rate (above 1).
    pub growth: f64,
    /// The ramp never asks for more; `None`: no limit.
    pub max_rate: Option<Given<f64>>,
    /// Measured time of each step.
    pub step_duration: Given<Duration>,
    /// Load before each step's measured window, excluded from its figures.
    pub step_warmup: Given<Duration>,
    /// The bisection stops when the failing rate is within this fraction above the passing
    /// one (0.05 = 5 %; as text `5%` or `0.05`).
    pub resolution: Given<f64>,
    /// A step whose throughput falls short of its asked rate by more than this fraction
    /// does not pass (as text `5%` or `0.05`).
    pub rate_margin: Given<f64>,
    /// The whole search stops before this much time has passed.
    pub max_time: Given<Duration>,
    /// Connections of the closed-model sweep after the rate search, fitted with the
    /// Universal Scalability Law; empty for no sweep.
    pub concurrency: Vec<u32>,
    /// Open model: the most connections a step opens to keep up with its rate.
    pub max_connections: usize,
}

impl Default for CapacitySpec {
    fn default() -> CapacitySpec {
        CapacitySpec {
            request: RequestOptions::default(),
            slos: Vec::new(),
            start_rate: Given::Value(DEFAULT_START_RATE),
            growth: DEFAULT_GROWTH,
            max_rate: None,
            step_duration: Given::Value(DEFAULT_STEP_DURATION),
            step_warmup: Given::Value(DEFAULT_STEP_WARMUP),
            resolution: Given::Value(DEFAULT_RESOLUTION_PCT / 100.0),
            rate_margin: Given::Value(DEFAULT_RATE_MARGIN_PCT / 100.0),
            max_time: Given::Value(DEFAULT_MAX_TIME),
            concurrency: Vec::new(),
            max_connections: DEFAULT_MAX_CONNECTIONS,
        }
    }
}

/// Why a capacity search cannot run as asked. Each message names the option and the
/// value at fault.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// The request, or a setting shared with load runs, does not resolve.
    #[error(transparent)]
    Load(#[from] perfloop_engine::spec::SpecError),
    /// A rate or duration does not parse, or a step's run configuration is not valid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// An objective does not parse.
    #[error(transparent)]
    Slo(#[from] SloError),
    /// An objective names an endpoint the workload does not have.
    #[error(transparent)]
    UnknownEndpoint(#[from] UnknownEndpoint),
    /// A fraction is not within (0, 1).
    #[error("invalid {option} '{text}': expected a percentage between 0 and 100, e.g. 5%")]
    Fraction {
        /// The option, e.g. `--resolution`.
        option: &'static str,
        /// The value as given.
        text: String,
    },
    /// The growth factor is not above 1 (or above [`MAX_GROWTH`]).
    #[error("invalid --growth '{0}': expected a factor above 1 (and at most 100), e.g. 2")]
    Growth(f64),
    /// A step shorter than [`MIN_STEP`].
    #[error("--step-duration '{0}' is too short: a step needs at least 1s to show a trend")]
    StepTooShort(String),
    /// Not even one step fits in the search's time.
    #[error("--max-time '{max_time}' leaves no room for one step of {step} plus {warmup} warm-up")]
    NoRoom {
        /// The search's time, as given.
        max_time: String,
        /// One step's measured time, as given.
        step: String,
        /// One step's warm-up, as given.
        warmup: String,
    },
    /// A sweep level of 0 connections.
    #[error("invalid --concurrency level {0}: levels are connections, 1 or more")]
    ZeroConcurrency(u32),
    /// Too few sweep levels for the fit.
    #[error(
        "--concurrency has {levels} distinct levels; the Universal Scalability Law fit needs at \
         least {min}, e.g. 1,2,4,8,16,32"
    )]
    TooFewLevels {
        /// Distinct levels given.
        levels: usize,
        /// Levels the fit needs.
        min: usize,
    },
    /// No connection allowed.
    #[error("--max-connections must be at least 1")]
    NoConnections,
}

/// Parses `5%` or `0.05` into a fraction in (0, 1); `option` names it in the error.
pub fn parse_fraction(option: &'static str, text: &str) -> Result<f64, SpecError> {
    let t = text.trim();
    let value = match t.strip_suffix('%') {
        Some(p) => p.trim().parse::<f64>().map(|v| v / 100.0),
        None => t.parse::<f64>(),
    };
    match value {
        Ok(v) if is_fraction(v) => Ok(v),
        _ => Err(SpecError::Fraction {
            option,
            text: text.to_string(),
        }),
    }
}

fn is_fraction(v: f64) -> bool {
    v.is_finite() && v > 0.0 && v < 1.0
}

/// A fraction: the text parsed, or the value held to the same rule.
fn fraction(option: &'static str, given: &Given<f64>) -> Result<f64, SpecError> {
    match given {
        Given::Text(text) => parse_fraction(option, text),
        Given::Value(v) if is_fraction(*v) => Ok(*v),
        Given::Value(v) => Err(SpecError::Fraction {
            option,
            text: format!("{}%", v * 100.0),
        }),
    }
}

/// A rate: the text parsed, or the value held to the same rule (positive, finite).
fn rate(given: &Given<f64>) -> Result<f64, ConfigError> {
    match given {
        Given::Text(text) => parse_rate(text),
        Given::Value(r) if r.is_finite() && *r > 0.0 => Ok(*r),
        Given::Value(r) => Err(ConfigError::Rate {
            text: r.to_string(),
        }),
    }
}

/// A duration and how an error message shows it: the text as given, or the value
/// written out (`100ms`, `5s`).
fn duration(given: &Given<Duration>) -> Result<(Duration, String), ConfigError> {
    match given {
        Given::Text(text) => Ok((parse_duration(text)?, text.clone())),
        Given::Value(d) => Ok((*d, humantime::format_duration(*d).to_string())),
    }
}

impl CapacitySpec {
    /// Requests to `url` with every other option at its default.
    pub fn new(url: impl Into<String>) -> CapacitySpec {
        CapacitySpec {
            request: RequestOptions::new(url),
            ..CapacitySpec::default()
        }
    }

    /// Checks the search and resolves it into a plan.
    pub fn resolve(&self) -> Result<CapacityPlan, SpecError> {
        let request = self.request.resolve()?;
        let mut slos = Vec::new();
        let mut slo_texts = Vec::new();
        for given in &self.slos {
            let (slo, text) = match given {
                Given::Text(text) => (Slo::parse(text)?, text.clone()),
                Given::Value(slo) => (slo.clone(), slo.expr().to_string()),
            };
            slos.push(slo);
            slo_texts.push(text);
        }
        let implicit_error_slo = !slos
            .iter()
            .any(|s| s.metric() == Metric::ErrorRate && s.endpoint().is_none());
        if implicit_error_slo {
            slos.push(Slo::parse(DEFAULT_ERROR_SLO)?);
            slo_texts.push(DEFAULT_ERROR_SLO.to_string());
        }
        let start_rate = rate(&self.start_rate)?;
        let max_rate = self.max_rate.as_ref().map(rate).transpose()?;
        if !(self.growth.is_finite() && self.growth > 1.0 && self.growth <= MAX_GROWTH) {
            return Err(SpecError::Growth(self.growth));
        }
        let (step, step_text) = duration(&self.step_duration)?;
        if step < MIN_STEP {
            return Err(SpecError::StepTooShort(step_text));
        }
        let (warmup, warmup_text) = duration(&self.step_warmup)?;
        let (max_time, max_time_text) = duration(&self.max_time)?;
        if max_time < step + warmup {
            return Err(SpecError::NoRoom {
                max_time: max_time_text,
                step: step_text,
                warmup: warmup_text,
            });
        }
        let resolution = fraction("--resolution", &self.resolution)?;
        let rate_margin = fraction("--rate-margin", &self.rate_margin)?;
        if let Some(&zero) = self.concurrency.iter().find(|c| **c == 0) {
            return Err(SpecError::ZeroConcurrency(zero));
        }
        let levels: BTreeSet<u32> = self.concurrency.iter().copied().collect();
        let min = perfloop_stats::usl::MIN_POINTS;
        if !self.concurrency.is_empty() && levels.len() < min {
            return Err(SpecError::TooFewLevels {
                levels: levels.len(),
                min,
            });
        }
        if self.max_connections == 0 {
            return Err(SpecError::NoConnections);
        }
        let plan = CapacityPlan {
            request,
            slos,
            settings: SearchSettings {
                start_rate,
                growth: self.growth,
                max_rate,
                step_duration_s: step.as_secs_f64(),
                step_warmup_s: warmup.as_secs_f64(),
                resolution,
                max_time_s: max_time.as_secs_f64(),
                rate_margin,
                slo: slo_texts,
                concurrency: self.concurrency.iter().map(|&c| u64::from(c)).collect(),
            },
            max_connections: self.max_connections,
            implicit_error_slo,
        };
        let first = plan.step(StepKind::Ramp, start_rate);
        first.validate()?;
        let names = first.endpoint_names();
        for slo in &plan.slos {
            slo.check_endpoint(&names)?;
        }
        Ok(plan)
    }
}

/// A capacity search ready to run.
#[derive(Debug, Clone)]
pub struct CapacityPlan {
    /// What each request is, and where it goes.
    pub request: Request,
    /// The objectives every step is held to.
    pub slos: Vec<Slo>,
    /// The settings, as written into the record.
    pub settings: SearchSettings,
    /// Open model: the most connections per step.
    pub max_connections: usize,
    /// [`DEFAULT_ERROR_SLO`] was added because no objective was about errors.
    pub implicit_error_slo: bool,
}

impl CapacityPlan {
    /// The run configuration of a step: `offered` arrivals per second (ramp, bisection)
    /// in the open model, or `offered` connections (sweep) in the closed one.
    pub fn step(&self, kind: StepKind, offered: f64) -> LoadConfig {
        let model = match kind {
            StepKind::Sweep => Model::Closed {
                connections: Plan::Constant(offered),
            },
            StepKind::Ramp | StepKind::Bisect => Model::Open {
                rate: Plan::Constant(offered),
                max_connections: self.max_connections,
            },
        };
        let s = &self.settings;
        LoadConfig {
            request: self.request.spec.clone(),
            target: self.request.target.clone(),
            model,
            threads: self.request.threads,
            raw: self.request.raw.clone(),
            limits: Limits {
                duration: Some(Duration::from_secs_f64(s.step_duration_s)),
                requests: None,
                warmup: Duration::from_secs_f64(s.step_warmup_s),
                timeout: self.request.timeout,
            },
        }
    }

    /// A step's expected wall time (the drain of an overloaded step comes on top).
    pub fn step_time(&self) -> Duration {
        Duration::from_secs_f64(self.settings.step_duration_s + self.settings.step_warmup_s)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    const URL: &str = "http://127.0.0.1:9/";

    fn text<T>(t: &str) -> Given<T> {
        Given::Text(t.to_string())
    }

    fn error(spec: &CapacitySpec) -> String {
        match spec.resolve() {
            Ok(plan) => panic!("{spec:?} resolved: {plan:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn the_defaults_are_the_command_lines() {
        let plan = CapacitySpec::new(URL).resolve().unwrap();
        let s = &plan.settings;
        assert_eq!(s.start_rate, 50.0);
        assert_eq!(s.growth, 2.0);
        assert_eq!(s.max_rate, None);
        assert_eq!((s.step_duration_s, s.step_warmup_s), (5.0, 1.0));
        assert!((s.resolution - 0.05).abs() < 1e-12 && (s.rate_margin - 0.05).abs() < 1e-12);
        assert_eq!(s.max_time_s, 600.0);
        assert!(s.concurrency.is_empty());
        assert_eq!(plan.max_connections, 1024);
        assert!(plan.implicit_error_slo);
        assert_eq!(s.slo, vec![DEFAULT_ERROR_SLO]);
        assert_eq!(plan.request.spec.method, "GET");
    }

    #[test]
    fn text_and_values_resolve_alike() {
        let texts = CapacitySpec {
            slos: vec![text("p99<50ms"), text("error_rate<0.1%")],
            start_rate: text("100/s"),
            max_rate: Some(text("900")),
            step_duration: text("2s"),
            step_warmup: text("500ms"),
            resolution: text("10%"),
            rate_margin: text("0.02"),
            max_time: text("1m"),
            ..CapacitySpec::new(URL)
        };
        let values = CapacitySpec {
            slos: vec![
                Given::Value(Slo::parse("p99<50ms").unwrap()),
                Given::Value(Slo::parse("error_rate<0.1%").unwrap()),
            ],
            start_rate: Given::Value(100.0),
            max_rate: Some(Given::Value(900.0)),
            step_duration: Given::Value(Duration::from_secs(2)),
            step_warmup: Given::Value(Duration::from_millis(500)),
            resolution: Given::Value(0.1),
            rate_margin: Given::Value(0.02),
            max_time: Given::Value(Duration::from_secs(60)),
            ..CapacitySpec::new(URL)
        };
        let (a, b) = (texts.resolve().unwrap(), values.resolve().unwrap());
        assert_eq!(a.settings, b.settings);
        assert_eq!(a.slos, b.slos);
        assert!(!a.implicit_error_slo, "an error objective was given");
        assert_eq!(a.settings.slo, vec!["p99<50ms", "error_rate<0.1%"]);
        assert_eq!(a.step(StepKind::Ramp, 100.0), b.step(StepKind::Ramp, 100.0));
    }

    #[test]
    fn steps_are_open_at_a_rate_or_closed_at_a_concurrency() {
        let plan = CapacitySpec {
            max_connections: 7,
            ..CapacitySpec::new(URL)
        }
        .resolve()
        .unwrap();
        let ramp = plan.step(StepKind::Bisect, 140.0);
        assert_eq!(
            ramp.model,
            Model::Open {
                rate: Plan::Constant(140.0),
                max_connections: 7
            }
        );
        assert_eq!(ramp.limits.duration, Some(Duration::from_secs(5)));
        assert_eq!(ramp.limits.warmup, Duration::from_secs(1));
        let sweep = plan.step(StepKind::Sweep, 8.0);
        assert_eq!(
            sweep.model,
            Model::Closed {
                connections: Plan::Constant(8.0)
            }
        );
        assert_eq!(plan.step_time(), Duration::from_secs(6));
    }

    #[test]
    fn bad_settings_are_errors_naming_the_option_and_value() {
        let spec = || CapacitySpec::new(URL);
        let cases: Vec<(CapacitySpec, &str)> = vec![
            (CapacitySpec::new("ftp://x/"), "ftp://x/"),
            (
                CapacitySpec {
                    slos: vec![text("p99<<5ms")],
                    ..spec()
                },
                "p99<<5ms",
            ),
            (
                CapacitySpec {
                    start_rate: text("fast"),
                    ..spec()
                },
                "'fast'",
            ),
            (
                CapacitySpec {
                    max_rate: Some(Given::Value(-1.0)),
                    ..spec()
                },
                "'-1'",
            ),
            (
                CapacitySpec {
                    growth: 0.5,
                    ..spec()
                },
                "invalid --growth '0.5'",
            ),
            (
                CapacitySpec {
                    step_duration: text("100ms"),
                    ..spec()
                },
                "--step-duration '100ms' is too short",
            ),
            (
                CapacitySpec {
                    step_duration: Given::Value(Duration::from_millis(100)),
                    ..spec()
                },
                "--step-duration '100ms' is too short",
            ),
            (
                CapacitySpec {
                    max_time: text("5s"),
                    ..spec()
                },
                "--max-time '5s' leaves no room for one step of 5s plus 1s warm-up",
            ),
            (
                CapacitySpec {
                    resolution: text("150%"),
                    ..spec()
                },
                "invalid --resolution '150%'",
            ),
            (
                CapacitySpec {
                    rate_margin: Given::Value(0.0),
                    ..spec()
                },
                "invalid --rate-margin '0%'",
            ),
            (
                CapacitySpec {
                    concurrency: vec![1, 2, 0],
                    ..spec()
                },
                "level 0",
            ),
            (
                CapacitySpec {
                    concurrency: vec![1, 2, 4, 4, 8, 16],
                    ..spec()
                },
                "5 distinct levels",
            ),
            (
                CapacitySpec {
                    max_connections: 0,
                    ..spec()
                },
                "--max-connections",
            ),
            (
                CapacitySpec {
                    request: RequestOptions {
                        threads: Some(0),
                        ..RequestOptions::new(URL)
                    },
                    ..spec()
                },
                "--threads",
            ),
        ];
        for (spec, says) in cases {
            let e = error(&spec);
            assert!(e.contains(says), "expected '{says}' in: {e}");
        }
    }

    #[test]
    fn objectives_on_endpoints_are_checked_against_the_workloads_names() {
        let with = |slo: &str| CapacitySpec {
            slos: vec![text(slo)],
            ..CapacitySpec::new(URL)
        };
        let plan = with("GET /: error_rate<1%").resolve().unwrap();
        assert_eq!(plan.slos[0].endpoint(), Some("GET /"));
        // An objective on one endpoint says nothing of the others: the search still holds
        // the whole run to its default error objective.
        assert!(plan.implicit_error_slo);
        let e = with("GET /x: p99<5ms").resolve().unwrap_err().to_string();
        assert!(
            e.contains("unknown endpoint 'GET /x' (did you mean 'GET /'?)")
                && e.contains("endpoints are: 'GET /'"),
            "{e}"
        );
    }

    #[test]
    fn fractions_read_as_percentages_or_plain() {
        assert_eq!(parse_fraction("--resolution", "5%").unwrap(), 0.05);
        assert_eq!(parse_fraction("--resolution", " 0.2 ").unwrap(), 0.2);
        for bad in ["0", "100%", "-1%", "x", "nan"] {
            assert!(parse_fraction("--resolution", bad).is_err(), "{bad}");
        }
    }
}
