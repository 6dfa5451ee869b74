//! Exporters: one [`Exporter`] trait for every record kind, the files grouped by record
//! kind, one file per format.
//!
//! | record | exporter | file | content |
//! | --- | --- | --- | --- |
//! | any | [`JsonExporter`] | `json.rs` | the whole record, pretty-printed (its schema in `schema/`) |
//! | run | [`CsvExporter`] ([`Format::Csv`]) | `run/csv.rs` | the per-second timeline |
//! | run | [`TextExporter`] ([`Format::Text`]) | `run/text.rs` | the human summary, plain text within [`WIDTH`] columns |
//! | run | [`RunHtml`] | `run/html.rs` | one self-contained HTML page with SVG plots (`run/plot.rs`) |
//! | capacity | [`CapacityText`] | `capacity/text.rs` | the human summary, plain text within [`WIDTH`] columns |
//! | capacity | [`CapacityHtml`] | `capacity/html.rs` | one self-contained HTML page with SVG plots (`capacity/plot.rs`) |
//! | study | [`StudyText`] | `study/text.rs` | the human summary, plain text within [`WIDTH`] columns |
//! | study | [`StudyHtml`] | `study/html.rs` | one self-contained HTML page with SVG plots (`study/plot.rs`) |
//! | bench | [`BenchText`] | `bench/text.rs` | the human summary in the manner of hyperfine, with a ranking |
//! | compare | [`CompareText`] | `compare/text.rs` | a table in the manner of benchstat: each metric's figures, change, interval and verdict |
//! | compare | [`CompareMarkdown`] | `compare/markdown.rs` | the same table in GitHub-flavoured Markdown, for CI summaries |
//!
//! What the reports share sits beside them: how a figure reads (`figures.rs`), the plain-text
//! page and its warnings (`page.rs`), the HTML page's head, style, figures and warnings
//! (`html.rs`), and the plots' frames, mesh, colours and legends (`plot.rs`). The figures a
//! capacity report shows in both formats are taken from the record in
//! `capacity/figures.rs`, those of a study report in `study/figures.rs`.
//!
//! Exporters write to any `io::Write`; the caller decides where it goes (a file, stdout).

mod bench;
mod capacity;
mod compare;
mod figures;
mod html;
mod json;
mod page;
mod plot;
mod run;
mod study;

use std::io;

pub use self::bench::{BenchText, render_bench_text};
pub use self::capacity::{
    CapacityHtml, CapacityText, write_capacity_html, write_capacity_text, write_findings_html,
    write_findings_text,
};
pub use self::compare::{CompareMarkdown, CompareText};
pub use self::html::escape as escape_html;
pub use self::json::JsonExporter;
pub use self::page::WIDTH;
pub use self::run::{CSV_HEADER, CsvExporter, RunHtml, TextExporter, alert_figure};
pub use self::study::{StudyHtml, StudyText, write_study_html, write_study_text};

use crate::run::RunRecord;

/// Writes a record of kind `R` (a [`RunRecord`], a
/// [`CapacityRecord`](crate::CapacityRecord), a [`StudyRecord`](crate::StudyRecord), a
/// [`BenchReport`](crate::BenchReport)) in one format.
pub trait Exporter<R: ?Sized> {
    /// Writes `record` to `out`.
    fn write(&self, record: &R, out: &mut dyn io::Write) -> io::Result<()>;

    /// The exported bytes.
    fn to_bytes(&self, record: &R) -> io::Result<Vec<u8>> {
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
    pub fn exporter(self) -> &'static dyn Exporter<RunRecord> {
        match self {
            Format::Json => &JsonExporter,
            Format::Csv => &CsvExporter,
            Format::Text => &TextExporter,
        }
    }
}
