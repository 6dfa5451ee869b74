//! `perfloop demo`: the loop on the embedded demo target, on a machine with nothing else.
//!
//! It starts `perfloop demo-target` (the record-matching service) with its default knobs as
//! a managed target, watches its resources, runs the smoke and the medium level against
//! `POST /match` with varying batches of generated records (planted duplicates and new
//! people), searches the highest request rate the service sustains within `p99<100ms` and
//! sweeps the concurrency, runs a scenario of two endpoints over HTTPS against a second
//! demo target serving TLS with a certificate generated at its start (`https.rs`), and last
//! tunes the four knobs (workers, batch size, pool size, cache size) with a study file run
//! by `perfloop tune` in a fresh store.
//!
//! Each stage prints a short headline — what ran, the figure that matters, where its full
//! report is — and the demo ends with the loop's summary: the capacity, the bottleneck the
//! diagnosis found, the tuned gain with its 95 % interval, and the before/after table (the
//! defaults against the best configuration, measured in the same rounds). The full reports
//! (text, JSON, HTML), the study file, its store and `best.env` are written to `--out`, or
//! to a new directory under the system's temporary one, which the demo names.

mod https;

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, anyhow};
use perfloop_capacity::CapacitySpec;
use perfloop_demo::{DEFAULT_SEED, DEFAULT_USERS, Dataset, MatchRequest, Workload};
use perfloop_engine::Level;
use perfloop_engine::spec::{Body, Given, LoadSpec, RequestOptions};
use perfloop_report::export::{JsonExporter, TextExporter, WIDTH};
use perfloop_report::{CapacityRecord, RunRecord, StudyRecord};
use perfloop_target::{CommandTemplate, Ready, Regex, TargetSpec};

use crate::capacity::Searched;
use crate::cli::DemoArgs;
use crate::load::{Measured, Resolved, measure};
use crate::target::{Watch, WatchPlan};
use crate::{Exit, Failure};

/// Records in one `POST /match` request.
const RECORDS_PER_REQUEST: usize = 20;
/// Distinct request bodies the connections cycle through.
const BODIES: usize = 256;

/// The demo's size: the full one, or `--quick`.
struct Plan {
    users: usize,
    smoke: Duration,
    medium: Duration,
    medium_warmup: Duration,
    interval: Duration,
    /// Capacity search: measured time and warm-up of each step, and the resolution.
    step: Duration,
    step_warmup: Duration,
    resolution: f64,
    /// The HTTPS scenario's measured time.
    https: Duration,
    /// Tuning: each trial's measured time and warm-up, exploration trials, finalists,
    /// confirmation rounds, and the time budget.
    tune: TunePlan,
}

/// The demo's tuning study.
struct TunePlan {
    duration: Duration,
    warmup: Duration,
    trials: u32,
    finalists: u32,
    rounds: u32,
    time: Duration,
}

impl Plan {
    fn new(quick: bool) -> Plan {
        let s = Duration::from_secs;
        if quick {
            Plan {
                users: 50_000,
                smoke: s(2),
                medium: s(5),
                medium_warmup: s(1),
                interval: Duration::from_millis(500),
                step: s(1),
                step_warmup: Duration::from_millis(300),
                resolution: 0.15,
                https: s(3),
                tune: TunePlan {
                    duration: Duration::from_millis(800),
                    warmup: Duration::from_millis(300),
                    trials: 6,
                    finalists: 2,
                    rounds: 2,
                    time: s(25),
                },
            }
        } else {
            let medium = Level::Medium.preset();
            Plan {
                users: DEFAULT_USERS,
                smoke: Level::Smoke.preset().duration,
                medium: medium.duration,
                medium_warmup: medium.warmup,
                interval: Duration::from_millis(500),
                step: s(4),
                step_warmup: s(1),
                resolution: 0.05,
                https: s(10),
                tune: TunePlan {
                    duration: s(3),
                    warmup: s(1),
                    trials: 16,
                    finalists: 3,
                    rounds: 3,
                    time: s(150),
                },
            }
        }
    }
}

