//! The admin console at `/admin` (on with `-a PASSWORD`): its page, login, JSON API and live
//! feed.
//!
//! Login is a POST of the password, rate-limited per address, answered with a session token;
//! the API takes the token as `Authorization: Bearer`, the feed (`/admin/ws`) as its first
//! message. The feed carries the frames of the channels the console watches, as RTJP, and
//! the console's own events as JSON objects: stats every second, new log lines, each webhook
//! call as it ends.

use std::collections::{HashMap, VecDeque};
use std::io::Read;
use std::net::IpAddr;

use serde_json::{json, Map, Value};

use super::timers::Millis;
use super::Server;
use crate::http::{Method, RequestHead, Response};
use crate::hub::ConnId;
use crate::rest::{self, constant_time_eq, FieldValue, Reply};
use crate::time::Timestamp;
use crate::webhook::{HookAnswer, HookResult, WebhookCall};
use crate::ws::{close_code, Opcode};

/// Login attempts an address may make per [`LOGIN_WINDOW_MS`].
const LOGIN_ATTEMPTS: usize = 5;
const LOGIN_WINDOW_MS: Millis = 60_000;
/// Addresses whose attempts are counted at once.
const MAX_ADDRESSES: usize = 10_000;
/// How long a console session lasts.
const SESSION_MS: Millis = 12 * 3600 * 1000;
/// Sessions kept at once; a new login beyond ends the oldest.
const MAX_SESSIONS: usize = 32;
/// Webhook calls kept for the console.
const WEBHOOK_LOG: usize = 100;
/// Live feeds open at once, and channels each may watch.
const MAX_FEEDS: usize = 16;
const MAX_WATCHES: usize = 16;
/// How often the feeds get stats and new log lines.
const PUSH_MS: Millis = 1_000;

const PAGE: &[u8] = include_bytes!("../static/admin.html");
const SCRIPT: &[u8] = include_bytes!("../static/admin.js");

/// A webhook call on its way, for the log.
struct Started {
    at: Timestamp,
    at_ms: Millis,
    hook: &'static str,
    fields: Vec<(String, String)>,
}

/// A live feed that has shown its token: its connection, and the channels it watches.
struct Feed {
    key: usize,
    id: ConnId,
    watching: Vec<String>,
}

/// What the reactor keeps for the console.
#[derive(Default)]
pub struct AdminState {
    /// Session token → when it ends.
    sessions: HashMap<String, Millis>,
    /// Login attempts per address, oldest first.
    attempts: HashMap<IpAddr, VecDeque<Millis>>,
    /// Authenticated feeds.
    feeds: Vec<Feed>,
    started: HashMap<u64, Started>,
    webhooks: VecDeque<Value>,
    next_push: Millis,
    /// The last log line sent to the feeds.
    log_seen: u64,
    /// Publish count and time at the last stats, and the rate then.
    last_published: (Millis, u64),
    rate: f64,
}

impl AdminState {
    /// When the feeds are next due, if any are open.
    pub fn next_push(&self) -> Option<Millis> {
        (!self.feeds.is_empty()).then_some(self.next_push)
    }
}

fn json_response(status: u16, v: &Value) -> Response {
    Response::with_body(status, "application/json", crate::json::to_vec(v))
        .header("Cache-Control", "no-store")
}

fn error(status: u16, msg: &str) -> Response {
    json_response(status, &json!({ "error": msg }))
}

fn ok(info: Value) -> Response {
    json_response(200, &Value::Array(vec![Value::Bool(true), info]))
}

