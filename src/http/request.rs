//! Incremental HTTP/1.x request-head parser on top of `httparse`.
//!
//! Bytes in, `Ok(Some((head, consumed)))` once the whole head is there, `Ok(None)` when more
//! bytes are needed, or a typed [`HeadError`] that names the status to answer with.

use std::fmt;

/// Size limits applied while a head is parsed.
#[derive(Debug, Clone, Copy)]
pub struct HeadLimits {
    /// Whole head, request line and headers, in bytes (431 beyond it).
    pub max_head: usize,
    /// Request target in bytes (414 beyond it).
    pub max_target: usize,
    /// Number of header fields (431 beyond it).
    pub max_headers: usize,
}

impl Default for HeadLimits {
    fn default() -> Self {
        HeadLimits {
            max_head: 16 * 1024,
            max_target: 8 * 1024,
            max_headers: 64,
        }
    }
}

/// Why a request head was refused; each maps to one HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeadError {
    /// Syntax the grammar does not allow (400).
    Malformed,
    /// HTTP/1.1 request without a Host header (400).
    MissingHost,
    /// Content-Length that is not a number, or several that differ (400).
    BadContentLength,
    /// Both Content-Length and Transfer-Encoding (400: a smuggling vector).
    LengthAndChunked,
    /// A transfer coding other than `chunked` (501).
    UnsupportedTransferEncoding,
    /// An `Expect` other than `100-continue` (417).
    UnsupportedExpectation,
    /// Request target longer than the limit (414).
    TargetTooLong,
    /// Head longer than the limit, or too many fields (431).
    HeadTooLarge,
    /// A protocol version other than HTTP/1.0 or HTTP/1.1 (505).
    UnsupportedVersion,
}

impl HeadError {
    /// The status code this error is answered with.
    pub fn status(self) -> u16 {
        match self {
            HeadError::Malformed
            | HeadError::MissingHost
            | HeadError::BadContentLength
            | HeadError::LengthAndChunked => 400,
            HeadError::UnsupportedTransferEncoding => 501,
            HeadError::UnsupportedExpectation => 417,
            HeadError::TargetTooLong => 414,
            HeadError::HeadTooLarge => 431,
            HeadError::UnsupportedVersion => 505,
        }
    }
}

impl fmt::Display for HeadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            HeadError::Malformed => "malformed request",
            HeadError::MissingHost => "missing Host header",
            HeadError::BadContentLength => "invalid Content-Length",
            HeadError::LengthAndChunked => "both Content-Length and Transfer-Encoding",
            HeadError::UnsupportedTransferEncoding => "unsupported Transfer-Encoding",
            HeadError::UnsupportedExpectation => "unsupported Expect",
            HeadError::TargetTooLong => "request target too long",
            HeadError::HeadTooLarge => "request head too large",
            HeadError::UnsupportedVersion => "HTTP version not supported",
        };
        f.write_str(text)
    }
}

/// The request method, with the ones we route spelled out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Method {
    Get,
    Head,
    Post,
    Put,
    Delete,
    Patch,
    Options,
    /// A well-formed method token we do not implement (501).
    Other(String),
}

impl Method {
    fn from_token(token: &str) -> Method {
        match token {
            "GET" => Method::Get,
            "HEAD" => Method::Head,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            "DELETE" => Method::Delete,
            "PATCH" => Method::Patch,
            "OPTIONS" => Method::Options,
            other => Method::Other(other.to_string()),
        }
    }

    /// The method as it appears on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
            Method::Patch => "PATCH",
            Method::Options => "OPTIONS",
            Method::Other(s) => s,
        }
    }
}

/// How the request body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFraming {
    /// No body at all.
    None,
    /// Exactly this many bytes follow the head.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
}

/// A parsed request head. Header names are lower-cased; values are kept as bytes.
#[derive(Debug, Clone)]
pub struct RequestHead {
    pub method: Method,
    /// The path part of the target (origin form), without the query.
    pub path: String,
    /// The query string without the `?`, empty when absent.
    pub query: String,
    /// 0 for HTTP/1.0, 1 for HTTP/1.1.
    pub minor_version: u8,
    pub headers: Vec<(String, Vec<u8>)>,
    pub framing: BodyFraming,
    /// Whether the connection may carry another request after this one.
    pub keep_alive: bool,
    /// The client waits for `100 Continue` before sending the body.
    pub expect_continue: bool,
}

impl RequestHead {
    /// What matters of a request answered later, after its head is gone (a parked long-poll,
    /// a REST call that waited for the application): the method and whether to keep alive.
    pub fn answered_later(method: Method, keep_alive: bool) -> RequestHead {
        RequestHead {
            method,
            path: String::new(),
            query: String::new(),
            minor_version: 1,
            headers: Vec::new(),
            framing: BodyFraming::None,
            keep_alive,
            expect_continue: false,
        }
    }

