//! One connection in the reactor's slab: its socket, buffers, deadline and protocol phase.

use std::net::SocketAddr;

use mio::net::TcpStream;

use super::outbound::{Outbound, Overflow, Prefix};
use super::timers::{Deadline, Millis};
use crate::http::{RequestHead, RequestReader};
use crate::hub::ConnId;
use crate::rtjp::{OutFrame, SharedFrame};
use crate::ws::frame::{encode_close, encode_frame, encode_header, MAX_HEADER};
use crate::ws::{Opcode, WsDecoder};

/// Which listener accepted the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listener {
    Main,
    /// The REST API's own port (`-w`).
    Api,
}

/// What a request is for, decided from its head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// The RTJP WebSocket endpoint.
    Rtjp,
    /// The echo endpoint for conformance runs.
    Echo,
    Static(String),
    Rest(String),
    /// `/csp/<op>`: handshake, comet, send, close, reflect.
    Csp(String),
    /// `/sse`: Server-Sent Events for a comet session.
    Sse,
    /// `/admin` and below: the console's page, login and API (the rest after `/admin`).
    Admin(String),
    /// `/admin/ws`: the console's live feed.
    AdminWs,
    NotFound,
}

/// How a parked request delivers a session's packets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// One answer with every packet waiting, then the request is done.
    LongPoll,
    /// A chunked answer that carries packets as they come, until it ends.
    Stream,
    /// An endless `text/event-stream`.
    Sse,
}

/// A request held open for a comet session.
#[derive(Debug, Clone, Copy)]
pub struct Parked {
    pub session: usize,
    pub session_id: ConnId,
    pub mode: Delivery,
    /// When the long-poll or stream ends, or an SSE stream is next kept alive.
    pub until: Millis,
    /// Whether the connection stays open after the answer.
    pub keep_alive: bool,
}

#[derive(Debug, Default)]
pub struct HttpState {
    pub reader: RequestReader,
    /// The request whose body is being read, and where it goes.
    pub pending: Option<Box<(RequestHead, Route)>>,
    /// When the first byte of the head being read arrived.
    pub started: Option<Millis>,
    /// When bytes last arrived or a request was last answered.
    pub last_activity: Millis,
    /// A comet request waiting for packets; later requests wait behind it.
    pub parked: Option<Parked>,
    /// A REST call waiting for the application: its token and whether the connection stays
    /// open after the answer.
    pub awaiting: Option<(u64, bool)>,
}

/// What a WebSocket carries.
#[derive(Debug)]
pub enum WsRole {
    /// RTJP frames for the hub; `lines` holds a frame split across messages.
    Rtjp { lines: Vec<u8>, next_id: u64 },
    /// Every message is sent back.
    Echo,
    /// The admin console's live feed: a token first, then watch requests; gets the frames
    /// of the channels it watches and the console's events.
    Admin { next_id: u64 },
}

#[derive(Debug)]
pub struct WsState {
    pub decoder: WsDecoder,
    pub role: WsRole,
    pub last_rx: Millis,
    pub last_ping: Millis,
}

#[derive(Debug)]
pub enum Phase {
    Http(HttpState),
    Ws(Box<WsState>),
    /// Flushing what is queued; then the write side is shut (`shut`) and input is read and
    /// dropped until the peer closes (`peer_done`) or the deadline passes.
    Closing {
        shut: bool,
        peer_done: bool,
    },
}

pub struct Conn {
    pub stream: TcpStream,
    pub id: ConnId,
    pub peer: SocketAddr,
    pub listener: Listener,
    /// Bytes received and not yet consumed; empty (unallocated) while idle.
    pub rbuf: Vec<u8>,
    pub out: Outbound,
    pub deadline: Deadline,
    pub phase: Phase,
    /// Listed for a flush at the end of this turn (set by the reactor).
    pub dirty: bool,
    /// Reading stops while an HTTP client has more output waiting than the cap.
    pub read_paused: bool,
    /// The hub knows this connection (an RTJP WebSocket that has not closed yet).
    pub in_hub: bool,
    /// An HTTP answer waits until the fan-out its request caused has been written (the
    /// place in line of that fan-out's last subscriber).
    pub defer_until: Option<u64>,
}

impl Conn {
    pub fn new(
        stream: TcpStream,
        id: ConnId,
        peer: SocketAddr,
        listener: Listener,
        max_outbound: usize,
        now: Millis,
    ) -> Conn {
        Conn {
            stream,
            id,
            peer,
            listener,
            rbuf: Vec::new(),
            out: Outbound::new(max_outbound),
            deadline: Deadline::new(),
            phase: Phase::Http(HttpState {
                last_activity: now,
                ..HttpState::default()
            }),
            dirty: false,
            read_paused: false,
            in_hub: false,
            defer_until: None,
        }
    }

    pub fn is_closing(&self) -> bool {
        matches!(self.phase, Phase::Closing { .. })
    }

    /// Queues one RTJP frame as one WebSocket text message: the header and `[id` inline,
    /// the frame's shared bytes by reference.
    pub fn queue_rtjp(&mut self, frame: &SharedFrame) -> Result<(), Overflow> {
        let Phase::Ws(ws) = &mut self.phase else {
            return Ok(());
        };
        let next_id = match &mut ws.role {
            WsRole::Rtjp { next_id, .. } | WsRole::Admin { next_id, .. } => next_id,
            WsRole::Echo => return Ok(()),
        };
        *next_id += 1;
        let mut id = [0u8; 21];
        let id_len = OutFrame::write_id(*next_id, &mut id);
        let mut header = [0u8; MAX_HEADER];
        let payload_len = (id_len + frame.tail().len()) as u64;
        let header_len = encode_header(true, Opcode::Text, payload_len, &mut header);
        let prefix = Prefix::new(&[&header[..header_len], &id[..id_len]]).ok_or(Overflow)?;
        self.out.push_shared(prefix, frame)
    }

    /// Queues a whole WebSocket frame built for this connection alone.
    pub fn queue_ws(&mut self, opcode: Opcode, payload: &[u8]) -> Result<(), Overflow> {
        let mut bytes = Vec::with_capacity(payload.len() + MAX_HEADER);
        encode_frame(opcode, payload, &mut bytes);
        self.out.push_owned(bytes)
    }

    /// Queues a close frame, making room for it if the queue is full: what has not started
    /// going out is dropped, since the connection ends anyway.
    pub fn queue_ws_close(&mut self, code: Option<u16>, reason: &str) {
        let mut bytes = Vec::with_capacity(4 + reason.len());
        match code {
            Some(code) => encode_close(code, reason, &mut bytes),
            None => encode_frame(Opcode::Close, &[], &mut bytes),
        }
        if self.out.push_owned(bytes.clone()).is_err() {
            self.out.discard_unstarted();
            self.out.push_owned_uncapped(bytes);
        }
    }

    /// Queues HTTP bytes; the reader pauses when the client lets output pile up.
    pub fn queue_http(&mut self, bytes: Vec<u8>) {
        self.out.push_owned_uncapped(bytes);
        if self.out.over_cap() {
            self.read_paused = true;
        }
    }
}
