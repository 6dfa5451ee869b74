//! Saving a result in the history store: [`Saver::open`] before any work (the tags checked,
//! the store opened, the host and the git checkout read), [`Saver::save`] once the result is
//! reported.
//!
//! A saved run keeps what was measured (the target, from the record: its URL redacted, or
//! its command), when, the command line with its secrets redacted (header values, secret
//! query values and user information of URLs, the password of a store URL), the perfloop
//! version, the host's facts, the commit and branch of the current directory's git
//! checkout, the tags, the headline figures and the whole record.

use std::process::{Command, Stdio};
use std::time::SystemTime;

use anyhow::anyhow;
use perfloop_monitor::HostFacts;
use perfloop_report::{BenchReport, CapacityRecord, Headline, RunRecord, StudyRecord};
use perfloop_store::{HistoryRun, Location, RunId, RunKind, Store, StudyId};

use crate::Failure;
use crate::cli::SaveArgs;

/// A result to save.
#[derive(Debug, Clone, Copy)]
pub enum Saved<'a> {
    /// A load run.
    Run(&'a RunRecord),
    /// A capacity search.
    Capacity(&'a CapacityRecord),
    /// A command benchmark.
    Bench(&'a BenchReport),
    /// A tuning study, with its id in the same store.
    Study(&'a StudyRecord, StudyId),
}

/// The commit and branch of the code under test.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Git {
    /// `git rev-parse HEAD`.
    pub commit: Option<String>,
    /// `git rev-parse --abbrev-ref HEAD`; `None` on a detached head.
    pub branch: Option<String>,
}

impl Git {
    /// The current directory's checkout; both `None` when git is missing or this is not a
    /// checkout.
    pub fn read() -> Git {
        let ask = |args: &[&str]| {
            let out = Command::new("git")
                .args(args)
                .stdin(Stdio::null())
                .stderr(Stdio::null())
                .output()
                .ok()?;
            let text = String::from_utf8(out.stdout).ok()?;
            let text = text.trim();
            (out.status.success() && !text.is_empty()).then(|| text.to_owned())
        };
        let commit = ask(&["rev-parse", "HEAD"]);
        let branch = commit
            .as_ref()
            .and_then(|_| ask(&["rev-parse", "--abbrev-ref", "HEAD"]))
            .filter(|b| b != "HEAD");
        Git { commit, branch }
    }
}

/// Where a command saves its result, opened before any work; `--no-save` opens nothing.
#[derive(Debug)]
pub struct Saver {
    store: Option<Store>,
    tags: Vec<(String, String)>,
    host_json: String,
    git: Git,
    command_line: String,
    opened_at: SystemTime,
}

impl Saver {
    /// Checks the tags and opens the store (`--store`, else the default one) before any
    /// work, so that a typo or a store that cannot be opened costs no measurement: exit 2
    /// naming the tag, or with the store's own message. With `--no-save` no store is opened
    /// (the tags are still checked: they may select runs).
    pub fn open(args: &SaveArgs) -> Result<Saver, Failure> {
        let tags = parse_tags(&args.tags)?;
        let store = if args.no_save {
            None
        } else {
            Some(open_store(args.store.as_deref())?)
        };
        let host_json = serde_json::to_string(&HostFacts::read())
            .map_err(|e| Failure::run(anyhow!("cannot describe the host: {e}")))?;
        Ok(Saver {
            store,
            tags,
            host_json,
            git: if args.no_save {
                Git::default()
            } else {
                Git::read()
            },
            command_line: redact_command_line(std::env::args()),
            opened_at: SystemTime::now(),
        })
    }

    /// Saves `result` with its tags; `None` with `--no-save`. A store that cannot be
    /// written fails the command (exit 3) with the store's message.
    pub fn save(&self, result: Saved<'_>) -> Result<Option<RunId>, Failure> {
        let Some(store) = &self.store else {
            return Ok(None);
        };
        let run = self.history_run(result)?;
        store.save_run(&run).map(Some).map_err(|e| {
            Failure::run(anyhow!(
                "the result could not be saved in the history store: {e}"
            ))
        })
    }

    /// The open store, `None` with `--no-save`.
    pub fn store(&self) -> Option<&Store> {
        self.store.as_ref()
    }

    /// `saved as run 12 in /path/perfloop.db`.
    pub fn describe(&self, id: RunId) -> String {
        match &self.store {
            Some(store) => format!("saved as run {id} in {}", store.location()),
            None => format!("run {id}"),
        }
    }

    /// The row to save for `result`.
    fn history_run(&self, result: Saved<'_>) -> Result<HistoryRun, Failure> {
        let (kind, target, started_at, headline, record_json, study) = match result {
            Saved::Run(r) => (
                RunKind::Load,
                r.target.url.clone(),
                Some(r.started_at.as_str()),
                Headline::of_run(r),
                serde_json::to_string(r).map_err(unwritable)?,
                None,
            ),
            Saved::Capacity(r) => (
                RunKind::Capacity,
                r.target.url.clone(),
                Some(r.started_at.as_str()),
                Headline::of_capacity(r),
                serde_json::to_string(r).map_err(unwritable)?,
                None,
            ),
            Saved::Bench(r) => (
                RunKind::Bench,
                r.command.clone(),
                None,
                Headline::of_bench(r),
                serde_json::to_string(r).map_err(unwritable)?,
                None,
            ),
            Saved::Study(r, id) => (
                RunKind::Study,
                r.target.command.clone(),
                Some(r.started_at.as_str()),
                Headline::of_study(r),
                serde_json::to_string(r).map_err(unwritable)?,
                Some(id),
            ),
        };
        let started_at = started_at
            .and_then(|t| humantime::parse_rfc3339_weak(t).ok())
            .unwrap_or(self.opened_at);
        Ok(HistoryRun {
            kind,
            started_at,
            target,
            command_line: self.command_line.clone(),
            perfloop_version: env!("CARGO_PKG_VERSION").to_owned(),
            host_json: self.host_json.clone(),
            git_commit: self.git.commit.clone(),
            git_branch: self.git.branch.clone(),
            tags: self.tags.clone(),
            metrics_json: serde_json::to_string(&headline).map_err(unwritable)?,
            record_json,
            study,
        })
    }
}

/// A record that could not be written as JSON (exit 3).
fn unwritable(e: serde_json::Error) -> Failure {
    Failure::run(anyhow::Error::new(e).context("cannot write the record as JSON"))
}

/// Opens the store at `store` (a path or a `postgres://` URL), else the default one; a store
/// that cannot be opened (corrupt, newer than this perfloop, a database that cannot be
/// reached) is bad input (exit 2) with the store's own message.
pub fn open_store(store: Option<&str>) -> Result<Store, Failure> {
    let location = store.map_or_else(Location::default, Location::parse);
    Store::connect(&location).map_err(Failure::usage)
}

/// Opens an existing store to read it: like [`open_store`], but a store file that does not
/// exist is `None` (nothing was ever saved there) rather than created.
pub fn open_store_to_read(store: Option<&str>) -> Result<Option<Store>, Failure> {
    let location = store.map_or_else(Location::default, Location::parse);
    if let Some(path) = location.path()
        && !path.exists()
    {
        return Ok(None);
    }
    Store::connect(&location).map(Some).map_err(Failure::usage)
}

/// A store that must exist to be read (`show`, `diagnose`): exit 2 naming it when it does
/// not.
pub fn existing_store(store: Option<&str>) -> Result<Store, Failure> {
    open_store_to_read(store)?.ok_or_else(|| {
        let location = store.map_or_else(Location::default, Location::parse);
        Failure::usage(anyhow!(
            "there is no store at {location}: nothing has been saved there yet; `perfloop \
             load`, `capacity`, `bench-cmd` and `tune` save their results in the store \
             --store names (default: $PERFLOOP_DB, else ~/.local/share/perfloop/perfloop.db)"
        ))
    })
}

/// The `--tag KEY=VALUE` flags as pairs: exit 2 naming the text for one without `=`, with
/// an empty key, or with a key given twice.
pub fn parse_tags(texts: &[String]) -> Result<Vec<(String, String)>, Failure> {
    let mut tags: Vec<(String, String)> = Vec::with_capacity(texts.len());
    for text in texts {
        let Some((key, value)) = text.split_once('=') else {
            return Err(Failure::usage(anyhow!(
                "--tag '{text}': expected KEY=VALUE, e.g. --tag branch=main"
            )));
        };
        let key = key.trim();
        if key.is_empty() {
            return Err(Failure::usage(anyhow!(
                "--tag '{text}': the key is empty; expected KEY=VALUE, e.g. --tag branch=main"
            )));
        }
        if let Some((_, first)) = tags.iter().find(|(k, _)| k == key) {
            return Err(Failure::usage(anyhow!(
                "--tag '{text}': the key '{key}' is already given (as {key}={first}); \
                 give each key once"
            )));
        }
        tags.push((key.to_owned(), value.to_owned()));
    }
    Ok(tags)
}

/// The command line as it may be stored: the program as `perfloop`, header values
/// (`-H`/`--header`) replaced by `REDACTED`, URLs through `perfloop-url`'s redaction (secret
/// query values, user information: a store URL's password too), words with spaces or
/// quotes single-quoted.
pub fn redact_command_line(args: impl IntoIterator<Item = String>) -> String {
    let mut words = vec!["perfloop".to_owned()];
    let mut header_next = false;
    for arg in args.into_iter().skip(1) {
        let word = if header_next {
            header_next = false;
            perfloop_url::redact_header(&arg)
        } else if arg == "-H" || arg == "--header" {
            header_next = true;
            arg
        } else if let Some(value) = arg.strip_prefix("--header=") {
            format!("--header={}", perfloop_url::redact_header(value))
        } else if let Some(value) = arg.strip_prefix("-H").filter(|v| !v.is_empty()) {
            format!("-H{}", perfloop_url::redact_header(value))
        } else if arg.contains("://") {
            perfloop_url::redact_url(&arg)
        } else {
            arg
        };
        words.push(quote(&word));
    }
    words.join(" ")
}

/// A word as a shell would need it: single-quoted when it holds anything but plain
/// characters.
fn quote(word: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_./:=,@%+^~".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn words(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn secrets_leave_the_command_line() {
        let line = redact_command_line(words(&[
            "/usr/bin/perfloop",
            "load",
            "http://u:pw@127.0.0.1:8080/?api_key=s3cret&x=1",
            "-H",
            "Authorization: Bearer s3cret",
            "--header=X-Token: s3cret",
            "-HCookie: s3cret",
            "--store",
            "postgres://alice:s3cret@db/perf",
            "--tag",
            "branch=main",
        ]));
        assert!(!line.contains("s3cret"), "{line}");
        assert!(!line.contains("pw@"), "{line}");
        assert!(
            line.starts_with("perfloop load 'http://REDACTED@127.0.0.1:8080/"),
            "{line}"
        );
        assert!(line.contains("api_key=REDACTED&x=1"), "{line}");
        assert!(line.contains("-H 'Authorization: REDACTED'"), "{line}");
        assert!(line.contains("'--header=X-Token: REDACTED'"), "{line}");
        assert!(line.contains("'-HCookie: REDACTED'"), "{line}");
        assert!(
            line.contains("--store postgres://REDACTED@db/perf"),
            "{line}"
        );
        assert!(line.ends_with("--tag branch=main"), "{line}");
    }

    #[test]
    fn tags_are_checked() {
        let ok = parse_tags(&words(&["branch=main", "note=a=b", "empty="])).unwrap();
        assert_eq!(
            ok,
            vec![
                ("branch".to_owned(), "main".to_owned()),
                ("note".to_owned(), "a=b".to_owned()),
                ("empty".to_owned(), String::new()),
            ]
        );
        for (bad, says) in [
            (vec!["branch"], "'branch': expected KEY=VALUE"),
            (vec!["=main"], "the key is empty"),
            (
                vec!["b=1", "b=2"],
                "'b=2': the key 'b' is already given (as b=1)",
            ),
        ] {
            let failure = parse_tags(&words(&bad)).unwrap_err();
            assert_eq!(failure.exit, crate::Exit::Usage);
            let text = format!("{:#}", failure.error);
            assert!(text.contains(says), "{text}");
        }
    }

    #[test]
    fn quoting_keeps_words_apart() {
        assert_eq!(quote("-c"), "-c");
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(quote(""), "''");
    }
}
