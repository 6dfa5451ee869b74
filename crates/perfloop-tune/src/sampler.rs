//! Samplers: which configuration a study tries next, given the trials so far.
//!
//! The objective is **maximised**: a higher [`Trial::objective`] is better (throughput,
//! records/s). A study that minimises something (latency, cost) passes its negation or
//! inverse. A trial whose objective is `None` failed (the target did not start, crashed) or
//! violated a constraint (an SLO): samplers never treat it as good, and [`TpeSampler`]
//! counts it among the bad trials, steering away from its region.
//!
//! Every sampler is deterministic: the same seed, space and history give the same
//! suggestion sequence. Every sampler avoids suggesting a configuration already in the
//! history while an untried one is easy to find.

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::space::{Config, Knob, Space};

/// One finished trial of a study.
#[derive(Debug, Clone, PartialEq)]
pub struct Trial {
    /// The configuration the target ran with.
    pub config: Config,
    /// The measured objective, higher is better; `None` when the trial failed or violated a
    /// constraint.
    pub objective: Option<f64>,
}

impl Trial {
    /// The objective when it is a usable number (present and not NaN).
    #[must_use]
    pub fn value(&self) -> Option<f64> {
        self.objective.filter(|v| !v.is_nan())
    }
}

/// Chooses the next configuration of a study.
pub trait Sampler {
    /// The next configuration to try in `space`, given the finished `history` (in the order
    /// the trials ran). The objective is maximised.
    fn suggest(&mut self, space: &Space, history: &[Trial]) -> Config;
}

/// How many draws a sampler makes looking for a configuration not yet in the history.
const DEDUP_ATTEMPTS: usize = 64;

fn tried(config: &Config, history: &[Trial]) -> bool {
    history.iter().any(|t| &t.config == config)
}

fn random_config(space: &Space, rng: &mut ChaCha8Rng) -> Config {
    space
        .knobs()
        .iter()
        .map(|k| (k.name.clone(), k.from_unit(rng.random::<f64>())))
        .collect()
}

/// A uniformly random configuration not in the history, if one is found in a few draws
/// (otherwise the last draw).
fn random_untried(space: &Space, history: &[Trial], rng: &mut ChaCha8Rng) -> Config {
    let mut config = random_config(space, rng);
    for _ in 1..DEDUP_ATTEMPTS {
        if !tried(&config, history) {
            break;
        }
        config = random_config(space, rng);
    }
    config
}

/// Exhaustive search: walks [`Space::grid`] in an order shuffled by the seed, suggesting the
/// first grid configuration not already in the history. Once every grid configuration has
/// been tried it starts the same order again.
#[derive(Debug, Clone)]
pub struct GridSampler {
    points: usize,
    seed: u64,
}

impl GridSampler {
    /// A grid of `points_per_numeric_knob` points per numeric knob, shuffled by `seed`.
    #[must_use]
    pub fn new(points_per_numeric_knob: usize, seed: u64) -> Self {
        Self {
            points: points_per_numeric_knob,
            seed,
        }
    }

    /// The grid in this sampler's order.
    #[must_use]
    pub fn order(&self, space: &Space) -> Vec<Config> {
        let mut grid = space.grid(self.points);
        grid.shuffle(&mut ChaCha8Rng::seed_from_u64(self.seed));
        grid
    }

    /// How many grid configurations are not yet in the history.
    #[must_use]
    pub fn remaining(&self, space: &Space, history: &[Trial]) -> usize {
        self.order(space)
            .iter()
            .filter(|c| !tried(c, history))
            .count()
    }
}

impl Sampler for GridSampler {
    fn suggest(&mut self, space: &Space, history: &[Trial]) -> Config {
        let order = self.order(space);
        if let Some(config) = order.iter().find(|c| !tried(c, history)) {
            return config.clone();
        }
        let n = order.len().max(1);
        order
            .into_iter()
            .nth(history.len() % n)
            .unwrap_or_else(|| space.default_config())
    }
}

