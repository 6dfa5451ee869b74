//! HTTP/2 for the client side, sans I/O: a [`Session`] is one connection's state machine
//! carrying many concurrent streams (RFC 9113), fed the bytes read and asked for the bytes
//! to write; the caller owns the socket (plain TCP with prior knowledge, or TLS after ALPN
//! chose `h2`).
//!
//! - `frame`: the frame header, types, flags, error codes and the frame writers.
//! - `hpack`: the response header blocks decoded (RFC 7541) without allocating per
//!   field, Huffman codes read through tables built once.
//! - `request`: a request's header block, HPACK-encoded once (`loona-hpack`) and reused
//!   by every stream that sends it.
//! - `session`: the connection: SETTINGS and PING acknowledged, flow control both ways
//!   (WINDOW_UPDATE for the connection and each stream), the server's
//!   MAX_CONCURRENT_STREAMS obeyed, GOAWAY and RST_STREAM reported as events of their own,
//!   floods and endless header blocks cut short.
//!
//! A worker drives it like this: connect, then `output()` → write → `sent(n)`; on
//! readable, read → `recv(bytes)`; while `can_start()`, `start(request, token)` (the token
//! names the worker's in-flight record: intended time, endpoint); after each `recv`, drain
//! `poll_event()`: `Response` completes a request, `Reset`, `Refused`, `Malformed` and
//! `Aborted` fail it with a kind of their own; on a request timeout, `cancel(stream)`.
//! When `accepting()` is false and `open_streams()` is 0, the connection is done: close it
//! and open a new one.

mod frame;
mod hpack;
mod request;
mod session;

#[cfg(test)]
mod server_tests;
#[cfg(test)]
mod session_tests;

// Some of these only the tests use.
#[allow(unused_imports)]
pub use frame::Reason;
#[allow(unused_imports)]
pub use request::Request;
#[allow(unused_imports)]
pub use session::{Config, Error, Event, Session, StartError};
