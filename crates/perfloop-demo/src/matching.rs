//! Scoring: how alike a record and a known user are, and the match decision.
//!
//! The score is the weighted mean of the Jaro–Winkler similarities (`strsim`) of the
//! normalised fields present in the record, with the weights of [`WEIGHTS`]: name, e-mail
//! and phone 0.3 each, city 0.1 (a city is shared by many people). A record matches its
//! best candidate when that candidate scores at least [`MATCH_THRESHOLD`]. Typical
//! figures: a duplicate with one typo in each of two fields scores about 0.95; a different
//! person with the same name and city but another e-mail and phone about 0.75.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use strsim::jaro_winkler;

use crate::data::{Dataset, User};
use crate::record::NormRecord;

/// The score from which a record is declared a duplicate of its best candidate.
pub const MATCH_THRESHOLD: f64 = 0.88;

/// How many of the best candidates a match result lists.
pub const TOP_CANDIDATES: usize = 3;

/// Field weights: name, e-mail, phone, city.
pub const WEIGHTS: [f64; 4] = [0.3, 0.3, 0.3, 0.1];

/// A known user and how well it matches a record.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    /// The user's id.
    pub user_id: u32,
    /// The score, from 0 (nothing alike) to 1 (identical).
    pub score: f64,
}

/// The result of matching one record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MatchOutcome {
    /// The user the record duplicates, if its best candidate reaches the threshold.
    pub matched: Option<u32>,
    /// The best candidates, best first (at most [`TOP_CANDIDATES`]).
    pub candidates: Vec<Candidate>,
}

/// The score of `user` against `record`: weighted Jaro–Winkler over the record's present
/// fields (0 if it has none).
pub(crate) fn score(record: &NormRecord, user: &User) -> f64 {
    let pairs = [
        (&record.name, &user.name),
        (&record.email, &user.email),
        (&record.phone, &user.phone),
        (&record.city, &user.city),
    ];
    let mut total = 0.0;
    let mut weight = 0.0;
    for ((mine, theirs), w) in pairs.into_iter().zip(WEIGHTS) {
        if !mine.is_empty() {
            total += w * jaro_winkler(mine, theirs);
            weight += w;
        }
    }
    if weight > 0.0 { total / weight } else { 0.0 }
}

/// Scores every distinct candidate in `blocks` against `record` and decides.
pub(crate) fn best_match(
    record: &NormRecord,
    data: &Dataset,
    blocks: &[Arc<[u32]>],
) -> MatchOutcome {
    let mut ids: Vec<u32> = blocks.iter().flat_map(|b| b.iter().copied()).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut top: Vec<Candidate> = Vec::with_capacity(TOP_CANDIDATES + 1);
    for id in ids {
        let Some(user) = data.user(id) else { continue };
        let candidate = Candidate {
            user_id: id,
            score: score(record, user),
        };
        let at = top.partition_point(|c| c.score >= candidate.score);
        if at < TOP_CANDIDATES {
            top.insert(at, candidate);
            top.truncate(TOP_CANDIDATES);
        }
    }
    let matched = top
        .first()
        .filter(|c| c.score >= MATCH_THRESHOLD)
        .map(|c| c.user_id);
    MatchOutcome {
        matched,
        candidates: top,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Record;

    fn user(id: u32, name: &str, email: &str, phone: &str, city: &str) -> User {
        User {
            id,
            name: name.into(),
            email: email.into(),
            phone: phone.into(),
            city: city.into(),
        }
    }

    fn norm(name: &str, email: &str, phone: &str, city: &str) -> NormRecord {
        NormRecord::from_record(&Record {
            name: name.into(),
            email: email.into(),
            phone: phone.into(),
            city: city.into(),
        })
    }

    #[test]
    fn identical_scores_one() {
        let u = user(
            0,
            "maria rossi",
            "maria.rossi@gmail.com",
            "3125550199",
            "milan",
        );
        let r = norm(
            "Maria Rossi",
            "maria.rossi@gmail.com",
            "312 555 0199",
            "Milan",
        );
        assert!((score(&r, &u) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn typos_stay_above_and_namesakes_below_the_threshold() {
        let u = user(
            0,
            "maria rossi",
            "maria.rossi@gmail.com",
            "3125550199",
            "milan",
        );
        let typo = norm("maria rosi", "maria.rossi@gmail.com", "3125505199", "milan");
        let namesake = norm("maria rossi", "m.rossi@yahoo.com", "7043318852", "milan");
        assert!(score(&typo, &u) >= MATCH_THRESHOLD, "{}", score(&typo, &u));
        assert!(
            score(&namesake, &u) < MATCH_THRESHOLD,
            "{}",
            score(&namesake, &u)
        );
    }

    #[test]
    fn absent_fields_do_not_count() {
        let u = user(
            0,
            "maria rossi",
            "maria.rossi@gmail.com",
            "3125550199",
            "milan",
        );
        let r = norm("maria rossi", "", "3125550199", "");
        assert!((score(&r, &u) - 1.0).abs() < 1e-12);
        assert!(score(&NormRecord::default(), &u).abs() < 1e-12);
    }
}
