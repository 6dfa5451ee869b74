//! The Prometheus text parser on a real exposition (a Go client's `/metrics`: counters,
//! gauges, a histogram with `le` buckets, summaries with NaN quantiles, escaped label
//! values, a timestamp), and scraping an in-process HTTP server with a match expression.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use perfloop_monitor::{
    MetricKind, MonitorError, PromSample, Recording, Sampler, SamplerConfig, ScrapeConfig,
    parse_text,
};

const GO_METRICS: &str = include_str!("data/go_client_metrics.txt");

fn find<'a>(samples: &'a [PromSample], key: &str) -> &'a PromSample {
    samples
        .iter()
        .find(|s| s.series_key() == key)
        .unwrap_or_else(|| panic!("no series {key}"))
}

#[test]
fn go_client_exposition_parses_completely() {
    let samples = parse_text(GO_METRICS).unwrap();
    assert_eq!(samples.len(), 60);

    let gc = find(&samples, r#"go_gc_duration_seconds{quantile="0.5"}"#);
    assert_eq!((gc.value, gc.kind), (4.0041e-05, MetricKind::Summary));
    assert_eq!(find(&samples, "go_gc_duration_seconds_count").value, 212.0);
    assert_eq!(
        find(&samples, "go_memstats_alloc_bytes_total").kind,
        MetricKind::Counter
    );
    assert_eq!(find(&samples, "go_goroutines").kind, MetricKind::Gauge);
    assert_eq!(
        find(&samples, "go_memstats_last_gc_time_seconds").value,
        1.720_453_127_316_489_5e9
    );
    assert_eq!(
        find(&samples, "match_temperature_delta_celsius").value,
        -3.25
    );

    // The histogram: cumulative buckets ending in +Inf, which equals the count.
    let buckets: Vec<&PromSample> = samples
        .iter()
        .filter(|s| {
            s.name == "http_request_duration_seconds_bucket"
                && s.labels.contains(&("handler".into(), "/match".into()))
        })
        .collect();
    assert_eq!(buckets.len(), 12);
    assert!(buckets.iter().all(|b| b.kind == MetricKind::Histogram));
    assert!(buckets.windows(2).all(|w| w[0].value <= w[1].value));
    let le: Vec<&str> = buckets
        .iter()
        .map(|b| {
            b.labels
                .iter()
                .find(|(k, _)| k == "le")
                .map(|(_, v)| v.as_str())
                .unwrap()
        })
        .collect();
    assert_eq!(le.first(), Some(&"0.005"));
    assert_eq!(le.last(), Some(&"+Inf"));
    let count = find(
        &samples,
        r#"http_request_duration_seconds_count{handler="/match",method="post"}"#,
    );
    assert_eq!(count.kind, MetricKind::Histogram);
    assert_eq!(buckets.last().unwrap().value, count.value);
    let sum = find(
        &samples,
        r#"http_request_duration_seconds_sum{handler="/match",method="post"}"#,
    );
    assert!((sum.value - 98.404_129_076).abs() < 1e-9);

    // Escapes in label values.
    let info = samples.iter().find(|s| s.name == "app_build_info").unwrap();
    let label = |k: &str| {
        info.labels
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    assert_eq!(label("path"), r"C:\build\app");
    assert_eq!(label("note"), "said \"hi\"\nthen left");
    assert!(
        info.series_key()
            .contains(r#"note="said \"hi\"\nthen left""#)
    );

    // NaN quantiles, an untyped series with a timestamp, +Inf.
    let nan = find(
        &samples,
        r#"rpc_durations_seconds{quantile="0.99",service="exponential"}"#,
    );
    assert!(nan.value.is_nan());
    let legacy = find(&samples, r#"legacy_queue_depth{queue="ingest"}"#);
    assert_eq!(legacy.kind, MetricKind::Untyped);
    assert_eq!(legacy.timestamp, Some(1_720_453_112_810.0));
    assert_eq!(find(&samples, "legacy_ratio").value, f64::INFINITY);
}

/// Serves `body` to every connection; reports each response on the channel.
fn serve(body: &'static str) -> (String, mpsc::Receiver<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut req = Vec::new();
            let mut b = [0u8; 1024];
            while !req.ends_with(b"\r\n\r\n") {
                match s.read(&mut b) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => req.extend_from_slice(&b[..n]),
                }
            }
            assert!(req.starts_with(b"GET /metrics HTTP/1.1\r\n"));
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n\
                 Content-Length: {}\r\n\r\n",
                body.len()
            );
            let _ = s.write_all(head.as_bytes());
            let _ = s.write_all(body.as_bytes());
            drop(s);
            if tx.send(()).is_err() {
                return;
            }
        }
    });
    (format!("http://{addr}/metrics"), rx)
}

