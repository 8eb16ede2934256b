//! Comet sessions in the reactor: CSP (`/csp/*`) and Server-Sent Events (`/sse`).
//!
//! A session is an RTJP connection of the hub that outlives HTTP requests. Its packets wait
//! in the session until a comet request (long-poll, stream or SSE) is parked on it; an idle
//! parked request costs one deadline and no buffer. A session nobody asks for expires.

use std::collections::HashMap;

use serde_json::json;

use super::conn::{Delivery, Parked, Phase};
use super::outbound::Prefix;
use super::timers::{Deadline, Millis};
use super::Server;
use crate::csp::render::{self, Piece};
use crate::csp::session::Session;
use crate::csp::vars::{self, CspVars};
use crate::csp::{parse_packets, CspRequest};
use crate::http::form::parse_urlencoded;
use crate::http::{Framing, Method, RequestHead, Response};
use crate::hub::ConnId;
use crate::rest::Fields;
use crate::rtjp::{is_blank, parse_frame};

/// Marks a hub connection id as a comet session's (in the slot half of the id).
pub const SESSION_BIT: u64 = 1 << 31;
/// Sessions that may exist at once; a handshake beyond gets 503.
pub const MAX_SESSIONS: usize = 100_000;
/// An SSE stream with nothing to say sends a comment this often, so proxies keep it.
const SSE_KEEPALIVE_MS: Millis = 15_000;

/// A session and what the reactor knows about it.
pub struct SessionSlot {
    pub session: Session,
    /// The request parked on it: connection slot and id.
    pub attached: Option<(usize, ConnId)>,
    pub deadline: Deadline,
    pub last_activity: Millis,
    /// The hub still knows it (it has not closed).
    pub in_hub: bool,
    /// Listed for delivery this turn.
    pub dirty: bool,
}

/// The comet half of the reactor's state.
#[derive(Default)]
pub struct Sessions {
    pub slots: slab::Slab<SessionSlot>,
    pub by_key: HashMap<String, usize>,
    pub timers: super::timers::Timers,
    pub dirty: Vec<usize>,
    pub made: u64,
    /// Secret for session keys, from the OS at start.
    pub seed: [u8; 32],
}

impl Sessions {
    pub fn new() -> Sessions {
        let mut seed = [0u8; 32];
        // Session keys must not be guessable: seed them from the kernel's generator.
        if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
            let _ = std::io::Read::read_exact(&mut f, &mut seed);
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        for (i, b) in now.to_le_bytes().iter().enumerate() {
            seed[16 + i] ^= b;
        }
        Sessions {
            seed,
            ..Sessions::default()
        }
    }

    /// A fresh unguessable key: SHA-1 of the secret seed and a counter, 128 bits in hex.
    fn new_key(&mut self) -> String {
        use sha1::{Digest, Sha1};
        self.made += 1;
        let mut h = Sha1::new();
        h.update(self.seed);
        h.update(self.made.to_le_bytes());
        let digest = h.finalize();
        digest.iter().take(16).map(|b| format!("{b:02x}")).collect()
    }

    pub fn slot_of(&self, id: ConnId) -> Option<usize> {
        let key = (id.0 & 0x7FFF_FFFF) as usize;
        match self.slots.get(key) {
            Some(s) if s.session.hub_id == id => Some(key),
            _ => None,
        }
    }
}

/// Whether a hub connection id is a comet session's.
pub fn is_session(id: ConnId) -> bool {
    id.0 & SESSION_BIT != 0
}

impl Server {
    // ----- requests -----

