//! Subscriber threads: each drives its share of WebSocket connections with its own
//! non-blocking poll loop, counts deliveries and records publish-to-receive latency.

use std::collections::VecDeque;
use std::io::{ErrorKind, Read, Write};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};

use crate::wire::{self, Target, Transport};

/// Connections a thread has connecting or handshaking at once.
const IN_FLIGHT: usize = 256;

/// Counters every thread adds to.
#[derive(Debug)]
pub struct Shared {
    pub start: Instant,
    pub subscribed: AtomicUsize,
    pub delivered: AtomicU64,
    pub closed: AtomicUsize,
    pub connect_retries: AtomicUsize,
    pub last_delivery_us: AtomicU64,
    pub stop: AtomicBool,
}

impl Shared {
    pub fn new(start: Instant) -> Arc<Shared> {
        Arc::new(Shared {
            start,
            subscribed: AtomicUsize::new(0),
            delivered: AtomicU64::new(0),
            closed: AtomicUsize::new(0),
            connect_retries: AtomicUsize::new(0),
            last_delivery_us: AtomicU64::new(0),
            stop: AtomicBool::new(false),
        })
    }
}

/// Where and how subscribers connect.
#[derive(Debug, Clone)]
pub struct Spec {
    pub target: Target,
    pub transport: Transport,
    pub addr: SocketAddr,
    pub host: String,
}

enum State {
    Connecting,
    Upgrading,
    Open {
        subscribed: bool,
    },
    /// A CSP long-poll subscriber: which answer it waits for next.
    Csp(CspStep),
}

enum CspStep {
    Handshake,
    Login {
        key: String,
    },
    Poll {
        key: String,
        ack: u64,
        subscribed: bool,
    },
}

struct Conn {
    stream: TcpStream,
    channel: String,
    state: State,
    /// Bytes of a frame that has not arrived whole.
    partial: Vec<u8>,
    /// Bytes not yet written.
    out: Vec<u8>,
}

/// Starts a thread for `channels` (one subscriber each); it returns its latency samples in
/// microseconds when `shared.stop` is set.
pub fn spawn(spec: Spec, channels: Vec<String>, shared: Arc<Shared>) -> JoinHandle<Vec<u32>> {
    std::thread::spawn(move || run(spec, channels, shared))
}

fn run(spec: Spec, channels: Vec<String>, shared: Arc<Shared>) -> Vec<u32> {
    let mut poll = match Poll::new() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("hookbox-bench: poll: {e}");
            return Vec::new();
        }
    };
    let mut events = Events::with_capacity(1024);
    let mut conns: slab::Slab<Conn> = slab::Slab::with_capacity(channels.len());
    let mut waiting: VecDeque<String> = channels.into();
    let mut in_flight = 0usize;
    let mut latencies = Vec::new();
    let mut scratch = vec![0u8; 256 * 1024];
    while !shared.stop.load(Ordering::Relaxed) {
        while in_flight < IN_FLIGHT {
            let Some(channel) = waiting.pop_front() else {
                break;
            };
            match TcpStream::connect(spec.addr) {
                Ok(mut stream) => {
                    let _ = stream.set_nodelay(true);
                    let entry = conns.vacant_entry();
                    if poll
                        .registry()
                        .register(
                            &mut stream,
                            Token(entry.key()),
                            Interest::READABLE | Interest::WRITABLE,
                        )
                        .is_err()
                    {
                        waiting.push_back(channel);
                        break;
                    }
                    entry.insert(Conn {
                        stream,
                        channel,
                        state: State::Connecting,
                        partial: Vec::new(),
                        out: Vec::new(),
                    });
                    in_flight += 1;
                }
                Err(_) => {
                    shared.connect_retries.fetch_add(1, Ordering::Relaxed);
                    waiting.push_back(channel);
                    break;
                }
            }
        }
        if poll
            .poll(&mut events, Some(Duration::from_millis(10)))
            .is_err()
        {
            continue;
        }
        for ev in events.iter() {
            let key = ev.token().0;
            let Some(conn) = conns.get_mut(key) else {
                continue;
            };
            let mut drop_it = false;
            if matches!(conn.state, State::Connecting) && (ev.is_writable() || ev.is_error()) {
                match conn.stream.take_error() {
                    Ok(None) if conn.stream.peer_addr().is_ok() => {
                        if spec.transport == Transport::LongPoll {
                            let req = wire::csp_request(&spec.host, "handshake", "", "{}");
                            conn.out.extend_from_slice(&req);
                            conn.state = State::Csp(CspStep::Handshake);
                        } else {
                            conn.out.extend_from_slice(&wire::upgrade_request(
                                &spec.host,
                                &sub_path(&spec, &conn.channel),
                            ));
                            if spec.target == Target::Hookbox {
                                conn.out.extend_from_slice(&wire::rtjp_login_and_subscribe(
                                    &conn.channel,
                                ));
                            }
                            conn.state = State::Upgrading;
                        }
                    }
                    Ok(None) => continue,
                    _ => {
                        shared.connect_retries.fetch_add(1, Ordering::Relaxed);
                        waiting.push_back(conn.channel.clone());
                        in_flight -= 1;
                        drop_it = true;
                    }
                }
            }
            if !drop_it && !conn.out.is_empty() {
                match conn.stream.write(&conn.out) {
                    Ok(n) => drop(conn.out.drain(..n)),
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                    Err(_) => drop_it = true,
                }
            }
            if !drop_it && (ev.is_readable() || ev.is_read_closed()) {
                drop_it = read_all(
                    conn,
                    &spec,
                    &shared,
                    &mut scratch,
                    &mut latencies,
                    &mut in_flight,
                );
            }
            if drop_it {
                let mut c = conns.remove(key);
                let _ = poll.registry().deregister(&mut c.stream);
            }
        }
    }
    latencies
}

