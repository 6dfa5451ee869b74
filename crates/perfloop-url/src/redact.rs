//! What counts as a secret in a URL or a header, and the redacted text that may be shown
//! or stored instead.
//!
//! - A query parameter is a secret when its name (percent-decoded, case-insensitive)
//!   contains one of [`SECRET_WORDS`]: `token`, `api_key`, `apikey`, `key`, `secret`,
//!   `password`, `access_token`, `auth`, `signature`, ... Its value becomes [`REDACTED`].
//!   A false positive (`monkey=1`) costs a hidden value; a false negative leaks a secret.
//! - User information (`user:password@`) becomes `REDACTED@`.
//! - A header keeps its name only: `Authorization: Bearer x` is shown as
//!   `Authorization: REDACTED`, whatever the header.
//!
//! [`redact_url`] works on text, not on a parsed URL, so a URL template with placeholders
//! (`http://127.0.0.1:{port}/?token={t}`) and a URL that failed to parse are redacted too.

/// What replaces a secret.
pub const REDACTED: &str = "REDACTED";

/// Query parameter names containing one of these (lower case) hold secrets.
pub const SECRET_WORDS: [&str; 11] = [
    "token",
    "key",
    "secret",
    "pass",
    "pwd",
    "auth",
    "sig",
    "session",
    "credential",
    "jwt",
    "cookie",
];

/// Whether a query parameter of this name holds a secret (the name as written, possibly
/// percent-encoded).
pub fn is_secret_name(name: &str) -> bool {
    let decoded: String = url::form_urlencoded::parse(name.as_bytes())
        .map(|(k, _)| k.into_owned())
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    SECRET_WORDS.iter().any(|w| decoded.contains(w))
}

/// The URL text with secret query values and user information replaced by [`REDACTED`];
/// everything else as written.
pub fn redact_url(text: &str) -> String {
    let (before_fragment, fragment) = match text.split_once('#') {
        Some((b, f)) => (b, Some(f)),
        None => (text, None),
    };
    let (base, query) = match before_fragment.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (before_fragment, None),
    };
    let mut out = redact_user_info(base);
    if let Some(query) = query {
        out.push('?');
        let pairs: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((name, _)) if is_secret_name(name) => format!("{name}={REDACTED}"),
                _ => pair.to_string(),
            })
            .collect();
        out.push_str(&pairs.join("&"));
    }
    if let Some(f) = fragment {
        out.push('#');
        out.push_str(f);
    }
    out
}

/// `scheme://user:password@host/path` → `scheme://REDACTED@host/path`.
fn redact_user_info(base: &str) -> String {
    let start = base.find("://").map_or(0, |i| i + 3);
    let authority_end = base[start..].find('/').map_or(base.len(), |i| start + i);
    match base[start..authority_end].rfind('@') {
        Some(at) => format!("{}{REDACTED}{}", &base[..start], &base[start + at..]),
        None => base.to_string(),
    }
}

/// A header as it may be shown: its name only, the value [`REDACTED`] (`Name: value` →
/// `Name: REDACTED`). Text without a `:` is not a header and is returned as given.
pub fn redact_header(text: &str) -> String {
    match text.split_once(':') {
        Some((name, _)) => format!("{}: {REDACTED}", name.trim()),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_in_query_strings_are_redacted() {
        assert_eq!(redact_url("http://h:1/a"), "http://h:1/a");
        assert_eq!(
            redact_url("http://h/a?user=bob&api_key=s3cret&x=1#frag"),
            "http://h/a?user=bob&api_key=REDACTED&x=1#frag"
        );
        assert_eq!(
            redact_url("http://h/?Access_Token=abc"),
            "http://h/?Access_Token=REDACTED"
        );
        assert_eq!(redact_url("http://h/?flag"), "http://h/?flag");
    }

    #[test]
    fn every_usual_secret_name_is_caught_in_any_case() {
        for name in [
            "token",
            "api_key",
            "apikey",
            "APIKEY",
            "key",
            "secret",
            "client_secret",
            "password",
            "passwd",
            "pwd",
            "access_token",
            "auth",
            "signature",
            "X-Amz-Signature",
            "sig",
            "sessionid",
            "jwt",
            "api%5Fkey",
        ] {
            assert!(is_secret_name(name), "{name}");
            let url = format!("http://h/?{name}=SECRET&page=2");
            let shown = redact_url(&url);
            assert!(!shown.contains("SECRET"), "{shown}");
            assert!(shown.ends_with("&page=2"), "{shown}");
        }
        for name in ["page", "q", "limit", "user", "id"] {
            assert!(!is_secret_name(name), "{name}");
        }
    }

    #[test]
    fn user_information_and_templates() {
        assert_eq!(
            redact_url("http://bob:hunter2@h:8/x?token=t"),
            "http://REDACTED@h:8/x?token=REDACTED"
        );
        assert_eq!(
            redact_url("http://127.0.0.1:{port}/?api_key={k}&n={n}"),
            "http://127.0.0.1:{port}/?api_key=REDACTED&n={n}"
        );
        // An '@' in the path is not user information.
        assert_eq!(redact_url("http://h/a@b"), "http://h/a@b");
        assert_eq!(
            redact_url("127.0.0.1:80/?token=x"),
            "127.0.0.1:80/?token=REDACTED"
        );
    }

    #[test]
    fn headers_keep_their_names_only() {
        assert_eq!(
            redact_header("Authorization: Bearer abc"),
            "Authorization: REDACTED"
        );
        assert_eq!(redact_header("X-A:b:c"), "X-A: REDACTED");
        assert_eq!(redact_header("no colon"), "no colon");
    }
}