    /// `/csp/<op>`.
    pub(super) fn csp(&mut self, key: usize, head: &RequestHead, op: &str, body: &[u8]) {
        let (mut fields, post_data) = match csp_fields(head, body) {
            Ok(x) => x,
            Err(msg) => return self.csp_error(key, head, 400, msg),
        };
        let req = match vars::request(&mut fields, post_data) {
            Ok(r) => r,
            Err(e) => return self.csp_error(key, head, 400, &e.to_string()),
        };
        if op == "handshake" {
            return self.csp_handshake(key, head, &mut fields);
        }
        if op == "reflect" {
            let vars = CspVars::default().updated(&mut fields).unwrap_or_default();
            let r = Response::with_body(200, &vars.content_type(), req.data.unwrap_or_default())
                .header("Access-Control-Allow-Origin", "*");
            return self.respond(key, head, r);
        }
        if !matches!(op, "comet" | "send" | "close") {
            return self.csp_error(key, head, 404, "no such CSP call");
        }
        let Some(slot) = req
            .session
            .as_deref()
            .and_then(|s| self.sessions.by_key.get(s).copied())
        else {
            // The exact text Hookbox's client looks for.
            let r = Response::with_body(404, "text/plain; charset=utf-8", "'Session not found'")
                .header("Access-Control-Allow-Origin", "*");
            return self.respond(key, head, r);
        };
        if let Err(e) = self.touch_session(slot, &mut fields, &req) {
            return self.csp_error(key, head, 400, &e);
        }
        match op {
            "comet" => self.csp_comet(key, head, slot),
            "send" => self.csp_send(key, head, slot, req.data.as_deref()),
            _ => {
                self.end_session(slot, true);
                let text = self.session_reply(slot, "\"OK\"");
                self.csp_reply(key, head, slot, text);
            }
        }
    }

    fn csp_handshake(&mut self, key: usize, head: &RequestHead, fields: &mut Fields) {
        let vars = match CspVars::default().updated(fields) {
            Ok(v) => v,
            Err(e) => return self.csp_error(key, head, 400, &e.to_string()),
        };
        let Some(slot) = self.new_session(key, head, vars) else {
            return self.csp_error(key, head, 503, "too many comet sessions");
        };
        let session_key = self.sessions.slots[slot].session.key.clone();
        let text = self.session_reply(
            slot,
            &crate::json::to_string(&json!({ "session": session_key })),
        );
        self.csp_reply(key, head, slot, text);
    }

    /// Opens a session for the client on connection `key`; `None` at the session limit.
    fn new_session(&mut self, key: usize, head: &RequestHead, vars: CspVars) -> Option<usize> {
        if self.sessions.slots.len() >= MAX_SESSIONS {
            return None;
        }
        let remote = remote_addr(head, self.conns.get(key)?.peer);
        let session_key = self.sessions.new_key();
        let entry = self.sessions.slots.vacant_entry();
        let slot = entry.key();
        self.accepted += 1;
        let id = ConnId(((self.accepted & 0xFFFF_FFFF) << 32) | SESSION_BIT | slot as u64);
        let session = Session::new(
            session_key.clone(),
            id,
            vars,
            self.config.limits.max_outbound,
            self.config.limits.max_ws_message,
        );
        entry.insert(SessionSlot {
            session,
            attached: None,
            deadline: Deadline::new(),
            last_activity: self.now,
            in_hub: true,
            dirty: false,
        });
        self.sessions.by_key.insert(session_key, slot);
        self.hub.open(id, remote);
        self.arm_session_expiry(slot);
        crate::debug!("comet session {id} opened");
        Some(slot)
    }

    /// A request names the session: its variables and ack apply, and it is alive.
    fn touch_session(
        &mut self,
        slot: usize,
        fields: &mut Fields,
        req: &CspRequest,
    ) -> Result<(), String> {
        let now = self.now;
        let Some(s) = self.sessions.slots.get_mut(slot) else {
            return Err("no session".into());
        };
        s.session.vars = s.session.vars.updated(fields).map_err(|e| e.to_string())?;
        s.last_activity = now;
        if let Some(ack) = req.ack {
            if s.session.ack(ack).is_err() {
                // The client lacks packets the session no longer has: it must start over
                // (and recover its channels with `since`).
                self.end_session(slot, true);
            }
        }
        self.arm_session_expiry(slot);
        Ok(())
    }

