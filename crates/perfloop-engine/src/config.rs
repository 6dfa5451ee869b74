//! The validated description of a run, and the parsers for the text users type.
//!
//! Everything here is checked before a single connection is opened: a bad URL, duration,
//! rate or stage list is a [`ConfigError`] that names the offending text.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use perfloop_scenario::Scenario;
use perfloop_url::{Scheme, TargetUrl, UrlError};

use crate::framing::RawExchange;
use crate::schedule::{Plan, Stage};
use crate::tls::{TlsClient, TlsOptions};

/// Input that cannot describe a run. Each message names the offending text.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    /// The URL cannot be used (see [`Problem`]) or its host does not resolve.
    #[error(transparent)]
    Url(UrlError),
    /// The TLS settings cannot be used (a file that cannot be read, a key that does not fit
    /// its certificate, TLS options for a plain `http://` URL), or the server's certificate
    /// was refused before the run.
    #[error("{0}")]
    Tls(String),
    /// A duration did not parse.
    #[error("invalid duration '{text}': expected a number with a unit, like 500ms, 10s or 2m")]
    Duration {
        /// The text given.
        text: String,
    },
    /// A rate did not parse or is not positive.
    #[error("invalid rate '{text}': expected a positive number of requests per second")]
    Rate {
        /// The text given.
        text: String,
    },
    /// A stage list did not parse.
    #[error(
        "invalid stages '{text}': {reason} (expected DURATION:TARGET,..., like 10s:100,30s:1000)"
    )]
    Stages {
        /// The text given.
        text: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A header is not `Name: value`.
    #[error(
        "invalid header '{text}': expected 'Name: value' (a name without spaces, the value on one line)"
    )]
    Header {
        /// The text given, its value redacted.
        text: String,
    },
    /// A method is not an HTTP token.
    #[error("invalid method '{text}'")]
    Method {
        /// The text given.
        text: String,
    },
    /// An unknown level name.
    #[error("unknown level '{text}': expected smoke, medium, large or extreme")]
    Level {
        /// The text given.
        text: String,
    },
    /// Settings that contradict each other or are out of range.
    #[error("{0}")]
    Invalid(String),
}

/// Parses a duration such as `500ms`, `10s`, `1.5s`, `2m` or `1h`.
pub fn parse_duration(text: &str) -> Result<Duration, ConfigError> {
    let err = || ConfigError::Duration {
        text: text.to_string(),
    };
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .ok_or_else(err)?;
    let (num, unit) = t.split_at(split);
    let value: f64 = num.parse().map_err(|_| err())?;
    let scale = match unit.trim() {
        "us" | "µs" => 1e-6,
        "ms" => 1e-3,
        "s" | "sec" => 1.0,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        _ => return humantime::parse_duration(t).map_err(|_| err()),
    };
    Duration::try_from_secs_f64(value * scale).map_err(|_| err())
}

/// Parses a positive, finite rate in requests per second.
pub fn parse_rate(text: &str) -> Result<f64, ConfigError> {
    match text.trim().trim_end_matches("/s").parse::<f64>() {
        Ok(r) if r.is_finite() && r > 0.0 => Ok(r),
        _ => Err(ConfigError::Rate {
            text: text.to_string(),
        }),
    }
}

/// Parses `--stages '10s:100,30s:1000,10s:0'`: ramps from 0 to each target in turn.
pub fn parse_stages(text: &str) -> Result<Plan, ConfigError> {
    let err = |reason: String| ConfigError::Stages {
        text: text.to_string(),
        reason,
    };
    let mut stages = Vec::new();
    for part in text.split(',') {
        let part = part.trim();
        let (d, v) = part
            .split_once(':')
            .ok_or_else(|| err(format!("'{part}' has no ':'")))?;
        let duration = parse_duration(d).map_err(|_| err(format!("bad duration '{d}'")))?;
        if duration.is_zero() {
            return Err(err(format!("stage '{part}' has zero length")));
        }
        let target: f64 = v
            .trim()
            .parse()
            .ok()
            .filter(|t: &f64| t.is_finite() && *t >= 0.0)
            .ok_or_else(|| err(format!("bad target '{v}'")))?;
        stages.push(Stage { duration, target });
    }
    if stages.iter().all(|s| s.target == 0.0) {
        return Err(err("every target is 0".to_string()));
    }
    Ok(Plan::Stages(stages))
}

impl From<UrlError> for ConfigError {
    fn from(e: UrlError) -> ConfigError {
        ConfigError::Url(e)
    }
}

