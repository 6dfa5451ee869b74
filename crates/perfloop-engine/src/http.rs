//! HTTP/1.1 on the wire: the request bytes, and a streaming response parser.
//!
//! The status line and headers are parsed by `httparse`; chunk sizes by
//! `httparse::parse_chunk_size`. The framing state machine around them is written here
//! because no crate parses a response incrementally while only *counting* the body: bodies
//! are never stored, so a response of any size costs the same memory. Header bytes are kept
//! only while the header block is incomplete, and never beyond [`HEADER_CAP`].

use crate::config::RequestSpec;

/// The most header bytes accepted for one response.
pub const HEADER_CAP: usize = 64 * 1024;
const MAX_HEADERS: usize = 64;

/// Serialises every variant of the request once (one per body); sends reuse the bytes.
pub fn all_request_bytes(spec: &RequestSpec) -> Vec<Vec<u8>> {
    let mut out = vec![request_bytes(spec)];
    for body in &spec.alternate_bodies {
        let variant = RequestSpec {
            body: body.clone(),
            alternate_bodies: Vec::new(),
            ..spec.clone()
        };
        out.push(request_bytes(&variant));
    }
    out
}

/// Serialises the request once; every send reuses the bytes.
pub fn request_bytes(spec: &RequestSpec) -> Vec<u8> {
    let mut out = Vec::with_capacity(256 + spec.body.len());
    out.extend_from_slice(spec.method.as_bytes());
    out.push(b' ');
    out.extend_from_slice(spec.path.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\n");
    let has = |name: &str| {
        spec.headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case(name))
    };
    if !has("host") {
        out.extend_from_slice(b"Host: ");
        out.extend_from_slice(spec.authority.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if !has("user-agent") {
        out.extend_from_slice(
            concat!("User-Agent: perfloop/", env!("CARGO_PKG_VERSION"), "\r\n").as_bytes(),
        );
    }
    for (name, value) in &spec.headers {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    // A method that gives content a meaning announces its length even when it is empty
    // (RFC 9110 §8.6), so the server does not wait for a body.
    let content_method = ["POST", "PUT", "PATCH"]
        .iter()
        .any(|m| spec.method.eq_ignore_ascii_case(m));
    if (!spec.body.is_empty() || content_method)
        && !has("content-length")
        && !has("transfer-encoding")
    {
        out.extend_from_slice(format!("Content-Length: {}\r\n", spec.body.len()).as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(&spec.body);
    out
}

/// Why a response could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseError {
    /// Not HTTP/1.x, or framing that contradicts itself.
    Malformed,
    /// The header block grew past [`HEADER_CAP`].
    HeadersTooLarge,
}

/// What a complete response looked like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// Whether the connection may carry another request.
    pub keep_alive: bool,
    /// Bytes fed after the end of the response (a well-behaved server sends none).
    pub trailing: usize,
}

/// Progress after feeding bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// The response is not complete yet.
    More,
    /// The response is complete.
    Done(Response),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Body {
    /// Exactly this many bytes remain.
    Length(u64),
    /// Chunked: reading a chunk-size line.
    ChunkSize,
    /// Chunked: this many data bytes remain in the chunk, then its CRLF.
    ChunkData(u64),
    /// Chunked: the CRLF after a chunk's data; the count is how many of its 2 bytes are seen.
    ChunkEnd(u8),
    /// Chunked: trailer lines after the last chunk.
    Trailers,
    /// Until the server closes the connection.
    UntilClose,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Head,
    Body(Body),
}

/// An incremental parser for one response at a time; reusable with [`ResponseParser::reset`].
#[derive(Debug)]
pub struct ResponseParser {
    state: State,
    /// Header bytes (or a partial chunk-size or trailer line) seen so far.
    pending: Vec<u8>,
    status: u16,
    keep_alive: bool,
    head_request: bool,
    /// Some byte of the current response (an interim one included) has arrived.
    started: bool,
    /// Body bytes counted for the current response.
    pub body_bytes: u64,
}

impl ResponseParser {
    /// A parser for responses to requests with `method`.
    pub fn new(method: &str) -> Self {
        ResponseParser {
            state: State::Head,
            pending: Vec::new(),
            status: 0,
            keep_alive: true,
            head_request: method.eq_ignore_ascii_case("HEAD"),
            started: false,
            body_bytes: 0,
        }
    }

    /// Whether any byte of the current response has arrived since the last reset.
    pub fn started(&self) -> bool {
        self.started
    }

    /// Prepares for the next response on the same connection.
    pub fn reset(&mut self) {
        self.state = State::Head;
        self.pending.clear();
        self.status = 0;
        self.keep_alive = true;
        self.started = false;
        self.body_bytes = 0;
    }

    /// Feeds bytes read from the connection.
    pub fn feed(&mut self, mut data: &[u8]) -> Result<Progress, ParseError> {
        self.started |= !data.is_empty();
        loop {
            match self.state {
                State::Head => {
                    let used = self.parse_head(data)?;
                    match used {
                        None => return Ok(Progress::More),
                        Some(n) => data = &data[n..],
                    }
                }
                State::Body(body) => {
                    let (used, next) = self.parse_body(body, data)?;
                    data = &data[used..];
                    match next {
                        Some(b) => self.state = State::Body(b),
                        None => return Ok(Progress::Done(self.finish(data.len()))),
                    }
                    if data.is_empty() && self.state != State::Body(Body::Length(0)) {
                        return Ok(Progress::More);
                    }
                }
            }
        }
    }

    /// The peer closed the connection: completes a close-delimited body, otherwise `None`.
    pub fn eof(&mut self) -> Option<Response> {
        match self.state {
            State::Body(Body::UntilClose) => {
                self.keep_alive = false;
                Some(self.finish(0))
            }
            _ => None,
        }
    }

    fn finish(&mut self, trailing: usize) -> Response {
        let r = Response {
            status: self.status,
            keep_alive: self.keep_alive,
            trailing,
        };
        self.state = State::Head;
        self.pending.clear();
        r
    }

    /// Parses the head. Returns how many bytes of `data` it used once complete.
    fn parse_head(&mut self, data: &[u8]) -> Result<Option<usize>, ParseError> {
        let already = self.pending.len();
        if already > 0 {
            let take = data.len().min(HEADER_CAP + 1 - already.min(HEADER_CAP));
            self.pending.extend_from_slice(&data[..take]);
            // A head can only complete on a line end: a server dripping bytes costs one
            // scan of the new bytes, not a re-parse of everything pending.
            if self.pending.len() <= HEADER_CAP && !data[..take].contains(&b'\n') {
                return Ok(None);
            }
        }
        let bytes = if already == 0 {
            data
        } else {
            &self.pending[..]
        };
        let Some(head) = Head::parse(bytes)? else {
            if already == 0 {
                if data.len() > HEADER_CAP {
                    return Err(ParseError::HeadersTooLarge);
                }
                self.pending.extend_from_slice(data);
            } else if self.pending.len() > HEADER_CAP {
                return Err(ParseError::HeadersTooLarge);
            }
            return Ok(None);
        };
        if head.len > HEADER_CAP {
            return Err(ParseError::HeadersTooLarge);
        }
        // An interim response (100 Continue, 103 Early Hints) is not the answer: the final
        // response follows on the same connection (RFC 9110 §15.2), and latency runs to it.
        if (100..200).contains(&head.status) && head.status != 101 {
            self.pending.clear();
            return Ok(Some(head.len - already));
        }
        self.status = head.status;
        // After 101 Switching Protocols the connection no longer speaks HTTP/1.1.
        self.keep_alive = head.keep_alive && head.status != 101;
        self.body_bytes = 0;
        let no_body = self.head_request
            || (100..200).contains(&head.status)
            || head.status == 204
            || head.status == 304;
        let body = if no_body {
            Body::Length(0)
        } else if head.chunked {
            Body::ChunkSize
        } else if let Some(n) = head.length {
            Body::Length(n)
        } else {
            self.keep_alive = false;
            Body::UntilClose
        };
        self.state = State::Body(body);
        self.pending.clear();
        // Bytes of `data` that belonged to the head.
        Ok(Some(head.len - already))
    }

    /// Consumes body bytes; returns the bytes used and the next body state (`None`: done).
    fn parse_body(&mut self, body: Body, data: &[u8]) -> Result<(usize, Option<Body>), ParseError> {
        match body {
            Body::Length(0) => Ok((0, None)),
            Body::Length(n) => {
                let take = (data.len() as u64).min(n);
                self.body_bytes += take;
                let left = n - take;
                Ok((
                    take as usize,
                    if left == 0 {
                        None
                    } else {
                        Some(Body::Length(left))
                    },
                ))
            }
            Body::UntilClose => {
                self.body_bytes += data.len() as u64;
                Ok((data.len(), Some(Body::UntilClose)))
            }
            Body::ChunkData(n) => {
                let take = (data.len() as u64).min(n);
                self.body_bytes += take;
                let left = n - take;
                Ok((
                    take as usize,
                    Some(if left == 0 {
                        Body::ChunkEnd(0)
                    } else {
                        Body::ChunkData(left)
                    }),
                ))
            }
            Body::ChunkEnd(seen) => {
                let mut seen = seen;
                let mut used = 0;
                while seen < 2 && used < data.len() {
                    let want = if seen == 0 { b'\r' } else { b'\n' };
                    if data[used] != want {
                        return Err(ParseError::Malformed);
                    }
                    seen += 1;
                    used += 1;
                }
                Ok((
                    used,
                    Some(if seen == 2 {
                        Body::ChunkSize
                    } else {
                        Body::ChunkEnd(seen)
                    }),
                ))
            }
            Body::ChunkSize => self.line(data, |_, line| match httparse::parse_chunk_size(line) {
                Ok(httparse::Status::Complete((_, 0))) => Ok(Body::Trailers),
                Ok(httparse::Status::Complete((_, size))) => Ok(Body::ChunkData(size)),
                _ => Err(ParseError::Malformed),
            }),
            Body::Trailers => {
                // Each trailer line ends in CRLF; an empty line ends the response.
                let (used, next) = self.line(data, |_, line| {
                    if line == b"\r\n" {
                        Ok(Body::Length(0))
                    } else {
                        Ok(Body::Trailers)
                    }
                })?;
                Ok((used, next))
            }
        }
    }

    /// Collects one CRLF-terminated line (across feeds) and hands it to `then`.
    fn line(
        &mut self,
        data: &[u8],
        then: impl FnOnce(&mut Self, &[u8]) -> Result<Body, ParseError>,
    ) -> Result<(usize, Option<Body>), ParseError> {
        let Some(pos) = data.iter().position(|&b| b == b'\n') else {
            if self.pending.len() + data.len() > HEADER_CAP {
                return Err(ParseError::HeadersTooLarge);
            }
            self.pending.extend_from_slice(data);
            let state = match self.state {
                State::Body(b) => b,
                State::Head => Body::ChunkSize,
            };
            return Ok((data.len(), Some(state)));
        };
        let used = pos + 1;
        let next = if self.pending.is_empty() {
            then(self, &data[..used])?
        } else {
            let mut line = std::mem::take(&mut self.pending);
            line.extend_from_slice(&data[..used]);
            let next = then(self, &line);
            line.clear();
            self.pending = line;
            next?
        };
        Ok((used, Some(next)))
    }
}

/// What the framing needs from a complete response head.
struct Head {
    /// Length of the head in bytes, blank line included.
    len: usize,
    status: u16,
    keep_alive: bool,
    length: Option<u64>,
    chunked: bool,
}

impl Head {
    /// Parses a head from the start of `bytes`; `None` while it is incomplete.
    fn parse(bytes: &[u8]) -> Result<Option<Head>, ParseError> {
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut more;
        let mut resp = httparse::Response::new(&mut headers);
        let parsed = match resp.parse(bytes) {
            // More headers than the array holds (rare): one header per line is enough.
            Err(httparse::Error::TooManyHeaders) => {
                let lines = bytes.iter().filter(|&&b| b == b'\n').count();
                more = vec![httparse::EMPTY_HEADER; lines + 1];
                resp = httparse::Response::new(&mut more);
                resp.parse(bytes)
            }
            parsed => parsed,
        };
        match parsed {
            Ok(httparse::Status::Complete(len)) => Head::interpret(&resp, len).map(Some),
            Ok(httparse::Status::Partial) => Ok(None),
            Err(_) => Err(ParseError::Malformed),
        }
    }

    fn interpret(resp: &httparse::Response<'_, '_>, len: usize) -> Result<Head, ParseError> {
        let status = resp.code.ok_or(ParseError::Malformed)?;
        let http10 = resp.version == Some(0);
        let mut keep_alive = !http10;
        let mut length: Option<u64> = None;
        let mut chunked = false;
        for h in resp.headers.iter() {
            if h.name.eq_ignore_ascii_case("content-length") {
                let v = std::str::from_utf8(h.value).map_err(|_| ParseError::Malformed)?;
                let n: u64 = v.trim().parse().map_err(|_| ParseError::Malformed)?;
                if length.is_some_and(|l| l != n) {
                    return Err(ParseError::Malformed);
                }
                length = Some(n);
            } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
                chunked = h
                    .value
                    .split(|&b| b == b',')
                    .next_back()
                    .is_some_and(|last| last.trim_ascii().eq_ignore_ascii_case(b"chunked"));
            } else if h.name.eq_ignore_ascii_case("connection") {
                for token in h.value.split(|&b| b == b',') {
                    let token = token.trim_ascii();
                    if token.eq_ignore_ascii_case(b"close") {
                        keep_alive = false;
                    } else if token.eq_ignore_ascii_case(b"keep-alive") && http10 {
                        keep_alive = true;
                    }
                }
            }
        }
        Ok(Head {
            len,
            status,
            keep_alive,
            length,
            chunked,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn feed_all(p: &mut ResponseParser, parts: &[&[u8]]) -> Result<Progress, ParseError> {
        let mut last = Progress::More;
        for part in parts {
            last = p.feed(part)?;
        }
        Ok(last)
    }

    fn done(status: u16, keep_alive: bool) -> Progress {
        Progress::Done(Response {
            status,
            keep_alive,
            trailing: 0,
        })
    }

    #[test]
    fn content_length_in_one_piece() {
        let mut p = ResponseParser::new("GET");
        let r = p.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello");
        assert_eq!(r, Ok(done(200, true)));
        assert_eq!(p.body_bytes, 5);
    }

    #[test]
    fn split_at_every_byte() {
        let msg = b"HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\nX: y\r\n\r\nabc";
        let mut p = ResponseParser::new("GET");
        let parts: Vec<&[u8]> = msg.chunks(1).collect();
        let (last, before) = parts.split_last().unwrap();
        for part in before {
            assert_eq!(p.feed(part), Ok(Progress::More));
        }
        assert_eq!(p.feed(last), Ok(done(404, true)));
    }

    #[test]
    fn chunked_with_extensions_and_trailers_split_anywhere() {
        let msg: &[u8] = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4;ext=1\r\nwiki\r\n5\r\npedia\r\n0\r\nX-T: 1\r\n\r\n";
        for cut in 1..msg.len() {
            let mut p = ResponseParser::new("GET");
            let r = feed_all(&mut p, &[&msg[..cut], &msg[cut..]]);
            assert_eq!(r, Ok(done(200, true)), "cut at {cut}");
            assert_eq!(p.body_bytes, 9, "cut at {cut}");
        }
    }

    #[test]
    fn close_delimited_body_ends_at_eof() {
        let mut p = ResponseParser::new("GET");
        assert_eq!(
            p.feed(b"HTTP/1.1 200 OK\r\n\r\nsome body"),
            Ok(Progress::More)
        );
        assert_eq!(p.feed(b" and more"), Ok(Progress::More));
        let r = p.eof().unwrap();
        assert_eq!(r.status, 200);
        assert!(!r.keep_alive);
        assert_eq!(p.body_bytes, 18);
    }

    #[test]
    fn head_204_and_304_have_no_body() {
        let mut p = ResponseParser::new("HEAD");
        assert_eq!(
            p.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n"),
            Ok(done(200, true))
        );
        let mut p = ResponseParser::new("GET");
        assert_eq!(
            p.feed(b"HTTP/1.1 204 No Content\r\n\r\n"),
            Ok(done(204, true))
        );
        assert_eq!(
            p.feed(b"HTTP/1.1 304 Not Modified\r\n\r\n"),
            Ok(done(304, true))
        );
    }

    #[test]
    fn connection_close_and_http10() {
        let mut p = ResponseParser::new("GET");
        assert_eq!(
            p.feed(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"),
            Ok(done(200, false))
        );
        assert_eq!(
            p.feed(b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n"),
            Ok(done(200, false))
        );
        assert_eq!(
            p.feed(b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n"),
            Ok(done(200, true))
        );
    }

    #[test]
    fn trailing_bytes_are_reported() {
        let mut p = ResponseParser::new("GET");
        let r = p.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nxGARBAGE");
        assert_eq!(
            r,
            Ok(Progress::Done(Response {
                status: 200,
                keep_alive: true,
                trailing: 7
            }))
        );
    }

    #[test]
    fn garbage_is_malformed() {
        let mut p = ResponseParser::new("GET");
        assert_eq!(
            p.feed(b"\x00\x01garbage\r\n\r\n"),
            Err(ParseError::Malformed)
        );
        let mut p = ResponseParser::new("GET");
        assert_eq!(
            p.feed(b"HTTP/1.1 200 OK\r\nContent-Length: nope\r\n\r\n"),
            Err(ParseError::Malformed)
        );
        let mut p = ResponseParser::new("GET");
        assert_eq!(
            p.feed(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"),
            Err(ParseError::Malformed)
        );
    }

    #[test]
    fn endless_headers_hit_the_cap() {
        let mut p = ResponseParser::new("GET");
        assert_eq!(p.feed(b"HTTP/1.1 200 OK\r\n"), Ok(Progress::More));
        let line = b"X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n";
        let mut result = Ok(Progress::More);
        for _ in 0..2000 {
            result = p.feed(line);
            if result.is_err() {
                break;
            }
        }
        assert_eq!(result, Err(ParseError::HeadersTooLarge));
        assert!(p.pending.len() <= HEADER_CAP + line.len());
    }

    #[test]
    fn more_headers_than_the_stack_array_parse() {
        let mut msg = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n".to_vec();
        for i in 0..3 * MAX_HEADERS {
            msg.extend_from_slice(format!("Set-Cookie: c{i}=v\r\n").as_bytes());
        }
        msg.extend_from_slice(b"\r\nok");
        let mut p = ResponseParser::new("GET");
        let (head, tail) = msg.split_at(msg.len() / 2);
        assert_eq!(p.feed(head), Ok(Progress::More));
        assert_eq!(p.feed(tail), Ok(done(200, true)));
        assert_eq!(p.body_bytes, 2);
    }

    #[test]
    fn reuse_after_reset() {
        let mut p = ResponseParser::new("GET");
        assert_eq!(
            p.feed(b"HTTP/1.1 200 OK\r\nContent-Len"),
            Ok(Progress::More)
        );
        p.reset();
        assert_eq!(
            p.feed(b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"),
            Ok(done(201, true))
        );
    }

    #[test]
    fn interim_responses_are_skipped_and_the_final_one_counts() {
        let msg: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
        let mut p = ResponseParser::new("POST");
        assert_eq!(p.feed(msg), Ok(done(200, true)));
        assert_eq!(p.body_bytes, 2);
        // Split at every byte: no state is lost between the interim and the final response.
        let mut p = ResponseParser::new("POST");
        let parts: Vec<&[u8]> = msg.chunks(1).collect();
        let (last, before) = parts.split_last().unwrap();
        for part in before {
            assert_eq!(p.feed(part), Ok(Progress::More));
        }
        assert_eq!(p.feed(last), Ok(done(200, true)));
    }

    #[test]
    fn switching_protocols_ends_the_connection() {
        let mut p = ResponseParser::new("GET");
        let r = p.feed(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n");
        assert_eq!(r, Ok(done(101, false)));
    }

    #[test]
    fn started_tells_whether_any_byte_arrived() {
        let mut p = ResponseParser::new("GET");
        assert!(!p.started());
        assert_eq!(p.feed(b"HTTP/1.1 100 Continue\r\n\r\n"), Ok(Progress::More));
        assert!(p.started());
        p.reset();
        assert!(!p.started());
    }

    #[test]
    fn content_methods_announce_an_empty_body() {
        let spec = |method: &str| RequestSpec {
            method: method.to_string(),
            authority: "h".to_string(),
            path: "/".to_string(),
            headers: Vec::new(),
            body: Vec::new(),
            alternate_bodies: Vec::new(),
            scenario: None,
        };
        let text = |m: &str| String::from_utf8(request_bytes(&spec(m))).unwrap();
        assert!(text("POST").contains("\r\nContent-Length: 0\r\n"));
        assert!(text("PUT").contains("\r\nContent-Length: 0\r\n"));
        assert!(!text("GET").contains("Content-Length"));
    }
}
