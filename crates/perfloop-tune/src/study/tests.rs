//! The study file end to end: the documented example, each section's errors with their line
//! and column, body files, fingerprints.

use std::time::Duration;

use perfloop_stats::{Metric, Op};

use super::*;
use crate::space::{Knob, KnobKind, Space, Value};

/// The module's example; line numbers matter to the tests below.
pub(super) const EXAMPLE: &str = r#"name = "demo-matching"          # the study's name

[target]
command = "perfloop demo-target --listen 127.0.0.1:{port} --workers {workers} --batch-size {batch}"
ready = "log:listening on"
env = { MATCH_ALGO = "{algo}", MATCH_CACHE = "{cache}", MATCH_RATIO = "{ratio}" }

[knobs.workers]
type = "int"
low = 1
high = 32
log = true
default = 16

[knobs.batch]
type = "int"
low = 1
high = 4096
log = true
default = 500

[knobs.ratio]
type = "float"
low = 0.1
high = 0.9
step = 0.1
default = 0.5

[knobs.algo]
type = "categorical"
values = ["hash", "sort"]
default = "hash"

[knobs.cache]
type = "bool"
default = true

[workload]
load = { url = "http://127.0.0.1:{port}/match", model = "closed", connections = 64, duration = "10s", warmup = "2s" }

[objective]
maximize = "throughput"
constraints = ["p99<100ms", "rss_mb<500", "error_rate<1%"]

[budget]
trials = 40
time = "20m"
repeats = 1
sampler = "tpe"
seed = 1
"#;

fn edit(from: &str, to: &str) -> String {
    assert!(EXAMPLE.contains(from), "{from}");
    EXAMPLE.replacen(from, to, 1)
}

/// Asserts that `text` fails at `line` with `needle` in the message.
fn fails(text: &str, line: usize, needle: &str) -> StudyError {
    let e = Study::parse(text).unwrap_err();
    let shown = e.to_string();
    assert_eq!(e.line, line, "{shown}");
    assert!(shown.starts_with(&format!("study:{line}:")), "{shown}");
    assert!(e.message.contains(needle), "`{needle}` not in: {shown}");
    e
}

#[test]
fn the_example_parses_into_the_expected_study() {
    let study = Study::parse(EXAMPLE).unwrap();
    assert_eq!(study.name, "demo-matching");
    let Target::Managed {
        command,
        ready,
        ready_timeout,
        env,
    } = &study.target
    else {
        panic!("{:?}", study.target);
    };
    assert!(command.starts_with("perfloop demo-target --listen 127.0.0.1:{port}"));
    assert_eq!(ready, &Some(Ready::Log("listening on".into())));
    assert_eq!(env["MATCH_ALGO"], "{algo}");
    assert_eq!(env.len(), 3);
    assert_eq!(*ready_timeout, DEFAULT_READY_TIMEOUT);
    let expected = Space::new(vec![
        Knob::int_log("workers", 1, 32, 16),
        Knob::int_log("batch", 1, 4096, 500),
        Knob {
            name: "ratio".into(),
            kind: KnobKind::Float {
                low: 0.1,
                high: 0.9,
                step: Some(0.1),
                log: false,
            },
            default: Value::Float(0.5),
        },
        Knob::categorical("algo", &["hash", "sort"], "hash"),
        Knob::boolean("cache", true),
    ])
    .unwrap();
    assert_eq!(study.space(), &expected);
    assert_eq!(
        study.workload,
        Workload::Load(LoadSpec {
            url: "http://127.0.0.1:{port}/match".into(),
            model: Model::Closed,
            connections: Some(64),
            rate: None,
            duration: Some(Duration::from_secs(10)),
            warmup: Some(Duration::from_secs(2)),
            level: None,
            request: HttpRequest::default(),
        })
    );
    assert_eq!(study.objective, Objective::Maximize(Metric::Throughput));
    let constraints: Vec<_> = study
        .constraints
        .iter()
        .map(|c| (c.metric(), c.op(), c.threshold()))
        .collect();
    assert_eq!(
        constraints,
        vec![
            (Metric::P99, Op::Lt, 100.0),
            (Metric::RssMb, Op::Lt, 500.0),
            (Metric::ErrorRate, Op::Lt, 0.01),
        ]
    );
    assert_eq!(
        study.budget,
        Budget {
            trials: Some(40),
            time: Some(Duration::from_secs(20 * 60)),
            repeats: 1,
            sampler: SamplerKind::Tpe,
            seed: 1,
            finalists: DEFAULT_FINALISTS,
            confirm_rounds: DEFAULT_CONFIRM_ROUNDS,
            baseline_every: DEFAULT_BASELINE_EVERY,
        }
    );
}

