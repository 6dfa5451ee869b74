//! SQLite's migrations: the version a file has is kept in `PRAGMA user_version` (0 for a new
//! file). Each script and the version bump it implies run in one transaction, so a crash
//! leaves the file at the old version or the new one, never in between.

use std::path::Path;

use rusqlite::{Connection, Transaction, TransactionBehavior};

use super::SCHEMA_VERSION;
use crate::{Location, StoreError};

/// The migration scripts, in order.
pub(crate) const MIGRATIONS: &[&str] = &[
    // Version 1: studies, their trials, and runs.
    // Times are milliseconds since the Unix epoch.
    "
    CREATE TABLE studies (
        id          INTEGER PRIMARY KEY,
        name        TEXT NOT NULL UNIQUE,
        spec_json   TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        created_at  INTEGER NOT NULL,
        status      TEXT NOT NULL
                    CHECK (status IN ('running', 'finished', 'interrupted'))
    ) STRICT;

    CREATE TABLE trials (
        id           INTEGER PRIMARY KEY,
        study_id     INTEGER NOT NULL REFERENCES studies (id) ON DELETE CASCADE,
        number       INTEGER NOT NULL CHECK (number >= 0),
        params_json  TEXT NOT NULL,
        state        TEXT NOT NULL
                     CHECK (state IN ('running', 'complete', 'failed', 'pruned',
                                      'violated', 'abandoned')),
        objective    REAL,
        metrics_json TEXT,
        reason       TEXT,
        started_at   INTEGER NOT NULL,
        finished_at  INTEGER,
        UNIQUE (study_id, number)
    ) STRICT;

    CREATE TABLE runs (
        id          INTEGER PRIMARY KEY,
        study_id    INTEGER REFERENCES studies (id) ON DELETE SET NULL,
        trial_id    INTEGER REFERENCES trials (id) ON DELETE SET NULL,
        kind        TEXT NOT NULL,
        started_at  INTEGER NOT NULL,
        record_json TEXT NOT NULL
    ) STRICT;

    CREATE INDEX runs_by_study ON runs (study_id);
    CREATE INDEX runs_by_trial ON runs (trial_id);
    ",
    // Version 2: why a trial ran (`explore`, `baseline`, `confirm`) and, for a re-measurement,
    // its round. Trials written before are exploration trials.
    "
    ALTER TABLE trials ADD COLUMN role TEXT NOT NULL DEFAULT 'explore';
    ALTER TABLE trials ADD COLUMN round INTEGER CHECK (round IS NULL OR round >= 0);
    ",
    // Version 3: history runs (saved by `load`, `capacity`, `bench` and studies, outside any
    // trial): what was measured, by which perfloop on which host and commit, the headline
    // metrics, and tags (key = value, one value per key and run). Rows from before, and the
    // runs of trials, leave these columns NULL.
    "
    ALTER TABLE runs ADD COLUMN target TEXT;
    ALTER TABLE runs ADD COLUMN command_line TEXT;
    ALTER TABLE runs ADD COLUMN perfloop_version TEXT;
    ALTER TABLE runs ADD COLUMN host_json TEXT;
    ALTER TABLE runs ADD COLUMN git_commit TEXT;
    ALTER TABLE runs ADD COLUMN git_branch TEXT;
    ALTER TABLE runs ADD COLUMN metrics_json TEXT;

    CREATE TABLE run_tags (
        run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        key    TEXT NOT NULL,
        value  TEXT NOT NULL,
        PRIMARY KEY (run_id, key)
    ) STRICT;

    CREATE INDEX run_tags_by_key_value ON run_tags (key, value);
    CREATE INDEX runs_by_started_at ON runs (started_at);
    CREATE INDEX runs_by_target ON runs (target, started_at);
    ",
];

/// Reads the schema version of the open database.
pub(crate) fn user_version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.pragma_query_value(None, "user_version", |row| row.get(0))
}

/// Refuses a database whose schema is newer than this build knows.
pub(crate) fn check_version(conn: &Connection, path: &Path) -> Result<i64, StoreError> {
    let found = user_version(conn).map_err(|e| StoreError::classify(path, e))?;
    if found > i64::from(SCHEMA_VERSION) || found < 0 {
        return Err(StoreError::TooNew {
            store: Location::Sqlite(path.to_path_buf()),
            found,
            supported: SCHEMA_VERSION,
        });
    }
    Ok(found)
}

/// Brings the database to version `upto` (at most [`SCHEMA_VERSION`]), one transaction per
/// script; refuses a database newer than this build.
pub(crate) fn migrate(conn: &Connection, path: &Path, upto: u32) -> Result<(), StoreError> {
    let classify = |e| StoreError::classify(path, e);
    let found = check_version(conn, path)?;
    for (index, script) in MIGRATIONS.iter().enumerate().take(upto as usize) {
        let version = u32::try_from(index + 1).unwrap_or(u32::MAX);
        if i64::from(version) <= found {
            continue;
        }
        let tx =
            Transaction::new_unchecked(conn, TransactionBehavior::Immediate).map_err(classify)?;
        // Another process may have migrated between the read above and the lock.
        let now = check_version(&tx, path)?;
        if now >= i64::from(version) {
            continue;
        }
        let failed = |source: rusqlite::Error| StoreError::Migration {
            store: Location::Sqlite(path.to_path_buf()),
            version,
            source: Box::new(source),
        };
        tx.execute_batch(script).map_err(failed)?;
        tx.pragma_update(None, "user_version", version)
            .map_err(failed)?;
        tx.commit().map_err(failed)?;
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// A database written by the first version keeps its trials through the upgrade, and
    /// they read as exploration trials without a round.
    #[test]
    fn version_one_is_upgraded_with_its_trials() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(MIGRATIONS[0]).unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        conn.execute_batch(
            "INSERT INTO studies (name, spec_json, fingerprint, created_at, status)
             VALUES ('s', '{}', 'f', 0, 'running');
             INSERT INTO trials (study_id, number, params_json, state, started_at)
             VALUES (1, 0, '{}', 'complete', 0);",
        )
        .unwrap();

        migrate(&conn, Path::new(":memory:"), SCHEMA_VERSION).unwrap();

        assert_eq!(user_version(&conn).unwrap(), i64::from(SCHEMA_VERSION));
        let (role, round): (String, Option<i64>) = conn
            .query_row("SELECT role, round FROM trials", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!((role.as_str(), round), ("explore", None));
        // The round refuses a negative value.
        assert!(conn.execute("UPDATE trials SET round = -1", []).is_err());
    }
}
