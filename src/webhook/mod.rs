//! Webhooks: the calls the hub asks for, where they go, and how answers are read.
//!
//! Building a call and reading its answer are pure; `pool` makes the HTTP requests on worker
//! threads and hands results back to the reactor.

pub mod pool;

use std::fmt;

use serde_json::{Map, Value};

use crate::config::WebhookConfig;
use crate::http::form::encode_urlencoded;

/// The hooks, in Hookbox's order (`config::HOOKS` holds their default paths).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Hook {
    Connect,
    Disconnect,
    CreateChannel,
    DestroyChannel,
    Subscribe,
    Unsubscribe,
    Publish,
    Message,
}

impl Hook {
    pub const ALL: [Hook; 8] = [
        Hook::Connect,
        Hook::Disconnect,
        Hook::CreateChannel,
        Hook::DestroyChannel,
        Hook::Subscribe,
        Hook::Unsubscribe,
        Hook::Publish,
        Hook::Message,
    ];

    /// The name sent as `action` (and the default path).
    pub fn name(self) -> &'static str {
        crate::config::HOOKS[self.index()]
    }

    pub fn index(self) -> usize {
        match self {
            Hook::Connect => 0,
            Hook::Disconnect => 1,
            Hook::CreateChannel => 2,
            Hook::DestroyChannel => 3,
            Hook::Subscribe => 4,
            Hook::Unsubscribe => 5,
            Hook::Publish => 6,
            Hook::Message => 7,
        }
    }
}

impl fmt::Display for Hook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A webhook call the hub wants made.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookCall {
    /// The hub's handle for the answer.
    pub id: u64,
    pub hook: Hook,
    /// Form fields besides `action` and `secret`.
    pub fields: Vec<(String, String)>,
    /// The `Cookie` header: the browser's cookies (or only the `-c` one).
    pub cookie: Option<String>,
    /// The `X-Real-IP` header.
    pub remote_addr: Option<String>,
}

/// What the application answered, after the checks Hookbox made.
#[derive(Debug, Clone, PartialEq)]
pub enum HookAnswer {
    /// `[true, {options}]`.
    Allow(Map<String, Value>),
    /// `[false, {...}]`, or any failure, with the reason the client is told.
    Deny(String),
}

/// An answer and the `Set-Cookie` that came with it.
#[derive(Debug, Clone, PartialEq)]
pub struct HookResult {
    pub answer: HookAnswer,
    pub set_cookie: Option<String>,
}

impl HookResult {
    pub fn deny(reason: impl Into<String>) -> HookResult {
        HookResult {
            answer: HookAnswer::Deny(reason.into()),
            set_cookie: None,
        }
    }
}

/// The URL a hook is sent to.
pub fn target_url(c: &WebhookConfig, hook: Hook) -> String {
    if let Some(url) = &c.single_url {
        return url.clone();
    }
    let scheme = if c.https { "https" } else { "http" };
    let host = c.host.as_deref().unwrap_or("127.0.0.1");
    let port = c.port.unwrap_or(if c.https { 443 } else { 80 });
    let mut path = format!(
        "{}/{}",
        c.path.trim_end_matches('/'),
        c.hook_paths[hook.index()]
    );
    if !path.starts_with('/') {
        path.insert(0, '/');
    }
    if c.trailing_slash && !path.ends_with('/') {
        path.push('/');
    }
    format!("{scheme}://{host}:{port}{path}")
}

/// The form body: the call's fields, then `action`, then `secret` when set.
pub fn form_body(c: &WebhookConfig, call: &WebhookCall) -> String {
    let mut pairs: Vec<(&str, &str)> = call
        .fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    pairs.push(("action", call.hook.name()));
    if let Some(secret) = &c.secret {
        pairs.push(("secret", secret));
    }
    if c.send_version {
        pairs.push(("hookbox_version", env!("CARGO_PKG_VERSION")));
    }
    encode_urlencoded(pairs)
}

/// Only the named cookie out of a `Cookie` string (`-c`), as `name=value`.
pub fn pick_cookie(cookies: &str, name: &str) -> Option<String> {
    cookies
        .split(';')
        .map(str::trim)
        .find(|c| c.split_once('=').is_some_and(|(k, _)| k == name))
        .map(str::to_string)
}

