//! The JSON exporters: the whole record, pretty-printed, one trailing newline. The layouts
//! are described by the committed schemas `schema/perfloop.run.v1.json`,
//! `schema/perfloop.capacity.v1.json` and `schema/perfloop.study.v1.json`.

use std::io;

use super::{CapacityExporter, Exporter, StudyExporter};
use crate::capacity::CapacityRecord;
use crate::record::RunRecord;
use crate::study::StudyRecord;

/// Writes the record as pretty JSON.
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonExporter;

impl Exporter for JsonExporter {
    fn write(&self, record: &RunRecord, out: &mut dyn io::Write) -> io::Result<()> {
        serde_json::to_writer_pretty(&mut *out, record)?;
        out.write_all(b"\n")
    }
}

/// Writes a capacity record as pretty JSON.
#[derive(Debug, Clone, Copy, Default)]
pub struct CapacityJson;

impl CapacityExporter for CapacityJson {
    fn write(&self, record: &CapacityRecord, out: &mut dyn io::Write) -> io::Result<()> {
        serde_json::to_writer_pretty(&mut *out, record)?;
        out.write_all(b"\n")
    }
}

/// Writes a study record as pretty JSON.
#[derive(Debug, Clone, Copy, Default)]
pub struct StudyJson;

impl StudyExporter for StudyJson {
    fn write(&self, record: &StudyRecord, out: &mut dyn io::Write) -> io::Result<()> {
        serde_json::to_writer_pretty(&mut *out, record)?;
        out.write_all(b"\n")
    }
}
