//! What the REST API asks of the hub. Each call answers with the JSON info object of a
//! `[true, info]` reply, or a [`HubError`] whose text becomes `[false, {"msg": ...}]`.

use serde_json::{Map, Value};

use super::flow::{
    Group, MessageOp, Origin, Pending, PublishFrom, PublishOp, SubscribeOp, Then, UnsubscribeOp,
};
use super::names::is_valid_name;
use super::{ConnId, Effect, Hub, HubError};
use crate::webhook::Hook;

/// A REST call: its token (to find its connection when it ends later) and whether it asks
/// the application (`send_hook=1`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RestCall {
    pub token: u64,
    pub send_hook: bool,
}

/// How a REST call ended: its info now, or later in an `Effect::RestDone`.
#[derive(Debug, Clone, PartialEq)]
pub enum ApiAnswer {
    Now(Value),
    Later,
}
use crate::hub::options::ChannelOptions;
use crate::hub::Channel;
use crate::time::Timestamp;

fn check_channel_name(name: &str) -> Result<(), HubError> {
    if is_valid_name(name) {
        Ok(())
    } else {
        Err(HubError::InvalidChannelName)
    }
}

impl Hub {
    fn existing_channel(&self, name: &str) -> Result<&Channel, HubError> {
        self.channels
            .get(name)
            .ok_or_else(|| HubError::NoSuchChannel(name.to_string()))
    }

    fn existing_user(&self, name: &str) -> Result<usize, HubError> {
        self.user_keys
            .get(name)
            .copied()
            .ok_or_else(|| HubError::NoSuchUser(name.to_string()))
    }

    /// The answer of a call whose origin is `Origin::Rest(token)`: when it ended at once its
    /// `RestDone` is among the newest effects, and is taken back; else it comes later.
    fn settle(&mut self, token: u64) -> Result<ApiAnswer, String> {
        let found = self
            .effects
            .iter()
            .rposition(|e| matches!(e, Effect::RestDone { token: t, .. } if *t == token));
        match found.map(|i| self.effects.remove(i)) {
            Some(Effect::RestDone { result: Ok(v), .. }) => Ok(ApiAnswer::Now(v)),
            Some(Effect::RestDone { result: Err(e), .. }) => Err(e),
            _ => Ok(ApiAnswer::Later),
        }
    }

    /// `publish`: only to an existing channel (or silently nothing with `-x`).
    pub fn api_publish(
        &mut self,
        channel: &str,
        payload: Value,
        originator: Option<&str>,
        call: RestCall,
        now: Timestamp,
    ) -> Result<ApiAnswer, String> {
        let op = PublishOp {
            channel: channel.to_string(),
            payload,
            from: PublishFrom::Api {
                originator: originator.map(str::to_string),
            },
            origin: Origin::Rest(call.token),
            ask: call.send_hook,
            created: false,
        };
        self.start_publish(op, now);
        self.settle(call.token)
    }

    /// `publish_multi`: to each of the channels that exist.
    pub fn api_publish_multi(
        &mut self,
        channels: &[&str],
        payload: Value,
        originator: Option<&str>,
        call: RestCall,
        now: Timestamp,
    ) -> Result<ApiAnswer, String> {
        let existing: Vec<&str> = channels
            .iter()
            .copied()
            .filter(|c| self.channels.contains_key(*c))
            .collect();
        if existing.is_empty() {
            return Ok(ApiAnswer::Now(Value::Object(Map::new())));
        }
        self.next_group += 1;
        let g = self.next_group;
        self.groups.insert(
            g,
            Group {
                token: call.token,
                left: existing.len(),
                error: None,
            },
        );
        for name in existing {
            let op = PublishOp {
                channel: name.to_string(),
                payload: payload.clone(),
                from: PublishFrom::Api {
                    originator: originator.map(str::to_string),
                },
                origin: Origin::Group(g),
                ask: call.send_hook,
                created: false,
            };
            self.start_publish(op, now);
        }
        self.settle(call.token)
    }

    /// `create_channel` with options (checked before anything happens).
    pub fn api_create_channel(
        &mut self,
        name: &str,
        options: &Map<String, Value>,
        call: RestCall,
        now: Timestamp,
    ) -> Result<ApiAnswer, String> {
        check_channel_name(name).map_err(|e| e.to_string())?;
        if self.channels.contains_key(name) {
            return Err(HubError::ChannelExists(name.to_string()).to_string());
        }
        ChannelOptions::default()
            .updated(options)
            .map_err(|e| e.to_string())?;
        if call.send_hook {
            let origin = Origin::Rest(call.token);
            self.start_create(
                name.to_string(),
                origin,
                Then::Created(options.clone()),
                now,
            );
            return self.settle(call.token);
        }
        self.create_with(name, options, now)
            .map_err(|e| e.to_string())?;
        Ok(ApiAnswer::Now(Value::Object(Map::new())))
    }

