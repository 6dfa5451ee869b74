//! The service's counters and gauges, shared by the engine, the pool and the store, and
//! their rendering in the Prometheus text exposition format (version 0.0.4): a `# HELP`
//! and a `# TYPE` line and one `name value` sample per metric, no labels.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Counters and gauges; every field is updated with relaxed atomics.
#[derive(Debug, Default)]
pub struct Metrics {
    /// `POST /match` requests answered.
    pub(crate) requests: AtomicU64,
    /// Records matched (HTTP and batch).
    pub(crate) records: AtomicU64,
    /// Records declared duplicates of a known user.
    pub(crate) matches: AtomicU64,
    /// Blocking-key lookups answered by the cache.
    pub(crate) cache_hits: AtomicU64,
    /// Blocking-key lookups the cache did not hold (or all of them with the cache off).
    pub(crate) cache_misses: AtomicU64,
    /// Connections taken from the pool.
    pub(crate) pool_acquires: AtomicU64,
    /// Connections that had to be waited for.
    pub(crate) pool_waits: AtomicU64,
    /// Total time spent waiting for a connection, in nanoseconds.
    pub(crate) pool_wait_ns: AtomicU64,
    /// Connections in use now (gauge).
    pub(crate) pool_in_use: AtomicU64,
    /// Threads waiting for a connection now (gauge).
    pub(crate) pool_waiting: AtomicU64,
    /// Queries sent to the store.
    pub(crate) store_queries: AtomicU64,
    /// Keys looked up by those queries.
    pub(crate) store_keys: AtomicU64,
    /// Total time of store queries (round trip and service), in nanoseconds.
    pub(crate) store_query_ns: AtomicU64,
    /// Queries the store is serving now (gauge).
    pub(crate) store_in_flight: AtomicU64,
    /// Batches waiting for a worker (gauge).
    pub(crate) batches_queued: AtomicU64,
    /// Workers processing a batch now (gauge).
    pub(crate) workers_busy: AtomicU64,
}

/// A point-in-time copy of the counters.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct MetricsSnapshot {
    /// `POST /match` requests answered.
    pub requests: u64,
    /// Records matched.
    pub records: u64,
    /// Records declared duplicates.
    pub matches: u64,
    /// Cache hits.
    pub cache_hits: u64,
    /// Cache misses.
    pub cache_misses: u64,
    /// Connections taken from the pool.
    pub pool_acquires: u64,
    /// Connections that had to be waited for.
    pub pool_waits: u64,
    /// Total time spent waiting for a connection.
    pub pool_wait: Duration,
    /// Queries sent to the store.
    pub store_queries: u64,
    /// Keys looked up by those queries.
    pub store_keys: u64,
    /// Total time of store queries.
    pub store_query_time: Duration,
}

impl Metrics {
    /// Adds `n` to a counter.
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// Adds a duration to a nanosecond counter.
    pub(crate) fn add_duration(counter: &AtomicU64, d: Duration) {
        let ns = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        counter.fetch_add(ns, Ordering::Relaxed);
    }