/// Random search: every knob drawn independently and uniformly on its scale (log-uniform
/// for log knobs), redrawn when the configuration is already in the history.
#[derive(Debug, Clone)]
pub struct RandomSampler {
    rng: ChaCha8Rng,
}

impl RandomSampler {
    /// A random sampler seeded with `seed`.
    #[must_use]
    pub fn new(seed: u64) -> Self {
        Self {
            rng: ChaCha8Rng::seed_from_u64(seed),
        }
    }
}

impl Sampler for RandomSampler {
    fn suggest(&mut self, space: &Space, history: &[Trial]) -> Config {
        random_untried(space, history, &mut self.rng)
    }
}

/// Tree-structured Parzen Estimator (Bergstra et al., 2011), in its multivariate form.
///
/// 1. The first [`n_startup`](Self::with_startup) trials are random (as [`RandomSampler`]).
/// 2. Then the trials are split: the best `ceil(gamma * n)` successful trials (at least 1, at
///    most 25) are *good*, every other trial, failed ones included, is *bad*.
/// 3. Each group gives a density over the space, a Parzen (kernel) estimator: one kernel per
///    trial spanning every knob, plus a broad prior kernel. On a numeric knob a kernel is a
///    Gaussian on the knob's scale mapped to `[0, 1]`, truncated to it, centred on the
///    trial's value, with a bandwidth of the larger distance to its neighbours among the
///    group's values (clipped to `[1 / min(100, n + 1), 1]`); on a categorical or boolean
///    knob it puts half its mass on the trial's category and spreads the rest evenly. The
///    prior kernel is a Gaussian of width 1 at the centre, or uniform over categories.
/// 4. [`n_candidates`](Self::with_candidates) configurations are drawn from the good density
///    `l(x)`, snapped to admissible values, and the one maximising `l(x) / g(x)` (the
///    expected-improvement criterion of TPE) that is not already in the history is
///    suggested.
///
/// Kernels spanning all knobs (rather than one independent estimator per knob) let the
/// sampler follow interactions between knobs, such as an optimum along a ridge.
#[derive(Debug, Clone)]
pub struct TpeSampler {
    rng: ChaCha8Rng,
    n_startup: usize,
    gamma: f64,
    n_candidates: usize,
}

/// Most good trials a TPE density is built from.
const MAX_GOOD: usize = 25;

impl TpeSampler {
    /// A TPE sampler seeded with `seed`, with 8 random startup trials, `gamma = 0.2` and 24
    /// candidates per suggestion.
    #[must_use]
    pub fn new(seed: u64) -> Self {
        Self {
            rng: ChaCha8Rng::seed_from_u64(seed),
            n_startup: 8,
            gamma: 0.2,
            n_candidates: 24,
        }
    }

    /// Sets how many trials are random before the densities are used (at least 1).
    #[must_use]
    pub fn with_startup(mut self, n_startup: usize) -> Self {
        self.n_startup = n_startup.max(1);
        self
    }

    /// Sets the share of successful trials counted as good (clamped to `(0, 1]`).
    #[must_use]
    pub fn with_gamma(mut self, gamma: f64) -> Self {
        self.gamma = if gamma.is_finite() {
            gamma.clamp(1e-3, 1.0)
        } else {
            0.2
        };
        self
    }

    /// Sets how many candidates are drawn from the good density per suggestion (at least 1).
    #[must_use]
    pub fn with_candidates(mut self, n_candidates: usize) -> Self {
        self.n_candidates = n_candidates.max(1);
        self
    }
}

/// A trial's position: per knob, its place on the unit scale or its category index.
#[derive(Debug, Clone, Copy)]
enum Coord {
    Num(f64),
    Cat(usize),
}

fn coord(knob: &Knob, value: &crate::space::Value) -> Option<Coord> {
    match knob.choices() {
        Some(choices) => choices.iter().position(|c| c == value).map(Coord::Cat),
        None => knob.to_unit(value).map(Coord::Num),
    }
}

fn coords(space: &Space, config: &Config) -> Option<Vec<Coord>> {
    space
        .knobs()
        .iter()
        .map(|k| config.get(&k.name).and_then(|v| coord(k, v)))
        .collect()
}

