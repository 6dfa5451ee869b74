//! Bodies are counted, never stored: reading hundreds of megabytes of body leaves the
//! process's peak memory where it was. Alone in its test binary so that nothing else moves
//! the peak.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::io::Write;
use std::time::Duration;

use common::*;

const BODY: u64 = 64 << 20;
const RESPONSES: u64 = 4;

#[test]
fn large_bodies_are_counted_not_stored() {
    let addr = start_raw(|mut s| {
        let piece = vec![b'x'; 256 << 10];
        while read_request(&mut s) {
            let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {BODY}\r\n\r\n");
            if s.write_all(head.as_bytes()).is_err() {
                return;
            }
            for _ in 0..BODY / piece.len() as u64 {
                if s.write_all(&piece).is_err() {
                    return;
                }
            }
        }
    });
    // A small run first, so that one-time allocations are behind us.
    let mut c = closed_n(&url(addr, "/"), 1, 1);
    c.limits.timeout = Duration::from_secs(20);
    assert_eq!(run_to_end(&c).counts.ok, 1);

    let before = peak_rss_kib();
    c.limits.requests = Some(RESPONSES);
    let o = run_to_end(&c);
    let grown_kib = peak_rss_kib().saturating_sub(before);
    assert_consistent(&o);
    assert_eq!(o.counts.ok, RESPONSES, "{:?}", o.counts);
    assert_eq!(o.counts.body_bytes, RESPONSES * BODY);
    assert!(
        grown_kib < 16 << 10,
        "peak memory grew by {grown_kib} KiB while reading {} MiB of body",
        (RESPONSES * BODY) >> 20
    );
}
