//! The validated scenario ([`Scenario`]) and how a file becomes one: the TOML read strictly,
//! every request checked (name, method, path or URL, headers, body, weight), every
//! placeholder resolved to a feeder column, a sequence or a random number, and the feeders
//! read and checked for the places their values go.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use perfloop_url::{Scheme, TargetUrl};
use toml::Spanned;

use crate::alert::AlertText;
use crate::error::{At, ScenarioError, Source, file_error};
use crate::feeder::{self, Feeder};
use crate::raw::{RawRequest, RawScenario};
use crate::template::{Context, Part, Piece, Template, split};

/// The seed of the random choices when the scenario gives none.
pub const DEFAULT_SEED: u64 = 0x5EED;

/// A scenario, validated: the requests and what their placeholders take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scenario {
    /// The file it was read from, as given.
    pub file: String,
    /// The requests, in the file's order (the order of the endpoints in reports).
    pub requests: Vec<Request>,
    /// Closed model: the pause between a connection's requests.
    pub think_time: Option<ThinkTime>,
    /// The seed of the random choices.
    pub seed: u64,
    /// Alert rules for runs of this scenario (`alerts = [...]`), as written with their
    /// places, in the file's order; unchecked here (see [`AlertText`]).
    pub alerts: Vec<AlertText>,
    pub(crate) values: Vec<Value>,
    pub(crate) feeders: Vec<Feeder>,
    /// Each sequence's start and step.
    pub(crate) sequences: Vec<(i64, i64)>,
    /// Each random number's range.
    pub(crate) randoms: Vec<(i64, i64)>,
}

/// A pause drawn uniformly between two lengths (equal for a fixed pause).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThinkTime {
    /// The shortest pause.
    pub min: Duration,
    /// The longest pause.
    pub max: Duration,
}

/// One request of the mix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Its name in reports and SLOs.
    pub name: String,
    /// The method, upper case.
    pub method: String,
    /// Path and query, starting with `/`.
    pub path: Template,
    /// Headers: the scenario's, then the request's (a request's header replaces the
    /// scenario's of the same name).
    pub headers: Vec<(String, Template)>,
    /// The body (empty for none).
    pub body: Template,
    /// Its share of the mix, against the sum of the weights.
    pub weight: u32,
    /// The scheme, host and port of a request given by `url`, and where.
    pub origin: Option<Origin>,
    pub(crate) uses: Uses,
}

/// Where a request given by a full URL goes, checked against the run's target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The scheme.
    pub scheme: Scheme,
    /// The host, without brackets.
    pub host: String,
    /// The port.
    pub port: u16,
    /// The `url` value's place in the file.
    pub at: At,
}

/// What a placeholder takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Value {
    /// A feeder's column: the value of the row drawn for the request.
    Column { feeder: usize, column: usize },
    /// A counter: its start, then each draw its step more (interleaved across workers).
    Sequence { index: usize },
    /// A whole number drawn uniformly in its range.
    Random { index: usize },
}

/// The feeders, sequences and random numbers a request draws from (each once per request,
/// however many of its placeholders use it).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Uses {
    pub(crate) feeders: Vec<usize>,
    pub(crate) sequences: Vec<usize>,
    pub(crate) randoms: Vec<usize>,
}

impl Request {
    /// Whether every part of the request is fixed (no placeholder): it can be serialised
    /// once and sent as the same bytes every time.
    pub fn is_fixed(&self) -> bool {
        self.uses.feeders.is_empty()
            && self.uses.sequences.is_empty()
            && self.uses.randoms.is_empty()
    }
}

