//! `perfloop demo`: the loop on the embedded demo target, on a machine with nothing else.
//!
//! It starts `perfloop demo-target` (the record-matching service) with its default knobs as
//! a managed target, watches its resources, runs the smoke and the medium level against
//! `POST /match` with varying batches of generated records (planted duplicates and new
//! people), prints each run's report and a comparison of the two, then searches the
//! highest request rate the service sustains within `p99<100ms`, sweeps the concurrency,
//! and prints the capacity report with its findings (`--out` also keeps its JSON and HTML).
//! Last, it tunes the four knobs (workers, batch size, pool size, cache size) with a study
//! file run by `perfloop tune` (a fresh store; `--out` keeps the study file, the store,
//! the study's JSON and HTML and `best.env`), and ends with seed 002's before/after table:
//! the defaults against the best configuration, measured in the same rounds, with the gain
//! and its 95 % confidence interval.

use std::time::Duration;

use anyhow::{Context, anyhow};
use perfloop_demo::{DEFAULT_SEED, DEFAULT_USERS, Dataset, MatchRequest, Workload};
use perfloop_engine::{Level, Limits, LoadConfig, Model, RequestSpec, Target};
use perfloop_report::RunRecord;
use perfloop_report::export::{Exporter, JsonExporter, TextExporter};
use perfloop_target::{CommandTemplate, Ready, Regex, TargetSpec};

use perfloop_report::SearchSettings;
use perfloop_stats::slo::Slo;

use crate::capacity::{SearchPlan, Searched};
use crate::cli::DemoArgs;
use crate::load::{Measured, Request, Resolved, measure};
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
    say(&format!(
        "perfloop demo · the record-matching service with {} known users, default knobs\n",
        plan.users
    ));
    let bodies = request_bodies(plan.users)?;
    let watch = start_target(&plan)?;
    let addr = listening_address(&watch)?;
    let result = run_levels(&plan, &watch, &addr, &bodies, args).and_then(|records| {
        say(&comparison(&records));
        run_capacity(&plan, &watch, &addr, &bodies, args)
    });
    let stopped = watch.stop();
    result?;
    stopped?;
    run_tuning(&plan, &bodies, args)?;
    Ok(Exit::Ok)
}

/// The demo's tuning study of the four knobs, written as a study file and run by
/// `perfloop tune`, then seed 002's before/after table from what it measured.
fn run_tuning(plan: &Plan, bodies: &[Vec<u8>], args: &DemoArgs) -> Result<(), Failure> {
    let (dir, temporary) = match &args.out {
        Some(dir) => (dir.clone(), false),
        None => (
            std::env::temp_dir().join(format!("perfloop-demo-{}", std::process::id())),
            true,
        ),
    };
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("cannot create '{}'", dir.display()))
        .map_err(Failure::run)?;
    let result = tuning_in(plan, bodies, args, &dir);
    if temporary {
        let _ = std::fs::remove_dir_all(&dir);
    }
    result
}

