//! The two backends behind one [`Store`]: an SQLite connection or a PostgreSQL client.
//!
//! The store's queries are written once, in the SQL both databases accept, with `?1`-style
//! placeholders (rewritten to `$1` for PostgreSQL) and `RETURNING id` for new keys. Values go
//! in as [`Param`]s and come back as [`Row`]s of [`Cell`]s, so the store's logic does not
//! depend on the backend. Only connecting and the schema migrations differ (see
//! [`crate::migrations`]).
//!
//! Transactions: a write outside any transaction runs in its own (`BEGIN IMMEDIATE` on SQLite,
//! so a writer waits for the lock up front; `BEGIN` on PostgreSQL), a write inside the
//! caller's transaction runs in a savepoint. A transaction still open when its guard is
//! dropped (an error or a panic in between) is rolled back.

use std::cell::{Cell as StdCell, RefCell};

use postgres::types::{ToSql as PgToSql, Type};
use rusqlite::types::{ToSql as SqliteToSql, ValueRef};

use crate::error::pg_message;
use crate::{Store, StoreError};

/// The database connection of a store.
pub(crate) enum Backend {
    /// An SQLite file.
    Sqlite(rusqlite::Connection),
    /// A PostgreSQL database; the client is borrowed for one statement at a time.
    Postgres {
        /// The client (boxed: it is several times the size of an SQLite connection).
        client: Box<RefCell<postgres::Client>>,
        /// Whether a transaction is open (PostgreSQL clients do not say).
        in_transaction: StdCell<bool>,
    },
}

impl std::fmt::Debug for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Sqlite(conn) => f.debug_tuple("Sqlite").field(conn).finish(),
            Self::Postgres { .. } => f.write_str("Postgres"),
        }
    }
}

/// A statement parameter, typed so that a NULL has a type on PostgreSQL.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Param<'a> {
    /// An integer (`INTEGER` / `BIGINT`).
    Int(Option<i64>),
    /// A floating-point number (`REAL` / `DOUBLE PRECISION`).
    Real(Option<f64>),
    /// A text.
    Text(Option<&'a str>),
}

impl Param<'_> {
    fn sqlite(&self) -> &dyn SqliteToSql {
        match self {
            Self::Int(v) => v,
            Self::Real(v) => v,
            Self::Text(v) => v,
        }
    }

    fn postgres(&self) -> &(dyn PgToSql + Sync) {
        match self {
            Self::Int(v) => v,
            Self::Real(v) => v,
            Self::Text(v) => v,
        }
    }
}

/// Shorthands for parameters.
pub(crate) fn int(value: i64) -> Param<'static> {
    Param::Int(Some(value))
}

/// A text parameter.
pub(crate) fn text(value: &str) -> Param<'_> {
    Param::Text(Some(value))
}

/// A value read from a row.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cell {
    /// NULL.
    Null,
    /// An integer.
    Int(i64),
    /// A floating-point number.
    Real(f64),
    /// A text.
    Text(String),
}

/// A row read from a query.
#[derive(Debug)]
pub(crate) struct Row(Vec<Cell>);

impl Row {
    fn cell(&self, index: usize) -> &Cell {
        self.0.get(index).unwrap_or(&Cell::Null)
    }

    /// The integer in column `index`, if any.
    pub(crate) fn opt_int(&self, index: usize) -> Option<i64> {
        match self.cell(index) {
            Cell::Int(v) => Some(*v),
            _ => None,
        }
    }

    /// The integer in column `index` (0 for a NULL, which the schema forbids where this is
    /// used).
    pub(crate) fn int(&self, index: usize) -> i64 {
        self.opt_int(index).unwrap_or_default()
    }

    /// The number in column `index`, if any.
    pub(crate) fn opt_real(&self, index: usize) -> Option<f64> {
        match self.cell(index) {
            Cell::Real(v) => Some(*v),
            #[allow(clippy::cast_precision_loss)]
            Cell::Int(v) => Some(*v as f64),
            _ => None,
        }
    }

    /// The text in column `index`, if any.
    pub(crate) fn opt_text(&self, index: usize) -> Option<String> {
        match self.cell(index) {
            Cell::Text(v) => Some(v.clone()),
            _ => None,
        }
    }