impl Scenario {
    /// Reads and validates the scenario at `path`; feeder and body files are relative to it.
    pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| file_error(&file, format!("cannot read the scenario: {e}")))?;
        let base = path.parent().unwrap_or(Path::new("."));
        Scenario::parse(&text, &file, base)
    }

    /// Validates a scenario's `text` (named `file` in errors); feeder and body files are
    /// read relative to `base`.
    pub fn parse(text: &str, file: &str, base: &Path) -> Result<Scenario, ScenarioError> {
        let src = Source { file, text };
        let raw: RawScenario = toml::from_str(text).map_err(|e| {
            let span = e.span().unwrap_or(0..0);
            src.error(&span, e.message().trim().to_owned())
        })?;
        Builder {
            src: &src,
            base,
            names: BTreeMap::new(),
            values: Vec::new(),
        }
        .build(&raw)
    }

    /// Checks that every request given by a full URL goes to `target` (same scheme, host
    /// and port): the requests of a run all go to its one target.
    pub fn check_target(&self, target: &TargetUrl) -> Result<(), ScenarioError> {
        for request in &self.requests {
            let Some(origin) = &request.origin else {
                continue;
            };
            let same = origin.scheme == target.scheme()
                && origin.host.eq_ignore_ascii_case(target.host())
                && origin.port == target.port();
            if !same {
                return Err(origin.at.error(format!(
                    "request `{}` goes to {}://{}:{}, but the run's target is {}://{}:{}: every \
                     request of a scenario goes to the target (give a `path` instead)",
                    request.name,
                    origin.scheme.as_str(),
                    origin.host,
                    origin.port,
                    target.scheme().as_str(),
                    target.host(),
                    target.port()
                )));
            }
        }
        Ok(())
    }

    /// The requests' names, in order.
    pub fn names(&self) -> Vec<String> {
        self.requests.iter().map(|r| r.name.clone()).collect()
    }
}

/// Builds the scenario from its raw form, resolving names as it goes.
struct Builder<'a> {
    src: &'a Source<'a>,
    base: &'a Path,
    /// Placeholder name → index into `values`, with where it was defined.
    names: BTreeMap<String, (usize, String)>,
    values: Vec<Value>,
}