/// A fresh session token: 128 bits from the kernel, in hex.
fn new_token() -> Option<String> {
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .ok()?;
    Some(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

impl Server {
    fn admin_enabled(&self) -> bool {
        self.config.admin_password.is_some()
    }

    /// Answers a request under `/admin` (`sub` is the rest of the path).
    pub(super) fn admin_http(&mut self, key: usize, head: &RequestHead, sub: &str, body: &[u8]) {
        let r = if !self.admin_enabled() {
            Response::error(
                404,
                "the admin console is off (start with -a PASSWORD)",
                false,
            )
        } else {
            match (sub, &head.method) {
                ("" | "index.html", Method::Get | Method::Head) => {
                    page(PAGE, "text/html; charset=utf-8")
                }
                ("admin.js", Method::Get | Method::Head) => {
                    page(SCRIPT, "text/javascript; charset=utf-8")
                }
                ("login", Method::Post) => self.admin_login(key, head, body),
                ("login", _) => error(405, "log in with POST").header("Allow", "POST"),
                (s, Method::Get | Method::Post) if s.starts_with("api/") => {
                    let name = &s[4..];
                    if !self.admin_authorized(head) {
                        error(401, "log in first")
                    } else {
                        match self.admin_api(key, head, name, body) {
                            Some(r) => r,
                            // Waits for the application; answered like a REST call.
                            None => return self.apply_effects(),
                        }
                    }
                }
                _ => Response::error(404, "nothing here", false),
            }
        };
        self.respond(key, head, r);
        self.apply_effects();
    }

    fn admin_login(&mut self, key: usize, head: &RequestHead, body: &[u8]) -> Response {
        let now = self.now;
        let Some(ip) = self.conns.get(key).map(|c| c.peer.ip()) else {
            return error(500, "connection gone");
        };
        if self.admin.attempts.len() >= MAX_ADDRESSES && !self.admin.attempts.contains_key(&ip) {
            self.admin
                .attempts
                .retain(|_, a| a.back().is_some_and(|&t| t + LOGIN_WINDOW_MS > now));
            if self.admin.attempts.len() >= MAX_ADDRESSES {
                // Logins from this many places at once are an attack: wait for it to pass.
                crate::warn!("admin login from {ip} refused: too many addresses trying");
                return error(429, "too many login attempts; try again in 60 s")
                    .header("Retry-After", "60");
            }
        }
        let tries = self.admin.attempts.entry(ip).or_default();
        while tries.front().is_some_and(|&t| t + LOGIN_WINDOW_MS <= now) {
            tries.pop_front();
        }
        if tries.len() >= LOGIN_ATTEMPTS {
            let wait = tries
                .front()
                .map_or(1, |&t| (t + LOGIN_WINDOW_MS - now).div_ceil(1000));
            crate::warn!("admin login from {ip} refused: too many attempts");
            return error(
                429,
                &format!("too many login attempts; try again in {wait} s"),
            )
            .header("Retry-After", &wait.to_string());
        }
        tries.push_back(now);
        let given = match super::http_session::rest_fields(head, body) {
            Ok(mut f) => f.take_text("password").unwrap_or_default(),
            Err(msg) => return error(400, msg),
        };
        let expected = self.config.admin_password.clone().unwrap_or_default();
        if !constant_time_eq(given.as_bytes(), expected.as_bytes()) {
            crate::warn!("admin login from {ip} failed");
            return error(401, "wrong password");
        }
        let Some(token) = new_token() else {
            return error(500, "cannot make a session token");
        };
        let sessions = &mut self.admin.sessions;
        sessions.retain(|_, &mut until| until > now);
        if sessions.len() >= MAX_SESSIONS {
            if let Some(oldest) = sessions
                .iter()
                .min_by_key(|(_, &until)| until)
                .map(|(t, _)| t.clone())
            {
                sessions.remove(&oldest);
            }
        }
        sessions.insert(token.clone(), now + SESSION_MS);
        crate::info!("admin login from {ip}");
        json_response(200, &json!({ "token": token }))
    }

    fn session_valid(&self, token: &str) -> bool {
        let now = self.now;
        // Every live token is compared, so timing says nothing about which one came near.
        let mut found = false;
        for (t, &until) in &self.admin.sessions {
            if constant_time_eq(t.as_bytes(), token.as_bytes()) && until > now {
                found = true;
            }
        }
        found
    }

    fn admin_authorized(&self, head: &RequestHead) -> bool {
        head.header_str("authorization")
            .and_then(|v| v.strip_prefix("Bearer "))
            .is_some_and(|t| self.session_valid(t.trim()))
    }

    /// The console's API: its own views, and every REST method without the API token.
    fn admin_api(
        &mut self,
        key: usize,
        head: &RequestHead,
        name: &str,
        body: &[u8],
    ) -> Option<Response> {
        let view = match name {
            "overview" => Some(self.admin_overview()),
            "channels" => Some(self.hub.admin_channels()),
            "users" => Some(self.hub.admin_users()),
            "connections" => Some(self.hub.admin_connections()),
            "webhooks" => Some(Value::Array(self.admin.webhooks.iter().cloned().collect())),
            "log" => Some(json!(crate::log::recent(0).0)),
            _ => None,
        };
        if let Some(v) = view {
            return Some(ok(v));
        }
        let mut fields = match super::http_session::rest_fields(head, body) {
            Ok(f) => f,
            Err(msg) => return Some(error(400, msg)),
        };
        if name == "publish" {
            let originator = fields.take_text("originator");
            let originator = originator.filter(|o| !o.is_empty());
            fields.push(
                "originator".into(),
                FieldValue::Text(originator.unwrap_or_else(|| "admin".into())),
            );
        }
        self.next_rest_token += 1;
        let token = self.next_rest_token;
        let reply = match rest::call_trusted(&mut self.hub, name, fields, token, self.wall) {
            rest::Outcome::Reply(r) => r,
            rest::Outcome::Later => {
                self.await_rest(key, head, token);
                return None;
            }
        };
        let Reply { status, body } = reply;
        Some(Response::with_body(status, "application/json", body))
    }

    fn admin_overview(&self) -> Value {
        let (connections, users, channels) = self.hub.admin_counts();
        let stats = self.hub.stats();
        json!({
            "connections": connections,
            "users": users,
            "channels": channels,
            "comet_sessions": self.sessions.slots.len(),
            "sockets": self.conns.len(),
            "published": stats.published,
            "delivered": stats.delivered,
            "messages_per_second": (self.admin.rate * 10.0).round() / 10.0,
            "uptime_seconds": self.now / 1000,
            "webhooks_waiting": self.admin.started.len(),
        })
    }

    // ----- the live feed -----

    /// A text message on `/admin/ws`: the session token first, then watch requests.
    pub(super) fn admin_message(&mut self, key: usize, data: &[u8]) {
        let Some(conn) = self.conns.get(key) else {
            return;
        };
        let id = conn.id;
        let feed = self
            .admin
            .feeds
            .iter()
            .position(|f| f.key == key && f.id == id);
        let msg: Map<String, Value> = match serde_json::from_slice(data) {
            Ok(Value::Object(m)) => m,
            _ if feed.is_none() => {
                return self.ws_fail(key, close_code::POLICY_VIOLATION, "log in first");
            }
            _ => {
                return self.feed_send(key, &json!({"type": "error", "msg": "send a JSON object"}))
            }
        };
        let Some(feed) = feed else {
            let token = msg.get("token").and_then(Value::as_str).unwrap_or("");
            if !self.session_valid(token) {
                return self.ws_fail(key, close_code::POLICY_VIOLATION, "log in first");
            }
            if self.admin.feeds.len() >= MAX_FEEDS {
                return self.ws_fail(key, close_code::TRY_AGAIN_LATER, "too many console feeds");
            }
            self.admin.feeds.push(Feed {
                key,
                id,
                watching: Vec::new(),
            });
            self.admin.next_push = self.now;
            let hello = json!({"type": "hello", "stats": self.admin_overview()});
            return self.feed_send(key, &hello);
        };
        let (channel, on) = match (msg.get("watch"), msg.get("unwatch")) {
            (Some(Value::String(c)), None) => (c.clone(), true),
            (None, Some(Value::String(c))) => (c.clone(), false),
            _ => {
                let e = json!({"type": "error", "msg": "send {\"watch\": channel} or {\"unwatch\": channel}"});
                return self.feed_send(key, &e);
            }
        };
        let watching = &mut self.admin.feeds[feed].watching;
        let known = watching.contains(&channel);
        if on && !known && watching.len() >= MAX_WATCHES {
            let e = json!({"type": "error", "msg": format!("a console watches at most {MAX_WATCHES} channels")});
            return self.feed_send(key, &e);
        }
        watching.retain(|c| *c != channel);
        if on {
            watching.push(channel.clone());
        }
        self.hub.watch(id, &channel, on);
        let info = match self.hub.api_channel_info(&channel, self.wall) {
            Ok(info) => info,
            Err(_) => Value::Null,
        };
        let kind = if on { "watching" } else { "unwatched" };
        self.feed_send(
            key,
            &json!({"type": kind, "channel": channel, "info": info}),
        );
    }

    /// Queues one console event on a feed.
    fn feed_send(&mut self, key: usize, event: &Value) {
        self.feed_bytes(key, &crate::json::to_vec(event));
    }

    fn feed_bytes(&mut self, key: usize, bytes: &[u8]) {
        let Some(conn) = self.conns.get_mut(key) else {
            return;
        };
        if conn.queue_ws(Opcode::Text, bytes).is_err() {
            crate::warn!("admin console {} cannot keep up; closing it", conn.peer);
            return self.ws_fail(
                key,
                close_code::POLICY_VIOLATION,
                "slow consumer: output queue full",
            );
        }
        self.mark_dirty(key);
    }

    /// One event to every feed, encoded once.
    fn feeds_send(&mut self, event: &Value) {
        let bytes = crate::json::to_vec(event);
        let keys: Vec<usize> = self.admin.feeds.iter().map(|f| f.key).collect();
        for key in keys {
            self.feed_bytes(key, &bytes);
        }
    }

    /// A connection went: if it was a feed, it watches nothing any more.
    pub(super) fn admin_left(&mut self, key: usize) {
        let Some(id) = self.conns.get(key).map(|c| c.id) else {
            return;
        };
        let before = self.admin.feeds.len();
        self.admin.feeds.retain(|f| !(f.key == key && f.id == id));
        if self.admin.feeds.len() != before {
            self.hub.unwatch_all(id);
        }
    }

    /// Stats and new log lines to the feeds, once a second while any is open.
    pub(super) fn admin_tick(&mut self) {
        if self.admin.feeds.is_empty() || self.now < self.admin.next_push {
            return;
        }
        let now = self.now;
        self.admin.next_push = now + PUSH_MS;
        let published = self.hub.stats().published;
        let (then, before) = self.admin.last_published;
        if now > then {
            self.admin.rate =
                published.saturating_sub(before) as f64 * 1000.0 / (now - then) as f64;
        }
        self.admin.last_published = (now, published);
        let stats = json!({"type": "stats", "stats": self.admin_overview()});
        self.feeds_send(&stats);
        let (lines, newest) = crate::log::recent(self.admin.log_seen);
        self.admin.log_seen = newest;
        if !lines.is_empty() {
            self.feeds_send(&json!({"type": "log", "lines": lines}));
        }
    }

    // ----- webhook calls, for the console -----

    pub(super) fn admin_hook_started(&mut self, call: &WebhookCall) {
        if !self.admin_enabled() {
            return;
        }
        self.admin.started.insert(
            call.id,
            Started {
                at: self.wall,
                at_ms: self.now,
                hook: call.hook.name(),
                fields: call.fields.clone(),
            },
        );
    }

    /// A call ended: `url` and `status` are empty and 0 when it never went out.
    pub(super) fn admin_hook_done(&mut self, id: u64, result: &HookResult, url: &str, status: u16) {
        let Some(s) = self.admin.started.remove(&id) else {
            return;
        };
        let fields: Map<String, Value> = s
            .fields
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect();
        let (answer, error) = match &result.answer {
            HookAnswer::Allow(opts) => (json!([true, opts]), Value::Null),
            HookAnswer::Deny(msg) if status == 200 => (json!([false, {"msg": msg}]), Value::Null),
            HookAnswer::Deny(msg) => (Value::Null, Value::String(msg.clone())),
        };
        let entry = json!({
            "id": id,
            "time": s.at.iso(),
            "hook": s.hook,
            "url": url,
            "fields": fields,
            "status": status,
            "answer": answer,
            "error": error,
            "ms": self.now.saturating_sub(s.at_ms),
        });
        if self.admin.webhooks.len() >= WEBHOOK_LOG {
            self.admin.webhooks.pop_front();
        }
        self.admin.webhooks.push_back(entry.clone());
        if !self.admin.feeds.is_empty() {
            self.feeds_send(&json!({"type": "webhook", "call": entry}));
        }
    }
}

fn page(body: &'static [u8], content_type: &str) -> Response {
    Response::with_body(200, content_type, body)
        .header("Cache-Control", "no-cache")
        .header("X-Frame-Options", "DENY")
}
