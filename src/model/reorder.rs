//! Closes that arrive before their connection's `open`.
//!
//! Events may arrive up to 1 s out of order (feed-protocol.md), so a connection that lived less
//! than that can have its `close` first. Such a close is counted at once (codes, rates) and
//! kept for 1 s of event time; an `open` of that connection, no later than the close, then ends
//! it instead of leaving a connection open forever. Memory: the closes of one second at most.

use super::conns::ServerId;
use crate::event::{Close, SECOND, Str, Ts};
use std::collections::{BTreeMap, HashMap};

/// How far out of order events may be.
pub const REORDER: i64 = SECOND;

#[derive(Clone, Debug, Default)]
pub struct EarlyCloses {
    by_conn: HashMap<(ServerId, Str), (Ts, Close)>,
    /// By time (then arrival), for expiry: one close far in the future must not hold back
    /// the expiry of those after it, as it would in arrival order.
    by_time: BTreeMap<(Ts, u64), (ServerId, Str)>,
    arrivals: u64,
}

impl EarlyCloses {
    /// A close at `ts` for a connection not open in the model.
    pub fn remember(&mut self, server: ServerId, ts: Ts, close: &Close) {
        let key = (server, close.conn.clone());
        self.by_conn.insert(key, (ts, close.clone()));
        self.arrivals += 1;
        self.by_time
            .insert((ts, self.arrivals), (server, close.conn.clone()));
    }

    /// Forgets closes more than [`REORDER`] before `now`.
    pub fn expire(&mut self, now: Ts) {
        let oldest = now.0.saturating_sub(REORDER);
        while let Some(entry) = self.by_time.first_entry() {
            let ts = entry.key().0;
            if ts.0 >= oldest {
                break;
            }
            let (server, conn) = entry.remove();
            let key = (server, conn);
            if self.by_conn.get(&key).is_some_and(|(t, _)| *t == ts) {
                self.by_conn.remove(&key);
            }
        }
    }

    /// The early close of `conn`, opened at `opened`, if there is one no earlier than that.
    pub fn take(&mut self, server: ServerId, conn: &str, opened: Ts) -> Option<(Ts, Close)> {
        let key = (server, Str::from(conn));
        match self.by_conn.get(&key) {
            Some((ts, _)) if *ts >= opened => self.by_conn.remove(&key),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(conn: &str) -> Close {
        Close {
            conn: conn.into(),
            code: Some(1000),
            reason: None,
            initiator: None,
        }
    }

    #[test]
    fn matches_within_a_second_then_forgets() {
        let mut e = EarlyCloses::default();
        let t = Ts(100 * SECOND);
        e.remember(0, t, &close("a"));
        e.remember(0, t, &close("b"));
        assert!(e.take(1, "a", t).is_none(), "another server's conn");
        assert!(
            e.take(0, "a", t.plus_secs(0.1)).is_none(),
            "opened after the close"
        );
        assert_eq!(e.take(0, "a", t.plus_secs(-0.5)).map(|c| c.0), Some(t));
        assert!(e.take(0, "a", t.plus_secs(-0.5)).is_none(), "taken once");
        e.expire(t.plus_secs(1.5));
        assert!(e.take(0, "b", t.plus_secs(-0.5)).is_none(), "expired");
        assert!(e.by_conn.is_empty() && e.by_time.is_empty());
    }

    /// A close hours ahead (a wrong clock the guard lets through) then many ordinary ones:
    /// the ordinary ones still expire, memory stays at what the last second holds.
    #[test]
    fn a_close_far_ahead_does_not_hold_back_expiry() {
        let mut e = EarlyCloses::default();
        let t = Ts(100 * SECOND);
        e.remember(0, t.plus_secs(6.0 * 3600.0), &close("ahead"));
        for i in 0..10_000 {
            let ts = t.plus_secs(i as f64 * 0.01);
            e.remember(0, ts, &close(&format!("c{i}")));
            e.expire(ts);
        }
        assert!(e.by_time.len() <= 102, "{}", e.by_time.len());
        assert!(e.by_conn.len() <= 102, "{}", e.by_conn.len());
    }
}
