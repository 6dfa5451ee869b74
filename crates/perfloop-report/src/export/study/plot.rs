//! The plots of the study report, drawn from the trials with the shared helpers of
//! `export/plot.rs` (no font feature; labels are SVG `<text>` the browser renders).
//!
//! - The objective of every trial in the order measured, marked by role, with the best so
//!   far as a step line; trials without an objective are crosses along the bottom.
//! - The objective against each knob, one small plot per knob: a numeric knob on a linear
//!   axis, or a logarithmic one when its domain says `log` (and every value is positive); a
//!   categorical or boolean knob as evenly spaced categories, the points spread a little
//!   sideways so that they do not hide each other. Dashed lines mark the default and the
//!   conclusion's value.
//! - The confirmation rounds: each finalist and the baseline, round by round.
//!
//! The legends are not drawn inside the plots, where they would hide points, but given as
//! `Key`s for the page to write beside them in the same colours.

use std::collections::BTreeMap;

use plotters::coord::ranged1d::ValueFormatter;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use serde_json::Value;

use super::figures::{gain, is_complete, same, value};
use crate::export::figures::figure;
use crate::export::plot::{
    BLUE_LINE, FAIL, Fallible, Frame, Key, MUTED, ORANGE_LINE, PASS, PURPLE_LINE, Plot, WIDE,
    max_or, mesh, tick,
};
use crate::study::{KnobInfo, StudyRecord, TrialEntry, TrialRole};

/// The frame of a knob's plot, two to a row.
const KNOB: Frame = Frame {
    size: (370, 260),
    margin: 10,
    x_label_area: 40,
    y_label_area: 60,
};

/// The plots of the study: the trials, then one per knob, then the confirmation rounds.
/// Nothing is drawn without a trial that measured an objective.
pub(super) struct StudyPlots {
    pub trials: Option<Plot>,
    pub knobs: Vec<Plot>,
    /// The legend the knobs' plots share.
    pub knob_keys: Vec<Key>,
    pub rounds: Option<Plot>,
}

