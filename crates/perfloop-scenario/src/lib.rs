//! perfloop's scenarios: a mix of named, weighted requests to one target, their text
//! templated with `{{name}}` placeholders filled from CSV feeders, sequences and random
//! numbers, and an optional think time between a connection's requests.
//!
//! [`Scenario::load`] reads a scenario file strictly (unknown fields are errors, every
//! error names the file, line and column, a feeder's errors its file and line);
//! [`Cursor`] is one worker's way through it: which request next (by weight), the values
//! its placeholders take, the think time after it. The crate does no I/O after loading and
//! knows nothing of sockets or HTTP framing: the engine serialises what it renders.
//!
//! ```toml
//! think_time = "50ms..150ms"            # closed model: pause between a connection's requests
//! headers = ["Accept: application/json"] # on every request
//! seed = 7                               # random rows, numbers and pauses (default fixed)
//! alerts = ["p99 > 200ms for 10s"]       # checked each second of the run (perfloop's grammar)
//!
//! [[feeder]]
//! file = "users.csv"                     # relative to this file; line 1 names the columns
//! order = "sequential"                   # or "random"
//!
//! [sequence.order_id]
//! start = 1000                           # step = 1 by default
//!
//! [random.qty]
//! min = 1
//! max = 5
//!
//! [[request]]
//! name = "search"
//! path = "/search?q={{query}}"
//! weight = 8
//!
//! [[request]]
//! name = "order"
//! method = "POST"                        # default GET, or POST with a body
//! path = "/orders"                       # or url = "http://host:port/orders", on the target
//! headers = ["Content-Type: application/json"]
//! body = '{"user": "{{user}}", "id": {{order_id}}, "qty": {{qty}}}'
//! weight = 2                             # default 1
//! ```

mod alert;
mod cursor;
mod error;
mod feeder;
mod model;
mod raw;
mod template;

pub use alert::AlertText;
pub use cursor::Cursor;
pub use error::{At, ScenarioError, text_place};
pub use model::{DEFAULT_SEED, Origin, Request, Scenario, ThinkTime};
pub use raw::Order;
pub use template::{Context, Part, Template};

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
