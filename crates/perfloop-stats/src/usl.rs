//! The Universal Scalability Law: fitting throughput against concurrency.
//!
//! The law (N. J. Gunther, *Guerrilla Capacity Planning*, Springer 2007, ch. 4–6) models the
//! throughput `X` of a system driven at concurrency `N` as
//!
//! ```text
//! X(N) = λN / (1 + σ(N − 1) + κN(N − 1))
//! ```
//!
//! - `λ`: the throughput at concurrency 1, the slope of ideal linear scaling;
//! - `σ` (contention, in \[0, 1\]): the serialised fraction of the work, queueing on a shared
//!   resource; alone it bounds throughput by the asymptote `λ/σ` (Amdahl's law);
//! - `κ` (coherency, ≥ 0): the cost of keeping shared state consistent, pairwise between the
//!   `N` workers; it makes throughput peak at `N* = ⌊√((1 − σ)/κ)⌋` and fall beyond it.
//!
//! # Method
//!
//! [`fit`] minimises the sum of squared throughput residuals `Σ (Xᵢ − X(Nᵢ))²`, ordinary
//! non-linear least squares as in B. Schwartz, *Practical Scalability Analysis with the
//! Universal Scalability Law* (VividCortex 2015), whose fit of a Cisco benchmark is the
//! reference test of this module (`tests/usl_cisco.rs`).
//!
//! - **Start:** Gunther's linearisation. With `λ₀` the throughput per unit of concurrency at
//!   the smallest measured `N`, `Nλ₀/X(N) − 1 = σ(N − 1) + κN(N − 1)` is linear in `σ` and
//!   `κ`, solved by a 2 × 2 least-squares system and clamped to the bounds.
//! - **Solver:** Levenberg–Marquardt on the three parameters with the analytic Jacobian, the
//!   damping scaled by the diagonal of `JᵀJ` (Marquardt 1963), and a 3 × 3 solve by Gaussian
//!   elimination per step. Throughput is divided by its maximum first so that the arithmetic
//!   does not depend on its unit.
//! - **Bounds** `σ ∈ [0, 1]`, `κ ≥ 0`, `λ > 0`: each step is projected onto them, and a
//!   parameter sitting on a bound with the gradient pushing outwards is held fixed for that
//!   step (an active-set projection).
//! - **Simplest adequate model:** the fits with `κ = 0`, `σ = 0` and both are computed too;
//!   the one with the fewest free parameters whose R² is within [`R_SQUARED_TOLERANCE`] of the
//!   best is reported. Data made without coherency therefore fit with `κ` exactly zero rather
//!   than a rounding residue, and report no peak.
//!
//! A solver written here rather than a crate: three parameters need no linear-algebra library,
//! the `levenberg-marquardt` crate brings `nalgebra` (a heavy build) with it, and the bounds
//! the law needs would still have to be handled around it. The module is pure: the same
//! points always give the same fit.

use std::fmt;

/// Fewest points [`fit`] accepts: three parameters and at least as many degrees of freedom.
pub const MIN_POINTS: usize = 6;

/// Fewest distinct concurrency levels [`fit`] accepts: with two, a curve with three
/// parameters passes through any data.
pub const MIN_LEVELS: usize = 3;

/// The largest concurrency [`fit`] accepts: beyond any real system, and low enough that
/// `κN²(N − 1)` in the solver stays far inside the floating-point range.
pub const MAX_CONCURRENCY: f64 = 1e9;

/// How close to the best R² a model with fewer free parameters must come to be preferred
/// (see the module documentation).
pub const R_SQUARED_TOLERANCE: f64 = 1e-10;

/// The total scalability penalty `σ(N − 1) + κN(N − 1)` below which [`UslFit::limit`] calls
/// scaling linear: throughput at the largest measured concurrency is then at least
/// `1/1.1 ≈ 91 %` of `λN`.
pub const LINEAR_MAX_PENALTY: f64 = 0.1;

/// Solver iterations (Jacobian evaluations) before giving up.
const MAX_ITERATIONS: usize = 500;

/// Relative decrease of the residual sum of squares that ends the iteration.
const COST_TOLERANCE: f64 = 1e-15;

/// Scaled step, relative to the size of the data, that ends the iteration.
const STEP_TOLERANCE: f64 = 1e-12;

