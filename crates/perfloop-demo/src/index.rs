//! Blocking: the keys that bring a record and its likely duplicates together, and the
//! in-memory index from key to users that the simulated store serves lookups from.
//!
//! A record has up to three keys, so that a typo in any one or two fields still leaves a
//! key in common with the user it duplicates:
//! - the American Soundex code of the surname with the city;
//! - the first [`EMAIL_HEAD`] and last [`EMAIL_TAIL`] letters of the e-mail's local
//!   part (digits and punctuation dropped): for `maria.rossi42` "mar" and "ossi";
//! - the last [`PHONE_SUFFIX`] digits of the phone number.
//!
//! Keys are 64-bit FNV-1a hashes of a kind tag and the key's text.

use std::collections::HashMap;
use std::sync::Arc;

use crate::data::Dataset;

/// A blocking key (a hash of its kind and text).
pub(crate) type BlockKey = u64;

/// Leading letters of the e-mail's local part in its key.
pub(crate) const EMAIL_HEAD: usize = 3;

/// Trailing letters of the e-mail's local part in its key.
pub(crate) const EMAIL_TAIL: usize = 4;

/// Trailing digits of the phone number that form its key.
pub(crate) const PHONE_SUFFIX: usize = 4;

/// The blocking keys of a record given its normalised fields (absent when a field is too
/// short to give one).
pub(crate) fn block_keys(
    name: &str,
    email: &str,
    phone: &str,
    city: &str,
) -> [Option<BlockKey>; 3] {
    let surname = name.rsplit(' ').next().unwrap_or("");
    let name_city = soundex(surname).map(|code| hash(b'n', &[&code[..], city.as_bytes()]));
    let local = email.split('@').next().unwrap_or("");
    let letters: Vec<u8> = local.bytes().filter(u8::is_ascii_lowercase).collect();
    let email_key = (letters.len() >= EMAIL_HEAD + EMAIL_TAIL).then(|| {
        let tail = &letters[letters.len() - EMAIL_TAIL..];
        hash(b'e', &[&letters[..EMAIL_HEAD], tail])
    });
    let phone_key = (phone.len() >= PHONE_SUFFIX)
        .then(|| hash(b'p', &[&phone.as_bytes()[phone.len() - PHONE_SUFFIX..]]));
    [name_city, email_key, phone_key]
}

/// American Soundex: the first letter and three digits coding the following consonant
/// groups (`None` for a word without an ASCII letter).
pub(crate) fn soundex(word: &str) -> Option<[u8; 4]> {
    fn code(c: u8) -> u8 {
        match c {
            b'b' | b'f' | b'p' | b'v' => b'1',
            b'c' | b'g' | b'j' | b'k' | b'q' | b's' | b'x' | b'z' => b'2',
            b'd' | b't' => b'3',
            b'l' => b'4',
            b'm' | b'n' => b'5',
            b'r' => b'6',
            b'h' | b'w' => b'h',
            _ => b'0',
        }
    }
    let mut letters = word
        .bytes()
        .map(|b| b.to_ascii_lowercase())
        .filter(u8::is_ascii_lowercase);
    let first = letters.next()?;
    let mut out = [first.to_ascii_uppercase(), b'0', b'0', b'0'];
    let mut len = 1;
    let mut last = code(first);
    for c in letters {
        let digit = code(c);
        if digit == b'h' {
            // h and w do not separate letters with the same code.
            continue;
        }
        if digit != b'0' && digit != last {
            out[len] = digit;
            len += 1;
            if len == 4 {
                break;
            }
        }
        last = digit;
    }
    Some(out)
}

/// 64-bit FNV-1a over a tag byte and the parts, with a separator between parts.
fn hash(tag: u8, parts: &[&[u8]]) -> BlockKey {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut h = (OFFSET ^ u64::from(tag)).wrapping_mul(PRIME);
    for part in parts {
        for b in *part {
            h = (h ^ u64::from(*b)).wrapping_mul(PRIME);
        }
        h = (h ^ 0xff).wrapping_mul(PRIME);
    }
    h
}

/// The users of each blocking key.
#[derive(Debug)]
pub(crate) struct Index {
    blocks: HashMap<BlockKey, Arc<[u32]>>,
    empty: Arc<[u32]>,
}

impl Index {
    /// Indexes every user of `data` under each of its keys.
    pub(crate) fn build(data: &Dataset) -> Self {
        let mut blocks: HashMap<BlockKey, Vec<u32>> = HashMap::with_capacity(data.len() * 2);
        for user in data.users() {
            for key in block_keys(&user.name, &user.email, &user.phone, &user.city)
                .into_iter()
                .flatten()
            {
                blocks.entry(key).or_default().push(user.id);
            }
        }
        Self {
            blocks: blocks.into_iter().map(|(k, v)| (k, v.into())).collect(),
            empty: Arc::from(Vec::new()),
        }
    }

    /// The users under `key` (none for an unknown key).
    pub(crate) fn lookup(&self, key: BlockKey) -> Arc<[u32]> {
        self.blocks
            .get(&key)
            .map_or_else(|| Arc::clone(&self.empty), Arc::clone)
    }

    /// The number of distinct keys.
    pub(crate) fn keys(&self) -> usize {
        self.blocks.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn soundex_reference_codes() {
        // The examples of the US National Archives' Soundex guide.
        for (word, code) in [
            ("washington", b"W252"),
            ("lee", b"L000"),
            ("gutierrez", b"G362"),
            ("pfister", b"P236"),
            ("jackson", b"J250"),
            ("tymczak", b"T522"),
            ("ashcraft", b"A261"),
            ("rubin", b"R150"),
        ] {
            assert_eq!(soundex(word), Some(*code), "{word}");
        }
        assert_eq!(soundex("42"), None);
    }

    #[test]
    fn a_typo_in_one_field_keeps_the_other_keys() {
        let a = block_keys(
            "maria rossi",
            "maria.rossi@gmail.com",
            "3125550199",
            "milan",
        );
        let b = block_keys(
            "maria rossi",
            "maria.rossi@gmail.com",
            "3125550198",
            "milan",
        );
        assert_eq!(a[0], b[0]);
        assert_eq!(a[1], b[1]);
        assert_ne!(a[2], b[2]);
        assert!(a.iter().all(Option::is_some));
    }

    #[test]
    fn short_fields_give_no_key() {
        assert_eq!(block_keys("", "", "12", ""), [None, None, None]);
    }

    #[test]
    fn every_user_is_found_under_its_own_keys() {
        let data = Dataset::generate(2_000, 1);
        let index = Index::build(&data);
        assert!(index.keys() > 100);
        for user in data.users() {
            for key in block_keys(&user.name, &user.email, &user.phone, &user.city)
                .into_iter()
                .flatten()
            {
                assert!(index.lookup(key).contains(&user.id));
            }
        }
        assert!(index.lookup(0).is_empty());
    }
}
