//! The simulated downstream store: it answers blocking-key lookups from the in-memory
//! [`Index`], and it takes the time a real shared database would, including the slowdown
//! when it is asked to do more at once than it can do well.
//!
//! # The model
//!
//! A query for `k` keys costs, in this order:
//!
//! 1. a network round trip of [`ROUND_TRIP`] (2 ms), the same whatever the load;
//! 2. service work of [`QUERY_WORK`] (1.5 ms: open the transaction, parse, plan, commit)
//!    plus [`KEY_WORK`] (100 µs: an index probe and its ~20 rows) per key looked up,
//!    measured at full speed.
//!
//! The store serves [`CAPACITY`] (8) queries at once at full speed. Service work is done
//! in slices of at most [`SLICE`]; before each slice the store reads how many queries `n`
//! and keys `m` are in service *now* (shared in-flight counters, updated as queries enter
//! and leave) and stretches the slice by
//!
//! - `max(1, n / CAPACITY)`: beyond its capacity the store shares itself among the
//!   queries in service;
//! - `1 + OVERLOAD_PENALTY * max(0, n - CAPACITY)`: each query beyond capacity adds
//!   coordination overhead (locks, context switches) to every query, so an overloaded
//!   store does less in total, not just the same work more slowly ([`OVERLOAD_PENALTY`]
//!   = 0.1);
//! - `1 + SPILL_PENALTY * max(0, m - WORKING_SET) / WORKING_SET`: the keys of all
//!   queries in service share a working memory of [`WORKING_SET`] (4 000) keys; past it,
//!   rows one query reads evict rows another needs, which must be read again, so every
//!   query slows in proportion to the excess, and by more than the excess
//!   ([`SPILL_PENALTY`] = 2): a thrashing store does less in total.
//!
//! The stretch is real waiting (a thread sleep per slice), and the progress of a slice is
//! its measured length divided by the stretch, so the cost follows the load as it changes
//! during the query. Nothing in the model knows the knobs: it sees only the queries that
//! arrive. Few connections leave the store idle, many overload it; tiny batches pay the
//! round trip again and again, huge ones overflow the working memory.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crate::index::{BlockKey, Index};
use crate::metrics::Metrics;
use crate::pool::Connection;

/// Network round trip of one query.
pub const ROUND_TRIP: Duration = Duration::from_millis(2);

/// Fixed service work of a query at full speed.
pub const QUERY_WORK: Duration = Duration::from_micros(1_500);

/// Service work per key looked up, at full speed.
pub const KEY_WORK: Duration = Duration::from_micros(100);

/// Queries the store serves at full speed at once.
pub const CAPACITY: usize = 8;

/// Extra cost for every query in service, per query in service beyond [`CAPACITY`].
pub const OVERLOAD_PENALTY: f64 = 0.1;

/// Keys the queries in service can hold in the store's working memory.
pub const WORKING_SET: usize = 4_000;

/// Extra cost for every query in service, per working set of keys in service beyond
/// [`WORKING_SET`].
pub const SPILL_PENALTY: f64 = 2.0;

/// Longest stretch of service work between two readings of the load.
pub const SLICE: Duration = Duration::from_millis(2);

/// The store: the index and the load it is under.
#[derive(Debug)]
pub(crate) struct Store {
    index: Index,
    queries: AtomicUsize,
    keys: AtomicUsize,
    metrics: Arc<Metrics>,
}

/// A query's place in service; leaving service when dropped.
struct InService<'a> {
    store: &'a Store,
    keys: usize,
}

impl Drop for InService<'_> {
    fn drop(&mut self) {
        self.store.queries.fetch_sub(1, Ordering::SeqCst);
        self.store.keys.fetch_sub(self.keys, Ordering::SeqCst);
    }
}

impl Store {
    /// A store serving `index`.
    pub(crate) fn new(index: Index, metrics: Arc<Metrics>) -> Self {
        Self {
            index,
            queries: AtomicUsize::new(0),
            keys: AtomicUsize::new(0),
            metrics,
        }
    }

