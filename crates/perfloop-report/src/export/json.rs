//! The JSON exporter, one for every record: the whole record, pretty-printed, one trailing
//! newline. The layouts are described by the committed schemas (`schema/perfloop.run.v1.json`,
//! `schema/perfloop.capacity.v1.json`, `schema/perfloop.study.v1.json`,
//! `schema/perfloop.bench.v1.json`).

use std::io;

use serde::Serialize;

use super::Exporter;

/// Writes a record as pretty JSON.
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonExporter;

impl<R: Serialize + ?Sized> Exporter<R> for JsonExporter {
    fn write(&self, record: &R, out: &mut dyn io::Write) -> io::Result<()> {
        serde_json::to_writer_pretty(&mut *out, record)?;
        out.write_all(b"\n")
    }
}
