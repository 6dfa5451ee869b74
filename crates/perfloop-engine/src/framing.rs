//! Where a response ends: the framer each connection feeds what it reads.
//!
//! A run speaks HTTP/1.1 (the response parser of `http.rs`) or raw TCP, whose responses
//! have no framing of their own: the user says how one ends, after a fixed number of bytes
//! or at a delimiter. [`Framer`] is the one type the worker holds for either; the choice is
//! made once per connection, so the HTTP path pays one predictable branch per read.
//!
//! A raw peer is never obeyed beyond the framing it was given: bytes that arrive after a
//! response's end in the same read are reported as `trailing` (the worker counts them as a
//! framing error and drops the connection), and a close before the end is no response at
//! all. A delimiter is found incrementally (Knuth–Morris–Pratt over the bytes as they
//! come, so a delimiter split across reads is found and nothing is buffered): a response of
//! any length costs the same memory.
//!
//! The bytes to send and the delimiter are written as text with escapes (`\r`, `\n`, `\t`,
//! `\\`, `\xNN`), decoded by [`decode_escapes`].

use std::fmt;

use crate::http::{ParseError, Progress, Response, ResponseParser};

/// The status recorded for a raw TCP response, which has none (kept out of the table of
/// status codes).
pub const NO_STATUS: u16 = 0;

/// How a raw TCP response ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResponseEnd {
    /// After exactly this many bytes (at least 1).
    Bytes(u64),
    /// After the first occurrence of these bytes (at least 1), which belong to it.
    Delimiter(Vec<u8>),
}

/// A raw TCP exchange: what each request sends and where its response ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawExchange {
    /// The bytes of one request (at least 1).
    pub send: Vec<u8>,
    /// Where each response ends.
    pub end: ResponseEnd,
}

/// An escape that [`decode_escapes`] does not know, or a truncated one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EscapeError {
    /// The line of the escape, from 1.
    pub line: usize,
    /// Its column (in bytes), from 1.
    pub column: usize,
    /// The escape as written (at most four characters).
    pub found: String,
}

impl fmt::Display for EscapeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown escape '{}' at line {}, column {}: use \\r, \\n, \\t, \\\\ or \\xNN (two hex digits)",
            self.found, self.line, self.column
        )
    }
}

impl std::error::Error for EscapeError {}

/// Decodes `\r`, `\n`, `\t`, `\\` and `\xNN` in `text`; every other byte is kept as it is
/// (a real line break in a file is sent as one).
pub fn decode_escapes(text: &[u8]) -> Result<Vec<u8>, EscapeError> {
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        let b = text[i];
        if b != b'\\' {
            out.push(b);
            i += 1;
            continue;
        }
        let hex = |at: usize| {
            text.get(at)
                .and_then(|&c| (c as char).to_digit(16))
                .map(|d| d as u8)
        };
        let (byte, len) = match text.get(i + 1) {
            Some(b'r') => (b'\r', 2),
            Some(b'n') => (b'\n', 2),
            Some(b't') => (b'\t', 2),
            Some(b'\\') => (b'\\', 2),
            Some(b'x') => match (hex(i + 2), hex(i + 3)) {
                (Some(hi), Some(lo)) => (hi << 4 | lo, 4),
                _ => return Err(escape_error(text, i)),
            },
            _ => return Err(escape_error(text, i)),
        };
        out.push(byte);
        i += len;
    }
    Ok(out)
}

fn escape_error(text: &[u8], at: usize) -> EscapeError {
    let before = &text[..at];
    let line = 1 + before.iter().filter(|&&b| b == b'\n').count();
    let column = at
        - before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |p| p + 1)
        + 1;
    let end = (at + 4).min(text.len());
    EscapeError {
        line,
        column,
        found: String::from_utf8_lossy(&text[at..end]).into_owned(),
    }
}

/// What ends the responses on one connection: HTTP/1.1, or raw TCP's length or delimiter.
#[derive(Debug)]
pub enum Framer {
    /// HTTP/1.1 responses.
    Http(ResponseParser),
    /// Raw TCP responses.
    Raw(RawFramer),
}

impl Framer {
    /// A framer for a run: raw when the run has a raw exchange, else HTTP for `method`.
    pub fn new(raw: Option<&RawExchange>, method: &str) -> Framer {
        match raw {
            Some(raw) => Framer::Raw(RawFramer::new(&raw.end)),
            None => Framer::Http(ResponseParser::new(method)),
        }
    }

    /// Feeds bytes read from the connection.
    #[inline]
    pub fn feed(&mut self, data: &[u8]) -> Result<Progress, ParseError> {
        match self {
            Framer::Http(p) => p.feed(data),
            Framer::Raw(r) => Ok(r.feed(data)),
        }
    }

