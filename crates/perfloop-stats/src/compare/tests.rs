#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::manual_range_contains
)]

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::*;
use crate::grid;

/// A run made up: its seconds' counts and their histograms, owned.
struct Run {
    counts: Vec<(u64, u64, f64)>,
    hists: Vec<Vec<(u32, u64)>>,
}

impl Run {
    /// `n` seconds of about `rps` requests (±5 %), each latency `base_ms` times a factor
    /// spread by ±10 % and a per-second level spread by ±2 %; `errors(t)` errors in second t.
    fn new(seed: u64, n: usize, rps: f64, base_ms: f64, errors: impl Fn(usize) -> u64) -> Run {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut run = Run {
            counts: Vec::new(),
            hists: Vec::new(),
        };
        for t in 0..n {
            let requests = (rps * rng.random_range(0.95..1.05)).round() as u64;
            let level = rng.random_range(0.98..1.02);
            let mut h = Vec::new();
            for _ in 0..requests {
                let us = base_ms * 1000.0 * level * rng.random_range(0.9..1.1);
                grid::merge(&mut h, &[(grid::bucket_of_us(us), 1)]);
            }
            run.counts.push((requests, errors(t).min(requests), 1.0));
            run.hists.push(h);
        }
        run
    }

    /// `n` seconds of exactly `requests` requests of exactly `ms`.
    fn constant(n: usize, requests: u64, ms: f64) -> Run {
        Run {
            counts: vec![(requests, 0, 1.0); n],
            hists: vec![vec![(grid::bucket_of_us(ms * 1000.0), requests)]; n],
        }
    }

    fn seconds(&self) -> Vec<Second<'_>> {
        self.counts
            .iter()
            .zip(&self.hists)
            .map(|(&(requests, errors, length_s), h)| Second {
                requests,
                errors,
                length_s,
                buckets: h,
            })
            .collect()
    }
}

/// A side of the runs given, its headline their pooled figures.
fn side<'a>(runs: &[&'a Run]) -> Side<'a> {
    let runs: Vec<Vec<Second<'a>>> = runs.iter().map(|r| r.seconds()).collect();
    Side {
        headline: Figures::pooled(&runs),
        runs,
        edge_requests: 0.0,
    }
}

fn get(c: &Compared, m: Metric) -> Comparison {
    c.comparisons[m.index()]
}

fn no_errors(_: usize) -> u64 {
    0
}

#[test]
fn a_known_shift_is_detected_and_its_size_is_inside_the_interval() {
    // B: 10 % slower responses and 10 % fewer of them.
    let ra = Run::new(1, 30, 500.0, 10.0, no_errors);
    let rb = Run::new(2, 30, 500.0 / 1.1, 11.0, no_errors);
    let c = compare(&side(&[&ra]), &side(&[&rb]), &CompareOptions::default());
    for m in [Metric::P50, Metric::P90, Metric::P99] {
        let r = get(&c, m);
        assert_eq!(r.verdict, Verdict::Slower, "{r:?}");
        let (lo, hi) = r.interval.unwrap();
        assert!(lo > 0.0 && lo <= 0.1 && 0.1 <= hi && hi < 0.2, "{r:?}");
        assert!((r.change.unwrap() - 0.1).abs() < 0.03, "{r:?}");
    }
    let t = get(&c, Metric::Throughput);
    assert_eq!(t.verdict, Verdict::Slower, "{t:?}");
    let (lo, hi) = t.interval.unwrap();
    assert!(
        lo <= 1.0 / 1.1 - 1.0 && 1.0 / 1.1 - 1.0 <= hi && hi < 0.0,
        "{t:?}"
    );
    // And the other way round: B faster.
    let c = compare(&side(&[&rb]), &side(&[&ra]), &CompareOptions::default());
    assert_eq!(get(&c, Metric::P99).verdict, Verdict::Faster);
    assert_eq!(get(&c, Metric::Throughput).verdict, Verdict::Faster);
    assert!(
        c.notes.iter().all(|n| n.starts_with("error_rate")),
        "{:?}",
        c.notes
    );
}

