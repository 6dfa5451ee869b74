//! Parsers of the `/proc` files the reader reads: each takes the file's bytes and returns
//! the fields the monitor uses, or `None` when the text is not what the kernel writes
//! (a file read while its process was exiting, say).

use super::{CpuTicks, HostCpu, HostMemory, IoCounters, ProcStat, ThreadSwitches};

/// The fields of a `schedstat` file the reader uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct SchedStat {
    /// Time on a CPU, nanoseconds.
    pub run_ns: u64,
    /// Times put on a CPU; never 0 for a thread that has run, when the kernel keeps the
    /// statistics.
    pub timeslices: u64,
}

/// Parses `/proc/PID/stat`. The command name (field 2) is in parentheses and may itself
/// hold spaces and parentheses, so the fields are counted from the last `)`.
pub(super) fn parse_stat(pid: u32, text: &[u8]) -> Option<ProcStat> {
    let close = text.iter().rposition(|&b| b == b')')?;
    let rest = std::str::from_utf8(text.get(close + 1..)?).ok()?;
    // Field n (1-based, as in proc(5)) is at index n - 3 after the command name.
    let mut f = [0u64; 22];
    let mut state = 0u8;
    let mut seen = 0;
    for (i, field) in rest.split_ascii_whitespace().take(22).enumerate() {
        if i == 0 {
            state = *field.as_bytes().first()?;
        } else {
            // cutime and cstime are signed in the kernel's format; never negative in practice.
            f[i] = field
                .parse::<i64>()
                .map_or(0, |v| u64::try_from(v).unwrap_or(0));
        }
        seen = i + 1;
    }
    if seen < 22 {
        return None;
    }
    Some(ProcStat {
        pid,
        ppid: u32::try_from(f[1]).ok()?,
        state,
        cpu: CpuTicks {
            utime: f[11],
            stime: f[12],
            cutime: f[13],
            cstime: f[14],
        },
        threads: u32::try_from(f[17]).unwrap_or(u32::MAX),
        start_time: f[19],
        rss_pages: f[21],
    })
}

/// Parses `/proc/PID/io`.
pub(super) fn parse_io(text: &[u8]) -> Option<IoCounters> {
    let text = std::str::from_utf8(text).ok()?;
    let mut io = IoCounters::default();
    let mut found = 0;
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let slot = match key {
            "rchar" => &mut io.rchar,
            "wchar" => &mut io.wchar,
            "read_bytes" => &mut io.read_bytes,
            "write_bytes" => &mut io.write_bytes,
            _ => continue,
        };
        *slot = value.trim().parse().ok()?;
        found += 1;
    }
    (found == 4).then_some(io)
}

/// Parses the context-switch counts of a `status` file.
pub(super) fn parse_switches(tid: u32, text: &[u8]) -> Option<ThreadSwitches> {
    let text = std::str::from_utf8(text).ok()?;
    // The two lines are the last of the file; `voluntary` comes first, and the leading
    // newline keeps it from matching inside `nonvoluntary`.
    let field = |name: &str| -> Option<u64> {
        let start = text.rfind(name)? + name.len();
        let rest = &text[start..];
        rest[..rest.find('\n').unwrap_or(rest.len())]
            .trim()
            .parse()
            .ok()
    };
    Some(ThreadSwitches {
        tid,
        voluntary: field("\nvoluntary_ctxt_switches:")?,
        involuntary: field("\nnonvoluntary_ctxt_switches:")?,
    })
}

/// Parses `/proc/PID/task/TID/schedstat`: the thread's run time (nanoseconds on a CPU,
/// user and system alike) and the number of times it was put on a CPU. The kernel writes
/// `0 0 0` when it keeps no scheduler statistics.
pub(super) fn parse_schedstat(text: &[u8]) -> Option<SchedStat> {
    let text = std::str::from_utf8(text).ok()?;
    let mut fields = text.split_ascii_whitespace().map(str::parse::<u64>);
    let run_ns = fields.next()?.ok()?;
    let _wait_ns = fields.next()?.ok()?;
    let timeslices = fields.next()?.ok()?;
    Some(SchedStat { run_ns, timeslices })
}

/// Parses the aggregate `cpu` line of `/proc/stat`: user nice system idle iowait irq
/// softirq steal (guest and guest_nice are already inside user and nice).
pub(super) fn parse_host_cpu(text: &[u8]) -> Option<HostCpu> {
    let text = std::str::from_utf8(text).ok()?;
    let line = text.lines().find(|l| l.starts_with("cpu "))?;
    let v: Vec<u64> = line
        .split_ascii_whitespace()
        .skip(1)
        .take(8)
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    if v.len() < 4 {
        return None;
    }
    let total: u64 = v.iter().sum();
    let idle = v[3] + v.get(4).copied().unwrap_or(0);
    Some(HostCpu {
        busy: total - idle,
        total,
    })
}

