//! Incremental request-body decoder: `Content-Length` and `chunked`.
//!
//! [`BodyDecoder::decode`] takes whatever bytes have arrived, appends the body bytes it finds
//! to `out`, and says how many input bytes it used and whether the body is complete.

use std::fmt;

/// Longest chunk-size line (size, extensions) and trailer section we accept.
const MAX_CHUNK_LINE: usize = 1024;
const MAX_TRAILERS: usize = 8 * 1024;

/// Why a body could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyError {
    /// The body is larger than allowed (413).
    TooLarge,
    /// Chunked framing violated (400).
    BadChunk,
}

impl BodyError {
    /// The status this error is answered with.
    pub fn status(self) -> u16 {
        match self {
            BodyError::TooLarge => 413,
            BodyError::BadChunk => 400,
        }
    }
}

impl fmt::Display for BodyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BodyError::TooLarge => "request body too large",
            BodyError::BadChunk => "invalid chunked encoding",
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chunked {
    /// Reading hex digits of a chunk size.
    Size {
        size: u64,
        digits: usize,
        line: usize,
    },
    /// Skipping chunk extensions up to the CR.
    Extension {
        size: u64,
        line: usize,
    },
    /// Saw CR after the size line, want LF.
    SizeLf {
        size: u64,
    },
    /// Inside chunk data.
    Data {
        remaining: u64,
    },
    /// After chunk data, want CR.
    DataCr,
    /// After chunk data CR, want LF.
    DataLf,
    /// After the last chunk: trailer lines until an empty one. `line` counts bytes on the
    /// current line, `total` across the trailer section.
    Trailer {
        line: usize,
        total: usize,
        cr: bool,
    },
    Done,
}

/// Decoder state for one request body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodyDecoder {
    state: State,
    max: usize,
    received: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    Length { remaining: u64 },
    Chunked(Chunked),
}

impl BodyDecoder {
    /// A body of exactly `len` bytes; refused at once when over `max`.
    pub fn with_length(len: u64, max: usize) -> Result<Self, BodyError> {
        if len > max as u64 {
            return Err(BodyError::TooLarge);
        }
        Ok(BodyDecoder {
            state: State::Length { remaining: len },
            max,
            received: 0,
        })
    }

    /// A chunked body of at most `max` decoded bytes.
    pub fn chunked(max: usize) -> Self {
        BodyDecoder {
            state: State::Chunked(Chunked::Size {
                size: 0,
                digits: 0,
                line: 0,
            }),
            max,
            received: 0,
        }
    }

    /// Whether the whole body has been decoded.
    pub fn is_done(&self) -> bool {
        matches!(
            self.state,
            State::Length { remaining: 0 } | State::Chunked(Chunked::Done)
        )
    }

