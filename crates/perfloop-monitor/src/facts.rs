//! The facts of the host a result was measured on, kept with the result so that two results
//! can be told apart by their machine: the CPU model and count, the kernel, the load
//! averages when the measurement began, the memory and the host name.
//!
//! Everything is read from `/proc` (`cpuinfo`, `loadavg`, `meminfo`,
//! `sys/kernel/osrelease`, `sys/kernel/hostname`) and the CPUs online from `sysconf`. A
//! file that is missing or unreadable leaves its facts `None`: reading the facts never
//! fails, and a figure that was not read is never shown as zero.

use std::fs;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// The host a result was measured on; a fact that could not be read is `None`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct HostFacts {
    /// The CPU model (`cpuinfo`'s first `model name`, or a `Hardware`/`cpu model` line).
    pub cpu_model: Option<String>,
    /// CPUs online.
    pub cores: Option<u32>,
    /// The kernel release (`uname -r`).
    pub kernel: Option<String>,
    /// Load average over 1 minute.
    pub load_avg_1: Option<f64>,
    /// Load average over 5 minutes.
    pub load_avg_5: Option<f64>,
    /// Load average over 15 minutes.
    pub load_avg_15: Option<f64>,
    /// Total memory, MiB.
    pub memory_total_mb: Option<f64>,
    /// The host name.
    pub hostname: Option<String>,
}

impl HostFacts {
    /// The facts of this host, read now from `/proc`.
    pub fn read() -> HostFacts {
        HostFacts {
            cores: Some(crate::proc::online_cpus()),
            ..HostFacts::read_from(Path::new("/proc"))
        }
    }

    /// The facts in a directory laid out like `/proc` (`cores` is left `None`: the CPUs
    /// online are the kernel's, not a file's).
    pub fn read_from(proc_dir: &Path) -> HostFacts {
        let text = |name: &str| fs::read_to_string(proc_dir.join(name)).ok();
        let line = |name: &str| {
            text(name)
                .map(|t| t.trim().to_owned())
                .filter(|t| !t.is_empty())
        };
        let loads = text("loadavg").map(|t| parse_loadavg(&t));
        let load = |i: usize| loads.as_ref().and_then(|l| l[i]);
        HostFacts {
            cpu_model: text("cpuinfo").and_then(|t| parse_cpu_model(&t)),
            cores: None,
            kernel: line("sys/kernel/osrelease"),
            load_avg_1: load(0),
            load_avg_5: load(1),
            load_avg_15: load(2),
            memory_total_mb: text("meminfo").and_then(|t| parse_mem_total_mb(&t)),
            hostname: line("sys/kernel/hostname"),
        }
    }
}

/// The CPU model named in `/proc/cpuinfo`: the first `model name` (x86), else `cpu model`
/// (MIPS), `Hardware` or `Processor` (ARM), `cpu` (POWER).
fn parse_cpu_model(cpuinfo: &str) -> Option<String> {
    let value_of = |key: &str| {
        cpuinfo.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            let v = v.trim();
            (k.trim() == key && !v.is_empty()).then(|| v.to_owned())
        })
    };
    ["model name", "cpu model", "Hardware", "Processor", "cpu"]
        .into_iter()
        .find_map(value_of)
}

/// The three load averages of `/proc/loadavg` (`0.52 0.58 0.59 1/467 12345`).
fn parse_loadavg(text: &str) -> [Option<f64>; 3] {
    let mut fields = text.split_whitespace().map(|f| f.parse::<f64>().ok());
    let mut next = || fields.next().flatten().filter(|v| v.is_finite());
    [next(), next(), next()]
}

/// `MemTotal` of `/proc/meminfo` (in kB there), in MiB.
fn parse_mem_total_mb(meminfo: &str) -> Option<f64> {
    let rest = meminfo.lines().find_map(|l| l.strip_prefix("MemTotal:"))?;
    let kb: f64 = rest.split_whitespace().next()?.parse().ok()?;
    Some(kb / 1024.0)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn facts_are_read_from_proc_files() {
        let dir = std::env::temp_dir().join(format!("perfloop-facts-{}", std::process::id()));
        fs::create_dir_all(dir.join("sys/kernel")).unwrap();
        fs::write(
            dir.join("cpuinfo"),
            "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) 8375C\n\n\
             processor\t: 1\nmodel name\t: Intel(R) Xeon(R) 8375C\n",
        )
        .unwrap();
        fs::write(dir.join("loadavg"), "0.52 0.58 1.25 1/467 12345\n").unwrap();
        fs::write(
            dir.join("meminfo"),
            "MemTotal:       16384000 kB\nMemFree: 1 kB\n",
        )
        .unwrap();
        fs::write(dir.join("sys/kernel/osrelease"), "6.8.0-45-generic\n").unwrap();
        fs::write(dir.join("sys/kernel/hostname"), "bench-01\n").unwrap();
        let facts = HostFacts::read_from(&dir);
        assert_eq!(facts.cpu_model.as_deref(), Some("Intel(R) Xeon(R) 8375C"));
        assert_eq!(facts.kernel.as_deref(), Some("6.8.0-45-generic"));
        assert_eq!(facts.hostname.as_deref(), Some("bench-01"));
        assert_eq!(facts.load_avg_1, Some(0.52));
        assert_eq!(facts.load_avg_5, Some(0.58));
        assert_eq!(facts.load_avg_15, Some(1.25));
        assert_eq!(facts.memory_total_mb, Some(16_000.0));
        assert_eq!(facts.cores, None);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn missing_or_garbled_files_leave_none() {
        let dir = std::env::temp_dir().join(format!("perfloop-nofacts-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("loadavg"), "0.5 x\n").unwrap();
        fs::write(dir.join("meminfo"), "MemFree: 1 kB\n").unwrap();
        let facts = HostFacts::read_from(&dir);
        assert_eq!(facts.load_avg_1, Some(0.5));
        assert_eq!(facts.load_avg_5, None);
        assert_eq!(facts.load_avg_15, None);
        assert_eq!(facts.memory_total_mb, None);
        assert_eq!(facts.cpu_model, None);
        assert_eq!(facts.kernel, None);
        fs::remove_dir_all(&dir).unwrap();
        // Nothing at all.
        assert_eq!(
            HostFacts::read_from(Path::new("/nonexistent-proc")),
            HostFacts::default()
        );
    }

    #[test]
    fn this_host_has_facts_that_round_trip() {
        let facts = HostFacts::read();
        assert!(facts.cores.unwrap() >= 1);
        assert!(facts.kernel.is_some(), "{facts:?}");
        assert!(facts.memory_total_mb.unwrap() > 0.0, "{facts:?}");
        let json = serde_json::to_string(&facts).unwrap();
        assert_eq!(serde_json::from_str::<HostFacts>(&json).unwrap(), facts);
    }
}
