//! perfloop's history store: tuning studies, their trials and runs, persisted in SQLite.
//!
//! SQLite is used through `rusqlite` with its bundled library, so the store needs nothing
//! installed on the machine. One file holds everything; [`default_path`] says where it lives.
//!
//! # Durability
//!
//! The store opens the file with `journal_mode=WAL`, `synchronous=FULL` and
//! `foreign_keys=ON`, and waits up to [`BUSY_TIMEOUT`] for a lock held by another process.
//! Every write method runs in its own transaction that is committed (and synced to disk)
//! before the method returns, or inside the caller's transaction (see
//! [`Store::transaction`]). A process killed at any point (even `kill -9`) leaves the file as
//! it was after its last committed write.
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
//! The schema is created and upgraded by migrations (see [`SCHEMA_VERSION`]); a file written
//! by a newer perfloop is refused, never downgraded.

mod error;
mod migrations;
mod model;

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use rusqlite::{Connection, OptionalExtension, Row, Transaction, TransactionBehavior, params};

pub use error::StoreError;
pub use migrations::SCHEMA_VERSION;
pub use model::{
    FinalState, NewRun, NewStudy, RunId, RunRow, StudyId, StudyRow, StudyStatus, TrialId,
    TrialOutcome, TrialRow, TrialState,
};
use model::{from_millis, to_millis};

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

/// An open history store: one SQLite connection to one file.
#[derive(Debug)]
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

