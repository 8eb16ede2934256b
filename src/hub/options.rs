//! Channel and user options: their defaults, validation of JSON updates, and their JSON form.
//!
//! An update is checked completely before any of it is applied, so a bad key leaves the
//! options unchanged.

use serde_json::{Map, Value};

use super::error::HubError;

/// Channel polling settings (the server fetches `url` and publishes what it gets).
#[derive(Debug, Clone, PartialEq)]
pub struct Polling {
    /// `""`, `simple`, `persistent` or `once`.
    pub mode: String,
    pub interval: f64,
    pub url: String,
    pub form: Map<String, Value>,
    pub originator: String,
}

impl Default for Polling {
    fn default() -> Self {
        Polling {
            mode: String::new(),
            interval: 5.0,
            url: String::new(),
            form: Map::new(),
            originator: String::new(),
        }
    }
}

/// Per-channel options with Hookbox's defaults. `history` and `state` live on the channel
/// itself (see `Channel`), since they change as it is used.
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelOptions {
    pub reflective: bool,
    pub history_size: usize,
    /// Seconds an entry stays in history; 0 keeps entries until `history_size` pushes them out.
    pub history_duration: f64,
    pub history_publish_only: bool,
    pub moderated: bool,
    pub moderated_publish: bool,
    pub moderated_subscribe: bool,
    pub moderated_unsubscribe: bool,
    pub presenceful: bool,
    pub anonymous: bool,
    pub polling: Polling,
    pub server_presenceful: bool,
    pub server_user_presence: Vec<String>,
}

impl Default for ChannelOptions {
    fn default() -> Self {
        ChannelOptions {
            reflective: true,
            history_size: 0,
            history_duration: 0.0,
            history_publish_only: false,
            moderated: true,
            moderated_publish: false,
            moderated_subscribe: false,
            moderated_unsubscribe: false,
            presenceful: false,
            anonymous: false,
            polling: Polling::default(),
            server_presenceful: false,
            server_user_presence: Vec::new(),
        }
    }
}

/// A checked channel-option update. `history` and `state` are returned for the channel to
/// apply, since they are channel data rather than settings.
#[derive(Debug, Default)]
pub struct ChannelUpdate {
    pub options: ChannelOptions,
    pub history: Option<Vec<Value>>,
    pub state: Option<Map<String, Value>>,
    pub polling_changed: bool,
}

impl ChannelOptions {
    /// Checks `update` against the current options and returns the options it would give.
    pub fn updated(&self, update: &Map<String, Value>) -> Result<ChannelUpdate, HubError> {
        let mut o = self.clone();
        let mut out = ChannelUpdate::default();
        for (key, val) in update {
            match key.as_str() {
                "reflective" => o.reflective = boolean(key, val)?,
                "history_size" => o.history_size = count(key, val)?,
                "history_duration" => o.history_duration = seconds(key, val)?,
                "history_publish_only" => o.history_publish_only = boolean(key, val)?,
                "moderated" => o.moderated = boolean(key, val)?,
                "moderated_publish" => o.moderated_publish = boolean(key, val)?,
                "moderated_subscribe" => o.moderated_subscribe = boolean(key, val)?,
                "moderated_unsubscribe" => o.moderated_unsubscribe = boolean(key, val)?,
                "presenceful" => o.presenceful = boolean(key, val)?,
                "anonymous" => o.anonymous = boolean(key, val)?,
                "server_presenceful" => o.server_presenceful = boolean(key, val)?,
                "server_user_presence" => o.server_user_presence = strings(key, val)?,
                "polling" => {
                    o.polling = polling(&o.polling, val)?;
                    out.polling_changed = true;
                }
                "history" => {
                    let Value::Array(items) = val else {
                        return Err(HubError::InvalidOptionType(key.clone()));
                    };
                    for item in items {
                        if !matches!(
                            item.as_array().map(Vec::as_slice),
                            Some([Value::String(_), Value::Object(_)])
                        ) {
                            return Err(HubError::InvalidOptionType(key.clone()));
                        }
                    }
                    out.history = Some(items.clone());
                }
                "state" => {
                    let Value::Object(map) = val else {
                        return Err(HubError::InvalidOptionType(key.clone()));
                    };
                    out.state = Some(map.clone());
                }
                _ => return Err(HubError::InvalidOption(key.clone())),
            }
        }
        out.options = o;
        Ok(out)
    }

