//! The rate search: which arrival rate to measure next, given the verdicts so far.
//!
//! A geometric ramp from the start rate (each step `growth` times the previous) until a
//! step fails; then a bisection between the highest passing and the lowest failing rate,
//! at their geometric mean (the bracket shrinks by the same ratio whatever the scale),
//! until the failing rate is within `resolution` above the passing one. A step that failed
//! because the target could not deliver what was asked (overloaded) has measured about
//! where the edge is: the next bisection step asks for just below what it delivered
//! (`resolution / 2` below), when that lies inside the bracket and above the passing rate
//! by more than `resolution`, instead of the geometric mean; an overloaded target's
//! delivered rate is its capacity under that pressure, so the search reaches the edge in
//! fewer steps and ends closer to it. The ramp also ends at `max_rate` when every step up
//! to it passed. Pure: the caller measures.

use perfloop_report::{RateBracket, StepKind};

/// What the search has learnt, and so what it asks for next.
#[derive(Debug, Clone)]
pub struct RateSearch {
    growth: f64,
    max_rate: Option<f64>,
    resolution: f64,
    next_ramp: f64,
    passing: Option<f64>,
    failing: Option<f64>,
    /// What the last step delivered when it failed for being overloaded.
    delivered: Option<f64>,
}

impl RateSearch {
    /// A search starting at `start` (all arguments validated by the caller: `start > 0`,
    /// `growth > 1`, `resolution > 0`).
    pub fn new(start: f64, growth: f64, max_rate: Option<f64>, resolution: f64) -> RateSearch {
        RateSearch {
            growth,
            max_rate,
            resolution,
            next_ramp: max_rate.map_or(start, |m| start.min(m)),
            passing: None,
            failing: None,
            delivered: None,
        }
    }

    /// The next step to measure; `None` when the search is over.
    pub fn next(&self) -> Option<(StepKind, f64)> {
        match (self.passing, self.failing) {
            (None, Some(_)) => None,
            (Some(lo), Some(hi)) => (hi / lo - 1.0 > self.resolution).then(|| {
                let below_delivered = self
                    .delivered
                    .map(|d| d * (1.0 - self.resolution / 2.0))
                    .filter(|&r| r > lo * (1.0 + self.resolution) && r < hi);
                (
                    StepKind::Bisect,
                    below_delivered.unwrap_or_else(|| (lo * hi).sqrt()),
                )
            }),
            (passing, None) => {
                let at_max = self
                    .max_rate
                    .is_some_and(|m| passing.is_some_and(|p| p >= m));
                (!at_max).then_some((StepKind::Ramp, self.next_ramp))
            }
        }
    }

    /// Takes the verdict of a step measured at `rate`; `overloaded`: the step failed
    /// delivering only this many requests per second (short of `rate` by more than the
    /// margin).
    pub fn record(&mut self, rate: f64, pass: bool, overloaded: Option<f64>) {
        self.delivered = overloaded.filter(|_| !pass);
        if pass {
            self.passing = Some(self.passing.map_or(rate, |p| p.max(rate)));
            let next = rate * self.growth;
            self.next_ramp = self.max_rate.map_or(next, |m| next.min(m));
        } else {
            self.failing = Some(self.failing.map_or(rate, |f| f.min(rate)));
        }
    }

    /// The highest passing rate.
    pub fn passing(&self) -> Option<f64> {
        self.passing
    }

    /// The lowest failing rate.
    pub fn failing(&self) -> Option<f64> {
        self.failing
    }

    /// The bracket is as narrow as asked.
    pub fn resolved(&self) -> bool {
        match (self.passing, self.failing) {
            (Some(lo), Some(hi)) => hi / lo - 1.0 <= self.resolution,
            _ => false,
        }
    }

    /// Every step up to `max_rate` passed.
    pub fn reached_max(&self) -> bool {
        self.failing.is_none()
            && self
                .max_rate
                .is_some_and(|m| self.passing.is_some_and(|p| p >= m))
    }

