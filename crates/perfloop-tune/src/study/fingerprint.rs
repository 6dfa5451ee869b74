//! A study's fingerprint: the hash of its canonical JSON, so that a store can refuse to
//! resume a study whose file changed in substance.
//!
//! The canonical JSON is the [`Study`] serialised by serde; this module also writes the
//! parts whose form it fixes itself, the objective and the constraints, as a study has
//! always written them: a metric by its name, an operator as `Lt`, `Le`, `Gt` or `Ge`, a
//! threshold in the metric's unit, the text as written left out (`1%` and `0.01` are the
//! same constraint). Changing that form changes every stored study's fingerprint.

use serde::ser::{SerializeMap, SerializeSeq, SerializeStruct};
use serde::{Serialize, Serializer};

use perfloop_stats::slo::{Op, Slo};

use super::model::{Objective, Study};

impl Study {
    /// A stable identity of the study's normalised content: the FNV-1a 64-bit hash of the
    /// study's canonical JSON (the parsed [`Study`] serialised with its fields in a fixed
    /// order, maps sorted by key, durations and thresholds in their units), as 16 hex digits.
    ///
    /// Whitespace, comments, the order of keys within a table and equivalent spellings
    /// (`1%` and `0.01`) do not change it; any change of substance does, including the order
    /// of the knobs (it orders the grid).
    #[must_use]
    pub fn fingerprint(&self) -> String {
        let json = serde_json::to_string(self).unwrap_or_default();
        format!("{:016x}", fnv1a64(json.as_bytes()))
    }
}

fn fnv1a64(bytes: &[u8]) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    bytes
        .iter()
        .fold(OFFSET, |h, b| (h ^ u64::from(*b)).wrapping_mul(PRIME))
}

/// `{"maximize": "throughput"}`, `{"minimize": "p99"}` or
/// `{"weighted": {"throughput": 1.0, "rss_mb": -0.5}}` (metrics in their order).
impl Serialize for Objective {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(1))?;
        match self {
            Self::Maximize(m) => map.serialize_entry("maximize", m.name())?,
            Self::Minimize(m) => map.serialize_entry("minimize", m.name())?,
            Self::Weighted(weights) => {
                map.serialize_entry("weighted", &Weights(weights))?;
            }
        }
        map.end()
    }
}

struct Weights<'a>(&'a std::collections::BTreeMap<perfloop_stats::Metric, f64>);

impl Serialize for Weights<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (metric, weight) in self.0 {
            map.serialize_entry(metric.name(), weight)?;
        }
        map.end()
    }
}

/// The constraints as `[{"metric": "p99", "op": "Lt", "threshold": 100.0}, ...]`.
pub(super) fn constraints<S: Serializer>(slos: &[Slo], serializer: S) -> Result<S::Ok, S::Error> {
    let mut seq = serializer.serialize_seq(Some(slos.len()))?;
    for slo in slos {
        seq.serialize_element(&Constraint(slo))?;
    }
    seq.end()
}

struct Constraint<'a>(&'a Slo);

impl Serialize for Constraint<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let op = match self.0.op() {
            Op::Lt => "Lt",
            Op::Le => "Le",
            Op::Gt => "Gt",
            Op::Ge => "Ge",
        };
        let mut c = serializer.serialize_struct("Constraint", 3)?;
        c.serialize_field("metric", self.0.metric().name())?;
        c.serialize_field("op", op)?;
        c.serialize_field("threshold", &self.0.threshold())?;
        c.end()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Fingerprints written by earlier versions: a stored study must still resume.
    #[test]
    fn fingerprints_are_those_of_earlier_versions() {
        let bench = r#"name = "batch"
[target]
bench = "perfloop demo-target batch --records 8000 --workers {workers}"
work_regex = 'processed (\d+)'
[knobs.workers]
type = "int"
low = 1
high = 8
default = 2
[objective]
weighted = { throughput = 1.0, rss_mb = -0.5, p99 = -2, cpu = 0.25, error_rate = -3 }
constraints = ["cpu<=150%", "throughput>=0", "p50<2s", "error_rate<=0.5"]
[budget]
time = "5m"
sampler = "grid"
"#;
        let study = Study::parse(bench).unwrap();
        let json = serde_json::to_string(&study).unwrap();
        assert!(
            json.contains(
                r#""objective":{"weighted":{"throughput":1.0,"p99":-2.0,"error_rate":-3.0,"cpu":0.25,"rss_mb":-0.5}},"constraints":[{"metric":"cpu","op":"Le","threshold":1.5},{"metric":"throughput","op":"Ge","threshold":0.0},{"metric":"p50","op":"Lt","threshold":2000.0},{"metric":"error_rate","op":"Le","threshold":0.5}]"#
            ),
            "{json}"
        );
        assert_eq!(study.fingerprint(), "397c7e24d196f3ad");
        let example = Study::parse(super::super::tests::EXAMPLE).unwrap();
        assert_eq!(example.fingerprint(), "359e984013a5bcad");
    }
}