#[test]
fn the_documented_example_is_valid() {
    let source = include_str!("mod.rs");
    let doc: Vec<&str> = source
        .lines()
        .map_while(|l| l.strip_prefix("//!"))
        .map(|l| l.strip_prefix(' ').unwrap_or(l))
        .collect();
    let start = doc.iter().position(|l| *l == "```toml").unwrap() + 1;
    let len = doc[start..].iter().position(|l| *l == "```").unwrap();
    let example = doc[start..start + len].join("\n");
    let documented = Study::parse(&example).unwrap();
    assert_eq!(documented, Study::parse(EXAMPLE).unwrap());
}

#[test]
fn bench_targets_capacity_and_weighted_objectives_parse() {
    let bench = r#"name = "batch"
[target]
bench = "perfloop demo-target batch --records 8000 --workers {workers}"
work_regex = 'processed (\d+)'
[knobs.workers]
type = "int"
low = 1
high = 8
default = 2
[objective]
weighted = { throughput = 1.0, rss_mb = -0.5 }
constraints = ["cpu<=150%"]
[budget]
time = "5m"
sampler = "grid"
"#;
    let study = Study::parse(bench).unwrap();
    assert_eq!(study.workload, Workload::WorkRate);
    assert!(
        matches!(&study.target, Target::Bench { work_regex: Some(re), .. } if re == r"processed (\d+)")
    );
    assert_eq!(study.budget.trials, None);
    assert_eq!(study.budget.repeats, 1);
    assert_eq!(study.budget.sampler, SamplerKind::Grid);
    assert_eq!(study.constraints[0].threshold(), 1.5);
    assert_eq!(study.constraints[0].op(), Op::Le);
    let score = study.objective.score(|m| match m {
        Metric::Throughput => 100.0,
        Metric::RssMb => 10.0,
        _ => 0.0,
    });
    assert!((score - 95.0).abs() < 1e-9);

    let capacity = edit(
        r#"load = { url = "http://127.0.0.1:{port}/match", model = "closed", connections = 64, duration = "10s", warmup = "2s" }"#,
        r#"capacity = { url = "http://127.0.0.1:{port}/match", slo = ["p99<100ms", "error_rate<0.1%"], start_rate = 100, max_rate = 5000 }"#,
    );
    let study = Study::parse(&capacity).unwrap();
    let Workload::Capacity(spec) = &study.workload else {
        panic!("{:?}", study.workload);
    };
    assert_eq!(spec.slo, vec!["p99<100ms", "error_rate<0.1%"]);
    assert_eq!(spec.start_rate, Some(100.0));
}

#[test]
fn invalid_toml_names_its_line() {
    let e = fails(&edit("[knobs.batch]", "[knobs.batch"), 15, "");
    assert!(e.to_string().contains("[knobs.batch"), "{e}");
}

#[test]
fn unknown_field_names_its_line_and_name() {
    fails(
        &edit("log = true\ndefault = 500", "logg = true\ndefault = 500"),
        19,
        "logg",
    );
    fails(&edit("seed = 1", "seed = 1\nseeds = 2"), 51, "seeds");
    fails(
        &edit("model = \"closed\"", "modell = \"closed\""),
        39,
        "modell",
    );
}

#[test]
fn unknown_placeholder_is_refused() {
    fails(&edit("{batch}\"", "{batch} --pool {pool}\""), 4, "{pool}");
}

#[test]
fn unused_knob_is_refused() {
    let e = fails(
        &edit(", MATCH_CACHE = \"{cache}\"", ""),
        34,
        "unused knob `cache`",
    );
    assert!(e.source_line.contains("[knobs.cache]"), "{e}");
}

#[test]
fn port_is_reserved() {
    let text = edit(
        "[knobs.cache]",
        "[knobs.port]\ntype = \"int\"\nlow = 1\nhigh = 2\ndefault = 1\n\n[knobs.cache]",
    );
    fails(&text, 34, "`port` is reserved");
}

#[test]
fn inverted_range_names_the_knob_line() {
    fails(
        &edit("high = 32", "high = 0"),
        11,
        "knob `workers`: empty or inverted range 1..0",
    );
}

#[test]
fn log_scale_needs_positive_low() {
    fails(
        &edit("low = 1\nhigh = 4096", "low = 0\nhigh = 4096"),
        17,
        "knob `batch`: a log scale needs low > 0 (low is 0)",
    );
}

