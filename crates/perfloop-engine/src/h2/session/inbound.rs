//! The session's reading side: frames parsed from the bytes fed, a frame at a time and
//! split anywhere, each applied to the connection or its stream. DATA payloads are
//! skipped as they pass (counted, never copied); other frames are read in place when
//! whole in the input, else gathered in the reused payload buffer.

use crate::h2::hpack::Decoder;

use super::{
    Continuing, Data, Error, Event, MAX_IDLE_FRAMES, MAX_PENDING_OUTPUT, Phase, Rx, Session,
};
use crate::h2::frame::{self, Head, Reason};
use crate::http::HEADER_CAP;

impl Session {
    /// Feeds bytes read from the connection; what they complete comes out as events, and
    /// replies (acknowledgements, window updates) are queued to send.
    pub fn recv(&mut self, mut input: &[u8]) {
        while !input.is_empty() && !self.dead {
            match self.rx {
                Rx::Head => {
                    let take = (frame::HEADER_LEN - self.head_len).min(input.len());
                    self.head[self.head_len..self.head_len + take].copy_from_slice(&input[..take]);
                    self.head_len += take;
                    input = &input[take..];
                    if self.head_len == frame::HEADER_LEN {
                        self.head_len = 0;
                        if let Err(e) = self.begin_frame() {
                            self.fail(e);
                        }
                    }
                }
                Rx::Payload => {
                    let len = self.frame.len;
                    if self.payload.is_empty() && input.len() >= len {
                        self.rx = Rx::Head;
                        let (payload, rest) = input.split_at(len);
                        input = rest;
                        self.end_frame(payload);
                    } else {
                        let take = (len - self.payload.len()).min(input.len());
                        self.payload.extend_from_slice(&input[..take]);
                        input = &input[take..];
                        if self.payload.len() == len {
                            self.rx = Rx::Head;
                            let payload = std::mem::take(&mut self.payload);
                            self.end_frame(&payload);
                            self.payload = payload;
                            self.payload.clear();
                        }
                    }
                }
                Rx::DataPad => {
                    let pad = usize::from(input[0]);
                    input = &input[1..];
                    let len = self.frame.len - 1;
                    if pad > len {
                        self.fail(Error::Protocol("DATA padding longer than the frame"));
                    } else {
                        self.data.body = (len - pad) as u64;
                        self.skip_data(len);
                    }
                }
                Rx::DataSkip { left } => {
                    let take = left.min(input.len());
                    input = &input[take..];
                    self.skip_data(left - take);
                }
            }
        }
    }

    fn skip_data(&mut self, left: usize) {
        if left == 0 {
            self.rx = Rx::Head;
            self.end_data();
        } else {
            self.rx = Rx::DataSkip { left };
        }
    }

    /// A frame header is in: checks what can be checked before the payload.
    fn begin_frame(&mut self) -> Result<(), Error> {
        if !self.peer_settings_seen && self.head.starts_with(b"HTTP/") {
            return Err(Error::NotHttp2);
        }
        let h = Head::parse(&self.head);
        self.frame = h;
        if h.len > frame::MAX_FRAME {
            return Err(Error::FrameSize(
                "a frame longer than the 16,384 bytes allowed",
            ));
        }
        if !self.peer_settings_seen && (h.kind != frame::SETTINGS || h.has(frame::ACK)) {
            return Err(Error::Protocol("the server's first frame is not SETTINGS"));
        }
        if let Some(c) = self.continuing {
            if h.kind != frame::CONTINUATION || h.stream != c.stream {
                return Err(Error::Protocol("a header block interrupted"));
            }
        }
        // Progress is counted when it happens; every frame first counts as idle.
        self.idle_frames += 1;
        if self.idle_frames > MAX_IDLE_FRAMES {
            return Err(Error::Flood(frame::kind_name(h.kind)));
        }
        if h.kind == frame::DATA {
            return self.begin_data(h);
        }
        self.rx = Rx::Payload;
        if h.len == 0 {
            self.rx = Rx::Head;
            self.end_frame(&[]);
        }
        Ok(())
    }

