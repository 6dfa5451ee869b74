//! `perfloop show RUN`: a saved result re-rendered by the exporters that first reported it:
//! a load run as `perfloop load` prints it, a capacity search, a command benchmark or a study
//! as their commands do; `--json` the record as stored, laid out as the JSON exporter lays
//! it out (its text kept as saved, so every number reads back exactly); `--html FILE` the
//! HTML page of a run, capacity search or study.

use std::path::Path;

use anyhow::anyhow;
use perfloop_report::StoredRecord;
use perfloop_report::export::{
    BenchText, CapacityHtml, CapacityText, Exporter, RunHtml, StudyHtml, StudyText, TextExporter,
};

use super::reference::{self, RunRef};
use super::save::existing_store;
use crate::cli::ShowArgs;
use crate::{Exit, Failure};

/// Runs `perfloop show`.
///
/// Exit codes: 0 shown; 2 a bad or unknown run reference, an output path that cannot be
/// written, a store that cannot be opened, or HTML asked of a command benchmark; 3 a record
/// that cannot be read or an output that cannot be written.
pub fn run(args: &ShowArgs) -> Result<Exit, Failure> {
    let wanted = one_run(&args.run)?;
    crate::output::check_outputs(&[("--html", args.html.as_deref().map(Path::new))])?;
    let store = existing_store(args.store.as_deref())?;
    let entries = reference::resolve(&store, &wanted, None, &[])?;
    let Some(entry) = entries.last() else {
        return Err(Failure::usage(anyhow!("{wanted} is not in the store")));
    };
    if args.json {
        let json = reference::load_record_json(&store, entry)?;
        crate::output::stdout_text(&pretty(&json));
        return Ok(Exit::Ok);
    }
    let record = reference::load_record(&store, entry)?;
    match &args.html {
        Some(path) => write_html(path, &record),
        None => crate::output::write_with("-", |out| match &record {
            StoredRecord::Run(r) => TextExporter.write(r, out),
            StoredRecord::Capacity(r) => CapacityText.write(r, out),
            StoredRecord::Bench(r) => BenchText.write(r, out),
            StoredRecord::Study(r) => StudyText.write(r, out),
        }),
    }?;
    Ok(Exit::Ok)
}

/// The reference of one run: `last:N` names several, which `show` and `diagnose` refuse.
pub fn one_run(text: &str) -> Result<RunRef, Failure> {
    match RunRef::parse(text)? {
        RunRef::Last(_) => Err(Failure::usage(anyhow!(
            "run '{text}' names several runs; give one: a run id, 'latest' or 'tag:KEY=VALUE'"
        ))),
        one => Ok(one),
    }
}

/// The HTML page of a run, capacity search or study; a command benchmark has none (exit 2).
fn write_html(path: &str, record: &StoredRecord) -> Result<(), Failure> {
    match record {
        StoredRecord::Run(r) => crate::output::write_with(path, |out| RunHtml.write(r, out)),
        StoredRecord::Capacity(r) => {
            crate::output::write_with(path, |out| CapacityHtml.write(r, out))
        }
        StoredRecord::Study(r) => crate::output::write_with(path, |out| StudyHtml.write(r, out)),
        StoredRecord::Bench(_) => Err(Failure::usage(anyhow!(
            "--html: there is no HTML report for a command benchmark; show it as text, or \
             as JSON with --json"
        ))),
    }
}

/// Compact JSON laid out as `serde_json`'s pretty printer does (two spaces, `"key": value`,
/// empty containers as `[]` and `{}`), with a trailing newline, its tokens kept as written:
/// the stored text of every number is printed as it is, never read and written again.
pub fn pretty(json: &str) -> String {
    let mut out = String::with_capacity(json.len() * 2);
    let mut depth = 0usize;
    let mut chars = json.chars().peekable();
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        out.push_str(&"  ".repeat(depth));
    };
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                out.push('"');
                while let Some(s) = chars.next() {
                    out.push(s);
                    match s {
                        '\\' => out.extend(chars.next()),
                        '"' => break,
                        _ => {}
                    }
                }
            }
            '{' | '[' => {
                let close = if c == '{' { '}' } else { ']' };
                while chars.peek().is_some_and(|n| n.is_ascii_whitespace()) {
                    chars.next();
                }
                if chars.peek() == Some(&close) {
                    chars.next();
                    out.push(c);
                    out.push(close);
                } else {
                    depth += 1;
                    out.push(c);
                    newline(&mut out, depth);
                }
            }
            '}' | ']' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(c);
            }
            ',' => {
                out.push(',');
                newline(&mut out, depth);
            }
            ':' => out.push_str(": "),
            c if c.is_ascii_whitespace() => {}
            c => out.push(c),
        }
    }
    out.push('\n');
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn compact_json_is_laid_out_as_the_json_exporter_does() {
        let value = json!({
            "a": [], "b": {}, "c": [1, 2.5, -3e-7, {"d": null, "e": [true, false]}],
            "s": "quote \" brace { comma , colon : \\ \u{1F600} é",
            "nested": {"x": {"y": [[], [{}], [1]]}},
            "n": 0.30000000000000004
        });
        let compact = serde_json::to_string(&value).unwrap();
        let mut expected = serde_json::to_string_pretty(&value).unwrap();
        expected.push('\n');
        assert_eq!(pretty(&compact), expected);
        // Already pretty text comes out the same.
        assert_eq!(pretty(expected.trim_end()), expected);
    }

    #[test]
    fn several_runs_are_refused() {
        let failure = one_run("last:3").unwrap_err();
        assert_eq!(failure.exit, Exit::Usage);
        assert!(format!("{:#}", failure.error).contains("names several runs"));
        assert_eq!(one_run("7").unwrap(), RunRef::Id(7));
    }
}