    /// The first value of a header (name in lower case), if present.
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_slice())
    }

    /// A header value as text, if present and valid UTF-8.
    pub fn header_str(&self, name: &str) -> Option<&str> {
        self.header(name).and_then(|v| std::str::from_utf8(v).ok())
    }

    /// Whether a comma-separated header (such as `Connection`) contains `token`.
    pub fn header_has_token(&self, name: &str, token: &str) -> bool {
        self.headers
            .iter()
            .filter(|(n, _)| n == name)
            .filter_map(|(_, v)| std::str::from_utf8(v).ok())
            .flat_map(|v| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case(token))
    }
}

/// Incremental head parser: remembers how far it has looked for the blank line, so a head
/// that arrives one byte at a time costs linear, not quadratic, work.
#[derive(Debug, Default)]
pub struct HeadParser {
    scanned: usize,
}

impl HeadParser {
    pub fn new() -> Self {
        HeadParser { scanned: 0 }
    }

    /// Forget progress; call after a head has been consumed from the buffer.
    pub fn reset(&mut self) {
        self.scanned = 0;
    }

    /// Leading empty lines before a request line are skipped (RFC 9112 section 2.2);
    /// returns how many bytes of them the buffer starts with.
    pub fn leading_blank_lines(buf: &[u8]) -> usize {
        let mut i = 0;
        while i < buf.len() {
            match buf[i] {
                b'\r' | b'\n' => i += 1,
                _ => break,
            }
        }
        i
    }

    /// Parses the head at the start of `buf` (which must not start with blank lines; see
    /// [`HeadParser::leading_blank_lines`]).
    pub fn parse(
        &mut self,
        buf: &[u8],
        limits: &HeadLimits,
    ) -> Result<Option<(RequestHead, usize)>, HeadError> {
        let end = match find_head_end(buf, self.scanned.saturating_sub(3)) {
            Some(end) => end,
            None => {
                self.scanned = buf.len();
                // The target alone already exceeds its limit? (Anything else that is long
                // waits for the head limit, so a head given in pieces gives what it gives
                // whole.)
                let line_end = buf.iter().position(|&b| b == b'\n').unwrap_or(buf.len());
                if line_end > limits.max_target && target_too_long(&buf[..line_end], limits) {
                    return Err(HeadError::TargetTooLong);
                }
                if buf.len() > limits.max_head {
                    return Err(HeadError::HeadTooLarge);
                }
                return Ok(None);
            }
        };
        if end > limits.max_head {
            let line_end = buf.iter().position(|&b| b == b'\n').unwrap_or(end);
            if target_too_long(&buf[..line_end], limits) {
                return Err(HeadError::TargetTooLong);
            }
            return Err(HeadError::HeadTooLarge);
        }
        self.scanned = 0;
        let head = parse_complete(&buf[..end], limits)?;
        Ok(Some((head, end)))
    }
}

/// Whether the request line's target (second word, perhaps still arriving) is over the limit.
fn target_too_long(line: &[u8], limits: &HeadLimits) -> bool {
    let mut parts = line.splitn(3, |&b| b == b' ');
    let _method = parts.next();
    parts
        .next()
        .is_some_and(|target| target.len() > limits.max_target)
}

/// Position just past the blank line ending the head (`\r\n\r\n` or a bare `\n\n`).
fn find_head_end(buf: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while i < buf.len() {
        if buf[i] == b'\n' {
            if buf.get(i + 1) == Some(&b'\n') {
                return Some(i + 2);
            }
            if buf.get(i + 1) == Some(&b'\r') && buf.get(i + 2) == Some(&b'\n') {
                return Some(i + 3);
            }
        }
        i += 1;
    }
    None
}

