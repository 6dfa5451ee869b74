//! The search space of a tuning study: named knobs, their kinds and ranges, and the
//! configurations (one value per knob) a study tries.
//!
//! A [`Space`] is validated when it is built ([`Space::new`]), so every sampler can rely on
//! non-empty ranges, positive log-scale bounds, steps that divide their range, non-empty
//! categories, defaults inside their range and unique names.
//!
//! Numeric knobs have a *scale*: linear, or logarithmic when `log` is set (batch sizes,
//! cache sizes: 1, 2, 4, ..., 4096 are evenly spaced on a log scale). Samplers work on the
//! knob's scale mapped to the unit interval ([`Knob::to_unit`], [`Knob::from_unit`]);
//! values drawn there are snapped back to the knob's admissible values (integers, multiples
//! of the step from `low`).

use std::collections::BTreeMap;
use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

/// One configuration: a value for every knob of a space, by knob name.
pub type Config = BTreeMap<String, Value>;

/// The value of one knob.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Value {
    /// An integer knob's value.
    Int(i64),
    /// A float knob's value.
    Float(f64),
    /// A categorical knob's value: one of its categories.
    Str(String),
    /// A boolean knob's value.
    Bool(bool),
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Int(v) => write!(f, "{v}"),
            Self::Float(v) => write!(f, "{v}"),
            Self::Str(v) => f.write_str(v),
            Self::Bool(v) => write!(f, "{v}"),
        }
    }
}

impl Value {
    /// The value as a number (integers and floats), `None` for strings and booleans.
    #[must_use]
    #[allow(clippy::cast_precision_loss)]
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Self::Int(v) => Some(*v as f64),
            Self::Float(v) => Some(*v),
            Self::Str(_) | Self::Bool(_) => None,
        }
    }
}

/// What kind of values a knob takes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum KnobKind {
    /// Integers from `low` to `high` inclusive, optionally only `low + k * step`, on a linear
    /// or (with `log`) logarithmic scale. A step cannot be combined with a log scale.
    Int {
        /// Smallest value.
        low: i64,
        /// Largest value.
        high: i64,
        /// Spacing of admissible values from `low` (1 when absent).
        #[serde(default)]
        step: Option<i64>,
        /// Whether the knob is searched on a logarithmic scale (requires `low > 0`).
        #[serde(default)]
        log: bool,
    },
    /// Reals from `low` to `high` inclusive, optionally only `low + k * step`, on a linear or
    /// (with `log`) logarithmic scale. A step cannot be combined with a log scale.
    Float {
        /// Smallest value.
        low: f64,
        /// Largest value.
        high: f64,
        /// Spacing of admissible values from `low` (continuous when absent).
        #[serde(default)]
        step: Option<f64>,
        /// Whether the knob is searched on a logarithmic scale (requires `low > 0`).
        #[serde(default)]
        log: bool,
    },
    /// One of a fixed list of names.
    Categorical {
        /// The categories, in order.
        values: Vec<String>,
    },
    /// `false` or `true`.
    Bool,
}

/// One tunable parameter of the target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Knob {
    /// The knob's name, unique within its space (as used in command templates: `{name}`).
    pub name: String,
    /// Its kind and range.
    #[serde(flatten)]
    pub kind: KnobKind,
    /// The value the target runs with when not tuned (the baseline of a study).
    pub default: Value,
}

/// Why a space is invalid. Every variant names the knob at fault.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SpaceError {
    /// The space has no knob.
    #[error("the search space has no knob")]
    NoKnobs,
    /// A knob has an empty name.
    #[error("a knob has an empty name")]
    EmptyName,
    /// Two knobs have the same name.
    #[error("knob `{knob}` is defined twice")]
    DuplicateName {
        /// The repeated name.
        knob: String,
    },
    /// `low` is not below `high` (or a bound is not finite).
    #[error("knob `{knob}`: empty or inverted range {low}..{high} (low must be below high)")]
    InvalidRange {
        /// The knob.
        knob: String,
        /// Its lower bound, as written.
        low: String,
        /// Its upper bound, as written.
        high: String,
    },
    /// A log-scale knob whose range includes zero or negative values.
    #[error("knob `{knob}`: a log scale needs low > 0 (low is {low})")]
    LogNonPositive {
        /// The knob.
        knob: String,
        /// Its lower bound, as written.
        low: String,
    },
    /// A step that is not positive, larger than the range, does not divide the range into
    /// whole steps, or is combined with a log scale.
    #[error("knob `{knob}`: invalid step {step}: {reason}")]
    InvalidStep {
        /// The knob.
        knob: String,
        /// The step, as written.
        step: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A categorical knob with no category.
    #[error("knob `{knob}`: a categorical knob needs at least one value")]
    NoCategories {
        /// The knob.
        knob: String,
    },
    /// A categorical knob listing the same category twice.
    #[error("knob `{knob}`: category `{value}` is listed twice")]
    DuplicateCategory {
        /// The knob.
        knob: String,
        /// The repeated category.
        value: String,
    },
    /// A default of the wrong type, outside the range, off the step, or not a category.
    #[error("knob `{knob}`: default {default} is not a value of the knob ({reason})")]
    DefaultOutOfRange {
        /// The knob.
        knob: String,
        /// The default, as written.
        default: String,
        /// Why it is not admissible.
        reason: &'static str,
    },
}

