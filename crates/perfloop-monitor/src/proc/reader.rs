//! [`ProcReader`]: the process tree of a root pid and the host, read through one reused
//! buffer with the tree's files held open (see `held`).
//!
//! The descendants of a root are found from the parent pid of every process
//! (`/proc/[0-9]*/stat`, field 4), walking down from the root. The parents are cached: a
//! parent changes only when it exits, so each scan lists `/proc` and reads `stat` only for
//! new processes, reused pids (told by a new inode of `/proc/PID`), processes whose parent
//! has gone, and every process on each [`FULL_SCAN_EVERY`]th scan.

use std::collections::{HashMap, HashSet};
use std::fs::{self, File};
use std::io;
use std::os::unix::fs::DirEntryExt;
use std::time::Duration;

use nix::time::{ClockId, clock_gettime};
use nix::unistd::SysconfVar;

use super::held::{FILES_PER_PROCESS, Failure, Held, MAX_HELD_FILES, Slot, read_whole};
use super::parse::{parse_host_cpu, parse_io, parse_meminfo, parse_stat};
use super::system::sysconf_positive;
use super::threads::{ThreadClock, read_threads};
use super::{HostCpu, HostMemory, ProcStat, ProcessSnapshot, TreeSnapshot};
use crate::MonitorError;

/// What the reader remembers of every process on the machine: its parent.
#[derive(Debug, Clone, Copy)]
struct Parent {
    /// Inode of its `/proc/PID` entry, which changes when the pid is reused.
    ino: u64,
    ppid: u32,
}

/// Scans after which every parent is read again, whatever the cache says.
const FULL_SCAN_EVERY: u32 = 100;

/// Reads `/proc` through one reused buffer, holding the files of the watched tree open.
#[derive(Debug)]
pub struct ProcReader {
    clk_tck: u64,
    page_size: u64,
    buf: Vec<u8>,
    /// Every process's parent, from the last scan.
    parents: HashMap<u32, Parent>,
    pub(super) held: HashMap<u32, Held>,
    /// Descriptors held (or promised to processes whose files are kept).
    held_files: usize,
    scans: u32,
    host_stat: Slot,
    host_meminfo: Slot,
    pub(super) thread_clock: ThreadClock,
}

impl ProcReader {
    /// A reader; fails only if the kernel does not tell its clock tick rate or page size.
    pub fn new() -> Result<ProcReader, MonitorError> {
        let clk_tck = sysconf_positive(SysconfVar::CLK_TCK, "clock ticks per second")?;
        Ok(ProcReader {
            clk_tck,
            page_size: sysconf_positive(SysconfVar::PAGE_SIZE, "the page size")?,
            buf: vec![0; 16 * 1024],
            parents: HashMap::new(),
            held: HashMap::new(),
            held_files: 0,
            scans: 0,
            host_stat: Slot::Closed,
            host_meminfo: Slot::Closed,
            thread_clock: ThreadClock::detect(clk_tck),
        })
    }

    /// Clock ticks per second (`sysconf(_SC_CLK_TCK)`, almost always 100).
    pub fn clk_tck(&self) -> u64 {
        self.clk_tck
    }

    /// The time since boot in clock ticks, on the clock of `starttime` in `/proc/PID/stat`.
    pub fn boot_ticks(&self) -> u64 {
        let since_boot = clock_gettime(ClockId::CLOCK_BOOTTIME)
            .map(Duration::from)
            .unwrap_or_default();
        let ticks = since_boot.as_nanos() * u128::from(self.clk_tck) / 1_000_000_000;
        u64::try_from(ticks).unwrap_or(u64::MAX)
    }

    /// The tree rooted at `root`: the root and all its live descendants. Empty when the
    /// root has exited (or is a zombie).
    pub fn read_tree(&mut self, root: u32) -> TreeSnapshot {
        self.scan_parents();
        let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
        for (&pid, p) in &self.parents {
            if pid != root {
                children.entry(p.ppid).or_default().push(pid);
            }
        }
        let mut tree = Vec::new();
        if self.parents.contains_key(&root) {
            tree.push(root);
        }
        let mut next = 0;
        while next < tree.len() {
            if let Some(mut kids) = children.remove(&tree[next]) {
                kids.sort_unstable();
                tree.extend(kids);
            }
            next += 1;
        }
        let members: HashSet<u32> = tree.iter().copied().collect();
        self.held.retain(|pid, _| members.contains(pid));
        self.held_files = self
            .held
            .values()
            .map(|h| {
                if h.keep {
                    h.files().max(FILES_PER_PROCESS)
                } else {
                    0
                }
            })
            .sum();

        let mut snapshot = TreeSnapshot::default();
        for (i, pid) in tree.into_iter().enumerate() {
            match self.process(pid, &mut snapshot.denied) {
                Some(p) if i == 0 && p.stat.has_exited() => return TreeSnapshot::default(),
                Some(p) => snapshot.processes.push(p),
                // The root vanished while being read: the tree has exited.
                None if i == 0 => return TreeSnapshot::default(),
                None => {}
            }
        }
        snapshot
    }