fn parse_complete(buf: &[u8], limits: &HeadLimits) -> Result<RequestHead, HeadError> {
    let mut storage = vec![httparse::EMPTY_HEADER; limits.max_headers];
    let mut req = httparse::Request::new(&mut storage);
    match req.parse(buf) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => return Err(HeadError::Malformed),
        Err(httparse::Error::TooManyHeaders) => return Err(HeadError::HeadTooLarge),
        Err(httparse::Error::Version) => return Err(version_error(buf)),
        Err(_) => return Err(HeadError::Malformed),
    }
    let method = Method::from_token(req.method.ok_or(HeadError::Malformed)?);
    let target = req.path.ok_or(HeadError::Malformed)?;
    if target.len() > limits.max_target {
        return Err(HeadError::TargetTooLong);
    }
    let minor_version = req.version.ok_or(HeadError::Malformed)?;
    let (path, query) = split_target(target, &method)?;

    let mut headers = Vec::with_capacity(req.headers.len());
    let mut content_length: Option<u64> = None;
    let mut chunked = false;
    let mut transfer_encoding_seen = false;
    let mut connection_close = false;
    let mut connection_keep_alive = false;
    let mut expect_continue = false;
    let mut host_seen = false;
    for h in req.headers.iter() {
        let name = h.name.to_ascii_lowercase();
        let value = trim_ows(h.value);
        match name.as_str() {
            "content-length" => {
                let n = parse_content_length(value)?;
                if content_length.is_some_and(|prev| prev != n) {
                    return Err(HeadError::BadContentLength);
                }
                content_length = Some(n);
            }
            "transfer-encoding" => {
                transfer_encoding_seen = true;
                let text = std::str::from_utf8(value).map_err(|_| HeadError::Malformed)?;
                let codings: Vec<&str> = text.split(',').map(str::trim).collect();
                // Only `chunked`, and only once, is supported.
                if chunked || codings.len() != 1 || !codings[0].eq_ignore_ascii_case("chunked") {
                    return Err(HeadError::UnsupportedTransferEncoding);
                }
                chunked = true;
            }
            "connection" => {
                if let Ok(text) = std::str::from_utf8(value) {
                    for token in text.split(',').map(str::trim) {
                        if token.eq_ignore_ascii_case("close") {
                            connection_close = true;
                        } else if token.eq_ignore_ascii_case("keep-alive") {
                            connection_keep_alive = true;
                        }
                    }
                }
            }
            "expect" => {
                if value.eq_ignore_ascii_case(b"100-continue") {
                    expect_continue = minor_version >= 1;
                } else {
                    return Err(HeadError::UnsupportedExpectation);
                }
            }
            "host" => host_seen = true,
            _ => {}
        }
        headers.push((name, value.to_vec()));
    }
    if minor_version >= 1 && !host_seen {
        return Err(HeadError::MissingHost);
    }
    if transfer_encoding_seen && content_length.is_some() {
        return Err(HeadError::LengthAndChunked);
    }
    let framing = if chunked {
        BodyFraming::Chunked
    } else {
        match content_length {
            Some(0) | None => BodyFraming::None,
            Some(n) => BodyFraming::Length(n),
        }
    };
    let keep_alive = if minor_version == 0 {
        connection_keep_alive && !connection_close
    } else {
        !connection_close
    };
    Ok(RequestHead {
        method,
        path,
        query,
        minor_version,
        headers,
        framing,
        keep_alive,
        expect_continue: expect_continue && framing != BodyFraming::None,
    })
}

/// `HTTP/2.0` and friends are well-formed but unsupported (505); anything else is junk (400).
fn version_error(buf: &[u8]) -> HeadError {
    let line_end = buf.iter().position(|&b| b == b'\n').unwrap_or(buf.len());
    let line = &buf[..line_end];
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    match line.rsplit(|&b| b == b' ').next() {
        Some(v)
            if v.len() == 8
                && v.starts_with(b"HTTP/")
                && v[5].is_ascii_digit()
                && v[6] == b'.'
                && v[7].is_ascii_digit() =>
        {
            HeadError::UnsupportedVersion
        }
        Some(v) if v.len() == 6 && v.starts_with(b"HTTP/") && v[5].is_ascii_digit() => {
            HeadError::UnsupportedVersion
        }
        _ => HeadError::Malformed,
    }
}

fn split_target(target: &str, method: &Method) -> Result<(String, String), HeadError> {
    let origin = if target.starts_with('/') {
        target
    } else if let Some(rest) = target
        .strip_prefix("http://")
        .or_else(|| target.strip_prefix("https://"))
    {
        // Absolute form: drop the authority.
        match rest.find('/') {
            Some(i) => &rest[i..],
            None => "/",
        }
    } else if target == "*" && *method == Method::Options {
        "*"
    } else {
        return Err(HeadError::Malformed);
    };
    Ok(match origin.split_once('?') {
        Some((p, q)) => (p.to_string(), q.to_string()),
        None => (origin.to_string(), String::new()),
    })
}

fn parse_content_length(value: &[u8]) -> Result<u64, HeadError> {
    if value.is_empty() || value.len() > 19 || !value.iter().all(u8::is_ascii_digit) {
        return Err(HeadError::BadContentLength);
    }
    let mut n: u64 = 0;
    for &d in value {
        n = n * 10 + u64::from(d - b'0');
    }
    Ok(n)
}

