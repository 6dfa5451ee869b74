//! The split step: E-divisive in sliding windows, giving the weak change points.
//!
//! Windows of `window` points start at 0 and then every `window / 2` points, or at the last
//! change point the previous window found when that is further on (Otava's `split`). In a
//! window, E-divisive cuts greedily: the best cut over all current segments (the largest
//! energy statistic, the first segment on a tie) is tested between the two parts of the
//! segment it cuts; it is kept if its p-value is at most the threshold, and the first that
//! is not ends the window. The union of the cuts of all windows, in index order, are the
//! weak change points.

use super::Params;
use super::energy::{Candidate, Distances};
use super::ttest::pooled_t_test;

/// The change points E-divisive finds in one window, in index order (indices within the
/// window).
fn window_change_points(window: &[f64], params: &Params) -> Vec<usize> {
    let threshold = params.first_pass_p_value();
    let distances = Distances::new(window);
    let mut cuts: Vec<usize> = Vec::new();
    loop {
        let mut best: Option<(usize, usize, Candidate)> = None;
        let mut start = 0;
        for end in cuts.iter().copied().chain(std::iter::once(window.len())) {
            if end - start > 1 {
                if let Some(c) = distances.best_cut(start, end, params.min_segment) {
                    if best.is_none_or(|(_, _, b)| c.q > b.q) {
                        best = Some((start, end, c));
                    }
                }
            }
            start = end;
        }
        let Some((start, end, candidate)) = best else {
            break;
        };
        let (left, right) = (
            &window[start..candidate.index],
            &window[candidate.index..end],
        );
        let test = pooled_t_test(left, right, params.noise);
        if test.p_value > threshold {
            break;
        }
        let at = cuts.partition_point(|&c| c < candidate.index);
        cuts.insert(at, candidate.index);
    }
    cuts
}

/// The weak change points of `series`: E-divisive in windows of `params.window` points (its
/// `Y` of at least `params.min_segment` points), each cut tested at the first-pass
/// threshold; indices in increasing order, without duplicates.
pub fn weak_change_points(series: &[f64], params: &Params) -> Vec<usize> {
    let window = params.window;
    let step = window / 2;
    let mut found: Vec<usize> = Vec::new();
    let mut start = 0;
    while start < series.len() {
        let end = (start + window).min(series.len());
        let cuts = window_change_points(&series[start..end], params);
        let last = cuts.last().map_or(0, |c| c + start);
        found.extend(cuts.iter().map(|c| c + start));
        start = last.max(start + step);
    }
    found.sort_unstable();
    found.dedup();
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_find_each_shift_once() {
        let mut series = vec![10.0; 40];
        series.extend(vec![20.0; 40]);
        series.extend(vec![15.0; 40]);
        // A little deterministic noise so that the t-test has spread to work with.
        for (i, v) in series.iter_mut().enumerate() {
            *v += ((i * 7919) % 13) as f64 / 26.0;
        }
        assert_eq!(
            weak_change_points(&series, &Params::otava(30, 0.001, 0.0)),
            vec![40, 80]
        );
    }

    #[test]
    fn a_flat_series_has_no_weak_change_point() {
        let otava = Params::otava(50, 0.001, 0.0);
        assert!(weak_change_points(&[5.0; 100], &otava).is_empty());
        assert!(weak_change_points(&[], &otava).is_empty());
        assert!(weak_change_points(&[1.0], &otava).is_empty());
    }
}
