//! What is checked before two sides are compared: whether they should be at all
//! ([`incomparable`]), and the thresholds as people type them ([`percent`]).

use std::fmt;

use super::CompareInput;

/// Why two sides should not be compared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incomparable {
    /// Their runs measured different targets, so a difference says how the targets
    /// differ, not whether a change made one faster. Each side's targets, sorted, once
    /// each.
    DifferentTargets {
        /// Side A's targets.
        a: Vec<String>,
        /// Side B's targets.
        b: Vec<String>,
    },
}

/// The reason sides `a` and `b` should not be compared, if any: their runs (every run of
/// both sides) measured more than one target. A command refuses such a comparison unless
/// forced; a page compares them all the same and says why it should not be trusted.
pub fn incomparable(a: &CompareInput, b: &CompareInput) -> Option<Incomparable> {
    let targets = |side: &CompareInput| {
        let mut t: Vec<String> = side
            .runs
            .iter()
            .map(|(_, r)| r.target.url.clone())
            .collect();
        t.sort();
        t.dedup();
        t
    };
    let (ta, tb) = (targets(a), targets(b));
    let mut all: Vec<&String> = ta.iter().chain(&tb).collect();
    all.sort();
    all.dedup();
    (all.len() > 1).then_some(Incomparable::DifferentTargets { a: ta, b: tb })
}

/// A percentage that does not read; its sentence says what is expected, the caller names
/// the flag or parameter and the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadPercent;

impl fmt::Display for BadPercent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("expected a percentage such as 5% (0 to 1000)")
    }
}

impl std::error::Error for BadPercent {}

/// A threshold as typed (`5%`, `5`, `0.5%`; 0 to 1000 %) as a fraction (`0.05`).
///
/// # Errors
///
/// [`BadPercent`] for anything else.
pub fn percent(text: &str) -> Result<f64, BadPercent> {
    let number = text.trim().trim_end_matches('%').trim();
    match number.parse::<f64>() {
        Ok(v) if v.is_finite() && (0.0..1000.0).contains(&v) => Ok(v / 100.0),
        _ => Err(BadPercent),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::fixture::empty_run;

    fn side(urls: &[&str]) -> CompareInput {
        CompareInput {
            label: "side".to_owned(),
            runs: urls
                .iter()
                .enumerate()
                .map(|(i, u)| (i as i64 + 1, empty_run(u)))
                .collect(),
        }
    }

    #[test]
    fn sides_of_one_target_compare_and_others_say_why_not() {
        let x = "http://x/";
        let y = "http://y/";
        assert_eq!(incomparable(&side(&[x]), &side(&[x, x])), None);
        assert_eq!(
            incomparable(&side(&[x]), &side(&[y])),
            Some(Incomparable::DifferentTargets {
                a: vec![x.to_owned()],
                b: vec![y.to_owned()]
            })
        );
        // One side pooling two targets is refused even when the other matches one of them.
        assert_eq!(
            incomparable(&side(&[y, x, y]), &side(&[x])),
            Some(Incomparable::DifferentTargets {
                a: vec![x.to_owned(), y.to_owned()],
                b: vec![x.to_owned()]
            })
        );
    }

    #[test]
    fn percentages_read_as_fractions_and_nonsense_is_refused() {
        for (text, want) in [("5%", 0.05), ("5", 0.05), (" 0.5 % ", 0.005), ("0%", 0.0)] {
            assert_eq!(percent(text), Ok(want), "{text}");
        }
        for text in ["", "%", "five", "-1%", "NaN", "2000%", "inf"] {
            assert_eq!(percent(text), Err(BadPercent), "{text}");
        }
        assert_eq!(
            BadPercent.to_string(),
            "expected a percentage such as 5% (0 to 1000)"
        );
    }
}
