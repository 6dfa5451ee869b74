//! What the HTML reports share: one self-contained page (inline CSS, inline SVG, no script,
//! nothing fetched) that opens from a file, with every string taken from a record escaped.
//!
//! The head with the shared style sheet, key–value rows, a figure with its plot, legend and
//! caption, the watched target of a header, and the warnings section.

use std::fmt::Write as _;

use super::plot::{Key, Plot};

/// The style sheet of the HTML reports (the study report adds its own rules).
pub(super) const STYLE: &str = "
body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#212121;
max-width:1100px;margin:0 auto;padding:1.5em}
h1{font-size:1.5em;margin:0 0 .2em}h2{font-size:1.2em;margin:1.8em 0 .6em;
border-bottom:1px solid #e0e0e0;padding-bottom:.2em}h3{font-size:1.05em;margin:0 0 .3em}
code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.92em;
background:#f5f5f5;padding:0 .25em;border-radius:3px;overflow-wrap:anywhere}
.meta{color:#616161;margin:.15em 0}
.headline{font-size:1.25em;margin:.4em 0 .8em}.headline.none{color:#c62828}
table{border-collapse:collapse;margin:.4em 0}
th,td{padding:.25em .6em;border-bottom:1px solid #eeeeee;text-align:left;vertical-align:top}
th{font-weight:600;background:#fafafa}td.num,th.num{text-align:right;
font-variant-numeric:tabular-nums;white-space:nowrap}
table.kv th{background:none;white-space:nowrap;color:#616161;font-weight:normal}
.pass{color:#2e7d32;font-weight:600}.fail{color:#c62828;font-weight:600}
tr.untrusted td{color:#757575;background:#fafafa}
table.steps{width:100%;font-size:.92em}table.steps th{white-space:normal;vertical-align:bottom}
table.steps tr.stated td{border-bottom:none}
table.steps tr.reasons td{padding-top:0;color:#616161;overflow-wrap:anywhere}
.badge{display:inline-block;font-size:.8em;padding:0 .4em;border-radius:3px;
background:#eeeeee;color:#424242;margin-left:.3em}
.finding{border-left:4px solid #9e9e9e;padding:.4em .9em;margin:.8em 0;background:#fafafa}
.finding.critical{border-color:#c62828}.finding.warning{border-color:#ef6c00}
.finding.info{border-color:#1565c0}
.sev{text-transform:uppercase;font-size:.75em;letter-spacing:.05em;margin-right:.5em;
color:#616161}.finding p{margin:.3em 0}.finding ul,.finding ol{margin:.3em 0 .3em 1.2em;
padding:0}
figure{margin:1em 0 1.6em}figure svg{max-width:100%;height:auto;border:1px solid #eeeeee}
figcaption{color:#616161;font-size:.92em;max-width:760px}
.warnings{border:2px solid #c62828;padding:.5em 1em;background:#fff8f8}
.note{color:#616161}
.legend{font-size:.9em;color:#424242;margin:.3em 0}.legend span.key{margin-right:1.1em;
white-space:nowrap}
footer{margin-top:3em;color:#9e9e9e;font-size:.85em}
";

/// `text` with the characters HTML gives a meaning replaced by references: for every page
/// that shows a run's strings (these reports and the dashboard).
#[must_use]
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The page up to `<body>`: `title` (escaped) and the shared style sheet followed by
/// `style`.
pub(super) fn head(h: &mut String, title: &str, style: &str) -> std::fmt::Result {
    writeln!(h, "<!DOCTYPE html>")?;
    writeln!(h, "<html lang=\"en\">")?;
    writeln!(h, "<head>")?;
    writeln!(h, "<meta charset=\"utf-8\">")?;
    writeln!(
        h,
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
    )?;
    writeln!(h, "<title>{}</title>", escape(title))?;
    writeln!(h, "<style>{STYLE}{style}</style>")?;
    writeln!(h, "</head>")?;
    writeln!(h, "<body>")
}

/// One row of a key–value table; `value` is HTML.
pub(super) fn kv(h: &mut String, key: &str, value: &str) -> std::fmt::Result {
    writeln!(h, "<tr><th>{}</th><td>{value}</td></tr>", escape(key))
}

/// A plot's legend as HTML: each symbol in its colour, then what it stands for; nothing
/// without keys.
fn legend_html(keys: &[Key]) -> String {
    if keys.is_empty() {
        return String::new();
    }
    let mut h = String::from("<p class=\"legend\">");
    for k in keys {
        h.push_str(&format!(
            "<span class=\"key\"><span style=\"color:{}\">{}</span> {}</span>",
            escape(&k.color),
            k.symbol,
            escape(&k.label)
        ));
    }
    h.push_str("</p>");
    h
}

/// A plot's legend, when it has keys.
pub(super) fn legend(h: &mut String, keys: &[Key]) -> std::fmt::Result {
    let html = legend_html(keys);
    if html.is_empty() {
        return Ok(());
    }
    writeln!(h, "{html}")
}

/// A plot as a figure: its heading, the SVG labelled for screen readers (or why it could
/// not be drawn), its legend and its caption.
pub(super) fn figure(h: &mut String, p: &Plot) -> std::fmt::Result {
    writeln!(h, "<figure id=\"{}\">", escape(&p.id))?;
    writeln!(h, "<h3>{}</h3>", escape(&p.title))?;
    match &p.svg {
        Ok(svg) => {
            let labelled = svg.replacen(
                "<svg ",
                &format!("<svg role=\"img\" aria-label=\"{}\" ", escape(&p.title)),
                1,
            );
            writeln!(h, "{}", labelled.trim_end())?;
        }
        Err(e) => writeln!(
            h,
            "<p class=\"note\">The plot could not be drawn: {}</p>",
            escape(e)
        )?,
    }
    legend(h, &p.keys)?;
    writeln!(h, "<figcaption>{}</figcaption>", escape(&p.caption))?;
    writeln!(h, "</figure>")
}

/// The watched target of a page's header, `target command … · pid …` (nothing when
/// there is neither).
pub(super) fn watched(h: &mut String, command: Option<&str>, pid: Option<u32>) -> std::fmt::Result {
    let mut watched = Vec::new();
    if let Some(command) = command {
        watched.push(format!("command <code>{}</code>", escape(command)));
    }
    if let Some(pid) = pid {
        watched.push(format!("pid {pid}"));
    }
    if watched.is_empty() {
        return Ok(());
    }
    writeln!(h, "<p class=\"meta\">target {}</p>", watched.join(" · "))
}

/// The warnings section of a report page (nothing when there are none).
pub(super) fn warnings(h: &mut String, list: &[String]) -> std::fmt::Result {
    if list.is_empty() {
        return Ok(());
    }
    writeln!(h, "<section id=\"warnings\" class=\"warnings\">")?;
    writeln!(
        h,
        "<h2>Warning{} — these figures may not be what they seem</h2>",
        if list.len() == 1 { "" } else { "s" }
    )?;
    writeln!(h, "<ul>")?;
    for w in list {
        writeln!(h, "<li>{}</li>", escape(w))?;
    }
    writeln!(h, "</ul>")?;
    writeln!(h, "</section>")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_markup_and_quotes() {
        assert_eq!(
            escape(r#"<a href="x">Tom & 'Jerry'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;/a&gt;"
        );
        assert_eq!(escape("p99 – 12 µs"), "p99 – 12 µs");
    }
}
