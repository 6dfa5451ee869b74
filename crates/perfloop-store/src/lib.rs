//! perfloop's history store: the runs perfloop measured (history runs, with their tags), and
//! tuning studies with their trials and runs, in an SQLite file or a PostgreSQL database.
//!
//! SQLite is used through `rusqlite` with its bundled library, so the default store needs
//! nothing installed on the machine: one file holds everything, and [`default_path`] says where
//! it lives. A team shares its history in a PostgreSQL database instead, named by a
//! `postgres://` URL ([`Location`]); the `postgres` crate (the synchronous client) talks to it.
//! Both hold the same schema and answer the same methods of [`Store`].
//!
//! # Durability and concurrency
//!
//! SQLite: the store opens the file with `journal_mode=WAL`, `synchronous=FULL` and
//! `foreign_keys=ON`, and a writer waits up to [`BUSY_TIMEOUT`] for a lock held by another
//! process. PostgreSQL: every write is a server transaction. On both, every write method runs
//! in its own transaction that is committed before the method returns, or inside the caller's
//! transaction (see [`Store::transaction`]). A process killed at any point (even `kill -9`)
//! leaves the store as it was after its last committed write, and two processes saving at once
//! lose nothing.
//!
//! # History runs
//!
//! [`Store::save_run`] records a run of `load`, `capacity`, `bench` or a study with what was
//! measured, by which perfloop on which host and commit, its headline metrics, tags and the
//! whole run record, in one transaction. [`Store::history`] lists them newest first, filtered
//! by target, tags, time and kind. Runs of trials ([`Store::insert_run`]) are not history runs.
//! [`when`] reads a `since` filter as people type it and writes stored times as they read
//! them; [`RunEntry::to_json`] is a listed run as JSON.
//!
//! # Trials and resuming
//!
//! A trial is recorded as `running` by [`Store::begin_trial`] *before* it is measured, then
//! finished by [`Store::finish_trial`]. When a process dies between the two, its trial stays
//! `running`. A process resuming the study calls [`Store::abandon_running`]: those trials
//! become `abandoned`: kept for the record, never counted as results, and their numbers are
//! not reused: [`Store::next_trial_number`] is the highest number of the study plus one,
//! abandoned trials included.
//!
//! # Schema
//!
//! The schema is created and upgraded by migrations (see [`SCHEMA_VERSION`]); a store written
//! by a newer perfloop is refused, never downgraded.

mod db;
mod error;
mod history;
mod location;
mod migrations;
mod model;
mod studies;
#[cfg(feature = "pg-test-harness")]
pub mod testing;
pub mod when;

use std::cell::{Cell, RefCell};
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::Connection;

use db::Backend;
pub use error::StoreError;
pub use history::{HistoryRun, RunEntry, RunFilter};
pub use location::Location;
pub use migrations::SCHEMA_VERSION;
pub use model::{
    FinalState, NewRun, NewStudy, RunId, RunKind, RunRow, StudyId, StudyRow, StudyStatus, TrialId,
    TrialOutcome, TrialRow, TrialState,
};