/// Runs `perfloop demo`.
pub fn run(args: &DemoArgs) -> Result<Exit, Failure> {
    let plan = Plan::new(args.quick);
    let dir = report_dir(args)?;
    say(&format!(
        "perfloop demo · the record-matching service with {} known users, default knobs\n\
         full reports go to {}\n",
        plan.users,
        dir.display()
    ));
    let bodies = request_bodies(plan.users)?;
    let watch = start_target(&plan, None)?;
    let addr = listening_address(&watch)?;
    let measured = run_levels(&plan, &watch, &addr, &bodies, &dir).and_then(|levels| {
        let capacity = run_capacity(&plan, &watch, &addr, &bodies, &dir)?;
        Ok((levels, capacity))
    });
    let stopped = watch.stop();
    let (levels, capacity) = measured?;
    stopped?;
    let https = https::run_stage(&plan, &bodies, &dir)?;
    let study = run_tuning(&plan, &bodies, &dir)?;
    say(&summary(&levels, &capacity, &https, &study, &dir));
    if study.best.is_none() {
        return Err(Failure::run(anyhow!(
            "the tuning study found no configuration"
        )));
    }
    Ok(Exit::Ok)
}

/// The directory the reports go to: `--out`, or a new one under the temporary directory.
fn report_dir(args: &DemoArgs) -> Result<PathBuf, Failure> {
    let dir = match &args.out {
        Some(dir) => dir.clone(),
        None => std::env::temp_dir().join(format!("perfloop-demo-{}", std::process::id())),
    };
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("--out '{}': cannot create the directory", dir.display()))
        .map_err(Failure::usage)?;
    Ok(dir)
}

/// A file of the report directory, as the output functions take it.
fn file(dir: &Path, name: &str) -> String {
    dir.join(name).to_string_lossy().into_owned()
}

/// The demo's tuning study of the four knobs, written as a study file and run by
/// `perfloop tune`; its summary goes to `study.txt`.
fn run_tuning(plan: &Plan, bodies: &[Vec<u8>], dir: &Path) -> Result<StudyRecord, Failure> {
    let lines: Vec<u8> = bodies.join(&b"\n"[..]);
    std::fs::write(dir.join("bodies.jsonl"), lines)
        .context("cannot write the request bodies")
        .map_err(Failure::run)?;
    let study = dir.join("study.toml");
    std::fs::write(&study, study_text(plan)?)
        .context("cannot write the study file")
        .map_err(Failure::run)?;
    let db = dir.join("tune.db");
    for stale in ["tune.db", "tune.db-wal", "tune.db-shm"] {
        let _ = std::fs::remove_file(dir.join(stale));
    }
    let t = &plan.tune;
    stage(&format!(
        "5. tuning: the workers, batch size, pool size and cache size that give the most \
         throughput within {DEMO_SLO}: {} trials of {:.1} s (the defaults among them), then \
         the {} best against the defaults in {} rounds",
        t.trials,
        (t.duration + t.warmup).as_secs_f64(),
        t.finalists,
        t.rounds
    ));
    let tune_args = crate::cli::TuneArgs {
        study,
        resume: false,
        save: crate::cli::SaveArgs {
            store: Some(db.display().to_string()),
            ..crate::cli::SaveArgs::default()
        },
        apply: Some(dir.join("best.env")),
        apply_format: None,
        json: Some(file(dir, "study.json")),
        html: Some(file(dir, "study.html")),
        quiet: false,
        summary: Some(dir.join("study.txt")),
    };
    let (record, _) = crate::tune::execute(&tune_args)?;
    headline(&tuning_headline(&record));
    headline("report: study.txt · study.html · study.json · the best configuration: best.env");
    Ok(record)
}

/// The tuning study's outcome in a line.
fn tuning_headline(record: &StudyRecord) -> String {
    let Some(best) = &record.best else {
        return "no configuration completed".to_string();
    };
    if best.is_default {
        return "the defaults stand: no configuration beat them beyond this machine's noise"
            .to_string();
    }
    let config = best
        .config
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(" ");
    match &best.gain {
        Some(g) => format!("best {config}: {}", gain_text(g)),
        None => format!("best {config}, {UNPAIRED}"),
    }
}

