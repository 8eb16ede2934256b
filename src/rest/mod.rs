//! The REST API, `/web/<method>`: Hookbox's methods, fields and answers.
//!
//! Pure: fields and the hub in, an HTTP status and a JSON body out. Expected failures are
//! answered as Hookbox did, HTTP 200 with `[false, {"msg": ...}]`, so apps written for it
//! keep working.

pub mod fields;

use serde_json::{Map, Value};

pub use fields::{FieldValue, Fields};

use crate::hub::{parse_payload, ApiAnswer, Hub, RestCall};
use crate::time::Timestamp;

/// Every method the API offers.
pub const METHODS: [&str; 16] = [
    "publish",
    "publish_multi",
    "subscribe",
    "unsubscribe",
    "message",
    "create_channel",
    "destroy_channel",
    "get_channel_info",
    "set_channel_options",
    "state_set_key",
    "state_delete_key",
    "get_user_info",
    "set_user_options",
    "get_server_info",
    "disconnect",
    "set_config",
];

/// An answer: the HTTP status and the JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Reply {
    fn answer(status: u16, ok: bool, info: Value) -> Reply {
        Reply {
            status,
            body: crate::json::to_vec(&Value::Array(vec![Value::Bool(ok), info])),
        }
    }

    fn ok(info: Value) -> Reply {
        Reply::answer(200, true, info)
    }

    /// `[false, {"msg": msg}]` with the given status.
    pub fn failure(status: u16, msg: &str) -> Reply {
        let mut m = Map::new();
        m.insert("msg".into(), msg.into());
        Reply::answer(status, false, Value::Object(m))
    }
}

/// How calls are authorised.
#[derive(Debug, Clone, Copy)]
pub struct Auth<'a> {
    /// The `-r` token; `None` disables the API.
    pub token: Option<&'a str>,
    /// The token from `Authorization: Bearer`, if the request had one.
    pub bearer: Option<&'a str>,
}

/// How a call ended: an answer now, or later, when the application has answered (the hub
/// then sends `Effect::RestDone` with the call's token).
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Reply(Reply),
    Later,
}

/// Runs one REST call. `token` names it if it has to wait for the application. An unknown
/// method is answered 404 before the token is looked at.
pub fn call(
    hub: &mut Hub,
    auth: Auth<'_>,
    method: &str,
    mut fields: Fields,
    token: u64,
    now: Timestamp,
) -> Outcome {
    if METHODS.contains(&method) {
        if let Err(refusal) = authorise(auth, &mut fields) {
            return Outcome::Reply(refusal);
        }
    }
    call_trusted(hub, method, fields, token, now)
}

/// Checks the call's token (the `security_token` field, else the bearer token).
fn authorise(auth: Auth<'_>, fields: &mut Fields) -> Result<(), Reply> {
    let Some(expected) = auth.token else {
        return Err(Reply::failure(
            200,
            "Rest api is disabled by configuration. (Please supply --api-security-token/-r option at start)",
        ));
    };
    let given = fields.take_text("security_token");
    let given = given.as_deref().or(auth.bearer).unwrap_or("");
    if !constant_time_eq(given.as_bytes(), expected.as_bytes()) {
        return Err(Reply::failure(200, "Invalid Security Token"));
    }
    Ok(())
}

/// Runs one call that needs no security token: the admin console's, whose session was
/// checked already.
pub fn call_trusted(
    hub: &mut Hub,
    method: &str,
    mut fields: Fields,
    token: u64,
    now: Timestamp,
) -> Outcome {
    if !METHODS.contains(&method) {
        return Outcome::Reply(Reply::failure(404, &format!("Unknown method {method}")));
    }
    let send_hook = fields.take("send_hook").is_some_and(|v| v.is_true());
    let hook = RestCall { token, send_hook };
    match dispatch(hub, method, fields, hook, now) {
        Ok(ApiAnswer::Now(info)) => Outcome::Reply(Reply::ok(info)),
        Ok(ApiAnswer::Later) => Outcome::Later,
        Err(msg) => Outcome::Reply(Reply::failure(200, &msg)),
    }
}

/// The answer to a call that waited for the application.
pub fn finished(result: Result<Value, String>) -> Reply {
    match result {
        Ok(info) => Reply::ok(info),
        Err(msg) => Reply::failure(200, &msg),
    }
}

/// Compares without an early exit, so timing does not tell how much of a guess was right.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = u8::from(a.len() != b.len());
    for i in 0..a.len().max(b.len()) {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0);
        diff |= x ^ y;
    }
    diff == 0
}

type Answer = Result<ApiAnswer, String>;

fn now(v: Value) -> Answer {
    Ok(ApiAnswer::Now(v))
}

fn empty() -> Answer {
    now(Value::Object(Map::new()))
}

