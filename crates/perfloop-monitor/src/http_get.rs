//! A minimal HTTP/1.1 GET client over a blocking `std` TCP stream, for scraping a
//! `/metrics` endpoint given as a [`TargetUrl`]: plain `http://` only (no TLS, no proxies, no redirects, no
//! compression), one request per connection (`Connection: close`), the whole exchange
//! bounded by one deadline and the body by a size cap. It is meant for a target on
//! loopback or a plain-HTTP network; a full client would cost more to compile than the
//! rest of the crate.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use perfloop_url::TargetUrl;

/// Largest body accepted.
pub(crate) const MAX_BODY: usize = 16 * 1024 * 1024;

/// Why a GET failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum GetError {
    #[error("cannot resolve {0}")]
    Resolve(String),
    #[error("connect: {0}")]
    Connect(io::Error),
    #[error("timed out")]
    Timeout,
    #[error("{0}")]
    Io(io::Error),
    #[error("HTTP status {0}")]
    Status(u16),
    #[error("malformed response: {0}")]
    Malformed(&'static str),
    #[error("response body larger than {} MiB", MAX_BODY / (1024 * 1024))]
    TooLarge,
}

impl From<io::Error> for GetError {
    fn from(e: io::Error) -> GetError {
        match e.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => GetError::Timeout,
            _ => GetError::Io(e),
        }
    }
}

