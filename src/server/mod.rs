//! The reactor: one thread, one `mio::Poll`, connections in a slab.
//!
//! This is the only place with I/O. It accepts, reads until `WouldBlock`, feeds bytes to the
//! pure parsers, hands frames and REST calls to the hub, queues the hub's effects on the
//! connections they name, writes queued bytes in batches, and runs deadlines.

mod admin;
mod comet;
mod conn;
mod hooks;
mod http_session;
pub mod outbound;
pub mod static_files;
pub mod sys;
pub mod timers;
mod ws_session;

use std::collections::VecDeque;
use std::io::{self, Read};
use std::net::{Shutdown, SocketAddr, ToSocketAddrs};
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::net::{TcpListener, UnixStream};
use mio::{Events, Interest, Poll, Token, Waker};
use slab::Slab;

use crate::config::Config;
use crate::hub::{ConnId, Effect, Hub, HubConfig};
use crate::rtjp::SharedFrame;
use crate::time::Timestamp;
use crate::ws::close_code;
use conn::{Conn, Listener, Phase};
use outbound::Flush;
use timers::{Millis, Timers};

const MAIN: Token = Token(0);
const API: Token = Token(1);
/// Reserved for the webhook worker pool to wake the reactor.
const WAKER: Token = Token(2);
const SIGNALS: Token = Token(3);
const FIRST_CONN: usize = 16;

/// Bytes read from a socket per call.
const READ_CHUNK: usize = 64 * 1024;
/// How long a closing connection may take to drain before it is dropped.
const LINGER_MS: Millis = 5_000;
/// How long shutdown waits for WebSockets to take their close frames.
const SHUTDOWN_GRACE_MS: Millis = 2_000;
/// Connections written per turn. Between turns the reactor looks for new input without
/// waiting, so frames published meanwhile join the queues still waiting and go out in the
/// same write: under load, batches grow by themselves.
const FLUSH_BATCH: usize = 64;
/// A frame sent to at least this many connections counts as a fan-out.
const FANOUT_MIN: usize = 64;
/// Fan-outs that may be going out at once; beyond, HTTP requests wait unread. This is the
/// publishers' backpressure: they cannot queue messages faster than the reactor visits the
/// subscribers, so latency stays bounded while each write still carries several frames. A
/// subscriber whose socket is full does not hold anyone back: visiting it is what counts.
const MAX_FANOUTS: usize = 4;
/// A REST call whose publish leaves this many fan-outs going out is answered when the oldest
/// of them is written, so a publisher waiting for each answer keeps a few messages in
/// flight (for batching) but no more.
const ANSWER_FANOUTS: usize = 2;
/// Accepting pauses this long when the process is out of file descriptors.
const ACCEPT_BACKOFF_MS: Millis = 100;

/// Why the server could not start.
#[derive(Debug)]
pub enum StartError {
    /// An interface name that does not resolve.
    BadAddress(String),
    /// Binding a listener failed (a port in use, say).
    Bind(SocketAddr, io::Error),
    /// Setting up the poller, waker or signal pipe failed.
    Setup(io::Error),
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StartError::BadAddress(a) => write!(f, "cannot resolve interface {a:?}"),
            StartError::Bind(addr, e) if e.kind() == io::ErrorKind::AddrInUse => {
                write!(f, "cannot listen on {addr}: the port is in use")
            }
            StartError::Bind(addr, e) => write!(f, "cannot listen on {addr}: {e}"),
            StartError::Setup(e) => write!(f, "cannot set up the event loop: {e}"),
        }
    }
}

impl std::error::Error for StartError {}

