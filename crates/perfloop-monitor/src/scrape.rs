//! Scraping a target's Prometheus endpoint every interval and keeping the series that
//! match an expression, each as a list of `(t_s, value)` points on the run's time axis.
//!
//! A scrape is a GET of the URL (see `http_get`, a minimal plain-HTTP client), parsed with
//! [`crate::parse_text`]; each sample whose [`PromSample::series_key`] matches the
//! expression adds a point at the time the scrape began, as a Prometheus server stamps
//! its samples. Timestamps in the exposition are ignored. A failed scrape (refused,
//! timed out, not 200, unparsable) is counted and logged, never fatal. At most
//! [`MAX_SERIES`] series are kept; further new series are counted in the errors.

use std::collections::HashMap;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use perfloop_url::{TargetUrl, UrlError};
use regex::Regex;

use crate::MonitorError;
use crate::errors::ErrorLog;
use crate::http_get;
use crate::own_cpu::thread_cpu;
use crate::prometheus::{self, PromSample};
use crate::series::{Point, Series};
use crate::time_axis::seconds_since;

/// Series kept per recording at most.
pub const MAX_SERIES: usize = 1000;

/// Where to scrape and what to keep. Built with [`ScrapeConfig::new`], which validates.
#[derive(Debug, Clone)]
pub struct ScrapeConfig {
    target: TargetUrl,
    match_regex: Option<Regex>,
    timeout: Duration,
}

impl ScrapeConfig {
    /// The default time a scrape may take, connection to last byte.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1);

    /// Validates a plain `http://host[:port]/path` URL and an optional match expression
    /// (a [`regex`] expression searched for in `name{label="value",...}`; `None` keeps
    /// every series).
    pub fn new(url: &str, match_regex: Option<&str>) -> Result<ScrapeConfig, MonitorError> {
        let target = TargetUrl::parse(url).map_err(|e| match e {
            UrlError::Invalid { text, problem } => MonitorError::InvalidUrl {
                url: text,
                reason: problem.to_string(),
            },
            UrlError::Resolve { host, reason } => MonitorError::InvalidUrl {
                url: perfloop_url::redact_url(url),
                reason: format!("cannot resolve '{host}': {reason}"),
            },
        })?;
        if target.scheme() != perfloop_url::Scheme::Http {
            return Err(MonitorError::InvalidUrl {
                url: target.redacted(),
                reason: format!("{}:// is not supported by the scrape yet", target.scheme()),
            });
        }
        Ok(ScrapeConfig {
            target,
            match_regex: match_regex.map(Regex::new).transpose()?,
            timeout: ScrapeConfig::DEFAULT_TIMEOUT,
        })
    }

    /// The same with another scrape timeout (at least 10 ms).
    pub fn with_timeout(mut self, timeout: Duration) -> ScrapeConfig {
        self.timeout = timeout.max(Duration::from_millis(10));
        self
    }

    /// The URL; it displays with its secrets redacted.
    pub fn url(&self) -> &TargetUrl {
        &self.target
    }

    /// The match expression, if any.
    pub fn match_regex(&self) -> Option<&Regex> {
        self.match_regex.as_ref()
    }

    /// The scrape timeout.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    fn keeps(&self, key: &str) -> bool {
        self.match_regex.as_ref().is_none_or(|r| r.is_match(key))
    }
}

/// What the scrape thread hands back.
#[derive(Debug, Default)]
pub(crate) struct ScrapeOutcome {
    pub series: Vec<Series>,
    pub scrapes: u64,
    pub failures: u64,
    /// Series in the last successful scrape, kept or not.
    pub exposed: u64,
    pub errors: ErrorLog,
    pub cpu: Duration,
}

/// The series recorded so far.
#[derive(Debug, Default)]
struct SeriesStore {
    series: Vec<Series>,
    index: HashMap<String, usize>,
    /// Series in the last scrape added, kept or not.
    exposed: usize,
    /// A few names of series the match expression did not keep, for messages.
    passed_over: Vec<String>,
}

/// Names of series passed over that a message quotes at most.
const PASSED_OVER_EXAMPLES: usize = 3;

impl SeriesStore {
    /// Adds the kept samples of one scrape at `t_s`.
    fn add(
        &mut self,
        config: &ScrapeConfig,
        t_s: f64,
        samples: Vec<PromSample>,
        errors: &mut ErrorLog,
    ) {
        self.exposed = samples.len();
        for s in samples {
            let key = s.series_key();
            if let Some(&i) = self.index.get(&key) {
                self.series[i].points.push(Point {
                    t_s,
                    value: s.value,
                });
                continue;
            }
            if !config.keeps(&key) {
                if self.passed_over.len() < PASSED_OVER_EXAMPLES
                    && !self.passed_over.contains(&s.name)
                {
                    self.passed_over.push(s.name);
                }
                continue;
            }
            if self.series.len() >= MAX_SERIES {
                errors.note(format!(
                    "scrape {}: more than {MAX_SERIES} matching series; narrow the match \
                     expression (further series are not recorded)",
                    config.target
                ));
                continue;
            }
            self.index.insert(key.clone(), self.series.len());
            self.series.push(Series {
                key,
                name: s.name,
                labels: s.labels.into_iter().collect(),
                kind: s.kind,
                points: vec![Point {
                    t_s,
                    value: s.value,
                }],
            });
        }
    }
}

