//! The guard in front of every route: the token, the host name, and the headers every
//! response carries.
//!
//! - **Token.** When the server requires one ([`AppState::token`]), a request carries it as
//!   `Authorization: Bearer T`, as the cookie `perfloop_token=T`, or as `?token=T`; it is
//!   compared in constant time. A page opened with a valid `?token=` gets the cookie
//!   (`HttpOnly; SameSite=Strict`), so the page's own fetches and event stream carry it.
//!   Without a valid token: 401, a JSON body for `/api/…` and `/metrics`, a short page
//!   otherwise.
//! - **Host.** Without a token the server listens on loopback only; a request whose `Host`
//!   is not a loopback name (`localhost`, `127.x.x.x`, `[::1]`) is refused (403), so that
//!   a web page elsewhere cannot reach the dashboard through DNS rebinding.
//! - **Headers.** Every response, refusals included, carries the Content-Security-Policy
//!   [`CSP`] (scripts only from the dashboard itself, no inline script, no framing),
//!   `X-Content-Type-Options: nosniff` and `Referrer-Policy: no-referrer` (a token in the
//!   address never leaves in a `Referer`).
//!
//! Nothing behind the guard starts a process, writes anything, or reads a file named by the
//! client: the pages and the API read the store and the live run only.

use axum::extract::{Request, State};
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::{StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::AppState;

/// The Content-Security-Policy of every response.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The cookie that carries the token.
pub const COOKIE: &str = "perfloop_token";

/// The version written in every API response (`"api": "perfloop.api.v1"`).
pub const API_VERSION: &str = "perfloop.api.v1";

/// How a request carried a valid token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Carried {
    Header,
    Cookie,
    Query,
}

/// The guard: checks the host and the token, then adds the security headers.
pub async fn guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let mut response = match &state.token {
        None if !loopback_host(request.headers()) => refused(
            &path,
            StatusCode::FORBIDDEN,
            "this dashboard answers only on its loopback address (localhost, 127.0.0.1, [::1]); \
             to reach it from elsewhere, serve it on another address: a token is then required",
        ),
        None => next.run(request).await,
        Some(token) => match carried(&request, token) {
            None => refused(
                &path,
                StatusCode::UNAUTHORIZED,
                "a token is required: send it as 'Authorization: Bearer TOKEN', as the cookie \
                 perfloop_token, or open the address perfloop printed (…/?token=TOKEN)",
            ),
            Some(how) => {
                let mut response = next.run(request).await;
                if how == Carried::Query && !machine_path(&path) {
                    let cookie = format!(
                        "{COOKIE}={}; Path=/; HttpOnly; SameSite=Strict",
                        cookie_safe(token)
                    );
                    if let Ok(value) = HeaderValue::from_str(&cookie) {
                        response.headers_mut().append(header::SET_COOKIE, value);
                    }
                }
                response
            }
        },
    };
    add_headers(response.headers_mut());
    response
}

/// The headers every response carries.
fn add_headers(headers: &mut HeaderMap) {
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
}

/// Paths read by programs rather than people: the API and the metrics.
fn machine_path(path: &str) -> bool {
    path == "/api" || path.starts_with("/api/") || path == "/metrics"
}

/// A refusal: JSON for the API and the metrics, a short page otherwise.
fn refused(path: &str, status: StatusCode, why: &str) -> Response {
    let mut response = if machine_path(path) {
        let body = serde_json::json!({"api": API_VERSION, "error": why});
        (status, axum::Json(body)).into_response()
    } else {
        let page = format!(
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
             <title>perfloop · {code}</title></head><body><h1>{code}</h1><p>{}</p></body></html>\n",
            crate::pages::escape(why),
            code = status.as_u16(),
        );
        (
            status,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            page,
        )
            .into_response()
    };
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"perfloop\""),
        );
    }
    response
}

/// How the request carries `token`, if it does.
fn carried(request: &Request, token: &str) -> Option<Carried> {
    let headers = request.headers();
    let bearer = headers
        .get_all(header::AUTHORIZATION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| {
            let (scheme, rest) = v.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
        })
        .any(|given| same(given, token));
    if bearer {
        return Some(Carried::Header);
    }
    let cookie = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .any(|(name, value)| name == COOKIE && same(value, &cookie_safe(token)));
    if cookie {
        return Some(Carried::Cookie);
    }
    query_token(request.uri())
        .filter(|given| same(given, token))
        .map(|_| Carried::Query)
}

/// The `token` query parameter, decoded.
fn query_token(uri: &Uri) -> Option<String> {
    let query = uri.query()?;
    form_urlencoded::parse(query.as_bytes())
        .find(|(name, _)| name == "token")
        .map(|(_, value)| value.into_owned())
}

/// The token as a cookie value: percent-encoded, so any token fits in a cookie.
fn cookie_safe(token: &str) -> String {
    form_urlencoded::byte_serialize(token.as_bytes()).collect()
}

/// Whether two strings are equal, in a time that depends on their lengths only.
#[must_use]
pub fn same(given: &str, expected: &str) -> bool {
    let (a, b) = (given.as_bytes(), expected.as_bytes());
    let mut diff = u8::from(a.len() != b.len());
    for (i, &x) in b.iter().enumerate() {
        // Compare against the expected length whatever was given, so the time does not
        // tell how much of a guess was right.
        let y = a.get(i).copied().unwrap_or(!x);
        diff |= x ^ y;
    }
    diff == 0
}

/// Whether the request's `Host` is a loopback name (a request without one, HTTP/1.0, is
/// let through: a browser always sends it).
fn loopback_host(headers: &HeaderMap) -> bool {
    let Some(host) = headers.get(header::HOST) else {
        return true;
    };
    let Ok(host) = host.to_str() else {
        return false;
    };
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else {
        host.rsplit_once(':').map_or(host, |(name, _)| name)
    };
    if name.eq_ignore_ascii_case("localhost") || name.to_ascii_lowercase().ends_with(".localhost") {
        return true;
    }
    name.parse::<std::net::IpAddr>()
        .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_compare_whole() {
        assert!(same("abc", "abc"));
        assert!(!same("abd", "abc"));
        assert!(!same("ab", "abc"));
        assert!(!same("abcd", "abc"));
        assert!(!same("", "abc"));
        assert!(same("", ""));
    }

    #[test]
    fn loopback_names_only() {
        let host = |value: &str| {
            let mut h = HeaderMap::new();
            h.insert(
                header::HOST,
                HeaderValue::from_str(value).unwrap_or(HeaderValue::from_static("x")),
            );
            loopback_host(&h)
        };
        for ok in [
            "127.0.0.1:9400",
            "localhost:80",
            "LOCALHOST",
            "[::1]:9400",
            "127.1.2.3",
        ] {
            assert!(host(ok), "{ok}");
        }
        for bad in [
            "evil.example:9400",
            "10.0.0.1:9400",
            "[::2]:1",
            "localhost.evil.example",
        ] {
            assert!(!host(bad), "{bad}");
        }
    }
}
