//! perfloop's tuning: the study file, the search space of a study, the samplers that choose
//! the configurations to try, what a study runs next and what it concludes. Pure
//! computation: no processes, no store; the only I/O is reading a study file and checking
//! that its body files can be read ([`Study::load`]).
//!
//! - [`space`]: knobs (integer, float, categorical, boolean; linear or log scale, optional
//!   step), their values, validated [`Space`]s, configurations, the grid and the default
//!   configuration.
//! - [`sampler`]: the [`Sampler`] trait over a history of [`Trial`]s — the objective is
//!   **maximised**, a trial without an objective failed or violated a constraint — and its
//!   implementations: [`GridSampler`] (shuffled exhaustive grid), [`RandomSampler`] and
//!   [`TpeSampler`] (a multivariate Tree-structured Parzen Estimator). Every sampler is
//!   deterministic for a given seed.
//! - [`study`]: the study file (TOML) parsed and validated into a [`Study`]: target, knobs,
//!   workload, objective and constraints (the SLO grammar of `perfloop-stats`), budget;
//!   errors carry the line and column.
//! - [`trials`]: the trials of a study as stored ([`Done`]: role, confirmation round, state,
//!   objective, metrics) and how a measured trial is judged.
//! - [`schedule`]: what to run next as a pure function of the study and its trials:
//!   baseline, exploration, confirmation rounds, budget and early stop ([`Next`]).
//! - [`conclude`]: the conclusion as a pure function of the trials: finalists against the
//!   baseline of the same rounds, the winner only if its gain is significant, importance.
//! - [`mod@importance`]: which knobs matter, as the chance-corrected share of the objective's
//!   variance each knob explains on its own.

pub mod conclude;
pub mod importance;
pub mod sampler;
pub mod schedule;
pub mod space;
pub mod study;
pub mod trials;

pub use importance::{KnobImportance, importance};
pub use sampler::{GridSampler, RandomSampler, Sampler, TpeSampler, Trial};
pub use schedule::{Next, StudyEnding};
pub use space::{Config, Knob, KnobKind, Space, SpaceError, Value};
pub use study::{Study, StudyError};
pub use trials::{Done, TrialMetrics, TrialRole, TrialState};
