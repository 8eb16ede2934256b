//! WebSocket on a connection: frames in, RTJP frames to the hub (or echoed), control frames
//! answered, pings sent, dead peers dropped.

use super::conn::{Phase, WsRole};
use super::Server;
use crate::rtjp::{is_blank, parse_frame, split_line};
use crate::ws::{close_code, Opcode, WsEvent};

impl Server {
    /// Consumes WebSocket bytes: `(used, go_on)`.
    pub(super) fn ws_input(&mut self, key: usize, input: &[u8]) -> (usize, bool) {
        let now = self.now;
        let mut at = 0;
        while at < input.len() {
            let Some(Phase::Ws(ws)) = self.conns.get_mut(key).map(|c| &mut c.phase) else {
                return (input.len(), false);
            };
            ws.last_rx = now;
            match ws.decoder.decode(&input[at..]) {
                Err(e) => {
                    crate::debug!("WebSocket failed: {e}");
                    self.ws_fail(key, e.close_code(), e.reason());
                    return (input.len(), false);
                }
                Ok((0, None)) => break,
                Ok((used, event)) => {
                    at += used;
                    if let Some(event) = event {
                        self.ws_event(key, event);
                    }
                }
            }
        }
        (at, false)
    }

    fn ws_event(&mut self, key: usize, event: WsEvent) {
        let Some(conn) = self.conns.get_mut(key) else {
            return;
        };
        let Phase::Ws(ws) = &mut conn.phase else {
            return;
        };
        let echo = matches!(ws.role, WsRole::Echo);
        if matches!(ws.role, WsRole::Admin { .. }) {
            if let WsEvent::Text(data) = event {
                return self.admin_message(key, &data);
            }
        }
        let queued = match event {
            WsEvent::Text(data) if echo => conn.queue_ws(Opcode::Text, &data),
            WsEvent::Binary(data) if echo => conn.queue_ws(Opcode::Binary, &data),
            WsEvent::Text(data) => {
                self.rtjp_text(key, data);
                Ok(())
            }
            WsEvent::Binary(_) => {
                return self.ws_fail(
                    key,
                    close_code::UNSUPPORTED_DATA,
                    "RTJP frames travel in text messages",
                );
            }
            WsEvent::Ping(payload) => conn.queue_ws(Opcode::Pong, &payload),
            WsEvent::Pong(_) => Ok(()),
            WsEvent::Close(code) => {
                // Echo the peer's code, as RFC 6455 suggests, and end the connection.
                conn.queue_ws_close(code.map(|(c, _)| c), "");
                return self.begin_close(key);
            }
        };
        if queued.is_err() {
            return self.ws_fail(
                key,
                close_code::POLICY_VIOLATION,
                "slow consumer: output queue full",
            );
        }
        self.mark_dirty(key);
    }

    /// A text message carries RTJP lines; a frame may be split across messages. A message
    /// whose last frame lacks its line end is taken as whole when it is complete JSON.
    fn rtjp_text(&mut self, key: usize, data: Vec<u8>) {
        let max = self.config.limits.max_ws_message;
        let Some(Phase::Ws(ws)) = self.conns.get_mut(key).map(|c| &mut c.phase) else {
            return;
        };
        let WsRole::Rtjp { lines, .. } = &mut ws.role else {
            return;
        };
        let fresh = lines.is_empty();
        let mut buf = if fresh {
            data
        } else {
            let mut buf = std::mem::take(lines);
            buf.extend_from_slice(&data);
            buf
        };
        let mut at = 0;
        loop {
            match split_line(&buf[at..], max) {
                Ok(Some((line, used))) => {
                    at += used;
                    if !is_blank(line) {
                        self.rtjp_line(key, line);
                    }
                }
                Ok(None) => break,
                Err(_) => {
                    return self.ws_fail(key, close_code::MESSAGE_TOO_BIG, "RTJP frame too long");
                }
            }
        }
        let rest = &buf[at..];
        if is_blank(rest) {
            at = buf.len();
        } else if fresh && serde_json::from_slice::<serde::de::IgnoredAny>(rest).is_ok() {
            self.rtjp_line(key, rest);
            at = buf.len();
        }
        if let Some(Phase::Ws(ws)) = self.conns.get_mut(key).map(|c| &mut c.phase) {
            if let WsRole::Rtjp { lines, .. } = &mut ws.role {
                if at < buf.len() {
                    buf.drain(..at);
                    *lines = buf;
                }
            }
        }
    }

    fn rtjp_line(&mut self, key: usize, line: &[u8]) {
        let Some(conn) = self.conns.get(key) else {
            return;
        };
        if !conn.in_hub {
            return;
        }
        let id = conn.id;
        match parse_frame(line) {
            Ok(frame) => self.hub.frame(id, self.wall, frame),
            Err(e) => self.hub.frame_error(id, &e),
        }
    }

    /// Fails the connection: a close frame with the code, then the socket closes.
    pub(super) fn ws_fail(&mut self, key: usize, code: u16, reason: &str) {
        if let Some(conn) = self.conns.get_mut(key) {
            conn.queue_ws_close(Some(code), reason);
        }
        self.begin_close(key);
    }

    /// Pings a quiet peer; drops one that stayed silent too long.
    pub(super) fn ws_deadline(&mut self, key: usize) {
        let now = self.now;
        let ping = self.config.timeouts.ws_ping.as_millis() as u64;
        let dead = self.config.timeouts.ws_dead.as_millis() as u64;
        let Some(conn) = self.conns.get_mut(key) else {
            return;
        };
        let Phase::Ws(ws) = &mut conn.phase else {
            return;
        };
        if now >= ws.last_rx + dead {
            crate::debug!("{} silent for {dead} ms; dropping it", conn.peer);
            return self.drop_conn(key);
        }
        if now >= ws.last_rx.max(ws.last_ping) + ping {
            ws.last_ping = now;
            let _ = conn.queue_ws(Opcode::Ping, b"");
            self.mark_dirty(key);
        }
        self.refresh_deadline(key);
    }
}
