//! From the study file as written to the validated [`Study`]: the study as a whole, its
//! target and readiness probe, objective and budget, and the checks of single values
//! (durations, counts, rates) shared by the sections. Knobs and workloads have files of
//! their own.

use std::collections::BTreeMap;
use std::time::Duration;

use perfloop_stats::{Metric, Slo};
use toml::Spanned;

use super::constraint::{expected, is_study_metric, not_measured, parse_constraint};
use super::error::{Source, StudyError};
use super::knobs::space_error;
use super::model::{
    Budget, DEFAULT_BASELINE_EVERY, DEFAULT_CONFIRM_ROUNDS, DEFAULT_FINALISTS,
    DEFAULT_READY_TIMEOUT, MAX_CONFIRM_ROUNDS, MAX_FINALISTS, Objective, Ready, Study, Target,
};
use super::placeholders::{Uses, check_placeholders, collect_placeholders};
use super::raw::{RawBudget, RawObjective, RawStudy, RawTarget};
use super::workload::{url_problem, validate_alerts, validate_workload};
use crate::space::Space;

impl RawStudy {
    pub(super) fn validate(self, src: &Source<'_>) -> Result<Study, StudyError> {
        if self.name.get_ref().trim().is_empty() {
            return Err(src.at(&self.name, "the study's `name` is empty".into()));
        }
        let (knobs, knob_spans) = self.knobs.to_knobs(src)?;
        let space = Space::new(knobs).map_err(|e| space_error(src, &knob_spans, &e))?;
        let mut uses = Uses::new();
        let target = self.target.validate(src, &mut uses)?;
        let managed = matches!(target, Target::Managed { .. });
        let workload = validate_workload(src, managed, self.workload.as_ref(), &mut uses)?;
        let alerts = validate_alerts(src, managed, self.workload.as_ref())?;
        check_placeholders(src, &space, managed, &uses, &knob_spans)?;
        let (objective, constraints) = self.objective.validate(src)?;
        let budget = self.budget.validate(src)?;
        Ok(Study {
            name: self.name.get_ref().trim().to_owned(),
            target,
            space,
            workload,
            objective,
            constraints,
            budget,
            alerts,
        })
    }
}

impl RawTarget {
    pub(super) fn validate(&self, src: &Source<'_>, uses: &mut Uses) -> Result<Target, StudyError> {
        let command = match (&self.command, &self.bench) {
            (None, None) => {
                return Err(src.error(
                    &src.table("target"),
                    "[target] needs `command` (a managed target) or `bench` (a command \
                     benchmark)"
                        .into(),
                ));
            }
            (Some(_), Some(bench)) => {
                return Err(src.at(
                    bench,
                    "[target] has both `command` and `bench`: give one (a managed target or \
                     a command benchmark)"
                        .into(),
                ));
            }
            (Some(c), None) | (None, Some(c)) => c,
        };
        if command.get_ref().trim().is_empty() {
            return Err(src.at(command, "the target's command is empty".into()));
        }
        collect_placeholders(src, command, uses)?;
        let mut env = BTreeMap::new();
        for (key, value) in &self.env {
            if key.is_empty() || key.contains('=') || key.contains('\0') {
                return Err(src.at(value, format!("invalid environment variable name `{key}`")));
            }
            collect_placeholders(src, value, uses)?;
            env.insert(key.clone(), value.get_ref().clone());
        }
        if self.bench.is_some() {
            if let Some(ready) = self.ready.as_ref().or(self.ready_timeout.as_ref()) {
                return Err(src.at(
                    ready,
                    "`ready` applies to a managed target (`command`), not to `bench`".into(),
                ));
            }
            let work_regex = match &self.work_regex {
                Some(re) => {
                    let compiled = regex::Regex::new(re.get_ref()).map_err(|e| {
                        src.at(re, format!("invalid work_regex `{}`: {e}", re.get_ref()))
                    })?;
                    if compiled.captures_len() < 2 {
                        return Err(src.at(
                            re,
                            format!(
                                "work_regex `{}` needs a capture group around the amount of \
                                 work, like 'processed (\\d+)'",
                                re.get_ref()
                            ),
                        ));
                    }
                    Some(re.get_ref().clone())
                }
                None => None,
            };
            return Ok(Target::Bench {
                command: command.get_ref().clone(),
                work_regex,
                env,
            });
        }
        if let Some(re) = &self.work_regex {
            return Err(src.at(
                re,
                "`work_regex` applies to a command benchmark (`bench`), not to `command`".into(),
            ));
        }
        let ready = self
            .ready
            .as_ref()
            .map(|r| parse_ready(src, r, uses))
            .transpose()?;
        let ready_timeout = duration(src, self.ready_timeout.as_ref(), "ready_timeout")?
            .unwrap_or(DEFAULT_READY_TIMEOUT);
        Ok(Target::Managed {
            command: command.get_ref().clone(),
            ready,
            ready_timeout,
            env,
        })
    }
}

