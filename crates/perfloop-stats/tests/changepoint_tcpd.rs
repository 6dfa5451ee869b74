#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    missing_docs
)]
//! The change point detector with its default parameters on the Turing Change Point Dataset
//! (van den Burg and Williams, *An Evaluation of Change Point Detection Algorithms*,
//! arXiv:2003.06222), scored as TCPDBench scores it: F1 with a margin of 5 points and the
//! segmentation cover, against every human annotator, averaged over the series of its
//! univariate table that are present (25 of its 32; seven are distributed only as download
//! scripts). The data are read from `../shared/data/changepoint/tcpd/` beside the
//! repository; a missing file fails the test.
//!
//! The scoring is checked first against the values TCPDBench documents (the examples of its
//! `metrics.py`, the `nile` series, and the published scores of the "zero" method for every
//! series), so the figures of the detector are TCPDBench's figures.

use std::collections::BTreeMap;
use std::path::PathBuf;

use perfloop_stats::changepoint::{Params, detect};
use serde_json::Value;

/// TCPDBench's margin for a detection to count.
const MARGIN: usize = 5;

/// The univariate series of TCPDBench's table: all but the five synthetic quality-control
/// series, `uk_coal_employ` (missing values) and the multivariate `run_log`.
fn in_table(name: &str) -> bool {
    !name.starts_with("quality_control_") && name != "uk_coal_employ" && name != "run_log"
}

fn data_dir() -> PathBuf {
    let dir =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/changepoint/tcpd");
    assert!(
        dir.is_dir(),
        "the TCPD data are missing: expected {} (the shared data directory beside the \
         repository)",
        dir.display()
    );
    dir
}

