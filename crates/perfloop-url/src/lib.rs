//! perfloop's target URL: the one type the load engine, the monitor's scrape and the
//! readiness probes use for "where requests go".
//!
//! [`TargetUrl::parse`] checks the text the way users write it (a scheme, a host, a port
//! from 1 to 65535, no user information), then parses it with the [`url`] crate (the WHATWG
//! URL standard): percent-encoding, IPv6 literals, IDNA host names and dot segments are its
//! job. Every refusal is a [`UrlError`] naming the text (secrets redacted) with a hint.
//!
//! A [`TargetUrl`] displays with its secrets redacted ([`redact`]), so a URL formatted into a
//! report, a record or an error message never shows a token; only
//! [`TargetUrl::request_target`], the bytes sent to the server, keeps them.
//!
//! [`Scheme`] names the protocols: `http`, `https` (the load engine's TLS client) and `tcp`.
//! A part that speaks only plain HTTP (the monitor's scrape, the readiness probe) refuses
//! the others with [`Problem::NotSupportedYet`].

use std::fmt;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};

pub mod redact;

pub use redact::{REDACTED, is_secret_name, redact_header, redact_url};

/// The protocols perfloop can send requests with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// HTTP/1.1 over plain TCP.
    Http,
    /// HTTP/1.1 over TLS.
    Https,
    /// Raw TCP: bytes sent as given, responses framed by a length or a delimiter. A
    /// `tcp://` URL names a host and a port, nothing else.
    Tcp,
}

impl Scheme {
    /// The scheme's name as written in a URL, e.g. `http`.
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
            Scheme::Tcp => "tcp",
        }
    }

    /// The port used when the URL gives none (`tcp` has none: its URLs must give one, so
    /// its 0 is never used).
    pub fn default_port(self) -> u16 {
        match self {
            Scheme::Http => 80,
            Scheme::Https => 443,
            Scheme::Tcp => 0,
        }
    }

    /// The scheme of this name (lower case), or why it cannot be used.
    fn from_name(name: &str) -> Result<Scheme, Problem> {
        match name {
            "http" => Ok(Scheme::Http),
            "tcp" => Ok(Scheme::Tcp),
            "https" => Ok(Scheme::Https),
            other => Err(Problem::UnknownScheme(other.to_string())),
        }
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What is wrong with a URL's text, with the hint to fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    /// No `scheme://` in front.
    #[error("no scheme; write it as {suggestion}")]
    NoScheme {
        /// The URL as it should probably have been written.
        suggestion: String,
    },
    /// A scheme this part of perfloop does not speak yet (`https` for the monitor's scrape
    /// and the readiness probe).
    #[error("{0}:// is not supported yet; use an http:// URL")]
    NotSupportedYet(String),
    /// A scheme perfloop does not speak.
    #[error("scheme '{0}' is not supported; use an http:// URL")]
    UnknownScheme(String),
    /// The port is not a number from 1 to 65535.
    #[error("port '{0}' is not a number from 1 to 65535")]
    Port(String),
    /// The host is missing.
    #[error("no host; write it as http://HOST[:PORT]/PATH, like http://127.0.0.1:8080/")]
    NoHost,
    /// `user:password@` in the URL.
    #[error(
        "user information (user:password@) is not supported; send credentials in a header, \
         like -H 'Authorization: Basic ...'"
    )]
    UserInfo,
    /// A `tcp://` URL without a port, or with a path, query or fragment.
    #[error("a tcp:// URL is a host and a port and nothing else, like tcp://127.0.0.1:6379")]
    TcpAddress,
    /// Anything else the URL parser refused.
    #[error("{0}")]
    Malformed(String),
}

/// A URL that cannot be used, or a host that does not resolve.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    /// The text is not a URL perfloop can send requests to.
    #[error("invalid URL '{text}': {problem}")]
    Invalid {
        /// The text given, secrets redacted.
        text: String,
        /// What is wrong with it.
        problem: Problem,
    },
    /// The host name did not resolve.
    #[error("cannot resolve '{host}': {reason}")]
    Resolve {
        /// The host and port.
        host: String,
        /// The resolver's answer.
        reason: String,
    },
}

