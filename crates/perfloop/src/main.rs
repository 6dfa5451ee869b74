//! The `perfloop` binary: parses the command line, runs the command, maps the result to an
//! exit code (0 ok, 1 an SLO failed, 2 bad usage or input, 3 the run failed). Without the
//! `demo` feature `demo` and `demo-target` exit 2; without the `dashboard` feature `serve`
//! and `--serve` do.

mod bench_cmd;
mod capacity;
mod changepoints;
mod cli;
mod compare;
#[cfg(feature = "demo")]
mod demo;
#[cfg(feature = "demo")]
mod demo_target;
mod gate;
mod history;
mod live;
mod load;
mod output;
mod progress;
#[cfg(feature = "dashboard")]
mod serve;
mod target;
mod tune;
mod webhook;

use std::process::ExitCode;

use clap::Parser;

/// Exit codes shared by every command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Everything passed.
    Ok = 0,
    /// A service-level objective or gate failed.
    SloFailed = 1,
    /// Bad usage or input.
    Usage = 2,
    /// The run itself failed.
    RunFailed = 3,
}

/// An error with the exit code it maps to.
#[derive(Debug)]
pub struct Failure {
    /// The exit code.
    pub exit: Exit,
    /// What went wrong.
    pub error: anyhow::Error,
}

impl Failure {
    /// Bad usage or input.
    pub fn usage(error: impl Into<anyhow::Error>) -> Self {
        Failure {
            exit: Exit::Usage,
            error: error.into(),
        }
    }

    /// The run failed.
    pub fn run(error: impl Into<anyhow::Error>) -> Self {
        Failure {
            exit: Exit::RunFailed,
            error: error.into(),
        }
    }
}

/// `perfloop serve` in a build without the dashboard: a usage error (exit 2) that says how to
/// get it.
#[cfg(not(feature = "dashboard"))]
fn without_dashboard() -> Failure {
    Failure::usage(anyhow::anyhow!(
        "`perfloop serve` is not in this build: perfloop was built without the `dashboard` \
         feature (the web dashboard, with axum and tokio); build it with the default features \
         (`cargo build --release`) to run it"
    ))
}

/// `perfloop demo` or `perfloop demo-target` in a build without the demo target: a usage
/// error (exit 2) that says how to get it.
#[cfg(not(feature = "demo"))]
fn without_demo(command: &str) -> Failure {
    Failure::usage(anyhow::anyhow!(
        "`perfloop {command}` is not in this build: perfloop was built without the `demo` \
         feature (the demo target, with axum and tokio); build it with the default features \
         (`cargo build --release`) to run it"
    ))
}

/// `--serve URL …` with no other URL: clap took the target's URL as the dashboard's
/// address (`--serve` takes an optional value) and then finds the URL missing; the hint
/// says so and how to write it.
fn serve_took_the_url(raw: &[String], e: &clap::Error) -> Option<String> {
    if e.kind() != clap::error::ErrorKind::MissingRequiredArgument {
        return None;
    }
    let taken = raw
        .windows(2)
        .find(|w| w[0] == "--serve" && w[1].contains("://"))
        .map(|w| w[1].as_str())?;
    Some(format!(
        "hint: --serve took '{taken}' as the dashboard's address: put --serve after the URL, \
         or give its address as --serve=ADDR"
    ))
}

fn main() -> ExitCode {
    // The helper modes come first: their stdout belongs to a protocol or to a measured command.
    let raw: Vec<String> = std::env::args().collect();
    match raw.get(1).map(String::as_str) {
        Some(perfloop_target::SUPERVISE_ARG) => {
            std::process::exit(perfloop_target::supervise(&raw[2..]))
        }
        Some(perfloop_target::MEASURE_ARG) => {
            std::process::exit(perfloop_target::measure(&raw[2..]))
        }
        _ => {}
    }
    let cli = match cli::Cli::try_parse_from(&raw) {
        Ok(cli) => cli,
        Err(e) => {
            let hint = serve_took_the_url(&raw, &e);
            let code = e.exit_code();
            let _ = e.print();
            if let Some(hint) = hint {
                #[allow(clippy::print_stderr)] // after clap's own error, as clap prints it
                {
                    eprintln!("{hint}");
                }
            }
            std::process::exit(code);
        }
    };
    let result = match cli.command {
        cli::Command::Load(args) => load::run(&args),
        cli::Command::Capacity(args) => capacity::run(&args),
        cli::Command::BenchCmd(args) => bench_cmd::run(&args),
        cli::Command::Tune(args) => tune::run(&args),
        cli::Command::Changepoints(args) => changepoints::run(&args),
        cli::Command::History(args) => history::run(&args),
        cli::Command::Show(args) => history::show::run(&args),
        cli::Command::Diagnose(args) => history::diagnose::run(&args),
        cli::Command::Compare(args) => compare::run(&args),
        cli::Command::Gate(args) => gate::run(&args),
        #[cfg(feature = "demo")]
        cli::Command::Demo(args) => demo::run(&args),
        #[cfg(feature = "demo")]
        cli::Command::DemoTarget(args) => demo_target::run(&args),
        #[cfg(not(feature = "demo"))]
        cli::Command::Demo(_) => Err(without_demo("demo")),
        #[cfg(not(feature = "demo"))]
        cli::Command::DemoTarget(_) => Err(without_demo("demo-target")),
        #[cfg(feature = "dashboard")]
        cli::Command::Serve(args) => serve::run(&args),
        #[cfg(not(feature = "dashboard"))]
        cli::Command::Serve(_) => Err(without_dashboard()),
    };
    match result {
        Ok(exit) => ExitCode::from(exit as u8),
        Err(failure) => {
            #[allow(clippy::print_stderr)]
            {
                eprintln!("error: {:#}", failure.error);
            }
            ExitCode::from(failure.exit as u8)
        }
    }
}
