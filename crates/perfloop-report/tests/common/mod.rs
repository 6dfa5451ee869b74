//! Helpers for the report's tests: an axum server on 127.0.0.1 with an ephemeral port, in
//! process, run configs against it, real runs turned into records, a record built by hand,
//! (in [`capacity`]) capacity records made of real runs, (in [`study`]) study records built
//! from a model of a service, and a small check that a page or an SVG is well-formed.

#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    missing_docs
)]

pub mod capacity;
pub mod study;

use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant, SystemTime};

use axum::Router;
use axum::routing::get;
use perfloop_engine::{Limits, LoadConfig, Model, Plan, RequestSpec, Silent, Target, run};
use perfloop_report::run::{AlertEvent, AlertState};
use perfloop_report::{
    BuildInput, Generator, LagMs, LatencyBucket, LatencyMs, LoadInfo, LoadModel, OpenModel,
    Requests, RunEnding, RunRecord, SCHEMA, SloResult, StageInfo, TargetInfo, TimelinePoint,
    Warning, WarningKind,
};

/// Starts an axum server answering `/` on its own runtime thread; returns its address.
pub fn start_axum() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let app = Router::new()
                .route("/", get(|| async { "hello world\n" }))
                .route(
                    "/missing",
                    get(|| async { (axum::http::StatusCode::NOT_FOUND, "no\n") }),
                );
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    addr
}

/// A closed-model config: `connections` connections for `duration`.
pub fn closed(url: &str, connections: u32, duration: Duration) -> LoadConfig {
    let target = Target::parse(url).unwrap();
    LoadConfig {
        request: RequestSpec {
            method: "GET".into(),
            authority: target.authority.clone(),
            path: target.path.clone(),
            headers: vec![
                ("Authorization".into(), "Bearer top-secret-token".into()),
                ("X-Trace".into(), "1".into()),
            ],
            body: vec![],
            alternate_bodies: vec![],
            scenario: None,
        },
        target,
        model: Model::Closed {
            connections: Plan::Constant(f64::from(connections)),
        },
        threads: 2,
        raw: None,
        limits: Limits {
            duration: Some(duration),
            requests: None,
            warmup: Duration::ZERO,
            timeout: Duration::from_secs(5),
        },
    }
}

/// An open-model config: `rate` arrivals per second for `duration`.
pub fn open(url: &str, rate: f64, duration: Duration) -> LoadConfig {
    let mut c = closed(url, 1, duration);
    c.model = Model::Open {
        rate: Plan::Constant(rate),
        max_connections: 64,
    };
    c
}

/// Runs `config` against its target with the host sampled but no process watched, and
/// builds the record without objectives.
pub fn record_unwatched(config: &LoadConfig) -> RunRecord {
    let started_at = SystemTime::now();
    let mut watch = perfloop_monitor::SamplerConfig::new(Instant::now());
    watch.interval = Duration::from_millis(100);
    let sampler = perfloop_monitor::Sampler::start(watch).unwrap();
    let outcome = run(config, Arc::new(AtomicBool::new(false)), &mut Silent).unwrap();
    let recording = sampler.stop();
    RunRecord::build(&BuildInput {
        config,
        outcome: &outcome,
        slos: &[],
        level: None,
        started_at,
        monitor: Some(&recording),
        target_command: None,
    })
}

/// Runs `config` against its target while watching this very process (so the record
/// carries real target samples) and builds the record with the objectives `slos`.
pub fn record_of(config: &LoadConfig, slos: &[&str]) -> RunRecord {
    let slos: Vec<perfloop_stats::Slo> = slos
        .iter()
        .map(|s| perfloop_stats::Slo::parse(s).unwrap())
        .collect();
    let started_at = SystemTime::now();
    let mut watch = perfloop_monitor::SamplerConfig::new(Instant::now());
    watch.pid = Some(std::process::id());
    watch.interval = Duration::from_millis(100);
    let sampler = perfloop_monitor::Sampler::start(watch).unwrap();
    let outcome = run(config, Arc::new(AtomicBool::new(false)), &mut Silent).unwrap();
    let recording = sampler.stop();
    assert!(!recording.samples.is_empty());
    RunRecord::build(&BuildInput {
        config,
        outcome: &outcome,
        slos: &slos,
        level: None,
        started_at,
        monitor: Some(&recording),
        target_command: Some("server --port 0"),
    })
}