/// Relative tolerance when checking that a float step divides a float range.
const STEP_TOLERANCE: f64 = 1e-9;

impl Knob {
    /// An integer knob.
    #[must_use]
    pub fn int(name: &str, low: i64, high: i64, default: i64) -> Self {
        Self {
            name: name.to_owned(),
            kind: KnobKind::Int {
                low,
                high,
                step: None,
                log: false,
            },
            default: Value::Int(default),
        }
    }

    /// An integer knob on a logarithmic scale.
    #[must_use]
    pub fn int_log(name: &str, low: i64, high: i64, default: i64) -> Self {
        Self {
            name: name.to_owned(),
            kind: KnobKind::Int {
                low,
                high,
                step: None,
                log: true,
            },
            default: Value::Int(default),
        }
    }

    /// An integer knob taking only `low + k * step`.
    #[must_use]
    pub fn int_step(name: &str, low: i64, high: i64, step: i64, default: i64) -> Self {
        Self {
            name: name.to_owned(),
            kind: KnobKind::Int {
                low,
                high,
                step: Some(step),
                log: false,
            },
            default: Value::Int(default),
        }
    }

    /// A continuous float knob on a linear scale.
    #[must_use]
    pub fn float(name: &str, low: f64, high: f64, default: f64) -> Self {
        Self {
            name: name.to_owned(),
            kind: KnobKind::Float {
                low,
                high,
                step: None,
                log: false,
            },
            default: Value::Float(default),
        }
    }

    /// A categorical knob.
    #[must_use]
    pub fn categorical(name: &str, values: &[&str], default: &str) -> Self {
        Self {
            name: name.to_owned(),
            kind: KnobKind::Categorical {
                values: values.iter().map(|v| (*v).to_owned()).collect(),
            },
            default: Value::Str(default.to_owned()),
        }
    }

    /// A boolean knob.
    #[must_use]
    pub fn boolean(name: &str, default: bool) -> Self {
        Self {
            name: name.to_owned(),
            kind: KnobKind::Bool,
            default: Value::Bool(default),
        }
    }

    /// Whether the knob is numeric (integer or float).
    #[must_use]
    pub fn is_numeric(&self) -> bool {
        matches!(self.kind, KnobKind::Int { .. } | KnobKind::Float { .. })
    }

    /// The categories of a categorical or boolean knob, as values; `None` for numeric knobs.
    #[must_use]
    pub fn choices(&self) -> Option<Vec<Value>> {
        match &self.kind {
            KnobKind::Categorical { values } => {
                Some(values.iter().map(|v| Value::Str(v.clone())).collect())
            }
            KnobKind::Bool => Some(vec![Value::Bool(false), Value::Bool(true)]),
            KnobKind::Int { .. } | KnobKind::Float { .. } => None,
        }
    }

