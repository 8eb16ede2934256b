//! Shared test helpers: the real `hookbox` binary on port 0, raw HTTP over TCP, and a
//! WebSocket RTJP client. Every wait polls with a deadline; nothing sleeps to synchronise.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::{Message, WebSocket};

pub mod app;

pub const TOKEN: &str = "S";
pub const WAIT: Duration = Duration::from_secs(10);

/// A running server process, killed when dropped.
pub struct Server {
    pub child: Child,
    pub addr: SocketAddr,
    pub api_addr: Option<SocketAddr>,
    pub log: Arc<Mutex<Vec<String>>>,
}

impl Server {
    /// Starts `hookbox -p 0 -r S` with extra arguments.
    pub fn start(extra: &[&str]) -> Server {
        let mut args = vec!["-p", "0", "-r", TOKEN];
        args.extend_from_slice(extra);
        Server::start_raw(&args)
    }

    /// Starts `hookbox` with exactly these arguments and waits for its listening lines.
    pub fn start_raw(args: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_hookbox"))
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn hookbox");
        let stderr = child.stderr.take().expect("stderr");
        let log = Arc::new(Mutex::new(Vec::new()));
        let sink = log.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                let _ = tx.send(line.clone());
                sink.lock().unwrap().push(line);
            }
        });
        let want_api = args.contains(&"-w");
        let deadline = Instant::now() + WAIT;
        let (mut addr, mut api_addr) = (None, None);
        while addr.is_none() || (want_api && api_addr.is_none()) {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = rx.recv_timeout(left).expect("server did not start in time");
            if let Some(a) = line.split("REST API listening on http://").nth(1) {
                api_addr = Some(a.trim().parse().unwrap());
            } else if let Some(a) = line.split("listening on http://").nth(1) {
                addr = Some(a.trim().parse().unwrap());
            }
        }
        Server {
            child,
            addr: addr.unwrap(),
            api_addr,
            log,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn ws_url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    /// Sends a signal to the process.
    pub fn signal(&self, sig: &str) {
        // The shell's own kill, so no procps is needed.
        let status = Command::new("sh")
            .args(["-c", &format!("kill -{sig} {}", self.child.id())])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits for the process to exit and returns its exit code.
    pub fn wait_exit(&mut self) -> Option<i32> {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            assert!(Instant::now() < deadline, "server did not exit");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// A REST call with urlencoded fields (the token is added).
    pub fn rest(&self, method: &str, fields: &[(&str, &str)]) -> Value {
        let (status, body) = self.rest_raw(method, fields);
        assert_eq!(status, 200, "{method}: {body}");
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("{method}: {e}: {body}"))
    }

    /// A REST call with urlencoded fields: status and body text.
    pub fn rest_raw(&self, method: &str, fields: &[(&str, &str)]) -> (u16, String) {
        let mut all = vec![("security_token", TOKEN)];
        all.extend_from_slice(fields);
        let body = form(&all);
        let req = format!(
            "POST /web/{method} HTTP/1.1\r\nHost: t\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let resp = http_once(self.addr, req.as_bytes());
        (resp.status, resp.text())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn form(pairs: &[(&str, &str)]) -> String {
    let mut out = String::new();
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(&encode(k));
        out.push('=');
        out.push_str(&encode(v));
    }
    out
}

fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

// ----- raw HTTP -----

#[derive(Debug, Clone)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

pub fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(WAIT)).unwrap();
    s.set_nodelay(true).unwrap();
    s
}

/// Reads one response (`head_only` for answers to HEAD) from a stream.
pub fn read_response(r: &mut impl Read, head_only: bool) -> HttpResponse {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let n = r.read(&mut byte).expect("read response head");
        assert!(
            n == 1,
            "connection closed inside a response head: {:?}",
            String::from_utf8_lossy(&head)
        );
        head.push(byte[0]);
    }
    let text = String::from_utf8(head).unwrap();
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap();
    let status: u16 = status_line.split(' ').nth(1).unwrap().parse().unwrap();
    let headers: Vec<(String, String)> = lines
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (n, v) = l.split_once(':').unwrap();
            (n.trim().to_string(), v.trim().to_string())
        })
        .collect();
    let len = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .map(|(_, v)| v.parse::<usize>().unwrap());
    let mut body = Vec::new();
    if !head_only && status != 304 && status != 204 && status >= 200 && status != 101 {
        match len {
            Some(n) => {
                body.resize(n, 0);
                r.read_exact(&mut body).unwrap();
            }
            None => {
                r.read_to_end(&mut body).unwrap();
            }
        }
    }
    HttpResponse {
        status,
        headers,
        body,
    }
}

