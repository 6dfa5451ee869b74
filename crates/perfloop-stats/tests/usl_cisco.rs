#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
//! The Universal Scalability Law fit against the reference in B. Schwartz, *Practical
//! Scalability Analysis with the Universal Scalability Law*: a Cisco benchmark of 32
//! concurrency levels, whose fitted values the book lists (and `data/usl-cisco.csv` repeats in
//! its header).

use perfloop_stats::usl::{self, Limit};

const CISCO: &str = include_str!("data/usl-cisco.csv");

/// The book's fitted values.
const SIGMA: f64 = 0.026_715_91;
const KAPPA: f64 = 7.690_945e-4;
const LAMBDA: f64 = 995.648_6;
const N_MAX: f64 = 35.0;
const X_MAX: f64 = 12_341.0;

/// Relative tolerance on σ, κ and λ: 0.1 %.
const PARAMETER_TOLERANCE: f64 = 1e-3;

/// Tolerance on the maximum throughput: the book gives X(35) cut to a whole number (its own
/// parameters give 12 341.75), so the fitted X(35) must lie in [12 341, 12 342), within one
/// unit (0.008 %).
const X_MAX_TOLERANCE: f64 = 1.0;

fn cisco_points() -> Vec<(f64, f64)> {
    CISCO
        .lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .skip(1) // the header row
        .map(|line| {
            let (n, x) = line.split_once(',').expect("two columns");
            (n.trim().parse().unwrap(), x.trim().parse().unwrap())
        })
        .collect()
}

fn assert_relative(name: &str, got: f64, want: f64, tolerance: f64) {
    let error = (got - want).abs() / want.abs();
    assert!(
        error <= tolerance,
        "{name}: fitted {got}, book {want}, relative error {error:e} > {tolerance:e}"
    );
}

#[test]
fn cisco_fit_matches_the_book() {
    let points = cisco_points();
    assert_eq!(points.len(), 32);
    let fit = usl::fit(&points).unwrap();

    assert_relative("sigma", fit.sigma, SIGMA, PARAMETER_TOLERANCE);
    assert_relative("kappa", fit.kappa, KAPPA, PARAMETER_TOLERANCE);
    assert_relative("lambda", fit.lambda, LAMBDA, PARAMETER_TOLERANCE);
    assert_eq!(fit.peak_concurrency, Some(N_MAX));
    let x_max = fit.max_throughput.expect("a peak, since kappa > 0");
    assert!(
        (X_MAX..X_MAX + X_MAX_TOLERANCE).contains(&x_max),
        "X_max: fitted {x_max}, book {X_MAX}"
    );
    assert_eq!(fit.points, 32);
    assert!(fit.r_squared > 0.99, "R² {}", fit.r_squared);
}

#[test]
fn cisco_is_contention_limited_over_its_measured_range() {
    let fit = usl::fit(&cisco_points()).unwrap();
    // At N = 32 the contention penalty σ·31 ≈ 0.83 just exceeds the coherency penalty
    // κ·32·31 ≈ 0.76: the measurements stop short of σ/κ ≈ 34.7, where coherency takes over.
    assert_eq!(fit.largest_concurrency, 32.0);
    assert!(fit.contention_penalty(32.0) > fit.coherency_penalty(32.0));
    assert_eq!(fit.limit(), Limit::Contention);
}

#[test]
fn cisco_fit_is_a_least_squares_minimum() {
    let points = cisco_points();
    let fit = usl::fit(&points).unwrap();
    let sse = |f: &usl::UslFit| -> f64 {
        points
            .iter()
            .map(|&(n, x)| (f.throughput(n) - x).powi(2))
            .sum()
    };
    let best = sse(&fit);
    for factor in [0.999, 1.001] {
        let nudged = [
            usl::UslFit {
                sigma: fit.sigma * factor,
                ..fit
            },
            usl::UslFit {
                kappa: fit.kappa * factor,
                ..fit
            },
            usl::UslFit {
                lambda: fit.lambda * factor,
                ..fit
            },
        ];
        for other in &nudged {
            assert!(sse(other) > best, "{other:?} fits better than {fit:?}");
        }
    }
    assert!((fit.r_squared - (1.0 - best / total_sum_of_squares(&points))).abs() < 1e-9);
}

fn total_sum_of_squares(points: &[(f64, f64)]) -> f64 {
    let mean = points.iter().map(|p| p.1).sum::<f64>() / points.len() as f64;
    points.iter().map(|p| (p.1 - mean).powi(2)).sum()
}
