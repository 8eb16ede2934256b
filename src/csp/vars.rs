//! CSP request variables: `s a d du is ps p bp bs rp rs se ct n`.
//!
//! A session keeps its variables from request to request (a client sets `ct` or `bp` once, at
//! handshake, and later requests leave them out). Prefixes, suffixes and the prebuffer are
//! echoed into responses a browser may run as script, so they are limited to characters that
//! cannot open a tag or a string, and `ct` to content types that suit the answers.

use std::fmt;

use crate::rest::fields::{FieldValue, Fields};

/// Longest prefix, suffix or prebuffer text accepted.
pub const MAX_AFFIX: usize = 128;
/// Largest prebuffer padding.
pub const MAX_PREBUFFER: usize = 4096;
/// Longest long-poll duration, in seconds.
pub const MAX_DURATION: u64 = 300;

const CONTENT_TYPES: [&str; 7] = [
    "text/plain",
    "text/html",
    "text/javascript",
    "application/javascript",
    "application/x-javascript",
    "application/json",
    "text/event-stream",
];

/// Why a variable was refused (answered 400).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VarError {
    pub name: &'static str,
}

impl fmt::Display for VarError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid CSP variable {}", self.name)
    }
}

/// The variables that persist on a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CspVars {
    /// Long-poll duration in seconds; 0 answers every comet at once (polling).
    pub du: u64,
    /// Streaming: the comet answer stays open and carries packets as they come.
    pub is: bool,
    /// Prebuffer: this many spaces, then `p`, before a comet answer's packets.
    pub ps: usize,
    pub p: String,
    /// Around comet answers: `bp(packets)bs`.
    pub bp: String,
    pub bs: String,
    /// Around other answers: `rp(data)rs`.
    pub rp: String,
    pub rs: String,
    /// SSE framing of comet answers (`id:` lines).
    pub se: bool,
    pub ct: String,
}

impl Default for CspVars {
    fn default() -> Self {
        CspVars {
            du: 30,
            is: false,
            ps: 0,
            p: String::new(),
            bp: String::new(),
            bs: String::new(),
            rp: String::new(),
            rs: String::new(),
            se: false,
            ct: "text/plain".into(),
        }
    }
}

/// What one request carries besides the persisting variables.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CspRequest {
    /// `s`: the session key.
    pub session: Option<String>,
    /// `a`: the last server packet id the client has; `None` for none (`-1` or absent).
    pub ack: Option<u64>,
    /// `d`: data (packets for `send`, anything for `reflect`).
    pub data: Option<String>,
}

fn affix(name: &'static str, v: String) -> Result<String, VarError> {
    let ok = v.len() <= MAX_AFFIX
        && v.bytes().all(|b| {
            b.is_ascii_alphanumeric()
                || matches!(
                    b,
                    b'_' | b'$'
                        | b'.'
                        | b';'
                        | b':'
                        | b'['
                        | b']'
                        | b'('
                        | b')'
                        | b' '
                        | b'\t'
                        | b'\r'
                        | b'\n'
                        | b'-'
                )
        });
    if ok {
        Ok(v)
    } else {
        Err(VarError { name })
    }
}

fn flag(name: &'static str, v: &str) -> Result<bool, VarError> {
    match v {
        "0" | "false" => Ok(false),
        "1" | "true" => Ok(true),
        _ => Err(VarError { name }),
    }
}

fn number(name: &'static str, v: &str, max: u64) -> Result<u64, VarError> {
    // Hookbox's client sends integers; a float such as "30.0" is taken whole.
    let n = v.parse::<u64>().ok().or_else(|| {
        v.parse::<f64>()
            .ok()
            .filter(|f| *f >= 0.0 && f.is_finite())
            .map(|f| f as u64)
    });
    match n {
        Some(n) if n <= max => Ok(n),
        _ => Err(VarError { name }),
    }
}