    /// The host's CPU ticks.
    pub fn host_cpu(&mut self) -> io::Result<HostCpu> {
        let text = self
            .host_stat
            .read(|| "/proc/stat".into(), &mut self.buf, true)
            .map_err(|_| unreadable("/proc/stat"))?;
        parse_host_cpu(text).ok_or_else(|| malformed("/proc/stat"))
    }

    /// The host's memory.
    pub fn host_memory(&mut self) -> io::Result<HostMemory> {
        let text = self
            .host_meminfo
            .read(|| "/proc/meminfo".into(), &mut self.buf, true)
            .map_err(|_| unreadable("/proc/meminfo"))?;
        parse_meminfo(text).ok_or_else(|| malformed("/proc/meminfo"))
    }

    /// `/proc/PID/stat`, or `None` if the process is gone.
    pub fn stat(&mut self, pid: u32) -> Option<ProcStat> {
        let file = File::open(format!("/proc/{pid}/stat")).ok()?;
        parse_stat(pid, read_whole(&file, &mut self.buf).ok()?)
    }

    /// Refreshes every process's parent. The parent of a process changes only when its
    /// parent exits (it is then adopted by a subreaper or init), so a cached parent is
    /// read again only for a new process, a reused pid (a new `/proc/PID` inode), a
    /// process whose parent has gone, and on every [`FULL_SCAN_EVERY`]th scan.
    fn scan_parents(&mut self) {
        self.scans = self.scans.wrapping_add(1);
        let full = self.scans % FULL_SCAN_EVERY == 1;
        let Ok(entries) = fs::read_dir("/proc") else {
            self.parents.clear();
            return;
        };
        let mut next = HashMap::with_capacity(self.parents.len() + 16);
        for entry in entries.flatten() {
            let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse().ok()) else {
                continue;
            };
            let ino = entry.ino();
            match self.parents.get(&pid) {
                Some(p) if p.ino == ino && !full => {
                    next.insert(pid, *p);
                }
                _ => {
                    if let Some(st) = self.stat(pid) {
                        next.insert(pid, Parent { ino, ppid: st.ppid });
                    }
                }
            }
        }
        let orphans: Vec<u32> = next
            .iter()
            .filter(|(_, p)| p.ppid != 0 && !next.contains_key(&p.ppid))
            .map(|(&pid, _)| pid)
            .collect();
        for pid in orphans {
            match self.stat(pid) {
                Some(st) => {
                    if let Some(p) = next.get_mut(&pid) {
                        p.ppid = st.ppid;
                    }
                }
                None => {
                    next.remove(&pid);
                }
            }
        }
        self.parents = next;
    }

    /// One process of the tree, through its held files where it has them.
    fn process(
        &mut self,
        pid: u32,
        denied: &mut Vec<(u32, &'static str)>,
    ) -> Option<ProcessSnapshot> {
        let stat = self.held_stat(pid)?;
        let mut snapshot = ProcessSnapshot {
            stat,
            rss_bytes: 0,
            fds: None,
            io: None,
            switches: None,
            thread_cpu: None,
        };
        if stat.has_exited() {
            return Some(snapshot);
        }
        snapshot.rss_bytes = stat.rss_pages * self.page_size;
        let held = self.held.get_mut(&pid)?;
        let keep = held.keep;
        match held
            .io
            .read(|| format!("/proc/{pid}/io"), &mut self.buf, keep)
        {
            Ok(text) => snapshot.io = Some(parse_io(text)?),
            Err(Failure::Denied) => denied.push((pid, "io")),
            Err(Failure::Gone) => return None,
        }
        match fd_count(pid, &mut held.fd_dir, keep) {
            Ok(n) => snapshot.fds = Some(n),
            Err(Failure::Denied) => denied.push((pid, "fd")),
            Err(Failure::Gone) => return None,
        }
        let room = MAX_HELD_FILES.saturating_sub(self.held_files);
        let threads = read_threads(&stat, held, room, &mut self.buf, self.thread_clock, denied)?;
        snapshot.switches = threads.switches;
        snapshot.thread_cpu = threads.cpu;
        self.held_files += threads.opened;
        Some(snapshot)
    }

    /// `stat` of a process of the tree. A process seen for the first time has its files
    /// held if the budget allows; one whose held `stat` no longer reads (its process is
    /// gone; the pid may hold another) starts afresh.
    fn held_stat(&mut self, pid: u32) -> Option<ProcStat> {
        for _ in 0..2 {
            let held = self.held.entry(pid).or_insert_with(|| {
                let keep = self.held_files + FILES_PER_PROCESS <= MAX_HELD_FILES;
                if keep {
                    self.held_files += FILES_PER_PROCESS;
                }
                Held::new(keep)
            });
            let was_open = held.stat.is_open();
            let keep = held.keep;
            let stat = held
                .stat
                .read(|| format!("/proc/{pid}/stat"), &mut self.buf, keep)
                .ok()
                .and_then(|text| parse_stat(pid, text));
            if stat.is_some() {
                return stat;
            }
            self.held.remove(&pid);
            if !was_open {
                return None;
            }
        }
        None
    }
}

