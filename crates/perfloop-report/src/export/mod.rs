//! Exporters: one [`Exporter`] trait for run records, one [`CapacityExporter`] trait for
//! capacity records, one [`StudyExporter`] trait for study records, one file per format.
//!
//! | record | format | file | content |
//! | --- | --- | --- | --- |
//! | run | [`Format::Json`] | `json.rs` | the whole [`RunRecord`], pretty-printed (schema `perfloop.run.v1`) |
//! | run | [`Format::Csv`] | `csv.rs` | the per-second timeline |
//! | run | [`Format::Text`] | `text.rs` | the human summary, plain text within 80 columns |
//! | capacity | [`CapacityJson`] | `json.rs` | the whole [`CapacityRecord`], pretty-printed (schema `perfloop.capacity.v1`) |
//! | capacity | [`CapacityText`] | `capacity_text.rs` | the human summary, plain text within 80 columns |
//! | capacity | [`CapacityHtml`] | `capacity_html.rs` | one self-contained HTML page with SVG plots (`plot.rs`) |
//! | study | [`StudyJson`] | `json.rs` | the whole [`StudyRecord`], pretty-printed (schema `perfloop.study.v1`) |
//! | study | [`StudyText`] | `study_text.rs` | the human summary, plain text within 80 columns |
//! | study | [`StudyHtml`] | `study_html.rs` | one self-contained HTML page with SVG plots (`study_plot.rs`) |
//!
//! The figures both capacity reports show are taken from the record in `figures.rs`, those
//! of both study reports in `study_figures.rs`.
//!
//! Exporters write to any `io::Write`; the caller decides where it goes (a file, stdout).

mod capacity_html;
mod capacity_text;
mod csv;
mod figures;
mod json;
mod plot;
mod study_figures;
mod study_html;
mod study_plot;
mod study_text;
mod text;

use std::io;

pub use self::capacity_html::{CapacityHtml, write_capacity_html};
pub use self::capacity_text::{CapacityText, write_capacity_text};
pub use self::csv::{CSV_HEADER, CsvExporter};
pub use self::json::{CapacityJson, JsonExporter, StudyJson};
pub use self::study_html::{StudyHtml, write_study_html};
pub use self::study_text::{StudyText, write_study_text};
pub use self::text::{TextExporter, WIDTH};

use crate::capacity::CapacityRecord;
use crate::record::RunRecord;
use crate::study::StudyRecord;

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

/// Writes a capacity record in one format.
pub trait CapacityExporter {
    /// Writes `record` to `out`.
    fn write(&self, record: &CapacityRecord, out: &mut dyn io::Write) -> io::Result<()>;

    /// The exported bytes.
    fn to_bytes(&self, record: &CapacityRecord) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        self.write(record, &mut out)?;
        Ok(out)
    }
}

/// Writes a study record in one format.
pub trait StudyExporter {
    /// Writes `record` to `out`.
    fn write(&self, record: &StudyRecord, out: &mut dyn io::Write) -> io::Result<()>;

    /// The exported bytes.
    fn to_bytes(&self, record: &StudyRecord) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        self.write(record, &mut out)?;
        Ok(out)
    }
}

/// The output formats of a run record.
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