/// Parses `Name: value`. The error shows the name only: a header value may be a secret.
pub fn parse_header(text: &str) -> Result<(String, String), ConfigError> {
    let err = || ConfigError::Header {
        text: perfloop_url::redact_header(text),
    };
    let (name, value) = text.split_once(':').ok_or_else(err)?;
    let name = name.trim();
    let valid_name = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
    if !valid_name || value.contains(['\r', '\n']) {
        return Err(err());
    }
    Ok((name.to_string(), value.trim().to_string()))
}

/// The request every worker sends, already split into its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestSpec {
    /// The method, e.g. `GET`.
    pub method: String,
    /// `host[:port]` as written in the URL, for the Host header.
    pub authority: String,
    /// Path and query, at least `/`.
    pub path: String,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
    /// The body (empty for none).
    pub body: Vec<u8>,
    /// Further bodies: each connection sends `body` and these in turn (a workload that
    /// varies, such as different records per request). Empty for one fixed body.
    pub alternate_bodies: Vec<Vec<u8>>,
    /// A scenario: weighted, named requests to the target, sent in place of this one
    /// (`method`, `path` and the bodies unused; `headers` added to each of its requests).
    pub scenario: Option<Arc<Scenario>>,
}

impl RequestSpec {
    /// Whether the request asks the server to close after each response
    /// (`Connection: close`).
    pub fn closes_each(&self) -> bool {
        self.headers.iter().any(|(name, value)| {
            name.eq_ignore_ascii_case("connection")
                && value
                    .split(',')
                    .any(|t| t.trim().eq_ignore_ascii_case("close"))
        })
    }
}

/// Where requests go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The URL; it displays with its secrets redacted.
    pub url: TargetUrl,
    /// The resolved address connections are made to.
    pub addr: SocketAddr,
    /// `host[:port]` from the URL, for the Host header.
    pub authority: String,
    /// Path and query, as sent.
    pub path: String,
    /// The TLS client of an `https://` URL; `None` for plain TCP.
    pub tls: Option<TlsClient>,
    /// HTTP/2 with this many concurrent streams per connection (`--http2`, `--streams`):
    /// ALPN `h2` over TLS, prior knowledge over plain TCP; `None`: HTTP/1.1.
    pub http2: Option<usize>,
    /// Which I/O backend drives the run's connections (`--io`); carried with the target
    /// so every front end that builds a run from a resolved request keeps it.
    pub io: IoChoice,
}

/// The I/O backend asked for (`--io`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IoChoice {
    /// io_uring where the run can use it (plain HTTP/1.1) and the kernel allows it, else
    /// epoll, silently.
    #[default]
    Auto,
    /// The epoll event loop (`mio`), for every kind of run.
    Epoll,
    /// io_uring: plain HTTP/1.1 only; a run it cannot serve, or a kernel without it, is
    /// refused.
    Uring,
}

impl IoChoice {
    /// Parses `auto`, `epoll` or `uring`.
    pub fn parse(text: &str) -> Result<IoChoice, ConfigError> {
        match text.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(IoChoice::Auto),
            "epoll" => Ok(IoChoice::Epoll),
            "uring" | "io_uring" | "io-uring" => Ok(IoChoice::Uring),
            _ => Err(ConfigError::Invalid(format!(
                "invalid --io '{text}': expected auto, epoll or uring"
            ))),
        }
    }

    /// The name as typed.
    pub fn name(self) -> &'static str {
        match self {
            IoChoice::Auto => "auto",
            IoChoice::Epoll => "epoll",
            IoChoice::Uring => "uring",
        }
    }
}

impl Target {
    /// Parses a URL (see [`TargetUrl::parse`]) and resolves its host; an `https://` URL
    /// gets a TLS client that checks the server against the system's roots.
    pub fn parse(url: &str) -> Result<Target, ConfigError> {
        Target::parse_with(url, &TlsOptions::default())
    }

    /// [`Target::parse`] with TLS options; they need an `https://` URL.
    pub fn parse_with(url: &str, tls: &TlsOptions) -> Result<Target, ConfigError> {
        let url = TargetUrl::parse(url)?;
        let tls = match url.scheme() {
            Scheme::Https => Some(TlsClient::new(&url, tls)?),
            _ if tls.is_given() => {
                return Err(ConfigError::Tls(format!(
                    "'{url}': --cacert, --insecure, --cert and --key need an https:// URL"
                )));
            }
            _ => None,
        };
        let addr = url.resolve()?;
        Ok(Target {
            addr,
            authority: url.authority().to_string(),
            path: url.request_target().to_string(),
            url,
            tls,
            http2: None,
            io: IoChoice::Auto,
        })
    }
}

