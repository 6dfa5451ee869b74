//! The bounded connection pool in front of the store: at most `--pool-size` queries are
//! outstanding at once; a worker that finds every connection taken blocks until one is
//! returned, and that wait is counted (`pool_waits_total`, `pool_wait_seconds_total`).
//!
//! The pool is synchronous on purpose: the workers are OS threads that block on the store
//! like the blocking database driver of a thread-pool service, so a `Mutex` and a
//! `Condvar` are the whole of it.

use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use crate::metrics::{GaugeGuard, Metrics};

/// A fixed number of store connections.
#[derive(Debug)]
pub(crate) struct Pool {
    free: Mutex<usize>,
    returned: Condvar,
    metrics: Arc<Metrics>,
}

/// A connection taken from the pool; dropping it returns it.
#[derive(Debug)]
pub(crate) struct Connection<'a> {
    pool: &'a Pool,
    _in_use: GaugeGuard<'a>,
}

impl Pool {
    /// A pool of `size` connections (at least one).
    pub(crate) fn new(size: usize, metrics: Arc<Metrics>) -> Self {
        Self {
            free: Mutex::new(size.max(1)),
            returned: Condvar::new(),
            metrics,
        }
    }

    /// Takes a connection, waiting for one if all are in use.
    pub(crate) fn acquire(&self) -> Connection<'_> {
        let mut free = self.lock();
        Metrics::add(&self.metrics.pool_acquires, 1);
        if *free == 0 {
            let start = Instant::now();
            let waiting = Metrics::enter(&self.metrics.pool_waiting);
            while *free == 0 {
                free = self
                    .returned
                    .wait(free)
                    .unwrap_or_else(PoisonError::into_inner);
            }
            drop(waiting);
            Metrics::add(&self.metrics.pool_waits, 1);
            Metrics::add_duration(&self.metrics.pool_wait_ns, start.elapsed());
        }
        *free -= 1;
        Connection {
            pool: self,
            _in_use: Metrics::enter(&self.metrics.pool_in_use),
        }
    }

    /// Threads blocked in [`Pool::acquire`] now.
    #[cfg(test)]
    pub(crate) fn waiting(&self) -> u64 {
        self.metrics
            .pool_waiting
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    fn lock(&self) -> MutexGuard<'_, usize> {
        // The count stays consistent even if a holder panicked: it is one integer.
        self.free.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for Connection<'_> {
    fn drop(&mut self) {
        *self.pool.lock() += 1;
        self.pool.returned.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    use super::*;

    #[test]
    fn a_free_connection_is_taken_without_waiting() {
        let metrics = Arc::new(Metrics::default());
        let pool = Pool::new(2, Arc::clone(&metrics));
        let a = pool.acquire();
        let b = pool.acquire();
        assert_eq!(metrics.pool_in_use.load(Ordering::Relaxed), 2);
        drop((a, b));
        let s = metrics.snapshot();
        assert_eq!((s.pool_acquires, s.pool_waits), (2, 0));
        assert_eq!(metrics.pool_in_use.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn more_takers_than_connections_wait() {
        let metrics = Arc::new(Metrics::default());
        let pool = Pool::new(2, Arc::clone(&metrics));
        let a = pool.acquire();
        let b = pool.acquire();
        std::thread::scope(|s| {
            let third = s.spawn(|| drop(pool.acquire()));
            while pool.waiting() == 0 {
                std::thread::yield_now();
            }
            drop(a);
            assert!(third.join().is_ok());
        });
        drop(b);
        let s = metrics.snapshot();
        assert_eq!((s.pool_acquires, s.pool_waits), (3, 1));
        assert!(s.pool_wait > std::time::Duration::ZERO);
    }
}
