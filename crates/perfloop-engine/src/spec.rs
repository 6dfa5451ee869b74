//! A load run as plain data ([`LoadSpec`]) and its one resolution into a validated
//! [`LoadConfig`] ([`LoadSpec::resolve`]).
//!
//! Every front end that starts a load run — `perfloop load`'s flags, a tuning study's
//! workload, the demo — fills a `LoadSpec` and resolves it here, so a setting means the same
//! wherever it comes from. A setting is either text as a user typed it ([`Given::Text`],
//! parsed here, its errors naming the text) or a value already typed ([`Given::Value`],
//! checked the same way).
//!
//! Precedence for every setting: the spec's own value, then the `level` preset, then the
//! default. The defaults are stated once: the `DEFAULT_*` constants below, which
//! [`LoadSpec::default`] and the command line's own defaults use.

use std::path::PathBuf;
use std::time::Duration;

use perfloop_stats::slo::{Slo, SloError, UnknownEndpoint};
use perfloop_url::Scheme;

use crate::config::{
    ConfigError, IoChoice, Limits, LoadConfig, Model, RequestSpec, Target, parse_duration,
    parse_header, parse_rate, parse_stages,
};
use crate::framing::{EscapeError, RawExchange, ResponseEnd, decode_escapes};
use crate::level::{Level, Preset};
use crate::schedule::{Plan, Stage};
use crate::tls::{ALPN_H2, TlsOptions};

/// Closed-model connections when neither the spec nor its level says.
pub const DEFAULT_CONNECTIONS: u32 = 10;
/// The measured window when neither the spec (duration, request count, stages) nor its
/// level says.
pub const DEFAULT_DURATION: Duration = Duration::from_secs(10);
/// Time allowed for one request, from send to the end of the response.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Open model: the most connections opened to keep up with the schedule.
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;

/// A setting as typed by a user, or already a value.
#[derive(Debug, Clone)]
pub enum Given<T> {
    /// Text to parse, e.g. `30s` or `p99<50ms`; an error quotes it.
    Text(String),
    /// A value (still checked as its text would be).
    Value(T),
}

impl<T: Clone> Given<T> {
    /// The value: the text parsed by `parse`, or the value as it is.
    fn get<E>(&self, parse: impl FnOnce(&str) -> Result<T, E>) -> Result<T, E> {
        match self {
            Given::Text(text) => parse(text),
            Given::Value(value) => Ok(value.clone()),
        }
    }
}

/// Which load model a run uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelKind {
    /// Connections, each sending its next request when the last one is answered.
    Closed,
    /// Arrivals on a schedule, independent of the responses.
    Open,
}

/// What each request carries as its body.
#[derive(Debug, Clone, Default)]
pub enum Body {
    /// No body.
    #[default]
    None,
    /// This text.
    Text(String),
    /// The content of this file.
    File(PathBuf),
    /// Each non-empty line of this file, sent in turn by every connection.
    Lines(PathBuf),
    /// These bodies (at least one), sent in turn by every connection.
    Many(Vec<Vec<u8>>),
}

impl Body {
    /// The first body and the ones sent after it in turn.
    fn read(&self) -> Result<(Vec<u8>, Vec<Vec<u8>>), SpecError> {
        match self {
            Body::None => Ok((Vec::new(), Vec::new())),
            Body::Text(text) => Ok((text.clone().into_bytes(), Vec::new())),
            Body::File(path) => std::fs::read(path)
                .map(|bytes| (bytes, Vec::new()))
                .map_err(|source| SpecError::BodyFile {
                    path: path.clone(),
                    source,
                }),
            Body::Lines(path) => {
                let text =
                    std::fs::read_to_string(path).map_err(|source| SpecError::BodyLines {
                        path: path.clone(),
                        source,
                    })?;
                let mut lines = text
                    .lines()
                    .filter(|l| !l.trim().is_empty())
                    .map(|l| l.as_bytes().to_vec());
                let first = lines
                    .next()
                    .ok_or_else(|| SpecError::NoBodyLine { path: path.clone() })?;
                Ok((first, lines.collect()))
            }
            Body::Many(bodies) => bodies
                .split_first()
                .map(|(first, rest)| (first.clone(), rest.to_vec()))
                .ok_or(SpecError::NoBodies),
        }
    }
}

