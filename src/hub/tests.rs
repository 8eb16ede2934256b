//! Hub behaviour, driven directly: frames in, effects out, no sockets and no clock.

use serde_json::{json, Value};

use super::*;
use crate::rtjp::parse_frame;
use crate::webhook::WebhookCall;

const T0: Timestamp = Timestamp(1_299_835_800_000);

struct Harness {
    hub: Hub,
    next_conn: u64,
}

impl Harness {
    fn new() -> Harness {
        Harness {
            hub: Hub::new(HubConfig::default()),
            next_conn: 0,
        }
    }

    fn open(&mut self) -> ConnId {
        self.next_conn += 1;
        let c = ConnId(self.next_conn);
        self.hub.open(c, "127.0.0.1".into());
        c
    }

    fn send(&mut self, conn: ConnId, frame: Value) {
        self.send_at(conn, frame, T0);
    }

    fn send_at(&mut self, conn: ConnId, frame: Value, now: Timestamp) {
        let line = serde_json::to_vec(&frame).unwrap();
        let f = parse_frame(&line).unwrap();
        self.hub.frame(conn, now, f);
    }

    /// Drains effects as (connection, [name, args]) with the frame id left out.
    fn take(&mut self) -> Vec<(ConnId, String, Value)> {
        let mut effects = Vec::new();
        self.hub.drain_effects(&mut effects);
        effects
            .into_iter()
            .filter_map(|e| match e {
                Effect::Send { to, frame } => {
                    let v: Value = serde_json::from_slice(&frame.to_line(0)).unwrap();
                    Some((to, v[1].as_str().unwrap().to_string(), v[2].clone()))
                }
                _ => None,
            })
            .collect()
    }

    fn frames_to(&mut self, conn: ConnId) -> Vec<(String, Value)> {
        self.take()
            .into_iter()
            .filter(|(c, _, _)| *c == conn)
            .map(|(_, n, a)| (n, a))
            .collect()
    }

    fn connect(&mut self, name: &str) -> ConnId {
        let c = self.open();
        let payload = serde_json::to_string(&json!({ "name": name })).unwrap();
        self.send(
            c,
            json!([1, "CONNECT", {"cookie_string": "", "payload": payload}]),
        );
        let frames = self.frames_to(c);
        assert_eq!(frames[0].0, "CONNECTED");
        assert_eq!(frames[0].1["name"], json!(name));
        c
    }

    fn subscribe(&mut self, conn: ConnId, channel: &str) -> Vec<(ConnId, String, Value)> {
        self.send(conn, json!([2, "SUBSCRIBE", {"channel_name": channel}]));
        self.take()
    }
}

#[test]
fn connect_names_guests_and_refuses_twice() {
    let mut h = Harness::new();
    let c = h.open();
    h.send(c, json!([1, "CONNECT", {"cookie_string": "a=b"}]));
    assert_eq!(
        h.frames_to(c),
        vec![(
            "CONNECTED".into(),
            json!({"name": "guest1", "payload": null})
        )]
    );
    h.send(c, json!([2, "CONNECT", {"cookie_string": ""}]));
    assert_eq!(
        h.frames_to(c),
        vec![("ERROR".into(), json!({"id": 2, "msg": "Already logged in"}))]
    );
    let d = h.open();
    h.send(d, json!([7, "CONNECT", {}]));
    assert_eq!(
        h.frames_to(d),
        vec![(
            "ERROR".into(),
            json!({"id": 7, "msg": "cookie_string required"})
        )]
    );
    h.send(
        d,
        json!([8, "CONNECT", {"cookie_string": "", "payload": "{bad"}]),
    );
    assert_eq!(
        h.frames_to(d),
        vec![(
            "ERROR".into(),
            json!({"id": 8, "msg": "Invalid json for payload"})
        )]
    );
    h.send(
        d,
        json!([9, "CONNECT", {"cookie_string": "", "payload": "{\"name\": \"a b\"}"}]),
    );
    assert_eq!(
        h.frames_to(d),
        vec![("ERROR".into(), json!({"id": 9, "msg": "Invalid user name"}))]
    );
}

