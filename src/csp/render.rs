//! Comet answers as pieces: text this answer alone has, and frames shared by every session
//! they go to (written by reference, in their escaped or raw form).

use super::packets::{null_packet, packet_start};
use super::session::{Item, Queued};
use super::vars::CspVars;
use crate::rtjp::SharedFrame;
use crate::server::outbound::Part;

/// One piece of an answer body.
#[derive(Debug, Clone)]
pub enum Piece {
    Text(String),
    Frame {
        prefix: String,
        frame: SharedFrame,
        part: Part,
        suffix: &'static [u8],
    },
}

impl Piece {
    pub fn len(&self) -> usize {
        match self {
            Piece::Text(t) => t.len(),
            Piece::Frame {
                prefix,
                frame,
                part,
                suffix,
            } => prefix.len() + part.bytes(frame).len() + suffix.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes, copied (for tests and cold paths).
    pub fn to_bytes(&self, out: &mut Vec<u8>) {
        match self {
            Piece::Text(t) => out.extend_from_slice(t.as_bytes()),
            Piece::Frame {
                prefix,
                frame,
                part,
                suffix,
            } => {
                out.extend_from_slice(prefix.as_bytes());
                out.extend_from_slice(part.bytes(frame));
                out.extend_from_slice(suffix);
            }
        }
    }
}

/// Total length of pieces.
pub fn total_len(pieces: &[Piece]) -> usize {
    pieces.iter().map(Piece::len).sum()
}

/// `bp([packets])bs`, with the SSE id line when `se` is set. `prebuffer` starts a long-poll
/// answer or a stream.
pub fn packets<'a>(
    vars: &CspVars,
    queued: impl Iterator<Item = &'a Queued>,
    prebuffer: bool,
) -> Vec<Piece> {
    let mut pieces = Vec::new();
    let mut head = String::new();
    if prebuffer {
        head.push_str(&vars.prebuffer());
    }
    head.push_str(&vars.bp);
    head.push_str("([");
    pieces.push(Piece::Text(head));
    let mut last = None;
    for (i, q) in queued.enumerate() {
        last = Some(q.pid);
        match &q.item {
            Item::Frame { rid, frame } => pieces.push(Piece::Frame {
                prefix: packet_start(i == 0, q.pid, *rid),
                frame: frame.clone(),
                part: Part::Escaped,
                suffix: b"\"]",
            }),
            Item::Null => pieces.push(Piece::Text(null_packet(i == 0, q.pid))),
        }
    }
    let mut tail = String::from("])");
    tail.push_str(&vars.bs);
    if vars.se {
        match last {
            Some(pid) => tail.push_str(&format!("id: {pid}\r\n\r\n")),
            None => tail.push_str("\r\n"),
        }
    }
    pieces.push(Piece::Text(tail));
    pieces
}

/// `rp(data)rs` for handshake, send, close.
pub fn reply(vars: &CspVars, json: &str) -> String {
    format!("{}({}){}", vars.rp, json, vars.rs)
}

/// Server-Sent Events for packets: `id: N`, `data:` the RTJP line; the null packet is an
/// `event: close`.
pub fn sse_events<'a>(queued: impl Iterator<Item = &'a Queued>) -> Vec<Piece> {
    queued
        .map(|q| match &q.item {
            Item::Frame { rid, frame } => Piece::Frame {
                prefix: format!("id: {}\ndata: [{rid}", q.pid),
                frame: frame.clone(),
                part: Part::Tail { trim_end: 2 },
                suffix: b"\n\n",
            },
            Item::Null => Piece::Text(format!("id: {}\nevent: close\ndata: null\n\n", q.pid)),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::csp::session::Session;
    use crate::hub::ConnId;
    use crate::rtjp::OutFrame;
    use serde_json::{json, Map, Value};

    fn text(pieces: &[Piece]) -> String {
        let mut out = Vec::new();
        for p in pieces {
            p.to_bytes(&mut out);
        }
        assert_eq!(out.len(), total_len(pieces));
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn comet_answers_evaluate_to_packets() {
        let mut args = Map::new();
        args.insert("msg".into(), json!("caf\u{e9} \"quoted\"\nline"));
        let f = OutFrame::new("ERROR", &args);
        let mut s = Session::new("k".into(), ConnId(1), CspVars::default(), 1 << 20, 1024);
        s.push_frame(&f).unwrap();
        s.push_frame(&f).unwrap();
        s.push_null();
        let body = text(&packets(&s.vars, s.packets(), true));
        assert!(body.starts_with("([[1, 0, \"[1, "), "{body}");
        // The parenthesised text is the packet list; the data of each is the RTJP line.
        let inner = body.strip_prefix('(').unwrap().strip_suffix(')').unwrap();
        let v: Value = serde_json::from_str(inner).unwrap();
        assert_eq!(v[2], json!([3, 0, null]));
        let line = v[1][2].as_str().unwrap();
        assert!(line.ends_with("]\r\n"));
        let frame: Value = serde_json::from_str(line.trim_end()).unwrap();
        assert_eq!(
            frame,
            json!([2, "ERROR", {"msg": "caf\u{e9} \"quoted\"\nline"}])
        );
    }

    #[test]
    fn jsonp_and_sse_framing() {
        let vars = CspVars {
            bp: "cb3".into(),
            bs: ";".into(),
            ps: 2,
            p: "x".into(),
            ..CspVars::default()
        };
        let empty: Vec<Queued> = Vec::new();
        assert_eq!(text(&packets(&vars, empty.iter(), true)), "  xcb3([]);");
        assert_eq!(text(&packets(&vars, empty.iter(), false)), "cb3([]);");
        let sse = CspVars {
            bp: "data: ".into(),
            bs: "\r\n".into(),
            se: true,
            ..CspVars::default()
        };
        let f = OutFrame::new("A", &Map::new());
        let mut s = Session::new("k".into(), ConnId(1), sse.clone(), 1 << 20, 1024);
        s.push_frame(&f).unwrap();
        assert_eq!(
            text(&packets(&sse, s.packets(), false)),
            "data: ([[1, 0, \"[1, \\\"A\\\", {}]\\r\\n\"]])\r\nid: 1\r\n\r\n"
        );
        assert_eq!(reply(&vars, "\"OK\""), "(\"OK\")");
        s.push_null();
        assert_eq!(
            text(&sse_events(s.packets())),
            "id: 1\ndata: [1, \"A\", {}]\n\nid: 2\nevent: close\ndata: null\n\n"
        );
    }
}
