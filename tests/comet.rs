//! CSP long-poll and streaming, SSE, and lossless resume, against the real binary with raw
//! HTTP clients.

mod common;

use std::io::{BufRead, BufReader, Read, Write};

use common::*;
use serde_json::{json, Value};

fn login(c: &mut CspClient, name: &str, channel: &str) {
    let payload = json!({ "name": name }).to_string();
    let r = c.send(&[
        ("CONNECT", json!({"cookie_string": "", "payload": payload})),
        ("SUBSCRIBE", json!({"channel_name": channel})),
    ]);
    assert_eq!(unwrap_parens(&r.text()), json!("OK"));
    assert_eq!(c.expect("CONNECTED")[2]["name"], json!(name));
    assert_eq!(c.expect("SUBSCRIBE")[2]["channel_name"], json!(channel));
}

#[test]
fn handshake_send_long_poll_and_a_rest_publish() {
    let server = Server::start(&[]);
    let mut c = CspClient::handshake(&server, "");
    assert_eq!(c.key.len(), 32);
    login(&mut c, "ann", "news");
    // A long-poll parked before anything is published...
    let mut poll = c.comet_start("&du=10");
    assert_eq!(
        server.rest(
            "publish",
            &[("channel_name", "news"), ("payload", "{\"n\": 1}")]
        ),
        json!([true, {}])
    );
    // ...answers with it.
    let (packets, frames) = c.comet_answer(&mut poll);
    assert_eq!(packets[0][1], json!(0), "plain encoding");
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0][1], json!("PUBLISH"));
    assert_eq!(frames[0][2]["payload"], json!({"n": 1}));
    assert_eq!(frames[0][2]["seq"], json!(1));
    // A browser PUBLISH over CSP comes back too (reflective channel).
    c.send(&[(
        "PUBLISH",
        json!({"channel_name": "news", "payload": "\"hi\""}),
    )]);
    assert_eq!(c.expect("PUBLISH")[2]["payload"], json!("hi"));
    // Errors are RTJP ERROR frames, as on WebSocket.
    c.send(&[("SUBSCRIBE", json!({}))]);
    assert_eq!(c.expect("ERROR")[2]["msg"], json!("channel_name required"));
}

#[test]
fn a_comet_killed_mid_flight_is_answered_again_with_the_old_ack() {
    let server = Server::start(&[]);
    let mut c = CspClient::handshake(&server, "");
    login(&mut c, "ann", "news");
    let ack_before = c.ack;
    // The long-poll is parked, then its connection dies.
    drop(c.comet_start("&du=10"));
    server.rest("publish", &[("channel_name", "news"), ("payload", "1")]);
    server.rest("publish", &[("channel_name", "news"), ("payload", "2")]);
    // A comet that receives them but whose answer the client never processes...
    let mut lost = c.comet_start("");
    let lost_answer = read_response(&mut lost, false);
    let first = unwrap_parens(&lost_answer.text());
    assert_eq!(first.as_array().unwrap().len(), 2);
    // ...and the retry with the same ack gets the same packets, ids and all.
    assert_eq!(c.ack, ack_before);
    let mut retry = c.comet_start("");
    let (packets, frames) = c.comet_answer(&mut retry);
    assert_eq!(packets, first);
    let payloads: Vec<Value> = frames.iter().map(|f| f[2]["payload"].clone()).collect();
    assert_eq!(payloads, [json!(1), json!(2)]);
    // Acknowledged, they are gone.
    let mut s = c.comet_start("&du=0");
    assert_eq!(c.comet_answer(&mut s).0, json!([]));
}

