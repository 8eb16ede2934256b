//! WebSocket (RFC 6455, version 13): handshake, frame codec, message decoder.

pub mod decoder;
pub mod frame;
pub mod handshake;
pub mod utf8;

pub use decoder::{close_code, WsDecoder, WsError, WsEvent};
pub use frame::Opcode;
