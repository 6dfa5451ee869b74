//! Command templates: `'CMD ARGS {knob}'`, with `{name}` placeholders filled from a map of
//! knob values.
//!
//! Syntax:
//! - the text is split into words with the rules of a POSIX shell (quotes and backslashes,
//!   via the `shell-words` crate), but nothing else of a shell happens: no variables, globs,
//!   pipes or redirections (run `sh -c '...'` for those);
//! - `{name}` is a placeholder; a name starts with a letter or `_` and goes on with letters,
//!   digits, `_` or `-`;
//! - `{{` and `}}` are a literal `{` and `}`; any other brace is an error (so that a typo is
//!   never silently run);
//! - a placeholder without a value is an error naming it ([`TemplateError::MissingValue`]).
//!
//! A value replaces its placeholder inside its word: `--workers={workers}` stays one
//! argument, and a value with spaces never splits into several. Knob values can also be
//! passed as environment variables named by [`knob_env_name`] (`PERFLOOP_KNOB_WORKERS`).

use std::collections::BTreeMap;
use std::fmt;

/// Knob values by knob name.
pub type Knobs = BTreeMap<String, String>;

/// A command template that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// The template has no words.
    #[error("the command is empty")]
    Empty,
    /// The template is not well formed (quotes or braces).
    #[error("invalid command `{template}`: {reason}")]
    Syntax {
        /// The template as given.
        template: String,
        /// What is wrong and how to fix it.
        reason: String,
    },
    /// A placeholder has no value.
    #[error(
        "the command `{template}` uses the knob {{{name}}}, which has no value: give the knob \
         `{name}` a value, or write {{{{ and }}}} for literal braces"
    )]
    MissingValue {
        /// The knob's name.
        name: String,
        /// The template as given.
        template: String,
    },
}

/// One piece of a word: literal text or a placeholder.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Knob(String),
}

/// A parsed command template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandTemplate {
    text: String,
    /// The shell words, each as pieces.
    words: Vec<Vec<Piece>>,
    /// The whole text as pieces (for `sh -c`).
    whole: Vec<Piece>,
}

/// Whether `name` can be a knob name: a letter or `_`, then letters, digits, `_` or `-`.
pub fn is_valid_knob_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// The environment variable that carries a knob's value: `PERFLOOP_KNOB_` and the name in
/// upper case, with every character other than a letter or digit replaced by `_`
/// (`batch-size` → `PERFLOOP_KNOB_BATCH_SIZE`).
pub fn knob_env_name(name: &str) -> String {
    let tail: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("PERFLOOP_KNOB_{tail}")
}

/// The environment variables for `knobs` (see [`knob_env_name`]).
pub fn knob_env(knobs: &Knobs) -> Vec<(String, String)> {
    knobs
        .iter()
        .map(|(k, v)| (knob_env_name(k), v.clone()))
        .collect()
}

fn syntax(template: &str, reason: impl Into<String>) -> TemplateError {
    TemplateError::Syntax {
        template: template.to_string(),
        reason: reason.into(),
    }
}

/// Splits `s` into literal text and placeholders.
fn parse_pieces(s: &str, template: &str) -> Result<Vec<Piece>, TemplateError> {
    let mut pieces = Vec::new();
    let mut text = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                text.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                text.push('}');
            }
            '{' => {
                let mut name = String::new();
                let mut closed = false;
                for n in chars.by_ref() {
                    if n == '}' {
                        closed = true;
                        break;
                    }
                    name.push(n);
                }
                if !closed {
                    return Err(syntax(
                        template,
                        "a `{` is not closed; write `{{` for a literal brace",
                    ));
                }
                if !is_valid_knob_name(&name) {
                    return Err(syntax(
                        template,
                        format!(
                            "`{{{name}}}` is not a knob placeholder (a name is a letter or `_` \
                             followed by letters, digits, `_` or `-`); write `{{{{` and `}}}}` \
                             for literal braces"
                        ),
                    ));
                }
                if !text.is_empty() {
                    pieces.push(Piece::Text(std::mem::take(&mut text)));
                }
                pieces.push(Piece::Knob(name));
            }
            '}' => {
                return Err(syntax(
                    template,
                    "a `}` has no opening `{`; write `}}` for a literal brace",
                ));
            }
            c => text.push(c),
        }
    }
    if !text.is_empty() {
        pieces.push(Piece::Text(text));
    }
    Ok(pieces)
}

/// Joins pieces, filling placeholders from `knobs`.
fn render(pieces: &[Piece], knobs: &Knobs, template: &str) -> Result<String, TemplateError> {
    let mut out = String::new();
    for piece in pieces {
        match piece {
            Piece::Text(t) => out.push_str(t),
            Piece::Knob(name) => match knobs.get(name) {
                Some(v) => out.push_str(v),
                None => {
                    return Err(TemplateError::MissingValue {
                        name: name.clone(),
                        template: template.to_string(),
                    });
                }
            },
        }
    }
    Ok(out)
}

