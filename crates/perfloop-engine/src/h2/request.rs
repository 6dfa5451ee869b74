//! A request as HTTP/2 sends it: its header block HPACK-encoded once, then copied into a
//! HEADERS frame by every stream that sends it.
//!
//! The block must mean the same thing however many times it is sent, so it never touches
//! the HPACK dynamic table: a field that is in the static table is sent as its index, any
//! other as a literal *without indexing* (RFC 7541 §6.2.2), so neither side's table changes.
//! `loona-hpack`'s encoder, with its own table size set to 0, does the lookups and the
//! integer and string encoding; the one representation it would choose that indexes
//! (a new name, `0x40`) is rewritten to its non-indexing twin (`0x00`), which has the same
//! layout.

use std::sync::Arc;

use loona_hpack::Encoder;

use crate::config::RequestSpec;

/// Header fields that HTTP/2 forbids (RFC 9113 §8.2.2) or carries as a pseudo-header.
const DROPPED: [&str; 6] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "upgrade",
    "host",
];

/// One request variant, encoded once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    block: Box<[u8]>,
    body: Option<Arc<[u8]>>,
}

impl Request {
    /// Encodes a request. Header names are lower-cased; headers HTTP/2 forbids are left
    /// out, `host` becomes `:authority`.
    pub fn new(
        method: &str,
        scheme: &str,
        authority: &str,
        path: &str,
        headers: &[(String, String)],
        body: &[u8],
    ) -> Request {
        let mut encoder = Encoder::new();
        encoder.set_max_table_size(0);
        let mut block = Vec::with_capacity(64 + path.len() + authority.len());
        let mut field = |name: &[u8], value: &[u8]| {
            let at = block.len();
            // Writing into a Vec cannot fail.
            let _ = encoder.encode_header_into((name, value), &mut block);
            if block.get(at) == Some(&0x40) {
                block[at] = 0x00;
            }
        };
        let host = headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("host"))
            .map_or(authority, |(_, v)| v.as_str());
        field(b":method", method.as_bytes());
        field(b":scheme", scheme.as_bytes());
        field(b":authority", host.as_bytes());
        field(b":path", path.as_bytes());
        let has = |name: &str| headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name));
        if !has("user-agent") {
            field(
                b"user-agent",
                concat!("perfloop/", env!("CARGO_PKG_VERSION")).as_bytes(),
            );
        }
        for (name, value) in headers {
            let name = name.to_ascii_lowercase();
            if DROPPED.contains(&name.as_str()) || (name == "te" && value != "trailers") {
                continue;
            }
            field(name.as_bytes(), value.as_bytes());
        }
        let content_method = ["POST", "PUT", "PATCH"]
            .iter()
            .any(|m| method.eq_ignore_ascii_case(m));
        if (!body.is_empty() || content_method) && !has("content-length") {
            field(b"content-length", body.len().to_string().as_bytes());
        }
        Request {
            block: block.into_boxed_slice(),
            body: (!body.is_empty()).then(|| Arc::from(body)),
        }
    }

    /// Every variant of a run's request (one per body), as `http::all_request_bytes`
    /// serialises them for HTTP/1.1.
    pub fn all(spec: &RequestSpec, scheme: &str) -> Vec<Request> {
        std::iter::once(&spec.body)
            .chain(&spec.alternate_bodies)
            .map(|body| {
                Request::new(
                    &spec.method,
                    scheme,
                    &spec.authority,
                    &spec.path,
                    &spec.headers,
                    body,
                )
            })
            .collect()
    }

    /// The HPACK header block.
    pub fn block(&self) -> &[u8] {
        &self.block
    }

    /// The body, if the request has one.
    pub fn body(&self) -> Option<&Arc<[u8]>> {
        self.body.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use loona_hpack::Decoder;

    use super::*;

    fn decoded(block: &[u8], decoder: &mut Decoder) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let result = decoder.decode_with_cb(block, |n, v| {
            out.push((
                String::from_utf8_lossy(&n).into_owned(),
                String::from_utf8_lossy(&v).into_owned(),
            ));
        });
        assert!(result.is_ok(), "{result:?}");
        out
    }

    #[test]
    fn a_block_decodes_to_the_request_and_leaves_the_dynamic_table_alone() {
        let headers = vec![
            ("X-Tenant".to_owned(), "acme".to_owned()),
            ("Connection".to_owned(), "keep-alive".to_owned()),
            ("Accept".to_owned(), "application/json".to_owned()),
        ];
        let r = Request::new("POST", "http", "h:8080", "/api?q=1", &headers, b"{}");
        let want = [
            (":method", "POST"),
            (":scheme", "http"),
            (":authority", "h:8080"),
            (":path", "/api?q=1"),
            (
                "user-agent",
                concat!("perfloop/", env!("CARGO_PKG_VERSION")),
            ),
            ("x-tenant", "acme"),
            ("accept", "application/json"),
            ("content-length", "2"),
        ]
        .map(|(n, v)| (n.to_owned(), v.to_owned()));
        let mut decoder = Decoder::new();
        assert_eq!(decoded(r.block(), &mut decoder), want);
        assert_eq!(decoded(r.block(), &mut decoder), want);
        // The peer's dynamic table is still empty: its first entry (index 62) is not there.
        assert!(decoder.decode(&[0x80 | 62]).is_err());
        assert_eq!(r.body().map(|b| b.len()), Some(2));
    }

    #[test]
    fn a_get_has_no_body_and_a_host_header_becomes_the_authority() {
        let headers = vec![("Host".to_owned(), "example.test".to_owned())];
        let r = Request::new("GET", "https", "10.0.0.1:443", "/", &headers, b"");
        let fields = decoded(r.block(), &mut Decoder::new());
        assert!(fields.contains(&(":authority".to_owned(), "example.test".to_owned())));
        assert!(
            !fields
                .iter()
                .any(|(n, _)| n == "host" || n == "content-length")
        );
        assert!(r.body().is_none());
    }
}