/// The load model.
#[derive(Debug, Clone, PartialEq)]
pub enum Model {
    /// `connections` connections, each sending its next request as soon as the last is answered.
    Closed {
        /// Connections over time.
        connections: Plan,
    },
    /// Arrivals on a schedule, independent of the responses.
    Open {
        /// Arrivals per second over time.
        rate: Plan,
        /// The most connections the engine opens to keep up with the schedule.
        max_connections: usize,
    },
}

impl Model {
    /// `"closed"` or `"open"`.
    pub fn name(&self) -> &'static str {
        match self {
            Model::Closed { .. } => "closed",
            Model::Open { .. } => "open",
        }
    }

    /// The connections or rate plan.
    pub fn plan(&self) -> &Plan {
        match self {
            Model::Closed { connections } => connections,
            Model::Open { rate, .. } => rate,
        }
    }
}

/// When a run ends and how long a request may take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Length of the measured window (after warm-up); `None`: until the request count or,
    /// with stages, the end of the last stage.
    pub duration: Option<Duration>,
    /// Number of measured requests; `None`: until the duration.
    pub requests: Option<u64>,
    /// Load before the measured window whose results are discarded.
    pub warmup: Duration,
    /// How long one request may take, from send to the end of the response.
    pub timeout: Duration,
}

/// A complete, validated run description.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadConfig {
    /// Where requests go.
    pub target: Target,
    /// What is sent.
    pub request: RequestSpec,
    /// Closed or open.
    pub model: Model,
    /// Worker threads, each with its own event loop and connections.
    pub threads: usize,
    /// When the run ends.
    pub limits: Limits,
    /// Raw TCP (`tcp://`): the bytes each request sends and where its response ends, in
    /// place of `request`'s HTTP; `None` for HTTP.
    pub raw: Option<RawExchange>,
}

impl LoadConfig {
    /// The names of the run's endpoints, in the order the recorder indexes them
    /// (`Slot.endpoint`). A plain single-URL run has one: its method and path, the query's
    /// secrets redacted (`GET /search?q=1`).
    pub fn endpoint_names(&self) -> Vec<String> {
        if let Some(scenario) = &self.request.scenario {
            return scenario.names();
        }
        if self.raw.is_some() {
            // Raw TCP sends one thing and has no method or path.
            return vec!["tcp".to_string()];
        }
        vec![format!(
            "{} {}",
            self.request.method,
            perfloop_url::redact_url(&self.request.path)
        )]
    }