#[test]
fn frames_before_connect_are_refused() {
    let mut h = Harness::new();
    let c = h.open();
    for (i, name) in ["SUBSCRIBE", "UNSUBSCRIBE", "PUBLISH", "MESSAGE"]
        .iter()
        .enumerate()
    {
        h.send(c, json!([i, name, {"channel_name": "x", "name": "y"}]));
        assert_eq!(
            h.frames_to(c),
            vec![("ERROR".into(), json!({"id": i, "msg": "Not connected"}))]
        );
    }
    h.send(c, json!([9, "BOGUS", {}]));
    assert_eq!(
        h.frames_to(c),
        vec![(
            "ERROR".into(),
            json!({"id": 9, "msg": "Unknown frame BOGUS"})
        )]
    );
}

#[test]
fn argument_errors() {
    let mut h = Harness::new();
    let c = h.connect("ann");
    let cases = [
        (json!([3, "SUBSCRIBE", {}]), "channel_name required"),
        (
            json!([3, "SUBSCRIBE", {"channel_name": "a b"}]),
            "Invalid channel name",
        ),
        (
            json!([3, "SUBSCRIBE", {"channel_name": 5}]),
            "Invalid channel name",
        ),
        (
            json!([3, "SUBSCRIBE", {"channel_name": "c", "since": "x"}]),
            "Invalid since",
        ),
        (json!([3, "PUBLISH", {}]), "channel_name required"),
        (
            json!([3, "PUBLISH", {"channel_name": "c", "payload": "{x"}]),
            "Invalid json for payload",
        ),
        (
            json!([3, "UNSUBSCRIBE", {"channel_name": "c"}]),
            "Not subscribed to c",
        ),
        (json!([3, "MESSAGE", {"payload": "1"}]), "name required"),
        (
            json!([3, "MESSAGE", {"name": "nobody", "payload": "1"}]),
            "Invalid user name",
        ),
    ];
    for (frame, msg) in cases {
        h.send(c, frame.clone());
        assert_eq!(
            h.frames_to(c),
            vec![("ERROR".into(), json!({"id": 3, "msg": msg}))],
            "{frame}"
        );
    }
}

#[test]
fn subscribe_publish_with_seq_and_reflection() {
    let mut h = Harness::new();
    let a = h.connect("ann");
    let b = h.connect("bob");
    let out = h.subscribe(a, "c");
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].1, "SUBSCRIBE");
    assert_eq!(
        out[0].2,
        json!({"channel_name": "c", "user": "ann", "history": [], "history_size": 0,
               "history_duration": 0, "state": {}, "presence": [], "epoch": "0.1"})
    );
    h.subscribe(b, "c");
    h.send(
        a,
        json!([5, "PUBLISH", {"channel_name": "c", "payload": "{\"a\": 1}"}]),
    );
    let out = h.take();
    let want = json!({"channel_name": "c", "payload": {"a": 1}, "user": "ann",
                      "datetime": "2011-03-11T09:30:00", "seq": 1});
    assert_eq!(
        out,
        vec![
            (a, "PUBLISH".into(), want.clone()),
            (b, "PUBLISH".into(), want)
        ]
    );
    assert_eq!(
        h.hub
            .api_set_channel_options("c", json!({"reflective": false}).as_object().unwrap(), T0),
        Ok(())
    );
    h.send(
        a,
        json!([6, "PUBLISH", {"channel_name": "c", "payload": "2"}]),
    );
    let out = h.take();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].0, b);
    assert_eq!(out[0].2["seq"], json!(2));
}

