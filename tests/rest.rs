//! Every REST method against the real binary, with its success and error answers and the
//! frames its effects send to connected clients.

mod common;

use common::*;
use serde_json::{json, Value};

fn failure(msg: &str) -> Value {
    json!([false, {"msg": msg}])
}

const OK: fn() -> Value = || json!([true, {}]);

#[test]
fn authorisation() {
    let server = Server::start_raw(&["-p", "0"]);
    let r = http_once(
        server.addr,
        b"GET /web/get_server_info HTTP/1.1\r\nHost: t\r\n\r\n",
    );
    assert_eq!(r.status, 200);
    assert!(r.json()[1]["msg"]
        .as_str()
        .unwrap()
        .starts_with("Rest api is disabled"));
    let server = Server::start(&[]);
    let r = http_once(
        server.addr,
        b"GET /web/get_server_info HTTP/1.1\r\nHost: t\r\n\r\n",
    );
    assert_eq!(r.json(), failure("Invalid Security Token"));
    let r = http_once(
        server.addr,
        b"GET /web/get_server_info?security_token=SS HTTP/1.1\r\nHost: t\r\n\r\n",
    );
    assert_eq!(r.json(), failure("Invalid Security Token"));
    let r = http_once(
        server.addr,
        b"GET /web/frobnicate?security_token=S HTTP/1.1\r\nHost: t\r\n\r\n",
    );
    assert_eq!(
        (r.status, r.json()),
        (404, failure("Unknown method frobnicate"))
    );
    assert_eq!(
        server.rest("set_config", &[("cbport", "1")]),
        failure("set_config is not supported")
    );
}

#[test]
fn publish_and_publish_multi() {
    let server = Server::start(&[]);
    let mut ann = Client::login(&server, "ann");
    ann.subscribe("a");
    ann.subscribe("b");
    assert_eq!(server.rest("publish", &[]), failure("Missing channel_name"));
    assert_eq!(
        server.rest("publish", &[("channel_name", "zz")]),
        failure("Channel zz doesn't exist")
    );
    assert_eq!(
        server.rest("publish", &[("channel_name", "a"), ("payload", "{x")]),
        failure("Invalid json for payload")
    );
    assert_eq!(
        server.rest(
            "publish",
            &[
                ("channel_name", "a"),
                ("payload", "[1]"),
                ("originator", "app")
            ]
        ),
        OK()
    );
    let p = ann.expect("PUBLISH");
    assert_eq!(
        (
            p[2]["channel_name"].clone(),
            p[2]["payload"].clone(),
            p[2]["user"].clone()
        ),
        (json!("a"), json!([1]), json!("app"))
    );
    // No payload is null.
    assert_eq!(server.rest("publish", &[("channel_name", "a")]), OK());
    assert_eq!(ann.expect("PUBLISH")[2]["payload"], Value::Null);

    assert_eq!(
        server.rest("publish_multi", &[]),
        failure("Missing channel_names")
    );
    assert_eq!(
        server.rest(
            "publish_multi",
            &[("channel_names", "a,missing,b"), ("payload", "7")]
        ),
        OK()
    );
    let first = ann.expect("PUBLISH");
    let second = ann.expect("PUBLISH");
    assert_eq!(
        (first[2]["channel_name"].clone(), first[2]["seq"].clone()),
        (json!("a"), json!(3))
    );
    assert_eq!(
        (second[2]["channel_name"].clone(), second[2]["seq"].clone()),
        (json!("b"), json!(1))
    );
}

#[test]
fn ignore_missing_channels_flag() {
    let server = Server::start(&["-x", "--demo-channel", ""]);
    assert_eq!(
        server.rest("publish", &[("channel_name", "nobody-here")]),
        OK()
    );
    let info = server.rest("get_server_info", &[]);
    assert_eq!(info[1]["channels"], json!([]));
}