/// Scrapes once; the kept samples or what went wrong.
fn scrape_once(config: &ScrapeConfig) -> Result<Vec<PromSample>, String> {
    let body = http_get::get(&config.target, config.timeout).map_err(|e| e.to_string())?;
    prometheus::parse_text(&body).map_err(|e| format!("unparsable exposition, {e}"))
}

/// The scrape thread: a scrape at once, then one per interval until `stop` fires.
pub(crate) fn run(
    config: &ScrapeConfig,
    interval: Duration,
    origin: Instant,
    stop: &Receiver<()>,
) -> ScrapeOutcome {
    let cpu0 = thread_cpu();
    let mut out = ScrapeOutcome::default();
    let mut store = SeriesStore::default();
    let start = Instant::now();
    let mut tick: u32 = 0;
    loop {
        let began = Instant::now();
        let t_s = seconds_since(origin, began);
        out.scrapes += 1;
        match scrape_once(config) {
            Ok(samples) => store.add(config, t_s, samples, &mut out.errors),
            Err(e) => {
                out.failures += 1;
                out.errors.note(format!("scrape {}: {e}", config.target));
            }
        }
        // The next tick on the fixed grid that is still ahead; a slow scrape skips ticks
        // rather than bunching them.
        let now = Instant::now();
        let mut next = start + interval * tick.saturating_add(1);
        while next <= now {
            tick = tick.saturating_add(1);
            next = start + interval * tick.saturating_add(1);
        }
        tick = tick.saturating_add(1);
        match stop.recv_timeout(next - now) {
            Err(RecvTimeoutError::Timeout) => {}
            Ok(()) | Err(RecvTimeoutError::Disconnected) => break,
        }
    }
    if let Some(note) = store.kept_nothing(config) {
        out.errors.note(note);
    }
    out.exposed = store.exposed as u64;
    out.series = store.series;
    out.cpu = thread_cpu().saturating_sub(cpu0);
    out
}

impl SeriesStore {
    /// When the target exposed series but the match expression kept none: says so, with
    /// a few of the names it passed over.
    fn kept_nothing(&self, config: &ScrapeConfig) -> Option<String> {
        let regex = config.match_regex()?;
        if !self.series.is_empty() || self.exposed == 0 {
            return None;
        }
        Some(format!(
            "scrape {}: the match expression '{regex}' kept none of the {} series the target \
             exposes (such as {}); no series was recorded",
            config.target,
            self.exposed,
            self.passed_over.join(", ")
        ))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn config_validates_url_and_expression() {
        assert!(ScrapeConfig::new("http://127.0.0.1:9/metrics", Some("^go_")).is_ok());
        assert!(matches!(
            ScrapeConfig::new("ftp://x/", None),
            Err(MonitorError::InvalidUrl { .. })
        ));
        assert!(matches!(
            ScrapeConfig::new("http://x/", Some("(")),
            Err(MonitorError::InvalidRegex(_))
        ));
    }

    #[test]
    fn a_bad_scrape_url_is_named_without_its_secrets() {
        let e = ScrapeConfig::new("http://127.0.0.1:99999/metrics?token=SECRET", None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("99999") && e.contains("token=REDACTED"), "{e}");
        assert!(!e.contains("SECRET"), "{e}");
        let c = ScrapeConfig::new("http://127.0.0.1:9/metrics?api_key=SECRET", None).unwrap();
        assert_eq!(
            c.url().to_string(),
            "http://127.0.0.1:9/metrics?api_key=REDACTED"
        );
    }

    #[test]
    fn an_expression_that_keeps_nothing_says_so() {
        let config = ScrapeConfig::new("http://h/metrics", Some("^http_")).unwrap();
        let mut store = SeriesStore::default();
        let mut errors = ErrorLog::default();
        let text = "req_total{code=\"200\"} 1\nreq_total{code=\"500\"} 2\nup 1\n";
        store.add(
            &config,
            0.0,
            prometheus::parse_text(text).unwrap(),
            &mut errors,
        );
        let note = store.kept_nothing(&config).unwrap();
        assert!(
            note.contains("'^http_' kept none of the 3 series"),
            "{note}"
        );
        assert!(note.contains("such as req_total, up"), "{note}");
        let every = ScrapeConfig::new("http://h/metrics", None).unwrap();
        assert_eq!(store.kept_nothing(&every), None);
        let config = ScrapeConfig::new("http://h/metrics", Some("^up")).unwrap();
        let mut store = SeriesStore::default();
        store.add(
            &config,
            0.0,
            prometheus::parse_text(text).unwrap(),
            &mut errors,
        );
        assert_eq!(store.kept_nothing(&config), None);
    }

    #[test]
    fn store_keeps_matching_series_in_time_order() {
        let config = ScrapeConfig::new("http://h/", Some(r#"^req_total\{.*code="200""#)).unwrap();
        let mut store = SeriesStore::default();
        let mut errors = ErrorLog::default();
        let text = "req_total{code=\"200\"} 1\nreq_total{code=\"500\"} 2\nother 3\n";
        for t in [0.0, 1.0] {
            store.add(
                &config,
                t,
                prometheus::parse_text(text).unwrap(),
                &mut errors,
            );
        }
        assert_eq!(store.series.len(), 1);
        let s = &store.series[0];
        assert_eq!(s.key, "req_total{code=\"200\"}");
        assert_eq!(s.labels.get("code").map(String::as_str), Some("200"));
        assert_eq!(
            s.points,
            vec![
                Point {
                    t_s: 0.0,
                    value: 1.0
                },
                Point {
                    t_s: 1.0,
                    value: 1.0
                }
            ]
        );
        assert!(errors.into_lines().is_empty());
    }
}