#[test]
fn a_duplicated_send_is_applied_once() {
    let server = Server::start(&[]);
    let mut c = CspClient::handshake(&server, "");
    login(&mut c, "ann", "news");
    let line = format!(
        "{}\r\n",
        json!([9, "PUBLISH", {"channel_name": "news", "payload": "\"once\""}])
    );
    let packets = json!([[50, 0, line]]).to_string();
    for _ in 0..3 {
        assert_eq!(unwrap_parens(&c.send_raw(&packets).text()), json!("OK"));
    }
    let info = server.rest("get_channel_info", &[("channel_name", "news")]);
    assert_eq!(info[1]["seq"], json!(1));
    assert_eq!(c.expect("PUBLISH")[2]["payload"], json!("once"));
}

#[test]
fn an_expired_session_is_a_disconnect() {
    let server = Server::start(&[]);
    server.rest(
        "create_channel",
        &[("channel_name", "room"), ("presenceful", "true")],
    );
    let mut watcher = Client::login(&server, "watcher");
    watcher.subscribe("room");
    // du=1: the session expires after 2 s without a request.
    let mut c = CspClient::handshake(&server, "&du=1");
    c.poll_vars = "&du=1".into();
    login(&mut c, "ann", "room");
    assert_eq!(watcher.expect("SUBSCRIBE")[2]["user"], json!("ann"));
    let gone = watcher.expect("UNSUBSCRIBE");
    assert_eq!(gone[2]["user"], json!("ann"));
    assert_eq!(
        server.rest("get_user_info", &[("user_name", "ann")]),
        json!([false, {"msg": "User ann doesn't exist"}])
    );
    let r = c.send(&[("PUBLISH", json!({"channel_name": "room"}))]);
    assert_eq!(
        (r.status, r.text()),
        (404, "'Session not found'".to_string())
    );
}

#[test]
fn close_and_a_null_packet_end_the_session() {
    let server = Server::start(&[]);
    let mut c = CspClient::handshake(&server, "");
    login(&mut c, "ann", "news");
    let r = http_once(
        server.addr,
        csp_post(&format!("/csp/close?s={}", c.key), "").as_bytes(),
    );
    assert_eq!(unwrap_parens(&r.text()), json!("OK"));
    assert_eq!(
        server.rest("get_user_info", &[("user_name", "ann")])[0],
        json!(false)
    );
    // A REST disconnect sends the null packet to a parked long-poll.
    let mut d = CspClient::handshake(&server, "");
    login(&mut d, "bob", "news");
    let mut poll = d.comet_start("&du=10");
    server.rest("disconnect", &[("identifier", "bob")]);
    let (packets, frames) = d.comet_answer(&mut poll);
    assert_eq!(packets.as_array().unwrap().last().unwrap()[2], Value::Null);
    assert_eq!(frames.last().unwrap()[1], json!("<closed>"));
}

#[test]
fn jsonp_variants_and_reflect() {
    let server = Server::start(&[]);
    // The JSONP transport puts everything, data too, in the query of a GET.
    let r = http_once(
        server.addr,
        b"GET /csp/handshake?d=%7B%7D&rp=cb1&rs=%3B&ct=application%2Fjavascript&n=0.5 HTTP/1.1\r\nHost: t\r\n\r\n",
    );
    let text = r.text();
    assert!(
        text.starts_with("cb1({\"session\": \"") && text.ends_with("\"});"),
        "{text}"
    );
    assert_eq!(
        r.header("content-type"),
        Some("application/javascript; charset=utf-8")
    );
    let key = text.split('"').nth(3).unwrap().to_string();
    let line = format!("{}\r\n", json!([1, "CONNECT", {"cookie_string": ""}]));
    let d = form(&[("d", &json!([[1, 1, b64(line.as_bytes())]]).to_string())]);
    let req = format!("GET /csp/send?s={key}&rp=cb2&rs=%3B&{d} HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(
        http_once(server.addr, req.as_bytes()).text(),
        "cb2(\"OK\");"
    );
    let req =
        format!("GET /csp/comet?s={key}&a=0&bp=cb3&bs=%3B&ps=4&p=%3B HTTP/1.1\r\nHost: t\r\n\r\n");
    let text = http_once(server.addr, req.as_bytes()).text();
    assert!(
        text.starts_with("    ;cb3([[1, 0, \"[1, \\\"CONNECTED\\\""),
        "{text}"
    );
    assert!(text.ends_with("]);"), "{text}");
    let r = http_once(
        server.addr,
        b"GET /csp/reflect?d=echo+me HTTP/1.1\r\nHost: t\r\n\r\n",
    );
    assert_eq!(r.text(), "echo me");
    // Refusals.
    for (path, status) in [
        ("/csp/comet?s=nope", 404),
        ("/csp/nonsense", 404),
        ("/csp/handshake?bp=%3Cscript%3E", 400),
        ("/csp/handshake?ct=text/xml", 400),
        ("/csp/handshake?du=1000", 400),
    ] {
        let req = format!("GET {path} HTTP/1.1\r\nHost: t\r\n\r\n");
        assert_eq!(
            http_once(server.addr, req.as_bytes()).status,
            status,
            "{path}"
        );
    }
    let c = CspClient::handshake(&server, "");
    for bad in ["nope", "[[1, 0]]", "[[1, 1, \"***\"]]"] {
        let r = c.send_raw(bad);
        assert_eq!(r.status, 400, "{bad}");
    }
}

