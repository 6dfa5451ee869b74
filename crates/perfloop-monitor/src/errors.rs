//! The errors met while monitoring, counted by message: a scrape endpoint that is down for
//! a ten-minute run at 100 ms gives one line with a count, not six thousand lines.

use std::collections::HashMap;

/// Distinct messages kept; later new ones are only counted.
const MAX_DISTINCT: usize = 50;

/// Messages in order of first occurrence, each with its count.
#[derive(Debug, Default)]
pub(crate) struct ErrorLog {
    entries: Vec<(String, u64)>,
    index: HashMap<String, usize>,
    dropped: u64,
}

impl ErrorLog {
    /// Counts one occurrence of `message`.
    pub(crate) fn note(&mut self, message: String) {
        self.add(message, 1);
    }

    fn add(&mut self, message: String, count: u64) {
        if let Some(&i) = self.index.get(&message) {
            self.entries[i].1 += count;
        } else if self.entries.len() < MAX_DISTINCT {
            self.index.insert(message.clone(), self.entries.len());
            self.entries.push((message, count));
        } else {
            self.dropped += count;
        }
    }

    /// Appends the messages of `other` after these.
    pub(crate) fn extend(&mut self, other: ErrorLog) {
        for (message, count) in other.entries {
            self.add(message, count);
        }
        self.dropped += other.dropped;
    }

    /// One line per distinct message, `message (N times)` when it repeated.
    pub(crate) fn into_lines(self) -> Vec<String> {
        let mut lines: Vec<String> = self
            .entries
            .into_iter()
            .map(|(m, n)| {
                if n == 1 {
                    m
                } else {
                    format!("{m} ({n} times)")
                }
            })
            .collect();
        if self.dropped > 0 {
            lines.push(format!("{} further errors of other kinds", self.dropped));
        }
        lines
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn repeats_are_counted_not_listed() {
        let mut log = ErrorLog::default();
        log.note("a".into());
        log.note("b".into());
        log.note("a".into());
        assert_eq!(log.into_lines(), vec!["a (2 times)", "b"]);
    }

    #[test]
    fn distinct_messages_are_capped() {
        let mut log = ErrorLog::default();
        for i in 0..MAX_DISTINCT + 3 {
            log.note(format!("e{i}"));
        }
        let lines = log.into_lines();
        assert_eq!(lines.len(), MAX_DISTINCT + 1);
        assert_eq!(
            lines.last().map(String::as_str),
            Some("3 further errors of other kinds")
        );
    }
}