    /// Why the run needs the epoll backend (TLS, HTTP/2 and raw TCP have no io_uring
    /// path); `None` when io_uring can drive it.
    pub fn epoll_only(&self) -> Option<&'static str> {
        if self.target.tls.is_some() {
            Some("TLS (https://)")
        } else if self.target.http2.is_some() {
            Some("HTTP/2 (--http2)")
        } else if self.raw.is_some() {
            Some("raw TCP (tcp://)")
        } else {
            None
        }
    }

    /// Checks the settings against each other.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |m: &str| Err(ConfigError::Invalid(m.to_string()));
        if self.threads == 0 {
            return bad("--threads must be at least 1");
        }
        let endless = self.model.plan().length().is_none();
        if self.limits.duration.is_none() && self.limits.requests.is_none() && endless {
            return bad("the run needs an end: a duration (-d), a request count (-n) or stages");
        }
        if self.limits.duration.is_some_and(|d| d.is_zero()) {
            return bad("the duration must be longer than 0");
        }
        if self.limits.requests == Some(0) {
            return bad("-n must be at least 1");
        }
        if self.limits.timeout.is_zero() {
            return bad("--timeout must be longer than 0");
        }
        if let (Some(d), Some(stages)) = (self.limits.duration, self.model.plan().length()) {
            if d > stages {
                return Err(ConfigError::Invalid(format!(
                    "-d {} is longer than the stages ({}): after the last stage the load would \
                     be 0 and dilute every figure; drop -d or add a stage that holds the level",
                    humantime::format_duration(d),
                    humantime::format_duration(stages)
                )));
            }
        }
        if matches!(self.model.plan(), Plan::Stages(_)) && !self.limits.warmup.is_zero() {
            return bad(
                "--warmup cannot be combined with --stages (they start from 0); make the first stage the warm-up",
            );
        }
        match &self.model {
            Model::Closed { connections } => {
                if let Plan::Constant(c) = connections {
                    if *c < 1.0 || c.fract() != 0.0 {
                        return bad("-c must be a whole number of connections, at least 1");
                    }
                }
                if connections.peak() > 100_000.0 {
                    return bad("more than 100000 connections is not supported");
                }
            }
            Model::Open {
                rate,
                max_connections,
            } => {
                if *max_connections == 0 {
                    return bad("--max-connections must be at least 1");
                }
                if rate.peak() > 10_000_000.0 {
                    return bad("a rate above 10000000/s is not supported");
                }
            }
        }
        if let Some(why) = self.epoll_only() {
            if self.target.io == IoChoice::Uring {
                return Err(ConfigError::Invalid(format!(
                    "--io uring drives plain HTTP/1.1 only; {why} runs on epoll: drop --io \
                     uring (or give --io auto)"
                )));
            }
        }
        if self.request.method.is_empty()
            || !self
                .request
                .method
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
        {
            return Err(ConfigError::Method {
                text: self.request.method.clone(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        for bad in ["", "10", "ten seconds", "-1s", "1.2.3s", "5 parsecs"] {
            let e = parse_duration(bad).unwrap_err();
            assert!(e.to_string().contains(&format!("'{bad}'")), "{e}");
        }
    }

    #[test]
    fn rates() {
        assert_eq!(parse_rate("1000"), Ok(1000.0));
        assert_eq!(parse_rate("2.5/s"), Ok(2.5));
        for bad in ["0", "-5", "fast", "inf", "NaN"] {
            assert!(parse_rate(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn stages() {
        let plan = parse_stages("10s:100, 30s:1000,10s:0").unwrap();
        assert_eq!(plan.length(), Some(Duration::from_secs(50)));
        assert_eq!(plan.peak(), 1000.0);
        for (bad, says) in [
            ("10s", "has no ':'"),
            ("10x:5", "bad duration"),
            ("10s:-1", "bad target"),
            ("0s:5", "zero length"),
            ("10s:0", "every target is 0"),
        ] {
            let e = parse_stages(bad).unwrap_err().to_string();
            assert!(e.contains(says) && e.contains(bad), "{e}");
        }
    }

    #[test]
    fn headers() {
        assert_eq!(parse_header("X-A: b c"), Ok(("X-A".into(), "b c".into())));
        assert!(parse_header("no colon").is_err());
        assert!(parse_header("Bad Name: x").is_err());
        assert!(parse_header("X: a\r\nInjected: 1").is_err());
    }

    #[test]
    fn urls() {
        let t = Target::parse("http://127.0.0.1:8080/a?b=1").unwrap();
        assert_eq!(t.addr, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(t.path, "/a?b=1");
        assert_eq!(t.authority, "127.0.0.1:8080");
        let t = Target::parse("http://[::1]:9/").unwrap();
        assert_eq!(t.addr, "[::1]:9".parse().unwrap());
        assert_eq!(Target::parse("http://localhost").unwrap().path, "/");
        let t = Target::parse("https://127.0.0.1:8443/").unwrap();
        assert!(t.tls.is_some() && t.addr.port() == 8443);
        assert!(Target::parse("http://127.0.0.1/").unwrap().tls.is_none());
        let insecure = TlsOptions {
            insecure: true,
            ..TlsOptions::default()
        };
        let e = Target::parse_with("http://127.0.0.1/", &insecure).unwrap_err();
        assert!(e.to_string().contains("need an https:// URL"), "{e}");
        let e = Target::parse("ftp://x/").unwrap_err().to_string();
        assert!(e.contains("ftp://x/"), "{e}");
        assert!(Target::parse("not a url").is_err());
        assert!(Target::parse("127.0.0.1:80").is_err());
    }

    #[test]
    fn url_errors_name_the_text_and_hint_before_any_work() {
        for (text, says) in [
            ("http://127.0.0.1:99999/", "port '99999'"),
            ("http://:8080/", "no host"),
            ("http://user:pw@127.0.0.1/", "Authorization"),
            ("127.0.0.1:8099/", "http://127.0.0.1:8099/"),
            ("127.0.0.1:8099", "http://127.0.0.1:8099"),
        ] {
            let e = Target::parse(text).unwrap_err();
            assert!(matches!(e, ConfigError::Url(_)), "{text}: {e:?}");
            let e = e.to_string();
            assert!(e.contains(says), "{text}: {e}");
        }
        let e = Target::parse("http://127.0.0.1:0/?token=SECRET").unwrap_err();
        assert!(!e.to_string().contains("SECRET"), "{e}");
    }

    #[test]
    fn a_header_error_shows_its_name_not_its_value() {
        let e = parse_header("Bad Name: Bearer SECRET")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("'Bad Name: REDACTED'") && !e.contains("SECRET"),
            "{e}"
        );
        let e = parse_header("no colon").unwrap_err().to_string();
        assert!(e.contains("'no colon'"), "{e}");
    }
}
