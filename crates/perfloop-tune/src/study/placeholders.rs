//! Template placeholders (`{name}`, with the syntax of `perfloop bench-cmd`): which ones a
//! study's templates use, and that each names a declared knob or a reserved placeholder and
//! each knob is used.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

use toml::Spanned;

use super::error::{Source, StudyError};
use super::knobs::KnobSpans;
use super::model::RESERVED_PLACEHOLDERS;
use crate::space::Space;

/// Where each template placeholder was used: name → span of the first string using it.
pub(super) type Uses = BTreeMap<String, Range<usize>>;

pub(super) fn is_placeholder_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// The placeholders of a template, with the syntax of `perfloop-target`'s command templates.
pub(super) fn placeholders(text: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find(['{', '}']) {
        let tail = &rest[i..];
        if tail.starts_with("{{") || tail.starts_with("}}") {
            rest = &tail[2..];
            continue;
        }
        if tail.starts_with('}') {
            return Err("a lone `}` (write `}}` for a literal brace)".into());
        }
        let Some(end) = tail.find('}') else {
            return Err("an unclosed `{` (write `{{` for a literal brace)".into());
        };
        let name = &tail[1..end];
        if !is_placeholder_name(name) {
            return Err(format!(
                "`{{{name}}}` is not a placeholder: a name starts with a letter or `_` and goes \
                 on with letters, digits, `_` or `-` (write `{{{{` for a literal brace)"
            ));
        }
        out.push(name.to_owned());
        rest = &tail[end + 1..];
    }
    Ok(out)
}

pub(super) fn collect_placeholders(
    src: &Source<'_>,
    text: &Spanned<String>,
    uses: &mut Uses,
) -> Result<(), StudyError> {
    let names = placeholders(text.get_ref())
        .map_err(|e| src.at(text, format!("invalid template `{}`: {e}", text.get_ref())))?;
    for name in names {
        uses.entry(name).or_insert_with(|| text.span());
    }
    Ok(())
}

pub(super) fn check_placeholders(
    src: &Source<'_>,
    space: &Space,
    managed: bool,
    uses: &Uses,
    knobs: &[KnobSpans<'_>],
) -> Result<(), StudyError> {
    let declared = space
        .knobs()
        .iter()
        .map(|k| k.name.as_str())
        .collect::<BTreeSet<_>>();
    for (name, span) in uses {
        if RESERVED_PLACEHOLDERS.contains(&name.as_str()) {
            if !managed {
                return Err(src.error(
                    span,
                    format!("`{{{name}}}` is only filled for a managed target (`command`)"),
                ));
            }
            continue;
        }
        if !declared.contains(name.as_str()) {
            let known = declared.iter().copied().collect::<Vec<_>>().join(", ");
            return Err(src.error(
                span,
                format!(
                    "unknown knob `{{{name}}}`: declare it as [knobs.{name}] (declared: \
                     {known}; `{{port}}` is filled by perfloop)"
                ),
            ));
        }
    }
    for knob in knobs {
        if !uses.contains_key(knob.name) {
            return Err(src.error(
                &knob.table,
                format!(
                    "unused knob `{}`: neither the target's command, its env nor the url \
                     mention `{{{}}}`, so tuning it would change nothing",
                    knob.name, knob.name
                ),
            ));
        }
    }
    Ok(())
}