    /// The text in column `index` (empty for a NULL, which the schema forbids where this is
    /// used).
    pub(crate) fn text(&self, index: usize) -> String {
        self.opt_text(index).unwrap_or_default()
    }
}

/// Rewrites `?N` placeholders into PostgreSQL's `$N`.
fn postgres_sql(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '?' && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push('$');
        } else {
            out.push(c);
        }
    }
    out
}

fn sqlite_row(row: &rusqlite::Row<'_>, columns: usize) -> rusqlite::Result<Row> {
    let mut cells = Vec::with_capacity(columns);
    for index in 0..columns {
        cells.push(match row.get_ref(index)? {
            ValueRef::Null => Cell::Null,
            ValueRef::Integer(v) => Cell::Int(v),
            ValueRef::Real(v) => Cell::Real(v),
            ValueRef::Text(v) => Cell::Text(String::from_utf8_lossy(v).into_owned()),
            ValueRef::Blob(v) => Cell::Text(String::from_utf8_lossy(v).into_owned()),
        });
    }
    Ok(Row(cells))
}

fn postgres_row(row: &postgres::Row) -> Result<Row, postgres::Error> {
    let mut cells = Vec::with_capacity(row.len());
    for (index, column) in row.columns().iter().enumerate() {
        let ty = column.type_();
        let cell = if *ty == Type::INT8 {
            row.try_get::<_, Option<i64>>(index)?.map(Cell::Int)
        } else if *ty == Type::INT4 {
            row.try_get::<_, Option<i32>>(index)?
                .map(|v| Cell::Int(i64::from(v)))
        } else if *ty == Type::FLOAT8 {
            row.try_get::<_, Option<f64>>(index)?.map(Cell::Real)
        } else {
            row.try_get::<_, Option<String>>(index)?.map(Cell::Text)
        };
        cells.push(cell.unwrap_or(Cell::Null));
    }
    Ok(Row(cells))
}

impl Store {
    /// The error of an SQLite statement on this store.
    pub(crate) fn sqlite_err(&self, source: rusqlite::Error) -> StoreError {
        match self.location.path() {
            Some(path) => StoreError::classify(path, source),
            None => StoreError::InvalidData {
                store: self.location.clone(),
                detail: source.to_string(),
            },
        }
    }

    /// The error of a PostgreSQL statement on this store.
    pub(crate) fn postgres_err(&self, source: postgres::Error) -> StoreError {
        StoreError::Postgres {
            store: self.location.clone(),
            message: pg_message(&source),
            source,
        }
    }

