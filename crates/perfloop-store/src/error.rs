//! The errors of the store. Every error names the store (its file, or its URL without the
//! password) and says what to do about it.

use std::path::PathBuf;

use crate::{Location, StudyId, TrialId, TrialState};

/// An error from the history store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The directory that should hold the store could not be created.
    #[error(
        "cannot create the directory {dir} for the store {path}: {source}; \
         check the permissions or set PERFLOOP_DB to a file in a writable directory"
    )]
    CreateDir {
        /// The store file.
        path: PathBuf,
        /// The directory that could not be created.
        dir: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// SQLite could not open or create the file.
    #[error(
        "cannot open the store {path}: {source}; \
         check that the path is a writable file, or set PERFLOOP_DB to another file"
    )]
    Open {
        /// The store file.
        path: PathBuf,
        /// The underlying SQLite error.
        source: rusqlite::Error,
    },
    /// The file exists but is not an SQLite database, or is damaged beyond reading.
    #[error(
        "{path} is not a readable perfloop store (not an SQLite database, or corrupt): {source}; \
         move the file aside (it is left untouched) or set PERFLOOP_DB to another file"
    )]
    Corrupt {
        /// The store file.
        path: PathBuf,
        /// The underlying SQLite error.
        source: rusqlite::Error,
    },
    /// The store was written by a newer perfloop whose schema this build does not know.
    #[error(
        "the store {store} has schema version {found}, but this perfloop knows versions up to \
         {supported}; upgrade perfloop to use it (the store is left untouched, it is never downgraded)"
    )]
    TooNew {
        /// The store.
        store: Location,
        /// The schema version found in the file.
        found: i64,
        /// The newest schema version this build knows.
        supported: u32,
    },
    /// A schema migration failed; it was rolled back, the store keeps its previous version.
    #[error(
        "cannot migrate the store {store} to schema version {version}: {source}; \
         the migration was rolled back and the store is unchanged; check the disk, the \
         permissions (on PostgreSQL: the right to create tables), or use another store"
    )]
    Migration {
        /// The store.
        store: Location,
        /// The version being applied.
        version: u32,
        /// The underlying SQLite or PostgreSQL error.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// Another process held the store locked for longer than the busy timeout.
    #[error(
        "the store {path} stayed locked by another process: {source}; \
         wait for the other perfloop to finish, or set PERFLOOP_DB to another file"
    )]
    Busy {
        /// The store file.
        path: PathBuf,
        /// The underlying SQLite error.
        source: rusqlite::Error,
    },
    /// A study with this name exists already.
    #[error("a study named {name:?} already exists in {store}; resume it, or choose another name")]
    DuplicateStudy {
        /// The store.
        store: Location,
        /// The study name.
        name: String,
    },
    /// No study has this id.
    #[error("no study with id {id} in {store}; list the studies to find the right one")]
    StudyNotFound {
        /// The store.
        store: Location,
        /// The id asked for.
        id: StudyId,
    },
    /// A trial with this number exists already in the study (numbers are never reused).
    #[error(
        "study {study} in {store} already has a trial number {number}; \
         use Store::next_trial_number for a new trial"
    )]
    DuplicateTrial {
        /// The store.
        store: Location,
        /// The study.
        study: StudyId,
        /// The trial number.
        number: u32,
    },
    /// No trial has this id.
    #[error("no trial with id {id} in {store}")]
    TrialNotFound {
        /// The store.
        store: Location,
        /// The id asked for.
        id: TrialId,
    },
    /// The trial is no longer running (finished already, or abandoned by a resume).
    #[error(
        "trial {id} in {store} is {state}, not running, so it cannot be finished; \
         another process may have resumed the study: stop this one"
    )]
    TrialNotRunning {
        /// The store.
        store: Location,
        /// The trial.
        id: TrialId,
        /// Its current state.
        state: TrialState,
    },
    /// An objective value of NaN was given; record a failed trial instead.
    #[error(
        "trial {id}: the objective is NaN, which the store {store} cannot keep; \
         record the trial as failed with a reason, or give no objective"
    )]
    NanObjective {
        /// The store.
        store: Location,
        /// The trial.
        id: TrialId,
    },
    /// The file holds a value this build does not understand.
    #[error(
        "the store {store} holds an unexpected value: {detail}; \
         it may have been written by another program or a newer perfloop"
    )]
    InvalidData {
        /// The store.
        store: Location,
        /// What was found.
        detail: String,
    },
    /// Two tags of one run have the same key.
    #[error("the run has two tags with the key {key:?}; give each key once (store {store})")]
    DuplicateTag {
        /// The store.
        store: Location,
        /// The repeated key.
        key: String,
    },
    /// The PostgreSQL server could not be reached, or refused the connection.
    #[error(
        "cannot connect to the store {store}: {message}; check the URL (host, port, user, \
         password, database), that the server runs and that it accepts this client"
    )]
    Connect {
        /// The store (its URL without the password).
        store: Location,
        /// The client's or the server's own message.
        message: String,
    },
    /// Any other PostgreSQL error (a lost connection, a permission refused, ...).
    #[error("the store {store} failed: {message}; check the server and retry")]
    Postgres {
        /// The store (its URL without the password).
        store: Location,
        /// The server's own message (or the client's, when the server said nothing).
        message: String,
        /// The underlying PostgreSQL error.
        source: postgres::Error,
    },
    /// Any other SQLite error (disk full, I/O error, ...).
    #[error("the store {path} failed: {source}; check the disk (space, permissions) and retry")]
    Sqlite {
        /// The store file.
        path: PathBuf,
        /// The underlying SQLite error.
        source: rusqlite::Error,
    },
}

impl StoreError {
    /// Classifies an SQLite error on the store at `path`.
    pub(crate) fn classify(path: &std::path::Path, source: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode as C;
        let path = path.to_path_buf();
        match source.sqlite_error_code() {
            Some(C::NotADatabase | C::DatabaseCorrupt) => Self::Corrupt { path, source },
            Some(C::DatabaseBusy | C::DatabaseLocked) => Self::Busy { path, source },
            Some(C::CannotOpen | C::PermissionDenied | C::ReadOnly) => Self::Open { path, source },
            _ => Self::Sqlite { path, source },
        }
    }
}

/// The whole message of a PostgreSQL error: the server's own words when it answered (severity,
/// message, detail, hint), else the client's error and its causes.
pub(crate) fn pg_message(error: &postgres::Error) -> String {
    if let Some(db) = error.as_db_error() {
        return db.to_string().replace('\n', "; ");
    }
    let mut message = error.to_string();
    let mut cause = std::error::Error::source(error);
    while let Some(inner) = cause {
        message.push_str(": ");
        message.push_str(&inner.to_string());
        cause = inner.source();
    }
    message
}