/// A validated `http://host[:port]/path?query` URL.
///
/// `Display` and `Debug` show the URL as given with secrets redacted.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct TargetUrl {
    /// The text given.
    given: String,
    scheme: Scheme,
    /// Host name or address, without IPv6 brackets.
    host: String,
    /// The host when it is an address literal (no name resolution needed).
    ip: Option<IpAddr>,
    port: u16,
    /// `host[:port]` for the `Host` header (brackets kept, the port only when not the
    /// default).
    authority: String,
    /// Path and query, at least `/`.
    request_target: String,
}

impl TargetUrl {
    /// Parses and validates `text`; the error names the text and says how to fix it.
    pub fn parse(text: &str) -> Result<TargetUrl, UrlError> {
        let invalid = |problem: Problem| UrlError::Invalid {
            text: redact_url(text),
            problem,
        };
        let scheme = precheck(text).map_err(invalid)?;
        let url = url::Url::parse(text).map_err(|e| {
            invalid(match e {
                url::ParseError::EmptyHost => Problem::NoHost,
                url::ParseError::InvalidPort => {
                    Problem::Port(port_text(text).unwrap_or_default().to_string())
                }
                other => Problem::Malformed(other.to_string()),
            })
        })?;
        let (host, ip) = match url.host() {
            // A non-special scheme (`tcp`) leaves an address literal as an opaque host.
            Some(url::Host::Domain(d)) if !d.is_empty() => (d.to_string(), d.parse().ok()),
            Some(url::Host::Ipv4(a)) => (a.to_string(), Some(IpAddr::V4(a))),
            Some(url::Host::Ipv6(a)) => (a.to_string(), Some(IpAddr::V6(a))),
            _ => return Err(invalid(Problem::NoHost)),
        };
        let port = url.port_or_known_default().unwrap_or(scheme.default_port());
        let host_text = url.host_str().unwrap_or(&host);
        let authority = match url.port() {
            Some(p) => format!("{host_text}:{p}"),
            None => host_text.to_string(),
        };
        let request_target = match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_string(),
        };
        Ok(TargetUrl {
            given: text.to_string(),
            scheme,
            host,
            ip,
            port,
            authority,
            request_target,
        })
    }

    /// The scheme.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// The host name or address, without IPv6 brackets (what name resolution takes).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port, the scheme's default when the URL gives none.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `host[:port]`, the value of the `Host` header.
    pub fn authority(&self) -> &str {
        &self.authority
    }

    /// Path and query as sent in the request line (percent-encoded, at least `/`). This is
    /// the one accessor that keeps secrets: never show it.
    pub fn request_target(&self) -> &str {
        &self.request_target
    }

    /// The URL as given with its secrets redacted: the form to show or store.
    pub fn redacted(&self) -> String {
        redact_url(&self.given)
    }

    /// Every address the host resolves to, in the resolver's order (an address literal
    /// without asking the resolver).
    pub fn socket_addrs(&self) -> Result<Vec<SocketAddr>, UrlError> {
        if let Some(ip) = self.ip {
            return Ok(vec![SocketAddr::new(ip, self.port)]);
        }
        let failed = |reason: String| UrlError::Resolve {
            host: format!("{}:{}", self.host, self.port),
            reason,
        };
        let addrs: Vec<SocketAddr> = (self.host.as_str(), self.port)
            .to_socket_addrs()
            .map_err(|e| failed(e.to_string()))?
            .collect();
        if addrs.is_empty() {
            return Err(failed("no address".to_string()));
        }
        Ok(addrs)
    }

    /// The first address the host resolves to.
    pub fn resolve(&self) -> Result<SocketAddr, UrlError> {
        self.socket_addrs()?
            .into_iter()
            .next()
            .ok_or_else(|| UrlError::Resolve {
                host: format!("{}:{}", self.host, self.port),
                reason: "no address".to_string(),
            })
    }
}

impl fmt::Display for TargetUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl fmt::Debug for TargetUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("TargetUrl").field(&self.redacted()).finish()
    }
}