    fn csp_comet(&mut self, key: usize, head: &RequestHead, slot: usize) {
        let now = self.now;
        let Some(s) = self.sessions.slots.get(slot) else {
            return;
        };
        let vars = s.session.vars.clone();
        let has_packets = !s.session.is_empty();
        // A request already parked on the session gives way to the new one.
        self.unpark_session(slot);
        let streaming = vars.is && head.minor_version >= 1;
        if (has_packets && !streaming) || vars.du == 0 {
            let pieces = self.comet_pieces(slot, true);
            return self.respond_pieces(key, head, &vars, pieces, Some(slot));
        }
        let mode = if streaming {
            Delivery::Stream
        } else {
            Delivery::LongPoll
        };
        if streaming {
            // The stream starts with the prebuffer and whatever waits.
            let r = Response::new(200)
                .header("Content-Type", &vars.content_type())
                .header("Access-Control-Allow-Origin", "*")
                .header("Cache-Control", "no-cache");
            let mut bytes = Vec::new();
            r.encode_head(self.http_date(), Framing::Chunked, &mut bytes);
            let mut first = vars.prebuffer().into_bytes();
            if has_packets {
                let pieces = self.comet_pieces(slot, false);
                for p in &pieces {
                    p.to_bytes(&mut first);
                }
                if let Some(s) = self.sessions.slots.get_mut(slot) {
                    s.session.mark_sent();
                }
            }
            push_chunk(&mut bytes, &first);
            if let Some(conn) = self.conns.get_mut(key) {
                conn.queue_http(bytes);
            }
            self.mark_urgent(key);
        }
        self.park(key, head, slot, mode, now + vars.du * 1000);
    }

    fn csp_send(&mut self, key: usize, head: &RequestHead, slot: usize, data: Option<&str>) {
        let packets = match data.map(|d| parse_packets(d.as_bytes())) {
            None => Vec::new(),
            Some(Ok(p)) => p,
            Some(Err(e)) => return self.csp_error(key, head, 400, &e.to_string()),
        };
        let received = match self.sessions.slots.get_mut(slot) {
            Some(s) => s.session.receive(packets),
            None => return,
        };
        let received = match received {
            Ok(r) => r,
            Err(_) => {
                self.end_session(slot, true);
                return self.csp_error(key, head, 400, "RTJP frame too long");
            }
        };
        self.session_lines(slot, received.lines);
        if received.closing {
            self.end_session(slot, true);
        }
        let text = self.session_reply(slot, "\"OK\"");
        self.csp_reply(key, head, slot, text);
    }

    /// Hands whole RTJP lines from a session to the hub.
    fn session_lines(&mut self, slot: usize, lines: Vec<Vec<u8>>) {
        let Some(s) = self.sessions.slots.get(slot) else {
            return;
        };
        if !s.in_hub {
            return;
        }
        let id = s.session.hub_id;
        for line in lines {
            if is_blank(&line) {
                continue;
            }
            match parse_frame(&line) {
                Ok(frame) => self.hub.frame(id, self.wall, frame),
                Err(e) => self.hub.frame_error(id, &e),
            }
        }
    }

