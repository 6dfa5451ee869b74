//! A helper for the tests of `perfloop-target`, standing in for the perfloop binary:
//!
//! - `perfloop-target-helper __supervise ...` runs the supervisor, and
//!   `perfloop-target-helper __measure ...` the measurer, as perfloop does;
//! - `perfloop-target-helper hold 'COMMAND' [READY]` starts a managed target supervised by
//!   this same executable, prints `target PID` and holds it for at most 30 s (tests kill the
//!   helper to check that the target does not outlive it).

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use perfloop_target::{
    CommandTemplate, MEASURE_ARG, ManagedTarget, Ready, SUPERVISE_ARG, TargetSpec, measure,
    supervise,
};

fn hold(args: &[String]) -> Result<(), String> {
    let command = args.first().ok_or("hold needs a command")?;
    let mut spec = TargetSpec::new(CommandTemplate::parse(command).map_err(|e| e.to_string())?);
    if let Some(ready) = args.get(1) {
        spec.ready = Some(Ready::parse(ready).map_err(|e| e.to_string())?);
        spec.ready_timeout = Duration::from_secs(10);
    }
    spec.grace = Duration::from_millis(500);
    let target = ManagedTarget::start(&spec).map_err(|e| e.to_string())?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "target {}", target.pid()).map_err(|e| e.to_string())?;
    out.flush().map_err(|e| e.to_string())?;
    std::thread::sleep(Duration::from_secs(30));
    target
        .stop(Duration::from_millis(500))
        .map(|_| ())
        .map_err(|e| e.to_string())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some(SUPERVISE_ARG) => ExitCode::from(u8::try_from(supervise(&args[1..])).unwrap_or(1)),
        Some(MEASURE_ARG) => ExitCode::from(u8::try_from(measure(&args[1..])).unwrap_or(1)),
        Some("hold") => match hold(&args[1..]) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                let _ = writeln!(std::io::stderr(), "helper: {e}");
                ExitCode::from(3)
            }
        },
        _ => {
            let _ = writeln!(
                std::io::stderr(),
                "usage: perfloop-target-helper {SUPERVISE_ARG} ... | {MEASURE_ARG} ... | hold 'COMMAND' [READY]"
            );
            ExitCode::from(2)
        }
    }
}
