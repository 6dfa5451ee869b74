//! The CSV exporter: the per-second timeline, one header line and one line per second.
//! Every figure is a number or empty (a second with no response has no latency).
//! Latencies are in milliseconds with microsecond precision; `length_s` is 1 except for a
//! last, partial second.
//!
//! A run of two or more endpoints adds five columns per endpoint, in the record's order:
//! `NAME requests`, `NAME errors`, `NAME rps`, `NAME p50_ms`, `NAME p99_ms`. A header
//! field holding a comma, a quote or a line break is quoted as RFC 4180 says; a run of one
//! endpoint has exactly [`CSV_HEADER`].

use std::io;

use crate::export::Exporter;
use crate::run::RunRecord;

/// The header line of the timeline CSV (of a run of one endpoint).
pub const CSV_HEADER: &str = "t_s,length_s,requests,errors,rps,p50_ms,p90_ms,p99_ms,max_ms";

/// The figures each endpoint adds to a row, after its name.
const PER_ENDPOINT: [&str; 5] = ["requests", "errors", "rps", "p50_ms", "p99_ms"];

/// Writes the timeline as CSV.
#[derive(Debug, Clone, Copy, Default)]
pub struct CsvExporter;

impl Exporter<RunRecord> for CsvExporter {
    fn write(&self, record: &RunRecord, out: &mut dyn io::Write) -> io::Result<()> {
        let endpoints = if record.endpoints.len() > 1 {
            record.endpoints.as_slice()
        } else {
            &[]
        };
        write!(out, "{CSV_HEADER}")?;
        for e in endpoints {
            for figure in PER_ENDPOINT {
                write!(out, ",{}", field(&format!("{} {figure}", e.name)))?;
            }
        }
        writeln!(out)?;
        let ms = |v: Option<f64>| v.map(|v| format!("{v:.3}")).unwrap_or_default();
        for r in &record.timeline {
            write!(
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
            for i in 0..endpoints.len() {
                match r.endpoints.get(i) {
                    Some(e) => write!(
                        out,
                        ",{},{},{:.3},{},{}",
                        e.requests,
                        e.errors,
                        e.rps,
                        ms(e.p50_ms),
                        ms(e.p99_ms)
                    )?,
                    None => write!(out, ",,,,,")?,
                }
            }
            writeln!(out)?;
        }
        Ok(())
    }
}

/// A header field, quoted when it holds a comma, a quote or a line break (RFC 4180).
fn field(text: &str) -> String {
    if text.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}
