//! Where a study file is wrong: [`StudyError`], with the line and column of the offending
//! text, and the study's source text that turns the spans of the TOML layer into them.

use std::fmt;
use std::ops::Range;
use std::path::Path;

use toml::Spanned;

#[cfg(doc)]
use super::Study;

/// A study file that cannot be used: where, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StudyError {
    /// The file, when the study was read with [`Study::load`].
    pub file: Option<String>,
    /// The line (1-based) of the offending text; 0 when the file could not be read.
    pub line: usize,
    /// The column (1-based, in characters) of the offending text.
    pub column: usize,
    /// What is wrong, quoting the offending text.
    pub message: String,
    /// The source line at `line`, for context.
    pub source_line: String,
}

impl fmt::Display for StudyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = self.file.as_deref().unwrap_or("study");
        if self.line == 0 {
            return write!(f, "{file}: {}", self.message);
        }
        write!(f, "{file}:{}:{}: {}", self.line, self.column, self.message)?;
        if !self.source_line.trim().is_empty() {
            write!(f, "\n  {} | {}", self.line, self.source_line)?;
        }
        Ok(())
    }
}

impl std::error::Error for StudyError {}

pub(super) struct Source<'a> {
    pub(super) text: &'a str,
    /// The study file's directory, against which body files are checked; `None` when only
    /// the text is validated.
    pub(super) base: Option<&'a Path>,
}

impl Source<'_> {
    pub(super) fn error(&self, span: &Range<usize>, message: String) -> StudyError {
        let (line, column, source_line) = perfloop_scenario::text_place(self.text, span.start);
        StudyError {
            file: None,
            line,
            column,
            message,
            source_line,
        }
    }

    pub(super) fn text_of<T>(&self, spanned: &Spanned<T>) -> &str {
        self.text.get(spanned.span()).unwrap_or_default().trim()
    }

    /// Where the table `[name]` (or its first sub-table `[name.x]`) starts: tables can be
    /// implicit, without a span of their own. The start of the text when not found.
    pub(super) fn table(&self, name: &str) -> Range<usize> {
        let mut offset = 0;
        for line in self.text.split_inclusive('\n') {
            let trimmed = line.trim_start();
            if let Some(rest) = trimmed.strip_prefix('[') {
                let rest = rest.trim_start();
                if rest.strip_prefix(name).is_some_and(|r| {
                    let r = r.trim_start();
                    r.starts_with(']') || r.starts_with('.')
                }) {
                    let start = offset + (line.len() - trimmed.len());
                    return start..start + trimmed.trim_end().len();
                }
            }
            offset += line.len();
        }
        0..0
    }

    pub(super) fn at<T>(&self, spanned: &Spanned<T>, message: String) -> StudyError {
        self.error(&spanned.span(), message)
    }
}
