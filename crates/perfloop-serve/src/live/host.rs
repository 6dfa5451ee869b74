//! The few facts of the machine the health report shows, read from `/proc` and the
//! cgroup file system when asked: the load average, the memory, whether a process lives,
//! and the memory limit of its cgroup (v2 `memory.max`, v1 `memory.limit_in_bytes`).
//! Anything that cannot be read is `None`: not measured is not zero.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

/// A limit at or above this is no limit (cgroup v1 writes "no limit" as a huge number).
const NO_LIMIT: u64 = 1 << 62;

/// The host now.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Host {
    /// Load averages over 1, 5 and 15 minutes.
    pub load: Option<[f64; 3]>,
    /// `MemTotal`, bytes.
    pub mem_total_bytes: Option<u64>,
    /// `MemAvailable`, bytes.
    pub mem_available_bytes: Option<u64>,
    /// CPUs this process may run on.
    pub cpus: Option<usize>,
}

impl Host {
    /// As JSON for the health report.
    #[must_use]
    pub fn to_json(&self) -> Value {
        let used = match (self.mem_total_bytes, self.mem_available_bytes) {
            (Some(t), Some(a)) => Some(t.saturating_sub(a)),
            _ => None,
        };
        json!({
            "load1": self.load.map(|l| l[0]),
            "load5": self.load.map(|l| l[1]),
            "load15": self.load.map(|l| l[2]),
            "cpus": self.cpus,
            "mem_total_bytes": self.mem_total_bytes,
            "mem_available_bytes": self.mem_available_bytes,
            "mem_used_bytes": used,
        })
    }
}

/// Reads the host's facts now.
#[must_use]
pub fn read() -> Host {
    let load = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|t| parse_loadavg(&t));
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    Host {
        load,
        mem_total_bytes: meminfo_kib(&meminfo, "MemTotal").map(|k| k * 1024),
        mem_available_bytes: meminfo_kib(&meminfo, "MemAvailable").map(|k| k * 1024),
        cpus: std::thread::available_parallelism().ok().map(usize::from),
    }
}

fn parse_loadavg(text: &str) -> Option<[f64; 3]> {
    let mut it = text.split_whitespace().map(str::parse::<f64>);
    Some([it.next()?.ok()?, it.next()?.ok()?, it.next()?.ok()?])
}

fn meminfo_kib(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|line| {
        let rest = line.strip_prefix(key)?.strip_prefix(':')?;
        rest.split_whitespace().next()?.parse().ok()
    })
}

/// Whether process `pid` exists (and is not a zombie).
#[must_use]
pub fn pid_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the command name in parentheses; Z is a zombie.
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X"),
        Err(_) => false,
    }
}

/// The memory limit of the cgroup `pid` runs in, bytes; `None` without one (or unreadable).
#[must_use]
pub fn cgroup_memory_max(pid: u32) -> Option<u64> {
    let cgroups = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()?;
    candidates(&cgroups, Path::new("/sys/fs/cgroup"))
        .into_iter()
        .find_map(|file| std::fs::read_to_string(file).ok())
        .and_then(|text| parse_limit(&text))
}

/// The files that may hold the limit, most specific first.
fn candidates(cgroups: &str, root: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for line in cgroups.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(_), Some(controllers), Some(path)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let path = path.trim_start_matches('/');
        if controllers.is_empty() {
            files.push(root.join(path).join("memory.max"));
        } else if controllers.split(',').any(|c| c == "memory") {
            files.push(root.join("memory").join(path).join("memory.limit_in_bytes"));
        }
    }
    files
}

fn parse_limit(text: &str) -> Option<u64> {
    let text = text.trim();
    if text == "max" {
        return None;
    }
    text.parse::<u64>().ok().filter(|&n| n > 0 && n < NO_LIMIT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_texts_parse() {
        assert_eq!(
            parse_loadavg("2.55 2.30 1.37 2/118 30807\n"),
            Some([2.55, 2.30, 1.37])
        );
        let meminfo = "MemTotal:       24683772 kB\nMemAvailable:   23953380 kB\n";
        assert_eq!(meminfo_kib(meminfo, "MemTotal"), Some(24_683_772));
        assert_eq!(meminfo_kib(meminfo, "MemFree"), None);
        assert_eq!(parse_limit("max\n"), None);
        assert_eq!(parse_limit("536870912\n"), Some(536_870_912));
        assert_eq!(parse_limit("9223372036854771712"), None);
    }

    #[test]
    fn both_cgroup_versions_are_looked_for() {
        let root = Path::new("/sys/fs/cgroup");
        let v1 = candidates("4:memory:/app/x\n1:cpu:/\n", root);
        assert_eq!(
            v1,
            [PathBuf::from(
                "/sys/fs/cgroup/memory/app/x/memory.limit_in_bytes"
            )]
        );
        let v2 = candidates("0::/system.slice/app.service\n", root);
        assert_eq!(
            v2,
            [PathBuf::from(
                "/sys/fs/cgroup/system.slice/app.service/memory.max"
            )]
        );
        assert!(pid_alive(std::process::id()));
    }
}
