//! `--io`: which backend a run uses, and the runs io_uring refuses.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use common::*;
use perfloop_engine::spec::{Given, LoadSpec};
use perfloop_engine::{Backend, ConfigError, IoChoice, RunError, Silent, run};

#[test]
fn auto_runs_plain_http_on_io_uring_where_the_kernel_has_it() {
    // This machine's kernel (6.x) has io_uring; a kernel without it falls back to epoll.
    let (addr, _) = start_axum();
    let mut c = closed_n(&url(addr, "/"), 4, 200);
    c.target.io = IoChoice::Auto;
    let o = run(&c, no_stop(), &mut Silent).unwrap();
    assert_eq!(o.backend, Backend::Uring);
    assert_eq!(o.counts.ok, 200, "{:?}", o.counts);
    assert_consistent(&o);
}

#[test]
fn both_backends_count_the_same_requests() {
    let (addr, stats) = start_axum();
    for io in [IoChoice::Epoll, IoChoice::Uring] {
        let before = stats.requests.load(std::sync::atomic::Ordering::Relaxed);
        let mut c = closed_n(&url(addr, "/"), 3, 150);
        c.target.io = io;
        let o = run_to_end(&c);
        let served = stats.requests.load(std::sync::atomic::Ordering::Relaxed) - before;
        assert_eq!((o.counts.ok, served), (150, 150), "{io:?}: {:?}", o.counts);
        assert_eq!(o.counts.body_bytes, 150 * 12);
        assert_consistent(&o);
    }
}

#[test]
fn io_uring_with_tls_http2_or_raw_tcp_is_bad_input() {
    let e = |spec: LoadSpec| spec.resolve().unwrap_err().to_string();
    let mut tls = LoadSpec::new("https://127.0.0.1:9/");
    tls.request.io = Given::Text("uring".into());
    assert!(e(tls).contains("--io uring drives plain HTTP/1.1 only; TLS"));
    let mut h2 = LoadSpec::new("http://127.0.0.1:9/");
    h2.request.io = Given::Value(IoChoice::Uring);
    h2.request.http2 = true;
    assert!(e(h2).contains("HTTP/2"));
    let mut bad = LoadSpec::new("http://127.0.0.1:9/");
    bad.request.io = Given::Text("kqueue".into());
    assert!(e(bad).contains("invalid --io 'kqueue'"));

    // The engine refuses it too, before connecting.
    let mut c = closed(&url(dead_addr(), "/"), 1);
    c.target = perfloop_engine::Target::parse("https://127.0.0.1:9/").unwrap();
    c.target.io = IoChoice::Uring;
    match run(&c, no_stop(), &mut Silent) {
        Err(RunError::Config(ConfigError::Invalid(m))) => assert!(m.contains("TLS"), "{m}"),
        other => panic!("expected a config error, got {other:?}"),
    }
    // With auto, the same runs go to epoll without a word.
    let mut auto = LoadSpec::new("https://127.0.0.1:9/");
    auto.request.io = Given::Text("auto".into());
    assert_eq!(auto.resolve().unwrap().config.target.io, IoChoice::Auto);
}

#[test]
fn io_uring_honours_the_stop_flag() {
    let (addr, _) = start_axum();
    let mut c = closed(&url(addr, "/sleep/50"), 4);
    c.target.io = IoChoice::Uring;
    c.limits.duration = Some(std::time::Duration::from_secs(30));
    let (o, took) = run_interrupted(&c, std::time::Duration::from_millis(300));
    assert_eq!(o.backend, Backend::Uring);
    assert!(took < std::time::Duration::from_secs(3), "{took:?}");
    assert_eq!(o.ending, perfloop_engine::Ending::Interrupted);
    assert!(o.counts.ok > 0, "{:?}", o.counts);
}

#[test]
fn large_responses_on_many_connections_are_read_whole_on_both_backends() {
    // 256 KiB per response, on more connections than a worker has receive buffers for:
    // io_uring's multishot receives run out of buffers and are posted again.
    const BODY: usize = 256 * 1024;
    static RESPONSE: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    let response = RESPONSE.get_or_init(|| {
        let mut r = format!("HTTP/1.1 200 OK\r\nContent-Length: {BODY}\r\n\r\n").into_bytes();
        r.resize(r.len() + BODY, b'x');
        r
    });
    let addr = start_raw(move |s| serve_each(s, response));
    for io in [IoChoice::Epoll, IoChoice::Uring] {
        let mut c = closed_n(&url(addr, "/"), 96, 480);
        c.target.io = io;
        let o = run_to_end(&c);
        assert_eq!(o.counts.ok, 480, "{io:?}: {:?}", o.counts);
        assert_eq!(o.counts.body_bytes, 480 * BODY as u64, "{io:?}");
        assert_consistent(&o);
    }
}
