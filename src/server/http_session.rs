//! HTTP/1.1 on a connection: heads and bodies in, routed, answered in order.

use serde_json::Value;

use super::conn::{HttpState, Listener, Phase, Route, WsRole, WsState};
use super::static_files;
use super::Server;
use crate::http::form::parse_urlencoded;
use crate::http::{BodyDecoder, BodyFraming, HeadLimits, Method, Read, RequestHead, Response};
use crate::rest::{self, Auth, Fields, Reply};
use crate::ws::handshake::{check_upgrade, switching_protocols};
use crate::ws::WsDecoder;

impl Server {
    /// Consumes HTTP bytes: `(used, go_on)`; `go_on` is false when more input is needed or
    /// the connection is done with HTTP parsing.
    pub(super) fn http_input(&mut self, key: usize, input: &[u8]) -> (usize, bool) {
        let limits = HeadLimits {
            max_head: self.config.limits.max_head,
            ..HeadLimits::default()
        };
        let now = self.now;
        let between_requests = match self.conns.get(key).map(|c| &c.phase) {
            // A parked comet request, or a REST call waiting for the application, answers
            // first; what follows waits unread.
            Some(Phase::Http(h)) if h.parked.is_some() || h.awaiting.is_some() => {
                return (0, false)
            }
            Some(Phase::Http(h)) => !h.reader.is_mid_request(),
            _ => return (input.len(), false),
        };
        if between_requests && !self.may_read_request() {
            // A fan-out is still going out: the next request waits, unread.
            self.hold(key);
            return (0, false);
        }
        let Some(Phase::Http(h)) = self.conns.get_mut(key).map(|c| &mut c.phase) else {
            return (input.len(), false);
        };
        h.last_activity = now;
        let read = h.reader.read(input, &limits);
        if h.reader.is_mid_request() && !h.reader.is_reading_body() {
            h.started.get_or_insert(now);
        } else {
            h.started = None;
        }
        match read {
            Ok(Read::Need(used)) => (used, false),
            Ok(Read::Head(used, head)) => {
                self.on_head(key, head);
                (used, true)
            }
            Ok(Read::Body(used, body)) => {
                if let Some((head, route)) = h.pending.take().map(|p| *p) {
                    self.answer(key, head, route, body, false);
                }
                (used, true)
            }
            Err(e) => {
                self.http_error(key, e.status(), &e.to_string());
                (input.len(), false)
            }
        }
    }

    fn on_head(&mut self, key: usize, head: RequestHead) {
        let Some(conn) = self.conns.get(key) else {
            return;
        };
        let route = self.route(conn.listener, &head);
        if let Method::Other(m) = &head.method {
            let detail = format!("method {m} not implemented");
            return self.respond(key, &head, Response::error(501, &detail, true));
        }
        if matches!(route, Route::Rtjp | Route::Echo | Route::AdminWs) {
            if route == Route::AdminWs && self.config.admin_password.is_none() {
                return self.respond(
                    key,
                    &head,
                    Response::error(404, "the admin console is off", false),
                );
            }
            if head.framing != BodyFraming::None {
                let r = Response::error(400, "an upgrade request has no body", true);
                return self.respond(key, &head, r);
            }
            match check_upgrade(&head) {
                Ok(accept) => self.upgrade(key, &head, &accept, &route),
                Err(e) => self.respond(key, &head, e.response()),
            }
            return;
        }
        let max_body = self.config.limits.max_body;
        let decoder = match head.framing {
            BodyFraming::None => {
                if head.method == Method::Post && head.header("content-length").is_none() {
                    let r = Response::error(411, "a POST needs Content-Length or chunked", true);
                    return self.respond(key, &head, r);
                }
                return self.answer(key, head, route, Vec::new(), false);
            }
            BodyFraming::Length(n) => match BodyDecoder::with_length(n, max_body) {
                Ok(d) => d,
                Err(e) => {
                    let r = Response::error(e.status(), &e.to_string(), true);
                    return self.respond(key, &head, r);
                }
            },
            BodyFraming::Chunked => BodyDecoder::chunked(max_body),
        };
        if head.expect_continue {
            if !takes_body(&route, &head.method) {
                // Answer now; the body the client may still send cannot be told apart from
                // a next request, so the connection ends here.
                return self.answer(key, head, route, Vec::new(), true);
            }
            if let Some(conn) = self.conns.get_mut(key) {
                conn.queue_http(b"HTTP/1.1 100 Continue\r\n\r\n".to_vec());
            }
            self.mark_dirty(key);
        }
        if let Some(Phase::Http(h)) = self.conns.get_mut(key).map(|c| &mut c.phase) {
            h.reader.begin_body(decoder);
            h.pending = Some(Box::new((head, route)));
        }
    }