#[test]
fn sse_framing_of_comet_answers() {
    let server = Server::start(&[]);
    let mut c = CspClient::handshake(&server, "");
    login(&mut c, "ann", "news");
    server.rest("publish", &[("channel_name", "news"), ("payload", "3")]);
    let mut s = c.comet_start("&du=0&bp=data:+&bs=%0D%0A&se=1");
    let r = read_response(&mut s, false);
    let text = r.text();
    let id = c.ack + 1;
    assert!(text.starts_with("data: ([["), "{text}");
    assert!(text.ends_with(&format!("])\r\nid: {id}\r\n\r\n")), "{text}");
}

/// Reads chunks of a chunked body until one contains `needle`.
fn read_chunk_with(r: &mut BufReader<std::net::TcpStream>, needle: &str) -> String {
    loop {
        let mut size = String::new();
        r.read_line(&mut size).unwrap();
        let n = usize::from_str_radix(size.trim(), 16).unwrap();
        let mut data = vec![0u8; n + 2];
        r.read_exact(&mut data).unwrap();
        let text = String::from_utf8_lossy(&data[..n]).into_owned();
        assert!(n > 0, "the stream ended");
        if text.contains(needle) {
            return text;
        }
    }
}

#[test]
fn streaming_comet_carries_packets_as_chunks() {
    let server = Server::start(&[]);
    let mut c = CspClient::handshake(&server, "");
    login(&mut c, "ann", "news");
    let s = c.comet_start("&is=1&du=10&ps=8&p=x");
    let mut r = BufReader::new(s);
    let head = read_response(&mut r, true);
    assert_eq!(head.header("transfer-encoding"), Some("chunked"));
    // The prebuffer comes first, at once.
    assert_eq!(read_chunk_with(&mut r, "x"), "        x");
    for n in 1..=3 {
        server.rest(
            "publish",
            &[("channel_name", "news"), ("payload", &n.to_string())],
        );
        let chunk = read_chunk_with(&mut r, "PUBLISH");
        let frames = c.take_packets(&unwrap_parens(&chunk));
        assert_eq!(frames[0][2]["payload"], json!(n));
    }
}

