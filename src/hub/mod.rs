//! The hub: users, connections, channels, subscriptions, presence, history and state.
//!
//! A plain state machine with no I/O and no clock: every call takes the current time, and
//! what should happen outside (frames to deliver, connections to close) is queued as
//! [`Effect`]s for the caller to carry out. Each frame is serialised once and shared by all
//! the connections it goes to.

mod api;
mod channel;
pub mod error;
pub mod flow;
pub mod names;
pub mod options;
mod user;

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt;

use serde_json::{Map, Value};
use slab::Slab;

use crate::rtjp::{ClientFrame, FrameError, OutFrame, SharedFrame};
use crate::time::Timestamp;
use crate::webhook::WebhookCall;
pub use api::{ApiAnswer, RestCall};
pub use channel::{Channel, HistoryEntry};
pub use error::HubError;
use flow::{Group, Pending};
use names::is_valid_name;
pub use options::{ChannelOptions, Polling, UserOptions};
pub use user::User;

/// Index of a user in the hub's slab.
pub type UserKey = usize;

/// A transport connection, as the reactor names it. Shown to apps as 16 hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(pub u64);

impl fmt::Display for ConnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

impl ConnId {
    /// Parses the 16-hex-digit form.
    pub fn parse(text: &str) -> Option<ConnId> {
        if text.len() != 16 {
            return None;
        }
        u64::from_str_radix(text, 16).ok().map(ConnId)
    }
}

/// Something the hub asks its caller to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Deliver a frame to a connection.
    Send { to: ConnId, frame: SharedFrame },
    /// Close a connection (the hub has already forgotten it).
    Close { conn: ConnId },
    /// Ask the application; answer with [`Hub::webhook_done`].
    Webhook(WebhookCall),
    /// A REST call that waited for the application is done.
    RestDone {
        token: u64,
        result: Result<Value, String>,
    },
    /// A channel's polling starts, changes (`Some`) or stops (`None`).
    Polling {
        channel: String,
        polling: Option<Polling>,
    },
}

/// Settings the hub needs from the command line.
#[derive(Debug, Clone, Default)]
pub struct HubConfig {
    /// `-x`: REST publish to a channel that does not exist succeeds and does nothing.
    pub ignore_missing_publish: bool,
    /// A webhook target is configured: the application decides (else open mode).
    pub webhooks: bool,
    /// `-c`: forward only this cookie to webhooks.
    pub cookie_identifier: Option<String>,
    /// Makes channel epochs differ from one run of the server to the next.
    pub epoch_seed: u64,
    /// Open mode's demo channel: made at start, presenceful with history, kept when empty.
    pub demo_channel: Option<String>,
}

/// Options of the demo channel.
pub const DEMO_HISTORY: usize = 50;

/// Counters for `get_server_info` and the admin console.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    pub published: u64,
    pub delivered: u64,
}

#[derive(Debug)]
pub(crate) struct Conn {
    user: Option<UserKey>,
    cookie: String,
    remote_addr: String,
    /// A frame of this connection waits on the application.
    busy: bool,
    /// Frames that arrived meanwhile, in order.
    queued: VecDeque<ClientFrame>,
    /// CONNECT was sent and its hook has not answered.
    connecting: bool,
}

/// Who a publish comes from.
#[derive(Debug, Clone, Copy)]
pub enum Publisher<'a> {
    /// A browser connection of a user.
    User { user: UserKey, conn: ConnId },
    /// The REST API, with an optional `originator` shown as the user.
    Api { originator: Option<&'a str> },
}

pub struct Hub {
    config: HubConfig,
    conns: HashMap<ConnId, Conn>,
    users: Slab<User>,
    user_keys: HashMap<String, UserKey>,
    channels: HashMap<String, Channel>,
    effects: Vec<Effect>,
    next_guest: u64,
    stats: Stats,
    /// Steps waiting for the application, by call id, with the connection the call is about.
    pending: HashMap<u64, (Pending, Option<ConnId>)>,
    next_call: u64,
    groups: HashMap<u64, Group>,
    next_group: u64,
    /// Connections whose waiting frame is done, to go on with their queued frames.
    to_drain: Vec<ConnId>,
    /// Empty channels whose destroy_channel hook has not answered.
    destroying: HashSet<String>,
    /// Channels made so far (for their epochs).
    channels_made: u64,
    /// Admin connections watching channels: every frame about the channel, without being a
    /// subscriber (no presence, no history).
    watchers: HashMap<String, Vec<ConnId>>,
}