/// What the demo says when the best configuration has no gain over the defaults measured
/// in the same rounds.
const UNPAIRED: &str = "but it was not confirmed against the defaults in the same rounds: no \
                        gain can be given (study.txt says why)";

/// A gain with its interval: `+12.3 % throughput, 95 % CI [+8.1 %, +16.5 %], 3 paired
/// rounds`.
fn gain_text(g: &perfloop_report::Gain) -> String {
    let interval = match (g.ci95_low_pct, g.ci95_high_pct) {
        (Some(lo), Some(hi)) => format!("95 % CI [{lo:+.1} %, {hi:+.1} %]"),
        _ => "no interval from a single paired round".to_string(),
    };
    format!(
        "{:+.1} % throughput, {interval}, {} paired round{}",
        g.percent,
        g.pairs,
        if g.pairs == 1 { "" } else { "s" }
    )
}

/// The demo's study file.
fn study_text(plan: &Plan) -> Result<String, Failure> {
    let exe = std::env::current_exe()
        .context("cannot find the perfloop executable")
        .map_err(Failure::run)?;
    let exe = exe.to_string_lossy().replace('\'', r"'\''");
    let t = &plan.tune;
    let knob = |name: &str, low: usize, high: usize, default: usize| {
        format!(
            "[knobs.{name}]\ntype = \"int\"\nlow = {low}\nhigh = {high}\nlog = true\ndefault = {default}\n\n"
        )
    };
    let d = perfloop_demo::Knobs::DEFAULT;
    let ms = |d: Duration| d.as_millis();
    Ok(format!(
        "# The demo's tuning study: the record-matching service's four knobs.\n\
         name = \"demo-matching\"\n\n\
         [target]\n\
         command = \"'{exe}' demo-target --listen 127.0.0.1:{{port}} --users {users} \
         --workers {{workers}} --batch-size {{batch_size}} --pool-size {{pool_size}} \
         --cache-size {{cache_size}}\"\n\
         ready = \"log:listening on http://\"\n\n\
         {workers}{batch}{pool}{cache}\
         [workload]\n\
         load = {{ url = \"http://127.0.0.1:{{port}}/match\", connections = {connections}, \
         duration = \"{duration}ms\", warmup = \"{warmup}ms\", method = \"POST\", \
         headers = [\"Content-Type: application/json\"], body_lines = \"bodies.jsonl\" }}\n\n\
         [objective]\n\
         maximize = \"throughput\"\n\
         constraints = [\"{DEMO_SLO}\", \"error_rate<1%\"]\n\n\
         [budget]\n\
         trials = {trials}\n\
         time = \"{time}s\"\n\
         finalists = {finalists}\n\
         confirm_rounds = {rounds}\n\
         seed = 1\n",
        users = plan.users,
        workers = knob("workers", 1, 64, d.workers),
        batch = knob("batch_size", 10, 5000, d.batch_size),
        pool = knob("pool_size", 1, 128, d.pool_size),
        cache = knob("cache_size", 10, 100_000, d.cache_size),
        connections = Level::Medium.preset().connections.peak(),
        duration = ms(t.duration),
        warmup = ms(t.warmup),
        trials = t.trials,
        time = t.time.as_secs(),
        finalists = t.finalists,
        rounds = t.rounds,
    ))
}

