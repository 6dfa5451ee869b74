//! `perfloop demo-target` on its own: the same arguments and the same [`run`].
//!
//! ```text
//! cargo run --release -p perfloop-demo --example demo_target -- batch --records 20000
//! cargo run --release -p perfloop-demo --example demo_target -- --listen 127.0.0.1:8080
//! ```

// An error is reported on standard error by design.
#![allow(clippy::print_stderr)]

use std::process::ExitCode;

use clap::Parser;
use perfloop_demo::{DemoTargetArgs, run};

/// The demo target: the record-matching service, or its batch mode.
#[derive(Debug, Parser)]
#[command(name = "demo-target")]
struct Cli {
    #[command(flatten)]
    args: DemoTargetArgs,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli.args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("demo-target: {e}");
            ExitCode::from(if e.is_usage() { 2 } else { 3 })
        }
    }
}