    fn begin_data(&mut self, h: Head) -> Result<(), Error> {
        if h.stream == 0 {
            return Err(Error::Protocol("DATA on stream 0"));
        }
        self.recv_window -= h.len as i64;
        if self.recv_window < 0 {
            return Err(Error::FlowControl("DATA beyond the connection window"));
        }
        self.data = Data {
            stream: h.stream,
            body: h.len as u64,
            end: h.has(frame::END_STREAM),
        };
        if h.has(frame::PADDED) {
            if h.len == 0 {
                return Err(Error::FrameSize("padded DATA without its pad length"));
            }
            self.rx = Rx::DataPad;
        } else {
            self.skip_data(h.len);
        }
        Ok(())
    }

    /// A DATA frame has passed whole.
    fn end_data(&mut self) {
        let Data { stream, body, end } = self.data;
        let len = self.frame.len as i64;
        self.replenish_connection();
        let Some(at) = self.find(stream) else {
            if self.is_idle(stream) {
                self.fail(Error::Protocol("DATA on a stream never opened"));
            }
            return;
        };
        let s = &mut self.streams[at];
        if s.phase == Phase::Head {
            self.malformed(at);
            return;
        }
        s.recv_window -= len;
        if s.recv_window < 0 {
            self.malformed(at);
            return;
        }
        s.body += body;
        if body > 0 || end {
            self.idle_frames = 0;
        }
        if end {
            self.complete(at);
            return;
        }
        let full = i64::from(self.config.stream_window);
        if s.recv_window <= full / 2 {
            let increment = (full - s.recv_window) as u32;
            s.recv_window = full;
            frame::put_window_update(&mut self.out, stream, increment);
        }
    }

    fn replenish_connection(&mut self) {
        let full = i64::from(self.config.connection_window);
        if self.recv_window <= full / 2 {
            frame::put_window_update(&mut self.out, 0, (full - self.recv_window) as u32);
            self.recv_window = full;
        }
    }

    /// A non-DATA frame is in whole.
    fn end_frame(&mut self, payload: &[u8]) {
        let h = self.frame;
        let done = match h.kind {
            frame::HEADERS => self.on_headers(h, payload),
            frame::CONTINUATION => self.on_continuation(h, payload),
            frame::PRIORITY => match (h.stream, payload.len()) {
                (0, _) => Err(Error::Protocol("PRIORITY on stream 0")),
                (_, 5) => Ok(()),
                _ => Err(Error::FrameSize("PRIORITY not 5 bytes long")),
            },
            frame::RST_STREAM => self.on_rst_stream(h, payload),
            frame::SETTINGS => self.on_settings(h, payload),
            frame::PUSH_PROMISE => Err(Error::Protocol("PUSH_PROMISE with push disabled")),
            frame::PING => self.on_ping(h, payload),
            frame::GOAWAY => self.on_goaway(h, payload),
            frame::WINDOW_UPDATE => self.on_window_update(h, payload),
            // Unknown frame types are ignored (RFC 9113 §4.1).
            _ => Ok(()),
        };
        if let Err(e) = done {
            self.fail(e);
        }
    }

    fn on_headers(&mut self, h: Head, payload: &[u8]) -> Result<(), Error> {
        if h.stream == 0 {
            return Err(Error::Protocol("HEADERS on stream 0"));
        }
        let mut fragment = payload;
        if h.has(frame::PADDED) {
            let (&pad, rest) = fragment
                .split_first()
                .ok_or(Error::FrameSize("padded HEADERS without its pad length"))?;
            let keep = rest
                .len()
                .checked_sub(usize::from(pad))
                .ok_or(Error::Protocol("HEADERS padding longer than the frame"))?;
            fragment = &rest[..keep];
        }
        if h.has(frame::PRIORITY_FLAG) {
            fragment = fragment
                .get(5..)
                .ok_or(Error::FrameSize("HEADERS shorter than its priority"))?;
        }
        let end_stream = h.has(frame::END_STREAM);
        if h.has(frame::END_HEADERS) {
            let status = decode_status(&mut self.decoder, fragment)?;
            return self.on_header_block(h.stream, end_stream, status);
        }
        self.block.clear();
        self.block.extend_from_slice(fragment);
        self.continuing = Some(Continuing {
            stream: h.stream,
            end_stream,
        });
        Ok(())
    }

