//! `cpu_machine` (critical or warning): the machine runs out of CPU near the limit.
//!
//! Looks at the steps near the limit (the highest passing rate step and the first failing
//! one above it, see [`crate::search`]) that watched a target:
//!
//! - **critical** when the target's mean CPU is at least [`TARGET_SHARE`] (80 %) of the
//!   machine (`cpu_pct_mean ≥ 0.8 × cores × 100`). Utilisation never averages 100 % over a
//!   step: the scheduler, interrupts and bursts leave gaps, and queueing delay grows steeply
//!   beyond about 80 %, so 80 % of every core is a CPU-bound service;
//! - **warning** when the target uses less but the host is at least [`HOST_BUSY_PCT`]
//!   (90 %) busy: the machine is out of CPU because of something else, on a small machine
//!   usually the load generator, which shares the cores. The generator's CPU is part of the
//!   evidence so that the reader can tell.
//!
//! The step reported is the one near the limit with the largest target share.

use perfloop_report::{Finding, Severity};

use crate::search::{Point, Search, TargetFigures, machine_share};
use crate::strategy;
use crate::text::{evidence, num, pct};

/// The rule's identifier.
pub(crate) const RULE: &str = "cpu_machine";

/// The target's share of the machine's CPU from which it is CPU-bound.
pub(crate) const TARGET_SHARE: f64 = 0.80;

/// Host CPU busy, % of the machine, from which the machine is out of CPU.
pub(crate) const HOST_BUSY_PCT: f64 = 90.0;

/// The generator's share of the machine above which the summary says it competes with the
/// target for cores.
const GENERATOR_SHARE_NOTE: f64 = 0.15;

/// See the module documentation.
pub(crate) fn cpu_machine(search: &Search<'_>) -> Option<Finding> {
    let near = search.near_limit();
    let (point, summary) = near
        .iter()
        .filter_map(|p| p.target().map(|s| (*p, s)))
        .filter(|(_, s)| machine_share(s) >= TARGET_SHARE || s.host_cpu_pct_mean >= HOST_BUSY_PCT)
        .max_by(|a, b| machine_share(&a.1).total_cmp(&machine_share(&b.1)))?;
    let share = machine_share(&summary);
    let critical = share >= TARGET_SHARE;
    let cores = f64::from(summary.cores);
    let generator_share = summary.generator_cpu_pct_mean / (cores * 100.0);
    let cpu_ms = cpu_ms_per_request(point, &summary);

    let mut text = format!(
        "At step {} ({} req/s offered, {} req/s served) the target used {} % of one core, \
         {} of the machine's {} cores, and the host was {} % busy; the load generator took \
         {} % of one core ({} of the machine).",
        point.index,
        num(point.offered),
        num(point.run.throughput_rps),
        num(summary.cpu_pct_mean),
        pct(share),
        summary.cores,
        num(summary.host_cpu_pct_mean),
        num(summary.generator_cpu_pct_mean),
        pct(generator_share),
    );
    if let Some(ms) = cpu_ms {
        text.push_str(&format!(
            " Each request cost about {} ms of the target's CPU, which bounds the machine \
             near {} req/s.",
            num(ms),
            num(cores * 1000.0 / ms),
        ));
    }
    if generator_share >= GENERATOR_SHARE_NOTE {
        text.push_str(
            " The generator shares these cores with the target: from another machine the \
             target would have more CPU.",
        );
    }

    let mut rows = vec![
        evidence(
            "target CPU, % of one core",
            summary.cpu_pct_mean,
            "%",
            Some(point.index),
        ),
        evidence(
            "target CPU, share of the machine",
            share * 100.0,
            "%",
            Some(point.index),
        ),
        evidence("cores", cores, "", Some(point.index)),
        evidence(
            "host CPU busy",
            summary.host_cpu_pct_mean,
            "%",
            Some(point.index),
        ),
        evidence(
            "generator CPU, % of one core",
            summary.generator_cpu_pct_mean,
            "%",
            Some(point.index),
        ),
    ];
    if let Some(ms) = cpu_ms {
        rows.push(evidence(
            "target CPU per request",
            ms,
            "ms",
            Some(point.index),
        ));
    }
    for other in near.iter().filter(|p| p.index != point.index) {
        if let Some(s) = other.target() {
            rows.push(evidence(
                "target CPU, share of the machine",
                machine_share(&s) * 100.0,
                "%",
                Some(other.index),
            ));
        }
    }

    let (severity, title, recommendations) = if critical {
        (
            Severity::Critical,
            "The target is CPU-bound: it uses most of the machine's CPU near the limit",
            vec![
                strategy::EFFICIENT_ALGORITHMS.advise(format!(
                    "Profile the target at this load (a CPU flame graph) and cut the CPU per \
                     request{}: throughput is CPU per request divided into the cores.",
                    cpu_ms
                        .map(|ms| format!(" ({} ms)", num(ms)))
                        .unwrap_or_default()
                )),
                strategy::CACHING.advise(
                    "Cache what every request computes or fetches again (rendered responses, \
                     parsed configuration, query results).",
                ),
                strategy::LESS_LOGGING.advise(
                    "Check the log volume at this rate: formatting and writing a log line per \
                     request costs CPU on every core.",
                ),
                strategy::LOAD_BALANCING.advise(
                    "When the code is efficient, add cores or instances behind a load \
                     balancer: the service scales out, not up, from here.",
                ),
            ],
        )
    } else {
        (
            Severity::Warning,
            "The machine ran out of CPU near the limit, though not because of the target alone",
            vec![strategy::FIND_THE_BOTTLENECK.advise(format!(
                "The host was {} % busy while the target used {}: run perfloop (it took {}) \
                 and other busy processes elsewhere and measure again before optimising the \
                 target.",
                num(summary.host_cpu_pct_mean),
                pct(share),
                pct(generator_share),
            ))],
        )
    };
    Some(Finding {
        rule: RULE.to_owned(),
        severity,
        title: title.to_owned(),
        summary: text,
        evidence: rows,
        recommendations,
    })
}

/// The target's CPU milliseconds per completed request, when both are known.
fn cpu_ms_per_request(point: &Point<'_>, summary: &TargetFigures) -> Option<f64> {
    let throughput = point.run.throughput_rps;
    (throughput > 0.0 && summary.cpu_pct_mean > 0.0)
        .then(|| summary.cpu_pct_mean / 100.0 * 1000.0 / throughput)
}