/// What each request is and where it goes: the part of a run that a capacity search's steps
/// share with a load run.
#[derive(Debug, Clone)]
pub struct RequestOptions {
    /// The target URL (`http://` only).
    pub url: String,
    /// The method; `None`: `GET`, or `POST` when a body is given (even an empty one).
    pub method: Option<String>,
    /// Headers, each `Name: value`.
    pub headers: Vec<String>,
    /// The body.
    pub body: Body,
    /// Time allowed for one request, from send to the end of the response.
    pub timeout: Given<Duration>,
    /// Worker threads, each with its own event loop; `None`: the available cores.
    pub threads: Option<usize>,
    /// Raw TCP: what each request sends and where its response ends (`tcp://` only).
    pub raw: RawOptions,
    /// TLS: how the server is checked and the client presents itself (`https://` only).
    pub tls: TlsOptions,
    /// Whether a connection carries more than one request; `false` sends
    /// `Connection: close` and opens a new connection (and TLS handshake) per request.
    pub keepalive: bool,
    /// A scenario file: weighted, named requests to the target in place of one request.
    pub scenario: Option<PathBuf>,
    /// HTTP/2 (`--http2`): ALPN `h2` over TLS, prior knowledge over `http://`.
    pub http2: bool,
    /// HTTP/2: concurrent streams per connection (`--streams`, as h2load's `-m`); `None`:
    /// [`DEFAULT_STREAMS`].
    pub streams: Option<usize>,
    /// The I/O backend (`--io auto|epoll|uring`); default auto: io_uring where the run
    /// and the kernel allow it.
    pub io: Given<IoChoice>,
}

/// HTTP/2 streams per connection unless `--streams` says otherwise: one, as h2load's
/// default, so that `--http2` changes the protocol and not the concurrency (the closed
/// model keeps connections × streams requests in flight).
pub const DEFAULT_STREAMS: usize = 1;
/// The most streams per connection `--streams` accepts.
pub const MAX_STREAMS: usize = 10_000;

/// What a raw TCP run (`tcp://`) sends and how its responses end; all three are refused
/// with any other URL.
#[derive(Debug, Clone, Default)]
pub struct RawOptions {
    /// The file whose bytes each request sends, escapes (`\r`, `\n`, `\t`, `\\`, `\xNN`)
    /// decoded.
    pub send: Option<PathBuf>,
    /// A response is this many bytes.
    pub expect_bytes: Option<u64>,
    /// A response ends with this text (escapes decoded), which belongs to it.
    pub expect_delimiter: Option<String>,
}

impl RawOptions {
    /// The raw exchange of a `tcp://` target (`None` for any other); the options refused
    /// beside a URL that cannot use them.
    fn resolve(
        &self,
        target: &Target,
        http: &RequestOptions,
    ) -> Result<Option<RawExchange>, SpecError> {
        let url = target.url.to_string();
        if target.url.scheme() != Scheme::Tcp {
            let flag = [
                (self.send.is_some(), "--send"),
                (self.expect_bytes.is_some(), "--expect-bytes"),
                (self.expect_delimiter.is_some(), "--expect-delimiter"),
            ]
            .into_iter()
            .find_map(|(given, flag)| given.then_some(flag));
            return match flag {
                Some(flag) => Err(SpecError::RawNeedsTcp { url, flag }),
                None => Ok(None),
            };
        }
        let http_flag = [
            (http.method.is_some(), "--method"),
            (!http.headers.is_empty(), "--header"),
            (!matches!(http.body, Body::None), "a body"),
            (http.scenario.is_some(), "--scenario"),
        ]
        .into_iter()
        .find_map(|(given, flag)| given.then_some(flag));
        if let Some(flag) = http_flag {
            return Err(SpecError::HttpOnly { url, flag });
        }
        let path = self.send.as_ref().ok_or(SpecError::TcpNeedsSend { url })?;
        let text = std::fs::read(path).map_err(|source| SpecError::SendFile {
            path: path.clone(),
            source,
        })?;
        let send = decode_escapes(&text).map_err(|error| SpecError::SendEscape {
            path: path.clone(),
            error,
        })?;
        if send.is_empty() {
            return Err(SpecError::SendEmpty { path: path.clone() });
        }
        let end = match (self.expect_bytes, &self.expect_delimiter) {
            (Some(_), Some(_)) => return Err(SpecError::BothEnds),
            (None, None) => return Err(SpecError::NoEnd),
            (Some(0), None) => return Err(SpecError::ZeroBytes),
            (Some(n), None) => ResponseEnd::Bytes(n),
            (None, Some(text)) => {
                let delimiter = decode_escapes(text.as_bytes()).map_err(|error| {
                    SpecError::DelimiterEscape {
                        text: text.clone(),
                        error,
                    }
                })?;
                if delimiter.is_empty() {
                    return Err(SpecError::EmptyDelimiter);
                }
                ResponseEnd::Delimiter(delimiter)
            }
        };
        Ok(Some(RawExchange { send, end }))
    }
}