/// One kernel on one knob.
#[derive(Debug, Clone)]
enum Kernel {
    /// Truncated Gaussian on `[0, 1]`: centre, width, log of its mass inside `[0, 1]`.
    Num { mu: f64, sigma: f64, log_mass: f64 },
    /// Probabilities of the categories.
    Cat(Vec<f64>),
}

impl Kernel {
    fn gaussian(mu: f64, sigma: f64) -> Self {
        let mass = normal_cdf((1.0 - mu) / sigma) - normal_cdf(-mu / sigma);
        Self::Num {
            mu,
            sigma,
            log_mass: mass.max(1e-300).ln(),
        }
    }

    fn log_pdf(&self, x: Coord) -> f64 {
        match (self, x) {
            (
                Self::Num {
                    mu,
                    sigma,
                    log_mass,
                },
                Coord::Num(x),
            ) => {
                let z = (x - mu) / sigma;
                -0.5 * z * z - sigma.ln() - 0.5 * (2.0 * std::f64::consts::PI).ln() - log_mass
            }
            (Self::Cat(p), Coord::Cat(i)) => p.get(i).copied().unwrap_or(0.0).max(1e-300).ln(),
            _ => f64::NEG_INFINITY,
        }
    }

    fn sample(&self, rng: &mut ChaCha8Rng) -> Coord {
        match self {
            Self::Num { mu, sigma, .. } => {
                for _ in 0..DEDUP_ATTEMPTS {
                    let x = mu + sigma * standard_normal(rng);
                    if (0.0..=1.0).contains(&x) {
                        return Coord::Num(x);
                    }
                }
                Coord::Num(mu.clamp(0.0, 1.0))
            }
            Self::Cat(p) => {
                let mut r = rng.random::<f64>() * p.iter().sum::<f64>();
                for (i, w) in p.iter().enumerate() {
                    if r < *w {
                        return Coord::Cat(i);
                    }
                    r -= w;
                }
                Coord::Cat(p.len().saturating_sub(1))
            }
        }
    }
}

/// A Parzen estimator: an equally weighted mixture of kernels spanning every knob.
struct Parzen {
    /// `components[c][d]`: component `c`'s kernel on knob `d`. The last one is the prior.
    components: Vec<Vec<Kernel>>,
}

impl Parzen {
    #[allow(clippy::cast_precision_loss)]
    fn new(space: &Space, points: &[&Vec<Coord>]) -> Self {
        let n = points.len();
        let mut components: Vec<Vec<Kernel>> = vec![Vec::new(); n + 1];
        for (d, knob) in space.knobs().iter().enumerate() {
            match knob.choices() {
                Some(choices) => {
                    let k = choices.len().max(1);
                    let even = 1.0 / k as f64;
                    for (c, p) in points.iter().enumerate() {
                        let at = match p.get(d) {
                            Some(Coord::Cat(i)) => *i,
                            _ => usize::MAX,
                        };
                        let probs = (0..k)
                            .map(|i| 0.5 * even + if i == at { 0.5 } else { 0.0 })
                            .collect();
                        components[c].push(Kernel::Cat(probs));
                    }
                    components[n].push(Kernel::Cat(vec![even; k]));
                }
                None => {
                    let mus: Vec<f64> = points
                        .iter()
                        .map(|p| match p.get(d) {
                            Some(Coord::Num(x)) => *x,
                            _ => 0.5,
                        })
                        .collect();
                    for (c, sigma) in bandwidths(&mus).into_iter().enumerate() {
                        components[c].push(Kernel::gaussian(mus[c], sigma));
                    }
                    components[n].push(Kernel::gaussian(0.5, 1.0));
                }
            }
        }
        Self { components }
    }

    fn log_pdf(&self, x: &[Coord]) -> f64 {
        let logs: Vec<f64> = self
            .components
            .iter()
            .map(|kernels| kernels.iter().zip(x).map(|(k, x)| k.log_pdf(*x)).sum())
            .collect();
        #[allow(clippy::cast_precision_loss)]
        let log_n = (logs.len() as f64).ln();
        log_sum_exp(&logs) - log_n
    }