/// Sends raw bytes on a fresh connection and reads one response.
pub fn http_once(addr: SocketAddr, req: &[u8]) -> HttpResponse {
    let mut s = connect(addr);
    s.write_all(req).unwrap();
    read_response(&mut s, req.starts_with(b"HEAD "))
}

/// Waits until the server closes the connection (EOF, or a reset), returning what came first.
pub fn read_until_closed(s: &mut TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return out,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return out,
            Err(e) => panic!("waiting for close: {e}"),
        }
    }
}

// ----- WebSocket RTJP client -----

pub struct Client {
    pub ws: WebSocket<TcpStream>,
    next_id: u64,
    /// Frames read ahead while looking for another.
    pub backlog: Vec<Value>,
}

impl Client {
    pub fn open(server: &Server) -> Client {
        let stream = connect(server.addr);
        let (ws, resp) = tungstenite::client(server.ws_url(), stream).expect("ws handshake");
        assert_eq!(resp.status(), 101);
        Client {
            ws,
            next_id: 0,
            backlog: Vec::new(),
        }
    }

    /// Opens and logs in as `name`, returning the client after CONNECTED.
    pub fn login(server: &Server, name: &str) -> Client {
        let mut c = Client::open(server);
        let payload = json!({ "name": name }).to_string();
        c.send("CONNECT", json!({"cookie_string": "", "payload": payload}));
        let f = c.expect("CONNECTED");
        assert_eq!(f[2]["name"], json!(name));
        c
    }

    /// Sends one frame, returning its id.
    pub fn send(&mut self, name: &str, args: Value) -> u64 {
        self.next_id += 1;
        let line = format!("{}\r\n", json!([self.next_id, name, args]));
        self.ws.send(Message::text(line)).unwrap();
        self.next_id
    }

    pub fn send_text(&mut self, text: &str) {
        self.ws.send(Message::text(text.to_string())).unwrap();
    }

    /// The next frame from the server.
    pub fn recv(&mut self) -> Value {
        if !self.backlog.is_empty() {
            return self.backlog.remove(0);
        }
        loop {
            match self.ws.read().expect("read frame") {
                Message::Text(t) => {
                    let t = t.as_str();
                    assert!(t.ends_with("\r\n"), "frame without line end: {t:?}");
                    let mut frames: Vec<Value> = t
                        .split("\r\n")
                        .filter(|l| !l.is_empty())
                        .map(|l| serde_json::from_str(l).unwrap())
                        .collect();
                    let first = frames.remove(0);
                    self.backlog.extend(frames);
                    return first;
                }
                Message::Ping(_) | Message::Pong(_) => continue,
                other => panic!("unexpected message {other:?}"),
            }
        }
    }

    /// The next frame, which must be called `name`.
    pub fn expect(&mut self, name: &str) -> Value {
        let f = self.recv();
        assert_eq!(f[1], json!(name), "wanted {name}, got {f}");
        f
    }

    pub fn subscribe(&mut self, channel: &str) -> Value {
        self.send("SUBSCRIBE", json!({ "channel_name": channel }));
        self.expect("SUBSCRIBE")
    }

    /// Reads until the server's close frame and returns its code and reason.
    pub fn expect_close(&mut self) -> (u16, String) {
        loop {
            match self.ws.read() {
                Ok(Message::Close(Some(f))) => return (u16::from(f.code), f.reason.to_string()),
                Ok(Message::Close(None)) => return (1005, String::new()),
                Ok(_) => continue,
                Err(e) => panic!("no close frame: {e}"),
            }
        }
    }
}

pub fn close_code(code: CloseCode) -> u16 {
    u16::from(code)
}

/// Polls `f` until it returns `Some`, or panics at the deadline.
pub fn eventually<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

// ----- raw WebSocket frames -----

/// A TCP stream that has completed the WebSocket handshake on `path`.
pub fn raw_ws(addr: SocketAddr, path: &str) -> TcpStream {
    let mut s = connect(addr);
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    s.write_all(req.as_bytes()).unwrap();
    let resp = read_response(&mut s, true);
    assert_eq!(resp.status, 101);
    assert_eq!(
        resp.header("sec-websocket-accept"),
        Some("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
    );
    s
}

/// A client frame, masked.
pub fn masked_frame(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mask = [0x12, 0x34, 0x56, 0x78];
    let mut out = vec![(if fin { 0x80 } else { 0 }) | opcode];
    let n = payload.len();
    if n < 126 {
        out.push(0x80 | n as u8);
    } else if n <= 0xFFFF {
        out.push(0x80 | 126);
        out.extend((n as u16).to_be_bytes());
    } else {
        out.push(0x80 | 127);
        out.extend((n as u64).to_be_bytes());
    }
    out.extend(mask);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i & 3]));
    out
}

