//! A connection's bounded outbound queue.
//!
//! A frame fanned out to many connections is queued on each by reference: the entry holds a
//! few bytes of per-connection prefix (transport framing and the frame id) inline and a
//! shared pointer to the serialised tail, so queueing allocates nothing per subscriber.
//! Writes go out in batches with `write_vectored`.

use std::collections::VecDeque;
use std::io::{self, IoSlice, Write};

use crate::rtjp::SharedFrame;

/// Longest inline prefix: enough for a WebSocket header (10) and `[` with a u64 id (21), or
/// an SSE `id: N\ndata: [id` line start, or a CSP packet's `, [N, 0, "[id`.
pub const MAX_PREFIX: usize = 56;

/// Slices handed to one `write_vectored` call.
const MAX_SLICES: usize = 64;

/// Bytes before a shared tail, kept inline.
#[derive(Debug, Clone, Copy)]
pub struct Prefix {
    bytes: [u8; MAX_PREFIX],
    len: u8,
}

impl Prefix {
    /// Concatenates `parts`; `None` if they do not fit.
    pub fn new(parts: &[&[u8]]) -> Option<Prefix> {
        let mut bytes = [0u8; MAX_PREFIX];
        let mut len = 0usize;
        for p in parts {
            let end = len.checked_add(p.len()).filter(|&e| e <= MAX_PREFIX)?;
            bytes[len..end].copy_from_slice(p);
            len = end;
        }
        Some(Prefix {
            bytes,
            len: len as u8,
        })
    }

    pub fn as_slice(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

/// Which form of a shared frame goes out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// The tail as serialised, less this many bytes at its end (an SSE event drops the
    /// line end).
    Tail { trim_end: u8 },
    /// The tail escaped for a JSON string (a CSP packet's data).
    Escaped,
}

impl Part {
    /// The shared bytes this part names.
    pub fn bytes(self, frame: &SharedFrame) -> &[u8] {
        match self {
            Part::Tail { trim_end } => {
                let t = frame.tail();
                &t[..t.len().saturating_sub(usize::from(trim_end))]
            }
            Part::Escaped => frame.escaped_tail(),
        }
    }
}

#[derive(Debug)]
enum Chunk {
    /// Bytes only this connection sends (HTTP responses, control frames).
    Owned(Vec<u8>),
    /// A per-connection prefix, a frame's shared bytes, and a fixed suffix.
    Shared {
        prefix: Prefix,
        frame: SharedFrame,
        part: Part,
        suffix: &'static [u8],
    },
}

impl Chunk {
    fn len(&self) -> usize {
        match self {
            Chunk::Owned(v) => v.len(),
            Chunk::Shared {
                prefix,
                frame,
                part,
                suffix,
            } => prefix.as_slice().len() + part.bytes(frame).len() + suffix.len(),
        }
    }
}

/// The queue would exceed its cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Overflow;

/// What a flush achieved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flush {
    /// Everything queued has been written.
    Done,
    /// The socket would block; wait for it to become writable.
    Blocked,
}

#[derive(Debug)]
pub struct Outbound {
    chunks: VecDeque<Chunk>,
    /// Bytes of the front chunk already written.
    front_written: usize,
    /// Bytes queued and not yet written.
    pending: usize,
    cap: usize,
}

impl Outbound {
    pub fn new(cap: usize) -> Outbound {
        Outbound {
            chunks: VecDeque::new(),
            front_written: 0,
            pending: 0,
            cap,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.pending == 0
    }

    /// Bytes waiting to be written.
    pub fn pending(&self) -> usize {
        self.pending
    }

    /// Whether the queue holds more than its cap (possible only through `push_owned_uncapped`).
    pub fn over_cap(&self) -> bool {
        self.pending > self.cap
    }

    fn admit(&mut self, len: usize) -> Result<(), Overflow> {
        if self.pending + len > self.cap {
            return Err(Overflow);
        }
        self.pending += len;
        Ok(())
    }

    /// Queues bytes, refusing them if the cap would be exceeded.
    pub fn push_owned(&mut self, bytes: Vec<u8>) -> Result<(), Overflow> {
        if bytes.is_empty() {
            return Ok(());
        }
        self.admit(bytes.len())?;
        self.chunks.push_back(Chunk::Owned(bytes));
        Ok(())
    }

    /// Queues bytes whatever the cap (HTTP responses: the reader is paused instead).
    pub fn push_owned_uncapped(&mut self, bytes: Vec<u8>) {
        if !bytes.is_empty() {
            self.pending += bytes.len();
            self.chunks.push_back(Chunk::Owned(bytes));
        }
    }

    /// Queues a prefix and a shared frame tail.
    pub fn push_shared(&mut self, prefix: Prefix, frame: &SharedFrame) -> Result<(), Overflow> {
        self.push_part(prefix, frame, Part::Tail { trim_end: 0 }, b"")
    }

    /// Queues a prefix, one form of a shared frame, and a suffix.
    pub fn push_part(
        &mut self,
        prefix: Prefix,
        frame: &SharedFrame,
        part: Part,
        suffix: &'static [u8],
    ) -> Result<(), Overflow> {
        let chunk = Chunk::Shared {
            prefix,
            frame: frame.clone(),
            part,
            suffix,
        };
        self.admit(chunk.len())?;
        self.chunks.push_back(chunk);
        Ok(())
    }

    /// Queues a part whatever the cap (its connection's own cap was checked elsewhere).
    pub fn push_part_uncapped(
        &mut self,
        prefix: Prefix,
        frame: &SharedFrame,
        part: Part,
        suffix: &'static [u8],
    ) {
        let chunk = Chunk::Shared {
            prefix,
            frame: frame.clone(),
            part,
            suffix,
        };
        self.pending += chunk.len();
        self.chunks.push_back(chunk);
    }

    /// Drops everything not yet started, keeping a partly written chunk so the peer never
    /// sees a torn frame.
    pub fn discard_unstarted(&mut self) {
        let keep = usize::from(self.front_written > 0);
        while self.chunks.len() > keep {
            self.chunks.pop_back();
        }
        self.pending = self
            .chunks
            .front()
            .map_or(0, |c| c.len() - self.front_written);
        if self.chunks.is_empty() {
            self.front_written = 0;
        }
    }

    /// Writes as much as the socket takes.
    pub fn flush<W: Write>(&mut self, w: &mut W) -> io::Result<Flush> {
        while self.pending > 0 {
            let n = {
                let mut slices = [IoSlice::new(&[]); MAX_SLICES];
                let mut count = 0;
                let mut skip = self.front_written;
                'fill: for chunk in &self.chunks {
                    let parts: [&[u8]; 3] = match chunk {
                        Chunk::Owned(v) => [v.as_slice(), &[], &[]],
                        Chunk::Shared {
                            prefix,
                            frame,
                            part,
                            suffix,
                        } => [prefix.as_slice(), part.bytes(frame), suffix],
                    };
                    for part in parts {
                        if skip >= part.len() {
                            skip -= part.len();
                            continue;
                        }
                        if count == MAX_SLICES {
                            break 'fill;
                        }
                        slices[count] = IoSlice::new(&part[skip..]);
                        skip = 0;
                        count += 1;
                    }
                }
                match w.write_vectored(&slices[..count]) {
                    Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(Flush::Blocked),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                }
            };
            self.advance(n);
        }
        if self.chunks.capacity() > 64 {
            // A burst is over: give back the ring it needed.
            self.chunks = VecDeque::new();
        }
        Ok(Flush::Done)
    }

