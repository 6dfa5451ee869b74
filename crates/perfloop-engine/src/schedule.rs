//! Load plans over time and the open model's schedule of intended send times.
//!
//! A [`Plan`] gives the offered load (arrivals per second in the open model, connections in
//! the closed model) as a function of time since the run started: a constant, or stages that
//! ramp linearly from the previous target (from 0 for the first stage), as k6 does.
//!
//! [`Arrivals`] turns a rate plan into intended send times: the n-th arrival of the whole
//! run is due at `Λ⁻¹(n)`, where `Λ(t) = ∫₀ᵗ rate` is the cumulative offered load. Worker
//! `i` of `T` takes the arrivals `n ≡ i (mod T)`, so the workers interleave evenly without
//! talking to each other. Inside a linear ramp from `r0` to `r1` over `D`,
//! `Λ(t) = r0·t + (r1 − r0)·t²/(2D)` and the inverse uses the cancellation-free root
//! `t = 2m / (r0 + √(r0² + 2m(r1 − r0)/D))`.

use std::time::Duration;

/// One stage: ramp linearly to `target` over `duration`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stage {
    /// How long the ramp lasts.
    pub duration: Duration,
    /// The load reached at the end of the stage.
    pub target: f64,
}

/// Offered load as a function of time since the start of the run.
#[derive(Debug, Clone, PartialEq)]
pub enum Plan {
    /// The same load for the whole run.
    Constant(f64),
    /// Linear ramps, starting from 0.
    Stages(Vec<Stage>),
}

impl Plan {
    /// The load at `t` seconds. After the last stage the load is 0.
    pub fn at(&self, t: f64) -> f64 {
        match self {
            Plan::Constant(v) => *v,
            Plan::Stages(stages) => {
                let mut start = 0.0;
                let mut from = 0.0;
                for s in stages {
                    let d = s.duration.as_secs_f64();
                    if t < start + d {
                        return from + (s.target - from) * (t - start) / d;
                    }
                    start += d;
                    from = s.target;
                }
                0.0
            }
        }
    }

    /// The total length of the stages, `None` for a constant plan.
    pub fn length(&self) -> Option<Duration> {
        match self {
            Plan::Constant(_) => None,
            Plan::Stages(stages) => Some(stages.iter().map(|s| s.duration).sum()),
        }
    }

    /// The highest load the plan reaches.
    pub fn peak(&self) -> f64 {
        match self {
            Plan::Constant(v) => *v,
            Plan::Stages(stages) => stages.iter().map(|s| s.target).fold(0.0, f64::max),
        }
    }

    /// Linear pieces `(start_s, length_s, from, to)`; a constant plan is one endless piece.
    fn pieces(&self) -> Vec<(f64, f64, f64, f64)> {
        match self {
            Plan::Constant(v) => vec![(0.0, f64::INFINITY, *v, *v)],
            Plan::Stages(stages) => {
                let mut out = Vec::with_capacity(stages.len());
                let (mut start, mut from) = (0.0, 0.0);
                for s in stages {
                    let d = s.duration.as_secs_f64();
                    out.push((start, d, from, s.target));
                    start += d;
                    from = s.target;
                }
                out
            }
        }
    }
}

/// The intended send times of one worker's share of an open-model run.
#[derive(Debug, Clone)]
pub struct Arrivals {
    pieces: Vec<(f64, f64, f64, f64)>,
    /// Cumulative arrivals at the start of each piece.
    before: Vec<f64>,
    piece: usize,
    next: u64,
    step: u64,
}

impl Arrivals {
    /// The arrivals `n ≡ worker (mod workers)` of `plan`, which must be a rate plan.
    pub fn new(plan: &Plan, worker: usize, workers: usize) -> Self {
        let pieces = plan.pieces();
        let mut before = Vec::with_capacity(pieces.len());
        let mut acc = 0.0;
        for &(_, len, from, to) in &pieces {
            before.push(acc);
            acc += (from + to) / 2.0 * len;
        }
        Arrivals {
            pieces,
            before,
            piece: 0,
            next: worker as u64,
            step: workers.max(1) as u64,
        }
    }

