//! HTTP/1.1 against the real binary: each error status, keep-alive and pipelining, bytes
//! arriving one at a time, bodies, HEAD, HTTP/1.0, static files and the REST port.

mod common;

use std::io::Write;
use std::time::Duration;

use common::*;
use serde_json::json;

const PUBLISH_BODY: &str = "security_token=S&channel_name=c&payload=1";

fn post(path: &str, body: &str) -> String {
    format!(
        "POST {path} HTTP/1.1\r\nHost: t\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

/// Sends a request that must be refused with `status` and the connection closed.
fn refused(server: &Server, req: &[u8], status: u16) {
    let mut s = connect(server.addr);
    s.write_all(req).unwrap();
    let resp = read_response(&mut s, false);
    assert_eq!(resp.status, status, "{}", String::from_utf8_lossy(req));
    assert_eq!(resp.header("connection"), Some("close"));
    read_until_closed(&mut s);
}

#[test]
fn each_violation_gets_its_status() {
    let server = Server::start(&["--max-body", "1000"]);
    refused(&server, b"GARBAGE\r\n\r\n", 400);
    refused(&server, b"GET / HTTP/1.1\r\n\r\n", 400);
    refused(
        &server,
        b"GET / HTTP/1.1\r\nHost: t\r\nContent-Length: nope\r\n\r\n",
        400,
    );
    refused(
        &server,
        b"POST /web/publish HTTP/1.1\r\nHost: t\r\n\r\n",
        411,
    );
    refused(
        &server,
        b"POST /web/publish HTTP/1.1\r\nHost: t\r\nContent-Length: 1001\r\n\r\n",
        413,
    );
    let mut chunked =
        b"POST /web/publish HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    for _ in 0..3 {
        chunked.extend_from_slice(b"190\r\n");
        chunked.extend_from_slice(&[b'a'; 400]);
        chunked.extend_from_slice(b"\r\n");
    }
    refused(&server, &chunked, 413);
    refused(
        &server,
        b"POST /web/publish HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        400,
    );
    let long_target = format!("GET /{} HTTP/1.1\r\nHost: t\r\n\r\n", "a".repeat(9000));
    refused(&server, long_target.as_bytes(), 414);
    let big_head = format!(
        "GET / HTTP/1.1\r\nHost: t\r\nX-Big: {}\r\n\r\n",
        "a".repeat(17000)
    );
    refused(&server, big_head.as_bytes(), 431);
    refused(&server, b"BREW /pot HTTP/1.1\r\nHost: t\r\n\r\n", 501);
    refused(
        &server,
        b"POST /web/publish HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n\r\n",
        501,
    );
    refused(&server, b"GET / HTTP/2.0\r\nHost: t\r\n\r\n", 505);
    refused(
        &server,
        b"GET / HTTP/1.1\r\nHost: t\r\nExpect: tea\r\n\r\n",
        417,
    );

    // These keep the connection: the stream is still in step.
    let mut s = connect(server.addr);
    s.write_all(b"GET /nope HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut s, false).status, 404);
    s.write_all(b"PUT /web/publish HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nab")
        .unwrap();
    let resp = read_response(&mut s, false);
    assert_eq!(resp.status, 405);
    assert_eq!(resp.header("allow"), Some("GET, POST"));
    s.write_all(b"DELETE /static/demo.js HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    let resp = read_response(&mut s, false);
    assert_eq!(resp.status, 405);
    assert_eq!(resp.header("allow"), Some("GET, HEAD"));
    s.write_all(b"GET /static/demo.js HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut s, false).status, 200);
}

#[test]
fn a_stalled_head_is_answered_408() {
    let server = Server::start(&["--head-timeout", "0.3"]);
    let mut s = connect(server.addr);
    s.write_all(b"GET / HTTP/1.1\r\nHost:").unwrap();
    let resp = read_response(&mut s, false);
    assert_eq!(resp.status, 408);
    read_until_closed(&mut s);
}

#[test]
fn an_idle_keep_alive_connection_is_closed() {
    let server = Server::start(&["--keep-alive-timeout", "0.3"]);
    let mut s = connect(server.addr);
    s.write_all(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
    assert_eq!(read_response(&mut s, false).status, 200);
    assert!(read_until_closed(&mut s).is_empty());
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let server = Server::start(&[]);
    server.rest("create_channel", &[("channel_name", "c")]);
    let mut s = connect(server.addr);
    let mut reqs = String::new();
    reqs.push_str("GET /static/demo.js HTTP/1.1\r\nHost: t\r\n\r\n");
    reqs.push_str(&post("/web/publish", PUBLISH_BODY));
    reqs.push_str("GET /nope HTTP/1.1\r\nHost: t\r\n\r\n");
    reqs.push_str("HEAD / HTTP/1.1\r\nHost: t\r\n\r\n");
    reqs.push_str(&post(
        "/web/get_channel_info",
        "security_token=S&channel_name=c",
    ));
    s.write_all(reqs.as_bytes()).unwrap();
    let r = read_response(&mut s, false);
    assert_eq!(
        (r.status, r.header("content-type")),
        (200, Some("text/javascript; charset=utf-8"))
    );
    assert_eq!(read_response(&mut s, false).text(), "[true, {}]");
    assert_eq!(read_response(&mut s, false).status, 404);
    let head = read_response(&mut s, true);
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    let info = read_response(&mut s, false).json();
    assert_eq!(info[1]["seq"], json!(1));
}

#[test]
fn a_request_arriving_one_byte_at_a_time() {
    let server = Server::start(&[]);
    server.rest("create_channel", &[("channel_name", "c")]);
    let mut s = connect(server.addr);
    let req = post("/web/publish", PUBLISH_BODY);
    for b in req.as_bytes() {
        s.write_all(std::slice::from_ref(b)).unwrap();
        s.flush().unwrap();
    }
    assert_eq!(read_response(&mut s, false).text(), "[true, {}]");
    // And a chunked body, one byte at a time.
    let body = format!("{:x}\r\n{PUBLISH_BODY}\r\n0\r\n\r\n", PUBLISH_BODY.len());
    let req = format!(
        "POST /web/publish HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n{body}"
    );
    for b in req.as_bytes() {
        s.write_all(std::slice::from_ref(b)).unwrap();
    }
    assert_eq!(read_response(&mut s, false).text(), "[true, {}]");
}

#[test]
fn http10_connection_close_and_keep_alive() {
    let server = Server::start(&[]);
    let mut s = connect(server.addr);
    s.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
    let r = read_response(&mut s, false);
    assert_eq!((r.status, r.header("connection")), (200, Some("close")));
    read_until_closed(&mut s);

    let mut s = connect(server.addr);
    s.write_all(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        .unwrap();
    let r = read_response(&mut s, false);
    assert_eq!(r.header("connection"), Some("keep-alive"));
    s.write_all(b"GET /nope HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut s, false).status, 404);

    let mut s = connect(server.addr);
    s.write_all(b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .unwrap();
    let r = read_response(&mut s, false);
    assert_eq!(r.header("connection"), Some("close"));
    read_until_closed(&mut s);
}

#[test]
fn a_client_that_half_closes_after_sending_still_gets_its_answer() {
    let server = Server::start(&[]);
    let mut s = connect(server.addr);
    s.write_all(b"GET /static/demo.js HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    s.shutdown(std::net::Shutdown::Write).unwrap();
    let r = read_response(&mut s, false);
    assert_eq!(r.status, 200);
    assert!(r.text().contains("hookbox.connect"));
}

#[test]
fn expect_100_continue() {
    let server = Server::start(&[]);
    server.rest("create_channel", &[("channel_name", "c")]);
    let mut s = connect(server.addr);
    let head = format!(
        "POST /web/publish HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: {}\r\n\r\n",
        PUBLISH_BODY.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    assert_eq!(read_response(&mut s, true).status, 100);
    s.write_all(PUBLISH_BODY.as_bytes()).unwrap();
    assert_eq!(read_response(&mut s, false).text(), "[true, {}]");
    // A route that takes no body answers at once and closes.
    refused(
        &server,
        b"POST /nope HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n",
        404,
    );
}

#[test]
fn static_files_with_validators_and_no_traversal() {
    let server = Server::start(&[]);
    let r = http_once(server.addr, b"GET / HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
    assert!(r.text().contains("/static/demo.js"));
    let tag = r.header("etag").unwrap().to_string();
    let req = format!("GET / HTTP/1.1\r\nHost: t\r\nIf-None-Match: {tag}\r\n\r\n");
    let r = http_once(server.addr, req.as_bytes());
    assert_eq!(r.status, 304);
    assert!(r.body.is_empty());
    let r = http_once(
        server.addr,
        b"GET / HTTP/1.1\r\nHost: t\r\nIf-None-Match: \"other\"\r\n\r\n",
    );
    assert_eq!(r.status, 200);
    let head = http_once(
        server.addr,
        b"HEAD /static/demo.js HTTP/1.1\r\nHost: t\r\n\r\n",
    );
    let get = http_once(
        server.addr,
        b"GET /static/demo.js HTTP/1.1\r\nHost: t\r\n\r\n",
    );
    assert_eq!(head.header("content-length"), get.header("content-length"));
    assert_eq!(
        get.body.len().to_string(),
        get.header("content-length").unwrap()
    );
    for path in [
        "/static/../Cargo.toml",
        "/static/%2e%2e/Cargo.toml",
        "/static/",
        "/static/index.html/",
    ] {
        let req = format!("GET {path} HTTP/1.1\r\nHost: t\r\n\r\n");
        assert_eq!(http_once(server.addr, req.as_bytes()).status, 404, "{path}");
    }
}

#[test]
fn rest_through_query_json_body_and_bearer() {
    let server = Server::start(&[]);
    let r = http_once(
        server.addr,
        b"GET /web/create_channel?security_token=S&channel_name=q HTTP/1.1\r\nHost: t\r\n\r\n",
    );
    assert_eq!(r.text(), "[true, {}]");
    let body = r#"{"channel_name": "q", "payload": {"nested": [1, 2]}}"#;
    let req = format!(
        "POST /web/publish HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer S\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    assert_eq!(http_once(server.addr, req.as_bytes()).text(), "[true, {}]");
    let info = server.rest("get_channel_info", &[("channel_name", "q")]);
    assert_eq!(info[1]["options"]["history"], json!([]));
    assert_eq!(info[1]["seq"], json!(1));
    let req = "POST /web/publish HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 5\r\n\r\n[1,2]";
    let r = http_once(server.addr, req.as_bytes());
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json(),
        json!([false, {"msg": "the body is not a JSON object"}])
    );
    let req = "GET /web/get_server_info HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer wrong\r\n\r\n";
    assert_eq!(
        http_once(server.addr, req.as_bytes()).json(),
        json!([false, {"msg": "Invalid Security Token"}])
    );
}

#[test]
fn the_rest_api_on_its_own_port() {
    let server = Server::start(&["-w", "0"]);
    let api = server.api_addr.expect("api port");
    assert_ne!(api, server.addr);
    let r = http_once(
        server.addr,
        post("/web/get_server_info", "security_token=S").as_bytes(),
    );
    assert_eq!(r.status, 404);
    for path in ["/web/get_server_info", "/get_server_info"] {
        let r = http_once(api, post(path, "security_token=S").as_bytes());
        assert_eq!(r.json()[0], json!(true), "{path}");
    }
    // The API port serves nothing else.
    let r = http_once(api, b"GET /ws HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(r.json(), json!([false, {"msg": "Unknown method ws"}]));
    let r = http_once(api, b"GET /static/demo.js HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(r.status, 404);
}

#[test]
fn many_keep_alive_requests_on_one_connection() {
    let server = Server::start(&[]);
    let mut s = connect(server.addr);
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    for _ in 0..200 {
        s.write_all(post("/web/get_server_info", "security_token=S").as_bytes())
            .unwrap();
        assert_eq!(read_response(&mut s, false).json()[0], json!(true));
    }
}
