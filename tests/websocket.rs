//! RTJP over WebSocket against the real binary: every client frame, every error, the
//! WebSocket rules that matter to it, and the end-to-end curl → browser path.

mod common;

use std::io::Write;
use std::process::Command;

use common::*;
use serde_json::{json, Value};
use tungstenite::Message;

fn is_iso_datetime(v: &Value) -> bool {
    let s = v.as_str().unwrap_or("");
    s.len() == 19 && s.as_bytes()[4] == b'-' && s.as_bytes()[10] == b'T'
}

#[test]
fn curl_publish_reaches_a_websocket_subscriber() {
    let server = Server::start(&[]);
    let mut c = Client::open(&server);
    c.send("CONNECT", json!({"cookie_string": ""}));
    let connected = c.expect("CONNECTED");
    assert!(connected[2]["name"].as_str().unwrap().starts_with("guest"));
    c.subscribe("c");

    let out = Command::new("curl")
        .args(["-s", &server.url("/web/publish")])
        .args([
            "-d",
            "security_token=S",
            "-d",
            "channel_name=c",
            "-d",
            "payload={\"a\":1}",
        ])
        .output()
        .expect("curl runs");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "[true, {}]");

    let Message::Text(text) = c.ws.read().unwrap() else {
        panic!("not text")
    };
    let text = text.as_str();
    assert!(
        text.contains(
            r#", "PUBLISH", {"channel_name": "c", "payload": {"a": 1}, "user": null, "datetime": ""#
        ),
        "{text}"
    );
    assert!(text.ends_with(", \"seq\": 1}]\r\n"), "{text}");
    let frame: Value = serde_json::from_str(text.trim_end()).unwrap();
    assert!(frame[0].is_u64());
    assert!(is_iso_datetime(&frame[2]["datetime"]));
}

#[test]
fn frames_before_connect_and_connect_errors() {
    let server = Server::start(&[]);
    let mut c = Client::open(&server);
    for (name, args) in [
        ("SUBSCRIBE", json!({"channel_name": "a"})),
        ("UNSUBSCRIBE", json!({"channel_name": "a"})),
        ("PUBLISH", json!({"channel_name": "a"})),
        ("MESSAGE", json!({"name": "x"})),
    ] {
        let id = c.send(name, args);
        let e = c.expect("ERROR");
        assert_eq!(e[2], json!({"id": id, "msg": "Not connected"}), "{name}");
    }
    let id = c.send("CONNECT", json!({}));
    assert_eq!(
        c.expect("ERROR")[2],
        json!({"id": id, "msg": "cookie_string required"})
    );
    let id = c.send("CONNECT", json!({"cookie_string": "", "payload": "{nope"}));
    assert_eq!(
        c.expect("ERROR")[2],
        json!({"id": id, "msg": "Invalid json for payload"})
    );
    let id = c.send(
        "CONNECT",
        json!({"cookie_string": "", "payload": "{\"name\": \"a b\"}"}),
    );
    assert_eq!(
        c.expect("ERROR")[2],
        json!({"id": id, "msg": "Invalid user name"})
    );
    c.send(
        "CONNECT",
        json!({"cookie_string": "k=v", "payload": "{\"name\": \"ann\"}"}),
    );
    let f = c.expect("CONNECTED");
    assert_eq!(f[2], json!({"name": "ann", "payload": {"name": "ann"}}));
    let id = c.send("CONNECT", json!({"cookie_string": ""}));
    assert_eq!(
        c.expect("ERROR")[2],
        json!({"id": id, "msg": "Already logged in"})
    );
}

