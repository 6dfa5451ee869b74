//! The exporters of a run record besides JSON: the per-second timeline as CSV (`csv.rs`)
//! and the human summary as plain text (`text.rs`).

mod csv;
mod text;

pub use self::csv::{CSV_HEADER, CsvExporter};
pub use self::text::TextExporter;
