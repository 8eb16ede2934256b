//! Publisher threads: each keeps one HTTP connection alive and sends its share of the
//! messages, flat out or at a fixed rate, waiting for each answer.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::wire::{self, Target};

#[derive(Debug, Clone)]
pub struct Plan {
    pub target: Target,
    pub addr: SocketAddr,
    pub host: String,
    pub token: String,
    /// The channel of each message, in order.
    pub channels: Arc<Vec<String>>,
    pub size: usize,
    /// Messages per second over all publishers; 0 is flat out.
    pub rate: f64,
    pub publishers: usize,
}

#[derive(Debug, Default)]
pub struct Outcome {
    pub sent: u64,
    pub refused: u64,
    /// From the first request to the last answer.
    pub elapsed: Duration,
}

/// Runs the plan and waits for every publisher.
pub fn run(plan: &Plan, start: Instant) -> Outcome {
    let sent = Arc::new(AtomicU64::new(0));
    let refused = Arc::new(AtomicU64::new(0));
    let began = Instant::now();
    let threads: Vec<_> = (0..plan.publishers)
        .map(|idx| {
            let plan = plan.clone();
            let (sent, refused) = (sent.clone(), refused.clone());
            std::thread::spawn(move || publisher(idx, &plan, start, began, &sent, &refused))
        })
        .collect();
    for t in threads {
        let _ = t.join();
    }
    Outcome {
        sent: sent.load(Ordering::Relaxed),
        refused: refused.load(Ordering::Relaxed),
        elapsed: began.elapsed(),
    }
}

fn publisher(
    idx: usize,
    plan: &Plan,
    start: Instant,
    began: Instant,
    sent: &AtomicU64,
    refused: &AtomicU64,
) {
    let mut conn: Option<(TcpStream, BufReader<TcpStream>)> = None;
    for (j, channel) in plan.channels.iter().enumerate() {
        if j % plan.publishers != idx {
            continue;
        }
        if plan.rate > 0.0 {
            let due = began + Duration::from_secs_f64(j as f64 / plan.rate);
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
        }
        // A server may close a keep-alive connection after some requests: reconnect once.
        let mut answer = None;
        for _attempt in 0..2 {
            if conn.is_none() {
                conn = connect(plan.addr);
            }
            let Some((writer, reader)) = conn.as_mut() else {
                break;
            };
            let body = wire::message_body(wire::micros(start), plan.size);
            let req = wire::publish_request(plan.target, &plan.host, &plan.token, channel, &body);
            answer = writer
                .write_all(&req)
                .ok()
                .and_then(|_| read_answer(reader));
            if answer.is_some() {
                break;
            }
            conn = None;
        }
        match answer {
            Some((status, body)) if accepted(plan.target, status, &body) => {
                sent.fetch_add(1, Ordering::Relaxed);
            }
            Some((status, body)) => {
                if refused.fetch_add(1, Ordering::Relaxed) == 0 {
                    eprintln!(
                        "hookbox-bench: publish refused: {status} {}",
                        String::from_utf8_lossy(&body)
                    );
                }
            }
            None => {
                if refused.fetch_add(1, Ordering::Relaxed) == 0 {
                    eprintln!(
                        "hookbox-bench: publisher lost its connection to {}",
                        plan.addr
                    );
                }
            }
        }
    }
}

fn connect(addr: SocketAddr) -> Option<(TcpStream, BufReader<TcpStream>)> {
    let stream = TcpStream::connect(addr).ok()?;
    let _ = stream.set_nodelay(true);
    let writer = stream.try_clone().ok()?;
    Some((writer, BufReader::with_capacity(64 * 1024, stream)))
}

fn accepted(target: Target, status: u16, body: &[u8]) -> bool {
    match target {
        Target::Hookbox => status == 200 && body == b"[true, {}]",
        Target::Nchan => (200..300).contains(&status),
    }
}

/// One response: status and body (Content-Length framing, which both servers use).
fn read_answer(r: &mut BufReader<TcpStream>) -> Option<(u16, Vec<u8>)> {
    let mut line = String::new();
    r.read_line(&mut line).ok()?;
    let status: u16 = line.split(' ').nth(1)?.parse().ok()?;
    let mut len = 0usize;
    let mut chunked = false;
    loop {
        line.clear();
        r.read_line(&mut line).ok()?;
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        let lower = l.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("content-length:") {
            len = v.trim().parse().ok()?;
        }
        if lower.starts_with("transfer-encoding:") && lower.contains("chunked") {
            chunked = true;
        }
    }
    let mut body = vec![0u8; len];
    r.read_exact(&mut body).ok()?;
    if chunked {
        // Not expected from either server; read chunks until the last one.
        loop {
            line.clear();
            r.read_line(&mut line).ok()?;
            let n = usize::from_str_radix(line.trim(), 16).ok()?;
            let mut chunk = vec![0u8; n + 2];
            r.read_exact(&mut chunk).ok()?;
            if n == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..n]);
        }
    }
    Some((status, body))
}
