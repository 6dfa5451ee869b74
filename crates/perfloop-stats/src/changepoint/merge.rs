//! The merge step: weak change points removed, weakest first, until every one left is strong.
//!
//! Each change point is tested between the whole segments on either side of it. Then, one
//! at a time:
//!
//! 1. if a segment is shorter than `min_segment` points, of the change points bounding such
//!    segments the one with the highest p-value goes;
//! 2. otherwise, as in Otava's `merge`, the change point with the highest p-value goes if
//!    that p-value is not below `p_value`; if every p-value is below it, the one with the
//!    smallest relative change goes if that change is not above `magnitude`; else the
//!    remaining change points are the result.
//!
//! Ties go to the first in index order. After a removal the two segments around it are one,
//! and change points are tested again: as Otava does it (the change point after the removed
//! one and the next; the one before keeps its test against a segment that no longer exists
//! until its own left neighbour goes), and then, with [`Merge::Strict`], every change point
//! left is tested against its real neighbours and the rules run again, re-testing both
//! change points that bound each merged segment. Otava's expected results on its Tigerbeetle
//! series depend on its way: in 3 of its 10 cases it keeps change points (5 in all) whose
//! p-value against the segments they separate is at or above the threshold; the strict merge
//! removes them, and one more that fails once they are gone.

use super::ttest::{TTest, t_test};
use super::{Merge, Params};

/// A change point and its test against its neighbours.
type Tested = (usize, TTest);

/// The test of the change point at `position` in `points` against its neighbours.
fn test_at(series: &[f64], points: &[Tested], position: usize) -> TTest {
    let start = if position == 0 {
        0
    } else {
        points[position - 1].0
    };
    let end = points.get(position + 1).map_or(series.len(), |p| p.0);
    let index = points[position].0;
    t_test(&series[start..index], &series[index..end])
}

/// The position of the first largest p-value among `positions`.
fn weakest_by_p_value(points: &[Tested], positions: impl Iterator<Item = usize>) -> Option<usize> {
    let mut weakest: Option<usize> = None;
    for i in positions {
        if weakest.is_none_or(|w| points[i].1.p_value > points[w].1.p_value) {
            weakest = Some(i);
        }
    }
    weakest
}

/// Whether the change point at `position` bounds a segment shorter than `min_segment`.
fn bounds_short_segment(len: usize, points: &[Tested], position: usize, min: usize) -> bool {
    let start = if position == 0 {
        0
    } else {
        points[position - 1].0
    };
    let end = points.get(position + 1).map_or(len, |p| p.0);
    let index = points[position].0;
    index - start < min || end - index < min
}

/// The next change point to remove, if any.
fn next_to_remove(series: &[f64], points: &[Tested], params: &Params) -> Option<usize> {
    if params.min_segment > 1 {
        let short = (0..points.len())
            .filter(|&i| bounds_short_segment(series.len(), points, i, params.min_segment));
        if let Some(i) = weakest_by_p_value(points, short) {
            return Some(i);
        }
    }
    let weakest = weakest_by_p_value(points, 0..points.len())?;
    if points[weakest].1.p_value >= params.p_value {
        return Some(weakest);
    }
    let mut smallest = 0;
    for i in 1..points.len() {
        if points[i].1.magnitude() < points[smallest].1.magnitude() {
            smallest = i;
        }
    }
    (points[smallest].1.magnitude() <= params.magnitude).then_some(smallest)
}

/// How the neighbours of a removed change point are tested again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Retest {
    /// As Otava does: the change point after the removed one, and the one after that. The
    /// one before keeps its test against the segment that no longer exists until its own
    /// left neighbour goes; Otava's expected results depend on it.
    Otava,
    /// Both change points that bound the merged segment.
    Bounds,
}

/// Removes change points from `points` until none is to be removed.
fn remove_weakest(series: &[f64], points: &mut Vec<Tested>, params: &Params, retest: Retest) {
    while let Some(position) = next_to_remove(series, points, params) {
        points.remove(position);
        let again = match retest {
            Retest::Otava => [Some(position), Some(position + 1)],
            Retest::Bounds => [position.checked_sub(1), Some(position)],
        };
        for p in again.into_iter().flatten() {
            if p < points.len() {
                points[p].1 = test_at(series, points, p);
            }
        }
    }
}

/// The change points left of the weak change points `weak` (indices in increasing order),
/// each with its test against the segments it separates.
///
/// Otava's merge first, re-testing neighbours as Otava does. Then every change point left is
/// tested against the segments it really separates; with [`Merge::Strict`] the same rules
/// run again, re-testing both neighbours of each removal, so that every change point
/// returned passes its own test.
pub fn merge(series: &[f64], weak: Vec<usize>, params: &Params) -> Vec<Tested> {
    let mut points: Vec<Tested> = weak
        .into_iter()
        .map(|i| (i, t_test(&[0.0], &[0.0])))
        .collect();
    let retest_all = |points: &mut Vec<Tested>| {
        for position in 0..points.len() {
            points[position].1 = test_at(series, points, position);
        }
    };
    retest_all(&mut points);
    remove_weakest(series, &mut points, params, Retest::Otava);
    retest_all(&mut points);
    if params.merge == Merge::Strict {
        remove_weakest(series, &mut points, params, Retest::Bounds);
    }
    points
}