impl Builder<'_> {
    fn build(mut self, raw: &RawScenario) -> Result<Scenario, ScenarioError> {
        let src = self.src;
        if raw.requests.get_ref().is_empty() {
            return Err(src.error(
                &raw.requests.span(),
                "the scenario has no request: add a [[request]] with a name and a path".into(),
            ));
        }
        let think_time = raw
            .think_time
            .as_ref()
            .map(|t| think_time(t.get_ref()).map_err(|why| src.error(&t.span(), why)))
            .transpose()?;

        let mut feeders = Vec::new();
        for spanned in &raw.feeders {
            let f = spanned.get_ref();
            let name = f.file.get_ref();
            let read = feeder::read(&self.base.join(name), name, f.order);
            let read = read.map_err(|mut e| {
                let at = src.at(&f.file.span());
                e.message = format!(
                    "{} (the feeder of {}:{}:{})",
                    e.message, at.file, at.line, at.column
                );
                e
            })?;
            let index = feeders.len();
            for (column, name) in read.columns.iter().enumerate() {
                let defined = format!("a column of feeder `{}`", read.file);
                self.define(
                    name,
                    Value::Column {
                        feeder: index,
                        column,
                    },
                    defined,
                    &f.file.span(),
                )?;
            }
            feeders.push(read);
        }
        let mut sequences = Vec::new();
        for (name, s) in &raw.sequence {
            let value = Value::Sequence {
                index: sequences.len(),
            };
            self.define(name, value, format!("[sequence.{name}]"), &s.span())?;
            sequences.push((s.get_ref().start, s.get_ref().step));
        }
        let mut randoms = Vec::new();
        for (name, r) in &raw.random {
            let (min, max) = (r.get_ref().min, r.get_ref().max);
            if min > max {
                return Err(src.error(
                    &r.span(),
                    format!("[random.{name}] has min {min} above max {max}"),
                ));
            }
            let value = Value::Random {
                index: randoms.len(),
            };
            self.define(name, value, format!("[random.{name}]"), &r.span())?;
            randoms.push((min, max));
        }

        let common = raw
            .headers
            .iter()
            .map(|h| self.header(h))
            .collect::<Result<Vec<_>, _>>()?;
        let mut requests: Vec<Request> = Vec::new();
        for spanned in raw.requests.get_ref() {
            let request = self.request(spanned.get_ref(), &common)?;
            let name = spanned.get_ref().name.clone();
            if requests.iter().any(|r| r.name == request.name) {
                return Err(src.error(
                    &name.span(),
                    format!(
                        "two requests are named `{}`: each name is an endpoint of its own in \
                         the reports",
                        request.name
                    ),
                ));
            }
            requests.push(request);
        }
        self.check_feeder_values(&requests, &feeders)?;
        Ok(Scenario {
            file: src.file.to_owned(),
            requests,
            think_time,
            seed: raw.seed.unwrap_or(DEFAULT_SEED),
            alerts: raw.alerts.iter().map(|a| AlertText::of(src, a)).collect(),
            values: self.values,
            feeders,
            sequences,
            randoms,
        })
    }

    /// Makes `name` a placeholder; a name given twice is an error.
    fn define(
        &mut self,
        name: &str,
        value: Value,
        defined: String,
        span: &std::ops::Range<usize>,
    ) -> Result<(), ScenarioError> {
        if !crate::template::valid_name(name) {
            return Err(self.src.error(
                span,
                format!("`{name}` cannot name a placeholder: use letters, digits, `_`, `-` or `.`"),
            ));
        }
        if let Some((_, first)) = self.names.get(name) {
            return Err(self.src.error(
                span,
                format!("placeholder `{name}` is defined twice: as {first} and as {defined}"),
            ));
        }
        self.names
            .insert(name.to_owned(), (self.values.len(), defined));
        self.values.push(value);
        Ok(())
    }

    /// A template from a spanned text; unknown placeholders are errors at the text.
    fn template(
        &self,
        text: &Spanned<String>,
        context: Context,
    ) -> Result<Template, ScenarioError> {
        self.template_of(text.get_ref(), &text.span(), context)
    }

    fn template_of(
        &self,
        text: &str,
        span: &std::ops::Range<usize>,
        context: Context,
    ) -> Result<Template, ScenarioError> {
        let pieces = split(text).map_err(|why| self.src.error(span, why))?;
        let mut parts = Vec::with_capacity(pieces.len());
        for piece in pieces {
            match piece {
                Piece::Text(t) => parts.push(Part::Text(t.to_owned())),
                Piece::Name(name) => match self.names.get(name) {
                    Some((index, _)) => parts.push(Part::Value(*index)),
                    None => {
                        let known: Vec<&str> = self.names.keys().map(String::as_str).collect();
                        let known = if known.is_empty() {
                            "none is defined".to_owned()
                        } else {
                            format!("defined: {}", known.join(", "))
                        };
                        return Err(self.src.error(
                            span,
                            format!(
                                "unknown placeholder `{{{{{name}}}}}`: a placeholder is a column \
                                 of a [[feeder]] file, a [sequence.NAME] or a [random.NAME] \
                                 ({known})"
                            ),
                        ));
                    }
                },
            }
        }
        Ok(Template { parts, context })
    }

    /// `Name: value`, the value a template.
    fn header(&self, h: &Spanned<String>) -> Result<(String, Template), ScenarioError> {
        let bad = || {
            self.src.error(
                &h.span(),
                format!(
                    "invalid header `{}`: expected `Name: value` (a name without spaces, the \
                     value on one line)",
                    perfloop_url::redact_header(h.get_ref())
                ),
            )
        };
        let (name, value) = h.get_ref().split_once(':').ok_or_else(bad)?;
        let name = name.trim();
        let token = !name.is_empty() && name.bytes().all(is_token);
        if !token || value.contains(['\r', '\n']) {
            return Err(bad());
        }
        let value = self.template_of(value.trim(), &h.span(), Context::Header)?;
        Ok((name.to_owned(), value))
    }

    fn request(
        &self,
        raw: &RawRequest,
        common: &[(String, Template)],
    ) -> Result<Request, ScenarioError> {
        let src = self.src;
        let name = raw.name.get_ref().trim().to_owned();
        if name.is_empty() || name.contains(':') || name.chars().any(char::is_control) {
            return Err(src.error(
                &raw.name.span(),
                format!(
                    "request name `{name}` cannot be used: give a non-empty name without `:` \
                     (it names the endpoint in reports and SLOs, as in 'search: p99<200ms')"
                ),
            ));
        }
        let (path, origin) = match (&raw.path, &raw.url) {
            (Some(path), None) => (self.path(path.get_ref(), &path.span())?, None),
            (None, Some(url)) => {
                let (origin, path) = self.url(url)?;
                (path, Some(origin))
            }
            (Some(_), Some(url)) => {
                return Err(src.error(
                    &url.span(),
                    format!("request `{name}` has both `path` and `url`: give one"),
                ));
            }
            (None, None) => {
                return Err(src.error(
                    &raw.name.span(),
                    format!(
                        "request `{name}` needs a `path` (like \"/search?q=x\") or a `url` on the \
                         target"
                    ),
                ));
            }
        };
        let body = match (&raw.body, &raw.body_file) {
            (Some(body), None) => Some(self.template(body, Context::Body)?),
            (None, Some(file)) => {
                let full = self.base.join(file.get_ref());
                let text = std::fs::read_to_string(&full).map_err(|e| {
                    src.error(
                        &file.span(),
                        format!(
                            "cannot read `body_file` \"{}\" ({}): {e}; paths are relative to the \
                             scenario file",
                            file.get_ref(),
                            full.display()
                        ),
                    )
                })?;
                Some(self.template_of(&text, &file.span(), Context::Body)?)
            }
            (Some(_), Some(file)) => {
                return Err(src.error(
                    &file.span(),
                    format!("request `{name}` has both `body` and `body_file`: give one"),
                ));
            }
            (None, None) => None,
        };
        let method = match &raw.method {
            Some(m) => {
                let text = m.get_ref().trim();
                if text.is_empty() || !text.bytes().all(is_token) {
                    return Err(src.error(
                        &m.span(),
                        format!(
                            "invalid method `{}`: expected a word like GET or POST",
                            text
                        ),
                    ));
                }
                text.to_ascii_uppercase()
            }
            None if body.is_some() => "POST".to_owned(),
            None => "GET".to_owned(),
        };
        let mut headers: Vec<(String, Template)> = Vec::new();
        let own = raw
            .headers
            .iter()
            .map(|h| self.header(h))
            .collect::<Result<Vec<_>, _>>()?;
        for (n, v) in common {
            if !own.iter().any(|(o, _)| o.eq_ignore_ascii_case(n)) {
                headers.push((n.clone(), v.clone()));
            }
        }
        headers.extend(own);
        let weight = match &raw.weight {
            Some(w) if *w.get_ref() == 0 => {
                return Err(src.error(
                    &w.span(),
                    format!(
                        "request `{name}` has weight 0: every request needs a weight of at least \
                         1 (remove the request to leave it out)"
                    ),
                ));
            }
            Some(w) => *w.get_ref(),
            None => 1,
        };
        let mut request = Request {
            name,
            method,
            path,
            headers,
            body: body.unwrap_or_default(),
            weight,
            origin,
            uses: Uses::default(),
        };
        request.uses = self.uses(&request);
        Ok(request)
    }

    /// A path template: starts with `/`, and its literal text can stand in a request line.
    fn path(&self, text: &str, span: &std::ops::Range<usize>) -> Result<Template, ScenarioError> {
        if !text.starts_with('/') {
            return Err(self.src.error(
                span,
                format!(
                    "path `{text}` must start with `/` (a path on the target, like \"/search?q=x\")"
                ),
            ));
        }
        let template = self.template_of(text, span, Context::Path)?;
        let literal = template.parts.iter().filter_map(|p| match p {
            Part::Text(t) => Some(t),
            Part::Value(_) => None,
        });
        if let Some(c) = literal
            .flat_map(|t| t.chars())
            .find(|c| c.is_whitespace() || c.is_control())
        {
            return Err(self.src.error(
                span,
                format!(
                    "path `{text}` holds {c:?}, which a request line cannot carry: encode it \
                     (a space is %20)"
                ),
            ));
        }
        Ok(template)
    }

    /// A full URL: its origin (no placeholder there) and its path template.
    fn url(&self, url: &Spanned<String>) -> Result<(Origin, Template), ScenarioError> {
        let text = url.get_ref();
        let span = url.span();
        let path_at = text
            .find("://")
            .and_then(|i| text[i + 3..].find('/').map(|j| i + 3 + j))
            .unwrap_or(text.len());
        let (origin_text, path) = text.split_at(path_at);
        if origin_text.contains("{{") {
            return Err(self.src.error(
                &span,
                format!(
                    "url `{}`: placeholders may stand in the path and query, not in the scheme, \
                     host or port",
                    perfloop_url::redact_url(text)
                ),
            ));
        }
        let parsed = TargetUrl::parse(&format!("{origin_text}/"))
            .map_err(|e| self.src.error(&span, e.to_string()))?;
        let path = if path.is_empty() { "/" } else { path };
        let origin = Origin {
            scheme: parsed.scheme(),
            host: parsed.host().to_owned(),
            port: parsed.port(),
            at: self.src.at(&span),
        };
        Ok((origin, self.path(path, &span)?))
    }

    /// The feeders, sequences and random numbers a request's templates draw from.
    fn uses(&self, request: &Request) -> Uses {
        let mut uses = Uses::default();
        let templates = std::iter::once(&request.path)
            .chain(request.headers.iter().map(|(_, v)| v))
            .chain(std::iter::once(&request.body));
        for template in templates {
            for part in &template.parts {
                let Part::Value(i) = part else { continue };
                let (list, index) = match self.values[*i] {
                    Value::Column { feeder, .. } => (&mut uses.feeders, feeder),
                    Value::Sequence { index, .. } => (&mut uses.sequences, index),
                    Value::Random { index, .. } => (&mut uses.randoms, index),
                };
                if !list.contains(&index) {
                    list.push(index);
                }
            }
        }
        uses
    }

    /// A feeder value put in a header must not break the header's line.
    fn check_feeder_values(
        &self,
        requests: &[Request],
        feeders: &[Feeder],
    ) -> Result<(), ScenarioError> {
        for request in requests {
            for (header, template) in &request.headers {
                for part in &template.parts {
                    let Part::Value(i) = part else { continue };
                    let Value::Column { feeder, column } = self.values[*i] else {
                        continue;
                    };
                    let f = &feeders[feeder];
                    let bad = f
                        .rows
                        .iter()
                        .position(|row| row[column].contains(['\r', '\n', '\0']));
                    if let Some(row) = bad {
                        return Err(ScenarioError {
                            file: f.file.clone(),
                            line: usize::try_from(f.lines[row]).unwrap_or(usize::MAX),
                            column: 0,
                            message: format!(
                                "the value of column `{}` holds a line break, but request `{}` \
                                 puts it in header `{header}`, which must stay on one line",
                                f.columns[column], request.name
                            ),
                            source_line: String::new(),
                        });
                    }
                }
            }
        }
        Ok(())
    }
}