impl Default for RequestOptions {
    fn default() -> RequestOptions {
        RequestOptions {
            url: String::new(),
            method: None,
            headers: Vec::new(),
            body: Body::None,
            timeout: Given::Value(DEFAULT_TIMEOUT),
            threads: None,
            raw: RawOptions::default(),
            tls: TlsOptions::default(),
            keepalive: true,
            scenario: None,
            http2: false,
            streams: None,
            io: Given::Value(IoChoice::Auto),
        }
    }
}

/// The request part of a spec, resolved.
#[derive(Debug, Clone)]
pub struct Request {
    /// Where requests go.
    pub target: Target,
    /// What each request is.
    pub spec: RequestSpec,
    /// Time allowed for one request.
    pub timeout: Duration,
    /// Worker threads of the engine.
    pub threads: usize,
    /// Raw TCP: what each request sends and where its response ends; `None` for HTTP.
    pub raw: Option<RawExchange>,
}

impl RequestOptions {
    /// `--http2`'s streams per connection, or `None` for HTTP/1.1; the flags that cannot
    /// go with it refused.
    fn http2_streams(&self, target: &Target) -> Result<Option<usize>, SpecError> {
        let invalid = |m: String| Err(SpecError::Config(ConfigError::Invalid(m)));
        if !self.http2 {
            return match self.streams {
                Some(n) => invalid(format!(
                    "--streams {n} needs --http2 (HTTP/1.1 carries one request per connection \
                     at a time: use --connections)"
                )),
                None => Ok(None),
            };
        }
        let streams = self.streams.unwrap_or(DEFAULT_STREAMS);
        if !(1..=MAX_STREAMS).contains(&streams) {
            return invalid(format!(
                "--streams {streams}: expected 1 to {MAX_STREAMS} concurrent streams per connection"
            ));
        }
        let refused = [
            (target.url.scheme() == Scheme::Tcp, "a tcp:// URL"),
            (!self.keepalive, "--no-keepalive"),
            (self.scenario.is_some(), "--scenario"),
        ]
        .into_iter()
        .find_map(|(given, what)| given.then_some(what));
        match refused {
            Some(what) => invalid(format!(
                "--http2 cannot be used with {what} ('{}'); drop --http2 for HTTP/1.1",
                target.url
            )),
            None => Ok(Some(streams)),
        }
    }

    /// Requests to `url` with every other option at its default.
    pub fn new(url: impl Into<String>) -> RequestOptions {
        RequestOptions {
            url: url.into(),
            ..RequestOptions::default()
        }
    }

    /// Parses the URL (resolving its host) and the headers, reads the bodies.
    pub fn resolve(&self) -> Result<Request, SpecError> {
        let mut tls = self.tls.clone();
        if self.http2 {
            tls.alpn = vec![ALPN_H2.to_vec()];
        }
        let mut target = Target::parse_with(&self.url, &tls)?;
        target.http2 = self.http2_streams(&target)?;
        target.io = self.io.get(IoChoice::parse)?;
        let mut headers = self
            .headers
            .iter()
            .map(|h| parse_header(h))
            .collect::<Result<Vec<_>, _>>()?;
        if !self.keepalive {
            if target.url.scheme() == Scheme::Tcp {
                return Err(SpecError::Config(ConfigError::Invalid(format!(
                    "--no-keepalive needs an http:// or https:// URL, not '{}'",
                    target.url
                ))));
            }
            headers.retain(|(name, _)| !name.eq_ignore_ascii_case("connection"));
            headers.push(("Connection".to_string(), "close".to_string()));
        }
        let raw = self.raw.resolve(&target, self)?;
        let scenario = crate::source::load_scenario(self, &target)?;
        let (body, alternate_bodies) = self.body.read()?;
        let method = match (&self.method, &self.body) {
            (Some(m), _) => m.to_ascii_uppercase(),
            (None, Body::None) => "GET".to_string(),
            (None, _) => "POST".to_string(),
        };
        let timeout = self.timeout.get(parse_duration)?;
        let threads = self
            .threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
        Ok(Request {
            spec: RequestSpec {
                method,
                authority: target.authority.clone(),
                path: target.path.clone(),
                headers,
                body,
                alternate_bodies,
                scenario,
            },
            target,
            timeout,
            threads,
            raw,
        })
    }
}

