//! What each request sends: the request source of a worker.
//!
//! [`Wires`] is built once per run and shared by the workers: the bytes of every request
//! that never changes (a plain run's request and its alternate bodies, raw TCP's bytes, a
//! scenario's requests without placeholders), and for a scenario's templated requests
//! their HTTP/1.1 head laid out as literal bytes around the templates. [`Source`] is one
//! worker's: it picks the next request (a scenario's by weight, through its
//! [`Cursor`]), and either points at the shared bytes (the plain hot path: no allocation,
//! no copy) or renders the request into the slot's own buffer (its capacity kept from one
//! request to the next, so a warm buffer does not allocate either).

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use perfloop_scenario::{Cursor, Scenario, Template};
use perfloop_url::Scheme;

use crate::config::{LoadConfig, Model, RequestSpec, Target};
use crate::http;
use crate::spec::{Body, RequestOptions, SpecError};

/// Methods whose request may be sent again on a new connection when a reused one turns
/// out closed before any byte of the answer (RFC 9110 §9.2.2).
const IDEMPOTENT: [&str; 6] = ["GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE"];

/// Where the bytes of a slot's current request are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Payload {
    /// The shared bytes of this index in [`Wires::fixed`].
    Shared(usize),
    /// The slot's own rendered buffer.
    Rendered,
}

/// The request chosen for a slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Next {
    /// Which endpoint: the index of the scenario's request; 0 for a plain run.
    pub(crate) endpoint: usize,
    pub(crate) payload: Payload,
    /// A `HEAD` request: its response has no body whatever its headers say.
    pub(crate) head: bool,
    /// The request may be sent again on a new connection (an idempotent method).
    pub(crate) idempotent: bool,
    /// The request asks the server to close after the response.
    pub(crate) closes: bool,
}

/// One piece of a templated request's head.
#[derive(Debug)]
enum HeadPart {
    Bytes(Vec<u8>),
    Path,
    /// The value of the request's header of this index.
    Header(usize),
}

/// A scenario request, laid out for sending.
#[derive(Debug)]
struct Layout {
    /// Its bytes in [`Wires::fixed`] when it has no placeholder.
    fixed: Option<usize>,
    head: Vec<HeadPart>,
    /// Whether `Content-Length` is written: no length or transfer coding among its headers.
    length: bool,
    /// A method that gives content a meaning: the length is announced even for none.
    content_method: bool,
    head_method: bool,
    idempotent: bool,
    closes: bool,
}

/// Every request of a run, as it goes on the wire; shared by the workers.
#[derive(Debug)]
pub(crate) struct Wires {
    /// Bytes sent as they are.
    fixed: Vec<Vec<u8>>,
    /// The plain run's request (and its alternate bodies): what each send is.
    plain: Next,
    scenario: Option<(Arc<Scenario>, Vec<Layout>)>,
}

impl Wires {
    /// The requests of `config`: raw TCP's bytes, a scenario's requests, or the plain
    /// request with its alternate bodies.
    pub(crate) fn new(config: &LoadConfig) -> Wires {
        let request = &config.request;
        let plain = Next {
            endpoint: 0,
            payload: Payload::Shared(0),
            head: request.method.eq_ignore_ascii_case("HEAD"),
            // Raw TCP bytes are not known to be safe to send twice: a close is counted.
            idempotent: config.raw.is_none() && idempotent(&request.method),
            closes: request.closes_each(),
        };
        if let Some(raw) = &config.raw {
            return Wires {
                fixed: vec![raw.send.clone()],
                plain,
                scenario: None,
            };
        }
        let Some(scenario) = &request.scenario else {
            return Wires {
                fixed: http::all_request_bytes(request),
                plain,
                scenario: None,
            };
        };
        let mut fixed = Vec::new();
        let mut layouts = Vec::new();
        for r in &scenario.requests {
            let has = |name: &str| r.headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name));
            let mut head = vec![HeadPart::Bytes(format!("{} ", r.method).into_bytes())];
            head.push(HeadPart::Path);
            let mut line = b" HTTP/1.1\r\n".to_vec();
            if !has("host") {
                line.extend_from_slice(format!("Host: {}\r\n", request.authority).as_bytes());
            }
            if !has("user-agent") {
                line.extend_from_slice(
                    concat!("User-Agent: perfloop/", env!("CARGO_PKG_VERSION"), "\r\n").as_bytes(),
                );
            }
            // The run's own headers (`-H`), unless the request sets the same one.
            for (name, value) in &request.headers {
                if !has(name) {
                    line.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
                }
            }
            for (i, (name, _)) in r.headers.iter().enumerate() {
                line.extend_from_slice(format!("{name}: ").as_bytes());
                head.push(HeadPart::Bytes(std::mem::take(&mut line)));
                head.push(HeadPart::Header(i));
                line.extend_from_slice(b"\r\n");
            }
            head.push(HeadPart::Bytes(line));
            let closes = r.headers.iter().any(|(n, v)| {
                n.eq_ignore_ascii_case("connection")
                    && v.fixed().is_some_and(|v| {
                        v.split(',').any(|t| t.trim().eq_ignore_ascii_case("close"))
                    })
            }) || request.closes_each();
            let mut layout = Layout {
                fixed: None,
                head,
                length: !has("content-length") && !has("transfer-encoding"),
                content_method: ["POST", "PUT", "PATCH"]
                    .iter()
                    .any(|m| r.method.eq_ignore_ascii_case(m)),
                head_method: r.method.eq_ignore_ascii_case("HEAD"),
                idempotent: idempotent(&r.method),
                closes,
            };
            if r.is_fixed() {
                let mut cursor = Cursor::new(scenario, 0, 1);
                let (mut bytes, mut body) = (Vec::new(), Vec::new());
                render(&layout, r, &mut cursor, &mut bytes, &mut body);
                layout.fixed = Some(fixed.len());
                fixed.push(bytes);
            }
            layouts.push(layout);
        }
        Wires {
            fixed,
            plain,
            scenario: Some((scenario.clone(), layouts)),
        }
    }

    /// The shared bytes of `index`.
    pub(crate) fn fixed(&self, index: usize) -> &[u8] {
        self.fixed.get(index).map_or(&[], Vec::as_slice)
    }
}