/// The `$id` of the committed run schema.
pub const RUN_SCHEMA_ID: &str = "https://example.invalid/perfloop/schema/perfloop.run.v1.json";

/// The `$id` of the committed capacity schema.
pub const CAPACITY_SCHEMA_ID: &str =
    "https://example.invalid/perfloop/schema/perfloop.capacity.v1.json";

/// The `$id` of the committed study schema.
pub const STUDY_SCHEMA_ID: &str = "https://example.invalid/perfloop/schema/perfloop.study.v1.json";

/// A committed schema file, parsed.
pub fn schema_file(name: &str) -> serde_json::Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("schema")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// A committed schema, compiled, and a validator over JSON values.
pub struct Validator {
    schemas: boon::Schemas,
    index: boon::SchemaIndex,
}

impl Validator {
    /// The run schema.
    pub fn new() -> Validator {
        Validator::compile(RUN_SCHEMA_ID)
    }

    /// The capacity schema; its steps refer to the run schema, added beside it.
    pub fn capacity() -> Validator {
        Validator::compile(CAPACITY_SCHEMA_ID)
    }

    /// The study schema.
    pub fn study() -> Validator {
        Validator::compile(STUDY_SCHEMA_ID)
    }

    fn compile(id: &str) -> Validator {
        let mut schemas = boon::Schemas::new();
        let mut compiler = boon::Compiler::new();
        compiler.enable_format_assertions();
        // Both are added under their own `$id`, so `$ref`s between them resolve without a
        // loader and nothing is fetched.
        compiler
            .add_resource(RUN_SCHEMA_ID, schema_file("perfloop.run.v1.json"))
            .unwrap();
        compiler
            .add_resource(CAPACITY_SCHEMA_ID, schema_file("perfloop.capacity.v1.json"))
            .unwrap();
        compiler
            .add_resource(STUDY_SCHEMA_ID, schema_file("perfloop.study.v1.json"))
            .unwrap();
        let index = compiler.compile(id, &mut schemas).unwrap();
        Validator { schemas, index }
    }

    pub fn check(&self, value: &serde_json::Value) -> Result<(), String> {
        self.schemas
            .validate(value, self.index)
            .map_err(|e| format!("{e:#}"))
    }
}

