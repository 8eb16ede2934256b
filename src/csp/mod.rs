//! Comet: Hookbox's CSP long-poll and streaming transport, and Server-Sent Events, for
//! browsers and networks without WebSocket. The parsing and the session model are pure; the
//! reactor attaches HTTP requests to sessions (`server::comet`).

pub mod packets;
pub mod render;
pub mod session;
pub mod vars;

pub use packets::{parse_packets, ClientPacket, PacketError};
pub use session::Session;
pub use vars::{CspRequest, CspVars, VarError};
