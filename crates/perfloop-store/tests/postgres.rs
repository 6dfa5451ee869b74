#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    missing_docs
)]
//! What only PostgreSQL stores do: the schema version in `perfloop_schema` (a newer one is
//! refused and left untouched), and the errors of a URL that cannot connect (the server's own
//! message, never the password).

mod common;

use common::{Kind, Place};
use perfloop_store::testing::PgCluster;
use perfloop_store::{Location, SCHEMA_VERSION, Store, StoreError};

fn raw_client(url: &str) -> postgres::Client {
    postgres::Client::connect(url, postgres::NoTls).unwrap()
}

#[test]
fn schema_version_is_kept_in_a_table_and_a_newer_one_is_refused() {
    let place = Place::new(Kind::Postgres, "future");
    let Location::Postgres(url) = &place.location else {
        unreachable!()
    };
    drop(place.store());
    let mut client = raw_client(url);
    let version: i64 = client
        .query_one("SELECT version FROM perfloop_schema", &[])
        .unwrap()
        .get(0);
    assert_eq!(version, i64::from(SCHEMA_VERSION));
    let tables: Vec<String> = client
        .query(
            "SELECT table_name::text FROM information_schema.tables
             WHERE table_schema = 'public' ORDER BY table_name",
            &[],
        )
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(
        tables,
        ["perfloop_schema", "run_tags", "runs", "studies", "trials"]
    );

    let future = i64::from(SCHEMA_VERSION) + 7;
    client
        .execute("UPDATE perfloop_schema SET version = $1", &[&future])
        .unwrap();
    let err = Store::connect(&place.location).unwrap_err();
    assert!(
        matches!(err, StoreError::TooNew { found, supported, .. }
            if found == future && supported == SCHEMA_VERSION),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(message.contains(url.as_str()), "{message}");
    assert!(message.contains("upgrade perfloop"), "{message}");
    let version: i64 = client
        .query_one("SELECT version FROM perfloop_schema", &[])
        .unwrap()
        .get(0);
    assert_eq!(version, future, "the version is left untouched");
}

#[test]
fn connection_errors_carry_the_servers_message_and_no_password() {
    let cluster = PgCluster::start().unwrap_or_else(|e| panic!("{e}"));
    let port = cluster.port();

    // A database that does not exist: the server says so.
    let url = format!("postgresql://postgres:hunter2@127.0.0.1:{port}/no_such_db");
    let err = Store::connect(&Location::parse(&url)).unwrap_err();
    assert!(matches!(err, StoreError::Connect { .. }), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains(r#"database "no_such_db" does not exist"#),
        "{message}"
    );
    assert!(!message.contains("hunter2"), "{message}");
    assert!(
        message.contains(&format!(
            "postgresql://postgres:***@127.0.0.1:{port}/no_such_db"
        )),
        "{message}"
    );

    // Nothing listens: the client's own words.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_port = closed.local_addr().unwrap().port();
    drop(closed);
    let url = format!("postgres://u:secret@127.0.0.1:{closed_port}/db?connect_timeout=5");
    let err = Store::connect(&Location::parse(&url)).unwrap_err();
    assert!(matches!(err, StoreError::Connect { .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.contains("refused"), "{message}");
    assert!(!message.contains("secret"), "{message}");

    // A URL that does not parse.
    let err = Store::connect(&Location::parse("postgres://h:notaport/db")).unwrap_err();
    assert!(matches!(err, StoreError::Connect { .. }), "{err:?}");
}

#[test]
fn two_stores_in_one_cluster_are_separate_and_share_nothing() {
    let cluster = PgCluster::start().unwrap_or_else(|e| panic!("{e}"));
    let a = Location::Postgres(cluster.new_database().unwrap());
    let b = Location::Postgres(cluster.new_database().unwrap());
    assert_ne!(a, b);
    let store_a = Store::connect(&a).unwrap();
    let store_b = Store::connect(&b).unwrap();
    store_a
        .create_study(&perfloop_store::NewStudy {
            name: "only-in-a".to_owned(),
            spec_json: "{}".to_owned(),
            fingerprint: "f".to_owned(),
        })
        .unwrap();
    assert!(store_a.find_study("only-in-a").unwrap().is_some());
    assert!(store_b.find_study("only-in-a").unwrap().is_none());
    assert_eq!(store_a.location(), &a);
    assert_eq!(store_a.path(), None);
}
