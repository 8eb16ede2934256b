//! Client-to-server WebSocket message decoder: frames in, whole messages and control frames
//! out, with fragmentation, interleaved control frames, masking, UTF-8 validation that fails
//! fast across fragments, and a message size limit.

use std::fmt;

use super::frame::{apply_mask, decode_header, FrameHeader, HeaderError, Opcode};
use super::utf8::Utf8Validator;

/// Close status codes (RFC 6455 section 7.4.1).
pub mod close_code {
    pub const NORMAL: u16 = 1000;
    pub const GOING_AWAY: u16 = 1001;
    pub const PROTOCOL_ERROR: u16 = 1002;
    pub const UNSUPPORTED_DATA: u16 = 1003;
    pub const INVALID_PAYLOAD: u16 = 1007;
    pub const POLICY_VIOLATION: u16 = 1008;
    pub const MESSAGE_TOO_BIG: u16 = 1009;
    pub const INTERNAL_ERROR: u16 = 1011;
    pub const TRY_AGAIN_LATER: u16 = 1013;
}

/// What a decoded unit is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WsEvent {
    Text(Vec<u8>),
    Binary(Vec<u8>),
    Ping(Vec<u8>),
    Pong(Vec<u8>),
    /// A close frame: its code and reason, or `None` for an empty close.
    Close(Option<(u16, String)>),
}

/// Why the connection must be failed; each maps to a close code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WsError {
    /// A framing rule was broken (1002); the text says which.
    Protocol(&'static str),
    /// A text message or close reason is not UTF-8 (1007).
    InvalidUtf8,
    /// A message larger than the limit (1009).
    TooBig,
}

impl WsError {
    pub fn close_code(self) -> u16 {
        match self {
            WsError::Protocol(_) => close_code::PROTOCOL_ERROR,
            WsError::InvalidUtf8 => close_code::INVALID_PAYLOAD,
            WsError::TooBig => close_code::MESSAGE_TOO_BIG,
        }
    }

    pub fn reason(self) -> &'static str {
        match self {
            WsError::Protocol(why) => why,
            WsError::InvalidUtf8 => "invalid UTF-8",
            WsError::TooBig => "message too big",
        }
    }
}

impl fmt::Display for WsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.reason(), self.close_code())
    }
}

impl From<HeaderError> for WsError {
    fn from(e: HeaderError) -> Self {
        WsError::Protocol(match e {
            HeaderError::ReservedOpcode => "reserved opcode",
            HeaderError::LengthOverflow => "payload length overflow",
            HeaderError::NonMinimalLength => "payload length not minimally encoded",
        })
    }
}

#[derive(Debug, Clone, Copy)]
enum State {
    Header,
    Payload {
        header: FrameHeader,
        /// Payload bytes already read.
        done: u64,
    },
}

/// Decoder for one connection.
#[derive(Debug)]
pub struct WsDecoder {
    state: State,
    /// Data message being assembled, and its kind while fragmented.
    message: Vec<u8>,
    message_kind: Option<Opcode>,
    utf8: Utf8Validator,
    control: Vec<u8>,
    max_message: usize,
}

impl WsDecoder {
    pub fn new(max_message: usize) -> WsDecoder {
        WsDecoder {
            state: State::Header,
            message: Vec::new(),
            message_kind: None,
            utf8: Utf8Validator::new(),
            control: Vec::new(),
            max_message,
        }
    }

    /// Whether a frame or fragmented message is partly read.
    pub fn is_mid_message(&self) -> bool {
        matches!(self.state, State::Payload { .. }) || self.message_kind.is_some()
    }

