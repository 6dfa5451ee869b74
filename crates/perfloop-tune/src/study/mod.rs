//! The study file: a TOML description of a tuning study, parsed and validated into a
//! [`Study`].
//!
//! A complete example:
//!
//! ```toml
//! name = "demo-matching"          # the study's name (its key in the store)
//!
//! [target]
//! # A managed target: a command template started once per trial. `{workers}` and `{batch}`
//! # are knobs; `{port}` is reserved: perfloop picks a free port and fills it in.
//! command = "perfloop demo-target --listen 127.0.0.1:{port} --workers {workers} --batch-size {batch}"
//! ready = "log:listening on"      # optional: an http:// URL, tcp:PORT or log:REGEX
//! ready_timeout = "30s"           # optional, 30s by default
//! env = { MATCH_ALGO = "{algo}", MATCH_CACHE = "{cache}", MATCH_RATIO = "{ratio}" }
//!
//! [knobs.workers]
//! type = "int"
//! low = 1
//! high = 32
//! log = true
//! default = 16
//!
//! [knobs.batch]
//! type = "int"
//! low = 1
//! high = 4096
//! log = true
//! default = 500
//!
//! [knobs.ratio]
//! type = "float"
//! low = 0.1
//! high = 0.9
//! step = 0.1
//! default = 0.5
//!
//! [knobs.algo]
//! type = "categorical"
//! values = ["hash", "sort"]
//! default = "hash"
//!
//! [knobs.cache]
//! type = "bool"
//! default = true
//!
//! [workload]
//! load = { url = "http://127.0.0.1:{port}/match", model = "closed", connections = 64, duration = "10s", warmup = "2s" }
//!
//! [objective]
//! maximize = "throughput"
//! constraints = ["p99<100ms", "rss_mb<500", "error_rate<1%"]
//!
//! [budget]
//! trials = 40
//! time = "20m"
//! repeats = 1
//! sampler = "tpe"
//! seed = 1
//! finalists = 3                   # re-measured against the baseline at the end
//! confirm_rounds = 3
//! baseline_every = 5              # the baseline is measured again every 5 trials
//! ```
//!
//! Every table and inline table refuses unknown fields. The sections:
//!
//! - `name`: a non-empty string.
//! - `[target]`: exactly one of
//!   - `command`: a managed target's command template ([`Target::Managed`]), with an optional
//!     `ready` probe (`http://...`, `tcp:PORT`, `log:REGEX`) and `ready_timeout`; or
//!   - `bench`: a command benchmark ([`Target::Bench`]) run to completion once per
//!     measurement, with an optional `work_regex` whose first capture group is the amount of
//!     work the command reports (without it, the work rate is runs per second).
//!
//!   `env` (optional, both kinds) sets environment variables from templates.
//!   Templates use the syntax of `perfloop bench-cmd`: `{name}` is a placeholder (a letter or
//!   `_`, then letters, digits, `_` or `-`), `{{` and `}}` are literal braces. Placeholders
//!   may appear in `command`, `env` values, `ready` and the workload's `url`. Each must be a
//!   declared knob or a reserved placeholder ([`RESERVED_PLACEHOLDERS`]: `{port}`, a free
//!   port perfloop chooses for each trial, managed targets only); each knob must appear in
//!   at least one of them (otherwise tuning it would change nothing).
//! - `[knobs.NAME]`: one table per knob, in the order of the file (the first knob varies
//!   slowest in a grid). `type` is `int`, `float`, `categorical` or `bool`; `int` and
//!   `float` take `low`, `high` (inclusive), optional `step` and `log`; `categorical` takes
//!   `values`; every knob needs a `default` (the baseline configuration). The rules are those
//!   of [`Space::new`]; `port` is not a knob name.
//! - `[workload]`: for a managed target exactly one of
//!   - `load = { url, model = "closed"|"open", connections, rate, duration, warmup, level }`
//!     ([`LoadSpec`]; `url` is required, an open model needs `rate`, a closed one takes no
//!     `rate`; `level` is `smoke`, `medium`, `large` or `extreme`);
//!   - `capacity = { url, slo = [...], start_rate, max_rate, step_duration, connections }`
//!     ([`CapacitySpec`]; the SLOs use the grammar of `perfloop capacity --slo`).
//!
//!   Both also take what each request sends ([`HttpRequest`]): `method`, `headers` (a list
//!   of `"Name: value"`), one of `body`, `body_file` or `body_lines` (a file whose lines are
//!   sent in turn, one per request; paths are relative to the study file, and
//!   [`Study::load`] checks that the file can be read), and `timeout`. `warmup` may be
//!   `"0s"` (no warm-up); every other duration must be positive.
//!
//!   `alerts` (optional, beside `load` or `capacity`): rules checked each second of every
//!   trial's runs, in the grammar of `perfloop load --alert`
//!   ([`perfloop_stats::alert`]), like `alerts = ["p99 > 200ms for 10s", "rss > 90% of
//!   limit"]`; a rule that does not read is an error at its line and the column where it
//!   goes wrong. Alerts are not part of the fingerprint.
//!
//!   A bench target has no `[workload]` (or an empty one): it is measured by its work rate.
//! - `[objective]`: exactly one of `maximize = "METRIC"`, `minimize = "METRIC"` or
//!   `weighted = { METRIC = WEIGHT, ... }` (the score is the weighted sum; a positive weight
//!   rewards a larger value, a negative one a smaller value), over the metrics a trial
//!   measures ([`STUDY_METRICS`]): `throughput`, `p50`, `p90`, `p99`, `error_rate`, `cpu`,
//!   `rss_mb`. `constraints` is a list of `METRIC OP THRESHOLD` in the grammar of `--slo`
//!   ([`perfloop_stats::slo`]) over the same metrics ([`parse_constraint`]).
//! - `[budget]`: `trials` and/or `time` (at least one), `repeats` per trial (default 1),
//!   `sampler` = `tpe` (default), `grid` or `random`, and `seed` (default 0). `finalists`
//!   (default 3, at most 10; 0 skips the confirmation), `confirm_rounds` (default 3) and
//!   `baseline_every` (default 5) shape how the winner is confirmed: see [`Budget`].
//!
//! Durations (`time`, `duration`, `warmup`, `step_duration`, `timeout`, `ready_timeout`) are
//! written like `500ms`, `10s`, `20m`, `1h 30m`.
//!
//! Every error is a [`StudyError`] with the line and column of the offending text, the
//! message quoting it, and the source line.
//!
//! A study's [`Study::fingerprint`] identifies its normalised content, so that a store can
//! refuse to resume a study whose file changed in substance.
//!
//! The files of this module, one job each: `model.rs` (the validated [`Study`]),
//! `constraint.rs` (metrics and constraints over the SLO grammar), `raw.rs` (the TOML as
//! written, with the spans of its values), `error.rs` ([`StudyError`]: spans to line and
//! column), `validate.rs` (raw to model: target, objective, budget), `knobs.rs`,
//! `workload.rs` (load, capacity, requests, body files), `placeholders.rs` (template
//! placeholders and the knobs they name) and `fingerprint.rs`.