/// Parses `/proc/meminfo`. Kernels before 3.14 have no `MemAvailable`; there it is
/// estimated as `MemFree + Buffers + Cached`.
pub(super) fn parse_meminfo(text: &[u8]) -> Option<HostMemory> {
    let text = std::str::from_utf8(text).ok()?;
    let (mut total, mut available, mut free, mut buffers, mut cached) =
        (None, None, 0u64, 0u64, 0u64);
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let kib = || {
            value
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        };
        match key {
            "MemTotal" => total = kib(),
            "MemAvailable" => available = kib(),
            "MemFree" => free = kib().unwrap_or(0),
            "Buffers" => buffers = kib().unwrap_or(0),
            "Cached" => cached = kib().unwrap_or(0),
            _ => {}
        }
    }
    let total = total?;
    Some(HostMemory {
        total_bytes: total * 1024,
        available_bytes: available.unwrap_or(free + buffers + cached).min(total) * 1024,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn stat_with_spaces_and_parentheses_in_the_command_name() {
        let line = b"4242 (my (odd) name) S 17 4242 4242 0 -1 4194560 1234 0 5 0 \
            250 75 12 3 20 0 7 0 98765 123456789 2048 18446744073709551615 1 1 0 0 0 0 0 \
            4096 0 0 0 0 17 1 0 0 0 0 0\n";
        let st = parse_stat(4242, line).unwrap();
        assert_eq!(st.ppid, 17);
        assert_eq!(st.state, b'S');
        assert_eq!(
            st.cpu,
            CpuTicks {
                utime: 250,
                stime: 75,
                cutime: 12,
                cstime: 3
            }
        );
        assert_eq!(st.threads, 7);
        assert_eq!(st.start_time, 98765);
        assert_eq!(st.rss_pages, 2048);
        assert!(!st.has_exited());
    }

    #[test]
    fn truncated_stat_is_rejected() {
        assert!(parse_stat(1, b"1 (init) S 0 1 1").is_none());
        assert!(parse_stat(1, b"garbage").is_none());
    }

    #[test]
    fn io_and_status() {
        let io = parse_io(
            b"rchar: 10\nwchar: 20\nsyscr: 1\nsyscw: 2\nread_bytes: 4096\n\
              write_bytes: 8192\ncancelled_write_bytes: 0\n",
        )
        .unwrap();
        assert_eq!(
            io,
            IoCounters {
                rchar: 10,
                wchar: 20,
                read_bytes: 4096,
                write_bytes: 8192
            }
        );
        assert!(parse_io(b"rchar: 10\n").is_none());
        let s = parse_switches(
            9,
            b"Name:\tx\nvoluntary_ctxt_switches:\t150\nnonvoluntary_ctxt_switches:\t545\n",
        )
        .unwrap();
        assert_eq!((s.tid, s.voluntary, s.involuntary), (9, 150, 545));
    }

    #[test]
    fn schedstat() {
        assert_eq!(
            parse_schedstat(b"155830708 8237069 555\n"),
            Some(SchedStat {
                run_ns: 155_830_708,
                timeslices: 555
            })
        );
        assert_eq!(parse_schedstat(b"0 0 0\n").map(|s| s.timeslices), Some(0));
        assert!(parse_schedstat(b"12 34").is_none());
        assert!(parse_schedstat(b"").is_none());
    }

    #[test]
    fn host_cpu_counts_iowait_as_idle() {
        let cpu = parse_host_cpu(
            b"cpu  100 10 50 800 40 0 5 0 0 0\ncpu0 50 5 25 400 20 0 2 0 0 0\nintr 1\n",
        )
        .unwrap();
        assert_eq!(cpu.total, 1005);
        assert_eq!(cpu.busy, 165);
    }

    #[test]
    fn meminfo_with_and_without_mem_available() {
        let m = parse_meminfo(
            b"MemTotal:       16000000 kB\nMemFree:         1000000 kB\n\
              MemAvailable:    9000000 kB\nBuffers: 10 kB\nCached: 20 kB\n",
        )
        .unwrap();
        assert_eq!(m.total_bytes, 16_000_000 * 1024);
        assert_eq!(m.available_bytes, 9_000_000 * 1024);
        let old =
            parse_meminfo(b"MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 10 kB\nCached: 20 kB\n")
                .unwrap();
        assert_eq!(old.available_bytes, 130 * 1024);
    }
}