    /// `destroy_channel`: everyone is unsubscribed (after the application agrees, with
    /// `send_hook`).
    pub fn api_destroy_channel(
        &mut self,
        name: &str,
        call: RestCall,
        now: Timestamp,
    ) -> Result<ApiAnswer, String> {
        self.existing_channel(name).map_err(|e| e.to_string())?;
        match call.send_hook {
            true if self.config.webhooks => {
                let fields = vec![("channel_name".to_string(), name.to_string())];
                let pending = Pending::Destroy {
                    channel: name.to_string(),
                    origin: Origin::Rest(call.token),
                };
                self.call_hook(Hook::DestroyChannel, fields, None, None, pending);
                Ok(ApiAnswer::Later)
            }
            _ => {
                self.destroy(name, now);
                Ok(ApiAnswer::Now(Value::Object(Map::new())))
            }
        }
    }

    /// `get_channel_info`: `{name, options, subscribers}`.
    pub fn api_channel_info(&mut self, name: &str, now: Timestamp) -> Result<Value, HubError> {
        self.existing_channel(name)?;
        let Some(ch) = self.channels.get_mut(name) else {
            return Err(HubError::NoSuchChannel(name.to_string()));
        };
        ch.prune_history(now);
        let ch = &*ch;
        let mut options = Map::new();
        ch.options.to_json(&mut options);
        options.insert("history".into(), ch.history_json());
        options.insert("state".into(), Value::Object(ch.state.clone()));
        let subscribers: Vec<Value> = ch
            .subscribers
            .iter()
            .filter_map(|&k| self.users.get(k))
            .map(|u| Value::String(u.name.clone()))
            .collect();
        let mut info = Map::new();
        info.insert("name".into(), name.into());
        info.insert("options".into(), Value::Object(options));
        info.insert("subscribers".into(), Value::Array(subscribers));
        info.insert("seq".into(), ch.seq.into());
        Ok(Value::Object(info))
    }

    /// `set_channel_options`: checked as a whole, then applied; a new `state` is broadcast
    /// as the difference from the old one.
    pub fn api_set_channel_options(
        &mut self,
        name: &str,
        options: &Map<String, Value>,
        now: Timestamp,
    ) -> Result<(), HubError> {
        let update = self.existing_channel(name)?.options.updated(options)?;
        let Some(ch) = self.channels.get_mut(name) else {
            return Err(HubError::NoSuchChannel(name.to_string()));
        };
        ch.options = update.options;
        if update.polling_changed {
            let polling = ch.options.polling.clone();
            self.effects.push(Effect::Polling {
                channel: name.to_string(),
                polling: (!polling.mode.is_empty()).then_some(polling),
            });
        }
        let Some(ch) = self.channels.get_mut(name) else {
            return Err(HubError::NoSuchChannel(name.to_string()));
        };
        if let Some(history) = update.history {
            set_history(ch, history, now);
        }
        ch.prune_history(now);
        if let Some(state) = update.state {
            let mut updates = Map::new();
            let mut deletes = Vec::new();
            for key in ch.state.keys() {
                if !state.contains_key(key) {
                    deletes.push(key.clone());
                }
            }
            for (k, v) in &state {
                if ch.state.get(k) != Some(v) {
                    updates.insert(k.clone(), v.clone());
                }
            }
            ch.state = state;
            self.broadcast_state(name, updates, deletes);
        }
        Ok(())
    }

    /// A polled channel's fetch came back: its payload is published (as `originator`) and
    /// the options it carried apply (those that are valid).
    pub fn poll_result(
        &mut self,
        channel: &str,
        payload: Value,
        originator: Option<&str>,
        options: &Map<String, Value>,
        now: Timestamp,
    ) {
        if !self.channels.contains_key(channel) {
            return;
        }
        self.publish_to(channel, payload, super::Publisher::Api { originator }, now);
        if !options.is_empty() {
            if let Err(e) = self.api_set_channel_options(channel, options, now) {
                crate::debug!("polling {channel}: options refused: {e}");
            }
        }
    }