    fn route(&self, listener: Listener, head: &RequestHead) -> Route {
        let path = head.path.as_str();
        let rest_method = |m: &str| {
            if m.is_empty() || m.contains('/') {
                Route::NotFound
            } else {
                Route::Rest(m.to_string())
            }
        };
        if listener == Listener::Api {
            return match path
                .strip_prefix("/web/")
                .or_else(|| path.strip_prefix('/'))
            {
                Some(m) => rest_method(m),
                None => Route::NotFound,
            };
        }
        if path == "/ws" {
            return Route::Rtjp;
        }
        if path == "/admin/ws" {
            return Route::AdminWs;
        }
        if let Some(sub) = path.strip_prefix("/admin") {
            if sub.is_empty() || sub.starts_with('/') {
                return Route::Admin(sub.trim_start_matches('/').to_string());
            }
        }
        if self.config.echo_path.as_deref() == Some(path) {
            return Route::Echo;
        }
        if path == "/" {
            return Route::Static("index.html".into());
        }
        if let Some(op) = path.strip_prefix("/csp/") {
            return Route::Csp(op.to_string());
        }
        if path == "/sse" {
            return Route::Sse;
        }
        if let Some(name) = path.strip_prefix("/static/") {
            return Route::Static(name.to_string());
        }
        if self.api.is_none() {
            if let Some(m) = path.strip_prefix("/web/") {
                return rest_method(m);
            }
        }
        Route::NotFound
    }

    /// Builds the answer to a whole request and queues it.
    fn answer(&mut self, key: usize, head: RequestHead, route: Route, body: Vec<u8>, close: bool) {
        let mut r = match route {
            Route::Static(name) => match head.method {
                Method::Get | Method::Head => match static_files::find(&name) {
                    Some(file) => static_files::respond(file, &head),
                    None => Response::error(404, "no such file", false),
                },
                _ => Response::error(405, "use GET or HEAD", false).header("Allow", "GET, HEAD"),
            },
            Route::Rest(method) => match head.method {
                Method::Get | Method::Post => {
                    let before = self.fanouts.len();
                    let Some(mut r) = self.rest(key, &head, &method, &body) else {
                        // The application is asked first; the answer comes with its reply.
                        return self.apply_effects();
                    };
                    r.close |= close;
                    self.respond(key, &head, r);
                    self.apply_effects();
                    return self.defer_answer(key, before);
                }
                _ => Response::error(405, "use GET or POST", false).header("Allow", "GET, POST"),
            },
            Route::Csp(op) => match head.method {
                Method::Get | Method::Post => return self.csp(key, &head, &op, &body),
                Method::Options => preflight(),
                _ => Response::error(405, "use GET or POST", false)
                    .header("Allow", "GET, POST, OPTIONS"),
            },
            Route::Admin(sub) => return self.admin_http(key, &head, &sub, &body),
            Route::Sse => match head.method {
                Method::Options => preflight(),
                _ => return self.sse(key, &head),
            },
            Route::NotFound | Route::Rtjp | Route::Echo | Route::AdminWs => {
                Response::error(404, "nothing here", false)
            }
        };
        r.close |= close;
        self.respond(key, &head, r);
    }

    /// Runs a REST call; `None` when it waits for the application (the connection then
    /// waits too, and `Effect::RestDone` brings the answer).
    fn rest(
        &mut self,
        key: usize,
        head: &RequestHead,
        method: &str,
        body: &[u8],
    ) -> Option<Response> {
        let outcome = match rest_fields(head, body) {
            Ok(fields) => {
                let bearer = head
                    .header_str("authorization")
                    .and_then(|v| v.strip_prefix("Bearer "))
                    .map(str::trim);
                let auth = Auth {
                    token: self.config.api_token.as_deref(),
                    bearer,
                };
                self.next_rest_token += 1;
                let token = self.next_rest_token;
                match rest::call(&mut self.hub, auth, method, fields, token, self.wall) {
                    rest::Outcome::Reply(r) => r,
                    rest::Outcome::Later => {
                        self.await_rest(key, head, token);
                        return None;
                    }
                }
            }
            Err(msg) => Reply::failure(400, msg),
        };
        Some(Response::with_body(
            outcome.status,
            "application/json",
            outcome.body,
        ))
    }

    /// Queues a response; the connection closes after it unless both sides keep it alive.
    pub(super) fn respond(&mut self, key: usize, head: &RequestHead, mut r: Response) {
        let keep = head.keep_alive && !r.close && self.stopping.is_none();
        r.close = !keep;
        if keep && head.minor_version == 0 {
            r = r.header("Connection", "keep-alive");
        }
        r.head_only |= head.method == Method::Head;
        if crate::log::access_enabled() {
            if let Some(conn) = self.conns.get(key) {
                crate::log::access(format_args!(
                    "{} \"{} {} HTTP/1.{}\" {} {}",
                    conn.peer.ip(),
                    head.method.as_str(),
                    head.path,
                    head.minor_version,
                    r.status,
                    r.body.len()
                ));
            }
        }
        self.queue_response(key, r);
    }

