//! A saved result read back: the record the history store keeps beside a run (its JSON
//! text), read as the record of the run's kind.

use std::fmt;

use crate::bench::BenchReport;
use crate::capacity::CapacityRecord;
use crate::run::RunRecord;
use crate::study::StudyRecord;

/// A saved run's record, by its kind.
#[derive(Debug, Clone)]
pub enum StoredRecord {
    /// A load run.
    Run(Box<RunRecord>),
    /// A capacity search.
    Capacity(Box<CapacityRecord>),
    /// A command benchmark.
    Bench(Box<BenchReport>),
    /// A tuning study.
    Study(Box<StudyRecord>),
}

/// Why a stored record does not read.
#[derive(Debug)]
pub enum StoredError {
    /// The kind is not one of the store's words for a kind of run.
    Kind(String),
    /// The JSON is not a record of its kind; its sentence is serde_json's.
    Json(serde_json::Error),
}

impl fmt::Display for StoredError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoredError::Kind(kind) => write!(f, "'{kind}' is not a kind of saved run"),
            StoredError::Json(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for StoredError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StoredError::Kind(_) => None,
            StoredError::Json(e) => Some(e),
        }
    }
}

impl From<serde_json::Error> for StoredError {
    fn from(e: serde_json::Error) -> StoredError {
        StoredError::Json(e)
    }
}

impl StoredRecord {
    /// `json` read as the record of a run of `kind`, the word the store keeps it under
    /// (`perfloop_store::RunKind::as_str`: `load`, `capacity`, `bench`, `study`).
    ///
    /// # Errors
    ///
    /// [`StoredError::Kind`] for another word, [`StoredError::Json`] when the JSON is not a
    /// record of that kind.
    pub fn parse(kind: &str, json: &str) -> Result<StoredRecord, StoredError> {
        Ok(match kind {
            "load" => StoredRecord::Run(Box::new(serde_json::from_str(json)?)),
            "capacity" => StoredRecord::Capacity(Box::new(serde_json::from_str(json)?)),
            "bench" => StoredRecord::Bench(Box::new(serde_json::from_str(json)?)),
            "study" => StoredRecord::Study(Box::new(serde_json::from_str(json)?)),
            other => return Err(StoredError::Kind(other.to_owned())),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_reads_by_its_kind_and_nothing_else_does() {
        let bench = r#"{"schema": "perfloop.bench.v1", "command": "true", "shell": "sh",
            "runs": 0, "warmup": 0, "work_unit": "", "results": []}"#;
        assert!(matches!(
            StoredRecord::parse("bench", bench),
            Ok(StoredRecord::Bench(_))
        ));
        // The same JSON is not a load run's record.
        let wrong = StoredRecord::parse("load", bench);
        assert!(matches!(wrong, Err(StoredError::Json(_))), "{wrong:?}");
        assert!(matches!(
            StoredRecord::parse("load", "not json"),
            Err(StoredError::Json(_))
        ));
        let unknown = StoredRecord::parse("tune", bench)
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            unknown.as_deref(),
            Some("'tune' is not a kind of saved run")
        );
    }
}