    /// `state_set_key`: a changed value is broadcast as STATE_UPDATE.
    pub fn api_state_set(&mut self, name: &str, key: &str, val: Value) -> Result<(), HubError> {
        self.existing_channel(name)?;
        let Some(ch) = self.channels.get_mut(name) else {
            return Err(HubError::NoSuchChannel(name.to_string()));
        };
        if ch.state.get(key) == Some(&val) {
            return Ok(());
        }
        ch.state.insert(key.to_string(), val.clone());
        let mut updates = Map::new();
        updates.insert(key.to_string(), val);
        self.broadcast_state(name, updates, Vec::new());
        Ok(())
    }

    /// `state_delete_key`.
    pub fn api_state_delete(&mut self, name: &str, key: &str) -> Result<(), HubError> {
        self.existing_channel(name)?;
        let Some(ch) = self.channels.get_mut(name) else {
            return Err(HubError::NoSuchChannel(name.to_string()));
        };
        if ch.state.shift_remove(key).is_none() {
            return Ok(());
        }
        self.broadcast_state(name, Map::new(), vec![key.to_string()]);
        Ok(())
    }

    /// `subscribe` a connected user; creates the channel.
    pub fn api_subscribe(
        &mut self,
        channel: &str,
        user: &str,
        call: RestCall,
        now: Timestamp,
    ) -> Result<ApiAnswer, String> {
        check_channel_name(channel).map_err(|e| e.to_string())?;
        self.existing_user(user).map_err(|e| e.to_string())?;
        let op = SubscribeOp {
            user: user.to_string(),
            conn: None,
            channel: channel.to_string(),
            since: None,
            epoch: None,
            origin: Origin::Rest(call.token),
            ask: call.send_hook,
        };
        self.start_subscribe(op, now);
        self.settle(call.token)
    }

    /// `unsubscribe` a user; a user that is not subscribed is left as is.
    pub fn api_unsubscribe(
        &mut self,
        channel: &str,
        user: &str,
        call: RestCall,
        now: Timestamp,
    ) -> Result<ApiAnswer, String> {
        self.existing_channel(channel).map_err(|e| e.to_string())?;
        self.existing_user(user).map_err(|e| e.to_string())?;
        let op = UnsubscribeOp {
            user: user.to_string(),
            conn: None,
            channel: channel.to_string(),
            origin: Origin::Rest(call.token),
            ask: call.send_hook,
        };
        self.start_unsubscribe(op, now);
        self.settle(call.token)
    }

    /// `message` from one user to another.
    pub fn api_message(
        &mut self,
        sender: &str,
        recipient: &str,
        payload: Value,
        call: RestCall,
        now: Timestamp,
    ) -> Result<ApiAnswer, String> {
        self.existing_user(sender).map_err(|e| e.to_string())?;
        if !call.send_hook || !self.config.webhooks {
            // Without the application, both must be here.
            self.existing_user(recipient).map_err(|e| e.to_string())?;
        }
        let op = MessageOp {
            sender: sender.to_string(),
            recipient: recipient.to_string(),
            payload,
            conn: None,
            origin: Origin::Rest(call.token),
            ask: call.send_hook,
        };
        self.start_message(op, now);
        self.settle(call.token)
    }

    /// `get_user_info`: `{name, channels, connections, options}`.
    pub fn api_user_info(&self, name: &str) -> Result<Value, HubError> {
        let ukey = self.existing_user(name)?;
        let Some(user) = self.users.get(ukey) else {
            return Err(HubError::NoSuchUser(name.to_string()));
        };
        let mut info = Map::new();
        info.insert("name".into(), user.name.clone().into());
        info.insert("channels".into(), user.channel_names().into());
        let conns: Vec<Value> = user.conns.iter().map(|c| c.to_string().into()).collect();
        info.insert("connections".into(), Value::Array(conns));
        info.insert("options".into(), user.options.to_json());
        Ok(Value::Object(info))
    }

    /// `set_user_options`.
    pub fn api_set_user_options(
        &mut self,
        name: &str,
        options: &Map<String, Value>,
    ) -> Result<(), HubError> {
        let ukey = self.existing_user(name)?;
        let Some(user) = self.users.get_mut(ukey) else {
            return Err(HubError::NoSuchUser(name.to_string()));
        };
        let updated = user.options.updated(options)?;
        if updated.per_connection_subscriptions && !user.options.per_connection_subscriptions {
            // Every open connection keeps receiving what it received before.
            let conns = user.conns.clone();
            for list in user.channels.values_mut() {
                *list = conns.clone();
            }
        }
        user.options = updated;
        Ok(())
    }

