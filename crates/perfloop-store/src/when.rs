//! The times of the history as people type and read them: a `since` filter read (a
//! duration ago, a date, RFC 3339 with or without an offset) for [`RunFilter::since`], and a
//! stored time written as UTC to the second or to the minute.
//!
//! [`RunFilter::since`]: crate::RunFilter::since

use std::time::{Duration, SystemTime};

/// A `since` that does not read; its sentence says what is expected, the caller names the
/// flag or parameter and the text (`--since 'lately': expected …`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "expected a duration ago (7d, 12h, 30m) or a date or time (2026-01-31, \
     2026-01-31T12:00:00Z)"
)]
pub struct BadSince;

/// A `since` filter: a duration before `now` (`7d`, `12h`, `30m`, `1w 2d`), a date
/// (`2026-01-31`, midnight UTC), or a time (`2026-01-31T12:00:00Z`, `2026-01-31 12:00`, with
/// an offset such as `+02:00`, UTC without one).
///
/// # Errors
///
/// [`BadSince`] for anything else.
pub fn parse_since(text: &str, now: SystemTime) -> Result<SystemTime, BadSince> {
    let t = text.trim();
    if t.starts_with(|c: char| c.is_ascii_digit()) && !t.contains(['-', ':']) {
        let ago = humantime::parse_duration(t).map_err(|_| BadSince)?;
        return Ok(now.checked_sub(ago).unwrap_or(SystemTime::UNIX_EPOCH));
    }
    parse_time(t).ok_or(BadSince)
}

/// A date or time, UTC unless it carries an offset.
fn parse_time(text: &str) -> Option<SystemTime> {
    if text.len() == 10 {
        return humantime::parse_rfc3339_weak(&format!("{text}T00:00:00Z")).ok();
    }
    let (body, offset) = split_offset(text);
    // `2026-01-31 12:00` has no seconds: humantime wants them.
    let body = if body.len() == 16 {
        format!("{body}:00")
    } else {
        body.to_owned()
    };
    let utc = humantime::parse_rfc3339_weak(&body).ok()?;
    if offset >= 0 {
        utc.checked_sub(Duration::from_secs(offset.unsigned_abs()))
    } else {
        utc.checked_add(Duration::from_secs(offset.unsigned_abs()))
    }
}

/// The time without its zone, and the zone's offset east of UTC in seconds (`Z`: 0).
fn split_offset(text: &str) -> (&str, i64) {
    if let Some(body) = text.strip_suffix(['Z', 'z']) {
        return (body, 0);
    }
    let bytes = text.as_bytes();
    if text.len() > 6 && text.is_char_boundary(text.len() - 6) {
        let (body, zone) = text.split_at(text.len() - 6);
        let sign = match bytes[text.len() - 6] {
            b'+' => 1,
            b'-' => -1,
            _ => return (text, 0),
        };
        if zone.as_bytes()[3] == b':' {
            let hours = zone[1..3].parse::<i64>();
            let minutes = zone[4..6].parse::<i64>();
            if let (Ok(h), Ok(m)) = (hours, minutes) {
                return (body, sign * (h * 3600 + m * 60));
            }
        }
    }
    (text, 0)
}

/// `2026-12-07T11:39:02Z`: RFC 3339, UTC, to the second.
pub fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

/// `2026-12-07 11:39`: UTC, to the minute.
pub fn minute_utc(t: SystemTime) -> String {
    let text = rfc3339(t);
    text.get(..16).unwrap_or(&text).replacen('T', " ", 1)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn at(text: &str) -> SystemTime {
        humantime::parse_rfc3339(text).unwrap()
    }

    #[test]
    fn since_reads_durations_dates_and_times() {
        let now = at("2026-02-10T12:00:00Z");
        for (text, want) in [
            ("7d", "2026-02-03T12:00:00Z"),
            ("12h", "2026-02-10T00:00:00Z"),
            ("30m", "2026-02-10T11:30:00Z"),
            (" 1w 2d ", "2026-02-01T12:00:00Z"),
            ("2026-01-31", "2026-01-31T00:00:00Z"),
            ("2026-01-31T12:00:00Z", "2026-01-31T12:00:00Z"),
            ("2026-01-31T14:00:00+02:00", "2026-01-31T12:00:00Z"),
            ("2026-01-31T10:30:00-01:30", "2026-01-31T12:00:00Z"),
            ("2026-01-31 12:00", "2026-01-31T12:00:00Z"),
        ] {
            assert_eq!(parse_since(text, now), Ok(at(want)), "{text}");
        }
        for bad in [
            "yesterday",
            "7x",
            "2026-13-01",
            "",
            "12:00",
            "2026-01-31T12:00:00+2:00",
        ] {
            assert_eq!(parse_since(bad, now), Err(BadSince), "{bad}");
        }
        assert!(BadSince.to_string().starts_with("expected a duration ago"));
    }

    #[test]
    fn times_are_written_in_utc() {
        assert_eq!(minute_utc(at("2026-12-07T11:39:59Z")), "2026-12-07 11:39");
        assert_eq!(rfc3339(at("2026-12-07T11:39:59Z")), "2026-12-07T11:39:59Z");
    }
}
