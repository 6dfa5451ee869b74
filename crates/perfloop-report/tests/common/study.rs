//! Study records built the way a tuning study writes them, from a deterministic model of a
//! service: exploration with the baseline measured between every four trials (some failing,
//! one violating a constraint), the best three explored configurations re-measured beside
//! the baseline in three confirmation rounds, their gains with Student's t intervals on the
//! log ratios, the conclusion chosen by the study's rule (the best finalist when its gain is
//! significant, otherwise the defaults) and the knobs' importance.

use std::collections::BTreeMap;

use perfloop_report::{
    Best, BudgetInfo, Direction, Finalist, Gain, KnobInfo, KnobShare, STUDY_SCHEMA, StudyEnding,
    StudyObjective, StudyRecord, StudyTarget, TrialEntry, TrialRole,
};
use serde_json::{Value, json};

/// A long command template, shortened by the text summary.
pub const COMMAND: &str = "./api-server --listen 127.0.0.1:{port} --workers {workers} \
                           --batch-size {batch} --cache {cache} --compress={compress} \
                           --log-level warn";

/// A categorical value HTML must escape.
pub const ODD_CACHE: &str = "<b>";

/// Measurements per trial.
const REPEATS: u32 = 3;

/// Finalists and confirmation rounds.
const FINALISTS: usize = 3;
const ROUNDS: u32 = 3;

/// Connections of the closed-model workload, for the latencies of the model.
const CONNECTIONS: f64 = 64.0;

/// A configuration of the modelled service.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Config {
    pub workers: i64,
    pub batch: i64,
    pub cache: &'static str,
    pub compress: bool,
}

/// The target's defaults.
pub const DEFAULTS: Config = Config {
    workers: 4,
    batch: 100,
    cache: "none",
    compress: false,
};

impl Config {
    pub fn map(&self) -> BTreeMap<String, Value> {
        BTreeMap::from([
            ("workers".to_string(), json!(self.workers)),
            ("batch".to_string(), json!(self.batch)),
            ("cache".to_string(), json!(self.cache)),
            ("compress".to_string(), json!(self.compress)),
        ])
    }

    /// As the reports write it.
    pub fn text(&self) -> String {
        format!(
            "workers={} batch={} cache={} compress={}",
            self.workers, self.batch, self.cache, self.compress
        )
    }
}

const fn c(workers: i64, batch: i64, cache: &'static str, compress: bool) -> Config {
    Config {
        workers,
        batch,
        cache,
        compress,
    }
}

/// What an exploration trial came to.
#[derive(Debug, Clone, Copy)]
enum Outcome {
    Measured,
    Failed(&'static str),
    Violated,
}

/// The exploration of the realistic study, in the order the sampler proposed it.
const EXPLORATION: [(Config, Outcome); 12] = [
    (c(8, 200, "lru", false), Outcome::Measured),
    (c(2, 100, "none", true), Outcome::Measured),
    (c(16, 400, "lru", false), Outcome::Measured),
    (
        c(32, 500, ODD_CACHE, true),
        Outcome::Failed(
            "the target was killed by signal 9 (out of memory?) 3.2 s after it started; \
             its last words: allocation of 2147483648 bytes failed",
        ),
    ),
    (c(16, 300, "lru", true), Outcome::Measured),
    (c(1, 50, "none", false), Outcome::Violated),
    (c(8, 400, ODD_CACHE, false), Outcome::Measured),
    (c(12, 350, "lru", false), Outcome::Measured),
    (
        c(24, 450, "lru", false),
        Outcome::Failed("the target did not answer on 127.0.0.1:41873 within 30 s"),
    ),
    (c(16, 450, "lru", false), Outcome::Measured),
    (c(4, 250, ODD_CACHE, true), Outcome::Measured),
    (c(20, 400, "lru", false), Outcome::Measured),
];

/// The modelled service: throughput rises with workers, batch and the cache, as strongly
/// as `effect` says.
fn throughput(cfg: &Config, effect: f64) -> f64 {
    let cache = match cfg.cache {
        "lru" => 1.05,
        "none" => 1.0,
        _ => 0.98,
    };
    let compress = if cfg.compress { 0.97 } else { 1.0 };
    let workers = (cfg.workers as f64 / 4.0).powf(0.06);
    let batch = 1.0 + 0.0002 * (cfg.batch as f64 - 100.0);
    2000.0 * (workers * batch * cache * compress).powf(effect)
}

/// A deterministic disturbance in [-1, 1) for measurement `n` (SplitMix64).
fn noise(n: u32) -> f64 {
    let mut z = u64::from(n).wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
}

/// The metrics of a measurement at `rps`.
fn metrics(cfg: &Config, rps: f64, n: u32) -> BTreeMap<String, f64> {
    let latency = CONNECTIONS / rps * 1000.0;
    BTreeMap::from([
        ("throughput".to_string(), rps),
        ("p50".to_string(), latency * 0.8),
        ("p90".to_string(), latency * 1.4),
        ("p99".to_string(), latency * 2.2),
        ("error_rate".to_string(), 0.0004 + 0.0001 * (noise(n) + 1.0)),
        ("cpu".to_string(), (cfg.workers.min(8) as f64) * 0.31 + 0.2),
        (
            "rss_mb".to_string(),
            80.0 + cfg.workers as f64 * 6.0
                + cfg.batch as f64 * 0.05
                + if cfg.cache == "lru" { 40.0 } else { 0.0 },
        ),
    ])
}

/// The trials as the study appends them.
struct Trials {
    list: Vec<TrialEntry>,
    best: Option<f64>,
    effect: f64,
}

impl Trials {
    fn next_number(&self) -> u32 {
        self.list.len() as u32
    }

