//! perfloop's tuning: the search space of a study and the samplers that choose the
//! configurations to try. Pure computation: no I/O, no processes.
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
//!   workload, objective and constraints, budget; errors carry the line and column.
//! - [`mod@importance`]: which knobs matter, as the chance-corrected share of the objective's
//!   variance each knob explains on its own.

pub mod importance;
pub mod sampler;
pub mod space;
pub mod study;

pub use importance::{KnobImportance, importance};
pub use sampler::{GridSampler, RandomSampler, Sampler, TpeSampler, Trial};
pub use space::{Config, Knob, KnobKind, Space, SpaceError, Value};
pub use study::{Study, StudyError};
