//! The figures the study reports show, taken from the record the same way for the text and
//! the HTML: knob values and configurations written compactly, objectives in their unit,
//! gains with their 95 % interval, the before/after rows of the conclusion, the trials'
//! roles and states. A figure that was not measured is `None` and shows as [`DASH`].
//!
//! Confirmation rounds are numbered from 1 for the reader (`C1` is the first round); the
//! record numbers them from 0.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::export::figures::{DASH, elapsed, figure};
use crate::study::{
    Best, Direction, Finalist, Gain, KnobInfo, StudyEnding, StudyRecord, TrialEntry, TrialRole,
};

/// A knob value for a person: strings unquoted, numbers without needless digits.
pub(super) fn value(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => i.to_string(),
            (None, Some(u), _) => u.to_string(),
            (None, None, Some(f)) => figure(f),
            (None, None, None) => n.to_string(),
        },
        Value::Bool(b) => b.to_string(),
        Value::Null => "null".to_string(),
        other => other.to_string(),
    }
}

/// Whether two knob values are the same value (`4` and `4.0` are).
pub(super) fn same(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

/// The knobs of `config` in the study's order (its knobs, then any other name), each with
/// its value.
pub(super) fn settings<'a>(
    knobs: &'a [KnobInfo],
    config: &'a BTreeMap<String, Value>,
) -> Vec<(&'a str, &'a Value)> {
    let mut list: Vec<(&str, &Value)> = knobs
        .iter()
        .filter_map(|k| config.get(&k.name).map(|v| (k.name.as_str(), v)))
        .collect();
    list.extend(
        config
            .iter()
            .filter(|(name, _)| !knobs.iter().any(|k| &k.name == *name))
            .map(|(name, v)| (name.as_str(), v)),
    );
    list
}

/// A configuration on one line: `workers=4 batch=200`; `(none)` when it is empty.
pub(super) fn config(knobs: &[KnobInfo], config: &BTreeMap<String, Value>) -> String {
    let parts: Vec<String> = settings(knobs, config)
        .into_iter()
        .map(|(name, v)| format!("{name}={}", value(v)))
        .collect();
    if parts.is_empty() {
        "(none)".to_string()
    } else {
        parts.join(" ")
    }
}

/// Whether `config` sets every knob to its default and nothing else.
pub(super) fn is_defaults(knobs: &[KnobInfo], config: &BTreeMap<String, Value>) -> bool {
    config.len() == knobs.len()
        && knobs
            .iter()
            .all(|k| config.get(&k.name).is_some_and(|v| same(v, &k.default)))
}

/// A configuration on one line, or `(defaults)` when it is the baseline's.
pub(super) fn config_short(knobs: &[KnobInfo], map: &BTreeMap<String, Value>) -> String {
    if is_defaults(knobs, map) {
        "(defaults)".to_string()
    } else {
        config(knobs, map)
    }
}

/// The knobs the conclusion changes, each as `name default → value`.
pub(super) fn changes(knobs: &[KnobInfo], best: &Best) -> Vec<String> {
    best.changed
        .iter()
        .map(|name| {
            let from = knobs
                .iter()
                .find(|k| &k.name == name)
                .map_or_else(|| DASH.to_string(), |k| value(&k.default));
            let to = best
                .config
                .get(name)
                .map_or_else(|| DASH.to_string(), value);
            format!("{name} {from} → {to}")
        })
        .collect()
}

/// An objective value in the study's unit: requests per second with one decimal,
/// milliseconds with two, anything else with about four significant digits.
pub(super) fn objective(v: Option<f64>, unit: &str) -> String {
    match v {
        Some(v) if v.is_finite() => match unit {
            "req/s" => format!("{v:.1}"),
            "ms" => format!("{v:.2}"),
            _ => figure(v),
        },
        _ => DASH.to_string(),
    }
}

/// An objective value followed by its unit: `2398.7 req/s`.
pub(super) fn objective_with_unit(v: Option<f64>, unit: &str) -> String {
    let figure = objective(v, unit);
    if figure == DASH || unit.is_empty() {
        figure
    } else {
        format!("{figure} {unit}")
    }
}