impl StudyPlots {
    pub(super) fn of(record: &StudyRecord) -> StudyPlots {
        let knobs: Vec<Plot> = record
            .knobs
            .iter()
            .enumerate()
            .filter_map(|(i, k)| knob_plot(record, i, k))
            .collect();
        let mut knob_keys = Vec::new();
        if !knobs.is_empty() {
            knob_keys = role_keys(record);
            knob_keys.push(Key::new("┆", MUTED, "the default"));
            if record.best.as_ref().is_some_and(|b| !b.is_default) {
                knob_keys.push(Key::new("┆", PASS, "the conclusion's value"));
            }
        }
        StudyPlots {
            trials: trials_plot(record),
            knobs,
            knob_keys,
            rounds: rounds_plot(record),
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.trials.is_none() && self.knobs.is_empty() && self.rounds.is_none()
    }
}

/// How each role is drawn: its name, colour and symbol in a legend.
fn role_style(role: TrialRole) -> (&'static str, RGBColor, &'static str) {
    match role {
        TrialRole::Explore => ("explore", BLUE_LINE, "●"),
        TrialRole::Baseline => ("baseline", ORANGE_LINE, "▲"),
        TrialRole::Confirm => ("confirmation", PURPLE_LINE, "○"),
    }
}

const ROLES: [TrialRole; 3] = [TrialRole::Explore, TrialRole::Baseline, TrialRole::Confirm];

/// The legend of the roles of the complete trials.
fn role_keys(record: &StudyRecord) -> Vec<Key> {
    ROLES
        .into_iter()
        .filter(|&role| {
            record
                .trials
                .iter()
                .any(|t| t.role == role && is_complete(t))
        })
        .map(|role| {
            let (name, color, symbol) = role_style(role);
            Key::new(symbol, color, name)
        })
        .collect()
}

/// The marker of a point of `role`, in data or pixel coordinates.
fn marker<DB, C>(role: TrialRole, at: C, size: i32) -> DynElement<'static, DB, C>
where
    DB: DrawingBackend,
    C: Clone + 'static,
{
    let (_, color, _) = role_style(role);
    match role {
        TrialRole::Explore => Circle::new(at, size, color.filled()).into_dyn(),
        TrialRole::Baseline => TriangleMarker::new(at, size + 1, color.filled()).into_dyn(),
        TrialRole::Confirm => Circle::new(at, size, color.stroke_width(2)).into_dyn(),
    }
}

/// A range around `values` with some room, never empty.
fn padded(values: impl IntoIterator<Item = f64> + Clone) -> (f64, f64) {
    let lo = values
        .clone()
        .into_iter()
        .filter(|v| v.is_finite())
        .fold(f64::INFINITY, f64::min);
    let hi = values
        .into_iter()
        .filter(|v| v.is_finite())
        .fold(f64::NEG_INFINITY, f64::max);
    if !lo.is_finite() || !hi.is_finite() {
        return (0.0, 1.0);
    }
    let span = hi - lo;
    let pad = if span > 0.0 {
        span * 0.08
    } else {
        (hi.abs() * 0.05).max(1.0)
    };
    (lo - pad, hi + pad)
}

/// An axis label at whole numbers only (trial numbers, rounds).
fn whole(v: &f64) -> String {
    if v.fract() == 0.0 {
        figure(*v)
    } else {
        String::new()
    }
}

/// The objective of every trial, in the order measured, with the best so far.
fn trials_plot(record: &StudyRecord) -> Option<Plot> {
    let done: Vec<(f64, f64, TrialRole)> = record
        .trials
        .iter()
        .filter(|t| is_complete(t))
        .filter_map(|t| t.objective.map(|y| (f64::from(t.number), y, t.role)))
        .collect();
    if done.is_empty() {
        return None;
    }
    let missing: Vec<f64> = record
        .trials
        .iter()
        .filter(|t| !is_complete(t))
        .map(|t| f64::from(t.number))
        .collect();
    // The best so far, as steps: flat until the next trial that improved it.
    let mut best: Vec<(f64, f64)> = Vec::new();
    for t in record
        .trials
        .iter()
        .filter(|t| t.role != TrialRole::Confirm)
    {
        let Some(y) = t.best_so_far.filter(|y| y.is_finite()) else {
            continue;
        };
        let x = f64::from(t.number);
        if let Some(&(_, last)) = best.last() {
            best.push((x, last));
        }
        best.push((x, y));
    }
    let (y_lo, y_hi) = padded(
        done.iter()
            .map(|p| p.1)
            .chain(best.iter().map(|p| p.1))
            .collect::<Vec<_>>(),
    );
    let x_max = max_or(record.trials.iter().map(|t| f64::from(t.number)), 1.0) + 0.5;
    let bottom = y_lo + (y_hi - y_lo) * 0.03;
    let unit = record.objective.unit.clone();
    let svg = WIDE.svg(|root| {
        let mut chart = WIDE
            .chart(root)
            .build_cartesian_2d(-0.5..x_max, y_lo..y_hi)?;
        mesh(&mut chart)
            .x_label_formatter(&whole)
            .x_desc("trial")
            .y_desc(objective_desc(&unit))
            .draw()?;
        if !best.is_empty() {
            chart.draw_series(LineSeries::new(best.iter().copied(), PASS.stroke_width(2)))?;
        }
        for role in ROLES {
            chart.draw_series(
                done.iter()
                    .filter(|p| p.2 == role)
                    .map(|p| marker(role, (p.0, p.1), 4)),
            )?;
        }
        chart.draw_series(
            missing
                .iter()
                .map(|&x| Cross::new((x, bottom), 4, FAIL.stroke_width(2))),
        )?;
        Ok(())
    });
    let mut keys = role_keys(record);
    if !missing.is_empty() {
        keys.push(Key::new(
            "✕",
            FAIL,
            "no objective (failed, violated, abandoned)",
        ));
    }
    if !best.is_empty() {
        keys.push(Key::new("━", PASS, "best so far"));
    }
    let failed = if missing.is_empty() {
        String::new()
    } else {
        format!(
            " The {} trial{} without an objective (failed, violated a constraint or \
             abandoned) are the crosses along the bottom.",
            missing.len(),
            if missing.len() == 1 { "" } else { "s" }
        )
    };
    Some(Plot {
        id: "plot-trials".to_string(),
        title: "Objective per trial".to_string(),
        caption: format!(
            "The objective ({}) of every trial in the order measured: exploration, the \
             baseline measured between them, and the confirmation rounds; the line is the best \
             of exploration and baseline so far.{failed}",
            record.objective.description
        ),
        svg,
        keys,
    })
}

fn objective_desc(unit: &str) -> String {
    if unit.is_empty() {
        "objective".to_string()
    } else {
        format!("objective, {unit}")
    }
}

/// How a knob's values are laid along the x axis.
#[derive(Debug, Clone, PartialEq)]
enum KnobAxis {
    /// Numbers on a linear axis over this range.
    Linear(f64, f64),
    /// Positive numbers on a logarithmic axis over this range.
    Log(f64, f64),
    /// Categories, evenly spaced at 0, 1, 2, …
    Categories(Vec<String>),
}

impl KnobAxis {
    /// The axis of a knob whose trials took `values` (its default among them).
    fn of(knob: &KnobInfo, values: &[&Value]) -> KnobAxis {
        let numbers: Option<Vec<f64>> = values
            .iter()
            .map(|v| if v.is_number() { v.as_f64() } else { None })
            .collect();
        match numbers {
            Some(xs) if !xs.is_empty() => {
                let log = knob
                    .domain
                    .split(|c: char| !c.is_ascii_alphanumeric())
                    .any(|word| word.eq_ignore_ascii_case("log"));
                let lo = xs.iter().copied().fold(f64::INFINITY, f64::min);
                let hi = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                if log && lo > 0.0 {
                    let (lo, hi) = if hi > lo {
                        (lo, hi)
                    } else {
                        (lo / 2.0, hi * 2.0)
                    };
                    let room = (hi / lo).powf(0.06);
                    KnobAxis::Log(lo / room, hi * room)
                } else {
                    let (lo, hi) = padded(xs);
                    KnobAxis::Linear(lo, hi)
                }
            }
            _ => {
                // The study file's order, then any value it did not list, as met.
                let mut names: Vec<String> = knob.choices.iter().map(value).collect();
                if names.is_empty() && values.iter().all(|v| v.is_boolean()) {
                    names = vec!["false".to_string(), "true".to_string()];
                }
                for v in values {
                    let name = value(v);
                    if !names.contains(&name) {
                        names.push(name);
                    }
                }
                KnobAxis::Categories(names)
            }
        }
    }

