//! The warning rules of a run record: only conditions that can change a reported figure,
//! each with the figures it changes and by how much, those that invalidate the figures
//! first (see [`WarningKind`]).
//!
//! - The generator was saturated, the target unreachable, or no response succeeded: the
//!   figures do not measure the target (these invalidate).
//! - The run was interrupted: the figures cover only the part measured.
//! - Requests still in flight at the end had waited longer than a reported percentile:
//!   that percentile is a lower bound, and the warning gives the bound.
//! - Open model: arrivals never sent, numerous enough to move a percentile; an achieved
//!   rate more than 1 % short of the asked one.
//! - The scrape kept none of the series the target exposes.
//! - The server closed its connections after (almost) every response: each request paid
//!   a TCP handshake.
//! - HTTP/2: requests refused by the server's GOAWAY count as errors.

use perfloop_engine::{ErrorKind, LoadConfig, Outcome, SATURATION_BUSY};

use super::histogram;
use super::{Requests, RunEnding, RunRecord, Warning, WarningKind};

/// Below this relative difference a bound and a figure are the same value (the histograms
/// keep 3 significant digits).
const SAME_VALUE: f64 = 0.001;

/// The latency figures a run reports, as (name, quantile); `max` is quantile 1.
const LATENCY_FIGURES: [(&str, f64); 7] = [
    ("p50", 0.5),
    ("p75", 0.75),
    ("p90", 0.9),
    ("p95", 0.95),
    ("p99", 0.99),
    ("p99.9", 0.999),
    ("max", 1.0),
];

/// The warnings of a run: only conditions that can change a reported figure, each with
/// the figures it changes and by how much; those that invalidate the figures first.
/// `record` is the finished record without its warnings.
pub(super) fn of(record: &RunRecord, outcome: &Outcome, config: &LoadConfig) -> Vec<Warning> {
    let mut w = Vec::new();
    let gen_ = &record.generator;
    if gen_.saturated {
        let busiest = gen_.threads_busy.iter().copied().fold(0.0, f64::max);
        w.push(Warning::new(
            WarningKind::GeneratorSaturated,
            format!(
                "GENERATOR SATURATED: a worker thread was busy {:.0} % of the run (limit {:.0} \
                 %). These figures measure perfloop, not the target: give it more cores \
                 (--threads) or offer less load per machine.",
                busiest * 100.0,
                SATURATION_BUSY * 100.0
            ),
        ));
    }
    let req = &record.requests;
    match record.ending {
        RunEnding::Unreachable => w.push(Warning::new(
            WarningKind::Unreachable,
            match &outcome.last_connect_error {
                Some(e) => format!("the target was unreachable: no connection succeeded ({e})"),
                None => "the target was unreachable: no connection succeeded".to_string(),
            },
        )),
        RunEnding::Interrupted | RunEnding::Completed if req.ok == 0 => w.push(Warning::new(
            WarningKind::NoSuccess,
            if req.total == 0 {
                "no request completed in the measured window: there is no figure to read"
                    .to_string()
            } else {
                format!(
                    "{}: {} of {} failed, so the figures measure failures, not the service",
                    if config.raw.is_some() {
                        "no complete response (framed as expected)"
                    } else {
                        "no successful response (status below 400)"
                    },
                    if req.total == 1 {
                        "the 1 request"
                    } else {
                        "all"
                    },
                    req.total
                )
            },
        )),
        _ => {}
    }
    if record.ending == RunEnding::Interrupted {
        w.push(Warning::new(
            WarningKind::Interrupted,
            format!(
                "the run was interrupted after {:.1} s: its figures cover only that part",
                record.load.duration_s
            ),
        ));
    }
    w.extend(unfinished(outcome));
    w.extend(dropped(outcome));
    if let Some(open) = &record.open_model {
        if open.asked_rate > 0.0 && open.achieved_rate < 0.99 * open.asked_rate {
            w.push(Warning::new(
                WarningKind::RateShort,
                format!(
                    "the achieved rate {:.1}/s is {:.1} % below the asked {:.1}/s: the target \
                     was offered less than asked",
                    open.achieved_rate,
                    (1.0 - open.achieved_rate / open.asked_rate) * 100.0,
                    open.asked_rate
                ),
            ));
        }
    }
    if let Some(s) = &record.target.summary {
        if s.scrapes > s.scrape_failures && s.scrape_series_kept == 0 && s.scrape_series_exposed > 0
        {
            w.push(Warning::new(
                WarningKind::ScrapeKeptNothing,
                format!(
                    "the scrape match expression kept none of the {} series the target \
                     exposes: no scraped series was recorded",
                    s.scrape_series_exposed
                ),
            ));
        }
    }
    w.extend(handshakes(req, config));
    w.extend(goaway(outcome));
    w.sort_by_key(|w| !w.invalidates);
    w
}