/// The checks the URL standard is too lenient for: a `scheme://` in front (the standard
/// reads `localhost:8080/` as scheme `localhost`), a known scheme, a non-empty authority
/// (the standard reads `http:///x` as host `x`), no user information, a port in range.
fn precheck(text: &str) -> Result<Scheme, Problem> {
    let Some((scheme, rest)) = text.split_once("://") else {
        let lower = text.trim().to_ascii_lowercase();
        if lower.starts_with("http:") || lower.starts_with("https:") {
            return Err(Problem::Malformed(
                "expected '//' after the scheme, like http://127.0.0.1:8080/".to_string(),
            ));
        }
        let looks_like_host = !text.trim().is_empty() && !text.trim().contains(char::is_whitespace);
        let suggestion = if looks_like_host {
            format!("http://{}", text.trim())
        } else {
            "http://HOST[:PORT]/PATH, like http://127.0.0.1:8080/".to_string()
        };
        return Err(Problem::NoScheme { suggestion });
    };
    let scheme = Scheme::from_name(&scheme.trim().to_ascii_lowercase())?;
    let authority = authority_text(rest);
    if authority.contains('@') {
        return Err(Problem::UserInfo);
    }
    let port = port_text(text);
    let host = match port {
        Some(p) => authority
            .strip_suffix(p)
            .and_then(|h| h.strip_suffix(':'))
            .unwrap_or(authority),
        None => authority,
    };
    if host.is_empty() {
        return Err(Problem::NoHost);
    }
    // An empty port (`host:/`) is refused too: the standard would read it as port 80.
    if let Some(p) = port.filter(|p| !p.parse::<u16>().is_ok_and(|n| n > 0)) {
        return Err(Problem::Port(p.to_string()));
    }
    if scheme == Scheme::Tcp {
        let beyond = &rest[authority.len()..];
        if port.is_none() || !matches!(beyond, "" | "/") {
            return Err(Problem::TcpAddress);
        }
    }
    Ok(scheme)
}

/// The port as written in the URL's authority: `None` without a `:`, `Some("")` for a `:`
/// with nothing after it.
fn port_text(text: &str) -> Option<&str> {
    let authority = authority_text(text.split_once("://").map_or(text, |(_, r)| r));
    let after_host = match authority.rfind(']') {
        Some(i) => &authority[i + 1..],
        None => authority,
    };
    after_host.rsplit_once(':').map(|(_, p)| p)
}