fn trim_ows(v: &[u8]) -> &[u8] {
    let start = v
        .iter()
        .position(|&b| b != b' ' && b != b'\t')
        .unwrap_or(v.len());
    let end = v
        .iter()
        .rposition(|&b| b != b' ' && b != b'\t')
        .map_or(start, |i| i + 1);
    &v[start..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(input: &[u8]) -> Result<Option<(RequestHead, usize)>, HeadError> {
        HeadParser::new().parse(input, &HeadLimits::default())
    }

    #[test]
    fn simple_get() {
        let (head, n) = parse_all(b"GET /web/publish?a=1 HTTP/1.1\r\nHost: x\r\n\r\nrest")
            .unwrap()
            .unwrap();
        assert_eq!(n, 42);
        assert_eq!(head.method, Method::Get);
        assert_eq!(head.path, "/web/publish");
        assert_eq!(head.query, "a=1");
        assert_eq!(head.minor_version, 1);
        assert!(head.keep_alive);
        assert_eq!(head.framing, BodyFraming::None);
        assert_eq!(head.header_str("host"), Some("x"));
    }

    #[test]
    fn one_byte_at_a_time_equals_whole() {
        let input = b"POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello";
        let mut p = HeadParser::new();
        let limits = HeadLimits::default();
        let mut result = None;
        for end in 1..=input.len() {
            if let Some(r) = p.parse(&input[..end], &limits).unwrap() {
                result = Some((r.1, end));
                break;
            }
        }
        let (consumed, at) = result.unwrap();
        assert_eq!(consumed, input.len() - 5);
        assert_eq!(at, input.len() - 5);
    }

    #[test]
    fn http10_defaults_to_close() {
        let (head, _) = parse_all(b"GET / HTTP/1.0\r\n\r\n").unwrap().unwrap();
        assert!(!head.keep_alive);
        let (head, _) = parse_all(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            .unwrap()
            .unwrap();
        assert!(head.keep_alive);
        let (head, _) = parse_all(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
            .unwrap()
            .unwrap();
        assert!(!head.keep_alive);
    }

    #[test]
    fn statuses() {
        let cases: &[(&[u8], u16)] = &[
            (b"GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505),
            (b"GET / FOO\r\nHost: a\r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\n\r\n", 400),
            (b"GET nothing HTTP/1.1\r\nHost: a\r\n\r\n", 400),
            (
                b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: x\r\n\r\n",
                400,
            ),
            (
                b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
                400,
            ),
            (
                b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n",
                501,
            ),
            (
                b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
                400,
            ),
            (b"GET / HTTP/1.1\r\nHost: a\r\nExpect: magic\r\n\r\n", 417),
            (b"GET / HTTP/1.1\r\nHost: a\r\nBad Header: x\r\n\r\n", 400),
        ];
        for (input, status) in cases {
            let got = parse_all(input).map(|_| ()).unwrap_err().status();
            assert_eq!(got, *status, "{}", String::from_utf8_lossy(input));
        }
    }

    #[test]
    fn long_target_is_414_and_big_head_is_431() {
        let mut req = b"GET /".to_vec();
        req.extend(std::iter::repeat_n(b'a', 9000));
        // Not even complete yet: the target alone is over the limit.
        assert_eq!(parse_all(&req).unwrap_err(), HeadError::TargetTooLong);
        let mut req = b"GET / HTTP/1.1\r\nHost: a\r\nX-Big: ".to_vec();
        req.extend(std::iter::repeat_n(b'a', 17000));
        assert_eq!(parse_all(&req).unwrap_err(), HeadError::HeadTooLarge);
        let mut req = b"GET / HTTP/1.1\r\nHost: a\r\n".to_vec();
        for i in 0..100 {
            req.extend(format!("X-{i}: v\r\n").as_bytes());
        }
        req.extend(b"\r\n");
        assert_eq!(parse_all(&req).unwrap_err(), HeadError::HeadTooLarge);
    }

    #[test]
    fn chunked_and_expect() {
        let (head, _) = parse_all(
            b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n",
        )
        .unwrap()
        .unwrap();
        assert_eq!(head.framing, BodyFraming::Chunked);
        assert!(head.expect_continue);
    }

    #[test]
    fn absolute_form_and_leading_blank_lines() {
        let input = b"\r\n\r\nGET http://example.com/a/b?q HTTP/1.1\r\nHost: e\r\n\r\n";
        let skip = HeadParser::leading_blank_lines(input);
        assert_eq!(skip, 4);
        let (head, _) = parse_all(&input[skip..]).unwrap().unwrap();
        assert_eq!(head.path, "/a/b");
        assert_eq!(head.query, "q");
    }

    #[test]
    fn bare_lf_heads() {
        let (head, n) = parse_all(b"GET / HTTP/1.1\nHost: a\n\n").unwrap().unwrap();
        assert_eq!(n, 24);
        assert_eq!(head.path, "/");
    }
}
