//! The session against a real HTTP/2 server: hyper's, with prior knowledge over TCP on
//! 127.0.0.1, driven over a blocking `TcpStream` (a read timeout bounds every wait).
//!
//! The server answers `GET /size/N` with N bytes, `POST /echo` with the request's body,
//! `GET /fail` with a body that fails (hyper resets the stream), `GET /status/N` with
//! status N, and `GET /shutdown` by shutting the connection down gracefully (GOAWAY).

#![allow(clippy::panic)]

use std::convert::Infallible;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http_body_util::{BodyExt, Full, combinators::BoxBody};
use hyper::body::{Body, Bytes, Frame, Incoming};
use hyper::server::conn::http2;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::sync::Notify;

use super::{Config, Event, Reason, Request, Session};

type ResponseBody = BoxBody<Bytes, io::Error>;

/// A response body that fails at once.
struct Failing;

impl Body for Failing {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        Poll::Ready(Some(Err(io::Error::other("the handler failed"))))
    }
}

fn full(bytes: impl Into<Bytes>) -> ResponseBody {
    Full::new(bytes.into())
        .map_err(|never: Infallible| match never {})
        .boxed()
}

async fn handle(
    req: hyper::Request<Incoming>,
    shutdown: Arc<Notify>,
) -> Result<hyper::Response<ResponseBody>, io::Error> {
    let path = req.uri().path().to_owned();
    let number = |prefix: &str| {
        path.strip_prefix(prefix)
            .and_then(|n| n.parse::<u64>().ok())
    };
    let response = |status: u16, body: ResponseBody| {
        hyper::Response::builder()
            .status(status)
            .body(body)
            .map_err(io::Error::other)
    };
    if let Some(n) = number("/size/") {
        return response(200, full(vec![b'x'; n as usize]));
    }
    if let Some(n) = number("/status/") {
        return response(n as u16, full(Bytes::new()));
    }
    match path.as_str() {
        "/echo" => {
            let body = req.into_body().collect().await.map_err(io::Error::other)?;
            response(200, full(body.to_bytes()))
        }
        "/fail" => response(200, Failing.boxed()),
        "/shutdown" => {
            shutdown.notify_one();
            response(200, full(Bytes::new()))
        }
        _ => response(404, full(Bytes::new())),
    }
}

/// A running server; dropping it stops it.
struct Server {
    addr: SocketAddr,
    _runtime: tokio::runtime::Runtime,
}

fn server(tune: fn(&mut http2::Builder<TokioExecutor>)) -> Server {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("runtime: {e}"));
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap_or_else(|e| panic!("bind: {e}"));
    let addr = listener
        .local_addr()
        .unwrap_or_else(|e| panic!("local address: {e}"));
    runtime.spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let mut builder = http2::Builder::new(TokioExecutor::new());
            tune(&mut builder);
            tokio::spawn(async move {
                let shutdown = Arc::new(Notify::new());
                let notify = Arc::clone(&shutdown);
                let service = service_fn(move |req| handle(req, Arc::clone(&notify)));
                let conn = builder.serve_connection(TokioIo::new(tcp), service);
                tokio::pin!(conn);
                tokio::select! {
                    _ = conn.as_mut() => {}
                    () = shutdown.notified() => {
                        conn.as_mut().graceful_shutdown();
                        let _ = conn.await;
                    }
                }
            });
        }
    });
    Server {
        addr,
        _runtime: runtime,
    }
}

/// The session over a blocking socket.
struct Client {
    tcp: TcpStream,
    session: Session,
    buf: Vec<u8>,
    eof: bool,
}

impl Client {
    fn connect(addr: SocketAddr, config: Config) -> Client {
        let tcp = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect: {e}"));
        tcp.set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap_or_else(|e| panic!("timeout: {e}"));
        tcp.set_nodelay(true).ok();
        Client {
            tcp,
            session: Session::new(config),
            buf: vec![0; 64 * 1024],
            eof: false,
        }
    }

    /// Writes what the session has to send, then reads once and feeds it.
    fn turn(&mut self) {
        while self.session.wants_write() {
            let n = self
                .tcp
                .write(self.session.output())
                .unwrap_or_else(|e| panic!("write: {e}"));
            self.session.sent(n);
        }
        match self.tcp.read(&mut self.buf) {
            Ok(0) => {
                self.eof = true;
                self.session.closed();
            }
            Ok(n) => self.session.recv(&self.buf[..n]),
            Err(e) => panic!("read (the server stalled?): {e}"),
        }
    }

