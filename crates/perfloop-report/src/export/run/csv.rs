//! The CSV exporter: the per-second timeline, one header line and one line per second.
//! Every field is a number or empty (a second with no response has no latency), so no
//! quoting is ever needed (RFC 4180 holds trivially). Latencies are in milliseconds with
//! microsecond precision; `length_s` is 1 except for a last, partial second.

use std::io;

use crate::export::Exporter;
use crate::run::RunRecord;

/// The header line of the timeline CSV.
pub const CSV_HEADER: &str = "t_s,length_s,requests,errors,rps,p50_ms,p90_ms,p99_ms,max_ms";

/// Writes the timeline as CSV.
#[derive(Debug, Clone, Copy, Default)]
pub struct CsvExporter;

impl Exporter<RunRecord> for CsvExporter {
    fn write(&self, record: &RunRecord, out: &mut dyn io::Write) -> io::Result<()> {
        writeln!(out, "{CSV_HEADER}")?;
        let ms = |v: Option<f64>| v.map(|v| format!("{v:.3}")).unwrap_or_default();
        for r in &record.timeline {
            writeln!(
                out,
                "{},{:.3},{},{},{:.3},{},{},{},{}",
                r.t_s,
                r.length_s,
                r.requests,
                r.errors,
                r.rps,
                ms(r.p50_ms),
                ms(r.p90_ms),
                ms(r.p99_ms),
                ms(r.max_ms)
            )?;
        }
        Ok(())
    }
}
