//! The target's log file: its last lines (for error messages) and an incremental scan for a
//! regex (for [`crate::Ready::Log`]). Both read only what was written since the target
//! started, so an older run's lines in the same file never count.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use regex::Regex;

/// At most this much of the end of the log is read for its last lines.
const TAIL_BYTES: u64 = 64 * 1024;

/// A line longer than this is checked and then dropped while scanning.
const MAX_PARTIAL: usize = 1 << 20;

/// The last `n` lines written to `path` after byte `start`.
pub(crate) fn tail_lines(path: &Path, start: u64, n: usize) -> Vec<String> {
    if n == 0 {
        return Vec::new();
    }
    let Ok(mut file) = File::open(path) else {
        return Vec::new();
    };
    let len = file.metadata().map_or(0, |m| m.len());
    let from = start.max(len.saturating_sub(TAIL_BYTES));
    if file.seek(SeekFrom::Start(from)).is_err() {
        return Vec::new();
    }
    let mut bytes = Vec::new();
    if file
        .take(len - from.min(len))
        .read_to_end(&mut bytes)
        .is_err()
    {
        return Vec::new();
    }
    let text = String::from_utf8_lossy(&bytes);
    let mut lines: Vec<&str> = text.lines().collect();
    if from > start && !lines.is_empty() {
        // The first line was cut by the byte window.
        lines.remove(0);
    }
    let skip = lines.len().saturating_sub(n);
    lines[skip..].iter().map(|l| l.to_string()).collect()
}

/// Reads a growing log from a byte offset and matches its lines against a regex.
#[derive(Debug)]
pub(crate) struct LogScanner {
    path: PathBuf,
    offset: u64,
    partial: Vec<u8>,
}

impl LogScanner {
    /// A scanner of `path` from byte `start`.
    pub fn new(path: &Path, start: u64) -> LogScanner {
        LogScanner {
            path: path.to_path_buf(),
            offset: start,
            partial: Vec::new(),
        }
    }

    /// Reads what was appended since the last call; whether a line (complete, or the last
    /// one still being written) matches `re`.
    pub fn matches(&mut self, re: &Regex) -> bool {
        let Ok(mut file) = File::open(&self.path) else {
            return false;
        };
        if file.seek(SeekFrom::Start(self.offset)).is_err() {
            return false;
        }
        let mut fresh = Vec::new();
        let Ok(read) = file.read_to_end(&mut fresh) else {
            return false;
        };
        self.offset += read as u64;
        self.partial.extend_from_slice(&fresh);
        let mut found = false;
        while let Some(pos) = self.partial.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.partial.drain(..=pos).collect();
            found |= re.is_match(&String::from_utf8_lossy(&line[..pos]));
        }
        found |= !self.partial.is_empty() && re.is_match(&String::from_utf8_lossy(&self.partial));
        if self.partial.len() > MAX_PARTIAL {
            self.partial.clear();
        }
        found
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use std::io::Write;

    fn temp_log(name: &str) -> PathBuf {
        let path = std::env::temp_dir().join(format!(
            "perfloop-target-logfile-{}-{name}.log",
            std::process::id()
        ));
        let _ = std::fs::remove_file(&path);
        path
    }

    #[test]
    fn tail_reads_only_this_runs_lines() {
        let path = temp_log("tail");
        std::fs::write(&path, "old 1\nold 2\n").unwrap();
        let start = std::fs::metadata(&path).unwrap().len();
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        writeln!(f, "new 1\nnew 2\nnew 3").unwrap();
        assert_eq!(tail_lines(&path, start, 2), ["new 2", "new 3"]);
        assert_eq!(tail_lines(&path, start, 10), ["new 1", "new 2", "new 3"]);
        assert_eq!(tail_lines(&path, 0, 10).len(), 5);
        assert!(tail_lines(&path.with_extension("missing"), 0, 3).is_empty());
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn scanner_sees_lines_as_they_grow() {
        let path = temp_log("scan");
        std::fs::write(&path, "listening on 1 (old run)\n").unwrap();
        let start = std::fs::metadata(&path).unwrap().len();
        let re = Regex::new("listening on \\d+").unwrap();
        let mut scanner = LogScanner::new(&path, start);
        assert!(!scanner.matches(&re));
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        write!(f, "starting\nlisten").unwrap();
        assert!(!scanner.matches(&re));
        write!(f, "ing on 8080").unwrap();
        assert!(scanner.matches(&re));
        std::fs::remove_file(&path).unwrap();
    }
}