/// Reads one server frame: `(fin, opcode, payload)`; `None` when the server closed.
pub fn read_ws_frame(s: &mut TcpStream) -> Option<(bool, u8, Vec<u8>)> {
    let mut h = [0u8; 2];
    if let Err(e) = s.read_exact(&mut h) {
        assert!(
            matches!(
                e.kind(),
                std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::ConnectionReset
            ),
            "{e}"
        );
        return None;
    }
    assert_eq!(h[1] & 0x80, 0, "server frames are not masked");
    let len = match h[1] & 0x7F {
        126 => {
            let mut b = [0u8; 2];
            s.read_exact(&mut b).unwrap();
            u64::from(u16::from_be_bytes(b))
        }
        127 => {
            let mut b = [0u8; 8];
            s.read_exact(&mut b).unwrap();
            u64::from_be_bytes(b)
        }
        n => u64::from(n),
    };
    let mut payload = vec![0u8; len as usize];
    s.read_exact(&mut payload).unwrap();
    Some((h[0] & 0x80 != 0, h[0] & 0x0F, payload))
}

/// Reads frames until a close frame; returns its code (1005 for none).
pub fn read_ws_close(s: &mut TcpStream) -> u16 {
    loop {
        match read_ws_frame(s) {
            Some((_, 8, p)) if p.len() >= 2 => return u16::from_be_bytes([p[0], p[1]]),
            Some((_, 8, _)) => return 1005,
            Some(_) => continue,
            None => panic!("connection closed without a close frame"),
        }
    }
}

// ----- many subscribers on raw sockets -----

/// A subscriber on a raw socket that counts the PUBLISH frames it receives.
pub struct RawSubscriber {
    pub stream: TcpStream,
    buf: Vec<u8>,
    pub publishes: usize,
}

impl RawSubscriber {
    pub fn open(addr: SocketAddr, name: &str, channel: &str) -> RawSubscriber {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream.write_all(b"GET /ws HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n").unwrap();
        let text = format!(
            "[1, \"CONNECT\", {{\"cookie_string\": \"\", \"payload\": \"{{\\\"name\\\": \\\"{name}\\\"}}\"}}]\r\n[2, \"SUBSCRIBE\", {{\"channel_name\": \"{channel}\"}}]\r\n"
        );
        let mask = [1u8, 2, 3, 4];
        let mut frame = vec![0x81];
        if text.len() < 126 {
            frame.push(0x80 | text.len() as u8);
        } else {
            frame.push(0x80 | 126);
            frame.extend((text.len() as u16).to_be_bytes());
        }
        frame.extend(mask);
        frame.extend(text.bytes().enumerate().map(|(i, b)| b ^ mask[i & 3]));
        stream.write_all(&frame).unwrap();
        stream.set_nonblocking(true).unwrap();
        RawSubscriber {
            stream,
            buf: Vec::new(),
            publishes: 0,
        }
    }

    /// Reads what is there and counts whole PUBLISH frames.
    pub fn pump(&mut self) {
        let mut chunk = [0u8; 65536];
        loop {
            match self.stream.read(&mut chunk) {
                Ok(0) => panic!("server closed a subscriber"),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) => panic!("{e}"),
            }
        }
        // Skip the 101 response head once.
        if self.buf.starts_with(b"HTTP/1.1 101") {
            match self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                Some(i) => drop(self.buf.drain(..i + 4)),
                None => return,
            }
        }
        loop {
            let Some(&[_, b1]) = self.buf.get(..2) else {
                return;
            };
            let (len, at) = match b1 & 0x7F {
                126 => match self.buf.get(2..4) {
                    Some(b) => (usize::from(u16::from_be_bytes([b[0], b[1]])), 4),
                    None => return,
                },
                127 => panic!("frame too big for this test"),
                n => (usize::from(n), 2),
            };
            let Some(payload) = self.buf.get(at..at + len) else {
                return;
            };
            if payload.windows(9).any(|w| w == b"\"PUBLISH\"") {
                self.publishes += 1;
            }
            self.buf.drain(..at + len);
        }
    }
}

// ----- CSP client -----

/// A CSP session driven over raw HTTP, as Hookbox's client drives it.
pub struct CspClient {
    pub addr: SocketAddr,
    pub key: String,
    /// The last server packet id taken.
    pub ack: u64,
    next_pid: u64,
    next_rid: u64,
    buf: String,
    /// Frames received and not yet looked at.
    pub backlog: std::collections::VecDeque<Value>,
    /// Variables each long-poll of [`CspClient::recv`] sends.
    pub poll_vars: String,
}