    fn sample(&self, rng: &mut ChaCha8Rng) -> Vec<Coord> {
        let c = rng.random_range(0..self.components.len());
        self.components[c].iter().map(|k| k.sample(rng)).collect()
    }
}

/// Kernel widths for centres `mus` on `[0, 1]` (the prior's centre 0.5 counted as a
/// neighbour): the larger gap to a neighbour or to the interval's end, clipped to
/// `[1 / min(100, n + 1), 1]`.
#[allow(clippy::cast_precision_loss)]
fn bandwidths(mus: &[f64]) -> Vec<f64> {
    let mut sorted: Vec<f64> = mus.to_vec();
    sorted.push(0.5);
    sorted.sort_by(f64::total_cmp);
    let min_sigma = 1.0 / ((sorted.len() + 1).min(100) as f64);
    mus.iter()
        .map(|&mu| {
            let i = sorted.partition_point(|v| *v < mu);
            let prev = if i == 0 { 0.0 } else { sorted[i - 1] };
            // The next centre after `mu` itself (ties give a zero gap, clipped below).
            let next = sorted.get(i + 1).copied().unwrap_or(1.0);
            (mu - prev).max(next - mu).clamp(min_sigma, 1.0)
        })
        .collect()
}

fn log_sum_exp(xs: &[f64]) -> f64 {
    let max = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if max == f64::NEG_INFINITY {
        return max;
    }
    max + xs.iter().map(|x| (x - max).exp()).sum::<f64>().ln()
}

/// Standard normal CDF, from the Abramowitz–Stegun 7.1.26 approximation of erf
/// (absolute error below 1.5e-7).
fn normal_cdf(z: f64) -> f64 {
    let x = z / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.327_591_1 * x.abs());
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736
                + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let erf = 1.0 - poly * (-x * x).exp();
    let erf = if x >= 0.0 { erf } else { -erf };
    0.5 * (1.0 + erf)
}

/// A standard normal draw (Box–Muller).
fn standard_normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1: f64 = rng.random::<f64>().max(f64::MIN_POSITIVE);
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

fn to_config(space: &Space, x: &[Coord]) -> Config {
    space
        .knobs()
        .iter()
        .zip(x)
        .map(|(k, c)| {
            let value = match (c, k.choices()) {
                (Coord::Cat(i), Some(choices)) => choices
                    .into_iter()
                    .nth(*i)
                    .unwrap_or_else(|| k.default.clone()),
                (Coord::Num(u), _) => k.from_unit(*u),
                (Coord::Cat(_), None) => k.default.clone(),
            };
            (k.name.clone(), value)
        })
        .collect()
}

