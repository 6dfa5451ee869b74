//! Throughput of the demo target's batch mode over a grid of knob settings.
//!
//! ```text
//! cargo run --release -p perfloop-demo --example knobs -- \
//!     [--records N] [--users N] [--runs N] [--details] [--around W,B,P,C] [W,B,P,C ...]
//! ```
//!
//! A setting `W,B,P,C` is workers, batch size, pool size and cache size. Without explicit
//! settings it sweeps each knob in turn over a fixed list of values, the other knobs held
//! at the centre (`--around`, by default the defaults). The users are generated once;
//! each setting indexes them anew and runs `--runs` times (default 1); the table shows
//! the median records/s (with `--details`, the last run's match quality and its store,
//! pool and cache figures too).

// A benchmark report is written to standard output, its errors to standard error.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::sync::Arc;
use std::time::Instant;

use perfloop_demo::{DEFAULT_SEED, Dataset, Knobs, run_batch};

/// The values each knob is swept over.
const WORKERS: [usize; 6] = [1, 2, 4, 8, 16, 32];
const BATCH_SIZES: [usize; 5] = [5, 20, 100, 500, 2_000];
const POOL_SIZES: [usize; 6] = [1, 2, 4, 8, 16, 32];
const CACHE_SIZES: [usize; 4] = [0, 1_000, 10_000, 100_000];

struct Options {
    records: usize,
    users: usize,
    runs: usize,
    details: bool,
    around: Knobs,
    settings: Vec<(&'static str, Knobs)>,
}

fn setting(text: &str) -> Result<Knobs, String> {
    let v: Vec<usize> = text
        .split(',')
        .map(str::parse)
        .collect::<Result<_, _>>()
        .map_err(|_| format!("not a setting W,B,P,C: {text}"))?;
    let [workers, batch_size, pool_size, cache_size] = v[..] else {
        return Err(format!("not a setting W,B,P,C: {text}"));
    };
    Ok(Knobs {
        workers,
        batch_size,
        pool_size,
        cache_size,
    })
}

fn parse() -> Result<Options, String> {
    let mut options = Options {
        records: 20_000,
        users: 200_000,
        runs: 1,
        details: false,
        around: Knobs::DEFAULT,
        settings: Vec::new(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        let number = |text: String| text.parse().map_err(|_| format!("not a number: {text}"));
        match arg.as_str() {
            "--records" => options.records = number(value("--records")?)?,
            "--users" => options.users = number(value("--users")?)?,
            "--runs" => options.runs = number(value("--runs")?)?.max(1),
            "--around" => options.around = setting(&value("--around")?)?,
            "--details" => options.details = true,
            text => options.settings.push(("", setting(text)?)),
        }
    }
    if options.settings.is_empty() {
        options.settings = sweeps(options.around);
    }
    Ok(options)
}

/// One-at-a-time sweeps of each knob around `c`.
fn sweeps(c: Knobs) -> Vec<(&'static str, Knobs)> {
    let mut grid = Vec::new();
    grid.extend(WORKERS.map(|workers| ("workers", Knobs { workers, ..c })));
    grid.extend(BATCH_SIZES.map(|batch_size| ("batch_size", Knobs { batch_size, ..c })));
    grid.extend(POOL_SIZES.map(|pool_size| ("pool_size", Knobs { pool_size, ..c })));
    grid.extend(CACHE_SIZES.map(|cache_size| ("cache_size", Knobs { cache_size, ..c })));
    grid
}

/// The median records/s of `runs` runs and the last run's detail lines.
fn measure(data: &Arc<Dataset>, knobs: Knobs, options: &Options) -> Option<(f64, Vec<String>)> {
    let mut rates = Vec::with_capacity(options.runs);
    let mut details = Vec::new();
    for _ in 0..options.runs {
        match run_batch(data, knobs, options.records, DEFAULT_SEED) {
            Ok(report) => {
                rates.push(report.records_per_second());
                details = report.details();
            }
            Err(e) => {
                eprintln!("knobs: {knobs:?}: {e}");
                return None;
            }
        }
    }
    rates.sort_by(f64::total_cmp);
    Some((rates[rates.len() / 2], details))
}

fn main() {
    let options = match parse() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("knobs: {e}");
            std::process::exit(2);
        }
    };
    let start = Instant::now();
    let data = Arc::new(Dataset::generate(options.users, DEFAULT_SEED));
    println!(
        "{} users generated in {:.2} s; {} records per run; median of {} run(s)",
        data.len(),
        start.elapsed().as_secs_f64(),
        options.records,
        options.runs
    );
    println!(
        "{:<11} {:>7} {:>10} {:>9} {:>10} {:>11}",
        "sweep", "workers", "batch_size", "pool_size", "cache_size", "records/s"
    );
    let mut measured: Vec<(Knobs, f64)> = Vec::new();
    for (sweep, knobs) in &options.settings {
        let known = measured.iter().find(|(k, _)| k == knobs).map(|(_, r)| *r);
        let rate = match known {
            Some(rate) => rate,
            None => {
                let Some((rate, details)) = measure(&data, *knobs, &options) else {
                    continue;
                };
                if options.details {
                    for line in details {
                        println!("  {line}");
                    }
                }
                measured.push((*knobs, rate));
                rate
            }
        };
        let marker = if *knobs == options.around { " *" } else { "" };
        println!(
            "{:<11} {:>7} {:>10} {:>9} {:>10} {:>11.0}{marker}",
            sweep, knobs.workers, knobs.batch_size, knobs.pool_size, knobs.cache_size, rate
        );
    }
    println!("* the centre of the sweeps");
}
