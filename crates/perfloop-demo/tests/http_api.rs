//! The HTTP API against the service started in process on 127.0.0.1, port 0.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::net::SocketAddr;
use std::sync::Arc;

use perfloop_demo::{Dataset, Engine, Knobs, MatchResponse, Metrics, Record, serve};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

struct Server {
    addr: SocketAddr,
    data: Arc<Dataset>,
    stop: oneshot::Sender<()>,
    task: JoinHandle<Result<(), perfloop_demo::DemoError>>,
}

async fn start() -> Server {
    let data = Arc::new(Dataset::generate(20_000, 7));
    let knobs = Knobs {
        workers: 2,
        batch_size: 2,
        pool_size: 2,
        cache_size: 100,
    };
    let engine = Engine::start(Arc::clone(&data), knobs, Arc::new(Metrics::default())).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(serve(listener, Arc::new(engine), async {
        let _ = stopped.await;
    }));
    Server {
        addr,
        data,
        stop,
        task,
    }
}

impl Server {
    async fn shutdown(self) {
        self.stop.send(()).unwrap();
        self.task.await.unwrap().unwrap();
    }
}

/// One HTTP/1.1 exchange: the status and the body.
async fn http(addr: SocketAddr, method: &str, path: &str, body: Option<&str>) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    if let Some(body) = body {
        request.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ));
    } else {
        request.push_str("\r\n");
    }
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    let text = String::from_utf8(raw).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, body.to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_answers_ok() {
    let server = start().await;
    assert_eq!(
        http(server.addr, "GET", "/health", None).await,
        (200, "ok\n".to_owned())
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn match_finds_a_duplicate_with_typos_and_not_a_stranger() {
    let server = start().await;
    let user = server.data.user(1234).unwrap().clone();
    // Two typos: a letter dropped from the surname, a digit changed in the phone.
    let mut name = user.name.clone();
    name.remove(name.len() - 2);
    let mut phone = user.phone.clone().into_bytes();
    phone[4] = if phone[4] == b'9' { b'0' } else { phone[4] + 1 };
    let duplicate = Record {
        name: name.to_uppercase(),
        email: user.email.clone(),
        phone: String::from_utf8(phone).unwrap(),
        city: user.city.clone(),
    };
    let stranger = Record {
        name: "Zebulon Quackenbush".into(),
        email: "zq@nowhere.invalid".into(),
        phone: "(000) 111-2222".into(),
        city: "Atlantis".into(),
    };
    let empty = Record::default();
    let body = serde_json::json!({ "records": [duplicate, stranger, empty] }).to_string();
    let (status, body) = http(server.addr, "POST", "/match", Some(&body)).await;
    assert_eq!(status, 200, "{body}");
    let response: MatchResponse = serde_json::from_str(&body).unwrap();
    assert_eq!(response.results.len(), 3);
    let found = &response.results[0];
    assert_eq!(found.matched, Some(user.id));
    assert_eq!(found.candidates[0].user_id, user.id);
    assert!(found.candidates[0].score >= perfloop_demo::MATCH_THRESHOLD);
    assert!(
        found
            .candidates
            .windows(2)
            .all(|w| w[0].score >= w[1].score)
    );
    assert_eq!(response.results[1].matched, None);
    assert_eq!(response.results[2].matched, None);
    assert!(response.results[2].candidates.is_empty());
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workload_request_matches_its_planted_duplicates() {
    let server = start().await;
    let workload = perfloop_demo::Workload::new(&server.data, 5);
    let request = perfloop_demo::MatchRequest::from_workload(&workload, 100, 40);
    let (status, body) = http(server.addr, "POST", "/match", Some(&request.to_json())).await;
    assert_eq!(status, 200, "{body}");
    let response: MatchResponse = serde_json::from_str(&body).unwrap();
    let truths = workload.records(100, 40);
    let right = truths
        .iter()
        .zip(&response.results)
        .filter(|(t, r)| t.truth == r.matched)
        .count();
    assert!(right >= 38, "{right} of 40 decided right");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_prometheus_text_with_the_counters() {
    let server = start().await;
    let user = server.data.user(7).unwrap();
    let body = serde_json::json!({ "records": [{
        "name": user.name, "email": user.email, "phone": user.phone, "city": user.city
    }]})
    .to_string();
    assert_eq!(
        http(server.addr, "POST", "/match", Some(&body)).await.0,
        200
    );
    let (status, text) = http(server.addr, "GET", "/metrics", None).await;
    assert_eq!(status, 200);
    let mut samples = std::collections::HashMap::new();
    for line in text.lines().filter(|l| !l.is_empty()) {
        if let Some(comment) = line.strip_prefix("# ") {
            assert!(
                comment.starts_with("HELP ") || comment.starts_with("TYPE "),
                "{line}"
            );
            continue;
        }
        let (name, value) = line.split_once(' ').unwrap();
        assert!(
            name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "{line}"
        );
        samples.insert(name.to_owned(), value.parse::<f64>().unwrap());
    }
    for (name, at_least) in [
        ("perfloop_demo_match_requests_total", 1.0),
        ("perfloop_demo_records_total", 1.0),
        ("perfloop_demo_matches_total", 1.0),
        ("perfloop_demo_cache_hits_total", 0.0),
        ("perfloop_demo_cache_misses_total", 1.0),
        ("perfloop_demo_pool_wait_seconds_total", 0.0),
        ("perfloop_demo_pool_waits_total", 0.0),
        ("perfloop_demo_store_queries_total", 1.0),
        ("perfloop_demo_store_queries_in_flight", 0.0),
    ] {
        let value = samples.get(name).copied();
        assert!(value.is_some_and(|v| v >= at_least), "{name}: {value:?}");
    }
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_bodies_are_client_errors() {
    let server = start().await;
    let cases = [
        ("{not json", 400),
        ("{\"records\": 3}", 422),
        ("{\"records\": [{\"mail\": \"x@y.z\"}]}", 422),
        ("{\"rows\": []}", 422),
    ];
    for (body, expected) in cases {
        let (status, _) = http(server.addr, "POST", "/match", Some(body)).await;
        assert_eq!(status, expected, "{body}");
    }
    let too_many = serde_json::json!({
        "records": vec![Record::default(); perfloop_demo::MAX_RECORDS_PER_REQUEST + 1]
    })
    .to_string();
    assert_eq!(
        http(server.addr, "POST", "/match", Some(&too_many)).await.0,
        413
    );
    let (status, body) = http(server.addr, "POST", "/match", Some("{\"records\": []}")).await;
    assert_eq!((status, body.as_str()), (200, "{\"results\":[]}"));
    // The service is still up.
    assert_eq!(http(server.addr, "GET", "/health", None).await.0, 200);
    server.shutdown().await;
}
