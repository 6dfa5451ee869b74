//! Two runs (or two sets of pooled runs) compared metric by metric: throughput, p50, p90,
//! p99, p99.9 and the error rate, each with its change, an interval and a verdict.
//!
//! # Method: a bootstrap over per-second intervals
//!
//! A run is its seconds: for each second of the measured window, the requests completed,
//! the errors among them, the second's length, and its latencies on the fixed grid of
//! [`grid`](crate::grid). A resample draws, for each run, as many seconds as the run has,
//! with replacement, from that run only (a stratified bootstrap when a side pools several
//! runs, so each run keeps its weight: Davison and Hinkley, *Bootstrap Methods and their
//! Application*, 1997, §3.2). A side's figures over the drawn seconds are the throughput
//! (requests summed over time summed), the p50, p90, p99 and p99.9 of the merged grid
//! histograms, and the error rate (errors summed over requests summed). Whole seconds are
//! the unit resampled, not requests: the requests of one second share its state (a pause of
//! the collector, a burst of the neighbours), and drawing blocks keeps that dependence the
//! way a block bootstrap does (Künsch, *The Jackknife and the Bootstrap for General
//! Stationary Observations*, Annals of Statistics 17, 1989).
//!
//! Each of [`CompareOptions::resamples`] resamples gives the ratio `r* = m(B*) / m(A*)`; the
//! percentile interval of `r*` at [`CompareOptions::confidence`] (Efron and Tibshirani, *An
//! Introduction to the Bootstrap*, 1993, ch. 13) is re-centred on the reported change: the
//! point figures `a` and `b` are the caller's headline figures (a run's own, from its HDR
//! histograms), `change = b / a − 1`, and the interval is
//! `(1 + change) · r*_q / r̂ − 1`, where `r̂` is the ratio of the two sides' figures on the
//! grid over all their seconds; it is widened, if need be, to hold the change.
//!
//! Two corrections keep the interval from claiming more than the data hold. The percentile
//! interval of a bootstrap is too narrow for a few observations (its spread is short by
//! `√((n − 1) / n)` and its tails are normal rather than Student's t): the tails used are
//! those of Hesterberg's expanded percentile interval, `α′/2 = Φ(−√(n / (n − 1)) ·
//! t(1 − α/2, n − 1))` with `n` the fewer seconds of the two sides (T. Hesterberg, *What
//! Teachers Should Know About the Bootstrap*, The American Statistician 69, 2015); with
//! three seconds a side that is the whole range of the resamples, with sixty nearly the
//! plain 2.5 %. And a latency quantile read from the grid is known only to half a bucket
//! (0.5 %), so a latency interval is widened by that much at each end: seconds that all
//! agree would otherwise give an interval a tenth of a bucket wide. The resamples are drawn from a ChaCha generator seeded with a hash of the inputs (and
//! [`CompareOptions::seed`]): the same runs always give the same answer.
//!
//! A latency quantile's interval is also never narrower than the order statistics of the
//! two sides' requests allow (`rank_interval`): when a dozen stalled requests make a p99,
//! every second of the run can look alike while another run of the same server has no
//! stall at all.
//!
//! A throughput's interval is never narrower than the edges of the windows allow
//! ([`Side::edge_requests`]): in the closed model, connections that started together finish
//! their requests in near step, and whether a window's edge falls before or after such a
//! batch moves its count by up to one request per connection, in every second alike.
//!
//! # Verdict
//!
//! `slower` (worse: lower throughput, higher latency or error rate) or `faster` (better)
//! only when the interval excludes 0 **and** the change is at least
//! [`CompareOptions::threshold`] in size; otherwise `same`. The interval sees only how the
//! seconds of one run vary around each other; two runs on a shared machine also differ by
//! what stays constant within a run (where the threads landed, what ran beside them, the
//! caches and the frequency), a couple of per cent, which no resampling of seconds can see.
//! The threshold (2 % by default) is that floor. The tails move more from run to run than the
//! body (one run whose neighbour kept a core busy throughout shows a p99 5 to 10 % higher in
//! every second, measured on a 2-core machine under a parallel build), so p99 and p99.9 have
//! a floor of their own, [`CompareOptions::tail_threshold`] (5 % by default).
//!
//! An error rate of 0 on side A has no ratio: its change and interval are `None`, and the
//! verdict comes from the bootstrap of the difference `B* − A*` instead (`slower` when its
//! interval lies above 0, so errors appear in enough seconds of B that no resample can make
//! them vanish). A side with fewer than two seconds cannot be resampled: no interval,
//! verdict `same`, and a note says why.

