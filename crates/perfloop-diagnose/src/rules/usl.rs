//! `usl_contention` and `usl_coherency` (info, or warning when they bite): what the
//! Universal Scalability Law fitted to the concurrency sweep says limits scaling.
//!
//! Both read the fit's `limit` (which term costs more at the largest measured concurrency,
//! see `perfloop_stats::usl`) and stay silent when the fit is poor (R² below
//! [`MIN_R_SQUARED`], 0.8: the law then does not describe the data and its parameters mean
//! nothing) or scaling is linear.
//!
//! - `usl_contention`: σ, the serialised fraction, bounds throughput by `λ/σ` whatever the
//!   concurrency (Amdahl). A warning from [`SIGMA_WARNING`] (σ = 0.05: at most 20 × the
//!   throughput of one request at a time), information below.
//! - `usl_coherency`: κ makes throughput peak at `N*` and fall beyond it. A warning when the
//!   sweep reached or passed `N*` (more concurrency already costs throughput), information
//!   when `N*` lies beyond the measured range.

use perfloop_report::{Evidence, Finding, Severity, UslRecord};

use crate::search::Search;
use crate::strategy;
use crate::text::{evidence, num, pct};

/// The contention rule's identifier.
pub(crate) const CONTENTION: &str = "usl_contention";

/// The coherency rule's identifier.
pub(crate) const COHERENCY: &str = "usl_coherency";

/// Fits with a lower R² are not interpreted.
pub(crate) const MIN_R_SQUARED: f64 = 0.8;

/// σ from which contention is a warning.
pub(crate) const SIGMA_WARNING: f64 = 0.05;

/// See the module documentation.
pub(crate) fn usl_contention(search: &Search<'_>) -> Option<Finding> {
    let usl = usable(search, "contention")?;
    let ceiling = (usl.sigma > 0.0).then(|| usl.lambda / usl.sigma);
    let summary = format!(
        "The Universal Scalability Law fits the concurrency sweep (R² = {}, {} points) and \
         contention limits scaling: σ = {} means about {} of the work is serialised (a lock, \
         a single-threaded stage, a shared queue){}; κ = {}.",
        num(usl.r_squared),
        usl.points,
        num(usl.sigma),
        pct(usl.sigma),
        ceiling
            .map(|c| format!(", so throughput can never exceed λ/σ = {} req/s", num(c)))
            .unwrap_or_default(),
        num(usl.kappa),
    );
    Some(Finding {
        rule: CONTENTION.to_owned(),
        severity: if usl.sigma >= SIGMA_WARNING {
            Severity::Warning
        } else {
            Severity::Info
        },
        title: format!("Contention limits scaling (σ = {})", num(usl.sigma)),
        summary,
        evidence: rows(usl, search.sweep_max_concurrency),
        recommendations: vec![
            strategy::SHORT_TRANSACTIONS.advise(
                "Shrink what runs under a lock or in a transaction: the serialised fraction is \
                 what caps throughput, not the number of workers.",
            ),
            strategy::BATCHING.advise(
                "Pay the serialised cost once per batch rather than once per request (one lock \
                 acquisition, one commit, one flush for many).",
            ),
            strategy::LOAD_BALANCING.advise(
                "Instances that share nothing do not contend: partition the shared resource \
                 and spread the load over them.",
            ),
        ],
    })
}

/// See the module documentation.
pub(crate) fn usl_coherency(search: &Search<'_>) -> Option<Finding> {
    let usl = usable(search, "coherency")?;
    let reached = match (usl.peak_concurrency, search.sweep_max_concurrency) {
        (Some(peak), Some(largest)) => largest >= peak,
        _ => false,
    };
    let peak = usl.peak_concurrency.map_or_else(
        || "throughput falls at high concurrency".to_owned(),
        |n| {
            format!(
                "throughput peaks at N* = {} concurrent requests{} and falls beyond",
                num(n),
                usl.max_throughput_rps
                    .map(|x| format!(" ({} req/s)", num(x)))
                    .unwrap_or_default()
            )
        },
    );
    let summary = format!(
        "The Universal Scalability Law fits the concurrency sweep (R² = {}, {} points) and \
         coherency limits scaling: with κ = {} (σ = {}) {}, as workers spend more and more \
         time keeping shared state consistent{}.",
        num(usl.r_squared),
        usl.points,
        num(usl.kappa),
        num(usl.sigma),
        peak,
        search
            .sweep_max_concurrency
            .map(|c| format!("; the sweep went up to {}", num(c)))
            .unwrap_or_default(),
    );
    let target = usl
        .peak_concurrency
        .map_or_else(|| "the best measured concurrency".to_owned(), num);
    Some(Finding {
        rule: COHERENCY.to_owned(),
        severity: if reached {
            Severity::Warning
        } else {
            Severity::Info
        },
        title: format!("Coherency limits scaling (κ = {})", num(usl.kappa)),
        summary,
        evidence: rows(usl, search.sweep_max_concurrency),
        recommendations: vec![
            strategy::THREAD_POOL.advise(format!(
                "Size the worker and connection pools near {target}: beyond it more \
                 concurrency lowers throughput."
            )),
            strategy::LIMITS.advise(format!(
                "Admit at most about {target} requests at once and queue the rest in front, so \
                 that overload does not push the service past its peak."
            )),
            strategy::LOAD_BALANCING.advise(
                "Shard the shared state so that fewer workers keep each part consistent, and \
                 spread the load over the shards.",
            ),
        ],
    })
}

/// The fit, when it is good enough and its limit is `limit`.
fn usable<'a>(search: &Search<'a>, limit: &str) -> Option<&'a UslRecord> {
    search
        .usl
        .filter(|u| u.limit == limit && u.r_squared.is_finite() && u.r_squared >= MIN_R_SQUARED)
}

/// The fit's parameters as evidence.
fn rows(usl: &UslRecord, largest: Option<f64>) -> Vec<Evidence> {
    let mut rows = vec![
        evidence("USL contention σ", usl.sigma, "", None),
        evidence("USL coherency κ", usl.kappa, "", None),
        evidence(
            "USL throughput at concurrency 1, λ",
            usl.lambda,
            "req/s",
            None,
        ),
    ];
    if let Some(n) = usl.peak_concurrency {
        rows.push(evidence("USL peak concurrency N*", n, "", None));
    }
    if let Some(x) = usl.max_throughput_rps {
        rows.push(evidence("USL maximum throughput", x, "req/s", None));
    }
    rows.push(evidence("USL fit R²", usl.r_squared, "", None));
    if let Some(c) = largest {
        rows.push(evidence("largest concurrency measured", c, "", None));
    }
    rows
}
