//! History runs: the runs `load`, `capacity`, `bench` and studies save, with what was measured
//! (target, command line), by which perfloop on which host and commit, their headline metrics,
//! tags and the whole run record; listed newest first and filtered by target, tags, time and
//! kind.
//!
//! A history run is a row of `runs` saved by [`Store::save_run`]: it has metrics and belongs to
//! no trial. The runs of trials ([`Store::insert_run`]) and rows written before history runs
//! existed are not listed.

use std::collections::BTreeMap;
use std::time::SystemTime;

use crate::db::{Param, Row, int, text};
use crate::model::{from_millis, to_millis};
use crate::{RunId, RunKind, Store, StoreError, StudyId};

/// A run to save in the history.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryRun {
    /// The command that measured it.
    pub kind: RunKind,
    /// When it started (kept at millisecond precision).
    pub started_at: SystemTime,
    /// What was measured: the URL or command, as the user names it in filters.
    pub target: String,
    /// The perfloop command line, as typed (secrets already redacted by the caller).
    pub command_line: String,
    /// The version of perfloop that measured it.
    pub perfloop_version: String,
    /// The host that measured it, as JSON.
    pub host_json: String,
    /// The commit of the code under test, when known.
    pub git_commit: Option<String>,
    /// The branch of the code under test, when known.
    pub git_branch: Option<String>,
    /// Tags (key, value); each key at most once.
    pub tags: Vec<(String, String)>,
    /// The headline metrics, as JSON.
    pub metrics_json: String,
    /// The whole run record, as JSON.
    pub record_json: String,
    /// The study it belongs to, for a study's run.
    pub study: Option<StudyId>,
}

/// Which history runs [`Store::history`] lists. The default lists them all.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunFilter {
    /// Only runs of this target (exact match).
    pub target: Option<String>,
    /// Only runs with all these tags (key and value exact).
    pub tags: Vec<(String, String)>,
    /// Only runs started at or after this time.
    pub since: Option<SystemTime>,
    /// Only runs of this kind.
    pub kind: Option<RunKind>,
    /// At most this many runs (the newest).
    pub limit: Option<usize>,
}

/// A history run as stored, without its run record (see [`Store::run_record`]).
#[derive(Debug, Clone, PartialEq)]
pub struct RunEntry {
    /// Its key.
    pub id: RunId,
    /// The command that measured it.
    pub kind: RunKind,
    /// When it started (millisecond precision).
    pub started_at: SystemTime,
    /// What was measured.
    pub target: String,
    /// The perfloop command line.
    pub command_line: String,
    /// The version of perfloop that measured it.
    pub perfloop_version: String,
    /// The host that measured it, as JSON.
    pub host_json: String,
    /// The commit of the code under test, when known.
    pub git_commit: Option<String>,
    /// The branch of the code under test, when known.
    pub git_branch: Option<String>,
    /// Its tags.
    pub tags: BTreeMap<String, String>,
    /// The headline metrics, as JSON.
    pub metrics_json: String,
    /// The study it belongs to, for a study's run.
    pub study: Option<StudyId>,
}

impl RunEntry {
    /// The run as a listing shows it in JSON (`perfloop history --json`, the dashboard's
    /// API): id, kind, start (RFC 3339, UTC), target, tags, git commit and branch, host (its
    /// JSON; `null` when it does not read), perfloop version, command line, study, and
    /// `headline`, the headline figures as the caller read them from
    /// [`RunEntry::metrics_json`].
    #[must_use]
    pub fn to_json(&self, headline: serde_json::Value) -> serde_json::Value {
        let host: serde_json::Value =
            serde_json::from_str(&self.host_json).unwrap_or(serde_json::Value::Null);
        let mut value = serde_json::json!({
            "id": self.id.get(),
            "kind": self.kind.as_str(),
            "started_at": crate::when::rfc3339(self.started_at),
            "target": self.target,
            "tags": self.tags,
            "git": {"commit": self.git_commit, "branch": self.git_branch},
            "host": host,
            "perfloop_version": self.perfloop_version,
            "command_line": self.command_line,
            "study": self.study.map(|s| s.get()),
        });
        value["headline"] = headline;
        value
    }
}

/// The condition a row of `runs` meets when it is a history run.
const IS_HISTORY: &str = "r.trial_id IS NULL AND r.metrics_json IS NOT NULL";

const ENTRY_COLUMNS: &str = "r.id, r.kind, r.started_at, r.target, r.command_line, \
     r.perfloop_version, r.host_json, r.git_commit, r.git_branch, r.metrics_json, r.study_id";

/// How many run ids one `IN (...)` lists at most (SQLite allows 32766 parameters).
const IDS_PER_QUERY: usize = 500;