fn required(fields: &mut Fields, name: &str) -> Result<String, String> {
    fields
        .take_text(name)
        .ok_or_else(|| format!("Missing {name}"))
}

/// `payload`: JSON text (or a JSON body value), `null` when absent.
fn payload(fields: &mut Fields) -> Result<Value, String> {
    match fields.take("payload") {
        None => Ok(Value::Null),
        Some(FieldValue::Text(text)) => {
            parse_payload(Some(&Value::String(text))).map_err(|e| e.to_string())
        }
        Some(FieldValue::Json(v)) => Ok(v),
    }
}

/// The remaining fields as options, each a JSON value.
fn options(fields: Fields) -> Result<Map<String, Value>, String> {
    let mut out = Map::new();
    for (key, value) in fields.into_items() {
        if key == "send_hook" {
            continue;
        }
        let v = value
            .into_json()
            .map_err(|_| format!("Invalid json value for option {key}"))?;
        out.insert(key, v);
    }
    Ok(out)
}

fn dispatch(hub: &mut Hub, method: &str, mut f: Fields, hook: RestCall, at: Timestamp) -> Answer {
    let e = |err: crate::hub::HubError| err.to_string();
    match method {
        "publish" => {
            let channel = required(&mut f, "channel_name")?;
            let payload = payload(&mut f)?;
            let originator = f.take_text("originator");
            hub.api_publish(&channel, payload, originator.as_deref(), hook, at)
        }
        "publish_multi" => {
            let names: Vec<String> = match f.take("channel_names") {
                None => return Err("Missing channel_names".into()),
                Some(FieldValue::Json(Value::Array(items))) => items
                    .into_iter()
                    .map(|v| FieldValue::Json(v).into_text())
                    .collect(),
                Some(v) => v.into_text().split(',').map(str::to_string).collect(),
            };
            let payload = payload(&mut f)?;
            let originator = f.take_text("originator");
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            hub.api_publish_multi(&names, payload, originator.as_deref(), hook, at)
        }
        "subscribe" | "unsubscribe" => {
            let channel = required(&mut f, "channel_name")?;
            let name = required(&mut f, "name")?;
            if method == "subscribe" {
                hub.api_subscribe(&channel, &name, hook, at)
            } else {
                hub.api_unsubscribe(&channel, &name, hook, at)
            }
        }
        "message" => {
            let sender = required(&mut f, "sender_name")?;
            let recipient = required(&mut f, "recipient_name")?;
            let payload = payload(&mut f)?;
            hub.api_message(&sender, &recipient, payload, hook, at)
        }
        "create_channel" => {
            let channel = required(&mut f, "channel_name")?;
            let opts = options(f)?;
            hub.api_create_channel(&channel, &opts, hook, at)
        }
        "destroy_channel" => {
            let channel = required(&mut f, "channel_name")?;
            hub.api_destroy_channel(&channel, hook, at)
        }
        "get_channel_info" => {
            let channel = required(&mut f, "channel_name")?;
            hub.api_channel_info(&channel, at).map_err(e).and_then(now)
        }
        "set_channel_options" => {
            let channel = required(&mut f, "channel_name")?;
            let opts = options(f)?;
            hub.api_set_channel_options(&channel, &opts, at)
                .map_err(e)?;
            empty()
        }
        "state_set_key" => {
            let channel = required(&mut f, "channel_name")?;
            let key = f
                .take_text("key")
                .ok_or_else(|| "Missing 'key' argument".to_string())?;
            let val = f
                .take("val")
                .ok_or_else(|| "Missing 'val' argument".to_string())?
                .into_json()
                .map_err(|v| format!("Invalid json: \"{}\"", v.into_text()))?;
            hub.api_state_set(&channel, &key, val).map_err(e)?;
            empty()
        }
        "state_delete_key" => {
            let channel = required(&mut f, "channel_name")?;
            let key = f
                .take_text("key")
                .ok_or_else(|| "Missing 'key' argument".to_string())?;
            hub.api_state_delete(&channel, &key).map_err(e)?;
            empty()
        }
        "get_user_info" => {
            let user = required(&mut f, "user_name")?;
            hub.api_user_info(&user).map_err(e).and_then(now)
        }
        "set_user_options" => {
            let user = required(&mut f, "user_name")?;
            let opts = options(f)?;
            hub.api_set_user_options(&user, &opts).map_err(e)?;
            empty()
        }
        "get_server_info" => now(hub.api_server_info()),
        "disconnect" => {
            let identifier = required(&mut f, "identifier")?;
            hub.api_disconnect(&identifier, at).map_err(e)?;
            empty()
        }
        "set_config" => Err("set_config is not supported".into()),
        other => Err(format!("Unknown method {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hub::HubConfig;
    use serde_json::json;

    fn form(pairs: &[(&str, &str)]) -> Fields {
        Fields::from_pairs(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    fn run(hub: &mut Hub, method: &str, pairs: &[(&str, &str)]) -> (u16, String) {
        let auth = Auth {
            token: Some("S"),
            bearer: None,
        };
        match call(hub, auth, method, form(pairs), 1, Timestamp(0)) {
            Outcome::Reply(r) => (r.status, String::from_utf8(r.body).unwrap()),
            Outcome::Later => panic!("{method} waits"),
        }
    }

    #[test]
    fn auth_and_unknown_methods() {
        let mut hub = Hub::new(HubConfig::default());
        let Outcome::Reply(r) = call(
            &mut hub,
            Auth {
                token: None,
                bearer: None,
            },
            "publish",
            Fields::default(),
            1,
            Timestamp(0),
        ) else {
            panic!()
        };
        assert!(String::from_utf8(r.body)
            .unwrap()
            .starts_with("[false, {\"msg\": \"Rest api is disabled"));
        assert_eq!(
            run(&mut hub, "publish", &[("security_token", "s")]),
            (200, r#"[false, {"msg": "Invalid Security Token"}]"#.into())
        );
        assert_eq!(
            run(&mut hub, "nope", &[]),
            (404, r#"[false, {"msg": "Unknown method nope"}]"#.into())
        );
        let Outcome::Reply(r) = call(
            &mut hub,
            Auth {
                token: Some("S"),
                bearer: Some("S"),
            },
            "get_server_info",
            Fields::default(),
            1,
            Timestamp(0),
        ) else {
            panic!()
        };
        assert_eq!(
            String::from_utf8(r.body).unwrap(),
            r#"[true, {"channels": [], "connections": [], "users": 0}]"#
        );
    }

    #[test]
    fn create_publish_and_errors() {
        let mut hub = Hub::new(HubConfig::default());
        let t = ("security_token", "S");
        assert_eq!(
            run(&mut hub, "publish", &[t, ("channel_name", "c")]).1,
            r#"[false, {"msg": "Channel c doesn't exist"}]"#
        );
        assert_eq!(
            run(&mut hub, "publish", &[t]).1,
            r#"[false, {"msg": "Missing channel_name"}]"#
        );
        assert_eq!(
            run(
                &mut hub,
                "create_channel",
                &[t, ("channel_name", "c"), ("history_size", "x")]
            )
            .1,
            r#"[false, {"msg": "Invalid json value for option history_size"}]"#
        );
        assert_eq!(
            run(
                &mut hub,
                "create_channel",
                &[t, ("channel_name", "c"), ("history_size", "3")]
            )
            .1,
            "[true, {}]"
        );
        assert_eq!(
            run(&mut hub, "create_channel", &[t, ("channel_name", "c")]).1,
            r#"[false, {"msg": "Channel c already exists"}]"#
        );
        assert_eq!(
            run(
                &mut hub,
                "publish",
                &[t, ("channel_name", "c"), ("payload", "{")]
            )
            .1,
            r#"[false, {"msg": "Invalid json for payload"}]"#
        );
        assert_eq!(
            run(
                &mut hub,
                "publish",
                &[t, ("channel_name", "c"), ("payload", "{\"a\": 1}")]
            )
            .1,
            "[true, {}]"
        );
        let (_, info) = run(&mut hub, "get_channel_info", &[t, ("channel_name", "c")]);
        let info: Value = serde_json::from_str(&info).unwrap();
        assert_eq!(
            info[1]["options"]["history"][0][1]["payload"],
            json!({"a": 1})
        );
        assert_eq!(
            run(&mut hub, "set_config", &[t]).1,
            r#"[false, {"msg": "set_config is not supported"}]"#
        );
        assert_eq!(
            run(
                &mut hub,
                "state_set_key",
                &[t, ("channel_name", "c"), ("key", "k"), ("val", "nope")]
            )
            .1,
            r#"[false, {"msg": "Invalid json: \"nope\""}]"#
        );
    }

    #[test]
    fn payload_numbers_pass_through_exactly() {
        let mut hub = Hub::new(HubConfig::default());
        let t = ("security_token", "S");
        run(
            &mut hub,
            "create_channel",
            &[t, ("channel_name", "c"), ("history_size", "1")],
        );
        let payload = "[2.0666666666666666e57, 0.1, 18446744073709551615, -9007199254740993]";
        run(
            &mut hub,
            "publish",
            &[t, ("channel_name", "c"), ("payload", payload)],
        );
        let (_, info) = run(&mut hub, "get_channel_info", &[t, ("channel_name", "c")]);
        assert!(
            info.contains("\"payload\": [2.0666666666666666e+57, 0.1, 18446744073709551615, -9007199254740993]"),
            "{info}"
        );
    }

    #[test]
    fn comparison_is_exact() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
        assert!(!constant_time_eq(b"", b"a"));
        assert!(constant_time_eq(b"", b""));
    }
}
