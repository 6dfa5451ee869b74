//! Tuning studies, their trials, and the runs measured for trials: the store's methods for
//! `perfloop tune`, the same on both backends.

use std::time::SystemTime;

use crate::db::{Param, Row, int, text};
use crate::model::{from_millis, to_millis};
use crate::{
    ABANDONED_REASON, DEFAULT_ROLE, NewRun, NewStudy, RunId, RunRow, Store, StoreError, StudyId,
    StudyRow, StudyStatus, TrialId, TrialOutcome, TrialRow, TrialState,
};

const STUDY_COLUMNS: &str = "id, name, spec_json, fingerprint, created_at, status";

const TRIAL_COLUMNS: &str = "id, study_id, number, params_json, state, objective, \
                             metrics_json, reason, started_at, finished_at, role, round";

impl Store {
    /// Creates a study, `running`, and returns its id.
    ///
    /// # Errors
    ///
    /// [`StoreError::DuplicateStudy`] when a study has this name already.
    pub fn create_study(&self, study: &NewStudy) -> Result<StudyId, StoreError> {
        self.write(|| {
            if self.find_study(&study.name)?.is_some() {
                return Err(StoreError::DuplicateStudy {
                    store: self.location.clone(),
                    name: study.name.clone(),
                });
            }
            let row = self.row(
                "INSERT INTO studies (name, spec_json, fingerprint, created_at, status)
                 VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id",
                &[
                    text(&study.name),
                    text(&study.spec_json),
                    text(&study.fingerprint),
                    int(to_millis(SystemTime::now())),
                    text(StudyStatus::Running.as_str()),
                ],
            )?;
            Ok(StudyId(self.returned_id(row)?))
        })
    }

    /// The study with this name, if any.
    ///
    /// # Errors
    ///
    /// When the store cannot be read or holds an unknown status.
    pub fn find_study(&self, name: &str) -> Result<Option<StudyRow>, StoreError> {
        self.row(
            &format!("SELECT {STUDY_COLUMNS} FROM studies WHERE name = ?1"),
            &[text(name)],
        )?
        .map(|row| self.study_row(&row))
        .transpose()
    }

    /// The study with this id, if any.
    ///
    /// # Errors
    ///
    /// When the store cannot be read or holds an unknown status.
    pub fn study(&self, id: StudyId) -> Result<Option<StudyRow>, StoreError> {
        self.row(
            &format!("SELECT {STUDY_COLUMNS} FROM studies WHERE id = ?1"),
            &[int(id.0)],
        )?
        .map(|row| self.study_row(&row))
        .transpose()
    }