#[test]
fn sse_stream_and_resume_with_last_event_id() {
    let server = Server::start(&[]);
    let mut c = CspClient::handshake(&server, "");
    login(&mut c, "ann", "news");
    let open = |last: Option<u64>| {
        let mut s = connect(server.addr);
        let last = last.map_or(String::new(), |l| format!("Last-Event-ID: {l}\r\n"));
        let req = format!(
            "GET /sse?s={} HTTP/1.1\r\nHost: t\r\nAccept: text/event-stream\r\n{last}\r\n",
            c.key
        );
        s.write_all(req.as_bytes()).unwrap();
        let mut r = BufReader::new(s);
        let head = read_response(&mut r, true);
        assert_eq!(
            head.header("content-type"),
            Some("text/event-stream; charset=utf-8")
        );
        r
    };
    // Reads events until one carries `payload`, returning (id, frame).
    fn next_publish(r: &mut BufReader<std::net::TcpStream>) -> (u64, Value) {
        let mut id = 0;
        loop {
            let mut line = String::new();
            assert!(r.read_line(&mut line).unwrap() > 0, "stream ended");
            if let Some(v) = line.strip_prefix("id: ") {
                id = v.trim().parse().unwrap();
            } else if let Some(v) = line.strip_prefix("data: ") {
                let frame: Value = serde_json::from_str(v.trim()).unwrap();
                if frame[1] == json!("PUBLISH") {
                    return (id, frame);
                }
            }
        }
    }
    let mut r = open(Some(c.ack));
    for n in 1..=3 {
        server.rest(
            "publish",
            &[("channel_name", "news"), ("payload", &n.to_string())],
        );
    }
    let (first_id, f) = next_publish(&mut r);
    assert_eq!(f[2]["payload"], json!(1));
    let (second_id, _) = next_publish(&mut r);
    drop(r);
    // Messages published while the stream is down wait in the session.
    server.rest("publish", &[("channel_name", "news"), ("payload", "4")]);
    // Reconnecting after the second event: the third and fourth come, once each.
    let mut r = open(Some(second_id));
    let (id3, f3) = next_publish(&mut r);
    let (id4, f4) = next_publish(&mut r);
    assert_eq!((id3, id4), (second_id + 1, second_id + 2));
    assert_eq!(
        (f3[2]["payload"].clone(), f4[2]["payload"].clone()),
        (json!(3), json!(4))
    );
    assert_eq!(first_id + 1, second_id);
    // A bare /sse makes a session and names it first.
    let mut s = connect(server.addr);
    s.write_all(b"GET /sse HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    let mut r = BufReader::new(s);
    read_response(&mut r, true);
    let mut text = String::new();
    while !text.contains("event: session") {
        r.read_line(&mut text).unwrap();
    }
    let mut data = String::new();
    r.read_line(&mut data).unwrap();
    let v: Value = serde_json::from_str(data.trim().strip_prefix("data: ").unwrap()).unwrap();
    assert_eq!(v["session"].as_str().unwrap().len(), 32);
}

#[test]
fn a_thousand_waiting_long_polls_all_get_the_broadcast() {
    let server = Server::start(&[]);
    let n = 1000;
    let mut clients: Vec<CspClient> = (0..n)
        .map(|i| {
            let mut c = CspClient::handshake(&server, "");
            let r = c.send(&[
                ("CONNECT", json!({"cookie_string": "", "payload": json!({"name": format!("u{i}")}).to_string()})),
                ("SUBSCRIBE", json!({"channel_name": "all"})),
            ]);
            assert_eq!(r.status, 200);
            // Take CONNECTED and SUBSCRIBE.
            let frames = c.comet("&du=0");
            assert_eq!(frames.len(), 2);
            c
        })
        .collect();
    let mut polls: Vec<_> = clients.iter().map(|c| c.comet_start("&du=30")).collect();
    let info = server.rest("get_channel_info", &[("channel_name", "all")]);
    assert_eq!(info[1]["subscribers"].as_array().unwrap().len(), n);
    assert_eq!(
        server.rest(
            "publish",
            &[("channel_name", "all"), ("payload", "\"everyone\"")]
        ),
        json!([true, {}])
    );
    for (c, poll) in clients.iter_mut().zip(polls.iter_mut()) {
        let (_, frames) = c.comet_answer(poll);
        assert_eq!(frames.len(), 1);
        assert_eq!(frames[0][2]["payload"], json!("everyone"));
    }
}

#[test]
fn websocket_csp_and_sse_subscribers_on_one_channel() {
    let server = Server::start(&[]);
    let mut ws = Client::login(&server, "ws");
    ws.subscribe("mix");
    let mut csp = CspClient::handshake(&server, "");
    login(&mut csp, "csp", "mix");
    let mut sse_client = CspClient::handshake(&server, "");
    login(&mut sse_client, "sse", "mix");
    let mut s = connect(server.addr);
    let req = format!(
        "GET /sse?s={}&a={} HTTP/1.1\r\nHost: t\r\n\r\n",
        sse_client.key, sse_client.ack
    );
    s.write_all(req.as_bytes()).unwrap();
    let mut sse = BufReader::new(s);
    read_response(&mut sse, true);
    for n in 1..=5 {
        server.rest(
            "publish",
            &[("channel_name", "mix"), ("payload", &n.to_string())],
        );
    }
    for n in 1..=5 {
        assert_eq!(ws.expect("PUBLISH")[2]["payload"], json!(n));
        assert_eq!(csp.expect("PUBLISH")[2]["payload"], json!(n));
        let mut line = String::new();
        while !line.starts_with("data: ") {
            line.clear();
            sse.read_line(&mut line).unwrap();
        }
        let f: Value = serde_json::from_str(line.trim().strip_prefix("data: ").unwrap()).unwrap();
        assert_eq!(f[2]["payload"], json!(n));
    }
}

#[test]
fn since_recovers_exactly_the_missed_messages() {
    let server = Server::start(&[]);
    server.rest(
        "create_channel",
        &[("channel_name", "h"), ("history_size", "100")],
    );
    let mut c = Client::login(&server, "ann");
    c.subscribe("h");
    for n in 1..=10 {
        server.rest(
            "publish",
            &[("channel_name", "h"), ("payload", &n.to_string())],
        );
    }
    for n in 1..=10 {
        assert_eq!(c.expect("PUBLISH")[2]["seq"], json!(n));
    }
    // Someone stays, so the channel and its history do.
    let mut keeper = Client::login(&server, "keeper");
    keeper.subscribe("h");
    drop(c);
    eventually("ann to be gone", || {
        (server.rest("get_user_info", &[("user_name", "ann")])[0] == json!(false)).then_some(())
    });
    // Fifty messages go out while the client is away.
    for n in 11..=60 {
        server.rest(
            "publish",
            &[("channel_name", "h"), ("payload", &n.to_string())],
        );
    }
    // Back, with the last seq it saw: over CSP this time.
    let mut back = CspClient::handshake(&server, "");
    back.send(&[
        (
            "CONNECT",
            json!({"cookie_string": "", "payload": "{\"name\": \"ann\"}"}),
        ),
        ("SUBSCRIBE", json!({"channel_name": "h", "since": 10})),
    ]);
    back.expect("CONNECTED");
    let s = back.expect("SUBSCRIBE");
    assert_eq!(s[2]["recovered"], json!(true));
    for n in 11..=60 {
        let p = back.expect("PUBLISH");
        assert_eq!(
            (p[2]["seq"].clone(), p[2]["payload"].clone()),
            (json!(n), json!(n))
        );
    }
    // Nothing more than those fifty: the next frame is the next message.
    server.rest("publish", &[("channel_name", "h"), ("payload", "61")]);
    assert_eq!(back.expect("PUBLISH")[2]["seq"], json!(61));
    // A point history no longer reaches says so.
    let mut late = Client::login(&server, "late");
    late.send("SUBSCRIBE", json!({"channel_name": "h", "since": 0}));
    let s = late.expect("SUBSCRIBE");
    assert_eq!(s[2]["recovered"], json!(true), "history still holds all 61");
    server.rest(
        "set_channel_options",
        &[("channel_name", "h"), ("history_size", "5")],
    );
    let mut later = Client::login(&server, "later");
    later.send("SUBSCRIBE", json!({"channel_name": "h", "since": 0}));
    assert_eq!(later.expect("SUBSCRIBE")[2]["recovered"], json!(false));
}