impl Store {
    /// Saves a history run with its tags, in one transaction, and returns its id.
    ///
    /// # Errors
    ///
    /// [`StoreError::DuplicateTag`] when a tag key is given twice, [`StoreError::Sqlite`] or
    /// [`StoreError::Postgres`] when the study it names does not exist or the store cannot be
    /// written.
    pub fn save_run(&self, run: &HistoryRun) -> Result<RunId, StoreError> {
        let mut keys: Vec<&str> = run.tags.iter().map(|(key, _)| key.as_str()).collect();
        keys.sort_unstable();
        if let Some(pair) = keys.windows(2).find(|pair| pair[0] == pair[1]) {
            return Err(StoreError::DuplicateTag {
                store: self.location.clone(),
                key: pair[0].to_owned(),
            });
        }
        self.write(|| {
            let row = self.row(
                "INSERT INTO runs (study_id, trial_id, kind, started_at, record_json, target,
                                   command_line, perfloop_version, host_json, git_commit,
                                   git_branch, metrics_json)
                 VALUES (?1, NULL, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) RETURNING id",
                &[
                    Param::Int(run.study.map(StudyId::get)),
                    text(run.kind.as_str()),
                    int(to_millis(run.started_at)),
                    text(&run.record_json),
                    text(&run.target),
                    text(&run.command_line),
                    text(&run.perfloop_version),
                    text(&run.host_json),
                    Param::Text(run.git_commit.as_deref()),
                    Param::Text(run.git_branch.as_deref()),
                    text(&run.metrics_json),
                ],
            )?;
            let id = self.returned_id(row)?;
            for (key, value) in &run.tags {
                self.exec(
                    "INSERT INTO run_tags (run_id, key, value) VALUES (?1, ?2, ?3)",
                    &[int(id), text(key), text(value)],
                )?;
            }
            Ok(RunId(id))
        })
    }

    /// The history runs `filter` selects, newest first (by start time, then by id).
    ///
    /// # Errors
    ///
    /// When the store cannot be read or holds an unknown kind.
    pub fn history(&self, filter: &RunFilter) -> Result<Vec<RunEntry>, StoreError> {
        let mut sql = format!("SELECT {ENTRY_COLUMNS} FROM runs r WHERE {IS_HISTORY}");
        let mut params: Vec<Param<'_>> = Vec::new();
        let next = |params: &mut Vec<Param<'_>>| format!("?{}", params.len() + 1);
        if let Some(target) = &filter.target {
            sql.push_str(&format!(" AND r.target = {}", next(&mut params)));
            params.push(text(target));
        }
        if let Some(since) = filter.since {
            sql.push_str(&format!(" AND r.started_at >= {}", next(&mut params)));
            params.push(int(to_millis(since)));
        }
        if let Some(kind) = filter.kind {
            sql.push_str(&format!(" AND r.kind = {}", next(&mut params)));
            params.push(text(kind.as_str()));
        }
        for (key, value) in &filter.tags {
            let key_param = next(&mut params);
            params.push(text(key));
            let value_param = next(&mut params);
            params.push(text(value));
            sql.push_str(&format!(
                " AND EXISTS (SELECT 1 FROM run_tags t WHERE t.run_id = r.id \
                 AND t.key = {key_param} AND t.value = {value_param})"
            ));
        }
        sql.push_str(" ORDER BY r.started_at DESC, r.id DESC");
        if let Some(limit) = filter.limit {
            sql.push_str(&format!(" LIMIT {}", next(&mut params)));
            params.push(int(i64::try_from(limit).unwrap_or(i64::MAX)));
        }
        let mut entries = self
            .rows(&sql, &params)?
            .iter()
            .map(|row| self.entry(row))
            .collect::<Result<Vec<_>, _>>()?;
        self.fill_tags(&mut entries)?;
        Ok(entries)
    }

    /// The history run with this id, if any (a trial's run is not one).
    ///
    /// # Errors
    ///
    /// When the store cannot be read or holds an unknown kind.
    pub fn run_entry(&self, id: RunId) -> Result<Option<RunEntry>, StoreError> {
        let Some(row) = self.row(
            &format!("SELECT {ENTRY_COLUMNS} FROM runs r WHERE r.id = ?1 AND {IS_HISTORY}"),
            &[int(id.0)],
        )?
        else {
            return Ok(None);
        };
        let mut entries = vec![self.entry(&row)?];
        self.fill_tags(&mut entries)?;
        Ok(entries.pop())
    }

    /// The run record (JSON) of the run with this id, if any: a history run's or a trial's.
    ///
    /// # Errors
    ///
    /// When the store cannot be read.
    pub fn run_record(&self, id: RunId) -> Result<Option<String>, StoreError> {
        Ok(self
            .row("SELECT record_json FROM runs WHERE id = ?1", &[int(id.0)])?
            .map(|row| row.text(0)))
    }

    /// Every tag of the history runs: (key, value, number of runs), by key then value.
    ///
    /// # Errors
    ///
    /// When the store cannot be read.
    pub fn tag_values(&self) -> Result<Vec<(String, String, u64)>, StoreError> {
        Ok(self
            .rows(
                &format!(
                    "SELECT t.key, t.value, COUNT(*) FROM run_tags t JOIN runs r ON r.id = t.run_id
                     WHERE {IS_HISTORY} GROUP BY t.key, t.value ORDER BY t.key, t.value"
                ),
                &[],
            )?
            .iter()
            .map(|row| (row.text(0), row.text(1), count(row, 2)))
            .collect())
    }

    /// The targets of the history runs: (target, number of runs), by target.
    ///
    /// # Errors
    ///
    /// When the store cannot be read.
    pub fn targets(&self) -> Result<Vec<(String, u64)>, StoreError> {
        Ok(self
            .rows(
                &format!(
                    "SELECT r.target, COUNT(*) FROM runs r WHERE {IS_HISTORY} AND r.target IS NOT NULL
                     GROUP BY r.target ORDER BY r.target"
                ),
                &[],
            )?
            .iter()
            .map(|row| (row.text(0), count(row, 1)))
            .collect())
    }

    fn entry(&self, row: &Row) -> Result<RunEntry, StoreError> {
        let kind_text = row.text(1);
        let kind =
            RunKind::parse(&kind_text).ok_or_else(|| self.invalid("run kind", &kind_text))?;
        Ok(RunEntry {
            id: RunId(row.int(0)),
            kind,
            started_at: from_millis(row.int(2)),
            target: row.text(3),
            command_line: row.text(4),
            perfloop_version: row.text(5),
            host_json: row.text(6),
            git_commit: row.opt_text(7),
            git_branch: row.opt_text(8),
            tags: BTreeMap::new(),
            metrics_json: row.text(9),
            study: row.opt_int(10).map(StudyId),
        })
    }

    /// Reads the tags of the entries.
    fn fill_tags(&self, entries: &mut [RunEntry]) -> Result<(), StoreError> {
        let mut tags: BTreeMap<i64, BTreeMap<String, String>> = BTreeMap::new();
        for chunk in entries.chunks(IDS_PER_QUERY) {
            let params: Vec<Param<'_>> = chunk.iter().map(|entry| int(entry.id.0)).collect();
            let placeholders: Vec<String> = (1..=chunk.len()).map(|i| format!("?{i}")).collect();
            let sql = format!(
                "SELECT run_id, key, value FROM run_tags WHERE run_id IN ({})",
                placeholders.join(", ")
            );
            for row in self.rows(&sql, &params)? {
                tags.entry(row.int(0))
                    .or_default()
                    .insert(row.text(1), row.text(2));
            }
        }
        for entry in entries {
            entry.tags = tags.remove(&entry.id.0).unwrap_or_default();
        }
        Ok(())
    }
}