    /// Measures `cfg`; `drift` is the slow change of the machine over the study.
    fn measure(&mut self, role: TrialRole, round: Option<u32>, cfg: &Config, outcome: Outcome) {
        let n = self.next_number();
        let drift = 1.0 + 0.004 * f64::from(round.unwrap_or(0));
        let rps = throughput(cfg, self.effect) * (1.0 + 0.012 * noise(n)) * drift;
        let (state, objective, metrics, reason) = match outcome {
            Outcome::Measured => ("complete", Some(rps), metrics(cfg, rps, n), None),
            Outcome::Failed(why) => ("failed", None, BTreeMap::new(), Some(why.to_string())),
            Outcome::Violated => {
                let mut m = metrics(cfg, rps, n);
                m.insert("p99".to_string(), 131.7);
                (
                    "violated",
                    None,
                    m,
                    Some("constraint p99<120ms violated: p99 was 131.70 ms".to_string()),
                )
            }
        };
        if role != TrialRole::Confirm {
            if let Some(y) = objective {
                self.best = Some(self.best.map_or(y, |b| b.max(y)));
            }
        }
        self.list.push(TrialEntry {
            number: n,
            role,
            round,
            config: cfg.map(),
            state: state.to_string(),
            objective,
            best_so_far: self.best,
            metrics,
            reason,
            duration_s: 12.0 + 0.5 * noise(n + 1),
        });
    }
}

/// The geometric-mean ratio of `candidate` over `baseline`, paired by round, with Student's
/// t interval on the logarithms.
pub fn log_ratio_gain(candidate: &[f64], baseline: &[f64]) -> Gain {
    let logs: Vec<f64> = candidate
        .iter()
        .zip(baseline)
        .map(|(c, b)| (c / b).ln())
        .collect();
    let n = logs.len() as f64;
    let mean = logs.iter().sum::<f64>() / n;
    let (low, high) = if logs.len() >= 2 {
        let var = logs.iter().map(|l| (l - mean).powi(2)).sum::<f64>() / (n - 1.0);
        let t = perfloop_stats::sample::student_t::t_quantile(0.975, n - 1.0).unwrap();
        let half = t * (var / n).sqrt();
        (
            Some(((mean - half).exp() - 1.0) * 100.0),
            Some(((mean + half).exp() - 1.0) * 100.0),
        )
    } else {
        (None, None)
    };
    Gain {
        method: "log_ratio".to_string(),
        pairs: logs.len(),
        percent: (mean.exp() - 1.0) * 100.0,
        ci95_low_pct: low,
        ci95_high_pct: high,
        significant: low.is_some_and(|l| l > 0.0),
    }
}

fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}

/// The mean of each metric over `trials`.
fn mean_metrics(trials: &[&TrialEntry]) -> BTreeMap<String, f64> {
    let mut sums: BTreeMap<String, (f64, usize)> = BTreeMap::new();
    for t in trials {
        for (k, v) in &t.metrics {
            let e = sums.entry(k.clone()).or_insert((0.0, 0));
            e.0 += v;
            e.1 += 1;
        }
    }
    sums.into_iter()
        .map(|(k, (sum, n))| (k, sum / n as f64))
        .collect()
}

