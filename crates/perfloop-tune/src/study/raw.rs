//! The study file as written: serde structures over TOML that refuse unknown fields and
//! keep the span of every value, so that validation can point at the line and column.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use serde::de::{Deserializer, MapAccess, Visitor};
use toml::Spanned;

use super::model::{Level, Model, SamplerKind};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStudy {
    pub(super) name: Spanned<String>,
    pub(super) target: RawTarget,
    pub(super) knobs: RawKnobs,
    #[serde(default)]
    pub(super) workload: Option<RawWorkload>,
    pub(super) objective: RawObjective,
    pub(super) budget: RawBudget,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTarget {
    pub(super) command: Option<Spanned<String>>,
    pub(super) bench: Option<Spanned<String>>,
    pub(super) work_regex: Option<Spanned<String>>,
    pub(super) ready: Option<Spanned<String>>,
    pub(super) ready_timeout: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) env: BTreeMap<String, Spanned<String>>,
}

/// The knob tables in the order of the file.
pub(super) struct RawKnobs(pub(super) Vec<(String, Spanned<RawKnob>)>);

impl<'de> Deserialize<'de> for RawKnobs {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KnobsVisitor;
        impl<'de> Visitor<'de> for KnobsVisitor {
            type Value = RawKnobs;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a table of knobs, one table per knob")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawKnobs, A::Error> {
                let mut knobs = Vec::new();
                while let Some((name, knob)) = map.next_entry()? {
                    knobs.push((name, knob));
                }
                Ok(RawKnobs(knobs))
            }
        }
        deserializer.deserialize_map(KnobsVisitor)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawKnob {
    #[serde(rename = "type")]
    pub(super) kind: Spanned<String>,
    pub(super) low: Option<Spanned<toml::Value>>,
    pub(super) high: Option<Spanned<toml::Value>>,
    pub(super) step: Option<Spanned<toml::Value>>,
    pub(super) log: Option<Spanned<bool>>,
    pub(super) values: Option<Spanned<Vec<String>>>,
    pub(super) default: Option<Spanned<toml::Value>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawWorkload {
    pub(super) load: Option<Spanned<RawLoad>>,
    pub(super) capacity: Option<Spanned<RawCapacity>>,
    /// Alert rules checked each second of every trial's runs.
    #[serde(default)]
    pub(super) alerts: Option<Spanned<Vec<Spanned<String>>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLoad {
    pub(super) url: Spanned<String>,
    #[serde(default)]
    pub(super) model: Model,
    pub(super) connections: Option<Spanned<u32>>,
    pub(super) rate: Option<Spanned<f64>>,
    pub(super) duration: Option<Spanned<String>>,
    pub(super) warmup: Option<Spanned<String>>,
    pub(super) level: Option<Level>,
    pub(super) method: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) headers: Vec<Spanned<String>>,
    pub(super) body: Option<Spanned<String>>,
    pub(super) body_file: Option<Spanned<String>>,
    pub(super) body_lines: Option<Spanned<String>>,
    pub(super) timeout: Option<Spanned<String>>,
    pub(super) scenario: Option<Spanned<String>>,
    pub(super) http2: Option<Spanned<bool>>,
    pub(super) streams: Option<Spanned<u32>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCapacity {
    pub(super) url: Spanned<String>,
    pub(super) slo: Spanned<Vec<Spanned<String>>>,
    pub(super) start_rate: Option<Spanned<f64>>,
    pub(super) max_rate: Option<Spanned<f64>>,
    pub(super) step_duration: Option<Spanned<String>>,
    pub(super) connections: Option<Spanned<u32>>,
    pub(super) method: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) headers: Vec<Spanned<String>>,
    pub(super) body: Option<Spanned<String>>,
    pub(super) body_file: Option<Spanned<String>>,
    pub(super) body_lines: Option<Spanned<String>>,
    pub(super) timeout: Option<Spanned<String>>,
    pub(super) scenario: Option<Spanned<String>>,
    pub(super) http2: Option<Spanned<bool>>,
    pub(super) streams: Option<Spanned<u32>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawObjective {
    pub(super) maximize: Option<Spanned<String>>,
    pub(super) minimize: Option<Spanned<String>>,
    pub(super) weighted: Option<Spanned<BTreeMap<String, f64>>>,
    #[serde(default)]
    pub(super) constraints: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawBudget {
    pub(super) trials: Option<Spanned<u32>>,
    pub(super) time: Option<Spanned<String>>,
    pub(super) repeats: Option<Spanned<u32>>,
    #[serde(default)]
    pub(super) sampler: SamplerKind,
    #[serde(default)]
    pub(super) seed: u64,
    pub(super) finalists: Option<Spanned<u32>>,
    pub(super) confirm_rounds: Option<Spanned<u32>>,
    pub(super) baseline_every: Option<Spanned<u32>>,
}
