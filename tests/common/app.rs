//! A webhook application for tests: an HTTP server on port 0 that records every call and
//! answers as the test says.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

use super::eventually;

/// One call the application received.
#[derive(Debug, Clone)]
pub struct Call {
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub form: Vec<(String, String)>,
}

impl Call {
    pub fn field(&self, name: &str) -> Option<&str> {
        self.form
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn action(&self) -> &str {
        self.field("action").unwrap_or("")
    }
}

/// How the application answers one call.
pub struct Answer {
    pub status: u16,
    pub body: String,
    pub set_cookie: Option<String>,
    /// Waits this long first (a slow application).
    pub delay: Duration,
    /// Never answers.
    pub hang: bool,
}

pub fn ok(body: Value) -> Answer {
    Answer {
        status: 200,
        body: body.to_string(),
        set_cookie: None,
        delay: Duration::ZERO,
        hang: false,
    }
}

pub type Handler = dyn Fn(&Call) -> Answer + Send + Sync;

pub struct App {
    pub addr: SocketAddr,
    pub calls: Arc<Mutex<Vec<Call>>>,
}

impl App {
    pub fn start(handler: impl Fn(&Call) -> Answer + Send + Sync + 'static) -> App {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let calls = Arc::new(Mutex::new(Vec::new()));
        let handler: Arc<Handler> = Arc::new(handler);
        let record = calls.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let (record, handler) = (record.clone(), handler.clone());
                std::thread::spawn(move || serve(stream, &record, &*handler));
            }
        });
        App { addr, calls }
    }

    pub fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }

    /// Waits for a call with this action, returning it.
    pub fn wait_call(&self, action: &str) -> Call {
        eventually(&format!("a {action} call"), || {
            self.calls().into_iter().find(|c| c.action() == action)
        })
    }

    pub fn flags(&self) -> Vec<String> {
        vec![
            "--cbhost".into(),
            "127.0.0.1".into(),
            "--cbport".into(),
            self.addr.port().to_string(),
        ]
    }
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

fn serve(stream: TcpStream, record: &Mutex<Vec<Call>>, handler: &Handler) {
    let mut r = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    if r.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let path = line.split(' ').nth(1).unwrap_or("").to_string();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        r.read_line(&mut h).unwrap();
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (k, v) = h.split_once(':').unwrap();
        headers.push((k.trim().to_string(), v.trim().to_string()));
    }
    let len: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .map_or(0, |(_, v)| v.parse().unwrap());
    let mut body = vec![0u8; len];
    r.read_exact(&mut body).unwrap();
    let form = String::from_utf8(body)
        .unwrap()
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect();
    let call = Call {
        path,
        headers,
        form,
    };
    record.lock().unwrap().push(call.clone());
    let answer = handler(&call);
    if answer.hang {
        std::thread::sleep(Duration::from_secs(3600));
    }
    std::thread::sleep(answer.delay);
    let cookie = answer
        .set_cookie
        .map_or(String::new(), |c| format!("Set-Cookie: {c}\r\n"));
    let resp = format!(
        "HTTP/1.1 {} X\r\nContent-Type: application/json\r\n{cookie}Content-Length: {}\r\nConnection: close\r\n\r\n{}",
        answer.status,
        answer.body.len(),
        answer.body
    );
    let mut stream = stream;
    let _ = stream.write_all(resp.as_bytes());
}
