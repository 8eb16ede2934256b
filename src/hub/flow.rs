//! Operations that may wait on the application.
//!
//! With a webhook target configured, connect, subscribe, unsubscribe, publish, message,
//! channel creation and destruction ask the application first. Such an operation is a
//! [`Pending`] step that the answer resumes; the hub never waits. While a frame of a
//! connection waits, later frames of that connection queue behind it, so their order is
//! kept; other connections go on. Without a target (open mode) every step is taken at once.

use serde_json::{Map, Value};

use super::names::is_valid_name;
use super::options::ChannelOptions;
use super::{channel_arg, parse_payload, ConnId, Effect, Hub, HubError, Publisher, UserKey};
use crate::rtjp::{ClientFrame, OutFrame};
use crate::time::Timestamp;
use crate::webhook::{pick_cookie, Hook, HookAnswer, HookResult, WebhookCall};

/// Who asked for an operation, to be told how it ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Origin {
    /// A client frame: an ERROR frame on failure, and the connection's next frames go on.
    Frame { conn: ConnId, id: Value },
    /// A REST call waiting for its answer.
    Rest(u64),
    /// One of the calls of a REST `publish_multi`.
    Group(u64),
    /// Nobody: the server itself.
    Internal,
}

impl Origin {
    fn conn(&self) -> Option<ConnId> {
        match self {
            Origin::Frame { conn, .. } => Some(*conn),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct SubscribeOp {
    pub user: String,
    /// The connection that asked (`None`: all of the user's, from REST).
    pub conn: Option<ConnId>,
    pub channel: String,
    pub since: Option<u64>,
    /// The channel epoch `since` counts in (a client that saw another epoch gets all the
    /// history there is).
    pub epoch: Option<String>,
    pub origin: Origin,
    /// Whether the application is asked (REST without `send_hook=1` is not).
    pub ask: bool,
}

#[derive(Debug, Clone)]
pub struct UnsubscribeOp {
    pub user: String,
    pub conn: Option<ConnId>,
    pub channel: String,
    pub origin: Origin,
    pub ask: bool,
}

#[derive(Debug, Clone)]
pub enum PublishFrom {
    User { name: String, conn: ConnId },
    Api { originator: Option<String> },
}

#[derive(Debug, Clone)]
pub struct PublishOp {
    pub channel: String,
    pub payload: Value,
    pub from: PublishFrom,
    pub origin: Origin,
    pub ask: bool,
    /// The channel was made for this publish (and goes again if nothing keeps it).
    pub created: bool,
}

#[derive(Debug, Clone)]
pub struct MessageOp {
    pub sender: String,
    pub recipient: String,
    pub payload: Value,
    pub conn: Option<ConnId>,
    pub origin: Origin,
    pub ask: bool,
}

/// What follows a channel's creation.
#[derive(Debug, Clone)]
pub enum Then {
    Subscribe(SubscribeOp),
    Publish(PublishOp),
    /// REST `create_channel`: these options, then the application's on top.
    Created(Map<String, Value>),
}

/// A step waiting for a webhook's answer.
#[derive(Debug, Clone)]
pub enum Pending {
    Connect {
        conn: ConnId,
        id: Value,
        payload: Value,
    },
    Create {
        channel: String,
        origin: Origin,
        then: Then,
    },
    Subscribe(SubscribeOp),
    Unsubscribe(UnsubscribeOp),
    Publish(PublishOp),
    Message(MessageOp),
    Destroy {
        channel: String,
        origin: Origin,
    },
    /// The disconnect hook: its answer changes nothing.
    Disconnect,
}

impl Pending {
    fn origin(&self) -> Option<&Origin> {
        match self {
            Pending::Connect { .. } | Pending::Disconnect => None,
            Pending::Create { origin, .. } | Pending::Destroy { origin, .. } => Some(origin),
            Pending::Subscribe(op) => Some(&op.origin),
            Pending::Unsubscribe(op) => Some(&op.origin),
            Pending::Publish(op) => Some(&op.origin),
            Pending::Message(op) => Some(&op.origin),
        }
    }
}

/// A REST `publish_multi` whose publishes ask the application: answered when all are done.
#[derive(Debug)]
pub struct Group {
    pub token: u64,
    pub left: usize,
    pub error: Option<String>,
}

fn empty() -> Value {
    Value::Object(Map::new())
}

/// `[a, b]` of strings from an answer option; anything else is nothing.
fn name_list(options: &Map<String, Value>, key: &str) -> Vec<String> {
    options
        .get(key)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

fn truthy(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) | Some(Value::Bool(false)) => false,
        Some(Value::Number(n)) => n.as_f64() != Some(0.0),
        Some(Value::String(s)) => !s.is_empty(),
        _ => true,
    }
}

impl Hub {
    // ----- frames -----

    /// A frame from a client connection. Frames of a connection whose earlier frame waits
    /// on the application wait behind it.
    pub fn frame(&mut self, conn: ConnId, now: Timestamp, frame: ClientFrame) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        if c.busy {
            c.queued.push_back(frame);
            return;
        }
        self.process_frame(conn, now, frame);
        self.run_drains(now);
    }

    fn process_frame(&mut self, conn: ConnId, now: Timestamp, frame: ClientFrame) {
        let id = frame.id.clone();
        let result = match frame.name.as_str() {
            "CONNECT" => self.frame_connect(conn, &frame, now),
            "SUBSCRIBE" => self.frame_subscribe(conn, &frame, now),
            "UNSUBSCRIBE" => self.frame_unsubscribe(conn, &frame, now),
            "PUBLISH" => self.frame_publish(conn, &frame, now),
            "MESSAGE" => self.frame_message(conn, &frame, now),
            other => Err(HubError::UnknownFrame(other.to_string())),
        };
        if let Err(e) = result {
            self.send_error(conn, id, &e.to_string());
        }
    }

    fn connected_name(&self, conn: ConnId) -> Result<String, HubError> {
        let key = self.connected_user(conn)?;
        self.users
            .get(key)
            .map(|u| u.name.clone())
            .ok_or(HubError::NotConnected)
    }

    fn frame_connect(
        &mut self,
        conn: ConnId,
        f: &ClientFrame,
        now: Timestamp,
    ) -> Result<(), HubError> {
        if self
            .conns
            .get(&conn)
            .is_some_and(|c| c.user.is_some() || c.connecting)
        {
            return Err(HubError::AlreadyConnected);
        }
        let cookie = match f.args.get("cookie_string") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Null) | None => return Err(HubError::Missing("cookie_string")),
            Some(_) => return Err(HubError::InvalidArg("cookie_string")),
        };
        let payload = parse_payload(f.args.get("payload"))?;
        if let Some(c) = self.conns.get_mut(&conn) {
            c.cookie = cookie;
        }
        if self.config.webhooks {
            if let Some(c) = self.conns.get_mut(&conn) {
                c.connecting = true;
            }
            let fields = vec![
                ("conn_id".to_string(), conn.to_string()),
                ("payload".to_string(), crate::json::to_string(&payload)),
            ];
            let pending = Pending::Connect {
                conn,
                id: f.id.clone(),
                payload,
            };
            self.call_hook(Hook::Connect, fields, Some(conn), None, pending);
            return Ok(());
        }
        // Open mode: the name comes from the payload, or a guest name is made up.
        let name = match payload.get("name").and_then(Value::as_str) {
            Some(n) if is_valid_name(n) => n.to_string(),
            Some(_) => return Err(HubError::InvalidUserName),
            None => self.guest_name(),
        };
        self.login(conn, name, payload, now);
        Ok(())
    }

    fn frame_subscribe(
        &mut self,
        conn: ConnId,
        f: &ClientFrame,
        now: Timestamp,
    ) -> Result<(), HubError> {
        let user = self.connected_name(conn)?;
        let channel = channel_arg(&f.args)?.to_string();
        let since = match f.args.get("since") {
            None | Some(Value::Null) => None,
            Some(v) => Some(v.as_u64().ok_or(HubError::InvalidArg("since"))?),
        };
        let epoch = match f.args.get("epoch") {
            None | Some(Value::Null) => None,
            Some(Value::String(e)) => Some(e.clone()),
            Some(_) => return Err(HubError::InvalidArg("epoch")),
        };
        let op = SubscribeOp {
            user,
            conn: Some(conn),
            channel,
            since,
            epoch,
            origin: Origin::Frame {
                conn,
                id: f.id.clone(),
            },
            ask: true,
        };
        self.start_subscribe(op, now);
        Ok(())
    }

    fn frame_unsubscribe(
        &mut self,
        conn: ConnId,
        f: &ClientFrame,
        now: Timestamp,
    ) -> Result<(), HubError> {
        let user = self.connected_name(conn)?;
        let channel = channel_arg(&f.args)?.to_string();
        let op = UnsubscribeOp {
            user,
            conn: Some(conn),
            channel,
            origin: Origin::Frame {
                conn,
                id: f.id.clone(),
            },
            ask: true,
        };
        self.start_unsubscribe(op, now);
        Ok(())
    }

    fn frame_publish(
        &mut self,
        conn: ConnId,
        f: &ClientFrame,
        now: Timestamp,
    ) -> Result<(), HubError> {
        let name = self.connected_name(conn)?;
        let channel = channel_arg(&f.args)?.to_string();
        let payload = parse_payload(f.args.get("payload"))?;
        let op = PublishOp {
            channel,
            payload,
            from: PublishFrom::User { name, conn },
            origin: Origin::Frame {
                conn,
                id: f.id.clone(),
            },
            ask: true,
            created: false,
        };
        self.start_publish(op, now);
        Ok(())
    }

    fn frame_message(
        &mut self,
        conn: ConnId,
        f: &ClientFrame,
        now: Timestamp,
    ) -> Result<(), HubError> {
        let sender = self.connected_name(conn)?;
        let recipient = match f.args.get("name") {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            Some(Value::String(_)) | Some(Value::Null) | None => {
                return Err(HubError::Missing("name"))
            }
            Some(_) => return Err(HubError::InvalidUserName),
        };
        let payload = parse_payload(f.args.get("payload"))?;
        let op = MessageOp {
            sender,
            recipient,
            payload,
            conn: Some(conn),
            origin: Origin::Frame {
                conn,
                id: f.id.clone(),
            },
            ask: true,
        };
        self.start_message(op, now);
        Ok(())
    }

    // ----- asking the application -----

    /// Asks the application; `conn` is the browser connection the call is about (its cookie
    /// and address go along, a `Set-Cookie` comes back to it).
    pub(super) fn call_hook(
        &mut self,
        hook: Hook,
        fields: Vec<(String, String)>,
        conn: Option<ConnId>,
        cookie: Option<String>,
        pending: Pending,
    ) {
        self.next_call += 1;
        let id = self.next_call;
        if let Some(Origin::Frame { conn, .. }) = pending.origin() {
            if let Some(c) = self.conns.get_mut(conn) {
                c.busy = true;
            }
        }
        if let Pending::Connect { conn, .. } = &pending {
            if let Some(c) = self.conns.get_mut(conn) {
                c.busy = true;
            }
        }
        let (cookie, remote_addr) = match conn.and_then(|c| self.conns.get(&c)) {
            Some(c) => (Some(c.cookie.clone()), Some(c.remote_addr.clone())),
            None => (cookie, None),
        };
        let cookie =
            cookie
                .filter(|c| !c.is_empty())
                .and_then(|c| match &self.config.cookie_identifier {
                    Some(name) => pick_cookie(&c, name),
                    None => Some(c),
                });
        self.pending.insert(id, (pending, conn));
        self.effects.push(Effect::Webhook(WebhookCall {
            id,
            hook,
            fields,
            cookie,
            remote_addr,
        }));
    }

    /// The application answered (or the call failed, which is a denial).
    pub fn webhook_done(&mut self, id: u64, result: HookResult, now: Timestamp) {
        let Some((pending, conn)) = self.pending.remove(&id) else {
            return;
        };
        if let (Some(conn), Some(cookie)) = (conn, result.set_cookie) {
            if self.conns.contains_key(&conn) {
                let mut args = Map::new();
                args.insert("cookie".into(), cookie.into());
                self.send(conn, &OutFrame::new("SET_COOKIE", &args));
            }
        }
        match (pending, result.answer) {
            (Pending::Connect { conn, id, payload }, answer) => {
                self.connect_answered(conn, id, payload, answer, now)
            }
            (
                Pending::Create {
                    channel,
                    origin,
                    then,
                },
                HookAnswer::Allow(opts),
            ) => self.create_allowed(channel, origin, then, opts, now),
            (Pending::Subscribe(op), HookAnswer::Allow(opts)) => {
                let initial = opts.get("initial_data").cloned();
                self.apply_auto(&op.user, op.conn, &opts, now);
                self.do_subscribe(op, initial, now);
            }
            (Pending::Unsubscribe(op), HookAnswer::Allow(opts)) => {
                self.apply_auto(&op.user, op.conn, &opts, now);
                self.do_unsubscribe(op, now);
            }
            (Pending::Publish(mut op), HookAnswer::Allow(opts)) => {
                if let PublishFrom::User { name, conn } = &op.from {
                    let (name, conn) = (name.clone(), *conn);
                    self.apply_auto(&name, Some(conn), &opts, now);
                }
                if let Some(p) = opts.get("override_payload") {
                    op.payload = p.clone();
                }
                let only = truthy(opts.get("only_to_sender"));
                self.do_publish(op, only, now);
            }
            (Pending::Message(mut op), HookAnswer::Allow(opts)) => {
                let (sender, conn) = (op.sender.clone(), op.conn);
                self.apply_auto(&sender, conn, &opts, now);
                if let Some(p) = opts.get("override_payload") {
                    op.payload = p.clone();
                }
                if let Some(r) = opts.get("override_recipient_name").and_then(Value::as_str) {
                    op.recipient = r.to_string();
                }
                self.do_message(op, now);
            }
            (Pending::Destroy { channel, origin }, HookAnswer::Allow(_)) => {
                self.destroying.remove(&channel);
                // A channel emptied by its last subscriber stays if someone came back.
                let wanted = origin != Origin::Internal
                    || self
                        .channels
                        .get(&channel)
                        .is_some_and(|c| c.subscribers.is_empty());
                if wanted {
                    self.destroy(&channel, now);
                }
                self.finish(origin, Ok(empty()));
            }
            (Pending::Destroy { channel, origin }, HookAnswer::Deny(reason)) => {
                // The application keeps the channel (and says why to a REST caller).
                self.destroying.remove(&channel);
                self.finish(origin, Err(reason));
            }
            (Pending::Disconnect, _) => {}
            (pending, HookAnswer::Deny(reason)) => {
                if let Some(origin) = pending.origin() {
                    self.finish(origin.clone(), Err(reason));
                }
            }
        }
        self.run_drains(now);
    }

    /// Tells whoever asked how an operation ended.
    pub(super) fn finish(&mut self, origin: Origin, result: Result<Value, String>) {
        match origin {
            Origin::Frame { conn, id } => {
                if let Err(msg) = &result {
                    if self.conns.contains_key(&conn) {
                        self.send_error(conn, id, msg);
                    }
                }
                if let Some(c) = self.conns.get_mut(&conn) {
                    if c.busy {
                        c.busy = false;
                        self.to_drain.push(conn);
                    }
                }
            }
            Origin::Rest(token) => self.effects.push(Effect::RestDone { token, result }),
            Origin::Group(g) => {
                let Some(group) = self.groups.get_mut(&g) else {
                    return;
                };
                group.left = group.left.saturating_sub(1);
                if let Err(e) = result {
                    group.error.get_or_insert(e);
                }
                if group.left == 0 {
                    if let Some(group) = self.groups.remove(&g) {
                        let result = match group.error {
                            Some(e) => Err(e),
                            None => Ok(empty()),
                        };
                        self.effects.push(Effect::RestDone {
                            token: group.token,
                            result,
                        });
                    }
                }
            }
            Origin::Internal => {}
        }
    }

    /// Lets connections whose waiting frame is done go on with the frames queued behind it.
    pub(super) fn run_drains(&mut self, now: Timestamp) {
        while let Some(conn) = self.to_drain.pop() {
            while let Some(frame) = self
                .conns
                .get_mut(&conn)
                .filter(|c| !c.busy)
                .and_then(|c| c.queued.pop_front())
            {
                self.process_frame(conn, now, frame);
            }
        }
    }

    // ----- connect -----

    fn connect_answered(
        &mut self,
        conn: ConnId,
        id: Value,
        payload: Value,
        answer: HookAnswer,
        now: Timestamp,
    ) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        c.connecting = false;
        let origin = Origin::Frame { conn, id };
        let mut opts = match answer {
            HookAnswer::Allow(opts) => opts,
            HookAnswer::Deny(reason) => return self.finish(origin, Err(reason)),
        };
        let name = match opts.remove("name") {
            Some(Value::String(n)) if is_valid_name(&n) => n,
            Some(Value::String(n)) if !n.is_empty() => {
                return self.finish(origin, Err(HubError::InvalidUserName.to_string()))
            }
            _ => {
                return self.finish(
                    origin,
                    Err("Unauthorized (missing name parameter in server response)".into()),
                )
            }
        };
        let payload = opts.remove("override_payload").unwrap_or(payload);
        // The user options the answer names; the rest of it is not about the user.
        let mut user_opts = Map::new();
        for key in [
            "reflective",
            "moderated_message",
            "per_connection_subscriptions",
            "global_unsubscriptions",
        ] {
            if let Some(v) = opts.get(key) {
                user_opts.insert(key.to_string(), v.clone());
            }
        }
        let existing = self.user_keys.get(&name).and_then(|&k| self.users.get(k));
        let base = existing.map(|u| u.options.clone()).unwrap_or_default();
        let user_options = match base.updated(&user_opts) {
            Ok(o) => o,
            Err(e) => return self.finish(origin, Err(e.to_string())),
        };
        self.login(conn, name.clone(), payload, now);
        if let Some(&k) = self.user_keys.get(&name) {
            if let Some(u) = self.users.get_mut(k) {
                u.options = user_options;
            }
        }
        self.apply_auto(&name, Some(conn), &opts, now);
        self.finish(origin, Ok(empty()));
    }

    /// An answer's `auto_subscribe` and `auto_unsubscribe`: done at once, without asking.
    fn apply_auto(
        &mut self,
        user: &str,
        conn: Option<ConnId>,
        opts: &Map<String, Value>,
        now: Timestamp,
    ) {
        let Some(&ukey) = self.user_keys.get(user) else {
            return;
        };
        for channel in name_list(opts, "auto_subscribe") {
            if is_valid_name(&channel) {
                self.ensure_channel(&channel);
                self.join(ukey, conn, &channel, None, None, now);
            }
        }
        for channel in name_list(opts, "auto_unsubscribe") {
            if self
                .users
                .get(ukey)
                .is_some_and(|u| u.channels.contains_key(&channel))
            {
                self.leave(ukey, &channel, now, true, true);
            }
        }
    }

    // ----- channels coming into being -----

    /// Creates a channel, asking the application when hooks are on, then goes on with `then`.
    pub(super) fn start_create(
        &mut self,
        channel: String,
        origin: Origin,
        then: Then,
        now: Timestamp,
    ) {
        if !is_valid_name(&channel) {
            return self.finish(origin, Err(HubError::InvalidChannelName.to_string()));
        }
        if self.config.webhooks {
            let fields = vec![("channel_name".to_string(), channel.clone())];
            let conn = origin.conn();
            let pending = Pending::Create {
                channel,
                origin,
                then,
            };
            return self.call_hook(Hook::CreateChannel, fields, conn, None, pending);
        }
        self.create_allowed(channel, origin, then, Map::new(), now);
    }

    fn create_allowed(
        &mut self,
        channel: String,
        origin: Origin,
        then: Then,
        app: Map<String, Value>,
        now: Timestamp,
    ) {
        if !self.channels.contains_key(&channel) {
            // REST's own options first, the application's on top.
            let mut options = match &then {
                Then::Created(opts) => opts.clone(),
                _ => Map::new(),
            };
            for (k, v) in app {
                options.insert(k, v);
            }
            if let Err(e) = self.create_with(&channel, &options, now) {
                return self.finish(origin, Err(e.to_string()));
            }
        } else if matches!(then, Then::Created(_)) {
            return self.finish(origin, Err(HubError::ChannelExists(channel).to_string()));
        }
        match then {
            Then::Subscribe(op) => self.subscribe_existing(op, now),
            Then::Publish(mut op) => {
                op.created = true;
                self.publish_existing(op, now)
            }
            Then::Created(_) => self.finish(origin, Ok(empty())),
        }
    }

    /// Makes a channel with checked options.
    pub(super) fn create_with(
        &mut self,
        name: &str,
        options: &Map<String, Value>,
        now: Timestamp,
    ) -> Result<(), HubError> {
        let update = ChannelOptions::default().updated(options)?;
        let mut ch = self.new_channel(name, update.options);
        if let Some(history) = update.history {
            super::api::set_history(&mut ch, history, now);
        }
        if let Some(state) = update.state {
            ch.state = state;
        }
        let polling = ch.options.polling.clone();
        self.channels.insert(name.to_string(), ch);
        self.server_presence_init(name);
        if !polling.mode.is_empty() {
            self.effects.push(Effect::Polling {
                channel: name.to_string(),
                polling: Some(polling),
            });
        }
        Ok(())
    }

    // ----- subscribe -----

    pub(super) fn start_subscribe(&mut self, op: SubscribeOp, now: Timestamp) {
        if !self.channels.contains_key(&op.channel) {
            let (channel, origin) = (op.channel.clone(), op.origin.clone());
            return self.start_create(channel, origin, Then::Subscribe(op), now);
        }
        self.subscribe_existing(op, now);
    }

    fn subscribe_existing(&mut self, op: SubscribeOp, now: Timestamp) {
        let Some(&ukey) = self.user_keys.get(&op.user) else {
            return self.finish(op.origin, Err(HubError::NoSuchUser(op.user).to_string()));
        };
        let already = self
            .users
            .get(ukey)
            .is_some_and(|u| u.channels.contains_key(&op.channel));
        let moderated = self
            .channels
            .get(&op.channel)
            .is_some_and(|c| c.options.moderated || c.options.moderated_subscribe);
        if op.ask && self.config.webhooks && moderated && !already {
            let fields = vec![
                ("channel_name".to_string(), op.channel.clone()),
                ("user".to_string(), op.user.clone()),
            ];
            let conn = op.conn;
            return self.call_hook(Hook::Subscribe, fields, conn, None, Pending::Subscribe(op));
        }
        self.do_subscribe(op, None, now);
    }

    fn do_subscribe(&mut self, op: SubscribeOp, initial_data: Option<Value>, now: Timestamp) {
        let Some(&ukey) = self.user_keys.get(&op.user) else {
            return self.finish(op.origin, Err(HubError::NoSuchUser(op.user).to_string()));
        };
        if op.conn.is_some_and(|c| !self.conns.contains_key(&c)) {
            // The connection went while the application was asked.
            return self.finish(op.origin, Ok(empty()));
        }
        // The channel may have gone while the application was asked.
        self.ensure_channel(&op.channel);
        // Numbers from another life of the channel: all of this one's history is new.
        let since = match (op.since, &op.epoch) {
            (Some(_), Some(e))
                if self
                    .channels
                    .get(&op.channel)
                    .is_some_and(|c| c.epoch != *e) =>
            {
                Some(0)
            }
            (since, _) => since,
        };
        self.join(ukey, op.conn, &op.channel, since, initial_data, now);
        self.finish(op.origin, Ok(empty()));
    }

    // ----- unsubscribe -----

    pub(super) fn start_unsubscribe(&mut self, op: UnsubscribeOp, now: Timestamp) {
        let Some(&ukey) = self.user_keys.get(&op.user) else {
            return self.finish(op.origin, Err(HubError::NoSuchUser(op.user).to_string()));
        };
        let subscribed =
            self.users
                .get(ukey)
                .is_some_and(|u| match (u.channels.get(&op.channel), op.conn) {
                    (Some(list), Some(c)) if u.options.per_connection_subscriptions => {
                        list.contains(&c)
                    }
                    (Some(_), _) => true,
                    (None, _) => false,
                });
        if !subscribed {
            let result = match op.origin {
                // REST leaves a user who is not subscribed as they are.
                Origin::Rest(_) => Ok(empty()),
                _ => Err(HubError::NotSubscribed(op.channel.clone()).to_string()),
            };
            return self.finish(op.origin, result);
        }
        let moderated = self
            .channels
            .get(&op.channel)
            .is_some_and(|c| c.options.moderated || c.options.moderated_unsubscribe);
        if op.ask && self.config.webhooks && moderated {
            let fields = vec![
                ("channel_name".to_string(), op.channel.clone()),
                ("user".to_string(), op.user.clone()),
            ];
            let conn = op.conn;
            return self.call_hook(
                Hook::Unsubscribe,
                fields,
                conn,
                None,
                Pending::Unsubscribe(op),
            );
        }
        self.do_unsubscribe(op, now);
    }

    fn do_unsubscribe(&mut self, op: UnsubscribeOp, now: Timestamp) {
        let result = match self.user_keys.get(&op.user) {
            Some(&ukey) => match self.unsubscribe_user(ukey, op.conn, &op.channel, now) {
                Ok(()) => Ok(empty()),
                Err(HubError::NotSubscribed(_)) => Ok(empty()),
                Err(e) => Err(e.to_string()),
            },
            None => Ok(empty()),
        };
        self.finish(op.origin, result);
    }

    // ----- publish -----

    pub(super) fn start_publish(&mut self, op: PublishOp, now: Timestamp) {
        if !self.channels.contains_key(&op.channel) {
            return match op.from {
                // A browser's publish makes the channel, as Hookbox's did.
                PublishFrom::User { .. } => {
                    let (channel, origin) = (op.channel.clone(), op.origin.clone());
                    self.start_create(channel, origin, Then::Publish(op), now)
                }
                PublishFrom::Api { .. } if self.config.ignore_missing_publish => {
                    self.finish(op.origin, Ok(empty()))
                }
                PublishFrom::Api { .. } => {
                    let e = HubError::NoSuchChannel(op.channel.clone()).to_string();
                    self.finish(op.origin, Err(e))
                }
            };
        }
        self.publish_existing(op, now);
    }

    fn publish_existing(&mut self, op: PublishOp, now: Timestamp) {
        let Some(ch) = self.channels.get(&op.channel) else {
            let e = HubError::NoSuchChannel(op.channel.clone()).to_string();
            return self.finish(op.origin, Err(e));
        };
        let moderated = ch.options.moderated || ch.options.moderated_publish;
        let anonymous = ch.options.anonymous;
        if op.ask && self.config.webhooks && moderated {
            let mut fields = vec![
                ("channel_name".to_string(), op.channel.clone()),
                ("payload".to_string(), crate::json::to_string(&op.payload)),
            ];
            let originator = match &op.from {
                PublishFrom::User { name, .. } => Some(name.clone()),
                PublishFrom::Api { originator } => originator.clone(),
            };
            if let (false, Some(o)) = (anonymous, originator) {
                fields.push(("originator".to_string(), o));
            }
            let conn = match &op.from {
                PublishFrom::User { conn, .. } => Some(*conn),
                PublishFrom::Api { .. } => None,
            };
            return self.call_hook(Hook::Publish, fields, conn, None, Pending::Publish(op));
        }
        self.do_publish(op, false, now);
    }

    fn do_publish(&mut self, op: PublishOp, only_to_sender: bool, now: Timestamp) {
        if !self.channels.contains_key(&op.channel) {
            let e = HubError::NoSuchChannel(op.channel.clone()).to_string();
            return self.finish(op.origin, Err(e));
        }
        match &op.from {
            PublishFrom::User { name, conn } => {
                let Some(&ukey) = self.user_keys.get(name) else {
                    return self.finish(op.origin, Ok(empty()));
                };
                if only_to_sender {
                    self.publish_to_one(&op.channel, op.payload.clone(), ukey, *conn, now);
                } else {
                    let from = Publisher::User {
                        user: ukey,
                        conn: *conn,
                    };
                    self.publish_to(&op.channel, op.payload.clone(), from, now);
                }
            }
            PublishFrom::Api { originator } => {
                let from = Publisher::Api {
                    originator: originator.as_deref(),
                };
                self.publish_to(&op.channel, op.payload.clone(), from, now);
            }
        }
        // A channel made only for this publish, that nobody listens to and that keeps
        // nothing, is not left behind.
        if op.created
            && self.channels.get(&op.channel).is_some_and(|c| {
                c.subscribers.is_empty() && c.history.is_empty() && c.state.is_empty()
            })
        {
            self.remove_channel(&op.channel);
        }
        self.finish(op.origin, Ok(empty()));
    }

    // ----- message -----

    pub(super) fn start_message(&mut self, op: MessageOp, now: Timestamp) {
        let Some(&skey) = self.user_keys.get(&op.sender) else {
            return self.finish(op.origin, Err(HubError::NoSuchUser(op.sender).to_string()));
        };
        let moderated = self
            .users
            .get(skey)
            .is_some_and(|u| u.options.moderated_message);
        if op.ask && self.config.webhooks && moderated {
            let exists = self.user_keys.contains_key(&op.recipient);
            let fields = vec![
                ("sender".to_string(), op.sender.clone()),
                ("recipient".to_string(), op.recipient.clone()),
                ("recipient_exists".to_string(), exists.to_string()),
                ("payload".to_string(), crate::json::to_string(&op.payload)),
            ];
            let conn = op.conn;
            return self.call_hook(Hook::Message, fields, conn, None, Pending::Message(op));
        }
        self.do_message(op, now);
    }

    fn do_message(&mut self, op: MessageOp, now: Timestamp) {
        let sender = self.user_keys.get(&op.sender).copied();
        let recipient = self.user_keys.get(&op.recipient).copied();
        let result = match (sender, recipient) {
            (Some(s), Some(r)) => {
                self.deliver_message(s, r, op.payload.clone(), now);
                Ok(empty())
            }
            (None, _) => Err(HubError::NoSuchUser(op.sender.clone()).to_string()),
            (_, None) => Err(match op.origin {
                Origin::Frame { .. } => HubError::InvalidUserName.to_string(),
                _ => HubError::NoSuchUser(op.recipient.clone()).to_string(),
            }),
        };
        self.finish(op.origin, result);
    }

    // ----- channels going -----

    /// A channel lost its last subscriber: it goes, unless the application keeps it.
    pub(super) fn channel_emptied(&mut self, name: &str) {
        if self.config.demo_channel.as_deref() == Some(name) && !self.config.webhooks {
            // Open mode keeps its demo channel, and with it the chat's history.
            return;
        }
        if self.config.webhooks {
            if self.destroying.contains(name) {
                return;
            }
            self.destroying.insert(name.to_string());
            let fields = vec![("channel_name".to_string(), name.to_string())];
            let pending = Pending::Destroy {
                channel: name.to_string(),
                origin: Origin::Internal,
            };
            return self.call_hook(Hook::DestroyChannel, fields, None, None, pending);
        }
        self.remove_channel(name);
    }

    /// The disconnect hook for a user whose last connection closed.
    pub(super) fn user_gone(&mut self, name: &str, cookie: String) {
        if self.config.webhooks {
            let fields = vec![("name".to_string(), name.to_string())];
            self.call_hook(
                Hook::Disconnect,
                fields,
                None,
                Some(cookie),
                Pending::Disconnect,
            );
        }
    }

    /// Forgets the users a hub connection waited to be (for `webhook_done` of a connection
    /// that went).
    #[allow(dead_code)]
    fn user_key(&self, name: &str) -> Option<UserKey> {
        self.user_keys.get(name).copied()
    }
}