    fn validate(&self) -> Result<(), SpaceError> {
        let knob = || self.name.clone();
        match &self.kind {
            KnobKind::Int {
                low,
                high,
                step,
                log,
            } => {
                if low >= high {
                    return Err(SpaceError::InvalidRange {
                        knob: knob(),
                        low: low.to_string(),
                        high: high.to_string(),
                    });
                }
                if *log && *low <= 0 {
                    return Err(SpaceError::LogNonPositive {
                        knob: knob(),
                        low: low.to_string(),
                    });
                }
                if let Some(step) = step {
                    let bad = |reason| SpaceError::InvalidStep {
                        knob: knob(),
                        step: step.to_string(),
                        reason,
                    };
                    if *step <= 0 {
                        return Err(bad("a step must be positive"));
                    }
                    if *log {
                        return Err(bad("a step cannot be combined with a log scale"));
                    }
                    let span = i128::from(*high) - i128::from(*low);
                    if i128::from(*step) > span {
                        return Err(bad("the step is larger than the range"));
                    }
                    if span % i128::from(*step) != 0 {
                        return Err(bad("high - low is not a whole number of steps"));
                    }
                }
            }
            KnobKind::Float {
                low,
                high,
                step,
                log,
            } => {
                if !low.is_finite() || !high.is_finite() || low >= high {
                    return Err(SpaceError::InvalidRange {
                        knob: knob(),
                        low: low.to_string(),
                        high: high.to_string(),
                    });
                }
                if *log && *low <= 0.0 {
                    return Err(SpaceError::LogNonPositive {
                        knob: knob(),
                        low: low.to_string(),
                    });
                }
                if let Some(step) = step {
                    let bad = |reason| SpaceError::InvalidStep {
                        knob: knob(),
                        step: step.to_string(),
                        reason,
                    };
                    if !step.is_finite() || *step <= 0.0 {
                        return Err(bad("a step must be positive"));
                    }
                    if *log {
                        return Err(bad("a step cannot be combined with a log scale"));
                    }
                    let steps = (high - low) / step;
                    if steps < 1.0 - STEP_TOLERANCE {
                        return Err(bad("the step is larger than the range"));
                    }
                    if (steps - steps.round()).abs() > STEP_TOLERANCE * steps.max(1.0) {
                        return Err(bad("high - low is not a whole number of steps"));
                    }
                }
            }
            KnobKind::Categorical { values } => {
                if values.is_empty() {
                    return Err(SpaceError::NoCategories { knob: knob() });
                }
                let mut seen = BTreeSet::new();
                for v in values {
                    if !seen.insert(v) {
                        return Err(SpaceError::DuplicateCategory {
                            knob: knob(),
                            value: v.clone(),
                        });
                    }
                }
            }
            KnobKind::Bool => {}
        }
        self.admits(&self.default)
            .map_err(|reason| SpaceError::DefaultOutOfRange {
                knob: knob(),
                default: self.default.to_string(),
                reason,
            })
    }

    /// Whether `value` is an admissible value of this knob.
    #[must_use]
    pub fn contains(&self, value: &Value) -> bool {
        self.admits(value).is_ok()
    }

