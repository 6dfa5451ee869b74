//! `perfloop bench-cmd`: maps the flags onto a `BenchSpec`, runs it and prints the report
//! (text on stdout, or on stderr when `--json -` takes stdout).

use std::path::Path;

use anyhow::anyhow;
use perfloop_engine::parse_duration;
use perfloop_report::render_bench_text;
use perfloop_target::{
    BenchError, BenchSpec, CommandTemplate, Shell, parse_param, parse_work_regex, run_bench,
};

use crate::cli::BenchCmdArgs;
use crate::history::save::{Saved, Saver};
use crate::{Exit, Failure};

fn bench_failure(e: BenchError) -> Failure {
    if e.is_input_error() {
        Failure::usage(e)
    } else {
        Failure::run(e)
    }
}

/// Runs `perfloop bench-cmd`.
pub fn run(args: &BenchCmdArgs) -> Result<Exit, Failure> {
    let template = CommandTemplate::parse(&args.command).map_err(Failure::usage)?;
    let mut spec = BenchSpec::new(template);
    spec.runs = args.runs;
    spec.warmup = args.warmup;
    spec.ignore_failure = args.ignore_failure;
    if args.no_shell {
        spec.shell = Shell::None;
    }
    spec.timeout = Some(parse_duration(&args.timeout).map_err(Failure::usage)?);
    for p in &args.params {
        spec.params.push(parse_param(p).map_err(bench_failure)?);
    }
    if let Some(re) = &args.work_regex {
        spec.work_regex = Some(parse_work_regex(re).map_err(bench_failure)?);
    }
    spec.validate().map_err(bench_failure)?;
    crate::output::check_outputs(&[("--json", args.json.as_deref().map(Path::new))])?;
    let saver = Saver::open(&args.save)?;
    let report = run_bench(&spec).map_err(bench_failure)?;
    let text = render_bench_text(&report);
    if args.json.as_deref() == Some("-") {
        crate::output::stderr_text(&text);
    } else {
        crate::output::stdout_text(&text);
    }
    let saved = saver.save(Saved::Bench(&report));
    if let Ok(Some(id)) = &saved {
        crate::output::stderr_text(&format!("{}\n", saver.describe(*id)));
    }
    if let Some(path) = &args.json {
        let body = serde_json::to_string_pretty(&report)
            .map_err(|e| Failure::run(anyhow!("cannot encode the report: {e}")))?;
        crate::output::write_text(path, &(body + "\n"))?;
    }
    saved?;
    Ok(Exit::Ok)
}
