//! What a scrape records: each kept series as `(t_s, value)` points on the run's time axis.
//! The scrape thread (`scrape`) fills them; the [`Recording`](crate::Recording) carries them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::prometheus::{MetricKind, float_text};

/// One value of a series.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Point {
    /// Seconds since the run's origin when the scrape began.
    pub t_s: f64,
    /// The value; `NaN` and infinities are written as the strings `"NaN"`, `"+Inf"` and
    /// `"-Inf"` in JSON.
    #[serde(with = "float_text")]
    pub value: f64,
}

/// One scraped series over the recording.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Series {
    /// `name{label="value",...}`, labels sorted: what the match expression was tried on.
    pub key: String,
    /// The series name.
    pub name: String,
    /// Its labels.
    pub labels: BTreeMap<String, String>,
    /// The type of its family.
    pub kind: MetricKind,
    /// Its values in time order.
    pub points: Vec<Point>,
}
