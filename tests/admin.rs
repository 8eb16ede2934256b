//! The admin console over HTTP and its live feed, against the real server.

mod common;

use std::io::Write;
use std::net::{SocketAddr, TcpStream};

use common::app::*;
use common::*;
use serde_json::{json, Value};

const PASSWORD: &str = "hunter2";

fn post(addr: SocketAddr, path: &str, token: Option<&str>, body: &str) -> HttpResponse {
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    let req = format!(
        "POST {path} HTTP/1.1\r\nHost: t\r\n{auth}Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    http_once(addr, req.as_bytes())
}

fn get(addr: SocketAddr, path: &str, token: Option<&str>) -> HttpResponse {
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    let req = format!("GET {path} HTTP/1.1\r\nHost: t\r\n{auth}Connection: close\r\n\r\n");
    http_once(addr, req.as_bytes())
}

fn login(server: &Server) -> String {
    let r = post(
        server.addr,
        "/admin/login",
        None,
        &form(&[("password", PASSWORD)]),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let token = r.json()["token"].as_str().unwrap().to_string();
    assert_eq!(token.len(), 32);
    assert!(token.bytes().all(|b| b.is_ascii_hexdigit()));
    token
}

/// `[true, info]` from an admin API call, returning `info`.
fn api(server: &Server, token: &str, name: &str, fields: &[(&str, &str)]) -> Value {
    let r = post(
        server.addr,
        &format!("/admin/api/{name}"),
        Some(token),
        &form(fields),
    );
    assert_eq!(r.status, 200, "{name}: {}", r.text());
    let v = r.json();
    assert_eq!(v[0], json!(true), "{name}: {v}");
    v[1].clone()
}

/// The console's live feed, logged in.
struct Feed {
    s: TcpStream,
}

impl Feed {
    fn open(server: &Server, token: &str) -> Feed {
        let mut s = raw_ws(server.addr, "/admin/ws");
        let hello = json!({ "token": token }).to_string();
        s.write_all(&masked_frame(true, 1, hello.as_bytes()))
            .unwrap();
        let mut feed = Feed { s };
        let first = feed.next();
        assert_eq!(first["type"], json!("hello"), "{first}");
        feed
    }

    fn send(&mut self, v: Value) {
        let text = v.to_string();
        self.s
            .write_all(&masked_frame(true, 1, text.as_bytes()))
            .unwrap();
    }

    /// The next text message, as JSON.
    fn next(&mut self) -> Value {
        loop {
            match read_ws_frame(&mut self.s) {
                Some((true, 1, p)) => return serde_json::from_slice(&p).unwrap(),
                Some((_, 9 | 10, _)) => continue,
                other => panic!("unexpected frame {other:?}"),
            }
        }
    }

    /// Reads until a message `f` picks.
    fn until(&mut self, what: &str, f: impl Fn(&Value) -> bool) -> Value {
        for _ in 0..1000 {
            let v = self.next();
            if f(&v) {
                return v;
            }
        }
        panic!("no {what} on the feed");
    }
}

fn is_frame(v: &Value, name: &str) -> bool {
    v.is_array() && v[1] == json!(name)
}

#[test]
fn the_console_is_off_without_a_password() {
    let server = Server::start(&[]);
    assert_eq!(get(server.addr, "/admin", None).status, 404);
    assert_eq!(get(server.addr, "/admin/admin.js", None).status, 404);
    let r = post(server.addr, "/admin/login", None, "password=x");
    assert_eq!(r.status, 404);
    assert_eq!(get(server.addr, "/admin/api/overview", None).status, 404);
    let mut s = connect(server.addr);
    s.write_all(b"GET /admin/ws HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n").unwrap();
    assert_eq!(read_response(&mut s, false).status, 404);
}

#[test]
fn login_takes_the_password_in_a_post_body_and_is_rate_limited() {
    let server = Server::start(&["-a", PASSWORD]);
    let page = get(server.addr, "/admin", None);
    assert_eq!(page.status, 200);
    assert!(page.text().contains("/admin/admin.js"));
    assert_eq!(get(server.addr, "/admin/admin.js", None).status, 200);
    // Never in a URL.
    let r = get(
        server.addr,
        &format!("/admin/login?password={PASSWORD}"),
        None,
    );
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), Some("POST"));

    let r = post(server.addr, "/admin/login", None, "password=wrong");
    assert_eq!(r.status, 401);
    assert_eq!(r.json(), json!({"error": "wrong password"}));
    let token = login(&server);
    // A JSON body works too.
    let body = json!({ "password": PASSWORD }).to_string();
    let req = format!(
        "POST /admin/login HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let r = http_once(server.addr, req.as_bytes());
    assert_eq!(r.status, 200);
    assert_ne!(r.json()["token"].as_str().unwrap(), token);
    // Five attempts a minute from one address, right or wrong; then 429 even for the right one.
    assert_eq!(
        post(server.addr, "/admin/login", None, "password=a").status,
        401
    );
    assert_eq!(
        post(server.addr, "/admin/login", None, "password=b").status,
        401
    );
    let r = post(
        server.addr,
        "/admin/login",
        None,
        &form(&[("password", PASSWORD)]),
    );
    assert_eq!(r.status, 429);
    let wait: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    assert!(r.json()["error"]
        .as_str()
        .unwrap()
        .starts_with("too many login attempts"));
    eventually("the refusal in the log", || {
        let log = server.log.lock().unwrap();
        log.iter()
            .any(|l| l.contains("admin login from 127.0.0.1 refused: too many attempts"))
            .then_some(())
    });

    // The API wants a live token.
    let r = get(server.addr, "/admin/api/overview", None);
    assert_eq!(r.status, 401);
    assert_eq!(r.json(), json!({"error": "log in first"}));
    let r = get(
        server.addr,
        "/admin/api/overview",
        Some("0123456789abcdef0123456789abcdef"),
    );
    assert_eq!(r.status, 401);
    let r = get(server.addr, "/admin/api/overview", Some(&token));
    assert_eq!(r.status, 200);
    let info = &r.json()[1];
    assert_eq!(info["connections"], json!(0));
    assert_eq!(info["channels"], json!(1), "the demo channel");
    assert_eq!(info["published"], json!(0));
}

#[test]
fn views_list_channels_users_connections_and_act_on_them() {
    let server = Server::start(&["-a", PASSWORD, "--demo-channel", ""]);
    let token = login(&server);
    let mut ann = Client::login(&server, "ann");
    ann.subscribe("room");

    let channels = api(&server, &token, "channels", &[]);
    assert_eq!(
        channels,
        json!([{"name": "room", "subscribers": 1, "seq": 0, "history": 0,
                "presenceful": false, "moderated": true, "polling": ""}])
    );
    assert_eq!(
        api(&server, &token, "users", &[]),
        json!([{"name": "ann", "connections": 1, "channels": ["room"]}])
    );
    let conns = api(&server, &token, "connections", &[]);
    assert_eq!(conns.as_array().unwrap().len(), 1);
    assert_eq!(conns[0]["user"], json!("ann"));
    assert_eq!(conns[0]["remote_addr"], json!("127.0.0.1"));
    assert_eq!(conns[0]["waiting"], json!(false));

    // REST methods without the API token; a publish is the admin's unless it says otherwise.
    api(
        &server,
        &token,
        "publish",
        &[
            ("channel_name", "room"),
            ("payload", r#"{"text": "behave"}"#),
        ],
    );
    let f = ann.expect("PUBLISH");
    assert_eq!(f[2]["user"], json!("admin"));
    assert_eq!(f[2]["payload"], json!({"text": "behave"}));
    api(
        &server,
        &token,
        "set_channel_options",
        &[("channel_name", "room"), ("history_size", "3")],
    );
    let info = api(
        &server,
        &token,
        "get_channel_info",
        &[("channel_name", "room")],
    );
    assert_eq!(info["options"]["history_size"], json!(3));
    let overview = api(&server, &token, "overview", &[]);
    assert_eq!(overview["published"], json!(1));
    assert_eq!(overview["users"], json!(1));

    // Kicking a user closes their connections.
    api(&server, &token, "disconnect", &[("identifier", "ann")]);
    assert_eq!(ann.expect_close().0, 1000);
    eventually("ann gone", || {
        (api(&server, &token, "users", &[]) == json!([])).then_some(())
    });
    // A failure reads as a REST failure.
    let r = post(
        server.addr,
        "/admin/api/get_channel_info",
        Some(&token),
        "channel_name=nope",
    );
    assert_eq!(r.json()[0], json!(false));
    let r = get(server.addr, "/admin/api/no_such_view", Some(&token));
    assert_eq!(r.status, 404);
}

#[test]
fn the_live_feed_wants_a_token_then_follows_a_channel() {
    let server = Server::start(&["-a", PASSWORD]);
    let token = login(&server);

    let mut s = raw_ws(server.addr, "/admin/ws");
    s.write_all(&masked_frame(true, 1, br#"{"token": "guess"}"#))
        .unwrap();
    assert_eq!(read_ws_close(&mut s), 1008);
    let mut s = raw_ws(server.addr, "/admin/ws");
    s.write_all(&masked_frame(true, 1, b"not json")).unwrap();
    assert_eq!(read_ws_close(&mut s), 1008);

    let mut feed = Feed::open(&server, &token);
    feed.send(json!({"watch": "room"}));
    let w = feed.until("watching", |v| v["type"] == json!("watching"));
    assert_eq!(w["channel"], json!("room"));
    assert_eq!(w["info"], Value::Null);
    feed.send(json!({"nonsense": 1}));
    let e = feed.until("an error", |v| v["type"] == json!("error"));
    assert!(e["msg"].as_str().unwrap().contains("watch"));

    // A channel that is not presenceful still shows its joins to the console.
    let mut ann = Client::login(&server, "ann");
    ann.subscribe("room");
    let sub = feed.until("SUBSCRIBE", |v| is_frame(v, "SUBSCRIBE"));
    assert_eq!(sub[2]["user"], json!("ann"));
    assert_eq!(sub[2]["channel_name"], json!("room"));
    server.rest(
        "publish",
        &[("channel_name", "room"), ("payload", r#"{"n": 1}"#)],
    );
    let p = feed.until("PUBLISH", |v| is_frame(v, "PUBLISH"));
    assert_eq!(p[2]["payload"], json!({"n": 1}));
    assert_eq!(ann.expect("PUBLISH")[2]["payload"], json!({"n": 1}));
    // Not shown: other channels.
    ann.subscribe("elsewhere");
    server.rest(
        "publish",
        &[("channel_name", "elsewhere"), ("payload", "2")],
    );
    ann.expect("PUBLISH");
    server.rest("publish", &[("channel_name", "room"), ("payload", "3")]);
    let p = feed.until("PUBLISH", |v| is_frame(v, "PUBLISH"));
    assert_eq!(p[2]["payload"], json!(3));
    assert_eq!(p[2]["channel_name"], json!("room"));

    // Stats come every second, and the log lines.
    let stats = feed.until("stats with the publishes", |v| {
        v["type"] == json!("stats") && v["stats"]["published"] == json!(3)
    });
    assert_eq!(stats["stats"]["users"], json!(1));
    login(&server);
    let log = feed.until("the new log line", |v| v["type"] == json!("log"));
    let lines = log["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 1, "{log}");
    assert!(lines[0]
        .as_str()
        .unwrap()
        .ends_with("INFO  admin login from 127.0.0.1"));

    // Unwatched, the channel goes quiet; the console is no subscriber.
    feed.send(json!({"unwatch": "room"}));
    feed.until("unwatched", |v| v["type"] == json!("unwatched"));
    let info = server.rest("get_channel_info", &[("channel_name", "room")]);
    assert_eq!(info[1]["subscribers"], json!(["ann"]));

    // Watching is bounded per feed.
    for i in 0..16 {
        feed.send(json!({ "watch": format!("w{i}") }));
        feed.until("watching", |v| v["type"] == json!("watching"));
    }
    feed.send(json!({"watch": "one-too-many"}));
    let e = feed.until("the refusal", |v| v["type"] == json!("error"));
    assert_eq!(e["msg"], json!("a console watches at most 16 channels"));
    feed.send(json!({"watch": "w3"}));
    let w = feed.until("watching again", |v| v["type"] == json!("watching"));
    assert_eq!(w["channel"], json!("w3"));
}

#[test]
fn webhook_calls_are_kept_with_url_fields_status_answer_and_error() {
    let app = App::start(|call| match call.action() {
        "connect" => ok(json!([true, {"name": "ann"}])),
        "publish" => Answer {
            status: 500,
            ..ok(json!("boom"))
        },
        "subscribe" => ok(json!([false, {"msg": "not you"}])),
        _ => ok(json!([true, {}])),
    });
    let mut args = app.flags();
    args.extend(["-a".to_string(), PASSWORD.to_string()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let server = Server::start(&args);
    let token = login(&server);
    let mut feed = Feed::open(&server, &token);

    let mut ann = Client::open(&server);
    ann.send("CONNECT", json!({"cookie_string": "", "payload": "null"}));
    ann.expect("CONNECTED");
    let live = feed.until("the connect call", |v| v["type"] == json!("webhook"));
    assert_eq!(live["call"]["hook"], json!("connect"));
    ann.send("SUBSCRIBE", json!({"channel_name": "room"}));
    ann.expect("ERROR");
    server.rest("create_channel", &[("channel_name", "news")]);
    let denied = server.rest(
        "publish",
        &[
            ("channel_name", "news"),
            ("payload", "1"),
            ("send_hook", "1"),
        ],
    );
    assert_eq!(denied[0], json!(false));

    let calls = eventually("the publish call", || {
        let list = api(&server, &token, "webhooks", &[]);
        list.as_array()
            .unwrap()
            .iter()
            .any(|c| c["hook"] == json!("publish"))
            .then_some(list)
    });
    let base = format!("http://127.0.0.1:{}", app.addr.port());
    let find = |hook: &str| {
        calls
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["hook"] == json!(hook))
            .unwrap_or_else(|| panic!("no {hook} call in {calls}"))
            .clone()
    };
    let connect = &find("connect");
    assert_eq!(connect["hook"], json!("connect"));
    assert_eq!(connect["url"], json!(format!("{base}/hookbox/connect")));
    assert_eq!(connect["status"], json!(200));
    assert_eq!(connect["answer"], json!([true, {"name": "ann"}]));
    assert_eq!(connect["error"], Value::Null);
    assert!(connect["time"].as_str().unwrap().starts_with("20"));
    assert!(connect["ms"].is_u64());
    let subscribe = &find("subscribe");
    assert_eq!(subscribe["hook"], json!("subscribe"));
    assert_eq!(subscribe["fields"]["channel_name"], json!("room"));
    assert_eq!(subscribe["fields"]["user"], json!("ann"));
    assert_eq!(subscribe["answer"], json!([false, {"msg": "not you"}]));
    let publish = &find("publish");
    assert_eq!(publish["hook"], json!("publish"));
    assert_eq!(publish["status"], json!(500));
    assert_eq!(publish["answer"], Value::Null);
    assert!(
        publish["error"].as_str().unwrap().contains("500"),
        "{publish}"
    );
    // No secret is shown.
    assert!(calls.to_string().find("secret").is_none());
}
