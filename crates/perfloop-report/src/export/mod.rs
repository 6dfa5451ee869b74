//! Exporters: one [`Exporter`] trait, one file per format.
//!
//! | format | file | content |
//! | --- | --- | --- |
//! | [`Format::Json`] | `json.rs` | the whole [`RunRecord`], pretty-printed (schema `perfloop.run.v1`) |
//! | [`Format::Csv`] | `csv.rs` | the per-second timeline |
//! | [`Format::Text`] | `text.rs` | the human summary, plain text within 80 columns |
//!
//! Exporters write to any `io::Write`; the caller decides where it goes (a file, stdout).

mod csv;
mod json;
mod text;

use std::io;

pub use self::csv::{CSV_HEADER, CsvExporter};
pub use self::json::JsonExporter;
pub use self::text::{TextExporter, WIDTH};

use crate::record::RunRecord;

/// Writes a run record in one format.
pub trait Exporter {
    /// Writes `record` to `out`.
    fn write(&self, record: &RunRecord, out: &mut dyn io::Write) -> io::Result<()>;

    /// The exported bytes.
    fn to_bytes(&self, record: &RunRecord) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        self.write(record, &mut out)?;
        Ok(out)
    }
}

/// The output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// The whole record as pretty JSON.
    Json,
    /// The timeline as CSV.
    Csv,
    /// The human summary.
    Text,
}

impl Format {
    /// The exporter for this format.
    pub fn exporter(self) -> &'static dyn Exporter {
        match self {
            Format::Json => &JsonExporter,
            Format::Csv => &CsvExporter,
            Format::Text => &TextExporter,
        }
    }
}