pub fn knobs() -> Vec<KnobInfo> {
    vec![
        KnobInfo {
            name: "workers".to_string(),
            domain: "int 1..32, log".to_string(),
            default: json!(DEFAULTS.workers),
            choices: vec![],
        },
        KnobInfo {
            name: "batch".to_string(),
            domain: "int 50..500".to_string(),
            default: json!(DEFAULTS.batch),
            choices: vec![],
        },
        KnobInfo {
            name: "cache".to_string(),
            domain: format!("one of none, lru, {ODD_CACHE}"),
            default: json!(DEFAULTS.cache),
            choices: vec![json!("none"), json!("lru"), json!(ODD_CACHE)],
        },
        KnobInfo {
            name: "compress".to_string(),
            domain: "bool".to_string(),
            default: json!(DEFAULTS.compress),
            choices: vec![],
        },
    ]
}

/// The record around `trials`, `finalists`, `best`, everything else as the fixture has it.
fn record(
    trials: Vec<TrialEntry>,
    finalists: Vec<Finalist>,
    best: Option<Best>,
    explore: usize,
) -> StudyRecord {
    StudyRecord {
        schema: STUDY_SCHEMA.to_string(),
        perfloop_version: "0.1.0".to_string(),
        name: "api-throughput".to_string(),
        fingerprint: "sha256:5f0c9a7e3b1d2c4f6a8b0e1d3c5a7f9b2d4e6f8a0c1b3d5e7f9a1c3e5b7d9f0a"
            .to_string(),
        started_at: "2025-02-03T09:15:00Z".to_string(),
        elapsed_s: trials.iter().map(|t| t.duration_s).sum(),
        target: StudyTarget {
            kind: "managed".to_string(),
            command: COMMAND.to_string(),
        },
        workload: "closed model, 64 connections, 10 s after 2 s warm-up, GET /api/items"
            .to_string(),
        objective: StudyObjective {
            direction: Direction::Maximize,
            description: "maximize throughput".to_string(),
            unit: "req/s".to_string(),
        },
        constraints: vec!["p99<120ms".to_string(), "error_rate<1%".to_string()],
        knobs: knobs(),
        budget: BudgetInfo {
            trials: Some(explore as u32 + explore.div_ceil(4) as u32 + 1),
            time_s: Some(1800.0),
            repeats: REPEATS,
            finalists: FINALISTS as u32,
            confirm_rounds: ROUNDS,
            sampler: "tpe".to_string(),
            seed: 42,
        },
        trials,
        finalists,
        best,
        importance: vec![
            KnobShare {
                knob: "workers".to_string(),
                share: 0.58,
            },
            KnobShare {
                knob: "batch".to_string(),
                share: 0.27,
            },
            KnobShare {
                knob: "cache".to_string(),
                share: 0.11,
            },
            KnobShare {
                knob: "compress".to_string(),
                share: 0.04,
            },
        ],
        ending: StudyEnding::Trials,
        warnings: vec![
            "the baseline drifted by 1.2 % over the study (first 1998.8 req/s, last 2023.1 \
             req/s): the gains are paired by round, which cancels a slow drift"
                .to_string(),
            "2 of 12 exploration trials failed; trial 4 was killed with rss < 2 GiB & no swap"
                .to_string(),
        ],
    }
}