mod bootstrap;
#[cfg(test)]
mod tests;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use self::bootstrap::{Span, Totals, Values};

/// One second of a run, as the comparison reads it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Second<'a> {
    /// Requests completed in the second.
    pub requests: u64,
    /// Of which errors.
    pub errors: u64,
    /// The second's length in seconds: 1, or less for a last, partial second.
    pub length_s: f64,
    /// Its latencies on the grid of [`grid`](crate::grid): `(bucket, count)`, ascending.
    pub buckets: &'a [(u32, u64)],
}

/// What is compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Metric {
    /// Requests per second; higher is better.
    Throughput,
    /// Median latency, ms; lower is better.
    P50,
    /// 90th percentile latency, ms; lower is better.
    P90,
    /// 99th percentile latency, ms; lower is better.
    P99,
    /// 99.9th percentile latency, ms; lower is better.
    P999,
    /// Errors over requests; lower is better.
    ErrorRate,
}

impl Metric {
    /// Every metric, in the order results are given.
    pub const ALL: [Metric; 6] = [
        Metric::Throughput,
        Metric::P50,
        Metric::P90,
        Metric::P99,
        Metric::P999,
        Metric::ErrorRate,
    ];

    /// Its name: `throughput`, `p50`, `p90`, `p99`, `p999`, `error_rate`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Metric::Throughput => "throughput",
            Metric::P50 => "p50",
            Metric::P90 => "p90",
            Metric::P99 => "p99",
            Metric::P999 => "p999",
            Metric::ErrorRate => "error_rate",
        }
    }

    /// Whether a higher value is better (throughput) or worse (latency, errors).
    #[must_use]
    pub fn higher_is_better(self) -> bool {
        self == Metric::Throughput
    }

    fn is_latency(self) -> bool {
        !matches!(self, Metric::Throughput | Metric::ErrorRate)
    }

    /// The quantile a latency metric reads (0.5 for p50), `None` for the others.
    fn quantile(self) -> Option<f64> {
        match self {
            Metric::P50 => Some(0.5),
            Metric::P90 => Some(0.9),
            Metric::P99 => Some(0.99),
            Metric::P999 => Some(0.999),
            Metric::Throughput | Metric::ErrorRate => None,
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// A side's point figures, one per metric; `None` where it was not measured.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Figures {
    /// Requests per second.
    pub throughput_rps: Option<f64>,
    /// Median latency, ms.
    pub p50_ms: Option<f64>,
    /// 90th percentile latency, ms.
    pub p90_ms: Option<f64>,
    /// 99th percentile latency, ms.
    pub p99_ms: Option<f64>,
    /// 99.9th percentile latency, ms.
    pub p999_ms: Option<f64>,
    /// Errors over requests.
    pub error_rate: Option<f64>,
}

impl Figures {
    /// The figure of `metric`.
    #[must_use]
    pub fn get(&self, metric: Metric) -> Option<f64> {
        match metric {
            Metric::Throughput => self.throughput_rps,
            Metric::P50 => self.p50_ms,
            Metric::P90 => self.p90_ms,
            Metric::P99 => self.p99_ms,
            Metric::P999 => self.p999_ms,
            Metric::ErrorRate => self.error_rate,
        }
    }

    /// The figures of every second of `runs` pooled: requests over time, the quantiles of
    /// the merged grid histograms, errors over requests (a pooled side's headline).
    #[must_use]
    pub fn pooled(runs: &[Vec<Second<'_>>]) -> Figures {
        let v = bootstrap::pooled(runs, Span::of(runs.iter().flatten()));
        Figures {
            throughput_rps: v[0],
            p50_ms: v[1],
            p90_ms: v[2],
            p99_ms: v[3],
            p999_ms: v[4],
            error_rate: v[5],
        }
    }
}

/// One side of a comparison: its runs' seconds and its headline figures.
#[derive(Debug, Clone, PartialEq)]
pub struct Side<'a> {
    /// The seconds of each run (one entry per run; several when the side pools runs).
    pub runs: Vec<Vec<Second<'a>>>,
    /// The figures reported for the side: a single run's own, or [`Figures::pooled`].
    pub headline: Figures,
    /// How many requests the edges of the side's windows may add or take away, whatever its
    /// seconds say: in the closed model each connection may have a request straddling each
    /// edge of the window, and connections that started together straddle them together,
    /// so a run's count is uncertain by about its connections (over several runs pooled,
    /// the root of the sum of their squares); 0 in the open model, whose window counts its
    /// own arrivals.
    pub edge_requests: f64,
}

impl Side<'_> {
    fn seconds(&self) -> usize {
        self.runs.iter().map(Vec::len).sum()
    }
}