impl CspVars {
    /// Applies the variables present in `fields`; the rest keep their values. Checked whole
    /// before any applies.
    pub fn updated(&self, fields: &mut Fields) -> Result<CspVars, VarError> {
        let mut v = self.clone();
        let mut text = |name: &str| fields.take(name).map(FieldValue::into_text);
        if let Some(x) = text("du") {
            v.du = number("du", &x, MAX_DURATION)?;
        }
        if let Some(x) = text("is") {
            v.is = flag("is", &x)?;
        }
        if let Some(x) = text("se") {
            v.se = flag("se", &x)?;
        }
        if let Some(x) = text("ps") {
            v.ps = number("ps", &x, MAX_PREBUFFER as u64)? as usize;
        }
        if let Some(x) = text("p") {
            v.p = affix("p", x)?;
        }
        if let Some(x) = text("bp") {
            v.bp = affix("bp", x)?;
        }
        if let Some(x) = text("bs") {
            v.bs = affix("bs", x)?;
        }
        if let Some(x) = text("rp") {
            v.rp = affix("rp", x)?;
        }
        if let Some(x) = text("rs") {
            v.rs = affix("rs", x)?;
        }
        if let Some(x) = text("ct") {
            let media = x
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            if !CONTENT_TYPES.contains(&media.as_str()) {
                return Err(VarError { name: "ct" });
            }
            v.ct = media;
        }
        Ok(v)
    }

    /// How long a session may go without a request before it expires: twice the long-poll
    /// duration, or 60 s when polling.
    pub fn expiry_secs(&self) -> u64 {
        if self.du == 0 {
            60
        } else {
            self.du * 2
        }
    }

    /// The `Content-Type` of answers, with a charset where it is text.
    pub fn content_type(&self) -> String {
        format!("{}; charset=utf-8", self.ct)
    }

    /// The prebuffer that starts a comet answer.
    pub fn prebuffer(&self) -> String {
        let mut s = " ".repeat(self.ps);
        s.push_str(&self.p);
        s
    }
}

/// Reads `s`, `a` and `d` (the per-request variables); `d` may also come as a POST body.
pub fn request(fields: &mut Fields, body: Option<String>) -> Result<CspRequest, VarError> {
    let session = fields.take_text("s");
    let ack = match fields.take_text("a") {
        None => None,
        Some(a) if a == "-1" => None,
        Some(a) => Some(a.parse::<u64>().map_err(|_| VarError { name: "a" })?),
    };
    let data = body
        .filter(|b| !b.is_empty())
        .or_else(|| fields.take_text("d"));
    // `n` is only a cache-buster.
    fields.take("n");
    Ok(CspRequest { session, ack, data })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> Fields {
        Fields::from_pairs(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn defaults_updates_and_persistence() {
        let v = CspVars::default();
        assert_eq!((v.du, v.expiry_secs()), (30, 60));
        let v = v
            .updated(&mut fields(&[
                ("du", "0"),
                ("bp", "cb12"),
                ("bs", ";"),
                ("ct", "application/javascript"),
            ]))
            .unwrap();
        assert_eq!((v.du, v.bp.as_str(), v.bs.as_str()), (0, "cb12", ";"));
        assert_eq!(v.expiry_secs(), 60);
        assert_eq!(v.content_type(), "application/javascript; charset=utf-8");
        let v = v.updated(&mut fields(&[("ps", "3"), ("p", "x")])).unwrap();
        assert_eq!(v.prebuffer(), "   x");
        assert_eq!(v.bp, "cb12", "kept from before");
        let sse = CspVars::default()
            .updated(&mut fields(&[
                ("bp", "data: "),
                ("bs", "\r\n"),
                ("se", "1"),
                ("du", "25.0"),
            ]))
            .unwrap();
        assert!(sse.se);
        assert_eq!(sse.du, 25);
    }

    #[test]
    fn refusals() {
        for (k, v) in [
            ("du", "-1"),
            ("du", "301"),
            ("du", "x"),
            ("is", "2"),
            ("ps", "99999"),
            ("bp", "<script>"),
            ("bs", "\""),
            ("rp", "a'b"),
            ("p", &"x".repeat(200)),
            ("ct", "image/svg+xml"),
        ] {
            let e = CspVars::default()
                .updated(&mut fields(&[(k, v)]))
                .unwrap_err();
            assert_eq!(e.to_string(), format!("invalid CSP variable {k}"));
        }
        assert!(request(&mut fields(&[("a", "x")]), None).is_err());
    }

    #[test]
    fn per_request_vars() {
        let r = request(&mut fields(&[("s", "k"), ("a", "-1"), ("d", "q")]), None).unwrap();
        assert_eq!(
            r,
            CspRequest {
                session: Some("k".into()),
                ack: None,
                data: Some("q".into())
            }
        );
        let r = request(&mut fields(&[("a", "7"), ("d", "q")]), Some("body".into())).unwrap();
        assert_eq!((r.ack, r.data.as_deref()), (Some(7), Some("body")));
    }
}