pub struct Server {
    poll: Poll,
    main: TcpListener,
    api: Option<TcpListener>,
    signals: UnixStream,
    waker: Arc<Waker>,
    config: Config,
    conns: Slab<Conn>,
    hub: Hub,
    timers: Timers,
    /// One read buffer for all connections.
    scratch: Vec<u8>,
    effects: Vec<Effect>,
    /// Connections with output to write, oldest first, each with its place in line (0 for
    /// urgent ones put first).
    dirty: VecDeque<(usize, u64)>,
    /// The place in line of the last connection queued, and of the last one written.
    dirty_seq: u64,
    visited_seq: u64,
    /// Connections the hub could not queue for: cut off after the effects are applied.
    slow: Vec<usize>,
    /// Recent fan-outs, as the place in line of their last subscriber: one is done when the
    /// writes have got past it.
    fanouts: VecDeque<u64>,
    /// HTTP connections whose next request waits for the fan-outs to go out, oldest first.
    held: VecDeque<usize>,
    /// A held connection is being read again (the others keep their turn).
    releasing: bool,
    /// HTTP connections whose answer waits for a fan-out to be written.
    deferred: Vec<usize>,
    /// CSP and SSE sessions.
    sessions: comet::Sessions,
    /// The webhook worker pool, and what waits on it.
    pool: crate::webhook::pool::Pool,
    hooks: hooks::HookState,
    admin: admin::AdminState,
    next_rest_token: u64,
    accepted: u64,
    start: Instant,
    /// The monotonic and wall clocks, read once per turn.
    now: Millis,
    wall: Timestamp,
    date: (u64, String),
    /// When shutdown gives up waiting.
    stopping: Option<Millis>,
    accept_paused_until: Option<Millis>,
}

fn resolve(interface: &str, port: u16) -> Result<SocketAddr, StartError> {
    (interface, port)
        .to_socket_addrs()
        .ok()
        .and_then(|mut addrs| addrs.next())
        .ok_or_else(|| StartError::BadAddress(interface.to_string()))
}

fn bind(addr: SocketAddr) -> Result<TcpListener, StartError> {
    let listener = TcpListener::bind(addr).map_err(|e| StartError::Bind(addr, e))?;
    if let Err(e) = sys::deepen_backlog(&listener) {
        crate::warn!("cannot deepen the accept queue of {addr}: {e}");
    }
    Ok(listener)
}

impl Server {
    /// Binds the listeners and sets up the event loop; nothing is served until [`Server::run`].
    pub fn bind(config: Config) -> Result<Server, StartError> {
        let main_addr = resolve(&config.interface, config.port)?;
        let api_addr = match (&config.api_interface, config.api_port) {
            (None, None) => None,
            (iface, port) => {
                let addr = resolve(
                    iface.as_deref().unwrap_or(&config.interface),
                    port.unwrap_or(config.port),
                )?;
                // Port 0 asks for a port of its own even when the main one is 0 too.
                (addr != main_addr || addr.port() == 0).then_some(addr)
            }
        };
        let mut main = bind(main_addr)?;
        let mut api = api_addr.map(bind).transpose()?;
        let poll = Poll::new().map_err(StartError::Setup)?;
        poll.registry()
            .register(&mut main, MAIN, Interest::READABLE)
            .map_err(StartError::Setup)?;
        if let Some(l) = api.as_mut() {
            poll.registry()
                .register(l, API, Interest::READABLE)
                .map_err(StartError::Setup)?;
        }
        let waker = Arc::new(Waker::new(poll.registry(), WAKER).map_err(StartError::Setup)?);
        let mut signals = signal_pipe().map_err(StartError::Setup)?;
        poll.registry()
            .register(&mut signals, SIGNALS, Interest::READABLE)
            .map_err(StartError::Setup)?;
        let hub = Hub::new(HubConfig {
            ignore_missing_publish: config.ignore_missing_publish,
            webhooks: !config.webhooks.is_open_mode(),
            cookie_identifier: config.webhooks.cookie_identifier.clone(),
            epoch_seed: start_seed(),
            demo_channel: config.demo_channel.clone(),
        });
        let pool = crate::webhook::pool::Pool::start(&config.webhooks, waker.clone());
        let start = Instant::now();
        Ok(Server {
            poll,
            main,
            api,
            signals,
            waker,
            config,
            conns: Slab::new(),
            hub,
            timers: Timers::new(),
            scratch: vec![0; READ_CHUNK],
            effects: Vec::new(),
            dirty: VecDeque::new(),
            dirty_seq: 0,
            visited_seq: 0,
            slow: Vec::new(),
            fanouts: VecDeque::new(),
            held: VecDeque::new(),
            releasing: false,
            deferred: Vec::new(),
            sessions: comet::Sessions::new(),
            pool,
            hooks: hooks::HookState::default(),
            admin: admin::AdminState::default(),
            next_rest_token: 0,
            accepted: 0,
            start,
            now: 0,
            wall: Timestamp::now(),
            date: (u64::MAX, String::new()),
            stopping: None,
            accept_paused_until: None,
        })
    }