    /// Decodes from `input`, appending body bytes to `out`. Returns the number of input bytes
    /// consumed; check [`BodyDecoder::is_done`] afterwards. Bytes past the end of the body are
    /// never consumed (they belong to the next request).
    pub fn decode(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<usize, BodyError> {
        match &mut self.state {
            State::Length { remaining } => {
                let take = (*remaining).min(input.len() as u64) as usize;
                out.extend_from_slice(&input[..take]);
                *remaining -= take as u64;
                self.received += take;
                Ok(take)
            }
            State::Chunked(_) => self.decode_chunked(input, out),
        }
    }

    fn decode_chunked(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<usize, BodyError> {
        let State::Chunked(mut st) = self.state.clone() else {
            return Ok(0);
        };
        let mut i = 0;
        while i < input.len() {
            let b = input[i];
            st = match st {
                Chunked::Done => break,
                Chunked::Size { size, digits, line } => {
                    if line >= MAX_CHUNK_LINE {
                        return Err(BodyError::BadChunk);
                    }
                    if let Some(d) = hex_digit(b) {
                        if digits >= 15 {
                            return Err(BodyError::TooLarge);
                        }
                        Chunked::Size {
                            size: size * 16 + u64::from(d),
                            digits: digits + 1,
                            line: line + 1,
                        }
                    } else if digits == 0 {
                        return Err(BodyError::BadChunk);
                    } else if b == b'\r' {
                        Chunked::SizeLf { size }
                    } else if b == b';' || b == b' ' || b == b'\t' {
                        Chunked::Extension {
                            size,
                            line: line + 1,
                        }
                    } else {
                        return Err(BodyError::BadChunk);
                    }
                }
                Chunked::Extension { size, line } => {
                    if line >= MAX_CHUNK_LINE {
                        return Err(BodyError::BadChunk);
                    }
                    match b {
                        b'\r' => Chunked::SizeLf { size },
                        b'\n' => return Err(BodyError::BadChunk),
                        _ => Chunked::Extension {
                            size,
                            line: line + 1,
                        },
                    }
                }
                Chunked::SizeLf { size } => {
                    if b != b'\n' {
                        return Err(BodyError::BadChunk);
                    }
                    if size == 0 {
                        Chunked::Trailer {
                            line: 0,
                            total: 0,
                            cr: false,
                        }
                    } else {
                        if self.received as u64 + size > self.max as u64 {
                            return Err(BodyError::TooLarge);
                        }
                        Chunked::Data { remaining: size }
                    }
                }
                Chunked::Data { remaining } => {
                    let take = remaining.min((input.len() - i) as u64) as usize;
                    out.extend_from_slice(&input[i..i + take]);
                    self.received += take;
                    i += take;
                    let left = remaining - take as u64;
                    st = if left == 0 {
                        Chunked::DataCr
                    } else {
                        Chunked::Data { remaining: left }
                    };
                    continue;
                }
                Chunked::DataCr => {
                    if b != b'\r' {
                        return Err(BodyError::BadChunk);
                    }
                    Chunked::DataLf
                }
                Chunked::DataLf => {
                    if b != b'\n' {
                        return Err(BodyError::BadChunk);
                    }
                    Chunked::Size {
                        size: 0,
                        digits: 0,
                        line: 0,
                    }
                }
                Chunked::Trailer { line, total, cr } => {
                    if total >= MAX_TRAILERS {
                        return Err(BodyError::BadChunk);
                    }
                    match (b, cr) {
                        (b'\r', false) => Chunked::Trailer {
                            line,
                            total: total + 1,
                            cr: true,
                        },
                        (b'\n', true) if line == 0 => Chunked::Done,
                        (b'\n', true) => Chunked::Trailer {
                            line: 0,
                            total: total + 1,
                            cr: false,
                        },
                        (_, true) | (b'\n', false) => return Err(BodyError::BadChunk),
                        (_, false) => Chunked::Trailer {
                            line: line + 1,
                            total: total + 1,
                            cr: false,
                        },
                    }
                }
            };
            i += 1;
            if st == Chunked::Done {
                break;
            }
        }
        self.state = State::Chunked(st);
        Ok(i)
    }
}

fn hex_digit(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_whole(mut d: BodyDecoder, input: &[u8]) -> Result<(Vec<u8>, usize), BodyError> {
        let mut out = Vec::new();
        let n = d.decode(input, &mut out)?;
        assert!(d.is_done(), "not done");
        Ok((out, n))
    }

    #[test]
    fn content_length() {
        let d = BodyDecoder::with_length(5, 100).unwrap();
        let (out, n) = decode_whole(d, b"helloNEXT").unwrap();
        assert_eq!(out, b"hello");
        assert_eq!(n, 5);
        assert_eq!(
            BodyDecoder::with_length(101, 100).unwrap_err(),
            BodyError::TooLarge
        );
    }

    #[test]
    fn chunked_with_extensions_and_trailers() {
        let input = b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-T: 1\r\n\r\nGET";
        let (out, n) = decode_whole(BodyDecoder::chunked(100), input).unwrap();
        assert_eq!(out, b"hello world");
        assert_eq!(n, input.len() - 3);
    }

    #[test]
    fn chunked_byte_by_byte() {
        let input = b"A\r\n0123456789\r\n0\r\n\r\n";
        let mut d = BodyDecoder::chunked(100);
        let mut out = Vec::new();
        for i in 0..input.len() {
            assert!(!d.is_done());
            assert_eq!(d.decode(&input[i..i + 1], &mut out).unwrap(), 1);
        }
        assert!(d.is_done());
        assert_eq!(out, b"0123456789");
    }

    #[test]
    fn chunked_errors() {
        let bad: &[&[u8]] = &[
            b"x\r\n",
            b"5\r\nhelloX",
            b"5\nhello",
            b"\r\n",
            b"0\r\nbad\nx",
        ];
        for input in bad {
            let mut out = Vec::new();
            assert_eq!(
                BodyDecoder::chunked(100).decode(input, &mut out),
                Err(BodyError::BadChunk),
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
        let mut out = Vec::new();
        assert_eq!(
            BodyDecoder::chunked(4).decode(b"5\r\nhello\r\n", &mut out),
            Err(BodyError::TooLarge)
        );
        assert_eq!(
            BodyDecoder::chunked(4).decode(b"fffffffffffffffff\r\n", &mut out),
            Err(BodyError::TooLarge)
        );
    }
}
