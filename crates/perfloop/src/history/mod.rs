//! The history of results: saving them ([`save`]), naming saved runs ([`reference`]), and
//! the commands that read them back: `perfloop history` (here), `perfloop show`
//! ([`show`]) and `perfloop diagnose` ([`diagnose`]).
//!
//! `perfloop history` lists the saved runs newest first, filtered by target, tags, time and
//! kind: when (UTC), kind, target, the headline figures, a sparkline of the chosen metric
//! over the run's own course ([`spark`]), tags and commit; `--changes` marks the runs after
//! which the metric shifted ([`changes`]); `--json` writes the same as an array.

pub mod changes;
pub mod diagnose;
pub mod reference;
pub mod save;
pub mod show;
pub mod spark;
pub mod when;

use std::time::SystemTime;

use anyhow::anyhow;
use perfloop_report::headline::{self, Headline, HeadlineMetric};
use perfloop_store::{RunEntry, RunFilter, RunKind, Store};
use serde_json::{Value, json};

use self::changes::{Changes, Shift};
use crate::cli::{HistoryArgs, HistoryMetric, KindArg};
use crate::{Exit, Failure};

/// The widest a target is shown in the table; longer ones are cut in the middle.
const TARGET_WIDTH: usize = 28;

/// Runs `perfloop history`.
///
/// Exit codes: 0 (an empty store or no match included: a sentence says so); 2 bad filters
/// or a store that cannot be opened; 3 a store that cannot be read.
pub fn run(args: &HistoryArgs) -> Result<Exit, Failure> {
    let tags = save::parse_tags(&args.tags)?;
    let since = args
        .since
        .as_deref()
        .map(|t| when::parse_since(t, SystemTime::now()))
        .transpose()?;
    let metric = headline_metric(args.metric);
    let Some(store) = save::open_store_to_read(args.store.as_deref())? else {
        let location = args.store.as_deref().map_or_else(
            perfloop_store::Location::default,
            perfloop_store::Location::parse,
        );
        crate::output::stdout_text(&if args.json {
            "[]\n".to_owned()
        } else {
            nothing_saved(&location)
        });
        return Ok(Exit::Ok);
    };
    let filter = RunFilter {
        target: args.target.clone(),
        tags,
        since,
        kind: args.kind.map(run_kind),
        limit: None,
    };
    let read = |e| Failure::run(anyhow!("cannot read the history store: {e}"));
    let matching = store.history(&filter).map_err(read)?;
    let changes = args.changes.then(|| changes::detect(&matching, metric));
    let shown: Vec<&RunEntry> = matching.iter().take(args.limit).collect();
    let rows: Vec<Row<'_>> = shown
        .iter()
        .map(|entry| Row::of(&store, entry, metric))
        .collect();
    let out = if args.json {
        render_json(&rows, changes.as_ref(), metric)
    } else if rows.is_empty() {
        empty(&store).map_err(read)?
    } else {
        render_table(&rows, changes.as_ref(), metric, matching.len())
    };
    crate::output::stdout_text(&out);
    Ok(Exit::Ok)
}

/// The kind of run a `--kind` names.
pub fn run_kind(kind: KindArg) -> RunKind {
    match kind {
        KindArg::Load => RunKind::Load,
        KindArg::Capacity => RunKind::Capacity,
        KindArg::Bench => RunKind::Bench,
        KindArg::Study => RunKind::Study,
    }
}

/// The headline metric a `--metric` names.
pub fn headline_metric(metric: HistoryMetric) -> HeadlineMetric {
    match metric {
        HistoryMetric::Throughput => HeadlineMetric::Throughput,
        HistoryMetric::P50 => HeadlineMetric::P50,
        HistoryMetric::P90 => HeadlineMetric::P90,
        HistoryMetric::P99 => HeadlineMetric::P99,
        HistoryMetric::P999 => HeadlineMetric::P999,
        HistoryMetric::ErrorRate => HeadlineMetric::ErrorRate,
        HistoryMetric::CpuPerRequest => HeadlineMetric::CpuPerRequest,
        HistoryMetric::Rss => HeadlineMetric::Rss,
    }
}

/// One listed run: its entry, headline and sparkline.
struct Row<'a> {
    entry: &'a RunEntry,
    headline: Headline,
    spark: String,
}