pub(super) fn parse_ready(
    src: &Source<'_>,
    ready: &Spanned<String>,
    uses: &mut Uses,
) -> Result<Ready, StudyError> {
    let text = ready.get_ref().trim();
    let bad = |reason: &str| {
        src.at(
            ready,
            format!(
                "invalid readiness probe `{text}`: {reason}; expected an http:// URL, tcp:PORT \
                 or log:REGEX"
            ),
        )
    };
    if let Some(pattern) = text.strip_prefix("log:") {
        if pattern.is_empty() {
            return Err(bad("the regular expression is empty"));
        }
        regex::Regex::new(pattern).map_err(|e| bad(&e.to_string()))?;
        return Ok(Ready::Log(pattern.to_owned()));
    }
    collect_placeholders(src, ready, uses)?;
    if let Some(port) = text.strip_prefix("tcp:") {
        let placeholder = port.starts_with('{') && port.ends_with('}');
        if !placeholder && !port.parse::<u16>().is_ok_and(|p| p > 0) {
            return Err(bad(
                "the port must be a number from 1 to 65535 or a placeholder",
            ));
        }
        return Ok(Ready::Tcp(port.to_owned()));
    }
    if text.starts_with("http://") {
        if let Some(problem) = url_problem(text) {
            return Err(bad(&problem.to_string()));
        }
        return Ok(Ready::Http(text.to_owned()));
    }
    Err(bad("unknown kind of probe"))
}

pub(super) fn duration(
    src: &Source<'_>,
    text: Option<&Spanned<String>>,
    field: &str,
) -> Result<Option<Duration>, StudyError> {
    let Some(text) = text else {
        return Ok(None);
    };
    match humantime::parse_duration(text.get_ref().trim()) {
        Ok(d) if !d.is_zero() => Ok(Some(d)),
        Ok(_) => Err(src.at(
            text,
            format!("`{field}` = \"{}\" must be positive", text.get_ref()),
        )),
        Err(e) => Err(src.at(
            text,
            format!(
                "invalid duration `{}` for `{field}`: {e}; expected like 500ms, 10s, 20m",
                text.get_ref()
            ),
        )),
    }
}

/// A warm-up: a duration, zero included (`"0s"`: none, as `perfloop load --warmup 0s`).
pub(super) fn warmup(
    src: &Source<'_>,
    text: Option<&Spanned<String>>,
) -> Result<Option<Duration>, StudyError> {
    match text {
        Some(t) if humantime::parse_duration(t.get_ref().trim()).is_ok_and(|d| d.is_zero()) => {
            Ok(Some(Duration::ZERO))
        }
        other => duration(src, other, "warmup"),
    }
}

pub(super) fn positive_count(
    src: &Source<'_>,
    value: Option<&Spanned<u32>>,
    field: &str,
) -> Result<Option<u32>, StudyError> {
    match value {
        Some(v) if *v.get_ref() == 0 => {
            Err(src.at(v, format!("`{field}` must be at least 1, not 0")))
        }
        Some(v) => Ok(Some(*v.get_ref())),
        None => Ok(None),
    }
}

pub(super) fn bounded(
    src: &Source<'_>,
    value: Option<&Spanned<u32>>,
    field: &str,
    range: std::ops::RangeInclusive<u32>,
) -> Result<Option<u32>, StudyError> {
    match value {
        Some(v) if !range.contains(v.get_ref()) => Err(src.at(
            v,
            format!(
                "`{field}` = {} is out of range: expected {} to {}",
                v.get_ref(),
                range.start(),
                range.end()
            ),
        )),
        Some(v) => Ok(Some(*v.get_ref())),
        None => Ok(None),
    }
}

