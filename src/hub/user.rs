//! A user: a name given at CONNECT, shared by all of its connections.

use std::collections::HashMap;

use super::options::UserOptions;
use super::ConnId;

#[derive(Debug)]
pub struct User {
    pub name: String,
    /// Open connections, oldest first.
    pub conns: Vec<ConnId>,
    /// Subscribed channels and, for each, the connections that subscribed to it (only
    /// consulted with `per_connection_subscriptions`).
    pub channels: HashMap<String, Vec<ConnId>>,
    pub options: UserOptions,
    /// The cookie of the last connection, kept for hooks fired after it closed.
    pub last_cookie: String,
}

impl User {
    pub fn new(name: String) -> User {
        User {
            name,
            conns: Vec::new(),
            channels: HashMap::new(),
            options: UserOptions::default(),
            last_cookie: String::new(),
        }
    }

    /// The connections that receive frames for `channel`.
    pub fn targets(&self, channel: &str) -> &[ConnId] {
        if self.options.per_connection_subscriptions {
            self.channels.get(channel).map_or(&[], Vec::as_slice)
        } else {
            &self.conns
        }
    }

    /// Subscribed channel names, sorted.
    pub fn channel_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.channels.keys().cloned().collect();
        names.sort();
        names
    }
}