    /// `get_server_info`: `{channels, connections}`.
    pub fn api_server_info(&self) -> Value {
        let mut channels: Vec<&String> = self.channels.keys().collect();
        channels.sort();
        let mut conns: Vec<ConnId> = self.conns.keys().copied().collect();
        conns.sort();
        let mut info = Map::new();
        info.insert(
            "channels".into(),
            channels
                .into_iter()
                .map(|c| Value::String(c.clone()))
                .collect(),
        );
        info.insert(
            "connections".into(),
            conns
                .into_iter()
                .map(|c| Value::String(c.to_string()))
                .collect(),
        );
        info.insert("users".into(), self.user_keys.len().into());
        Value::Object(info)
    }

    /// `disconnect`: a user name (all its connections) or a connection id.
    pub fn api_disconnect(&mut self, identifier: &str, now: Timestamp) -> Result<(), HubError> {
        let conns: Vec<ConnId> = if let Some(&ukey) = self.user_keys.get(identifier) {
            self.users
                .get(ukey)
                .map(|u| u.conns.clone())
                .unwrap_or_default()
        } else {
            match ConnId::parse(identifier) {
                Some(c) if self.conns.contains_key(&c) => vec![c],
                _ => return Err(HubError::NoSuchConnection(identifier.to_string())),
            }
        };
        for conn in conns {
            self.closed(conn, now);
            self.effects.push(Effect::Close { conn });
        }
        Ok(())
    }
}

/// Replaces a channel's history with entries given as `[kind, {..}]` pairs.
pub(super) fn set_history(ch: &mut Channel, items: Vec<Value>, now: Timestamp) {
    ch.history.clear();
    for item in items {
        if let Value::Array(pair) = item {
            if let Ok::<[Value; 2], _>([Value::String(kind), Value::Object(body)]) = pair.try_into()
            {
                let seq = if kind == "PUBLISH" {
                    body.get("seq").and_then(Value::as_u64)
                } else {
                    None
                };
                ch.history.push_back(super::HistoryEntry {
                    at: now,
                    seq,
                    kind,
                    body,
                });
            }
        }
    }
    ch.prune_history(now);
}

/// What the admin console lists.
impl Hub {
    /// Every channel: name, subscriber count, last seq, and the options that matter at a
    /// glance.
    pub fn admin_channels(&self) -> Value {
        let mut names: Vec<&String> = self.channels.keys().collect();
        names.sort();
        let list: Vec<Value> = names
            .into_iter()
            .filter_map(|n| self.channels.get(n))
            .map(|c| {
                serde_json::json!({
                    "name": c.name,
                    "subscribers": c.subscribers.len(),
                    "seq": c.seq,
                    "history": c.history.len(),
                    "presenceful": c.options.presenceful,
                    "moderated": c.options.moderated,
                    "polling": c.options.polling.mode,
                })
            })
            .collect();
        Value::Array(list)
    }

    /// Every user: name, connection count, channels.
    pub fn admin_users(&self) -> Value {
        let mut names: Vec<&String> = self.user_keys.keys().collect();
        names.sort();
        let list: Vec<Value> = names
            .into_iter()
            .filter_map(|n| self.user_keys.get(n).and_then(|&k| self.users.get(k)))
            .map(|u| {
                serde_json::json!({
                    "name": u.name,
                    "connections": u.conns.len(),
                    "channels": u.channel_names(),
                })
            })
            .collect();
        Value::Array(list)
    }

    /// Every connection: id, user (once logged in) and address.
    pub fn admin_connections(&self) -> Value {
        let mut conns: Vec<(&ConnId, &super::Conn)> = self.conns.iter().collect();
        conns.sort_by_key(|(id, _)| **id);
        let list: Vec<Value> = conns
            .into_iter()
            .map(|(id, c)| {
                let user = c
                    .user
                    .and_then(|k| self.users.get(k))
                    .map(|u| u.name.clone());
                serde_json::json!({
                    "id": id.to_string(),
                    "user": user,
                    "remote_addr": c.remote_addr,
                    "waiting": c.busy,
                })
            })
            .collect();
        Value::Array(list)
    }

    /// Counts for the overview.
    pub fn admin_counts(&self) -> (usize, usize, usize) {
        (self.conns.len(), self.user_keys.len(), self.channels.len())
    }
}
