//! The exporters of a run record besides JSON: the per-second timeline as CSV (`csv.rs`),
//! the human summary as plain text (`text.rs`) and one self-contained HTML page (`html.rs`)
//! with SVG plots of the measured data (`plot.rs`) and its tables (`tables.rs`). Both the
//! text and the HTML list the run's alerts (fired and resolved) when it has any.

mod csv;
mod html;
mod plot;
mod tables;
mod text;

pub use self::csv::{CSV_HEADER, CsvExporter};
pub use self::html::RunHtml;
pub use self::text::TextExporter;

use perfloop_stats::alert::AlertRule;

use crate::export::figures::{bytes, duration, figure};

/// An alert's value or threshold in its rule's unit (the unit follows from the rule's
/// text; a rule that no longer reads, from an older version, shows the bare number).
pub fn alert_figure(rule: &str, v: f64) -> String {
    let unit = AlertRule::parse(rule).map_or("", |r| r.unit());
    match unit {
        "ms" => duration(v),
        "ratio" => format!("{} %", figure(v * 100.0)),
        "bytes" => bytes(v),
        "" => figure(v),
        unit => format!("{} {unit}", figure(v)),
    }
}
