//! A throw-away PostgreSQL cluster for tests (behind the `pg-test-harness` feature), for this
//! crate's tests and for other crates' tests that need a PostgreSQL URL.
//!
//! [`PgCluster::start`] finds `initdb` and `pg_ctl` under `/usr/lib/postgresql/*/bin` (Debian's
//! `postgresql` package; the newest version there), creates a cluster in a fresh temporary
//! directory (trust authentication, superuser `postgres`, no fsync), and starts it on a free
//! port of 127.0.0.1 with its Unix socket in that directory. `pg_ctl start -w` returns once the
//! server accepts connections, so no test waits by sleeping. [`PgCluster::new_database`] creates
//! an empty database per test and returns its URL. Dropping the cluster stops the server
//! (`pg_ctl stop -m immediate`) and removes the directory.
//!
//! PostgreSQL refuses to run as root: when the tests run as root, every PostgreSQL command runs
//! as the `postgres` user (`runuser -u postgres --`) and the directory is handed to it.
//!
//! A machine without PostgreSQL gets an error saying to install it; tests fail with it rather
//! than skip.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::{Location, Store, StoreError};

/// The superuser of a test cluster (trust authentication: no password).
pub const SUPERUSER: &str = "postgres";

/// A running throw-away PostgreSQL cluster, stopped and deleted when dropped.
#[derive(Debug)]
pub struct PgCluster {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    as_postgres: bool,
    databases: AtomicU32,
}

impl PgCluster {
    /// Creates and starts a cluster.
    ///
    /// # Errors
    ///
    /// A message when PostgreSQL is not installed (naming Debian's `postgresql` package), or
    /// when `initdb` or the server fails (with its output).
    pub fn start() -> Result<Self, String> {
        let bin = find_bin()?;
        let as_postgres = std::fs::metadata("/proc/self")
            .map_err(|e| e.to_string())?
            .uid()
            == 0;
        let dir = temp_dir()?;
        let mut cluster = Self {
            bin,
            dir,
            port: 0,
            as_postgres,
            databases: AtomicU32::new(0),
        };
        if as_postgres {
            run(Command::new("chown").arg(SUPERUSER).arg(&cluster.dir))?;
        }
        let data = cluster.data();
        cluster.run_pg(
            "initdb",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-U".as_ref(),
                SUPERUSER.as_ref(),
                "--auth=trust".as_ref(),
                "--no-sync".as_ref(),
                "--encoding=UTF8".as_ref(),
                "--locale=C".as_ref(),
            ],
        )?;
        // A port is free when asked for, but another process may take it before the server
        // binds it: then start again on another.
        let mut last = String::new();
        for _ in 0..5 {
            let port = free_port()?;
            let options = format!(
                "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off \
                 -c synchronous_commit=off -c full_page_writes=off",
                cluster.dir.display()
            );
            let log = cluster.dir.join("server.log");
            let started = cluster.run_pg(
                "pg_ctl",
                &[
                    "-D".as_ref(),
                    data.as_os_str(),
                    "-l".as_ref(),
                    log.as_os_str(),
                    "-w".as_ref(),
                    "-t".as_ref(),
                    "120".as_ref(),
                    "-o".as_ref(),
                    options.as_ref(),
                    "start".as_ref(),
                ],
            );
            match started {
                Ok(()) => {
                    cluster.port = port;
                    return Ok(cluster);
                }
                Err(error) => {
                    let log = std::fs::read_to_string(&log).unwrap_or_default();
                    last = format!("{error}\nserver log:\n{log}");
                }
            }
        }
        Err(format!("the PostgreSQL test server did not start: {last}"))
    }

    /// The port the server listens on (127.0.0.1).
    #[must_use]
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The URL of database `name` as the superuser.
    #[must_use]
    pub fn url(&self, name: &str) -> String {
        format!("postgresql://{SUPERUSER}@127.0.0.1:{}/{name}", self.port)
    }

    /// Creates database `name` and returns its URL.
    ///
    /// # Errors
    ///
    /// The server's message when the database cannot be created.
    pub fn create_database(&self, name: &str) -> Result<String, String> {
        let mut client = postgres::Client::connect(&self.url("postgres"), postgres::NoTls)
            .map_err(|e| crate::error::pg_message(&e))?;
        client
            .batch_execute(&format!(
                "CREATE DATABASE \"{}\"",
                name.replace('"', "\"\"")
            ))
            .map_err(|e| crate::error::pg_message(&e))?;
        Ok(self.url(name))
    }

    /// Creates a new empty database (`test_1`, `test_2`, ...) and returns its URL.
    ///
    /// # Errors
    ///
    /// As [`PgCluster::create_database`].
    pub fn new_database(&self) -> Result<String, String> {
        let n = self.databases.fetch_add(1, Ordering::Relaxed) + 1;
        self.create_database(&format!("test_{n}"))
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// Runs a PostgreSQL program, as the `postgres` user when running as root.
    fn run_pg(&self, program: &str, args: &[&std::ffi::OsStr]) -> Result<(), String> {
        let path = self.bin.join(program);
        let mut command = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", SUPERUSER, "--"]).arg(&path);
            c
        } else {
            Command::new(&path)
        };
        command.args(args).current_dir(&self.dir);
        run(&mut command)
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        if self.port != 0 {
            let data = self.data();
            let _ = self.run_pg(
                "pg_ctl",
                &[
                    "-D".as_ref(),
                    data.as_os_str(),
                    "-m".as_ref(),
                    "immediate".as_ref(),
                    "-w".as_ref(),
                    "stop".as_ref(),
                ],
            );
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Opens the store at `location` with its schema migrated only up to `version` (to test the
/// migrations from an older schema).
///
/// # Errors
///
/// As [`Store::connect`].
pub fn connect_at_version(location: &Location, version: u32) -> Result<Store, StoreError> {
    Store::connect_at(location, version)
}

/// The newest `/usr/lib/postgresql/VERSION/bin` holding `initdb` and `pg_ctl`.
fn find_bin() -> Result<PathBuf, String> {
    let missing = "PostgreSQL is not installed: the tests need initdb and pg_ctl under \
                   /usr/lib/postgresql/*/bin; install Debian's `postgresql` package \
                   (apt-get install postgresql)";
    let root = Path::new("/usr/lib/postgresql");
    let entries = std::fs::read_dir(root).map_err(|e| format!("{missing} ({e})"))?;
    let mut found: Vec<(u32, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            (bin.join("initdb").is_file() && bin.join("pg_ctl").is_file()).then_some((version, bin))
        })
        .collect();
    found.sort();
    found
        .pop()
        .map(|(_, bin)| bin)
        .ok_or_else(|| missing.to_owned())
}

fn temp_dir() -> Result<PathBuf, String> {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let dir = std::env::temp_dir().join(format!(
        "perfloop-pg-{}-{nanos}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    Ok(dir)
}

fn free_port() -> Result<u16, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    listener
        .local_addr()
        .map(|addr| addr.port())
        .map_err(|e| e.to_string())
}

/// Runs a command; its output is the error when it fails.
fn run(command: &mut Command) -> Result<(), String> {
    let Output {
        status,
        stdout,
        stderr,
    } = command
        .output()
        .map_err(|e| format!("cannot run {command:?}: {e}"))?;
    if status.success() {
        return Ok(());
    }
    Err(format!(
        "{command:?} failed ({status}):\n{}{}",
        String::from_utf8_lossy(&stdout),
        String::from_utf8_lossy(&stderr)
    ))
}