    /// Decodes from `input`. Returns the bytes consumed and at most one event; call again
    /// with the rest while it makes progress.
    pub fn decode(&mut self, input: &[u8]) -> Result<(usize, Option<WsEvent>), WsError> {
        match self.state {
            State::Header => {
                let Some((header, used)) = decode_header(input)? else {
                    return Ok((0, None));
                };
                self.check_header(&header)?;
                self.state = State::Payload { header, done: 0 };
                if header.payload_len == 0 {
                    let event = self.finish_frame(header)?;
                    return Ok((used, event));
                }
                Ok((used, None))
            }
            State::Payload { header, done } => {
                let remaining = header.payload_len - done;
                let take = remaining.min(input.len() as u64) as usize;
                if take == 0 {
                    return Ok((0, None));
                }
                let mask = header.mask.unwrap_or([0; 4]);
                let target = if header.opcode.is_control() {
                    &mut self.control
                } else {
                    &mut self.message
                };
                let start = target.len();
                target.extend_from_slice(&input[..take]);
                apply_mask(&mut target[start..], mask, done as usize);
                if self.message_kind == Some(Opcode::Text) && !header.opcode.is_control() {
                    self.utf8
                        .feed(&self.message[start..])
                        .map_err(|_| WsError::InvalidUtf8)?;
                }
                let done = done + take as u64;
                self.state = State::Payload { header, done };
                if done == header.payload_len {
                    let event = self.finish_frame(header)?;
                    return Ok((take, event));
                }
                Ok((take, None))
            }
        }
    }

    fn check_header(&mut self, h: &FrameHeader) -> Result<(), WsError> {
        if h.rsv != 0 {
            return Err(WsError::Protocol("reserved bits set"));
        }
        if h.mask.is_none() {
            return Err(WsError::Protocol("client frame not masked"));
        }
        if h.opcode.is_control() {
            if !h.fin {
                return Err(WsError::Protocol("fragmented control frame"));
            }
            if h.payload_len > 125 {
                return Err(WsError::Protocol("control frame too long"));
            }
            self.control.clear();
            return Ok(());
        }
        match (h.opcode, self.message_kind) {
            (Opcode::Continuation, None) => {
                return Err(WsError::Protocol("continuation without a message"))
            }
            (Opcode::Text | Opcode::Binary, Some(_)) => {
                return Err(WsError::Protocol("new message inside a fragmented one"))
            }
            (Opcode::Text | Opcode::Binary, None) => {
                self.message_kind = Some(h.opcode);
                self.message.clear();
                self.utf8.reset();
            }
            _ => {}
        }
        if self.message.len() as u64 + h.payload_len > self.max_message as u64 {
            return Err(WsError::TooBig);
        }
        Ok(())
    }

    fn finish_frame(&mut self, h: FrameHeader) -> Result<Option<WsEvent>, WsError> {
        self.state = State::Header;
        match h.opcode {
            Opcode::Ping => Ok(Some(WsEvent::Ping(std::mem::take(&mut self.control)))),
            Opcode::Pong => Ok(Some(WsEvent::Pong(std::mem::take(&mut self.control)))),
            Opcode::Close => parse_close(&self.control).map(|c| Some(WsEvent::Close(c))),
            Opcode::Text | Opcode::Binary | Opcode::Continuation => {
                if !h.fin {
                    return Ok(None);
                }
                let kind = self.message_kind.take();
                let data = std::mem::take(&mut self.message);
                match kind {
                    Some(Opcode::Text) => {
                        if !self.utf8.is_complete() {
                            return Err(WsError::InvalidUtf8);
                        }
                        Ok(Some(WsEvent::Text(data)))
                    }
                    _ => Ok(Some(WsEvent::Binary(data))),
                }
            }
        }
    }
}

fn parse_close(payload: &[u8]) -> Result<Option<(u16, String)>, WsError> {
    match payload {
        [] => Ok(None),
        [_] => Err(WsError::Protocol("close payload of one byte")),
        [hi, lo, reason @ ..] => {
            let code = u16::from_be_bytes([*hi, *lo]);
            if !valid_close_code(code) {
                return Err(WsError::Protocol("invalid close code"));
            }
            let reason = std::str::from_utf8(reason).map_err(|_| WsError::InvalidUtf8)?;
            Ok(Some((code, reason.to_string())))
        }
    }
}