/// How the comparison is made.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CompareOptions {
    /// The smallest relative change called `faster` or `slower` (0.02: 2 %): the noise two
    /// runs on a shared machine show that within-run seconds cannot see.
    pub threshold: f64,
    /// The same floor for the tail latencies, p99 and p99.9 (0.05: 5 %); never below
    /// [`CompareOptions::threshold`].
    pub tail_threshold: f64,
    /// The interval's confidence level (0.95).
    pub confidence: f64,
    /// Bootstrap resamples (2000).
    pub resamples: usize,
    /// Mixed into the seed derived from the inputs (0).
    pub seed: u64,
}

impl CompareOptions {
    /// The smallest change of `metric` called `faster` or `slower`.
    #[must_use]
    pub fn threshold_for(&self, metric: Metric) -> f64 {
        match metric {
            Metric::P99 | Metric::P999 => self.tail_threshold.max(self.threshold),
            _ => self.threshold,
        }
    }
}

impl Default for CompareOptions {
    fn default() -> Self {
        CompareOptions {
            threshold: 0.02,
            tail_threshold: 0.05,
            confidence: 0.95,
            resamples: 2000,
            seed: 0,
        }
    }
}

/// The verdict on one metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// B is better, beyond the interval and the threshold.
    Faster,
    /// B is worse, beyond the interval and the threshold.
    Slower,
    /// No significant difference.
    Same,
}

/// One metric compared.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Comparison {
    /// Which metric.
    pub metric: Metric,
    /// Side A's headline figure.
    pub a: Option<f64>,
    /// Side B's headline figure.
    pub b: Option<f64>,
    /// `b / a − 1`; `None` when either is missing or `a` is 0.
    pub change: Option<f64>,
    /// The interval of the change at the confidence asked; `None` when it cannot be
    /// computed (a side too short, `a` 0, a figure missing).
    pub interval: Option<(f64, f64)>,
    /// Faster, slower or the same.
    pub verdict: Verdict,
}

/// The result of [`compare`].
#[derive(Debug, Clone, PartialEq)]
pub struct Compared {
    /// One per metric, in [`Metric::ALL`]'s order.
    pub comparisons: Vec<Comparison>,
    /// What limited the comparison, one sentence each.
    pub notes: Vec<String>,
}

/// Compares side B against side A (see the module documentation for the method).
#[must_use]
pub fn compare(a: &Side<'_>, b: &Side<'_>, opts: &CompareOptions) -> Compared {
    let mut notes = Vec::new();
    let mut short = false;
    for (name, side) in [("A", a), ("B", b)] {
        let n = side.seconds();
        if n < 2 {
            short = true;
            notes.push(format!(
                "side {name} has {n} measured second{}: too few to resample, so no interval \
                 and no verdict",
                if n == 1 { "" } else { "s" }
            ));
        }
    }
    let boot = (!short).then(|| Bootstrap::run(a, b, opts));
    let comparisons = Metric::ALL
        .iter()
        .map(|&m| judge(m, a, b, boot.as_ref(), opts, &mut notes))
        .collect();
    Compared { comparisons, notes }
}

/// The resamples of both sides: per metric, the sorted ratios B*/A* and differences B*−A*.
struct Bootstrap {
    resamples: usize,
    /// The fewer seconds of the two sides.
    seconds: usize,
    point_a: Values,
    point_b: Values,
    ratios: Vec<Vec<f64>>,
    differences: Vec<Vec<f64>>,
}

impl Bootstrap {
    fn run(a: &Side<'_>, b: &Side<'_>, opts: &CompareOptions) -> Bootstrap {
        let span = Span::of(a.runs.iter().chain(&b.runs).flatten());
        let mut rng = ChaCha8Rng::seed_from_u64(bootstrap::seed(&a.runs, &b.runs, opts.seed));
        let (mut ta, mut tb) = (Totals::new(span), Totals::new(span));
        let mut ratios = vec![Vec::with_capacity(opts.resamples); Metric::ALL.len()];
        let mut differences = ratios.clone();
        for _ in 0..opts.resamples {
            let va = bootstrap::draw(&a.runs, &mut ta, &mut rng);
            let vb = bootstrap::draw(&b.runs, &mut tb, &mut rng);
            for m in 0..Metric::ALL.len() {
                let (Some(x), Some(y)) = (va[m], vb[m]) else {
                    continue;
                };
                differences[m].push(y - x);
                ratios[m].push(if x > 0.0 {
                    y / x
                } else if y == 0.0 {
                    1.0
                } else {
                    f64::INFINITY
                });
            }
        }
        for v in ratios.iter_mut().chain(differences.iter_mut()) {
            v.sort_by(f64::total_cmp);
        }
        Bootstrap {
            resamples: opts.resamples,
            seconds: a.seconds().min(b.seconds()),
            point_a: bootstrap::pooled(&a.runs, span),
            point_b: bootstrap::pooled(&b.runs, span),
            ratios,
            differences,
        }
    }

