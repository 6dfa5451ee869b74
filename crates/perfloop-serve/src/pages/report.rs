//! The HTML reports of perfloop-report (run, capacity search, study), reused on the
//! dashboard's pages: an exporter writes a whole self-contained page; its style sheet and
//! the content of its `<body>` are taken apart here and laid out inside the dashboard's
//! page. The reports have no script and fetch nothing, so they sit under the dashboard's
//! Content-Security-Policy as they are.

/// A report page taken apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Report {
    /// The content of its `<style>` element.
    pub style: String,
    /// The content of its `<body>`.
    pub body: String,
}

/// `page` (an exporter's HTML) taken apart; a page without the expected structure is
/// kept whole as the body.
pub(crate) fn split(page: &str) -> Report {
    let style = between(page, "<style>", "</style>")
        .unwrap_or("")
        .to_owned();
    let body = page
        .find("<body>")
        .map(|start| start + "<body>".len())
        .and_then(|start| {
            let end = page.rfind("</body>")?;
            page.get(start..end)
        })
        .unwrap_or(page);
    Report {
        style,
        body: body.trim().to_owned(),
    }
}

/// The text between the first `open` and the `close` after it.
fn between<'a>(text: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let start = text.find(open)? + open.len();
    let end = start + text[start..].find(close)?;
    text.get(start..end)
}

/// `body` with the `<section id="ID">…</section>` replaced by `with` (a section holds no
/// section in the reports); `None` when there is no such section.
pub(crate) fn replace_section(body: &str, id: &str, with: &str) -> Option<String> {
    let open = format!("<section id=\"{id}\"");
    let start = body.find(&open)?;
    let end = start + body[start..].find("</section>")? + "</section>".len();
    Some(format!("{}{with}{}", &body[..start], &body[end..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_comes_apart_and_sections_are_replaced() {
        let page = "<!DOCTYPE html>\n<html><head><style>h1{x}</style></head>\n<body>\n<h1>t</h1>\
                    <section id=\"plots\"><h2>P</h2></section><section id=\"x\">k</section>\n</body>\n</html>\n";
        let r = split(page);
        assert_eq!(r.style, "h1{x}");
        assert!(r.body.starts_with("<h1>t</h1>") && r.body.ends_with("k</section>"));
        let replaced = replace_section(&r.body, "plots", "<div>C</div>");
        assert_eq!(
            replaced.as_deref(),
            Some("<h1>t</h1><div>C</div><section id=\"x\">k</section>")
        );
        assert_eq!(replace_section(&r.body, "none", ""), None);
        assert_eq!(split("plain").body, "plain");
    }
}