    /// The intended time of the next arrival, in seconds since the start of the run, or
    /// `None` when the plan has no more arrivals.
    pub fn next_time(&mut self) -> Option<f64> {
        let m = self.next as f64;
        while self.piece < self.pieces.len() {
            let (start, len, from, to) = self.pieces[self.piece];
            let in_piece = m - self.before[self.piece];
            let total = (from + to) / 2.0 * len;
            if in_piece < total || (len.is_infinite() && from > 0.0) {
                let slope = (to - from) / len;
                let slope = if slope.is_finite() { slope } else { 0.0 };
                let disc = (from * from + 2.0 * in_piece * slope).max(0.0);
                let denom = from + disc.sqrt();
                if denom <= 0.0 {
                    // Only when in_piece == 0 with a zero starting rate: the piece starts here.
                    self.next += self.step;
                    return Some(start);
                }
                self.next += self.step;
                return Some(start + 2.0 * in_piece / denom);
            }
            self.piece += 1;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn constant_rate_is_evenly_spaced_and_interleaved() {
        let plan = Plan::Constant(1000.0);
        let mut w0 = Arrivals::new(&plan, 0, 2);
        let mut w1 = Arrivals::new(&plan, 1, 2);
        let a: Vec<f64> = (0..3).filter_map(|_| w0.next_time()).collect();
        let b: Vec<f64> = (0..3).filter_map(|_| w1.next_time()).collect();
        for (got, want) in a.iter().zip([0.0, 0.002, 0.004]) {
            assert!((got - want).abs() < 1e-12, "{got} vs {want}");
        }
        for (got, want) in b.iter().zip([0.001, 0.003, 0.005]) {
            assert!((got - want).abs() < 1e-12, "{got} vs {want}");
        }
    }

    #[test]
    fn ramp_matches_the_integral_of_the_rate() {
        // 0 -> 100/s over 10 s: 500 arrivals in all, half of the time gives a quarter.
        let plan = Plan::Stages(vec![Stage {
            duration: secs(10),
            target: 100.0,
        }]);
        let mut arr = Arrivals::new(&plan, 0, 1);
        let times: Vec<f64> = std::iter::from_fn(|| arr.next_time()).collect();
        assert_eq!(times.len(), 500);
        let first_half = times.iter().filter(|&&t| t < 4.99).count();
        assert_eq!(first_half, 125);
        assert!(times.windows(2).all(|w| w[0] <= w[1]));
    }

    #[test]
    fn stages_with_a_pause_skip_the_pause() {
        let plan = Plan::Stages(vec![
            Stage {
                duration: secs(1),
                target: 10.0,
            },
            Stage {
                duration: secs(1),
                target: 10.0,
            },
            Stage {
                duration: secs(1),
                target: 0.0,
            },
            Stage {
                duration: secs(2),
                target: 0.0,
            },
            Stage {
                duration: secs(1),
                target: 0.0,
            },
        ]);
        let mut arr = Arrivals::new(&plan, 0, 1);
        let times: Vec<f64> = std::iter::from_fn(|| arr.next_time()).collect();
        // 5 + 10 + 5 arrivals, none after 3 s.
        assert_eq!(times.len(), 20);
        assert!(times.iter().all(|&t| t < 3.0));
        assert!((plan.at(1.5) - 10.0).abs() < 1e-9);
        assert!((plan.at(2.5) - 5.0).abs() < 1e-9);
        assert_eq!(plan.at(10.0), 0.0);
        assert_eq!(plan.length(), Some(secs(6)));
    }

    #[test]
    fn zero_rate_constant_has_no_arrivals() {
        let mut arr = Arrivals::new(&Plan::Constant(0.0), 0, 1);
        assert_eq!(arr.next_time(), None);
    }
}
