//! The exporters of a run record besides JSON: the per-second timeline as CSV (`csv.rs`),
//! the human summary as plain text (`text.rs`) and one self-contained HTML page (`html.rs`)
//! with SVG plots of the measured data (`plot.rs`) and its tables (`tables.rs`).

mod csv;
mod html;
mod plot;
mod tables;
mod text;

pub use self::csv::{CSV_HEADER, CsvExporter};
pub use self::html::RunHtml;
pub use self::text::TextExporter;