/// A server that ignores keep-alive costs a handshake per request: say so when the
/// connections opened come near the requests counted.
fn handshakes(req: &Requests, config: &LoadConfig) -> Option<Warning> {
    let asked_to_close = config.request.closes_each();
    if req.total < 20 || (req.connections as f64) < 0.5 * req.total as f64 || asked_to_close {
        return None;
    }
    Some(Warning::new(
        WarningKind::HandshakePerRequest,
        format!(
            "{} connections were opened for {} requests: the server closed its connections \
             after (almost) every response, so about every request paid a TCP handshake, \
             which its latency includes",
            req.connections, req.total
        ),
    ))
}

/// HTTP/2: requests refused by a GOAWAY are errors, yet a healthy server sends one when a
/// connection reaches its request limit (nginx's `keepalive_requests`, 1000 by default):
/// say what the error count holds and how to avoid it.
fn goaway(outcome: &Outcome) -> Option<Warning> {
    let refused = outcome.counts.errors_of(ErrorKind::GoAway);
    if refused == 0 {
        return None;
    }
    Some(Warning::new(
        WarningKind::GoAway,
        format!(
            "{refused} requests were refused by the server's GOAWAY and count as errors: a \
             server sends it when a connection reaches its request limit (nginx: \
             keepalive_requests, 1000 by default), so raise that limit to measure the \
             service without them"
        ),
    ))
}

/// The requests still in flight when the run stopped will take at least the time they had
/// waited: counted with that time, each latency figure has a lower bound. A figure is
/// reported as understated when those already slower than it are more than the figure's
/// own sampling error — √(n·q·(1 − q)) responses, the binomial standard deviation of the
/// count below the `q` quantile of `n` — so that they move it by more than a second run
/// would (for the maximum, one is enough); the warning gives the bound. The others cannot
/// be shown to move: a request cut off early may still have been slow, but nothing
/// measured says so.
fn unfinished(outcome: &Outcome) -> Option<Warning> {
    let ages = &outcome.unfinished_age;
    let responses = &outcome.latency;
    if ages.is_empty() || outcome.counts.unfinished == 0 {
        return None;
    }
    let mut with_ages = responses.clone();
    with_ages.add(ages).ok()?;
    let n = responses.len() as f64;
    let raised: Vec<String> = LATENCY_FIGURES
        .iter()
        .filter_map(|&(name, q)| {
            let bound = histogram::quantile_ms(&with_ages, q);
            let reported = histogram::quantile_ms(responses, q);
            if reported.is_finite() {
                let slower = histogram::count_above_ms(ages, reported) as f64;
                let noise = (n * q * (1.0 - q)).sqrt();
                if slower <= noise || bound <= reported * (1.0 + SAME_VALUE) {
                    return None;
                }
            }
            Some(format!("{name} to at least {}", ms_text(bound)))
        })
        .collect();
    if raised.is_empty() {
        return None;
    }
    Some(Warning::new(
        WarningKind::Unfinished,
        format!(
            "{} requests were still in flight when the run stopped, the oldest for {}: counted \
             with the time they had already waited, they raise {}",
            outcome.counts.unfinished,
            ms_text(histogram::max_ms(ages)),
            list(&raised)
        ),
    ))
}

/// Open model: arrivals never sent have no latency. They can only move a percentile `q`
/// beyond every measured response when they are more than `1 − q` of all requests; the
/// warning names those percentiles (none: no warning; the achieved rate has its own).
fn dropped(outcome: &Outcome) -> Option<Warning> {
    let dropped = outcome.counts.dropped;
    let all = outcome.latency.len() + dropped;
    if dropped == 0 || all == 0 {
        return None;
    }
    let share = dropped as f64 / all as f64;
    // Not `max`: any one arrival could be the slowest, which says nothing.
    let moved: Vec<&str> = LATENCY_FIGURES
        .iter()
        .filter(|&&(_, q)| q < 1.0 && share > 1.0 - q)
        .map(|&(name, _)| name)
        .collect();
    if moved.is_empty() {
        return None;
    }
    Some(Warning::new(
        WarningKind::Dropped,
        format!(
            "{dropped} arrivals ({:.1} % of the requests) were never sent (no connection was \
             free): they have no latency, and so many could put {} above any response measured",
            share * 100.0,
            list(&moved.iter().map(|s| (*s).to_string()).collect::<Vec<_>>())
        ),
    ))
}

