//! The query strings the API and the pages accept, read strictly: an unknown parameter,
//! a repeated one that cannot repeat, or a value that does not read is a 400 naming it.
//! `token` is always allowed (it is the guard's).
//!
//! - runs: `target` (exact), `tag=KEY=VALUE` (repeatable: all must match), `kind`
//!   (`load`, `capacity`, `bench`, `study`; `tune` names a study), `since` (read as
//!   `perfloop history --since` reads it, by `perfloop_store::when::parse_since`: a
//!   duration ago such as `7d`, `12h`, `30m`; a date `2026-01-31`; or a time
//!   `2026-01-31T12:00:00Z`, with an offset such as `+02:00`), `limit` (1 to
//!   [`MAX_LIMIT`], default [`DEFAULT_LIMIT`]).
//! - timeline: `max_points` (2 to [`MAX_POINTS`], default [`DEFAULT_POINTS`]).
//! - compare: `threshold`, `tail_threshold` (percentages: `5%`, `5`, `0.5%`, read by
//!   `perfloop_report::compare::percent` as `perfloop compare` reads them).

use std::borrow::Cow;
use std::time::SystemTime;

use perfloop_stats::compare::CompareOptions;
use perfloop_store::{RunFilter, RunKind};

use super::ApiError;

/// Runs listed when no `limit` is given.
pub const DEFAULT_LIMIT: usize = 50;
/// The largest `limit`.
pub const MAX_LIMIT: usize = 1000;
/// Timeline rows when no `max_points` is given.
pub const DEFAULT_POINTS: usize = 2000;
/// The largest `max_points`.
pub const MAX_POINTS: usize = 100_000;

/// The pairs of a query string, decoded.
fn pairs(raw: Option<&str>) -> Vec<(Cow<'_, str>, Cow<'_, str>)> {
    raw.map(|q| form_urlencoded::parse(q.as_bytes()).collect())
        .unwrap_or_default()
}

/// A parameter that is not one of `allowed`.
fn unknown(name: &str, allowed: &[&str]) -> ApiError {
    ApiError::bad_request(format!(
        "unknown query parameter '{name}'; expected {}",
        allowed.join(", ")
    ))
}

/// A parameter given twice.
fn twice(name: &str) -> ApiError {
    ApiError::bad_request(format!("query parameter '{name}' is given twice"))
}

/// The filters of a runs listing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunsQuery {
    /// `target`.
    pub target: Option<String>,
    /// `tag`s.
    pub tags: Vec<(String, String)>,
    /// `kind`.
    pub kind: Option<RunKind>,
    /// `since`, read.
    pub since: Option<SystemTime>,
    /// `since`, as given.
    pub since_text: Option<String>,
    /// `limit`.
    pub limit: usize,
}

impl RunsQuery {
    const ALLOWED: [&'static str; 5] = ["target", "tag", "kind", "since", "limit"];

    /// Reads a query string (without `?`); empty values are absent filters.
    ///
    /// # Errors
    ///
    /// A 400 naming the parameter and what it expects.
    pub fn parse(raw: Option<&str>) -> Result<RunsQuery, ApiError> {
        let mut q = RunsQuery {
            limit: DEFAULT_LIMIT,
            ..RunsQuery::default()
        };
        let mut seen_limit = false;
        for (name, value) in pairs(raw) {
            let value = value.trim();
            match name.as_ref() {
                "token" => {}
                other if !Self::ALLOWED.contains(&other) => {
                    return Err(unknown(other, &Self::ALLOWED));
                }
                _ if value.is_empty() => {}
                "target" => {
                    if q.target.replace(value.to_owned()).is_some() {
                        return Err(twice("target"));
                    }
                }
                "tag" => {
                    let Some((key, v)) = value.split_once('=') else {
                        return Err(ApiError::bad_request(format!(
                            "tag '{value}': expected KEY=VALUE, e.g. tag=branch=main"
                        )));
                    };
                    if key.trim().is_empty() {
                        return Err(ApiError::bad_request(format!(
                            "tag '{value}': the key is empty; expected KEY=VALUE"
                        )));
                    }
                    q.tags.push((key.trim().to_owned(), v.to_owned()));
                }
                "kind" => {
                    let kind = match value {
                        "tune" => Some(RunKind::Study),
                        other => RunKind::parse(other),
                    };
                    let Some(kind) = kind else {
                        return Err(ApiError::bad_request(format!(
                            "kind '{value}': expected load, capacity, bench or study"
                        )));
                    };
                    if q.kind.replace(kind).is_some() {
                        return Err(twice("kind"));
                    }
                }
                "since" => {
                    if q.since.is_some() {
                        return Err(twice("since"));
                    }
                    let since = perfloop_store::when::parse_since(value, SystemTime::now())
                        .map_err(|e| ApiError::bad_request(format!("since '{value}': {e}")))?;
                    q.since = Some(since);
                    q.since_text = Some(value.to_owned());
                }
                "limit" => {
                    if std::mem::replace(&mut seen_limit, true) {
                        return Err(twice("limit"));
                    }
                    q.limit = match value.parse::<usize>() {
                        Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
                        _ => {
                            return Err(ApiError::bad_request(format!(
                                "limit '{value}': expected a whole number from 1 to {MAX_LIMIT}"
                            )));
                        }
                    };
                }
                other => return Err(unknown(other, &Self::ALLOWED)),
            }
        }
        Ok(q)
    }

    /// The store's filter.
    #[must_use]
    pub fn filter(&self) -> RunFilter {
        RunFilter {
            target: self.target.clone(),
            tags: self.tags.clone(),
            since: self.since,
            kind: self.kind,
            limit: Some(self.limit),
        }
    }
}

/// The settings of a timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimelineQuery {
    /// The most rows to return.
    pub max_points: usize,
}

