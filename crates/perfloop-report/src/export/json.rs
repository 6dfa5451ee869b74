//! The JSON exporter: the whole run record, pretty-printed, one trailing newline. The
//! layout is described by the committed schema `schema/perfloop.run.v1.json`.

use std::io;

use super::Exporter;
use crate::record::RunRecord;

/// Writes the record as pretty JSON.
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonExporter;

impl Exporter for JsonExporter {
    fn write(&self, record: &RunRecord, out: &mut dyn io::Write) -> io::Result<()> {
        serde_json::to_writer_pretty(&mut *out, record)?;
        out.write_all(b"\n")
    }
}
