//! The exporters of a study record besides JSON: the human summary as plain text
//! (`text.rs`) and one self-contained HTML page (`html.rs`) with SVG plots of the trials
//! (`plot.rs`); the figures both show are taken from the record in `figures.rs`.

mod figures;
mod html;
mod plot;
mod text;

pub use self::html::{StudyHtml, write_study_html};
pub use self::text::{StudyText, write_study_text};
