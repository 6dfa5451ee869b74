//! Reading the history store for the pages and the API: opened per request, on tokio's
//! blocking threads ([`blocking`]), never written.
//!
//! A store file that does not exist reads as an empty store (nothing was saved there yet)
//! and is not created. A run's listing entry reads as [`summary`]: the JSON of
//! `perfloop history --json`, plus its page's address. A record reads back by its kind as
//! perfloop-report's [`StoredRecord`], as `perfloop show` reads it.

use perfloop_report::{Headline, StoredRecord};
use perfloop_store::{Location, RunEntry, RunFilter, RunId, Store, StoreError};
use serde_json::Value;

use super::ApiError;

/// Why a run could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// No run has this id.
    #[error("run {0} is not in the store")]
    NotFound(i64),
    /// The store could not be opened or read.
    #[error("the history store cannot be read: {0}")]
    Store(#[from] StoreError),
    /// The run's record is missing or does not read as its kind's record.
    #[error("run {id}: its record cannot be read: {reason}")]
    Record {
        /// The run.
        id: i64,
        /// What is wrong.
        reason: String,
    },
    /// The blocking task failed.
    #[error("the request failed: {0}")]
    Task(String),
}

/// Runs `work` on tokio's blocking threads (a `Store` is not `Sync`, and SQLite blocks).
///
/// # Errors
///
/// The error of `work`; a 500 when the task itself failed.
pub async fn blocking<T, F>(work: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, ApiError> + Send + 'static,
{
    match tokio::task::spawn_blocking(work).await {
        Ok(result) => result,
        Err(e) => Err(ApiError::from(ReadError::Task(e.to_string()))),
    }
}

/// The store at `location` opened to read; `None` for a store file that does not exist.
///
/// # Errors
///
/// When the store cannot be opened.
pub fn open(location: &Location) -> Result<Option<Store>, StoreError> {
    if let Some(path) = location.path()
        && !path.exists()
    {
        return Ok(None);
    }
    Store::connect(location).map(Some)
}

/// The runs `filter` selects, newest first.
///
/// # Errors
///
/// When the store cannot be opened or read.
pub fn list(location: &Location, filter: &RunFilter) -> Result<Vec<RunEntry>, StoreError> {
    match open(location)? {
        Some(store) => store.history(filter),
        None => Ok(Vec::new()),
    }
}

/// The newest `limit` runs as [`summary`] objects, newest first: what the listing of
/// `/api/runs` shows.
///
/// # Errors
///
/// When the store cannot be opened or read.
pub fn latest_runs(location: &Location, limit: usize) -> Result<Vec<Value>, StoreError> {
    let filter = RunFilter {
        limit: Some(limit),
        ..RunFilter::default()
    };
    Ok(list(location, &filter)?.iter().map(summary).collect())
}

/// The run with `id` and its record as stored (JSON text, checked to be JSON).
///
/// # Errors
///
/// [`ReadError::NotFound`] when no saved run has that id, [`ReadError::Record`] when its
/// record is missing or not JSON, [`ReadError::Store`] when the store cannot be read.
pub fn find(location: &Location, id: i64) -> Result<(RunEntry, String), ReadError> {
    let Some(store) = open(location)? else {
        return Err(ReadError::NotFound(id));
    };
    let Some(entry) = store.run_entry(RunId(id))? else {
        return Err(ReadError::NotFound(id));
    };
    let Some(record) = store.run_record(RunId(id))? else {
        return Err(ReadError::Record {
            id,
            reason: "no record was saved".to_owned(),
        });
    };
    serde_json::from_str::<serde::de::IgnoredAny>(&record).map_err(|e| ReadError::Record {
        id,
        reason: e.to_string(),
    })?;
    Ok((entry, record))
}

/// The run with `id`, its record read as its kind's record.
///
/// # Errors
///
/// As [`find`]; [`ReadError::Record`] when the record does not read as its kind's.
pub fn load(location: &Location, id: i64) -> Result<(RunEntry, StoredRecord), ReadError> {
    let (entry, json) = find(location, id)?;
    let record =
        StoredRecord::parse(entry.kind.as_str(), &json).map_err(|e| ReadError::Record {
            id,
            reason: e.to_string(),
        })?;
    Ok((entry, record))
}

/// The targets of the saved runs, with how many runs each, by target.
///
/// # Errors
///
/// When the store cannot be opened or read.
pub fn targets(location: &Location) -> Result<Vec<(String, u64)>, StoreError> {
    match open(location)? {
        Some(store) => store.targets(),
        None => Ok(Vec::new()),
    }
}

/// A run as the listing shows it: what `perfloop history --json` lists of it
/// ([`RunEntry::to_json`]: id, kind, start, target, tags, git commit and branch, host,
/// perfloop version, command line, study, headline figures) and the address of its page.
#[must_use]
pub fn summary(entry: &RunEntry) -> Value {
    let headline: Headline = serde_json::from_str(&entry.metrics_json).unwrap_or_default();
    let mut value = entry.to_json(serde_json::to_value(headline).unwrap_or(Value::Null));
    value["url"] = Value::from(format!("/runs/{}", entry.id.get()));
    value
}