/// Damping beyond which no step can reduce the residuals in floating point: a minimum.
const MAX_DAMPING: f64 = 1e16;

/// Throughputs whose spread is below this fraction of the largest count as all equal.
const FLAT_TOLERANCE: f64 = 1e-9;

const SIGMA: usize = 0;
const KAPPA: usize = 1;
const LAMBDA: usize = 2;

/// `[σ, κ, λ]`.
type Params = [f64; 3];

/// Why a set of points cannot be fitted. Each message says what to change.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum UslError {
    /// Fewer than [`MIN_POINTS`] points.
    #[error(
        "the Universal Scalability Law fit needs at least {MIN_POINTS} (concurrency, throughput) \
         points, got {got}: measure more concurrency levels"
    )]
    TooFewPoints {
        /// The number of points given.
        got: usize,
    },
    /// A point whose concurrency is not a finite number in \[1, [`MAX_CONCURRENCY`]\] or whose
    /// throughput is not a finite number above zero.
    #[error(
        "point {index} (concurrency {concurrency}, throughput {throughput}) cannot be fitted: \
         concurrency must be a finite number from 1 to {MAX_CONCURRENCY:e} and throughput a \
         finite number above 0; drop steps that served nothing"
    )]
    InvalidPoint {
        /// The point's position in the input, from 0.
        index: usize,
        /// Its concurrency.
        concurrency: f64,
        /// Its throughput.
        throughput: f64,
    },
    /// Fewer than [`MIN_LEVELS`] distinct concurrency levels.
    #[error(
        "the Universal Scalability Law fit needs at least {MIN_LEVELS} distinct concurrency \
         levels, got {got}: spread the measurements over more levels, e.g. 1, 2, 4, 8, 16, 32"
    )]
    TooFewLevels {
        /// The number of distinct levels given.
        got: usize,
    },
    /// Throughput is the same at every concurrency level.
    #[error(
        "throughput is {throughput} at every concurrency level, so there is no scaling to fit: \
         check that the load reached the target and that the levels span a wider range"
    )]
    FlatThroughput {
        /// The common throughput.
        throughput: f64,
    },
    /// The solver found no minimum.
    #[error(
        "the Universal Scalability Law fit did not converge ({reason}): the points do not \
         follow the law's shape; check them for mixed or noisy measurements"
    )]
    NoConvergence {
        /// What went wrong.
        reason: &'static str,
    },
}

/// Which term limits scaling, by the rule of [`UslFit::limit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Limit {
    /// Contention (`σ`, serialisation: a lock, a single-threaded stage, a shared queue)
    /// costs the most at the largest measured concurrency.
    Contention,
    /// Coherency (`κ`, crosstalk: cache-line sharing, coordination between workers, data
    /// exchanged pairwise) costs the most at the largest measured concurrency.
    Coherency,
    /// Neither costs much: throughput is within about 9 % of linear over the measured range.
    Linear,
}

impl Limit {
    /// The name used in reports: `contention`, `coherency` or `linear`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Contention => "contention",
            Self::Coherency => "coherency",
            Self::Linear => "linear",
        }
    }
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The fitted law and what follows from it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UslFit {
    /// Contention `σ`, in \[0, 1\].
    pub sigma: f64,
    /// Coherency `κ`, ≥ 0.
    pub kappa: f64,
    /// Throughput at concurrency 1, `λ`, in the unit of the input throughputs.
    pub lambda: f64,
    /// The concurrency of peak throughput, `N* = ⌊√((1 − σ)/κ)⌋` (at least 1); `None` when
    /// `κ = 0` and throughput never falls.
    pub peak_concurrency: Option<f64>,
    /// The largest throughput the law predicts: `X(N*)`, or the asymptote `λ/σ` when
    /// `κ = 0`; `None` when both are zero and scaling is linear without bound.
    pub max_throughput: Option<f64>,
    /// The coefficient of determination `1 − SS_res/SS_tot` of the fit.
    pub r_squared: f64,
    /// The number of points fitted.
    pub points: usize,
    /// The largest concurrency measured.
    pub largest_concurrency: f64,
}

impl UslFit {
    /// The throughput the law predicts at concurrency `n`, for drawing the curve.
    pub fn throughput(&self, n: f64) -> f64 {
        model(&[self.sigma, self.kappa, self.lambda], n)
    }

