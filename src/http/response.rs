//! HTTP/1.1 response serialisation.

use std::fmt::Write as _;

/// The reason phrase for the statuses we send.
pub fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        101 => "Switching Protocols",
        200 => "OK",
        204 => "No Content",
        304 => "Not Modified",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        411 => "Length Required",
        413 => "Content Too Large",
        414 => "URI Too Long",
        417 => "Expectation Failed",
        426 => "Upgrade Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "Unknown",
    }
}

/// A response under construction. Headers are written in order; `Content-Length`, `Date`,
/// `Server` and `Connection` are added by [`Response::encode`].
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    headers: String,
    pub body: Vec<u8>,
    /// Close the connection after this response.
    pub close: bool,
    /// Omit the body (a HEAD request) while keeping its length in `Content-Length`.
    pub head_only: bool,
}

impl Response {
    pub fn new(status: u16) -> Response {
        Response {
            status,
            headers: String::new(),
            body: Vec::new(),
            close: false,
            head_only: false,
        }
    }

    /// A response with a body and its content type.
    pub fn with_body(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Response {
        Response::new(status)
            .header("Content-Type", content_type)
            .body(body)
    }

    /// A plain-text error page for `status`, closing the connection when `close`.
    pub fn error(status: u16, detail: &str, close: bool) -> Response {
        let mut r = Response::with_body(
            status,
            "text/plain; charset=utf-8",
            format!("{} {}: {}\n", status, reason(status), detail),
        );
        r.close = close;
        r
    }

    pub fn header(mut self, name: &str, value: &str) -> Response {
        let _ = write!(self.headers, "{name}: {value}\r\n");
        self
    }

    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Response {
        self.body = body.into();
        self
    }

    /// Serialises status line, headers and body. `date` is the preformatted `Date` value.
    pub fn encode(&self, date: &str, out: &mut Vec<u8>) {
        self.encode_head(date, Framing::Length(self.body.len()), out);
        if !self.head_only && self.status != 304 && self.status != 204 {
            out.extend_from_slice(&self.body);
        }
    }

    /// Serialises the status line and headers for a body framed as `framing` (the caller
    /// writes the body).
    pub fn encode_head(&self, date: &str, framing: Framing, out: &mut Vec<u8>) {
        let mut head = String::with_capacity(128 + self.headers.len());
        let _ = write!(
            head,
            "HTTP/1.1 {} {}\r\nServer: hookbox\r\nDate: {}\r\n{}",
            self.status,
            reason(self.status),
            date,
            self.headers
        );
        match framing {
            Framing::Length(n)
                if self.status != 304 && self.status != 204 && self.status >= 200 =>
            {
                let _ = write!(head, "Content-Length: {n}\r\n");
            }
            Framing::Length(_) | Framing::UntilClose => {}
            Framing::Chunked => head.push_str("Transfer-Encoding: chunked\r\n"),
        }
        if self.close || framing == Framing::UntilClose {
            head.push_str("Connection: close\r\n");
        }
        head.push_str("\r\n");
        out.extend_from_slice(head.as_bytes());
    }
}

/// How a response body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// `Content-Length`.
    Length(usize),
    /// `Transfer-Encoding: chunked` (a stream that ends and keeps the connection).
    Chunked,
    /// No length: the body ends when the connection closes (an endless stream).
    UntilClose,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes() {
        let mut out = Vec::new();
        Response::with_body(200, "application/json", "[true, {}]")
            .header("X-A", "1")
            .encode("D", &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "HTTP/1.1 200 OK\r\nServer: hookbox\r\nDate: D\r\nContent-Type: application/json\r\nX-A: 1\r\nContent-Length: 10\r\n\r\n[true, {}]"
        );
        let mut out = Vec::new();
        let mut r = Response::error(404, "no", true);
        r.head_only = true;
        r.encode("D", &mut out);
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.ends_with("Content-Length: 18\r\nConnection: close\r\n\r\n"),
            "{text}"
        );
    }
}
