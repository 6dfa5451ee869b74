//! Readiness: when a started target counts as ready.
//!
//! - `http://HOST[:PORT][/PATH]` ([`Ready::Url`], a [`TargetUrl`]): a GET answers with a
//!   2xx status. The probe is a minimal HTTP/1.1 client on a std `TcpStream` (connect, one
//!   request with `Connection: close`, the status line read back) with short timeouts;
//!   `https` is not supported (use `tcp:PORT` for a TLS service).
//! - `tcp:PORT` ([`Ready::Tcp`]): a TCP connection to `127.0.0.1:PORT` (or `[::1]:PORT`) is
//!   accepted.
//! - `log:REGEX` ([`Ready::Log`]): a line that the target wrote to its log since it started
//!   matches the regex (matched line by line, the last partial line included).
//!
//! [`Ready::parse`] reads the `--ready` text; perfloop probes every 25 ms until the
//! readiness timeout.

use std::fmt;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::Duration;

use perfloop_url::{Problem, TargetUrl, UrlError};
use regex::Regex;

use crate::logfile::LogScanner;

/// When a target counts as ready.
#[derive(Debug, Clone)]
pub enum Ready {
    /// An HTTP GET of this `http://` URL answers 2xx.
    Url(TargetUrl),
    /// A TCP connection to this port on the loopback interface is accepted.
    Tcp(u16),
    /// A line of the target's log matches this regex.
    Log(Regex),
}

/// A `--ready` text that is not a readiness condition.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid readiness condition `{text}`: {reason}; expected an http:// URL, tcp:PORT or \
     log:REGEX"
)]
pub struct ReadyError {
    /// The text given.
    pub text: String,
    /// What is wrong.
    pub reason: String,
}

impl Ready {
    /// Parses `http://...`, `tcp:PORT` or `log:REGEX`.
    pub fn parse(text: &str) -> Result<Ready, ReadyError> {
        let err = |reason: String| ReadyError {
            text: text.to_string(),
            reason,
        };
        let t = text.trim();
        if let Some(port) = t.strip_prefix("tcp:") {
            let port: u16 = port
                .trim()
                .parse()
                .map_err(|_| err(format!("`{port}` is not a port number")))?;
            if port == 0 {
                return Err(err("port 0 cannot be probed".into()));
            }
            return Ok(Ready::Tcp(port));
        }
        if let Some(pattern) = t.strip_prefix("log:") {
            if pattern.is_empty() {
                return Err(err("the regex is empty".into()));
            }
            return Regex::new(pattern)
                .map(Ready::Log)
                .map_err(|e| err(format!("bad regex: {e}")));
        }
        // The error shows the URL with its secrets redacted.
        let url_err = |reason: String| ReadyError {
            text: perfloop_url::redact_url(text),
            reason,
        };
        match TargetUrl::parse(t) {
            Ok(url) if url.scheme() == perfloop_url::Scheme::Http => Ok(Ready::Url(url)),
            Ok(url) => Err(url_err(format!(
                "{}:// is not supported by the readiness probe yet; use tcp:PORT",
                url.scheme()
            ))),
            Err(UrlError::Invalid {
                problem: Problem::NotSupportedYet(scheme),
                ..
            }) => Err(url_err(format!(
                "{scheme} is not supported by the readiness probe yet; use tcp:PORT"
            ))),
            Err(UrlError::Invalid { problem, .. }) => Err(url_err(problem.to_string())),
            Err(e) => Err(url_err(e.to_string())),
        }
    }

    /// One probe (not for [`Ready::Log`], which needs the log): whether the condition holds
    /// now. Each network step waits at most `timeout`.
    fn probe_network(&self, timeout: Duration) -> bool {
        let timeout = timeout.max(Duration::from_millis(1));
        match self {
            Ready::Url(url) => http_ok(url, timeout),
            Ready::Tcp(port) => ["127.0.0.1", "::1"].iter().any(|ip| {
                ip.parse().is_ok_and(|ip| {
                    TcpStream::connect_timeout(&SocketAddr::new(ip, *port), timeout).is_ok()
                })
            }),
            Ready::Log(_) => false,
        }
    }
}

impl fmt::Display for Ready {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ready::Url(url) => write!(f, "{url}"),
            Ready::Tcp(port) => write!(f, "tcp:{port}"),
            Ready::Log(re) => write!(f, "log:{}", re.as_str()),
        }
    }
}

/// Whether a GET of `url` answers with a 2xx status line.
fn http_ok(url: &TargetUrl, timeout: Duration) -> bool {
    let Ok(addrs) = url.socket_addrs() else {
        return false;
    };
    for addr in addrs {
        let Ok(mut stream) = TcpStream::connect_timeout(&addr, timeout) else {
            continue;
        };
        if stream.set_read_timeout(Some(timeout)).is_err()
            || stream.set_write_timeout(Some(timeout)).is_err()
        {
            continue;
        }
        let request = format!(
            "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: perfloop-ready\r\nAccept: */*\r\n\
             Connection: close\r\n\r\n",
            url.request_target(),
            url.authority()
        );
        if stream.write_all(request.as_bytes()).is_err() {
            continue;
        }
        let mut head = Vec::with_capacity(64);
        let mut buf = [0u8; 256];
        while !head.contains(&b'\n') && head.len() < 1024 {
            match stream.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => head.extend_from_slice(&buf[..n]),
            }
        }
        return status_is_2xx(&head);
    }
    false
}