#[test]
fn identical_inputs_are_the_same_with_no_change() {
    let r = Run::new(3, 20, 300.0, 5.0, |t| u64::from(t % 2 == 0));
    let c = compare(&side(&[&r]), &side(&[&r]), &CompareOptions::default());
    for m in Metric::ALL {
        let x = get(&c, m);
        assert_eq!(x.verdict, Verdict::Same, "{x:?}");
        assert_eq!(x.change, Some(0.0), "{x:?}");
        let (lo, hi) = x.interval.unwrap();
        assert!(lo <= 0.0 && 0.0 <= hi, "{x:?}");
    }
    assert!(c.notes.is_empty(), "{:?}", c.notes);
}

#[test]
fn the_same_runs_always_give_the_same_answer() {
    let ra = Run::new(4, 10, 200.0, 8.0, no_errors);
    let rb = Run::new(5, 10, 200.0, 8.2, no_errors);
    let opts = CompareOptions::default();
    let first = compare(&side(&[&ra]), &side(&[&rb]), &opts);
    let second = compare(&side(&[&ra]), &side(&[&rb]), &opts);
    assert_eq!(first, second);
    // Another seed draws other resamples: the intervals move, the changes do not.
    let other = compare(
        &side(&[&ra]),
        &side(&[&rb]),
        &CompareOptions { seed: 7, ..opts },
    );
    let (x, y) = (get(&first, Metric::P50), get(&other, Metric::P50));
    assert_eq!(x.change, y.change);
    assert_ne!(x.interval, y.interval);
}

#[test]
fn a_pooled_side_is_resampled_run_by_run() {
    // A pools a run at 100 req/s and one at 200 req/s; B is one run at 150 req/s. Drawn
    // within each run, every resample of A has 150 req/s: the interval has no width.
    // Drawn across runs, it would spread.
    let (slow, fast, mid) = (
        Run::constant(5, 100, 4.0),
        Run::constant(5, 200, 4.0),
        Run::constant(10, 150, 4.0),
    );
    let a = side(&[&slow, &fast]);
    assert_eq!(a.headline.throughput_rps, Some(150.0));
    let c = compare(&a, &side(&[&mid]), &CompareOptions::default());
    let t = get(&c, Metric::Throughput);
    assert_eq!(
        (t.change, t.interval),
        (Some(0.0), Some((0.0, 0.0))),
        "{t:?}"
    );
    assert_eq!(t.verdict, Verdict::Same);

    // Pooled sides still see a shift: three runs each side, B 5 % slower.
    let a_runs: Vec<Run> = (0..3)
        .map(|i| Run::new(10 + i, 8, 400.0, 10.0, no_errors))
        .collect();
    let b_runs: Vec<Run> = (0..3)
        .map(|i| Run::new(20 + i, 8, 400.0, 10.5, no_errors))
        .collect();
    let c = compare(
        &side(&a_runs.iter().collect::<Vec<_>>()),
        &side(&b_runs.iter().collect::<Vec<_>>()),
        &CompareOptions::default(),
    );
    let p50 = get(&c, Metric::P50);
    assert_eq!(p50.verdict, Verdict::Slower, "{p50:?}");
    let (lo, hi) = p50.interval.unwrap();
    assert!(lo < 0.05 && 0.05 < hi, "{p50:?}");
}

