//! RTJP, Hookbox's browser protocol: one JSON array `[id, "NAME", {args}]` per line.
//!
//! Decoding is pure: [`split_line`] finds the next line in a byte stream and [`parse_frame`]
//! checks its shape. Encoding is done once per frame: an [`OutFrame`] holds everything after
//! the frame id, so the same bytes are shared by every connection the frame goes to and each
//! connection only adds its own `[id`.

use std::cell::OnceCell;
use std::fmt;
use std::rc::Rc;

use serde_json::{Map, Value};

/// Why a line is not a valid frame. `id` is the frame id when it could be read, so the
/// `ERROR` frame can point at the frame it refuses.
#[derive(Debug, Clone, PartialEq)]
pub struct FrameError {
    pub id: Value,
    pub kind: FrameErrorKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameErrorKind {
    NotJson,
    NotTriple,
    BadId,
    BadName,
    BadArgs,
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.kind {
            FrameErrorKind::NotJson => "Invalid frame: not JSON",
            FrameErrorKind::NotTriple => "Invalid frame: expected [id, name, args]",
            FrameErrorKind::BadId => "Invalid frame id",
            FrameErrorKind::BadName => "Invalid frame name",
            FrameErrorKind::BadArgs => "Invalid frame args: expected an object",
        })
    }
}

/// A frame from a client.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientFrame {
    /// Always a JSON number.
    pub id: Value,
    pub name: String,
    pub args: Map<String, Value>,
}

/// A line longer than the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineTooLong;

/// Finds the first line in `buf`: `Ok(Some((line, consumed)))` with the line's `\r\n` or
/// `\n` stripped, `Ok(None)` when no line end has arrived yet, or an error once `max`
/// bytes have arrived without one.
pub fn split_line(buf: &[u8], max: usize) -> Result<Option<(&[u8], usize)>, LineTooLong> {
    match buf.iter().position(|&b| b == b'\n') {
        Some(i) if i > max => Err(LineTooLong),
        Some(i) => {
            let line = &buf[..i];
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            Ok(Some((line, i + 1)))
        }
        None if buf.len() > max => Err(LineTooLong),
        None => Ok(None),
    }
}

/// Whether a line holds nothing but whitespace (such lines are skipped).
pub fn is_blank(line: &[u8]) -> bool {
    line.iter().all(|b| b.is_ascii_whitespace())
}

/// Checks that a line is `[number, "NAME", {args}]`.
pub fn parse_frame(line: &[u8]) -> Result<ClientFrame, FrameError> {
    let err = |id: Value, kind| FrameError { id, kind };
    let value: Value =
        serde_json::from_slice(line).map_err(|_| err(Value::Null, FrameErrorKind::NotJson))?;
    let Value::Array(items) = value else {
        return Err(err(Value::Null, FrameErrorKind::NotTriple));
    };
    let id = match items.first() {
        Some(v @ Value::Number(_)) => v.clone(),
        _ => Value::Null,
    };
    let Ok::<[Value; 3], _>([raw_id, name, args]) = items.try_into() else {
        return Err(err(id, FrameErrorKind::NotTriple));
    };
    if !raw_id.is_number() {
        return Err(err(Value::Null, FrameErrorKind::BadId));
    }
    let name = match name {
        Value::String(s) if !s.is_empty() => s,
        _ => return Err(err(id, FrameErrorKind::BadName)),
    };
    let Value::Object(args) = args else {
        return Err(err(id, FrameErrorKind::BadArgs));
    };
    Ok(ClientFrame { id, name, args })
}

/// A server frame serialised once: the bytes after the frame id, `, "NAME", {args}]\r\n`
/// (spaced as Hookbox's frames were).
#[derive(Debug, PartialEq, Eq)]
pub struct OutFrame {
    tail: Box<[u8]>,
    /// The tail as the inside of a JSON string (for CSP packets), made on first use.
    escaped: OnceCell<Box<[u8]>>,
}

/// Shared by every connection a frame is delivered to.
pub type SharedFrame = Rc<OutFrame>;

impl OutFrame {
    /// Serialises `name` and `args` once.
    pub fn new(name: &str, args: &Map<String, Value>) -> SharedFrame {
        let mut tail = Vec::with_capacity(64);
        tail.extend_from_slice(b", ");
        crate::json::write(name, &mut tail);
        tail.extend_from_slice(b", ");
        crate::json::write(args, &mut tail);
        tail.extend_from_slice(b"]\r\n");
        Rc::new(OutFrame {
            tail: tail.into_boxed_slice(),
            escaped: OnceCell::new(),
        })
    }