impl CommandTemplate {
    /// Parses a template; see the module documentation for the syntax.
    pub fn parse(text: &str) -> Result<CommandTemplate, TemplateError> {
        let split = shell_words::split(text)
            .map_err(|e| syntax(text, format!("{e} (check the quotes)")))?;
        if split.is_empty() {
            return Err(TemplateError::Empty);
        }
        let words = split
            .iter()
            .map(|w| parse_pieces(w, text))
            .collect::<Result<Vec<_>, _>>()?;
        let whole = parse_pieces(text, text)?;
        Ok(CommandTemplate {
            text: text.to_string(),
            words,
            whole,
        })
    }

    /// The template as given.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The knob names the template uses, each once, in order of first use.
    pub fn placeholders(&self) -> Vec<&str> {
        let mut names: Vec<&str> = Vec::new();
        for piece in &self.whole {
            match piece {
                Piece::Knob(name) if !names.contains(&name.as_str()) => names.push(name),
                _ => {}
            }
        }
        names
    }

    /// Checks that every placeholder has a value in `knobs`.
    pub fn check(&self, knobs: &Knobs) -> Result<(), TemplateError> {
        match self
            .placeholders()
            .into_iter()
            .find(|n| !knobs.contains_key(*n))
        {
            Some(name) => Err(TemplateError::MissingValue {
                name: name.to_string(),
                template: self.text.clone(),
            }),
            None => Ok(()),
        }
    }

    /// The program and its arguments with the placeholders filled: the template split into
    /// words first, then each word filled.
    pub fn argv(&self, knobs: &Knobs) -> Result<Vec<String>, TemplateError> {
        self.check(knobs)?;
        self.words
            .iter()
            .map(|w| render(w, knobs, &self.text))
            .collect()
    }

    /// The whole text with the placeholders filled and nothing split, for `sh -c`. Values are
    /// inserted verbatim: the shell sees them as part of the command text.
    pub fn shell_text(&self, knobs: &Knobs) -> Result<String, TemplateError> {
        self.check(knobs)?;
        render(&self.whole, knobs, &self.text)
    }
}

impl fmt::Display for CommandTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn knobs(pairs: &[(&str, &str)]) -> Knobs {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn splits_like_a_shell_and_fills_inside_words() {
        let t =
            CommandTemplate::parse("server --workers={workers} 'a b' \"{name}\" x{n}y").unwrap();
        let argv = t
            .argv(&knobs(&[
                ("workers", "4"),
                ("name", "two words"),
                ("n", "1"),
            ]))
            .unwrap();
        assert_eq!(argv, ["server", "--workers=4", "a b", "two words", "x1y"]);
        assert_eq!(t.placeholders(), ["workers", "name", "n"]);
        assert_eq!(t.to_string(), t.as_str());
    }

    #[test]
    fn escaped_braces_are_literal() {
        let t = CommandTemplate::parse("awk '{{print $1}}' {file}").unwrap();
        let k = knobs(&[("file", "in.txt")]);
        assert_eq!(t.argv(&k).unwrap(), ["awk", "{print $1}", "in.txt"]);
        assert_eq!(t.shell_text(&k).unwrap(), "awk '{print $1}' in.txt");
    }

    #[test]
    fn a_missing_value_names_the_knob() {
        let t = CommandTemplate::parse("sleep {secs} {secs} {other}").unwrap();
        assert_eq!(t.placeholders(), ["secs", "other"]);
        let err = t.argv(&knobs(&[("secs", "1")])).unwrap_err();
        assert_eq!(
            err,
            TemplateError::MissingValue {
                name: "other".into(),
                template: "sleep {secs} {secs} {other}".into()
            }
        );
        assert!(err.to_string().contains("{other}"), "{err}");
        assert!(t.shell_text(&Knobs::new()).is_err());
    }

    #[test]
    fn bad_templates_are_errors() {
        assert_eq!(CommandTemplate::parse("  "), Err(TemplateError::Empty));
        for bad in [
            "echo 'open",
            "awk '{print $1}'",
            "echo {",
            "echo }",
            "echo {1x}",
            "echo {}",
        ] {
            let err = CommandTemplate::parse(bad).unwrap_err();
            assert!(
                matches!(err, TemplateError::Syntax { .. }),
                "{bad}: {err:?}"
            );
        }
        let err = CommandTemplate::parse("awk '{print $1}'").unwrap_err();
        assert!(err.to_string().contains("{{"), "{err}");
    }

    #[test]
    fn environment_names() {
        assert_eq!(knob_env_name("batch-size"), "PERFLOOP_KNOB_BATCH_SIZE");
        assert_eq!(knob_env_name("workers"), "PERFLOOP_KNOB_WORKERS");
        let env = knob_env(&knobs(&[("a", "1"), ("pool_size", "8")]));
        assert_eq!(
            env,
            [
                ("PERFLOOP_KNOB_A".to_string(), "1".to_string()),
                ("PERFLOOP_KNOB_POOL_SIZE".to_string(), "8".to_string())
            ]
        );
        assert!(is_valid_knob_name("_x-1") && !is_valid_knob_name("1x") && !is_valid_knob_name(""));
    }
}