    /// `GET /sse?s=KEY`: the session's packets as Server-Sent Events. `Last-Event-ID` (or
    /// `a`) acknowledges what the browser already has, so a reconnect resumes without loss
    /// or duplicates. Without `s`, a session is made and its key is the first event.
    pub(super) fn sse(&mut self, key: usize, head: &RequestHead) {
        if head.method != Method::Get {
            let r = Response::error(405, "use GET", false).header("Allow", "GET");
            return self.respond(key, head, r);
        }
        let mut fields = match parse_urlencoded(head.query.as_bytes()) {
            Ok(pairs) => Fields::from_pairs(pairs),
            Err(_) => return self.csp_error(key, head, 400, "the query is not UTF-8"),
        };
        let mut req = match vars::request(&mut fields, None) {
            Ok(r) => r,
            Err(e) => return self.csp_error(key, head, 400, &e.to_string()),
        };
        if let Some(last) = head
            .header_str("last-event-id")
            .map(str::trim)
            .filter(|v| !v.is_empty())
        {
            match last.parse::<u64>() {
                Ok(n) => req.ack = Some(n),
                Err(_) => return self.csp_error(key, head, 400, "invalid Last-Event-ID"),
            }
        }
        let mut intro = String::from("retry: 2000\n\n");
        let slot = match req.session.as_deref() {
            Some(k) => match self.sessions.by_key.get(k).copied() {
                Some(slot) => slot,
                None => {
                    let r = Response::with_body(
                        404,
                        "text/plain; charset=utf-8",
                        "'Session not found'",
                    )
                    .header("Access-Control-Allow-Origin", "*");
                    return self.respond(key, head, r);
                }
            },
            None => {
                // Make one, answering the handshake inside the stream.
                let Some(slot) = self.new_session(key, head, CspVars::default()) else {
                    return self.csp_error(key, head, 503, "too many comet sessions");
                };
                let session_key = &self.sessions.slots[slot].session.key;
                intro.push_str(&format!(
                    "event: session\ndata: {}\n\n",
                    crate::json::to_string(&json!({ "session": session_key }))
                ));
                slot
            }
        };
        if let Err(e) = self.touch_session(slot, &mut fields, &req) {
            return self.csp_error(key, head, 400, &e);
        }
        self.unpark_session(slot);
        let r = Response::new(200)
            .header("Content-Type", "text/event-stream; charset=utf-8")
            .header("Cache-Control", "no-cache")
            .header("X-Accel-Buffering", "no")
            .header("Access-Control-Allow-Origin", "*");
        let mut bytes = Vec::new();
        r.encode_head(self.http_date(), Framing::UntilClose, &mut bytes);
        bytes.extend_from_slice(intro.as_bytes());
        if let Some(conn) = self.conns.get_mut(key) {
            conn.queue_http(bytes);
        }
        self.mark_urgent(key);
        if let Some(s) = self.sessions.slots.get_mut(slot) {
            // Everything after the acknowledgement goes out again on the new stream.
            s.session.resend_all();
        }
        let now = self.now;
        self.park(key, head, slot, Delivery::Sse, now + SSE_KEEPALIVE_MS);
        self.deliver_session(slot);
    }

    // ----- answers -----

    fn session_reply(&self, slot: usize, json: &str) -> String {
        match self.sessions.slots.get(slot) {
            Some(s) => render::reply(&s.session.vars, json),
            None => render::reply(&CspVars::default(), json),
        }
    }

    fn csp_reply(&mut self, key: usize, head: &RequestHead, slot: usize, text: String) {
        let ct = self
            .sessions
            .slots
            .get(slot)
            .map(|s| s.session.vars.content_type())
            .unwrap_or_else(|| CspVars::default().content_type());
        let r = Response::with_body(200, &ct, text)
            .header("Access-Control-Allow-Origin", "*")
            .header("Cache-Control", "no-cache");
        self.respond(key, head, r);
    }

    fn csp_error(&mut self, key: usize, head: &RequestHead, status: u16, msg: &str) {
        let r = Response::error(status, msg, false).header("Access-Control-Allow-Origin", "*");
        self.respond(key, head, r);
    }

    /// The comet answer's pieces for what the session holds.
    fn comet_pieces(&self, slot: usize, prebuffer: bool) -> Vec<Piece> {
        match self.sessions.slots.get(slot) {
            Some(s) => render::packets(&s.session.vars, s.session.packets(), prebuffer),
            None => Vec::new(),
        }
    }

    /// A whole comet answer: head, then pieces, frames by reference.
    fn respond_pieces(
        &mut self,
        key: usize,
        head: &RequestHead,
        vars: &CspVars,
        pieces: Vec<Piece>,
        slot: Option<usize>,
    ) {
        let r = Response::new(200)
            .header("Content-Type", &vars.content_type())
            .header("Access-Control-Allow-Origin", "*")
            .header("Cache-Control", "no-cache");
        let keep = head.keep_alive && self.stopping.is_none();
        let mut r = r;
        r.close = !keep;
        if keep && head.minor_version == 0 {
            r = r.header("Connection", "keep-alive");
        }
        let mut bytes = Vec::with_capacity(256);
        r.encode_head(
            self.http_date(),
            Framing::Length(render::total_len(&pieces)),
            &mut bytes,
        );
        let ended = slot
            .and_then(|slot| self.sessions.slots.get(slot))
            .is_some_and(|s| s.session.closed);
        let Some(conn) = self.conns.get_mut(key) else {
            return;
        };
        queue_pieces(conn, bytes, pieces);
        if let Phase::Http(h) = &mut conn.phase {
            h.last_activity = self.now;
        }
        self.mark_urgent(key);
        if !keep {
            self.begin_close(key);
        }
        if let (true, Some(slot)) = (ended, slot) {
            // The client has been told: the session is over.
            self.remove_session(slot);
        }
    }