/// Every option of a load run, as plain data; `None` (or empty) takes the level's value,
/// else the default.
#[derive(Debug, Clone)]
pub struct LoadSpec {
    /// What each request is and where it goes.
    pub request: RequestOptions,
    /// The model (and the one `stages` ramps); `None`: open with a `rate`, else closed.
    pub model: Option<ModelKind>,
    /// Closed model: connections; `None`: the level's, else [`DEFAULT_CONNECTIONS`].
    pub connections: Option<u32>,
    /// Open model: arrivals per second.
    pub rate: Option<Given<f64>>,
    /// Ramps of the rate (open) or connections (closed), from 0, e.g.
    /// `10s:100,30s:1000,10s:0`.
    pub stages: Option<Given<Vec<Stage>>>,
    /// Open model: the most connections opened to keep up with the schedule.
    pub max_connections: usize,
    /// A named preset (smoke, medium, large, extreme) for what the spec leaves out.
    pub level: Option<Given<Level>>,
    /// The measured window; `None`: until the request count if one is given, else the
    /// stages' length, the level's, or [`DEFAULT_DURATION`].
    pub duration: Option<Given<Duration>>,
    /// Measured requests (with a duration: whichever comes first).
    pub requests: Option<u64>,
    /// Load before the measured window, excluded from the figures; `None`: the level's
    /// (none when the load ramps in stages), else none.
    pub warmup: Option<Given<Duration>>,
    /// Objectives the run is judged by, e.g. `p99<200ms`.
    pub slos: Vec<Given<Slo>>,
}

impl Default for LoadSpec {
    fn default() -> LoadSpec {
        LoadSpec {
            request: RequestOptions::default(),
            model: None,
            connections: None,
            rate: None,
            stages: None,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            level: None,
            duration: None,
            requests: None,
            warmup: None,
            slos: Vec::new(),
        }
    }
}

/// A load run ready to start.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The engine's configuration, validated.
    pub config: LoadConfig,
    /// Objectives to judge the run by.
    pub slos: Vec<Slo>,
    /// The level, if one was named.
    pub level: Option<Level>,
}