    /// The address of the main port (useful with `-p 0`).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.main.local_addr()
    }

    /// The address of the REST API's own port, when it has one.
    pub fn api_addr(&self) -> Option<SocketAddr> {
        self.api.as_ref().and_then(|l| l.local_addr().ok())
    }

    /// The waker reserved for the webhook pool.
    pub fn waker(&self) -> Arc<Waker> {
        self.waker.clone()
    }

    /// Serves until SIGINT or SIGTERM, then closes WebSockets with 1001 and returns.
    pub fn run(mut self) -> io::Result<()> {
        let mut events = Events::with_capacity(1024);
        loop {
            self.tick();
            let timeout = if self.dirty.is_empty() {
                self.poll_timeout()
            } else {
                Some(Duration::ZERO)
            };
            if let Err(e) = self.poll.poll(&mut events, timeout) {
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            self.tick();
            for ev in events.iter() {
                match ev.token() {
                    MAIN => self.accept(Listener::Main),
                    API => self.accept(Listener::Api),
                    WAKER => self.on_pool_done(),
                    SIGNALS => self.on_signal(),
                    Token(t) => {
                        let key = t - FIRST_CONN;
                        let closed = ev.is_read_closed() || ev.is_error();
                        if ev.is_readable() || closed {
                            self.on_readable(key, closed);
                        }
                        // Room to write again matters only with something to write.
                        if ev.is_writable()
                            && self.conns.get(key).is_some_and(|c| !c.out.is_empty())
                        {
                            self.mark_dirty(key);
                        }
                    }
                }
                self.apply_effects();
            }
            self.run_timers();
            self.admin_tick();
            self.run_polls();
            self.apply_effects();
            self.flush_dirty(FLUSH_BATCH);
            self.release_deferred();
            self.release_held();
            if let Some(until) = self.accept_paused_until {
                if self.now >= until {
                    self.accept_paused_until = None;
                    self.accept(Listener::Main);
                    if self.api.is_some() {
                        self.accept(Listener::Api);
                    }
                }
            }
            if let Some(deadline) = self.stopping {
                if self.conns.is_empty() || self.now >= deadline {
                    crate::info!("stopped");
                    return Ok(());
                }
            }
        }
    }

    fn tick(&mut self) {
        self.now = self.start.elapsed().as_millis() as Millis;
        self.wall = Timestamp::now();
    }

    fn poll_timeout(&self) -> Option<Duration> {
        let next = [
            self.timers.next(),
            self.sessions.timers.next(),
            self.next_poll(),
            self.admin.next_push(),
            self.stopping,
            self.accept_paused_until,
        ]
        .into_iter()
        .flatten()
        .min()?;
        Some(Duration::from_millis(next.saturating_sub(self.now)))
    }

    /// The `Date` header value, formatted once a second.
    fn http_date(&mut self) -> &str {
        let secs = self.wall.secs();
        if self.date.0 != secs {
            self.date = (secs, self.wall.http_date());
        }
        &self.date.1
    }

    // ----- accepting -----

    fn accept(&mut self, which: Listener) {
        if self.stopping.is_some() || self.accept_paused_until.is_some() {
            return;
        }
        loop {
            let listener = match which {
                Listener::Main => &self.main,
                Listener::Api => match &self.api {
                    Some(l) => l,
                    None => return,
                },
            };
            match listener.accept() {
                Ok((mut stream, peer)) => {
                    let _ = stream.set_nodelay(true);
                    let entry = self.conns.vacant_entry();
                    let key = entry.key();
                    self.accepted += 1;
                    let id = ConnId(((self.accepted & 0xFFFF_FFFF) << 32) | key as u64);
                    let token = Token(key + FIRST_CONN);
                    if let Err(e) = self.poll.registry().register(
                        &mut stream,
                        token,
                        Interest::READABLE | Interest::WRITABLE,
                    ) {
                        crate::warn!("cannot register a connection: {e}");
                        continue;
                    }
                    entry.insert(Conn::new(
                        stream,
                        id,
                        peer,
                        which,
                        self.config.limits.max_outbound,
                        self.now,
                    ));
                    self.refresh_deadline(key);
                    crate::debug!("accepted {peer} as {id}");
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if is_fd_exhaustion(&e) => {
                    crate::warn!("cannot accept: {e}; pausing accepts");
                    self.accept_paused_until = Some(self.now + ACCEPT_BACKOFF_MS);
                    return;
                }
                Err(e) => {
                    crate::debug!("accept failed: {e}");
                    continue;
                }
            }
        }
    }

    // ----- reading -----

    /// Reads until the socket is drained. A read shorter than the buffer drained it (new
    /// data raises a new edge), which saves the read that would only say `WouldBlock`;
    /// `to_eof` asks for that last read anyway, when the peer may have closed.
    fn on_readable(&mut self, key: usize, to_eof: bool) {
        loop {
            let Some(conn) = self.conns.get_mut(key) else {
                return;
            };
            if conn.read_paused {
                return;
            }
            match conn.stream.read(&mut self.scratch) {
                Ok(0) => {
                    self.on_eof(key);
                    return;
                }
                Ok(n) => {
                    self.received(key, n);
                    if n < self.scratch.len() && !to_eof {
                        return;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    crate::debug!("read error on {}: {e}", conn.peer);
                    self.drop_conn(key);
                    return;
                }
            }
        }
    }

    /// Feeds `n` bytes just read into `scratch` to the connection, without copying them
    /// when nothing is buffered from before.
    fn received(&mut self, key: usize, n: usize) {
        let Some(conn) = self.conns.get_mut(key) else {
            return;
        };
        if conn.is_closing() {
            return;
        }
        let scratch = std::mem::take(&mut self.scratch);
        if conn.rbuf.is_empty() {
            let used = self.consume(key, &scratch[..n]);
            if let Some(conn) = self.conns.get_mut(key) {
                if used < n && !conn.is_closing() {
                    conn.rbuf.extend_from_slice(&scratch[used..n]);
                }
            }
        } else {
            conn.rbuf.extend_from_slice(&scratch[..n]);
            self.consume_buffered(key);
        }
        self.scratch = scratch;
        // What waits unparsed is at most a head; more means a client sending while its
        // request is parked, or a stream no longer in step.
        let cap = self.config.limits.max_head + READ_CHUNK;
        if self.conns.get(key).is_some_and(|c| c.rbuf.len() > cap) {
            crate::debug!("read buffer over {cap} bytes; closing");
            return self.drop_conn(key);
        }
        self.refresh_deadline(key);
    }

    /// Consumes what the connection has buffered (after new bytes, or on resuming).
    fn consume_buffered(&mut self, key: usize) {
        let Some(conn) = self.conns.get_mut(key) else {
            return;
        };
        let buf = std::mem::take(&mut conn.rbuf);
        if buf.is_empty() {
            return;
        }
        let used = self.consume(key, &buf);
        if let Some(conn) = self.conns.get_mut(key) {
            if used < buf.len() && !conn.is_closing() {
                let mut buf = buf;
                buf.drain(..used);
                if buf.capacity() > 4 * buf.len().max(1024) {
                    buf.shrink_to_fit();
                }
                conn.rbuf = buf;
            }
        }
    }

    /// Runs the connection's protocol over `input`; returns the bytes used. The phase may
    /// change on the way (an HTTP upgrade continues as WebSocket).
    fn consume(&mut self, key: usize, input: &[u8]) -> usize {
        let mut at = 0;
        loop {
            let Some(conn) = self.conns.get(key) else {
                return input.len();
            };
            if conn.read_paused {
                return at;
            }
            let (used, more) = match conn.phase {
                Phase::Closing { .. } => return input.len(),
                Phase::Http(_) => self.http_input(key, &input[at..]),
                Phase::Ws(_) => self.ws_input(key, &input[at..]),
            };
            at += used;
            if !more || at >= input.len() {
                return at;
            }
        }
    }

    fn on_eof(&mut self, key: usize) {
        let Some(conn) = self.conns.get_mut(key) else {
            return;
        };
        match &mut conn.phase {
            Phase::Closing { peer_done, .. } if !conn.out.is_empty() => *peer_done = true,
            // The requests were whole and their answers are queued: the peer half-closed
            // after sending, and still reads.
            Phase::Http(h)
                if h.pending.is_none() && h.started.is_none() && !conn.out.is_empty() =>
            {
                self.begin_close(key);
                if let Some(Conn {
                    phase: Phase::Closing { peer_done, .. },
                    ..
                }) = self.conns.get_mut(key)
                {
                    *peer_done = true;
                }
            }
            _ => self.drop_conn(key),
        }
    }

    // ----- writing -----

    fn mark_dirty(&mut self, key: usize) {
        if let Some(conn) = self.conns.get_mut(key) {
            if !conn.dirty {
                conn.dirty = true;
                self.dirty_seq += 1;
                self.dirty.push_back((key, self.dirty_seq));
            }
        }
    }

    /// Puts a connection first in line: an HTTP answer someone waits for goes out before the
    /// rest of a fan-out. (It may stand in the queue twice; the second write finds nothing.)
    fn mark_urgent(&mut self, key: usize) {
        if let Some(conn) = self.conns.get_mut(key) {
            conn.dirty = true;
            self.dirty.push_front((key, 0));
        }
    }

    /// Writes the oldest `limit` connections with queued output.
    fn flush_dirty(&mut self, limit: usize) {
        for _ in 0..limit {
            let Some((key, seq)) = self.dirty.pop_front() else {
                return;
            };
            self.visited_seq = self.visited_seq.max(seq);
            let Some(conn) = self.conns.get_mut(key) else {
                continue;
            };
            conn.dirty = false;
            if conn.defer_until.is_some_and(|s| s > self.visited_seq) {
                if !self.deferred.contains(&key) {
                    self.deferred.push(key);
                }
                continue;
            }
            conn.defer_until = None;
            match conn.out.flush(&mut conn.stream) {
                Ok(Flush::Blocked) => {}
                Ok(Flush::Done) => match &mut conn.phase {
                    Phase::Closing {
                        peer_done: true, ..
                    } => self.drop_conn(key),
                    Phase::Closing { shut, .. } if !*shut => {
                        *shut = true;
                        let _ = conn.stream.shutdown(Shutdown::Write);
                    }
                    _ if conn.read_paused => {
                        conn.read_paused = false;
                        self.consume_buffered(key);
                        self.on_readable(key, true);
                        self.refresh_deadline(key);
                        self.apply_effects();
                    }
                    _ => {}
                },
                Err(e) => {
                    crate::debug!("write error on {}: {e}", conn.peer);
                    self.drop_conn(key);
                }
            }
        }
    }

    // ----- closing -----

    /// Stops reading requests or frames; what is queued is flushed, then the write side is
    /// shut and the connection dropped when the peer closes or the linger time is up.
    fn begin_close(&mut self, key: usize) {
        self.leave_hub(key);
        self.detach_conn(key);
        let now = self.now;
        let Some(conn) = self.conns.get_mut(key) else {
            return;
        };
        conn.phase = Phase::Closing {
            shut: false,
            peer_done: false,
        };
        conn.rbuf = Vec::new();
        conn.read_paused = false;
        let (slot, id) = (key, conn.id.0);
        self.timers
            .set(&mut conn.deadline, Some(now + LINGER_MS), slot, id);
        self.mark_dirty(key);
    }

    fn drop_conn(&mut self, key: usize) {
        self.leave_hub(key);
        self.detach_conn(key);
        if self.conns.contains(key) {
            let mut conn = self.conns.remove(key);
            let _ = self.poll.registry().deregister(&mut conn.stream);
            crate::debug!("closed {} ({})", conn.peer, conn.id);
        }
    }

    /// Tells the hub the connection is gone (once).
    fn leave_hub(&mut self, key: usize) {
        self.admin_left(key);
        if let Some(conn) = self.conns.get_mut(key) {
            if conn.in_hub {
                conn.in_hub = false;
                let id = conn.id;
                self.hub.closed(id, self.wall);
            }
        }
    }

    // ----- hub effects -----

    fn slot_of(&self, id: ConnId) -> Option<usize> {
        let key = (id.0 & 0xFFFF_FFFF) as usize;
        match self.conns.get(key) {
            Some(c) if c.id == id && c.in_hub => Some(key),
            _ => None,
        }
    }

    /// Queues what the hub asked for, until it asks for nothing more.
    fn apply_effects(&mut self) {
        loop {
            self.hub.drain_effects(&mut self.effects);
            if self.effects.is_empty() && self.slow.is_empty() {
                if !self.hooks.refused.is_empty() {
                    self.deny_refused();
                    continue;
                }
                if self.sessions.dirty.is_empty() {
                    return;
                }
                // Delivering may end sessions, which the hub hears about: go round again.
                self.deliver_sessions();
                continue;
            }
            let mut effects = std::mem::take(&mut self.effects);
            let mut run: Option<(SharedFrame, usize)> = None;
            for effect in effects.drain(..) {
                match effect {
                    Effect::Send { to, frame } => {
                        match &mut run {
                            Some((f, n)) if Rc::ptr_eq(f, &frame) => *n += 1,
                            _ => {
                                self.note_fanout(run.take());
                                run = Some((frame.clone(), 1));
                            }
                        }
                        if comet::is_session(to) {
                            if let Some(slot) = self.sessions.slot_of(to) {
                                if !self.session_frame(slot, &frame) {
                                    crate::warn!("comet session {to} cannot keep up; ending it");
                                    self.end_session(slot, true);
                                }
                            }
                            continue;
                        }
                        let Some(key) = self.slot_of(to) else {
                            continue;
                        };
                        let Some(conn) = self.conns.get_mut(key) else {
                            continue;
                        };
                        if conn.queue_rtjp(&frame).is_err() {
                            if !self.slow.contains(&key) {
                                self.slow.push(key);
                            }
                        } else if !conn.dirty {
                            conn.dirty = true;
                            self.dirty_seq += 1;
                            self.dirty.push_back((key, self.dirty_seq));
                        }
                    }
                    Effect::Webhook(call) => self.submit_hook(call),
                    Effect::RestDone { token, result } => self.rest_done(token, result),
                    Effect::Polling { channel, polling } => self.polling_changed(channel, polling),
                    Effect::Close { conn: id } => {
                        if comet::is_session(id) {
                            if let Some(slot) = self.sessions.slot_of(id) {
                                self.end_session(slot, false);
                            }
                            continue;
                        }
                        let Some(key) = self.slot_of(id) else {
                            continue;
                        };
                        if let Some(conn) = self.conns.get_mut(key) {
                            // The hub has already forgotten it.
                            conn.in_hub = false;
                            conn.queue_ws_close(
                                Some(close_code::NORMAL),
                                "disconnected by the application",
                            );
                        }
                        self.begin_close(key);
                    }
                }
            }
            self.note_fanout(run);
            self.effects = effects;
            for key in std::mem::take(&mut self.slow) {
                if let Some(conn) = self.conns.get_mut(key) {
                    crate::warn!("{} cannot keep up; disconnecting it", conn.peer);
                    conn.queue_ws_close(
                        Some(close_code::POLICY_VIOLATION),
                        "slow consumer: output queue full",
                    );
                }
                self.begin_close(key);
            }
        }
    }

    // ----- publisher backpressure -----

    fn note_fanout(&mut self, run: Option<(SharedFrame, usize)>) {
        if let Some((_, n)) = run {
            if n >= FANOUT_MIN {
                self.fanouts.push_back(self.dirty_seq);
            }
        }
    }

    /// Whether another request may be read: fewer than [`MAX_FANOUTS`] still going out, and
    /// no connection held before this one (so a held publisher is not overtaken).
    fn may_read_request(&mut self) -> bool {
        (self.releasing || self.held.is_empty()) && self.admission_open()
    }

    fn admission_open(&mut self) -> bool {
        while self.fanouts.front().is_some_and(|&s| s <= self.visited_seq) {
            self.fanouts.pop_front();
        }
        self.fanouts.len() < MAX_FANOUTS
    }

    fn hold(&mut self, key: usize) {
        if let Some(conn) = self.conns.get_mut(key) {
            conn.read_paused = true;
            if !self.held.contains(&key) {
                self.held.push_back(key);
            }
        }
    }

    /// The answer queued for `key` goes out once the fan-outs its request caused (noted after
    /// `before`) are written: publishers learn their message went out, and cannot outrun it.
    fn defer_answer(&mut self, key: usize, before: usize) {
        let n = self.fanouts.len();
        if n > before && n >= ANSWER_FANOUTS {
            // Answer once fewer than ANSWER_FANOUTS remain: when this one is done.
            let seq = self.fanouts.get(n - ANSWER_FANOUTS).copied();
            if let (Some(seq), Some(conn)) = (seq, self.conns.get_mut(key)) {
                conn.defer_until = Some(seq);
            }
        }
    }

    /// Answers whose fan-out has been written go out first in line.
    fn release_deferred(&mut self) {
        let mut i = 0;
        while i < self.deferred.len() {
            let key = self.deferred[i];
            let due = match self.conns.get(key) {
                Some(c) => c.defer_until.is_none_or(|s| s <= self.visited_seq),
                None => {
                    self.deferred.swap_remove(i);
                    continue;
                }
            };
            if due {
                self.deferred.swap_remove(i);
                if let Some(conn) = self.conns.get_mut(key) {
                    conn.defer_until = None;
                }
                self.mark_urgent(key);
            } else {
                i += 1;
            }
        }
    }

    /// Reads held HTTP connections again, oldest first, while the fan-outs allow.
    fn release_held(&mut self) {
        while !self.held.is_empty() && self.admission_open() {
            let Some(key) = self.held.pop_front() else {
                break;
            };
            if let Some(conn) = self.conns.get_mut(key) {
                conn.read_paused = false;
                self.releasing = true;
                self.consume_buffered(key);
                self.on_readable(key, true);
                self.releasing = false;
                self.refresh_deadline(key);
                self.apply_effects();
            }
        }
    }

    // ----- deadlines -----

    fn run_timers(&mut self) {
        self.run_session_timers();
        while let Some((time, slot, id)) = self.timers.pop_due(self.now) {
            let Some(conn) = self.conns.get_mut(slot) else {
                continue;
            };
            if conn.id.0 != id {
                continue;
            }
            if self
                .timers
                .fired(&mut conn.deadline, time, self.now, slot, id)
            {
                self.on_deadline(slot);
            }
        }
    }

    fn on_deadline(&mut self, key: usize) {
        let Some(conn) = self.conns.get(key) else {
            return;
        };
        match &conn.phase {
            Phase::Closing { .. } => self.drop_conn(key),
            Phase::Http(h) => match h.parked {
                Some(parked) => self.parked_deadline(key, parked),
                None => self.http_deadline(key),
            },
            Phase::Ws(_) => self.ws_deadline(key),
        }
    }

    /// Sets the connection's deadline from its phase.
    fn refresh_deadline(&mut self, key: usize) {
        let t = &self.config.timeouts;
        let ms = |d: Duration| d.as_millis() as Millis;
        let Some(conn) = self.conns.get_mut(key) else {
            return;
        };
        let at = match &conn.phase {
            Phase::Closing { .. } => return,
            Phase::Http(h) => match (h.parked, h.started) {
                (Some(parked), _) => parked.until,
                (None, Some(started)) => started + ms(t.head),
                (None, None) => h.last_activity + ms(t.keep_alive),
            },
            Phase::Ws(ws) => {
                (ws.last_rx + ms(t.ws_dead)).min(ws.last_rx.max(ws.last_ping) + ms(t.ws_ping))
            }
        };
        let id = conn.id.0;
        self.timers.set(&mut conn.deadline, Some(at), key, id);
    }

    // ----- shutdown -----

    fn on_signal(&mut self) {
        let mut buf = [0u8; 64];
        while let Ok(n) = self.signals.read(&mut buf) {
            if n == 0 {
                break;
            }
        }
        if self.stopping.is_some() {
            return;
        }
        crate::info!("shutting down");
        self.stopping = Some(self.now + SHUTDOWN_GRACE_MS);
        let _ = self.poll.registry().deregister(&mut self.main);
        if let Some(l) = self.api.as_mut() {
            let _ = self.poll.registry().deregister(l);
        }
        let keys: Vec<usize> = self.conns.iter().map(|(k, _)| k).collect();
        for key in keys {
            let Some(conn) = self.conns.get_mut(key) else {
                continue;
            };
            match conn.phase {
                Phase::Ws(_) => {
                    conn.queue_ws_close(Some(close_code::GOING_AWAY), "server shutting down");
                    self.begin_close(key);
                }
                Phase::Http(_) if !conn.out.is_empty() => self.begin_close(key),
                Phase::Http(_) => self.drop_conn(key),
                Phase::Closing { .. } => {}
            }
        }
        self.apply_effects();
    }
}

/// Differs from one start to the next (channel epochs), read from the clock.
fn start_seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

fn is_fd_exhaustion(e: &io::Error) -> bool {
    // EMFILE and ENFILE on Linux.
    matches!(e.raw_os_error(), Some(23) | Some(24))
}

/// A socket pair whose write end the signal handler writes to on SIGINT and SIGTERM.
fn signal_pipe() -> io::Result<UnixStream> {
    let (read, write) = std::os::unix::net::UnixStream::pair()?;
    read.set_nonblocking(true)?;
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::low_level::pipe::register(signal, write.try_clone()?)?;
    }
    Ok(UnixStream::from_std(read))
}