    // ----- parking and delivery -----

    fn park(&mut self, key: usize, head: &RequestHead, slot: usize, mode: Delivery, until: Millis) {
        let keep_alive = head.keep_alive;
        let Some(s) = self.sessions.slots.get_mut(slot) else {
            return;
        };
        let session_id = s.session.hub_id;
        let Some(conn) = self.conns.get_mut(key) else {
            return;
        };
        let conn_id = conn.id;
        if let Phase::Http(h) = &mut conn.phase {
            h.parked = Some(Parked {
                session: slot,
                session_id,
                mode,
                until,
                keep_alive,
            });
        }
        s.attached = Some((key, conn_id));
        s.deadline.at = None;
        self.sessions
            .timers
            .set(&mut s.deadline, None, slot, session_id.0);
        self.refresh_deadline(key);
    }

    /// Ends the request parked on a session, if any: a long-poll answers with nothing, a
    /// stream ends, an SSE stream closes.
    pub(super) fn unpark_session(&mut self, slot: usize) {
        let Some((key, conn_id)) = self.sessions.slots.get(slot).and_then(|s| s.attached) else {
            return;
        };
        if self.conns.get(key).is_some_and(|c| c.id == conn_id) {
            self.finish_parked(key, false);
        } else if let Some(s) = self.sessions.slots.get_mut(slot) {
            s.attached = None;
        }
        self.arm_session_expiry(slot);
    }

    /// Answers or ends a parked request. `deliver` sends what the session holds.
    fn finish_parked(&mut self, key: usize, deliver: bool) {
        let Some(conn) = self.conns.get_mut(key) else {
            return;
        };
        let Phase::Http(h) = &mut conn.phase else {
            return;
        };
        let Some(parked) = h.parked.take() else {
            return;
        };
        let session = self.parked_session(key, &parked);
        if let Some(slot) = session {
            if let Some(s) = self.sessions.slots.get_mut(slot) {
                s.attached = None;
            }
            self.arm_session_expiry(slot);
        }
        let vars = session
            .and_then(|slot| self.sessions.slots.get(slot))
            .map(|s| s.session.vars.clone())
            .unwrap_or_default();
        match parked.mode {
            Delivery::LongPoll => {
                let pieces = match session {
                    Some(slot) if deliver => self.comet_pieces(slot, true),
                    _ => render::packets(&vars, std::iter::empty(), true),
                };
                let head = RequestHead::answered_later(Method::Get, parked.keep_alive);
                self.respond_pieces(key, &head, &vars, pieces, session);
            }
            Delivery::Stream => {
                if let Some(conn) = self.conns.get_mut(key) {
                    conn.queue_http(b"0\r\n\r\n".to_vec());
                }
                self.mark_urgent(key);
            }
            Delivery::Sse => {
                self.begin_close(key);
            }
        }
        self.resume_after_park(key);
    }

    /// The connection may read its next request.
    fn resume_after_park(&mut self, key: usize) {
        self.refresh_deadline(key);
        if self
            .conns
            .get(key)
            .is_some_and(|c| !c.rbuf.is_empty() && !c.is_closing())
        {
            self.consume_buffered(key);
        }
    }