/// A spec that cannot describe a run. Each message names the offending text and says
/// what would do.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// A setting does not parse, or the run it describes is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// An objective does not parse.
    #[error(transparent)]
    Slo(#[from] SloError),
    /// An objective names an endpoint the run does not have.
    #[error(transparent)]
    UnknownEndpoint(#[from] UnknownEndpoint),
    /// A body file cannot be read.
    #[error("cannot read --body-file '{}'", path.display())]
    BodyFile {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A file of bodies cannot be read.
    #[error("cannot read --body-lines '{}'", path.display())]
    BodyLines {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A file of bodies has none.
    #[error("--body-lines '{}' has no non-empty line", path.display())]
    NoBodyLine {
        /// The file.
        path: PathBuf,
    },
    /// A list of bodies is empty.
    #[error("no request body in the list of bodies; give at least one")]
    NoBodies,
    /// Both connections and a rate.
    #[error("-c (closed model) and --rate (open model) exclude each other; give one")]
    ConnectionsAndRate,
    /// Stages beside connections or a rate.
    #[error("--stages sets the load itself; drop -c/--rate and choose the model with --model")]
    StagesAndLoad,
    /// A rate with the closed model.
    #[error("--rate needs the open model, not --model closed")]
    RateNeedsOpen,
    /// The open model without a rate.
    #[error("the open model needs --rate R or --stages")]
    OpenNeedsRate,
    /// A scenario file that cannot be used (its file, line and column named).
    #[error(transparent)]
    Scenario(#[from] perfloop_scenario::ScenarioError),
    /// A scenario beside what it replaces, or with a target it cannot serve.
    #[error("{0}")]
    ScenarioWith(String),
    /// A raw TCP option beside a URL that is not `tcp://`.
    #[error("{flag} needs a tcp:// URL, not '{url}'; for HTTP give a body with -b/--body-file")]
    RawNeedsTcp {
        /// The URL given, secrets redacted.
        url: String,
        /// The option.
        flag: &'static str,
    },
    /// An HTTP option beside a `tcp://` URL.
    #[error("'{url}' is raw TCP: {flag} is HTTP's; put the bytes to send in the --send file")]
    HttpOnly {
        /// The URL given.
        url: String,
        /// The option.
        flag: &'static str,
    },
    /// A `tcp://` URL without `--send`.
    #[error(
        "'{url}' is raw TCP: give the bytes each request sends with --send FILE (escapes \\r \\n \\t \\\\ \\xNN), \
         and where a response ends with --expect-bytes N or --expect-delimiter TEXT"
    )]
    TcpNeedsSend {
        /// The URL given.
        url: String,
    },
    /// The `--send` file cannot be read.
    #[error("cannot read --send '{}'", path.display())]
    SendFile {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The `--send` file has an escape that does not decode.
    #[error("--send '{}': {error}", path.display())]
    SendEscape {
        /// The file.
        path: PathBuf,
        /// Where and what.
        error: EscapeError,
    },
    /// The `--send` file is empty.
    #[error("--send '{}' is empty: each request must send at least one byte", path.display())]
    SendEmpty {
        /// The file.
        path: PathBuf,
    },
    /// Both ends of a response given.
    #[error("--expect-bytes and --expect-delimiter exclude each other; give one")]
    BothEnds,
    /// No end of a response given.
    #[error(
        "raw TCP needs where a response ends: --expect-bytes N (a fixed length) or \
         --expect-delimiter TEXT (like '\\r\\n')"
    )]
    NoEnd,
    /// `--expect-bytes 0`.
    #[error("--expect-bytes 0: a response must be at least 1 byte")]
    ZeroBytes,
    /// The delimiter has an escape that does not decode.
    #[error("--expect-delimiter '{text}': {error}")]
    DelimiterEscape {
        /// The text given.
        text: String,
        /// Where and what.
        error: EscapeError,
    },
    /// An empty delimiter.
    #[error("--expect-delimiter '': the delimiter must be at least 1 byte")]
    EmptyDelimiter,
}

impl LoadSpec {
    /// A run against `url` with every other option at its default.
    pub fn new(url: impl Into<String>) -> LoadSpec {
        LoadSpec {
            request: RequestOptions::new(url),
            ..LoadSpec::default()
        }
    }

    /// Resolves the spec into a validated run: its own values, then the level's, then the
    /// defaults.
    pub fn resolve(&self) -> Result<Resolved, SpecError> {
        let level = self
            .level
            .as_ref()
            .map(|l| l.get(Level::parse))
            .transpose()?;
        let preset = level.map(Level::preset);
        let request = self.request.resolve()?;
        let rate = self.rate.as_ref().map(rate).transpose()?;
        let stages = self.stages.as_ref().map(stages).transpose()?;
        let model = self.model(rate, stages, preset.as_ref())?;
        crate::source::check_think_time(&request.spec, &model)?;
        let duration = match &self.duration {
            Some(d) => Some(d.get(parse_duration)?),
            None if self.requests.is_some() => None,
            None => Some(
                model
                    .plan()
                    .length()
                    .or(preset.as_ref().map(|p| p.duration))
                    .unwrap_or(DEFAULT_DURATION),
            ),
        };
        let warmup = match &self.warmup {
            Some(w) => w.get(parse_duration)?,
            // Stages ramp from 0: the first stage is the warm-up.
            None if matches!(model.plan(), Plan::Stages(_)) => Duration::ZERO,
            None => preset.as_ref().map_or(Duration::ZERO, |p| p.warmup),
        };
        let slos = self
            .slos
            .iter()
            .map(|s| s.get(Slo::parse))
            .collect::<Result<Vec<_>, _>>()?;
        let config = LoadConfig {
            request: request.spec,
            target: request.target,
            model,
            threads: request.threads,
            raw: request.raw,
            limits: Limits {
                duration,
                requests: self.requests,
                warmup,
                timeout: request.timeout,
            },
        };
        config.validate()?;
        let names = config.endpoint_names();
        for slo in &slos {
            slo.check_endpoint(&names)?;
        }
        Ok(Resolved {
            config,
            slos,
            level,
        })
    }

    /// The model and its plan: stages, else the rate or connections, else the level's
    /// connections, else [`DEFAULT_CONNECTIONS`].
    fn model(
        &self,
        rate: Option<f64>,
        stages: Option<Plan>,
        preset: Option<&Preset>,
    ) -> Result<Model, SpecError> {
        if rate.is_some() && self.connections.is_some() {
            return Err(SpecError::ConnectionsAndRate);
        }
        if stages.is_some() && (rate.is_some() || self.connections.is_some()) {
            return Err(SpecError::StagesAndLoad);
        }
        let kind = match (self.model, rate) {
            (Some(ModelKind::Closed), Some(_)) => return Err(SpecError::RateNeedsOpen),
            (Some(kind), _) => kind,
            (None, Some(_)) => ModelKind::Open,
            (None, None) => ModelKind::Closed,
        };
        Ok(match kind {
            ModelKind::Open => Model::Open {
                rate: stages
                    .or(rate.map(Plan::Constant))
                    .ok_or(SpecError::OpenNeedsRate)?,
                max_connections: self.max_connections,
            },
            ModelKind::Closed => Model::Closed {
                connections: stages
                    .or(self.connections.map(|c| Plan::Constant(f64::from(c))))
                    .or(preset.map(|p| p.connections.clone()))
                    .unwrap_or(Plan::Constant(f64::from(DEFAULT_CONNECTIONS))),
            },
        })
    }
}

/// A rate: the text parsed, or the value held to the same rule (positive, finite).
fn rate(given: &Given<f64>) -> Result<f64, ConfigError> {
    match given {
        Given::Text(text) => parse_rate(text),
        Given::Value(r) if r.is_finite() && *r > 0.0 => Ok(*r),
        Given::Value(r) => Err(ConfigError::Rate {
            text: r.to_string(),
        }),
    }
}

/// Stages: the text parsed, or the list held to the same rules as the text.
fn stages(given: &Given<Vec<Stage>>) -> Result<Plan, ConfigError> {
    let list = match given {
        Given::Text(text) => return parse_stages(text),
        Given::Value(list) => list,
    };
    let err = |reason: String| ConfigError::Stages {
        text: list
            .iter()
            .map(|s| format!("{}:{}", humantime::format_duration(s.duration), s.target))
            .collect::<Vec<_>>()
            .join(","),
        reason,
    };
    if let Some(s) = list.iter().find(|s| s.duration.is_zero()) {
        return Err(err(format!("a stage to {} has zero length", s.target)));
    }
    if let Some(s) = list
        .iter()
        .find(|s| !(s.target.is_finite() && s.target >= 0.0))
    {
        return Err(err(format!("bad target '{}'", s.target)));
    }
    if list.iter().all(|s| s.target == 0.0) {
        return Err(err("every target is 0".to_string()));
    }
    Ok(Plan::Stages(list.clone()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const URL: &str = "http://127.0.0.1:9/x";

    /// A spec for [`URL`] with `set` applied.
    fn with(set: impl FnOnce(&mut LoadSpec)) -> LoadSpec {
        let mut spec = LoadSpec::new(URL);
        set(&mut spec);
        spec
    }

    fn text<T>(t: &str) -> Option<Given<T>> {
        Some(Given::Text(t.to_string()))
    }

    fn resolved(spec: &LoadSpec) -> Resolved {
        spec.resolve().unwrap()
    }

    fn closed(connections: f64) -> Model {
        Model::Closed {
            connections: Plan::Constant(connections),
        }
    }

    /// Each spec fails, its message containing the text given beside it.
    fn assert_errors(cases: Vec<(LoadSpec, &str)>) {
        for (spec, says) in cases {
            let e = spec.resolve().unwrap_err().to_string();
            assert!(e.contains(says), "{spec:?}: expected '{says}' in: {e}");
        }
    }

    #[test]
    fn an_objective_on_an_unknown_endpoint_names_the_runs_endpoints() {
        let r = resolved(&with(|s| {
            s.slos = vec![Given::Text("GET /x: p99<1ms".into())];
        }));
        assert_eq!(r.slos[0].endpoint(), Some("GET /x"));
        assert_eq!(r.config.endpoint_names(), ["GET /x"]);
        assert_errors(vec![(
            with(|s| s.slos = vec![Given::Text("GET /y: p99<1ms".into())]),
            "unknown endpoint 'GET /y' (did you mean 'GET /x'?); the run's endpoints are: 'GET /x'",
        )]);
    }

    #[test]
    fn defaults_apply_when_nothing_is_given() {
        let r = resolved(&LoadSpec::new(URL));
        assert_eq!(r.config.model, closed(10.0));
        let l = &r.config.limits;
        assert_eq!(l.duration, Some(DEFAULT_DURATION));
        assert_eq!((l.requests, l.warmup), (None, Duration::ZERO));
        assert_eq!(l.timeout, DEFAULT_TIMEOUT);
        assert!(r.config.threads >= 1);
        assert_eq!(r.config.request.method, "GET");
        assert_eq!(r.config.request.path, "/x");
        assert!(r.config.request.body.is_empty() && r.slos.is_empty() && r.level.is_none());
    }

    #[test]
    fn a_setting_beats_the_level_which_beats_the_default() {
        let level = with(|s| s.level = text("medium"));
        let r = resolved(&level);
        assert_eq!(r.level, Some(Level::Medium));
        assert_eq!(r.config.model, closed(32.0));
        assert_eq!(r.config.limits.duration, Some(Duration::from_secs(20)));
        assert_eq!(r.config.limits.warmup, Duration::from_secs(2));

        let given = LoadSpec {
            connections: Some(4),
            duration: text("3s"),
            warmup: Some(Given::Value(Duration::ZERO)),
            ..level.clone()
        };
        let r = resolved(&given);
        assert_eq!(r.config.model, closed(4.0));
        assert_eq!(r.config.limits.duration, Some(Duration::from_secs(3)));
        assert_eq!(r.config.limits.warmup, Duration::ZERO);

        // A request count ends the run by itself: no duration from the level or default.
        let counted = LoadSpec {
            requests: Some(50),
            ..level
        };
        assert_eq!(resolved(&counted).config.limits.duration, None);
    }

    #[test]
    fn stages_set_the_duration_and_no_warmup() {
        let r = resolved(&with(|s| s.level = Some(Given::Value(Level::Extreme))));
        assert_eq!(r.config.limits.duration, Some(Duration::from_secs(120)));
        assert_eq!(r.config.limits.warmup, Duration::ZERO);

        let r = resolved(&with(|s| {
            s.level = text("medium");
            s.model = Some(ModelKind::Open);
            s.stages = text("1s:100,2s:300");
        }));
        assert!(matches!(r.config.model, Model::Open { .. }));
        assert_eq!(r.config.model.plan().peak(), 300.0);
        assert_eq!(r.config.limits.duration, Some(Duration::from_secs(3)));
        assert_eq!(r.config.limits.warmup, Duration::ZERO);
    }

    #[test]
    fn a_rate_chooses_the_open_model() {
        let r = resolved(&with(|s| {
            s.rate = text("250/s");
            s.max_connections = 7;
        }));
        let open = Model::Open {
            rate: Plan::Constant(250.0),
            max_connections: 7,
        };
        assert_eq!(r.config.model, open);
    }

    #[test]
    fn text_and_values_resolve_alike() {
        let typed = with(|s| {
            s.rate = Some(Given::Value(100.0));
            s.duration = Some(Given::Value(Duration::from_secs(120)));
            s.level = Some(Given::Value(Level::Smoke));
            s.slos = vec![Given::Value(Slo::parse("p99<5ms").unwrap())];
        });
        let texts = with(|s| {
            s.rate = text("100");
            s.duration = text("2m");
            s.level = text("smoke");
            s.slos = vec![Given::Text("p99<5ms".into())];
        });
        let (a, b) = (resolved(&typed), resolved(&texts));
        assert_eq!(a.config.model, b.config.model);
        assert_eq!(a.config.limits, b.config.limits);
        assert_eq!(a.slos, b.slos);
        assert_eq!(a.level, b.level);
    }

    #[test]
    fn bad_text_is_an_error_naming_it() {
        let stage = |seconds, target| Stage {
            duration: Duration::from_secs(seconds),
            target,
        };
        assert_errors(vec![
            (LoadSpec::new("not a url"), "not a url"),
            (
                with(|s| s.request.tls.insecure = true),
                "need an https:// URL",
            ),
            (with(|s| s.duration = text("ten")), "'ten'"),
            (with(|s| s.warmup = text("-1s")), "'-1s'"),
            (with(|s| s.rate = text("fast")), "'fast'"),
            (with(|s| s.stages = text("10s:x")), "'10s:x'"),
            (with(|s| s.level = text("huge")), "'huge'"),
            (
                with(|s| s.slos = vec![Given::Text("p42<1ms".into())]),
                "p42",
            ),
            (
                with(|s| s.request.headers = vec!["no colon".into()]),
                "'no colon'",
            ),
            (
                with(|s| s.request.timeout = Given::Text("soon".into())),
                "'soon'",
            ),
            (with(|s| s.request.method = Some("G T".into())), "'G T'"),
            // Values are held to the rules their text would be.
            (with(|s| s.rate = Some(Given::Value(-3.0))), "'-3'"),
            (
                with(|s| s.stages = Some(Given::Value(vec![stage(0, 5.0)]))),
                "zero length",
            ),
            (
                with(|s| s.stages = Some(Given::Value(vec![stage(1, 0.0)]))),
                "'1s:0'",
            ),
        ]);
    }

    #[test]
    fn settings_that_contradict_each_other_are_errors() {
        assert_errors(vec![
            (
                with(|s| {
                    s.connections = Some(4);
                    s.rate = text("100");
                }),
                "exclude each other",
            ),
            (
                with(|s| {
                    s.connections = Some(4);
                    s.stages = text("1s:10");
                }),
                "--stages sets the load itself",
            ),
            (
                with(|s| {
                    s.model = Some(ModelKind::Closed);
                    s.rate = text("100");
                }),
                "--rate needs the open model",
            ),
            (
                with(|s| s.model = Some(ModelKind::Open)),
                "needs --rate R or --stages",
            ),
            (
                with(|s| {
                    s.stages = text("1s:10");
                    s.duration = text("5s");
                }),
                "longer than the stages",
            ),
            (with(|s| s.connections = Some(0)), "-c must be"),
            (with(|s| s.request.threads = Some(0)), "--threads"),
        ]);
    }

    #[test]
    fn bodies_are_read_and_make_the_method_post() {
        let dir = std::env::temp_dir().join(format!("perfloop-spec-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let lines = dir.join("lines.txt");
        std::fs::write(&lines, "a\n\n  \nb\nc\n").unwrap();
        let blank = dir.join("blank.txt");
        std::fs::write(&blank, "\n \n").unwrap();
        let missing = dir.join("missing.txt");
        let body = |body: Body| with(|s| s.request.body = body);

        let r = resolved(&body(Body::Lines(lines.clone())));
        assert_eq!(r.config.request.method, "POST");
        assert_eq!(r.config.request.body, b"a");
        let rest = vec![b"b".to_vec(), b"c".to_vec()];
        assert_eq!(r.config.request.alternate_bodies, rest);

        let r = resolved(&body(Body::File(lines)));
        assert_eq!(r.config.request.body, b"a\n\n  \nb\nc\n");
        assert!(r.config.request.alternate_bodies.is_empty());

        // Even an empty body makes the default method POST; a method given wins.
        let r = resolved(&body(Body::Text(String::new())));
        assert_eq!(r.config.request.method, "POST");
        let mut put = body(Body::Many(vec![b"1".to_vec(), b"2".to_vec()]));
        put.request.method = Some("put".into());
        let r = resolved(&put);
        assert_eq!(r.config.request.method, "PUT");
        assert_eq!(r.config.request.alternate_bodies, vec![b"2".to_vec()]);

        let file = format!("--body-file '{}'", missing.display());
        let lines = format!("--body-lines '{}'", missing.display());
        let empty = format!("'{}' has no non-empty line", blank.display());
        assert_errors(vec![
            (body(Body::File(missing.clone())), &file),
            (body(Body::Lines(missing)), &lines),
            (body(Body::Lines(blank)), &empty),
            (body(Body::Many(Vec::new())), "no request body"),
        ]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