    /// The peer closed the connection: a response that ends there, if the framing allows
    /// one (an HTTP body delimited by the close; never a raw one).
    pub fn eof(&mut self) -> Option<Response> {
        match self {
            Framer::Http(p) => p.eof(),
            Framer::Raw(_) => None,
        }
    }

    /// Prepares for the next response on the same connection.
    #[inline]
    pub fn reset(&mut self) {
        match self {
            Framer::Http(p) => p.reset(),
            Framer::Raw(r) => r.reset(),
        }
    }

    /// Whether any byte of the current response has arrived since the last reset.
    pub fn started(&self) -> bool {
        match self {
            Framer::Http(p) => p.started(),
            Framer::Raw(r) => r.seen > 0,
        }
    }

    /// The current response's counted bytes: an HTTP body, or every byte of a raw response.
    #[inline]
    pub fn body_bytes(&self) -> u64 {
        match self {
            Framer::Http(p) => p.body_bytes,
            Framer::Raw(r) => r.seen,
        }
    }
}

/// The framing of raw TCP responses, one at a time.
#[derive(Debug)]
pub struct RawFramer {
    end: RawEnd,
    /// Bytes of the current response so far.
    seen: u64,
}

#[derive(Debug)]
enum RawEnd {
    Bytes(u64),
    Delimiter {
        delimiter: Box<[u8]>,
        /// KMP failure function: for each prefix length `k + 1`, the longest proper
        /// prefix of the delimiter that is also a suffix of that prefix.
        fail: Box<[usize]>,
        /// How many bytes of the delimiter the latest bytes match.
        matched: usize,
    },
}

impl RawFramer {
    /// A framer for responses that end as `end` says.
    pub fn new(end: &ResponseEnd) -> RawFramer {
        let end = match end {
            ResponseEnd::Bytes(n) => RawEnd::Bytes(*n),
            ResponseEnd::Delimiter(d) => RawEnd::Delimiter {
                fail: failure(d),
                delimiter: d.clone().into_boxed_slice(),
                matched: 0,
            },
        };
        RawFramer { end, seen: 0 }
    }

    fn reset(&mut self) {
        self.seen = 0;
        if let RawEnd::Delimiter { matched, .. } = &mut self.end {
            *matched = 0;
        }
    }

    fn feed(&mut self, data: &[u8]) -> Progress {
        let used = match &mut self.end {
            RawEnd::Bytes(n) => {
                let left = *n - self.seen.min(*n);
                let take = (data.len() as u64).min(left) as usize;
                (take as u64 == left).then_some(take)
            }
            RawEnd::Delimiter {
                delimiter,
                fail,
                matched,
            } => find_end(delimiter, fail, matched, data),
        };
        let Some(used) = used else {
            self.seen += data.len() as u64;
            return Progress::More;
        };
        self.seen += used as u64;
        Progress::Done(Response {
            status: NO_STATUS,
            keep_alive: true,
            trailing: data.len() - used,
        })
    }
}

/// The KMP failure function of a non-empty `delimiter`.
fn failure(delimiter: &[u8]) -> Box<[usize]> {
    let mut fail = vec![0; delimiter.len()];
    let mut k = 0;
    for i in 1..delimiter.len() {
        while k > 0 && delimiter[i] != delimiter[k] {
            k = fail[k - 1];
        }
        if delimiter[i] == delimiter[k] {
            k += 1;
        }
        fail[i] = k;
    }
    fail.into_boxed_slice()
}