/// Codes a peer may send (RFC 6455 section 7.4 and the IANA registry).
pub fn valid_close_code(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn masked(fin: bool, op: u8, payload: &[u8]) -> Vec<u8> {
        let mask = [0x37, 0xfa, 0x21, 0x3d];
        let mut out = vec![(if fin { 0x80 } else { 0 }) | op];
        let n = payload.len();
        if n < 126 {
            out.push(0x80 | n as u8);
        } else if n <= 0xFFFF {
            out.push(0x80 | 126);
            out.extend((n as u16).to_be_bytes());
        } else {
            out.push(0x80 | 127);
            out.extend((n as u64).to_be_bytes());
        }
        out.extend(mask);
        let mut p = payload.to_vec();
        apply_mask(&mut p, mask, 0);
        out.extend(p);
        out
    }

    /// Decodes what it can from `buf`, removing the consumed bytes.
    fn drain(d: &mut WsDecoder, buf: &mut Vec<u8>) -> Result<Vec<WsEvent>, WsError> {
        let mut events = Vec::new();
        let mut at = 0;
        loop {
            let (used, ev) = d.decode(&buf[at..])?;
            at += used;
            if let Some(ev) = ev {
                events.push(ev);
            } else if used == 0 {
                buf.drain(..at);
                return Ok(events);
            }
        }
    }

    fn run(d: &mut WsDecoder, input: &[u8]) -> Result<Vec<WsEvent>, WsError> {
        drain(d, &mut input.to_vec())
    }

    #[test]
    fn text_and_fragments_with_ping_between() {
        let mut bytes = masked(false, 1, b"Hel");
        bytes.extend(masked(true, 9, b"p"));
        bytes.extend(masked(false, 0, b"lo "));
        bytes.extend(masked(true, 0, "w\u{f6}rld".as_bytes()));
        let mut d = WsDecoder::new(1024);
        let events = run(&mut d, &bytes).unwrap();
        assert_eq!(
            events,
            vec![
                WsEvent::Ping(b"p".to_vec()),
                WsEvent::Text("Hello w\u{f6}rld".as_bytes().to_vec())
            ]
        );
        // Byte at a time gives the same.
        let mut d = WsDecoder::new(1024);
        let mut got = Vec::new();
        let mut buf = Vec::new();
        for b in &bytes {
            buf.push(*b);
            got.extend(drain(&mut d, &mut buf).unwrap());
        }
        assert!(buf.is_empty());
        assert_eq!(got, events);
    }

    #[test]
    fn protocol_errors() {
        let cases: Vec<(Vec<u8>, u16)> = vec![
            (masked(true, 0, b"x"), 1002),
            (masked(true, 3, b""), 1002),
            (
                {
                    let mut b = masked(true, 1, b"x");
                    b[0] |= 0x40;
                    b
                },
                1002,
            ),
            (vec![0x81, 0x01, b'x'], 1002),
            (masked(false, 9, b""), 1002),
            (masked(true, 9, &[0u8; 126]), 1002),
            (
                {
                    let mut b = masked(false, 1, b"a");
                    b.extend(masked(true, 1, b"b"));
                    b
                },
                1002,
            ),
            (masked(true, 8, &[3]), 1002),
            (masked(true, 8, &[0x03, 0xed]), 1002),
            (masked(true, 8, &[0x03, 0xe8, 0xff]), 1007),
            (masked(true, 1, &[0xff]), 1007),
            (masked(true, 2, &[0u8; 2000]), 1009),
        ];
        for (bytes, code) in cases {
            let mut d = WsDecoder::new(1024);
            let err = run(&mut d, &bytes).unwrap_err();
            assert_eq!(err.close_code(), code, "{err} for {bytes:?}");
        }
    }

    #[test]
    fn close_frames() {
        let mut d = WsDecoder::new(1024);
        let mut payload = 1000u16.to_be_bytes().to_vec();
        payload.extend(b"bye");
        assert_eq!(
            run(&mut d, &masked(true, 8, &payload)).unwrap(),
            vec![WsEvent::Close(Some((1000, "bye".into())))]
        );
        assert_eq!(
            run(&mut d, &masked(true, 8, b"")).unwrap(),
            vec![WsEvent::Close(None)]
        );
    }

    #[test]
    fn invalid_utf8_fails_before_message_ends() {
        let mut d = WsDecoder::new(1024);
        let bytes = masked(false, 1, &[b'a', 0xf4, 0x90]);
        assert_eq!(run(&mut d, &bytes).unwrap_err(), WsError::InvalidUtf8);
    }

    #[test]
    fn big_messages_across_length_forms() {
        for n in [125usize, 126, 65535, 65536, 100_000] {
            let mut d = WsDecoder::new(1 << 20);
            let data = vec![b'z'; n];
            let events = run(&mut d, &masked(true, 2, &data)).unwrap();
            assert_eq!(events, vec![WsEvent::Binary(data)]);
        }
    }
}
