//! The stores the tests run against: an SQLite file in a temporary directory, or a database of
//! a throw-away PostgreSQL cluster ([`perfloop_store::testing::PgCluster`]).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use perfloop_store::testing::PgCluster;
use perfloop_store::{Location, Store};

/// A fresh directory under the system's temporary directory, removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let dir = std::env::temp_dir().join(format!(
            "perfloop-store-{tag}-{}-{nanos}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    pub fn db(&self) -> PathBuf {
        self.0.join("nested").join("perfloop.db")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Which database a test runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Sqlite,
    Postgres,
}

/// A place for a store of one test: kept (file or cluster) until dropped.
pub struct Place {
    pub location: Location,
    pub cluster: Option<PgCluster>,
    _dir: Option<TempDir>,
}

impl Place {
    pub fn new(kind: Kind, tag: &str) -> Self {
        match kind {
            Kind::Sqlite => {
                let dir = TempDir::new(tag);
                Self {
                    location: Location::Sqlite(dir.db()),
                    cluster: None,
                    _dir: Some(dir),
                }
            }
            Kind::Postgres => {
                let cluster = PgCluster::start().unwrap_or_else(|e| panic!("{e}"));
                let url = cluster.new_database().unwrap_or_else(|e| panic!("{e}"));
                Self {
                    location: Location::Postgres(url),
                    cluster: Some(cluster),
                    _dir: None,
                }
            }
        }
    }

    /// A store connected to this place (another connection each call).
    pub fn store(&self) -> Store {
        Store::connect(&self.location).unwrap_or_else(|e| panic!("{e}"))
    }
}

/// Declares tests `sqlite::NAME` and `postgres::NAME` calling `NAME(Kind)`.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(#[test] fn $name() { super::$name($crate::common::Kind::Sqlite) })+
        }
        mod postgres {
            $(#[test] fn $name() { super::$name($crate::common::Kind::Postgres) })+
        }
    };
}
