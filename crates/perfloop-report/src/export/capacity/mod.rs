//! The exporters of a capacity record besides JSON: the human summary as plain text
//! (`text.rs`) and one self-contained HTML page (`html.rs`) with SVG plots of the measured
//! data (`plot.rs`); the figures both show are taken from the record in `figures.rs`.

mod figures;
mod html;
mod plot;
mod text;

pub use self::html::{CapacityHtml, write_capacity_html, write_findings_html};
pub use self::text::{CapacityText, write_capacity_text, write_findings_text};