#[test]
fn short_and_empty_sides_give_no_interval_and_say_why() {
    let ra = Run::new(6, 1, 200.0, 8.0, no_errors);
    let rb = Run::new(7, 10, 200.0, 16.0, no_errors);
    let c = compare(&side(&[&ra]), &side(&[&rb]), &CompareOptions::default());
    let p50 = get(&c, Metric::P50);
    assert!(p50.change.unwrap() > 0.5, "{p50:?}");
    assert_eq!((p50.interval, p50.verdict), (None, Verdict::Same));
    assert!(
        c.notes
            .iter()
            .any(|n| n.contains("side A has 1 measured second"))
    );

    let empty = Side {
        runs: vec![],
        headline: Figures::default(),
        edge_requests: 0.0,
    };
    let c = compare(&empty, &side(&[&rb]), &CompareOptions::default());
    assert!(
        c.comparisons
            .iter()
            .all(|x| x.verdict == Verdict::Same && x.change.is_none() && x.interval.is_none())
    );
    assert!(
        c.notes
            .iter()
            .any(|n| n.contains("side A has 0 measured seconds"))
    );
    assert!(c.notes.iter().any(|n| n == "p99: not measured on side A"));
    assert_eq!(Figures::pooled(&[]), Figures::default());
}

#[test]
fn a_zero_error_rate_has_no_ratio_and_the_difference_decides() {
    let clean = Run::new(8, 20, 300.0, 5.0, no_errors);
    let also_clean = Run::new(9, 20, 300.0, 5.0, no_errors);
    let c = compare(
        &side(&[&clean]),
        &side(&[&also_clean]),
        &CompareOptions::default(),
    );
    let e = get(&c, Metric::ErrorRate);
    assert_eq!((e.a, e.b), (Some(0.0), Some(0.0)));
    assert_eq!(
        (e.change, e.interval, e.verdict),
        (None, None, Verdict::Same)
    );

    // Errors in every second of B: no resample makes them vanish.
    let failing = Run::new(9, 20, 300.0, 5.0, |_| 3);
    let c = compare(
        &side(&[&clean]),
        &side(&[&failing]),
        &CompareOptions::default(),
    );
    let e = get(&c, Metric::ErrorRate);
    assert_eq!(
        (e.change, e.interval, e.verdict),
        (None, None, Verdict::Slower)
    );
    assert!(
        c.notes
            .iter()
            .any(|n| n.starts_with("error_rate: side A's figure is 0"))
    );

    // One error in one second of twenty: a third of the resamples leave it out.
    let once = Run::new(9, 20, 300.0, 5.0, |t| u64::from(t == 4));
    let c = compare(
        &side(&[&clean]),
        &side(&[&once]),
        &CompareOptions::default(),
    );
    assert_eq!(get(&c, Metric::ErrorRate).verdict, Verdict::Same);

    // And errors that went away: a ratio of 0, B better.
    let c = compare(
        &side(&[&failing]),
        &side(&[&clean]),
        &CompareOptions::default(),
    );
    let e = get(&c, Metric::ErrorRate);
    assert_eq!(
        (e.change, e.verdict),
        (Some(-1.0), Verdict::Faster),
        "{e:?}"
    );
}

#[test]
fn a_change_smaller_than_the_threshold_is_the_same() {
    // 1 % slower with hardly any noise: the interval excludes 0, the threshold does not.
    let (ra, rb) = (Run::constant(10, 100, 10.0), Run::constant(10, 100, 10.1));
    let c = compare(&side(&[&ra]), &side(&[&rb]), &CompareOptions::default());
    let p50 = get(&c, Metric::P50);
    let (lo, _) = p50.interval.unwrap();
    assert!(lo > 0.0 && p50.change.unwrap() < 0.02, "{p50:?}");
    assert_eq!(p50.verdict, Verdict::Same);
    let strict = CompareOptions {
        threshold: 0.001,
        ..CompareOptions::default()
    };
    let c = compare(&side(&[&ra]), &side(&[&rb]), &strict);
    assert_eq!(get(&c, Metric::P50).verdict, Verdict::Slower);
}

