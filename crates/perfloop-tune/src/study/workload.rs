//! The `[workload]` of a study file: a load run or a capacity search against a managed
//! target (a bench target has none), what each request sends, and the URL and body files
//! checked as the trials will use them.

use std::path::Path;

use perfloop_stats::alert::AlertRule;
use toml::Spanned;

use super::error::{Source, StudyError};
use super::model::{Body, CapacitySpec, HttpRequest, LoadSpec, Model, Workload};
use super::placeholders::{Uses, collect_placeholders, placeholders};
use super::raw::{RawCapacity, RawLoad, RawWorkload};
use super::validate::{duration, positive_count, positive_rate, warmup};

pub(super) fn validate_workload(
    src: &Source<'_>,
    managed: bool,
    workload: Option<&RawWorkload>,
    uses: &mut Uses,
) -> Result<Workload, StudyError> {
    let (load, capacity) =
        workload.map_or((None, None), |w| (w.load.as_ref(), w.capacity.as_ref()));
    if !managed {
        if let Some(load) = load {
            return Err(src.at(
                load,
                "a bench target is measured by its work rate: `load` does not apply (remove \
                 [workload] or use `command`)"
                    .into(),
            ));
        }
        if let Some(capacity) = capacity {
            return Err(src.at(
                capacity,
                "a bench target is measured by its work rate: `capacity` does not apply \
                 (remove [workload] or use `command`)"
                    .into(),
            ));
        }
        return Ok(Workload::WorkRate);
    }
    match (load, capacity) {
        (Some(load), None) => Ok(Workload::Load(load.get_ref().validate(src, uses)?)),
        (None, Some(cap)) => Ok(Workload::Capacity(cap.get_ref().validate(src, uses)?)),
        (Some(_), Some(cap)) => Err(src.at(
            cap,
            "[workload] has both `load` and `capacity`: give one".into(),
        )),
        (None, None) => Err(match workload {
            Some(_) => src.error(
                &src.table("workload"),
                "a managed target needs a workload: `load = { url = ... }` or \
                 `capacity = { url = ..., slo = [...] }` in [workload]"
                    .into(),
            ),
            None => src.error(
                &src.table("target"),
                "a managed target (`command`) needs a [workload] with `load` or `capacity`".into(),
            ),
        }),
    }
}

/// The workload's `alerts`: each rule read with [`AlertRule::parse`], an error pointing at
/// the character of the rule where it goes wrong. A bench target's runs have no seconds to
/// watch: it takes none.
pub(super) fn validate_alerts(
    src: &Source<'_>,
    managed: bool,
    workload: Option<&RawWorkload>,
) -> Result<Vec<AlertRule>, StudyError> {
    let Some(alerts) = workload.and_then(|w| w.alerts.as_ref()) else {
        return Ok(Vec::new());
    };
    if !managed {
        return Err(src.at(
            alerts,
            "`alerts` watch the seconds of a load run: a bench target has none (remove \
             `alerts` or use `command`)"
                .into(),
        ));
    }
    alerts
        .get_ref()
        .iter()
        .map(|rule| {
            AlertRule::parse(rule.get_ref()).map_err(|e| {
                let at = string_offset(src, rule, e.position);
                src.error(&(at..at), e.to_string())
            })
        })
        .collect()
}

/// Where byte `position` of a string value lies in the file: inside the quotes when the
/// value is written as is (no escapes), else at the start of the value.
fn string_offset(src: &Source<'_>, value: &Spanned<String>, position: usize) -> usize {
    let span = value.span();
    let written = src.text.get(span.clone()).unwrap_or_default();
    let quote = if written.starts_with("'''") || written.starts_with("\"\"\"") {
        3
    } else {
        1
    };
    match written.get(quote..quote + value.get_ref().len()) {
        Some(inner) if inner == value.get_ref() && position <= inner.len() => {
            span.start + quote + position
        }
        _ => span.start,
    }
}