/// Advances the match of `delimiter` over `data`; returns the bytes of `data` up to and
/// including the delimiter's end, if it ends in `data`.
fn find_end(delimiter: &[u8], fail: &[usize], matched: &mut usize, data: &[u8]) -> Option<usize> {
    let first = *delimiter.first()?;
    let mut i = 0;
    while i < data.len() {
        if *matched == 0 {
            // Nothing matched: skip straight to the delimiter's first byte.
            i += data[i..].iter().position(|&b| b == first)?;
        }
        let b = data[i];
        while *matched > 0 && delimiter[*matched] != b {
            *matched = fail[*matched - 1];
        }
        if delimiter[*matched] == b {
            *matched += 1;
        }
        i += 1;
        if *matched == delimiter.len() {
            *matched = 0;
            return Some(i);
        }
    }
    None
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn done(trailing: usize) -> Progress {
        Progress::Done(Response {
            status: NO_STATUS,
            keep_alive: true,
            trailing,
        })
    }

    fn raw(end: ResponseEnd) -> Framer {
        Framer::new(
            Some(&RawExchange {
                send: b"x".to_vec(),
                end,
            }),
            "GET",
        )
    }

    #[test]
    fn escapes_decode_and_other_bytes_stay() {
        let text = b"PING\\r\\n\\t\\\\\\x00\\xfF real\nline";
        let want = b"PING\r\n\t\\\x00\xff real\nline";
        assert_eq!(decode_escapes(text).unwrap(), want.to_vec());
        assert_eq!(decode_escapes(b"").unwrap(), Vec::<u8>::new());
    }

    #[test]
    fn a_bad_escape_names_its_place() {
        for (text, line, column, found) in [
            (&b"ab\\q"[..], 1, 3, "\\q"),
            (b"a\nbc\\x4", 2, 3, "\\x4"),
            (b"\\xZZ", 1, 1, "\\xZZ"),
            (b"end\\", 1, 4, "\\"),
        ] {
            let e = decode_escapes(text).unwrap_err();
            assert_eq!((e.line, e.column, e.found.as_str()), (line, column, found));
            assert!(e.to_string().contains(found), "{e}");
        }
    }

    #[test]
    fn a_fixed_length_ends_after_its_bytes_split_anywhere() {
        let msg = b"0123456789";
        for cut in 0..=msg.len() {
            let mut f = raw(ResponseEnd::Bytes(10));
            let first = f.feed(&msg[..cut]).unwrap();
            if cut < msg.len() {
                assert_eq!(first, Progress::More, "cut at {cut}");
                assert_eq!(f.feed(&msg[cut..]).unwrap(), done(0), "cut at {cut}");
            } else {
                assert_eq!(first, done(0));
            }
            assert_eq!(f.body_bytes(), 10);
        }
    }

    #[test]
    fn bytes_beyond_the_end_are_trailing() {
        let mut f = raw(ResponseEnd::Bytes(4));
        assert_eq!(f.feed(b"ab").unwrap(), Progress::More);
        assert_eq!(f.feed(b"cdEXTRA").unwrap(), done(5));
        let mut f = raw(ResponseEnd::Delimiter(b"\r\n".to_vec()));
        assert_eq!(f.feed(b"PONG\r\nPONG\r\n").unwrap(), done(6));
        assert_eq!(f.body_bytes(), 6);
    }

    #[test]
    fn a_delimiter_split_across_reads_is_found() {
        let msg = b"+OK hello\r\n";
        for cut in 1..msg.len() {
            let mut f = raw(ResponseEnd::Delimiter(b"\r\n".to_vec()));
            assert_eq!(f.feed(&msg[..cut]).unwrap(), Progress::More, "cut at {cut}");
            assert_eq!(f.feed(&msg[cut..]).unwrap(), done(0), "cut at {cut}");
            assert_eq!(f.body_bytes(), msg.len() as u64);
        }
        // One byte at a time.
        let mut f = raw(ResponseEnd::Delimiter(b"\r\n".to_vec()));
        let (last, before) = msg.split_last().unwrap();
        for b in before {
            assert_eq!(f.feed(&[*b]).unwrap(), Progress::More);
        }
        assert_eq!(f.feed(&[*last]).unwrap(), done(0));
    }

    #[test]
    fn a_self_overlapping_delimiter_is_not_missed() {
        // A naive restart after the mismatch at "abab|a" would miss "ababc".
        let mut f = raw(ResponseEnd::Delimiter(b"ababc".to_vec()));
        assert_eq!(f.feed(b"xxabab").unwrap(), Progress::More);
        assert_eq!(f.feed(b"abcYY").unwrap(), done(2));
        let mut f = raw(ResponseEnd::Delimiter(b"aab".to_vec()));
        assert_eq!(f.feed(b"aaaab").unwrap(), done(0));
    }

    #[test]
    fn reset_forgets_a_partial_match_and_a_close_is_no_response() {
        let mut f = raw(ResponseEnd::Delimiter(b"END".to_vec()));
        assert!(!f.started());
        assert_eq!(f.feed(b"xxEN").unwrap(), Progress::More);
        assert!(f.started());
        assert_eq!(f.eof(), None);
        f.reset();
        assert!(!f.started());
        assert_eq!(f.feed(b"D").unwrap(), Progress::More);
        assert_eq!(f.feed(b"END").unwrap(), done(0));
        assert_eq!(f.body_bytes(), 4);
    }

    #[test]
    fn http_runs_keep_the_http_parser() {
        let mut f = Framer::new(None, "GET");
        let r = f.feed(b"HTTP/1.1 204 No Content\r\n\r\n").unwrap();
        assert!(matches!(r, Progress::Done(Response { status: 204, .. })));
    }
}
