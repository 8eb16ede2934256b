//! A comet session: an RTJP connection the server keeps between HTTP requests, with the
//! packets the client has not acknowledged yet. Pure: the reactor attaches requests to it.

use std::collections::VecDeque;

use super::packets::ClientPacket;
use super::vars::CspVars;
use crate::hub::ConnId;
use crate::rtjp::{split_line, SharedFrame};

/// What a server packet carries.
#[derive(Debug, Clone)]
pub enum Item {
    /// One RTJP frame, with the frame id it has on this session.
    Frame { rid: u64, frame: SharedFrame },
    /// The end of the session.
    Null,
}

#[derive(Debug, Clone)]
pub struct Queued {
    pub pid: u64,
    pub item: Item,
    /// Written to a stream (SSE or streaming comet) already.
    pub sent: bool,
}

impl Queued {
    /// Roughly what the packet costs to hold and to send.
    fn size(&self) -> usize {
        match &self.item {
            Item::Frame { frame, .. } => frame.tail().len() + 48,
            Item::Null => 24,
        }
    }
}

/// The queue would pass its cap with packets the client has not even been sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Overflow;

/// An acknowledgement or resume point from before packets the session no longer has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gap;

/// A client RTJP line longer than allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineTooLong;

/// What a `send` brought.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Received {
    /// Whole RTJP lines, in order.
    pub lines: Vec<Vec<u8>>,
    /// The client sent its null packet: it is closing.
    pub closing: bool,
}

#[derive(Debug)]
pub struct Session {
    pub key: String,
    pub hub_id: ConnId,
    pub vars: CspVars,
    queue: VecDeque<Queued>,
    queued_bytes: usize,
    cap: usize,
    next_pid: u64,
    next_rid: u64,
    /// Packets up to this id were dropped unacknowledged (to keep a stream's replay window
    /// within the cap); an ack before it cannot be honoured.
    dropped_through: u64,
    last_client_packet: u64,
    /// A client line not yet whole.
    lines: Vec<u8>,
    max_line: usize,
    /// The null packet is queued: nothing more is queued after it.
    pub closed: bool,
}

impl Session {
    pub fn new(key: String, hub_id: ConnId, vars: CspVars, cap: usize, max_line: usize) -> Session {
        Session {
            key,
            hub_id,
            vars,
            queue: VecDeque::new(),
            queued_bytes: 0,
            cap,
            next_pid: 0,
            next_rid: 0,
            dropped_through: 0,
            last_client_packet: 0,
            lines: Vec::new(),
            max_line,
            closed: false,
        }
    }

    /// The packets the client has not acknowledged, oldest first.
    pub fn packets(&self) -> impl Iterator<Item = &Queued> {
        self.queue.iter()
    }

    /// Whether anything waits that a stream has not been sent yet.
    pub fn has_unsent(&self) -> bool {
        self.queue.iter().any(|q| !q.sent)
    }

    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// The id of the newest packet.
    pub fn last_pid(&self) -> u64 {
        self.next_pid
    }

    /// Marks every queued packet as written to a stream.
    pub fn mark_sent(&mut self) {
        for q in self.queue.iter_mut() {
            q.sent = true;
        }
    }

    /// Treats every queued packet as not yet sent (a new stream starts after the client's
    /// acknowledgement, so it must get all that is left).
    pub fn resend_all(&mut self) {
        for q in self.queue.iter_mut() {
            q.sent = false;
        }
    }

    /// Forgets packets up to `ack`. An ack before packets dropped unacknowledged is a gap;
    /// an ack past the newest packet acknowledges everything.
    pub fn ack(&mut self, ack: u64) -> Result<(), Gap> {
        if ack < self.dropped_through {
            return Err(Gap);
        }
        while self.queue.front().is_some_and(|q| q.pid <= ack) {
            if let Some(q) = self.queue.pop_front() {
                self.queued_bytes -= q.size();
            }
        }
        Ok(())
    }

    fn push(&mut self, item: Item) -> Result<(), Overflow> {
        self.next_pid += 1;
        let q = Queued {
            pid: self.next_pid,
            item,
            sent: false,
        };
        self.queued_bytes += q.size();
        self.queue.push_back(q);
        // Over the cap, the oldest packets already written to a stream make room; if the
        // client has not even been sent what is here, it cannot keep up.
        while self.queued_bytes > self.cap {
            match self.queue.front() {
                Some(front) if front.sent => {
                    if let Some(q) = self.queue.pop_front() {
                        self.queued_bytes -= q.size();
                        self.dropped_through = q.pid;
                    }
                }
                _ => return Err(Overflow),
            }
        }
        Ok(())
    }