/// A record of an open-model run built by hand: saturated, with warnings, stages and SLOs.
pub fn saturated_record() -> RunRecord {
    RunRecord {
        schema: SCHEMA.to_string(),
        perfloop_version: "0.1.0".to_string(),
        started_at: "2025-01-31T12:00:00Z".to_string(),
        target: TargetInfo {
            url: "http://127.0.0.1:8080/api/items?id=7".to_string(),
            method: "POST".to_string(),
            header_names: vec!["Authorization".to_string()],
            scenario: None,
            command: None,
            pid: None,
            samples: vec![],
            summary: None,
            scraped: vec![],
            monitor_errors: vec![],
        },
        load: LoadInfo {
            model: LoadModel::Open,
            connections: None,
            max_connections: Some(1000),
            rate: Some(20_000.0),
            duration_s: 3.0,
            warmup_s: 0.0,
            threads: 2,
            request_limit: None,
            timeout_s: 10.0,
            stages: Some(vec![
                StageInfo {
                    duration_s: 1.0,
                    target: 20_000.0,
                },
                StageInfo {
                    duration_s: 2.0,
                    target: 20_000.0,
                },
            ]),
            level: Some("large".to_string()),
            io_backend: Some(perfloop_report::run::IoBackend::Epoll),
        },
        requests: Requests {
            total: 41_000,
            ok: 40_500,
            errors: 500,
            dropped: 2_000,
            unfinished: 0,
            drained: 0,
            connections: 0,
            reconnects: 0,
            by_status: BTreeMap::from([("200".to_string(), 40_500), ("503".to_string(), 450)]),
            errors_by_kind: BTreeMap::from([
                ("status_5xx".to_string(), 450),
                ("timeout".to_string(), 50),
            ]),
        },
        throughput_rps: 13_666.7,
        in_flight_mean: 43.7,
        bytes_received: 5_000_000,
        latency_ms: LatencyMs {
            count: 40_950,
            min: 0.081,
            mean: 3.2,
            stdev: 9.5,
            p50: 0.612,
            p75: 1.104,
            p90: 4.871,
            p95: 9.903,
            p99: 48.127,
            p99_9: 201.5,
            max: 1_203.2,
        },
        latency_histogram: vec![
            LatencyBucket {
                le_ms: 0.1,
                count: 900,
            },
            LatencyBucket {
                le_ms: 0.5,
                count: 15_000,
            },
            LatencyBucket {
                le_ms: 1.0,
                count: 14_000,
            },
            LatencyBucket {
                le_ms: 5.0,
                count: 7_000,
            },
            LatencyBucket {
                le_ms: 50.0,
                count: 3_600,
            },
            LatencyBucket {
                le_ms: 250.0,
                count: 400,
            },
            LatencyBucket {
                le_ms: 1_203.2,
                count: 50,
            },
        ],
        phases_ms: Default::default(),
        tls: None,
        open_model: Some(OpenModel {
            asked_rate: 16_666.7,
            achieved_rate: 14_000.0,
            peak_connections: 1000,
            answering_s: 0.0,
            lag_ms: LagMs {
                p50: 0.02,
                p99: 3.5,
                max: 40.0,
            },
        }),
        generator: Generator {
            cpu_user_s: 3.1,
            cpu_sys_s: 2.6,
            cpu_us_per_request: 139.0,
            threads_busy: vec![0.97, 0.95],
            saturated: true,
        },
        timeline: (0..3)
            .map(|t| TimelinePoint {
                t_s: t,
                length_s: 1.0,
                requests: 13_000 + t * 1000,
                errors: 100 + t * 100,
                rps: 13_000.0 + t as f64 * 1000.0,
                p50_ms: Some(0.6),
                p90_ms: Some(4.9),
                p99_ms: Some(48.1 + t as f64),
                max_ms: Some(1_203.2),
                latency_buckets: vec![(483, 9_000 + t * 500), (710, 4_000 + t * 500)],
                endpoints: Vec::new(),
            })
            .collect(),
        endpoints: Vec::new(),
        slo: vec![
            SloResult {
                expr: "p99<200ms".to_string(),
                endpoint: None,
                metric: "p99".to_string(),
                value: Some(48.127),
                threshold: 200.0,
                unit: "ms".to_string(),
                pass: true,
            },
            SloResult {
                expr: "error_rate<0.1%".to_string(),
                endpoint: None,
                metric: "error_rate".to_string(),
                value: Some(500.0 / 41_000.0),
                threshold: 0.001,
                unit: "ratio".to_string(),
                pass: false,
            },
            SloResult {
                expr: "rps>=1e4".to_string(),
                endpoint: None,
                metric: "rps".to_string(),
                value: Some(13_666.7),
                threshold: 10_000.0,
                unit: "req/s".to_string(),
                pass: true,
            },
        ],
        alerts: vec![
            AlertEvent {
                rule: "p99 > 40ms for 2s".to_string(),
                state: AlertState::Firing,
                t_s: 1,
                value: 48.127,
                threshold: 40.0,
                at: Some("2025-01-31T12:00:01Z".to_string()),
            },
            AlertEvent {
                rule: "p99 > 40ms for 2s".to_string(),
                state: AlertState::Resolved,
                t_s: 2,
                value: 12.5,
                threshold: 40.0,
                at: None,
            },
        ],
        ending: RunEnding::Completed,
        warnings: vec![
            Warning::new(
                WarningKind::GeneratorSaturated,
                "GENERATOR SATURATED: a worker thread was busy 97 % of the run (limit 90 %). \
                 These figures measure perfloop, not the target: give it more cores (--threads) \
                 or offer less load per machine.",
            ),
            Warning::new(
                WarningKind::Dropped,
                "2000 arrivals (4.7 % of the requests) were never sent (no connection was free): \
                 they have no latency, and so many could put p99 and p99.9 above any response \
                 measured",
            ),
            Warning::new(
                WarningKind::RateShort,
                "the achieved rate 13333.3/s is 4.8 % below the asked 14000.0/s: the target was \
                 offered less than asked",
            ),
        ],
    }
}

