//! Templates: text with `{{name}}` placeholders, split once when the scenario is read into
//! literal text and references to the scenario's values, so that rendering a request is
//! copying bytes and formatting numbers (no parsing, no allocation once the buffer is warm).
//!
//! Only `{{` opens a placeholder; inside, spaces around the name are allowed. A value put
//! in a path is percent-encoded where a request line could not carry it (spaces, control
//! bytes, non-ASCII, `"#<>\^`{|}`), and left as it is otherwise, so a value that is already
//! encoded stays as it is.

/// Where a template's text goes, which decides how a value is written into it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Context {
    /// The request line's path and query: values percent-encoded where needed.
    Path,
    /// A header value: values are checked when the scenario is read (no line breaks).
    Header,
    /// The body: values as they are.
    #[default]
    Body,
}

/// One piece of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// Literal text.
    Text(String),
    /// The value of the scenario's value of this index (a feeder column, a sequence, a
    /// random number), drawn once per request.
    Value(usize),
}

/// A text with placeholders, resolved against the scenario's values.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Template {
    pub(crate) parts: Vec<Part>,
    pub(crate) context: Context,
}

impl Template {
    /// A template of literal text only.
    pub fn literal(text: &str, context: Context) -> Template {
        let parts = if text.is_empty() {
            Vec::new()
        } else {
            vec![Part::Text(text.to_owned())]
        };
        Template { parts, context }
    }

    /// Its pieces.
    pub fn parts(&self) -> &[Part] {
        &self.parts
    }

    /// Where it goes.
    pub fn context(&self) -> Context {
        self.context
    }

    /// The text when there is no placeholder; `None` otherwise.
    pub fn fixed(&self) -> Option<String> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Value(_) => return None,
            }
        }
        Some(out)
    }

    /// Whether the template has no text at all.
    pub fn is_empty(&self) -> bool {
        self.parts.is_empty()
    }
}

/// A piece of a template's text before its names are resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Piece<'a> {
    Text(&'a str),
    Name(&'a str),
}

/// Whether `name` can name a placeholder: letters, digits, `_`, `-`, `.`.
pub(crate) fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// Splits `text` into literal text and placeholder names; the error says what is wrong.
pub(crate) fn split(text: &str) -> Result<Vec<Piece<'_>>, String> {
    let mut pieces = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        if open > 0 {
            pieces.push(Piece::Text(&rest[..open]));
        }
        let after = &rest[open + 2..];
        let Some(close) = after.find("}}") else {
            return Err(format!(
                "`{{{{` at `{}` opens a placeholder that is never closed with `}}}}`",
                excerpt(&rest[open..])
            ));
        };
        let name = after[..close].trim();
        if !valid_name(name) {
            return Err(format!(
                "`{{{{{}}}}}` is not a placeholder: a name is letters, digits, `_`, `-` or `.`",
                &after[..close]
            ));
        }
        pieces.push(Piece::Name(name));
        rest = &after[close + 2..];
    }
    if !rest.is_empty() {
        pieces.push(Piece::Text(rest));
    }
    Ok(pieces)
}

/// The start of `text`, short enough to quote.
fn excerpt(text: &str) -> String {
    let cut: String = text.chars().take(24).collect();
    if cut.len() < text.len() {
        format!("{cut}...")
    } else {
        cut
    }
}

/// Whether a byte may stand as it is in a request target (RFC 9112 §3.2; `%` kept, so an
/// encoded value stays encoded).
fn path_safe(b: u8) -> bool {
    b > b' ' && b < 0x7f && !b"\"#<>\\^`{|}".contains(&b)
}

/// Appends `value` as the context requires.
pub(crate) fn write_value(context: Context, value: &[u8], out: &mut Vec<u8>) {
    if context != Context::Path || value.iter().all(|&b| path_safe(b)) {
        out.extend_from_slice(value);
        return;
    }
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in value {
        if path_safe(b) {
            out.push(b);
        } else {
            out.extend_from_slice(&[b'%', HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_split_from_text() {
        assert_eq!(
            split("/a/{{id}}?q={{ user.name }}&x").unwrap(),
            vec![
                Piece::Text("/a/"),
                Piece::Name("id"),
                Piece::Text("?q="),
                Piece::Name("user.name"),
                Piece::Text("&x"),
            ]
        );
        assert_eq!(split("{{a}}{{b}}").unwrap().len(), 2);
        assert_eq!(split("").unwrap(), Vec::new());
        // A JSON body's closing braces are text.
        assert_eq!(
            split(r#"{"a":{"b":1}}"#).unwrap(),
            vec![Piece::Text(r#"{"a":{"b":1}}"#)]
        );
    }

    #[test]
    fn broken_placeholders_are_errors_quoting_them() {
        let e = split("/x/{{id").unwrap_err();
        assert!(e.contains("{{id") && e.contains("never closed"), "{e}");
        let e = split("/x/{{a b}}").unwrap_err();
        assert!(e.contains("{{a b}}"), "{e}");
        assert!(split("{{}}").is_err());
    }

    #[test]
    fn values_in_a_path_are_encoded_where_a_request_line_needs_it() {
        let mut out = Vec::new();
        write_value(Context::Path, "a b/ü%20#".as_bytes(), &mut out);
        assert_eq!(out, b"a%20b/%C3%BC%20%23");
        out.clear();
        write_value(Context::Body, b"a b", &mut out);
        assert_eq!(out, b"a b");
    }
}