    /// An error found before a request could be read whole: answered, then closed.
    fn http_error(&mut self, key: usize, status: u16, detail: &str) {
        crate::debug!("HTTP {status}: {detail}");
        self.queue_response(key, Response::error(status, detail, true));
    }

    fn queue_response(&mut self, key: usize, r: Response) {
        let mut bytes = Vec::with_capacity(r.body.len() + 160);
        r.encode(self.http_date(), &mut bytes);
        let now = self.now;
        let Some(conn) = self.conns.get_mut(key) else {
            return;
        };
        conn.queue_http(bytes);
        if let Phase::Http(h) = &mut conn.phase {
            h.last_activity = now;
        }
        self.mark_urgent(key);
        if r.close {
            self.begin_close(key);
        }
    }

    /// Answers `101 Switching Protocols` and turns the connection into a WebSocket.
    fn upgrade(&mut self, key: usize, head: &RequestHead, accept: &str, route: &Route) {
        let echo = *route == Route::Echo;
        let admin = *route == Route::AdminWs;
        let now = self.now;
        let max_message = self.config.limits.max_ws_message;
        let Some(conn) = self.conns.get_mut(key) else {
            return;
        };
        let mut bytes = Vec::with_capacity(160);
        switching_protocols(accept, &mut bytes);
        conn.queue_http(bytes);
        conn.phase = Phase::Ws(Box::new(WsState {
            decoder: WsDecoder::new(max_message),
            role: if echo {
                WsRole::Echo
            } else if admin {
                WsRole::Admin { next_id: 0 }
            } else {
                WsRole::Rtjp {
                    lines: Vec::new(),
                    next_id: 0,
                }
            },
            last_rx: now,
            last_ping: now,
        }));
        let remote = head
            .header_str("x-forwarded-for")
            .and_then(|v| v.split(',').next())
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| conn.peer.ip().to_string());
        if crate::log::access_enabled() {
            crate::log::access(format_args!(
                "{} \"GET {} HTTP/1.1\" 101 websocket {}",
                conn.peer.ip(),
                head.path,
                conn.id
            ));
        }
        if admin {
            // It gets hub frames (of what it watches) but is no client of the hub.
            conn.in_hub = true;
        } else if !echo {
            conn.in_hub = true;
            let id = conn.id;
            self.hub.open(id, remote);
        }
        self.mark_dirty(key);
        self.refresh_deadline(key);
    }

    /// A request head or body that stalls is answered 408; an idle connection just closes.
    pub(super) fn http_deadline(&mut self, key: usize) {
        let Some(conn) = self.conns.get(key) else {
            return;
        };
        match &conn.phase {
            Phase::Http(HttpState { reader, .. }) if reader.is_mid_request() => {
                self.http_error(key, 408, "request not received in time")
            }
            _ => self.drop_conn(key),
        }
    }
}

/// Whether the route reads a request body (others refuse `Expect: 100-continue`).
fn takes_body(route: &Route, method: &Method) -> bool {
    matches!(route, Route::Rest(_) | Route::Csp(_) | Route::Admin(_)) && *method == Method::Post
}

/// The answer to a CORS preflight for the comet endpoints.
fn preflight() -> Response {
    let mut r = Response::new(204)
        .header("Access-Control-Allow-Origin", "*")
        .header("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
        .header(
            "Access-Control-Allow-Headers",
            "Content-Type, Last-Event-ID",
        )
        .header("Access-Control-Max-Age", "86400");
    r.head_only = true;
    r
}

/// The call's fields: the query, and for POST the body (urlencoded, or a JSON object when
/// the Content-Type says so), the body winning over the query.
pub(super) fn rest_fields(head: &RequestHead, body: &[u8]) -> Result<Fields, &'static str> {
    let query = parse_urlencoded(head.query.as_bytes()).map_err(|_| "the query is not UTF-8")?;
    let query = Fields::from_pairs(query);
    if head.method != Method::Post {
        return Ok(query);
    }
    let media = head
        .header_str("content-type")
        .and_then(|v| v.split(';').next())
        .map(str::trim)
        .unwrap_or("");
    let mut fields = if media.eq_ignore_ascii_case("application/json") {
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(obj)) => Fields::from_json(obj),
            _ => return Err("the body is not a JSON object"),
        }
    } else {
        Fields::from_pairs(parse_urlencoded(body).map_err(|_| "the form is not UTF-8")?)
    };
    fields.merge(query);
    Ok(fields)
}