    /// Where `v` lies on the axis; `spread` moves a category's point sideways.
    fn x(&self, v: &Value, spread: f64) -> Option<f64> {
        match self {
            KnobAxis::Linear(..) | KnobAxis::Log(..) => v.as_f64(),
            KnobAxis::Categories(names) => {
                let name = value(v);
                names
                    .iter()
                    .position(|n| *n == name)
                    .map(|i| i as f64 + spread)
            }
        }
    }
}

/// A small sideways offset for the point of trial `number`, within ±0.18 of a category.
fn spread(number: u32) -> f64 {
    (f64::from(number.wrapping_mul(7) % 9) / 8.0 - 0.5) * 0.36
}

/// The objective against one knob, for the trials that set it.
fn knob_plot<'r>(record: &'r StudyRecord, index: usize, knob: &KnobInfo) -> Option<Plot> {
    let of = |t: &'r TrialEntry| t.config.get(&knob.name);
    let done: Vec<&TrialEntry> = record
        .trials
        .iter()
        .filter(|t| is_complete(t) && of(t).is_some())
        .collect();
    if done.is_empty() {
        return None;
    }
    let best = record
        .best
        .as_ref()
        .filter(|b| !b.is_default)
        .and_then(|b| b.config.get(&knob.name))
        .filter(|v| !same(v, &knob.default));
    let values: Vec<&Value> = std::iter::once(&knob.default)
        .chain(record.trials.iter().filter_map(of))
        .chain(best)
        .collect();
    let axis = KnobAxis::of(knob, &values);
    let points: Vec<(f64, f64, TrialRole)> = done
        .iter()
        .filter_map(|t| {
            let x = axis.x(of(t)?, spread(t.number))?;
            Some((x, t.objective?, t.role))
        })
        .collect();
    let (y_lo, y_hi) = padded(points.iter().map(|p| p.1).collect::<Vec<_>>());
    let default_x = axis.x(&knob.default, 0.0);
    let best_x = best.and_then(|v| axis.x(v, 0.0));
    let view = KnobView {
        name: &knob.name,
        unit: &record.objective.unit,
        points: &points,
        default_x,
        best_x,
        y: (y_lo, y_hi),
    };
    let svg = KNOB.svg(|root| {
        let mut builder = KNOB.chart(root);
        match &axis {
            KnobAxis::Linear(lo, hi) => {
                let mut chart = builder.build_cartesian_2d(*lo..*hi, y_lo..y_hi)?;
                view.draw(&mut chart, &tick, 6)
            }
            KnobAxis::Log(lo, hi) => {
                // Powers of two read best for the usual sizes (1, 2, 4, … 32 workers).
                let base = if hi / lo <= 1024.0 { 2.0 } else { 10.0 };
                let mut chart =
                    builder.build_cartesian_2d((*lo..*hi).log_scale().base(base), y_lo..y_hi)?;
                view.draw(&mut chart, &tick, 6)
            }
            KnobAxis::Categories(names) => {
                let mut chart =
                    builder.build_cartesian_2d(-0.5..(names.len() as f64 - 0.5), y_lo..y_hi)?;
                let label = |v: &f64| category(names, *v);
                view.draw(&mut chart, &label, names.len())
            }
        }
    });
    let scale = match &axis {
        KnobAxis::Linear(..) => "linear axis",
        KnobAxis::Log(..) => "logarithmic axis",
        KnobAxis::Categories(_) => "categories",
    };
    let best_note = if best_x.is_some() {
        " and the conclusion's value (green)"
    } else {
        ""
    };
    Some(Plot {
        id: format!("plot-knob-{index}"),
        title: format!("Objective against {}", knob.name),
        caption: format!(
            "{} ({}; {scale}): the objective of the {} complete trials that set it; \
             dashed: the default (grey){best_note}.",
            knob.name,
            knob.domain,
            points.len()
        ),
        svg,
        keys: vec![],
    })
}

