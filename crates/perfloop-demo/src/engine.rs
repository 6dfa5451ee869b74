//! The matching pipeline shared by the HTTP service and the batch mode.
//!
//! Callers submit batches of at most `--batch-size` records; `--workers` OS threads take
//! them from one queue. A worker, for each batch:
//!
//! 1. normalises the records and computes their blocking keys;
//! 2. looks the batch's distinct keys up in the LRU cache (`--cache-size` entries, off at
//!    0; one lock per batch);
//! 3. sends the keys the cache did not hold to the store in one query over a connection
//!    from the pool (`--pool-size`), waiting for a connection if none is free, and caches
//!    the answers;
//! 4. scores every record against its candidates (Jaro–Winkler, see `matching`) and
//!    hands the results to the batch's reply.
//!
//! A worker blocks while it waits for a connection or for the store, as a thread of a
//! thread-pool service does on a blocking database driver; the CPU work of scoring runs
//! on the same threads.

use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};

use lru::LruCache;

use crate::config::Knobs;
use crate::data::Dataset;
use crate::error::DemoError;
use crate::index::{BlockKey, Index, block_keys};
use crate::matching::{MatchOutcome, best_match};
use crate::metrics::Metrics;
use crate::pool::Pool;
use crate::record::{NormRecord, Record};
use crate::store::Store;

/// Receives the results of a batch, in the order of its records.
pub type Reply = Box<dyn FnOnce(Vec<MatchOutcome>) + Send>;

/// A batch waiting for a worker.
struct Job {
    records: Vec<Record>,
    reply: Reply,
}

/// What the workers share.
struct Shared {
    data: Arc<Dataset>,
    store: Store,
    pool: Pool,
    cache: Option<Mutex<LruCache<BlockKey, Arc<[u32]>>>>,
    metrics: Arc<Metrics>,
}

/// The running pipeline: its workers, pool, store and cache. Dropping it stops the
/// workers after the batches already submitted.
pub struct Engine {
    jobs: Option<Sender<Job>>,
    workers: Vec<JoinHandle<()>>,
    shared: Arc<Shared>,
    knobs: Knobs,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("knobs", &self.knobs)
            .field("users", &self.shared.data.len())
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// Indexes `data` into the store and starts the workers.
    pub fn start(
        data: Arc<Dataset>,
        knobs: Knobs,
        metrics: Arc<Metrics>,
    ) -> Result<Self, DemoError> {
        knobs.validate()?;
        let cache = NonZeroUsize::new(knobs.cache_size).map(|n| Mutex::new(LruCache::new(n)));
        let shared = Arc::new(Shared {
            store: Store::new(Index::build(&data), Arc::clone(&metrics)),
            pool: Pool::new(knobs.pool_size, Arc::clone(&metrics)),
            data,
            cache,
            metrics,
        });
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        let mut engine = Self {
            jobs: Some(tx),
            workers: Vec::with_capacity(knobs.workers),
            shared,
            knobs,
        };
        for i in 0..knobs.workers {
            let shared = Arc::clone(&engine.shared);
            let rx = Arc::clone(&rx);
            let handle = thread::Builder::new()
                .name(format!("match-{i}"))
                .spawn(move || work(&shared, &rx))
                .map_err(DemoError::Spawn)?;
            engine.workers.push(handle);
        }
        Ok(engine)
    }

    /// The knobs the engine runs with.
    pub fn knobs(&self) -> Knobs {
        self.knobs
    }

    /// The known users.
    pub fn data(&self) -> &Arc<Dataset> {
        &self.shared.data
    }

    /// The counters the engine updates.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.shared.metrics
    }

    /// The number of distinct blocking keys in the store.
    pub fn index_keys(&self) -> usize {
        self.shared.store.index_keys()
    }

    /// Queues one batch; `reply` gets its results. Callers split their records into
    /// batches of at most [`Knobs::batch_size`] (larger batches are processed whole).
    pub fn submit(&self, records: Vec<Record>, reply: Reply) -> Result<(), DemoError> {
        let jobs = self.jobs.as_ref().ok_or(DemoError::EngineStopped)?;
        Metrics::add(&self.shared.metrics.batches_queued, 1);
        jobs.send(Job { records, reply }).map_err(|_| {
            self.shared
                .metrics
                .batches_queued
                .fetch_sub(1, Ordering::Relaxed);
            DemoError::EngineStopped
        })
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.jobs = None;
        for handle in self.workers.drain(..) {
            // A worker that panicked has nothing left to clean up.
            let _ = handle.join();
        }
    }
}

/// A worker's loop: take a batch, process it, reply; until the queue closes.
fn work(shared: &Shared, jobs: &Mutex<Receiver<Job>>) {
    loop {
        let job = {
            let rx = lock(jobs);
            rx.recv()
        };
        let Ok(job) = job else { return };
        shared
            .metrics
            .batches_queued
            .fetch_sub(1, Ordering::Relaxed);
        let _busy = Metrics::enter(&shared.metrics.workers_busy);
        let results = shared.process(&job.records);
        (job.reply)(results);
    }
}