#[test]
fn create_destroy_info_and_options() {
    let server = Server::start(&[]);
    assert_eq!(
        server.rest("create_channel", &[]),
        failure("Missing channel_name")
    );
    assert_eq!(
        server.rest("create_channel", &[("channel_name", "c"), ("bogus", "1")]),
        failure("Invalid option bogus")
    );
    assert_eq!(
        server.rest(
            "create_channel",
            &[("channel_name", "c"), ("presenceful", "{")]
        ),
        failure("Invalid json value for option presenceful")
    );
    assert_eq!(
        server.rest("create_channel", &[("channel_name", "bad name")]),
        failure("Invalid channel name")
    );
    assert_eq!(
        server.rest(
            "create_channel",
            &[
                ("channel_name", "c"),
                ("history_size", "2"),
                ("send_hook", "1")
            ]
        ),
        OK()
    );
    assert_eq!(
        server.rest("create_channel", &[("channel_name", "c")]),
        failure("Channel c already exists")
    );

    assert_eq!(
        server.rest("get_channel_info", &[]),
        failure("Missing channel_name")
    );
    assert_eq!(
        server.rest("get_channel_info", &[("channel_name", "n")]),
        failure("Channel n doesn't exist")
    );
    let info = server.rest("get_channel_info", &[("channel_name", "c")]);
    assert_eq!(info[1]["name"], json!("c"));
    assert_eq!(info[1]["subscribers"], json!([]));
    let o = &info[1]["options"];
    assert_eq!(o["history_size"], json!(2));
    assert_eq!(o["reflective"], json!(true));
    assert_eq!(o["moderated"], json!(true));
    assert_eq!(o["presenceful"], json!(false));
    assert_eq!(o["polling"]["interval"], json!(5));

    assert_eq!(
        server.rest("set_channel_options", &[]),
        failure("Missing channel_name")
    );
    assert_eq!(
        server.rest(
            "set_channel_options",
            &[("channel_name", "n"), ("anonymous", "true")]
        ),
        failure("Channel n doesn't exist")
    );
    assert_eq!(
        server.rest(
            "set_channel_options",
            &[("channel_name", "c"), ("anonymous", "yes")]
        ),
        failure("Invalid json value for option anonymous")
    );
    assert_eq!(
        server.rest(
            "set_channel_options",
            &[("channel_name", "c"), ("anonymous", "3")]
        ),
        failure("Invalid type for option anonymous")
    );
    assert_eq!(
        server.rest(
            "set_channel_options",
            &[("channel_name", "c"), ("anonymous", "true")]
        ),
        OK()
    );
    let mut ann = Client::login(&server, "ann");
    ann.subscribe("c");
    server.rest("publish", &[("channel_name", "c"), ("payload", "1")]);
    let p = ann.expect("PUBLISH");
    assert!(p[2].get("user").is_none(), "anonymous: {p}");

    assert_eq!(
        server.rest("destroy_channel", &[]),
        failure("Missing channel_name")
    );
    assert_eq!(
        server.rest("destroy_channel", &[("channel_name", "n")]),
        failure("Channel n doesn't exist")
    );
    assert_eq!(
        server.rest("destroy_channel", &[("channel_name", "c")]),
        OK()
    );
    assert_eq!(ann.expect("UNSUBSCRIBE")[2]["channel_name"], json!("c"));
    assert_eq!(
        server.rest("get_channel_info", &[("channel_name", "c")]),
        failure("Channel c doesn't exist")
    );
}

#[test]
fn state_keys() {
    let server = Server::start(&[]);
    server.rest(
        "create_channel",
        &[("channel_name", "s"), ("state", "{\"a\": 1}")],
    );
    let mut ann = Client::login(&server, "ann");
    assert_eq!(ann.subscribe("s")[2]["state"], json!({"a": 1}));
    assert_eq!(
        server.rest("state_set_key", &[]),
        failure("Missing channel_name")
    );
    assert_eq!(
        server.rest("state_set_key", &[("channel_name", "s")]),
        failure("Missing 'key' argument")
    );
    assert_eq!(
        server.rest("state_set_key", &[("channel_name", "s"), ("key", "b")]),
        failure("Missing 'val' argument")
    );
    assert_eq!(
        server.rest(
            "state_set_key",
            &[("channel_name", "s"), ("key", "b"), ("val", "x")]
        ),
        failure("Invalid json: \"x\"")
    );
    assert_eq!(
        server.rest(
            "state_set_key",
            &[("channel_name", "n"), ("key", "b"), ("val", "1")]
        ),
        failure("Channel n doesn't exist")
    );
    assert_eq!(
        server.rest(
            "state_set_key",
            &[("channel_name", "s"), ("key", "b"), ("val", "[true]")]
        ),
        OK()
    );
    let u = ann.expect("STATE_UPDATE");
    assert_eq!(
        u[2],
        json!({"channel_name": "s", "updates": {"b": [true]}, "deletes": []})
    );
    assert_eq!(
        server.rest("state_delete_key", &[("channel_name", "s")]),
        failure("Missing 'key' argument")
    );
    assert_eq!(
        server.rest("state_delete_key", &[("channel_name", "s"), ("key", "a")]),
        OK()
    );
    let u = ann.expect("STATE_UPDATE");
    assert_eq!(
        u[2],
        json!({"channel_name": "s", "updates": {}, "deletes": ["a"]})
    );
    let info = server.rest("get_channel_info", &[("channel_name", "s")]);
    assert_eq!(info[1]["options"]["state"], json!({"b": [true]}));
}

