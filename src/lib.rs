//! hookbox: a web-enabled message queue.
//!
//! Browsers connect over WebSocket, subscribe to named channels, and publish and receive
//! messages in real time; the web application publishes through a REST API and keeps every
//! decision through webhooks. Wire-compatible with Hookbox.

pub mod config;
pub mod csp;
#[doc(hidden)]
pub mod fuzzing;
pub mod http;
pub mod hub;
pub mod json;
pub mod log;
pub mod rest;
pub mod rtjp;
pub mod server;
pub mod time;
pub mod webhook;
pub mod ws;