pub(super) fn positive_rate(
    src: &Source<'_>,
    value: Option<&Spanned<f64>>,
    field: &str,
) -> Result<Option<f64>, StudyError> {
    match value {
        Some(v) if !(v.get_ref().is_finite() && *v.get_ref() > 0.0) => Err(src.at(
            v,
            format!("`{field}` must be a positive number, not {}", v.get_ref()),
        )),
        Some(v) => Ok(Some(*v.get_ref())),
        None => Ok(None),
    }
}

impl RawObjective {
    pub(super) fn validate(&self, src: &Source<'_>) -> Result<(Objective, Vec<Slo>), StudyError> {
        let whole = src.table("objective");
        let metric = |m: &Spanned<String>| match Metric::parse(m.get_ref()) {
            Some(metric) if is_study_metric(metric) => Ok(metric),
            Some(metric) => Err(src.at(m, not_measured(metric))),
            None => Err(src.at(
                m,
                format!(
                    "unknown metric `{}`; expected one of {}",
                    m.get_ref(),
                    expected()
                ),
            )),
        };
        let given = [
            self.maximize.is_some(),
            self.minimize.is_some(),
            self.weighted.is_some(),
        ];
        if given.iter().filter(|g| **g).count() != 1 {
            return Err(src.error(
                &whole,
                "[objective] needs exactly one of `maximize`, `minimize` or `weighted`".into(),
            ));
        }
        let objective = if let Some(m) = &self.maximize {
            Objective::Maximize(metric(m)?)
        } else if let Some(m) = &self.minimize {
            Objective::Minimize(metric(m)?)
        } else if let Some(w) = &self.weighted {
            let mut weights = BTreeMap::new();
            for (name, weight) in w.get_ref() {
                let m = match Metric::parse(name) {
                    Some(m) if is_study_metric(m) => m,
                    Some(m) => return Err(src.at(w, not_measured(m))),
                    None => {
                        return Err(src.at(
                            w,
                            format!(
                                "unknown metric `{name}` in `weighted`; expected one of {}",
                                expected()
                            ),
                        ));
                    }
                };
                if !weight.is_finite() || *weight == 0.0 {
                    return Err(src.at(
                        w,
                        format!("the weight of `{name}` must be a non-zero number, not {weight}"),
                    ));
                }
                weights.insert(m, *weight);
            }
            if weights.is_empty() {
                return Err(src.at(w, "`weighted` needs at least one metric".into()));
            }
            Objective::Weighted(weights)
        } else {
            return Err(src.error(&whole, "[objective] is empty".into()));
        };
        let constraints = self
            .constraints
            .iter()
            .map(|c| parse_constraint(c.get_ref()).map_err(|e| src.at(c, e)))
            .collect::<Result<Vec<_>, _>>()?;
        Ok((objective, constraints))
    }
}

impl RawBudget {
    pub(super) fn validate(&self, src: &Source<'_>) -> Result<Budget, StudyError> {
        if self.trials.is_none() && self.time.is_none() {
            return Err(src.error(
                &src.table("budget"),
                "[budget] needs `trials` and/or `time` (like trials = 40 or time = \"20m\")".into(),
            ));
        }
        Ok(Budget {
            trials: positive_count(src, self.trials.as_ref(), "trials")?,
            time: duration(src, self.time.as_ref(), "time")?,
            repeats: positive_count(src, self.repeats.as_ref(), "repeats")?.unwrap_or(1),
            sampler: self.sampler,
            seed: self.seed,
            finalists: bounded(src, self.finalists.as_ref(), "finalists", 0..=MAX_FINALISTS)?
                .unwrap_or(DEFAULT_FINALISTS),
            confirm_rounds: bounded(
                src,
                self.confirm_rounds.as_ref(),
                "confirm_rounds",
                1..=MAX_CONFIRM_ROUNDS,
            )?
            .unwrap_or(DEFAULT_CONFIRM_ROUNDS),
            baseline_every: positive_count(src, self.baseline_every.as_ref(), "baseline_every")?
                .unwrap_or(DEFAULT_BASELINE_EVERY),
        })
    }
}
