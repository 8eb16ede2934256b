//! Errors the hub reports, with the messages clients and apps see.

use std::fmt;

/// A refused operation. `Display` gives the message sent in an `ERROR` frame or a REST
/// `[false, {"msg": ...}]` answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HubError {
    AlreadyConnected,
    NotConnected,
    /// A required frame argument or REST field is missing.
    Missing(&'static str),
    /// A frame argument of the wrong type.
    InvalidArg(&'static str),
    InvalidJsonPayload,
    InvalidChannelName,
    InvalidUserName,
    NoSuchChannel(String),
    ChannelExists(String),
    NoSuchUser(String),
    NoSuchConnection(String),
    NotSubscribed(String),
    InvalidOption(String),
    InvalidOptionType(String),
    InvalidJsonValue(String),
    UnknownFrame(String),
    /// Refused by the application (or by policy), with its reason.
    Denied(String),
}

impl fmt::Display for HubError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HubError::AlreadyConnected => f.write_str("Already logged in"),
            HubError::NotConnected => f.write_str("Not connected"),
            HubError::Missing(field) => write!(f, "{field} required"),
            HubError::InvalidArg(field) => write!(f, "Invalid {field}"),
            HubError::InvalidJsonPayload => f.write_str("Invalid json for payload"),
            HubError::InvalidChannelName => f.write_str("Invalid channel name"),
            HubError::InvalidUserName => f.write_str("Invalid user name"),
            HubError::NoSuchChannel(c) => write!(f, "Channel {c} doesn't exist"),
            HubError::ChannelExists(c) => write!(f, "Channel {c} already exists"),
            HubError::NoSuchUser(u) => write!(f, "User {u} doesn't exist"),
            HubError::NoSuchConnection(c) => write!(f, "No user or connection {c}"),
            HubError::NotSubscribed(c) => write!(f, "Not subscribed to {c}"),
            HubError::InvalidOption(k) => write!(f, "Invalid option {k}"),
            HubError::InvalidOptionType(k) => write!(f, "Invalid type for option {k}"),
            HubError::InvalidJsonValue(k) => write!(f, "Invalid json value for option {k}"),
            HubError::UnknownFrame(n) => write!(f, "Unknown frame {n}"),
            HubError::Denied(reason) => f.write_str(reason),
        }
    }
}