fn sub_path(spec: &Spec, channel: &str) -> String {
    match spec.target {
        Target::Hookbox => "/ws".to_string(),
        Target::Nchan => format!("/sub/{channel}"),
    }
}

/// Reads until the socket would block; true when the connection is finished.
fn read_all(
    conn: &mut Conn,
    spec: &Spec,
    shared: &Shared,
    scratch: &mut [u8],
    latencies: &mut Vec<u32>,
    in_flight: &mut usize,
) -> bool {
    loop {
        let n = match conn.stream.read(scratch) {
            Ok(0) => {
                shared.closed.fetch_add(1, Ordering::Relaxed);
                return true;
            }
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::WouldBlock => return false,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(_) => {
                shared.closed.fetch_add(1, Ordering::Relaxed);
                return true;
            }
        };
        let mut partial = std::mem::take(&mut conn.partial);
        let data: &[u8] = if partial.is_empty() {
            &scratch[..n]
        } else {
            partial.extend_from_slice(&scratch[..n]);
            &partial
        };
        let mut replies = Vec::new();
        let (used, done) = if matches!(conn.state, State::Csp(_)) {
            consume_csp(
                &mut conn.state,
                data,
                spec,
                &conn.channel,
                shared,
                latencies,
                in_flight,
                &mut replies,
            )
        } else {
            consume(
                &mut conn.state,
                data,
                spec.target,
                shared,
                latencies,
                in_flight,
                &mut replies,
            )
        };
        conn.partial = data[used..].to_vec();
        if done {
            shared.closed.fetch_add(1, Ordering::Relaxed);
            return true;
        }
        if !replies.is_empty() {
            // Pongs are tiny; a socket too full to take one now gets it with the next write.
            conn.out.extend_from_slice(&replies);
            if let Ok(n) = conn.stream.write(&conn.out) {
                conn.out.drain(..n);
            }
        }
    }
}