    /// The contention penalty `σ(N − 1)` at concurrency `n`: the serialised share of the work
    /// added to the denominator.
    pub fn contention_penalty(&self, n: f64) -> f64 {
        self.sigma * (n - 1.0)
    }

    /// The coherency penalty `κN(N − 1)` at concurrency `n`.
    pub fn coherency_penalty(&self, n: f64) -> f64 {
        self.kappa * n * (n - 1.0)
    }

    /// Which term limits scaling over the measured range. At the largest measured
    /// concurrency `N`: [`Limit::Linear`] when the two penalties together are below
    /// [`LINEAR_MAX_PENALTY`]; otherwise [`Limit::Coherency`] when `κN(N − 1)` exceeds
    /// `σ(N − 1)` (that is, when `N > σ/κ`), else [`Limit::Contention`].
    pub fn limit(&self) -> Limit {
        let n = self.largest_concurrency;
        let contention = self.contention_penalty(n);
        let coherency = self.coherency_penalty(n);
        if contention + coherency < LINEAR_MAX_PENALTY {
            Limit::Linear
        } else if coherency > contention {
            Limit::Coherency
        } else {
            Limit::Contention
        }
    }
}

/// Fits the Universal Scalability Law to `(concurrency, throughput)` points by non-linear
/// least squares (see the module documentation for the method).
///
/// Points may repeat a concurrency level (repeated measurements) and come in any order.
///
/// # Errors
///
/// [`UslError`] when there are fewer than [`MIN_POINTS`] points or [`MIN_LEVELS`] distinct
/// concurrency levels, when a value is not finite or out of range, when throughput does not
/// change with concurrency, or when the solver finds no minimum.
pub fn fit(points: &[(f64, f64)]) -> Result<UslFit, UslError> {
    validate(points)?;
    let scale = points.iter().map(|p| p.1).fold(0.0, f64::max);
    let data = Data {
        n: points.iter().map(|p| p.0).collect(),
        x: points.iter().map(|p| p.1 / scale).collect(),
    };
    let mean = data.x.iter().sum::<f64>() / data.x.len() as f64;
    let ss_tot: f64 = data.x.iter().map(|x| (x - mean) * (x - mean)).sum();

    let start = data.start();
    let full = data.levenberg_marquardt(start, [true, true, true])?;
    let mut candidates = vec![full];
    for free in [
        [true, false, true],
        [false, true, true],
        [false, false, true],
    ] {
        let mut restricted = start;
        for (p, &f) in restricted.iter_mut().zip(&free) {
            if !f {
                *p = 0.0;
            }
        }
        if let Ok(solution) = data.levenberg_marquardt(restricted, free) {
            candidates.push(solution);
        }
    }
    let best_cost = candidates
        .iter()
        .map(|s| s.cost)
        .fold(f64::INFINITY, f64::min);
    let chosen = candidates
        .iter()
        .filter(|s| s.cost <= best_cost + R_SQUARED_TOLERANCE * ss_tot)
        .min_by(|a, b| a.free.cmp(&b.free).then(a.cost.total_cmp(&b.cost)))
        .copied()
        .unwrap_or(full);

    let [sigma, kappa, lambda_scaled] = chosen.params;
    let lambda = lambda_scaled * scale;
    let r_squared = 1.0 - chosen.cost / ss_tot;
    let mut fit = UslFit {
        sigma,
        kappa,
        lambda,
        peak_concurrency: None,
        max_throughput: None,
        r_squared,
        points: points.len(),
        largest_concurrency: data.n.iter().copied().fold(1.0, f64::max),
    };
    let peak = ((1.0 - sigma) / kappa).sqrt().floor().max(1.0);
    if kappa > 0.0 && peak.is_finite() {
        fit.peak_concurrency = Some(peak);
        fit.max_throughput = Some(fit.throughput(peak));
    } else if sigma > 0.0 {
        fit.max_throughput = Some(lambda / sigma);
    }
    if [lambda, r_squared, fit.max_throughput.unwrap_or(0.0)]
        .iter()
        .all(|v| v.is_finite())
    {
        Ok(fit)
    } else {
        Err(UslError::NoConvergence {
            reason: "the result overflows: the throughputs are too large",
        })
    }
}