#[test]
fn scraping_keeps_the_matching_series_every_interval() {
    let (url, served) = serve(GO_METRICS);
    let pattern = r#"^http_request_duration_seconds_count\{.*handler="/match"|^promhttp_metric_handler_requests_total\{code="200"\}$|^rpc_durations_seconds\{quantile="0.99""#;
    let mut config = SamplerConfig::new(Instant::now());
    config.interval = Duration::from_millis(100);
    config.scrape = Some(ScrapeConfig::new(&url, Some(pattern)).unwrap());
    let handle = Sampler::start(config).unwrap();
    for _ in 0..3 {
        served.recv_timeout(Duration::from_secs(10)).unwrap();
    }
    let rec = handle.stop();

    let mut keys: Vec<&str> = rec.scraped.iter().map(|s| s.key.as_str()).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        vec![
            r#"http_request_duration_seconds_count{handler="/match",method="post"}"#,
            r#"promhttp_metric_handler_requests_total{code="200"}"#,
            r#"rpc_durations_seconds{quantile="0.99",service="exponential"}"#,
        ]
    );
    for s in &rec.scraped {
        assert!(s.points.len() >= 3, "{}: {:?}", s.key, s.points);
        assert!(s.points.windows(2).all(|w| w[0].t_s < w[1].t_s));
    }
    let count = &rec
        .scraped
        .iter()
        .find(|s| s.name.ends_with("_count"))
        .unwrap();
    assert_eq!(count.kind, MetricKind::Histogram);
    assert!(count.points.iter().all(|p| p.value == 10000.0));
    assert_eq!(count.labels.get("method").map(String::as_str), Some("post"));
    assert!(rec.summary.scrapes >= 3);
    assert_eq!(rec.summary.scrape_failures, 0);
    assert!(rec.errors.is_empty(), "{:?}", rec.errors);

    // NaN survives the trip through the run's JSON.
    let json = serde_json::to_string(&rec).unwrap();
    assert!(json.contains("\"NaN\""));
    let back: Recording = serde_json::from_str(&json).unwrap();
    assert_eq!(back.samples.len(), rec.samples.len());
    assert_eq!(back.summary.scrapes, rec.summary.scrapes);
    let nan = back
        .scraped
        .iter()
        .find(|s| s.name == "rpc_durations_seconds")
        .unwrap();
    assert!(nan.points.iter().all(|p| p.value.is_nan()));
    let count = back
        .scraped
        .iter()
        .find(|s| s.name.ends_with("_count"))
        .unwrap();
    assert!(count.points.iter().all(|p| p.value == 10000.0));
}

#[test]
fn a_failing_endpoint_is_counted_never_fatal() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut config = SamplerConfig::new(Instant::now());
    config.interval = Duration::from_millis(100);
    config.scrape =
        Some(ScrapeConfig::new(&format!("http://127.0.0.1:{port}/metrics"), None).unwrap());
    let rec = Sampler::start(config).unwrap().stop();
    assert!(rec.summary.scrapes >= 1);
    assert_eq!(rec.summary.scrape_failures, rec.summary.scrapes);
    assert!(rec.scraped.is_empty());
    assert!(
        rec.errors
            .iter()
            .any(|e| e.contains("scrape") && e.contains("connect")),
        "{:?}",
        rec.errors
    );
}

#[test]
fn an_unparsable_exposition_is_a_failed_scrape() {
    let (url, served) = serve("good 1\nbad{x=\"1\" 2\n");
    let mut config = SamplerConfig::new(Instant::now());
    config.interval = Duration::from_millis(100);
    config.scrape = Some(ScrapeConfig::new(&url, None).unwrap());
    let handle = Sampler::start(config).unwrap();
    served.recv_timeout(Duration::from_secs(10)).unwrap();
    let rec = handle.stop();
    assert!(rec.summary.scrape_failures >= 1);
    assert!(
        rec.errors.iter().any(|e| e.contains("line 2")),
        "{:?}",
        rec.errors
    );
}

#[test]
fn bad_scrape_settings_are_refused_up_front() {
    assert!(matches!(
        ScrapeConfig::new("https://127.0.0.1/metrics", None),
        Err(MonitorError::InvalidUrl { .. })
    ));
    assert!(matches!(
        ScrapeConfig::new("http://127.0.0.1/metrics", Some("go_(")),
        Err(MonitorError::InvalidRegex(_))
    ));
}
