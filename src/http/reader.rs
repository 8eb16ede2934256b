//! The requests on one connection, read incrementally: heads, then the bodies the caller
//! asks for, whatever way the bytes are cut.

use std::fmt;

use super::body::{BodyDecoder, BodyError};
use super::request::{HeadError, HeadLimits, HeadParser, RequestHead};

/// What a call to [`RequestReader::read`] found.
#[derive(Debug)]
pub enum Read {
    /// More input is needed; this many bytes were used.
    Need(usize),
    /// A whole head, after this many bytes. The caller decides whether a body follows
    /// ([`RequestReader::begin_body`]).
    Head(usize, RequestHead),
    /// A whole body, after this many bytes.
    Body(usize, Vec<u8>),
}

/// Why the stream cannot be read further.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadError {
    Head(HeadError),
    Body(BodyError),
}

impl ReadError {
    pub fn status(self) -> u16 {
        match self {
            ReadError::Head(e) => e.status(),
            ReadError::Body(e) => e.status(),
        }
    }
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Head(e) => e.fmt(f),
            ReadError::Body(e) => e.fmt(f),
        }
    }
}

#[derive(Debug, Default)]
pub struct RequestReader {
    parser: HeadParser,
    body: Option<(BodyDecoder, Vec<u8>)>,
    /// Bytes of a head have arrived.
    in_head: bool,
}

impl RequestReader {
    pub fn new() -> RequestReader {
        RequestReader::default()
    }

    /// Whether a request is partly read (its head or its body).
    pub fn is_mid_request(&self) -> bool {
        self.in_head || self.body.is_some()
    }

    /// Whether a body is being read.
    pub fn is_reading_body(&self) -> bool {
        self.body.is_some()
    }

    /// Reads the body described by `decoder` before the next head.
    pub fn begin_body(&mut self, decoder: BodyDecoder) {
        self.body = Some((decoder, Vec::new()));
    }

    /// Reads from `input`, which starts where the last call's used bytes ended.
    pub fn read(&mut self, input: &[u8], limits: &HeadLimits) -> Result<Read, ReadError> {
        if let Some((decoder, body)) = self.body.as_mut() {
            let used = decoder.decode(input, body).map_err(ReadError::Body)?;
            if !decoder.is_done() {
                return Ok(Read::Need(used));
            }
            let body = self.body.take().map(|(_, b)| b).unwrap_or_default();
            return Ok(Read::Body(used, body));
        }
        let skip = HeadParser::leading_blank_lines(input);
        let rest = &input[skip..];
        if rest.is_empty() {
            return Ok(Read::Need(skip));
        }
        self.in_head = true;
        match self.parser.parse(rest, limits).map_err(ReadError::Head)? {
            None => Ok(Read::Need(skip)),
            Some((head, used)) => {
                self.parser.reset();
                self.in_head = false;
                Ok(Read::Head(skip + used, head))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::BodyFraming;

    /// Reads every request in `chunks` (delivered one after another), starting bodies as
    /// their heads say.
    fn read_all(chunks: &[&[u8]]) -> Result<Vec<(String, Vec<u8>)>, ReadError> {
        let limits = HeadLimits::default();
        let mut r = RequestReader::new();
        let mut buf = Vec::new();
        let mut out = Vec::new();
        let mut path = String::new();
        for chunk in chunks {
            buf.extend_from_slice(chunk);
            loop {
                match r.read(&buf, &limits)? {
                    Read::Need(used) => {
                        buf.drain(..used);
                        break;
                    }
                    Read::Head(used, head) => {
                        buf.drain(..used);
                        match head.framing {
                            BodyFraming::None => out.push((head.path, Vec::new())),
                            BodyFraming::Length(n) => {
                                path = head.path;
                                r.begin_body(BodyDecoder::with_length(n, 100).unwrap())
                            }
                            BodyFraming::Chunked => {
                                path = head.path;
                                r.begin_body(BodyDecoder::chunked(100))
                            }
                        }
                    }
                    Read::Body(used, body) => {
                        buf.drain(..used);
                        out.push((std::mem::take(&mut path), body));
                    }
                }
            }
        }
        Ok(out)
    }

    #[test]
    fn pipelined_requests_in_any_cut() {
        let input: &[u8] = b"\r\nGET /a HTTP/1.1\r\nHost: h\r\n\r\nPOST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nxyzPOST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n";
        let whole = read_all(&[input]).unwrap();
        assert_eq!(
            whole,
            vec![
                ("/a".to_string(), vec![]),
                ("/b".to_string(), b"xyz".to_vec()),
                ("/c".to_string(), b"hi".to_vec())
            ]
        );
        for cut in 0..input.len() {
            assert_eq!(
                read_all(&[&input[..cut], &input[cut..]]).unwrap(),
                whole,
                "{cut}"
            );
        }
        let bytes: Vec<&[u8]> = input.chunks(1).collect();
        assert_eq!(read_all(&bytes).unwrap(), whole);
    }

    #[test]
    fn errors_carry_their_status() {
        let e = read_all(&[b"GET / HTTP/1.1\r\n\r\n"]).unwrap_err();
        assert_eq!(e.status(), 400);
        let e = read_all(&[b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nz"])
            .unwrap_err();
        assert_eq!(e, ReadError::Body(BodyError::BadChunk));
    }
}