/// The before/after table, measured: the defaults against the study's best configuration
/// over the same confirmation rounds.
fn before_after(record: &StudyRecord) -> String {
    let Some(best) = &record.best else {
        return "  before / after: no configuration completed\n".to_string();
    };
    let header = if best.gain.is_some() {
        "before / after: the defaults against the best configuration, measured in the same \
         rounds"
    } else {
        "before / after: the defaults (their runs' mean) against the best configuration (its \
         exploration trial): not measured in the same rounds"
    };
    let mut out = wrapped("  ", "  ", header);
    out.push_str("    setting                     before         after   change\n");
    let knob = |name: &str| -> (String, String) {
        let default = record
            .knobs
            .iter()
            .find(|k| k.name == name)
            .map_or_else(String::new, |k| k.default.to_string());
        let value = best
            .config
            .get(name)
            .map_or_else(String::new, ToString::to_string);
        (default, value)
    };
    for (label, name) in [
        ("worker threads", "workers"),
        ("batch size", "batch_size"),
        ("pool size", "pool_size"),
        ("cache size", "cache_size"),
    ] {
        let (before, after) = knob(name);
        let change = if before == after { "same" } else { "tuned" };
        out.push_str(&format!(
            "    {label:<22} {before:>11} {after:>13}   {change}\n"
        ));
    }
    let metric = |m: &std::collections::BTreeMap<String, f64>, key: &str| m.get(key).copied();
    let rows: [(&str, &str, f64, usize); 5] = [
        ("records/s", "throughput", RECORDS_PER_REQUEST as f64, 0),
        ("p50 latency, ms", "p50", 1.0, 2),
        ("p99 latency, ms", "p99", 1.0, 2),
        ("target CPU, cores", "cpu", 1.0, 2),
        ("target RSS, MiB", "rss_mb", 1.0, 1),
    ];
    for (label, key, scale, decimals) in rows {
        let (b, a) = (metric(&best.before, key), metric(&best.after, key));
        if b.is_none() && a.is_none() {
            continue;
        }
        let show = |v: Option<f64>| {
            v.map_or_else(|| DASH.to_string(), |v| format!("{:.decimals$}", v * scale))
        };
        let change = match (b, a) {
            (Some(b), Some(a)) if b.abs() > 0.0 => format!("{:+.1} %", (a / b - 1.0) * 100.0),
            _ => DASH.to_string(),
        };
        out.push_str(&format!(
            "    {label:<22} {:>11} {:>13}   {change}\n",
            show(b),
            show(a)
        ));
    }
    out
}

/// The objective the demo's capacity search holds every step to.
const DEMO_SLO: &str = "p99<100ms";
/// The demo's concurrency sweep.
const DEMO_SWEEP: [u32; 6] = [1, 2, 4, 8, 16, 32];

/// The capacity search on the demo target, with a concurrency sweep and the diagnosis; its
/// reports go to `capacity.txt`, `.json` and `.html`.
fn run_capacity(
    plan: &Plan,
    watch: &Watch,
    addr: &str,
    bodies: &[Vec<u8>],
    dir: &Path,
) -> Result<CapacityRecord, Failure> {
    let search = CapacitySpec {
        request: match_request(addr, bodies),
        slos: vec![
            Given::Text(DEMO_SLO.to_string()),
            Given::Text(perfloop_capacity::DEFAULT_ERROR_SLO.to_string()),
        ],
        start_rate: Given::Value(200.0),
        step_duration: Given::Value(plan.step),
        step_warmup: Given::Value(plan.step_warmup),
        resolution: Given::Value(plan.resolution),
        max_time: Given::Value(Duration::from_secs(240)),
        concurrency: DEMO_SWEEP.to_vec(),
        ..CapacitySpec::default()
    }
    .resolve()
    .map_err(Failure::run)?;
    stage(&format!(
        "3. capacity: the highest request rate the service sustains within {DEMO_SLO}, then \
         a concurrency sweep over 1 to {} connections (its steps on stderr)",
        DEMO_SWEEP[DEMO_SWEEP.len() - 1]
    ));
    let Searched { record, failure } = crate::capacity::search(&search, Some(watch), false);
    let mut text = Vec::new();
    perfloop_report::write_capacity_text(&record, &mut text).map_err(Failure::run)?;
    crate::output::first_failure([
        crate::output::write_text(&file(dir, "capacity.txt"), &String::from_utf8_lossy(&text)),
        crate::output::write_with(&file(dir, "capacity.json"), |w| {
            serde_json::to_writer_pretty(&mut *w, &record)?;
            w.write_all(b"\n")
        }),
        crate::output::write_with(&file(dir, "capacity.html"), |w| {
            perfloop_report::write_capacity_html(&record, w)
        }),
    ])?;
    headline(&capacity_headline(&record));
    headline(&format!("bottleneck: {}", bottleneck(&record)));
    headline("report: capacity.txt · capacity.html (with plots) · capacity.json");
    match failure {
        Some(f) => Err(f),
        None => Ok(record),
    }
}