/// How long a PostgreSQL connection attempt may take when the URL sets no `connect_timeout`.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long an operation waits for a lock held by another process before failing with
/// [`StoreError::Busy`].
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The role of a trial begun with [`Store::begin_trial`] (and of trials written before roles
/// were recorded).
pub const DEFAULT_ROLE: &str = "explore";

/// The reason recorded on a trial marked `abandoned`.
pub const ABANDONED_REASON: &str =
    "left running by a process that stopped before finishing it; its measurement is lost";

/// Where the store lives when no path is given:
///
/// 1. `$PERFLOOP_DB`, when set and not empty;
/// 2. else `$XDG_DATA_HOME/perfloop/perfloop.db`, when `XDG_DATA_HOME` is an absolute path;
/// 3. else `$HOME/.local/share/perfloop/perfloop.db`;
/// 4. else (no `HOME`) `perfloop.db` in the current directory.
#[must_use]
pub fn default_path() -> PathBuf {
    default_path_from(|name| std::env::var_os(name))
}

/// [`default_path`] with the environment read through `env`.
pub fn default_path_from(env: impl Fn(&str) -> Option<std::ffi::OsString>) -> PathBuf {
    let var = |name: &str| env(name).filter(|value| !value.is_empty());
    if let Some(path) = var("PERFLOOP_DB") {
        return PathBuf::from(path);
    }
    if let Some(data) = var("XDG_DATA_HOME").map(PathBuf::from)
        && data.is_absolute()
    {
        return data.join("perfloop").join("perfloop.db");
    }
    match var("HOME") {
        Some(home) => PathBuf::from(home).join(".local/share/perfloop/perfloop.db"),
        None => PathBuf::from("perfloop.db"),
    }
}

/// An open history store: one connection to an SQLite file or a PostgreSQL database.
#[derive(Debug)]
pub struct Store {
    backend: Backend,
    location: Location,
}

impl Store {
    /// Opens the SQLite store at `path`, creating its parent directory and the file when
    /// needed, and brings its schema up to date.
    ///
    /// # Errors
    ///
    /// [`StoreError::CreateDir`] or [`StoreError::Open`] when the file cannot be created or
    /// opened, [`StoreError::Corrupt`] when it is not an SQLite database (it is left
    /// untouched), [`StoreError::TooNew`] when a newer perfloop wrote it,
    /// [`StoreError::Migration`] when a migration fails, [`StoreError::Busy`] when another
    /// process keeps it locked.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Self::open_sqlite(path, SCHEMA_VERSION)
    }

    /// Opens the store at `location`: [`Store::open`] for a file, a connection for a
    /// PostgreSQL URL; the schema is brought up to date either way.
    ///
    /// # Errors
    ///
    /// For a file, as [`Store::open`]. For PostgreSQL: [`StoreError::Connect`] with the
    /// server's (or the client's) own message when the URL is invalid or the database cannot
    /// be reached or refuses the connection, [`StoreError::TooNew`] and
    /// [`StoreError::Migration`] as for a file, [`StoreError::Postgres`] for any other error.
    pub fn connect(location: &Location) -> Result<Self, StoreError> {
        Self::connect_at(location, SCHEMA_VERSION)
    }

    /// [`Store::connect`], migrating only up to schema version `upto`.
    pub(crate) fn connect_at(location: &Location, upto: u32) -> Result<Self, StoreError> {
        match location {
            Location::Sqlite(path) => Self::open_sqlite(path, upto),
            Location::Postgres(url) => Self::connect_postgres(location, url, upto),
        }
    }

    fn open_sqlite(path: &Path, upto: u32) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
                path: path.to_path_buf(),
                dir: dir.to_path_buf(),
                source,
            })?;
        }
        let conn = Connection::open(path).map_err(|source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        })?;
        let classify = |e| StoreError::classify(path, e);
        conn.busy_timeout(BUSY_TIMEOUT).map_err(classify)?;
        // The first read of the file: a file that is not a database, or one from a newer
        // perfloop, is refused here, before anything is written to it.
        migrations::sqlite::check_version(&conn, path)?;
        conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get::<_, String>(0))
            .map_err(classify)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(classify)?;
        conn.pragma_update(None, "foreign_keys", true)
            .map_err(classify)?;
        migrations::sqlite::migrate(&conn, path, upto)?;
        Ok(Self {
            backend: Backend::Sqlite(conn),
            location: Location::Sqlite(path.to_path_buf()),
        })
    }

    fn connect_postgres(location: &Location, url: &str, upto: u32) -> Result<Self, StoreError> {
        let refused = |message: String| StoreError::Connect {
            store: location.clone(),
            message,
        };
        let mut config: postgres::Config = url
            .parse()
            .map_err(|e: postgres::Error| refused(error::pg_message(&e)))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("perfloop");
        }
        let mut client = config
            .connect(postgres::NoTls)
            .map_err(|e| refused(error::pg_message(&e)))?;
        migrations::postgres::migrate(&mut client, location, upto)?;
        Ok(Self {
            backend: Backend::Postgres {
                client: Box::new(RefCell::new(client)),
                in_transaction: Cell::new(false),
            },
            location: location.clone(),
        })
    }

    /// Where this store lives.
    #[must_use]
    pub fn location(&self) -> &Location {
        &self.location
    }

    /// The file this store reads and writes, for an SQLite store.
    #[must_use]
    pub fn path(&self) -> Option<&Path> {
        self.location.path()
    }

    /// The schema version of the store (equal to [`SCHEMA_VERSION`] once open).
    ///
    /// # Errors
    ///
    /// When the store cannot be read.
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        match &self.backend {
            Backend::Sqlite(conn) => {
                migrations::sqlite::user_version(conn).map_err(|e| self.sqlite_err(e))
            }
            Backend::Postgres { client, .. } => {
                migrations::postgres::read_version(&mut client.borrow_mut())
                    .map_err(|e| self.postgres_err(e))
            }
        }
    }

    /// Runs `work` in one transaction: every write it makes is committed together when it
    /// returns `Ok`, and none is when it returns `Err` (or panics). The store's write methods
    /// called inside join this transaction.
    ///
    /// # Errors
    ///
    /// The error of `work`, or of the commit.
    pub fn transaction<T>(
        &mut self,
        work: impl FnOnce(&Self) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let tx = self.begin()?;
        let value = work(self)?;
        tx.commit()?;
        Ok(value)
    }
}
