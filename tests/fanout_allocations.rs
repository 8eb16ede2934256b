//! A publish allocates the same on the reactor thread whether it goes to 10 subscribers or
//! to 300: the frame is serialised once and queued on each subscriber by reference.
//!
//! A counting global allocator counts only the reactor thread's allocations; the server runs
//! in this process, and its subscribers are raw sockets drained from the test thread.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

struct Counting;

thread_local! {
    static COUNTED: Cell<bool> = const { Cell::new(false) };
}
static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

fn count() {
    if COUNTED.with(Cell::get) {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
    }
}

// SAFETY: every call is passed straight to the system allocator; counting touches only an
// atomic and a const-initialised thread local, neither of which allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        System.alloc(layout)
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        System.alloc_zeroed(layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        System.realloc(ptr, layout, new_size)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

mod common;

use common::RawSubscriber as Sub;

const WAIT: Duration = Duration::from_secs(20);

fn wait_for(subs: &mut [Sub], publishes: usize) {
    let deadline = Instant::now() + WAIT;
    loop {
        for s in subs.iter_mut() {
            s.pump();
        }
        if subs.iter().all(|s| s.publishes >= publishes) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "subscribers did not receive {publishes}"
        );
        std::thread::yield_now();
    }
}

/// One REST call on a keep-alive connection; returns the response body.
fn call(conn: &mut TcpStream, method: &str, body: &str) -> String {
    let req = format!(
        "POST /web/{method} HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    conn.write_all(req.as_bytes()).unwrap();
    let mut resp = Vec::new();
    let mut b = [0u8; 4096];
    loop {
        if let Some(i) = resp.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&resp[..i]).to_ascii_lowercase();
            let len: usize = head
                .split("content-length: ")
                .nth(1)
                .and_then(|v| v.split("\r\n").next())
                .and_then(|v| v.parse().ok())
                .unwrap();
            if resp.len() >= i + 4 + len {
                return String::from_utf8_lossy(&resp[i + 4..i + 4 + len]).into_owned();
            }
        }
        let n = conn.read(&mut b).unwrap();
        assert!(n > 0);
        resp.extend_from_slice(&b[..n]);
    }
}

/// Publishes `n` messages to `channel` and waits until every subscriber has them; returns
/// the reactor's allocations meanwhile.
fn publish_and_count(conn: &mut TcpStream, subs: &mut [Sub], channel: &str, n: usize) -> u64 {
    let body = format!("security_token=S&channel_name={channel}&payload=%22hello%22");
    let before = ALLOCATIONS.load(Ordering::SeqCst);
    let base = subs[0].publishes;
    for i in 1..=n {
        assert_eq!(call(conn, "publish", &body), "[true, {}]");
        wait_for(subs, base + i);
    }
    ALLOCATIONS.load(Ordering::SeqCst) - before
}

#[test]
fn allocations_per_publish_do_not_grow_with_subscribers() {
    let config = hookbox::config::Config {
        port: 0,
        api_token: Some("S".into()),
        ..Default::default()
    };
    // The server holds shared frames (Rc), so it is made on the thread that runs it.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let server = hookbox::server::Server::bind(config).unwrap();
        tx.send(server.local_addr().unwrap()).unwrap();
        COUNTED.with(|c| c.set(true));
        server.run().unwrap();
    });
    let addr = rx.recv().unwrap();
    let mut small: Vec<Sub> = (0..10)
        .map(|i| Sub::open(addr, &format!("s{i}"), "small"))
        .collect();
    let mut big: Vec<Sub> = (0..300)
        .map(|i| Sub::open(addr, &format!("b{i}"), "big"))
        .collect();
    let mut conn = TcpStream::connect(addr).unwrap();
    // Warm up: once everyone is subscribed, the first frames give each queue its ring and
    // the reactor its lists.
    let warm = |conn: &mut TcpStream, subs: &mut [Sub], ch: &str| {
        let deadline = Instant::now() + WAIT;
        loop {
            for s in subs.iter_mut() {
                s.pump();
            }
            let info = call(
                conn,
                "get_channel_info",
                &format!("security_token=S&channel_name={ch}"),
            );
            let info: serde_json::Value = serde_json::from_str(&info).unwrap();
            if info[1]["subscribers"].as_array().map_or(0, Vec::len) == subs.len() {
                break;
            }
            assert!(Instant::now() < deadline, "subscribers did not subscribe");
        }
        publish_and_count(conn, subs, ch, 20);
    };
    warm(&mut conn, &mut small, "small");
    warm(&mut conn, &mut big, "big");

    let messages = 200;
    let a_small = publish_and_count(&mut conn, &mut small, "small", messages);
    let a_big = publish_and_count(&mut conn, &mut big, "big", messages);
    let per_small = a_small as f64 / messages as f64;
    let per_big = a_big as f64 / messages as f64;
    println!("allocations per publish: {per_small:.2} to 10 subscribers, {per_big:.2} to 300");
    // One allocation per subscriber per message would add 290 per publish.
    assert!(per_big <= per_small + 1.0, "{per_small:.2} vs {per_big:.2}");
}