#[test]
fn malformed_frames_get_errors_and_the_connection_goes_on() {
    let server = Server::start(&[]);
    let mut c = Client::login(&server, "ann");
    let cases: [(&str, Value); 6] = [
        (
            "not json\r\n",
            json!({"id": null, "msg": "Invalid frame: not JSON"}),
        ),
        (
            "{\"a\": 1}\r\n",
            json!({"id": null, "msg": "Invalid frame: expected [id, name, args]"}),
        ),
        (
            "[4, \"PUBLISH\"]\r\n",
            json!({"id": 4, "msg": "Invalid frame: expected [id, name, args]"}),
        ),
        (
            "[\"x\", \"PUBLISH\", {}]\r\n",
            json!({"id": null, "msg": "Invalid frame id"}),
        ),
        (
            "[5, 7, {}]\r\n",
            json!({"id": 5, "msg": "Invalid frame name"}),
        ),
        (
            "[6, \"PUBLISH\", []]\r\n",
            json!({"id": 6, "msg": "Invalid frame args: expected an object"}),
        ),
    ];
    for (text, want) in cases {
        c.send_text(text);
        assert_eq!(c.expect("ERROR")[2], want, "{text}");
    }
    let id = c.send("NOPE", json!({}));
    assert_eq!(
        c.expect("ERROR")[2],
        json!({"id": id, "msg": "Unknown frame NOPE"})
    );
    for (name, args, msg) in [
        ("SUBSCRIBE", json!({}), "channel_name required"),
        (
            "SUBSCRIBE",
            json!({"channel_name": "a b"}),
            "Invalid channel name",
        ),
        (
            "SUBSCRIBE",
            json!({"channel_name": "x".repeat(129)}),
            "Invalid channel name",
        ),
        ("UNSUBSCRIBE", json!({}), "channel_name required"),
        (
            "UNSUBSCRIBE",
            json!({"channel_name": "never"}),
            "Not subscribed to never",
        ),
        ("PUBLISH", json!({}), "channel_name required"),
        (
            "PUBLISH",
            json!({"channel_name": "a", "payload": "{"}),
            "Invalid json for payload",
        ),
        ("MESSAGE", json!({}), "name required"),
        (
            "MESSAGE",
            json!({"name": "nobody", "payload": "1"}),
            "Invalid user name",
        ),
        (
            "MESSAGE",
            json!({"name": "ann", "payload": "{"}),
            "Invalid json for payload",
        ),
        (
            "SUBSCRIBE",
            json!({"channel_name": "a", "since": "x"}),
            "Invalid since",
        ),
    ] {
        let id = c.send(name, args.clone());
        assert_eq!(
            c.expect("ERROR")[2],
            json!({"id": id, "msg": msg}),
            "{name} {args}"
        );
    }
    // Still usable.
    let s = c.subscribe("a");
    assert_eq!(s[2]["channel_name"], json!("a"));
}

#[test]
fn subscribe_publish_presence_history_message_unsubscribe() {
    let server = Server::start(&[]);
    server.rest(
        "create_channel",
        &[
            ("channel_name", "room"),
            ("presenceful", "true"),
            ("history_size", "10"),
        ],
    );
    let mut ann = Client::login(&server, "ann");
    let own = ann.subscribe("room");
    assert_eq!(own[2]["user"], json!("ann"));
    assert_eq!(own[2]["presence"], json!(["ann"]));
    assert_eq!(own[2]["history_size"], json!(10));
    assert_eq!(own[2]["state"], json!({}));

    let mut bob = Client::login(&server, "bob");
    let own = bob.subscribe("room");
    assert_eq!(own[2]["presence"], json!(["ann", "bob"]));
    let history = own[2]["history"].as_array().unwrap();
    assert_eq!(history[0][0], json!("SUBSCRIBE"));
    assert_eq!(history[0][1]["user"], json!("ann"));
    let seen = ann.expect("SUBSCRIBE");
    assert_eq!(seen[2]["user"], json!("bob"));
    assert!(is_iso_datetime(&seen[2]["datetime"]));

    bob.send(
        "PUBLISH",
        json!({"channel_name": "room", "payload": "{\"text\": \"hi\"}"}),
    );
    for c in [&mut ann, &mut bob] {
        let p = c.expect("PUBLISH");
        assert_eq!(p[2]["payload"], json!({"text": "hi"}));
        assert_eq!(p[2]["user"], json!("bob"));
        assert_eq!(p[2]["seq"], json!(1));
    }

    ann.send("MESSAGE", json!({"name": "bob", "payload": "[1, 2]"}));
    for c in [&mut bob, &mut ann] {
        let m = c.expect("MESSAGE");
        assert_eq!(m[2]["sender"], json!("ann"));
        assert_eq!(m[2]["recipient"], json!("bob"));
        assert_eq!(m[2]["payload"], json!([1, 2]));
    }

    bob.send("UNSUBSCRIBE", json!({"channel_name": "room"}));
    assert_eq!(bob.expect("UNSUBSCRIBE")[2]["user"], json!("bob"));
    assert_eq!(ann.expect("UNSUBSCRIBE")[2]["user"], json!("bob"));
    let info = server.rest("get_channel_info", &[("channel_name", "room")]);
    assert_eq!(info[1]["subscribers"], json!(["ann"]));
}