/// Checks the input against every [`UslError`] that does not need the solver.
fn validate(points: &[(f64, f64)]) -> Result<(), UslError> {
    if points.len() < MIN_POINTS {
        return Err(UslError::TooFewPoints { got: points.len() });
    }
    for (index, &(concurrency, throughput)) in points.iter().enumerate() {
        let n_ok = concurrency.is_finite() && (1.0..=MAX_CONCURRENCY).contains(&concurrency);
        let x_ok = throughput.is_finite() && throughput > 0.0;
        if !(n_ok && x_ok) {
            return Err(UslError::InvalidPoint {
                index,
                concurrency,
                throughput,
            });
        }
    }
    let mut levels: Vec<f64> = points.iter().map(|p| p.0).collect();
    levels.sort_by(f64::total_cmp);
    levels.dedup();
    if levels.len() < MIN_LEVELS {
        return Err(UslError::TooFewLevels { got: levels.len() });
    }
    let (low, high) = points.iter().fold((f64::INFINITY, 0.0_f64), |(lo, hi), p| {
        (lo.min(p.1), hi.max(p.1))
    });
    if high - low <= FLAT_TOLERANCE * high {
        return Err(UslError::FlatThroughput { throughput: high });
    }
    Ok(())
}

/// `X(N)` for parameters `[σ, κ, λ]`.
fn model(p: &Params, n: f64) -> f64 {
    p[LAMBDA] * n / (1.0 + p[SIGMA] * (n - 1.0) + p[KAPPA] * n * (n - 1.0))
}

/// A converged solution of one model.
#[derive(Debug, Clone, Copy)]
struct Solution {
    /// `[σ, κ, λ]`, `λ` in scaled throughput units.
    params: Params,
    /// The residual sum of squares, in scaled units.
    cost: f64,
    /// The number of free parameters of the model.
    free: usize,
}

/// Validated points, throughput divided by its maximum.
struct Data {
    n: Vec<f64>,
    x: Vec<f64>,
}

impl Data {
    fn cost(&self, p: &Params) -> f64 {
        self.n
            .iter()
            .zip(&self.x)
            .map(|(&n, &x)| {
                let r = x - model(p, n);
                r * r
            })
            .sum()
    }

    /// Gunther's linearised estimate (see the module documentation).
    fn start(&self) -> Params {
        let n_min = self.n.iter().copied().fold(f64::INFINITY, f64::min);
        let (sum, count) = self
            .n
            .iter()
            .zip(&self.x)
            .filter(|(n, _)| **n == n_min)
            .fold((0.0, 0.0), |(s, c), (_, x)| (s + x, c + 1.0));
        let lambda = sum / count / n_min;
        // Normal equations of y = σu + κv with u = N − 1, v = N(N − 1).
        let (mut uu, mut uv, mut vv, mut uy, mut vy) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for (&n, &x) in self.n.iter().zip(&self.x) {
            let (u, v, y) = (n - 1.0, n * (n - 1.0), n * lambda / x - 1.0);
            uu += u * u;
            uv += u * v;
            vv += v * v;
            uy += u * y;
            vy += v * y;
        }
        let det = uu * vv - uv * uv;
        let (mut sigma, mut kappa) = ((uy * vv - vy * uv) / det, (vy * uu - uy * uv) / det);
        if !(det > 0.0 && sigma.is_finite() && kappa.is_finite()) {
            (sigma, kappa) = (0.0, 0.0);
        }
        if kappa < 0.0 {
            (sigma, kappa) = (uy / uu, 0.0);
        }
        if sigma < 0.0 {
            (sigma, kappa) = (0.0, (vy / vv).max(0.0));
        }
        let finite_or_zero = |v: f64| if v.is_finite() { v } else { 0.0 };
        [
            finite_or_zero(sigma).clamp(0.0, 1.0),
            finite_or_zero(kappa).max(0.0),
            lambda,
        ]
    }

