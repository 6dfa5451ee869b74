//! Naming saved runs: a [`RunRef`] as typed (`12`, `latest`, `tag:KEY=VALUE`, `last:N`), the
//! runs it names in a store ([`resolve`]), and a saved run's record read back
//! ([`load_record`], read by perfloop-report's [`StoredRecord::parse`]).
//!
//! A reference that names nothing is bad input (exit 2) whose message says what was asked
//! and what the store holds instead: the range of run ids, the tag values present, the kinds
//! of runs saved.

use std::collections::BTreeMap;
use std::fmt;

use anyhow::anyhow;
use perfloop_report::StoredRecord;
use perfloop_store::{RunEntry, RunFilter, RunId, RunKind, Store};

use crate::Failure;

/// The forms a run reference takes, for the error messages.
pub const FORMS: &str = "a run id (12), 'latest', 'tag:KEY=VALUE' (the newest run with that tag) or 'last:N' \
     (the last N runs)";

/// How many tag values an error message lists at most.
const LISTED: usize = 12;

/// A saved run (or several), as named on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunRef {
    /// The run with this id.
    Id(i64),
    /// The newest run.
    Latest,
    /// The newest run with this tag (key, value).
    Tag(String, String),
    /// The newest N runs, oldest first.
    Last(usize),
}

impl RunRef {
    /// Reads a reference: `12`, `latest`, `tag:KEY=VALUE`, `last:N` (N ≥ 1); anything else
    /// is bad input naming the text and the forms.
    pub fn parse(text: &str) -> Result<RunRef, Failure> {
        let t = text.trim();
        let bad = |why: &str| Failure::usage(anyhow!("run '{text}': {why}; expected {FORMS}"));
        if t.eq_ignore_ascii_case("latest") {
            return Ok(RunRef::Latest);
        }
        if let Some(rest) = t.strip_prefix("tag:") {
            let Some((key, value)) = rest.split_once('=') else {
                return Err(bad("a tag is KEY=VALUE"));
            };
            if key.trim().is_empty() {
                return Err(bad("the tag's key is empty"));
            }
            return Ok(RunRef::Tag(key.trim().to_owned(), value.to_owned()));
        }
        if let Some(rest) = t.strip_prefix("last:") {
            return match rest.trim().parse::<usize>() {
                Ok(n) if n >= 1 => Ok(RunRef::Last(n)),
                _ => Err(bad("last:N takes a count of 1 or more")),
            };
        }
        match t.parse::<i64>() {
            Ok(id) if id >= 1 => Ok(RunRef::Id(id)),
            Ok(_) => Err(bad("run ids start at 1")),
            Err(_) => Err(bad("not a run reference")),
        }
    }
}

impl fmt::Display for RunRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunRef::Id(id) => write!(f, "run {id}"),
            RunRef::Latest => f.write_str("the latest run"),
            RunRef::Tag(key, value) => write!(f, "the newest run tagged {key}={value}"),
            RunRef::Last(n) => write!(f, "the last {n} runs"),
        }
    }
}

/// The runs `reference` names in `store`: one for an id, `latest` and a tag, the newest N
/// (or as many as there are) oldest first for `last:N`. `kind` and `tags` narrow `latest`,
/// `tag:` and `last:` (a tag of the reference and `tags` must all match); an id names its
/// run whatever its kind, for the caller to judge. Nothing named: exit 2 saying what was
/// asked and what exists.
pub fn resolve(
    store: &Store,
    reference: &RunRef,
    kind: Option<RunKind>,
    tags: &[(String, String)],
) -> Result<Vec<RunEntry>, Failure> {
    let read = |e| Failure::run(anyhow!("cannot read the history store: {e}"));
    let found = match reference {
        RunRef::Id(id) => store
            .run_entry(RunId(*id))
            .map_err(read)?
            .into_iter()
            .collect(),
        RunRef::Latest | RunRef::Tag(..) | RunRef::Last(_) => {
            let mut wanted = tags.to_vec();
            if let RunRef::Tag(key, value) = reference {
                wanted.retain(|(k, _)| k != key);
                wanted.push((key.clone(), value.clone()));
            }
            let limit = match reference {
                RunRef::Last(n) => *n,
                _ => 1,
            };
            let filter = RunFilter {
                tags: wanted,
                kind,
                limit: Some(limit),
                ..RunFilter::default()
            };
            let mut runs = store.history(&filter).map_err(read)?;
            runs.reverse();
            runs
        }
    };
    if found.is_empty() {
        return Err(not_found(store, reference, kind, tags));
    }
    Ok(found)
}