impl Hub {
    pub fn new(config: HubConfig) -> Hub {
        let demo = config
            .demo_channel
            .clone()
            .filter(|d| !config.webhooks && is_valid_name(d));
        let mut hub = Hub::empty(config);
        if let Some(name) = demo {
            let options = ChannelOptions {
                presenceful: true,
                history_size: DEMO_HISTORY,
                ..ChannelOptions::default()
            };
            let ch = hub.new_channel(&name, options);
            hub.channels.insert(name, ch);
        }
        hub
    }

    fn empty(config: HubConfig) -> Hub {
        Hub {
            config,
            conns: HashMap::new(),
            users: Slab::new(),
            user_keys: HashMap::new(),
            channels: HashMap::new(),
            effects: Vec::new(),
            next_guest: 0,
            stats: Stats::default(),
            pending: HashMap::new(),
            next_call: 0,
            groups: HashMap::new(),
            next_group: 0,
            to_drain: Vec::new(),
            destroying: HashSet::new(),
            channels_made: 0,
            watchers: HashMap::new(),
        }
    }

    /// Moves the queued effects into `out` (which should be empty; its capacity is reused).
    pub fn drain_effects(&mut self, out: &mut Vec<Effect>) {
        debug_assert!(out.is_empty());
        std::mem::swap(&mut self.effects, out);
    }

    pub fn stats(&self) -> Stats {
        self.stats
    }

    pub fn connection_count(&self) -> usize {
        self.conns.len()
    }

    pub fn channel(&self, name: &str) -> Option<&Channel> {
        self.channels.get(name)
    }

    pub fn user(&self, name: &str) -> Option<&User> {
        self.user_keys.get(name).and_then(|&k| self.users.get(k))
    }

    /// The peer address a connection was opened with (for `X-Real-IP`).
    pub fn remote_addr(&self, conn: ConnId) -> Option<&str> {
        self.conns.get(&conn).map(|c| c.remote_addr.as_str())
    }

    /// The user a connection is logged in as.
    pub fn user_of(&self, conn: ConnId) -> Option<&User> {
        let key = self.conns.get(&conn)?.user?;
        self.users.get(key)
    }

    // ----- transport lifecycle -----

    /// A transport connection opened (it is not logged in until CONNECT).
    pub fn open(&mut self, conn: ConnId, remote_addr: String) {
        self.conns.insert(
            conn,
            Conn {
                user: None,
                cookie: String::new(),
                remote_addr,
                busy: false,
                queued: VecDeque::new(),
                connecting: false,
            },
        );
    }

    /// A transport connection is gone.
    pub fn closed(&mut self, conn: ConnId, now: Timestamp) {
        let Some(c) = self.conns.remove(&conn) else {
            return;
        };
        let Some(ukey) = c.user else {
            return;
        };
        let Some(user) = self.users.get_mut(ukey) else {
            return;
        };
        user.conns.retain(|&x| x != conn);
        let per_conn = user.options.per_connection_subscriptions;
        let global = user.options.global_unsubscriptions;
        let mut emptied = Vec::new();
        for (name, list) in user.channels.iter_mut() {
            if !list.contains(&conn) {
                continue;
            }
            if global {
                list.clear();
            } else {
                list.retain(|&x| x != conn);
            }
            if (per_conn || global) && list.is_empty() {
                emptied.push(name.clone());
            }
        }
        let last = user.conns.is_empty();
        if last {
            user.last_cookie = c.cookie;
        }
        for name in emptied {
            self.leave(ukey, &name, now, true, true);
        }
        if last {
            self.remove_user(ukey, now);
        }
    }

