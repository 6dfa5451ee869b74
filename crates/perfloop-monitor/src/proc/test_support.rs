//! Children to read in the tests: a process group killed on drop, and a poll until the
//! reader sees what a test waits for.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use super::{ProcReader, TreeSnapshot};

/// A child in its own process group, killed with its group on drop.
pub(super) struct Group(pub(super) std::process::Child);

impl Group {
    pub(super) fn spawn(program: &str, args: &[&str]) -> Group {
        use std::os::unix::process::CommandExt;
        Group(
            std::process::Command::new(program)
                .args(args)
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::piped())
                .process_group(0)
                .spawn()
                .unwrap(),
        )
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        let pgid = nix::unistd::Pid::from_raw(i32::try_from(self.0.id()).unwrap());
        let _ = nix::sys::signal::killpg(pgid, nix::sys::signal::Signal::SIGKILL);
        let _ = self.0.wait();
    }
}

/// Reads the tree of `root` until `done` holds, every 20 ms for at most 15 s.
pub(super) fn read_until(
    r: &mut ProcReader,
    root: u32,
    done: impl Fn(&TreeSnapshot) -> bool,
) -> TreeSnapshot {
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let tree = r.read_tree(root);
        if done(&tree) {
            return tree;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not reached: {tree:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