impl Store {
    /// Opens the store at `path`, creating its parent directory and the file when needed,
    /// and brings its schema up to date.
    ///
    /// # Errors
    ///
    /// [`StoreError::CreateDir`] or [`StoreError::Open`] when the file cannot be created or
    /// opened, [`StoreError::Corrupt`] when it is not an SQLite database,
    /// [`StoreError::TooNew`] when a newer perfloop wrote it, [`StoreError::Migration`] when
    /// a migration fails, [`StoreError::Busy`] when another process keeps it locked.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
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
        migrations::check_version(&conn, path)?;
        conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get::<_, String>(0))
            .map_err(classify)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(classify)?;
        conn.pragma_update(None, "foreign_keys", true)
            .map_err(classify)?;
        migrations::migrate(&conn, path)?;
        Ok(Self {
            conn,
            path: path.to_path_buf(),
        })
    }

    /// The file this store reads and writes.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The schema version of the file (equal to [`SCHEMA_VERSION`] once open).
    ///
    /// # Errors
    ///
    /// When the file cannot be read.
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        migrations::user_version(&self.conn).map_err(|e| self.err(e))
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
        let tx = Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)
            .map_err(|e| self.err(e))?;
        let value = work(self)?;
        tx.commit().map_err(|e| self.err(e))?;
        Ok(value)
    }

    /// Creates a study, `running`, and returns its id.
    ///
    /// # Errors
    ///
    /// [`StoreError::DuplicateStudy`] when a study has this name already.
    pub fn create_study(&self, study: &NewStudy) -> Result<StudyId, StoreError> {
        self.write(|conn| {
            let exists = conn
                .query_row(
                    "SELECT 1 FROM studies WHERE name = ?1",
                    [&study.name],
                    |_| Ok(()),
                )
                .optional()
                .map_err(|e| self.err(e))?
                .is_some();
            if exists {
                return Err(StoreError::DuplicateStudy {
                    path: self.path.clone(),
                    name: study.name.clone(),
                });
            }
            conn.execute(
                "INSERT INTO studies (name, spec_json, fingerprint, created_at, status)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    study.name,
                    study.spec_json,
                    study.fingerprint,
                    to_millis(SystemTime::now()),
                    StudyStatus::Running.as_str(),
                ],
            )
            .map_err(|e| self.err(e))?;
            Ok(StudyId(conn.last_insert_rowid()))
        })
    }

    /// The study with this name, if any.
    ///
    /// # Errors
    ///
    /// When the file cannot be read or holds an unknown status.
    pub fn find_study(&self, name: &str) -> Result<Option<StudyRow>, StoreError> {
        self.conn
            .query_row(
                "SELECT id, name, spec_json, fingerprint, created_at, status
                 FROM studies WHERE name = ?1",
                [name],
                raw_study,
            )
            .optional()
            .map_err(|e| self.err(e))?
            .map(|raw| self.study_row(raw))
            .transpose()
    }

    /// The study with this id, if any.
    ///
    /// # Errors
    ///
    /// When the file cannot be read or holds an unknown status.
    pub fn study(&self, id: StudyId) -> Result<Option<StudyRow>, StoreError> {
        self.conn
            .query_row(
                "SELECT id, name, spec_json, fingerprint, created_at, status
                 FROM studies WHERE id = ?1",
                [id.0],
                raw_study,
            )
            .optional()
            .map_err(|e| self.err(e))?
            .map(|raw| self.study_row(raw))
            .transpose()
    }

    /// Sets the status of a study.
    ///
    /// # Errors
    ///
    /// [`StoreError::StudyNotFound`] when no study has this id.
    pub fn set_study_status(&self, id: StudyId, status: StudyStatus) -> Result<(), StoreError> {
        self.write(|conn| {
            let changed = conn
                .execute(
                    "UPDATE studies SET status = ?1 WHERE id = ?2",
                    params![status.as_str(), id.0],
                )
                .map_err(|e| self.err(e))?;
            if changed == 0 {
                return Err(self.study_not_found(id));
            }
            Ok(())
        })
    }

    /// The number for the study's next trial: the highest number used so far plus one
    /// (abandoned trials included), 0 for a study without trials.
    ///
    /// # Errors
    ///
    /// When the file cannot be read.
    pub fn next_trial_number(&self, study: StudyId) -> Result<u32, StoreError> {
        let max: Option<i64> = self
            .conn
            .query_row(
                "SELECT MAX(number) FROM trials WHERE study_id = ?1",
                [study.0],
                |row| row.get(0),
            )
            .map_err(|e| self.err(e))?;
        match max {
            None => Ok(0),
            Some(max) => u32::try_from(max + 1).map_err(|_| StoreError::InvalidData {
                path: self.path.clone(),
                detail: format!("trial number {max} in study {study}"),
            }),
        }
    }

    /// Records trial `number` of `study` as `running` with these parameters, before it is
    /// measured, and returns its id.
    ///
    /// # Errors
    ///
    /// [`StoreError::StudyNotFound`] when the study does not exist,
    /// [`StoreError::DuplicateTrial`] when the number is taken (numbers are never reused).
    pub fn begin_trial(
        &self,
        study: StudyId,
        number: u32,
        params_json: &str,
    ) -> Result<TrialId, StoreError> {
        self.begin_trial_as(study, number, params_json, DEFAULT_ROLE, None)
    }

    /// [`Store::begin_trial`] with the trial's role (why it runs, such as `explore`,
    /// `baseline` or `confirm`) and its round, when it is one of a series of
    /// re-measurements.
    ///
    /// # Errors
    ///
    /// As [`Store::begin_trial`].
    pub fn begin_trial_as(
        &self,
        study: StudyId,
        number: u32,
        params_json: &str,
        role: &str,
        round: Option<u32>,
    ) -> Result<TrialId, StoreError> {
        self.write(|conn| {
            if self.study(study)?.is_none() {
                return Err(self.study_not_found(study));
            }
            let taken = conn
                .query_row(
                    "SELECT 1 FROM trials WHERE study_id = ?1 AND number = ?2",
                    params![study.0, number],
                    |_| Ok(()),
                )
                .optional()
                .map_err(|e| self.err(e))?
                .is_some();
            if taken {
                return Err(StoreError::DuplicateTrial {
                    path: self.path.clone(),
                    study,
                    number,
                });
            }
            conn.execute(
                "INSERT INTO trials (study_id, number, params_json, state, started_at, role, round)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    study.0,
                    number,
                    params_json,
                    TrialState::Running.as_str(),
                    to_millis(SystemTime::now()),
                    role,
                    round,
                ],
            )
            .map_err(|e| self.err(e))?;
            Ok(TrialId(conn.last_insert_rowid()))
        })
    }

    /// Finishes a running trial with its outcome; durable when this returns.
    ///
    /// # Errors
    ///
    /// [`StoreError::TrialNotFound`], [`StoreError::TrialNotRunning`] when it was finished or
    /// abandoned already, [`StoreError::NanObjective`] for a NaN objective.
    pub fn finish_trial(&self, id: TrialId, outcome: &TrialOutcome) -> Result<(), StoreError> {
        if outcome.objective.is_some_and(f64::is_nan) {
            return Err(StoreError::NanObjective {
                path: self.path.clone(),
                id,
            });
        }
        self.write(|conn| {
            let Some(trial) = self.trial(id)? else {
                return Err(StoreError::TrialNotFound {
                    path: self.path.clone(),
                    id,
                });
            };
            if trial.state != TrialState::Running {
                return Err(StoreError::TrialNotRunning {
                    path: self.path.clone(),
                    id,
                    state: trial.state,
                });
            }
            conn.execute(
                "UPDATE trials SET state = ?1, objective = ?2, metrics_json = ?3, reason = ?4,
                                   started_at = ?5, finished_at = ?6
                 WHERE id = ?7",
                params![
                    outcome.state.as_str(),
                    outcome.objective,
                    outcome.metrics_json,
                    outcome.reason,
                    to_millis(outcome.started_at),
                    to_millis(outcome.finished_at),
                    id.0,
                ],
            )
            .map_err(|e| self.err(e))?;
            Ok(())
        })
    }

    /// The trial with this id, if any.
    ///
    /// # Errors
    ///
    /// When the file cannot be read or holds an unknown state.
    pub fn trial(&self, id: TrialId) -> Result<Option<TrialRow>, StoreError> {
        self.conn
            .query_row(
                &format!("SELECT {TRIAL_COLUMNS} FROM trials WHERE id = ?1"),
                [id.0],
                raw_trial,
            )
            .optional()
            .map_err(|e| self.err(e))?
            .map(|raw| self.trial_row(raw))
            .transpose()
    }

    /// The trials of a study, in the order of their numbers, whatever their state.
    ///
    /// # Errors
    ///
    /// When the file cannot be read or holds an unknown state.
    pub fn trials(&self, study: StudyId) -> Result<Vec<TrialRow>, StoreError> {
        self.select_trials(
            &format!("SELECT {TRIAL_COLUMNS} FROM trials WHERE study_id = ?1 ORDER BY number"),
            study,
        )
    }

    /// Marks the study's `running` trials `abandoned` (with [`ABANDONED_REASON`] and the
    /// current time as finish time) and returns them, in number order. Call it when resuming a
    /// study: a trial still `running` then was left so by a process that died. Abandoned trials
    /// stay in the store for the record, are never counted as results, and keep their numbers
    /// ([`Store::next_trial_number`] goes on after them).
    ///
    /// # Errors
    ///
    /// When the file cannot be read or written.
    pub fn abandon_running(&self, study: StudyId) -> Result<Vec<TrialRow>, StoreError> {
        self.write(|conn| {
            let running = self.select_trials(
                &format!(
                    "SELECT {TRIAL_COLUMNS} FROM trials
                     WHERE study_id = ?1 AND state = 'running' ORDER BY number"
                ),
                study,
            )?;
            let now = to_millis(SystemTime::now());
            conn.execute(
                "UPDATE trials SET state = ?1, reason = ?2, finished_at = ?3
                 WHERE study_id = ?4 AND state = 'running'",
                params![
                    TrialState::Abandoned.as_str(),
                    ABANDONED_REASON,
                    now,
                    study.0
                ],
            )
            .map_err(|e| self.err(e))?;
            Ok(running
                .into_iter()
                .map(|trial| TrialRow {
                    state: TrialState::Abandoned,
                    reason: Some(ABANDONED_REASON.to_owned()),
                    finished_at: Some(from_millis(now)),
                    ..trial
                })
                .collect())
        })
    }

    /// Records a run and returns its id.
    ///
    /// # Errors
    ///
    /// [`StoreError::Sqlite`] when the study or trial it names does not exist, or the file
    /// cannot be written.
    pub fn insert_run(&self, run: &NewRun) -> Result<RunId, StoreError> {
        self.write(|conn| {
            conn.execute(
                "INSERT INTO runs (study_id, trial_id, kind, started_at, record_json)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    run.study.map(StudyId::get),
                    run.trial.map(TrialId::get),
                    run.kind,
                    to_millis(run.started_at),
                    run.record_json,
                ],
            )
            .map_err(|e| self.err(e))?;
            Ok(RunId(conn.last_insert_rowid()))
        })
    }

    /// The runs of a trial, in the order they were recorded.
    ///
    /// # Errors
    ///
    /// When the file cannot be read.
    pub fn runs_of_trial(&self, trial: TrialId) -> Result<Vec<RunRow>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, study_id, trial_id, kind, started_at, record_json
                 FROM runs WHERE trial_id = ?1 ORDER BY id",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([trial.0], |row| {
                Ok(RunRow {
                    id: RunId(row.get(0)?),
                    study: row.get::<_, Option<i64>>(1)?.map(StudyId),
                    trial: row.get::<_, Option<i64>>(2)?.map(TrialId),
                    kind: row.get(3)?,
                    started_at: from_millis(row.get(4)?),
                    record_json: row.get(5)?,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| self.err(e))
    }

    /// Runs `work` in its own immediate transaction, committed before returning, or inside
    /// the caller's transaction when one is open (as a savepoint).
    fn write<T>(
        &self,
        work: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        if self.conn.is_autocommit() {
            let tx = Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)
                .map_err(|e| self.err(e))?;
            let value = work(&tx)?;
            tx.commit().map_err(|e| self.err(e))?;
            Ok(value)
        } else {
            self.conn
                .execute_batch("SAVEPOINT perfloop_write")
                .map_err(|e| self.err(e))?;
            match work(&self.conn) {
                Ok(value) => {
                    self.conn
                        .execute_batch("RELEASE perfloop_write")
                        .map_err(|e| self.err(e))?;
                    Ok(value)
                }
                Err(error) => {
                    // The caller's transaction goes on without this write; if the rollback
                    // itself fails, the caller's rollback discards everything anyway.
                    let _ = self
                        .conn
                        .execute_batch("ROLLBACK TO perfloop_write; RELEASE perfloop_write");
                    Err(error)
                }
            }
        }
    }

    fn select_trials(&self, sql: &str, study: StudyId) -> Result<Vec<TrialRow>, StoreError> {
        let mut stmt = self.conn.prepare_cached(sql).map_err(|e| self.err(e))?;
        let raws = stmt
            .query_map([study.0], raw_trial)
            .map_err(|e| self.err(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))?;
        raws.into_iter().map(|raw| self.trial_row(raw)).collect()
    }

    fn err(&self, source: rusqlite::Error) -> StoreError {
        StoreError::classify(&self.path, source)
    }

    fn study_not_found(&self, id: StudyId) -> StoreError {
        StoreError::StudyNotFound {
            path: self.path.clone(),
            id,
        }
    }

    fn invalid(&self, what: &str, value: &str) -> StoreError {
        StoreError::InvalidData {
            path: self.path.clone(),
            detail: format!("{what} {value:?}"),
        }
    }

    fn study_row(&self, raw: RawStudy) -> Result<StudyRow, StoreError> {
        let status = StudyStatus::parse(&raw.status)
            .ok_or_else(|| self.invalid("study status", &raw.status))?;
        Ok(StudyRow {
            id: StudyId(raw.id),
            name: raw.name,
            spec_json: raw.spec_json,
            fingerprint: raw.fingerprint,
            created_at: from_millis(raw.created_at),
            status,
        })
    }

    fn trial_row(&self, raw: RawTrial) -> Result<TrialRow, StoreError> {
        let state =
            TrialState::parse(&raw.state).ok_or_else(|| self.invalid("trial state", &raw.state))?;
        let number = u32::try_from(raw.number)
            .map_err(|_| self.invalid("trial number", &raw.number.to_string()))?;
        let round = raw
            .round
            .map(|r| u32::try_from(r).map_err(|_| self.invalid("trial round", &r.to_string())))
            .transpose()?;
        Ok(TrialRow {
            id: TrialId(raw.id),
            study: StudyId(raw.study),
            number,
            params_json: raw.params_json,
            state,
            objective: raw.objective,
            metrics_json: raw.metrics_json,
            reason: raw.reason,
            started_at: from_millis(raw.started_at),
            finished_at: raw.finished_at.map(from_millis),
            role: raw.role,
            round,
        })
    }
}