/// A study of `explore` exploration trials (the realistic list, repeated with other
/// batches when longer) of a service whose knobs matter as much as `effect` says.
pub fn study(explore: usize, effect: f64) -> StudyRecord {
    let mut trials = Trials {
        list: Vec::new(),
        best: None,
        effect,
    };
    trials.measure(TrialRole::Baseline, None, &DEFAULTS, Outcome::Measured);
    let mut explored: Vec<(Config, f64)> = Vec::new();
    for i in 0..explore {
        let (mut cfg, outcome) = EXPLORATION[i % EXPLORATION.len()];
        cfg.batch += 10 * (i / EXPLORATION.len()) as i64;
        trials.measure(TrialRole::Explore, None, &cfg, outcome);
        if let Some(y) = trials.list.last().and_then(|t| t.objective) {
            explored.push((cfg, y));
        }
        if i % 4 == 3 {
            trials.measure(TrialRole::Baseline, None, &DEFAULTS, Outcome::Measured);
        }
    }
    // The finalists: the best explored configurations.
    explored.sort_by(|a, b| b.1.total_cmp(&a.1));
    explored.truncate(FINALISTS);
    // The confirmation: the baseline, then each finalist, round after round.
    let mut baseline_rounds = Vec::new();
    let mut finalist_rounds = vec![Vec::new(); explored.len()];
    for round in 0..ROUNDS {
        trials.measure(
            TrialRole::Baseline,
            Some(round),
            &DEFAULTS,
            Outcome::Measured,
        );
        baseline_rounds.push(trials.list.len() - 1);
        for (i, (cfg, _)) in explored.iter().enumerate() {
            trials.measure(TrialRole::Confirm, Some(round), cfg, Outcome::Measured);
            finalist_rounds[i].push(trials.list.len() - 1);
        }
    }
    let list = trials.list;
    let objective_of = |indices: &[usize]| -> Vec<f64> {
        indices
            .iter()
            .map(|&i| list[i].objective.unwrap())
            .collect()
    };
    let baseline = objective_of(&baseline_rounds);
    let mut finalists: Vec<Finalist> = explored
        .iter()
        .zip(&finalist_rounds)
        .map(|((cfg, explored), rounds)| {
            let values = objective_of(rounds);
            Finalist {
                config: cfg.map(),
                explored: *explored,
                rounds: values.iter().map(|v| Some(*v)).collect(),
                mean: Some(mean(&values)),
                gain: Some(log_ratio_gain(&values, &baseline)),
            }
        })
        .collect();
    let order = |f: &Finalist| f.gain.as_ref().map_or(f64::NEG_INFINITY, |g| g.percent);
    let mut paired: Vec<(Finalist, &Vec<usize>)> =
        finalists.drain(..).zip(&finalist_rounds).collect();
    paired.sort_by(|a, b| order(&b.0).total_cmp(&order(&a.0)));
    let (finalists, rounds): (Vec<Finalist>, Vec<&Vec<usize>>) = paired.into_iter().unzip();
    let before = mean_metrics(
        &baseline_rounds
            .iter()
            .map(|&i| &list[i])
            .collect::<Vec<_>>(),
    );
    let top = &finalists[0];
    let best = if top.gain.as_ref().is_some_and(|g| g.significant) {
        let changed = knobs()
            .iter()
            .filter(|k| top.config.get(&k.name) != Some(&k.default))
            .map(|k| k.name.clone())
            .collect();
        Best {
            config: top.config.clone(),
            is_default: false,
            changed,
            objective: top.mean.unwrap(),
            baseline_objective: Some(mean(&baseline)),
            gain: top.gain.clone(),
            before,
            after: mean_metrics(&rounds[0].iter().map(|&i| &list[i]).collect::<Vec<_>>()),
            runner_up: None,
        }
    } else {
        Best {
            config: DEFAULTS.map(),
            is_default: true,
            changed: vec![],
            objective: mean(&baseline),
            baseline_objective: Some(mean(&baseline)),
            gain: None,
            after: before.clone(),
            before,
            runner_up: Some(top.config.clone()),
        }
    };
    record(list, finalists, Some(best), explore)
}

/// The realistic study: 12 exploration trials (two failed, one violated a constraint) with
/// the baseline between every four, three finalists confirmed in three rounds, and a best
/// configuration whose gain is significant.
pub fn realistic() -> StudyRecord {
    let r = study(EXPLORATION.len(), 1.0);
    assert!(r.best.as_ref().is_some_and(|b| !b.is_default));
    r
}

/// A study whose knobs barely matter: no finalist's gain is significant and the defaults
/// stand, the best finalist named as the runner-up.
pub fn defaults_stand() -> StudyRecord {
    let r = study(EXPLORATION.len(), 0.05);
    let best = r.best.as_ref().unwrap();
    assert!(best.is_default, "{:?}", r.finalists[0].gain);
    assert!(best.runner_up.is_some());
    r
}

/// A study whose every trial failed: no finalist, no conclusion.
pub fn all_failed() -> StudyRecord {
    let why = "the target exited with status 1 before it answered: bind 127.0.0.1:8080: \
               address already in use";
    let mut trials = Trials {
        list: Vec::new(),
        best: None,
        effect: 1.0,
    };
    trials.measure(TrialRole::Baseline, None, &DEFAULTS, Outcome::Failed(why));
    for (cfg, _) in EXPLORATION.iter().take(5) {
        trials.measure(TrialRole::Explore, None, cfg, Outcome::Failed(why));
    }
    let mut r = record(trials.list, vec![], None, 5);
    r.importance.clear();
    r.ending = StudyEnding::AllFailed;
    r.warnings = vec![format!("every trial failed; the first: {why}")];
    r
}
