#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    missing_docs
)]
//! History runs on both backends: saving, listing newest first, the filters, entries and
//! records, tags and targets, two writers at once, and the upgrade of a store from schema
//! version 2 with trials and runs in it.

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{Kind, Place};
use perfloop_store::testing::connect_at_version;
use perfloop_store::{
    HistoryRun, NewRun, NewStudy, RunFilter, RunId, RunKind, SCHEMA_VERSION, Store, StoreError,
};

both_backends! {
    saved_runs_are_listed_newest_first_and_filtered,
    entries_and_records_round_trip,
    tags_and_targets_are_counted,
    two_writers_lose_nothing,
    first_connections_at_once_migrate_once,
    version_two_is_upgraded_with_its_trials_and_runs,
}

fn at(seconds: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_700_000_000 + seconds)
}

fn run(kind: RunKind, target: &str, seconds: u64, tags: &[(&str, &str)]) -> HistoryRun {
    HistoryRun {
        kind,
        started_at: at(seconds),
        target: target.to_owned(),
        command_line: format!("perfloop {kind} {target}"),
        perfloop_version: "0.1.0".to_owned(),
        host_json: r#"{"hostname":"ci-1","cpus":2}"#.to_owned(),
        git_commit: Some(format!("c{seconds}")),
        git_branch: Some("main".to_owned()),
        tags: tags
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        metrics_json: format!(r#"{{"throughput_rps":{seconds}}}"#),
        record_json: format!(r#"{{"schema":"perfloop.run.v1","t":{seconds}}}"#),
        study: None,
    }
}

fn ids(store: &Store, filter: &RunFilter) -> Vec<RunId> {
    store
        .history(filter)
        .unwrap()
        .into_iter()
        .map(|e| e.id)
        .collect()
}

const A: &str = "http://127.0.0.1:8080/a";
const B: &str = "http://127.0.0.1:8080/b";

fn saved_runs_are_listed_newest_first_and_filtered(kind: Kind) {
    let place = Place::new(kind, "history");
    let store = place.store();
    assert!(store.history(&RunFilter::default()).unwrap().is_empty());

    let r1 = store
        .save_run(&run(
            RunKind::Load,
            A,
            10,
            &[("branch", "main"), ("env", "ci")],
        ))
        .unwrap();
    let r2 = store
        .save_run(&run(RunKind::Load, B, 30, &[("branch", "main")]))
        .unwrap();
    // Saved after r2 but started before it.
    let r3 = store
        .save_run(&run(
            RunKind::Capacity,
            A,
            20,
            &[("branch", "dev"), ("env", "ci")],
        ))
        .unwrap();
    // Same start as r2: the later id comes first.
    let r4 = store.save_run(&run(RunKind::Bench, A, 30, &[])).unwrap();
    // Runs of trials are not history runs.
    let study = store
        .create_study(&NewStudy {
            name: "s".to_owned(),
            spec_json: "{}".to_owned(),
            fingerprint: "f".to_owned(),
        })
        .unwrap();
    let trial = store.begin_trial(study, 0, "{}").unwrap();
    store
        .insert_run(&NewRun {
            study: Some(study),
            trial: Some(trial),
            kind: "load".to_owned(),
            started_at: at(40),
            record_json: "{}".to_owned(),
        })
        .unwrap();
    // A study's own run is one.
    let r5 = store
        .save_run(&HistoryRun {
            study: Some(study),
            ..run(RunKind::Study, B, 5, &[])
        })
        .unwrap();

    let all = RunFilter::default();
    assert_eq!(ids(&store, &all), [r4, r2, r3, r1, r5]);
    let filter = |f: RunFilter| ids(&store, &f);
    assert_eq!(
        filter(RunFilter {
            target: Some(A.to_owned()),
            ..all.clone()
        }),
        [r4, r3, r1]
    );
    assert!(
        filter(RunFilter {
            target: Some("http://127.0.0.1:8080".to_owned()),
            ..all.clone()
        })
        .is_empty(),
        "the target matches exactly"
    );
    assert_eq!(
        filter(RunFilter {
            tags: vec![("branch".to_owned(), "main".to_owned())],
            ..all.clone()
        }),
        [r2, r1]
    );
    assert_eq!(
        filter(RunFilter {
            tags: vec![
                ("env".to_owned(), "ci".to_owned()),
                ("branch".to_owned(), "main".to_owned())
            ],
            ..all.clone()
        }),
        [r1],
        "every tag must match"
    );
    assert!(
        filter(RunFilter {
            tags: vec![("env".to_owned(), "main".to_owned())],
            ..all.clone()
        })
        .is_empty()
    );
    assert_eq!(
        filter(RunFilter {
            since: Some(at(20)),
            ..all.clone()
        }),
        [r4, r2, r3],
        "since is inclusive"
    );
    assert_eq!(
        filter(RunFilter {
            kind: Some(RunKind::Load),
            ..all.clone()
        }),
        [r2, r1]
    );
    assert_eq!(
        filter(RunFilter {
            limit: Some(2),
            ..all.clone()
        }),
        [r4, r2]
    );
    assert!(
        filter(RunFilter {
            limit: Some(0),
            ..all.clone()
        })
        .is_empty()
    );
    assert_eq!(
        filter(RunFilter {
            target: Some(A.to_owned()),
            tags: vec![("env".to_owned(), "ci".to_owned())],
            since: Some(at(15)),
            kind: Some(RunKind::Capacity),
            limit: Some(5),
        }),
        [r3]
    );

    // A repeated tag key is refused, and nothing of the run is saved.
    let err = store
        .save_run(&run(
            RunKind::Load,
            A,
            50,
            &[("k", "1"), ("j", "0"), ("k", "2")],
        ))
        .unwrap_err();
    assert!(
        matches!(err, StoreError::DuplicateTag { ref key, .. } if key == "k"),
        "{err:?}"
    );
    assert_eq!(store.history(&all).unwrap().len(), 5);
}

fn entries_and_records_round_trip(kind: Kind) {
    let place = Place::new(kind, "entries");
    let store = place.store();
    // Millisecond precision is kept.
    let started_at = at(7) + Duration::from_millis(123);
    let saved = HistoryRun {
        started_at,
        git_commit: None,
        git_branch: None,
        host_json: r#"{"hostname":"h","quote":"it's \"x\""}"#.to_owned(),
        ..run(
            RunKind::Capacity,
            A,
            7,
            &[("branch", "feature/ünï"), ("pr", "42")],
        )
    };
    let id = store.save_run(&saved).unwrap();
    let entry = store.run_entry(id).unwrap().unwrap();
    let expected_tags: BTreeMap<String, String> = [
        ("branch".to_owned(), "feature/ünï".to_owned()),
        ("pr".to_owned(), "42".to_owned()),
    ]
    .into();
    assert_eq!(entry.id, id);
    assert_eq!(entry.kind, RunKind::Capacity);
    assert_eq!(entry.started_at, started_at);
    assert_eq!(entry.target, saved.target);
    assert_eq!(entry.command_line, saved.command_line);
    assert_eq!(entry.perfloop_version, saved.perfloop_version);
    assert_eq!(entry.host_json, saved.host_json);
    assert_eq!((entry.git_commit, entry.git_branch), (None, None));
    assert_eq!(entry.tags, expected_tags);
    assert_eq!(entry.metrics_json, saved.metrics_json);
    assert_eq!(entry.study, None);
    assert_eq!(
        store.run_record(id).unwrap().as_deref(),
        Some(saved.record_json.as_str())
    );
    assert_eq!(
        store.history(&RunFilter::default()).unwrap()[0].tags,
        expected_tags
    );

    let missing = RunId(id.get() + 1000);
    assert_eq!(store.run_entry(missing).unwrap(), None);
    assert_eq!(store.run_record(missing).unwrap(), None);

    // A trial's run has a record but is no history entry.
    let study = store
        .create_study(&NewStudy {
            name: "s".to_owned(),
            spec_json: "{}".to_owned(),
            fingerprint: "f".to_owned(),
        })
        .unwrap();
    let trial = store.begin_trial(study, 0, "{}").unwrap();
    let trial_run = store
        .insert_run(&NewRun {
            study: Some(study),
            trial: Some(trial),
            kind: "load".to_owned(),
            started_at,
            record_json: r#"{"trial":true}"#.to_owned(),
        })
        .unwrap();
    assert_eq!(store.run_entry(trial_run).unwrap(), None);
    assert_eq!(
        store.run_record(trial_run).unwrap().as_deref(),
        Some(r#"{"trial":true}"#)
    );

    // Another connection reads the same.
    let other = place.store();
    assert_eq!(other.run_entry(id).unwrap(), store.run_entry(id).unwrap());
}

fn tags_and_targets_are_counted(kind: Kind) {
    let place = Place::new(kind, "tags");
    let store = place.store();
    assert!(store.tag_values().unwrap().is_empty());
    assert!(store.targets().unwrap().is_empty());
    store
        .save_run(&run(
            RunKind::Load,
            B,
            1,
            &[("branch", "main"), ("env", "ci")],
        ))
        .unwrap();
    store
        .save_run(&run(RunKind::Load, A, 2, &[("branch", "main")]))
        .unwrap();
    store
        .save_run(&run(RunKind::Bench, A, 3, &[("branch", "dev")]))
        .unwrap();
    store.save_run(&run(RunKind::Load, A, 4, &[])).unwrap();
    let own = |v: &[(&str, &str, u64)]| -> Vec<(String, String, u64)> {
        v.iter()
            .map(|(k, val, n)| ((*k).to_owned(), (*val).to_owned(), *n))
            .collect()
    };
    assert_eq!(
        store.tag_values().unwrap(),
        own(&[
            ("branch", "dev", 1),
            ("branch", "main", 2),
            ("env", "ci", 1)
        ])
    );
    assert_eq!(
        store.targets().unwrap(),
        [(A.to_owned(), 3), (B.to_owned(), 1)]
    );
}

const PER_WRITER: usize = 50;

fn two_writers_lose_nothing(kind: Kind) {
    let place = Place::new(kind, "writers");
    // Both connections exist (and the schema is migrated) before either writes.
    let stores = [place.store(), place.store()];
    let saved: Vec<Vec<RunId>> = std::thread::scope(|scope| {
        let handles: Vec<_> = stores
            .into_iter()
            .zip(["a", "b"])
            .map(|(store, writer)| {
                scope.spawn(move || {
                    (0..PER_WRITER)
                        .map(|i| {
                            let seconds = u64::try_from(i).unwrap();
                            store
                                .save_run(&run(
                                    RunKind::Load,
                                    A,
                                    seconds,
                                    &[("writer", writer), ("i", &i.to_string())],
                                ))
                                .unwrap()
                        })
                        .collect()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let store = place.store();
    let history = store.history(&RunFilter::default()).unwrap();
    assert_eq!(history.len(), 2 * PER_WRITER);
    let mut all: Vec<RunId> = saved.concat();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 2 * PER_WRITER, "every run has its own id");
    for (writer, ids) in ["a", "b"].iter().zip(&saved) {
        let mine: Vec<_> = history
            .iter()
            .filter(|e| e.tags.get("writer").map(String::as_str) == Some(*writer))
            .collect();
        assert_eq!(mine.len(), PER_WRITER, "writer {writer}");
        for entry in mine {
            assert!(ids.contains(&entry.id));
            assert_eq!(entry.tags.len(), 2, "{entry:?}");
        }
    }
    assert_eq!(
        store
            .tag_values()
            .unwrap()
            .iter()
            .filter(|(k, ..)| k == "writer")
            .count(),
        2
    );
}

fn first_connections_at_once_migrate_once(kind: Kind) {
    let place = Place::new(kind, "first");
    let barrier = std::sync::Barrier::new(4);
    let ids: Vec<RunId> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4u64)
            .map(|n| {
                let (place, barrier) = (&place, &barrier);
                scope.spawn(move || {
                    barrier.wait();
                    let store = place.store();
                    assert_eq!(store.schema_version().unwrap(), i64::from(SCHEMA_VERSION));
                    store.save_run(&run(RunKind::Load, A, n, &[])).unwrap()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(
        ids.len(),
        place.store().history(&RunFilter::default()).unwrap().len()
    );
}

fn version_two_is_upgraded_with_its_trials_and_runs(kind: Kind) {
    let place = Place::new(kind, "upgrade");
    let (study, trial, old_run) = {
        let old = connect_at_version(&place.location, 2).unwrap();
        assert_eq!(old.schema_version().unwrap(), 2);
        let study = old
            .create_study(&NewStudy {
                name: "old".to_owned(),
                spec_json: "{}".to_owned(),
                fingerprint: "f".to_owned(),
            })
            .unwrap();
        let trial = old
            .begin_trial_as(study, 0, r#"{"w":1}"#, "confirm", Some(2))
            .unwrap();
        let old_run = old
            .insert_run(&NewRun {
                study: Some(study),
                trial: Some(trial),
                kind: "load".to_owned(),
                started_at: at(1),
                record_json: r#"{"old":1}"#.to_owned(),
            })
            .unwrap();
        // A run of no trial, from before history runs: not one either.
        old.insert_run(&NewRun {
            study: None,
            trial: None,
            kind: "load".to_owned(),
            started_at: at(2),
            record_json: r#"{"old":2}"#.to_owned(),
        })
        .unwrap();
        (study, trial, old_run)
    };

    let store = place.store();
    assert_eq!(store.schema_version().unwrap(), i64::from(SCHEMA_VERSION));
    let trials = store.trials(study).unwrap();
    assert_eq!(trials.len(), 1);
    assert_eq!(
        (trials[0].role.as_str(), trials[0].round),
        ("confirm", Some(2))
    );
    let runs = store.runs_of_trial(trial).unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(
        (runs[0].id, runs[0].record_json.as_str()),
        (old_run, r#"{"old":1}"#)
    );
    assert!(store.history(&RunFilter::default()).unwrap().is_empty());
    assert!(store.targets().unwrap().is_empty());

    let new = store
        .save_run(&run(RunKind::Load, A, 3, &[("k", "v")]))
        .unwrap();
    assert!(new.get() > old_run.get());
    assert_eq!(ids(&store, &RunFilter::default()), [new]);
    // Connecting again migrates nothing more.
    assert_eq!(
        place.store().schema_version().unwrap(),
        i64::from(SCHEMA_VERSION)
    );
}
