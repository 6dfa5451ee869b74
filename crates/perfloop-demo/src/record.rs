//! The incoming record (the JSON shape of `POST /match`) and its normalised form, the one
//! the blocking keys and the similarity scores are computed from.

use serde::{Deserialize, Serialize};

/// A person to match against the known users, as it arrives.
///
/// Every field is optional (an absent field is empty and takes no part in the score);
/// unknown fields are an error.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Record {
    /// Full name, given name first ("Maria Rossi").
    pub name: String,
    /// E-mail address.
    pub email: String,
    /// Phone number in any format; only its digits count.
    pub phone: String,
    /// City of residence.
    pub city: String,
}

/// A record in canonical form: lowercase, single spaces, phone digits only.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct NormRecord {
    /// Normalised full name.
    pub(crate) name: String,
    /// Normalised e-mail address.
    pub(crate) email: String,
    /// The phone number's digits.
    pub(crate) phone: String,
    /// Normalised city.
    pub(crate) city: String,
}

impl NormRecord {
    /// The canonical form of `record`.
    pub(crate) fn from_record(record: &Record) -> Self {
        Self {
            name: text(&record.name),
            email: text(&record.email),
            phone: digits(&record.phone),
            city: text(&record.city),
        }
    }
}

/// Lowercase; letters, digits and `.@_-` kept; anything else a separator; runs of
/// separators collapsed to one space; trimmed.
pub(crate) fn text(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut pending_space = false;
    for c in raw.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() || matches!(c, '.' | '@' | '_' | '-') {
            if pending_space && !out.is_empty() {
                out.push(' ');
            }
            pending_space = false;
            out.push(c);
        } else {
            pending_space = true;
        }
    }
    out
}

/// The ASCII digits of `raw`.
pub(crate) fn digits(raw: &str) -> String {
    raw.chars().filter(char::is_ascii_digit).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_case_spacing_and_phone_format() {
        let n = NormRecord::from_record(&Record {
            name: "  Maria   ROSSI ".into(),
            email: "Maria.Rossi@Example.org".into(),
            phone: "+39 (312) 555-0199".into(),
            city: "New\tYork".into(),
        });
        assert_eq!(n.name, "maria rossi");
        assert_eq!(n.email, "maria.rossi@example.org");
        assert_eq!(n.phone, "393125550199");
        assert_eq!(n.city, "new york");
    }

    #[test]
    fn empty_stays_empty() {
        let n = NormRecord::from_record(&Record::default());
        assert_eq!(n, NormRecord::default());
    }
}
