//! WebSocket frame headers (RFC 6455 section 5.2): decoding client headers and encoding
//! server headers.

/// Frame opcodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opcode {
    Continuation,
    Text,
    Binary,
    Close,
    Ping,
    Pong,
}

impl Opcode {
    fn from_bits(bits: u8) -> Option<Opcode> {
        Some(match bits {
            0x0 => Opcode::Continuation,
            0x1 => Opcode::Text,
            0x2 => Opcode::Binary,
            0x8 => Opcode::Close,
            0x9 => Opcode::Ping,
            0xA => Opcode::Pong,
            _ => return None,
        })
    }

    pub fn bits(self) -> u8 {
        match self {
            Opcode::Continuation => 0x0,
            Opcode::Text => 0x1,
            Opcode::Binary => 0x2,
            Opcode::Close => 0x8,
            Opcode::Ping => 0x9,
            Opcode::Pong => 0xA,
        }
    }

    pub fn is_control(self) -> bool {
        matches!(self, Opcode::Close | Opcode::Ping | Opcode::Pong)
    }
}

/// A decoded frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    pub fin: bool,
    /// RSV1..3 as the low three bits.
    pub rsv: u8,
    pub opcode: Opcode,
    pub mask: Option<[u8; 4]>,
    pub payload_len: u64,
}

/// Why a header could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderError {
    /// Opcode 3-7 or 0xB-0xF.
    ReservedOpcode,
    /// A 64-bit length with its most significant bit set.
    LengthOverflow,
    /// A length not in its shortest form.
    NonMinimalLength,
}

/// Decodes a header at the start of `buf`: `Ok(Some((header, header_len)))`, `Ok(None)` when
/// more bytes are needed.
pub fn decode_header(buf: &[u8]) -> Result<Option<(FrameHeader, usize)>, HeaderError> {
    let (b0, b1) = match buf {
        [b0, b1, ..] => (*b0, *b1),
        _ => return Ok(None),
    };
    let opcode = Opcode::from_bits(b0 & 0x0F).ok_or(HeaderError::ReservedOpcode)?;
    let masked = b1 & 0x80 != 0;
    let (payload_len, mut at) = match b1 & 0x7F {
        126 => {
            let Some(b) = buf.get(2..4) else {
                return Ok(None);
            };
            let n = u64::from(u16::from_be_bytes([b[0], b[1]]));
            if n < 126 {
                return Err(HeaderError::NonMinimalLength);
            }
            (n, 4)
        }
        127 => {
            let Some(b) = buf.get(2..10) else {
                return Ok(None);
            };
            let mut a = [0u8; 8];
            a.copy_from_slice(b);
            let n = u64::from_be_bytes(a);
            if n >> 63 != 0 {
                return Err(HeaderError::LengthOverflow);
            }
            if n <= 0xFFFF {
                return Err(HeaderError::NonMinimalLength);
            }
            (n, 10)
        }
        n => (u64::from(n), 2),
    };
    let mask = if masked {
        let Some(m) = buf.get(at..at + 4) else {
            return Ok(None);
        };
        at += 4;
        Some([m[0], m[1], m[2], m[3]])
    } else {
        None
    };
    Ok(Some((
        FrameHeader {
            fin: b0 & 0x80 != 0,
            rsv: (b0 >> 4) & 0x07,
            opcode,
            mask,
            payload_len,
        },
        at,
    )))
}

/// Longest server frame header (no mask).
pub const MAX_HEADER: usize = 10;

/// Encodes an unmasked server header into `out`, returning its length.
pub fn encode_header(
    fin: bool,
    opcode: Opcode,
    payload_len: u64,
    out: &mut [u8; MAX_HEADER],
) -> usize {
    out[0] = (if fin { 0x80 } else { 0 }) | opcode.bits();
    if payload_len < 126 {
        out[1] = payload_len as u8;
        2
    } else if payload_len <= 0xFFFF {
        out[1] = 126;
        out[2..4].copy_from_slice(&(payload_len as u16).to_be_bytes());
        4
    } else {
        out[1] = 127;
        out[2..10].copy_from_slice(&payload_len.to_be_bytes());
        10
    }
}

/// A whole unmasked server frame.
pub fn encode_frame(opcode: Opcode, payload: &[u8], out: &mut Vec<u8>) {
    let mut h = [0u8; MAX_HEADER];
    let n = encode_header(true, opcode, payload.len() as u64, &mut h);
    out.extend_from_slice(&h[..n]);
    out.extend_from_slice(payload);
}

/// A close frame with a status code and reason (the reason is cut to fit 125 bytes).
pub fn encode_close(code: u16, reason: &str, out: &mut Vec<u8>) {
    let mut payload = Vec::with_capacity(2 + reason.len());
    payload.extend_from_slice(&code.to_be_bytes());
    let mut cut = reason.len().min(123);
    while !reason.is_char_boundary(cut) {
        cut -= 1;
    }
    payload.extend_from_slice(&reason.as_bytes()[..cut]);
    encode_frame(Opcode::Close, &payload, out);
}

/// XORs `data` with the mask, `offset` bytes into the frame payload.
pub fn apply_mask(data: &mut [u8], mask: [u8; 4], offset: usize) {
    for (i, b) in data.iter_mut().enumerate() {
        *b ^= mask[(offset + i) & 3];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trip() {
        for len in [0u64, 5, 125, 126, 1000, 65535, 65536, 1 << 40] {
            let mut h = [0u8; MAX_HEADER];
            let n = encode_header(true, Opcode::Binary, len, &mut h);
            let (hdr, used) = decode_header(&h[..n]).unwrap().unwrap();
            assert_eq!(used, n);
            assert_eq!(hdr.payload_len, len);
            assert_eq!(hdr.opcode, Opcode::Binary);
            assert!(hdr.fin);
            assert_eq!(hdr.mask, None);
            // Every strict prefix asks for more.
            for cut in 0..n {
                assert_eq!(decode_header(&h[..cut]).unwrap(), None);
            }
        }
    }

    #[test]
    fn masked_header() {
        let buf = [0x81, 0x85, 1, 2, 3, 4];
        let (hdr, used) = decode_header(&buf).unwrap().unwrap();
        assert_eq!(used, 6);
        assert_eq!(hdr.mask, Some([1, 2, 3, 4]));
        assert_eq!(hdr.payload_len, 5);
        assert_eq!(decode_header(&buf[..5]).unwrap(), None);
    }

    #[test]
    fn header_errors() {
        assert_eq!(decode_header(&[0x83, 0]), Err(HeaderError::ReservedOpcode));
        assert_eq!(
            decode_header(&[0x82, 126, 0, 5]),
            Err(HeaderError::NonMinimalLength)
        );
        assert_eq!(
            decode_header(&[0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 0]),
            Err(HeaderError::LengthOverflow)
        );
    }

    #[test]
    fn masking_is_an_involution() {
        let mut data = b"hello world".to_vec();
        apply_mask(&mut data, [9, 8, 7, 6], 3);
        apply_mask(&mut data, [9, 8, 7, 6], 3);
        assert_eq!(data, b"hello world");
    }
}