    fn advance(&mut self, mut n: usize) {
        self.pending -= n.min(self.pending);
        while n > 0 {
            let Some(front) = self.chunks.front() else {
                break;
            };
            let left = front.len() - self.front_written;
            if n >= left {
                n -= left;
                self.front_written = 0;
                self.chunks.pop_front();
            } else {
                self.front_written += n;
                n = 0;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtjp::OutFrame;
    use serde_json::Map;

    /// A writer taking at most `max` bytes per call, then blocking after `budget` in all.
    struct Trickle {
        out: Vec<u8>,
        max: usize,
        budget: usize,
    }

    impl Write for Trickle {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.write_vectored(&[IoSlice::new(buf)])
        }
        fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
            if self.budget == 0 {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            let mut n = 0;
            for b in bufs {
                let take = b.len().min(self.max - n).min(self.budget);
                self.out.extend_from_slice(&b[..take]);
                n += take;
                self.budget -= take;
                if n == self.max || self.budget == 0 {
                    break;
                }
            }
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn writes_everything_in_order_through_short_writes() {
        let frame = OutFrame::new("PUBLISH", &Map::new());
        let mut q = Outbound::new(1 << 20);
        let mut want = Vec::new();
        for i in 0..200u64 {
            let id = i.to_string();
            let p = Prefix::new(&[b"[", id.as_bytes()]).unwrap();
            q.push_shared(p, &frame).unwrap();
            want.extend(frame.to_line(i));
            q.push_owned(b"x".to_vec()).unwrap();
            want.push(b'x');
        }
        assert_eq!(q.pending(), want.len());
        let mut w = Trickle {
            out: Vec::new(),
            max: 7,
            budget: 1000,
        };
        assert_eq!(q.flush(&mut w).unwrap(), Flush::Blocked);
        assert_eq!(w.out.len(), 1000);
        w.budget = usize::MAX;
        assert_eq!(q.flush(&mut w).unwrap(), Flush::Done);
        assert_eq!(w.out, want);
        assert!(q.is_empty());
    }

    #[test]
    fn parts_and_suffixes() {
        let frame = OutFrame::new("A", &Map::new());
        let mut q = Outbound::new(1 << 20);
        let p = Prefix::new(&[b"data: [1"]).unwrap();
        q.push_part(p, &frame, Part::Tail { trim_end: 2 }, b"\n\n")
            .unwrap();
        let p = Prefix::new(&[b"\"[2"]).unwrap();
        q.push_part_uncapped(p, &frame, Part::Escaped, b"\"");
        let mut w = Trickle {
            out: Vec::new(),
            max: 5,
            budget: usize::MAX,
        };
        assert_eq!(q.flush(&mut w).unwrap(), Flush::Done);
        assert_eq!(
            String::from_utf8(w.out).unwrap(),
            "data: [1, \"A\", {}]\n\n\"[2, \\\"A\\\", {}]\\r\\n\""
        );
    }

    #[test]
    fn cap_and_discard_keep_frames_whole() {
        let mut q = Outbound::new(10);
        q.push_owned(b"0123456".to_vec()).unwrap();
        assert_eq!(q.push_owned(b"abcd".to_vec()), Err(Overflow));
        q.push_owned(b"abc".to_vec()).unwrap();
        let mut w = Trickle {
            out: Vec::new(),
            max: 100,
            budget: 3,
        };
        assert_eq!(q.flush(&mut w).unwrap(), Flush::Blocked);
        q.discard_unstarted();
        assert_eq!(q.pending(), 4);
        w.budget = 100;
        q.flush(&mut w).unwrap();
        assert_eq!(w.out, b"0123456");
        assert!(Prefix::new(&[&[0u8; 57]]).is_none());
    }
}
