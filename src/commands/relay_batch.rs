//! The relay's `message` batching: one event per connection and direction at most every
//! half second, whatever the source reported.

use crate::event::{Event, EventKind, Str};
use std::collections::HashMap;
use std::time::Duration;

/// `message` events held to be sent as one per connection and direction, as the tap does: a
/// source that reports every message (a third-party emitter's log) would otherwise publish
/// each. A held count goes out every [`MessageBatcher::EVERY`], and before any other event
/// of its connection, so nothing of the connection is seen out of order.
#[derive(Default)]
pub(super) struct MessageBatcher {
    /// By (server, connection, direction): the sum so far, as an event.
    held: HashMap<(Str, Str, crate::event::Dir), Event>,
}

impl MessageBatcher {
    pub(super) const EVERY: Duration = Duration::from_millis(500);

    /// Holds `ev` if it is a `message` (adding it to what its connection has held).
    pub(super) fn hold(&mut self, server: &Str, ev: &Event) -> bool {
        let EventKind::Message(m) = &ev.kind else {
            return false;
        };
        let key = (server.clone(), m.conn.clone(), m.dir);
        match self.held.get_mut(&key) {
            Some(held) => {
                if let EventKind::Message(h) = &mut held.kind {
                    h.count += m.count;
                    h.bytes += m.bytes;
                }
                held.ts = held.ts.max(ev.ts);
            }
            None => {
                self.held.insert(key, ev.clone());
            }
        }
        true
    }

    /// What was held for the connection of `ev`, which is not a message, so it goes out
    /// first.
    pub(super) fn take(&mut self, ev: &Event) -> Vec<Event> {
        if matches!(ev.kind, EventKind::Message(_)) || self.held.is_empty() {
            return Vec::new();
        }
        let (Some(conn), Some(server)) = (ev.kind.conn(), &ev.server) else {
            return Vec::new();
        };
        let mut out: Vec<Event> = [crate::event::Dir::In, crate::event::Dir::Out]
            .into_iter()
            .filter_map(|dir| self.held.remove(&(server.clone(), Str::from(conn), dir)))
            .collect();
        out.sort_by_key(|e| e.ts);
        out
    }

    /// Everything held, oldest first.
    pub(super) fn drain(&mut self) -> Vec<(Str, Event)> {
        let mut out: Vec<(Str, Event)> = self
            .held
            .drain()
            .map(|((server, _, _), ev)| (server, ev))
            .collect();
        out.sort_by_key(|(_, ev)| ev.ts);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Dir, Message};

    fn message(conn: &str, dir: Dir, secs: f64) -> Event {
        let mut ev = Event::new(
            crate::scenario::START.plus_secs(secs),
            EventKind::Message(Message {
                conn: conn.into(),
                dir,
                count: 1,
                bytes: 10,
            }),
        );
        ev.server = Some("edge-1".into());
        ev
    }

    #[test]
    fn messages_are_held_as_one_per_connection_and_go_out_before_its_next_event() {
        let mut b = MessageBatcher::default();
        let server: Str = "edge-1".into();
        for k in 0..5 {
            assert!(b.hold(&server, &message("c1", Dir::In, k as f64)));
        }
        assert!(b.hold(&server, &message("c1", Dir::Out, 1.5)));
        assert!(b.hold(&server, &message("c2", Dir::In, 2.0)));
        let mut close = Event::new(
            crate::scenario::START.plus_secs(6.0),
            EventKind::Ping { conn: "c1".into() },
        );
        close.server = Some(server.clone());
        assert!(!b.hold(&server, &close));
        let before = b.take(&close);
        let sums: Vec<(Dir, u64, u64)> = before
            .iter()
            .map(|e| match &e.kind {
                EventKind::Message(m) => (m.dir, m.count, m.bytes),
                _ => unreachable!(),
            })
            .collect();
        assert_eq!(sums, [(Dir::Out, 1, 10), (Dir::In, 5, 50)]);
        assert_eq!(before[1].ts, crate::scenario::START.plus_secs(4.0));
        // c2's stays until the tick.
        let rest = b.drain();
        assert_eq!(rest.len(), 1);
        assert!(b.drain().is_empty());
    }
}
