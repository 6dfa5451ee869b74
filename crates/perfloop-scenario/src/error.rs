//! Where a scenario is wrong: [`ScenarioError`], naming the file, the line and the column of
//! the offending text (the scenario's, or a feeder's line), and the source text that turns
//! the TOML layer's byte spans into lines and columns.

use std::fmt;
use std::ops::Range;

/// A scenario (or one of its feeder files) that cannot be used: where, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ScenarioError {
    /// The file at fault: the scenario, or a feeder file it names.
    pub file: String,
    /// The line (1-based) of the offending text; 0 when the file could not be read.
    pub line: usize,
    /// The column (1-based, in characters); 0 when the line is the whole story (a feeder row).
    pub column: usize,
    /// What is wrong, quoting the offending text, with what would do.
    pub message: String,
    /// The source line at `line`, for context (empty when not shown).
    pub source_line: String,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (0, _) => write!(f, "{}: {}", self.file, self.message)?,
            (line, 0) => write!(f, "{}:{line}: {}", self.file, self.message)?,
            (line, column) => write!(f, "{}:{line}:{column}: {}", self.file, self.message)?,
        }
        if self.line > 0 && !self.source_line.trim().is_empty() {
            write!(f, "\n  {} | {}", self.line, self.source_line)?;
        }
        Ok(())
    }
}

/// A place in a scenario file, kept with what is checked after parsing (a request's URL
/// against the run's target).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct At {
    /// The scenario file.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// The line's text.
    pub source_line: String,
}

impl At {
    /// An error at this place.
    pub fn error(&self, message: String) -> ScenarioError {
        ScenarioError {
            file: self.file.clone(),
            line: self.line,
            column: self.column,
            message,
            source_line: self.source_line.clone(),
        }
    }
}

/// A scenario's text and name, to place errors.
pub(crate) struct Source<'a> {
    pub(crate) file: &'a str,
    pub(crate) text: &'a str,
}

impl Source<'_> {
    /// The place of a byte span's start.
    pub(crate) fn at(&self, span: &Range<usize>) -> At {
        let (line, column, source_line) = text_place(self.text, span.start);
        At {
            file: self.file.to_owned(),
            line,
            column,
            source_line,
        }
    }

    /// An error at a byte span.
    pub(crate) fn error(&self, span: &Range<usize>, message: String) -> ScenarioError {
        self.at(span).error(message)
    }
}

/// An error about a whole file (it cannot be read), with no line.
pub(crate) fn file_error(file: &str, message: String) -> ScenarioError {
    ScenarioError {
        file: file.to_owned(),
        line: 0,
        column: 0,
        message,
        source_line: String::new(),
    }
}

/// Where byte `offset` of `text` stands, as a person counts it: the line and the column
/// (both from 1, columns in characters), and that line's text. An offset past the end or
/// inside a character is moved back to the nearest character start. Shared by every TOML
/// input whose errors quote their source (scenarios, study files).
pub fn text_place(text: &str, offset: usize) -> (usize, usize, String) {
    let start = offset.min(text.len());
    let start = (0..=start)
        .rev()
        .find(|i| text.is_char_boundary(*i))
        .unwrap_or(0);
    let before = &text[..start];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = text[line_start..start].chars().count() + 1;
    let source_line = text[line_start..]
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned();
    (line, column, source_line)
}