    fn on_continuation(&mut self, h: Head, payload: &[u8]) -> Result<(), Error> {
        let c = self
            .continuing
            .ok_or(Error::Protocol("CONTINUATION without HEADERS"))?;
        if self.block.len() + payload.len() > HEADER_CAP {
            return Err(Error::HeadersTooLarge);
        }
        self.block.extend_from_slice(payload);
        if !h.has(frame::END_HEADERS) {
            return Ok(());
        }
        self.continuing = None;
        let status = decode_status(&mut self.decoder, &self.block)?;
        self.on_header_block(c.stream, c.end_stream, status)
    }

    /// A whole header block for `stream` was decoded (the HPACK state is updated even
    /// for a stream the client no longer follows).
    fn on_header_block(
        &mut self,
        stream: u32,
        end_stream: bool,
        status: Option<u16>,
    ) -> Result<(), Error> {
        let Some(at) = self.find(stream) else {
            if self.is_idle(stream) {
                return Err(Error::Protocol("HEADERS on a stream never opened"));
            }
            return Ok(());
        };
        self.idle_frames = 0;
        let s = &mut self.streams[at];
        match (s.phase, status) {
            // Interim responses (1xx) are skipped; 101 has no place in HTTP/2.
            (Phase::Head, Some(code @ 100..=199)) if code != 101 && !end_stream => {}
            (Phase::Head, Some(code @ 200..=999)) => {
                s.status = code;
                s.phase = Phase::Body;
                if end_stream {
                    self.complete(at);
                }
            }
            // Trailers end the stream.
            (Phase::Body, None) if end_stream => self.complete(at),
            _ => self.malformed(at),
        }
        Ok(())
    }

    fn on_rst_stream(&mut self, h: Head, payload: &[u8]) -> Result<(), Error> {
        let code: &[u8; 4] = payload
            .try_into()
            .map_err(|_| Error::FrameSize("RST_STREAM not 4 bytes long"))?;
        if h.stream == 0 {
            return Err(Error::Protocol("RST_STREAM on stream 0"));
        }
        match self.find(h.stream) {
            Some(at) => {
                let s = self.streams.swap_remove(at);
                self.idle_frames = 0;
                self.events.push_back(Event::Reset {
                    token: s.token,
                    reason: Reason(u32::from_be_bytes(*code)),
                });
                Ok(())
            }
            None if self.is_idle(h.stream) => {
                Err(Error::Protocol("RST_STREAM on a stream never opened"))
            }
            None => Ok(()),
        }
    }

    fn on_settings(&mut self, h: Head, payload: &[u8]) -> Result<(), Error> {
        if h.stream != 0 {
            return Err(Error::Protocol("SETTINGS on a stream"));
        }
        if h.has(frame::ACK) {
            return match payload.len() {
                0 => Ok(()),
                _ => Err(Error::FrameSize("SETTINGS acknowledgement with a payload")),
            };
        }
        if payload.len() % 6 != 0 {
            return Err(Error::FrameSize("SETTINGS not a multiple of 6 bytes"));
        }
        self.peer_settings_seen = true;
        for setting in payload.chunks_exact(6) {
            let id = u16::from_be_bytes([setting[0], setting[1]]);
            let value = u32::from_be_bytes([setting[2], setting[3], setting[4], setting[5]]);
            match id {
                frame::SETTINGS_ENABLE_PUSH if value != 0 => {
                    return Err(Error::Protocol("a server enabled push"));
                }
                frame::SETTINGS_MAX_CONCURRENT_STREAMS => {
                    self.peer_max_streams = value as usize;
                }
                frame::SETTINGS_INITIAL_WINDOW_SIZE => {
                    if i64::from(value) > frame::MAX_WINDOW {
                        return Err(Error::FlowControl("an initial window above 2^31-1"));
                    }
                    let delta = i64::from(value) - self.peer_stream_window;
                    self.peer_stream_window = i64::from(value);
                    for s in &mut self.streams {
                        s.send_window += delta;
                        if s.send_window > frame::MAX_WINDOW {
                            return Err(Error::FlowControl("a stream window above 2^31-1"));
                        }
                    }
                }
                frame::SETTINGS_MAX_FRAME_SIZE => {
                    if !(frame::MAX_FRAME as u32..=(1 << 24) - 1).contains(&value) {
                        return Err(Error::Protocol("a maximum frame size out of range"));
                    }
                    self.peer_max_frame = value as usize;
                }
                // The header table size only matters to an encoder that indexes, and the
                // header list size is advisory; unknown settings are ignored.
                _ => {}
            }
        }
        self.reply(|out| frame::put_head(out, 0, frame::SETTINGS, frame::ACK, 0))?;
        self.send_bodies();
        Ok(())
    }

