//! The guard: the token, the host, the headers on every response; binding.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod web_support;

use std::time::{Duration, Instant};

use perfloop_serve::{ServeError, ServeOptions, Server};
use web_support::{filled_store, get, serve};

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
                   img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'";

#[test]
fn every_response_carries_the_policy_and_nosniff() {
    let (store, ids) = filled_store("headers");
    let server = serve(Some(store), None);
    for path in [
        "/runs".to_owned(),
        format!("/runs/{}", ids[0]),
        "/api/runs".to_owned(),
        "/api/runs/999".to_owned(),
        "/assets/app.js".to_owned(),
        "/nowhere".to_owned(),
        "/".to_owned(),
    ] {
        let reply = get(server.addr(), &path, &[]);
        assert_eq!(reply.header("content-security-policy"), Some(CSP), "{path}");
        assert_eq!(
            reply.header("x-content-type-options"),
            Some("nosniff"),
            "{path}"
        );
        assert_eq!(
            reply.header("referrer-policy"),
            Some("no-referrer"),
            "{path}"
        );
    }
}

#[test]
fn a_token_is_required_when_set_and_accepted_three_ways() {
    let (store, _) = filled_store("token");
    let server = serve(Some(store), Some("s3cret token"));
    let addr = server.addr();
    assert!(!server.token_generated());
    assert_eq!(server.url(), format!("http://{addr}/?token=s3cret+token"));

    let api = get(addr, "/api/runs", &[]);
    assert_eq!(api.status, 401);
    assert_eq!(api.json()["api"], "perfloop.api.v1");
    assert!(api.json()["error"].as_str().unwrap().contains("token"));
    assert_eq!(api.header("content-security-policy"), Some(CSP));
    let page = get(addr, "/runs", &[]);
    assert_eq!(page.status, 401);
    assert!(
        page.header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
    assert_eq!(get(addr, "/metrics", &[]).status, 401);
    assert_eq!(get(addr, "/assets/app.js", &[]).status, 401);

    let wrong = get(
        addr,
        "/api/runs",
        &[("Authorization", "Bearer s3cret tokeN")],
    );
    assert_eq!(wrong.status, 401);
    let bearer = get(
        addr,
        "/api/runs",
        &[("Authorization", "Bearer s3cret token")],
    );
    assert_eq!(bearer.status, 200);
    let cookie = get(
        addr,
        "/api/runs",
        &[("Cookie", "a=b; perfloop_token=s3cret+token")],
    );
    assert_eq!(cookie.status, 200);
    let query = get(addr, "/api/runs?token=s3cret%20token", &[]);
    assert_eq!(query.status, 200, "{}", query.body);
    assert_eq!(query.header("set-cookie"), None, "the API sets no cookie");

    // A page opened with the token keeps it in a cookie for its own requests.
    let opened = get(addr, "/runs?token=s3cret+token", &[]);
    assert_eq!(opened.status, 200);
    let set = opened.header("set-cookie").unwrap();
    assert!(set.starts_with("perfloop_token=s3cret+token;"), "{set}");
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
    assert!(
        !opened.body.contains("s3cret"),
        "the token is not written in the page"
    );
}

#[test]
fn a_non_loopback_address_gets_a_generated_token() {
    let server = Server::start(
        ServeOptions {
            bind: "0.0.0.0:0".to_owned(),
            token: None,
            store: None,
        },
        None,
    )
    .unwrap();
    assert!(server.token_generated());
    let token = server.token().unwrap().to_owned();
    assert_eq!(token.len(), 32);
    let port = server.addr().port();
    assert_eq!(
        server.url(),
        format!("http://127.0.0.1:{port}/?token={token}")
    );
    let local = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    assert_eq!(get(local, "/api/runs", &[]).status, 401);
    let bearer = format!("Bearer {token}");
    assert_eq!(
        get(local, "/api/runs", &[("Authorization", bearer.as_str())]).status,
        200
    );
    // A loopback server without a token requires none.
    let open = serve(None, None);
    assert_eq!(open.token(), None);
    assert!(!open.token_generated());
    assert_eq!(get(open.addr(), "/api/runs", &[]).status, 200);
}

#[test]
fn a_foreign_host_name_is_refused_without_a_token() {
    let server = serve(None, None);
    let reply = get(
        server.addr(),
        "/api/runs",
        &[("Host", "attacker.example:9400")],
    );
    assert_eq!(reply.status, 403);
    assert_eq!(reply.json()["api"], "perfloop.api.v1");
    let ok = get(server.addr(), "/api/runs", &[("Host", "localhost:9400")]);
    assert_eq!(ok.status, 200);
}

#[test]
fn an_address_in_use_or_malformed_is_an_error_naming_it() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let options = |bind: &str, token: Option<&str>| ServeOptions {
        bind: bind.to_owned(),
        token: token.map(str::to_owned),
        store: None,
    };
    let err = Server::start(options(&address, None), None).unwrap_err();
    assert!(matches!(err, ServeError::Bind { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains(&address) && text.contains("--bind"), "{text}");
    let err = Server::start(options("127.0.0.1", None), None).unwrap_err();
    assert!(matches!(err, ServeError::BadAddress { .. }), "{err:?}");
    assert!(err.to_string().contains("'127.0.0.1'"));
    let err = Server::start(options("127.0.0.1:0", Some("")), None).unwrap_err();
    assert!(matches!(err, ServeError::EmptyToken), "{err:?}");
}

#[test]
fn shutdown_is_bounded_even_with_a_connection_left_open() {
    let server = serve(None, None);
    let addr = server.addr();
    // A client that sends half a request and waits.
    let mut idle = std::net::TcpStream::connect(addr).unwrap();
    std::io::Write::write_all(&mut idle, b"GET /api/runs HTTP/1.1\r\nHost: 127.0.0.1\r\n").unwrap();
    let started = Instant::now();
    server.shutdown();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_err());
}