    /// The percentile interval of `values` at `confidence`, expanded for the sides'
    /// seconds, if at least half the resamples gave a value.
    fn interval(&self, values: &[f64], confidence: f64) -> Option<(f64, f64)> {
        if values.is_empty() || values.len() * 2 < self.resamples {
            return None;
        }
        let tail = expanded_tail(confidence, self.seconds);
        Some((
            bootstrap::percentile(values, tail)?,
            bootstrap::percentile(values, 1.0 - tail)?,
        ))
    }
}

/// The comparison of one metric.
fn judge(
    metric: Metric,
    a: &Side<'_>,
    b: &Side<'_>,
    boot: Option<&Bootstrap>,
    opts: &CompareOptions,
    notes: &mut Vec<String>,
) -> Comparison {
    let (fa, fb) = (a.headline.get(metric), b.headline.get(metric));
    let mut c = Comparison {
        metric,
        a: fa,
        b: fb,
        change: None,
        interval: None,
        verdict: Verdict::Same,
    };
    let (Some(x), Some(y)) = (fa, fb) else {
        let side = if fa.is_none() { "A" } else { "B" };
        notes.push(format!("{}: not measured on side {side}", metric.name()));
        return c;
    };
    let worse = |up: bool| {
        if up != metric.higher_is_better() {
            Verdict::Slower
        } else {
            Verdict::Faster
        }
    };
    let i = metric.index();
    if x <= 0.0 {
        // No ratio from zero: the difference decides.
        let Some(boot) = boot else { return c };
        if let Some((lo, hi)) = boot.interval(&boot.differences[i], opts.confidence) {
            if lo > 0.0 || hi < 0.0 {
                c.verdict = worse(lo > 0.0);
            }
        }
        notes.push(format!(
            "{}: side A's figure is 0, so the change has no ratio; the verdict comes from the \
             interval of the difference B − A",
            metric.name()
        ));
        return c;
    }
    let change = y / x - 1.0;
    c.change = Some(change);
    let Some(boot) = boot else { return c };
    let Some((r_lo, r_hi)) = boot.interval(&boot.ratios[i], opts.confidence) else {
        notes.push(format!(
            "{}: too few resamples had the figure on both sides for an interval",
            metric.name()
        ));
        return c;
    };
    if !(r_lo.is_finite() && r_hi.is_finite()) {
        notes.push(format!(
            "{}: side A's figure was 0 in too many resamples to bound the change",
            metric.name()
        ));
        return c;
    }
    let grid_ratio = match (boot.point_a[i], boot.point_b[i]) {
        (Some(pa), Some(pb)) if pa > 0.0 && pb > 0.0 => pb / pa,
        _ => 1.0 + change,
    };
    let scale = (1.0 + change) / grid_ratio;
    let (lo, hi) = (
        (scale * r_lo - 1.0).min(change),
        (scale * r_hi - 1.0).max(change),
    );
    // A count is uncertain by the requests its windows' edges may hold: no narrower.
    let (lo, hi) = if metric == Metric::Throughput {
        let relative = |side: &Side<'_>| {
            let n: u64 = side.runs.iter().flatten().map(|s| s.requests).sum();
            if n == 0 {
                0.0
            } else {
                side.edge_requests / n as f64
            }
        };
        let edge = relative(a).hypot(relative(b)) * (1.0 + change);
        (lo.min(change - edge), hi.max(change + edge))
    } else {
        (lo, hi)
    };
    // A quantile of few requests is uncertain whatever the seconds say: no narrower than the
    // order statistics allow.
    let (lo, hi) = match rank_interval(metric, a, b, opts.confidence) {
        Some((r_lo, r_hi)) => (lo.min(scale * r_lo - 1.0), hi.max(scale * r_hi - 1.0)),
        None => (lo, hi),
    };
    // A latency quantile read from the grid is known to half a bucket: no narrower.
    let resolution = if metric.is_latency() {
        (crate::grid::RATIO - 1.0) / 2.0 * (1.0 + change)
    } else {
        0.0
    };
    let (lo, hi) = (lo - resolution, hi + resolution);
    c.interval = Some((lo, hi));
    if (lo > 0.0 || hi < 0.0) && change.abs() >= opts.threshold_for(metric) {
        c.verdict = worse(change > 0.0);
    }
    c
}