/// The name of the category at `x`, at whole numbers only.
fn category(names: &[String], x: f64) -> String {
    if x.fract() != 0.0 || x < 0.0 {
        return String::new();
    }
    names.get(x as usize).cloned().unwrap_or_default()
}

/// What a knob's plot shows, whatever its x axis.
struct KnobView<'a> {
    name: &'a str,
    unit: &'a str,
    /// Where each complete trial lies, its objective and its role.
    points: &'a [(f64, f64, TrialRole)],
    /// Where the default and the conclusion's value lie.
    default_x: Option<f64>,
    best_x: Option<f64>,
    /// The objective's range.
    y: (f64, f64),
}

impl KnobView<'_> {
    /// Draws the axes (`x_labels` labels made by `x_label`), the guides and the points.
    fn draw<XR>(
        &self,
        chart: &mut ChartContext<'_, SVGBackend<'_>, Cartesian2d<XR, RangedCoordf64>>,
        x_label: &dyn Fn(&f64) -> String,
        x_labels: usize,
    ) -> Fallible<()>
    where
        XR: Ranged<ValueType = f64> + ValueFormatter<f64>,
    {
        mesh(chart)
            .x_label_formatter(x_label)
            .x_labels(x_labels)
            .y_labels(6)
            .x_desc(self.name)
            .y_desc(objective_desc(self.unit))
            .draw()?;
        for (x, color) in [(self.default_x, MUTED), (self.best_x, PASS)] {
            if let Some(x) = x {
                chart.draw_series(DashedLineSeries::new(
                    [(x, self.y.0), (x, self.y.1)],
                    5,
                    4,
                    color.stroke_width(1),
                ))?;
            }
        }
        chart.draw_series(self.points.iter().map(|p| marker(p.2, (p.0, p.1), 3)))?;
        Ok(())
    }
}

