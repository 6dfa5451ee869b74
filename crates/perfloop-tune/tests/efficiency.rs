#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr,
    missing_docs
)]
//! Sample efficiency on deterministic synthetic objectives: TPE must reach 95 % of the grid
//! optimum (median over seeds) with a quarter of the grid's trials. Random search runs on the
//! same budget for comparison.

use perfloop_tune::{Config, Knob, RandomSampler, Sampler, Space, TpeSampler, Trial, Value};

struct Problem {
    name: &'static str,
    space: Space,
    points: usize,
    objective: fn(&Config) -> f64,
}

fn num(c: &Config, k: &str) -> f64 {
    c[k].as_f64().unwrap()
}

fn problems() -> Vec<Problem> {
    vec![
        // (a) Smooth and unimodal: two continuous knobs and a log-scaled integer.
        Problem {
            name: "smooth",
            space: Space::new(vec![
                Knob::float("x", 0.0, 1.0, 0.5),
                Knob::float("y", 0.0, 1.0, 0.5),
                Knob::int_log("z", 1, 256, 16),
            ])
            .unwrap(),
            points: 8,
            objective: |c| {
                let (x, y, z) = (num(c, "x"), num(c, "y"), num(c, "z").ln());
                1.0 + 99.0
                    * (-((x - 0.3).powi(2) / 0.1
                        + (y - 0.7).powi(2) / 0.2
                        + (z - 20f64.ln()).powi(2) / 4.0))
                        .exp()
            },
        },
        // (b) Interacting knobs: a narrow ridge along the diagonal x = y, best at 0.7.
        Problem {
            name: "ridge",
            space: Space::new(vec![
                Knob {
                    name: "x".into(),
                    ..step_knob()
                },
                Knob {
                    name: "y".into(),
                    ..step_knob()
                },
            ])
            .unwrap(),
            points: 11,
            objective: |c| {
                let (x, y) = (num(c, "x"), num(c, "y"));
                1.0 + 99.0 * (-(x - y).powi(2) / 0.01).exp() * (1.0 - (x + y - 1.4).powi(2))
            },
        },
        // (c) A narrow optimum: only one grid point is within 95 % of the best.
        Problem {
            name: "narrow",
            space: Space::new(vec![
                Knob::int("workers", 1, 12, 4),
                Knob::int_step("cache_mb", 0, 110, 10, 50),
            ])
            .unwrap(),
            points: 12,
            objective: |c| {
                let dw = num(c, "workers") - 9.0;
                let dc = (num(c, "cache_mb") - 70.0) / 10.0;
                10.0 + 90.0 * (-(dw * dw + dc * dc)).exp()
            },
        },
        // (d) A categorical knob, a log-scaled batch size and worker threads.
        Problem {
            name: "mixed",
            space: Space::new(vec![
                Knob::categorical("algo", &["nested", "sort", "hash", "bloom"], "nested"),
                Knob::int_log("batch", 1, 4096, 64),
                Knob::int("workers", 1, 13, 4),
            ])
            .unwrap(),
            points: 13,
            objective: |c| {
                let base = match &c["algo"] {
                    Value::Str(s) if s == "hash" => 100.0,
                    Value::Str(s) if s == "bloom" => 80.0,
                    Value::Str(s) if s == "sort" => 60.0,
                    _ => 20.0,
                };
                let b = num(c, "batch").ln() - 300f64.ln();
                let w = num(c, "workers");
                let workers = w / (1.0 + 0.08 * (w - 1.0) + 0.004 * w * (w - 1.0));
                base * (-(b * b) / 2.0).exp() * workers / 5.0 + 1.0
            },
        },
    ]
}

fn step_knob() -> Knob {
    Knob {
        name: String::new(),
        kind: perfloop_tune::KnobKind::Float {
            low: 0.0,
            high: 1.0,
            step: Some(0.1),
            log: false,
        },
        default: Value::Float(0.5),
    }
}

fn best_found(sampler: &mut dyn Sampler, p: &Problem, budget: usize) -> f64 {
    let mut history: Vec<Trial> = Vec::with_capacity(budget);
    for _ in 0..budget {
        let config = sampler.suggest(&p.space, &history);
        assert!(p.space.contains(&config), "{}: {config:?}", p.name);
        history.push(Trial {
            objective: Some((p.objective)(&config)),
            config,
        });
    }
    history
        .iter()
        .filter_map(|t| t.objective)
        .fold(f64::NEG_INFINITY, f64::max)
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2.0
    }
}

#[test]
fn tpe_reaches_95_percent_of_the_grid_optimum_with_a_quarter_of_its_trials() {
    let mut failures = Vec::new();
    eprintln!(
        "{:<8} {:>5} {:>7} {:>10} {:>8} {:>8}",
        "function", "grid", "budget", "grid opt", "TPE %", "random %"
    );
    // One thread per function keeps the test quick in debug builds.
    let problems = problems();
    let results: Vec<(usize, usize, f64, f64, f64)> = std::thread::scope(|scope| {
        let handles: Vec<_> = problems
            .iter()
            .map(|p| {
                scope.spawn(move || {
                    let grid = p.space.grid(p.points);
                    let optimum = grid
                        .iter()
                        .map(p.objective)
                        .fold(f64::NEG_INFINITY, f64::max);
                    let budget = grid.len().div_ceil(4);
                    let run = |make: &dyn Fn(u64) -> Box<dyn Sampler>| {
                        median(
                            (0..10u64)
                                .map(|s| best_found(make(s).as_mut(), p, budget))
                                .collect(),
                        )
                    };
                    let tpe = run(&|s| Box::new(TpeSampler::new(s)));
                    let random = run(&|s| Box::new(RandomSampler::new(s)));
                    (grid.len(), budget, optimum, tpe, random)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (p, (size, budget, optimum, tpe, random)) in problems.iter().zip(results) {
        assert!(optimum > 0.0);
        eprintln!(
            "{:<8} {:>5} {:>7} {:>10.2} {:>7.1}% {:>7.1}%",
            p.name,
            size,
            budget,
            optimum,
            100.0 * tpe / optimum,
            100.0 * random / optimum
        );
        if tpe < 0.95 * optimum {
            failures.push(format!(
                "{}: TPE median {tpe:.2} < 95 % of {optimum:.2}",
                p.name
            ));
        }
    }
    assert!(failures.is_empty(), "{failures:?}");
}