/// Evaluates `(json)` as the original client does with `eval`.
pub fn unwrap_parens(text: &str) -> Value {
    let inner = text
        .trim()
        .strip_prefix('(')
        .and_then(|t| t.strip_suffix(')'))
        .unwrap_or_else(|| panic!("not (json): {text:?}"));
    serde_json::from_str(inner).unwrap_or_else(|e| panic!("{e}: {text:?}"))
}

impl CspClient {
    pub fn handshake(server: &Server, extra: &str) -> CspClient {
        let path = format!("/csp/handshake?ct=application/javascript{extra}");
        let r = http_once(server.addr, csp_post(&path, "{}").as_bytes());
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.header("access-control-allow-origin"), Some("*"));
        let v = unwrap_parens(&r.text());
        CspClient {
            addr: server.addr,
            key: v["session"].as_str().unwrap().to_string(),
            ack: 0,
            next_pid: 0,
            next_rid: 0,
            buf: String::new(),
            backlog: std::collections::VecDeque::new(),
            poll_vars: "&du=5".into(),
        }
    }

    /// Sends frames in one packet (base64, as the original XHR transport does).
    pub fn send(&mut self, frames: &[(&str, Value)]) -> HttpResponse {
        let mut text = String::new();
        for (name, args) in frames {
            self.next_rid += 1;
            text.push_str(&format!("{}\r\n", json!([self.next_rid, name, args])));
        }
        self.next_pid += 1;
        let packets = json!([[self.next_pid, 1, b64(text.as_bytes())]]).to_string();
        self.send_raw(&packets)
    }

    pub fn send_raw(&self, packets: &str) -> HttpResponse {
        let path = format!("/csp/send?s={}&a={}", self.key, self.ack);
        http_once(self.addr, csp_post(&path, packets).as_bytes())
    }

    /// Starts a comet request; read its answer with [`CspClient::comet_answer`].
    pub fn comet_start(&self, extra: &str) -> TcpStream {
        let mut s = connect(self.addr);
        let req = format!(
            "POST /csp/comet?s={}&a={}{extra} HTTP/1.1\r\nHost: t\r\nContent-Type: text/plain\r\nContent-Length: 0\r\n\r\n",
            self.key, self.ack
        );
        s.write_all(req.as_bytes()).unwrap();
        s
    }

    /// Reads a comet answer: the packets, and the RTJP frames they complete (ack advanced).
    pub fn comet_answer(&mut self, s: &mut TcpStream) -> (Value, Vec<Value>) {
        let r = read_response(s, false);
        assert_eq!(r.status, 200, "{}", r.text());
        let packets = unwrap_parens(&r.text());
        let frames = self.take_packets(&packets);
        (packets, frames)
    }

    pub fn take_packets(&mut self, packets: &Value) -> Vec<Value> {
        let mut frames = Vec::new();
        for p in packets.as_array().unwrap() {
            let id = p[0].as_u64().unwrap();
            if id <= self.ack {
                continue;
            }
            assert_eq!(id, self.ack + 1, "packet ids go up by one");
            self.ack = id;
            match p[1].as_u64().unwrap() {
                0 if p[2].is_null() => frames.push(json!([0, "<closed>", {}])),
                0 => self.buf.push_str(p[2].as_str().unwrap()),
                other => panic!("encoding {other}"),
            }
            while let Some(i) = self.buf.find("\r\n") {
                let line: String = self.buf.drain(..i + 2).collect();
                frames.push(serde_json::from_str(line.trim_end()).unwrap());
            }
        }
        frames
    }

    /// One long-poll: starts it and reads its answer.
    pub fn comet(&mut self, extra: &str) -> Vec<Value> {
        let mut s = self.comet_start(extra);
        self.comet_answer(&mut s).1
    }

    /// The next frame, long-polling for it.
    pub fn recv(&mut self) -> Value {
        let deadline = Instant::now() + WAIT;
        while self.backlog.is_empty() {
            let vars = self.poll_vars.clone();
            let frames = self.comet(&vars);
            self.backlog.extend(frames);
            assert!(Instant::now() < deadline, "no frame arrived");
        }
        self.backlog.pop_front().unwrap()
    }

    /// The next frame, which must be called `name`.
    pub fn expect(&mut self, name: &str) -> Value {
        let f = self.recv();
        assert_eq!(f[1], json!(name), "wanted {name}, got {f}");
        f
    }
}

pub fn csp_post(path: &str, body: &str) -> String {
    format!(
        "POST {path} HTTP/1.1\r\nHost: t\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

/// urlsafe base64 without padding, as the original client's encoder writes it.
pub fn b64(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}
pub mod browser;