#[test]
fn non_reflective_channels_skip_the_publisher() {
    let server = Server::start(&[]);
    server.rest(
        "create_channel",
        &[("channel_name", "quiet"), ("reflective", "false")],
    );
    let mut ann = Client::login(&server, "ann");
    ann.subscribe("quiet");
    ann.send("PUBLISH", json!({"channel_name": "quiet", "payload": "1"}));
    // The next frame ann sees is the marker, not her own publish.
    server.rest(
        "publish",
        &[("channel_name", "quiet"), ("payload", "\"marker\"")],
    );
    let p = ann.expect("PUBLISH");
    assert_eq!(p[2]["payload"], json!("marker"));
    assert_eq!(p[2]["seq"], json!(2));
}

#[test]
fn frames_split_across_messages_and_batched_in_one() {
    let server = Server::start(&[]);
    let mut c = Client::login(&server, "ann");
    // Two frames in one message.
    c.send_text("[2, \"SUBSCRIBE\", {\"channel_name\": \"a\"}]\r\n[3, \"SUBSCRIBE\", {\"channel_name\": \"b\"}]\r\n");
    assert_eq!(c.expect("SUBSCRIBE")[2]["channel_name"], json!("a"));
    assert_eq!(c.expect("SUBSCRIBE")[2]["channel_name"], json!("b"));
    // One frame in three messages.
    c.send_text("[4, \"PUBL");
    c.send_text("ISH\", {\"channel_name\": \"a\", ");
    c.send_text("\"payload\": \"5\"}]\n");
    assert_eq!(c.expect("PUBLISH")[2]["payload"], json!(5));
    // A whole frame without its line end.
    c.send_text("[5, \"PUBLISH\", {\"channel_name\": \"b\", \"payload\": \"6\"}]");
    assert_eq!(c.expect("PUBLISH")[2]["payload"], json!(6));
    // Blank lines are ignored.
    c.send_text("\r\n\r\n[6, \"PUBLISH\", {\"channel_name\": \"b\", \"payload\": \"7\"}]\r\n");
    assert_eq!(c.expect("PUBLISH")[2]["payload"], json!(7));
}

#[test]
fn a_second_connection_of_a_user_gets_its_subscriptions() {
    let server = Server::start(&[]);
    let mut tab1 = Client::login(&server, "ann");
    tab1.subscribe("news");
    let mut tab2 = Client::login(&server, "ann");
    let s = tab2.expect("SUBSCRIBE");
    assert_eq!(s[2]["channel_name"], json!("news"));
    server.rest("publish", &[("channel_name", "news"), ("payload", "1")]);
    assert_eq!(tab1.expect("PUBLISH")[2]["payload"], json!(1));
    assert_eq!(tab2.expect("PUBLISH")[2]["payload"], json!(1));
    let info = server.rest("get_user_info", &[("user_name", "ann")]);
    assert_eq!(info[1]["connections"].as_array().unwrap().len(), 2);
}

#[test]
fn ping_is_answered_with_its_payload() {
    let server = Server::start(&[]);
    let mut s = raw_ws(server.addr, "/ws");
    s.write_all(&masked_frame(true, 9, b"hello")).unwrap();
    assert_eq!(read_ws_frame(&mut s), Some((true, 10, b"hello".to_vec())));
}

#[test]
fn close_handshake_echoes_the_code() {
    let server = Server::start(&[]);
    let mut s = raw_ws(server.addr, "/ws");
    let mut payload = 4321u16.to_be_bytes().to_vec();
    payload.extend_from_slice(b"bye");
    s.write_all(&masked_frame(true, 8, &payload)).unwrap();
    assert_eq!(read_ws_close(&mut s), 4321);
    assert!(read_until_closed(&mut s).is_empty());
}

