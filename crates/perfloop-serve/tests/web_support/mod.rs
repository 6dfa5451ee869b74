//! What the dashboard's tests share: a store filled with runs built here, a server on
//! 127.0.0.1 port 0 over it, and a small HTTP/1.1 client over `std::net::TcpStream`.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use perfloop_report::{Headline, RunRecord};
use perfloop_serve::{ServeOptions, Server};
use perfloop_stats::grid;
use perfloop_store::{HistoryRun, Location, RunKind, Store};
use serde_json::{Value, json};

/// A fresh directory under the system's temporary one.
pub fn scratch(name: &str) -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let dir = std::env::temp_dir().join(format!(
        "perfloop-serve-{name}-{}-{}-{nanos}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The latency (ms) at the top of grid bucket `i`.
pub fn bucket_ms(i: u32) -> f64 {
    grid::upper_us(i) / 1000.0
}

/// A load run record of `seconds` seconds against `url`: second `t` holds `100 + t`
/// requests, all in grid bucket `700 + t` (about 1.1 ms and up), `t % 3` errors; the
/// target watched every half second.
pub fn load_record(url: &str, seconds: u64) -> Value {
    let timeline: Vec<Value> = (0..seconds)
        .map(|t| {
            let ms = bucket_ms(700 + t as u32);
            json!({"t_s": t, "length_s": 1.0, "requests": 100 + t, "errors": t % 3,
                "rps": (100 + t) as f64, "p50_ms": ms, "p90_ms": ms, "p99_ms": ms, "max_ms": ms,
                "latency_buckets": [[700 + t, 100 + t]]})
        })
        .collect();
    let samples: Vec<Value> = (0..2 * seconds)
        .map(|i| {
            let t = (i + 1) as f64 * 0.5;
            json!({"t_s": t, "interval_s": 0.5, "cpu_pct": 50.0, "top_thread_cpu_pct": 30.0,
                "rss_mb": 100.0 + t, "processes": 1, "host_cpu_pct": 20.0,
                "host_mem_used_mb": 900.0, "host_mem_total_mb": 4000.0, "generator_cpu_pct": 10.0})
        })
        .collect();
    let total: u64 = (0..seconds).map(|t| 100 + t).sum();
    let errors: u64 = (0..seconds).map(|t| t % 3).sum();
    let p50 = bucket_ms(700 + (seconds / 2) as u32);
    let latency = json!({"count": total - errors, "min": 1.0, "mean": p50, "stdev": 0.1,
        "p50": p50, "p75": p50, "p90": p50, "p95": p50, "p99": p50, "p99_9": p50,
        "max": bucket_ms(700 + seconds as u32)});
    json!({
        "schema": "perfloop.run.v1", "perfloop_version": "0.1.0",
        "started_at": "2026-01-31T12:00:00Z",
        "target": {"url": url, "method": "GET", "header_names": [], "pid": 4242,
            "samples": samples},
        "load": {"model": "closed", "connections": 4, "max_connections": null, "rate": null,
            "duration_s": seconds as f64, "warmup_s": 0.0, "threads": 1, "request_limit": null,
            "timeout_s": 5.0, "stages": null, "level": null},
        "requests": {"total": total, "ok": total - errors, "errors": errors, "dropped": 0,
            "unfinished": 0, "by_status": {"200": total - errors},
            "errors_by_kind": {"timeout": errors}},
        "throughput_rps": total as f64 / seconds as f64, "in_flight_mean": 1.0,
        "bytes_received": 1000,
        "latency_ms": latency,
        "latency_histogram": [{"le_ms": 2.0, "count": total - errors}],
        "open_model": null,
        "generator": {"cpu_user_s": 0.1, "cpu_sys_s": 0.1, "cpu_us_per_request": 10.0,
            "threads_busy": [0.1], "saturated": false},
        "timeline": timeline,
        "slo": [],
        "ending": "completed",
        "warnings": []
    })
}

/// A run saved in `store`: a load run of `record`, started `minutes` after a fixed time,
/// with `tags`; its id.
pub fn save_load(store: &Store, record: &Value, minutes: u64, tags: &[(&str, &str)]) -> i64 {
    let parsed: RunRecord = serde_json::from_value(record.clone()).expect("a valid run record");
    let run = HistoryRun {
        kind: RunKind::Load,
        started_at: UNIX_EPOCH + Duration::from_secs(1_769_860_800 + minutes * 60),
        target: parsed.target.url.clone(),
        command_line: "perfloop load http://127.0.0.1:1/ -d 3s".to_owned(),
        perfloop_version: "0.1.0".to_owned(),
        host_json: json!({"hostname": "test"}).to_string(),
        git_commit: Some("0123456789abcdef".to_owned()),
        git_branch: Some("main".to_owned()),
        tags: tags
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        metrics_json: serde_json::to_string(&Headline::of_run(&parsed)).unwrap(),
        record_json: record.to_string(),
        study: None,
    };
    store.save_run(&run).unwrap().get()
}

/// A store with three load runs: ids `[first, second, third]`, the third tagged
/// `branch=feature` and with a tag value that is markup.
pub fn filled_store(name: &str) -> (Location, Vec<i64>) {
    let path = scratch(name).join("perfloop.db");
    let store = Store::open(&path).unwrap();
    let url = "http://127.0.0.1:8080/items";
    let a = save_load(&store, &load_record(url, 6), 0, &[("branch", "main")]);
    let b = save_load(&store, &load_record(url, 10), 1, &[("branch", "main")]);
    let c = save_load(
        &store,
        &load_record(url, 8),
        2,
        &[("branch", "feature"), ("note", "<script>alert(1)</script>")],
    );
    (Location::Sqlite(path), vec![a, b, c])
}

/// A server on 127.0.0.1, port 0, over `store`.
pub fn serve(store: Option<Location>, token: Option<&str>) -> Server {
    Server::start(
        ServeOptions {
            bind: "127.0.0.1:0".to_owned(),
            token: token.map(str::to_owned),
            store,
        },
        None,
    )
    .unwrap()
}

/// An HTTP response.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    /// The first header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

/// `GET path` with `headers` (Host is 127.0.0.1:PORT unless given).
pub fn get(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> Reply {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut request = format!("GET {path} HTTP/1.1\r\nConnection: close\r\n");
    if !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("host")) {
        request.push_str(&format!("Host: {addr}\r\n"));
    }
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    parse(&raw)
}

fn parse(raw: &[u8]) -> Reply {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a header block");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    let chunked = headers.iter().any(|(n, v)| {
        n.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
    });
    if chunked {
        body = dechunk(&body);
    }
    Reply {
        status,
        headers,
        body: String::from_utf8(body).expect("a UTF-8 body"),
    }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = data.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size_text = String::from_utf8_lossy(&data[..eol]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .unwrap_or(0);
        if size == 0 {
            return out;
        }
        let start = eol + 2;
        out.extend_from_slice(&data[start..start + size]);
        data = &data[start + size + 2..];
    }
}
