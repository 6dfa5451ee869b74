//! Writing outputs: files or `-` for stdout; a closed stdout (`| head`) is not an error.
//!
//! Every output path is checked before any work ([`check_outputs`]), so that a finished
//! measurement is never lost to a path that cannot be written.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow};
use perfloop_report::RunRecord;
use perfloop_report::export::Exporter;

use crate::Failure;

/// Checks the outputs a command was asked for, as (flag, path) pairs, before any work is
/// done: exit 2 naming the flag and the path when a path is empty, is a directory, lies in
/// a directory that does not exist, or cannot be written (tried by opening the file for
/// appending, or by creating it and removing it again), when two outputs name the same
/// file, or when more than one names stdout (`-`).
pub fn check_outputs(outputs: &[(&str, Option<&Path>)]) -> Result<(), Failure> {
    let mut stdout: Option<&str> = None;
    let mut files: Vec<(&str, PathBuf)> = Vec::new();
    for &(flag, path) in outputs {
        let Some(path) = path else { continue };
        if path == Path::new("-") {
            if let Some(first) = stdout {
                return Err(Failure::usage(anyhow!(
                    "{first} - and {flag} - both write to stdout; give one of them a file"
                )));
            }
            stdout = Some(flag);
            continue;
        }
        let identity = check_output(flag, path)?;
        if let Some((first, _)) = files.iter().find(|(_, p)| *p == identity) {
            return Err(Failure::usage(anyhow!(
                "{first} and {flag} both write to '{}'; give each output its own file",
                path.display()
            )));
        }
        files.push((flag, identity));
    }
    Ok(())
}

/// Checks one output path; returns the file it names (its directory resolved), to compare
/// with the others.
fn check_output(flag: &str, path: &Path) -> Result<PathBuf, Failure> {
    let bad = |why: String| Failure::usage(anyhow!("{flag} '{}': {why}", path.display()));
    if path.as_os_str().is_empty() {
        return Err(bad("the path is empty; give a file name".into()));
    }
    if let Ok(meta) = std::fs::metadata(path) {
        if meta.is_dir() {
            return Err(bad(format!(
                "is a directory; give a file name, like '{}'",
                path.join(example_name(flag)).display()
            )));
        }
        // Devices and pipes (`/dev/stdout`, a FIFO) are written as they are; opening a
        // FIFO here would wait for its reader.
        if meta.is_file() {
            OpenOptions::new()
                .append(true)
                .open(path)
                .map_err(|e| bad(format!("cannot be written: {e}")))?;
        }
        return path
            .canonicalize()
            .map_err(|e| bad(format!("cannot be resolved: {e}")));
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    match std::fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => {
            return Err(bad(format!("'{}' is not a directory", dir.display())));
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(bad(format!(
                "the directory '{}' does not exist; create it first, or choose another path",
                dir.display()
            )));
        }
        Err(e) => return Err(bad(format!("cannot reach '{}': {e}", dir.display()))),
    }
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| bad(format!("cannot be created: {e}")))?;
    std::fs::remove_file(path).map_err(|e| bad(format!("cannot be removed after a test: {e}")))?;
    let name = path
        .file_name()
        .ok_or_else(|| bad("names no file".into()))?;
    dir.canonicalize()
        .map(|d| d.join(name))
        .map_err(|e| bad(format!("cannot be resolved: {e}")))
}

/// A file name for the hint when an output path is a directory.
fn example_name(flag: &str) -> &'static str {
    match flag {
        "--csv" => "timeline.csv",
        "--html" => "report.html",
        "--apply" => "best.env",
        _ => "report.json",
    }
}

/// The first failure of writes that were all attempted (one failed output does not cost
/// the others).
pub fn first_failure(writes: impl IntoIterator<Item = Result<(), Failure>>) -> Result<(), Failure> {
    let mut first = None;
    for w in writes {
        if let Err(f) = w {
            first.get_or_insert(f);
        }
    }
    first.map_or(Ok(()), Err)
}