#[test]
fn protocol_violations_close_with_their_codes() {
    let server = Server::start(&["--max-ws-message", "1024"]);
    let mut unmasked = vec![0x81, 0x02];
    unmasked.extend_from_slice(b"hi");
    let cases: Vec<(Vec<u8>, u16)> = vec![
        (unmasked, 1002),
        (masked_frame(true, 3, b""), 1002),
        (masked_frame(false, 9, b""), 1002),
        (masked_frame(true, 0, b"x"), 1002),
        (masked_frame(true, 1, &[0xc3, 0x28]), 1007),
        (masked_frame(true, 1, &vec![b'x'; 2000]), 1009),
        (masked_frame(true, 2, b"\x01"), 1003),
        (masked_frame(true, 8, &[0x03, 0xe8, 0xff]), 1007),
        (masked_frame(true, 8, &[0x00, 0x10]), 1002),
    ];
    for (bytes, code) in cases {
        let mut s = raw_ws(server.addr, "/ws");
        s.write_all(&bytes).unwrap();
        assert_eq!(read_ws_close(&mut s), code, "{bytes:?}");
        read_until_closed(&mut s);
    }
    // A text message split in fragments with a ping between them is fine.
    let mut s = raw_ws(server.addr, "/ws");
    s.write_all(&masked_frame(false, 1, b"[1, \"CONN")).unwrap();
    s.write_all(&masked_frame(true, 9, b"p")).unwrap();
    s.write_all(&masked_frame(
        true,
        0,
        b"ECT\", {\"cookie_string\": \"\"}]\r\n",
    ))
    .unwrap();
    assert_eq!(read_ws_frame(&mut s).unwrap().1, 10);
    let (_, op, text) = read_ws_frame(&mut s).unwrap();
    assert_eq!(op, 1);
    assert!(String::from_utf8(text).unwrap().contains("\"CONNECTED\""));
}

#[test]
fn a_line_longer_than_the_message_limit_closes_1009() {
    let server = Server::start(&["--max-ws-message", "1024"]);
    let mut c = Client::login(&server, "ann");
    for _ in 0..3 {
        c.send_text(&"x".repeat(500));
    }
    assert_eq!(c.expect_close().0, 1009);
}

#[test]
fn a_client_vanishing_mid_frame_leaves_everyone_else_served() {
    let server = Server::start(&[]);
    let mut watcher = Client::login(&server, "watcher");
    watcher.subscribe("c");
    {
        let mut s = raw_ws(server.addr, "/ws");
        s.write_all(&masked_frame(true, 1, b"[1, \"CONNECT\", {\"cookie_string\": \"\", \"payload\": \"{\\\"name\\\": \\\"gone\\\"}\"}]\r\n")).unwrap();
        assert_eq!(read_ws_frame(&mut s).unwrap().1, 1);
        let half = masked_frame(
            true,
            1,
            b"[2, \"SUBSCRIBE\", {\"channel_name\": \"c\"}]\r\n",
        );
        s.write_all(&half[..10]).unwrap();
        // Dropped here, mid-frame.
    }
    eventually("the vanished user to be forgotten", || {
        let info = server.rest("get_user_info", &[("user_name", "gone")]);
        (info[0] == json!(false)).then_some(())
    });
    server.rest("publish", &[("channel_name", "c"), ("payload", "1")]);
    assert_eq!(watcher.expect("PUBLISH")[2]["payload"], json!(1));
}

#[test]
fn handshake_errors() {
    let server = Server::start(&[]);
    let base = "Host: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
    let cases: Vec<(String, u16)> = vec![
        ("GET /ws HTTP/1.1\r\nHost: t\r\n\r\n".into(), 426),
        (
            format!("GET /ws HTTP/1.1\r\n{base}Sec-WebSocket-Version: 8\r\n\r\n"),
            426,
        ),
        (
            format!(
                "GET /ws HTTP/1.1\r\n{}\r\nSec-WebSocket-Version: 13\r\n\r\n",
                base.replace("dGhlIHNhbXBsZSBub25jZQ==", "short").trim_end()
            ),
            400,
        ),
        (
            format!(
                "GET /ws HTTP/1.1\r\n{}Sec-WebSocket-Version: 13\r\n\r\n",
                base.replace("Connection: Upgrade\r\n", "")
            ),
            400,
        ),
        (
            format!(
                "POST /ws HTTP/1.1\r\n{base}Sec-WebSocket-Version: 13\r\nContent-Length: 0\r\n\r\n"
            ),
            405,
        ),
        (
            format!("GET /ws HTTP/1.0\r\n{base}Sec-WebSocket-Version: 13\r\n\r\n"),
            400,
        ),
    ];
    for (req, status) in cases {
        let resp = http_once(server.addr, req.as_bytes());
        assert_eq!(resp.status, status, "{req}");
        if status == 426 {
            assert_eq!(resp.header("sec-websocket-version"), Some("13"));
        }
    }
}