    /// Looks up `keys` over a pooled connection: the users under each key, in order.
    pub(crate) fn query(&self, _connection: &Connection<'_>, keys: &[BlockKey]) -> Vec<Arc<[u32]>> {
        let start = Instant::now();
        let _in_flight = Metrics::enter(&self.metrics.store_in_flight);
        thread::sleep(ROUND_TRIP);
        {
            let _service = self.enter(keys.len());
            let mut remaining = (QUERY_WORK + KEY_WORK * keys.len() as u32).as_secs_f64();
            while remaining > 0.0 {
                let stretch = self.stretch();
                let slice = (remaining * stretch).min(SLICE.as_secs_f64());
                let began = Instant::now();
                thread::sleep(Duration::from_secs_f64(slice));
                remaining -= began.elapsed().as_secs_f64() / stretch;
            }
        }
        let rows = keys.iter().map(|key| self.index.lookup(*key)).collect();
        Metrics::add(&self.metrics.store_queries, 1);
        Metrics::add(&self.metrics.store_keys, keys.len() as u64);
        Metrics::add_duration(&self.metrics.store_query_ns, start.elapsed());
        rows
    }

    /// The number of distinct keys the store holds.
    pub(crate) fn index_keys(&self) -> usize {
        self.index.keys()
    }

    fn enter(&self, keys: usize) -> InService<'_> {
        self.queries.fetch_add(1, Ordering::SeqCst);
        self.keys.fetch_add(keys, Ordering::SeqCst);
        InService { store: self, keys }
    }

    /// The factor by which service is slower than full speed under the current load.
    fn stretch(&self) -> f64 {
        stretch(
            self.queries.load(Ordering::SeqCst),
            self.keys.load(Ordering::SeqCst),
        )
    }
}

/// The slowdown of service with `queries` queries and `keys` keys in service (see the
/// module documentation).
pub(crate) fn stretch(queries: usize, keys: usize) -> f64 {
    let excess = queries.saturating_sub(CAPACITY) as f64;
    let share = (queries as f64 / CAPACITY as f64).max(1.0);
    let overload = 1.0 + OVERLOAD_PENALTY * excess;
    let spill = 1.0 + SPILL_PENALTY * keys.saturating_sub(WORKING_SET) as f64 / WORKING_SET as f64;
    share * overload * spill
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Dataset;
    use crate::pool::Pool;

    #[test]
    fn full_speed_within_capacity_and_working_set() {
        assert!((stretch(1, 10) - 1.0).abs() < 1e-12);
        assert!((stretch(CAPACITY, WORKING_SET) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn overload_costs_more_than_sharing() {
        // Twice the capacity: half the speed from sharing, times the penalty.
        let s = stretch(2 * CAPACITY, 0);
        let expected = 2.0 * (1.0 + OVERLOAD_PENALTY * CAPACITY as f64);
        assert!((s - expected).abs() < 1e-12);
        // Throughput (queries in service / stretch) falls past the capacity.
        let throughput = |n: usize| n as f64 / stretch(n, 0);
        assert!(throughput(2 * CAPACITY) < throughput(CAPACITY));
    }

    #[test]
    fn a_working_set_overflow_slows_every_query_more_than_in_proportion() {
        assert!((stretch(1, 2 * WORKING_SET) - (1.0 + SPILL_PENALTY)).abs() < 1e-12);
        let throughput = |keys: usize| keys as f64 / stretch(1, keys);
        assert!(throughput(2 * WORKING_SET) < throughput(WORKING_SET));
    }

    #[test]
    fn answers_from_the_index_and_counts_the_query() {
        let data = Dataset::generate(500, 1);
        let user = &data.users()[0];
        let keys: Vec<BlockKey> =
            crate::index::block_keys(&user.name, &user.email, &user.phone, &user.city)
                .into_iter()
                .flatten()
                .collect();
        let metrics = Arc::new(Metrics::default());
        let store = Store::new(Index::build(&data), Arc::clone(&metrics));
        let pool = Pool::new(1, Arc::clone(&metrics));
        let rows = store.query(&pool.acquire(), &keys);
        assert_eq!(rows.len(), keys.len());
        assert!(rows.iter().all(|r| r.contains(&0)));
        let s = metrics.snapshot();
        assert_eq!((s.store_queries, s.store_keys), (1, keys.len() as u64));
        assert!(s.store_query_time >= ROUND_TRIP);
    }
}
