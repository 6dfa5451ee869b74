//! External targets: a process that runs already (`--pid PID`), watched but never started
//! or stopped by perfloop.

use crate::error::TargetError;
use crate::proctree;

/// A running process that perfloop watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExternalTarget {
    pid: u32,
}

impl ExternalTarget {
    /// Checks that `pid` is a live process; [`TargetError::NoSuchProcess`] (bad input)
    /// otherwise.
    pub fn attach(pid: u32) -> Result<ExternalTarget, TargetError> {
        match proctree::entry(pid) {
            Some(p) if pid != 0 && !p.is_zombie() => Ok(ExternalTarget { pid }),
            _ => Err(TargetError::NoSuchProcess { pid }),
        }
    }

    /// The process's pid.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Whether the process is still alive (not exited, not a zombie).
    pub fn is_running(&self) -> bool {
        proctree::entry(self.pid).is_some_and(|p| !p.is_zombie())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn attaches_to_live_processes_only() {
        let me = ExternalTarget::attach(std::process::id()).unwrap();
        assert!(me.is_running());
        assert_eq!(me.pid(), std::process::id());
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        let err = ExternalTarget::attach(pid).unwrap_err();
        assert!(err.is_input_error(), "{err}");
        assert!(err.to_string().contains(&pid.to_string()));
        assert!(ExternalTarget::attach(0).is_err());
        assert!(ExternalTarget::attach(u32::MAX).is_err());
    }
}