fn tuning_in(
    plan: &Plan,
    bodies: &[Vec<u8>],
    args: &DemoArgs,
    dir: &std::path::Path,
) -> Result<(), Failure> {
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
    say(&format!(
        "== tuning: workers, batch size, pool size and cache size; {} trials of {:.1} s (the \
         defaults among them), then the {} best against the defaults in {} rounds\n",
        t.trials,
        (t.duration + t.warmup).as_secs_f64(),
        t.finalists,
        t.rounds
    ));
    let keep = |name: &str| {
        args.out
            .as_ref()
            .map(|d| d.join(name).to_string_lossy().into_owned())
    };
    let tune_args = crate::cli::TuneArgs {
        study,
        resume: false,
        db: Some(db),
        apply: args.out.as_ref().map(|d| d.join("best.env")),
        apply_format: None,
        json: keep("study.json"),
        html: keep("study.html"),
        quiet: false,
    };
    let (record, exit) = crate::tune::execute(&tune_args)?;
    say(&before_after(&record));
    if exit != Exit::Ok {
        return Err(Failure::run(anyhow!(
            "the tuning study found no configuration"
        )));
    }
    Ok(())
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

/// Seed 002's before/after table, measured: the defaults against the study's best
/// configuration over the same confirmation rounds.
fn before_after(record: &perfloop_report::StudyRecord) -> String {
    let Some(best) = &record.best else {
        return "== before / after: no configuration completed\n".to_string();
    };
    let mut out = String::from("== before / after (seed 002's table, measured in this run)\n");
    out.push_str("  setting                       before         after   change\n");
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
            "  {label:<24} {before:>11} {after:>13}   {change}\n"
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
        let (Some(b), Some(a)) = (metric(&best.before, key), metric(&best.after, key)) else {
            continue;
        };
        let change = if b.abs() > 0.0 {
            format!("{:+.1} %", (a / b - 1.0) * 100.0)
        } else {
            "–".to_string()
        };
        out.push_str(&format!(
            "  {label:<24} {:>11.decimals$} {:>13.decimals$}   {change}\n",
            b * scale,
            a * scale
        ));
    }
    match (&best.gain, best.is_default) {
        (Some(g), false) => out.push_str(&format!(
            "  throughput gain {:+.1} %, 95 % CI [{:+.1} %, {:+.1} %] over {} paired rounds\n",
            g.percent,
            g.ci95_low_pct.unwrap_or(f64::NAN),
            g.ci95_high_pct.unwrap_or(f64::NAN),
            g.pairs
        )),
        (_, true) => out.push_str(
            "  no configuration beat the defaults beyond the noise of this machine: the \
             defaults stand\n",
        ),
        (None, false) => out.push_str("  the gain could not be measured against the defaults\n"),
    }
    out
}

/// The objective the demo's capacity search holds every step to.
const DEMO_SLO: &str = "p99<100ms";
/// The demo's concurrency sweep.
const DEMO_SWEEP: [u64; 6] = [1, 2, 4, 8, 16, 32];

/// The capacity search on the demo target, with a concurrency sweep and the diagnosis.
fn run_capacity(
    plan: &Plan,
    watch: &Watch,
    addr: &str,
    bodies: &[Vec<u8>],
    args: &DemoArgs,
) -> Result<(), Failure> {
    let base = level_run(Level::Medium, addr, bodies, plan.step, plan.step_warmup)?;
    let slos = vec![
        Slo::parse(DEMO_SLO).map_err(Failure::run)?,
        Slo::parse("error_rate<1%").map_err(Failure::run)?,
    ];
    let search = SearchPlan {
        request: Request {
            target: base.config.target.clone(),
            spec: base.config.request.clone(),
            timeout: base.config.limits.timeout,
            threads: base.config.threads,
        },
        slos,
        settings: SearchSettings {
            start_rate: 200.0,
            growth: 2.0,
            max_rate: None,
            step_duration_s: plan.step.as_secs_f64(),
            step_warmup_s: plan.step_warmup.as_secs_f64(),
            resolution: plan.resolution,
            max_time_s: 240.0,
            rate_margin: 0.05,
            slo: vec![DEMO_SLO.to_string(), "error_rate<1%".to_string()],
            concurrency: DEMO_SWEEP.to_vec(),
        },
        max_connections: 1024,
        implicit_error_slo: false,
    };
    say(&format!(
        "== capacity: the highest request rate within {DEMO_SLO}, then a concurrency sweep \
         over {DEMO_SWEEP:?} connections\n"
    ));
    let Searched { record, failure } = crate::capacity::search(&search, Some(watch), false);
    let json = args
        .out
        .as_ref()
        .map(|dir| dir.join("capacity.json").to_string_lossy().into_owned());
    let html = args
        .out
        .as_ref()
        .map(|dir| dir.join("capacity.html").to_string_lossy().into_owned());
    crate::capacity::write_outputs(&record, json.as_deref(), html.as_deref())?;
    match failure {
        Some(f) => Err(f),
        None => Ok(()),
    }
}