    /// `JᵀJ` and `Jᵀr` at `p`, with `J` the Jacobian of the model and `r` the residuals.
    fn normal_equations(&self, p: &Params) -> ([[f64; 3]; 3], [f64; 3]) {
        let mut jtj = [[0.0; 3]; 3];
        let mut jtr = [0.0; 3];
        for (&n, &x) in self.n.iter().zip(&self.x) {
            let d = 1.0 + p[SIGMA] * (n - 1.0) + p[KAPPA] * n * (n - 1.0);
            let r = x - p[LAMBDA] * n / d;
            let dd = p[LAMBDA] * n * (n - 1.0) / (d * d);
            let jac = [-dd, -dd * n, n / d];
            for (row, &jr) in jtj.iter_mut().zip(&jac) {
                for (cell, &jc) in row.iter_mut().zip(&jac) {
                    *cell += jr * jc;
                }
            }
            for (g, &j) in jtr.iter_mut().zip(&jac) {
                *g += j * r;
            }
        }
        (jtj, jtr)
    }

    /// Bounded Levenberg–Marquardt from `start`, moving only the parameters marked in `free`.
    fn levenberg_marquardt(&self, start: Params, free: [bool; 3]) -> Result<Solution, UslError> {
        let overflow = UslError::NoConvergence {
            reason: "the model overflowed",
        };
        let size = self.x.iter().map(|x| x * x).sum::<f64>().sqrt();
        let mut p = start;
        let mut cost = self.cost(&p);
        if !cost.is_finite() {
            return Err(overflow);
        }
        let solution = |params: Params, cost: f64| Solution {
            params,
            cost,
            free: free.iter().filter(|f| **f).count(),
        };
        let mut damping = 1e-3;
        for _ in 0..MAX_ITERATIONS {
            let (jtj, jtr) = self.normal_equations(&p);
            if jtj.iter().flatten().chain(&jtr).any(|v| !v.is_finite()) {
                return Err(overflow);
            }
            // Hold a parameter when it is fixed, cannot move the model, or sits on a bound
            // with the descent direction (+Jᵀr) pointing outwards.
            let mut scale = [0.0; 3];
            for (j, s) in scale.iter_mut().enumerate() {
                let at_lower = j != LAMBDA && p[j] <= 0.0 && jtr[j] <= 0.0;
                let at_upper = j == SIGMA && p[j] >= 1.0 && jtr[j] >= 0.0;
                if free[j] && jtj[j][j] > 0.0 && !at_lower && !at_upper {
                    *s = jtj[j][j].sqrt();
                }
            }
            if scale.iter().all(|s| *s == 0.0) {
                return Ok(solution(p, cost));
            }
            loop {
                let step = damped_step(&jtj, &jtr, &scale, damping);
                let candidate = step.map(|(delta, _)| project(&p, &delta));
                let tried = candidate.map(|c| (c, self.cost(&c)));
                match (tried, step) {
                    (Some((c, _)), _) if c == p => return Ok(solution(p, cost)),
                    (Some((c, new_cost)), Some((_, scaled_len)))
                        if c[LAMBDA] > 0.0 && new_cost < cost =>
                    {
                        let decrease = cost - new_cost;
                        let previous = cost;
                        p = c;
                        cost = new_cost;
                        damping = (damping / 10.0).max(1e-12);
                        if decrease <= COST_TOLERANCE * previous
                            || scaled_len <= STEP_TOLERANCE * size
                        {
                            return Ok(solution(p, cost));
                        }
                        break;
                    }
                    _ => {
                        damping *= 10.0;
                        if damping > MAX_DAMPING {
                            return Ok(solution(p, cost));
                        }
                    }
                }
            }
        }
        Err(UslError::NoConvergence {
            reason: "no minimum within the iteration limit",
        })
    }
}

/// The Levenberg–Marquardt step `(JᵀJ + μ·diag(JᵀJ)) δ = Jᵀr` over the parameters with a
/// non-zero `scale` (`√diag(JᵀJ)`), solved in scaled variables; the others do not move.
/// Returns `δ` and the length of the scaled step, or `None` when the system is singular.
fn damped_step(
    jtj: &[[f64; 3]; 3],
    jtr: &[f64; 3],
    scale: &[f64; 3],
    damping: f64,
) -> Option<(Params, f64)> {
    let mut a = [[0.0; 3]; 3];
    let mut b = [0.0; 3];
    for j in 0..3 {
        if scale[j] == 0.0 {
            a[j][j] = 1.0;
            continue;
        }
        for k in 0..3 {
            if scale[k] != 0.0 {
                a[j][k] = jtj[j][k] / (scale[j] * scale[k]);
            }
        }
        a[j][j] = 1.0 + damping;
        b[j] = jtr[j] / scale[j];
    }
    let y = solve3(a, b)?;
    let mut delta = [0.0; 3];
    for (d, (&yj, &s)) in delta.iter_mut().zip(y.iter().zip(scale)) {
        if s != 0.0 {
            *d = yj / s;
        }
    }
    let len = y.iter().map(|v| v * v).sum::<f64>().sqrt();
    delta.iter().all(|d| d.is_finite()).then_some((delta, len))
}

