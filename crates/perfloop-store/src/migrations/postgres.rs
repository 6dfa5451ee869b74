//! PostgreSQL's migrations: the same versions as SQLite's, in PostgreSQL's SQL. Every integer
//! is a `BIGINT` (what the store binds), keys are identity columns, and times are milliseconds
//! since the Unix epoch as on SQLite.
//!
//! The version is the one row of the `perfloop_schema` table (no row: version 0). The pending
//! scripts and the version update run in one transaction holding an advisory lock, so two
//! perfloop processes connecting at once to a new database migrate it once; PostgreSQL's
//! transactional DDL leaves the database at the old version or the new one.

use postgres::{Client, GenericClient};

use super::SCHEMA_VERSION;
use crate::error::pg_message;
use crate::{Location, StoreError};

/// The migration scripts, in order (the same versions as SQLite's).
pub(crate) const MIGRATIONS: &[&str] = &[
    // Version 1: studies, their trials, and runs.
    "
    CREATE TABLE studies (
        id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        name        TEXT NOT NULL UNIQUE,
        spec_json   TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        created_at  BIGINT NOT NULL,
        status      TEXT NOT NULL
                    CHECK (status IN ('running', 'finished', 'interrupted'))
    );

    CREATE TABLE trials (
        id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        study_id     BIGINT NOT NULL REFERENCES studies (id) ON DELETE CASCADE,
        number       BIGINT NOT NULL CHECK (number >= 0),
        params_json  TEXT NOT NULL,
        state        TEXT NOT NULL
                     CHECK (state IN ('running', 'complete', 'failed', 'pruned',
                                      'violated', 'abandoned')),
        objective    DOUBLE PRECISION,
        metrics_json TEXT,
        reason       TEXT,
        started_at   BIGINT NOT NULL,
        finished_at  BIGINT,
        UNIQUE (study_id, number)
    );

    CREATE TABLE runs (
        id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        study_id    BIGINT REFERENCES studies (id) ON DELETE SET NULL,
        trial_id    BIGINT REFERENCES trials (id) ON DELETE SET NULL,
        kind        TEXT NOT NULL,
        started_at  BIGINT NOT NULL,
        record_json TEXT NOT NULL
    );

    CREATE INDEX runs_by_study ON runs (study_id);
    CREATE INDEX runs_by_trial ON runs (trial_id);
    ",
    // Version 2: a trial's role and round.
    "
    ALTER TABLE trials ADD COLUMN role TEXT NOT NULL DEFAULT 'explore';
    ALTER TABLE trials ADD COLUMN round BIGINT CHECK (round IS NULL OR round >= 0);
    ",
    // Version 3: history runs and their tags.
    "
    ALTER TABLE runs ADD COLUMN target TEXT;
    ALTER TABLE runs ADD COLUMN command_line TEXT;
    ALTER TABLE runs ADD COLUMN perfloop_version TEXT;
    ALTER TABLE runs ADD COLUMN host_json TEXT;
    ALTER TABLE runs ADD COLUMN git_commit TEXT;
    ALTER TABLE runs ADD COLUMN git_branch TEXT;
    ALTER TABLE runs ADD COLUMN metrics_json TEXT;

    CREATE TABLE run_tags (
        run_id BIGINT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        key    TEXT NOT NULL,
        value  TEXT NOT NULL,
        PRIMARY KEY (run_id, key)
    );

    CREATE INDEX run_tags_by_key_value ON run_tags (key, value);
    CREATE INDEX runs_by_started_at ON runs (started_at);
    CREATE INDEX runs_by_target ON runs (target, started_at);
    ",
];

/// The advisory lock key held while migrating (any constant shared by all perfloop builds).
const MIGRATION_LOCK: i64 = 0x7065_7266_6c6f_6f70; // "perfloop"

/// Brings the database to version `upto` (at most [`SCHEMA_VERSION`]); refuses a database
/// newer than this build before changing anything.
pub(crate) fn migrate(client: &mut Client, store: &Location, upto: u32) -> Result<(), StoreError> {
    let error = |source: postgres::Error| StoreError::Postgres {
        store: store.clone(),
        message: pg_message(&source),
        source,
    };
    let found = read_version(client).map_err(error)?;
    check(store, found)?;
    if found >= i64::from(upto) {
        return Ok(());
    }
    let mut tx = client.transaction().map_err(error)?;
    tx.query_one("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .map_err(error)?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS perfloop_schema (version BIGINT NOT NULL)")
        .map_err(error)?;
    // Another process may have migrated between the read above and the lock.
    let found = version_in(&mut tx).map_err(error)?;
    check(store, found)?;
    for (index, script) in MIGRATIONS.iter().enumerate().take(upto as usize) {
        let version = u32::try_from(index + 1).unwrap_or(u32::MAX);
        if i64::from(version) <= found {
            continue;
        }
        let failed = |source: postgres::Error| StoreError::Migration {
            store: store.clone(),
            version,
            source: Box::new(source),
        };
        tx.batch_execute(script).map_err(failed)?;
        tx.execute("DELETE FROM perfloop_schema", &[])
            .map_err(failed)?;
        tx.execute(
            "INSERT INTO perfloop_schema (version) VALUES ($1)",
            &[&i64::from(version)],
        )
        .map_err(failed)?;
    }
    tx.commit().map_err(error)
}

/// The schema version of the database: 0 before the first migration.
pub(crate) fn read_version(client: &mut Client) -> Result<i64, postgres::Error> {
    let exists: bool = client
        .query_one("SELECT to_regclass('perfloop_schema') IS NOT NULL", &[])?
        .try_get(0)?;
    if !exists {
        return Ok(0);
    }
    version_in(client)
}

fn version_in(client: &mut impl GenericClient) -> Result<i64, postgres::Error> {
    let row = client.query_one("SELECT MAX(version) FROM perfloop_schema", &[])?;
    Ok(row.try_get::<_, Option<i64>>(0)?.unwrap_or(0))
}

fn check(store: &Location, found: i64) -> Result<(), StoreError> {
    if found > i64::from(SCHEMA_VERSION) || found < 0 {
        return Err(StoreError::TooNew {
            store: store.clone(),
            found,
            supported: SCHEMA_VERSION,
        });
    }
    Ok(())
}
