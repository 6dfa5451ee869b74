//! The rate search: which arrival rate to measure next, given the verdicts so far.
//!
//! A geometric ramp from the start rate (each step `growth` times the previous) until a
//! step fails; then a bisection between the highest passing and the lowest failing rate,
//! at their geometric mean (the bracket shrinks by the same ratio whatever the scale),
//! until the failing rate is within `resolution` above the passing one. The ramp also
//! ends at `max_rate` when every step up to it passed. Pure: the caller measures.

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
        }
    }

    /// The next step to measure; `None` when the search is over.
    pub fn next(&self) -> Option<(StepKind, f64)> {
        match (self.passing, self.failing) {
            (None, Some(_)) => None,
            (Some(lo), Some(hi)) => {
                (hi / lo - 1.0 > self.resolution).then(|| (StepKind::Bisect, (lo * hi).sqrt()))
            }
            (passing, None) => {
                let at_max = self
                    .max_rate
                    .is_some_and(|m| passing.is_some_and(|p| p >= m));
                (!at_max).then_some((StepKind::Ramp, self.next_ramp))
            }
        }
    }

    /// Takes the verdict of a step measured at `rate`.
    pub fn record(&mut self, rate: f64, pass: bool) {
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
            search.record(rate, rate <= capacity);
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
        s.record(300.0, true);
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