    /// Unsubscribes a user without connections from everything and forgets it.
    fn remove_user(&mut self, ukey: UserKey, now: Timestamp) {
        let names: Vec<String> = match self.users.get(ukey) {
            Some(u) => u.channels.keys().cloned().collect(),
            None => return,
        };
        for name in names {
            self.leave(ukey, &name, now, true, true);
        }
        if self.users.contains(ukey) {
            let user = self.users.remove(ukey);
            self.user_keys.remove(&user.name);
            self.server_presence(&user.name, false);
            self.user_gone(&user.name, user.last_cookie);
        }
    }

    // ----- frames from clients -----

    /// An undecodable frame: answer with ERROR.
    pub fn frame_error(&mut self, conn: ConnId, err: &FrameError) {
        self.send_error(conn, err.id.clone(), &err.to_string());
    }

    fn guest_name(&mut self) -> String {
        loop {
            self.next_guest += 1;
            let name = format!("guest{}", self.next_guest);
            if !self.user_keys.contains_key(&name) {
                return name;
            }
        }
    }

    /// Attaches `conn` to the user `name` (creating it), answers CONNECTED, and brings the
    /// new connection up to date with the user's subscriptions.
    fn login(&mut self, conn: ConnId, name: String, payload: Value, now: Timestamp) {
        let ukey = match self.user_keys.get(&name) {
            Some(&k) => k,
            None => {
                let k = self.users.insert(User::new(name.clone()));
                self.user_keys.insert(name.clone(), k);
                self.server_presence(&name, true);
                k
            }
        };
        if let Some(c) = self.conns.get_mut(&conn) {
            c.user = Some(ukey);
        }
        let mut args = Map::new();
        args.insert("name".into(), Value::String(name));
        args.insert("payload".into(), payload);
        self.send(conn, &OutFrame::new("CONNECTED", &args));
        let (channels, auto) = match self.users.get_mut(ukey) {
            Some(user) => {
                user.conns.push(conn);
                let shared = !user.options.per_connection_subscriptions;
                let mut names = Vec::new();
                for (name, list) in user.channels.iter_mut() {
                    if shared {
                        list.push(conn);
                        names.push(name.clone());
                    }
                }
                (names, user.options.auto_subscribe.clone())
            }
            None => return,
        };
        for name in channels {
            if let Some(frame) = self.own_subscribe_frame(ukey, &name, None, None, now) {
                self.send(conn, &frame);
            }
        }
        for name in auto {
            if is_valid_name(&name) {
                self.ensure_channel(&name);
                self.join(ukey, Some(conn), &name, None, None, now);
            }
        }
    }

    fn connected_user(&self, conn: ConnId) -> Result<UserKey, HubError> {
        self.conns
            .get(&conn)
            .and_then(|c| c.user)
            .ok_or(HubError::NotConnected)
    }

    // ----- mechanics shared by frames and the REST API -----

    /// Creates a channel with default options if it does not exist; true if it did not.
    fn ensure_channel(&mut self, name: &str) -> bool {
        if self.channels.contains_key(name) {
            return false;
        }
        let ch = self.new_channel(name, ChannelOptions::default());
        self.channels.insert(name.to_string(), ch);
        true
    }

    /// A channel with its own epoch.
    fn new_channel(&mut self, name: &str, options: ChannelOptions) -> Channel {
        self.channels_made += 1;
        let mut ch = Channel::new(name.to_string(), options);
        ch.epoch = format!("{:x}.{}", self.config.epoch_seed, self.channels_made);
        ch
    }

