//! Sparklines for the runs table: a result's throughput over its own course (a load run's
//! seconds, a capacity search's steps, a study's trials: the series of
//! `perfloop_report::headline::series`, as `perfloop history` draws it in text) as a small
//! inline SVG.

use perfloop_report::headline::significant;

/// The most points a sparkline draws; longer series are averaged into this many.
const POINTS: usize = 60;
const WIDTH: f64 = 120.0;
const HEIGHT: f64 = 24.0;

/// The series as an inline SVG (empty text for fewer than two points).
pub(crate) fn svg(values: &[f64]) -> String {
    if values.len() < 2 {
        return String::new();
    }
    let points: Vec<f64> = if values.len() > POINTS {
        let per = values.len().div_ceil(POINTS);
        values
            .chunks(per)
            .map(|c| c.iter().sum::<f64>() / c.len() as f64)
            .collect()
    } else {
        values.to_vec()
    };
    let lo = points.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = points.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let span = if hi > lo { hi - lo } else { 1.0 };
    let step = WIDTH / (points.len() - 1) as f64;
    let coords: Vec<String> = points
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let y = HEIGHT - 2.0 - (v - lo) / span * (HEIGHT - 4.0);
            format!("{:.1},{:.1}", i as f64 * step, y)
        })
        .collect();
    format!(
        "<svg class=\"spark\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" width=\"{WIDTH}\" height=\"{HEIGHT}\" \
         role=\"img\" aria-label=\"throughput {} to {} req/s\"><title>throughput {} to {} req/s</title>\
         <polyline fill=\"none\" stroke=\"currentColor\" stroke-width=\"1.5\" points=\"{}\"/></svg>",
        significant(Some(lo)),
        significant(Some(hi)),
        significant(Some(lo)),
        significant(Some(hi)),
        coords.join(" ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_series_are_averaged() {
        let long: Vec<f64> = (0..600).map(f64::from).collect();
        let drawn = svg(&long);
        assert_eq!(drawn.matches(',').count(), POINTS);
        assert_eq!(svg(&[1.0]), "");
    }
}