/// `a`, `a and b`, `a, b and c`.
fn list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// A latency in milliseconds as text: `850 µs`, `12.3 ms`, `2.10 s`.
fn ms_text(ms: f64) -> String {
    if !ms.is_finite() {
        "–".to_string()
    } else if ms < 1.0 {
        format!("{:.0} µs", ms * 1000.0)
    } else if ms < 1000.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{:.2} s", ms / 1000.0)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::time::SystemTime;

    use perfloop_engine::{Model, Plan};

    use super::*;
    use crate::run::BuildInput;
    use crate::run::build::tests::{config, counts, outcome};

    fn record_of(outcome: &Outcome) -> RunRecord {
        let config = config(Model::Closed {
            connections: Plan::Constant(32.0),
        });
        RunRecord::build(&BuildInput {
            config: &config,
            outcome,
            slos: &[],
            level: None,
            started_at: SystemTime::now(),
            monitor: None,
            target_command: None,
        })
    }

    fn ages(outcome: &mut Outcome, ages_us: &[u64]) {
        for &a in ages_us {
            outcome.unfinished_age.record(a).unwrap();
        }
        outcome.counts.unfinished = ages_us.len() as u64;
    }

    #[test]
    fn requests_refused_by_goaway_are_explained() {
        let mut o = outcome(&[1_000; 1000], counts(), false);
        assert!(record_of(&o).warnings.is_empty());
        o.counts.by_kind[ErrorKind::GoAway.index()] = 7;
        let record = record_of(&o);
        let goaway: Vec<_> = record
            .warnings
            .iter()
            .filter(|w| w.kind == WarningKind::GoAway)
            .collect();
        assert_eq!(goaway.len(), 1, "{:?}", record.warnings);
        let w = goaway[0];
        assert!(
            w.message.starts_with("7 requests were refused"),
            "{}",
            w.message
        );
        assert!(!w.invalidates);
    }

    #[test]
    fn requests_cut_off_young_change_no_figure() {
        // 32 connections cut off at the end of the window, each a few ms into a request
        // that takes 10 ms: nothing measured says they were slow.
        let mut o = outcome(&[10_000; 1000], counts(), false);
        ages(&mut o, &[2_000; 32]);
        let record = record_of(&o);
        assert!(record.warnings.is_empty(), "{:?}", record.warnings);
    }

    #[test]
    fn requests_older_than_a_percentile_raise_it_to_a_bound() {
        // 20 of 1020 requests (2 %) had waited 2 s when the run stopped: p99 and above are
        // at least 2 s; p95 stays what the responses say.
        let mut o = outcome(&[10_000; 1000], counts(), false);
        ages(&mut o, &[2_000_000; 20]);
        let record = record_of(&o);
        let w = record.warning(WarningKind::Unfinished).unwrap();
        assert!(!w.invalidates);
        assert!(
            w.message.starts_with("20 requests were still in flight"),
            "{}",
            w.message
        );
        assert!(
            w.message
                .contains("raise p99 to at least 2.00 s, p99.9 to at least 2.00 s and max to"),
            "{}",
            w.message
        );
        assert!(!w.message.contains("p95"), "{}", w.message);
        // One slow request among a thousand only moves the maximum.
        let mut o = outcome(&[10_000; 1000], counts(), false);
        ages(&mut o, &[500_000]);
        let w = record_of(&o)
            .warning(WarningKind::Unfinished)
            .cloned()
            .unwrap();
        assert!(
            w.message.contains("raise max to at least 500"),
            "{}",
            w.message
        );
    }

    #[test]
    fn dropped_arrivals_warn_only_when_they_can_move_a_percentile() {
        let mut c = counts();
        c.dropped = 5;
        let o = outcome(&[10_000; 95], c.clone(), false);
        let w = record_of(&o)
            .warning(WarningKind::Dropped)
            .cloned()
            .unwrap();
        // 5 of 100: more than 1 % and 0.1 %, not more than 5 %.
        assert!(
            w.message.contains("put p99 and p99.9 above"),
            "{}",
            w.message
        );
        c.dropped = 1;
        let o = outcome(&[10_000; 9999], c, false);
        assert!(record_of(&o).warning(WarningKind::Dropped).is_none());
    }

    #[test]
    fn a_scrape_that_kept_nothing_is_a_warning() {
        let o = outcome(&[10_000; 10], counts(), false);
        let config = config(Model::Closed {
            connections: Plan::Constant(1.0),
        });
        let mut monitor = perfloop_monitor::Recording::default();
        monitor.summary.scrapes = 3;
        monitor.summary.scrape_series_exposed = 42;
        let build = |monitor: &perfloop_monitor::Recording| {
            RunRecord::build(&BuildInput {
                config: &config,
                outcome: &o,
                slos: &[],
                level: None,
                started_at: SystemTime::now(),
                monitor: Some(monitor),
                target_command: None,
            })
        };
        let w = build(&monitor)
            .warning(WarningKind::ScrapeKeptNothing)
            .cloned()
            .unwrap();
        assert!(w.message.contains("none of the 42 series"), "{}", w.message);
        monitor.summary.scrape_series_kept = 1;
        assert!(
            build(&monitor)
                .warning(WarningKind::ScrapeKeptNothing)
                .is_none()
        );
    }
}