    /// Subscribes a user (the channel must exist). `conn` is the connection that asked, or
    /// `None` for all of the user's connections (REST). A second subscribe re-sends the
    /// subscription to the asking connection.
    fn join(
        &mut self,
        ukey: UserKey,
        conn: Option<ConnId>,
        name: &str,
        since: Option<u64>,
        initial_data: Option<Value>,
        now: Timestamp,
    ) {
        let Some(user) = self.users.get_mut(ukey) else {
            return;
        };
        let all = user.conns.clone();
        if let Some(list) = user.channels.get_mut(name) {
            // Already subscribed: this connection joins the subscription.
            let Some(c) = conn else {
                return;
            };
            if !list.contains(&c) {
                list.push(c);
            }
            if let Some(frame) = self.own_subscribe_frame(ukey, name, initial_data, since, now) {
                self.send(c, &frame);
            }
            if let Some(since) = since {
                self.replay(c, name, since);
            }
            return;
        }
        user.channels
            .insert(name.to_string(), conn.map_or(all, |c| vec![c]));
        let user_name = user.name.clone();
        let Some(ch) = self.channels.get_mut(name) else {
            return;
        };
        ch.prune_history(now);
        ch.subscribers.push(ukey);
        let presenceful = ch.options.presenceful;
        let datetime = now.iso();
        if presenceful || self.watchers.contains_key(name) {
            let mut args = Map::new();
            args.insert("channel_name".into(), name.into());
            args.insert("user".into(), user_name.clone().into());
            args.insert("datetime".into(), datetime.clone().into());
            let frame = OutFrame::new("SUBSCRIBE", &args);
            if presenceful {
                self.broadcast(name, &frame, Some(ukey), None);
            } else {
                self.send_to_watchers(name, &frame);
            }
        }
        if let Some(frame) = self.own_subscribe_frame(ukey, name, initial_data, since, now) {
            self.send_to_user(ukey, name, &frame);
        }
        if let (Some(since), Some(c)) = (since, conn) {
            self.replay(c, name, since);
        }
        if let Some(ch) = self.channels.get_mut(name) {
            let mut body = Map::new();
            body.insert("user".into(), user_name.into());
            body.insert("datetime".into(), datetime.into());
            ch.record(
                HistoryEntry {
                    at: now,
                    seq: None,
                    kind: "SUBSCRIBE".into(),
                    body,
                },
                now,
            );
        }
    }

    /// The SUBSCRIBE frame a subscriber gets about itself: history, state, presence.
    fn own_subscribe_frame(
        &mut self,
        ukey: UserKey,
        name: &str,
        initial_data: Option<Value>,
        since: Option<u64>,
        now: Timestamp,
    ) -> Option<SharedFrame> {
        let user_name = self.users.get(ukey)?.name.clone();
        let ch = self.channels.get_mut(name)?;
        ch.prune_history(now);
        let mut args = Map::new();
        args.insert("channel_name".into(), name.into());
        args.insert("user".into(), user_name.into());
        args.insert("history".into(), ch.history_json());
        args.insert("history_size".into(), ch.options.history_size.into());
        let mut duration = Map::new();
        ch.options.to_json(&mut duration);
        args.insert(
            "history_duration".into(),
            duration.remove("history_duration").unwrap_or(Value::Null),
        );
        args.insert("state".into(), Value::Object(ch.state.clone()));
        let presence: Vec<Value> = if ch.options.presenceful {
            ch.subscribers
                .iter()
                .filter_map(|&k| self.users.get(k))
                .map(|u| Value::String(u.name.clone()))
                .collect()
        } else {
            Vec::new()
        };
        args.insert("presence".into(), Value::Array(presence));
        args.insert("epoch".into(), ch.epoch.clone().into());
        if let Some(data) = initial_data {
            args.insert("initial_data".into(), data);
        }
        if let Some(since) = since {
            args.insert("recovered".into(), ch.recover_since(since).recovered.into());
        }
        Some(OutFrame::new("SUBSCRIBE", &args))
    }

    /// Sends the PUBLISH frames after `since` still in history to one connection.
    fn replay(&mut self, conn: ConnId, name: &str, since: u64) {
        let Some(ch) = self.channels.get(name) else {
            return;
        };
        let frames: Vec<SharedFrame> = ch
            .recover_since(since)
            .entries
            .into_iter()
            .map(|e| {
                let mut args = Map::new();
                args.insert("channel_name".into(), name.into());
                for (k, v) in &e.body {
                    args.insert(k.clone(), v.clone());
                }
                OutFrame::new("PUBLISH", &args)
            })
            .collect();
        for f in &frames {
            self.send(conn, f);
        }
    }