    fn admits(&self, value: &Value) -> Result<(), &'static str> {
        match (&self.kind, value) {
            (
                KnobKind::Int {
                    low, high, step, ..
                },
                Value::Int(v),
            ) => {
                if v < low || v > high {
                    return Err("outside the range");
                }
                let step = step.unwrap_or(1);
                if (i128::from(*v) - i128::from(*low)) % i128::from(step) != 0 {
                    return Err("not on the step");
                }
                Ok(())
            }
            (
                KnobKind::Float {
                    low, high, step, ..
                },
                Value::Float(v),
            ) => {
                if !v.is_finite() || v < low || v > high {
                    return Err("outside the range");
                }
                if let Some(step) = step {
                    let k = (v - low) / step;
                    if (k - k.round()).abs() > 1e-6 {
                        return Err("not on the step");
                    }
                }
                Ok(())
            }
            (KnobKind::Categorical { values }, Value::Str(v)) => {
                if values.contains(v) {
                    Ok(())
                } else {
                    Err("not one of the categories")
                }
            }
            (KnobKind::Bool, Value::Bool(_)) => Ok(()),
            _ => Err("wrong type"),
        }
    }

    /// The bounds of a numeric knob on its scale (log or linear), widened by half a step on
    /// each side for discrete knobs so that every admissible value owns an equal share.
    #[allow(clippy::cast_precision_loss)]
    fn scale_bounds(&self) -> Option<(f64, f64)> {
        match &self.kind {
            KnobKind::Int {
                low,
                high,
                step,
                log,
            } => {
                let half = step.unwrap_or(1) as f64 / 2.0;
                let (lo, hi) = (*low as f64 - half, *high as f64 + half);
                Some(if *log { (lo.ln(), hi.ln()) } else { (lo, hi) })
            }
            KnobKind::Float {
                low,
                high,
                step,
                log,
            } => {
                let half = step.map_or(0.0, |s| s / 2.0);
                let (lo, hi) = (low - half, high + half);
                Some(if *log { (lo.ln(), hi.ln()) } else { (lo, hi) })
            }
            KnobKind::Categorical { .. } | KnobKind::Bool => None,
        }
    }

    fn is_log(&self) -> bool {
        matches!(
            self.kind,
            KnobKind::Int { log: true, .. } | KnobKind::Float { log: true, .. }
        )
    }

    /// A numeric value's position on the knob's scale, mapped to `[0, 1]`; `None` for
    /// non-numeric knobs or values.
    #[must_use]
    pub fn to_unit(&self, value: &Value) -> Option<f64> {
        let (a, b) = self.scale_bounds()?;
        let x = value.as_f64()?;
        if self.is_log() && x <= 0.0 {
            return None;
        }
        let t = if self.is_log() { x.ln() } else { x };
        Some(((t - a) / (b - a)).clamp(0.0, 1.0))
    }

    /// The admissible value at position `u` (clamped to `[0, 1]`) of the knob's scale:
    /// rounded to the nearest integer or step, clamped to the range. For categorical and
    /// boolean knobs, `u` picks a category by equal shares of the interval.
    #[must_use]
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_precision_loss,
        clippy::cast_sign_loss
    )]
    pub fn from_unit(&self, u: f64) -> Value {
        let u = if u.is_finite() {
            u.clamp(0.0, 1.0)
        } else {
            0.5
        };
        let t = self.scale_bounds().map(|(a, b)| a + u * (b - a));
        let x = |t: f64| if self.is_log() { t.exp() } else { t };
        match (&self.kind, t) {
            (
                KnobKind::Int {
                    low, high, step, ..
                },
                Some(t),
            ) => {
                let step = step.unwrap_or(1);
                let k = ((x(t) - *low as f64) / step as f64).round();
                let max_k = (high - low) / step;
                let k = (k.max(0.0) as i64).min(max_k);
                Value::Int(low + k * step)
            }
            (
                KnobKind::Float {
                    low, high, step, ..
                },
                Some(t),
            ) => match step {
                Some(step) => {
                    let max_k = ((high - low) / step).round();
                    let k = ((x(t) - low) / step).round().clamp(0.0, max_k);
                    Value::Float((low + k * step).min(*high))
                }
                None => Value::Float(x(t).clamp(*low, *high)),
            },
            _ => {
                let choices = self.choices().unwrap_or_default();
                let n = choices.len().max(1);
                let i = ((u * n as f64) as usize).min(n - 1);
                choices
                    .into_iter()
                    .nth(i)
                    .unwrap_or_else(|| self.default.clone())
            }
        }
    }

    /// The knob's values in a grid of `points` per numeric knob: every category for
    /// categorical and boolean knobs; for numeric knobs `points` values evenly spaced on the
    /// knob's scale from `low` to `high`, snapped to integers or the step and deduplicated
    /// (all admissible values when there are no more than `points`). With `points <= 1`, a
    /// numeric knob contributes only its default.
    #[must_use]
    #[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation)]
    pub fn grid_values(&self, points: usize) -> Vec<Value> {
        if let Some(choices) = self.choices() {
            return choices;
        }
        if points <= 1 {
            return vec![self.default.clone()];
        }
        let mut out: Vec<Value> = Vec::with_capacity(points);
        let mut push = |v: Value| {
            if !out.contains(&v) {
                out.push(v);
            }
        };
        let frac = |i: usize| i as f64 / (points - 1) as f64;
        match &self.kind {
            KnobKind::Int {
                low,
                high,
                step,
                log,
            } => {
                let step = step.unwrap_or(1);
                let count = (high - low) / step + 1;
                if count as f64 <= points as f64 {
                    (0..count).for_each(|k| push(Value::Int(low + k * step)));
                } else if *log {
                    let (a, b) = ((*low as f64).ln(), (*high as f64).ln());
                    for i in 0..points {
                        let v = (a + frac(i) * (b - a)).exp().round() as i64;
                        push(Value::Int(v.clamp(*low, *high)));
                    }
                } else {
                    for i in 0..points {
                        let k = (frac(i) * (count - 1) as f64).round() as i64;
                        push(Value::Int(low + k * step));
                    }
                }
            }
            KnobKind::Float {
                low,
                high,
                step,
                log,
            } => match step {
                Some(step) => {
                    let count = ((high - low) / step).round() as usize + 1;
                    let n = count.min(points);
                    for i in 0..n {
                        let k = if n == 1 {
                            0.0
                        } else {
                            (i as f64 / (n - 1) as f64 * (count - 1) as f64).round()
                        };
                        push(Value::Float((low + k * step).min(*high)));
                    }
                }
                None => {
                    for i in 0..points {
                        let v = if *log {
                            (low.ln() + frac(i) * (high.ln() - low.ln())).exp()
                        } else {
                            low + frac(i) * (high - low)
                        };
                        push(Value::Float(v.clamp(*low, *high)));
                    }
                }
            },
            KnobKind::Categorical { .. } | KnobKind::Bool => {}
        }
        out
    }
}

