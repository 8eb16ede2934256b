//! Webhooks against a real application: an HTTP server started by the test that records
//! every call and answers as each test says.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::app::*;
use common::*;
use serde_json::{json, Value};

fn start(app: &App, extra: &[&str]) -> Server {
    let mut args: Vec<String> = app.flags();
    args.extend(extra.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    Server::start(&args)
}

/// The usual application: names users after their payload, allows everything.
fn allow_all(call: &Call) -> Answer {
    match call.action() {
        "connect" => {
            let payload: Value = serde_json::from_str(call.field("payload").unwrap_or("null"))
                .unwrap_or(Value::Null);
            let name = payload["name"].as_str().unwrap_or("someone").to_string();
            ok(json!([true, {"name": name}]))
        }
        _ => ok(json!([true, {}])),
    }
}

fn connect_as(server: &Server, name: &str, cookie: &str) -> Client {
    let mut c = Client::open(server);
    let payload = json!({ "name": name }).to_string();
    c.send(
        "CONNECT",
        json!({"cookie_string": cookie, "payload": payload}),
    );
    c
}

#[test]
fn connect_hook_fields_headers_and_answers() {
    let app = App::start(|call| {
        let payload: Value = serde_json::from_str(call.field("payload").unwrap_or("null")).unwrap();
        match payload["as"].as_str() {
            Some("deny") => ok(json!([false, {"error": "no entry"}])),
            Some("deny-quiet") => ok(json!([false, {}])),
            Some("nameless") => ok(json!([true, {}])),
            Some("cookie") => Answer {
                set_cookie: Some("sid=abc; Path=/".into()),
                ..ok(json!([true, {"name": "baked", "override_payload": {"changed": true}}]))
            },
            _ => ok(json!([true, {"name": "ann"}])),
        }
    });
    let server = start(&app, &["-s", "sekrit"]);
    // Fields and headers, through a raw socket that says where it comes from.
    let mut s = connect(server.addr);
    s.write_all(b"GET /ws HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nX-Forwarded-For: 203.0.113.9, 10.0.0.1\r\n\r\n").unwrap();
    assert_eq!(read_response(&mut s, true).status, 101);
    let line = json!([1, "CONNECT", {"cookie_string": "a=1; b=2", "payload": "{\"x\": [1, 2]}"}])
        .to_string()
        + "\r\n";
    s.write_all(&masked_frame(true, 1, line.as_bytes()))
        .unwrap();
    let (_, _, text) = read_ws_frame(&mut s).unwrap();
    let text = String::from_utf8(text).unwrap();
    assert!(
        text.contains("\"CONNECTED\", {\"name\": \"ann\", \"payload\": {\"x\": [1, 2]}}"),
        "{text}"
    );
    let call = app.wait_call("connect");
    assert_eq!(call.path, "/hookbox/connect");
    assert_eq!(call.field("payload"), Some("{\"x\": [1, 2]}"));
    assert_eq!(call.field("secret"), Some("sekrit"));
    let conn_id = call.field("conn_id").unwrap();
    assert_eq!(conn_id.len(), 16);
    assert_eq!(call.header("cookie"), Some("a=1; b=2"));
    assert_eq!(call.header("x-real-ip"), Some("203.0.113.9"));
    assert_eq!(
        call.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    let info = server.rest("get_user_info", &[("user_name", "ann")]);
    assert_eq!(info[1]["connections"], json!([conn_id]));

    let try_as = |what: &str| {
        let mut c = Client::open(&server);
        let id = c.send(
            "CONNECT",
            json!({"cookie_string": "", "payload": json!({"as": what}).to_string()}),
        );
        (id, c)
    };
    let (id, mut c) = try_as("deny");
    assert_eq!(c.expect("ERROR")[2], json!({"id": id, "msg": "no entry"}));
    let (id, mut c) = try_as("deny-quiet");
    assert_eq!(
        c.expect("ERROR")[2],
        json!({"id": id, "msg": "Unauthorized"})
    );
    let (_, mut c) = try_as("nameless");
    assert_eq!(
        c.expect("ERROR")[2]["msg"],
        json!("Unauthorized (missing name parameter in server response)")
    );
    // Denied, the connection can try again.
    c.send("CONNECT", json!({"cookie_string": "", "payload": "{}"}));
    assert_eq!(c.expect("CONNECTED")[2]["name"], json!("ann"));
    let (_, mut c) = try_as("cookie");
    assert_eq!(
        c.expect("SET_COOKIE")[2],
        json!({"cookie": "sid=abc; Path=/"})
    );
    assert_eq!(
        c.expect("CONNECTED")[2],
        json!({"name": "baked", "payload": {"changed": true}})
    );
}

#[test]
fn only_the_named_cookie_with_c_and_hook_paths() {
    let app = App::start(allow_all);
    let server = start(
        &app,
        &[
            "-c",
            "sid",
            "--cbpath",
            "/app/hooks",
            "--cb-connect",
            "login",
            "--cbtrailingslash",
        ],
    );
    let mut c = connect_as(&server, "ann", "theme=dark; sid=s3cr3t; x=y");
    c.expect("CONNECTED");
    let call = app.wait_call("connect");
    assert_eq!(call.path, "/app/hooks/login/");
    assert_eq!(call.header("cookie"), Some("sid=s3cr3t"));
    assert_eq!(call.field("secret"), None);
}

#[test]
fn failures_are_denials_with_their_messages() {
    // Nothing listens on this port.
    let dead = TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_port = dead.local_addr().unwrap().port();
    drop(dead);
    let server = Server::start(&["--cbport", &dead_port.to_string()]);
    let mut c = connect_as(&server, "ann", "");
    let msg = c.expect("ERROR")[2]["msg"].as_str().unwrap().to_string();
    assert_eq!(
        msg,
        format!("failure: Connection refused for HTTP request to http://127.0.0.1:{dead_port}/hookbox/connect")
    );

    let app = App::start(|call| {
        let payload: Value = serde_json::from_str(call.field("payload").unwrap()).unwrap();
        match payload["as"].as_str().unwrap() {
            "500" => Answer {
                status: 500,
                ..ok(json!("boom"))
            },
            "garbage" => Answer {
                body: "<html>".into(),
                ..ok(json!(null))
            },
            "shape" => ok(json!([true])),
            "notobject" => ok(json!([true, 3])),
            "slow" => Answer {
                delay: Duration::from_secs(3),
                ..ok(json!([true, {"name": "late"}]))
            },
            _ => ok(json!([true, {"name": "x"}])),
        }
    });
    let server = start(&app, &["--webhook-timeout", "0.5"]);
    let url = format!("http://127.0.0.1:{}/hookbox/connect", app.addr.port());
    for (what, want) in [
        (
            "500",
            format!("Invalid callback response, status=500 ({url}), body: \"boom\""),
        ),
        ("garbage", "Invalid json: <html>".to_string()),
        (
            "shape",
            "Invalid response (expected json list of length 2)".to_string(),
        ),
        (
            "notobject",
            "Invalid response (expected json object in response index 1)".to_string(),
        ),
        ("slow", "webhook timeout".to_string()),
    ] {
        let mut c = Client::open(&server);
        c.send(
            "CONNECT",
            json!({"cookie_string": "", "payload": json!({"as": what}).to_string()}),
        );
        assert_eq!(c.expect("ERROR")[2]["msg"], json!(want), "{what}");
    }
}

#[test]
fn channel_hooks_and_what_their_answers_do() {
    let app = App::start(|call| match (call.action(), call.field("channel_name")) {
        ("create_channel", Some("room")) => {
            ok(json!([true, {"presenceful": true, "history_size": 10}]))
        }
        ("create_channel", Some("forbidden")) => ok(json!([false, {"error": "no such room"}])),
        ("create_channel", Some("badopts")) => ok(json!([true, {"history_size": "lots"}])),
        ("subscribe", Some("room")) => ok(json!([true, {"initial_data": {"welcome": "hi"}}])),
        ("subscribe", Some("vip")) => ok(json!([false, {"error": "members only"}])),
        ("publish", _) => {
            let payload: Value = serde_json::from_str(call.field("payload").unwrap()).unwrap();
            match payload.as_str() {
                Some("bad word") => ok(json!([true, {"override_payload": "***"}])),
                Some("secret") => ok(json!([true, {"only_to_sender": true}])),
                Some("spam") => ok(json!([false, {"error": "no spam"}])),
                _ => ok(json!([true, {}])),
            }
        }
        ("unsubscribe", _) => ok(json!([false, {"error": "you stay"}])),
        ("destroy_channel", Some("room")) => ok(json!([false, {}])),
        _ => allow_all(call),
    });
    let server = start(&app, &[]);
    let mut ann = connect_as(&server, "ann", "k=v");
    ann.expect("CONNECTED");
    let mut bob = connect_as(&server, "bob", "");
    bob.expect("CONNECTED");

    ann.send("SUBSCRIBE", json!({"channel_name": "room"}));
    let own = ann.expect("SUBSCRIBE");
    assert_eq!(own[2]["initial_data"], json!({"welcome": "hi"}));
    assert_eq!(own[2]["history_size"], json!(10));
    assert_eq!(own[2]["presence"], json!(["ann"]));
    let create = app.wait_call("create_channel");
    assert_eq!(create.field("channel_name"), Some("room"));
    assert_eq!(create.header("cookie"), Some("k=v"));
    let sub = app.wait_call("subscribe");
    assert_eq!(
        (sub.field("channel_name"), sub.field("user")),
        (Some("room"), Some("ann"))
    );

    for (channel, msg) in [
        ("forbidden", "no such room"),
        ("vip", "members only"),
        ("badopts", "Invalid type for option history_size"),
    ] {
        let id = bob.send("SUBSCRIBE", json!({"channel_name": channel}));
        assert_eq!(
            bob.expect("ERROR")[2],
            json!({"id": id, "msg": msg}),
            "{channel}"
        );
    }
    bob.send("SUBSCRIBE", json!({"channel_name": "room"}));
    bob.expect("SUBSCRIBE");
    assert_eq!(ann.expect("SUBSCRIBE")[2]["user"], json!("bob"));

    ann.send(
        "PUBLISH",
        json!({"channel_name": "room", "payload": "\"bad word\""}),
    );
    assert_eq!(bob.expect("PUBLISH")[2]["payload"], json!("***"));
    assert_eq!(ann.expect("PUBLISH")[2]["payload"], json!("***"));
    let publish = app.wait_call("publish");
    assert_eq!(publish.field("payload"), Some("\"bad word\""));
    assert_eq!(publish.field("originator"), Some("ann"));
    let id = ann.send(
        "PUBLISH",
        json!({"channel_name": "room", "payload": "\"spam\""}),
    );
    assert_eq!(ann.expect("ERROR")[2], json!({"id": id, "msg": "no spam"}));
    ann.send(
        "PUBLISH",
        json!({"channel_name": "room", "payload": "\"secret\""}),
    );
    assert_eq!(ann.expect("PUBLISH")[2]["payload"], json!("secret"));
    // Only ann got that one: bob's next frame is the next publish.
    server.rest(
        "publish",
        &[("channel_name", "room"), ("payload", "\"after\"")],
    );
    assert_eq!(bob.expect("PUBLISH")[2]["payload"], json!("after"));
    assert_eq!(ann.expect("PUBLISH")[2]["payload"], json!("after"));

    let id = bob.send("UNSUBSCRIBE", json!({"channel_name": "room"}));
    assert_eq!(bob.expect("ERROR")[2], json!({"id": id, "msg": "you stay"}));

    // The application keeps an emptied channel when it answers false.
    drop(bob);
    assert_eq!(ann.expect("UNSUBSCRIBE")[2]["user"], json!("bob"));
    let gone = app.wait_call("disconnect");
    assert_eq!(gone.field("name"), Some("bob"));
    drop(ann);
    let destroy = app.wait_call("destroy_channel");
    assert_eq!(destroy.field("channel_name"), Some("room"));
    let info = server.rest("get_channel_info", &[("channel_name", "room")]);
    assert_eq!(info[0], json!(true), "kept: {info}");
    assert_eq!(info[1]["subscribers"], json!([]));
}

#[test]
fn message_hook_and_its_overrides() {
    let app = App::start(|call| match call.action() {
        "message" => {
            let payload: Value = serde_json::from_str(call.field("payload").unwrap()).unwrap();
            match payload.as_str() {
                Some("redirect") => ok(
                    json!([true, {"override_recipient_name": "cat", "override_payload": "for cat"}]),
                ),
                Some("no") => ok(json!([false, {"error": "not allowed"}])),
                _ => ok(json!([true, {}])),
            }
        }
        _ => allow_all(call),
    });
    let server = start(&app, &[]);
    let mut ann = connect_as(&server, "ann", "");
    ann.expect("CONNECTED");
    let mut bob = connect_as(&server, "bob", "");
    bob.expect("CONNECTED");
    let mut cat = connect_as(&server, "cat", "");
    cat.expect("CONNECTED");
    ann.send("MESSAGE", json!({"name": "bob", "payload": "\"hello\""}));
    assert_eq!(bob.expect("MESSAGE")[2]["payload"], json!("hello"));
    let call = app.wait_call("message");
    assert_eq!(
        (
            call.field("sender"),
            call.field("recipient"),
            call.field("recipient_exists"),
            call.field("payload")
        ),
        (Some("ann"), Some("bob"), Some("true"), Some("\"hello\""))
    );
    ann.send(
        "MESSAGE",
        json!({"name": "nobody", "payload": "\"redirect\""}),
    );
    let m = cat.expect("MESSAGE");
    assert_eq!(
        (m[2]["recipient"].clone(), m[2]["payload"].clone()),
        (json!("cat"), json!("for cat"))
    );
    let id = ann.send("MESSAGE", json!({"name": "bob", "payload": "\"no\""}));
    // ann's echo of the first message comes first, then the errors in order.
    assert_eq!(ann.expect("MESSAGE")[2]["recipient"], json!("bob"));
    assert_eq!(ann.expect("MESSAGE")[2]["recipient"], json!("cat"));
    assert_eq!(
        ann.expect("ERROR")[2],
        json!({"id": id, "msg": "not allowed"})
    );
}

#[test]
fn rest_send_hook_waits_for_the_application() {
    let app = App::start(|call| match call.action() {
        "publish" if call.field("payload") == Some("\"deny\"") => {
            ok(json!([false, {"error": "refused by app"}]))
        }
        "publish" => ok(json!([true, {"override_payload": "from app"}])),
        "create_channel" => ok(json!([true, {"history_size": 3}])),
        "destroy_channel" => ok(json!([false, {"error": "keep it"}])),
        _ => allow_all(call),
    });
    let server = start(&app, &[]);
    let mut ann = connect_as(&server, "ann", "");
    ann.expect("CONNECTED");
    assert_eq!(
        server.rest(
            "create_channel",
            &[
                ("channel_name", "r"),
                ("send_hook", "1"),
                ("reflective", "false")
            ]
        ),
        json!([true, {}])
    );
    let info = server.rest("get_channel_info", &[("channel_name", "r")]);
    assert_eq!(
        (
            info[1]["options"]["history_size"].clone(),
            info[1]["options"]["reflective"].clone()
        ),
        (json!(3), json!(false))
    );
    server.rest("subscribe", &[("channel_name", "r"), ("name", "ann")]);
    ann.expect("SUBSCRIBE");
    assert_eq!(
        server.rest(
            "publish",
            &[("channel_name", "r"), ("payload", "1"), ("send_hook", "1")]
        ),
        json!([true, {}])
    );
    assert_eq!(ann.expect("PUBLISH")[2]["payload"], json!("from app"));
    assert_eq!(
        server.rest(
            "publish",
            &[
                ("channel_name", "r"),
                ("payload", "\"deny\""),
                ("send_hook", "1")
            ]
        ),
        json!([false, {"msg": "refused by app"}])
    );
    // Without send_hook the application is not asked.
    let before = app.calls().len();
    server.rest("publish", &[("channel_name", "r"), ("payload", "2")]);
    assert_eq!(ann.expect("PUBLISH")[2]["payload"], json!(2));
    assert_eq!(app.calls().len(), before);
    assert_eq!(
        server.rest(
            "destroy_channel",
            &[("channel_name", "r"), ("send_hook", "1")]
        ),
        json!([false, {"msg": "keep it"}])
    );
    assert_eq!(
        server.rest(
            "publish_multi",
            &[
                ("channel_names", "r,none"),
                ("payload", "3"),
                ("send_hook", "1")
            ]
        ),
        json!([true, {}])
    );
    assert_eq!(ann.expect("PUBLISH")[2]["payload"], json!("from app"));
}

#[test]
fn a_single_url_app_in_the_shape_of_hookboxs_php_chat() {
    // One URL, dispatching on `action`, as the PHP chat example does: names from the connect
    // payload, channel options from create_channel, everything else allowed.
    let app = App::start(|call| match call.action() {
        "connect" => {
            let payload: Value = serde_json::from_str(call.field("payload").unwrap_or("null"))
                .unwrap_or(Value::Null);
            match payload["user"].as_str() {
                Some(u) => ok(json!([true, {"name": u}])),
                None => ok(json!([false, {"error": "log in first"}])),
            }
        }
        "create_channel" => {
            ok(json!([true, {"presenceful": true, "history_size": 20, "reflective": true}]))
        }
        _ => ok(json!([true, {}])),
    });
    let url = format!("http://127.0.0.1:{}/chat/hookbox.php", app.addr.port());
    let server = Server::start(&["--cb-single-url", &url]);
    let mut alice = Client::open(&server);
    alice.send(
        "CONNECT",
        json!({"cookie_string": "", "payload": "{\"user\": \"alice\"}"}),
    );
    assert_eq!(alice.expect("CONNECTED")[2]["name"], json!("alice"));
    alice.send("SUBSCRIBE", json!({"channel_name": "chat"}));
    assert_eq!(alice.expect("SUBSCRIBE")[2]["history_size"], json!(20));
    alice.send(
        "PUBLISH",
        json!({"channel_name": "chat", "payload": "{\"text\": \"anyone?\"}"}),
    );
    alice.expect("PUBLISH");
    let mut carol = Client::open(&server);
    carol.send(
        "CONNECT",
        json!({"cookie_string": "", "payload": "{\"user\": \"carol\"}"}),
    );
    carol.expect("CONNECTED");
    carol.send("SUBSCRIBE", json!({"channel_name": "chat"}));
    let own = carol.expect("SUBSCRIBE");
    assert_eq!(own[2]["presence"], json!(["alice", "carol"]));
    let history = own[2]["history"].as_array().unwrap();
    assert!(history
        .iter()
        .any(|h| h[0] == json!("PUBLISH") && h[1]["payload"]["text"] == json!("anyone?")));
    let mut eve = Client::open(&server);
    eve.send("CONNECT", json!({"cookie_string": "", "payload": "{}"}));
    assert_eq!(eve.expect("ERROR")[2]["msg"], json!("log in first"));
    for call in app.calls() {
        assert_eq!(call.path, "/chat/hookbox.php");
    }
    let actions: Vec<String> = app.calls().iter().map(|c| c.action().to_string()).collect();
    for a in ["connect", "create_channel", "subscribe", "publish"] {
        assert!(actions.iter().any(|x| x == a), "{a} in {actions:?}");
    }
}

#[test]
fn a_slow_webhook_holds_back_only_its_own_connection() {
    let app = App::start(|call| match (call.action(), call.field("channel_name")) {
        ("subscribe", Some("slow")) => Answer {
            delay: Duration::from_secs(3),
            ..ok(json!([true, {}]))
        },
        _ => allow_all(call),
    });
    let server = start(&app, &[]);
    let mut waiting = connect_as(&server, "ann", "");
    waiting.expect("CONNECTED");
    let mut other = connect_as(&server, "bob", "");
    other.expect("CONNECTED");
    other.subscribe("fast");
    // ann's SUBSCRIBE waits 3 s on the application; her PUBLISH waits behind it.
    waiting.send("SUBSCRIBE", json!({"channel_name": "slow"}));
    waiting.send(
        "PUBLISH",
        json!({"channel_name": "slow", "payload": "\"after\""}),
    );
    app.wait_call("subscribe");
    let started = std::time::Instant::now();
    other.send(
        "PUBLISH",
        json!({"channel_name": "fast", "payload": "\"now\""}),
    );
    assert_eq!(other.expect("PUBLISH")[2]["payload"], json!("now"));
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "bob waited for ann's webhook"
    );
    // Order kept: the subscription first, then her publish.
    assert_eq!(
        waiting.expect("SUBSCRIBE")[2]["channel_name"],
        json!("slow")
    );
    assert_eq!(waiting.expect("PUBLISH")[2]["payload"], json!("after"));
}

#[test]
fn a_full_queue_denies_at_once_and_everything_else_still_works() {
    let app = App::start(|call| match call.action() {
        "connect" => Answer {
            hang: true,
            ..ok(json!(null))
        },
        _ => ok(json!([true, {}])),
    });
    let server = start(&app, &["--webhook-timeout", "120"]);
    // 8 calls in the workers and 1024 waiting fill the pool; the rest are denied.
    let n = 1060;
    let mut socks: Vec<TcpStream> = (0..n)
        .map(|_| {
            let mut s = raw_ws(server.addr, "/ws");
            let line = "[1, \"CONNECT\", {\"cookie_string\": \"\"}]\r\n";
            s.write_all(&masked_frame(true, 1, line.as_bytes()))
                .unwrap();
            s
        })
        .collect();
    eventually("the workers to be stuck", || {
        (app.calls().len() >= 8).then_some(())
    });
    // The last ones were denied, at once.
    let mut denied = 0;
    for s in socks.iter_mut().rev().take(40) {
        s.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let mut b = [0u8; 2];
        if s.read_exact(&mut b).is_ok() {
            let mut rest = vec![0u8; usize::from(b[1] & 0x7f)];
            s.read_exact(&mut rest).unwrap();
            let text = String::from_utf8(rest).unwrap();
            assert!(text.contains("\"msg\": \"webhook queue full\""), "{text}");
            denied += 1;
        }
    }
    assert!((8..=40).contains(&denied), "{denied} denied");
    // REST, WebSocket (upgrade and frames before CONNECT) and CSP are served meanwhile.
    assert_eq!(server.rest("get_server_info", &[])[0], json!(true));
    let mut ws = Client::open(&server);
    let id = ws.send("SUBSCRIBE", json!({"channel_name": "x"}));
    assert_eq!(
        ws.expect("ERROR")[2],
        json!({"id": id, "msg": "Not connected"})
    );
    let csp = CspClient::handshake(&server, "");
    assert_eq!(csp.key.len(), 32);
}

#[test]
fn polled_channels_publish_what_their_url_gives() {
    let tries = Arc::new(Mutex::new(0));
    let counter = tries.clone();
    let app = App::start(move |call| {
        if call.path.starts_with("/load") {
            return ok(json!({"load": 0.5}));
        }
        if call.path.starts_with("/flaky") {
            let mut n = counter.lock().unwrap();
            *n += 1;
            if *n == 1 {
                return Answer {
                    status: 500,
                    ..ok(json!("down"))
                };
            }
            return ok(json!([true, {"payload": {"try": *n}, "history_size": 4}]));
        }
        ok(json!([true, {}]))
    });
    let server = Server::start(&[]);
    let mut watcher = Client::login(&server, "watcher");
    let base = format!("http://127.0.0.1:{}", app.addr.port());
    let polling = json!({"mode": "simple", "interval": 0.2, "url": format!("{base}/load"), "originator": "cpu"}).to_string();
    assert_eq!(
        server.rest(
            "create_channel",
            &[("channel_name", "cpu"), ("polling", &polling)]
        ),
        json!([true, {}])
    );
    watcher.subscribe("cpu");
    let p = watcher.expect("PUBLISH");
    assert_eq!(
        (p[2]["payload"].clone(), p[2]["user"].clone()),
        (json!({"load": 0.5}), json!("cpu"))
    );
    let p = watcher.expect("PUBLISH");
    assert_eq!(p[2]["seq"], json!(2), "it goes on polling");
    // Stopping: polling off, and the next frame is a marker.
    server.rest(
        "set_channel_options",
        &[("channel_name", "cpu"), ("polling", "{\"mode\": \"\"}")],
    );
    // A "once" poll that fails first backs off and tries again; its answer's options apply.
    let once = json!({"mode": "once", "interval": 0.1, "url": format!("{base}/flaky"), "form": {"k": "v"}}).to_string();
    server.rest(
        "create_channel",
        &[("channel_name", "flaky"), ("polling", &once)],
    );
    watcher.subscribe("flaky");
    let p = loop {
        let f = watcher.recv();
        if f[2]["channel_name"] == json!("flaky") {
            break f;
        }
    };
    assert_eq!(p[2]["payload"], json!({"try": 2}));
    let info = server.rest("get_channel_info", &[("channel_name", "flaky")]);
    assert_eq!(info[1]["options"]["history_size"], json!(4));
    let post = app
        .calls()
        .into_iter()
        .find(|c| c.path.starts_with("/flaky"))
        .unwrap();
    assert_eq!(post.field("k"), Some("v"));
}

#[test]
fn server_presenceful_channels_show_who_is_online() {
    let server = Server::start(&[]);
    server.rest(
        "create_channel",
        &[
            ("channel_name", "staff"),
            ("server_presenceful", "true"),
            ("server_user_presence", "[\"ann\", \"bob\"]"),
        ],
    );
    let mut watcher = Client::login(&server, "watcher");
    let s = watcher.subscribe("staff");
    assert_eq!(s[2]["state"], json!({"ann": false, "bob": false}));
    let ann = Client::login(&server, "ann");
    let u = watcher.expect("STATE_UPDATE");
    assert_eq!(u[2]["updates"], json!({"ann": true}));
    drop(ann);
    let u = watcher.expect("STATE_UPDATE");
    assert_eq!(u[2]["updates"], json!({"ann": false}));
}

#[test]
fn rest_subscribe_makes_its_channel_through_the_application() {
    let app = App::start(|call| match (call.action(), call.field("channel_name")) {
        ("create_channel", Some("no")) => ok(json!([false, {"error": "not that one"}])),
        ("create_channel", _) => ok(json!([true, {"history_size": 7}])),
        _ => allow_all(call),
    });
    let server = start(&app, &[]);
    let mut ann = connect_as(&server, "ann", "");
    ann.expect("CONNECTED");
    // As in Hookbox, a REST subscribe to a new channel runs create_channel (without
    // send_hook), and answers once it has.
    assert_eq!(
        server.rest("subscribe", &[("channel_name", "yes"), ("name", "ann")]),
        json!([true, {}])
    );
    assert_eq!(ann.expect("SUBSCRIBE")[2]["history_size"], json!(7));
    assert_eq!(
        server.rest("subscribe", &[("channel_name", "no"), ("name", "ann")]),
        json!([false, {"msg": "not that one"}])
    );
    // Nothing asks subscribe without send_hook.
    assert!(app.calls().iter().all(|c| c.action() != "subscribe"));
}
