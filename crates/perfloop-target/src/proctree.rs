//! The process tree as /proc shows it: parent, process group and state of every process,
//! and the descendants of a process. Linux only.
//!
//! Reading /proc is racy by nature: a process can exit or appear between two reads. Callers
//! treat the result as a snapshot and repeat what they do until a snapshot comes back empty.

use std::fs;

/// One process, from `/proc/PID/stat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ProcEntry {
    /// Process id.
    pub pid: u32,
    /// Parent process id.
    pub ppid: u32,
    /// Process group id.
    pub pgrp: u32,
    /// State letter (`R`, `S`, `Z`, ...).
    pub state: char,
}

impl ProcEntry {
    /// A zombie has exited and only waits to be reaped.
    pub fn is_zombie(&self) -> bool {
        matches!(self.state, 'Z' | 'X')
    }
}

/// Parses the text of `/proc/PID/stat`: `pid (comm) state ppid pgrp ...`, where comm may hold
/// spaces and parentheses.
fn parse_stat(text: &str) -> Option<ProcEntry> {
    let (head, rest) = text.rsplit_once(')')?;
    let pid = head.split_whitespace().next()?.parse().ok()?;
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let ppid = fields.next()?.parse().ok()?;
    let pgrp = fields.next()?.parse().ok()?;
    Some(ProcEntry {
        pid,
        ppid,
        pgrp,
        state,
    })
}

/// The process `pid`, if it exists.
pub(crate) fn entry(pid: u32) -> Option<ProcEntry> {
    parse_stat(&fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// Every process visible in /proc.
pub(crate) fn snapshot() -> Vec<ProcEntry> {
    let Ok(dir) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(entry)
        .collect()
}

/// Every descendant of `root` (children, their children, ...), not `root` itself.
pub(crate) fn descendants(root: u32) -> Vec<ProcEntry> {
    let all = snapshot();
    let mut found: Vec<ProcEntry> = Vec::new();
    let mut frontier = vec![root];
    while let Some(parent) = frontier.pop() {
        for p in all.iter().filter(|p| p.ppid == parent) {
            if p.pid != root && !found.iter().any(|f| f.pid == p.pid) {
                found.push(*p);
                frontier.push(p.pid);
            }
        }
    }
    found
}

/// Every process in the process group `pgid`.
pub(crate) fn group_members(pgid: u32) -> Vec<ProcEntry> {
    snapshot().into_iter().filter(|p| p.pgrp == pgid).collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat_lines_with_odd_names() {
        let e = parse_stat("4242 (a b) c)) S 17 4242 4242 0 -1 4194560 ...").unwrap();
        assert_eq!(
            e,
            ProcEntry {
                pid: 4242,
                ppid: 17,
                pgrp: 4242,
                state: 'S'
            }
        );
        assert!(parse_stat("garbage").is_none());
        assert!(parse_stat("1 (x) Z 0 0").unwrap().is_zombie());
    }

    #[test]
    fn this_process_is_visible() {
        let me = entry(std::process::id()).unwrap();
        assert_eq!(me.pid, std::process::id());
        assert_eq!(me.ppid, std::os::unix::process::parent_id());
        assert!(snapshot().iter().any(|p| p.pid == me.pid));
    }
}