impl Shared {
    /// Matches one batch (steps 1 to 4 of the module documentation).
    fn process(&self, records: &[Record]) -> Vec<MatchOutcome> {
        let norm: Vec<NormRecord> = records.iter().map(NormRecord::from_record).collect();
        let keys: Vec<[Option<BlockKey>; 3]> = norm
            .iter()
            .map(|r| block_keys(&r.name, &r.email, &r.phone, &r.city))
            .collect();
        let mut wanted: Vec<BlockKey> = keys.iter().flatten().flatten().copied().collect();
        wanted.sort_unstable();
        wanted.dedup();

        let mut found: HashMap<BlockKey, Arc<[u32]>> = HashMap::with_capacity(wanted.len());
        let missing: Vec<BlockKey> = match &self.cache {
            Some(cache) => {
                let mut cache = lock(cache);
                wanted
                    .into_iter()
                    .filter(|key| match cache.get(key) {
                        Some(users) => {
                            found.insert(*key, Arc::clone(users));
                            false
                        }
                        None => true,
                    })
                    .collect()
            }
            None => wanted,
        };
        Metrics::add(&self.metrics.cache_hits, found.len() as u64);
        Metrics::add(&self.metrics.cache_misses, missing.len() as u64);

        if !missing.is_empty() {
            let rows = {
                let connection = self.pool.acquire();
                self.store.query(&connection, &missing)
            };
            if let Some(cache) = &self.cache {
                let mut cache = lock(cache);
                for (key, users) in missing.iter().zip(&rows) {
                    cache.put(*key, Arc::clone(users));
                }
            }
            found.extend(missing.into_iter().zip(rows));
        }

        let mut blocks = Vec::with_capacity(3);
        let results: Vec<MatchOutcome> = norm
            .iter()
            .zip(&keys)
            .map(|(record, keys)| {
                blocks.clear();
                blocks.extend(keys.iter().flatten().filter_map(|k| found.get(k).cloned()));
                best_match(record, &self.data, &blocks)
            })
            .collect();
        let matched = results.iter().filter(|r| r.matched.is_some()).count();
        Metrics::add(&self.metrics.records, records.len() as u64);
        Metrics::add(&self.metrics.matches, matched as u64);
        results
    }
}

/// Locks a mutex whose data stays usable after a holder panicked (a queue receiver, a
/// cache of immutable answers).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::workload::Workload;

    fn engine(knobs: Knobs) -> Engine {
        let data = Arc::new(Dataset::generate(5_000, 3));
        let started = Engine::start(data, knobs, Arc::new(Metrics::default()));
        let Ok(engine) = started else {
            unreachable!("valid knobs: {started:?}")
        };
        engine
    }

    fn knobs(cache_size: usize) -> Knobs {
        Knobs {
            workers: 2,
            batch_size: 50,
            pool_size: 1,
            cache_size,
        }
    }

    /// Submits one batch and waits for its results.
    fn process(engine: &Engine, records: Vec<Record>) -> Vec<MatchOutcome> {
        let (tx, rx) = mpsc::channel();
        let submitted = engine.submit(
            records,
            Box::new(move |results| {
                let _ = tx.send(results);
            }),
        );
        assert!(submitted.is_ok());
        rx.recv().unwrap_or_default()
    }

    #[test]
    fn results_come_back_in_order_with_the_planted_duplicates_found() {
        let engine = engine(knobs(0));
        let labelled = Workload::new(engine.data(), 1).records(0, 40);
        let results = process(&engine, labelled.iter().map(|l| l.record.clone()).collect());
        assert_eq!(results.len(), 40);
        let right = labelled
            .iter()
            .zip(&results)
            .filter(|(l, r)| l.truth == r.matched)
            .count();
        assert!(right >= 38, "{right} of 40 decided right");
        let s = engine.metrics().snapshot();
        assert_eq!((s.records, s.store_queries, s.cache_hits), (40, 1, 0));
    }

    #[test]
    fn the_cache_answers_repeated_keys() {
        let engine = engine(knobs(1_000));
        let records: Vec<Record> = Workload::new(engine.data(), 1)
            .records(0, 20)
            .into_iter()
            .map(|l| l.record)
            .collect();
        let first = process(&engine, records.clone());
        let misses = engine.metrics().snapshot().cache_misses;
        let second = process(&engine, records);
        assert_eq!(first, second);
        let s = engine.metrics().snapshot();
        assert_eq!(s.store_queries, 1, "the second batch needs no query");
        assert_eq!(s.cache_hits, misses);
    }

    #[test]
    fn a_batch_waits_for_a_connection_when_the_pool_is_taken() {
        let engine = engine(knobs(0));
        let records: Vec<Record> = Workload::new(engine.data(), 1)
            .records(0, 5)
            .into_iter()
            .map(|l| l.record)
            .collect();
        let taken = engine.shared.pool.acquire();
        let (tx, rx) = mpsc::channel();
        let submitted = engine.submit(
            records,
            Box::new(move |results| {
                let _ = tx.send(results);
            }),
        );
        assert!(submitted.is_ok());
        while engine.metrics().pool_waiting.load(Ordering::Relaxed) == 0 {
            thread::yield_now();
        }
        assert_eq!(engine.metrics().store_in_flight.load(Ordering::Relaxed), 0);
        drop(taken);
        assert_eq!(rx.recv().map(|r| r.len()), Ok(5));
        let s = engine.metrics().snapshot();
        assert_eq!((s.pool_acquires, s.pool_waits), (2, 1));
        assert!(s.pool_wait > std::time::Duration::ZERO);
    }

    #[test]
    fn out_of_range_knobs_do_not_start() {
        let data = Arc::new(Dataset::generate(10, 3));
        let bad = Knobs {
            workers: 0,
            ..Knobs::DEFAULT
        };
        let started = Engine::start(data, bad, Arc::new(Metrics::default()));
        assert!(matches!(started, Err(DemoError::KnobOutOfRange { .. })));
    }
}