/// A percentage with its sign and one decimal: `+12.3`, `-4.0`.
pub(super) fn signed(v: f64) -> String {
    if v.is_finite() {
        format!("{v:+.1}")
    } else {
        DASH.to_string()
    }
}

/// A gain with its 95 % interval: `+12.3 % [+5.1, +19.9]`; `n/a` when nothing was paired.
pub(super) fn gain(g: Option<&Gain>) -> String {
    let Some(g) = g else {
        return "n/a".to_string();
    };
    match (g.ci95_low_pct, g.ci95_high_pct) {
        (Some(low), Some(high)) => {
            format!(
                "{} % [{}, {}]",
                signed(g.percent),
                signed(low),
                signed(high)
            )
        }
        _ => format!("{} % [CI n/a]", signed(g.percent)),
    }
}

/// How a gain was measured, for a person: `3 paired rounds, log_ratio`.
pub(super) fn gain_basis(g: &Gain) -> String {
    let rounds = if g.pairs == 1 { "round" } else { "rounds" };
    format!("{} paired {rounds}, {}", g.pairs, g.method)
}

/// Whether a gain is significant, as words.
pub(super) fn significance(g: &Gain) -> &'static str {
    if g.significant {
        "significant"
    } else {
        "not significant"
    }
}

/// The finalist whose configuration is the runner-up of a conclusion that kept the
/// defaults.
pub(super) fn runner_up<'a>(record: &'a StudyRecord, best: &Best) -> Option<&'a Finalist> {
    let config = best.runner_up.as_ref()?;
    record.finalists.iter().find(|f| &f.config == config)
}

/// The short tag of a trial's role: `E` explore, `B` baseline, `C2` a finalist of the
/// second confirmation round, `B2` the baseline of that round.
pub(super) fn role_tag(t: &TrialEntry) -> String {
    let letter = match t.role {
        TrialRole::Explore => return "E".to_string(),
        TrialRole::Baseline => 'B',
        TrialRole::Confirm => 'C',
    };
    match t.round {
        Some(r) => format!("{letter}{}", u64::from(r) + 1),
        None => letter.to_string(),
    }
}

/// The role's name.
pub(super) fn role_name(role: TrialRole) -> &'static str {
    match role {
        TrialRole::Explore => "explore",
        TrialRole::Baseline => "baseline",
        TrialRole::Confirm => "confirm",
    }
}

/// Whether a trial measured an objective.
pub(super) fn is_complete(t: &TrialEntry) -> bool {
    t.state == "complete" && t.objective.is_some_and(f64::is_finite)
}

/// A trial's state, with its reason when it did not complete: `failed: exit status 1`.
pub(super) fn state(t: &TrialEntry) -> String {
    match &t.reason {
        Some(reason) if !reason.is_empty() => format!("{}: {reason}", t.state),
        _ => t.state.clone(),
    }
}

/// How many trials ran, by role and by state: `28 run: 12 explore, 4 baseline, 12 confirm`,
/// `25 complete, 2 failed, 1 violated`.
pub(super) fn trial_counts(r: &StudyRecord) -> Vec<String> {
    let trials = &r.trials;
    let roles: Vec<String> = [TrialRole::Explore, TrialRole::Baseline, TrialRole::Confirm]
        .into_iter()
        .map(|role| (role, trials.iter().filter(|t| t.role == role).count()))
        .filter(|(_, n)| *n > 0)
        .map(|(role, n)| format!("{n} {}", role_name(role)))
        .collect();
    let mut states: Vec<(&str, usize)> = Vec::new();
    for t in trials {
        match states.iter_mut().find(|(s, _)| *s == t.state) {
            Some((_, n)) => *n += 1,
            None => states.push((&t.state, 1)),
        }
    }
    const ORDER: [&str; 4] = ["complete", "failed", "violated", "abandoned"];
    states.sort_by_key(|(s, _)| ORDER.iter().position(|o| o == s).unwrap_or(ORDER.len()));
    let states: Vec<String> = states.iter().map(|(s, n)| format!("{n} {s}")).collect();
    let mut run = format!("{} run", trials.len());
    if !roles.is_empty() {
        run.push_str(&format!(": {}", roles.join(", ")));
    }
    let mut parts = vec![run];
    if !states.is_empty() {
        parts.push(states.join(", "));
    }
    parts
}