/// Whether `method` is idempotent.
fn idempotent(method: &str) -> bool {
    IDEMPOTENT.iter().any(|m| method.eq_ignore_ascii_case(m))
}

/// Renders scenario request `r` (laid out as `layout`) with the cursor's values drawn for
/// it into `out`; `body` is scratch space for the body, whose length comes first.
fn render(
    layout: &Layout,
    r: &perfloop_scenario::Request,
    cursor: &mut Cursor<'_>,
    out: &mut Vec<u8>,
    body: &mut Vec<u8>,
) {
    out.clear();
    body.clear();
    let empty = Template::default();
    for part in &layout.head {
        match part {
            HeadPart::Bytes(b) => out.extend_from_slice(b),
            HeadPart::Path => cursor.render(&r.path, out),
            HeadPart::Header(i) => {
                cursor.render(r.headers.get(*i).map_or(&empty, |(_, v)| v), out);
            }
        }
    }
    cursor.render(&r.body, body);
    if layout.length && (!body.is_empty() || layout.content_method) {
        let _ = write!(out, "Content-Length: {}\r\n", body.len());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
}

/// One worker's request source.
#[derive(Debug)]
pub(crate) struct Source<'a> {
    wires: &'a Wires,
    cursor: Option<Cursor<'a>>,
    /// Plain runs: the next alternate body.
    next: usize,
    /// Scratch space for a rendered body.
    body: Vec<u8>,
}