#[test]
fn server_pings_and_drops_a_silent_peer() {
    let server = Server::start(&["--ws-ping", "0.2", "--ws-timeout", "0.8"]);
    let mut s = raw_ws(server.addr, "/ws");
    let (_, op, _) = read_ws_frame(&mut s).expect("a ping");
    assert_eq!(op, 9);
    // Never answering: the server gives up on us.
    loop {
        match read_ws_frame(&mut s) {
            Some((_, 9, _)) => continue,
            Some(other) => panic!("unexpected {other:?}"),
            None => break,
        }
    }
    // A peer that answers pings stays.
    let mut c = Client::login(&server, "alive");
    let started = std::time::Instant::now();
    while started.elapsed() < std::time::Duration::from_millis(1500) {
        c.ws.get_mut()
            .set_read_timeout(Some(std::time::Duration::from_millis(100)))
            .unwrap();
        match c.ws.read() {
            Ok(Message::Ping(_)) | Ok(Message::Pong(_)) => {}
            Ok(other) => panic!("unexpected {other:?}"),
            Err(tungstenite::Error::Io(e)) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => panic!("dropped: {e}"),
        }
        let _ = c.ws.flush();
    }
    c.ws.get_mut().set_read_timeout(Some(WAIT)).unwrap();
    let info = server.rest("get_user_info", &[("user_name", "alive")]);
    assert_eq!(info[0], json!(true));
}

#[test]
fn sigterm_closes_websockets_with_1001_and_exits_cleanly() {
    let mut server = Server::start(&[]);
    let mut c = Client::login(&server, "ann");
    server.signal("TERM");
    assert_eq!(c.expect_close().0, 1001);
    drop(c);
    assert_eq!(server.wait_exit(), Some(0));
}