/// A count read from column `index`.
fn count(row: &Row, index: usize) -> u64 {
    u64::try_from(row.int(index)).unwrap_or(0)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;

    #[test]
    fn an_entry_lists_as_json_with_its_headline() {
        let mut entry = RunEntry {
            id: RunId(7),
            kind: RunKind::Capacity,
            started_at: UNIX_EPOCH + Duration::from_millis(1_769_860_800_250),
            target: "http://h/".to_owned(),
            command_line: "perfloop capacity http://h/".to_owned(),
            perfloop_version: "0.1.0".to_owned(),
            host_json: r#"{"cpus": 4}"#.to_owned(),
            git_commit: Some("abc".to_owned()),
            git_branch: None,
            tags: BTreeMap::from([("env".to_owned(), "ci".to_owned())]),
            metrics_json: "{}".to_owned(),
            study: Some(StudyId(3)),
        };
        let json = entry.to_json(serde_json::json!({"p99_ms": 4.5}));
        assert_eq!(
            json,
            serde_json::json!({
                "id": 7, "kind": "capacity", "started_at": "2026-01-31T12:00:00Z",
                "target": "http://h/", "tags": {"env": "ci"},
                "git": {"commit": "abc", "branch": null}, "host": {"cpus": 4},
                "perfloop_version": "0.1.0", "command_line": "perfloop capacity http://h/",
                "study": 3, "headline": {"p99_ms": 4.5}
            })
        );
        // A host that does not read is null, not an error.
        entry.host_json = "not json".to_owned();
        assert_eq!(
            entry.to_json(serde_json::Value::Null)["host"],
            serde_json::Value::Null
        );
    }
}
