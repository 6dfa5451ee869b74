//! Matching quality and determinism of the batch mode.
//!
//! Thresholds: on 3 000 records (half planted duplicates with up to two typos each)
//! against 20 000 users, precision and recall are each at least 0.97.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::sync::Arc;

use perfloop_demo::{Dataset, Knobs, run_batch};

const KNOBS: Knobs = Knobs {
    workers: 4,
    batch_size: 100,
    pool_size: 4,
    cache_size: 10_000,
};

#[test]
fn planted_duplicates_are_found_with_high_precision_and_recall() {
    let data = Arc::new(Dataset::generate(20_000, 42));
    let report = run_batch(&data, KNOBS, 3_000, 42).unwrap();
    assert_eq!(report.records, 3_000);
    assert!(
        report.planted > 1_200 && report.planted < 1_800,
        "{report:?}"
    );
    assert!(
        report.precision() >= 0.97,
        "precision {}",
        report.precision()
    );
    assert!(report.recall() >= 0.97, "recall {}", report.recall());
    assert_eq!(report.metrics.records, 3_000);
    assert!(report.headline().starts_with("processed 3000 records in "));
}

#[test]
fn the_same_seed_gives_the_same_matches() {
    let data = Arc::new(Dataset::generate(5_000, 9));
    let a = run_batch(&data, KNOBS, 500, 9).unwrap();
    let b = run_batch(&Arc::new(Dataset::generate(5_000, 9)), KNOBS, 500, 9).unwrap();
    assert_eq!(
        (a.matched, a.planted, a.true_matches),
        (b.matched, b.planted, b.true_matches)
    );
}

#[test]
fn the_knobs_change_the_work_not_the_answers() {
    let data = Arc::new(Dataset::generate(5_000, 9));
    let a = run_batch(&data, KNOBS, 500, 9).unwrap();
    let other = Knobs {
        workers: 1,
        batch_size: 7,
        pool_size: 1,
        cache_size: 0,
    };
    let b = run_batch(&data, other, 500, 9).unwrap();
    assert_eq!((a.matched, a.true_matches), (b.matched, b.true_matches));
    assert!(b.metrics.store_queries > a.metrics.store_queries);
    assert_eq!(b.metrics.cache_hits, 0);
}