    /// The settings as JSON, in Hookbox's key names (without `history` and `state`).
    pub fn to_json(&self, out: &mut Map<String, Value>) {
        out.insert("reflective".into(), self.reflective.into());
        out.insert("history_size".into(), self.history_size.into());
        out.insert("history_duration".into(), number(self.history_duration));
        out.insert(
            "history_publish_only".into(),
            self.history_publish_only.into(),
        );
        out.insert("moderated".into(), self.moderated.into());
        out.insert("moderated_publish".into(), self.moderated_publish.into());
        out.insert(
            "moderated_subscribe".into(),
            self.moderated_subscribe.into(),
        );
        out.insert(
            "moderated_unsubscribe".into(),
            self.moderated_unsubscribe.into(),
        );
        out.insert("presenceful".into(), self.presenceful.into());
        out.insert("anonymous".into(), self.anonymous.into());
        let mut p = Map::new();
        p.insert("mode".into(), self.polling.mode.clone().into());
        p.insert("interval".into(), number(self.polling.interval));
        p.insert("url".into(), self.polling.url.clone().into());
        p.insert("form".into(), Value::Object(self.polling.form.clone()));
        p.insert("originator".into(), self.polling.originator.clone().into());
        out.insert("polling".into(), Value::Object(p));
        out.insert("server_presenceful".into(), self.server_presenceful.into());
        out.insert(
            "server_user_presence".into(),
            self.server_user_presence.clone().into(),
        );
    }
}

/// Per-user options with Hookbox's defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct UserOptions {
    pub reflective: bool,
    pub moderated_message: bool,
    pub per_connection_subscriptions: bool,
    pub global_unsubscriptions: bool,
    pub auto_subscribe: Vec<String>,
}

impl Default for UserOptions {
    fn default() -> Self {
        UserOptions {
            reflective: true,
            moderated_message: true,
            per_connection_subscriptions: false,
            global_unsubscriptions: false,
            auto_subscribe: Vec::new(),
        }
    }
}

impl UserOptions {
    /// Checks `update` and returns the options it would give.
    pub fn updated(&self, update: &Map<String, Value>) -> Result<UserOptions, HubError> {
        let mut o = self.clone();
        for (key, val) in update {
            match key.as_str() {
                "reflective" => o.reflective = boolean(key, val)?,
                "moderated_message" => o.moderated_message = boolean(key, val)?,
                "per_connection_subscriptions" => {
                    o.per_connection_subscriptions = boolean(key, val)?
                }
                "global_unsubscriptions" => o.global_unsubscriptions = boolean(key, val)?,
                "auto_subscribe" => o.auto_subscribe = strings(key, val)?,
                _ => return Err(HubError::InvalidOption(key.clone())),
            }
        }
        Ok(o)
    }

    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("reflective".into(), self.reflective.into());
        m.insert("moderated_message".into(), self.moderated_message.into());
        m.insert(
            "per_connection_subscriptions".into(),
            self.per_connection_subscriptions.into(),
        );
        m.insert(
            "global_unsubscriptions".into(),
            self.global_unsubscriptions.into(),
        );
        m.insert("auto_subscribe".into(), self.auto_subscribe.clone().into());
        Value::Object(m)
    }
}

fn boolean(key: &str, val: &Value) -> Result<bool, HubError> {
    val.as_bool()
        .ok_or_else(|| HubError::InvalidOptionType(key.to_string()))
}

