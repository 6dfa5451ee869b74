//! Where a store lives: an SQLite file or a PostgreSQL database named by its URL, and how a
//! location is shown without its password.

use std::convert::Infallible;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

/// Where a store lives. Neither its `Display` nor its `Debug` shows a password.
#[derive(Clone, PartialEq, Eq)]
pub enum Location {
    /// An SQLite file (created when missing).
    Sqlite(PathBuf),
    /// A PostgreSQL database, by its connection URL (`postgres://user:password@host:port/db`
    /// or `postgresql://...`, with the query parameters PostgreSQL's clients accept).
    Postgres(String),
}

impl Location {
    /// The location a user wrote: a `postgres://` or `postgresql://` URL is a PostgreSQL
    /// database, anything else the path of an SQLite file.
    #[must_use]
    pub fn parse(text: &str) -> Self {
        let lower = text.get(..13).unwrap_or(text).to_ascii_lowercase();
        if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
            Self::Postgres(text.to_owned())
        } else {
            Self::Sqlite(PathBuf::from(text))
        }
    }

    /// The SQLite file, for a file store.
    #[must_use]
    pub fn path(&self) -> Option<&std::path::Path> {
        match self {
            Self::Sqlite(path) => Some(path),
            Self::Postgres(_) => None,
        }
    }
}

impl Default for Location {
    /// The SQLite file at [`default_path`](crate::default_path).
    fn default() -> Self {
        Self::Sqlite(crate::default_path())
    }
}

impl FromStr for Location {
    type Err = Infallible;

    fn from_str(text: &str) -> Result<Self, Infallible> {
        Ok(Self::parse(text))
    }
}

impl fmt::Display for Location {
    /// The file's path, or the URL with its password (in the user part or a `password=`
    /// parameter) replaced by `***`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sqlite(path) => write!(f, "{}", path.display()),
            Self::Postgres(url) => f.write_str(&redact(url)),
        }
    }
}

impl fmt::Debug for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sqlite(path) => f.debug_tuple("Sqlite").field(path).finish(),
            Self::Postgres(url) => f.debug_tuple("Postgres").field(&redact(url)).finish(),
        }
    }
}

/// The URL without its password.
fn redact(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_owned();
    };
    let (scheme, rest) = url.split_at(scheme_end);
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rfind('@') {
        Some(at) => {
            let (userinfo, host) = authority.split_at(at);
            match userinfo.find(':') {
                Some(colon) => format!("{}:***{host}", &userinfo[..colon]),
                None => authority.to_owned(),
            }
        }
        None => authority.to_owned(),
    };
    let tail = match tail.find('?') {
        Some(q) => {
            let (path, query) = tail.split_at(q + 1);
            let params: Vec<String> = query
                .split('&')
                .map(|param| match param.split_once('=') {
                    Some((key, _)) if key.eq_ignore_ascii_case("password") => {
                        format!("{key}=***")
                    }
                    _ => param.to_owned(),
                })
                .collect();
            format!("{path}{}", params.join("&"))
        }
        None => tail.to_owned(),
    };
    format!("{scheme}{authority}{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_postgres_and_the_rest_are_files() {
        for url in [
            "postgres://h/db",
            "postgresql://u@h:5433/db?sslmode=disable",
            "PostgreSQL://h/db",
        ] {
            assert_eq!(Location::parse(url), Location::Postgres(url.to_owned()));
        }
        for path in ["perfloop.db", "/srv/p.db", "postgres.db", "postgres:/x", ""] {
            assert_eq!(Location::parse(path), Location::Sqlite(PathBuf::from(path)));
        }
    }

    #[test]
    fn display_never_shows_the_password() {
        let show = |url: &str| Location::parse(url).to_string();
        assert_eq!(
            show("postgres://alice:s3cr%40t@db.example:5432/perf"),
            "postgres://alice:***@db.example:5432/perf"
        );
        assert_eq!(
            show("postgresql://alice@db/perf?password=hunter2&sslmode=disable"),
            "postgresql://alice@db/perf?password=***&sslmode=disable"
        );
        assert_eq!(
            show("postgres://bob:p@ss:w@rd@h/db"),
            "postgres://bob:***@h/db"
        );
        assert_eq!(show("postgres://h/db"), "postgres://h/db");
        let debug = format!(
            "{:?}",
            Location::parse("postgres://u:pw123@h/db?password=pw456")
        );
        assert!(
            !debug.contains("pw123") && !debug.contains("pw456"),
            "{debug}"
        );
        assert_eq!(show("/tmp/x.db"), "/tmp/x.db");
    }
}