    /// Where the search left the boundary, for the record.
    pub fn bracket(&self) -> RateBracket {
        RateBracket {
            passing: self.passing,
            failing: self.failing,
            resolved: self.resolved(),
            reached_max: self.reached_max(),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    /// Runs the search against a target that sustains `capacity`; returns the rates asked.
    fn drive(search: &mut RateSearch, capacity: f64) -> Vec<(StepKind, f64)> {
        let mut asked = Vec::new();
        while let Some((kind, rate)) = search.next() {
            asked.push((kind, rate));
            search.record(rate, rate <= capacity, None);
            assert!(asked.len() < 100, "the search does not end");
        }
        asked
    }

    #[test]
    fn ramps_then_bisects_to_the_resolution() {
        let mut s = RateSearch::new(50.0, 2.0, None, 0.05);
        let asked = drive(&mut s, 730.0);
        let ramp: Vec<f64> = asked
            .iter()
            .filter(|(k, _)| *k == StepKind::Ramp)
            .map(|(_, r)| *r)
            .collect();
        assert_eq!(ramp, vec![50.0, 100.0, 200.0, 400.0, 800.0]);
        assert!(asked[5..].iter().all(|(k, _)| *k == StepKind::Bisect));
        let (lo, hi) = (s.passing().unwrap(), s.failing().unwrap());
        assert!(lo <= 730.0 && hi > 730.0, "bracket {lo}..{hi}");
        assert!(hi / lo - 1.0 <= 0.05);
        assert!(s.resolved());
        // Ratio 2 down to 1.05 takes ⌈log2(ln 2 / ln 1.05)⌉ = 4 halvings of the log-ratio.
        assert_eq!(asked.len() - 5, 4);
    }

    #[test]
    fn an_overloaded_step_is_followed_by_a_step_just_below_what_it_delivered() {
        let mut s = RateSearch::new(100.0, 2.0, None, 0.1);
        for rate in [100.0, 200.0] {
            assert_eq!(s.next(), Some((StepKind::Ramp, rate)));
            s.record(rate, true, None);
        }
        assert_eq!(s.next(), Some((StepKind::Ramp, 400.0)));
        s.record(400.0, false, Some(300.0));
        assert_eq!(s.next(), Some((StepKind::Bisect, 300.0 * 0.95)));
        s.record(285.0, true, None);
        // A failure that was not for want of throughput (a latency objective): the
        // geometric mean again.
        let (_, rate) = s.next().unwrap();
        assert!((rate - (285.0_f64 * 400.0).sqrt()).abs() < 1e-9);
        s.record(rate, false, None);
        assert_eq!(s.failing(), Some(rate));
        // Delivered just above the passing rate: nothing to learn there, the mean instead.
        let mut s = RateSearch::new(100.0, 2.0, None, 0.1);
        s.record(100.0, true, None);
        s.record(200.0, false, Some(102.0));
        assert_eq!(
            s.next(),
            Some((StepKind::Bisect, (100.0_f64 * 200.0).sqrt()))
        );
    }

    /// Against a target that sustains `capacity` and delivers about that much when asked
    /// for more, the search ends closer to the capacity, in fewer steps, than bisection by
    /// the geometric mean alone.
    #[test]
    fn what_an_overloaded_step_delivered_narrows_the_search() {
        let capacity = 730.0;
        let run = |use_delivered: bool| {
            let mut s = RateSearch::new(50.0, 2.0, None, 0.1);
            let mut steps = 0;
            while let Some((_, rate)) = s.next() {
                steps += 1;
                let pass = rate <= capacity;
                let delivered = (!pass && use_delivered).then_some(capacity * 0.98);
                s.record(rate, pass, delivered);
            }
            (s.passing().unwrap(), steps)
        };
        let (found, steps) = run(true);
        let (found_mean, steps_mean) = run(false);
        assert!(
            found <= capacity && found > found_mean,
            "{found} vs {found_mean}"
        );
        assert!(steps < steps_mean, "{steps} vs {steps_mean}");
        assert!(found >= 0.9 * capacity, "{found}");
    }

    #[test]
    fn a_first_failing_step_ends_the_search() {
        let mut s = RateSearch::new(50.0, 2.0, None, 0.05);
        let asked = drive(&mut s, 10.0);
        assert_eq!(asked, vec![(StepKind::Ramp, 50.0)]);
        assert_eq!(s.passing(), None);
        assert_eq!(s.failing(), Some(50.0));
        assert!(!s.resolved());
    }

    #[test]
    fn the_ramp_stops_at_the_maximum_rate() {
        let mut s = RateSearch::new(50.0, 2.0, Some(300.0), 0.05);
        let asked = drive(&mut s, 1e9);
        let rates: Vec<f64> = asked.iter().map(|(_, r)| *r).collect();
        assert_eq!(rates, vec![50.0, 100.0, 200.0, 300.0]);
        assert!(s.reached_max());
        let mut s = RateSearch::new(500.0, 2.0, Some(300.0), 0.05);
        assert_eq!(s.next(), Some((StepKind::Ramp, 300.0)));
        s.record(300.0, true, None);
        assert_eq!(s.next(), None);
    }

    #[test]
    fn a_capacity_between_the_maximum_and_the_last_ramp_step_is_bisected() {
        let mut s = RateSearch::new(100.0, 3.0, Some(1000.0), 0.1);
        drive(&mut s, 950.0);
        assert!(s.passing().unwrap() <= 950.0);
        assert_eq!(s.failing(), Some(1000.0));
        assert!(s.resolved());
    }
}
