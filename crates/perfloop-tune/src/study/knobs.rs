//! The knobs of a study file: each `[knobs.NAME]` table read into a [`Knob`], and the
//! search space's errors located at the field they are about.

use std::ops::Range;

use toml::Spanned;

use super::error::{Source, StudyError};
use super::model::RESERVED_PLACEHOLDERS;
use super::placeholders::is_placeholder_name;
use super::raw::{RawKnob, RawKnobs};
use crate::space::{Knob, KnobKind, SpaceError, Value};

/// The spans of one knob's table and fields.
pub(super) struct KnobSpans<'a> {
    pub(super) name: &'a str,
    pub(super) table: Range<usize>,
    pub(super) raw: &'a RawKnob,
}

impl RawKnobs {
    pub(super) fn to_knobs<'a>(
        &'a self,
        src: &Source<'_>,
    ) -> Result<(Vec<Knob>, Vec<KnobSpans<'a>>), StudyError> {
        let mut knobs = Vec::new();
        let mut spans = Vec::new();
        for (name, raw) in &self.0 {
            if !is_placeholder_name(name) {
                return Err(src.at(
                    raw,
                    format!(
                        "knob name `{name}` cannot be a placeholder: use a letter or `_`, then \
                         letters, digits, `_` or `-`"
                    ),
                ));
            }
            if RESERVED_PLACEHOLDERS.contains(&name.as_str()) {
                return Err(src.at(
                    raw,
                    format!("`{name}` is reserved: perfloop fills `{{{name}}}` itself"),
                ));
            }
            knobs.push(raw.get_ref().to_knob(src, name, raw)?);
            spans.push(KnobSpans {
                name,
                table: raw.span(),
                raw: raw.get_ref(),
            });
        }
        Ok((knobs, spans))
    }
}