#[test]
fn presence_and_history() {
    let mut h = Harness::new();
    h.hub
        .api_create_channel(
            "room",
            json!({"presenceful": true, "history_size": 3})
                .as_object()
                .unwrap(),
            RestCall::default(),
            T0,
        )
        .unwrap();
    let a = h.connect("ann");
    let b = h.connect("bob");
    h.subscribe(a, "room");
    let out = h.subscribe(b, "room");
    // ann hears bob arrive; bob gets his subscription with presence and history.
    assert_eq!(out[0].0, a);
    assert_eq!(
        out[0].2,
        json!({"channel_name": "room", "user": "bob", "datetime": "2011-03-11T09:30:00"})
    );
    assert_eq!(out[1].0, b);
    assert_eq!(out[1].2["presence"], json!(["ann", "bob"]));
    assert_eq!(
        out[1].2["history"],
        json!([["SUBSCRIBE", {"user": "ann", "datetime": "2011-03-11T09:30:00"}]])
    );
    for i in 0..3 {
        h.send(
            a,
            json!([9, "PUBLISH", {"channel_name": "room", "payload": i.to_string()}]),
        );
    }
    h.take();
    let info = h.hub.api_channel_info("room", T0).unwrap();
    let history = info["options"]["history"].as_array().unwrap();
    assert_eq!(history.len(), 3);
    assert_eq!(history[0][1]["payload"], json!(0));
    assert_eq!(info["subscribers"], json!(["ann", "bob"]));
    // bob leaves: ann sees UNSUBSCRIBE, bob gets his own.
    h.send(b, json!([3, "UNSUBSCRIBE", {"channel_name": "room"}]));
    let out = h.take();
    assert_eq!(out.len(), 2);
    assert_eq!((out[0].0, out[0].1.as_str()), (a, "UNSUBSCRIBE"));
    assert_eq!((out[1].0, out[1].1.as_str()), (b, "UNSUBSCRIBE"));
    // ann disconnects: the channel is empty and goes away.
    h.hub.closed(a, T0);
    assert!(h.hub.channel("room").is_none());
    assert!(h.hub.user("ann").is_none());
}

#[test]
fn history_duration_and_publish_only() {
    let mut h = Harness::new();
    h.hub
        .api_create_channel(
            "h",
            json!({"history_size": 10, "history_duration": 60, "history_publish_only": true})
                .as_object()
                .unwrap(),
            RestCall::default(),
            T0,
        )
        .unwrap();
    let a = h.connect("ann");
    h.subscribe(a, "h");
    h.send_at(
        a,
        json!([1, "PUBLISH", {"channel_name": "h", "payload": "1"}]),
        T0,
    );
    h.send_at(
        a,
        json!([1, "PUBLISH", {"channel_name": "h", "payload": "2"}]),
        Timestamp(T0.0 + 30_000),
    );
    let info = h
        .hub
        .api_channel_info("h", Timestamp(T0.0 + 61_000))
        .unwrap();
    let history = info["options"]["history"].as_array().unwrap();
    assert_eq!(history.len(), 1, "{history:?}");
    assert_eq!(history[0][0], json!("PUBLISH"));
    assert_eq!(history[0][1]["payload"], json!(2));
}

#[test]
fn since_replays_missed_messages() {
    let mut h = Harness::new();
    h.hub
        .api_create_channel(
            "r",
            json!({"history_size": 5}).as_object().unwrap(),
            RestCall::default(),
            T0,
        )
        .unwrap();
    for i in 1..=8 {
        h.hub
            .api_publish("r", json!(i), None, RestCall::default(), T0)
            .unwrap();
    }
    let a = h.connect("ann");
    // History holds seq 4..=8: from 5 on it is all there.
    h.send(
        a,
        json!([2, "SUBSCRIBE", {"channel_name": "r", "since": 5}]),
    );
    let out = h.frames_to(a);
    assert_eq!(out[0].0, "SUBSCRIBE");
    assert_eq!(out[0].1["recovered"], json!(true));
    let seqs: Vec<Value> = out[1..].iter().map(|(_, a)| a["seq"].clone()).collect();
    assert_eq!(seqs, vec![json!(6), json!(7), json!(8)]);
    assert_eq!(out[1].1["payload"], json!(6));
    // From 1 on, 2 and 3 are gone.
    h.send(
        a,
        json!([3, "SUBSCRIBE", {"channel_name": "r", "since": 1}]),
    );
    let out = h.frames_to(a);
    assert_eq!(out[0].1["recovered"], json!(false));
    // The SUBSCRIBE entry pushed seq 4 out: 5..=8 remain.
    assert_eq!(out.len(), 1 + 4);
    // Up to date: nothing to replay.
    h.send(
        a,
        json!([4, "SUBSCRIBE", {"channel_name": "r", "since": 8}]),
    );
    let out = h.frames_to(a);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].1["recovered"], json!(true));
}

