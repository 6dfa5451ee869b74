//! The Markdown exporter of a compare record: a GitHub-flavoured table for a CI job's
//! summary (`$GITHUB_STEP_SUMMARY`), a heading naming both sides, what `~` means and the
//! method, the runs' warnings as a quote, the notes as a list. Text taken from the record
//! (labels, targets, messages) has its table pipes and HTML brackets escaped, so it cannot
//! break the table or inject markup.

use std::io;

use super::{change, interval, interval_heading, label, same_legend, value, verdict};
use crate::compare::{CompareRecord, CompareSide, CompareVerdict, SideName};
use crate::export::Exporter;
use crate::export::figures::fraction;

/// Writes a compare record as GitHub-flavoured Markdown.
#[derive(Debug, Clone, Copy, Default)]
pub struct CompareMarkdown;

impl Exporter<CompareRecord> for CompareMarkdown {
    fn write(&self, record: &CompareRecord, out: &mut dyn io::Write) -> io::Result<()> {
        out.write_all(render(record).as_bytes())
    }
}

fn render(r: &CompareRecord) -> String {
    let mut s = format!(
        "### perfloop compare: {} against {}\n\n",
        escape(&r.b.label),
        escape(&r.a.label)
    );
    s.push_str(&side("A", &r.a));
    s.push_str(&side("B", &r.b));
    s.push('\n');
    s.push_str(&format!(
        "| metric | A | B | change | {} | verdict |\n| --- | ---: | ---: | ---: | ---: | --- |\n",
        interval_heading(r)
    ));
    for (name, m) in r.metrics.all() {
        let word = verdict(m.verdict);
        let word = match m.verdict {
            CompareVerdict::Same => word.to_string(),
            _ => format!("**{word}**"),
        };
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} | {word} |\n",
            label(name),
            value(name, m.a),
            value(name, m.b),
            change(m),
            interval(m)
        ));
    }
    s.push('\n');
    s.push_str(&escape(&same_legend(r)));
    s.push_str(".\n\n");
    s.push_str(&format!("Method: {}.", escape(&r.method)));
    if r.weakened {
        s.push_str(&format!(
            " Intervals at {}, not 95 %: a run compared has warnings.",
            fraction(r.confidence)
        ));
    }
    s.push('\n');
    if !r.warnings.is_empty() {
        s.push('\n');
        for w in &r.warnings {
            let side = match w.side {
                SideName::A => "A",
                SideName::B => "B",
            };
            let loud = if w.kind.invalidates() { "**" } else { "" };
            s.push_str(&format!(
                "> {loud}Warning{loud} (run {}, {side}): {}\n>\n",
                w.run,
                escape(&w.message)
            ));
        }
        s.truncate(s.len() - 2);
    }
    if !r.notes.is_empty() {
        s.push('\n');
        for n in &r.notes {
            s.push_str(&format!("- {}\n", escape(n)));
        }
    }
    s
}

fn side(name: &str, s: &CompareSide) -> String {
    let ids: Vec<String> = s.runs.iter().map(i64::to_string).collect();
    format!(
        "- **{name}**: {} (run{} {}) · `{}` · {}\n",
        escape(&s.label),
        if ids.len() == 1 { "" } else { "s" },
        ids.join(", "),
        s.target.replace('`', "'"),
        escape(&s.started_at)
    )
}

/// Text safe inside a table cell and free of markup: `|`, `<`, `>` and `&` escaped.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('|', "\\|")
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::export::compare::tests::record;
    use crate::run::WarningKind;

    #[test]
    fn a_table_row_per_metric_with_the_verdicts() {
        let md = render(&record());
        let rows: Vec<&str> = md.lines().filter(|l| l.starts_with("| ")).collect();
        assert_eq!(rows.len(), 8, "{md}");
        assert_eq!(
            rows[0],
            "| metric | A | B | change | 99 % interval | verdict |"
        );
        assert_eq!(
            rows[2],
            "| throughput | 1000 req/s | 900 req/s | -10.0 % | -12.0 % … -8.0 % | **slower** |"
        );
        assert!(rows[3].ends_with("| ~ |"), "{md}");
        assert!(rows[7].starts_with("| error rate | 0 % | 0.1 % | – | – | **slower**"));
        // Every row has the header's number of cells: a label's pipe is escaped.
        assert!(
            md.contains("tag:branch=fix\\|wip (last 2) (runs 14, 13)"),
            "{md}"
        );
        assert!(md.contains("> Warning (run 14, B): 12 requests"), "{md}");
        assert!(md.contains("- error_rate: side A's figure is 0"), "{md}");
        assert!(md.contains("Intervals at 99 %"), "{md}");
        assert!(md.ends_with('\n') && !md.contains(">\n\n- "), "{md}");
    }

    #[test]
    fn record_text_cannot_inject_markup() {
        let mut r = record();
        r.warnings[0].message = "<script>alert(1)</script>".to_string();
        r.warnings[0].kind = WarningKind::NoSuccess;
        let md = render(&r);
        assert!(!md.contains("<script>"), "{md}");
        assert!(md.contains("&lt;script&gt;"), "{md}");
        assert!(md.contains("> **Warning** (run 14, B)"), "{md}");
    }
}