fn count(key: &str, val: &Value) -> Result<usize, HubError> {
    val.as_u64()
        .and_then(|n| usize::try_from(n).ok())
        .ok_or_else(|| HubError::InvalidOptionType(key.to_string()))
}

fn seconds(key: &str, val: &Value) -> Result<f64, HubError> {
    match val.as_f64() {
        Some(s) if s >= 0.0 && s.is_finite() => Ok(s),
        _ => Err(HubError::InvalidOptionType(key.to_string())),
    }
}

fn strings(key: &str, val: &Value) -> Result<Vec<String>, HubError> {
    let bad = || HubError::InvalidOptionType(key.to_string());
    val.as_array()
        .ok_or_else(bad)?
        .iter()
        .map(|v| v.as_str().map(str::to_string).ok_or_else(bad))
        .collect()
}

fn polling(current: &Polling, val: &Value) -> Result<Polling, HubError> {
    let Value::Object(map) = val else {
        return Err(HubError::InvalidOptionType("polling".into()));
    };
    let mut p = current.clone();
    for (key, v) in map {
        let bad = || HubError::InvalidOptionType(format!("polling.{key}"));
        match key.as_str() {
            "mode" => {
                let mode = v.as_str().ok_or_else(bad)?;
                if !matches!(mode, "" | "simple" | "persistent" | "once") {
                    return Err(bad());
                }
                p.mode = mode.to_string();
            }
            "interval" => {
                p.interval = match v.as_f64() {
                    Some(s) if s > 0.0 && s.is_finite() => s,
                    _ => return Err(bad()),
                }
            }
            "url" => p.url = v.as_str().ok_or_else(bad)?.to_string(),
            "originator" => p.originator = v.as_str().ok_or_else(bad)?.to_string(),
            "form" => p.form = v.as_object().ok_or_else(bad)?.clone(),
            _ => return Err(HubError::InvalidOption(format!("polling.{key}"))),
        }
    }
    Ok(p)
}

/// Integral seconds print as integers, as Python's JSON would print an int option.
fn number(x: f64) -> Value {
    if x.fract() == 0.0 && x.abs() < 9.0e15 {
        Value::from(x as i64)
    } else {
        serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn channel_updates_are_all_or_nothing() {
        let o = ChannelOptions::default();
        let u = o
            .updated(&map(json!({"presenceful": true, "history_size": 5})))
            .unwrap();
        assert!(u.options.presenceful);
        assert_eq!(u.options.history_size, 5);
        assert_eq!(
            o.updated(&map(json!({"presenceful": true, "bogus": 1})))
                .unwrap_err(),
            HubError::InvalidOption("bogus".into())
        );
        assert_eq!(
            o.updated(&map(json!({"history_size": -1}))).unwrap_err(),
            HubError::InvalidOptionType("history_size".into())
        );
        assert_eq!(
            o.updated(&map(json!({"polling": {"mode": "often"}})))
                .unwrap_err(),
            HubError::InvalidOptionType("polling.mode".into())
        );
        let u = o
            .updated(&map(json!({"polling": {"mode": "simple", "interval": 2}})))
            .unwrap();
        assert_eq!(u.options.polling.interval, 2.0);
        assert!(u.polling_changed);
    }

    #[test]
    fn user_updates() {
        let o = UserOptions::default();
        let u = o
            .updated(&map(
                json!({"auto_subscribe": ["a", "b"], "reflective": false}),
            ))
            .unwrap();
        assert_eq!(u.auto_subscribe, vec!["a", "b"]);
        assert!(!u.reflective);
        assert!(o.updated(&map(json!({"auto_subscribe": [1]}))).is_err());
    }

    #[test]
    fn json_form() {
        let mut m = Map::new();
        ChannelOptions::default().to_json(&mut m);
        assert_eq!(m["reflective"], json!(true));
        assert_eq!(m["history_duration"], json!(0));
        assert_eq!(m["polling"]["interval"], json!(5));
    }
}