#[test]
fn a_second_tab_gets_the_users_subscriptions() {
    let mut h = Harness::new();
    let a1 = h.connect("ann");
    h.subscribe(a1, "c");
    let a2 = h.open();
    h.send(
        a2,
        json!([1, "CONNECT", {"cookie_string": "", "payload": "{\"name\":\"ann\"}"}]),
    );
    let out = h.frames_to(a2);
    assert_eq!(out[0].0, "CONNECTED");
    assert_eq!(out[1].0, "SUBSCRIBE");
    assert_eq!(out[1].1["channel_name"], json!("c"));
    h.hub
        .api_publish("c", json!("x"), None, RestCall::default(), T0)
        .unwrap();
    let targets: Vec<ConnId> = h.take().into_iter().map(|(c, _, _)| c).collect();
    assert_eq!(targets, vec![a1, a2]);
    // Closing one tab keeps the user subscribed.
    h.hub.closed(a1, T0);
    assert!(h.hub.channel("c").is_some());
    assert_eq!(h.hub.user("ann").unwrap().conns, vec![a2]);
}

#[test]
fn per_connection_subscriptions() {
    let mut h = Harness::new();
    let a1 = h.connect("ann");
    h.hub
        .api_set_user_options(
            "ann",
            json!({"per_connection_subscriptions": true})
                .as_object()
                .unwrap(),
        )
        .unwrap();
    let a2 = h.connect("ann");
    h.subscribe(a2, "c");
    h.hub
        .api_publish("c", json!(1), None, RestCall::default(), T0)
        .unwrap();
    let targets: Vec<ConnId> = h.take().into_iter().map(|(c, _, _)| c).collect();
    assert_eq!(targets, vec![a2]);
    h.subscribe(a1, "c");
    h.send(a2, json!([5, "UNSUBSCRIBE", {"channel_name": "c"}]));
    let out = h.take();
    assert_eq!(out.len(), 1);
    assert_eq!((out[0].0, out[0].1.as_str()), (a2, "UNSUBSCRIBE"));
    h.hub
        .api_publish("c", json!(2), None, RestCall::default(), T0)
        .unwrap();
    let targets: Vec<ConnId> = h.take().into_iter().map(|(c, _, _)| c).collect();
    assert_eq!(targets, vec![a1]);
    // The last connection subscribed closes: the user leaves the channel.
    h.hub.closed(a1, T0);
    assert!(h.hub.channel("c").is_none());
}

#[test]
fn messages_between_users() {
    let mut h = Harness::new();
    let a = h.connect("ann");
    let b = h.connect("bob");
    h.send(
        a,
        json!([4, "MESSAGE", {"name": "bob", "payload": "\"hi\""}]),
    );
    let out = h.take();
    let want = json!({"sender": "ann", "recipient": "bob", "payload": "hi",
                      "datetime": "2011-03-11T09:30:00"});
    assert_eq!(
        out,
        vec![
            (b, "MESSAGE".into(), want.clone()),
            (a, "MESSAGE".into(), want)
        ]
    );
    h.hub
        .api_set_user_options("ann", json!({"reflective": false}).as_object().unwrap())
        .unwrap();
    h.hub
        .api_message("ann", "bob", json!(1), RestCall::default(), T0)
        .unwrap();
    assert_eq!(h.take().len(), 1);
    assert_eq!(
        h.hub
            .api_message("ann", "zed", json!(1), RestCall::default(), T0),
        Err(HubError::NoSuchUser("zed".into()).to_string())
    );
}

#[test]
fn state_updates() {
    let mut h = Harness::new();
    let a = h.connect("ann");
    h.subscribe(a, "s");
    h.hub.api_state_set("s", "k", json!([1])).unwrap();
    assert_eq!(
        h.frames_to(a),
        vec![(
            "STATE_UPDATE".into(),
            json!({"channel_name": "s", "updates": {"k": [1]}, "deletes": []})
        )]
    );
    // The same value again changes nothing.
    h.hub.api_state_set("s", "k", json!([1])).unwrap();
    assert!(h.take().is_empty());
    h.hub.api_state_delete("s", "k").unwrap();
    assert_eq!(
        h.frames_to(a),
        vec![(
            "STATE_UPDATE".into(),
            json!({"channel_name": "s", "updates": {}, "deletes": ["k"]})
        )]
    );
    h.hub.api_state_set("s", "x", json!(1)).unwrap();
    h.take();
    h.hub
        .api_set_channel_options("s", json!({"state": {"y": 2}}).as_object().unwrap(), T0)
        .unwrap();
    assert_eq!(
        h.frames_to(a),
        vec![(
            "STATE_UPDATE".into(),
            json!({"channel_name": "s", "updates": {"y": 2}, "deletes": ["x"]})
        )]
    );
    // A new subscriber sees the state.
    let b = h.connect("bob");
    let out = h.subscribe(b, "s");
    assert_eq!(out.last().unwrap().2["state"], json!({"y": 2}));
}