impl RawKnob {
    pub(super) fn to_knob(
        &self,
        src: &Source<'_>,
        name: &str,
        whole: &Spanned<RawKnob>,
    ) -> Result<Knob, StudyError> {
        let kind_name = self.kind.get_ref().as_str();
        let not_for = |field: &str, span: &Range<usize>| {
            src.error(
                span,
                format!("knob `{name}`: `{field}` does not apply to a {kind_name} knob"),
            )
        };
        let need = |field: &str| {
            src.at(
                whole,
                format!("knob `{name}`: a {kind_name} knob needs `{field}`"),
            )
        };
        if !matches!(kind_name, "int" | "float" | "categorical" | "bool") {
            return Err(src.at(
                &self.kind,
                format!(
                    "knob `{name}`: unknown type `{kind_name}`; expected int, float, \
                     categorical or bool"
                ),
            ));
        }
        let default = self.default.as_ref().ok_or_else(|| need("default"))?;
        let numeric = matches!(kind_name, "int" | "float");
        if !numeric {
            for (field, span) in [
                ("low", self.low.as_ref().map(Spanned::span)),
                ("high", self.high.as_ref().map(Spanned::span)),
                ("step", self.step.as_ref().map(Spanned::span)),
                ("log", self.log.as_ref().map(Spanned::span)),
            ] {
                if let Some(span) = span {
                    return Err(not_for(field, &span));
                }
            }
        }
        if kind_name != "categorical" {
            if let Some(values) = &self.values {
                return Err(not_for("values", &values.span()));
            }
        }
        let log = self.log.as_ref().is_some_and(|l| *l.get_ref());
        let kind = match kind_name {
            "int" => {
                let int = |v: &Spanned<toml::Value>, field: &str| match v.get_ref() {
                    toml::Value::Integer(i) => Ok(*i),
                    _ => Err(src.at(
                        v,
                        format!(
                            "knob `{name}`: `{field}` must be an integer, not `{}`",
                            src.text_of(v)
                        ),
                    )),
                };
                let low = int(self.low.as_ref().ok_or_else(|| need("low"))?, "low")?;
                let high = int(self.high.as_ref().ok_or_else(|| need("high"))?, "high")?;
                let step = self.step.as_ref().map(|s| int(s, "step")).transpose()?;
                KnobKind::Int {
                    low,
                    high,
                    step,
                    log,
                }
            }
            "float" => {
                #[allow(clippy::cast_precision_loss)]
                let float = |v: &Spanned<toml::Value>, field: &str| match v.get_ref() {
                    toml::Value::Integer(i) => Ok(*i as f64),
                    toml::Value::Float(f) => Ok(*f),
                    _ => Err(src.at(
                        v,
                        format!(
                            "knob `{name}`: `{field}` must be a number, not `{}`",
                            src.text_of(v)
                        ),
                    )),
                };
                let low = float(self.low.as_ref().ok_or_else(|| need("low"))?, "low")?;
                let high = float(self.high.as_ref().ok_or_else(|| need("high"))?, "high")?;
                let step = self.step.as_ref().map(|s| float(s, "step")).transpose()?;
                KnobKind::Float {
                    low,
                    high,
                    step,
                    log,
                }
            }
            "categorical" => KnobKind::Categorical {
                values: self
                    .values
                    .as_ref()
                    .ok_or_else(|| need("values"))?
                    .get_ref()
                    .clone(),
            },
            "bool" => KnobKind::Bool,
            other => {
                return Err(src.at(
                    &self.kind,
                    format!(
                        "knob `{name}`: unknown type `{other}`; expected int, float, \
                         categorical or bool"
                    ),
                ));
            }
        };
        #[allow(clippy::cast_precision_loss)]
        let value = match (&kind, default.get_ref()) {
            (KnobKind::Float { .. }, toml::Value::Integer(i)) => Value::Float(*i as f64),
            (_, toml::Value::Integer(i)) => Value::Int(*i),
            (_, toml::Value::Float(f)) => Value::Float(*f),
            (_, toml::Value::String(s)) => Value::Str(s.clone()),
            (_, toml::Value::Boolean(b)) => Value::Bool(*b),
            (_, _) => {
                return Err(src.at(
                    default,
                    format!(
                        "knob `{name}`: default `{}` is not a number, string or boolean",
                        src.text_of(default)
                    ),
                ));
            }
        };
        Ok(Knob {
            name: name.to_owned(),
            kind,
            default: value,
        })
    }
}

/// A [`SpaceError`] located at the knob's field it is about.
pub(super) fn space_error(
    src: &Source<'_>,
    spans: &[KnobSpans<'_>],
    error: &SpaceError,
) -> StudyError {
    let (name, field) = match error {
        SpaceError::NoKnobs | SpaceError::EmptyName => {
            return src.error(&src.table("knobs"), error.to_string());
        }
        SpaceError::DuplicateName { knob } => (knob, None),
        SpaceError::InvalidRange { knob, .. } => (knob, Some("high")),
        SpaceError::LogNonPositive { knob, .. } => (knob, Some("low")),
        SpaceError::InvalidStep { knob, .. } => (knob, Some("step")),
        SpaceError::NoCategories { knob } | SpaceError::DuplicateCategory { knob, .. } => {
            (knob, Some("values"))
        }
        SpaceError::DefaultOutOfRange { knob, .. } => (knob, Some("default")),
    };
    let Some(knob) = spans.iter().find(|k| k.name == name.as_str()) else {
        return src.error(&src.table("knobs"), error.to_string());
    };
    let span = match field {
        Some("high") => knob.raw.high.as_ref().map(Spanned::span),
        Some("low") => knob.raw.low.as_ref().map(Spanned::span),
        Some("step") => knob.raw.step.as_ref().map(Spanned::span),
        Some("values") => knob.raw.values.as_ref().map(Spanned::span),
        Some("default") => knob.raw.default.as_ref().map(Spanned::span),
        _ => None,
    }
    .unwrap_or_else(|| knob.table.clone());
    src.error(&span, error.to_string())
}