/// A validated set of knobs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawSpace")]
pub struct Space {
    knobs: Vec<Knob>,
}

#[derive(Deserialize)]
struct RawSpace {
    knobs: Vec<Knob>,
}

impl TryFrom<RawSpace> for Space {
    type Error = SpaceError;

    fn try_from(raw: RawSpace) -> Result<Self, Self::Error> {
        Self::new(raw.knobs)
    }
}

impl Space {
    /// Validates the knobs and makes a space of them.
    ///
    /// # Errors
    ///
    /// The first problem found, naming its knob: see [`SpaceError`].
    pub fn new(knobs: Vec<Knob>) -> Result<Self, SpaceError> {
        if knobs.is_empty() {
            return Err(SpaceError::NoKnobs);
        }
        let mut names = BTreeSet::new();
        for knob in &knobs {
            if knob.name.is_empty() {
                return Err(SpaceError::EmptyName);
            }
            if !names.insert(knob.name.as_str()) {
                return Err(SpaceError::DuplicateName {
                    knob: knob.name.clone(),
                });
            }
            knob.validate()?;
        }
        Ok(Self { knobs })
    }

    /// The knobs, in the order they were given.
    #[must_use]
    pub fn knobs(&self) -> &[Knob] {
        &self.knobs
    }

    /// The knob with this name.
    #[must_use]
    pub fn knob(&self, name: &str) -> Option<&Knob> {
        self.knobs.iter().find(|k| k.name == name)
    }

    /// The configuration with every knob at its default.
    #[must_use]
    pub fn default_config(&self) -> Config {
        self.knobs
            .iter()
            .map(|k| (k.name.clone(), k.default.clone()))
            .collect()
    }

    /// Whether `config` has exactly this space's knobs, each with an admissible value.
    #[must_use]
    pub fn contains(&self, config: &Config) -> bool {
        config.len() == self.knobs.len()
            && self
                .knobs
                .iter()
                .all(|k| config.get(&k.name).is_some_and(|v| k.contains(v)))
    }