mod constraint;
mod error;
mod fingerprint;
mod knobs;
mod model;
mod placeholders;
mod raw;
#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests;
mod validate;
mod workload;

use std::path::Path;

use crate::space::Space;

pub use constraint::{STUDY_METRICS, is_study_metric, parse_constraint};
pub use error::StudyError;
pub use model::{
    Body, Budget, CapacitySpec, DEFAULT_BASELINE_EVERY, DEFAULT_CONFIRM_ROUNDS, DEFAULT_FINALISTS,
    DEFAULT_READY_TIMEOUT, HttpRequest, Level, LoadSpec, MAX_CONFIRM_ROUNDS, MAX_FINALISTS, Model,
    Objective, RESERVED_PLACEHOLDERS, Ready, SamplerKind, Study, Target, Workload,
};

use error::Source;
use raw::RawStudy;

impl Study {
    /// Parses and validates a study file's text.
    ///
    /// # Errors
    ///
    /// The first problem found, with its line and column: see the [module](self) docs.
    pub fn parse(text: &str) -> Result<Study, StudyError> {
        Self::parse_in(text, None)
    }

    /// Parses and validates a study file's text; with the directory of the file, also checks
    /// that the workload's body files can be read (paths are relative to that directory).
    fn parse_in(text: &str, base: Option<&Path>) -> Result<Study, StudyError> {
        let src = Source { text, base };
        let raw: RawStudy = toml::from_str(text).map_err(|e| {
            let span = e.span().unwrap_or(0..0);
            src.error(&span, e.message().trim_end().to_owned())
        })?;
        raw.validate(&src)
    }

    /// Reads, parses and validates a study file; errors name the file. Beyond
    /// [`Study::parse`], the workload's `body_file` or `body_lines` must be a readable file
    /// (relative to the study file's directory), `body_lines` with at least one non-empty
    /// line: a missing file is found here, with its line and column, not by every trial.
    ///
    /// # Errors
    ///
    /// The file cannot be read, [`Study::parse`] fails or a body file cannot be read.
    pub fn load(path: &Path) -> Result<Study, StudyError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| StudyError {
            file: Some(file.clone()),
            line: 0,
            column: 0,
            message: format!("cannot read the study file: {e}"),
            source_line: String::new(),
        })?;
        let base = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        Self::parse_in(&text, Some(base)).map_err(|mut e| {
            e.file = Some(file);
            e
        })
    }

    /// The validated search space.
    #[must_use]
    pub fn space(&self) -> &Space {
        &self.space
    }
}