    /// Sends what a session holds to the request parked on it.
    pub(super) fn deliver_session(&mut self, slot: usize) {
        let Some(s) = self.sessions.slots.get_mut(slot) else {
            return;
        };
        s.dirty = false;
        let Some((key, conn_id)) = s.attached else {
            return;
        };
        if !s.session.has_unsent() {
            return;
        }
        let mode = match self.conns.get(key).map(|c| (c.id, &c.phase)) {
            Some((id, Phase::Http(h))) if id == conn_id => h.parked.map(|p| p.mode),
            _ => None,
        };
        let pieces = match mode {
            None => {
                s.attached = None;
                return self.arm_session_expiry(slot);
            }
            Some(Delivery::LongPoll) => return self.finish_parked(key, true),
            Some(Delivery::Stream) => render::packets(
                &s.session.vars,
                s.session.packets().filter(|q| !q.sent),
                false,
            ),
            Some(Delivery::Sse) => render::sse_events(s.session.packets().filter(|q| !q.sent)),
        };
        s.session.mark_sent();
        let ended = s.session.closed;
        let Some(conn) = self.conns.get_mut(key) else {
            return;
        };
        if mode == Some(Delivery::Stream) {
            let mut body = Vec::new();
            for p in &pieces {
                p.to_bytes(&mut body);
            }
            let mut bytes = Vec::new();
            push_chunk(&mut bytes, &body);
            conn.queue_http(bytes);
        } else {
            queue_pieces(conn, Vec::new(), pieces);
        }
        self.mark_dirty(key);
        if ended {
            self.finish_parked(key, false);
            self.remove_session(slot);
        }
    }

    /// Delivers to every session that got packets this turn.
    pub(super) fn deliver_sessions(&mut self) {
        for slot in std::mem::take(&mut self.sessions.dirty) {
            self.deliver_session(slot);
        }
    }

    /// A parked request's deadline: a long-poll answers empty, a stream ends, an SSE stream
    /// sends a keep-alive comment.
    pub(super) fn parked_deadline(&mut self, key: usize, parked: Parked) {
        match parked.mode {
            Delivery::Sse => {
                if let Some(conn) = self.conns.get_mut(key) {
                    conn.queue_http(b":\n\n".to_vec());
                    if let Phase::Http(h) = &mut conn.phase {
                        if let Some(p) = h.parked.as_mut() {
                            p.until = self.now + SSE_KEEPALIVE_MS;
                        }
                    }
                }
                self.mark_dirty(key);
                self.refresh_deadline(key);
            }
            _ => self.finish_parked(key, false),
        }
    }

    /// The session a parked request is for, if it is still there and still attached to it.
    fn parked_session(&self, key: usize, parked: &Parked) -> Option<usize> {
        let s = self.sessions.slots.get(parked.session)?;
        let conn_id = self.conns.get(key)?.id;
        (s.session.hub_id == parked.session_id && s.attached == Some((key, conn_id)))
            .then_some(parked.session)
    }

    /// A connection with a parked request went away: its session waits for the next one.
    pub(super) fn detach_conn(&mut self, key: usize) {
        let parked = match self.conns.get(key).map(|c| &c.phase) {
            Some(Phase::Http(h)) => h.parked,
            _ => None,
        };
        if let Some(slot) = parked.and_then(|p| self.parked_session(key, &p)) {
            if let Some(s) = self.sessions.slots.get_mut(slot) {
                s.attached = None;
            }
            self.arm_session_expiry(slot);
        }
    }

    // ----- the hub's side -----

    /// Queues a frame the hub sends to a session; false when it cannot keep up.
    pub(super) fn session_frame(&mut self, slot: usize, frame: &crate::rtjp::SharedFrame) -> bool {
        let Some(s) = self.sessions.slots.get_mut(slot) else {
            return true;
        };
        if s.session.push_frame(frame).is_err() {
            return false;
        }
        if !s.dirty {
            s.dirty = true;
            self.sessions.dirty.push(slot);
        }
        true
    }

    /// Ends a session: the hub forgets it (when `tell_hub`), the client gets the null packet.
    pub(super) fn end_session(&mut self, slot: usize, tell_hub: bool) {
        let Some(s) = self.sessions.slots.get_mut(slot) else {
            return;
        };
        s.session.push_null();
        let id = s.session.hub_id;
        let was_in_hub = std::mem::replace(&mut s.in_hub, false);
        if !s.dirty {
            s.dirty = true;
            self.sessions.dirty.push(slot);
        }
        if tell_hub && was_in_hub {
            self.hub.closed(id, self.wall);
        }
    }