impl<'a> Source<'a> {
    /// Worker `worker`'s source of `workers`.
    pub(crate) fn new(wires: &'a Wires, worker: usize, workers: usize) -> Source<'a> {
        Source {
            wires,
            cursor: wires
                .scenario
                .as_ref()
                .map(|(s, _)| Cursor::new(s, worker, workers)),
            next: 0,
            body: Vec::new(),
        }
    }

    /// The next request: shared bytes, or rendered into `rendered`.
    pub(crate) fn next(&mut self, rendered: &mut Vec<u8>) -> Next {
        let (Some(cursor), Some((scenario, layouts))) = (&mut self.cursor, &self.wires.scenario)
        else {
            let index = self.next;
            if self.wires.fixed.len() > 1 {
                self.next = (self.next + 1) % self.wires.fixed.len();
            }
            return Next {
                payload: Payload::Shared(index),
                ..self.wires.plain
            };
        };
        let index = cursor.pick();
        let (Some(layout), Some(r)) = (layouts.get(index), scenario.requests.get(index)) else {
            return self.wires.plain;
        };
        let payload = match layout.fixed {
            Some(i) => Payload::Shared(i),
            None => {
                cursor.draw(index);
                render(layout, r, cursor, rendered, &mut self.body);
                Payload::Rendered
            }
        };
        Next {
            endpoint: index,
            payload,
            head: layout.head_method,
            idempotent: layout.idempotent,
            closes: layout.closes,
        }
    }

    /// The pause before a connection's next request (closed model); `None` without one.
    pub(crate) fn think(&mut self) -> Option<Duration> {
        self.cursor.as_mut().and_then(Cursor::think)
    }
}

/// Reads the scenario the options name, checked against the target: a scenario's requests
/// replace the method and body options, and go to the target's scheme, host and port.
pub(crate) fn load_scenario(
    options: &RequestOptions,
    target: &Target,
) -> Result<Option<Arc<Scenario>>, SpecError> {
    let Some(path) = &options.scenario else {
        return Ok(None);
    };
    let beside = [
        (options.method.is_some(), "--method"),
        (
            !matches!(options.body, Body::None),
            "a body (-b, --body-file, --body-lines)",
        ),
    ]
    .into_iter()
    .find_map(|(given, flag)| given.then_some(flag));
    if let Some(flag) = beside {
        return Err(SpecError::ScenarioWith(format!(
            "--scenario '{}' sets each request's method and body: drop {flag}",
            path.display()
        )));
    }
    if target.url.scheme() == Scheme::Tcp {
        return Err(SpecError::ScenarioWith(format!(
            "--scenario '{}' sends HTTP requests: '{}' is raw TCP; give an http:// or https:// URL",
            path.display(),
            target.url
        )));
    }
    let scenario = Scenario::load(path)?;
    scenario.check_target(&target.url)?;
    Ok(Some(Arc::new(scenario)))
}

/// Think time paces a connection's requests: the open model's arrivals have no connection
/// of their own to pace, so a scenario with think time needs the closed model.
pub(crate) fn check_think_time(request: &RequestSpec, model: &Model) -> Result<(), SpecError> {
    let think = request
        .scenario
        .as_ref()
        .and_then(|s| s.think_time.map(|_| s));
    match (think, model) {
        (Some(s), Model::Open { .. }) => Err(SpecError::ScenarioWith(format!(
            "{}: think_time paces a connection's requests (the closed model, -c); the open \
             model (--rate) schedules arrivals itself: remove think_time or use -c",
            s.file
        ))),
        _ => Ok(()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::spec::LoadSpec;

    fn config(scenario: &str) -> LoadConfig {
        let mut config = LoadSpec::new("http://127.0.0.1:9/")
            .resolve()
            .unwrap()
            .config;
        config.request.headers = vec![("X-Run".into(), "1".into())];
        let s = Scenario::parse(scenario, "s.toml", std::path::Path::new(".")).unwrap();
        config.request.scenario = Some(Arc::new(s));
        config
    }

    fn text(source: &mut Source<'_>, wires: &Wires, buf: &mut Vec<u8>) -> (usize, String) {
        let next = source.next(buf);
        let bytes = match next.payload {
            Payload::Shared(i) => wires.fixed(i).to_vec(),
            Payload::Rendered => buf.clone(),
        };
        (next.endpoint, String::from_utf8(bytes).unwrap())
    }

    #[test]
    fn a_fixed_request_is_the_bytes_a_plain_run_sends() {
        let config = config(
            "[[request]]\nname = \"a\"\nmethod = \"PUT\"\npath = \"/p?q=1\"\nheaders = [\"Accept: x\"]\nbody = \"hi\"\n",
        );
        let wires = Wires::new(&config);
        let mut plain = config.request;
        plain.method = "PUT".into();
        plain.path = "/p?q=1".into();
        plain.headers.push(("Accept".into(), "x".into()));
        plain.body = b"hi".to_vec();
        assert_eq!(wires.fixed(0), http::request_bytes(&plain).as_slice());
        let mut source = Source::new(&wires, 0, 1);
        let next = source.next(&mut Vec::new());
        assert_eq!(next.payload, Payload::Shared(0));
        assert!(next.idempotent && !next.head && !next.closes);
    }

    #[test]
    fn templated_requests_are_rendered_with_their_length() {
        let config = config(
            "[sequence.n]\nstart = 7\n[[request]]\nname = \"get\"\npath = \"/a/{{n}}\"\nweight = 2\n\
             [[request]]\nname = \"post\"\nmethod = \"POST\"\npath = \"/b\"\nheaders = [\"X-N: {{n}}\", \"X-Run: 2\"]\nbody = \"n={{n}}\"\n",
        );
        let wires = Wires::new(&config);
        let mut source = Source::new(&wires, 0, 1);
        let mut buf = Vec::new();
        let rendered: Vec<(usize, String)> = (0..3)
            .map(|_| text(&mut source, &wires, &mut buf))
            .collect();
        assert_eq!(rendered[0].0, 0);
        assert!(
            rendered[0]
                .1
                .starts_with("GET /a/7 HTTP/1.1\r\nHost: 127.0.0.1:9\r\n")
        );
        assert!(rendered[0].1.contains("X-Run: 1\r\n") && rendered[0].1.ends_with("\r\n\r\n"));
        assert_eq!(rendered[1].0, 1);
        let post = &rendered[1].1;
        assert!(post.starts_with("POST /b HTTP/1.1\r\n"), "{post}");
        // The request's own header replaces the run's of the same name.
        assert!(
            post.contains("X-N: 8\r\nX-Run: 2\r\n") && !post.contains("X-Run: 1"),
            "{post}"
        );
        assert!(post.ends_with("Content-Length: 3\r\n\r\nn=8"), "{post}");
        assert_eq!(rendered[2].1, "GET /a/9 HTTP/1.1\r\nHost: 127.0.0.1:9\r\nUser-Agent: perfloop/0.1.0\r\nX-Run: 1\r\n\r\n".replace("0.1.0", env!("CARGO_PKG_VERSION")));
    }
}
