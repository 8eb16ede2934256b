//! Replays the example vectors in `proto/vectors/` against the real server, so the protocol
//! documents and the implementation cannot drift apart.

mod common;

use std::collections::HashMap;
use std::path::Path;

use common::*;
use serde_json::Value;

fn load(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("proto/vectors")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// `want` with its placeholders: "<any>" matches anything, "<datetime>" a UTC time.
fn matches(want: &Value, got: &Value) -> bool {
    match (want, got) {
        (Value::String(w), _) if w == "<any>" => true,
        (Value::String(w), Value::String(g)) if w == "<datetime>" => {
            let b = g.as_bytes();
            b.len() == 19 && b[4] == b'-' && b[7] == b'-' && b[10] == b'T' && b[13] == b':'
        }
        (Value::Array(w), Value::Array(g)) => {
            w.len() == g.len() && w.iter().zip(g).all(|(w, g)| matches(w, g))
        }
        (Value::Object(w), Value::Object(g)) => {
            w.len() == g.len()
                && w.iter()
                    .all(|(k, w)| g.get(k).is_some_and(|g| matches(w, g)))
        }
        _ => want == got,
    }
}

fn fields(v: &Value) -> Vec<(String, String)> {
    v.as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
        .collect()
}

#[test]
fn rtjp_sessions() {
    let doc = load("rtjp.json");
    for session in doc["sessions"].as_array().unwrap() {
        let name = session["name"].as_str().unwrap();
        let server = Server::start(&[]);
        let mut clients: HashMap<String, Client> = HashMap::new();
        for (i, step) in session["steps"].as_array().unwrap().iter().enumerate() {
            let at = format!("{name}, step {}", i + 1);
            if let Some(rest) = step.get("rest") {
                let f = fields(&rest[1]);
                let f: Vec<(&str, &str)> =
                    f.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                let got = server.rest(rest[0].as_str().unwrap(), &f);
                assert_eq!(got, step["answer"], "{at}");
                continue;
            }
            let who = step["client"].as_str().unwrap().to_string();
            let client = clients.entry(who).or_insert_with(|| Client::open(&server));
            if let Some(frame) = step.get("send") {
                client.send_text(&format!("{frame}\r\n"));
            } else {
                let got = client.recv();
                assert!(
                    matches(&step["expect"], &got),
                    "{at}:\n want {}\n  got {got}",
                    step["expect"]
                );
            }
        }
    }
}

#[test]
fn rest_calls() {
    let doc = load("rest.json");
    let server = Server::start(&["--demo-channel", ""]);
    for (i, call) in doc["calls"].as_array().unwrap().iter().enumerate() {
        let method = call["method"].as_str().unwrap();
        let mut f = fields(&call["fields"]);
        if !f.iter().any(|(k, _)| k == "security_token") {
            f.insert(0, ("security_token".into(), TOKEN.into()));
        }
        let f: Vec<(&str, &str)> = f.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let body = form(&f);
        let req = format!(
            "POST /web/{method} HTTP/1.1\r\nHost: t\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        let resp = http_once(server.addr, req.as_bytes());
        let status = call.get("status").and_then(Value::as_u64).unwrap_or(200);
        assert_eq!(u64::from(resp.status), status, "call {}: {method}", i + 1);
        assert_eq!(
            resp.text(),
            call["answer"].as_str().unwrap(),
            "call {}: {method}",
            i + 1
        );
    }
}