/// Exit 2: what was asked, and what the store holds.
fn not_found(
    store: &Store,
    reference: &RunRef,
    kind: Option<RunKind>,
    tags: &[(String, String)],
) -> Failure {
    let mut asked = reference.to_string();
    if let Some(kind) = kind {
        asked.push_str(&format!(" of kind {kind}"));
    }
    if !tags.is_empty() && !matches!(reference, RunRef::Id(_)) {
        let list: Vec<String> = tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
        asked.push_str(&format!(" with the tags {}", list.join(", ")));
    }
    let location = store.location();
    let all = match store.history(&RunFilter::default()) {
        Ok(all) => all,
        Err(e) => {
            return Failure::usage(anyhow!("{asked} is not in the store {location} ({e})"));
        }
    };
    if all.is_empty() {
        return Failure::usage(anyhow!(
            "{asked} is not in the store {location}: it holds no runs yet; `perfloop load`, \
             `capacity`, `bench-cmd` and `tune` save their results there"
        ));
    }
    let mut holds = vec![ids_held(&all)];
    let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
    for run in &all {
        *kinds.entry(run.kind.as_str()).or_default() += 1;
    }
    let kinds: Vec<String> = kinds.iter().map(|(k, n)| format!("{k} ({n})")).collect();
    holds.push(format!("kinds: {}", kinds.join(", ")));
    let mentions_tags = matches!(reference, RunRef::Tag(..)) || !tags.is_empty();
    if mentions_tags {
        holds.push(tags_held(store));
    }
    Failure::usage(anyhow!(
        "{asked} is not in the store {location}; it holds {}",
        holds.join("; ")
    ))
}

/// `runs 1–40` (`run 3` for one); ids need not be contiguous, so the count is given too.
fn ids_held(all: &[RunEntry]) -> String {
    let ids = all.iter().map(|r| r.id.get());
    let (lo, hi) = (ids.clone().min(), ids.max());
    match (lo, hi) {
        (Some(lo), Some(hi)) if lo == hi => format!("run {lo}"),
        (Some(lo), Some(hi)) => format!("{} runs (ids {lo} to {hi})", all.len()),
        _ => "no runs".to_owned(),
    }
}

/// `the tags branch=main (3 runs), ...`, or that there are none.
fn tags_held(store: &Store) -> String {
    match store.tag_values() {
        Ok(values) if values.is_empty() => "no tags".to_owned(),
        Ok(values) => {
            let mut list: Vec<String> = values
                .iter()
                .take(LISTED)
                .map(|(k, v, n)| format!("{k}={v} ({n} run{})", if *n == 1 { "" } else { "s" }))
                .collect();
            if values.len() > LISTED {
                list.push(format!("and {} more", values.len() - LISTED));
            }
            format!("tags: {}", list.join(", "))
        }
        Err(e) => format!("tags that cannot be read ({e})"),
    }
}

/// The record of a saved run as stored (JSON text); a run without one fails (exit 3).
pub fn load_record_json(store: &Store, entry: &RunEntry) -> Result<String, Failure> {
    let id = entry.id;
    match store.run_record(id) {
        Ok(Some(json)) => Ok(json),
        Ok(None) => Err(Failure::run(anyhow!(
            "run {id} in {} has no record saved",
            store.location()
        ))),
        Err(e) => Err(Failure::run(anyhow!(
            "cannot read run {id} from the history store: {e}"
        ))),
    }
}

/// The record of a saved run, read as its kind's record; JSON that does not read as one
/// fails (exit 3) naming the run.
pub fn load_record(store: &Store, entry: &RunEntry) -> Result<StoredRecord, Failure> {
    let json = load_record_json(store, entry)?;
    StoredRecord::parse(entry.kind.as_str(), &json).map_err(|e| {
        Failure::run(anyhow!(
            "run {} ({}) in {}: its record cannot be read: {e}",
            entry.id,
            entry.kind,
            store.location()
        ))
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn references_read_their_forms() {
        assert_eq!(RunRef::parse("12").unwrap(), RunRef::Id(12));
        assert_eq!(RunRef::parse("latest").unwrap(), RunRef::Latest);
        assert_eq!(
            RunRef::parse("tag:branch=main").unwrap(),
            RunRef::Tag("branch".into(), "main".into())
        );
        assert_eq!(RunRef::parse("last:5").unwrap(), RunRef::Last(5));
        for bad in [
            "",
            "0",
            "-3",
            "tag:branch",
            "tag:=x",
            "last:0",
            "last:x",
            "newest",
        ] {
            let failure = RunRef::parse(bad).unwrap_err();
            assert_eq!(failure.exit, crate::Exit::Usage);
            let text = format!("{:#}", failure.error);
            assert!(text.contains(&format!("run '{bad}'")), "{text}");
            assert!(text.contains("'tag:KEY=VALUE'"), "{text}");
        }
    }
}