impl Sampler for TpeSampler {
    #[allow(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss
    )]
    fn suggest(&mut self, space: &Space, history: &[Trial]) -> Config {
        let mut ok: Vec<(f64, Vec<Coord>)> = Vec::new();
        let mut failed: Vec<Vec<Coord>> = Vec::new();
        for trial in history {
            let Some(x) = coords(space, &trial.config) else {
                continue;
            };
            match trial.value() {
                Some(v) => ok.push((v, x)),
                None => failed.push(x),
            }
        }
        if history.len() < self.n_startup || ok.is_empty() {
            return random_untried(space, history, &mut self.rng);
        }
        ok.sort_by(|a, b| b.0.total_cmp(&a.0));
        let n_good = ((self.gamma * (ok.len() + failed.len()) as f64).ceil() as usize)
            .clamp(1, MAX_GOOD)
            .min(ok.len());
        let good: Vec<&Vec<Coord>> = ok[..n_good].iter().map(|(_, x)| x).collect();
        let bad: Vec<&Vec<Coord>> = ok[n_good..]
            .iter()
            .map(|(_, x)| x)
            .chain(failed.iter())
            .collect();
        let l = Parzen::new(space, &good);
        let g = Parzen::new(space, &bad);

        let mut best: Option<(f64, Config)> = None;
        for _ in 0..self.n_candidates {
            let config = to_config(space, &l.sample(&mut self.rng));
            if tried(&config, history) {
                continue;
            }
            // Score the admissible (snapped) point, not the raw draw.
            let Some(x) = coords(space, &config) else {
                continue;
            };
            let score = l.log_pdf(&x) - g.log_pdf(&x);
            if best.as_ref().is_none_or(|(s, _)| score > *s) {
                best = Some((score, config));
            }
        }
        match best {
            Some((_, config)) => config,
            None => random_untried(space, history, &mut self.rng),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::space::{Knob, Value};

    fn space() -> Space {
        Space::new(vec![
            Knob::int("workers", 1, 16, 4),
            Knob::int_log("batch", 1, 4096, 64),
            Knob::categorical("algo", &["hash", "sort", "scan"], "hash"),
            Knob::boolean("cache", false),
        ])
        .unwrap()
    }

    fn objective(c: &Config) -> Option<f64> {
        let w = c["workers"].as_f64().unwrap();
        let b = c["batch"].as_f64().unwrap();
        if c["algo"] == Value::Str("scan".into()) {
            return None;
        }
        Some(100.0 - (w - 9.0).powi(2) - (b.ln() - 5.0).powi(2))
    }

    fn run(sampler: &mut dyn Sampler, n: usize) -> Vec<Trial> {
        let space = space();
        let mut history = Vec::new();
        for _ in 0..n {
            let config = sampler.suggest(&space, &history);
            assert!(space.contains(&config), "{config:?}");
            history.push(Trial {
                objective: objective(&config),
                config,
            });
        }
        history
    }

    #[test]
    fn samplers_are_deterministic_and_admissible() {
        let a = run(&mut TpeSampler::new(3), 30);
        let b = run(&mut TpeSampler::new(3), 30);
        assert_eq!(a, b);
        let c = run(&mut TpeSampler::new(4), 30);
        assert_ne!(a, c);
        assert_eq!(
            run(&mut RandomSampler::new(1), 20),
            run(&mut RandomSampler::new(1), 20)
        );
        assert_eq!(
            run(&mut GridSampler::new(3, 1), 20),
            run(&mut GridSampler::new(3, 1), 20)
        );
    }

    #[test]
    fn grid_sampler_visits_every_grid_point_once() {
        let space = space();
        let n = space.grid(3).len();
        let mut sampler = GridSampler::new(3, 7);
        let history = run(&mut sampler, n);
        for (i, t) in history.iter().enumerate() {
            assert!(!tried(&t.config, &history[..i]));
        }
        assert_eq!(sampler.remaining(&space, &history), 0);
        assert_ne!(
            sampler.order(&space),
            space.grid(3),
            "the order is shuffled"
        );
    }

    #[test]
    fn tpe_avoids_failures_and_repeats() {
        let history = run(&mut TpeSampler::new(0), 60);
        let late_failures = history[30..]
            .iter()
            .filter(|t| t.objective.is_none())
            .count();
        let early_failures = history[..30]
            .iter()
            .filter(|t| t.objective.is_none())
            .count();
        assert!(
            late_failures < early_failures.max(3),
            "{early_failures} -> {late_failures}"
        );
        for (i, t) in history.iter().enumerate() {
            assert!(!tried(&t.config, &history[..i]), "repeat at {i}");
        }
    }

    #[test]
    fn all_failed_history_still_suggests() {
        let space = space();
        let history: Vec<Trial> = (0..12)
            .map(|i| Trial {
                config: space.grid(2)[i].clone(),
                objective: None,
            })
            .collect();
        let c = TpeSampler::new(0).suggest(&space, &history);
        assert!(space.contains(&c));
    }

    #[test]
    fn normal_cdf_is_accurate() {
        assert!((normal_cdf(0.0) - 0.5).abs() < 1e-7);
        assert!((normal_cdf(1.96) - 0.975_002).abs() < 1e-6);
        assert!((normal_cdf(-1.0) - 0.158_655).abs() < 1e-6);
    }
}