#[test]
fn rest_publish_and_missing_channels() {
    let mut h = Harness::new();
    assert_eq!(
        h.hub
            .api_publish("none", json!(1), None, RestCall::default(), T0),
        Err(HubError::NoSuchChannel("none".into()).to_string())
    );
    let mut x = Hub::new(HubConfig {
        ignore_missing_publish: true,
        ..HubConfig::default()
    });
    assert_eq!(
        x.api_publish("none", json!(1), None, RestCall::default(), T0),
        Ok(ApiAnswer::Now(json!({})))
    );
    let a = h.connect("ann");
    h.subscribe(a, "c");
    h.hub
        .api_publish("c", json!({"a": 1}), None, RestCall::default(), T0)
        .unwrap();
    assert_eq!(
        h.frames_to(a),
        vec![(
            "PUBLISH".into(),
            json!({"channel_name": "c", "payload": {"a": 1}, "user": null,
                   "datetime": "2011-03-11T09:30:00", "seq": 1})
        )]
    );
    h.hub
        .api_publish("c", json!(2), Some("app"), RestCall::default(), T0)
        .unwrap();
    assert_eq!(h.frames_to(a)[0].1["user"], json!("app"));
    h.hub
        .api_set_channel_options("c", json!({"anonymous": true}).as_object().unwrap(), T0)
        .unwrap();
    h.hub
        .api_publish_multi(
            &["c", "none"],
            json!(3),
            Some("app"),
            RestCall::default(),
            T0,
        )
        .unwrap();
    let out = h.frames_to(a);
    assert_eq!(out.len(), 1);
    assert!(out[0].1.get("user").is_none());
}

#[test]
fn browser_publish_to_unknown_channel_leaves_nothing_behind() {
    let mut h = Harness::new();
    let a = h.connect("ann");
    h.send(
        a,
        json!([1, "PUBLISH", {"channel_name": "void", "payload": "1"}]),
    );
    assert!(h.take().is_empty());
    assert!(h.hub.channel("void").is_none());
}

#[test]
fn rest_subscribe_unsubscribe_destroy_disconnect() {
    let mut h = Harness::new();
    assert_eq!(
        h.hub.api_subscribe("c", "ann", RestCall::default(), T0),
        Err(HubError::NoSuchUser("ann".into()).to_string())
    );
    let a = h.connect("ann");
    h.hub
        .api_subscribe("c", "ann", RestCall::default(), T0)
        .unwrap();
    assert_eq!(h.frames_to(a)[0].0, "SUBSCRIBE");
    let info = h.hub.api_user_info("ann").unwrap();
    assert_eq!(info["channels"], json!(["c"]));
    assert_eq!(info["connections"], json!([a.to_string()]));
    h.hub
        .api_unsubscribe("c", "ann", RestCall::default(), T0)
        .unwrap();
    assert_eq!(h.frames_to(a)[0].0, "UNSUBSCRIBE");
    assert!(h.hub.channel("c").is_none());
    h.hub
        .api_create_channel("d", &Map::new(), RestCall::default(), T0)
        .unwrap();
    assert_eq!(
        h.hub
            .api_create_channel("d", &Map::new(), RestCall::default(), T0),
        Err(HubError::ChannelExists("d".into()).to_string())
    );
    h.hub
        .api_subscribe("d", "ann", RestCall::default(), T0)
        .unwrap();
    h.take();
    h.hub
        .api_destroy_channel("d", RestCall::default(), T0)
        .unwrap();
    assert_eq!(h.frames_to(a)[0].0, "UNSUBSCRIBE");
    assert_eq!(
        h.hub.api_destroy_channel("d", RestCall::default(), T0),
        Err(HubError::NoSuchChannel("d".into()).to_string())
    );
    h.hub.api_disconnect(&a.to_string(), T0).unwrap();
    let mut effects = Vec::new();
    h.hub.drain_effects(&mut effects);
    assert_eq!(effects, vec![Effect::Close { conn: a }]);
    assert!(h.hub.user("ann").is_none());
    assert_eq!(
        h.hub.api_disconnect("ann", T0),
        Err(HubError::NoSuchConnection("ann".into()))
    );
}