/// Consumes the handshake answer and whole frames; `(used, closed)`.
fn consume(
    state: &mut State,
    data: &[u8],
    target: Target,
    shared: &Shared,
    latencies: &mut Vec<u32>,
    in_flight: &mut usize,
    replies: &mut Vec<u8>,
) -> (usize, bool) {
    let mut at = 0;
    if matches!(state, State::Upgrading) {
        let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") else {
            return (0, false);
        };
        if !data.starts_with(b"HTTP/1.1 101") {
            eprintln!(
                "hookbox-bench: upgrade refused: {}",
                String::from_utf8_lossy(&data[..end.min(200)])
            );
            return (data.len(), true);
        }
        at = end + 4;
        *in_flight -= 1;
        let subscribed = target == Target::Nchan;
        if subscribed {
            shared.subscribed.fetch_add(1, Ordering::Relaxed);
        }
        *state = State::Open { subscribed };
    }
    let State::Open { subscribed } = state else {
        return (at, false);
    };
    while let Some((opcode, payload, len)) = wire::server_frame(&data[at..]) {
        let p = &data[at..][payload];
        match opcode {
            1 | 2 => {
                if !*subscribed && wire::is_own_subscribe(p) {
                    *subscribed = true;
                    shared.subscribed.fetch_add(1, Ordering::Relaxed);
                } else if wire::is_message(target, p) {
                    let now = wire::micros(shared.start);
                    shared.delivered.fetch_add(1, Ordering::Relaxed);
                    shared.last_delivery_us.fetch_max(now, Ordering::Relaxed);
                    if let Some(sent) = wire::sent_at(p) {
                        latencies.push(now.saturating_sub(sent).min(u64::from(u32::MAX)) as u32);
                    }
                }
            }
            8 => return (data.len(), true),
            9 => replies.extend_from_slice(&wire::client_frame(0xA, p)),
            _ => {}
        }
        at += len;
    }
    (at, false)
}

/// Consumes CSP answers: handshake, then the login's "OK", then comet after comet.
#[allow(clippy::too_many_arguments)]
fn consume_csp(
    state: &mut State,
    data: &[u8],
    spec: &Spec,
    channel: &str,
    shared: &Shared,
    latencies: &mut Vec<u32>,
    in_flight: &mut usize,
    requests: &mut Vec<u8>,
) -> (usize, bool) {
    let mut at = 0;
    while let Some((status, body, len)) = wire::http_response(&data[at..]) {
        let body = &data[at..][body];
        at += len;
        let State::Csp(step) = state else {
            return (at, true);
        };
        if status != 200 {
            eprintln!(
                "hookbox-bench: CSP answer {status}: {}",
                String::from_utf8_lossy(body)
            );
            return (data.len(), true);
        }
        let text = String::from_utf8_lossy(body);
        let inner = text.trim().trim_start_matches('(').trim_end_matches(')');
        match step {
            CspStep::Handshake => {
                let v: serde_json::Value = serde_json::from_str(inner).unwrap_or_default();
                let Some(key) = v["session"].as_str().map(str::to_string) else {
                    return (data.len(), true);
                };
                requests.extend_from_slice(&wire::csp_request(
                    &spec.host,
                    "send",
                    &format!("s={key}"),
                    &wire::csp_login_packet(channel),
                ));
                *step = CspStep::Login { key };
            }
            CspStep::Login { key } => {
                let key = std::mem::take(key);
                let query = format!("s={key}&a=0&du=30");
                requests.extend_from_slice(&wire::csp_request(&spec.host, "comet", &query, ""));
                *step = CspStep::Poll {
                    key,
                    ack: 0,
                    subscribed: false,
                };
            }
            CspStep::Poll {
                key,
                ack,
                subscribed,
            } => {
                let packets: serde_json::Value = serde_json::from_str(inner).unwrap_or_default();
                for p in packets.as_array().into_iter().flatten() {
                    let (Some(id), Some(line)) = (p[0].as_u64(), p[2].as_str()) else {
                        continue;
                    };
                    if id <= *ack {
                        continue;
                    }
                    *ack = id;
                    let line = line.as_bytes();
                    if !*subscribed && wire::is_own_subscribe(line) {
                        *subscribed = true;
                        *in_flight -= 1;
                        shared.subscribed.fetch_add(1, Ordering::Relaxed);
                    } else if wire::is_message(spec.target, line) {
                        let now = wire::micros(shared.start);
                        shared.delivered.fetch_add(1, Ordering::Relaxed);
                        shared.last_delivery_us.fetch_max(now, Ordering::Relaxed);
                        if let Some(sent) = wire::sent_at(line) {
                            latencies
                                .push(now.saturating_sub(sent).min(u64::from(u32::MAX)) as u32);
                        }
                    }
                }
                let query = format!("s={key}&a={ack}");
                requests.extend_from_slice(&wire::csp_request(&spec.host, "comet", &query, ""));
            }
        }
    }
    (at, false)
}