#[test]
fn the_interval_tails_are_expanded_for_few_seconds() {
    // Φ(−1.959964) = 0.025 and Φ(−3) = 0.0013499.
    assert!((normal_upper_tail(1.959_964) - 0.025).abs() < 1e-6);
    assert!((normal_upper_tail(3.0) - 0.001_349_9).abs() < 1e-6);
    assert!((normal_upper_tail(-1.959_964) - 0.975).abs() < 1e-6);
    // Many seconds: nearly the plain 2.5 %; three: beyond any of 2000 resamples.
    let many = expanded_tail(0.95, 10_000);
    assert!((many - 0.025).abs() < 0.001, "{many}");
    let ten = expanded_tail(0.95, 10);
    assert!(0.005 < ten && ten < 0.015, "{ten}");
    assert!(expanded_tail(0.95, 3) < 1.0 / 2000.0);
    assert!(expanded_tail(0.99, 30) < expanded_tail(0.95, 30));
}

#[test]
fn the_normal_quantile_matches_its_tables() {
    assert!((normal_quantile(0.975) - 1.959_964).abs() < 1e-5);
    assert!((normal_quantile(0.995) - 2.575_829).abs() < 1e-5);
    assert!(normal_quantile(0.5).abs() < 1e-6);
}

/// A tail made by a few rare requests: side B's three seconds each hold a stall of 12
/// requests at twice the latency, side A's none. Every second of B looks alike, so the
/// seconds alone would call its p99 (among the stalls) significantly slower; the order
/// statistics know that a dozen requests in 3,000 decide it, and keep the interval open.
#[test]
fn a_tail_of_a_few_requests_keeps_its_interval_open() {
    let tight = |stall: u64| {
        let mut run = Run::constant(3, 1_000 - stall, 20.0);
        for (counts, hist) in run.counts.iter_mut().zip(&mut run.hists) {
            counts.0 = 1_000;
            // The body spread over 19.0 … 21.0 ms, the stall at 21.5 … 22.0 ms.
            hist.clear();
            for i in 0..(1_000 - stall) {
                let us = 19_000.0 + 2_000.0 * i as f64 / (1_000 - stall) as f64;
                grid::merge(hist, &[(grid::bucket_of_us(us), 1)]);
            }
            for i in 0..stall {
                let us = 21_500.0 + 500.0 * i as f64 / stall as f64;
                grid::merge(hist, &[(grid::bucket_of_us(us), 1)]);
            }
        }
        run
    };
    let (a, b) = (tight(0), tight(12));
    let c = compare(&side(&[&a]), &side(&[&b]), &CompareOptions::default());
    let p99 = get(&c, Metric::P99);
    let (lo, hi) = p99.interval.unwrap();
    assert!(p99.change.unwrap() > 0.02, "{p99:?}");
    assert!(lo <= 0.0 && hi > 0.0, "{p99:?}");
    assert_eq!(p99.verdict, Verdict::Same);
    // The body did not move: the median is the same.
    assert_eq!(get(&c, Metric::P50).verdict, Verdict::Same);
}

/// Closed-model runs whose every second counts the same: the seconds see no uncertainty,
/// but the window's edges do, by up to a request per connection.
#[test]
fn a_count_is_no_surer_than_its_windows_edges() {
    let (a, b) = (Run::constant(3, 400, 50.0), Run::constant(3, 364, 55.0));
    fn with_edges(run: &Run, edges: f64) -> Side<'_> {
        Side {
            edge_requests: edges,
            ..side(&[run])
        }
    }
    let bare = compare(&side(&[&a]), &side(&[&b]), &CompareOptions::default());
    let (lo, hi) = get(&bare, Metric::Throughput).interval.unwrap();
    assert!(hi - lo < 0.001, "{lo} … {hi}");
    let edged = compare(
        &with_edges(&a, 20.0),
        &with_edges(&b, 20.0),
        &CompareOptions::default(),
    );
    let t = get(&edged, Metric::Throughput);
    let (lo, hi) = t.interval.unwrap();
    // 20 of 1,200 and of 1,092 requests, in quadrature: about ±2.3 %.
    assert!(
        (hi - lo) / 2.0 > 0.02 && (hi - lo) / 2.0 < 0.03,
        "{lo} … {hi}"
    );
    assert!(lo < t.change.unwrap() && t.change.unwrap() < hi);
    assert_eq!(t.verdict, Verdict::Slower);
}