/// `p + δ` projected onto the bounds `σ ∈ [0, 1]`, `κ ≥ 0`.
fn project(p: &Params, delta: &Params) -> Params {
    [
        (p[SIGMA] + delta[SIGMA]).clamp(0.0, 1.0),
        (p[KAPPA] + delta[KAPPA]).max(0.0),
        p[LAMBDA] + delta[LAMBDA],
    ]
}

/// Solves `a·y = b` by Gaussian elimination with partial pivoting; `None` when singular.
fn solve3(mut a: [[f64; 3]; 3], mut b: [f64; 3]) -> Option<[f64; 3]> {
    for col in 0..3 {
        let pivot = (col..3).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        let magnitude = a[pivot][col].abs();
        if magnitude.is_nan() || magnitude <= 1e-300 {
            return None;
        }
        a.swap(col, pivot);
        b.swap(col, pivot);
        for row in col + 1..3 {
            let factor = a[row][col] / a[col][col];
            let pivot_row = a[col];
            for (cell, p) in a[row][col..].iter_mut().zip(&pivot_row[col..]) {
                *cell -= factor * p;
            }
            b[row] -= factor * b[col];
        }
    }
    let mut y = [0.0; 3];
    for row in (0..3).rev() {
        let tail: f64 = (row + 1..3).map(|k| a[row][k] * y[k]).sum();
        y[row] = (b[row] - tail) / a[row][row];
    }
    y.iter().all(|v| v.is_finite()).then_some(y)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, rel: f64) -> bool {
        (a - b).abs() <= rel * a.abs().max(b.abs())
    }

    fn points(sigma: f64, kappa: f64, lambda: f64, levels: &[f64]) -> Vec<(f64, f64)> {
        let law = UslFit {
            sigma,
            kappa,
            lambda,
            peak_concurrency: None,
            max_throughput: None,
            r_squared: 1.0,
            points: 0,
            largest_concurrency: 1.0,
        };
        levels.iter().map(|&n| (n, law.throughput(n))).collect()
    }

    const LEVELS: [f64; 8] = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 48.0, 64.0];

    #[test]
    fn recovers_known_parameters_exactly() {
        for (sigma, kappa, lambda) in [
            (0.05, 0.002, 100.0),
            (0.3, 1e-4, 2.5),
            (0.01, 0.02, 12_000.0),
            (0.9, 0.05, 1e-3),
        ] {
            let fit = fit(&points(sigma, kappa, lambda, &LEVELS)).unwrap();
            assert!(close(fit.sigma, sigma, 1e-8), "σ {} vs {sigma}", fit.sigma);
            assert!(close(fit.kappa, kappa, 1e-8), "κ {} vs {kappa}", fit.kappa);
            assert!(
                close(fit.lambda, lambda, 1e-8),
                "λ {} vs {lambda}",
                fit.lambda
            );
            assert!(fit.r_squared > 1.0 - 1e-12);
            assert_eq!(fit.points, LEVELS.len());
            let peak = ((1.0 - sigma) / kappa).sqrt().floor().max(1.0);
            assert_eq!(fit.peak_concurrency, Some(peak));
            let max = fit.max_throughput.unwrap();
            assert!(close(max, fit.throughput(peak), 1e-12));
        }
    }

    #[test]
    fn recovers_parameters_from_unordered_repeated_levels() {
        let mut data = points(0.08, 0.001, 50.0, &[32.0, 1.0, 8.0, 2.0, 1.0, 8.0, 16.0]);
        data.swap(0, 5);
        let fit = fit(&data).unwrap();
        assert!(close(fit.sigma, 0.08, 1e-8));
        assert!(close(fit.kappa, 0.001, 1e-8));
        assert!(close(fit.lambda, 50.0, 1e-8));
        assert_eq!(fit.largest_concurrency, 32.0);
    }

    #[test]
    fn pure_contention_has_no_peak_and_an_asymptote() {
        let fit = fit(&points(0.1, 0.0, 200.0, &LEVELS)).unwrap();
        assert_eq!(fit.kappa, 0.0);
        assert!(close(fit.sigma, 0.1, 1e-8));
        assert!(close(fit.lambda, 200.0, 1e-8));
        assert_eq!(fit.peak_concurrency, None);
        assert!(close(fit.max_throughput.unwrap(), 2000.0, 1e-8));
        assert_eq!(fit.limit(), Limit::Contention);
    }

    #[test]
    fn pure_coherency_is_recovered_with_zero_contention() {
        let fit = fit(&points(0.0, 0.001, 10.0, &LEVELS)).unwrap();
        assert_eq!(fit.sigma, 0.0);
        assert!(close(fit.kappa, 0.001, 1e-8));
        assert_eq!(fit.peak_concurrency, Some(31.0));
        assert_eq!(fit.limit(), Limit::Coherency);
    }

    #[test]
    fn linear_data_fits_with_both_terms_zero() {
        let data: Vec<(f64, f64)> = LEVELS.iter().map(|&n| (n, 37.5 * n)).collect();
        let fit = fit(&data).unwrap();
        assert_eq!((fit.sigma, fit.kappa), (0.0, 0.0));
        assert!(close(fit.lambda, 37.5, 1e-12));
        assert_eq!(fit.peak_concurrency, None);
        assert_eq!(fit.max_throughput, None);
        assert_eq!(fit.limit(), Limit::Linear);
        assert!(close(fit.throughput(1000.0), 37_500.0, 1e-12));
    }

    #[test]
    fn noisy_data_fits_close_to_the_truth() {
        // ±2 % deterministic "noise" around σ = 0.04, κ = 0.0005, λ = 1000.
        let noise = [0.02, -0.015, 0.01, -0.02, 0.005, 0.018, -0.01, -0.004];
        let data: Vec<(f64, f64)> = points(0.04, 0.0005, 1000.0, &LEVELS)
            .into_iter()
            .zip(noise)
            .map(|((n, x), e)| (n, x * (1.0 + e)))
            .collect();
        let fit = fit(&data).unwrap();
        assert!(
            fit.r_squared > 0.99 && fit.r_squared < 1.0,
            "{}",
            fit.r_squared
        );
        assert!(close(fit.lambda, 1000.0, 0.05), "λ {}", fit.lambda);
        assert!((fit.sigma - 0.04).abs() < 0.02, "σ {}", fit.sigma);
        assert!((fit.kappa - 0.0005).abs() < 0.0003, "κ {}", fit.kappa);
    }

    #[test]
    fn limit_follows_the_dominant_penalty_at_the_largest_level() {
        // At N = 64: contention 0.05 · 63 = 3.15 versus coherency 1e-4 · 64 · 63 = 0.40.
        let contention = fit(&points(0.05, 1e-4, 10.0, &LEVELS)).unwrap();
        assert_eq!(contention.limit(), Limit::Contention);
        // 0.01 · 63 = 0.63 versus 1e-3 · 64 · 63 = 4.03.
        let coherency = fit(&points(0.01, 1e-3, 10.0, &LEVELS)).unwrap();
        assert_eq!(coherency.limit(), Limit::Coherency);
        // 0.001 · 63 + 1e-6 · 4032 = 0.067: within 7 % of linear.
        let linear = fit(&points(0.001, 1e-6, 10.0, &LEVELS)).unwrap();
        assert_eq!(linear.limit(), Limit::Linear);
        assert_eq!(Limit::Coherency.to_string(), "coherency");
    }

    #[test]
    fn rejects_too_few_points_and_levels() {
        let five = points(0.05, 0.001, 10.0, &LEVELS[..5]);
        assert_eq!(fit(&five), Err(UslError::TooFewPoints { got: 5 }));
        assert_eq!(fit(&[]), Err(UslError::TooFewPoints { got: 0 }));
        let two_levels = points(0.05, 0.001, 10.0, &[1.0, 1.0, 1.0, 8.0, 8.0, 8.0]);
        assert_eq!(fit(&two_levels), Err(UslError::TooFewLevels { got: 2 }));
    }

    #[test]
    fn rejects_invalid_values() {
        let good = points(0.05, 0.001, 10.0, &LEVELS);
        for (n, x) in [
            (f64::NAN, 1.0),
            (f64::INFINITY, 1.0),
            (0.0, 1.0),
            (0.5, 1.0),
            (-3.0, 1.0),
            (2e9, 1.0),
            (4.0, f64::NAN),
            (4.0, f64::NEG_INFINITY),
            (4.0, 0.0),
            (4.0, -1.0),
        ] {
            let mut data = good.clone();
            data[3] = (n, x);
            match fit(&data) {
                Err(UslError::InvalidPoint { index: 3, .. }) => {}
                other => panic!("({n}, {x}) gave {other:?}"),
            }
        }
    }

    #[test]
    fn rejects_flat_throughput() {
        let data: Vec<(f64, f64)> = LEVELS.iter().map(|&n| (n, 500.0)).collect();
        assert_eq!(
            fit(&data),
            Err(UslError::FlatThroughput { throughput: 500.0 })
        );
    }

    #[test]
    fn messages_say_what_to_do() {
        let messages = [
            UslError::TooFewPoints { got: 2 }.to_string(),
            UslError::TooFewLevels { got: 1 }.to_string(),
            UslError::FlatThroughput { throughput: 3.0 }.to_string(),
        ];
        assert!(messages[0].contains("at least 6") && messages[0].contains("got 2"));
        assert!(messages[1].contains("distinct concurrency levels"));
        assert!(messages[2].contains("check that the load reached the target"));
    }

    /// Throughput `x(N)` at concurrency 1 to 8.
    fn series(x: impl Fn(f64) -> f64) -> Vec<(f64, f64)> {
        (1..=8).map(f64::from).map(|n| (n, x(n))).collect()
    }

    #[test]
    fn odd_inputs_give_a_fit_or_an_error_never_a_panic() {
        let (tiny, huge) = (f64::MIN_POSITIVE, f64::MAX);
        let cases = [
            vec![(1.0, 1.0); 6],
            series(|n| 100.0 / n),
            series(|n| if n % 2.0 == 0.0 { 1.0 } else { 1e6 }),
            series(|n| n.powi(4)),
            series(f64::exp),
            series(|n| huge / n),
            series(|n| tiny * n),
            series(|n| if n == 1.0 { huge } else { tiny }),
            series(|n| if n == 1.0 { tiny } else { huge }),
            series(|n| if n == 8.0 { 5.000_001 } else { 5.0 }),
            (1..=8)
                .map(|n| (f64::from(n) * 1e8, f64::from(n)))
                .collect(),
            (1..=8)
                .map(|n| (1.0 + f64::from(n) * 1e-12, f64::from(n)))
                .collect(),
            vec![
                (1.0, 1.0),
                (1.0, 2.0),
                (2.0, 1.0),
                (2.0, 2.0),
                (3.0, 1.0),
                (3.0, 2.0),
            ],
            vec![
                (1.0, 1.0),
                (1e9, 1.0),
                (2.0, 1e9),
                (3.0, 1e-9),
                (5.0, 7.0),
                (1.5, 2.0),
            ],
        ];
        for data in &cases {
            match fit(data) {
                Ok(f) => {
                    assert!((0.0..=1.0).contains(&f.sigma), "{data:?}: {f:?}");
                    assert!(f.kappa >= 0.0 && f.kappa.is_finite(), "{data:?}: {f:?}");
                    assert!(f.lambda > 0.0 && f.lambda.is_finite(), "{data:?}: {f:?}");
                    assert!(f.r_squared <= 1.0, "{data:?}: {f:?}");
                    assert!(
                        f.max_throughput.is_none_or(f64::is_finite),
                        "{data:?}: {f:?}"
                    );
                    assert!(
                        f.peak_concurrency.is_none_or(|n| n >= 1.0),
                        "{data:?}: {f:?}"
                    );
                    let _ = f.limit();
                }
                Err(e) => assert!(!e.to_string().is_empty()),
            }
        }
    }
}
