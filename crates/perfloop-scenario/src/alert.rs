//! Alert rules written in a scenario file (`alerts = ["p99 > 200ms for 10s"]`), kept as
//! text with their place: their grammar is the statistics crate's, which this crate does
//! not know, so whoever reads them there turns a position in a rule into the file's line
//! and column with [`AlertText::error_at`].

use toml::Spanned;

use crate::error::{At, ScenarioError, Source};

/// One alert rule as written in the scenario file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertText {
    /// The rule, as the TOML string holds it.
    pub text: String,
    /// Where the rule's first character is (inside the quotes); where its string starts
    /// when it is written with escapes, so that positions in it cannot be placed.
    pub at: At,
    /// Whether the rule is written as it reads (no escapes): positions in it map to
    /// columns of the file.
    exact: bool,
}

impl AlertText {
    /// Reads the rule's value and place from its string's span.
    pub(crate) fn of(src: &Source<'_>, value: &Spanned<String>) -> AlertText {
        let span = value.span();
        let written = src.text.get(span.clone()).unwrap_or_default();
        let quote = if written.starts_with("'''") || written.starts_with("\"\"\"") {
            3
        } else {
            1
        };
        let text = value.get_ref();
        let exact =
            written.get(quote..quote + text.len()) == Some(text.as_str()) && !text.contains('\n');
        let start = if exact {
            span.start + quote
        } else {
            span.start
        };
        AlertText {
            text: text.clone(),
            at: src.at(&(start..start)),
            exact,
        }
    }

    /// An error at byte `position` of the rule (where its parser stopped): the file, the
    /// line and the column of that character when the rule is written without escapes,
    /// else of the string.
    pub fn error_at(&self, position: usize, message: String) -> ScenarioError {
        let mut at = self.at.clone();
        if self.exact {
            if let Some(before) = self.text.get(..position) {
                at.column += before.chars().count();
            }
        }
        at.error(message)
    }
}
