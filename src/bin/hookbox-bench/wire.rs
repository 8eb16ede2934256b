//! What the load tool says on the wire: WebSocket client frames, server frame parsing, HTTP
//! requests, and the timestamp it embeds in every message.

use std::time::Instant;

/// How hookbox subscribers connect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    WebSocket,
    /// CSP long-poll: handshake, send CONNECT and SUBSCRIBE, then comet after comet.
    LongPoll,
}

/// Which server is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// hookbox: RTJP over `/ws`, REST `/web/publish`.
    Hookbox,
    /// Nchan: raw messages over `/sub/<channel>`, publishing with POST `/pub?id=<channel>`.
    Nchan,
}

/// A masked client text frame.
pub fn client_text(payload: &[u8]) -> Vec<u8> {
    client_frame(0x1, payload)
}

/// A masked, final client frame with this opcode.
pub fn client_frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mask = [0x5a, 0x17, 0xc3, 0x8e];
    let mut out = Vec::with_capacity(payload.len() + 14);
    out.push(0x80 | opcode);
    let n = payload.len();
    if n < 126 {
        out.push(0x80 | n as u8);
    } else if n <= 0xFFFF {
        out.push(0x80 | 126);
        out.extend_from_slice(&(n as u16).to_be_bytes());
    } else {
        out.push(0x80 | 127);
        out.extend_from_slice(&(n as u64).to_be_bytes());
    }
    out.extend_from_slice(&mask);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i & 3]));
    out
}

/// The upgrade request for `path`.
pub fn upgrade_request(host: &str, path: &str) -> Vec<u8> {
    format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    .into_bytes()
}

/// The RTJP frames a hookbox subscriber sends after the handshake.
pub fn rtjp_login_and_subscribe(channel: &str) -> Vec<u8> {
    let text = format!(
        "[1, \"CONNECT\", {{\"cookie_string\": \"\"}}]\r\n[2, \"SUBSCRIBE\", {{\"channel_name\": \"{channel}\"}}]\r\n"
    );
    client_text(text.as_bytes())
}

/// One HTTP response with a `Content-Length` body at the start of `buf`: `(status, body
/// range, total length)`.
pub fn http_response(buf: &[u8]) -> Option<(u16, std::ops::Range<usize>, usize)> {
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = std::str::from_utf8(&buf[..end]).ok()?;
    let status = head.split(' ').nth(1)?.parse().ok()?;
    let len: usize = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .unwrap_or(0);
    let total = end.checked_add(len)?;
    (buf.len() >= total).then_some((status, end..total, total))
}

/// A CSP request on a keep-alive connection.
pub fn csp_request(host: &str, call: &str, query: &str, body: &str) -> Vec<u8> {
    format!(
        "POST /csp/{call}?{query} HTTP/1.1\r\nHost: {host}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// The packet that logs a long-poll subscriber in and subscribes it.
pub fn csp_login_packet(channel: &str) -> String {
    let text = format!(
        "[1, \"CONNECT\", {{\"cookie_string\": \"\"}}]\r\n[2, \"SUBSCRIBE\", {{\"channel_name\": \"{channel}\"}}]\r\n"
    );
    serde_json::json!([[1, 0, text]]).to_string()
}

/// One server frame at the start of `buf`: `(opcode, payload range, total length)`.
pub fn server_frame(buf: &[u8]) -> Option<(u8, std::ops::Range<usize>, usize)> {
    let (&b0, &b1) = (buf.first()?, buf.get(1)?);
    let (len, at): (usize, usize) = match b1 & 0x7F {
        126 => (
            usize::from(u16::from_be_bytes([*buf.get(2)?, *buf.get(3)?])),
            4,
        ),
        127 => {
            let b = buf.get(2..10)?;
            let mut a = [0u8; 8];
            a.copy_from_slice(b);
            (usize::try_from(u64::from_be_bytes(a)).ok()?, 10)
        }
        n => (usize::from(n), 2),
    };
    let end = at.checked_add(len)?;
    if buf.len() < end {
        return None;
    }
    Some((b0 & 0x0F, at..end, end))
}

/// Microseconds since the tool started, the clock every message carries.
pub fn micros(start: Instant) -> u64 {
    start.elapsed().as_micros() as u64
}

/// A message body of `size` bytes that starts with `T<micros>;`.
pub fn message_body(sent_at: u64, size: usize) -> String {
    let mut s = format!("T{sent_at};");
    while s.len() < size {
        s.push('x');
    }
    s
}

/// The send time in a delivered frame's payload, if it has one.
pub fn sent_at(payload: &[u8]) -> Option<u64> {
    let i = payload
        .windows(2)
        .position(|w| w == b"\"T")
        .map(|i| i + 2)
        .or_else(|| (payload.first() == Some(&b'T')).then_some(1))?;
    let digits = payload.get(i..)?;
    let end = digits.iter().position(|&b| b == b';')?;
    std::str::from_utf8(digits.get(..end)?).ok()?.parse().ok()
}

/// The publish request for one message.
pub fn publish_request(
    target: Target,
    host: &str,
    token: &str,
    channel: &str,
    body: &str,
) -> Vec<u8> {
    match target {
        Target::Hookbox => {
            let form = format!(
                "security_token={token}&channel_name={channel}&payload=%22{body}%22"
            );
            format!(
                "POST /web/publish HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{form}",
                form.len()
            )
            .into_bytes()
        }
        Target::Nchan => format!(
            "POST /pub?id={channel} HTTP/1.1\r\nHost: {host}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes(),
    }
}

/// Whether a delivered frame is a message (not a reply to login or subscribe).
pub fn is_message(target: Target, payload: &[u8]) -> bool {
    match target {
        Target::Hookbox => payload.windows(9).any(|w| w == b"\"PUBLISH\""),
        Target::Nchan => true,
    }
}

/// Whether a hookbox frame is the subscriber's own SUBSCRIBE (it carries `history`).
pub fn is_own_subscribe(payload: &[u8]) -> bool {
    payload.windows(11).any(|w| w == b"\"SUBSCRIBE\"")
        && payload.windows(9).any(|w| w == b"\"history\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_round_trip() {
        let body = message_body(123_456, 40);
        assert_eq!(body.len(), 40);
        assert_eq!(sent_at(body.as_bytes()), Some(123_456));
        let frame = format!("[3, \"PUBLISH\", {{\"payload\": \"{body}\"}}]");
        assert_eq!(sent_at(frame.as_bytes()), Some(123_456));
        assert_eq!(sent_at(b"no stamp"), None);
    }

    #[test]
    fn frames() {
        let mut f = vec![0x81, 3];
        f.extend_from_slice(b"abc");
        assert_eq!(server_frame(&f), Some((1, 2..5, 5)));
        assert_eq!(server_frame(&f[..4]), None);
    }
}
