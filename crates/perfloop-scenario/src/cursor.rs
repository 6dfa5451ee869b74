//! A worker's way through a scenario ([`Cursor`]): which request comes next, the values
//! its placeholders take, and the think time after it. One cursor per worker thread, no
//! sharing: nothing here locks or allocates once the output buffer has grown.
//!
//! - **The mix.** Requests are interleaved in the proportions of their weights by smooth
//!   weighted round robin (nginx's upstream balancing): each turn every request gains its
//!   weight, the one with the most credit is sent and pays the sum of the weights. Every
//!   run of `sum of weights` requests holds each request exactly its weight times, evenly
//!   spread, so the mix is exact at any length, not only on average.
//! - **Feeder rows** taken in turn are shared out between the workers: worker `w` of `W`
//!   takes rows `w`, `w + W`, `w + 2W`, ... (wrapping), so the run as a whole goes through
//!   the rows in turn. Rows taken at random are drawn uniformly.
//! - **Sequences** are interleaved the same way, so no value repeats across workers.
//! - **Random numbers and choices** come from SplitMix64 (Steele, Lea and Flood, "Fast
//!   splittable pseudorandom number generators", OOPSLA 2014), seeded from the scenario's
//!   seed and the worker, so a run is reproducible.

use std::io::Write;
use std::time::Duration;

use crate::model::{Scenario, Value};
use crate::raw::Order;
use crate::template::{Part, Template, write_value};

/// SplitMix64: a small, fast generator of 64-bit values.
#[derive(Debug, Clone)]
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A value in `0..n` (n > 0), by the multiply-high method.
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next()) * u128::from(n)) >> 64) as u64
    }
}

/// One worker's position in a scenario.
#[derive(Debug, Clone)]
pub struct Cursor<'a> {
    scenario: &'a Scenario,
    rng: SplitMix64,
    worker: u64,
    workers: u64,
    /// Smooth weighted round robin: each request's credit.
    credit: Vec<i64>,
    total: i64,
    /// Per feeder: draws so far, and the row of the current request.
    feeder_draws: Vec<u64>,
    feeder_row: Vec<usize>,
    /// Per sequence: draws so far, and the current value.
    sequence_draws: Vec<u64>,
    sequence_value: Vec<i64>,
    /// Per random number: the current value.
    random_value: Vec<i64>,
}

impl<'a> Cursor<'a> {
    /// The cursor of worker `worker` of `workers`.
    pub fn new(scenario: &'a Scenario, worker: usize, workers: usize) -> Cursor<'a> {
        let worker = worker as u64;
        let mut seed = SplitMix64(scenario.seed ^ worker.wrapping_mul(0xA076_1D64_78BD_642F));
        let _ = seed.next();
        Cursor {
            scenario,
            rng: seed,
            worker,
            workers: (workers as u64).max(1),
            credit: vec![0; scenario.requests.len()],
            total: scenario.requests.iter().map(|r| i64::from(r.weight)).sum(),
            feeder_draws: vec![0; scenario.feeders.len()],
            feeder_row: vec![0; scenario.feeders.len()],
            sequence_draws: vec![0; scenario.sequences.len()],
            sequence_value: vec![0; scenario.sequences.len()],
            random_value: vec![0; scenario.randoms.len()],
        }
    }

    /// The index of the next request to send, by weight.
    pub fn pick(&mut self) -> usize {
        let mut best = 0;
        for (i, request) in self.scenario.requests.iter().enumerate() {
            self.credit[i] += i64::from(request.weight);
            if self.credit[i] > self.credit[best] {
                best = i;
            }
        }
        if let Some(c) = self.credit.get_mut(best) {
            *c -= self.total;
        }
        best
    }

    /// Draws the values request `index` uses: a row of each of its feeders, the next value
    /// of each of its sequences, each of its random numbers.
    pub fn draw(&mut self, index: usize) {
        let Some(request) = self.scenario.requests.get(index) else {
            return;
        };
        let uses = &request.uses;
        for &f in &uses.feeders {
            let feeder = &self.scenario.feeders[f];
            let rows = feeder.rows.len() as u64;
            let row = match feeder.order {
                Order::Sequential => {
                    let k = self.feeder_draws[f];
                    self.feeder_draws[f] = k + 1;
                    (self.worker + k * self.workers) % rows
                }
                Order::Random => self.rng.below(rows),
            };
            self.feeder_row[f] = row as usize;
        }
        for &s in &uses.sequences {
            let k = self.sequence_draws[s];
            self.sequence_draws[s] = k + 1;
            let n = (self.worker + k * self.workers) as i64;
            let (start, step) = self.scenario.sequences[s];
            self.sequence_value[s] = start.wrapping_add(n.wrapping_mul(step));
        }
        for &r in &uses.randoms {
            let (min, max) = self.scenario.randoms[r];
            let span = max.wrapping_sub(min) as u64;
            let offset = match span.checked_add(1) {
                Some(n) => self.rng.below(n),
                None => self.rng.next(),
            };
            self.random_value[r] = min.wrapping_add(offset as i64);
        }
    }

    /// Appends `template` with the values last drawn.
    pub fn render(&self, template: &Template, out: &mut Vec<u8>) {
        for part in &template.parts {
            match part {
                Part::Text(t) => out.extend_from_slice(t.as_bytes()),
                Part::Value(i) => match self.scenario.values.get(*i) {
                    Some(Value::Column { feeder, column }) => {
                        let row = self.feeder_row[*feeder];
                        let value = &self.scenario.feeders[*feeder].rows[row][*column];
                        write_value(template.context, value.as_bytes(), out);
                    }
                    Some(Value::Sequence { index, .. }) => {
                        let _ = write!(out, "{}", self.sequence_value[*index]);
                    }
                    Some(Value::Random { index, .. }) => {
                        let _ = write!(out, "{}", self.random_value[*index]);
                    }
                    None => {}
                },
            }
        }
    }

    /// The pause before the next request (closed model); `None` without think time.
    pub fn think(&mut self) -> Option<Duration> {
        let t = self.scenario.think_time?;
        if t.max == t.min {
            return Some(t.min);
        }
        let span = (t.max - t.min).as_nanos();
        let offset = self.rng.below(u64::try_from(span).unwrap_or(u64::MAX));
        Some(t.min + Duration::from_nanos(offset))
    }
}