#[test]
fn subscribe_unsubscribe_and_message_for_users() {
    let server = Server::start(&[]);
    let mut ann = Client::login(&server, "ann");
    let mut bob = Client::login(&server, "bob");
    assert_eq!(
        server.rest("subscribe", &[("name", "ann")]),
        failure("Missing channel_name")
    );
    assert_eq!(
        server.rest("subscribe", &[("channel_name", "c")]),
        failure("Missing name")
    );
    assert_eq!(
        server.rest("subscribe", &[("channel_name", "c"), ("name", "zed")]),
        failure("User zed doesn't exist")
    );
    assert_eq!(
        server.rest("subscribe", &[("channel_name", "c"), ("name", "ann")]),
        OK()
    );
    let s = ann.expect("SUBSCRIBE");
    assert_eq!(
        (s[2]["channel_name"].clone(), s[2]["user"].clone()),
        (json!("c"), json!("ann"))
    );

    assert_eq!(
        server.rest("unsubscribe", &[("channel_name", "n"), ("name", "ann")]),
        failure("Channel n doesn't exist")
    );
    assert_eq!(
        server.rest("unsubscribe", &[("channel_name", "c"), ("name", "zed")]),
        failure("User zed doesn't exist")
    );
    assert_eq!(
        server.rest("unsubscribe", &[("channel_name", "c"), ("name", "ann")]),
        OK()
    );
    assert_eq!(ann.expect("UNSUBSCRIBE")[2]["user"], json!("ann"));

    assert_eq!(server.rest("message", &[]), failure("Missing sender_name"));
    assert_eq!(
        server.rest("message", &[("sender_name", "ann")]),
        failure("Missing recipient_name")
    );
    assert_eq!(
        server.rest(
            "message",
            &[("sender_name", "zed"), ("recipient_name", "bob")]
        ),
        failure("User zed doesn't exist")
    );
    assert_eq!(
        server.rest(
            "message",
            &[
                ("sender_name", "ann"),
                ("recipient_name", "bob"),
                ("payload", "{")
            ]
        ),
        failure("Invalid json for payload")
    );
    assert_eq!(
        server.rest(
            "message",
            &[
                ("sender_name", "ann"),
                ("recipient_name", "bob"),
                ("payload", "\"psst\"")
            ]
        ),
        OK()
    );
    let m = bob.expect("MESSAGE");
    assert_eq!(
        (m[2]["sender"].clone(), m[2]["payload"].clone()),
        (json!("ann"), json!("psst"))
    );
    assert_eq!(ann.expect("MESSAGE")[2]["recipient"], json!("bob"));
}

#[test]
fn users_and_server_info() {
    // Without the demo channel, which open mode makes.
    let server = Server::start(&["--demo-channel", ""]);
    let mut ann = Client::login(&server, "ann");
    ann.subscribe("z");
    ann.subscribe("a");
    assert_eq!(
        server.rest("get_user_info", &[]),
        failure("Missing user_name")
    );
    assert_eq!(
        server.rest("get_user_info", &[("user_name", "zed")]),
        failure("User zed doesn't exist")
    );
    let info = server.rest("get_user_info", &[("user_name", "ann")]);
    assert_eq!(info[1]["name"], json!("ann"));
    assert_eq!(info[1]["channels"], json!(["a", "z"]));
    let conn_id = info[1]["connections"][0].as_str().unwrap().to_string();
    assert_eq!(conn_id.len(), 16);
    assert_eq!(info[1]["options"]["reflective"], json!(true));

    assert_eq!(
        server.rest("set_user_options", &[]),
        failure("Missing user_name")
    );
    assert_eq!(
        server.rest(
            "set_user_options",
            &[("user_name", "ann"), ("reflective", "nope")]
        ),
        failure("Invalid json value for option reflective")
    );
    assert_eq!(
        server.rest("set_user_options", &[("user_name", "ann"), ("colour", "1")]),
        failure("Invalid option colour")
    );
    assert_eq!(
        server.rest(
            "set_user_options",
            &[("user_name", "ann"), ("reflective", "false")]
        ),
        OK()
    );
    let info = server.rest("get_user_info", &[("user_name", "ann")]);
    assert_eq!(info[1]["options"]["reflective"], json!(false));

    let s = server.rest("get_server_info", &[]);
    assert_eq!(s[1]["channels"], json!(["a", "z"]));
    assert_eq!(s[1]["connections"], json!([conn_id]));
}

#[test]
fn disconnect_by_user_name_or_connection_id() {
    let server = Server::start(&[]);
    let mut ann = Client::login(&server, "ann");
    let mut bob = Client::login(&server, "bob");
    assert_eq!(
        server.rest("disconnect", &[]),
        failure("Missing identifier")
    );
    assert_eq!(
        server.rest("disconnect", &[("identifier", "nobody")]),
        failure("No user or connection nobody")
    );
    assert_eq!(server.rest("disconnect", &[("identifier", "ann")]), OK());
    assert_eq!(
        ann.expect_close(),
        (1000, "disconnected by the application".into())
    );
    let info = server.rest("get_user_info", &[("user_name", "bob")]);
    let id = info[1]["connections"][0].as_str().unwrap().to_string();
    assert_eq!(server.rest("disconnect", &[("identifier", &id)]), OK());
    assert_eq!(bob.expect_close().0, 1000);
    assert_eq!(
        server.rest("get_server_info", &[])[1]["connections"],
        json!([])
    );
}