/// Whether an HTTP response head starts with `HTTP/1.x 2xx`.
fn status_is_2xx(head: &[u8]) -> bool {
    let line = String::from_utf8_lossy(head);
    let mut parts = line.split_whitespace();
    parts.next().is_some_and(|v| v.starts_with("HTTP/"))
        && parts.next().is_some_and(|code| {
            code.len() == 3 && code.starts_with('2') && code.bytes().all(|b| b.is_ascii_digit())
        })
}

/// A readiness check in progress: remembers how far the log was read.
#[derive(Debug)]
pub(crate) struct Probe<'a> {
    ready: &'a Ready,
    log: LogScanner,
}

impl<'a> Probe<'a> {
    /// A probe of `ready` for a target logging to `log` from byte `start`.
    pub fn new(ready: &'a Ready, log: &Path, start: u64) -> Probe<'a> {
        Probe {
            ready,
            log: LogScanner::new(log, start),
        }
    }

    /// Whether the condition holds now; network steps wait at most `timeout`.
    pub fn check(&mut self, timeout: Duration) -> bool {
        match self.ready {
            Ready::Log(re) => self.log.matches(re),
            other => other.probe_network(timeout),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn parses_the_three_kinds() {
        assert!(matches!(Ready::parse("tcp:8080"), Ok(Ready::Tcp(8080))));
        let Ok(Ready::Log(re)) = Ready::parse("log:listening on \\d+") else {
            panic!("not a log condition")
        };
        assert!(re.is_match("listening on 80"));
        let Ok(Ready::Url(url)) = Ready::parse("http://127.0.0.1:9000/health") else {
            panic!("not a URL")
        };
        assert_eq!(url.to_string(), "http://127.0.0.1:9000/health");
        assert_eq!(Ready::parse("tcp:1").unwrap().to_string(), "tcp:1");
        assert_eq!(Ready::parse("log:a+").unwrap().to_string(), "log:a+");
    }

    #[test]
    fn refuses_what_it_cannot_probe() {
        for bad in [
            "tcp:x",
            "tcp:0",
            "tcp:70000",
            "log:",
            "log:(",
            "https://example.invalid/",
            "ftp://x",
            "localhost:80",
            "http://",
            "http://:80/",
            "http://h:port/",
        ] {
            let err = Ready::parse(bad).unwrap_err();
            assert_eq!(err.text, bad);
            assert!(err.to_string().contains("tcp:PORT"), "{err}");
        }
    }

    #[test]
    fn url_parts() {
        let Ok(Ready::Url(u)) = Ready::parse("http://[::1]:8080/a?b=1") else {
            panic!("not a URL")
        };
        assert_eq!(
            (u.host(), u.port(), u.request_target()),
            ("::1", 8080, "/a?b=1")
        );
        assert_eq!(u.authority(), "[::1]:8080");
        let Ok(Ready::Url(u)) = Ready::parse("http://localhost?x") else {
            panic!("not a URL")
        };
        assert_eq!(
            (u.host(), u.port(), u.request_target()),
            ("localhost", 80, "/?x")
        );
    }

    #[test]
    fn a_bad_url_gets_its_hint_and_keeps_its_secrets() {
        for (bad, says) in [
            ("http://127.0.0.1:99999/", "port '99999'"),
            ("127.0.0.1:8099/health", "http://127.0.0.1:8099/health"),
            ("http://u:pw@127.0.0.1/", "user information"),
            (
                "https://127.0.0.1/",
                "not supported by the readiness probe yet",
            ),
        ] {
            let err = Ready::parse(bad).unwrap_err().to_string();
            assert!(err.contains(says), "{bad}: {err}");
        }
        let err = Ready::parse("http://127.0.0.1:0/health?token=SECRET").unwrap_err();
        assert!(!err.to_string().contains("SECRET"), "{err}");
        let ready = Ready::parse("http://127.0.0.1:9/health?token=SECRET").unwrap();

        assert!(!ready.to_string().contains("SECRET"), "{ready}");
        assert!(!format!("{ready:?}").contains("SECRET"), "{ready:?}");
    }

    #[test]
    fn status_lines() {
        assert!(status_is_2xx(b"HTTP/1.1 200 OK\r\n"));
        assert!(status_is_2xx(b"HTTP/1.0 204 No Content\r\n"));
        assert!(!status_is_2xx(b"HTTP/1.1 503 Busy\r\n"));
        assert!(!status_is_2xx(b"HTTP/1.1 2000 x\r\n"));
        assert!(!status_is_2xx(b"garbage"));
    }

    #[test]
    fn probes_a_real_listener() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            for answer in ["HTTP/1.1 200 OK\r\n\r\n", "HTTP/1.1 500 No\r\n\r\n"] {
                let (mut s, _) = listener.accept().unwrap();
                let mut buf = [0u8; 1024];
                let _ = s.read(&mut buf).unwrap();
                s.write_all(answer.as_bytes()).unwrap();
            }
        });
        let t = Duration::from_secs(2);
        let url = Ready::parse(&format!("http://127.0.0.1:{port}/health")).unwrap();
        assert!(url.probe_network(t));
        assert!(!url.probe_network(t));
        server.join().unwrap();
        // Nothing listens on port 1 (the closed listener's port could already be another
        // test's).
        assert!(!Ready::Tcp(1).probe_network(Duration::from_millis(200)));
    }
}
