//! The known users: a deterministic generated data set of people (names, e-mails, phones,
//! cities) drawn from the built-in word lists in `words` with the SplitMix64 generator in
//! `rng`. The same count and seed give the same users on every machine.
//!
//! Values are stored normalised (see [`crate::Record`]): the data set plays the part of a
//! cleaned customer table.

pub(crate) mod rng;
pub(crate) mod words;
pub(crate) mod workload;

use rng::SplitMix64;

/// A known user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Position in the data set, the user's identity.
    pub id: u32,
    /// Full name, lowercase ("maria rossi").
    pub name: String,
    /// E-mail address, lowercase.
    pub email: String,
    /// Ten-digit phone number.
    pub phone: String,
    /// City, lowercase.
    pub city: String,
}

/// The known users.
#[derive(Debug, Clone)]
pub struct Dataset {
    seed: u64,
    users: Vec<User>,
}

/// Salt of the users' random stream (the workload's new people use another).
const USERS_STREAM: u64 = 0x5553_4552_5321; // "USERS!"

impl Dataset {
    /// Generates `count` users from `seed` (at most `u32::MAX`; more are not generated).
    pub fn generate(count: usize, seed: u64) -> Self {
        let count = count.min(u32::MAX as usize);
        let users = (0..count as u32)
            .map(|id| {
                let mut rng = SplitMix64::stream(seed ^ USERS_STREAM, u64::from(id));
                let p = person(&mut rng);
                User {
                    id,
                    name: p.name,
                    email: p.email,
                    phone: p.phone,
                    city: p.city,
                }
            })
            .collect();
        Self { seed, users }
    }

    /// The seed the data set was generated from.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// All users, in id order.
    pub fn users(&self) -> &[User] {
        &self.users
    }

    /// The user with this id.
    pub fn user(&self, id: u32) -> Option<&User> {
        self.users.get(id as usize)
    }

    /// The number of users.
    pub fn len(&self) -> usize {
        self.users.len()
    }

    /// Whether there are no users.
    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }
}

/// A generated person, normalised.
#[derive(Debug, Clone)]
pub(crate) struct Person {
    pub(crate) name: String,
    pub(crate) email: String,
    pub(crate) phone: String,
    pub(crate) city: String,
}

/// Draws one person: a given name and a surname, an e-mail address built from them in
/// one of the usual patterns, a ten-digit phone number and a city.
pub(crate) fn person(rng: &mut SplitMix64) -> Person {
    let first = *rng.pick(words::FIRST_NAMES);
    let last = *rng.pick(words::SURNAMES);
    let city = *rng.pick(words::CITIES);
    let domain = *rng.pick(words::DOMAINS);
    let initial = &first[..1];
    let number = rng.between(1, 99);
    let local = match rng.below(7) {
        0 => format!("{first}.{last}"),
        1 => format!("{first}{last}"),
        2 => format!("{initial}.{last}"),
        3 => format!("{first}_{last}"),
        4 => format!("{first}.{last}{number}"),
        5 => format!("{last}.{first}"),
        _ => format!("{first}{last}{number}"),
    };
    let mut phone = String::with_capacity(10);
    phone.push(char::from(b'2' + rng.below(8) as u8));
    for _ in 0..9 {
        phone.push(rng.digit());
    }
    Person {
        name: format!("{first} {last}"),
        email: format!("{local}@{domain}"),
        phone,
        city: city.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_users() {
        let a = Dataset::generate(2_000, 42);
        let b = Dataset::generate(2_000, 42);
        assert_eq!(a.users(), b.users());
        assert_eq!(a.len(), 2_000);
        assert_eq!(a.seed(), 42);
    }

    #[test]
    fn different_seed_different_users() {
        let a = Dataset::generate(100, 1);
        let b = Dataset::generate(100, 2);
        assert_ne!(a.users(), b.users());
    }

    #[test]
    fn a_prefix_does_not_depend_on_the_count() {
        let small = Dataset::generate(50, 9);
        let large = Dataset::generate(500, 9);
        assert_eq!(small.users(), &large.users()[..50]);
    }

    #[test]
    fn word_lists_are_lowercase_ascii() {
        for list in [
            words::FIRST_NAMES,
            words::SURNAMES,
            words::CITIES,
            words::DOMAINS,
        ] {
            assert!(list.len() >= 10);
            for word in list {
                assert!(
                    word.bytes()
                        .all(|b| b.is_ascii_lowercase() || b == b' ' || b == b'.'),
                    "{word}"
                );
            }
        }
    }

    #[test]
    fn users_look_like_people() {
        let data = Dataset::generate(500, 3);
        for user in data.users() {
            assert_eq!(user.phone.len(), 10);
            assert!(user.phone.chars().all(|c| c.is_ascii_digit()));
            assert!(user.email.contains('@'));
            assert_eq!(user.name.split(' ').count(), 2);
            assert!(!user.city.is_empty());
        }
        assert_eq!(data.user(7).map(|u| u.id), Some(7));
        assert!(data.user(500).is_none());
    }
}