fn run_levels(
    plan: &Plan,
    watch: &Watch,
    addr: &str,
    bodies: &[Vec<u8>],
    args: &DemoArgs,
) -> Result<Vec<(Level, RunRecord)>, Failure> {
    let mut records = Vec::new();
    for (level, duration, warmup) in [
        (Level::Smoke, plan.smoke, Duration::ZERO),
        (Level::Medium, plan.medium, plan.medium_warmup),
    ] {
        let resolved = level_run(level, addr, bodies, duration, warmup)?;
        say(&format!(
            "== {} level: {} connections for {:.0} s against POST /match ({} records per request)\n",
            level.name(),
            level.preset().connections.peak(),
            duration.as_secs_f64(),
            RECORDS_PER_REQUEST
        ));
        let Measured { record, .. } = measure(&resolved, Some(watch), false)?;
        let text = TextExporter.to_bytes(&record).map_err(Failure::run)?;
        say(&String::from_utf8_lossy(&text));
        if let Some(dir) = &args.out {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create '{}'", dir.display()))
                .map_err(Failure::run)?;
            let path = dir.join(format!("{}.json", level.name()));
            crate::output::write_record(&path.to_string_lossy(), &JsonExporter, &record)?;
        }
        watch.check_alive()?;
        records.push((level, record));
    }
    Ok(records)
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

fn start_target(plan: &Plan) -> Result<Watch, Failure> {
    let exe = std::env::current_exe()
        .context("cannot find the perfloop executable")
        .map_err(Failure::run)?;
    let exe = exe.to_string_lossy();
    let text = format!(
        "'{}' demo-target --listen 127.0.0.1:0 --users {}",
        exe.replace('\'', r"'\''"),
        plan.users
    );
    let command = CommandTemplate::parse(&text).map_err(Failure::run)?;
    let mut spec = TargetSpec::new(command);
    let ready = Regex::new("listening on http://").map_err(|e| Failure::run(anyhow!("{e}")))?;
    spec.ready = Some(Ready::Log(ready));
    spec.ready_timeout = Duration::from_secs(120);
    say("starting the demo target (generating and indexing its users) ...\n");
    WatchPlan::managed(spec, plan.interval).start()
}

/// The address the target printed in its `listening on http://ADDR` line.
fn listening_address(watch: &Watch) -> Result<String, Failure> {
    watch
        .log_lines(50)
        .iter()
        .find_map(|l| {
            l.split("listening on http://")
                .nth(1)
                .map(|a| a.trim().to_string())
        })
        .ok_or_else(|| Failure::run(anyhow!("the demo target did not say where it listens")))
}

fn level_run(
    level: Level,
    addr: &str,
    bodies: &[Vec<u8>],
    duration: Duration,
    warmup: Duration,
) -> Result<Resolved, Failure> {
    let target = Target::parse(&format!("http://{addr}/match")).map_err(Failure::run)?;
    let (body, alternate) = bodies
        .split_first()
        .ok_or_else(|| Failure::run(anyhow!("no request body")))?;
    let config = LoadConfig {
        request: RequestSpec {
            method: "POST".to_string(),
            authority: target.authority.clone(),
            path: target.path.clone(),
            headers: vec![("Content-Type".to_string(), "application/json".to_string())],
            body: body.clone(),
            alternate_bodies: alternate.to_vec(),
        },
        target,
        model: Model::Closed {
            connections: level.preset().connections,
        },
        threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
        limits: Limits {
            duration: Some(duration),
            requests: None,
            warmup,
            timeout: Duration::from_secs(10),
        },
    };
    Ok(Resolved {
        config,
        slos: Vec::new(),
        level: Some(level),
    })
}

/// The two levels side by side.
fn comparison(records: &[(Level, RunRecord)]) -> String {
    let mut out = String::from("== smoke against medium\n");
    out.push_str(
        "  level     req/s   records/s    p50 ms    p99 ms   errors  target CPU  RSS MiB\n",
    );
    for (level, r) in records {
        let (cpu, rss) = r
            .target
            .summary
            .as_ref()
            .map_or((0.0, 0.0), |s| (s.cpu_pct_mean, s.rss_max_mb));
        out.push_str(&format!(
            "  {:8} {:>6.0} {:>11.0} {:>9.2} {:>9.2} {:>8} {:>10.0}% {:>8.1}\n",
            level.name(),
            r.throughput_rps,
            r.throughput_rps * RECORDS_PER_REQUEST as f64,
            r.latency_ms.p50,
            r.latency_ms.p99,
            r.requests.errors,
            cpu,
            rss
        ));
    }
    out
}

fn say(text: &str) {
    crate::output::stdout_text(text);
}
