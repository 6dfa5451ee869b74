//! perfloop's targets: what perfloop starts, waits for, measures and stops.
//!
//! - [`template`]: command templates `'CMD ARGS {knob}'` filled from knob values.
//! - [`managed`]: managed targets: [`ManagedTarget::start`] runs a command under a small
//!   supervisor process, waits for its readiness ([`Ready`]) and stops the whole process tree
//!   (SIGTERM, a grace period, SIGKILL), also when perfloop itself dies.
//! - [`supervisor`]: that supervisor; the perfloop binary runs it when re-executed as
//!   `perfloop __supervise ...` ([`SUPERVISE_ARG`], [`supervise`]).
//! - [`helper_exe`]: which executable runs those hidden modes (perfloop itself, or a test
//!   helper).
//! - [`external`]: external targets (`--pid PID`), checked to exist and watched.
//! - [`ready`]: readiness checks: an HTTP URL answering 2xx, a TCP port accepting, a line of
//!   the log matching a regex.
//! - [`bench`](mod@bench): command benchmarks: warm-up and measured runs of a command for every
//!   combination of parameter values, with wall time, CPU, peak RSS and the work the command
//!   reports, summarised in `perfloop-report`'s bench record. Each run is measured by a
//!   small measuring process, perfloop re-executed as `perfloop __measure ...`
//!   ([`MEASURE_ARG`], [`measure()`]).
//!
//! Linux only: the lifecycle relies on process groups, `PR_SET_PDEATHSIG`,
//! `PR_SET_CHILD_SUBREAPER` and /proc. No `unsafe` code.

pub mod bench;
pub mod error;
pub mod exit;
pub mod external;
pub mod helper_exe;
mod logfile;
pub mod managed;
mod proctree;
pub mod ready;
mod spawner;
pub mod supervisor;
pub mod template;

pub use bench::{
    BenchError, BenchEvent, BenchReport, BenchResult, BenchSpec, Executor, MEASURE_ARG,
    ProcessExecutor, Shell, ShellStartup, Startup, combinations, measure, parse_param,
    parse_work_regex, run_bench, run_bench_with,
};
pub use error::{LogTail, TargetError};
pub use exit::ExitInfo;
pub use external::ExternalTarget;
pub use helper_exe::HelperExe;
pub use managed::{ManagedTarget, TargetSpec};
pub use ready::{Ready, ReadyError};
/// The regular expressions used by [`Ready::Log`] and [`BenchSpec::work_regex`].
pub use regex::Regex;
pub use supervisor::{SUPERVISE_ARG, supervise};
pub use template::{CommandTemplate, Knobs, TemplateError, knob_env, knob_env_name};