impl TimelineQuery {
    /// Reads a query string.
    ///
    /// # Errors
    ///
    /// A 400 naming the parameter and what it expects.
    pub fn parse(raw: Option<&str>) -> Result<TimelineQuery, ApiError> {
        let mut q = TimelineQuery {
            max_points: DEFAULT_POINTS,
        };
        let mut seen = false;
        for (name, value) in pairs(raw) {
            match name.as_ref() {
                "token" => {}
                "max_points" => {
                    if std::mem::replace(&mut seen, true) {
                        return Err(twice("max_points"));
                    }
                    q.max_points = match value.trim().parse::<usize>() {
                        Ok(n) if (2..=MAX_POINTS).contains(&n) => n,
                        _ => {
                            return Err(ApiError::bad_request(format!(
                                "max_points '{value}': expected a whole number from 2 to \
                                 {MAX_POINTS}"
                            )));
                        }
                    };
                }
                other => return Err(unknown(other, &["max_points"])),
            }
        }
        Ok(q)
    }
}

/// The settings of a comparison.
#[derive(Debug, Clone, Default)]
pub struct CompareQuery {
    /// The thresholds; the rest as `perfloop compare` has it.
    pub options: CompareOptions,
}

impl CompareQuery {
    /// Reads a query string.
    ///
    /// # Errors
    ///
    /// A 400 naming the parameter and what it expects.
    pub fn parse(raw: Option<&str>) -> Result<CompareQuery, ApiError> {
        let mut options = CompareOptions::default();
        for (name, value) in pairs(raw) {
            match name.as_ref() {
                "token" => {}
                "threshold" => options.threshold = percent("threshold", &value)?,
                "tail_threshold" => options.tail_threshold = percent("tail_threshold", &value)?,
                other => return Err(unknown(other, &["threshold", "tail_threshold"])),
            }
        }
        Ok(CompareQuery { options })
    }
}

/// A percentage as typed (`5%`, `5`, `0.5%`) as a fraction, as `perfloop compare` reads
/// its thresholds.
fn percent(name: &str, text: &str) -> Result<f64, ApiError> {
    perfloop_report::compare::percent(text)
        .map_err(|e| ApiError::bad_request(format!("{name} '{text}': {e}")))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn runs_filters_read_and_nonsense_is_refused() {
        let q = RunsQuery::parse(Some(
            "target=http%3A%2F%2Fh%2F&tag=branch%3Dmain&tag=env=ci&kind=tune&limit=5&since=&token=x",
        ))
        .unwrap();
        assert_eq!(q.target.as_deref(), Some("http://h/"));
        assert_eq!(
            q.tags,
            vec![
                ("branch".to_owned(), "main".to_owned()),
                ("env".to_owned(), "ci".to_owned())
            ]
        );
        assert_eq!(q.kind, Some(RunKind::Study));
        assert_eq!(q.limit, 5);
        assert_eq!(q.since, None);
        assert_eq!(RunsQuery::parse(None).unwrap().limit, DEFAULT_LIMIT);
        for (bad, says) in [
            ("limit=0", "limit '0'"),
            ("limit=x", "limit 'x'"),
            ("kind=nope", "kind 'nope'"),
            ("tag=branch", "tag 'branch'"),
            ("since=yesterday", "since 'yesterday'"),
            ("colour=red", "unknown query parameter 'colour'"),
            ("kind=load&kind=bench", "given twice"),
        ] {
            let e = RunsQuery::parse(Some(bad)).unwrap_err();
            assert_eq!(e.status, 400, "{bad}");
            assert!(e.message.contains(says), "{bad}: {}", e.message);
        }
    }

    #[test]
    fn since_is_read_by_the_store_and_refused_in_the_apis_words() {
        let q = RunsQuery::parse(Some("since=2026-01-31T14%3A00%3A00%2B02%3A00")).unwrap();
        assert_eq!(
            q.since,
            Some(humantime::parse_rfc3339("2026-01-31T12:00:00Z").unwrap())
        );
        assert_eq!(q.since_text.as_deref(), Some("2026-01-31T14:00:00+02:00"));
        let day_ago = RunsQuery::parse(Some("since=1d")).unwrap().since.unwrap();
        let ago = SystemTime::now().duration_since(day_ago).unwrap();
        assert!((86_400..86_460).contains(&ago.as_secs()), "{ago:?}");
        let e = RunsQuery::parse(Some("since=soon")).unwrap_err();
        assert_eq!(
            e.message,
            "since 'soon': expected a duration ago (7d, 12h, 30m) or a date or time \
             (2026-01-31, 2026-01-31T12:00:00Z)"
        );
    }

    #[test]
    fn timeline_points_are_bounded() {
        assert_eq!(
            TimelineQuery::parse(None).unwrap().max_points,
            DEFAULT_POINTS
        );
        assert_eq!(
            TimelineQuery::parse(Some("max_points=10"))
                .unwrap()
                .max_points,
            10
        );
        for bad in [
            "max_points=1",
            "max_points=-3",
            "max_points=1e9",
            "points=3",
        ] {
            assert!(TimelineQuery::parse(Some(bad)).is_err(), "{bad}");
        }
        assert!(
            (CompareQuery::parse(Some("threshold=5%"))
                .unwrap()
                .options
                .threshold
                - 0.05)
                .abs()
                < 1e-12
        );
        assert!(CompareQuery::parse(Some("threshold=lots")).is_err());
    }
}
