//! The workload: a deterministic stream of incoming records with known truth. A share
//! [`PLANTED_SHARE`] of them are planted duplicates of known users, each with typos in up
//! to two fields (one edit per field: a substitution, deletion, insertion or transposition)
//! and harmless format noise (capitals, phone punctuation); the rest are new people drawn
//! like the users but from another random stream. Record `i` depends only on the data set,
//! the seed and `i`.

use super::rng::SplitMix64;
use super::{Dataset, person};
use crate::record::Record;

/// The share of the workload's records that are planted duplicates of known users.
pub const PLANTED_SHARE: f64 = 0.5;

/// Salt of the workload's random streams.
const WORKLOAD_STREAM: u64 = 0x574f_524b_4c44; // "WORKLD"

/// A record of the workload and the truth about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelledRecord {
    /// The record as it arrives.
    pub record: Record,
    /// The known user it duplicates, or `None` for a new person.
    pub truth: Option<u32>,
}

/// A deterministic stream of incoming records over a data set.
#[derive(Debug, Clone, Copy)]
pub struct Workload<'a> {
    data: &'a Dataset,
    seed: u64,
}

impl<'a> Workload<'a> {
    /// The workload over `data` with its own `seed`.
    pub fn new(data: &'a Dataset, seed: u64) -> Self {
        Self { data, seed }
    }

    /// Record number `index`.
    pub fn record(&self, index: u64) -> LabelledRecord {
        let mut rng = SplitMix64::stream(self.seed ^ WORKLOAD_STREAM, index);
        if !self.data.is_empty() && rng.chance(PLANTED_SHARE) {
            let user = &self.data.users()[rng.below(self.data.len())];
            let mut fields = [
                user.name.clone(),
                user.email.clone(),
                user.phone.clone(),
                user.city.clone(),
            ];
            let typos = match rng.below(10) {
                0 | 1 => 0,
                2..=6 => 1,
                _ => 2,
            };
            let first = rng.below(4);
            let second = (first + rng.between(1, 3)) % 4;
            for field in [first, second].into_iter().take(typos) {
                fields[field] = match field {
                    1 => email_typo(&mut rng, &fields[1]),
                    2 => typo(&mut rng, &fields[2], Alphabet::Digits),
                    _ => typo(&mut rng, &fields[field], Alphabet::Letters),
                };
            }
            let [name, email, phone, city] = fields;
            LabelledRecord {
                record: noisy(&mut rng, name, email, &phone, city),
                truth: Some(user.id),
            }
        } else {
            let p = person(&mut rng);
            LabelledRecord {
                record: noisy(&mut rng, p.name, p.email, &p.phone, p.city),
                truth: None,
            }
        }
    }

    /// Records `start..start + count`.
    pub fn records(&self, start: u64, count: usize) -> Vec<LabelledRecord> {
        (start..start + count as u64)
            .map(|i| self.record(i))
            .collect()
    }
}

/// What a typo may insert or substitute.
#[derive(Debug, Clone, Copy)]
enum Alphabet {
    Letters,
    Digits,
}

impl Alphabet {
    fn draw(self, rng: &mut SplitMix64) -> char {
        match self {
            Self::Letters => rng.letter(),
            Self::Digits => rng.digit(),
        }
    }
}

/// One edit at a position after the first character (values shorter than three
/// characters are left alone).
fn typo(rng: &mut SplitMix64, value: &str, alphabet: Alphabet) -> String {
    let mut chars: Vec<char> = value.chars().collect();
    if chars.len() < 3 {
        return value.to_owned();
    }
    let at = rng.between(1, chars.len() - 2);
    match rng.below(4) {
        0 => {
            let old = chars[at];
            let mut new = alphabet.draw(rng);
            while new == old {
                new = alphabet.draw(rng);
            }
            chars[at] = new;
        }
        1 => {
            chars.remove(at);
        }
        2 => chars.insert(at, alphabet.draw(rng)),
        _ => chars.swap(at, at + 1),
    }
    chars.into_iter().collect()
}

/// A typo in the local part of an e-mail address.
fn email_typo(rng: &mut SplitMix64, email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => format!("{}@{domain}", typo(rng, local, Alphabet::Letters)),
        None => typo(rng, email, Alphabet::Letters),
    }
}

/// Format noise that normalisation removes: capitals and phone punctuation.
fn noisy(rng: &mut SplitMix64, name: String, email: String, phone: &str, city: String) -> Record {
    let name = if rng.chance(0.5) { title(&name) } else { name };
    let city = if rng.chance(0.5) { title(&city) } else { city };
    let email = if rng.chance(0.1) {
        email.to_uppercase()
    } else {
        email
    };
    let phone = match (rng.below(3), phone.len()) {
        (1, 10) => format!("{} {} {}", &phone[..3], &phone[3..6], &phone[6..]),
        (2, 10) => format!("({}) {}-{}", &phone[..3], &phone[3..6], &phone[6..]),
        _ => phone.to_owned(),
    };
    Record {
        name,
        email,
        phone,
        city,
    }
}

/// Capitalises each word.
fn title(value: &str) -> String {
    value
        .split(' ')
        .map(|word| {
            let mut chars = word.chars();
            chars.next().map_or_else(String::new, |c| {
                c.to_uppercase().chain(chars).collect::<String>()
            })
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::NormRecord;

    #[test]
    fn deterministic_and_index_addressed() {
        let data = Dataset::generate(1_000, 5);
        let w = Workload::new(&data, 11);
        let batch = w.records(0, 200);
        assert_eq!(batch, w.records(0, 200));
        assert_eq!(batch[150], w.record(150));
    }

    #[test]
    fn mixes_planted_duplicates_and_new_people() {
        let data = Dataset::generate(1_000, 5);
        let batch = Workload::new(&data, 11).records(0, 2_000);
        let planted = batch.iter().filter(|r| r.truth.is_some()).count();
        assert!((800..1_200).contains(&planted), "{planted} planted of 2000");
    }

    #[test]
    #[allow(clippy::expect_used)]
    fn planted_records_stay_close_to_their_user() {
        let data = Dataset::generate(1_000, 5);
        for labelled in Workload::new(&data, 11).records(0, 500) {
            let Some(id) = labelled.truth else { continue };
            let user = data.user(id).expect("truth names a user of the data set");
            let n = NormRecord::from_record(&labelled.record);
            let changed = [
                n.name != user.name,
                n.email != user.email,
                n.phone != user.phone,
                n.city != user.city,
            ];
            assert!(changed.iter().filter(|c| **c).count() <= 2);
        }
    }

    #[test]
    fn a_typo_is_one_edit() {
        let mut rng = SplitMix64::new(3);
        for _ in 0..200 {
            let t = typo(&mut rng, "rossi", Alphabet::Letters);
            assert!((4..=6).contains(&t.len()));
            assert!(t.starts_with('r'));
        }
        assert_eq!(typo(&mut rng, "li", Alphabet::Letters), "li");
    }

    #[test]
    fn title_case() {
        assert_eq!(title("new york"), "New York");
    }
}
