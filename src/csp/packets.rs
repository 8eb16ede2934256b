//! CSP packets: `[id, encoding, data]`, with encoding 0 (plain text) or 1 (urlsafe base64,
//! padding optional); `data` null closes the session.

use std::fmt;

use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine as _;
use serde_json::Value;

/// Most packets one `send` may carry.
pub const MAX_PACKETS: usize = 1024;

/// A packet from a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientPacket {
    pub id: u64,
    /// The bytes it carries; `None` for the null packet that closes the session.
    pub data: Option<Vec<u8>>,
}

/// Why a `d` could not be read as packets (answered 400).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PacketError {
    NotJson,
    NotAList,
    TooMany,
    /// The packet at this index is not `[id, 0|1, string|null]`.
    Malformed(usize),
    /// The packet at this index has encoding 1 and data that is not base64.
    BadBase64(usize),
}

impl fmt::Display for PacketError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PacketError::NotJson => f.write_str("packets are not JSON"),
            PacketError::NotAList => f.write_str("packets must be a list"),
            PacketError::TooMany => write!(f, "more than {MAX_PACKETS} packets"),
            PacketError::Malformed(i) => {
                write!(f, "packet {i} is not [id, encoding, data]")
            }
            PacketError::BadBase64(i) => write!(f, "packet {i} is not valid base64"),
        }
    }
}

fn engine(alpha: &alphabet::Alphabet) -> GeneralPurpose {
    GeneralPurpose::new(
        alpha,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    )
}

/// Decodes urlsafe base64 (what CSP clients send), or the standard alphabet.
pub fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let text = text.trim();
    engine(&alphabet::URL_SAFE)
        .decode(text)
        .or_else(|_| engine(&alphabet::STANDARD).decode(text))
        .ok()
}

/// Parses the packets of a `send`.
pub fn parse_packets(d: &[u8]) -> Result<Vec<ClientPacket>, PacketError> {
    let value: Value = serde_json::from_slice(d).map_err(|_| PacketError::NotJson)?;
    let Value::Array(items) = value else {
        return Err(PacketError::NotAList);
    };
    if items.len() > MAX_PACKETS {
        return Err(PacketError::TooMany);
    }
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let Ok::<[Value; 3], _>([id, encoding, data]) = item
            .as_array()
            .cloned()
            .ok_or(PacketError::Malformed(i))?
            .try_into()
        else {
            return Err(PacketError::Malformed(i));
        };
        let id = id.as_u64().ok_or(PacketError::Malformed(i))?;
        let data = match (encoding.as_u64(), data) {
            (Some(0 | 1), Value::Null) => None,
            (Some(0), Value::String(s)) => Some(s.into_bytes()),
            (Some(1), Value::String(s)) => {
                Some(decode_base64(&s).ok_or(PacketError::BadBase64(i))?)
            }
            _ => return Err(PacketError::Malformed(i)),
        };
        out.push(ClientPacket { id, data });
    }
    Ok(out)
}

/// Writes a server packet's start for an RTJP line: `[pid, 0, "[rid` (the caller adds the
/// frame's escaped tail and `"]`). At most 50 bytes, with `first` false adding `, `.
pub fn packet_start(first: bool, pid: u64, rid: u64) -> String {
    format!("{}[{pid}, 0, \"[{rid}", if first { "" } else { ", " })
}

/// The null packet that tells the client the session is over.
pub fn null_packet(first: bool, pid: u64) -> String {
    format!("{}[{pid}, 0, null]", if first { "" } else { ", " })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_base64_and_null() {
        let b64 = engine(&alphabet::URL_SAFE).encode("[1, \"CONNECT\", {}]\r\n\u{e9}");
        let d = format!(r#"[[1, 0, "[1, \"A\", {{}}]\r\n"], [2, 1, "{b64}"], [3, 0, null]]"#);
        let p = parse_packets(d.as_bytes()).unwrap();
        assert_eq!(
            p[0],
            ClientPacket {
                id: 1,
                data: Some(b"[1, \"A\", {}]\r\n".to_vec())
            }
        );
        assert_eq!(
            p[1].data.as_deref(),
            Some("[1, \"CONNECT\", {}]\r\n\u{e9}".as_bytes())
        );
        assert_eq!(p[2], ClientPacket { id: 3, data: None });
        // Padded and standard-alphabet base64 are accepted too.
        assert_eq!(decode_base64("aGk=").unwrap(), b"hi");
        assert_eq!(decode_base64("-_8").unwrap(), vec![0xfb, 0xff]);
        assert_eq!(decode_base64("+/8=").unwrap(), vec![0xfb, 0xff]);
    }

    #[test]
    fn errors() {
        assert_eq!(parse_packets(b"nope"), Err(PacketError::NotJson));
        assert_eq!(parse_packets(b"{}"), Err(PacketError::NotAList));
        assert_eq!(parse_packets(b"[[1, 0]]"), Err(PacketError::Malformed(0)));
        assert_eq!(
            parse_packets(b"[[1, 0, \"a\"], [\"x\", 0, \"a\"]]"),
            Err(PacketError::Malformed(1))
        );
        assert_eq!(
            parse_packets(b"[[1, 2, \"a\"]]"),
            Err(PacketError::Malformed(0))
        );
        assert_eq!(
            parse_packets(b"[[1, 0, 5]]"),
            Err(PacketError::Malformed(0))
        );
        assert_eq!(
            parse_packets(b"[[1, 1, \"***\"]]"),
            Err(PacketError::BadBase64(0))
        );
        assert_eq!(parse_packets(b"[]"), Ok(vec![]));
    }

    #[test]
    fn server_packet_pieces() {
        assert_eq!(packet_start(true, 3, 9), "[3, 0, \"[9");
        assert_eq!(packet_start(false, u64::MAX, u64::MAX).len(), 50);
        assert_eq!(null_packet(false, 4), ", [4, 0, null]");
    }
}