pub(super) fn check_url(
    src: &Source<'_>,
    url: &Spanned<String>,
    uses: &mut Uses,
) -> Result<String, StudyError> {
    collect_placeholders(src, url, uses)?;
    if let Some(problem) = url_problem(url.get_ref()) {
        return Err(src.at(
            url,
            format!(
                "invalid url `{}`: {problem}",
                perfloop_url::redact_url(url.get_ref())
            ),
        ));
    }
    Ok(url.get_ref().clone())
}

/// What is wrong with a URL template as perfloop will send it: each placeholder filled with
/// `1` (a valid port, host octet and path segment), then parsed like every target URL.
pub(super) fn url_problem(template: &str) -> Option<perfloop_url::Problem> {
    let mut filled = template.to_owned();
    for name in placeholders(template).unwrap_or_default() {
        filled = filled.replace(&format!("{{{name}}}"), "1");
    }
    let filled = filled.replace("{{", "{").replace("}}", "}");
    match perfloop_url::TargetUrl::parse(&filled) {
        Err(perfloop_url::UrlError::Invalid { problem, .. }) => Some(problem),
        _ => None,
    }
}

impl RawLoad {
    pub(super) fn validate(
        &self,
        src: &Source<'_>,
        uses: &mut Uses,
    ) -> Result<LoadSpec, StudyError> {
        let url = check_url(src, &self.url, uses)?;
        let rate = positive_rate(src, self.rate.as_ref(), "rate")?;
        match (self.model, &self.rate) {
            (Model::Open, None) => {
                return Err(src.at(&self.url, "the open model needs a `rate`".into()));
            }
            (Model::Closed, Some(r)) => {
                return Err(src.at(
                    r,
                    "`rate` applies to the open model: add model = \"open\"".into(),
                ));
            }
            _ => {}
        }
        Ok(LoadSpec {
            url,
            model: self.model,
            connections: positive_count(src, self.connections.as_ref(), "connections")?,
            rate,
            duration: duration(src, self.duration.as_ref(), "duration")?,
            warmup: warmup(src, self.warmup.as_ref())?,
            level: self.level,
            request: http_request(
                src,
                &RawRequest {
                    method: self.method.as_ref(),
                    headers: &self.headers,
                    body: self.body.as_ref(),
                    body_file: self.body_file.as_ref(),
                    body_lines: self.body_lines.as_ref(),
                    timeout: self.timeout.as_ref(),
                    scenario: self.scenario.as_ref(),
                    http2: self.http2.as_ref(),
                    streams: self.streams.as_ref(),
                },
            )?,
        })
    }
}

impl RawCapacity {
    pub(super) fn validate(
        &self,
        src: &Source<'_>,
        uses: &mut Uses,
    ) -> Result<CapacitySpec, StudyError> {
        let url = check_url(src, &self.url, uses)?;
        if self.slo.get_ref().is_empty() {
            return Err(src.at(
                &self.slo,
                "`slo` needs at least one objective, like \"p99<100ms\"".into(),
            ));
        }
        let mut slo = Vec::new();
        for s in self.slo.get_ref() {
            perfloop_stats::slo::Slo::parse(s.get_ref()).map_err(|e| src.at(s, e.to_string()))?;
            slo.push(s.get_ref().trim().to_owned());
        }
        let start_rate = positive_rate(src, self.start_rate.as_ref(), "start_rate")?;
        let max_rate = positive_rate(src, self.max_rate.as_ref(), "max_rate")?;
        if let (Some(start), Some(max), Some(span)) = (start_rate, max_rate, self.max_rate.as_ref())
        {
            if max <= start {
                return Err(src.at(
                    span,
                    format!("`max_rate` {max} must be above `start_rate` {start}"),
                ));
            }
        }
        Ok(CapacitySpec {
            url,
            slo,
            start_rate,
            max_rate,
            step_duration: duration(src, self.step_duration.as_ref(), "step_duration")?,
            connections: positive_count(src, self.connections.as_ref(), "connections")?,
            request: http_request(
                src,
                &RawRequest {
                    method: self.method.as_ref(),
                    headers: &self.headers,
                    body: self.body.as_ref(),
                    body_file: self.body_file.as_ref(),
                    body_lines: self.body_lines.as_ref(),
                    timeout: self.timeout.as_ref(),
                    scenario: self.scenario.as_ref(),
                    http2: self.http2.as_ref(),
                    streams: self.streams.as_ref(),
                },
            )?,
        })
    }
}