/// The `<svg>…</svg>` elements of a page.
pub fn svgs(html: &str) -> Vec<&str> {
    let mut found = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<svg ") {
        let end = rest[start..].find("</svg>").unwrap() + start + "</svg>".len();
        found.push(&rest[start..end]);
        rest = &rest[end..];
    }
    found
}

/// An HTML page made XML: its doctype dropped and its void elements closed.
pub fn as_xml(html: &str) -> String {
    html.trim_start_matches("<!DOCTYPE html>")
        .replace("<meta charset=\"utf-8\">", "<meta charset=\"utf-8\"/>")
        .replace("<br>", "<br/>")
        .replace(
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">",
            "",
        )
}

/// A small XML well-formedness check: tags balance, attributes are quoted, `&` starts a
/// reference, `<` opens a tag.
pub fn check_xml(doc: &str) {
    let mut stack: Vec<&str> = Vec::new();
    let mut rest = doc;
    while let Some(lt) = rest.find('<') {
        check_text(&rest[..lt]);
        let gt = rest[lt..]
            .find('>')
            .unwrap_or_else(|| panic!("unclosed tag"))
            + lt;
        let tag = &rest[lt + 1..gt];
        rest = &rest[gt + 1..];
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(stack.pop(), Some(name.trim()), "mismatched </{name}>");
            continue;
        }
        let self_closing = tag.ends_with('/');
        let tag = tag.trim_end_matches('/');
        let (name, attrs) = tag.split_once(char::is_whitespace).unwrap_or((tag, ""));
        assert!(
            !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'),
            "bad tag name {name:?}"
        );
        check_attributes(attrs);
        if !self_closing {
            stack.push(name);
        }
    }
    check_text(rest);
    assert!(stack.is_empty(), "unclosed {stack:?}");
}

fn check_text(text: &str) {
    for (i, _) in text.match_indices('&') {
        let entity = &text[i..];
        let end = entity
            .find(';')
            .unwrap_or_else(|| panic!("bare & in {text:?}"));
        assert!(
            entity[1..end]
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '#'),
            "bad reference in {text:?}"
        );
    }
}

fn check_attributes(attrs: &str) {
    let mut rest = attrs.trim();
    while !rest.is_empty() {
        let eq = rest
            .find('=')
            .unwrap_or_else(|| panic!("attribute without value: {rest}"));
        let name = rest[..eq].trim();
        assert!(
            name.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == ':'),
            "bad attribute name {name:?}"
        );
        let value = &rest[eq + 1..];
        assert!(value.starts_with('"'), "unquoted attribute {name}: {value}");
        let close = value[1..].find('"').unwrap() + 1;
        check_text(&value[1..close]);
        assert!(!value[1..close].contains('<'), "< in attribute {name}");
        rest = value[close + 1..].trim_start();
    }
}