/// The ending's name, as the record writes it.
pub(super) fn ending_name(e: StudyEnding) -> &'static str {
    match e {
        StudyEnding::Trials => "trials",
        StudyEnding::Time => "time",
        StudyEnding::Exhausted => "exhausted",
        StudyEnding::Interrupted => "interrupted",
        StudyEnding::AllFailed => "all_failed",
    }
}

/// Why the study ended, as a phrase.
pub(super) fn ending_reason(e: StudyEnding) -> &'static str {
    match e {
        StudyEnding::Trials => "every trial of the budget ran",
        StudyEnding::Time => "the time budget ran out",
        StudyEnding::Exhausted => "the grid had no configuration left",
        StudyEnding::Interrupted => "stopped by the user; it can be resumed",
        StudyEnding::AllFailed => "every trial failed",
    }
}

/// Which way is better, as a phrase.
pub(super) fn better(d: Direction) -> &'static str {
    match d {
        Direction::Maximize => "higher is better",
        Direction::Minimize => "lower is better",
    }
}

/// The budget, as phrases: `40 trials`, `at most 30 min`, `3 finalists × 3 rounds`.
pub(super) fn budget(r: &StudyRecord) -> Vec<String> {
    let b = &r.budget;
    let mut parts = Vec::new();
    parts.push(match b.trials {
        Some(n) => format!("{n} trials"),
        None => "no trial limit".to_string(),
    });
    parts.push(match b.time_s {
        Some(s) => format!("at most {}", elapsed(s)),
        None => "no time limit".to_string(),
    });
    parts.push(format!(
        "{} finalist{} × {} confirmation round{}",
        b.finalists,
        if b.finalists == 1 { "" } else { "s" },
        b.confirm_rounds,
        if b.confirm_rounds == 1 { "" } else { "s" }
    ));
    parts
}

/// Whether the before/after table says anything: not when the defaults stand and both
/// sides are the baseline's figures.
pub(super) fn shows_before_after(best: &Best) -> bool {
    !(best.is_default && best.before == best.after)
}

/// One row of the before/after table.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct MetricRow {
    /// What it is, with its unit: `p99, ms`.
    pub label: String,
    /// The baseline's figure, in the row's unit.
    pub before: Option<f64>,
    /// The conclusion's figure.
    pub after: Option<f64>,
    /// Decimals to show.
    pub decimals: usize,
}

impl MetricRow {
    /// The change from before to after, percent of before; `None` when either is missing
    /// or before is 0 and after is not.
    pub(super) fn change_pct(&self) -> Option<f64> {
        let (before, after) = (self.before?, self.after?);
        if before == 0.0 {
            return (after == 0.0).then_some(0.0);
        }
        Some((after / before - 1.0) * 100.0)
    }

    /// The change as text: `+12.3 %`, or [`DASH`].
    pub(super) fn change(&self) -> String {
        self.change_pct()
            .map_or_else(|| DASH.to_string(), |c| format!("{} %", signed(c)))
    }

    /// A figure of the row.
    pub(super) fn show(&self, v: Option<f64>) -> String {
        match v {
            Some(v) if v.is_finite() => format!("{v:.prec$}", prec = self.decimals),
            _ => DASH.to_string(),
        }
    }
}

/// The metrics a trial records, in the table's order: key, label, scale, decimals.
const METRICS: [(&str, &str, f64, usize); 7] = [
    ("throughput", "throughput, req/s", 1.0, 1),
    ("p50", "p50, ms", 1.0, 2),
    ("p90", "p90, ms", 1.0, 2),
    ("p99", "p99, ms", 1.0, 2),
    ("error_rate", "error rate, %", 100.0, 2),
    ("cpu", "CPU, cores", 1.0, 2),
    ("rss_mb", "RSS, MiB", 1.0, 1),
];

