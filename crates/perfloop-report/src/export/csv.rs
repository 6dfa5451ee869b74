//! The CSV exporter: the per-second timeline, one header line and one line per second.
//! Every field is a number, so no quoting is ever needed (RFC 4180 holds trivially).
//! Latencies are in milliseconds with microsecond precision.

use std::io;

use super::Exporter;
use crate::record::RunRecord;

/// The header line of the timeline CSV.
pub const CSV_HEADER: &str = "t_s,requests,errors,rps,p50_ms,p90_ms,p99_ms,max_ms";

/// Writes the timeline as CSV.
#[derive(Debug, Clone, Copy, Default)]
pub struct CsvExporter;

impl Exporter for CsvExporter {
    fn write(&self, record: &RunRecord, out: &mut dyn io::Write) -> io::Result<()> {
        writeln!(out, "{CSV_HEADER}")?;
        for r in &record.timeline {
            writeln!(
                out,
                "{},{},{},{:.3},{:.3},{:.3},{:.3},{:.3}",
                r.t_s, r.requests, r.errors, r.rps, r.p50_ms, r.p90_ms, r.p99_ms, r.max_ms
            )?;
        }
        Ok(())
    }
}