#[test]
fn categorical_needs_values() {
    fails(
        &edit(r#"values = ["hash", "sort"]"#, "values = []"),
        31,
        "knob `algo`: a categorical knob needs at least one value",
    );
}

#[test]
fn default_out_of_range_names_its_line() {
    fails(&edit("default = 500", "default = 5000"), 20, "default 5000");
    fails(
        &edit("default = \"hash\"", "default = \"tree\""),
        32,
        "default tree",
    );
}

#[test]
fn wrong_knob_fields_are_refused() {
    fails(
        &edit("type = \"bool\"", "type = \"bool\"\nlow = 1"),
        36,
        "`low` does not apply to a bool knob",
    );
    fails(
        &edit("type = \"categorical\"", "type = \"enum\""),
        30,
        "unknown type `enum`",
    );
    fails(
        &edit("low = 0.1", "low = \"x\""),
        24,
        "`low` must be a number, not `\"x\"`",
    );
}

#[test]
fn missing_target_is_refused() {
    let text = edit(
        "command = \"perfloop demo-target --listen 127.0.0.1:{port} --workers {workers} --batch-size {batch}\"\n",
        "",
    );
    fails(&text, 3, "needs `command`");
}

#[test]
fn command_and_bench_together_are_refused() {
    fails(
        &edit("ready = ", "bench = \"x {workers}\"\nready = "),
        5,
        "both `command` and `bench`",
    );
}

#[test]
fn workload_must_fit_the_target() {
    let text = edit("command = ", "bench = ").replacen("ready = \"log:listening on\"\n", "", 1);
    fails(
        &text,
        38,
        "a bench target is measured by its work rate: `load` does not apply",
    );
    let text = edit("[workload]\nload = ", "[workload]\nloads = ");
    fails(&text, 39, "loads");
    let start = EXAMPLE.find("[workload]").unwrap();
    let end = EXAMPLE.find("[objective]").unwrap();
    let text = format!("{}{}", &EXAMPLE[..start], &EXAMPLE[end..]);
    fails(&text, 3, "needs a [workload]");
    fails(
        &edit("model = \"closed\"", "model = \"open\""),
        39,
        "the open model needs a `rate`",
    );
}

#[test]
fn unknown_metrics_are_refused() {
    fails(
        &edit("maximize = \"throughput\"", "maximize = \"qps\""),
        42,
        "unknown metric `qps`",
    );
    fails(
        &edit("\"rss_mb<500\"", "\"rss<500\""),
        43,
        "unknown metric `rss`",
    );
    fails(
        &edit(
            "maximize = \"throughput\"",
            "weighted = { throughput = 1.0, p98 = -1.0 }",
        ),
        42,
        "unknown metric `p98`",
    );
    fails(
        &edit("\"p99<100ms\"", "\"p99<100\""),
        43,
        "`100` is not a threshold for p99",
    );
}

#[test]
fn requests_confirmation_and_ready_timeout() {
    let text = edit(
        "duration = \"10s\", warmup = \"2s\" }",
        "duration = \"10s\", method = \"post\", headers = [\"Content-Type: application/json\"], \
         body_lines = \"bodies.jsonl\", timeout = \"2s\" }",
    )
    .replacen(
        "seed = 1\n",
        "seed = 1\nfinalists = 2\nconfirm_rounds = 4\nbaseline_every = 3\n",
        1,
    )
    .replacen(
        "ready = \"log:listening on\"",
        "ready = \"log:listening on\"\nready_timeout = \"1m\"",
        1,
    );
    let study = Study::parse(&text).unwrap();
    let Workload::Load(load) = &study.workload else {
        panic!("{:?}", study.workload);
    };
    assert_eq!(
        load.request,
        HttpRequest {
            method: Some("POST".into()),
            headers: vec!["Content-Type: application/json".into()],
            body: Some(Body::Lines("bodies.jsonl".into())),
            timeout: Some(Duration::from_secs(2)),
            scenario: None,
            http2: false,
            streams: None,
        }
    );
    assert_eq!(
        (
            study.budget.finalists,
            study.budget.confirm_rounds,
            study.budget.baseline_every
        ),
        (2, 4, 3)
    );
    assert!(matches!(
        study.target,
        Target::Managed { ready_timeout, .. } if ready_timeout == Duration::from_secs(60)
    ));

    fails(
        &edit(
            "warmup = \"2s\" }",
            "warmup = \"2s\", body = \"x\", body_file = \"b\" }",
        ),
        39,
        "give one of `body`, `body_file` and `body_lines`",
    );
    fails(
        &edit(
            "warmup = \"2s\" }",
            "warmup = \"2s\", headers = [\"no colon\"] }",
        ),
        39,
        "invalid header `no colon`",
    );
    fails(
        &edit("warmup = \"2s\" }", "warmup = \"2s\", method = \"GE T\" }"),
        39,
        "invalid method `GE T`",
    );
    fails(
        &edit("seed = 1", "seed = 1\nfinalists = 11"),
        51,
        "`finalists` = 11 is out of range",
    );
    fails(
        &edit("seed = 1", "seed = 1\nconfirm_rounds = 0"),
        51,
        "`confirm_rounds` = 0",
    );
    fails(
        &edit("seed = 1", "seed = 1\nbaseline_every = 0"),
        51,
        "`baseline_every` must be at least 1",
    );
}

#[test]
fn budget_needs_trials_or_time() {
    fails(
        &edit("trials = 40\ntime = \"20m\"\n", ""),
        45,
        "needs `trials` and/or `time`",
    );
    fails(
        &edit("time = \"20m\"", "time = \"20 parsecs\""),
        47,
        "invalid duration `20 parsecs`",
    );
}

#[test]
fn load_names_the_file() {
    let dir = std::env::temp_dir().join(format!("perfloop-study-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("study.toml");
    std::fs::write(&path, edit("high = 32", "high = 0")).unwrap();
    let e = Study::load(&path).unwrap_err();
    let shown = e.to_string();
    assert!(
        shown.starts_with(&format!("{}:11:", path.display())),
        "{shown}"
    );
    assert!(shown.contains("11 | high = 0"), "{shown}");
    std::fs::write(&path, EXAMPLE).unwrap();
    assert!(Study::load(&path).is_ok());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_zero_warmup_is_no_warmup() {
    let study = Study::parse(&edit("warmup = \"2s\"", "warmup = \"0s\"")).unwrap();
    let Workload::Load(load) = &study.workload else {
        panic!("{:?}", study.workload);
    };
    assert_eq!(load.warmup, Some(Duration::ZERO));
    fails(
        &edit("duration = \"10s\"", "duration = \"0s\""),
        39,
        "`duration` = \"0s\" must be positive",
    );
}

#[test]
fn load_checks_the_body_files_with_their_line() {
    let dir = std::env::temp_dir().join(format!("perfloop-study-bodies-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("study.toml");
    let with = |field: &str, file: &str| {
        edit(
            "warmup = \"2s\" }",
            &format!("warmup = \"2s\", {field} = \"{file}\" }}"),
        )
    };
    std::fs::write(&path, with("body_lines", "bodies.jsonl")).unwrap();
    // The text alone is valid; the file it names is missing.
    assert!(Study::parse(&with("body_lines", "bodies.jsonl")).is_ok());
    let e = Study::load(&path).unwrap_err();
    assert_eq!(e.line, 39, "{e}");
    assert!(e.column > 80, "{e}");
    assert!(
        e.message
            .contains("cannot read `body_lines` = \"bodies.jsonl\""),
        "{e}"
    );
    std::fs::write(dir.join("bodies.jsonl"), "\n  \n").unwrap();
    let e = Study::load(&path).unwrap_err();
    assert!(e.message.contains("has no non-empty line"), "{e}");
    std::fs::write(dir.join("bodies.jsonl"), "{\"a\": 1}\n").unwrap();
    assert!(Study::load(&path).is_ok());

    std::fs::write(&path, with("body_file", "sub")).unwrap();
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    let e = Study::load(&path).unwrap_err();
    assert!(e.message.contains("is a directory"), "{e}");
    std::fs::write(&path, with("body_file", "bodies.jsonl")).unwrap();
    assert!(Study::load(&path).is_ok());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn fingerprint_ignores_layout_and_follows_substance() {
    let base = Study::parse(EXAMPLE).unwrap().fingerprint();
    assert_eq!(base.len(), 16);
    assert_eq!(base, Study::parse(EXAMPLE).unwrap().fingerprint());
    let relaid = EXAMPLE
        .replace(" = ", "   =   ")
        .replace(
            "[knobs.batch]",
            "# the batch size\n\n[knobs.batch]   # comment",
        )
        .replace("\"error_rate<1%\"", "\"error_rate<0.01\"")
        .replace("trials = 40\ntime = \"20m\"", "time = \"20m\"\ntrials = 40");
    assert_eq!(Study::parse(&relaid).unwrap().fingerprint(), base);
    let changed = edit("high = 32", "high = 64");
    assert_ne!(Study::parse(&changed).unwrap().fingerprint(), base);
    let changed = edit("seed = 1", "seed = 2");
    assert_ne!(Study::parse(&changed).unwrap().fingerprint(), base);
}

#[test]
fn a_workload_url_is_checked_as_it_will_be_sent() {
    let url = "http://127.0.0.1:{port}/match";
    for (bad, says) in [
        ("http://127.0.0.1:99999/match", "port '99999'"),
        ("127.0.0.1:{port}/match", "no scheme"),
        ("http://:{port}/match", "no host"),
        ("http://u:p@127.0.0.1:{port}/", "user information"),
        ("gopher://127.0.0.1:{port}/", "not supported"),
    ] {
        fails(&edit(url, bad), 39, says);
    }
    let e = fails(
        &edit(url, "http://127.0.0.1:0/?token=SECRET"),
        39,
        "token=REDACTED",
    );
    assert!(!e.message.contains("SECRET"), "{e}");
}

#[test]
fn a_workload_takes_http2_and_its_streams() {
    let text = edit(
        "duration = \"10s\", warmup = \"2s\" }",
        "duration = \"10s\", warmup = \"2s\", http2 = true, streams = 10 }",
    );
    let study = Study::parse(&text).unwrap();
    let Workload::Load(load) = &study.workload else {
        panic!("{:?}", study.workload);
    };
    assert!(load.request.http2);
    assert_eq!(load.request.streams, Some(10));
    fails(
        &edit(
            "duration = \"10s\", warmup = \"2s\" }",
            "duration = \"10s\", warmup = \"2s\", streams = 10 }",
        ),
        39,
        "`streams` needs `http2 = true`",
    );
    fails(
        &edit(
            "duration = \"10s\", warmup = \"2s\" }",
            "duration = \"10s\", warmup = \"2s\", http2 = true, streams = 0 }",
        ),
        39,
        "`streams` must be at least 1",
    );
}

#[test]
fn a_workload_takes_alert_rules_each_checked_where_it_is_written() {
    let load = "warmup = \"2s\" }\n";
    let with = |alerts: &str| edit(load, &format!("warmup = \"2s\" }}\nalerts = {alerts}\n"));
    let study = Study::parse(&with(r#"["p99 > 200ms for 10s", "rss>90% of limit"]"#)).unwrap();
    let shown: Vec<String> = study.alerts.iter().map(ToString::to_string).collect();
    assert_eq!(shown, ["p99 > 200ms for 10s", "rss > 90% of limit"]);
    assert_eq!(study.alerts[0].hold_s(), 10);
    assert!(Study::parse(EXAMPLE).unwrap().alerts.is_empty());
    assert!(Study::parse(&with("[]")).unwrap().alerts.is_empty());
    // Alerts measure nothing: the fingerprint does not change with them.
    assert_eq!(
        study.fingerprint(),
        Study::parse(EXAMPLE).unwrap().fingerprint()
    );
    // A bad rule: the line of the rule and the column of the character where it goes wrong.
    let text = with(r#"["p99 > 200ms", "p99 > 2x00ms"]"#);
    let e = fails(&text, 40, "alert rule 'p99 > 2x00ms': at column 8");
    let line = text.lines().nth(39).unwrap();
    assert_eq!(line.chars().nth(e.column - 1), Some('x'), "{e}");
    assert_eq!(e.source_line, line);
    // A rule written with escapes: the start of the string.
    let text = with(r#"["p99 \u003e 2x00ms"]"#);
    let e = fails(&text, 40, "at column 8");
    assert_eq!(e.column, "alerts = [".len() + 1, "{e}");
    // A literal string: inside its quotes too.
    let e = fails(&with("['p99 > 200ms for 0s']"), 40, "at least 1s");
    assert_eq!(e.column, "alerts = ['p99 > 200ms for ".len() + 1, "{e}");
    fails(&with("\"p99 > 1s\""), 40, "invalid type");
    fails(&with("[1]"), 40, "invalid type");
    // A bench target runs no load to watch.
    let bench = edit(
        "command = \"perfloop demo-target --listen 127.0.0.1:{port} --workers {workers} --batch-size {batch}\"\nready = \"log:listening on\"",
        "bench = \"work --workers {workers} --batch-size {batch}\"",
    );
    let bench = bench.replacen(
        "load = { url = \"http://127.0.0.1:{port}/match\", model = \"closed\", connections = 64, duration = \"10s\", warmup = \"2s\" }\n",
        "alerts = [\"p99 > 1s\"]\n",
        1,
    );
    fails(&bench, 38, "a bench target has none");
}
