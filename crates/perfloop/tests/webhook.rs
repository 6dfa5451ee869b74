//! Alert webhooks against in-process servers: a server that fails the first POSTs gets each
//! event once and in order; a server that never answers in time neither slows `send` down
//! nor keeps `finish` past its deadline; a full queue drops and counts; bad URLs are refused.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;
#[allow(dead_code)]
#[path = "../src/webhook.rs"]
mod webhook;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use serde_json::{Value, json};
use webhook::{Webhook, WebhookError, WebhookOptions, WebhookSummary};

fn event(t_s: u64) -> Value {
    json!({"rule": "p99 > 200ms for 10s", "state": "firing", "t_s": t_s, "value": 250.3,
        "threshold": 200.0, "at": "2025-01-31T12:00:12Z"})
}

/// A server that answers 500 to its first `failures` POSTs, then keeps what it is sent.
fn flaky_server(failures: u64) -> (String, Arc<Mutex<Vec<Value>>>, Arc<AtomicU64>) {
    let received = Arc::new(Mutex::new(Vec::new()));
    let attempts = Arc::new(AtomicU64::new(0));
    let (kept, counted) = (received.clone(), attempts.clone());
    let app = Router::new().route(
        "/hook",
        post(move |headers: HeaderMap, body: String| {
            let (kept, counted) = (kept.clone(), counted.clone());
            async move {
                if counted.fetch_add(1, Ordering::SeqCst) < failures {
                    return StatusCode::INTERNAL_SERVER_ERROR;
                }
                assert_eq!(headers["content-type"], "application/json");
                kept.lock()
                    .unwrap()
                    .push(serde_json::from_str(&body).unwrap());
                StatusCode::NO_CONTENT
            }
        }),
    );
    let addr = common::serve(app);
    (format!("http://{addr}/hook"), received, attempts)
}

/// A server that takes 10 s to answer each POST.
fn slow_server() -> String {
    let app = Router::new().route(
        "/hook",
        post(|| async {
            tokio::time::sleep(Duration::from_secs(10)).await;
            StatusCode::OK
        }),
    );
    format!("http://{}/hook", common::serve(app))
}

#[test]
fn failed_posts_are_retried_and_each_event_arrives_once_in_order() {
    let (url, received, attempts) = flaky_server(2);
    let hook = Webhook::start(&url).unwrap();
    for t in 0..3 {
        hook.send(event(t));
    }
    let summary = hook.finish(Duration::from_secs(20));
    assert_eq!(
        summary,
        WebhookSummary {
            sent: 3,
            failed: 0,
            dropped: 0
        }
    );
    let got = received.lock().unwrap().clone();
    assert_eq!(got, vec![event(0), event(1), event(2)]);
    // Two refusals of the first event, then one POST each.
    assert_eq!(attempts.load(Ordering::SeqCst), 5);
}

#[test]
fn a_client_error_is_not_retried_and_counts_as_failed() {
    let attempts = Arc::new(AtomicU64::new(0));
    let counted = attempts.clone();
    let app = Router::new().route(
        "/hook",
        post(move || {
            counted.fetch_add(1, Ordering::SeqCst);
            async { StatusCode::NOT_FOUND }
        }),
    );
    let url = format!("http://{}/hook", common::serve(app));
    let hook = Webhook::start(&url).unwrap();
    hook.send(event(1));
    hook.send(event(2));
    let summary = hook.finish(Duration::from_secs(10));
    assert_eq!((summary.sent, summary.failed, summary.dropped), (0, 2, 0));
    assert_eq!(attempts.load(Ordering::SeqCst), 2);
}

#[test]
fn gives_up_after_its_attempts() {
    let (url, received, attempts) = flaky_server(u64::MAX);
    let options = WebhookOptions {
        attempts: 3,
        first_backoff: Duration::from_millis(20),
        ..WebhookOptions::default()
    };
    let hook = Webhook::start_with(&url, options).unwrap();
    hook.send(event(1));
    let summary = hook.finish(Duration::from_secs(10));
    assert_eq!((summary.sent, summary.failed), (0, 1));
    assert_eq!(attempts.load(Ordering::SeqCst), 3);
    assert!(received.lock().unwrap().is_empty());
}

#[test]
fn a_slow_server_neither_blocks_send_nor_keeps_finish_past_its_deadline() {
    let hook = Webhook::start(&slow_server()).unwrap();
    let start = Instant::now();
    for t in 0..100 {
        hook.send(event(t));
    }
    // A blocking send would take 10 s per event.
    let sending = start.elapsed();
    assert!(sending < Duration::from_millis(250), "{sending:?}");
    let start = Instant::now();
    let summary = hook.finish(Duration::from_millis(1500));
    let finishing = start.elapsed();
    assert!(finishing < Duration::from_millis(2500), "{finishing:?}");
    assert_eq!(
        summary,
        WebhookSummary {
            sent: 0,
            failed: 100,
            dropped: 0
        }
    );
}

#[test]
fn a_full_queue_drops_and_counts() {
    let options = WebhookOptions {
        queue: 4,
        ..WebhookOptions::default()
    };
    let hook = Webhook::start_with(&slow_server(), options).unwrap();
    for t in 0..100 {
        hook.send(event(t));
    }
    let summary = hook.finish(Duration::from_millis(300));
    assert_eq!(summary.sent, 0);
    assert_eq!(summary.failed + summary.dropped, 100);
    // The queue holds 4, and the thread may have taken one out to send.
    assert!((95..=96).contains(&summary.dropped), "{summary:?}");
}

#[test]
fn only_http_and_https_urls_are_taken() {
    for url in [
        "tcp://127.0.0.1:9",
        "ftp://example.com/",
        "example.com/hook",
        "",
    ] {
        let e = Webhook::start(url).unwrap_err();
        let text = e.to_string();
        assert!(text.starts_with("webhook: "), "{text}");
        assert!(
            matches!(e, WebhookError::Url(_) | WebhookError::Scheme { .. }),
            "{url}: {e:?}"
        );
    }
    let e = Webhook::start("tcp://127.0.0.1:9").unwrap_err();
    assert!(
        e.to_string()
            .contains("expected an http:// or https:// URL"),
        "{e}"
    );
    // Secrets in the URL are not repeated in the error.
    let e = Webhook::start("tcp://127.0.0.1:9?token=hunter2").unwrap_err();
    assert!(!e.to_string().contains("hunter2"), "{e}");
    Webhook::start("https://127.0.0.1:9/hook")
        .unwrap()
        .finish(Duration::ZERO);
}
