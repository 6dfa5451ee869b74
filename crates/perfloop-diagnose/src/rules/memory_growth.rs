//! `memory_growth` (warning): the target's resident memory grows across the search.
//!
//! Joins the target's samples of the steps that passed (sustainable load; of the rate steps
//! when there are any) in the order measured into one series of the growth **within**
//! steps: each step's samples start near 0 on its own time axis, so each is shifted to
//! begin where the previous step ended, and each step's RSS is taken relative to its first
//! sample and added to where the previous step ended. A jump between steps — more
//! connections and buffers at a higher rate, or the high-water mark an overloaded step
//! leaves in the allocator — is not growth: memory that follows the load is flat while the
//! load is constant, and a leak or an unbounded cache grows even then. Samples without a
//! live target are left out, and the series is thinned evenly to at most [`MAX_POINTS`] points (the test
//! is quadratic). It fires when, over at least [`MIN_SAMPLES`] (10) samples:
//!
//! - Mann–Kendall finds an upward trend with a one-sided p-value below [`TREND_P`] (0.01: a
//!   long series makes small trends significant, so the bar is high), and
//! - the growth, the median of the last tenth of the samples minus that of the first tenth
//!   (medians, so a spike does not count), is at least [`MIN_GROWTH_FRACTION`] (10 %) of the
//!   start and at least [`MIN_GROWTH_MIB`] (5 MiB): allocator arenas and thread stacks move a
//!   few MiB on their own.
//!

use perfloop_report::{Finding, Severity};
use perfloop_stats::mann_kendall;

use crate::search::{Point, Search};
use crate::strategy;
use crate::text::{evidence, num, pct};

/// The rule's identifier.
pub(crate) const RULE: &str = "memory_growth";

/// Fewest samples tested.
pub(crate) const MIN_SAMPLES: usize = 10;

/// Most samples tested; longer series are thinned evenly.
pub(crate) const MAX_POINTS: usize = 2000;

/// One-sided Mann–Kendall p-value below which the memory rises.
pub(crate) const TREND_P: f64 = 0.01;

/// Least growth, as a fraction of the starting resident set.
pub(crate) const MIN_GROWTH_FRACTION: f64 = 0.10;

/// Least growth, MiB.
pub(crate) const MIN_GROWTH_MIB: f64 = 5.0;

/// See the module documentation.
pub(crate) fn memory_growth(search: &Search<'_>) -> Option<Finding> {
    let passing = search.points.iter().filter(|p| p.pass);
    let mut points: Vec<&Point<'_>> = passing.clone().filter(|p| p.is_rate()).collect();
    if points.is_empty() {
        points = passing.collect();
    }
    points.sort_by_key(|p| p.index);
    let (ts, rss) = rss_series(&points);
    if ts.len() < MIN_SAMPLES {
        return None;
    }
    let mk = mann_kendall(&ts, &rss)?;
    let tenth = (rss.len() / 10).max(1);
    let start = median(&rss[..tenth])?;
    let end = median(&rss[rss.len() - tenth..])?;
    let growth = end - start;
    if mk.p_increasing >= TREND_P
        || growth < MIN_GROWTH_MIB
        || start <= 0.0
        || growth / start < MIN_GROWTH_FRACTION
    {
        return None;
    }
    let span = ts.last().copied().unwrap_or(0.0) - ts.first().copied().unwrap_or(0.0);
    let text = format!(
        "Within the steps that passed, while the load was constant, the target's resident \
         memory grew from {} to {} MiB in all (+{} MiB, {}) over {} s of sustainable load ({} samples; Mann–Kendall τ = {}, p = {}; Sen's slope {} MiB per \
         minute). Memory that grows at constant load is a leak or an unbounded cache; memory \
         that follows the load (connections, buffers) stays flat while the load does.",
        num(start),
        num(end),
        num(growth),
        pct(growth / start),
        num(span),
        mk.n,
        num(mk.tau),
        num(mk.p_increasing),
        num(mk.sen_slope * 60.0),
    );
    let mut rows = vec![
        evidence(
            "target RSS, start (median of the first tenth)",
            start,
            "MiB",
            None,
        ),
        evidence(
            "target RSS, end (median of the last tenth)",
            end,
            "MiB",
            None,
        ),
        evidence("target RSS growth", growth, "MiB", None),
        evidence(
            "target RSS growth, relative",
            growth / start * 100.0,
            "%",
            None,
        ),
        evidence("Sen's slope of target RSS", mk.sen_slope, "MiB/s", None),
        evidence("Mann–Kendall τ, RSS against time", mk.tau, "", None),
        evidence("Mann–Kendall p, rising", mk.p_increasing, "", None),
        evidence("samples tested", mk.n as f64, "", None),
    ];
    for p in &points {
        if let Some(s) = p.target() {
            rows.push(evidence(
                "target RSS, peak",
                s.rss_max_mb,
                "MiB",
                Some(p.index),
            ));
        }
    }
    Some(Finding {
        rule: RULE.to_owned(),
        severity: Severity::Warning,
        title: format!(
            "The target's memory grows: +{} MiB over the search",
            num(growth)
        ),
        summary: text,
        evidence: rows,
        recommendations: vec![
            strategy::PURGE_STALE_DATA.advise(
                "Bound every cache and map that grows per request, client or key (a size \
                 limit, a time to live, LRU eviction) and release what finished requests leave \
                 behind.",
            ),
            strategy::BOUNDED_QUERIES.advise(
                "If requests load whole result sets or bodies into memory, page or stream them.",
            ),
            strategy::RUNTIME_TUNING.advise(
                "In a garbage-collected runtime, tell a heap that only lags the collector \
                 (heap limit, GC settings) from one that retains objects: compare two heap \
                 dumps taken minutes apart.",
            ),
        ],
    })
}

/// The target's RSS growth within the steps, each step's samples shifted in time and in
/// RSS to follow the previous step's, thinned to [`MAX_POINTS`].
fn rss_series(points: &[&Point<'_>]) -> (Vec<f64>, Vec<f64>) {
    let mut ts = Vec::new();
    let mut rss = Vec::new();
    let mut offset = 0.0;
    let mut level: Option<f64> = None;
    for p in points {
        // (time, RSS, interval) of the samples that measured the target's RSS.
        let live: Vec<(f64, f64, f64)> = p
            .run
            .target
            .samples
            .iter()
            .filter_map(|s| s.rss_mb.map(|rss| (s.t_s, rss, s.interval_s)))
            .filter(|&(t, rss, _)| rss > 0.0 && rss.is_finite() && t.is_finite())
            .collect();
        let (Some(&(t0, rss0, _)), Some(&(t1, rss1, last_interval))) = (live.first(), live.last())
        else {
            continue;
        };
        let base = *level.get_or_insert(rss0);
        for &(t, r, _) in &live {
            ts.push(offset + (t - t0));
            rss.push(base + (r - rss0));
        }
        offset += (t1 - t0) + last_interval.max(0.0);
        level = Some(base + (rss1 - rss0));
    }
    let stride = ts.len().div_ceil(MAX_POINTS).max(1);
    if stride > 1 {
        ts = ts.into_iter().step_by(stride).collect();
        rss = rss.into_iter().step_by(stride).collect();
    }
    (ts, rss)
}

/// The median, `None` when empty.
fn median(values: &[f64]) -> Option<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    match sorted.len() {
        0 => None,
        n if n % 2 == 1 => Some(sorted[mid]),
        _ => Some((sorted[mid - 1] + sorted[mid]) / 2.0),
    }
}