    /// UNSUBSCRIBE from a user (browser or REST).
    fn unsubscribe_user(
        &mut self,
        ukey: UserKey,
        conn: Option<ConnId>,
        name: &str,
        now: Timestamp,
    ) -> Result<(), HubError> {
        let Some(user) = self.users.get_mut(ukey) else {
            return Err(HubError::NotConnected);
        };
        let per_conn = user.options.per_connection_subscriptions;
        let Some(list) = user.channels.get_mut(name) else {
            return Err(HubError::NotSubscribed(name.to_string()));
        };
        if let (true, Some(c)) = (per_conn, conn) {
            if !list.contains(&c) {
                return Err(HubError::NotSubscribed(name.to_string()));
            }
            list.retain(|&x| x != c);
            if !list.is_empty() {
                // Other connections of this user stay subscribed.
                let frame = self.unsubscribe_frame(ukey, name, now);
                self.send(c, &frame);
                return Ok(());
            }
        }
        self.leave(ukey, name, now, true, true);
        Ok(())
    }

    fn unsubscribe_frame(&self, ukey: UserKey, name: &str, now: Timestamp) -> SharedFrame {
        let mut args = Map::new();
        args.insert("channel_name".into(), name.into());
        let user_name = self
            .users
            .get(ukey)
            .map(|u| u.name.clone())
            .unwrap_or_default();
        args.insert("user".into(), user_name.into());
        args.insert("datetime".into(), now.iso().into());
        OutFrame::new("UNSUBSCRIBE", &args)
    }

    /// Takes a user out of a channel: presence to the others, UNSUBSCRIBE to the user,
    /// history, and the channel goes when it is empty (if `destroy_empty`).
    fn leave(
        &mut self,
        ukey: UserKey,
        name: &str,
        now: Timestamp,
        announce: bool,
        destroy_empty: bool,
    ) {
        let frame = self.unsubscribe_frame(ukey, name, now);
        let presenceful = self
            .channels
            .get(name)
            .is_some_and(|c| c.options.presenceful);
        if announce && presenceful {
            self.broadcast(name, &frame, Some(ukey), None);
        } else {
            self.send_to_watchers(name, &frame);
        }
        self.send_to_user(ukey, name, &frame);
        let user_name = match self.users.get_mut(ukey) {
            Some(u) => {
                u.channels.remove(name);
                u.name.clone()
            }
            None => String::new(),
        };
        let Some(ch) = self.channels.get_mut(name) else {
            return;
        };
        ch.subscribers.retain(|&k| k != ukey);
        let mut body = Map::new();
        body.insert("user".into(), user_name.into());
        body.insert("datetime".into(), now.iso().into());
        ch.record(
            HistoryEntry {
                at: now,
                seq: None,
                kind: "UNSUBSCRIBE".into(),
                body,
            },
            now,
        );
        if destroy_empty && ch.subscribers.is_empty() {
            self.channel_emptied(name);
        }
    }

    /// Unsubscribes everyone (without presence frames) and removes the channel.
    fn destroy(&mut self, name: &str, now: Timestamp) {
        let subscribers = match self.channels.get(name) {
            Some(ch) => ch.subscribers.clone(),
            None => return,
        };
        for ukey in subscribers {
            self.leave(ukey, name, now, false, false);
        }
        self.remove_channel(name);
    }

    /// Forgets a channel; its polling stops.
    fn remove_channel(&mut self, name: &str) {
        self.destroying.remove(name);
        if let Some(ch) = self.channels.remove(name) {
            if !ch.options.polling.mode.is_empty() {
                self.effects.push(Effect::Polling {
                    channel: name.to_string(),
                    polling: None,
                });
            }
        }
    }

    /// `server_presenceful` channels show in their state which of their listed users are
    /// connected: at creation...
    fn server_presence_init(&mut self, name: &str) {
        let Some(ch) = self.channels.get(name) else {
            return;
        };
        if !ch.options.server_presenceful {
            return;
        }
        let mut updates = Map::new();
        for user in &ch.options.server_user_presence {
            let online = self.user_keys.contains_key(user);
            updates.insert(user.clone(), Value::Bool(online));
        }
        if let Some(ch) = self.channels.get_mut(name) {
            for (k, v) in &updates {
                ch.state.insert(k.clone(), v.clone());
            }
        }
        self.broadcast_state(name, updates, Vec::new());
    }