impl<'a> Row<'a> {
    /// A run's row; a headline or record that cannot be read leaves its figures empty.
    fn of(store: &Store, entry: &'a RunEntry, metric: HeadlineMetric) -> Row<'a> {
        let headline = serde_json::from_str(&entry.metrics_json).unwrap_or_default();
        let spark = reference::load_record(store, entry)
            .map(|record| spark::sparkline(&headline::series(&record, metric)))
            .unwrap_or_default();
        Row {
            entry,
            headline,
            spark,
        }
    }
}

/// What an empty listing says: how to fill the store, or that nothing matched.
fn empty(store: &Store) -> Result<String, perfloop_store::StoreError> {
    let location = store.location();
    let all = store.history(&RunFilter {
        limit: Some(1),
        ..RunFilter::default()
    })?;
    if all.is_empty() {
        Ok(nothing_saved(location))
    } else {
        Ok(format!(
            "No saved run in {location} matches these filters; `perfloop history` without \
             them lists every run.\n"
        ))
    }
}

/// How to fill an empty store.
fn nothing_saved(location: &perfloop_store::Location) -> String {
    format!(
        "No runs saved in {location} yet. perfloop load, capacity, bench-cmd and tune save \
         each result there (--tag KEY=VALUE labels it, --no-save skips it), e.g.\n  \
         perfloop load http://127.0.0.1:8080/ -d 10s --tag branch=main\n"
    )
}

/// The table, newest first, with the shifts under the runs that start them.
fn render_table(
    rows: &[Row<'_>],
    changes: Option<&Changes>,
    metric: HeadlineMetric,
    matching: usize,
) -> String {
    let id_width = rows
        .iter()
        .map(|r| r.entry.id.to_string().len())
        .max()
        .unwrap_or(2)
        .max(2);
    let target_width = rows
        .iter()
        .map(|r| shorten(&r.entry.target).chars().count())
        .max()
        .unwrap_or(6)
        .max(6);
    let spark_title = metric.name().to_owned();
    let spark_width = spark_title.chars().count().max(spark::WIDTH);
    let mut out = format!(
        "{:>id_width$}  {:16}  {:8}  {:target_width$}  {:>9}  {:>8}  {:>8}  {:>7}  {:spark_width$}  {}\n",
        "id",
        "when (UTC)",
        "kind",
        "target",
        "req/s",
        "p50",
        "p99",
        "errors",
        spark_title,
        "tags / commit"
    );
    for row in rows {
        let e = row.entry;
        let h = &row.headline;
        let mut labels: Vec<String> = e.tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
        if let Some(commit) = &e.git_commit {
            labels.push(format!("@{}", commit.get(..7).unwrap_or(commit)));
        }
        out.push_str(&format!(
            "{:>id_width$}  {:16}  {:8}  {:target_width$}  {:>9}  {:>8}  {:>8}  {:>7}  {}  {}\n",
            e.id.get(),
            perfloop_store::when::minute_utc(e.started_at),
            e.kind.as_str(),
            shorten(&e.target),
            HeadlineMetric::Throughput.show(h.throughput_rps),
            HeadlineMetric::P50.show(h.p50_ms),
            HeadlineMetric::P99.show(h.p99_ms),
            HeadlineMetric::ErrorRate.show(h.error_rate),
            pad(&row.spark, spark_width),
            labels.join(" "),
        ));
        if let Some(shift) = changes.and_then(|c| c.shifts.get(&e.id.get())) {
            out.push_str(&format!(
                "{:id_width$}  ↳ {} shifted here: {}\n",
                "",
                metric.name(),
                describe_shift(shift, metric)
            ));
        }
    }
    if matching > rows.len() {
        out.push_str(&format!(
            "\n{} of {matching} matching runs shown, the newest; --limit shows more.\n",
            rows.len()
        ));
    }
    if let Some(changes) = changes {
        out.push('\n');
        let marked = changes.shifts.len();
        let at: Vec<String> = changes
            .shifts
            .keys()
            .map(|id| format!("run {id}"))
            .collect();
        let where_ = if at.is_empty() {
            String::new()
        } else {
            format!(", starting at {}", at.join(", "))
        };
        out.push_str(&format!(
            "{marked} shift{} of {}{where_}.\n(E-divisive means with a t-test, p < 0.001, \
             segments of 5 runs or more;\n the runs of each target and kind, oldest first.)\n",
            if marked == 1 { "" } else { "s" },
            metric.name()
        ));
        for note in &changes.notes {
            out.push_str(&format!("  {note}\n"));
        }
    }
    out
}

/// `12.3 → 15.1 ms (+22.8 %), p = 1.2e-5`.
fn describe_shift(shift: &Shift, metric: HeadlineMetric) -> String {
    let change = shift
        .change
        .map_or_else(String::new, |c| format!(" ({:+.1} %)", c * 100.0));
    format!(
        "{} → {}{change}, p = {:.1e}",
        metric.show(Some(shift.before)),
        metric.show(Some(shift.after)),
        shift.p_value
    )
}

/// A target within [`TARGET_WIDTH`]: the scheme left out, the middle cut.
fn shorten(target: &str) -> String {
    let t = target
        .strip_prefix("http://")
        .or_else(|| target.strip_prefix("https://"))
        .unwrap_or(target);
    let chars: Vec<char> = t.chars().collect();
    if chars.len() <= TARGET_WIDTH {
        return t.to_owned();
    }
    let head = TARGET_WIDTH / 2;
    let tail = TARGET_WIDTH - head - 1;
    let mut out: String = chars[..head].iter().collect();
    out.push('…');
    out.extend(&chars[chars.len() - tail..]);
    out
}

/// `text` padded with spaces to `width` characters.
fn pad(text: &str, width: usize) -> String {
    let n = text.chars().count();
    format!("{text}{}", " ".repeat(width.saturating_sub(n)))
}

/// The rows as a JSON array, newest first.
fn render_json(rows: &[Row<'_>], changes: Option<&Changes>, metric: HeadlineMetric) -> String {
    let items: Vec<Value> = rows
        .iter()
        .map(|row| {
            let e = row.entry;
            let headline = serde_json::to_value(&row.headline).unwrap_or(Value::Null);
            let mut item = e.to_json(headline);
            if let Some(changes) = changes {
                item["change"] = changes.shifts.get(&e.id.get()).map_or(Value::Null, |s| {
                    json!({"metric": metric.name(), "before": s.before, "after": s.after,
                               "change": s.change, "p_value": s.p_value})
                });
            }
            item
        })
        .collect();
    let mut text = serde_json::to_string_pretty(&items).unwrap_or_else(|_| "[]".to_owned());
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_targets_are_cut_in_the_middle() {
        assert_eq!(shorten("http://127.0.0.1:8080/"), "127.0.0.1:8080/");
        let long = shorten("http://very-long-host-name.example.com:8080/api/v1/items?x=1");
        assert_eq!(long.chars().count(), TARGET_WIDTH);
        assert!(
            long.starts_with("very-long-host") && long.ends_with("items?x=1"),
            "{long}"
        );
    }
}
