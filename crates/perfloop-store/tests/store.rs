#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    missing_docs
)]
//! The store against real files and a real PostgreSQL server: migrations, studies, trials,
//! runs, a process killed mid-trial and files that are not stores.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{Kind, Place, TempDir};
use perfloop_store::{
    FinalState, Location, NewRun, NewStudy, SCHEMA_VERSION, Store, StoreError, StudyStatus,
    TrialOutcome, TrialState,
};

both_backends! {
    studies_are_created_found_and_unique,
    trial_lifecycle,
    caller_transaction_groups_writes_and_rolls_back,
}

fn new_study(name: &str) -> NewStudy {
    NewStudy {
        name: name.to_owned(),
        spec_json: r#"{"knobs":{"workers":[1,2,4]}}"#.to_owned(),
        fingerprint: "sha256:abc".to_owned(),
    }
}

fn outcome(objective: f64) -> TrialOutcome {
    let started_at = UNIX_EPOCH + Duration::from_millis(1_700_000_000_000);
    TrialOutcome {
        state: FinalState::Complete,
        objective: Some(objective),
        metrics_json: format!(r#"{{"rps":{objective}}}"#),
        reason: None,
        started_at,
        finished_at: started_at + Duration::from_millis(1_500),
    }
}

fn raw_pragma(path: &Path, name: &str) -> String {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.pragma_query_value(None, name, |row| {
        Ok(match row.get_ref(0)? {
            rusqlite::types::ValueRef::Integer(i) => i.to_string(),
            rusqlite::types::ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
            other => format!("{other:?}"),
        })
    })
    .unwrap()
}

#[test]
fn fresh_file_is_migrated_and_reopens() {
    let dir = TempDir::new("fresh");
    let path = dir.db();
    {
        let store = Store::open(&path).unwrap();
        assert_eq!(store.path(), Some(path.as_path()));
        assert_eq!(store.location(), &Location::Sqlite(path.clone()));
        assert_eq!(store.schema_version().unwrap(), i64::from(SCHEMA_VERSION));
        store.create_study(&new_study("s")).unwrap();
    }
    assert!(
        path.is_file(),
        "the parent directory and the file are created"
    );
    assert_eq!(
        raw_pragma(&path, "user_version"),
        SCHEMA_VERSION.to_string()
    );
    assert_eq!(raw_pragma(&path, "journal_mode"), "wal");
    let conn = rusqlite::Connection::open(&path).unwrap();
    let mut tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    tables.sort();
    assert_eq!(tables, ["run_tags", "runs", "studies", "trials"]);
    drop(conn);

    // Reopening applies nothing and keeps the data.
    let store = Store::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), i64::from(SCHEMA_VERSION));
    assert!(store.find_study("s").unwrap().is_some());
}