    /// Runs a statement and returns the number of rows it changed.
    pub(crate) fn exec(&self, sql: &str, params: &[Param<'_>]) -> Result<u64, StoreError> {
        match &self.backend {
            Backend::Sqlite(conn) => {
                let values: Vec<&dyn SqliteToSql> = params.iter().map(Param::sqlite).collect();
                let mut stmt = conn.prepare_cached(sql).map_err(|e| self.sqlite_err(e))?;
                let changed = stmt
                    .execute(values.as_slice())
                    .map_err(|e| self.sqlite_err(e))?;
                Ok(changed as u64)
            }
            Backend::Postgres { client, .. } => {
                let values: Vec<&(dyn PgToSql + Sync)> =
                    params.iter().map(Param::postgres).collect();
                client
                    .borrow_mut()
                    .execute(postgres_sql(sql).as_str(), &values)
                    .map_err(|e| self.postgres_err(e))
            }
        }
    }

    /// Runs a query and returns its rows.
    pub(crate) fn rows(&self, sql: &str, params: &[Param<'_>]) -> Result<Vec<Row>, StoreError> {
        match &self.backend {
            Backend::Sqlite(conn) => {
                let values: Vec<&dyn SqliteToSql> = params.iter().map(Param::sqlite).collect();
                let mut stmt = conn.prepare_cached(sql).map_err(|e| self.sqlite_err(e))?;
                let columns = stmt.column_count();
                let rows = stmt
                    .query_map(values.as_slice(), |row| sqlite_row(row, columns))
                    .map_err(|e| self.sqlite_err(e))?;
                rows.collect::<Result<_, _>>()
                    .map_err(|e| self.sqlite_err(e))
            }
            Backend::Postgres { client, .. } => {
                let values: Vec<&(dyn PgToSql + Sync)> =
                    params.iter().map(Param::postgres).collect();
                let rows = client
                    .borrow_mut()
                    .query(postgres_sql(sql).as_str(), &values)
                    .map_err(|e| self.postgres_err(e))?;
                rows.iter()
                    .map(postgres_row)
                    .collect::<Result<_, _>>()
                    .map_err(|e| self.postgres_err(e))
            }
        }
    }

    /// The first row of a query, if any.
    pub(crate) fn row(&self, sql: &str, params: &[Param<'_>]) -> Result<Option<Row>, StoreError> {
        Ok(self.rows(sql, params)?.into_iter().next())
    }

    /// Runs SQL without parameters or results (transaction control).
    fn batch(&self, sql: &str) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite(conn) => conn.execute_batch(sql).map_err(|e| self.sqlite_err(e)),
            Backend::Postgres { client, .. } => client
                .borrow_mut()
                .batch_execute(sql)
                .map_err(|e| self.postgres_err(e)),
        }
    }

    /// Whether a transaction is open.
    fn in_transaction(&self) -> bool {
        match &self.backend {
            Backend::Sqlite(conn) => !conn.is_autocommit(),
            Backend::Postgres { in_transaction, .. } => in_transaction.get(),
        }
    }

    fn set_in_transaction(&self, open: bool) {
        if let Backend::Postgres { in_transaction, .. } = &self.backend {
            in_transaction.set(open);
        }
    }

    /// Opens a transaction; it is rolled back unless committed through the guard.
    pub(crate) fn begin(&self) -> Result<TxGuard<'_>, StoreError> {
        let sql = match self.backend {
            Backend::Sqlite(_) => "BEGIN IMMEDIATE",
            Backend::Postgres { .. } => "BEGIN",
        };
        self.batch(sql)?;
        self.set_in_transaction(true);
        Ok(TxGuard { store: self })
    }

    /// Runs `work` in its own transaction, committed before returning, or inside the caller's
    /// transaction when one is open (as a savepoint, so a failed write is undone alone).
    pub(crate) fn write<T>(
        &self,
        work: impl FnOnce() -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        if !self.in_transaction() {
            let tx = self.begin()?;
            let value = work()?;
            tx.commit()?;
            return Ok(value);
        }
        self.batch("SAVEPOINT perfloop_write")?;
        match work() {
            Ok(value) => {
                self.batch("RELEASE SAVEPOINT perfloop_write")?;
                Ok(value)
            }
            Err(error) => {
                // The caller's transaction goes on without this write; if the rollback
                // itself fails, the caller's rollback discards everything anyway.
                let _ = self.batch(
                    "ROLLBACK TO SAVEPOINT perfloop_write; RELEASE SAVEPOINT perfloop_write",
                );
                Err(error)
            }
        }
    }
}

/// An open transaction, rolled back when dropped uncommitted.
pub(crate) struct TxGuard<'a> {
    store: &'a Store,
}

impl TxGuard<'_> {
    /// Commits the transaction.
    pub(crate) fn commit(self) -> Result<(), StoreError> {
        let result = self.store.batch("COMMIT");
        // Whatever the outcome, the transaction is over (a failed COMMIT rolls back on
        // PostgreSQL; on SQLite the guard's rollback below ends it).
        if result.is_ok() {
            self.store.set_in_transaction(false);
        }
        result
    }
}

impl Drop for TxGuard<'_> {
    fn drop(&mut self) {
        if self.store.in_transaction() {
            // The connection is left usable: an error here means no transaction was open.
            let _ = self.store.batch("ROLLBACK");
            self.store.set_in_transaction(false);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::postgres_sql;

    #[test]
    fn placeholders_are_rewritten_for_postgres() {
        assert_eq!(
            postgres_sql("SELECT a FROM t WHERE b = ?1 AND c IN (?2, ?10) AND d = '?'"),
            "SELECT a FROM t WHERE b = $1 AND c IN ($2, $10) AND d = '?'"
        );
    }
}