/// Whether a byte may stand in an HTTP token (a method, a header name).
fn is_token(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// `100ms`, `1.5s` or a range `50ms..150ms`.
fn think_time(text: &str) -> Result<ThinkTime, String> {
    let err = || {
        format!(
            "invalid think_time `{text}`: expected a duration like \"100ms\" or a range like \
             \"50ms..150ms\""
        )
    };
    let (min, max) = match text.split_once("..") {
        Some((a, b)) => (duration(a).ok_or_else(err)?, duration(b).ok_or_else(err)?),
        None => {
            let d = duration(text).ok_or_else(err)?;
            (d, d)
        }
    };
    if min > max {
        return Err(format!(
            "invalid think_time `{text}`: the range's first end is above its second"
        ));
    }
    Ok(ThinkTime { min, max })
}

/// A duration: a number and a unit (`us`, `ms`, `s`, `m`).
fn duration(text: &str) -> Option<Duration> {
    let t = text.trim();
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
    let (num, unit) = t.split_at(split);
    let value: f64 = num.parse().ok()?;
    let scale = match unit.trim() {
        "us" | "µs" => 1e-6,
        "ms" => 1e-3,
        "s" => 1.0,
        "m" => 60.0,
        _ => return None,
    };
    Duration::try_from_secs_f64(value * scale).ok()
}