/// A study as read, before its status is checked.
struct RawStudy {
    id: i64,
    name: String,
    spec_json: String,
    fingerprint: String,
    created_at: i64,
    status: String,
}

fn raw_study(row: &Row<'_>) -> rusqlite::Result<RawStudy> {
    Ok(RawStudy {
        id: row.get(0)?,
        name: row.get(1)?,
        spec_json: row.get(2)?,
        fingerprint: row.get(3)?,
        created_at: row.get(4)?,
        status: row.get(5)?,
    })
}

const TRIAL_COLUMNS: &str = "id, study_id, number, params_json, state, objective, \
                             metrics_json, reason, started_at, finished_at, role, round";

/// A trial as read, before its state and number are checked.
struct RawTrial {
    id: i64,
    study: i64,
    number: i64,
    params_json: String,
    state: String,
    objective: Option<f64>,
    metrics_json: Option<String>,
    reason: Option<String>,
    started_at: i64,
    finished_at: Option<i64>,
    role: String,
    round: Option<i64>,
}

fn raw_trial(row: &Row<'_>) -> rusqlite::Result<RawTrial> {
    Ok(RawTrial {
        id: row.get(0)?,
        study: row.get(1)?,
        number: row.get(2)?,
        params_json: row.get(3)?,
        state: row.get(4)?,
        objective: row.get(5)?,
        metrics_json: row.get(6)?,
        reason: row.get(7)?,
        started_at: row.get(8)?,
        finished_at: row.get(9)?,
        role: row.get(10)?,
        round: row.get(11)?,
    })
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::model::{from_millis, to_millis};

    #[test]
    fn times_round_trip_at_millisecond_precision() {
        for millis in [0, 1, -1, 1_700_000_000_123, -86_400_000] {
            assert_eq!(to_millis(from_millis(millis)), millis);
        }
        let time = UNIX_EPOCH + Duration::from_nanos(1_700_000_000_123_456_789);
        assert_eq!(to_millis(time), 1_700_000_000_123);
    }
}