    /// The shared bytes that follow `[id`.
    pub fn tail(&self) -> &[u8] {
        &self.tail
    }

    /// The tail escaped to sit inside a JSON string, computed once for all connections.
    /// (`[id` needs no escaping, so a whole line as a JSON string is `"[id` + this + `"`.)
    pub fn escaped_tail(&self) -> &[u8] {
        self.escaped.get_or_init(|| {
            let text = String::from_utf8_lossy(&self.tail);
            let quoted = serde_json::to_vec(text.as_ref()).unwrap_or_default();
            let inner = quoted.get(1..quoted.len().saturating_sub(1)).unwrap_or(&[]);
            inner.to_vec().into_boxed_slice()
        })
    }

    /// Writes `[id` for a connection into `out`, returning its length (at most 21 bytes).
    pub fn write_id(id: u64, out: &mut [u8; 21]) -> usize {
        out[0] = b'[';
        let mut digits = [0u8; 20];
        let mut n = id;
        let mut len = 0;
        loop {
            digits[len] = b'0' + (n % 10) as u8;
            len += 1;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        for i in 0..len {
            out[1 + i] = digits[len - 1 - i];
        }
        1 + len
    }

    /// The whole frame for one connection (for tests and cold paths).
    pub fn to_line(&self, id: u64) -> Vec<u8> {
        let mut head = [0u8; 21];
        let n = OutFrame::write_id(id, &mut head);
        let mut out = Vec::with_capacity(n + self.tail.len());
        out.extend_from_slice(&head[..n]);
        out.extend_from_slice(&self.tail);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lines() {
        assert_eq!(split_line(b"abc", 10), Ok(None));
        assert_eq!(split_line(b"abc\r\nx", 10), Ok(Some((&b"abc"[..], 5))));
        assert_eq!(split_line(b"abc\nx", 10), Ok(Some((&b"abc"[..], 4))));
        assert_eq!(split_line(b"abcdefghijkl", 10), Err(LineTooLong));
        assert_eq!(split_line(b"abcdefghijkl\n", 10), Err(LineTooLong));
    }

    #[test]
    fn frames() {
        let f = parse_frame(br#"[1, "CONNECT", {"cookie_string": ""}]"#).unwrap();
        assert_eq!(f.id, json!(1));
        assert_eq!(f.name, "CONNECT");
        assert_eq!(f.args["cookie_string"], json!(""));
        let kind = |l: &[u8]| parse_frame(l).unwrap_err();
        assert_eq!(kind(b"nope").kind, FrameErrorKind::NotJson);
        assert_eq!(kind(b"{}").kind, FrameErrorKind::NotTriple);
        assert_eq!(kind(b"[1, \"A\"]").kind, FrameErrorKind::NotTriple);
        assert_eq!(kind(b"[1, \"A\"]").id, json!(1));
        assert_eq!(kind(b"[\"x\", \"A\", {}]").kind, FrameErrorKind::BadId);
        assert_eq!(kind(b"[2, \"\", {}]").kind, FrameErrorKind::BadName);
        assert_eq!(kind(b"[2, 5, {}]").kind, FrameErrorKind::BadName);
        assert_eq!(kind(b"[3, \"A\", []]").kind, FrameErrorKind::BadArgs);
        assert_eq!(kind(b"[3, \"A\", []]").id, json!(3));
    }

    #[test]
    fn out_frame_round_trips() {
        let mut args = Map::new();
        args.insert("channel_name".into(), json!("c"));
        args.insert("payload".into(), json!({"a": "line\r\nbreak"}));
        let f = OutFrame::new("PUBLISH", &args);
        let line = f.to_line(18_446_744_073_709_551_615);
        assert!(line.ends_with(b"]\r\n"));
        let (l, used) = split_line(&line, 1 << 20).unwrap().unwrap();
        assert_eq!(used, line.len());
        assert!(l.starts_with(b"[18446744073709551615, \"PUBLISH\", {\"channel_name\": \"c\""));
        let back: Value = serde_json::from_slice(l).unwrap();
        assert_eq!(
            back,
            json!([18_446_744_073_709_551_615u64, "PUBLISH", {"channel_name": "c", "payload": {"a": "line\r\nbreak"}}])
        );
        // The escaped form makes a JSON string of the same line.
        let mut quoted = b"\"[7".to_vec();
        quoted.extend_from_slice(f.escaped_tail());
        quoted.push(b'"');
        let text: String = serde_json::from_slice(&quoted).unwrap();
        assert_eq!(text.as_bytes(), &f.to_line(7)[..]);
    }
}