/// GETs `url` and returns the body of a `200` response, all within `timeout`.
pub(crate) fn get(url: &TargetUrl, timeout: Duration) -> Result<String, GetError> {
    let deadline = Instant::now() + timeout;
    let remaining = || {
        deadline
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
            .ok_or(GetError::Timeout)
    };
    let addrs = url
        .socket_addrs()
        .map_err(|_| GetError::Resolve(url.host().to_owned()))?;
    let mut last = None;
    let mut stream = None;
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, remaining()?) {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(e) => last = Some(e),
        }
    }
    let mut stream = match (stream, last) {
        (Some(s), _) => s,
        (None, Some(e)) if e.kind() == io::ErrorKind::TimedOut => return Err(GetError::Timeout),
        (None, Some(e)) => return Err(GetError::Connect(e)),
        (None, None) => return Err(GetError::Resolve(url.host().to_owned())),
    };
    stream.set_nodelay(true)?;
    stream.set_write_timeout(Some(remaining()?))?;
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: perfloop\r\n\
         Accept: text/plain;version=0.0.4;q=1,*/*;q=0.1\r\nConnection: close\r\n\r\n",
        url.request_target(),
        url.authority()
    );
    stream.write_all(request.as_bytes())?;

    let mut buf = Vec::with_capacity(16 * 1024);
    let mut chunk = [0u8; 16 * 1024];
    let mut head: Option<Head> = None;
    loop {
        if let Some(h) = &head {
            if let Some(body) = complete_body(h, &buf[h.len..], false)? {
                return finish(h, body);
            }
        }
        stream.set_read_timeout(Some(remaining()?))?;
        let n = match stream.read(&mut chunk) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.into()),
        };
        if n == 0 {
            let h = head.ok_or(GetError::Malformed("connection closed before the head"))?;
            let body = complete_body(&h, &buf[h.len..], true)?
                .ok_or(GetError::Malformed("connection closed mid-body"))?;
            return finish(&h, body);
        }
        buf.extend_from_slice(&chunk[..n]);
        if buf.len() > MAX_BODY + 64 * 1024 {
            return Err(GetError::TooLarge);
        }
        if head.is_none() {
            head = parse_head(&buf)?;
        }
    }
}

/// What the head says about the body.
#[derive(Debug)]
struct Head {
    /// Bytes of the head.
    len: usize,
    status: u16,
    framing: Framing,
    encoded: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    Length(usize),
    Chunked,
    UntilClose,
}

fn parse_head(buf: &[u8]) -> Result<Option<Head>, GetError> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut response = httparse::Response::new(&mut headers);
    let len = match response.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(_) => return Err(GetError::Malformed("invalid status line or headers")),
    };
    let status = response.code.unwrap_or(0);
    let mut framing = Framing::UntilClose;
    let mut encoded = false;
    for h in response.headers.iter() {
        let value = std::str::from_utf8(h.value).unwrap_or("").trim();
        if h.name.eq_ignore_ascii_case("transfer-encoding") {
            if value.to_ascii_lowercase().ends_with("chunked") {
                framing = Framing::Chunked;
            }
        } else if h.name.eq_ignore_ascii_case("content-length") && framing != Framing::Chunked {
            let n = value
                .parse()
                .map_err(|_| GetError::Malformed("invalid Content-Length"))?;
            if n > MAX_BODY {
                return Err(GetError::TooLarge);
            }
            framing = Framing::Length(n);
        } else if h.name.eq_ignore_ascii_case("content-encoding") {
            encoded = !value.eq_ignore_ascii_case("identity");
        }
    }
    Ok(Some(Head {
        len,
        status,
        framing,
        encoded,
    }))
}

/// The body if all of it has arrived; `closed` when the peer has closed.
fn complete_body(head: &Head, data: &[u8], closed: bool) -> Result<Option<Vec<u8>>, GetError> {
    match head.framing {
        Framing::Length(n) if data.len() >= n => Ok(Some(data[..n].to_vec())),
        Framing::Length(_) => Ok(None),
        Framing::UntilClose if closed => Ok(Some(data.to_vec())),
        Framing::UntilClose => Ok(None),
        // Only try to decode once the data could end with the last chunk.
        Framing::Chunked if closed || data.ends_with(b"\r\n\r\n") => decode_chunked(data),
        Framing::Chunked => Ok(None),
    }
}

fn finish(head: &Head, body: Vec<u8>) -> Result<String, GetError> {
    if head.status != 200 {
        return Err(GetError::Status(head.status));
    }
    if head.encoded {
        return Err(GetError::Malformed(
            "compressed body, which was not asked for",
        ));
    }
    Ok(String::from_utf8(body)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
}

/// Decodes a chunked body; `None` while incomplete.
pub(crate) fn decode_chunked(mut data: &[u8]) -> Result<Option<Vec<u8>>, GetError> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = data.windows(2).position(|w| w == b"\r\n") else {
            return Ok(None);
        };
        let size_text = std::str::from_utf8(&data[..eol])
            .map_err(|_| GetError::Malformed("invalid chunk size"))?;
        let size_text = size_text.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| GetError::Malformed("invalid chunk size"))?;
        data = &data[eol + 2..];
        if size == 0 {
            // Trailer lines, then an empty line.
            loop {
                match data.windows(2).position(|w| w == b"\r\n") {
                    None => return Ok(None),
                    Some(0) => return Ok(Some(out)),
                    Some(eol) => data = &data[eol + 2..],
                }
            }
        }
        if out.len() + size > MAX_BODY {
            return Err(GetError::TooLarge);
        }
        if data.len() < size + 2 {
            return Ok(None);
        }
        if &data[size..size + 2] != b"\r\n" {
            return Err(GetError::Malformed("chunk not followed by CRLF"));
        }
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn urls() {
        let u = TargetUrl::parse("http://127.0.0.1:9100/metrics?x=1").unwrap();
        assert_eq!(
            (u.host(), u.port(), u.request_target()),
            ("127.0.0.1", 9100, "/metrics?x=1")
        );
        let u = TargetUrl::parse("http://[::1]:8080").unwrap();
        assert_eq!((u.host(), u.port(), u.request_target()), ("::1", 8080, "/"));
        assert_eq!(u.authority(), "[::1]:8080");
        let u = TargetUrl::parse("http://localhost/m#frag").unwrap();
        assert_eq!((u.port(), u.request_target()), (80, "/m"));
        for bad in [
            "ftp://x/",
            "x:80/metrics",
            "http://:80/",
            "http://h:port/",
            "http://u@h/",
            "http://127.0.0.1:99999/metrics",
        ] {
            assert!(TargetUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn chunked_bodies() {
        let body = decode_chunked(b"4\r\nWiki\r\n5;ext=1\r\npedia\r\n0\r\n\r\n").unwrap();
        assert_eq!(body.as_deref(), Some(&b"Wikipedia"[..]));
        let body = decode_chunked(b"4\r\nWiki\r\n0\r\nX-Trailer: 1\r\n\r\n").unwrap();
        assert_eq!(body.as_deref(), Some(&b"Wiki"[..]));
        assert!(decode_chunked(b"4\r\nWiki\r\n").unwrap().is_none());
        assert!(decode_chunked(b"4\r\nWi").unwrap().is_none());
        assert!(decode_chunked(b"zz\r\n").is_err());
    }

    /// Serves one connection with `response` after reading the request head.
    fn serve_once(response: &'static [u8]) -> TargetUrl {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut req = Vec::new();
            let mut b = [0u8; 1024];
            while !req.ends_with(b"\r\n\r\n") {
                let n = s.read(&mut b).unwrap();
                if n == 0 {
                    return;
                }
                req.extend_from_slice(&b[..n]);
            }
            for part in response.chunks(7) {
                s.write_all(part).unwrap();
                s.flush().unwrap();
            }
        });
        TargetUrl::parse(&format!("http://127.0.0.1:{port}/metrics")).unwrap()
    }

    #[test]
    fn content_length_chunked_and_close_delimited_responses() {
        let t = Duration::from_secs(5);
        let u = serve_once(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nup 1\n");
        assert_eq!(get(&u, t).unwrap(), "up 1\n");
        let u = serve_once(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nup \r\n2\r\n1\n\r\n0\r\n\r\n",
        );
        assert_eq!(get(&u, t).unwrap(), "up 1\n");
        let u = serve_once(b"HTTP/1.0 200 OK\r\n\r\nup 1\n");
        assert_eq!(get(&u, t).unwrap(), "up 1\n");
        let u = serve_once(b"HTTP/1.1 503 Unavailable\r\nContent-Length: 0\r\n\r\n");
        assert!(matches!(get(&u, t), Err(GetError::Status(503))));
        let u = serve_once(b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\nshort");
        assert!(matches!(get(&u, t), Err(GetError::Malformed(_))));
    }

    #[test]
    fn a_silent_server_times_out() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let u = TargetUrl::parse(&format!("http://127.0.0.1:{port}/")).unwrap();
        // The kernel completes the handshake from the backlog; nothing ever answers.
        assert!(matches!(
            get(&u, Duration::from_millis(200)),
            Err(GetError::Timeout)
        ));
        drop(listener);
    }
}