    /// ...and whenever a listed user comes or goes.
    fn server_presence(&mut self, user: &str, online: bool) {
        let names: Vec<String> = self
            .channels
            .values()
            .filter(|c| {
                c.options.server_presenceful
                    && c.options.server_user_presence.iter().any(|u| u == user)
            })
            .map(|c| c.name.clone())
            .collect();
        for name in names {
            let _ = self.api_state_set(&name, user, Value::Bool(online));
        }
    }

    /// Publishes on an existing channel.
    fn publish_to(&mut self, name: &str, payload: Value, from: Publisher<'_>, now: Timestamp) {
        let publisher_name = match from {
            Publisher::User { user, .. } => {
                self.users.get(user).map(|u| Value::String(u.name.clone()))
            }
            Publisher::Api { originator } => Some(originator.map_or(Value::Null, Value::from)),
        };
        let Some(ch) = self.channels.get_mut(name) else {
            return;
        };
        ch.seq += 1;
        let seq = ch.seq;
        let mut body = Map::new();
        body.insert("payload".into(), payload);
        if !ch.options.anonymous {
            body.insert("user".into(), publisher_name.unwrap_or(Value::Null));
        }
        body.insert("datetime".into(), now.iso().into());
        body.insert("seq".into(), seq.into());
        let mut args = Map::with_capacity(body.len() + 1);
        args.insert("channel_name".into(), name.into());
        for (k, v) in &body {
            args.insert(k.clone(), v.clone());
        }
        let frame = OutFrame::new("PUBLISH", &args);
        let omit = match from {
            Publisher::User { conn, .. } if !ch.options.reflective => Some(conn),
            _ => None,
        };
        ch.record(
            HistoryEntry {
                at: now,
                seq: Some(seq),
                kind: "PUBLISH".into(),
                body,
            },
            now,
        );
        self.stats.published += 1;
        self.broadcast(name, &frame, None, omit);
    }

    /// A PUBLISH frame only to the publishing connection (the application answered
    /// `only_to_sender`): not in history and without a sequence number of its own.
    fn publish_to_one(
        &mut self,
        name: &str,
        payload: Value,
        user: UserKey,
        conn: ConnId,
        now: Timestamp,
    ) {
        let Some(ch) = self.channels.get(name) else {
            return;
        };
        let mut args = Map::new();
        args.insert("channel_name".into(), name.into());
        args.insert("payload".into(), payload);
        if !ch.options.anonymous {
            let who = self
                .users
                .get(user)
                .map(|u| u.name.clone())
                .unwrap_or_default();
            args.insert("user".into(), who.into());
        }
        args.insert("datetime".into(), now.iso().into());
        self.send(conn, &OutFrame::new("PUBLISH", &args));
    }

    fn deliver_message(&mut self, from: UserKey, to: UserKey, payload: Value, now: Timestamp) {
        let (Some(sender), Some(recipient)) = (self.users.get(from), self.users.get(to)) else {
            return;
        };
        let mut args = Map::new();
        args.insert("sender".into(), sender.name.clone().into());
        args.insert("recipient".into(), recipient.name.clone().into());
        args.insert("payload".into(), payload);
        args.insert("datetime".into(), now.iso().into());
        let frame = OutFrame::new("MESSAGE", &args);
        let echo = sender.options.reflective && from != to;
        let mut targets = recipient.conns.clone();
        if echo {
            targets.extend_from_slice(&sender.conns);
        }
        for c in targets {
            self.send(c, &frame);
        }
    }

