//! A channel's data: subscribers, history, sequence numbers and state.

use std::collections::VecDeque;

use serde_json::{Map, Value};

use super::options::ChannelOptions;
use super::UserKey;
use crate::time::Timestamp;

/// One history entry, kept as Hookbox shows it: `["PUBLISH", {user, payload, datetime}]`.
#[derive(Debug, Clone)]
pub struct HistoryEntry {
    pub at: Timestamp,
    /// The channel sequence number, for PUBLISH entries.
    pub seq: Option<u64>,
    pub kind: String,
    pub body: Map<String, Value>,
}

impl HistoryEntry {
    pub fn to_json(&self) -> Value {
        Value::Array(vec![
            Value::String(self.kind.clone()),
            Value::Object(self.body.clone()),
        ])
    }
}

#[derive(Debug)]
pub struct Channel {
    pub name: String,
    pub options: ChannelOptions,
    /// Subscribed users, in the order they subscribed.
    pub subscribers: Vec<UserKey>,
    pub history: VecDeque<HistoryEntry>,
    /// Sequence number of the last PUBLISH; only grows while the channel exists.
    pub seq: u64,
    pub state: Map<String, Value>,
    /// Names this life of the channel: sequence numbers from another epoch (before a
    /// restart, or before the channel was destroyed and made again) mean nothing here.
    pub epoch: String,
}

/// What a SUBSCRIBE with `since` can be given back from history.
pub struct Recovery<'a> {
    /// Whether history still holds every message after `since`.
    pub recovered: bool,
    pub entries: Vec<&'a HistoryEntry>,
}

impl Channel {
    pub fn new(name: String, options: ChannelOptions) -> Channel {
        Channel {
            name,
            options,
            subscribers: Vec::new(),
            history: VecDeque::new(),
            seq: 0,
            state: Map::new(),
            epoch: String::new(),
        }
    }

    /// Records an entry if the channel keeps history, then prunes.
    pub fn record(&mut self, entry: HistoryEntry, now: Timestamp) {
        if self.options.history_size == 0 {
            return;
        }
        if self.options.history_publish_only && entry.kind != "PUBLISH" {
            return;
        }
        self.history.push_back(entry);
        self.prune_history(now);
    }

    /// Drops entries beyond `history_size` and older than `history_duration`.
    pub fn prune_history(&mut self, now: Timestamp) {
        while self.history.len() > self.options.history_size {
            self.history.pop_front();
        }
        if self.options.history_duration > 0.0 {
            let max_age_ms = (self.options.history_duration * 1000.0) as u64;
            while self
                .history
                .front()
                .is_some_and(|e| now.0.saturating_sub(e.at.0) > max_age_ms)
            {
                self.history.pop_front();
            }
        }
    }

    pub fn history_json(&self) -> Value {
        Value::Array(self.history.iter().map(HistoryEntry::to_json).collect())
    }

    /// The PUBLISH entries after `since`, and whether they are all still there.
    pub fn recover_since(&self, since: u64) -> Recovery<'_> {
        if since >= self.seq {
            // Nothing missed, unless the client saw numbers this channel never gave
            // (it was destroyed and created again).
            return Recovery {
                recovered: since == self.seq,
                entries: Vec::new(),
            };
        }
        let entries: Vec<&HistoryEntry> = self
            .history
            .iter()
            .filter(|e| e.seq.is_some_and(|s| s > since))
            .collect();
        let recovered = entries.first().and_then(|e| e.seq) == Some(since + 1)
            && entries.len() as u64 == self.seq - since;
        Recovery { recovered, entries }
    }

    pub fn is_subscribed(&self, user: UserKey) -> bool {
        self.subscribers.contains(&user)
    }
}
