//! The rules: each a function from the search to at most one finding, in its own module
//! whose documentation gives its exact thresholds and why.
//!
//! [`RULES`] lists them in the order their findings are reported within a severity.

mod cpu_machine;
mod cpu_one_thread;
mod endpoints;
mod errors_grow;
mod generator_saturated;
mod heavy_tail;
mod memory_growth;
mod usl;
mod waiting;

use perfloop_report::Finding;

use crate::search::Search;

/// A rule: the finding it draws from the search, if any.
pub(crate) type Rule = fn(&Search<'_>) -> Option<Finding>;

/// Every rule, in reporting order within a severity.
pub(crate) const RULES: [Rule; 10] = [
    generator_saturated::generator_saturated,
    cpu_machine::cpu_machine,
    cpu_one_thread::cpu_one_thread,
    waiting::waiting,
    errors_grow::errors_grow,
    memory_growth::memory_growth,
    heavy_tail::heavy_tail,
    usl::usl_contention,
    usl::usl_coherency,
    endpoints::expensive_endpoints,
];
