use super::*;

/// Deterministic noise in `[-0.5, 0.5)`: SplitMix64 of the index (Steele, Lea and Flood,
/// OOPSLA 2014), independent enough for a t-test.
fn noise(i: usize) -> f64 {
    let mut z = (i as u64)
        .wrapping_add(1)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64 - 0.5
}

fn levels(parts: &[(usize, f64)]) -> Vec<f64> {
    let mut series = Vec::new();
    for &(len, level) in parts {
        for _ in 0..len {
            series.push(level + noise(series.len()));
        }
    }
    series
}

fn indices(found: &[ChangePoint]) -> Vec<usize> {
    found.iter().map(|c| c.index).collect()
}

#[test]
fn otava_small_series_has_one_change_at_ten() {
    let values = [
        1.02, 0.95, 0.99, 1.0, 1.12, 1.0, 1.01, 0.98, 1.01, 0.96, 0.5, 0.51, 0.48, 0.48, 0.55, 0.5,
        0.49, 0.51, 0.5, 0.49,
    ];
    for params in [Params::otava(10, 0.0001, 0.0), Params::default()] {
        let found = detect(&values, &params).unwrap_or_default();
        assert_eq!(indices(&found), vec![10], "{params:?}");
    }
}

#[test]
fn level_shifts_are_found_with_the_means_of_their_segments() {
    let series = levels(&[(60, 10.0), (50, 14.0), (70, 12.0)]);
    let found = detect(&series, &Params::default()).unwrap_or_default();
    assert_eq!(indices(&found), vec![60, 110]);
    let mean = |a: usize, b: usize| series[a..b].iter().sum::<f64>() / (b - a) as f64;
    assert!((found[0].before - mean(0, 60)).abs() < 1e-9);
    assert!((found[0].after - mean(60, 110)).abs() < 1e-9);
    assert!((found[1].after - mean(110, 180)).abs() < 1e-9);
    assert!(found.iter().all(|c| c.p_value < DEFAULT_P_VALUE));
    assert!(found[0].change().is_some_and(|c| (c - 0.4).abs() < 0.02));
}

#[test]
fn a_single_spike_is_not_a_change_point() {
    // Just before the edge of Otava's first window, one outlier is two change points.
    let mut series = levels(&[(80, 100.0)]);
    series[49] = 300.0;
    let otava = detect(&series, &Params::otava(50, 0.001, 0.0)).unwrap_or_default();
    assert_eq!(
        indices(&otava),
        vec![49, 50],
        "Otava marks into and out of the spike"
    );
    let found = detect(&series, &Params::default()).unwrap_or_default();
    assert!(found.is_empty(), "{found:?}");
    // The minimum segment alone is enough for it.
    let params = Params {
        min_segment: 2,
        ..Params::otava(50, 0.001, 0.0)
    };
    assert_eq!(detect(&series, &params), Ok(vec![]));
}

#[test]
fn a_drift_is_not_a_change_point_at_every_window() {
    // A random walk: each point is the last plus noise.
    let mut walk = vec![0.0];
    for i in 1..300 {
        walk.push(walk[i - 1] + noise(i));
    }
    let otava = detect(&walk, &Params::otava(50, 0.001, 0.0)).unwrap_or_default();
    let found = detect(&walk, &Params::default()).unwrap_or_default();
    assert!(otava.len() >= 5, "{otava:?}");
    assert!(
        found.len() * 3 <= otava.len(),
        "{} vs Otava's {}",
        found.len(),
        otava.len()
    );
}

#[test]
fn every_change_point_returned_passes_its_own_test() {
    let series = levels(&[(30, 5.0), (8, 5.6), (40, 5.2), (12, 6.0), (50, 5.5)]);
    for p_value in [0.2, 0.05, 0.001] {
        let params = Params {
            p_value,
            ..Params::default()
        };
        let found = detect(&series, &params).unwrap_or_default();
        for (i, cp) in found.iter().enumerate() {
            assert!(cp.p_value < p_value, "{cp}");
            let start = if i == 0 { 0 } else { found[i - 1].index };
            let end = found.get(i + 1).map_or(series.len(), |c| c.index);
            assert!(
                cp.index - start >= DEFAULT_MIN_SEGMENT && end - cp.index >= DEFAULT_MIN_SEGMENT
            );
            let again = t_test(&series[start..cp.index], &series[cp.index..end]);
            assert_eq!(again.p_value, cp.p_value);
        }
    }
}

#[test]
fn short_and_flat_series_have_no_change_point() {
    let params = Params::default();
    assert_eq!(detect(&[], &params), Ok(vec![]));
    assert_eq!(detect(&[1.0], &params), Ok(vec![]));
    assert_eq!(detect(&[1.0, 2.0], &params), Ok(vec![]));
    assert_eq!(detect(&[3.0; 200], &params), Ok(vec![]));
}

#[test]
fn settings_and_values_out_of_range_are_refused() {
    let base = Params::default();
    let bad = [
        Params { window: 1, ..base },
        Params {
            p_value: 0.0,
            ..base
        },
        Params {
            p_value: 1.5,
            ..base
        },
        Params {
            p_value: f64::NAN,
            ..base
        },
        Params {
            magnitude: -0.1,
            ..base
        },
        Params {
            magnitude: f64::INFINITY,
            ..base
        },
        Params {
            min_segment: 0,
            ..base
        },
    ];
    for params in bad {
        assert!(detect(&[1.0, 2.0, 3.0], &params).is_err(), "{params:?}");
    }
    let err = detect(&[1.0, 2.0, f64::INFINITY], &base);
    assert!(
        matches!(err, Err(ParamsError::NotFinite { index: 2, .. })),
        "{err:?}"
    );
}

#[test]
fn first_pass_threshold_is_otavas() {
    let p = |p_value| {
        Params {
            p_value,
            ..Params::default()
        }
        .first_pass_p_value()
    };
    assert!((p(0.001) - 0.01).abs() < 1e-15);
    assert!((p(0.1) - 0.2).abs() < 1e-15);
    assert_eq!(p(0.6), 0.6);
}