#[test]
fn newer_schema_is_refused_and_left_untouched() {
    let dir = TempDir::new("future");
    let path = dir.db();
    drop(Store::open(&path).unwrap());
    let future = i64::from(SCHEMA_VERSION) + 7;
    rusqlite::Connection::open(&path)
        .unwrap()
        .pragma_update(None, "user_version", future)
        .unwrap();

    let err = Store::open(&path).unwrap_err();
    assert!(
        matches!(err, StoreError::TooNew { found, supported, .. }
            if found == future && supported == SCHEMA_VERSION),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(
        message.contains(&format!("schema version {future}")),
        "{message}"
    );
    assert!(message.contains("upgrade perfloop"), "{message}");
    assert_eq!(raw_pragma(&path, "user_version"), future.to_string());
}

fn studies_are_created_found_and_unique(kind: Kind) {
    let place = Place::new(kind, "studies");
    let store = place.store();
    let before = SystemTime::now() - Duration::from_secs(1);
    let id = store.create_study(&new_study("pool-size")).unwrap();

    let row = store.find_study("pool-size").unwrap().unwrap();
    assert_eq!(row.id, id);
    assert_eq!(row.name, "pool-size");
    assert_eq!(row.spec_json, new_study("x").spec_json);
    assert_eq!(row.fingerprint, "sha256:abc");
    assert_eq!(row.status, StudyStatus::Running);
    assert!(row.created_at >= before && row.created_at <= SystemTime::now());
    assert_eq!(store.study(id).unwrap(), Some(row));
    assert!(store.find_study("other").unwrap().is_none());

    let err = store.create_study(&new_study("pool-size")).unwrap_err();
    assert!(matches!(err, StoreError::DuplicateStudy { ref name, .. } if name == "pool-size"));
    assert!(err.to_string().contains(&place.location.to_string()));

    for status in [StudyStatus::Interrupted, StudyStatus::Finished] {
        store.set_study_status(id, status).unwrap();
        assert_eq!(
            store.find_study("pool-size").unwrap().unwrap().status,
            status
        );
    }
    let missing = perfloop_store::StudyId(id.get() + 100);
    assert!(matches!(
        store.set_study_status(missing, StudyStatus::Finished),
        Err(StoreError::StudyNotFound { .. })
    ));
}

fn trial_lifecycle(kind: Kind) {
    let place = Place::new(kind, "trials");
    let store = place.store();
    let study = store.create_study(&new_study("s")).unwrap();
    assert_eq!(store.next_trial_number(study).unwrap(), 0);

    let t0 = store.begin_trial(study, 0, r#"{"workers":1}"#).unwrap();
    let row = store.trial(t0).unwrap().unwrap();
    assert_eq!(row.state, TrialState::Running);
    assert_eq!(row.number, 0);
    assert_eq!(row.objective, None);
    assert_eq!(row.finished_at, None);
    assert_eq!((row.role.as_str(), row.round), ("explore", None));
    assert_eq!(store.next_trial_number(study).unwrap(), 1);

    let done = outcome(1234.5);
    store.finish_trial(t0, &done).unwrap();
    let row = store.trial(t0).unwrap().unwrap();
    assert_eq!(row.state, TrialState::Complete);
    assert_eq!(row.objective, Some(1234.5));
    assert_eq!(
        row.metrics_json.as_deref(),
        Some(done.metrics_json.as_str())
    );
    assert_eq!(row.started_at, done.started_at);
    assert_eq!(row.finished_at, Some(done.finished_at));

    // A finished trial cannot be finished again; a number cannot be reused.
    assert!(matches!(
        store.finish_trial(t0, &done),
        Err(StoreError::TrialNotRunning {
            state: TrialState::Complete,
            ..
        })
    ));
    assert!(matches!(
        store.begin_trial(study, 0, "{}"),
        Err(StoreError::DuplicateTrial { number: 0, .. })
    ));
    assert!(matches!(
        store.begin_trial(perfloop_store::StudyId(999), 0, "{}"),
        Err(StoreError::StudyNotFound { .. })
    ));

    let t1 = store.begin_trial(study, 1, r#"{"workers":2}"#).unwrap();
    let failed = TrialOutcome {
        state: FinalState::Failed,
        objective: None,
        reason: Some("target exited with status 3".to_owned()),
        ..outcome(0.0)
    };
    store.finish_trial(t1, &failed).unwrap();
    let t2 = store
        .begin_trial_as(study, 2, r#"{"workers":4}"#, "confirm", Some(3))
        .unwrap();
    assert!(matches!(
        store.finish_trial(t2, &outcome(f64::NAN)),
        Err(StoreError::NanObjective { .. })
    ));
    let violated = TrialOutcome {
        state: FinalState::Violated,
        reason: Some("p99<50ms broken".to_owned()),
        ..outcome(900.0)
    };
    store.finish_trial(t2, &violated).unwrap();

    let trials = store.trials(study).unwrap();
    let states: Vec<_> = trials.iter().map(|t| (t.number, t.state)).collect();
    assert_eq!(
        states,
        [
            (0, TrialState::Complete),
            (1, TrialState::Failed),
            (2, TrialState::Violated)
        ]
    );
    assert_eq!(
        trials[1].reason.as_deref(),
        Some("target exited with status 3")
    );
    assert_eq!(trials[1].objective, None);
    assert_eq!(
        (trials[2].role.as_str(), trials[2].round),
        ("confirm", Some(3))
    );
    assert!(store.abandon_running(study).unwrap().is_empty());

    // Runs belong to trials.
    let run = NewRun {
        study: Some(study),
        trial: Some(t0),
        kind: "load".to_owned(),
        started_at: done.started_at,
        record_json: r#"{"schema":"perfloop.run.v1"}"#.to_owned(),
    };
    let r0 = store.insert_run(&run).unwrap();
    let r1 = store
        .insert_run(&NewRun {
            kind: "load-repeat".to_owned(),
            ..run.clone()
        })
        .unwrap();
    store
        .insert_run(&NewRun {
            study: None,
            trial: None,
            ..run.clone()
        })
        .unwrap();
    let runs = store.runs_of_trial(t0).unwrap();
    assert_eq!(runs.iter().map(|r| r.id).collect::<Vec<_>>(), [r0, r1]);
    assert_eq!(runs[0].record_json, run.record_json);
    assert_eq!(runs[0].started_at, run.started_at);
    assert!(store.runs_of_trial(t1).unwrap().is_empty());
    assert!(
        store
            .insert_run(&NewRun {
                trial: Some(perfloop_store::TrialId(999)),
                ..run
            })
            .is_err(),
        "a run cannot name a trial that does not exist"
    );
}

fn caller_transaction_groups_writes_and_rolls_back(kind: Kind) {
    let place = Place::new(kind, "tx");
    let mut store = place.store();
    let study = store.create_study(&new_study("s")).unwrap();
    let result: Result<(), StoreError> = store.transaction(|store| {
        store.begin_trial(study, 0, "{}")?;
        // Fails, and takes the trial above with it.
        store.create_study(&new_study("s"))?;
        Ok(())
    });
    assert!(matches!(result, Err(StoreError::DuplicateStudy { .. })));
    assert!(store.trials(study).unwrap().is_empty());

    store
        .transaction(|store| {
            let id = store.begin_trial(study, 0, "{}")?;
            // A failed write inside is undone alone; the transaction goes on.
            assert!(store.begin_trial(study, 0, "{}").is_err());
            store.finish_trial(id, &outcome(1.0))
        })
        .unwrap();
    assert_eq!(store.trials(study).unwrap()[0].state, TrialState::Complete);
}

const FINISHED: u32 = 5;
#[test]
fn killed_mid_trial_loses_nothing() {
    let dir = TempDir::new("crash");
    let path = dir.db();
    // The helper writes FINISHED finished trials, begins one more, says so and waits.
    let mut child = Command::new(env!("CARGO_BIN_EXE_perfloop-store-crash-helper"))
        .arg(&path)
        .arg(FINISHED.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut began = false;
    for line in BufReader::new(stdout).lines() {
        if line.unwrap().contains("began the last trial") {
            began = true;
            break;
        }
    }
    // Child::kill sends SIGKILL: no destructor, no checkpoint, no clean close.
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert!(
        began,
        "the child stopped before beginning its last trial: {status}"
    );
    assert!(!status.success());

    let store = Store::open(&path).unwrap();
    let study = store.find_study("crash").unwrap().unwrap();
    assert_eq!(study.status, StudyStatus::Running);
    let trials = store.trials(study.id).unwrap();
    assert_eq!(trials.len(), FINISHED as usize + 1);
    for (number, trial) in (0..FINISHED).zip(&trials) {
        assert_eq!(trial.number, number);
        assert_eq!(trial.state, TrialState::Complete);
        assert_eq!(trial.objective, Some(f64::from(number) * 10.0));
        assert_eq!(trial.params_json, format!(r#"{{"n":{number}}}"#));
    }
    let last = &trials[FINISHED as usize];
    assert_eq!((last.number, last.state), (FINISHED, TrialState::Running));

    let abandoned = store.abandon_running(study.id).unwrap();
    assert_eq!(abandoned.len(), 1);
    assert_eq!(abandoned[0].id, last.id);
    assert_eq!(abandoned[0].state, TrialState::Abandoned);
    let stored = store.trial(last.id).unwrap().unwrap();
    assert_eq!(stored, abandoned[0]);
    assert!(stored.finished_at.is_some() && stored.reason.is_some());
    // Kept for the record, number not reused, cannot be finished by a late process.
    assert_eq!(store.next_trial_number(study.id).unwrap(), FINISHED + 1);
    assert!(matches!(
        store.finish_trial(last.id, &outcome(1.0)),
        Err(StoreError::TrialNotRunning {
            state: TrialState::Abandoned,
            ..
        })
    ));
    assert!(store.abandon_running(study.id).unwrap().is_empty());
}

#[test]
fn random_bytes_are_refused_naming_the_file() {
    let dir = TempDir::new("corrupt");
    let path = dir.0.join("garbage.db");
    // Deterministic pseudo-random bytes (xorshift), 64 KiB.
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let bytes: Vec<u8> = (0..65_536)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state.to_le_bytes()[0]
        })
        .collect();
    std::fs::write(&path, &bytes).unwrap();

    let err = Store::open(&path).unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(
        message.contains("not a readable perfloop store"),
        "{message}"
    );
    assert_eq!(
        std::fs::read(&path).unwrap(),
        bytes,
        "the file is left untouched"
    );
    let err = Store::connect(&Location::Sqlite(path.clone())).unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
    assert_eq!(std::fs::read(&path).unwrap(), bytes, "still untouched");
}

#[test]
fn unusable_directory_is_reported_with_the_path() {
    let dir = TempDir::new("nodir");
    let blocker = dir.0.join("file");
    std::fs::write(&blocker, b"x").unwrap();
    let path = blocker.join("perfloop.db");
    let err = Store::open(&path).unwrap_err();
    assert!(matches!(err, StoreError::CreateDir { .. }), "{err:?}");
    assert!(err.to_string().contains(&path.display().to_string()));
}

#[test]
fn default_path_follows_the_environment() {
    let run = |vars: &[(&str, &str)]| -> String {
        perfloop_store::default_path_from(|name| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| std::ffi::OsString::from(v))
        })
        .display()
        .to_string()
    };
    let all = [
        ("PERFLOOP_DB", "/srv/p.db"),
        ("XDG_DATA_HOME", "/xdg"),
        ("HOME", "/home/u"),
    ];
    assert_eq!(run(&all), "/srv/p.db");
    assert_eq!(run(&all[1..]), "/xdg/perfloop/perfloop.db");
    assert_eq!(
        run(&[
            ("PERFLOOP_DB", ""),
            ("XDG_DATA_HOME", "relative"),
            ("HOME", "/home/u")
        ]),
        "/home/u/.local/share/perfloop/perfloop.db"
    );
    assert_eq!(run(&[]), "perfloop.db");
}
