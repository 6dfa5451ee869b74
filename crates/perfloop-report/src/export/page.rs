//! The plain-text page every text report is written on: at most [`WIDTH`] columns, no
//! colours, nothing cut (long text is wrapped at spaces, a word longer than the width is
//! split across lines), and the two ways a report shows its warnings: one line each, or a
//! loud block for those that invalidate the figures.

use std::io;

use super::figures::DASH;

/// The widest line a text report writes, in characters.
pub const WIDTH: usize = 80;

/// The lines of a text report, written whole: callers wrap long text (see [`wrap`]),
/// nothing is cut.
#[derive(Default)]
pub(super) struct Page {
    pub(super) lines: Vec<String>,
}

impl Page {
    pub(super) fn line(&mut self, text: impl AsRef<str>) {
        self.lines.push(text.as_ref().to_string());
    }

    pub(super) fn blank(&mut self) {
        self.lines.push(String::new());
    }

    /// `label` then `parts` joined by ` · `, continued on indented lines between parts.
    pub(super) fn flow(&mut self, label: &str, parts: &[String]) {
        const INDENT: usize = 10;
        let mut line = format!("{label:INDENT$}");
        let mut empty = true;
        for part in parts {
            let sep = if empty { "" } else { " · " };
            if !empty && line.chars().count() + sep.len() + part.chars().count() > WIDTH {
                self.line(&line);
                line = format!("{:INDENT$}{part}", "");
            } else {
                line.push_str(sep);
                line.push_str(part);
            }
            empty = false;
        }
        self.line(line);
    }

    pub(super) fn section(&mut self, title: &str) {
        self.blank();
        self.line(title);
    }

    /// Writes the lines to `out`, without trailing spaces.
    pub(super) fn write_to(&self, out: &mut dyn io::Write) -> io::Result<()> {
        for line in &self.lines {
            writeln!(out, "{}", line.trim_end())?;
        }
        Ok(())
    }
}

/// `text` wrapped after a label in the first `indent` columns, continued under it.
pub(super) fn labelled(page: &mut Page, label: &str, text: &str, indent: usize) {
    let lines = wrap(text, WIDTH - indent);
    if lines.is_empty() {
        page.line(format!("{label:indent$}{DASH}"));
    }
    for (i, chunk) in lines.into_iter().enumerate() {
        page.line(format!(
            "{:indent$}{chunk}",
            if i == 0 { label } else { "" }
        ));
    }
}

/// One wrapped line per warning after a `warning` label; nothing when there are none.
pub(super) fn warning_lines(page: &mut Page, list: &[&str]) {
    const LABEL: usize = 10;
    if list.is_empty() {
        return;
    }
    page.blank();
    for w in list {
        for (i, chunk) in wrap(w, WIDTH - LABEL).into_iter().enumerate() {
            page.line(format!(
                "{:LABEL$}{chunk}",
                if i == 0 { "warning" } else { "" }
            ));
        }
    }
}

/// A loud block for warnings that invalidate the figures, one wrapped paragraph each;
/// nothing when there are none.
pub(super) fn warning_block(page: &mut Page, list: &[&str]) {
    if list.is_empty() {
        return;
    }
    let rule = "!".repeat(WIDTH);
    page.blank();
    page.line(&rule);
    page.line(format!(
        "!!! WARNING{} — these figures may not be what they seem",
        plural(list.len())
    ));
    page.line(&rule);
    for w in list {
        for (i, chunk) in wrap(w, WIDTH - 4).into_iter().enumerate() {
            page.line(format!("{} {chunk}", if i == 0 { "!" } else { "! " }));
        }
    }
    page.line(&rule);
}

pub(super) fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "S" }
}

/// `text` in lines of at most `width` characters, broken at spaces where possible.
pub(super) fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let mut word: Vec<char> = word.chars().collect();
        while word.len() > width {
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            lines.push(word.drain(..width).collect());
        }
        let word: String = word.into_iter().collect();
        if word.is_empty() {
            continue;
        }
        if line.is_empty() {
            line = word;
        } else if line.chars().count() + 1 + word.chars().count() <= width {
            line.push(' ');
            line.push_str(&word);
        } else {
            lines.push(std::mem::replace(&mut line, word));
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping_respects_the_width() {
        let text = "a saturated generator measures itself, not the target; \
                    averyveryveryverylongwordthatcannotfit";
        for width in [1, 5, 12, 40] {
            let lines = wrap(text, width);
            assert!(
                lines.iter().all(|l| l.chars().count() <= width),
                "{width}: {lines:?}"
            );
            assert_eq!(lines.concat().replace(' ', ""), text.replace(' ', ""));
        }
    }
}