/// The before/after rows of a conclusion: the known metrics in their order, then any other
/// metric by name; a metric neither side has is left out.
pub(super) fn before_after(best: &Best) -> Vec<MetricRow> {
    let mut rows: Vec<MetricRow> = METRICS
        .iter()
        .filter(|(key, ..)| best.before.contains_key(*key) || best.after.contains_key(*key))
        .map(|&(key, label, scale, decimals)| MetricRow {
            label: label.to_string(),
            before: best.before.get(key).map(|v| v * scale),
            after: best.after.get(key).map(|v| v * scale),
            decimals,
        })
        .collect();
    let mut others: Vec<&String> = best
        .before
        .keys()
        .chain(best.after.keys())
        .filter(|k| !METRICS.iter().any(|m| m.0 == k.as_str()))
        .collect();
    others.sort();
    others.dedup();
    rows.extend(others.into_iter().map(|key| MetricRow {
        label: key.clone(),
        before: best.before.get(key).copied(),
        after: best.after.get(key).copied(),
        decimals: 2,
    }));
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn knobs() -> Vec<KnobInfo> {
        vec![
            KnobInfo {
                name: "workers".to_string(),
                domain: "int 1..32, log".to_string(),
                default: json!(4),
                choices: vec![],
            },
            KnobInfo {
                name: "cache".to_string(),
                domain: "one of none, lru".to_string(),
                default: json!("none"),
                choices: vec![json!("none"), json!("lru")],
            },
        ]
    }

    #[test]
    fn configurations_follow_the_knob_order() {
        let map = BTreeMap::from([
            ("workers".to_string(), json!(8)),
            ("cache".to_string(), json!("lru")),
            ("extra".to_string(), json!(0.25)),
        ]);
        assert_eq!(config(&knobs(), &map), "workers=8 cache=lru extra=0.25");
        assert_eq!(config(&knobs(), &BTreeMap::new()), "(none)");
        let defaults = BTreeMap::from([
            ("workers".to_string(), json!(4.0)),
            ("cache".to_string(), json!("none")),
        ]);
        assert!(is_defaults(&knobs(), &defaults));
        assert_eq!(config_short(&knobs(), &defaults), "(defaults)");
        assert!(!is_defaults(&knobs(), &map));
        assert_eq!(value(&json!(true)), "true");
        assert_eq!(value(&json!(0.123456)), "0.1235");
    }

    #[test]
    fn gains_show_their_interval() {
        let mut g = Gain {
            method: "log_ratio".to_string(),
            pairs: 3,
            percent: 12.34,
            ci95_low_pct: Some(5.08),
            ci95_high_pct: Some(19.91),
            significant: true,
        };
        assert_eq!(gain(Some(&g)), "+12.3 % [+5.1, +19.9]");
        assert_eq!(gain_basis(&g), "3 paired rounds, log_ratio");
        g.ci95_low_pct = None;
        assert_eq!(gain(Some(&g)), "+12.3 % [CI n/a]");
        assert_eq!(gain(None), "n/a");
        assert_eq!(signed(-4.04), "-4.0");
    }

    #[test]
    fn objectives_read_in_their_unit() {
        assert_eq!(objective(Some(2398.71), "req/s"), "2398.7");
        assert_eq!(objective(Some(12.3456), "ms"), "12.35");
        assert_eq!(objective(Some(-1234.56), "score"), "-1235");
        assert_eq!(objective(None, "req/s"), DASH);
        assert_eq!(objective_with_unit(Some(2.0), "ms"), "2.00 ms");
    }

    #[test]
    fn before_after_rows_scale_and_compare() {
        let best = Best {
            config: BTreeMap::new(),
            is_default: false,
            changed: vec![],
            objective: 1.0,
            baseline_objective: None,
            gain: None,
            before: BTreeMap::from([
                ("throughput".to_string(), 2000.0),
                ("error_rate".to_string(), 0.0),
                ("queue".to_string(), 3.0),
            ]),
            after: BTreeMap::from([
                ("throughput".to_string(), 2400.0),
                ("error_rate".to_string(), 0.001),
            ]),
            runner_up: None,
        };
        let rows = before_after(&best);
        let labels: Vec<&str> = rows.iter().map(|r| r.label.as_str()).collect();
        assert_eq!(labels, ["throughput, req/s", "error rate, %", "queue"]);
        assert_eq!(rows[0].change(), "+20.0 %");
        assert_eq!(rows[1].show(rows[1].after), "0.10");
        assert_eq!(rows[1].change(), DASH);
        assert_eq!(rows[2].change(), DASH);
    }
}
