//! Headless Chromium (Debian's package) driven over the Chrome DevTools Protocol, for tests
//! where a real browser matters. No browser is downloaded.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tungstenite::{Message, WebSocket};

pub struct Browser {
    child: Child,
    ws: WebSocket<TcpStream>,
    next_id: u64,
    profile: PathBuf,
}

pub struct Page {
    pub target: String,
    pub session: String,
}

/// Where Chromium is, if it is installed.
pub fn chromium() -> Option<PathBuf> {
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

impl Browser {
    /// Starts Chromium, or says in one line why the test is skipped. In CI a missing
    /// browser is a failure.
    pub fn launch(test: &str) -> Option<Browser> {
        let Some(bin) = chromium() else {
            if std::env::var_os("CI").is_some() {
                panic!("{test}: Chromium is not installed (.ci/run installs Debian's chromium)");
            }
            eprintln!(
                "{test}: skipped: no Chromium at /usr/bin/chromium (apt-get install chromium)"
            );
            return None;
        };
        let profile =
            std::env::temp_dir().join(format!("hookbox-chromium-{}-{test}", std::process::id()));
        let _ = std::fs::remove_dir_all(&profile);
        let mut child = Command::new(bin)
            .args([
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-quic",
                "--no-first-run",
                "--no-default-browser-check",
                "--window-size=1000,720",
                "--remote-debugging-port=0",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start chromium");
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("DevTools listening on ") {
                    let _ = tx.send(url.trim().to_string());
                }
            }
        });
        let url = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("chromium did not start its DevTools endpoint");
        let host = url
            .trim_start_matches("ws://")
            .split('/')
            .next()
            .unwrap()
            .to_string();
        let stream = TcpStream::connect(&host).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let (ws, _) = tungstenite::client(url.as_str(), stream).expect("DevTools handshake");
        Some(Browser {
            child,
            ws,
            next_id: 0,
            profile,
        })
    }

    /// One DevTools call; events that arrive meanwhile are skipped.
    pub fn call(&mut self, session: Option<&str>, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut msg = json!({"id": id, "method": method, "params": params});
        if let Some(s) = session {
            msg["sessionId"] = json!(s);
        }
        self.ws.send(Message::text(msg.to_string())).unwrap();
        loop {
            let Message::Text(t) = self.ws.read().expect("DevTools answer") else {
                continue;
            };
            let v: Value = serde_json::from_str(t.as_str()).unwrap();
            if v["id"] == json!(id) {
                assert!(v.get("error").is_none(), "{method}: {}", v["error"]);
                return v["result"].clone();
            }
        }
    }

    pub fn open(&mut self, url: &str) -> Page {
        self.open_with(json!({ "url": url }))
    }

    /// A page in a browser context of its own: its own cookies, like another person's browser.
    pub fn open_private(&mut self, url: &str) -> Page {
        let context =
            self.call(None, "Target.createBrowserContext", json!({}))["browserContextId"].clone();
        self.open_with(json!({"url": url, "browserContextId": context}))
    }

    /// Creates a target with these parameters and attaches to it.
    fn open_with(&mut self, params: Value) -> Page {
        let target = self.call(None, "Target.createTarget", params)["targetId"]
            .as_str()
            .unwrap()
            .to_string();
        let session = self.call(
            None,
            "Target.attachToTarget",
            json!({"targetId": target, "flatten": true}),
        )["sessionId"]
            .as_str()
            .unwrap()
            .to_string();
        Page { target, session }
    }

    /// Evaluates an expression in the page (awaiting a promise) and returns its value.
    pub fn eval(&mut self, page: &Page, expr: &str) -> Value {
        let r = self.call(
            Some(&page.session),
            "Runtime.evaluate",
            json!({"expression": expr, "returnByValue": true, "awaitPromise": true}),
        );
        if let Some(e) = r.get("exceptionDetails") {
            return json!({"exception": e["text"], "detail": e["exception"]["description"]});
        }
        r["result"]["value"].clone()
    }

    /// Polls an expression until it is truthy, returning its value.
    pub fn wait(&mut self, page: &Page, expr: &str, what: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let v = self.eval(page, expr);
            let truthy = match &v {
                Value::Null | Value::Bool(false) => false,
                Value::Object(o) if o.contains_key("exception") => false,
                Value::String(s) => !s.is_empty(),
                Value::Array(a) => !a.is_empty(),
                _ => true,
            };
            if truthy {
                return v;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}: {expr} -> {v}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn close(&mut self, page: Page) {
        self.call(None, "Target.closeTarget", json!({"targetId": page.target}));
    }

    pub fn screenshot(&mut self, page: &Page, path: &Path) {
        use base64::Engine as _;
        let r = self.call(
            Some(&page.session),
            "Page.captureScreenshot",
            json!({"format": "png"}),
        );
        let png = base64::engine::general_purpose::STANDARD
            .decode(r["data"].as_str().unwrap())
            .unwrap();
        std::fs::write(path, png).unwrap();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}