    /// Sends every request in `requests` (keeping as many streams open as the session
    /// allows) and returns each request's terminal event, by index, the most streams
    /// seen open at once, and the connection's own events.
    fn run(&mut self, requests: &[Request]) -> (Vec<Event>, usize, Vec<Event>) {
        let mut connection = Vec::new();
        let mut ended: Vec<Option<Event>> = vec![None; requests.len()];
        let mut next = 0;
        let mut done = 0;
        let mut peak = 0;
        while done < requests.len() && !self.eof {
            while next < requests.len() && self.session.can_start() {
                if self.session.start(&requests[next], next).is_ok() {
                    next += 1;
                }
            }
            peak = peak.max(self.session.open_streams());
            self.turn();
            while let Some(e) = self.session.poll_event() {
                if let Some(token) = token_of(&e) {
                    assert!(ended[token].is_none(), "{e:?} ends a request twice");
                    ended[token] = Some(e);
                    done += 1;
                } else {
                    connection.push(e);
                }
            }
        }
        let ended = ended
            .into_iter()
            .map(|e| e.unwrap_or_else(|| panic!("a request never ended")))
            .collect();
        (ended, peak, connection)
    }
}

fn token_of(e: &Event) -> Option<usize> {
    match *e {
        Event::Response { token, .. }
        | Event::Reset { token, .. }
        | Event::Refused { token, .. }
        | Event::Malformed { token }
        | Event::Aborted { token } => Some(token),
        Event::GoAway { .. } | Event::Error(_) => None,
    }
}

fn get(addr: SocketAddr, path: &str) -> Request {
    Request::new("GET", "http", &addr.to_string(), path, &[], b"")
}

#[test]
fn thousands_of_requests_share_one_connection_within_the_servers_stream_limit() {
    let server = server(|b| {
        b.max_concurrent_streams(8);
    });
    let config = Config {
        max_streams: 32,
        ..Config::default()
    };
    let mut client = Client::connect(server.addr, config);
    let sizes = [0usize, 1, 1_000, 20_000, 70_000];
    let variants: Vec<Request> = sizes
        .iter()
        .map(|n| get(server.addr, &format!("/size/{n}")))
        .collect();
    let requests: Vec<Request> = (0..2_000).map(|i| variants[i % 5].clone()).collect();
    let (ended, peak, connection) = client.run(&requests);
    assert_eq!(connection, []);
    for (i, e) in ended.iter().enumerate() {
        assert_eq!(
            *e,
            Event::Response {
                token: i,
                status: 200,
                body: sizes[i % 5] as u64
            }
        );
    }
    assert_eq!(peak, 8, "as many streams as the server allows, no more");
    assert!(client.session.accepting());
}

#[test]
fn flow_control_holds_both_ways_with_the_smallest_windows() {
    let server = server(|b| {
        b.initial_stream_window_size(65_535)
            .initial_connection_window_size(65_535)
            .adaptive_window(false);
    });
    let config = Config {
        max_streams: 4,
        stream_window: 65_535,
        connection_window: 65_535,
    };
    let mut client = Client::connect(server.addr, config);
    let upload: Vec<u8> = (0..300_000u32).map(|i| i as u8).collect();
    let post = Request::new(
        "POST",
        "http",
        &server.addr.to_string(),
        "/echo",
        &[],
        &upload,
    );
    let requests = [
        get(server.addr, "/size/1000000"),
        post.clone(),
        get(server.addr, "/size/1000000"),
        post,
    ];
    let (ended, _, _) = client.run(&requests);
    let bodies: Vec<Option<u64>> = ended
        .iter()
        .map(|e| match *e {
            Event::Response {
                status: 200, body, ..
            } => Some(body),
            _ => None,
        })
        .collect();
    assert_eq!(
        bodies,
        [
            Some(1_000_000),
            Some(300_000),
            Some(1_000_000),
            Some(300_000)
        ]
    );
}

#[test]
fn statuses_resets_and_goaway_reach_the_caller() {
    let server = server(|_| {});
    let mut client = Client::connect(server.addr, Config::default());
    let requests = [
        get(server.addr, "/status/503"),
        get(server.addr, "/fail"),
        get(server.addr, "/nothing-here"),
    ];
    let (ended, _, _) = client.run(&requests);
    assert_eq!(
        ended,
        [
            Event::Response {
                token: 0,
                status: 503,
                body: 0
            },
            Event::Reset {
                token: 1,
                reason: Reason::INTERNAL_ERROR
            },
            Event::Response {
                token: 2,
                status: 404,
                body: 0
            },
        ]
    );

    // A graceful shutdown: GOAWAY, the request that asked for it still answered, then
    // no new streams and the server closes.
    let (ended, _, mut goaways) = client.run(&[get(server.addr, "/shutdown")]);
    assert!(matches!(ended[0], Event::Response { status: 200, .. }));
    while !client.eof {
        client.turn();
        while let Some(e) = client.session.poll_event() {
            goaways.push(e);
        }
    }
    assert!(
        goaways.contains(&Event::GoAway {
            last_stream: 7,
            reason: Reason::NO_ERROR
        }),
        "{goaways:?}"
    );
    assert!(!client.session.accepting());
    assert_eq!(client.session.open_streams(), 0);
}