/// The capacity found, and the sweep when it sustained more, in a sentence or two.
fn capacity_headline(record: &CapacityRecord) -> String {
    let r = &record.result;
    let within = record.settings.slo.join(" and ");
    let mut text = match r.max_sustainable_rps {
        Some(rps) => format!(
            "{rps:.0} req/s ({:.0} records/s) sustained within {within}",
            rps * RECORDS_PER_REQUEST as f64
        ),
        None => format!("no rate was sustained within {within}"),
    };
    if let Some(above) = &r.sweep_above {
        text.push_str(&format!(
            "; the concurrency sweep sustained {:.0} req/s at {} connections (the report says \
             why the rate search stopped below)",
            above.throughput_rps, above.concurrency
        ));
    }
    if let Some(below) = &r.sweep_below {
        text.push_str(&format!(
            "; above the concurrency sweep's best, {:.0} req/s at {} connections (the report \
             says what the sweep measured near the search's {:.0} requests in flight)",
            below.throughput_rps, below.concurrency, below.search_in_flight
        ));
    }
    text
}

/// The most severe finding of the diagnosis, in a line.
fn bottleneck(record: &CapacityRecord) -> String {
    match record.findings.first() {
        Some(f) => format!("{} · {}", f.title, f.severity.name()),
        None => "the diagnosis found nothing that limits the service".to_string(),
    }
}

fn run_levels(
    plan: &Plan,
    watch: &Watch,
    addr: &str,
    bodies: &[Vec<u8>],
    dir: &Path,
) -> Result<Vec<(Level, RunRecord)>, Failure> {
    let mut records = Vec::new();
    let levels = [
        (Level::Smoke, plan.smoke, Duration::ZERO),
        (Level::Medium, plan.medium, plan.medium_warmup),
    ];
    for (n, (level, duration, warmup)) in levels.into_iter().enumerate() {
        let resolved = level_run(level, addr, bodies, duration, warmup)?;
        let after = if warmup.is_zero() {
            String::new()
        } else {
            format!(" after {:.0} s warm-up", warmup.as_secs_f64())
        };
        stage(&format!(
            "{}. {} level: {} connections for {:.0} s{after}, POST /match with {} records per \
             request",
            n + 1,
            level.name(),
            level.preset().connections.peak(),
            duration.as_secs_f64(),
            RECORDS_PER_REQUEST
        ));
        let Measured { record, .. } = measure(&resolved, Some(watch), false)?;
        let name = level.name();
        crate::output::first_failure([
            crate::output::write_record(&file(dir, &format!("{name}.txt")), &TextExporter, &record),
            crate::output::write_record(
                &file(dir, &format!("{name}.json")),
                &JsonExporter,
                &record,
            ),
        ])?;
        say(&run_headline(&record));
        headline(&format!("report: {name}.txt · {name}.json"));
        watch.check_alive()?;
        records.push((level, record));
    }
    Ok(records)
}

/// A run's figures in a line — throughput, latency, errors, the target's CPU — and what its
/// warnings say.
fn run_headline(r: &RunRecord) -> String {
    let cpu = r
        .target
        .summary
        .as_ref()
        .and_then(|s| s.cpu_pct_mean)
        .map_or_else(String::new, |c| {
            format!(" · target CPU {c:.0} % of one core")
        });
    let mut out = wrapped(
        "   ",
        "   ",
        &format!(
            "{:.0} req/s ({:.0} records/s) · p50 {} · p99 {} · {} error{}{cpu}",
            r.throughput_rps,
            r.throughput_rps * RECORDS_PER_REQUEST as f64,
            latency(r.latency_ms.count, r.latency_ms.p50),
            latency(r.latency_ms.count, r.latency_ms.p99),
            r.requests.errors,
            if r.requests.errors == 1 { "" } else { "s" }
        ),
    );
    if let Some(w) = r.warnings.iter().find(|w| w.invalidates) {
        out.push_str(&wrapped("   ", "   ", &format!("WARNING: {}", w.message)));
    }
    let others = r.warnings.iter().filter(|w| !w.invalidates).count();
    if others > 0 {
        out.push_str(&format!(
            "   {others} warning{} in the report\n",
            if others == 1 { "" } else { "s" }
        ));
    }
    out
}