    /// Sets the status of a study.
    ///
    /// # Errors
    ///
    /// [`StoreError::StudyNotFound`] when no study has this id.
    pub fn set_study_status(&self, id: StudyId, status: StudyStatus) -> Result<(), StoreError> {
        self.write(|| {
            let changed = self.exec(
                "UPDATE studies SET status = ?1 WHERE id = ?2",
                &[text(status.as_str()), int(id.0)],
            )?;
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
    /// When the store cannot be read.
    pub fn next_trial_number(&self, study: StudyId) -> Result<u32, StoreError> {
        let max = self
            .row(
                "SELECT MAX(number) FROM trials WHERE study_id = ?1",
                &[int(study.0)],
            )?
            .and_then(|row| row.opt_int(0));
        match max {
            None => Ok(0),
            Some(max) => u32::try_from(max + 1).map_err(|_| StoreError::InvalidData {
                store: self.location.clone(),
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
        self.write(|| {
            if self.study(study)?.is_none() {
                return Err(self.study_not_found(study));
            }
            let taken = self
                .row(
                    "SELECT 1 FROM trials WHERE study_id = ?1 AND number = ?2",
                    &[int(study.0), int(i64::from(number))],
                )?
                .is_some();
            if taken {
                return Err(StoreError::DuplicateTrial {
                    store: self.location.clone(),
                    study,
                    number,
                });
            }
            let row = self.row(
                "INSERT INTO trials (study_id, number, params_json, state, started_at, role, round)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) RETURNING id",
                &[
                    int(study.0),
                    int(i64::from(number)),
                    text(params_json),
                    text(TrialState::Running.as_str()),
                    int(to_millis(SystemTime::now())),
                    text(role),
                    Param::Int(round.map(i64::from)),
                ],
            )?;
            Ok(TrialId(self.returned_id(row)?))
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
                store: self.location.clone(),
                id,
            });
        }
        self.write(|| {
            let Some(trial) = self.trial(id)? else {
                return Err(StoreError::TrialNotFound {
                    store: self.location.clone(),
                    id,
                });
            };
            if trial.state != TrialState::Running {
                return Err(StoreError::TrialNotRunning {
                    store: self.location.clone(),
                    id,
                    state: trial.state,
                });
            }
            self.exec(
                "UPDATE trials SET state = ?1, objective = ?2, metrics_json = ?3, reason = ?4,
                                   started_at = ?5, finished_at = ?6
                 WHERE id = ?7",
                &[
                    text(outcome.state.as_str()),
                    Param::Real(outcome.objective),
                    text(&outcome.metrics_json),
                    Param::Text(outcome.reason.as_deref()),
                    int(to_millis(outcome.started_at)),
                    int(to_millis(outcome.finished_at)),
                    int(id.0),
                ],
            )?;
            Ok(())
        })
    }

    /// The trial with this id, if any.
    ///
    /// # Errors
    ///
    /// When the store cannot be read or holds an unknown state.
    pub fn trial(&self, id: TrialId) -> Result<Option<TrialRow>, StoreError> {
        self.row(
            &format!("SELECT {TRIAL_COLUMNS} FROM trials WHERE id = ?1"),
            &[int(id.0)],
        )?
        .map(|row| self.trial_row(&row))
        .transpose()
    }

    /// The trials of a study, in the order of their numbers, whatever their state.
    ///
    /// # Errors
    ///
    /// When the store cannot be read or holds an unknown state.
    pub fn trials(&self, study: StudyId) -> Result<Vec<TrialRow>, StoreError> {
        self.rows(
            &format!("SELECT {TRIAL_COLUMNS} FROM trials WHERE study_id = ?1 ORDER BY number"),
            &[int(study.0)],
        )?
        .iter()
        .map(|row| self.trial_row(row))
        .collect()
    }

    /// Marks the study's `running` trials `abandoned` (with [`ABANDONED_REASON`] and the
    /// current time as finish time) and returns them, in number order. Call it when resuming a
    /// study: a trial still `running` then was left so by a process that died. Abandoned trials
    /// stay in the store for the record, are never counted as results, and keep their numbers
    /// ([`Store::next_trial_number`] goes on after them).
    ///
    /// # Errors
    ///
    /// When the store cannot be read or written.
    pub fn abandon_running(&self, study: StudyId) -> Result<Vec<TrialRow>, StoreError> {
        self.write(|| {
            let running = self
                .rows(
                    &format!(
                        "SELECT {TRIAL_COLUMNS} FROM trials
                         WHERE study_id = ?1 AND state = 'running' ORDER BY number"
                    ),
                    &[int(study.0)],
                )?
                .iter()
                .map(|row| self.trial_row(row))
                .collect::<Result<Vec<_>, _>>()?;
            let now = to_millis(SystemTime::now());
            self.exec(
                "UPDATE trials SET state = ?1, reason = ?2, finished_at = ?3
                 WHERE study_id = ?4 AND state = 'running'",
                &[
                    text(TrialState::Abandoned.as_str()),
                    text(ABANDONED_REASON),
                    int(now),
                    int(study.0),
                ],
            )?;
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

    /// Records a run (of a trial, or of a study) and returns its id. It is not a history run:
    /// [`Store::history`] does not list it (see [`Store::save_run`]).
    ///
    /// # Errors
    ///
    /// [`StoreError::Sqlite`] or [`StoreError::Postgres`] when the study or trial it names
    /// does not exist, or the store cannot be written.
    pub fn insert_run(&self, run: &NewRun) -> Result<RunId, StoreError> {
        self.write(|| {
            let row = self.row(
                "INSERT INTO runs (study_id, trial_id, kind, started_at, record_json)
                 VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id",
                &[
                    Param::Int(run.study.map(StudyId::get)),
                    Param::Int(run.trial.map(TrialId::get)),
                    text(&run.kind),
                    int(to_millis(run.started_at)),
                    text(&run.record_json),
                ],
            )?;
            Ok(RunId(self.returned_id(row)?))
        })
    }

    /// The runs of a trial, in the order they were recorded.
    ///
    /// # Errors
    ///
    /// When the store cannot be read.
    pub fn runs_of_trial(&self, trial: TrialId) -> Result<Vec<RunRow>, StoreError> {
        Ok(self
            .rows(
                "SELECT id, study_id, trial_id, kind, started_at, record_json
                 FROM runs WHERE trial_id = ?1 ORDER BY id",
                &[int(trial.0)],
            )?
            .iter()
            .map(|row| RunRow {
                id: RunId(row.int(0)),
                study: row.opt_int(1).map(StudyId),
                trial: row.opt_int(2).map(TrialId),
                kind: row.text(3),
                started_at: from_millis(row.int(4)),
                record_json: row.text(5),
            })
            .collect())
    }

    /// The id an `INSERT ... RETURNING id` gave back.
    pub(crate) fn returned_id(&self, row: Option<Row>) -> Result<i64, StoreError> {
        row.and_then(|row| row.opt_int(0))
            .ok_or_else(|| self.invalid("inserted row", "without an id"))
    }

    fn study_not_found(&self, id: StudyId) -> StoreError {
        StoreError::StudyNotFound {
            store: self.location.clone(),
            id,
        }
    }

    /// An error for a stored value this build does not understand.
    pub(crate) fn invalid(&self, what: &str, value: &str) -> StoreError {
        StoreError::InvalidData {
            store: self.location.clone(),
            detail: format!("{what} {value:?}"),
        }
    }

    fn study_row(&self, row: &Row) -> Result<StudyRow, StoreError> {
        let status_text = row.text(5);
        let status = StudyStatus::parse(&status_text)
            .ok_or_else(|| self.invalid("study status", &status_text))?;
        Ok(StudyRow {
            id: StudyId(row.int(0)),
            name: row.text(1),
            spec_json: row.text(2),
            fingerprint: row.text(3),
            created_at: from_millis(row.int(4)),
            status,
        })
    }

    fn trial_row(&self, row: &Row) -> Result<TrialRow, StoreError> {
        let state_text = row.text(4);
        let state = TrialState::parse(&state_text)
            .ok_or_else(|| self.invalid("trial state", &state_text))?;
        let number = row.int(2);
        let number =
            u32::try_from(number).map_err(|_| self.invalid("trial number", &number.to_string()))?;
        let round = row
            .opt_int(11)
            .map(|r| u32::try_from(r).map_err(|_| self.invalid("trial round", &r.to_string())))
            .transpose()?;
        Ok(TrialRow {
            id: TrialId(row.int(0)),
            study: StudyId(row.int(1)),
            number,
            params_json: row.text(3),
            state,
            objective: row.opt_real(5),
            metrics_json: row.opt_text(6),
            reason: row.opt_text(7),
            started_at: from_millis(row.int(8)),
            finished_at: row.opt_int(9).map(from_millis),
            role: row.text(10),
            round,
        })
    }
}