/// The authority of what follows `scheme://`: up to the path, query or fragment.
fn authority_text(rest: &str) -> &str {
    &rest[..rest.find(['/', '?', '#', '\\']).unwrap_or(rest.len())]
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    fn problem(text: &str) -> Problem {
        match TargetUrl::parse(text) {
            Err(UrlError::Invalid { problem, .. }) => problem,
            other => panic!("{text}: {other:?}"),
        }
    }

    #[test]
    fn the_parts_of_a_url() {
        let u = TargetUrl::parse("http://127.0.0.1:8080/a?b=1").unwrap();
        assert_eq!(u.scheme(), Scheme::Http);
        assert_eq!((u.host(), u.port()), ("127.0.0.1", 8080));
        assert_eq!(u.authority(), "127.0.0.1:8080");
        assert_eq!(u.request_target(), "/a?b=1");
        assert_eq!(u.resolve().unwrap(), "127.0.0.1:8080".parse().unwrap());

        let u = TargetUrl::parse("http://[::1]:9/").unwrap();
        assert_eq!((u.host(), u.port(), u.authority()), ("::1", 9, "[::1]:9"));
        assert_eq!(u.resolve().unwrap(), "[::1]:9".parse().unwrap());

        let u = TargetUrl::parse("http://localhost").unwrap();
        assert_eq!((u.port(), u.request_target()), (80, "/"));
        let u = TargetUrl::parse("http://localhost?x").unwrap();
        assert_eq!(u.request_target(), "/?x");
        let u = TargetUrl::parse("HTTP://Example.COM:80/m#frag").unwrap();
        assert_eq!((u.host(), u.authority()), ("example.com", "example.com"));
        assert_eq!(u.request_target(), "/m");
        // What cannot go on a request line raw is percent-encoded.
        let u = TargetUrl::parse("http://h/a b").unwrap();
        assert_eq!(u.request_target(), "/a%20b");
    }

    #[test]
    fn a_port_out_of_range_is_refused_not_replaced_by_80() {
        for (text, port) in [
            ("http://127.0.0.1:99999/", "99999"),
            ("http://127.0.0.1:65536", "65536"),
            ("http://127.0.0.1:0/", "0"),
            ("http://h:port/", "port"),
            ("http://127.0.0.1:/", ""),
            ("http://[::1]:70000/", "70000"),
        ] {
            assert_eq!(problem(text), Problem::Port(port.to_string()), "{text}");
            let e = TargetUrl::parse(text).unwrap_err().to_string();
            assert!(e.contains(text) && e.contains("1 to 65535"), "{e}");
        }
    }

    #[test]
    fn a_missing_scheme_gets_the_same_hint_with_or_without_a_path() {
        for text in ["127.0.0.1:8099", "127.0.0.1:8099/", "localhost:8099/x"] {
            assert_eq!(
                problem(text),
                Problem::NoScheme {
                    suggestion: format!("http://{text}")
                },
            );
            let e = TargetUrl::parse(text).unwrap_err().to_string();
            assert!(e.contains(&format!("'{text}'")), "{e}");
            assert!(e.contains(&format!("http://{text}")), "{e}");
        }
        let e = TargetUrl::parse("not a url").unwrap_err().to_string();
        assert!(
            e.contains("'not a url'") && e.contains("http://HOST"),
            "{e}"
        );
        assert!(matches!(problem("http:/h/"), Problem::Malformed(_)));
    }

    #[test]
    fn empty_hosts_user_information_and_other_schemes_are_refused() {
        for text in [
            "http://",
            "http://:8080/",
            "http:///path",
            "http://?x",
            "http://[]:80/",
        ] {
            assert!(
                matches!(problem(text), Problem::NoHost | Problem::Malformed(_)),
                "{text}: {:?}",
                problem(text)
            );
        }
        assert_eq!(problem("http://:8080/"), Problem::NoHost);
        assert_eq!(problem("http://u@h/"), Problem::UserInfo);
        let e = TargetUrl::parse("http://bob:hunter2@h/")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("user information") && e.contains("Authorization"),
            "{e}"
        );
        assert!(!e.contains("hunter2"), "{e}");
        let u = TargetUrl::parse("https://h/").unwrap();
        assert_eq!(
            (u.scheme(), u.port(), u.authority()),
            (Scheme::Https, 443, "h")
        );
        let u = TargetUrl::parse("HTTPS://h:8443/x").unwrap();
        assert_eq!(
            (u.scheme(), u.port(), u.authority()),
            (Scheme::Https, 8443, "h:8443")
        );
        assert_eq!(
            problem("ftp://h/"),
            Problem::UnknownScheme("ftp".to_string())
        );
        for text in [
            "tcp://127.0.0.1",
            "tcp://h:9/path",
            "tcp://h:9?q",
            "tcp://h:9#f",
        ] {
            assert_eq!(problem(text), Problem::TcpAddress, "{text}");
        }
        assert!(
            TargetUrl::parse("ftp://x/")
                .unwrap_err()
                .to_string()
                .contains("'ftp://x/'")
        );
    }

    #[test]
    fn a_tcp_url_is_a_host_and_a_port() {
        for text in [
            "tcp://127.0.0.1:6379",
            "tcp://127.0.0.1:6379/",
            "TCP://127.0.0.1:6379",
        ] {
            let u = TargetUrl::parse(text).unwrap();
            assert_eq!(u.scheme(), Scheme::Tcp, "{text}");
            assert_eq!((u.host(), u.port()), ("127.0.0.1", 6379), "{text}");
            assert_eq!(u.resolve().unwrap(), "127.0.0.1:6379".parse().unwrap());
        }
        let u = TargetUrl::parse("tcp://[::1]:7/").unwrap();
        assert_eq!(u.resolve().unwrap(), "[::1]:7".parse().unwrap());
        assert_eq!(u.to_string(), "tcp://[::1]:7/");
        assert_eq!(problem("tcp://h:0"), Problem::Port("0".to_string()));
    }

    #[test]
    fn secrets_never_show() {
        let u = TargetUrl::parse("http://127.0.0.1:9/p?token=SECRET&api_key=SECRET2&n=1").unwrap();
        for shown in [u.to_string(), format!("{u:?}"), u.redacted()] {
            assert!(!shown.contains("SECRET"), "{shown}");
            assert!(
                shown.contains("token=REDACTED") && shown.contains("n=1"),
                "{shown}"
            );
        }
        // The request still carries them.
        assert_eq!(u.request_target(), "/p?token=SECRET&api_key=SECRET2&n=1");
        let e = TargetUrl::parse("http://127.0.0.1:99999/?token=SECRET")
            .unwrap_err()
            .to_string();
        assert!(!e.contains("SECRET") && e.contains("99999"), "{e}");
    }

    #[test]
    fn a_name_resolves_through_the_system_resolver() {
        let u = TargetUrl::parse("http://localhost:81/").unwrap();
        let addrs = u.socket_addrs().unwrap();
        assert!(!addrs.is_empty() && addrs.iter().all(|a| a.port() == 81 && a.ip().is_loopback()));
    }
}