    /// Queues a frame for the client.
    pub fn push_frame(&mut self, frame: &SharedFrame) -> Result<(), Overflow> {
        if self.closed {
            return Ok(());
        }
        self.next_rid += 1;
        let rid = self.next_rid;
        self.push(Item::Frame {
            rid,
            frame: frame.clone(),
        })
    }

    /// Queues the null packet that ends the session (once).
    pub fn push_null(&mut self) {
        if !self.closed {
            self.closed = true;
            // The cap does not hold the end back: it is the last packet there will be.
            self.next_pid += 1;
            let q = Queued {
                pid: self.next_pid,
                item: Item::Null,
                sent: false,
            };
            self.queued_bytes += q.size();
            self.queue.push_back(q);
        }
    }

    /// Takes the client's packets: duplicates (ids already taken) are skipped, data is
    /// joined into RTJP lines.
    pub fn receive(&mut self, packets: Vec<ClientPacket>) -> Result<Received, LineTooLong> {
        let mut out = Received::default();
        for p in packets {
            if p.id <= self.last_client_packet {
                continue;
            }
            self.last_client_packet = p.id;
            let Some(data) = p.data else {
                out.closing = true;
                break;
            };
            self.lines.extend_from_slice(&data);
            let mut at = 0;
            while let Some((line, used)) =
                split_line(&self.lines[at..], self.max_line).map_err(|_| LineTooLong)?
            {
                out.lines.push(line.to_vec());
                at += used;
            }
            self.lines.drain(..at);
            if self.lines.len() > self.max_line {
                return Err(LineTooLong);
            }
        }
        if self.lines.is_empty() {
            self.lines = Vec::new();
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtjp::OutFrame;
    use serde_json::Map;

    fn session(cap: usize) -> Session {
        Session::new("k".into(), ConnId(1), CspVars::default(), cap, 1024)
    }

    fn data(id: u64, text: &str) -> ClientPacket {
        ClientPacket {
            id,
            data: Some(text.as_bytes().to_vec()),
        }
    }

    #[test]
    fn acks_drop_delivered_packets_and_resends_keep_them() {
        let mut s = session(1 << 20);
        let f = OutFrame::new("A", &Map::new());
        for _ in 0..3 {
            s.push_frame(&f).unwrap();
        }
        let ids: Vec<u64> = s.packets().map(|q| q.pid).collect();
        assert_eq!(ids, [1, 2, 3]);
        s.ack(1).unwrap();
        assert_eq!(s.packets().map(|q| q.pid).collect::<Vec<_>>(), [2, 3]);
        // An old ack again (a retried comet) changes nothing.
        s.ack(1).unwrap();
        assert_eq!(s.packets().count(), 2);
        s.ack(99).unwrap();
        assert!(s.is_empty());
        s.push_null();
        s.push_null();
        assert_eq!(s.packets().map(|q| q.pid).collect::<Vec<_>>(), [4]);
        s.push_frame(&f).unwrap();
        assert_eq!(s.packets().count(), 1, "nothing after the end");
    }

    #[test]
    fn duplicates_are_applied_once_and_lines_join_across_packets() {
        let mut s = session(1 << 20);
        let r = s
            .receive(vec![
                data(1, "[1, \"A\", {}]\r\n[2, \"B"),
                data(2, "\", {}]\r\n"),
            ])
            .unwrap();
        assert_eq!(
            r.lines,
            vec![b"[1, \"A\", {}]".to_vec(), b"[2, \"B\", {}]".to_vec()]
        );
        let again = s.receive(vec![data(1, "x\r\n"), data(2, "y\r\n")]).unwrap();
        assert_eq!(again, Received::default());
        let r = s
            .receive(vec![data(3, "z\r\n"), ClientPacket { id: 4, data: None }])
            .unwrap();
        assert_eq!((r.lines.len(), r.closing), (1, true));
        let mut s = session(1 << 20);
        assert_eq!(
            s.receive(vec![data(1, &"x".repeat(2000))]),
            Err(LineTooLong)
        );
    }

    #[test]
    fn the_cap_drops_sent_packets_first_then_refuses() {
        let f = OutFrame::new("A", &Map::new());
        let each = f.tail().len() + 48;
        let mut s = session(each * 3);
        for _ in 0..3 {
            s.push_frame(&f).unwrap();
        }
        assert_eq!(s.push_frame(&f), Err(Overflow));
        let mut s = session(each * 3);
        for _ in 0..3 {
            s.push_frame(&f).unwrap();
        }
        s.mark_sent();
        s.push_frame(&f).unwrap();
        assert_eq!(s.packets().map(|q| q.pid).collect::<Vec<_>>(), [2, 3, 4]);
        assert_eq!(s.ack(0), Err(Gap));
        assert_eq!(s.ack(1), Ok(()));
        assert!(s.has_unsent());
    }
}
