//! What the kernel tells of the system: whether a pid is a live process, the CPUs online,
//! and the `sysconf` figures the reader needs.

use std::fs;
use std::io;

use nix::unistd::{SysconfVar, sysconf};

use crate::MonitorError;

/// Whether `pid` is a live process: a process id (not the id of a non-main thread) that
/// has not exited. `--pid` is validated with it.
pub fn pid_exists(pid: u32) -> bool {
    if pid == 0 || i32::try_from(pid).is_err() {
        return false;
    }
    let Ok(text) = fs::read_to_string(format!("/proc/{pid}/status")) else {
        return false;
    };
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .map(str::trim)
            .unwrap_or_default()
            .to_owned()
    };
    field("Tgid:") == pid.to_string()
        && !matches!(field("State:").bytes().next(), Some(b'Z' | b'X'))
}

/// Number of CPUs online (`sysconf(_SC_NPROCESSORS_ONLN)`), at least 1.
pub fn online_cpus() -> u32 {
    match sysconf(SysconfVar::_NPROCESSORS_ONLN) {
        Ok(Some(n)) if n > 0 => u32::try_from(n).unwrap_or(u32::MAX),
        _ => std::thread::available_parallelism()
            .ok()
            .and_then(|n| u32::try_from(n.get()).ok())
            .unwrap_or(1),
    }
}

pub(super) fn sysconf_positive(var: SysconfVar, what: &'static str) -> Result<u64, MonitorError> {
    match sysconf(var) {
        Ok(Some(v)) if v > 0 => u64::try_from(v).map_err(|_| MonitorError::Kernel {
            what,
            source: io::Error::other("out of range"),
        }),
        Ok(_) => Err(MonitorError::Kernel {
            what,
            source: io::Error::other("not reported"),
        }),
        Err(e) => Err(MonitorError::Kernel {
            what,
            source: e.into(),
        }),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn pid_exists_for_this_process_only() {
        assert!(pid_exists(std::process::id()));
        assert!(!pid_exists(0));
        assert!(!pid_exists(u32::MAX));
    }

    #[test]
    fn non_main_thread_id_is_not_a_process() {
        let (tx, rx) = std::sync::mpsc::channel();
        let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
        let t = std::thread::spawn(move || {
            tx.send(nix::unistd::gettid().as_raw()).unwrap();
            let _ = done_rx.recv();
        });
        let tid = u32::try_from(rx.recv().unwrap()).unwrap();
        assert!(!pid_exists(tid));
        drop(done_tx);
        t.join().unwrap();
    }
}
