//! `--since`: perfloop-store's reading of a time to list runs from
//! ([`perfloop_store::when::parse_since`]), refused in the flag's words.

use std::time::SystemTime;

use anyhow::anyhow;

use crate::Failure;

/// `--since`: a duration before `now` (`7d`, `12h`, `30m`, `1w 2d`), a date (`2026-01-31`,
/// midnight UTC), or a time (`2026-01-31T12:00:00Z`, `2026-01-31 12:00`, an offset such as
/// `+02:00`). Anything else is bad input naming the text.
pub fn parse_since(text: &str, now: SystemTime) -> Result<SystemTime, Failure> {
    perfloop_store::when::parse_since(text, now)
        .map_err(|e| Failure::usage(anyhow!("--since '{text}': {e}")))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn since_is_read_by_the_store_and_refused_in_the_flags_words() {
        let now = humantime::parse_rfc3339("2026-02-10T12:00:00Z").unwrap();
        assert_eq!(
            parse_since("2026-01-31T14:00:00+02:00", now).unwrap(),
            humantime::parse_rfc3339("2026-01-31T12:00:00Z").unwrap()
        );
        for bad in ["yesterday", "7x", "2026-13-01", "", "12:00"] {
            let failure = parse_since(bad, now).unwrap_err();
            assert_eq!(failure.exit, crate::Exit::Usage);
            assert_eq!(
                format!("{:#}", failure.error),
                format!(
                    "--since '{bad}': expected a duration ago (7d, 12h, 30m) or a date or time \
                     (2026-01-31, 2026-01-31T12:00:00Z)"
                )
            );
        }
    }
}