    /// STATE_UPDATE to every subscriber.
    fn broadcast_state(&mut self, name: &str, updates: Map<String, Value>, deletes: Vec<String>) {
        if updates.is_empty() && deletes.is_empty() {
            return;
        }
        let mut args = Map::new();
        args.insert("channel_name".into(), name.into());
        args.insert("updates".into(), Value::Object(updates));
        args.insert("deletes".into(), deletes.into());
        let frame = OutFrame::new("STATE_UPDATE", &args);
        self.broadcast(name, &frame, None, None);
    }

    // ----- delivery -----

    fn send(&mut self, to: ConnId, frame: &SharedFrame) {
        self.stats.delivered += 1;
        self.effects.push(Effect::Send {
            to,
            frame: frame.clone(),
        });
    }

    fn send_error(&mut self, conn: ConnId, id: Value, msg: &str) {
        let mut args = Map::new();
        args.insert("id".into(), id);
        args.insert("msg".into(), msg.into());
        self.send(conn, &OutFrame::new("ERROR", &args));
    }

    /// A frame about `channel` to the user's connections that receive that channel.
    fn send_to_user(&mut self, ukey: UserKey, channel: &str, frame: &SharedFrame) {
        let Hub {
            users,
            effects,
            stats,
            ..
        } = self;
        if let Some(user) = users.get(ukey) {
            for &to in user.targets(channel) {
                stats.delivered += 1;
                effects.push(Effect::Send {
                    to,
                    frame: frame.clone(),
                });
            }
        }
    }

    /// A frame to every subscriber of a channel, except one user and one connection.
    fn broadcast(
        &mut self,
        channel: &str,
        frame: &SharedFrame,
        skip_user: Option<UserKey>,
        omit: Option<ConnId>,
    ) {
        let Hub {
            channels,
            users,
            effects,
            stats,
            ..
        } = self;
        let Some(ch) = channels.get(channel) else {
            return;
        };
        for &ukey in &ch.subscribers {
            if Some(ukey) == skip_user {
                continue;
            }
            let Some(user) = users.get(ukey) else {
                continue;
            };
            for &to in user.targets(channel) {
                if Some(to) != omit {
                    stats.delivered += 1;
                    effects.push(Effect::Send {
                        to,
                        frame: frame.clone(),
                    });
                }
            }
        }
        self.send_to_watchers(channel, frame);
    }

    /// A frame about `channel` to the admin connections watching it.
    fn send_to_watchers(&mut self, channel: &str, frame: &SharedFrame) {
        if self.watchers.is_empty() {
            return;
        }
        if let Some(list) = self.watchers.get(channel) {
            for &to in list {
                self.effects.push(Effect::Send {
                    to,
                    frame: frame.clone(),
                });
            }
        }
    }

    /// An admin connection starts or stops watching a channel.
    pub fn watch(&mut self, conn: ConnId, channel: &str, on: bool) {
        let list = self.watchers.entry(channel.to_string()).or_default();
        list.retain(|&c| c != conn);
        if on {
            list.push(conn);
        }
        if list.is_empty() {
            self.watchers.remove(channel);
        }
    }

    /// An admin connection went: it watches nothing any more.
    pub fn unwatch_all(&mut self, conn: ConnId) {
        self.watchers.retain(|_, list| {
            list.retain(|&c| c != conn);
            !list.is_empty()
        });
    }
}

/// The `channel_name` argument, present and valid.
fn channel_arg(args: &Map<String, Value>) -> Result<&str, HubError> {
    match args.get("channel_name") {
        Some(Value::String(s)) if is_valid_name(s) => Ok(s),
        Some(Value::String(s)) if s.is_empty() => Err(HubError::Missing("channel_name")),
        None | Some(Value::Null) => Err(HubError::Missing("channel_name")),
        Some(_) => Err(HubError::InvalidChannelName),
    }
}

/// A payload argument: JSON text (as hookbox.js sends it), or a JSON value given directly.
pub fn parse_payload(v: Option<&Value>) -> Result<Value, HubError> {
    match v {
        None => Ok(Value::Null),
        Some(Value::String(text)) => {
            serde_json::from_str(text).map_err(|_| HubError::InvalidJsonPayload)
        }
        Some(other) => Ok(other.clone()),
    }
}

#[cfg(test)]
mod tests;
