//! Recent events, kept by the dashboard (not the model) for a connection's detail view.
//!
//! A ring of the latest events of all connections gives the history when a detail view opens;
//! while it is open, that connection's events also go into its own ring, so a quiet connection
//! keeps its history even when busy ones push it out of the shared ring. Both are bounded.

use crate::event::{Event, Str};
use crate::model::ServerId;
use std::collections::VecDeque;

pub const SHARED_CAPACITY: usize = 20_000;
pub const WATCHED_CAPACITY: usize = 500;

#[derive(Debug, Default)]
pub struct RecentEvents {
    shared: VecDeque<(ServerId, Event)>,
    watched: Option<(ServerId, Str, VecDeque<Event>)>,
}

impl RecentEvents {
    pub fn new() -> RecentEvents {
        RecentEvents::default()
    }

    /// `server` is the event's server as the model resolved it.
    pub fn push(&mut self, server: ServerId, event: &Event) {
        if event.kind.conn().is_none() {
            return;
        }
        if let Some((s, conn, ring)) = self.watched.as_mut()
            && *s == server
            && event.kind.conn() == Some(conn.as_str())
        {
            if ring.len() == WATCHED_CAPACITY {
                ring.pop_front();
            }
            ring.push_back(event.clone());
        }
        if self.shared.len() == SHARED_CAPACITY {
            self.shared.pop_front();
        }
        self.shared.push_back((server, event.clone()));
    }

    /// Starts following one connection, seeded from the shared ring. Called from input
    /// handling when a detail view opens.
    pub fn watch(&mut self, server: ServerId, conn: &str) {
        if matches!(&self.watched, Some((s, c, _)) if *s == server && c == conn) {
            return;
        }
        let mut ring: VecDeque<Event> = self
            .shared
            .iter()
            .filter(|(s, e)| *s == server && e.kind.conn() == Some(conn))
            .map(|(_, e)| e.clone())
            .collect();
        while ring.len() > WATCHED_CAPACITY {
            ring.pop_front();
        }
        self.watched = Some((server, conn.into(), ring));
    }

    pub fn unwatch(&mut self) {
        self.watched = None;
    }

    /// The watched connection's events, oldest first.
    pub fn watched(&self) -> impl DoubleEndedIterator<Item = &Event> {
        self.watched.iter().flat_map(|(_, _, ring)| ring.iter())
    }

    pub fn clear(&mut self) {
        self.shared.clear();
        if let Some((_, _, ring)) = self.watched.as_mut() {
            ring.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{EventKind, Ts};

    fn ping(conn: &str, s: i64) -> Event {
        Event::new(Ts(s), EventKind::Ping { conn: conn.into() })
    }

    #[test]
    fn watched_connection_keeps_history_beyond_the_shared_ring() {
        let mut r = RecentEvents::new();
        r.push(0, &ping("a", 1));
        r.push(1, &ping("a", 2));
        r.watch(0, "a");
        assert_eq!(r.watched().count(), 1);
        for i in 0..(SHARED_CAPACITY as i64 + 10) {
            r.push(0, &ping("b", i));
        }
        r.push(0, &ping("a", 3));
        let ts: Vec<i64> = r.watched().map(|e| e.ts.0).collect();
        assert_eq!(ts, vec![1, 3]);
        assert!(r.shared.len() <= SHARED_CAPACITY);
    }
}