/// The request fields shared by `load` and `capacity`.
pub(super) struct RawRequest<'a> {
    pub(super) method: Option<&'a Spanned<String>>,
    pub(super) headers: &'a [Spanned<String>],
    pub(super) body: Option<&'a Spanned<String>>,
    pub(super) body_file: Option<&'a Spanned<String>>,
    pub(super) body_lines: Option<&'a Spanned<String>>,
    pub(super) timeout: Option<&'a Spanned<String>>,
    pub(super) scenario: Option<&'a Spanned<String>>,
    pub(super) http2: Option<&'a Spanned<bool>>,
    pub(super) streams: Option<&'a Spanned<u32>>,
}

pub(super) fn http_request(
    src: &Source<'_>,
    raw: &RawRequest<'_>,
) -> Result<HttpRequest, StudyError> {
    let method = match raw.method {
        Some(m) => {
            let text = m.get_ref().trim();
            if text.is_empty() || !text.chars().all(|c| c.is_ascii_alphabetic()) {
                return Err(src.at(
                    m,
                    format!(
                        "invalid method `{}`: expected a word like GET or POST",
                        m.get_ref()
                    ),
                ));
            }
            Some(text.to_ascii_uppercase())
        }
        None => None,
    };
    let mut headers = Vec::new();
    for h in raw.headers {
        match h.get_ref().split_once(':') {
            Some((name, _)) if !name.trim().is_empty() && !name.contains(char::is_whitespace) => {
                headers.push(h.get_ref().trim().to_owned());
            }
            _ => {
                return Err(src.at(
                    h,
                    format!("invalid header `{}`: expected `Name: value`", h.get_ref()),
                ));
            }
        }
    }
    let bodies = [
        raw.body.map(|b| (b, Body::Text(b.get_ref().clone()))),
        raw.body_file.map(|b| (b, Body::File(b.get_ref().clone()))),
        raw.body_lines
            .map(|b| (b, Body::Lines(b.get_ref().clone()))),
    ];
    let mut given = bodies.into_iter().flatten();
    let body = given.next();
    if let Some((second, _)) = given.next() {
        return Err(src.at(
            second,
            "give one of `body`, `body_file` and `body_lines`, not several".into(),
        ));
    }
    if let Some((span, Body::File(path) | Body::Lines(path))) = &body {
        if path.trim().is_empty() {
            return Err(src.at(span, "the body's file name is empty".into()));
        }
    }
    if let (Some(base), Some((span, body))) = (src.base, &body) {
        check_body_file(base, body).map_err(|why| src.at(span, why))?;
    }
    let scenario = match raw.scenario {
        Some(path) => Some(check_scenario(
            src,
            path,
            method.is_some() || body.is_some(),
        )?),
        None => None,
    };
    let http2 = raw.http2.is_some_and(|h| *h.get_ref());
    let streams = match raw.streams {
        Some(s) if !http2 => {
            return Err(src.at(s, "`streams` needs `http2 = true`".into()));
        }
        Some(s) if *s.get_ref() == 0 => {
            return Err(src.at(s, "`streams` must be at least 1".into()));
        }
        Some(s) => Some(*s.get_ref()),
        None => None,
    };
    Ok(HttpRequest {
        method,
        headers,
        body: body.map(|(_, b)| b),
        timeout: duration(src, raw.timeout, "timeout")?,
        scenario,
        http2,
        streams,
    })
}