#[test]
fn a_slow_consumer_is_cut_off_and_the_others_get_everything() {
    let server = Server::start(&["--max-outbound", "65536"]);
    let mut fast = Client::login(&server, "fast");
    fast.subscribe("c");
    // A subscriber that never reads.
    let mut slow = raw_ws(server.addr, "/ws");
    slow.write_all(&masked_frame(true, 1, b"[1, \"CONNECT\", {\"cookie_string\": \"\", \"payload\": \"{\\\"name\\\": \\\"slow\\\"}\"}]\r\n[2, \"SUBSCRIBE\", {\"channel_name\": \"c\"}]\r\n")).unwrap();

    let payload = format!("\"{}\"", "x".repeat(10_000));
    let total = 1500;
    let reader = std::thread::spawn(move || {
        for i in 1..=total {
            let f = fast.expect("PUBLISH");
            assert_eq!(f[2]["seq"], json!(i));
        }
    });
    eventually("slow to subscribe", || {
        let info = server.rest("get_channel_info", &[("channel_name", "c")]);
        (info[1]["subscribers"].as_array().map(Vec::len) == Some(2)).then_some(())
    });
    let mut conn = connect(server.addr);
    let body = form(&[
        ("security_token", TOKEN),
        ("channel_name", "c"),
        ("payload", &payload),
    ]);
    for _ in 0..total {
        let req = format!(
            "POST /web/publish HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        conn.write_all(req.as_bytes()).unwrap();
        assert_eq!(read_response(&mut conn, false).text(), "[true, {}]");
    }
    reader.join().unwrap();
    eventually("the slow consumer to be cut off", || {
        let info = server.rest("get_user_info", &[("user_name", "slow")]);
        (info[0] == json!(false)).then_some(())
    });
    let log = server.log.lock().unwrap().join("\n");
    assert!(log.contains("cannot keep up; disconnecting it"), "{log}");
}

#[test]
fn a_stuck_subscriber_does_not_hold_back_publishers_of_a_fan_out() {
    // Enough subscribers for a fan-out (where publishers get backpressure), one of which
    // never reads: publishing goes on, the readers get everything, the stuck one is cut off.
    let server = Server::start(&["--max-outbound", "262144"]);
    let mut readers: Vec<RawSubscriber> = (0..64)
        .map(|i| RawSubscriber::open(server.addr, &format!("r{i}"), "big"))
        .collect();
    let _stuck = RawSubscriber::open(server.addr, "stuck", "big");
    eventually("everyone to subscribe", || {
        for r in readers.iter_mut() {
            r.pump();
        }
        let info = server.rest("get_channel_info", &[("channel_name", "big")]);
        (info[1]["subscribers"].as_array().map(Vec::len) == Some(65)).then_some(())
    });
    // More than the stuck socket's kernel buffers and queue can hold.
    let total = 1200;
    let payload = format!("\"{}\"", "y".repeat(10_000));
    let body = form(&[
        ("security_token", TOKEN),
        ("channel_name", "big"),
        ("payload", &payload),
    ]);
    let publisher = {
        let addr = server.addr;
        std::thread::spawn(move || {
            let mut conn = connect(addr);
            for _ in 0..total {
                let req = format!(
                    "POST /web/publish HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                );
                conn.write_all(req.as_bytes()).unwrap();
                assert_eq!(read_response(&mut conn, false).text(), "[true, {}]");
            }
        })
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while readers.iter().any(|r| r.publishes < total) {
        for r in readers.iter_mut() {
            r.pump();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "readers did not get every message"
        );
        std::thread::yield_now();
    }
    publisher.join().unwrap();
    eventually("the stuck subscriber to be cut off", || {
        let info = server.rest("get_user_info", &[("user_name", "stuck")]);
        (info[0] == json!(false)).then_some(())
    });
}

#[test]
fn since_from_another_epoch_gets_all_the_history_there_is() {
    let server = Server::start(&[]);
    server.rest(
        "create_channel",
        &[("channel_name", "e"), ("history_size", "10")],
    );
    let mut keeper = Client::login(&server, "keeper");
    let epoch = keeper.subscribe("e")[2]["epoch"]
        .as_str()
        .unwrap()
        .to_string();
    for n in 1..=3 {
        server.rest(
            "publish",
            &[("channel_name", "e"), ("payload", &n.to_string())],
        );
    }
    // The same epoch: only what came after `since`.
    let mut same = Client::login(&server, "same");
    same.send(
        "SUBSCRIBE",
        json!({"channel_name": "e", "since": 2, "epoch": epoch}),
    );
    assert_eq!(same.expect("SUBSCRIBE")[2]["recovered"], json!(true));
    assert_eq!(same.expect("PUBLISH")[2]["seq"], json!(3));
    // Numbers from an earlier life of the channel (a server restart): all of this one's.
    let mut other = Client::login(&server, "other");
    other.send(
        "SUBSCRIBE",
        json!({"channel_name": "e", "since": 40, "epoch": "old.1"}),
    );
    assert_eq!(other.expect("SUBSCRIBE")[2]["recovered"], json!(true));
    for n in 1..=3 {
        assert_eq!(other.expect("PUBLISH")[2]["seq"], json!(n));
    }
    let id = other.send("SUBSCRIBE", json!({"channel_name": "f", "epoch": 5}));
    assert_eq!(
        other.expect("ERROR")[2],
        json!({"id": id, "msg": "Invalid epoch"})
    );
}

#[test]
fn the_demo_channel_is_there_from_the_start_and_stays() {
    let server = Server::start(&[]);
    let info = server.rest("get_channel_info", &[("channel_name", "lobby")]);
    assert_eq!(info[1]["options"]["presenceful"], json!(true));
    assert_eq!(info[1]["options"]["history_size"], json!(50));
    let mut c = Client::login(&server, "ann");
    c.subscribe("lobby");
    c.send(
        "PUBLISH",
        json!({"channel_name": "lobby", "payload": "\"kept\""}),
    );
    c.expect("PUBLISH");
    c.send("UNSUBSCRIBE", json!({"channel_name": "lobby"}));
    c.expect("UNSUBSCRIBE");
    let info = server.rest("get_channel_info", &[("channel_name", "lobby")]);
    assert_eq!(info[1]["subscribers"], json!([]));
    let history = info[1]["options"]["history"].as_array().unwrap();
    assert!(history.iter().any(|h| h[1]["payload"] == json!("kept")));
    let none = Server::start(&["--demo-channel", ""]);
    assert_eq!(none.rest("get_server_info", &[])[1]["channels"], json!([]));
}