/// Open descriptors: the size the kernel reports for `/proc/PID/fd` (Linux 6.2 and
/// later: the count), or else the entries counted.
fn fd_count(pid: u32, dir: &mut Slot, keep: bool) -> Result<u64, Failure> {
    let path = || format!("/proc/{pid}/fd");
    let size = match dir {
        Slot::Open(f) => f.metadata()?.len(),
        Slot::Denied => return Err(Failure::Denied),
        Slot::Closed if keep => match File::open(path()) {
            Ok(f) => {
                let size = f.metadata()?.len();
                *dir = Slot::Open(f);
                size
            }
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
                *dir = Slot::Denied;
                return Err(Failure::Denied);
            }
            Err(_) => return Err(Failure::Gone),
        },
        Slot::Closed => fs::metadata(path())?.len(),
    };
    if size > 0 {
        return Ok(size);
    }
    let mut n = 0;
    for entry in fs::read_dir(path())? {
        if entry.is_ok() {
            n += 1;
        }
    }
    Ok(n)
}

fn unreadable(path: &str) -> io::Error {
    io::Error::other(format!("cannot read {path}"))
}

fn malformed(path: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("unexpected format of {path}"),
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::proc::online_cpus;
    use crate::proc::test_support::{Group, read_until};

    #[test]
    fn own_stat_parses() {
        let pid = std::process::id();
        let mut r = ProcReader::new().unwrap();
        let st = r.stat(pid).unwrap();
        assert_eq!(st.pid, pid);
        assert!(st.threads >= 1);
        assert!(st.rss_pages > 0);
        assert!(st.start_time <= r.boot_ticks());
    }

    #[test]
    fn a_large_tree_is_read_within_the_descriptor_budget() {
        let child = Group::spawn(
            "sh",
            &["-c", "for i in $(seq 80); do sleep 30 & done; wait"],
        );
        let mut r = ProcReader::new().unwrap();
        let tree = read_until(&mut r, child.0.id(), |t| t.processes.len() == 81);
        let tree2 = r.read_tree(child.0.id());
        for t in [&tree, &tree2] {
            assert!(t.processes.iter().all(|p| {
                p.io.is_some() && p.fds.is_some_and(|n| n >= 3) && p.switches.is_some()
            }));
        }
        let open: usize = r.held.values().map(Held::files).sum();
        assert!(open <= MAX_HELD_FILES, "{open}");
        assert!(r.held.values().any(|h| !h.keep));
        assert!(
            r.held
                .values()
                .filter(|h| h.keep)
                .all(|h| h.files() == FILES_PER_PROCESS)
        );
    }

    #[test]
    fn own_tree_has_this_process_first() {
        let mut r = ProcReader::new().unwrap();
        let tree = r.read_tree(std::process::id());
        let me = &tree.processes[0];
        assert_eq!(me.stat.pid, std::process::id());
        assert!(me.fds.unwrap() >= 3);
        assert!(me.io.is_some());
        assert!(!me.switches.as_ref().unwrap().is_empty());
        assert!(r.host_cpu().unwrap().total > 0);
        let mem = r.host_memory().unwrap();
        assert!(mem.available_bytes <= mem.total_bytes);
        assert!(online_cpus() >= 1);
    }
}
