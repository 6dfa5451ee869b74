//! Writing outputs: files or `-` for stdout; a closed stdout (`| head`) is not an error.

use std::fs::File;
use std::io::{self, BufWriter, Write};

use anyhow::{Context, anyhow};
use perfloop_report::RunRecord;
use perfloop_report::export::Exporter;

use crate::Failure;

/// Writes a record with `exporter` to `path` (`-`: stdout).
pub fn write_record(
    path: &str,
    exporter: &dyn Exporter,
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
pub fn record_stdout(exporter: &dyn Exporter, record: &RunRecord) -> io::Result<()> {
    let mut out = io::stdout().lock();
    ignore_broken_pipe(exporter.write(record, &mut out).and_then(|()| out.flush()))
}

/// Writes a record to stderr.
pub fn record_stderr(exporter: &dyn Exporter, record: &RunRecord) -> io::Result<()> {
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