#[test]
fn server_info_and_option_errors() {
    let mut h = Harness::new();
    let a = h.connect("ann");
    h.subscribe(a, "z");
    h.subscribe(a, "b");
    let info = h.hub.api_server_info();
    assert_eq!(info["channels"], json!(["b", "z"]));
    assert_eq!(info["connections"], json!([a.to_string()]));
    assert_eq!(
        h.hub
            .api_set_channel_options("b", json!({"nope": 1}).as_object().unwrap(), T0),
        Err(HubError::InvalidOption("nope".into()))
    );
    assert_eq!(
        h.hub
            .api_set_user_options("ann", json!({"reflective": "yes"}).as_object().unwrap()),
        Err(HubError::InvalidOptionType("reflective".into()))
    );
}

#[test]
fn auto_subscribe_on_connect() {
    let mut h = Harness::new();
    let a = h.connect("ann");
    h.hub
        .api_set_user_options(
            "ann",
            json!({"auto_subscribe": ["lobby"]}).as_object().unwrap(),
        )
        .unwrap();
    let a2 = h.open();
    h.send(
        a2,
        json!([1, "CONNECT", {"cookie_string": "", "payload": "{\"name\":\"ann\"}"}]),
    );
    let out = h.take();
    let names: Vec<(ConnId, &str)> = out.iter().map(|(c, n, _)| (*c, n.as_str())).collect();
    assert_eq!(
        names,
        vec![(a2, "CONNECTED"), (a, "SUBSCRIBE"), (a2, "SUBSCRIBE")]
    );
}

// ----- with a webhook target: operations wait on the application -----

fn hooked() -> Harness {
    Harness {
        hub: Hub::new(HubConfig {
            webhooks: true,
            ..HubConfig::default()
        }),
        next_conn: 0,
    }
}

/// Drains effects, returning the webhook calls and the frames separately.
fn split(h: &mut Harness) -> (Vec<WebhookCall>, Vec<(ConnId, String, Value)>) {
    let mut effects = Vec::new();
    h.hub.drain_effects(&mut effects);
    let mut calls = Vec::new();
    let mut frames = Vec::new();
    for e in effects {
        match e {
            Effect::Webhook(c) => calls.push(c),
            Effect::Send { to, frame } => {
                let v: Value = serde_json::from_slice(&frame.to_line(0)).unwrap();
                frames.push((to, v[1].as_str().unwrap().to_string(), v[2].clone()));
            }
            _ => {}
        }
    }
    (calls, frames)
}

fn allow(options: Value) -> crate::webhook::HookResult {
    crate::webhook::HookResult {
        answer: crate::webhook::HookAnswer::Allow(options.as_object().unwrap().clone()),
        set_cookie: None,
    }
}

#[test]
fn frames_wait_behind_a_pending_connect_and_keep_their_order() {
    let mut h = hooked();
    let c = h.open();
    h.send(
        c,
        json!([1, "CONNECT", {"cookie_string": "a=b", "payload": "{\"x\": 1}"}]),
    );
    h.send(c, json!([2, "SUBSCRIBE", {"channel_name": "ch"}]));
    h.send(
        c,
        json!([3, "PUBLISH", {"channel_name": "ch", "payload": "5"}]),
    );
    let (calls, frames) = split(&mut h);
    assert!(frames.is_empty(), "nothing before the answer: {frames:?}");
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].hook, crate::webhook::Hook::Connect);
    assert_eq!(calls[0].cookie.as_deref(), Some("a=b"));
    assert_eq!(
        calls[0].fields,
        vec![
            ("conn_id".to_string(), c.to_string()),
            ("payload".to_string(), "{\"x\": 1}".to_string())
        ]
    );
    h.hub
        .webhook_done(calls[0].id, allow(json!({"name": "ann"})), T0);
    // CONNECTED, then SUBSCRIBE goes on and asks create_channel.
    let (calls, frames) = split(&mut h);
    assert_eq!(frames[0].1, "CONNECTED");
    assert_eq!(calls[0].hook, crate::webhook::Hook::CreateChannel);
    h.hub
        .webhook_done(calls[0].id, allow(json!({"history_size": 2})), T0);
    let (calls, _) = split(&mut h);
    assert_eq!(calls[0].hook, crate::webhook::Hook::Subscribe);
    h.hub.webhook_done(calls[0].id, allow(json!({})), T0);
    let (calls, frames) = split(&mut h);
    assert_eq!(frames[0].1, "SUBSCRIBE");
    assert_eq!(frames[0].2["history_size"], json!(2));
    // Only now the PUBLISH is looked at.
    assert_eq!(calls[0].hook, crate::webhook::Hook::Publish);
    h.hub
        .webhook_done(calls[0].id, crate::webhook::HookResult::deny("not now"), T0);
    let (_, frames) = split(&mut h);
    assert_eq!(
        frames,
        vec![(c, "ERROR".to_string(), json!({"id": 3, "msg": "not now"}))]
    );
}