    fn on_ping(&mut self, h: Head, payload: &[u8]) -> Result<(), Error> {
        if payload.len() != 8 {
            return Err(Error::FrameSize("PING not 8 bytes long"));
        }
        if h.stream != 0 {
            return Err(Error::Protocol("PING on a stream"));
        }
        if h.has(frame::ACK) {
            return Ok(());
        }
        self.reply(|out| {
            frame::put_head(out, 8, frame::PING, frame::ACK, 0);
            out.extend_from_slice(payload);
        })
    }

    fn on_goaway(&mut self, h: Head, payload: &[u8]) -> Result<(), Error> {
        if h.stream != 0 {
            return Err(Error::Protocol("GOAWAY on a stream"));
        }
        let (Some(last), Some(code)) = (payload.get(..4), payload.get(4..8)) else {
            return Err(Error::FrameSize("GOAWAY shorter than 8 bytes"));
        };
        let last = frame::u31(&[last[0], last[1], last[2], last[3]]);
        let reason = Reason(u32::from_be_bytes([code[0], code[1], code[2], code[3]]));
        let last = self.goaway.map_or(last, |before| before.min(last));
        self.goaway = Some(last);
        self.events.push_back(Event::GoAway {
            last_stream: last,
            reason,
        });
        let mut at = 0;
        while at < self.streams.len() {
            if self.streams[at].id > last {
                let s = self.streams.swap_remove(at);
                self.events.push_back(Event::Refused {
                    token: s.token,
                    reason,
                });
            } else {
                at += 1;
            }
        }
        Ok(())
    }

    fn on_window_update(&mut self, h: Head, payload: &[u8]) -> Result<(), Error> {
        let b: &[u8; 4] = payload
            .try_into()
            .map_err(|_| Error::FrameSize("WINDOW_UPDATE not 4 bytes long"))?;
        let increment = i64::from(frame::u31(b));
        if h.stream == 0 {
            if increment == 0 {
                return Err(Error::Protocol("a connection WINDOW_UPDATE of 0"));
            }
            self.send_window += increment;
            if self.send_window > frame::MAX_WINDOW {
                return Err(Error::FlowControl("the connection window above 2^31-1"));
            }
        } else {
            let Some(at) = self.find(h.stream) else {
                if self.is_idle(h.stream) {
                    return Err(Error::Protocol("WINDOW_UPDATE on a stream never opened"));
                }
                return Ok(());
            };
            let s = &mut self.streams[at];
            s.send_window += increment;
            if increment == 0 || s.send_window > frame::MAX_WINDOW {
                self.malformed(at);
                return Ok(());
            }
        }
        self.send_bodies();
        Ok(())
    }

    /// Queues a reply to the peer's SETTINGS or PING, unless the peer floods faster than
    /// the connection carries the replies.
    fn reply(&mut self, write: impl FnOnce(&mut Vec<u8>)) -> Result<(), Error> {
        if self.out.len() - self.out_at > MAX_PENDING_OUTPUT {
            return Err(Error::Flood(frame::kind_name(self.frame.kind)));
        }
        write(&mut self.out);
        Ok(())
    }
}

/// Decodes a response header block, returning its `:status` if it has one. Every field
/// goes through the decoder (that keeps its dynamic table in step with the server's); only
/// the status is kept.
fn decode_status(decoder: &mut Decoder, block: &[u8]) -> Result<Option<u16>, Error> {
    let mut status = None;
    decoder
        .decode_with_cb(block, |name, value| {
            if name == b":status" {
                status = match *value {
                    [a, b, c] if [a, b, c].iter().all(u8::is_ascii_digit) => Some(
                        u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0'),
                    ),
                    _ => Some(0),
                };
            }
        })
        .map_err(|_| Error::Compression)?;
    Ok(status)
}