/// A latency in ms for a headline; `–` without a response.
fn latency(count: u64, ms: f64) -> String {
    if count == 0 {
        DASH.to_string()
    } else if ms < 10.0 {
        format!("{ms:.2} ms")
    } else {
        format!("{ms:.1} ms")
    }
}

/// Varying `POST /match` bodies from the same generated users as the target's.
fn request_bodies(users: usize) -> Result<Vec<Vec<u8>>, Failure> {
    let data = Dataset::generate(users, DEFAULT_SEED);
    let workload = Workload::new(&data, DEFAULT_SEED);
    (0..BODIES)
        .map(|i| {
            let records = workload
                .records((i * RECORDS_PER_REQUEST) as u64, RECORDS_PER_REQUEST)
                .into_iter()
                .map(|l| l.record)
                .collect();
            serde_json::to_vec(&MatchRequest { records })
                .map_err(|e| Failure::run(anyhow!("cannot encode a request: {e}")))
        })
        .collect()
}

/// The demo target as a managed target, serving HTTP, or HTTPS with its certificate written
/// to `tls`.
fn start_target(plan: &Plan, tls: Option<&Path>) -> Result<Watch, Failure> {
    let exe = std::env::current_exe()
        .context("cannot find the perfloop executable")
        .map_err(Failure::run)?;
    let quote = |s: &str| format!("'{}'", s.replace('\'', r"'\''"));
    let mut text = format!(
        "{} demo-target --listen 127.0.0.1:0 --users {}",
        quote(&exe.to_string_lossy()),
        plan.users
    );
    if let Some(cert) = tls {
        text.push_str(&format!(
            " --tls --cert-out {}",
            quote(&cert.to_string_lossy())
        ));
    }
    let command = CommandTemplate::parse(&text).map_err(Failure::run)?;
    let mut spec = TargetSpec::new(command);
    let ready = Regex::new(LISTENING[usize::from(tls.is_some())])
        .map_err(|e| Failure::run(anyhow!("{e}")))?;
    spec.ready = Some(Ready::Log(ready));
    spec.ready_timeout = Duration::from_secs(120);
    if tls.is_none() {
        say("starting the demo target (generating and indexing its users) ...\n");
    }
    WatchPlan::managed(spec, plan.interval).start()
}

/// What the demo target prints once it serves: over HTTP, over HTTPS.
const LISTENING: [&str; 2] = ["listening on http://", "listening on https://"];

/// The address the target printed in its `listening on http://ADDR` (or `https://`) line.
fn listening_address(watch: &Watch) -> Result<String, Failure> {
    watch
        .log_lines(50)
        .iter()
        .find_map(|l| {
            LISTENING
                .iter()
                .find_map(|prefix| l.split(prefix).nth(1))
                .map(|a| a.trim().to_string())
        })
        .ok_or_else(|| Failure::run(anyhow!("the demo target did not say where it listens")))
}

/// A run of `level` on the demo target's `POST /match` with the varying bodies, its
/// duration and warm-up the demo's size; the rest as `perfloop load --level` resolves it.
fn level_run(
    level: Level,
    addr: &str,
    bodies: &[Vec<u8>],
    duration: Duration,
    warmup: Duration,
) -> Result<Resolved, Failure> {
    let spec = LoadSpec {
        request: match_request(addr, bodies),
        level: Some(Given::Value(level)),
        duration: Some(Given::Value(duration)),
        warmup: Some(Given::Value(warmup)),
        ..LoadSpec::default()
    };
    spec.resolve().map_err(Failure::run)
}