    pub(super) fn remove_session(&mut self, slot: usize) {
        if !self.sessions.slots.contains(slot) {
            return;
        }
        let s = self.sessions.slots.remove(slot);
        self.sessions.by_key.remove(&s.session.key);
        if s.in_hub {
            self.hub.closed(s.session.hub_id, self.wall);
        }
        crate::debug!("comet session {} gone", s.session.hub_id);
    }

    fn arm_session_expiry(&mut self, slot: usize) {
        let Some(s) = self.sessions.slots.get_mut(slot) else {
            return;
        };
        let at = if s.attached.is_some() {
            None
        } else {
            Some(s.last_activity.max(self.now) + s.session.vars.expiry_secs() * 1000)
        };
        let id = s.session.hub_id.0;
        self.sessions.timers.set(&mut s.deadline, at, slot, id);
    }

    /// Sessions nobody asked for within their expiry are disconnects.
    pub(super) fn run_session_timers(&mut self) {
        while let Some((time, slot, id)) = self.sessions.timers.pop_due(self.now) {
            let Some(s) = self.sessions.slots.get_mut(slot) else {
                continue;
            };
            if s.session.hub_id.0 != id {
                continue;
            }
            if self
                .sessions
                .timers
                .fired(&mut s.deadline, time, self.now, slot, id)
                && s.attached.is_none()
            {
                crate::debug!("comet session {} expired", s.session.hub_id);
                self.remove_session(slot);
            }
        }
    }
}

/// The CSP call's fields: the query, and for POST the body as `d` (Hookbox's client posts
/// the packets as text/plain) or as a form when it says so.
fn csp_fields(head: &RequestHead, body: &[u8]) -> Result<(Fields, Option<String>), &'static str> {
    let query = parse_urlencoded(head.query.as_bytes()).map_err(|_| "the query is not UTF-8")?;
    let mut fields = Fields::from_pairs(query);
    if head.method != Method::Post || body.is_empty() {
        return Ok((fields, None));
    }
    let media = head
        .header_str("content-type")
        .and_then(|v| v.split(';').next())
        .map(str::trim)
        .unwrap_or("");
    if media.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        let mut form =
            Fields::from_pairs(parse_urlencoded(body).map_err(|_| "the form is not UTF-8")?);
        form.merge(fields);
        fields = form;
        return Ok((fields, None));
    }
    let text = std::str::from_utf8(body).map_err(|_| "the body is not UTF-8")?;
    Ok((fields, Some(text.to_string())))
}

fn remote_addr(head: &RequestHead, peer: std::net::SocketAddr) -> String {
    head.header_str("x-forwarded-for")
        .and_then(|v| v.split(',').next())
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| peer.ip().to_string())
}

/// Appends `data` as one chunk of a chunked body (an empty `data` adds nothing: a zero-size
/// chunk would end the body).
fn push_chunk(out: &mut Vec<u8>, data: &[u8]) {
    if data.is_empty() {
        return;
    }
    out.extend_from_slice(format!("{:x}\r\n", data.len()).as_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
}

/// Queues `head` and the pieces on a connection: text copied, frames by reference.
fn queue_pieces(conn: &mut super::conn::Conn, head: Vec<u8>, pieces: Vec<Piece>) {
    let mut text = head;
    for piece in pieces {
        match piece {
            Piece::Text(t) => text.extend_from_slice(t.as_bytes()),
            Piece::Frame {
                prefix,
                frame,
                part,
                suffix,
            } => match Prefix::new(&[prefix.as_bytes()]) {
                Some(p) => {
                    conn.queue_http(std::mem::take(&mut text));
                    conn.out.push_part_uncapped(p, &frame, part, suffix);
                }
                None => {
                    text.extend_from_slice(prefix.as_bytes());
                    text.extend_from_slice(part.bytes(&frame));
                    text.extend_from_slice(suffix);
                }
            },
        }
    }
    conn.queue_http(text);
}
