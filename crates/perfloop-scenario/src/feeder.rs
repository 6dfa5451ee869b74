//! Feeders: CSV files whose first line names the columns, each column a placeholder. Read
//! once, whole, when the scenario is read (RFC 4180 quoting, by the `csv` crate); every row
//! must have every column, and a file without a data row is refused, each error naming the
//! file and the line.

use std::path::Path;

use crate::error::{ScenarioError, file_error};
use crate::raw::Order;
use crate::template::valid_name;

/// A feeder file, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Feeder {
    /// The file as the scenario names it, for messages.
    pub(crate) file: String,
    pub(crate) order: Order,
    /// The column names, in the file's order.
    pub(crate) columns: Vec<String>,
    /// The rows, each with one value per column.
    pub(crate) rows: Vec<Vec<Box<str>>>,
    /// The line each row starts on.
    pub(crate) lines: Vec<u64>,
}

/// An error at a line of a feeder file.
fn line_error(file: &str, line: u64, message: String) -> ScenarioError {
    ScenarioError {
        file: file.to_owned(),
        line: usize::try_from(line).unwrap_or(usize::MAX),
        column: 0,
        message,
        source_line: String::new(),
    }
}

/// Reads the feeder at `path` (shown as `file`).
pub(crate) fn read(path: &Path, file: &str, order: Order) -> Result<Feeder, ScenarioError> {
    let handle = std::fs::File::open(path).map_err(|e| {
        file_error(
            file,
            format!(
                "cannot read the feeder ({}): {e}; feeder paths are relative to the scenario \
                 file",
                path.display()
            ),
        )
    })?;
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(true)
        .from_reader(handle);
    let csv_error = |e: &csv::Error| {
        let line = e.position().map_or(1, csv::Position::line);
        line_error(file, line, format!("not a readable CSV line: {e}"))
    };
    let header = reader.headers().map_err(|e| csv_error(&e))?.clone();
    if header.is_empty() || header.iter().all(|h| h.trim().is_empty()) {
        return Err(line_error(
            file,
            1,
            "the feeder is empty: its first line must name the columns, like `user,password`, \
             and one line per row follow"
                .into(),
        ));
    }
    let mut columns: Vec<String> = Vec::new();
    for name in &header {
        let name = name.trim();
        if !valid_name(name) {
            return Err(line_error(
                file,
                1,
                format!(
                    "column `{name}` cannot name a placeholder: use letters, digits, `_`, `-` \
                     or `.`"
                ),
            ));
        }
        if columns.iter().any(|c| c == name) {
            return Err(line_error(
                file,
                1,
                format!("column `{name}` is named twice"),
            ));
        }
        columns.push(name.to_owned());
    }
    let mut rows = Vec::new();
    let mut lines = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| csv_error(&e))?;
        let line = record.position().map_or(0, csv::Position::line);
        if record.len() < columns.len() {
            let missing = columns[record.len()..].join("`, `");
            return Err(line_error(
                file,
                line,
                format!(
                    "this row has {} of the {} columns the first line names: `{missing}` is \
                     missing",
                    record.len(),
                    columns.len()
                ),
            ));
        }
        if record.len() > columns.len() {
            return Err(line_error(
                file,
                line,
                format!(
                    "this row has {} values, but the first line names {} columns",
                    record.len(),
                    columns.len()
                ),
            ));
        }
        rows.push(record.iter().map(Box::from).collect());
        lines.push(line);
    }
    if rows.is_empty() {
        return Err(line_error(
            file,
            2,
            "the feeder has no data row: after the line of column names, one line per row".into(),
        ));
    }
    Ok(Feeder {
        file: file.to_owned(),
        order,
        columns,
        rows,
        lines,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn feeder(name: &str, text: &str) -> Result<Feeder, ScenarioError> {
        let dir = std::env::temp_dir().join(format!("perfloop-feeder-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        let result = read(&path, name, Order::Sequential);
        let _ = std::fs::remove_file(&path);
        result
    }

    #[test]
    fn rows_are_read_with_quoting() {
        let f = feeder(
            "ok.csv",
            "user,note\nann,\"a, b\"\nbob,\"say \"\"hi\"\"\"\n",
        )
        .unwrap();
        assert_eq!(f.columns, vec!["user", "note"]);
        assert_eq!(f.rows.len(), 2);
        assert_eq!(&*f.rows[0][1], "a, b");
        assert_eq!(&*f.rows[1][1], "say \"hi\"");
        assert_eq!(f.lines, vec![2, 3]);
    }

    #[test]
    fn a_missing_column_names_the_file_line_and_column() {
        let e = feeder("short.csv", "user,password\nann,x\nbob\ncy,z\n").unwrap_err();
        assert_eq!((e.file.as_str(), e.line), ("short.csv", 3));
        assert!(e.message.contains("`password` is missing"), "{e}");
        assert!(e.to_string().starts_with("short.csv:3: "), "{e}");
    }

    #[test]
    fn an_empty_feeder_is_refused() {
        for (name, text, line) in [
            ("empty.csv", "", 1),
            ("header-only.csv", "user,password\n", 2),
        ] {
            let e = feeder(name, text).unwrap_err();
            assert_eq!((e.file.as_str(), e.line), (name, line), "{e}");
        }
        let e = feeder("dup.csv", "a,a\n1,2\n").unwrap_err();
        assert!(e.message.contains("twice"), "{e}");
        let e = read(Path::new("/nonexistent/x.csv"), "x.csv", Order::Random).unwrap_err();
        assert!(e.to_string().starts_with("x.csv: cannot read"), "{e}");
    }
}