/// The interval of the ratio B/A of a latency quantile from the order statistics of each
/// side's requests (all its seconds merged), as if they were independent: the quantile `q`
/// of `n` requests lies between the requests of ranks `nq ∓ z·√(nq(1 − q))` (the normal
/// approximation of the binomial; Conover, *Practical Nonparametric Statistics*, 3rd ed.,
/// 1999, §3.2), and the two sides' relative uncertainties add in quadrature on a log scale.
/// Seconds resampled cannot see this when a few rare requests make the tail: one run's
/// second with a stall and another's without differ by more than their seconds vary.
fn rank_interval(
    metric: Metric,
    a: &Side<'_>,
    b: &Side<'_>,
    confidence: f64,
) -> Option<(f64, f64)> {
    let q = metric.quantile()?;
    let z = normal_quantile(1.0 - (1.0 - confidence.clamp(0.5, 0.9999)) / 2.0);
    let bounds = |side: &Side<'_>| -> Option<(f64, f64, f64)> {
        let mut merged = Vec::new();
        for second in side.runs.iter().flatten() {
            crate::grid::merge(&mut merged, second.buckets);
        }
        let n = crate::grid::count(&merged) as f64;
        if n < 1.0 {
            return None;
        }
        let half = z * (n * q * (1.0 - q)).sqrt();
        let rank = |r: f64| crate::grid::quantile_us(&merged, (r / n).clamp(0.0, 1.0));
        let (lo, mid, hi) = (rank(n * q - half)?, rank(n * q)?, rank(n * q + half)?);
        (lo > 0.0).then(|| (lo.ln(), mid.ln(), hi.ln()))
    };
    let (a_lo, a_mid, a_hi) = bounds(a)?;
    let (b_lo, b_mid, b_hi) = bounds(b)?;
    let ratio = b_mid - a_mid;
    let below = (b_mid - b_lo).hypot(a_hi - a_mid);
    let above = (b_hi - b_mid).hypot(a_mid - a_lo);
    Some(((ratio - below).exp(), (ratio + above).exp()))
}

/// The `p` quantile of the standard normal distribution, by bisection on
/// [`normal_upper_tail`] (to 1e-9).
fn normal_quantile(p: f64) -> f64 {
    let (mut lo, mut hi) = (-10.0_f64, 10.0_f64);
    while hi - lo > 1e-9 {
        let mid = (lo + hi) / 2.0;
        if 1.0 - normal_upper_tail(mid) < p {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    (lo + hi) / 2.0
}

/// The tail probability of each end of a percentile interval at `confidence` from a
/// bootstrap of `n` observations, expanded for small samples: the bootstrap distribution is
/// too narrow by a factor `√((n − 1) / n)` and has normal rather than Student's t tails, so
/// the tail used is `α' / 2 = Φ(−√(n / (n − 1)) · t(1 − α / 2, n − 1))` (Hesterberg's
/// expanded percentile interval, *What Teachers Should Know About the Bootstrap*, The
/// American Statistician 69, 2015, §5.3).
fn expanded_tail(confidence: f64, n: usize) -> f64 {
    let alpha = 1.0 - confidence.clamp(0.0, 1.0);
    if n < 2 {
        return alpha / 2.0;
    }
    let n = n as f64;
    match crate::sample::t_quantile(1.0 - alpha / 2.0, n - 1.0) {
        Some(t) => normal_upper_tail((n / (n - 1.0)).sqrt() * t),
        None => alpha / 2.0,
    }
}

/// `P(Z > z)` for a standard normal `Z`: `erfc(z / √2) / 2`, with the Chebyshev fit of
/// Numerical Recipes (`erfcc`, relative error below 1.2e-7).
fn normal_upper_tail(z: f64) -> f64 {
    let x = z / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.5 * x.abs());
    let poly = -x * x - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let erfc = t * poly.exp();
    0.5 * if x >= 0.0 { erfc } else { 2.0 - erfc }
}