fn read_json(name: &str) -> Value {
    let path = data_dir().join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Each annotator's change points for each series.
fn annotations() -> BTreeMap<String, Vec<Vec<usize>>> {
    let all = read_json("annotations.json");
    all.as_object()
        .unwrap()
        .iter()
        .map(|(series, by_annotator)| {
            let sets = by_annotator
                .as_object()
                .unwrap()
                .values()
                .map(|cps| {
                    cps.as_array()
                        .unwrap()
                        .iter()
                        .map(|c| c.as_u64().unwrap() as usize)
                        .collect()
                })
                .collect();
            (series.clone(), sets)
        })
        .collect()
}

/// TCPDBench's true positives: each true location takes the closest unused prediction
/// within the margin (the smaller on a tie). True locations are visited in increasing order
/// (TCPDBench visits them in Python's set order, which matters only when two compete for
/// one prediction).
fn true_positives(truth: &[usize], predictions: &[usize]) -> usize {
    let mut unused: Vec<usize> = predictions.to_vec();
    let mut count = 0;
    for &tau in truth {
        let closest = unused
            .iter()
            .enumerate()
            .filter(|(_, x)| tau.abs_diff(**x) <= MARGIN)
            .min_by_key(|(_, x)| (tau.abs_diff(**x), **x))
            .map(|(i, _)| i);
        if let Some(i) = closest {
            unused.remove(i);
            count += 1;
        }
    }
    count
}

fn with_zero(points: &[usize]) -> Vec<usize> {
    let mut v: Vec<usize> = points.iter().copied().chain([0]).collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// TCPDBench's F1: precision against the union of the annotations, recall averaged over
/// annotators, location 0 counted as a change point everywhere.
fn f1(annotators: &[Vec<usize>], predictions: &[usize]) -> f64 {
    let x = with_zero(predictions);
    let sets: Vec<Vec<usize>> = annotators.iter().map(|a| with_zero(a)).collect();
    let union = with_zero(&sets.concat());
    let precision = true_positives(&union, &x) as f64 / x.len() as f64;
    let recall = sets
        .iter()
        .map(|t| true_positives(t, &x) as f64 / t.len() as f64)
        .sum::<f64>()
        / sets.len() as f64;
    precision * recall / (0.5 * recall + 0.5 * precision)
}

/// The segments `[a, b)` of `0..n` cut at `cps` (those strictly inside).
fn segments(cps: &[usize], n: usize) -> Vec<(usize, usize)> {
    let mut cuts: Vec<usize> = cps.iter().copied().filter(|&c| c > 0 && c < n).collect();
    cuts.sort_unstable();
    cuts.dedup();
    let mut bounds = vec![0];
    bounds.extend(cuts);
    bounds.push(n);
    bounds.windows(2).map(|w| (w[0], w[1])).collect()
}

/// TCPDBench's cover (Arbelaez et al. 2010, eq. 8), averaged over annotators.
fn cover(annotators: &[Vec<usize>], predictions: &[usize], n: usize) -> f64 {
    let predicted = segments(predictions, n);
    let jaccard = |a: (usize, usize), b: (usize, usize)| {
        let inter = a.1.min(b.1).saturating_sub(a.0.max(b.0));
        inter as f64 / ((a.1 - a.0) + (b.1 - b.0) - inter) as f64
    };
    let single = |truth: &[usize]| {
        segments(truth, n)
            .into_iter()
            .map(|s| {
                let best = predicted.iter().map(|&p| jaccard(s, p)).fold(0.0, f64::max);
                (s.1 - s.0) as f64 * best
            })
            .sum::<f64>()
            / n as f64
    };
    annotators.iter().map(|a| single(a)).sum::<f64>() / annotators.len() as f64
}

/// TCPDBench's cleaning of a method's output: unique, within `1..=n-2`.
fn cleaned(cps: &[usize], n: usize) -> Vec<usize> {
    let mut v: Vec<usize> = cps
        .iter()
        .copied()
        .filter(|&c| c >= 1 && c + 2 <= n)
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}

fn close(got: f64, want: f64) -> bool {
    (got - want).abs() < 1e-12
}

/// One series: its values (first dimension) and its length.
fn series(name: &str) -> Option<Vec<f64>> {
    let path = data_dir().join(format!("{name}.json"));
    if !path.exists() {
        return None;
    }
    let file = read_json(&format!("{name}.json"));
    if file["n_dim"].as_u64() != Some(1) {
        return None;
    }
    let raw = file["series"][0]["raw"].as_array().unwrap();
    raw.iter().map(Value::as_f64).collect()
}

#[test]
fn scoring_reproduces_tcpdbench_reference_values() {
    let ann = |sets: &[&[usize]]| sets.iter().map(|s| s.to_vec()).collect::<Vec<_>>();
    // The examples of TCPDBench's metrics.py.
    assert!(close(
        f1(&ann(&[&[10, 20], &[11, 20], &[10], &[0, 5]]), &[10, 20]),
        1.0
    ));
    assert!(close(
        f1(&ann(&[&[], &[10], &[50]]), &[10]),
        0.9090909090909091
    ));
    assert!(close(f1(&ann(&[&[], &[10], &[50]]), &[]), 0.8));
    assert!(close(
        cover(&ann(&[&[10, 20], &[10], &[0, 5]]), &[10, 20], 45),
        0.7962962962962963
    ));
    assert!(close(
        cover(&ann(&[&[], &[10], &[40]]), &[10], 45),
        0.7954144620811286
    ));
    assert!(close(
        cover(&ann(&[&[], &[10], &[40]]), &[], 45),
        0.8189300411522634
    ));
    // nile, from TCPDBench's summary of it.
    let nile = &annotations()["nile"];
    for (prediction, want_f1, want_cover) in [
        (vec![27], 1.0, 0.8800821917808218),
        (vec![46], 0.5833333333333333, 0.6422608695652174),
        (vec![], 0.8235294117647058, 0.75808),
    ] {
        assert!(close(f1(nile, &prediction), want_f1), "{prediction:?}");
        assert!(
            close(cover(nile, &prediction, 100), want_cover),
            "{prediction:?}"
        );
    }
    // The published scores of "zero" (no change point): F1 for all 42 series, cover where
    // the length is known.
    let zero = read_json("published_zero_baseline_scores.json");
    let all = annotations();
    let mut checked = 0;
    for (name, published) in zero["series"].as_object().unwrap() {
        let annotators = &all[name];
        let want_f1 = published["f1"].as_f64().unwrap();
        assert!((f1(annotators, &[]) - want_f1).abs() < 1e-12, "{name} F1");
        if let Some(n) = published["n_obs"].as_u64() {
            let want = published["cover"].as_f64().unwrap();
            assert!(
                (cover(annotators, &[], n as usize) - want).abs() < 1e-12,
                "{name} cover"
            );
        }
        checked += 1;
    }
    assert_eq!(checked, 42);
}

/// TCPDBench's default-parameter F1 of `binseg`, the best default method of its univariate
/// table, over its 32 series (its cover there is 0.672).
const BINSEG_F1_32: f64 = 0.698;
/// `binseg`'s default F1 and cover over the 25 series present here: the means of its scores
/// for them in TCPDBench's `analysis/output/scores/default_{f1,cover}_scores.json`.
const BINSEG_F1_25: f64 = 0.690;
const BINSEG_COVER_25: f64 = 0.655;

#[test]
fn default_parameters_beat_binseg_on_tcpd_series() {
    let all = annotations();
    let params = Params::default();
    let mut rows = Vec::new();
    for (name, annotators) in &all {
        if !in_table(name) {
            continue;
        }
        let Some(values) = series(name) else {
            continue;
        };
        let n = values.len();
        let found = detect(&values, &params).unwrap();
        let cps = cleaned(&found.iter().map(|c| c.index).collect::<Vec<_>>(), n);
        rows.push((
            name.clone(),
            n,
            f1(annotators, &cps),
            cover(annotators, &cps, n),
            cps,
        ));
    }
    assert_eq!(
        rows.len(),
        25,
        "the 25 univariate series of TCPDBench's table present here"
    );
    println!(
        "{:<20} {:>5} {:>6} {:>6}  change points",
        "series", "n", "F1", "cover"
    );
    for (name, n, f, c, cps) in &rows {
        println!("{name:<20} {n:>5} {f:>6.3} {c:>6.3}  {cps:?}");
    }
    let mean_f1 = rows.iter().map(|r| r.2).sum::<f64>() / rows.len() as f64;
    let mean_cover = rows.iter().map(|r| r.3).sum::<f64>() / rows.len() as f64;
    println!(
        "mean over {} series: F1 {mean_f1:.3}, cover {mean_cover:.3}",
        rows.len()
    );
    assert!(
        mean_f1 > BINSEG_F1_32,
        "F1 {mean_f1:.3} is not above binseg's {BINSEG_F1_32}"
    );
    assert!(
        mean_f1 > BINSEG_F1_25,
        "F1 {mean_f1:.3} is not above binseg's {BINSEG_F1_25}"
    );
    assert!(
        mean_cover > BINSEG_COVER_25,
        "cover {mean_cover:.3} is not above binseg's {BINSEG_COVER_25} on the same series"
    );
}