/// A workload's scenario file: it replaces the method and body, and must read and validate
/// as the trials will read it (relative to the study file).
fn check_scenario(
    src: &Source<'_>,
    path: &Spanned<String>,
    beside: bool,
) -> Result<String, StudyError> {
    if beside {
        return Err(src.at(
            path,
            "`scenario` sets each request's method and body: remove `method` and the body".into(),
        ));
    }
    if path.get_ref().trim().is_empty() {
        return Err(src.at(path, "the scenario's file name is empty".into()));
    }
    if let Some(base) = src.base {
        perfloop_scenario::Scenario::load(&base.join(path.get_ref())).map_err(|e| {
            src.at(
                path,
                format!(
                    "`scenario` = \"{}\" cannot be used (paths are relative to the study file): {e}",
                    path.get_ref()
                ),
            )
        })?;
    }
    Ok(path.get_ref().clone())
}

/// Checks that a body file can be read as the trials will read it (as `perfloop load
/// --body-file` / `--body-lines` do); the reason it cannot.
pub(super) fn check_body_file(base: &Path, body: &Body) -> Result<(), String> {
    let (field, path) = match body {
        Body::Text(_) => return Ok(()),
        Body::File(p) => ("body_file", p),
        Body::Lines(p) => ("body_lines", p),
    };
    let full = base.join(path);
    let cannot = |e: std::io::Error| {
        format!(
            "cannot read `{field}` = \"{path}\" ({}): {e}; paths are relative to the study \
             file's directory",
            full.display()
        )
    };
    match body {
        Body::Lines(_) => {
            let text = std::fs::read_to_string(&full).map_err(cannot)?;
            if text.lines().all(|l| l.trim().is_empty()) {
                return Err(format!(
                    "`{field}` = \"{path}\" ({}) has no non-empty line: each line is one \
                     request's body",
                    full.display()
                ));
            }
        }
        _ => {
            let meta = std::fs::metadata(&full).map_err(cannot)?;
            if meta.is_dir() {
                return Err(format!(
                    "`{field}` = \"{path}\" ({}) is a directory, not a file",
                    full.display()
                ));
            }
            std::fs::File::open(&full).map_err(cannot)?;
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod scenario_tests {
    use super::super::tests::EXAMPLE;
    use super::super::{Study, Workload};

    fn with(extra: &str) -> String {
        EXAMPLE.replacen(
            "warmup = \"2s\" }",
            &format!("warmup = \"2s\", {extra} }}"),
            1,
        )
    }

    #[test]
    fn a_workload_takes_a_scenario_checked_beside_the_study_file() {
        let dir =
            std::env::temp_dir().join(format!("perfloop-study-scenario-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("study.toml");
        std::fs::write(&path, with("scenario = \"mix.toml\"")).unwrap();
        // The text alone is valid; the scenario it names is missing.
        let study = Study::parse(&with("scenario = \"mix.toml\"")).unwrap();
        let Workload::Load(load) = &study.workload else {
            panic!("{:?}", study.workload);
        };
        assert_eq!(load.request.scenario.as_deref(), Some("mix.toml"));
        let e = Study::load(&path).unwrap_err();
        assert_eq!(e.line, 39, "{e}");
        assert!(
            e.message
                .contains("`scenario` = \"mix.toml\" cannot be used"),
            "{e}"
        );
        // A scenario's own error keeps its file, line and column.
        std::fs::write(
            dir.join("mix.toml"),
            "[[request]]\nname = \"a\"\npaht = \"/\"\n",
        )
        .unwrap();
        let e = Study::load(&path).unwrap_err();
        assert!(
            e.message.contains("mix.toml:3:1: unknown field `paht`"),
            "{e}"
        );
        std::fs::write(
            dir.join("mix.toml"),
            "[[request]]\nname = \"a\"\npath = \"/\"\n",
        )
        .unwrap();
        assert!(Study::load(&path).is_ok());
        // A scenario is part of the study's substance (without one, the fingerprint is
        // unchanged: pinned in fingerprint.rs).
        assert_ne!(
            Study::parse(EXAMPLE).unwrap().fingerprint(),
            Study::parse(&with("scenario = \"mix.toml\""))
                .unwrap()
                .fingerprint()
        );
        let e = Study::parse(&with("method = \"POST\", scenario = \"mix.toml\"")).unwrap_err();
        assert!(e.message.contains("remove `method`"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
