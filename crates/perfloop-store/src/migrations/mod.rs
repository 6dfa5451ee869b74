//! Schema migrations, kept once per backend where the SQL differs (SQLite's
//! `INTEGER PRIMARY KEY` and `STRICT` tables, PostgreSQL's identity columns and `BIGINT`s).
//!
//! Both lists hold the same versions: script `i` (from 0) brings the schema to version
//! `i + 1`. A store's version is kept in SQLite's `PRAGMA user_version`, or in PostgreSQL's
//! `perfloop_schema` table; a store newer than this build is refused, never downgraded.
//! Scripts are never edited once released: a change of schema is a new script at the end of
//! both lists.

pub(crate) mod postgres;
pub(crate) mod sqlite;

/// The newest schema version this build knows.
pub const SCHEMA_VERSION: u32 = sqlite::MIGRATIONS.len() as u32;

const _: () = assert!(sqlite::MIGRATIONS.len() == postgres::MIGRATIONS.len());
