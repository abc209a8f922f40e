//! The recent past, for a subscriber that attaches after an incident began: the events of
//! the last minutes (bounded by age and size) and what was open when they start, so that
//! the history is a valid feed on its own (feed-protocol extensions, "History").

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;
use wscope_protocol::state::FeedState;
use wscope_protocol::{Event, EventKind, Ts};

/// How much of the past a tap keeps for new subscribers: events no older than `max_age`
/// and at most `max_bytes` of them as serialised (estimated), whichever is less.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HistoryLimits {
    pub(crate) max_age: Duration,
    pub(crate) max_bytes: usize,
}

impl Default for HistoryLimits {
    /// The last 10 minutes, at most 64 MiB.
    fn default() -> HistoryLimits {
        HistoryLimits {
            max_age: Duration::from_secs(600),
            max_bytes: 64 << 20,
        }
    }
}

impl HistoryLimits {
    pub fn new(max_age: Duration, max_bytes: usize) -> HistoryLimits {
        HistoryLimits { max_age, max_bytes }
    }
}

/// The kept events, shared with the subscribers replaying them.
pub(crate) struct History {
    limits: HistoryLimits,
    events: VecDeque<(Arc<Event>, usize)>,
    bytes: usize,
    /// What was open just before the first kept event.
    base: FeedState,
    /// When `base` holds: the time of the latest event given up.
    base_ts: Option<Ts>,
}

/// What a new subscriber is sent before the present.
pub(crate) struct Past {
    pub(crate) from: Ts,
    pub(crate) base: FeedState,
    pub(crate) events: Vec<Arc<Event>>,
}

impl History {
    pub(crate) fn new(limits: HistoryLimits) -> History {
        History {
            limits,
            events: VecDeque::new(),
            bytes: 0,
            base: FeedState::default(),
            base_ts: None,
        }
    }

    /// Keeps an emitted event, giving up the oldest past either limit.
    pub(crate) fn push(&mut self, ev: &Event) {
        let size = estimated_size(ev);
        self.events.push_back((Arc::new(ev.clone()), size));
        self.bytes += size;
        self.trim(ev.ts);
    }

    /// Gives up what is older than `max_age` before `now` or beyond `max_bytes`.
    pub(crate) fn trim(&mut self, now: Ts) {
        let max_age = self.limits.max_age.as_nanos().min(i64::MAX as u128) as i64;
        while let Some((front, size)) = self.events.front() {
            let too_old = now.0.saturating_sub(front.ts.0) > max_age;
            if !too_old && self.bytes <= self.limits.max_bytes {
                break;
            }
            self.bytes -= size;
            self.base.apply(front.ts, &front.kind);
            self.base_ts = Some(front.ts);
            self.events.pop_front();
        }
    }

    /// The history as of `now`, or only what came after `since` (a viewer reconnecting
    /// after it heard that event); `None` when it holds nothing.
    pub(crate) fn past(&mut self, now: Ts, since: Option<Ts>) -> Option<Past> {
        self.trim(now);
        let first = self.events.front()?.0.ts;
        let mut base = self.base.clone();
        let mut from = self.base_ts.map_or(first, |b| b.min(first));
        let mut events = Vec::with_capacity(self.events.len());
        for (ev, _) in &self.events {
            match since {
                // Already heard: part of the state the history starts from.
                Some(since) if ev.ts <= since => {
                    base.apply(ev.ts, &ev.kind);
                    from = from.max(ev.ts);
                }
                _ => events.push(ev.clone()),
            }
        }
        if let Some(since) = since {
            from = from.max(since);
        }
        Some(Past { from, base, events })
    }

    #[cfg(test)]
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }
}

/// An event's length as a JSON line, near enough: its fixed fields and its strings.
fn estimated_size(ev: &Event) -> usize {
    let strings = match &ev.kind {
        EventKind::Open(o) => {
            let s = |v: &Option<wscope_protocol::Str>| v.as_ref().map_or(0, |s| s.len() + 12);
            o.conn.len()
                + s(&o.remote)
                + s(&o.user_agent)
                + s(&o.path)
                + s(&o.forwarded_for)
                + s(&o.client)
                + s(&o.subprotocol)
        }
        EventKind::Close(c) => c.conn.len() + c.reason.as_ref().map_or(0, |r| r.len()) + 40,
        EventKind::Error { message, .. } => message.len() + 16,
        EventKind::UpgradeRejected(r) => {
            let s = |v: &Option<wscope_protocol::Str>| v.as_ref().map_or(0, |s| s.len() + 12);
            s(&r.remote) + s(&r.user_agent) + s(&r.path) + s(&r.reason) + 16
        }
        EventKind::Snapshot(_) => 1024,
        _ => 48,
    };
    64 + ev.server.as_ref().map_or(0, |s| s.len() + 12) + strings
}

#[cfg(test)]
mod tests {
    use super::*;
    use wscope_protocol::{Close, Initiator, Open};

    fn at(secs: i64, kind: EventKind) -> Event {
        Event::new(Ts(1_700_000_000_000_000_000 + secs * 1_000_000_000), kind)
    }

    fn open(conn: &str) -> EventKind {
        EventKind::Open(Box::new(Open {
            conn: conn.into(),
            ..Open::default()
        }))
    }

    fn close(conn: &str) -> EventKind {
        EventKind::Close(Close {
            conn: conn.into(),
            code: Some(1006),
            reason: None,
            initiator: Some(Initiator::None),
        })
    }

    #[test]
    fn what_ages_out_moves_into_the_state_the_history_starts_from() {
        let mut h = History::new(HistoryLimits::new(Duration::from_secs(60), 1 << 20));
        h.push(&at(0, open("a")));
        h.push(&at(1, open("b")));
        h.push(&at(50, close("a")));
        h.push(&at(70, open("c")));
        let past = h.past(at(75, open("x")).ts, None).unwrap();
        // a and b opened more than 60 s before: given up, both open when it starts (a's
        // close is in it).
        let mut open_at_start: Vec<&str> = past.base.conns.keys().map(|k| k.as_str()).collect();
        open_at_start.sort();
        assert_eq!(open_at_start, ["a", "b"]);
        assert_eq!(past.events.len(), 2);
        assert!(past.from <= past.events[0].ts);
        // Everything older than a minute: nothing kept, nothing to send.
        // Only what came after 60 s: a's close is in the state it starts from.
        let later = h
            .past(at(75, open("x")).ts, Some(at(60, open("x")).ts))
            .unwrap();
        assert_eq!(later.events.len(), 1);
        assert_eq!(later.base.conns.len(), 1);
        assert_eq!(later.from, at(60, open("x")).ts);
        assert!(h.past(at(200, open("x")).ts, None).is_none());
    }

    #[test]
    fn the_size_limit_gives_up_the_oldest_first() {
        let mut h = History::new(HistoryLimits::new(Duration::from_secs(3600), 2000));
        for i in 0..1000 {
            h.push(&at(i, open(&format!("c{i}"))));
            assert!(h.bytes() <= 2000);
        }
        let past = h.past(at(1000, open("x")).ts, None).unwrap();
        assert!(past.events.len() < 30, "{}", past.events.len());
        // Every connection given up is still open at the history's start.
        assert_eq!(past.base.conns.len() + past.events.len(), 1000);
    }
}
