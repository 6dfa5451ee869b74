//! perfloop's own CPU use: the whole process's user and system time (`getrusage`) and the
//! calling thread's CPU clock (`CLOCK_THREAD_CPUTIME_ID`).
//!
//! Two readers use these clocks: the monitor (the generator's CPU in every sample, and the
//! cost of its own sampling and scrape threads) and the load engine (the run's CPU and each
//! worker thread's busy share, which tells a saturated generator). They live here, in the
//! crate that measures processes, and the engine depends on the monitor for them: the
//! monitor knows nothing of load generation, so it never depends on the engine, while the
//! engine may depend on the monitor, which depends on no report, store, tune or diagnosis
//! crate.

use std::time::Duration;

use nix::sys::resource::{UsageWho, getrusage};
use nix::sys::time::{TimeVal, TimeValLike};
use nix::time::{ClockId, clock_gettime};

/// User and system CPU time of this process so far.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ProcessCpu {
    /// User time.
    pub user: Duration,
    /// System time.
    pub sys: Duration,
}

impl ProcessCpu {
    /// Reads the counters now; zero if the kernel refuses (it does not on Linux).
    pub fn now() -> ProcessCpu {
        match getrusage(UsageWho::RUSAGE_SELF) {
            Ok(u) => ProcessCpu {
                user: timeval(u.user_time()),
                sys: timeval(u.system_time()),
            },
            Err(_) => ProcessCpu::default(),
        }
    }

    /// The CPU used since `earlier`.
    pub fn since(self, earlier: ProcessCpu) -> ProcessCpu {
        ProcessCpu {
            user: self.user.saturating_sub(earlier.user),
            sys: self.sys.saturating_sub(earlier.sys),
        }
    }

    /// User plus system time.
    pub fn total(self) -> Duration {
        self.user + self.sys
    }
}

fn timeval(tv: TimeVal) -> Duration {
    Duration::from_micros(u64::try_from(tv.num_microseconds()).unwrap_or(0))
}

/// CPU time consumed by the calling thread so far.
pub fn thread_cpu() -> Duration {
    clock_gettime(ClockId::CLOCK_THREAD_CPUTIME_ID)
        .map(Duration::from)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spinning_costs_cpu() {
        let (p0, t0) = (ProcessCpu::now(), thread_cpu());
        let start = std::time::Instant::now();
        let mut x = 0u64;
        while start.elapsed() < Duration::from_millis(50) {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
        }
        std::hint::black_box(x);
        let used = ProcessCpu::now().since(p0);
        assert!(thread_cpu() > t0);
        assert!(used.user + used.sys > Duration::ZERO);
        assert_eq!(used.total(), used.user + used.sys);
    }
}
