//! What a saved result looked like over its own course, as a text sparkline: the series of
//! one headline metric over a load run's seconds, a capacity search's steps, a command
//! benchmark's runs or a study's trials is `perfloop_report::headline::series`'s; drawing
//! it is here.

/// The eight heights of a sparkline.
const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// The most characters a sparkline takes: longer series are averaged into this many.
pub const WIDTH: usize = 16;

/// `values` as a sparkline of at most [`WIDTH`] characters, lowest ▁ to highest █ (a flat
/// series is a row of ▄); empty without values.
pub fn sparkline(values: &[f64]) -> String {
    let points = squeeze(values, WIDTH);
    let (lo, hi) = points
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    points
        .iter()
        .map(|&v| {
            if hi - lo <= f64::EPSILON * hi.abs().max(1.0) {
                BARS[3]
            } else {
                let level = ((v - lo) / (hi - lo) * (BARS.len() - 1) as f64).round();
                BARS[(level as usize).min(BARS.len() - 1)]
            }
        })
        .collect()
}

/// At most `width` points: consecutive runs of the values averaged.
fn squeeze(values: &[f64], width: usize) -> Vec<f64> {
    if values.len() <= width {
        return values.to_vec();
    }
    (0..width)
        .map(|i| {
            let from = i * values.len() / width;
            let to = ((i + 1) * values.len() / width).max(from + 1);
            let chunk = &values[from..to];
            chunk.iter().sum::<f64>() / chunk.len() as f64
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparklines_span_the_range() {
        assert_eq!(sparkline(&[]), "");
        assert_eq!(
            sparkline(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]),
            "▁▂▃▄▅▆▇█"
        );
        assert_eq!(sparkline(&[5.0, 5.0, 5.0]), "▄▄▄");
        assert_eq!(sparkline(&[0.0, 10.0]), "▁█");
        let long: Vec<f64> = (0..100).map(f64::from).collect();
        let line = sparkline(&long);
        assert_eq!(line.chars().count(), WIDTH);
        assert!(line.starts_with('▁') && line.ends_with('█'), "{line}");
    }
}
