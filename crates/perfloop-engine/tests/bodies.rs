//! Requests with several bodies: each connection sends them in turn.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

#[test]
fn alternate_bodies_are_sent_in_turn() {
    let (addr, stats) = common::start_axum();
    let mut config = common::closed_n(&common::url(addr, "/echo"), 1, 9);
    config.threads = 1;
    config.request.method = "POST".into();
    config.request.body = b"a".to_vec();
    config.request.alternate_bodies = vec![b"bb".to_vec(), b"cccc".to_vec()];
    let outcome = common::run_to_end(&config);
    common::assert_consistent(&outcome);
    assert_eq!(outcome.counts.ok, 9);
    // /echo answers with the body it got: three rounds of 1 + 2 + 4 bytes.
    assert_eq!(outcome.counts.body_bytes, 3 * (1 + 2 + 4));
    assert_eq!(stats.requests.load(std::sync::atomic::Ordering::Relaxed), 9);
}