/// The demo target's `POST /match` with the varying bodies; the rest of the request as
/// `perfloop load` has it by default.
fn match_request(addr: &str, bodies: &[Vec<u8>]) -> RequestOptions {
    RequestOptions {
        method: Some("POST".to_string()),
        headers: vec!["Content-Type: application/json".to_string()],
        body: Body::Many(bodies.to_vec()),
        ..RequestOptions::new(format!("http://{addr}/match"))
    }
}

/// What a figure that was not measured shows as.
const DASH: &str = "–";

/// The loop's summary: the runs, the capacity, the bottleneck, the tuned gain with its
/// interval and the before/after table, then where the reports are.
fn summary(
    levels: &[(Level, RunRecord)],
    capacity: &CapacityRecord,
    https: &RunRecord,
    study: &StudyRecord,
    dir: &Path,
) -> String {
    let mut out = String::from("\n== the loop, in short\n");
    let row = |label: &str, text: &str| wrapped(&format!("  {label:<13}"), &" ".repeat(15), text);
    for (level, r) in levels {
        out.push_str(&row(
            &format!("{} run", level.name()),
            &format!(
                "{:.0} req/s · p99 {}",
                r.throughput_rps,
                latency(r.latency_ms.count, r.latency_ms.p99)
            ),
        ));
    }
    out.push_str(&row("capacity", &capacity_headline(capacity)));
    out.push_str(&row("bottleneck", &bottleneck(capacity)));
    out.push_str(&row("https", &https::summary_line(https)));
    let gain = match &study.best {
        Some(best) if !best.is_default => match &best.gain {
            Some(g) => gain_text(g),
            None => format!("none measured: the best configuration {UNPAIRED}"),
        },
        Some(_) => {
            "none: no configuration beat the defaults beyond this machine's noise".to_string()
        }
        None => "none: no configuration completed".to_string(),
    };
    out.push_str(&row("tuned gain", &gain));
    out.push_str(&before_after(study));
    out.push_str(&format!("  full reports in {}:\n", dir.display()));
    out.push_str(&wrapped(
        "    ",
        "    ",
        "smoke.txt, medium.txt, capacity.txt and capacity.html, https.txt, study.txt and \
         study.html (each with its .json), best.env; the HTTPS scenario https.toml",
    ));
    out
}

fn say(text: &str) {
    crate::output::stdout_text(text);
}

/// A stage's title after a blank line, wrapped within the report width.
fn stage(title: &str) {
    say(&format!("\n{}", wrapped("== ", "   ", title)));
}

/// A line of a stage's headline, wrapped within the report width.
fn headline(text: &str) {
    say(&wrapped("   ", "   ", text));
}

/// `text` in lines within [`WIDTH`] columns, the first after `first`, the others after
/// `rest`; a word longer than a line stays whole.
fn wrapped(first: &str, rest: &str, text: &str) -> String {
    let mut out = String::new();
    let mut line = String::new();
    let mut indent = first;
    for word in text.split_whitespace() {
        let room = WIDTH.saturating_sub(indent.chars().count());
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > room {
            out.push_str(&format!("{indent}{line}\n"));
            line.clear();
            indent = rest;
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        out.push_str(&format!("{indent}{line}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headlines_wrap_within_the_width_under_their_indent() {
        let text = "476 req/s (9520 records/s) sustained within p99<100ms and error_rate<1%; \
                    the concurrency sweep sustained 677 req/s at 32 connections";
        let out = wrapped("== ", "   ", text);
        let lines: Vec<&str> = out.lines().collect();
        assert!(lines.len() > 1, "{out}");
        assert!(lines[0].starts_with("== 476 req/s"), "{out}");
        assert!(
            lines[1..]
                .iter()
                .all(|l| l.starts_with("   ") && !l.starts_with("    "))
        );
        assert!(lines.iter().all(|l| l.chars().count() <= WIDTH), "{out}");
        let words: Vec<&str> = out.split_whitespace().filter(|w| *w != "==").collect();
        assert_eq!(words, text.split_whitespace().collect::<Vec<_>>());
    }
}