/// Each finalist and the baseline, round by round.
fn rounds_plot(record: &StudyRecord) -> Option<Plot> {
    // The baseline of each round: the mean of its complete baseline trials.
    let mut baseline: BTreeMap<u32, (f64, usize)> = BTreeMap::new();
    for t in &record.trials {
        if let (TrialRole::Baseline, Some(r), true) = (t.role, t.round, is_complete(t)) {
            if let Some(y) = t.objective {
                let e = baseline.entry(r).or_insert((0.0, 0));
                e.0 += y;
                e.1 += 1;
            }
        }
    }
    let baseline: Vec<(f64, f64)> = baseline
        .into_iter()
        .map(|(r, (sum, n))| (f64::from(r) + 1.0, sum / n as f64))
        .collect();
    let finalists: Vec<Vec<(f64, f64)>> = record
        .finalists
        .iter()
        .map(|f| {
            f.rounds
                .iter()
                .enumerate()
                .filter_map(|(r, v)| v.filter(|v| v.is_finite()).map(|v| (r as f64 + 1.0, v)))
                .collect()
        })
        .collect();
    if finalists.iter().all(Vec::is_empty) {
        return None;
    }
    let rounds = finalists
        .iter()
        .flatten()
        .chain(&baseline)
        .map(|p| p.0)
        .fold(1.0, f64::max);
    let (y_lo, y_hi) = padded(
        finalists
            .iter()
            .flatten()
            .chain(&baseline)
            .map(|p| p.1)
            .collect::<Vec<_>>(),
    );
    const COLORS: [RGBColor; 4] = [BLUE_LINE, PURPLE_LINE, PASS, ORANGE_LINE];
    let unit = record.objective.unit.clone();
    let svg = WIDE.svg(|root| {
        let mut chart = WIDE
            .chart(root)
            .build_cartesian_2d(0.5..(rounds + 0.5), y_lo..y_hi)?;
        mesh(&mut chart)
            .x_label_formatter(&whole)
            .x_labels(rounds as usize)
            .x_desc("confirmation round")
            .y_desc(objective_desc(&unit))
            .draw()?;
        chart.draw_series(DashedLineSeries::new(
            baseline.iter().copied(),
            6,
            4,
            MUTED.stroke_width(2),
        ))?;
        chart.draw_series(
            baseline
                .iter()
                .map(|&p| TriangleMarker::new(p, 5, MUTED.filled())),
        )?;
        for (i, points) in finalists.iter().enumerate() {
            let color = COLORS[i % COLORS.len()];
            chart.draw_series(LineSeries::new(
                points.iter().copied(),
                color.stroke_width(2),
            ))?;
            chart.draw_series(points.iter().map(|&p| Circle::new(p, 4, color.filled())))?;
        }
        Ok(())
    });
    let mut keys = Vec::new();
    if !baseline.is_empty() {
        keys.push(Key::new("▲", MUTED, "baseline (the defaults)"));
    }
    for (i, f) in record.finalists.iter().enumerate() {
        keys.push(Key::new(
            "━",
            COLORS[i % COLORS.len()],
            format!("finalist {}: {}", i + 1, gain(f.gain.as_ref())),
        ));
    }
    Some(Plot {
        id: "plot-rounds".to_string(),
        title: "Confirmation rounds".to_string(),
        caption: "Each finalist and the baseline re-measured together, round by round; the \
                  legend gives each finalist's gain over the baseline of the same rounds with \
                  its 95 % interval."
            .to_string(),
        svg,
        keys,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn knob(domain: &str) -> KnobInfo {
        KnobInfo {
            name: "k".to_string(),
            domain: domain.to_string(),
            default: json!(4),
            choices: vec![],
        }
    }

    #[test]
    fn a_knob_axis_follows_its_domain_and_values() {
        let (four, sixteen, lru, yes, no) =
            (json!(4), json!(16), json!("lru"), json!(true), json!(false));
        assert!(matches!(
            KnobAxis::of(&knob("int 1..32, log"), &[&four, &sixteen]),
            KnobAxis::Log(lo, hi) if lo < 4.0 && hi > 16.0
        ));
        assert!(matches!(
            KnobAxis::of(&knob("int 1..32"), &[&four, &sixteen]),
            KnobAxis::Linear(lo, hi) if lo < 4.0 && hi > 16.0
        ));
        // `login` is not `log`.
        assert!(matches!(
            KnobAxis::of(&knob("int 1..32 (login slots)"), &[&four]),
            KnobAxis::Linear(..)
        ));
        assert_eq!(
            KnobAxis::of(&knob("bool"), &[&yes]),
            KnobAxis::Categories(vec!["false".to_string(), "true".to_string()])
        );
        let axis = KnobAxis::of(&knob("one of lru, 4"), &[&lru, &four, &no]);
        assert_eq!(
            axis,
            KnobAxis::Categories(vec![
                "lru".to_string(),
                "4".to_string(),
                "false".to_string()
            ])
        );
        assert_eq!(axis.x(&four, 0.1), Some(1.1));
        assert_eq!(axis.x(&json!("other"), 0.0), None);
    }

    #[test]
    fn categories_keep_the_study_files_order() {
        // Met in the order lru, none (the default first), listed as none, small, lru.
        let cache = KnobInfo {
            name: "cache".to_string(),
            domain: "one of none, small, lru".to_string(),
            default: json!("lru"),
            choices: vec![json!("none"), json!("small"), json!("lru")],
        };
        let (lru, none) = (json!("lru"), json!("none"));
        assert_eq!(
            KnobAxis::of(&cache, &[&lru, &none, &lru]),
            KnobAxis::Categories(vec![
                "none".to_string(),
                "small".to_string(),
                "lru".to_string()
            ])
        );
    }

    #[test]
    fn spread_stays_within_its_category() {
        for n in 0..100 {
            assert!(spread(n).abs() <= 0.18 + 1e-12, "{n}");
        }
        assert_ne!(spread(1), spread(2));
    }
}
