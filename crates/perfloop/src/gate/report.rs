//! What a gate says: the comparison of each round (the compare record's text and Markdown
//! exporters) under a verdict line per checked metric, and the same as JUnit XML, one test
//! case per checked metric, failed when it regressed in every round.

use perfloop_report::export::{CompareMarkdown, CompareText, Exporter};
use perfloop_report::{CompareRecord, MetricChange};

use super::Judged;

/// Everything a gate reports.
pub struct Outcome<'a> {
    /// Each round: its comparison and the checks judged on it (two with `--confirm` after a
    /// regression).
    pub rounds: &'a [(CompareRecord, Vec<Judged>)],
    /// The metrics that regressed in every round: the gate fails on them.
    pub failed: &'a [&'static str],
    /// Whether `--confirm` was asked.
    pub confirm: bool,
}

impl Outcome<'_> {
    fn passed(&self) -> bool {
        self.failed.is_empty()
    }

    fn headline(&self) -> String {
        if self.passed() {
            "PASS: no checked metric regressed past its allowance".to_string()
        } else {
            format!("FAIL: {} regressed", self.failed.join(", "))
        }
    }
}

/// A checked metric's line: `p99: +12.0 % (95 % interval +8.1 % … +16.3 %), allowed +5 %:
/// regression`.
fn line(j: &Judged, confidence: f64) -> String {
    let allowed = format!("{:.1} %", j.check.max_regression * 100.0);
    let worse = if j.check.metric == "throughput" {
        "lower"
    } else {
        "higher"
    };
    let verdict = if j.regressed {
        "regression".to_string()
    } else {
        match j.change.verdict {
            perfloop_report::CompareVerdict::Slower => "worse, within the allowance".to_string(),
            perfloop_report::CompareVerdict::Faster => "better".to_string(),
            perfloop_report::CompareVerdict::Same => "no significant difference".to_string(),
        }
    };
    format!(
        "{}: {} ({:.0} % interval {}), allowed {allowed} {worse}: {verdict}",
        j.check.metric,
        pct(j.change.change),
        confidence * 100.0,
        interval(&j.change)
    )
}

fn pct(v: Option<f64>) -> String {
    v.map_or_else(|| "–".to_string(), |v| format!("{:+.1} %", v * 100.0))
}

fn interval(m: &MetricChange) -> String {
    match (m.ci_low, m.ci_high) {
        (Some(lo), Some(hi)) => format!("{} … {}", pct(Some(lo)), pct(Some(hi))),
        _ => "–".to_string(),
    }
}

fn render(exporter: &dyn Exporter<CompareRecord>, record: &CompareRecord) -> String {
    let mut out = Vec::new();
    // Writing into memory cannot fail.
    let _ = exporter.write(record, &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// The text the gate prints: each round's comparison, its checks, then the verdict.
pub fn text(o: &Outcome<'_>) -> String {
    let mut s = String::new();
    for (i, (record, judged)) in o.rounds.iter().enumerate() {
        if o.rounds.len() > 1 {
            s.push_str(&format!("\nround {} of {}\n", i + 1, o.rounds.len()));
        }
        s.push_str(&render(&CompareText, record));
        s.push('\n');
        for j in judged {
            s.push_str(&format!("  {}\n", line(j, record.confidence)));
        }
    }
    if o.confirm && o.rounds.len() > 1 && o.passed() {
        s.push_str("\nthe second measurement did not confirm the regression\n");
    }
    s.push_str(&format!("\n{}\n", o.headline()));
    s
}

/// The Markdown summary for a CI step: the verdict first, then each round's table.
pub fn markdown(o: &Outcome<'_>) -> String {
    let mark = if o.passed() { "✅" } else { "❌" };
    let mut s = format!("## perfloop gate: {mark} {}\n\n", o.headline());
    for (i, (record, judged)) in o.rounds.iter().enumerate() {
        if o.rounds.len() > 1 {
            s.push_str(&format!("#### Round {} of {}\n\n", i + 1, o.rounds.len()));
        }
        for j in judged {
            s.push_str(&format!(
                "- {}\n",
                escape_markdown(&line(j, record.confidence))
            ));
        }
        s.push('\n');
        s.push_str(&render(&CompareMarkdown, record));
        s.push('\n');
    }
    s
}

/// JUnit XML: a suite `perfloop gate`, a test case per checked metric.
pub fn junit(o: &Outcome<'_>) -> String {
    let Some((record, judged)) = o.rounds.last() else {
        return String::new();
    };
    let failures = o.failed.len();
    let mut s = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"perfloop gate\" \
         tests=\"{n}\" failures=\"{failures}\">\n  <testsuite name=\"perfloop gate: {} against \
         {}\" tests=\"{n}\" failures=\"{failures}\">\n",
        xml(&record.b.label),
        xml(&record.a.label),
        n = judged.len(),
    );
    for j in judged {
        let name = format!(
            "{} within {:.1} %",
            j.check.metric,
            j.check.max_regression * 100.0
        );
        s.push_str(&format!(
            "    <testcase classname=\"perfloop.gate\" name=\"{}\">\n",
            xml(&name)
        ));
        if o.failed.contains(&j.check.metric) {
            s.push_str(&format!(
                "      <failure message=\"{}\">{}</failure>\n",
                xml(&line(j, record.confidence)),
                xml(&record.b.target)
            ));
        } else {
            s.push_str(&format!(
                "      <system-out>{}</system-out>\n",
                xml(&line(j, record.confidence))
            ));
        }
        s.push_str("    </testcase>\n");
    }
    s.push_str("  </testsuite>\n</testsuites>\n");
    s
}

/// Text made safe inside XML attributes and elements.
fn xml(text: &str) -> String {
    let mut s = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => s.push_str("&amp;"),
            '<' => s.push_str("&lt;"),
            '>' => s.push_str("&gt;"),
            '"' => s.push_str("&quot;"),
            '\'' => s.push_str("&apos;"),
            // Control characters other than tab and newlines are not allowed in XML 1.0.
            c if c.is_control() && !matches!(c, '\t' | '\n' | '\r') => s.push('\u{FFFD}'),
            c => s.push(c),
        }
    }
    s
}

/// A line made safe in Markdown: no HTML, no table pipes.
fn escape_markdown(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('|', "\\|")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_text_cannot_break_the_document() {
        assert_eq!(
            xml("<script>\"a\" & 'b'</script>\u{1}"),
            "&lt;script&gt;&quot;a&quot; &amp; &apos;b&apos;&lt;/script&gt;\u{FFFD}"
        );
        assert_eq!(escape_markdown("a|<b>"), "a\\|&lt;b&gt;");
    }
}
