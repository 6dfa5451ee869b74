//! A connection's byte stream: plain TCP, or TLS over TCP.
//!
//! TLS is a non-blocking rustls client connection driven by hand: `write_tls` sends what
//! it has encrypted, `read_tls` takes what the socket holds and `process_new_packets`
//! decrypts it. Both streams keep the plain socket's contract, which the worker's
//! edge-triggered loop relies on: `WouldBlock` means "wait for readiness", and a read
//! shorter than the buffer means the socket had no more (TLS reads on until the socket
//! says `WouldBlock` or the buffer is full, so no decrypted byte waits unseen behind an
//! edge that already fired). A plain stream costs one match per call over the bare
//! socket; nothing is allocated per request.

use std::io::{self, Read, Write};
use std::net::SocketAddr;

use mio::net::TcpStream;
use rustls::ClientConnection;

use crate::tls::TlsClient;

/// A connection to the target.
pub(crate) enum Stream {
    /// Plain TCP.
    Plain(TcpStream),
    /// TLS over TCP (boxed: the rustls state is large and plain slots should stay small).
    Tls(Box<TlsStream>),
}

/// A TLS client connection over its socket.
pub(crate) struct TlsStream {
    sock: TcpStream,
    conn: ClientConnection,
}

impl Stream {
    /// Starts a non-blocking connect to `addr`, with TLS when a client is given (its
    /// handshake starts once the socket is connected, see [`Stream::handshake`]).
    pub(crate) fn connect(addr: SocketAddr, tls: Option<&TlsClient>) -> io::Result<Stream> {
        let sock = TcpStream::connect(addr)?;
        sock.set_nodelay(true)?;
        Ok(match tls {
            None => Stream::Plain(sock),
            Some(client) => {
                let conn = client.connection().map_err(io::Error::other)?;
                Stream::Tls(Box::new(TlsStream { sock, conn }))
            }
        })
    }

    /// The socket, for registration and connection checks.
    pub(crate) fn socket(&mut self) -> &mut TcpStream {
        match self {
            Stream::Plain(s) => s,
            Stream::Tls(t) => &mut t.sock,
        }
    }

    /// The socket, read-only.
    pub(crate) fn socket_ref(&self) -> &TcpStream {
        match self {
            Stream::Plain(s) => s,
            Stream::Tls(t) => &t.sock,
        }
    }

    /// Whether a TLS handshake still has to complete before requests can be written.
    pub(crate) fn handshaking(&self) -> bool {
        match self {
            Stream::Plain(_) => false,
            Stream::Tls(t) => t.conn.is_handshaking(),
        }
    }

    /// Advances the TLS handshake as far as the socket allows: `Ok(true)` once it is
    /// complete, `Ok(false)` while it waits for the server. A TLS failure (a refused
    /// certificate, an alert) is an `InvalidData` error carrying the `rustls::Error`.
    pub(crate) fn handshake(&mut self) -> io::Result<bool> {
        let Stream::Tls(t) = self else {
            return Ok(true);
        };
        loop {
            match t.send_pending() {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) => return Err(e),
                Ok(()) => {}
            }
            if !t.conn.is_handshaking() {
                return Ok(true);
            }
            if !t.conn.wants_read() {
                // Our flight is queued behind a full socket: wait for it to drain.
                return Ok(false);
            }
            match t.conn.read_tls(&mut t.sock) {
                Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(_) => {
                    t.process()?;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Writes request bytes: to the socket, or into the TLS connection (then encrypted
    /// and sent as far as the socket takes it; [`Stream::flush`] sends the rest).
    #[inline]
    pub(crate) fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            Stream::Tls(t) => {
                t.send_pending()?;
                let n = t.conn.writer().write(buf)?;
                if n == 0 && !buf.is_empty() {
                    // The connection's send buffer is full behind a full socket.
                    return Err(io::ErrorKind::WouldBlock.into());
                }
                match t.send_pending() {
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(n),
                    Err(e) => Err(e),
                    Ok(()) => Ok(n),
                }
            }
        }
    }

    /// Sends what TLS still holds encrypted (`WouldBlock` until the socket takes all of
    /// it); nothing for plain TCP, which holds nothing.
    #[inline]
    pub(crate) fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(_) => Ok(()),
            Stream::Tls(t) => t.send_pending(),
        }
    }

    /// Reads response bytes. `Ok(0)` is the end of the stream (for TLS, the server's
    /// close, with or without its `close_notify`).
    #[inline]
    pub(crate) fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            Stream::Tls(t) => t.read(buf),
        }
    }
}

impl TlsStream {
    /// Writes encrypted bytes until none are left (`Ok`) or the socket is full
    /// (`WouldBlock`).
    fn send_pending(&mut self) -> io::Result<()> {
        while self.conn.wants_write() {
            match self.conn.write_tls(&mut self.sock) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Decrypts what was read; a TLS failure is an `InvalidData` error carrying it.
    fn process(&mut self) -> io::Result<()> {
        self.conn
            .process_new_packets()
            .map(|_| ())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
    }

    /// Fills `buf` with decrypted bytes, reading the socket until it has no more or the
    /// buffer is full; `Ok(0)` at the end of the stream. A socket read shorter than asked
    /// emptied the socket: no second read is made to hear `WouldBlock` (one system call per
    /// response, as for plain TCP).
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut filled = 0;
        let mut drained = false;
        loop {
            match self.conn.reader().read(&mut buf[filled..]) {
                Ok(0) if filled == 0 => return Ok(0),
                Ok(0) => return Ok(filled),
                Ok(n) => {
                    filled += n;
                    if filled == buf.len() {
                        return Ok(filled);
                    }
                    continue;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock && drained => {
                    return if filled > 0 { Ok(filled) } else { Err(e) };
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                // The server closed without `close_notify`: the end of the stream, which
                // the HTTP framing judges (as for plain TCP).
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(filled),
                Err(e) => return Err(e),
            }
            let mut sock = Drained {
                sock: &mut self.sock,
                short: false,
            };
            let got = self.conn.read_tls(&mut sock);
            drained = sock.short;
            match got {
                Ok(0) => {
                    // Let rustls see the end, so the next read reports it.
                    self.process()?;
                    if filled > 0 {
                        return Ok(filled);
                    }
                }
                Ok(_) => {
                    self.process()?;
                    // A key update or a session ticket may want an answer; it can wait for
                    // the next write if the socket is full.
                    match self.send_pending() {
                        Err(e) if e.kind() != io::ErrorKind::WouldBlock => return Err(e),
                        _ => {}
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    return if filled > 0 { Ok(filled) } else { Err(e) };
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }
}

/// The socket as rustls reads it, noting whether a read came back shorter than asked.
struct Drained<'a> {
    sock: &'a mut TcpStream,
    short: bool,
}

impl Read for Drained<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.sock.read(buf)?;
        self.short = n < buf.len();
        Ok(n)
    }
}