    /// The full grid: the Cartesian product of every knob's [`Knob::grid_values`] with
    /// `points_per_numeric_knob` points per numeric knob. The first knob varies slowest.
    #[must_use]
    pub fn grid(&self, points_per_numeric_knob: usize) -> Vec<Config> {
        let mut configs = vec![Config::new()];
        for knob in &self.knobs {
            let values = knob.grid_values(points_per_numeric_knob);
            let mut next = Vec::with_capacity(configs.len() * values.len());
            for config in &configs {
                for value in &values {
                    let mut c = config.clone();
                    c.insert(knob.name.clone(), value.clone());
                    next.push(c);
                }
            }
            configs = next;
        }
        configs
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    fn err(knobs: Vec<Knob>) -> SpaceError {
        Space::new(knobs).unwrap_err()
    }

    #[test]
    fn validation_names_the_knob() {
        assert_eq!(err(vec![]), SpaceError::NoKnobs);
        assert!(matches!(err(vec![Knob::int("w", 4, 4, 4)]),
            SpaceError::InvalidRange { knob, .. } if knob == "w"));
        assert!(matches!(err(vec![Knob::float("f", 2.0, 1.0, 1.5)]),
            SpaceError::InvalidRange { knob, .. } if knob == "f"));
        assert!(matches!(err(vec![Knob::int_log("b", 0, 64, 1)]),
            SpaceError::LogNonPositive { knob, .. } if knob == "b"));
        assert!(matches!(err(vec![Knob::int_step("s", 0, 10, 3, 0)]),
            SpaceError::InvalidStep { knob, .. } if knob == "s"));
        assert!(matches!(
            err(vec![Knob::int_step("s", 0, 10, 0, 0)]),
            SpaceError::InvalidStep { .. }
        ));
        assert!(matches!(
            err(vec![Knob::int_step("s", 0, 10, 20, 0)]),
            SpaceError::InvalidStep { .. }
        ));
        let mut f = Knob::float("f", 0.0, 1.0, 0.0);
        f.kind = KnobKind::Float {
            low: 0.0,
            high: 1.0,
            step: Some(0.3),
            log: false,
        };
        assert!(matches!(err(vec![f]), SpaceError::InvalidStep { .. }));
        let mut f = Knob::float("f", 0.0, 1.0, 0.2);
        f.kind = KnobKind::Float {
            low: 0.0,
            high: 1.0,
            step: Some(0.1),
            log: false,
        };
        assert!(Space::new(vec![f]).is_ok());
        assert!(matches!(err(vec![Knob::categorical("c", &[], "x")]),
            SpaceError::NoCategories { knob } if knob == "c"));
        assert!(matches!(err(vec![Knob::int("w", 1, 8, 9)]),
            SpaceError::DefaultOutOfRange { knob, .. } if knob == "w"));
        assert!(matches!(
            err(vec![Knob::int_step("s", 0, 10, 5, 3)]),
            SpaceError::DefaultOutOfRange { .. }
        ));
        assert!(matches!(
            err(vec![Knob::categorical("c", &["a"], "b")]),
            SpaceError::DefaultOutOfRange { .. }
        ));
        let mut wrong_type = Knob::int("w", 1, 8, 2);
        wrong_type.default = Value::Float(2.0);
        assert!(matches!(
            err(vec![wrong_type]),
            SpaceError::DefaultOutOfRange { .. }
        ));
        assert!(
            matches!(err(vec![Knob::boolean("x", true), Knob::int("x", 1, 2, 1)]),
            SpaceError::DuplicateName { knob } if knob == "x")
        );
        let msg = err(vec![Knob::int("workers", 8, 1, 2)]).to_string();
        assert!(msg.contains("workers"), "{msg}");
    }

    #[test]
    fn grid_covers_categories_and_spaces_numeric_knobs() {
        let space = Space::new(vec![
            Knob::int("workers", 1, 16, 4),
            Knob::int_log("batch", 1, 4096, 64),
            Knob::categorical("algo", &["hash", "sort"], "hash"),
            Knob::boolean("cache", false),
        ])
        .unwrap();
        let workers = space.knobs()[0].grid_values(4);
        assert_eq!(
            workers,
            vec![Value::Int(1), Value::Int(6), Value::Int(11), Value::Int(16)]
        );
        let batch = space.knobs()[1].grid_values(13);
        let powers: Vec<Value> = (0..13).map(|p| Value::Int(1 << p)).collect();
        assert_eq!(batch, powers);
        let grid = space.grid(4);
        assert_eq!(grid.len(), 4 * 4 * 2 * 2);
        assert!(grid.iter().all(|c| space.contains(c)));
        assert_eq!(space.default_config()["batch"], Value::Int(64));
        // Fewer admissible values than points: all of them, once.
        let small = Knob::int_step("s", 0, 10, 5, 0);
        assert_eq!(
            small.grid_values(8),
            vec![Value::Int(0), Value::Int(5), Value::Int(10)]
        );
        assert_eq!(
            Knob::float("f", 0.0, 1.0, 0.5).grid_values(1),
            vec![Value::Float(0.5)]
        );
    }

    #[test]
    fn unit_mapping_round_trips_admissible_values() {
        let knobs = [
            Knob::int("w", 1, 16, 4),
            Knob::int_log("b", 1, 4096, 64),
            Knob::int_step("s", 0, 100, 10, 50),
            Knob::float("f", -1.0, 1.0, 0.0),
        ];
        for knob in &knobs {
            for v in knob.grid_values(9) {
                let u = knob.to_unit(&v).unwrap();
                assert!((0.0..=1.0).contains(&u));
                assert_eq!(knob.from_unit(u), v, "{}", knob.name);
            }
            assert!(knob.contains(&knob.from_unit(0.0)));
            assert!(knob.contains(&knob.from_unit(1.0)));
        }
        let c = Knob::categorical("c", &["a", "b", "c"], "a");
        assert_eq!(c.from_unit(0.0), Value::Str("a".into()));
        assert_eq!(c.from_unit(0.5), Value::Str("b".into()));
        assert_eq!(c.from_unit(1.0), Value::Str("c".into()));
    }

    #[test]
    fn values_display_plainly() {
        assert_eq!(Value::Int(64).to_string(), "64");
        assert_eq!(Value::Float(0.25).to_string(), "0.25");
        assert_eq!(Value::Str("hash".into()).to_string(), "hash");
        assert_eq!(Value::Bool(true).to_string(), "true");
    }
}
