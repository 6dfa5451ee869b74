//! The batch mode: match N records of the generated workload through the same pipeline as
//! the service (workers, pool, store, cache), without HTTP, and report the throughput and
//! the quality of the matches against the workload's known truth.
//!
//! The clock runs from the first batch submitted to the last result received; generating
//! and indexing the users happens before. At most two batches per worker are outstanding,
//! so the input is generated as it is consumed.

use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::config::Knobs;
use crate::data::Dataset;
use crate::data::workload::Workload;
use crate::engine::Engine;
use crate::error::DemoError;
use crate::metrics::{Metrics, MetricsSnapshot};

/// The outcome of a batch run.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchReport {
    /// Records matched.
    pub records: usize,
    /// Wall time of the matching.
    pub elapsed: Duration,
    /// Records declared duplicates.
    pub matched: usize,
    /// Planted duplicates in the workload.
    pub planted: usize,
    /// Records matched to the user they duplicate.
    pub true_matches: usize,
    /// The engine's counters at the end.
    pub metrics: MetricsSnapshot,
}

impl BatchReport {
    /// Records per second of wall time.
    pub fn records_per_second(&self) -> f64 {
        self.records as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// Share of declared matches that are right (1 when none was declared).
    pub fn precision(&self) -> f64 {
        ratio(self.true_matches, self.matched)
    }

    /// Share of planted duplicates found (1 when none was planted).
    pub fn recall(&self) -> f64 {
        ratio(self.true_matches, self.planted)
    }

    /// `processed N records in X s (R records/s)`.
    pub fn headline(&self) -> String {
        format!(
            "processed {} records in {:.3} s ({:.0} records/s)",
            self.records,
            self.elapsed.as_secs_f64(),
            self.records_per_second()
        )
    }

    /// The lines after the headline: match quality and where the time went.
    pub fn details(&self) -> Vec<String> {
        let m = &self.metrics;
        let lookups = m.cache_hits + m.cache_misses;
        vec![
            format!(
                "matched {} records: precision {:.4}, recall {:.4} ({} planted duplicates)",
                self.matched,
                self.precision(),
                self.recall(),
                self.planted
            ),
            format!(
                "store: {} queries, {} keys, {:.3} s in queries; pool: {} of {} takes waited, {:.3} s waiting; cache hit rate {:.1} %",
                m.store_queries,
                m.store_keys,
                m.store_query_time.as_secs_f64(),
                m.pool_waits,
                m.pool_acquires,
                m.pool_wait.as_secs_f64(),
                100.0 * ratio(usize_of(m.cache_hits), usize_of(lookups)),
            ),
        ]
    }
}

fn ratio(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        1.0
    } else {
        part as f64 / whole as f64
    }
}

fn usize_of(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

/// Matches `records` records of the workload seeded with `seed` against `data`.
pub fn run_batch(
    data: &Arc<Dataset>,
    knobs: Knobs,
    records: usize,
    seed: u64,
) -> Result<BatchReport, DemoError> {
    let metrics = Arc::new(Metrics::default());
    let engine = Engine::start(Arc::clone(data), knobs, Arc::clone(&metrics))?;
    let workload = Workload::new(data, seed);
    let batch = knobs.batch_size.max(1);
    let window = 2 * knobs.workers.max(1);
    let (tx, rx) = mpsc::channel();
    let mut truths: Vec<Option<u32>> = Vec::with_capacity(records);
    let mut next = 0usize;
    let mut outstanding = 0usize;
    let (mut matched, mut true_matches) = (0usize, 0usize);

    let start = Instant::now();
    while next < records || outstanding > 0 {
        while next < records && outstanding < window {
            let count = batch.min(records - next);
            let labelled = workload.records(next as u64, count);
            let first = next;
            truths.extend(labelled.iter().map(|l| l.truth));
            let input = labelled.into_iter().map(|l| l.record).collect();
            let tx = tx.clone();
            engine.submit(
                input,
                Box::new(move |results| {
                    // The receiver outlives every batch; a failed send means the run ended.
                    let _ = tx.send((first, results));
                }),
            )?;
            next += count;
            outstanding += 1;
        }
        let (first, results) = rx.recv().map_err(|_| DemoError::EngineStopped)?;
        outstanding -= 1;
        for (offset, result) in results.iter().enumerate() {
            if let Some(user) = result.matched {
                matched += 1;
                if truths.get(first + offset).copied().flatten() == Some(user) {
                    true_matches += 1;
                }
            }
        }
    }
    let elapsed = start.elapsed();
    drop(engine);
    Ok(BatchReport {
        records,
        elapsed,
        matched,
        planted: truths.iter().filter(|t| t.is_some()).count(),
        true_matches,
        metrics: metrics.snapshot(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headline_format() {
        let report = BatchReport {
            records: 1000,
            elapsed: Duration::from_millis(250),
            matched: 0,
            planted: 0,
            true_matches: 0,
            metrics: MetricsSnapshot::default(),
        };
        assert_eq!(
            report.headline(),
            "processed 1000 records in 0.250 s (4000 records/s)"
        );
        assert!((report.precision() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn zero_records_is_an_empty_run() {
        let data = Arc::new(Dataset::generate(100, 1));
        let report = run_batch(&data, Knobs::DEFAULT, 0, 1);
        assert!(matches!(report, Ok(BatchReport { records: 0, .. })));
    }
}