    /// Raises a gauge by one until the returned guard is dropped.
    pub(crate) fn enter(gauge: &AtomicU64) -> GaugeGuard<'_> {
        gauge.fetch_add(1, Ordering::Relaxed);
        GaugeGuard(gauge)
    }

    /// A copy of the counters.
    pub fn snapshot(&self) -> MetricsSnapshot {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        MetricsSnapshot {
            requests: get(&self.requests),
            records: get(&self.records),
            matches: get(&self.matches),
            cache_hits: get(&self.cache_hits),
            cache_misses: get(&self.cache_misses),
            pool_acquires: get(&self.pool_acquires),
            pool_waits: get(&self.pool_waits),
            pool_wait: Duration::from_nanos(get(&self.pool_wait_ns)),
            store_queries: get(&self.store_queries),
            store_keys: get(&self.store_keys),
            store_query_time: Duration::from_nanos(get(&self.store_query_ns)),
        }
    }

    /// The metrics in the Prometheus text format.
    pub fn render(&self) -> String {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let secs = |c: &AtomicU64| get(c) as f64 / 1e9;
        let rows: [(&str, &str, &str, f64); 16] = [
            (
                "match_requests_total",
                "counter",
                "POST /match requests answered.",
                get(&self.requests) as f64,
            ),
            (
                "records_total",
                "counter",
                "Records matched.",
                get(&self.records) as f64,
            ),
            (
                "matches_total",
                "counter",
                "Records declared duplicates of a known user.",
                get(&self.matches) as f64,
            ),
            (
                "cache_hits_total",
                "counter",
                "Blocking-key lookups answered by the cache.",
                get(&self.cache_hits) as f64,
            ),
            (
                "cache_misses_total",
                "counter",
                "Blocking-key lookups not in the cache.",
                get(&self.cache_misses) as f64,
            ),
            (
                "pool_acquires_total",
                "counter",
                "Store connections taken from the pool.",
                get(&self.pool_acquires) as f64,
            ),
            (
                "pool_waits_total",
                "counter",
                "Store connections that had to be waited for.",
                get(&self.pool_waits) as f64,
            ),
            (
                "pool_wait_seconds_total",
                "counter",
                "Time spent waiting for a store connection.",
                secs(&self.pool_wait_ns),
            ),
            (
                "pool_connections_in_use",
                "gauge",
                "Store connections in use.",
                get(&self.pool_in_use) as f64,
            ),
            (
                "pool_waiting",
                "gauge",
                "Threads waiting for a store connection.",
                get(&self.pool_waiting) as f64,
            ),
            (
                "store_queries_total",
                "counter",
                "Queries sent to the store.",
                get(&self.store_queries) as f64,
            ),
            (
                "store_keys_total",
                "counter",
                "Blocking keys looked up by store queries.",
                get(&self.store_keys) as f64,
            ),
            (
                "store_query_seconds_total",
                "counter",
                "Time of store queries, round trip and service.",
                secs(&self.store_query_ns),
            ),
            (
                "store_queries_in_flight",
                "gauge",
                "Queries the store is serving.",
                get(&self.store_in_flight) as f64,
            ),
            (
                "batches_queued",
                "gauge",
                "Batches waiting for a worker.",
                get(&self.batches_queued) as f64,
            ),
            (
                "workers_busy",
                "gauge",
                "Workers processing a batch.",
                get(&self.workers_busy) as f64,
            ),
        ];
        let mut out = String::with_capacity(2048);
        for (name, kind, help, value) in rows {
            // Writing to a String cannot fail.
            let _ = writeln!(
                out,
                "# HELP perfloop_demo_{name} {help}\n# TYPE perfloop_demo_{name} {kind}\nperfloop_demo_{name} {value}"
            );
        }
        out
    }
}

/// Lowers its gauge when dropped.
#[derive(Debug)]
pub(crate) struct GaugeGuard<'a>(&'a AtomicU64);

impl Drop for GaugeGuard<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_metric_as_help_type_and_sample() {
        let m = Metrics::default();
        Metrics::add(&m.records, 5);
        Metrics::add_duration(&m.pool_wait_ns, Duration::from_millis(1500));
        let _busy = Metrics::enter(&m.workers_busy);
        let text = m.render();
        assert!(text.contains("perfloop_demo_records_total 5\n"));
        assert!(text.contains("perfloop_demo_pool_wait_seconds_total 1.5\n"));
        assert!(text.contains("perfloop_demo_workers_busy 1\n"));
        let samples: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(samples.len(), 16);
        assert_eq!(text.lines().count(), 48);
    }

    #[test]
    fn a_gauge_guard_lowers_its_gauge() {
        let m = Metrics::default();
        {
            let _a = Metrics::enter(&m.store_in_flight);
            let _b = Metrics::enter(&m.store_in_flight);
            assert_eq!(m.store_in_flight.load(Ordering::Relaxed), 2);
        }
        assert_eq!(m.store_in_flight.load(Ordering::Relaxed), 0);
    }
}
