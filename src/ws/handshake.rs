//! The WebSocket opening handshake (RFC 6455 section 4.2), server side.

use base64::Engine as _;
use sha1::{Digest, Sha1};

use crate::http::{Method, RequestHead, Response};

const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// Why an upgrade request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandshakeError {
    /// Not a GET (405).
    NotGet,
    /// No `Upgrade: websocket` (426: this path only speaks WebSocket).
    NotUpgrade,
    /// `Connection` lacks the `upgrade` token (400).
    MissingConnectionUpgrade,
    /// `Sec-WebSocket-Version` is not 13 (426 with the version we speak).
    UnsupportedVersion,
    /// `Sec-WebSocket-Key` missing or not 16 bytes in base64 (400).
    BadKey,
    /// HTTP/1.0 cannot upgrade (400).
    OldHttp,
}

impl HandshakeError {
    /// The response refusing the upgrade.
    pub fn response(self) -> Response {
        let (status, detail) = match self {
            HandshakeError::NotGet => (405, "WebSocket upgrade needs GET"),
            HandshakeError::NotUpgrade => (426, "this endpoint speaks WebSocket only"),
            HandshakeError::MissingConnectionUpgrade => (400, "Connection header lacks upgrade"),
            HandshakeError::UnsupportedVersion => (426, "unsupported Sec-WebSocket-Version"),
            HandshakeError::BadKey => (400, "missing or invalid Sec-WebSocket-Key"),
            HandshakeError::OldHttp => (400, "WebSocket needs HTTP/1.1"),
        };
        let mut r = Response::error(status, detail, false);
        if status == 426 {
            r = r
                .header("Sec-WebSocket-Version", "13")
                .header("Upgrade", "websocket");
        }
        if status == 405 {
            r = r.header("Allow", "GET");
        }
        r
    }
}

/// Checks an upgrade request and returns the `Sec-WebSocket-Accept` value for it.
pub fn check_upgrade(head: &RequestHead) -> Result<String, HandshakeError> {
    if head.method != Method::Get {
        return Err(HandshakeError::NotGet);
    }
    if !head.header_has_token("upgrade", "websocket") {
        return Err(HandshakeError::NotUpgrade);
    }
    if head.minor_version < 1 {
        return Err(HandshakeError::OldHttp);
    }
    if !head.header_has_token("connection", "upgrade") {
        return Err(HandshakeError::MissingConnectionUpgrade);
    }
    if head.header("sec-websocket-version") != Some(b"13") {
        return Err(HandshakeError::UnsupportedVersion);
    }
    let key = head
        .header_str("sec-websocket-key")
        .ok_or(HandshakeError::BadKey)?;
    match base64::engine::general_purpose::STANDARD.decode(key) {
        Ok(raw) if raw.len() == 16 => Ok(accept_key(key)),
        _ => Err(HandshakeError::BadKey),
    }
}

/// `base64(sha1(key + GUID))`.
pub fn accept_key(key: &str) -> String {
    let mut h = Sha1::new();
    h.update(key.as_bytes());
    h.update(GUID.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(h.finalize())
}

/// The `101 Switching Protocols` response head.
pub fn switching_protocols(accept: &str, out: &mut Vec<u8>) {
    out.extend_from_slice(b"HTTP/1.1 101 Switching Protocols\r\nServer: hookbox\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ");
    out.extend_from_slice(accept.as_bytes());
    out.extend_from_slice(b"\r\n\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::{HeadLimits, HeadParser};

    #[test]
    fn rfc_example_key() {
        assert_eq!(
            accept_key("dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    fn head(text: &str) -> RequestHead {
        HeadParser::new()
            .parse(text.as_bytes(), &HeadLimits::default())
            .unwrap()
            .unwrap()
            .0
    }

    #[test]
    fn checks() {
        let ok = "GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
        assert_eq!(
            check_upgrade(&head(ok)).unwrap(),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
        let v8 = ok.replace("Version: 13", "Version: 8");
        assert_eq!(
            check_upgrade(&head(&v8)),
            Err(HandshakeError::UnsupportedVersion)
        );
        let nokey = ok.replace("dGhlIHNhbXBsZSBub25jZQ==", "short");
        assert_eq!(check_upgrade(&head(&nokey)), Err(HandshakeError::BadKey));
        let plain = "GET /ws HTTP/1.1\r\nHost: a\r\n\r\n";
        assert_eq!(check_upgrade(&head(plain)), Err(HandshakeError::NotUpgrade));
        assert_eq!(HandshakeError::NotUpgrade.response().status, 426);
    }
}
