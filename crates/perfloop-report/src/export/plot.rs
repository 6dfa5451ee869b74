//! What the plots of the reports share, drawn from the measured data with `plotters`' SVG
//! backend: the size and margins of a plot ([`Frame`]), the mesh every plot draws
//! ([`mesh`]), the colours and fonts, and the legend given beside a plot ([`Key`]).
//!
//! `plotters` is built without a font feature (no `ttf`, which needs the system's fonts
//! through font-kit, and no `ab_glyph`, which needs a font file embedded in the program).
//! Its SVG backend writes text as SVG `<text>` elements that the browser renders in its
//! own sans-serif font; without a font feature `plotters` estimates label sizes from the
//! character count, which is all the layout needs. The features are `svg_backend` and
//! `line_series` only: markers are drawn as plain elements.
//!
//! Each plot is an `<svg>` string without the `xmlns` attribute (inline SVG in HTML does
//! not need it), so the page refers to no address but the target's.
//!
//! No legend is drawn inside a plot, where it would hide data: each plot comes with its
//! [`Key`]s, which the page writes under it in the same colours.

use std::error::Error;

use plotters::chart::MeshStyle;
use plotters::coord::Shift;
use plotters::coord::ranged1d::ValueFormatter;
use plotters::prelude::*;

use super::figures::figure;

/// The font family of every label; the browser picks the face.
pub(super) const FONT: &str = "sans-serif";

pub(super) const PASS: RGBColor = RGBColor(0x2e, 0x7d, 0x32);
pub(super) const FAIL: RGBColor = RGBColor(0xc6, 0x28, 0x28);
pub(super) const MUTED: RGBColor = RGBColor(0x75, 0x75, 0x75);
pub(super) const GRID: RGBColor = RGBColor(0xee, 0xee, 0xee);
pub(super) const AXIS: RGBColor = RGBColor(0xbd, 0xbd, 0xbd);
pub(super) const BLUE_LINE: RGBColor = RGBColor(0x15, 0x65, 0xc0);
pub(super) const ORANGE_LINE: RGBColor = RGBColor(0xef, 0x6c, 0x00);
pub(super) const PURPLE_LINE: RGBColor = RGBColor(0x6a, 0x1b, 0x9a);

pub(super) type Fallible<T> = Result<T, Box<dyn Error>>;

/// One plot of a report.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Plot {
    /// The `id` of its figure in the page (made of ASCII letters, digits and `-`).
    pub id: String,
    /// Its heading.
    pub title: String,
    /// What it shows, in a sentence.
    pub caption: String,
    /// The `<svg>` element, or why it could not be drawn.
    pub svg: Result<String, String>,
    /// Its legend.
    pub keys: Vec<Key>,
}

/// One entry of a legend: a symbol in a colour, and what it stands for.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Key {
    /// The symbol, as text: `●`, `▲`, `━`.
    pub symbol: &'static str,
    /// Its colour, `#rrggbb`.
    pub color: String,
    /// What it stands for.
    pub label: String,
}

impl Key {
    pub(super) fn new(symbol: &'static str, color: RGBColor, label: impl Into<String>) -> Key {
        Key {
            symbol,
            color: format!("#{:02x}{:02x}{:02x}", color.0, color.1, color.2),
            label: label.into(),
        }
    }
}

/// The size of a plot and the room around its plotting area, in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Frame {
    /// Width and height.
    pub size: (u32, u32),
    /// Around everything.
    pub margin: u32,
    /// Under the plotting area, for the x labels and description.
    pub x_label_area: u32,
    /// Left of the plotting area, for the y labels and description.
    pub y_label_area: u32,
}

/// The frame of a full-width plot.
pub(super) const WIDE: Frame = Frame {
    size: (760, 380),
    margin: 14,
    x_label_area: 44,
    y_label_area: 70,
};

impl Frame {
    /// An SVG of the frame's size drawn by `draw` on a white background, without the
    /// `xmlns` attribute; a drawing error becomes its message.
    pub(super) fn svg<F>(&self, draw: F) -> Result<String, String>
    where
        F: for<'a, 'b> FnOnce(&'b DrawingArea<SVGBackend<'a>, Shift>) -> Fallible<()>,
    {
        let mut buf = String::new();
        {
            let root = SVGBackend::with_string(&mut buf, self.size).into_drawing_area();
            root.fill(&WHITE).map_err(|e| e.to_string())?;
            draw(&root).map_err(|e| e.to_string())?;
            root.present().map_err(|e| e.to_string())?;
        }
        Ok(buf.replacen(r#" xmlns="http://www.w3.org/2000/svg""#, "", 1))
    }

    /// A chart on `root` with the frame's margin and label areas; the caller gives the
    /// coordinates (and any further label area).
    pub(super) fn chart<'a, 'b, DB: DrawingBackend>(
        &self,
        root: &'a DrawingArea<DB, Shift>,
    ) -> ChartBuilder<'a, 'b, DB> {
        let mut builder = ChartBuilder::on(root);
        builder
            .margin(self.margin)
            .x_label_area_size(self.x_label_area)
            .y_label_area_size(self.y_label_area);
        builder
    }
}

/// The mesh of every plot: no light lines, a light grid, grey axes, muted labels, figures
/// as [`tick`] labels on both axes. The caller adds the descriptions (and any other label
/// formatter or count), then draws it.
pub(super) fn mesh<'a, 'b, DB, X, Y>(
    chart: &'b mut ChartContext<'a, DB, Cartesian2d<X, Y>>,
) -> MeshStyle<'a, 'b, X, Y, DB>
where
    DB: DrawingBackend,
    X: Ranged<ValueType = f64> + ValueFormatter<f64>,
    Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    let mut mesh = chart.configure_mesh();
    mesh.light_line_style(WHITE)
        .bold_line_style(GRID)
        .axis_style(AXIS)
        .label_style(label_font())
        .axis_desc_style(desc_font())
        .x_label_formatter(&tick)
        .y_label_formatter(&tick);
    mesh
}

/// The largest of `values`, or `floor` when they are all smaller (or there are none).
pub(super) fn max_or(values: impl IntoIterator<Item = f64>, floor: f64) -> f64 {
    values
        .into_iter()
        .filter(|v| v.is_finite())
        .fold(floor, f64::max)
}

/// An axis label: few digits, no needless zeros.
pub(super) fn tick(v: &f64) -> String {
    figure(*v)
}

pub(super) fn label_font() -> TextStyle<'static> {
    (FONT, 12).into_font().color(&MUTED)
}

pub(super) fn desc_font() -> TextStyle<'static> {
    (FONT, 14).into_font().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_svg_has_no_namespace_address_and_is_closed() {
        let svg = WIDE.svg(|_| Ok(())).unwrap_or_default();
        assert!(svg.starts_with("<svg "), "{svg}");
        assert!(svg.trim_end().ends_with("</svg>"), "{svg}");
        assert!(!svg.contains("http"), "{svg}");
    }

    #[test]
    fn drawing_errors_become_messages() {
        let svg = WIDE.svg(|_| Err("no data".into()));
        assert_eq!(svg, Err("no data".to_string()));
    }
}