/// Reads an answer as Hookbox did: HTTP 200 with `[bool, {object}]`; a denial's reason is
/// its `error` (or `msg`), "Unauthorized" when it gives none.
pub fn read_answer(status: u16, url: &str, body: &str) -> HookAnswer {
    if status != 200 {
        return HookAnswer::Deny(format!(
            "Invalid callback response, status={status} ({url}), body: {body}"
        ));
    }
    let Ok(value) = serde_json::from_str::<Value>(body) else {
        return HookAnswer::Deny(format!("Invalid json: {body}"));
    };
    let Value::Array(items) = value else {
        return HookAnswer::Deny("Invalid response (expected json list of length 2)".into());
    };
    let Ok::<[Value; 2], _>([ok, options]) = items.try_into() else {
        return HookAnswer::Deny("Invalid response (expected json list of length 2)".into());
    };
    let Value::Object(options) = options else {
        return HookAnswer::Deny(
            "Invalid response (expected json object in response index 1)".into(),
        );
    };
    if truthy(&ok) {
        HookAnswer::Allow(options)
    } else {
        let reason = ["error", "msg"]
            .iter()
            .find_map(|k| options.get(*k).and_then(Value::as_str))
            .unwrap_or("Unauthorized");
        HookAnswer::Deny(reason.to_string())
    }
}

/// Python's truthiness, as Hookbox tested `output[0]`.
fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64() != Some(0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use serde_json::json;

    fn call(hook: Hook) -> WebhookCall {
        WebhookCall {
            id: 1,
            hook,
            fields: vec![("channel_name".into(), "a b".into())],
            cookie: None,
            remote_addr: None,
        }
    }

    #[test]
    fn urls() {
        let mut c = Config::default().webhooks;
        c.host = Some("app".into());
        assert_eq!(
            target_url(&c, Hook::Connect),
            "http://app:80/hookbox/connect"
        );
        c.port = Some(8080);
        c.trailing_slash = true;
        c.hook_paths[Hook::CreateChannel.index()] = "cc".into();
        assert_eq!(
            target_url(&c, Hook::CreateChannel),
            "http://app:8080/hookbox/cc/"
        );
        c.https = true;
        c.path = "/".into();
        assert_eq!(target_url(&c, Hook::Publish), "https://app:8080/publish/");
        c.single_url = Some("http://x/hook.php?a=1".into());
        assert_eq!(target_url(&c, Hook::Message), "http://x/hook.php?a=1");
    }

    #[test]
    fn bodies_and_cookies() {
        let mut c = Config::default().webhooks;
        assert_eq!(
            form_body(&c, &call(Hook::Subscribe)),
            "channel_name=a+b&action=subscribe"
        );
        c.secret = Some("s&t".into());
        assert_eq!(
            form_body(&c, &call(Hook::DestroyChannel)),
            "channel_name=a+b&action=destroy_channel&secret=s%26t"
        );
        assert_eq!(
            pick_cookie("a=1; sid=xyz; b=2", "sid").as_deref(),
            Some("sid=xyz")
        );
        assert_eq!(pick_cookie("a=1", "sid"), None);
    }

    #[test]
    fn answers() {
        let deny = |s: &str| HookAnswer::Deny(s.into());
        assert_eq!(
            read_answer(200, "u", r#"[true, {"name": "x"}]"#),
            HookAnswer::Allow(json!({"name": "x"}).as_object().unwrap().clone())
        );
        assert_eq!(
            read_answer(200, "u", r#"[false, {"error": "no way"}]"#),
            deny("no way")
        );
        assert_eq!(
            read_answer(200, "u", r#"[false, {"msg": "nope"}]"#),
            deny("nope")
        );
        assert_eq!(read_answer(200, "u", "[0, {}]"), deny("Unauthorized"));
        assert_eq!(
            read_answer(500, "http://a/b", "oops"),
            deny("Invalid callback response, status=500 (http://a/b), body: oops")
        );
        assert_eq!(
            read_answer(200, "u", "<html>"),
            deny("Invalid json: <html>")
        );
        assert_eq!(
            read_answer(200, "u", "[true]"),
            deny("Invalid response (expected json list of length 2)")
        );
        assert_eq!(
            read_answer(200, "u", "{}"),
            deny("Invalid response (expected json list of length 2)")
        );
        assert_eq!(
            read_answer(200, "u", "[true, 5]"),
            deny("Invalid response (expected json object in response index 1)")
        );
    }
}