/// Writes a record with `exporter` to `path` (`-`: stdout).
pub fn write_record(
    path: &str,
    exporter: &dyn Exporter<RunRecord>,
    record: &RunRecord,
) -> Result<(), Failure> {
    if path == "-" {
        return record_stdout(exporter, record)
            .map_err(|e| Failure::run(anyhow!("cannot write to stdout: {e}")));
    }
    let file = File::create(path)
        .with_context(|| format!("cannot create '{path}'"))
        .map_err(Failure::run)?;
    let mut out = BufWriter::new(file);
    exporter
        .write(record, &mut out)
        .and_then(|()| out.flush())
        .with_context(|| format!("cannot write '{path}'"))
        .map_err(Failure::run)
}

/// Writes to `path` (`-`: stdout) with `write`.
pub fn write_with(
    path: &str,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<(), Failure> {
    if path == "-" {
        let mut out = io::stdout().lock();
        return ignore_broken_pipe(write(&mut out).and_then(|()| out.flush()))
            .map_err(|e| Failure::run(anyhow!("cannot write to stdout: {e}")));
    }
    let file = File::create(path)
        .with_context(|| format!("cannot create '{path}'"))
        .map_err(Failure::run)?;
    let mut out = BufWriter::new(file);
    write(&mut out)
        .and_then(|()| out.flush())
        .with_context(|| format!("cannot write '{path}'"))
        .map_err(Failure::run)
}

/// Writes text to `path` (`-`: stdout).
pub fn write_text(path: &str, text: &str) -> Result<(), Failure> {
    if path == "-" {
        stdout_text(text);
        return Ok(());
    }
    std::fs::write(path, text)
        .with_context(|| format!("cannot write '{path}'"))
        .map_err(Failure::run)
}

/// Writes a record to stdout.
pub fn record_stdout(exporter: &dyn Exporter<RunRecord>, record: &RunRecord) -> io::Result<()> {
    let mut out = io::stdout().lock();
    ignore_broken_pipe(exporter.write(record, &mut out).and_then(|()| out.flush()))
}

/// Writes a record to stderr.
pub fn record_stderr(exporter: &dyn Exporter<RunRecord>, record: &RunRecord) -> io::Result<()> {
    let mut out = io::stderr().lock();
    ignore_broken_pipe(exporter.write(record, &mut out).and_then(|()| out.flush()))
}

/// Prints text on stdout, ignoring a closed pipe.
pub fn stdout_text(text: &str) {
    let mut out = io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

/// Prints text on stderr.
pub fn stderr_text(text: &str) {
    let mut out = io::stderr().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

fn ignore_broken_pipe(r: io::Result<()>) -> io::Result<()> {
    match r {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn message(outputs: &[(&str, Option<&Path>)]) -> String {
        let failure = check_outputs(outputs).unwrap_err();
        assert_eq!(failure.exit, crate::Exit::Usage);
        format!("{:#}", failure.error)
    }

    #[test]
    fn the_same_file_twice_is_found_through_any_spelling() {
        let dir = std::env::temp_dir().join(format!("perfloop-outputs-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        let plain = dir.join("run.json");
        let detour = dir.join("sub/../run.json");
        let text = message(&[("--json", Some(&plain)), ("--csv", Some(&detour))]);
        assert!(text.starts_with("--json and --csv both write to"), "{text}");
        // Once the file exists too, and beside other outputs.
        std::fs::write(&plain, "{}").unwrap();
        let other = dir.join("run.csv");
        let text = message(&[
            ("--csv", Some(&other)),
            ("--json", Some(&plain)),
            ("--html", Some(&detour)),
        ]);
        assert!(
            text.starts_with("--json and --html both write to"),
            "{text}"
        );
        // Distinct files pass, and the check leaves the existing one as it was.
        check_outputs(&[("--json", Some(&plain)), ("--csv", Some(&other))]).unwrap();
        assert_eq!(std::fs::read_to_string(&plain).unwrap(), "{}");
        assert!(!other.exists());
        // Stdout once is fine, twice is not; absent outputs are skipped.
        let stdout = Path::new("-");
        check_outputs(&[("--json", Some(stdout)), ("--csv", None)]).unwrap();
        let text = message(&[("--json", Some(stdout)), ("--csv", Some(stdout))]);
        assert!(text.contains("both write to stdout"), "{text}");
        let text = message(&[("--json", Some(Path::new("")))]);
        assert!(text.contains("the path is empty"), "{text}");
        let text = message(&[("--csv", Some(&plain.join("x.csv")))]);
        assert!(text.contains("is not a directory"), "{text}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
