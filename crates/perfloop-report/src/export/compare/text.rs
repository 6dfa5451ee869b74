//! The text exporter of a compare record: a table in the manner of benchstat, plain text
//! within [`WIDTH`](crate::export::WIDTH) columns.
//!
//! ```text
//! A         run 12 · http://127.0.0.1:8080/ · 2025-01-31T12:00:00Z
//! B         run 14 · http://127.0.0.1:8080/ · 2025-02-01T12:00:00Z
//!
//! metric              A            B   change       95 % interval  verdict
//! throughput  1000 req/s    900 req/s  -10.0 %    -12.0 % … -8.0 %  slower
//! p50           10.00 ms     10.10 ms   +1.0 %     -1.0 % … +3.0 %  ~
//! ```
//!
//! then what `~` means, the method, the notes, one line per warning of a run compared and
//! last a loud block for the warnings that invalidate a run's figures.

use std::io;

use super::{change, interval, interval_heading, label, same_legend, value, verdict};
use crate::compare::{CompareRecord, CompareSide, CompareWarning, SideName};
use crate::export::Exporter;
use crate::export::figures::fraction;
use crate::export::page::{Page, labelled, warning_block, warning_lines};

/// Writes a compare record as a plain-text table.
#[derive(Debug, Clone, Copy, Default)]
pub struct CompareText;

impl Exporter<CompareRecord> for CompareText {
    fn write(&self, record: &CompareRecord, out: &mut dyn io::Write) -> io::Result<()> {
        let mut page = Page::default();
        side(&mut page, "A", &record.a);
        side(&mut page, "B", &record.b);
        page.blank();
        page.line(format!(
            "{:<10}  {:>13}  {:>13}  {:>8}  {:>19}  verdict",
            "metric",
            "A",
            "B",
            "change",
            interval_heading(record)
        ));
        for (name, m) in record.metrics.all() {
            page.line(format!(
                "{:<10}  {:>13}  {:>13}  {:>8}  {:>19}  {}",
                label(name),
                value(name, m.a),
                value(name, m.b),
                change(m),
                interval(m),
                verdict(m.verdict)
            ));
        }
        page.blank();
        labelled(&mut page, "", &same_legend(record), 0);
        page.blank();
        let mut method = record.method.clone();
        if record.weakened {
            method.push_str(&format!(
                "; {} intervals, not 95 %: a run compared has warnings",
                fraction(record.confidence)
            ));
        }
        labelled(&mut page, "method", &method, 10);
        for note in &record.notes {
            labelled(&mut page, "note", note, 10);
        }
        let line = |w: &CompareWarning| {
            let side = match w.side {
                SideName::A => "A",
                SideName::B => "B",
            };
            format!("run {} ({side}): {}", w.run, w.message)
        };
        let (loud, quiet): (Vec<&CompareWarning>, Vec<&CompareWarning>) =
            record.warnings.iter().partition(|w| w.kind.invalidates());
        let quiet: Vec<String> = quiet.into_iter().map(line).collect();
        let loud: Vec<String> = loud.into_iter().map(line).collect();
        warning_lines(
            &mut page,
            &quiet.iter().map(String::as_str).collect::<Vec<_>>(),
        );
        warning_block(
            &mut page,
            &loud.iter().map(String::as_str).collect::<Vec<_>>(),
        );
        page.write_to(out)
    }
}

/// A side's line: its label, the runs when the label does not name them, target, start.
fn side(page: &mut Page, name: &str, s: &CompareSide) {
    let mut parts = vec![s.label.clone()];
    let single = matches!(s.runs.as_slice(), [id] if s.label == format!("run {id}"));
    if !single {
        let ids: Vec<String> = s.runs.iter().map(i64::to_string).collect();
        parts.push(format!(
            "run{} {}",
            if ids.len() == 1 { "" } else { "s" },
            ids.join(", ")
        ));
    }
    if !s.target.is_empty() {
        parts.push(s.target.clone());
    }
    if !s.started_at.is_empty() {
        parts.push(s.started_at.clone());
    }
    page.flow(name, &parts);
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::export::WIDTH;
    use crate::export::compare::tests::record;
    use crate::run::WarningKind;

    fn text(r: &CompareRecord) -> String {
        String::from_utf8(CompareText.to_bytes(r).unwrap()).unwrap()
    }

    #[test]
    fn the_table_shows_each_metric_with_its_verdict() {
        let t = text(&record());
        assert!(t.lines().all(|l| l.chars().count() <= WIDTH), "{t}");
        let row = |name: &str| {
            t.lines()
                .find(|l| l.starts_with(name))
                .unwrap_or_else(|| panic!("{name}:\n{t}"))
                .to_string()
        };
        let throughput = row("throughput");
        assert!(throughput.contains("1000 req/s") && throughput.contains("900 req/s"));
        assert!(throughput.contains("-10.0 %") && throughput.ends_with("slower"));
        assert!(row("p50 ").ends_with('~'), "{t}");
        assert!(row("p90").ends_with("faster"));
        assert!(row("p99 ").contains("+5.0 % … +15.0 %"));
        let errors = row("error rate");
        assert!(errors.contains("0 %") && errors.contains("0.1 %") && errors.ends_with("slower"));
        assert!(t.contains("99 % interval"), "{t}");
        assert!(t.contains("~ no significant difference"), "{t}");
        assert!(t.contains("the 2 % threshold"), "{t}");
        assert!(t.contains("99 % intervals, not 95 %"), "{t}");
        assert!(t.contains("runs 14, 13"), "{t}");
        assert!(t.contains("warning   run 14 (B): 12 requests"), "{t}");
        assert!(
            t.contains("note      error_rate: side A's figure is 0"),
            "{t}"
        );
        assert!(!t.contains("!!!"), "{t}");
    }

    #[test]
    fn an_invalidating_warning_is_loud_and_a_single_run_is_not_repeated() {
        let mut r = record();
        r.warnings[0].kind = WarningKind::GeneratorSaturated;
        let t = text(&r);
        assert!(t.contains("!!! WARNING"), "{t}");
        assert!(
            t.lines().any(|l| l.starts_with("A         run 12 · http")),
            "{t}"
        );
        assert!(!t.contains("runs 12"), "{t}");
    }
}