#[test]
fn other_connections_go_on_while_one_waits() {
    let mut h = hooked();
    let a = h.open();
    let b = h.open();
    h.send(a, json!([1, "CONNECT", {"cookie_string": ""}]));
    h.send(b, json!([1, "CONNECT", {"cookie_string": ""}]));
    let (calls, _) = split(&mut h);
    assert_eq!(calls.len(), 2);
    h.hub
        .webhook_done(calls[1].id, allow(json!({"name": "bob"})), T0);
    let (_, frames) = split(&mut h);
    assert_eq!(
        frames,
        vec![(
            b,
            "CONNECTED".to_string(),
            json!({"name": "bob", "payload": null})
        )]
    );
    // A connection that goes while its hook is out is simply forgotten when it answers.
    h.hub.closed(a, T0);
    h.hub
        .webhook_done(calls[0].id, allow(json!({"name": "ann"})), T0);
    assert!(h.hub.user("ann").is_none());
}

#[test]
fn an_emptied_channel_stays_until_the_application_agrees() {
    let mut h = hooked();
    let c = h.open();
    h.send(c, json!([1, "CONNECT", {"cookie_string": ""}]));
    let (calls, _) = split(&mut h);
    h.hub.webhook_done(
        calls[0].id,
        allow(json!({"name": "ann", "auto_subscribe": ["news"]})),
        T0,
    );
    let (_, frames) = split(&mut h);
    assert_eq!(frames[1].1, "SUBSCRIBE", "auto_subscribe asks nobody");
    h.hub.closed(c, T0);
    let (calls, _) = split(&mut h);
    let hooks: Vec<_> = calls.iter().map(|c| c.hook).collect();
    assert_eq!(
        hooks,
        [
            crate::webhook::Hook::DestroyChannel,
            crate::webhook::Hook::Disconnect
        ]
    );
    assert!(h.hub.channel("news").is_some());
    h.hub.webhook_done(calls[0].id, allow(json!({})), T0);
    assert!(h.hub.channel("news").is_none());
}

#[test]
fn a_watcher_sees_a_channels_frames_without_being_in_it() {
    let mut h = Harness::new();
    let admin = ConnId(999);
    h.hub.watch(admin, "c", true);
    let a = h.connect("ann");
    // Not presenceful: only the watcher hears of the join, and ann gets her own frame.
    let out = h.subscribe(a, "c");
    let names: Vec<(ConnId, &str)> = out.iter().map(|(c, n, _)| (*c, n.as_str())).collect();
    assert_eq!(names, vec![(admin, "SUBSCRIBE"), (a, "SUBSCRIBE")]);
    assert_eq!(out[0].2["user"], json!("ann"));
    h.send(
        a,
        json!([5, "PUBLISH", {"channel_name": "c", "payload": "1"}]),
    );
    let out = h.take();
    let to: Vec<ConnId> = out.iter().map(|(c, _, _)| *c).collect();
    assert_eq!(to, vec![a, admin]);
    // Another channel is not shown; nor anything after unwatching.
    h.subscribe(a, "d");
    h.send(
        a,
        json!([6, "PUBLISH", {"channel_name": "d", "payload": "2"}]),
    );
    assert!(h.take().iter().all(|(c, _, _)| *c == a));
    h.hub.unwatch_all(admin);
    h.send(
        a,
        json!([7, "PUBLISH", {"channel_name": "c", "payload": "3"}]),
    );
    assert!(h.take().iter().all(|(c, _, _)| *c == a));
    // The watcher is no subscriber.
    let info = h.hub.api_channel_info("c", T0).unwrap();
    assert_eq!(info["subscribers"], json!(["ann"]));
}
