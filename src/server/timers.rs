//! Connection deadlines on a min-heap with lazy re-arming.
//!
//! Each connection keeps its own current deadline; the heap holds at most a few entries per
//! connection. Moving a deadline later (the common case: traffic arrived) costs nothing: when
//! the old entry pops, the connection's real deadline is pushed instead. A connection with no
//! deadline has no entry at all.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Milliseconds on the reactor's monotonic clock.
pub type Millis = u64;

/// A connection's deadline state, stored in the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline {
    /// When the connection wants its timer to fire; `None` for never.
    pub at: Option<Millis>,
    /// The earliest heap entry for this connection, if any.
    armed: Option<Millis>,
}

impl Default for Deadline {
    fn default() -> Self {
        Deadline::new()
    }
}

impl Deadline {
    pub const fn new() -> Deadline {
        Deadline {
            at: None,
            armed: None,
        }
    }
}

/// The heap of `(time, slot, generation)` entries.
#[derive(Debug, Default)]
pub struct Timers {
    heap: BinaryHeap<Reverse<(Millis, usize, u64)>>,
}

impl Timers {
    pub fn new() -> Timers {
        Timers::default()
    }

    /// Sets a connection's deadline; pushes an entry only when it is earlier than any armed.
    pub fn set(&mut self, d: &mut Deadline, at: Option<Millis>, slot: usize, generation: u64) {
        d.at = at;
        if let Some(t) = at {
            if d.armed.is_none_or(|a| t < a) {
                self.heap.push(Reverse((t, slot, generation)));
                d.armed = Some(t);
            }
        }
    }

    /// The earliest entry's time, for the poll timeout.
    pub fn next(&self) -> Option<Millis> {
        self.heap.peek().map(|Reverse((t, _, _))| *t)
    }

    /// Pops one entry due at `now`: `(slot, generation)`. The caller looks the connection up,
    /// checks the generation, and calls [`Timers::fired`] with its deadline.
    pub fn pop_due(&mut self, now: Millis) -> Option<(Millis, usize, u64)> {
        match self.heap.peek() {
            Some(Reverse((t, _, _))) if *t <= now => self.heap.pop().map(|Reverse(e)| e),
            _ => None,
        }
    }

    /// Settles a popped entry for `d`: true if the deadline itself is due, else the real
    /// (later) deadline is re-armed.
    pub fn fired(
        &mut self,
        d: &mut Deadline,
        entry_time: Millis,
        now: Millis,
        slot: usize,
        generation: u64,
    ) -> bool {
        if d.armed == Some(entry_time) {
            d.armed = None;
        }
        match d.at {
            Some(t) if t <= now => {
                d.at = None;
                true
            }
            Some(t) => {
                self.set(d, Some(t), slot, generation);
                false
            }
            None => false,
        }
    }

    pub fn len(&self) -> usize {
        self.heap.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_deadlines_push_nothing_until_the_old_entry_pops() {
        let mut t = Timers::new();
        let mut d = Deadline::new();
        t.set(&mut d, Some(100), 3, 7);
        for at in [150, 200, 250] {
            t.set(&mut d, Some(at), 3, 7);
        }
        assert_eq!(t.len(), 1);
        let (time, slot, generation) = t.pop_due(120).unwrap();
        assert_eq!((slot, generation), (3, 7));
        assert!(!t.fired(&mut d, time, 120, slot, generation));
        assert_eq!(t.next(), Some(250));
        assert!(t.pop_due(249).is_none());
        let (time, slot, generation) = t.pop_due(250).unwrap();
        assert!(t.fired(&mut d, time, 250, slot, generation));
        assert!(t.is_empty());
    }

    #[test]
    fn earlier_deadline_pushes_and_cleared_never_fires() {
        let mut t = Timers::new();
        let mut d = Deadline::new();
        t.set(&mut d, Some(100), 0, 0);
        t.set(&mut d, Some(50), 0, 0);
        assert_eq!(t.next(), Some(50));
        t.set(&mut d, None, 0, 0);
        let (time, s, g) = t.pop_due(60).unwrap();
        assert!(!t.fired(&mut d, time, 60, s, g));
        let (time, s, g) = t.pop_due(100).unwrap();
        assert!(!t.fired(&mut d, time, 100, s, g));
        assert!(t.is_empty());
    }
}
