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
//!
//! The latency plots of the run and capacity reports share their frame ([`latency_svg`]):
//! percentiles as lines on a log-scale latency axis, the latency objectives as dashed
//! lines across it ([`objective_lines`], [`objective_keys`]).

use std::error::Error;

use plotters::chart::{DualCoordChartContext, MeshStyle};
use plotters::coord::Shift;
use plotters::coord::ranged1d::ValueFormatter;
use plotters::coord::types::RangedCoordf64;
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

/// The keys of objectives drawn by [`objective_lines`]: `objective EXPR`, dashed, in
/// [`FAIL`].
pub(super) fn objective_keys<O: AsRef<str>>(objectives: &[(O, f64)]) -> impl Iterator<Item = Key> {
    objectives
        .iter()
        .map(|(expr, _)| Key::new("┄", FAIL, format!("objective {}", expr.as_ref())))
}

/// `points` joined by a solid line in `color`, 2 px wide.
pub(super) fn solid_line<Y>(
    chart: &mut ChartContext<'_, SVGBackend<'_>, Cartesian2d<RangedCoordf64, Y>>,
    points: &[(f64, f64)],
    color: RGBColor,
) -> Fallible<()>
where
    Y: Ranged<ValueType = f64>,
{
    chart.draw_series(LineSeries::new(
        points.iter().copied(),
        color.stroke_width(2),
    ))?;
    Ok(())
}

/// Each objective's threshold as a dashed [`FAIL`] line across the plot, from 0 to `x_max`.
pub(super) fn objective_lines<O, Y>(
    chart: &mut ChartContext<'_, SVGBackend<'_>, Cartesian2d<RangedCoordf64, Y>>,
    x_max: f64,
    objectives: &[(O, f64)],
) -> Fallible<()>
where
    Y: Ranged<ValueType = f64>,
{
    for (_, threshold) in objectives {
        chart.draw_series(DashedLineSeries::new(
            [(0.0, *threshold), (x_max, *threshold)],
            6,
            4,
            FAIL.stroke_width(1),
        ))?;
    }
    Ok(())
}

/// The chart of a plot on linear axes, on an SVG.
pub(super) type LinearChart<'a, 'b> =
    ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// A [`WIDE`] plot on linear axes from 0 to `x_max` and `y_max`, described `x_desc` and
/// `y_desc`: the mesh, then what `draw` draws.
pub(super) fn linear_svg<F>(
    x_max: f64,
    y_max: f64,
    x_desc: &str,
    y_desc: &str,
    draw: F,
) -> Result<String, String>
where
    F: for<'a, 'b> FnOnce(&mut LinearChart<'a, 'b>) -> Fallible<()>,
{
    WIDE.svg(|root| {
        let mut chart = WIDE
            .chart(root)
            .build_cartesian_2d(0.0..x_max, 0.0..y_max)?;
        mesh(&mut chart).x_desc(x_desc).y_desc(y_desc).draw()?;
        draw(&mut chart)
    })
}

/// The axes of a latency plot: x from 0, latency on a log scale.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct LatencyAxes {
    /// The end of the x axis.
    pub x_max: f64,
    /// The latency axis, ms: `lo..hi`.
    pub lo: f64,
    /// See `lo`.
    pub hi: f64,
    /// The x axis' description.
    pub x_desc: &'static str,
    /// How many latency labels, when not `plotters`' default.
    pub y_labels: Option<usize>,
}

/// The chart of a latency plot: its log-scale coordinates on an SVG.
pub(super) type LatencyChart<'a, 'b> =
    ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, LogCoord<f64>>>;

/// The keys of a latency plot: a line for each percentile of `series` (name, points,
/// colour) that has points, then the objectives.
pub(super) fn latency_keys<T, S: AsRef<[T]>, O: AsRef<str>>(
    series: &[(&str, S, RGBColor)],
    objectives: &[(O, f64)],
) -> Vec<Key> {
    series
        .iter()
        .filter(|(_, points, _)| !points.as_ref().is_empty())
        .map(|(name, _, color)| Key::new("━", *color, *name))
        .chain(objective_keys(objectives))
        .collect()
}

/// A [`WIDE`] latency plot: the mesh, the objectives' dashed lines, then what `lines` draws.
pub(super) fn latency_svg<O, F>(
    axes: LatencyAxes,
    objectives: &[(O, f64)],
    lines: F,
) -> Result<String, String>
where
    F: for<'a, 'b> FnOnce(&mut LatencyChart<'a, 'b>) -> Fallible<()>,
{
    WIDE.svg(|root| {
        let mut chart = WIDE
            .chart(root)
            .build_cartesian_2d(0.0..axes.x_max, (axes.lo..axes.hi).log_scale())?;
        let mut grid = mesh(&mut chart);
        grid.x_desc(axes.x_desc).y_desc("latency, ms (log scale)");
        if let Some(n) = axes.y_labels {
            grid.y_labels(n);
        }
        grid.draw()?;
        objective_lines(&mut chart, axes.x_max, objectives)?;
        lines(&mut chart)
    })
}

/// The right axis of a plot with two: styled as [`mesh`], `desc` beside it, then drawn.
pub(super) fn right_axis<DB, CT, Y>(
    chart: &mut DualCoordChartContext<'_, DB, CT, Cartesian2d<RangedCoordf64, Y>>,
    desc: &str,
) -> Fallible<()>
where
    DB: DrawingBackend,
    DB::ErrorType: 'static,
    CT: CoordTranslate,
    Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    chart
        .configure_secondary_axes()
        .axis_style(AXIS)
        .label_style(label_font())
        .axis_desc_style(desc_font())
        .y_label_formatter(&tick)
        .y_desc(desc)
        .draw()?;
    Ok(())
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
