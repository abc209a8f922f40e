//! Per-connection timers and their lifecycle: which outlive their socket (leak suspects).

use super::conns::ServerId;
use super::interner::Sym;
use crate::event::{SECOND, Str, Ts};
use std::collections::HashMap;

/// How many leaked timers are remembered by id (for the panel and the evidence); beyond this
/// they are only counted, so a server that leaks forever cannot grow our memory forever.
const MAX_REMEMBERED_LEAKS: usize = 10_000;

#[derive(Clone, Debug)]
pub struct TimerState {
    pub id: Str,
    pub server: ServerId,
    pub conn: Option<Str>,
    pub kind: Option<Sym>,
    pub interval_ms: Option<u64>,
    pub started: Ts,
    /// When its connection closed; `Ts::MIN` while the connection is open (or unknown).
    pub conn_closed: Ts,
    pub fires_after_close: u32,
}

impl TimerState {
    /// How long after its connection closed a timer may still run before it is a leak:
    /// max(interval, 5 s), findings.md.
    pub fn grace(&self) -> i64 {
        (self.interval_ms.unwrap_or(0) as i64 * 1_000_000).max(5 * SECOND)
    }

    pub fn conn_closed(&self) -> Option<Ts> {
        (self.conn_closed != Ts::MIN).then_some(self.conn_closed)
    }

    /// A leak suspect at `now`: fired after its connection closed, or still running past the grace.
    pub fn is_leak(&self, now: Ts) -> bool {
        self.conn_closed().is_some_and(|closed| {
            self.fires_after_close > 0 || now.0 >= closed.0.saturating_add(self.grace())
        })
    }
}

/// A timer that leaked and has since been cleared (or forgotten): kept for the finding.
#[derive(Clone, Debug)]
pub struct PastLeak {
    pub id: Str,
    pub kind: Option<Sym>,
}

#[derive(Clone, Debug, Default)]
pub struct Timers {
    live: HashMap<(ServerId, Str), TimerState>,
    /// Live timers by connection, for marking them when the connection closes.
    by_conn: HashMap<(ServerId, Str), Vec<Str>>,
    /// Timers that leaked and were later cleared.
    pub past_leaks: Vec<PastLeak>,
    pub past_leaks_total: u64,
}

impl Timers {
    /// Starts (or restarts) a timer; false when that id was already running.
    pub fn start(&mut self, t: TimerState) -> bool {
        let key = (t.server, t.id.clone());
        let fresh = !self.live.contains_key(&key);
        if !fresh {
            self.clear(t.server, &t.id, t.started);
        }
        if let Some(conn) = &t.conn {
            self.by_conn
                .entry((t.server, conn.clone()))
                .or_default()
                .push(t.id.clone());
        }
        self.live.insert(key, t);
        fresh
    }

    /// Returns the connection of a timer that fired (or `None` if unknown).
    pub fn fire(&mut self, server: ServerId, id: &str) -> Option<&TimerState> {
        let t = self.live.get_mut(&(server, Str::from(id)))?;
        if t.conn_closed != Ts::MIN {
            t.fires_after_close = t.fires_after_close.saturating_add(1);
        }
        Some(t)
    }

    /// Clears a timer; returns it (with `conn`) if it was known.
    pub fn clear(&mut self, server: ServerId, id: &str, now: Ts) -> Option<TimerState> {
        let t = self.live.remove(&(server, Str::from(id)))?;
        if let Some(conn) = &t.conn {
            let key = (server, conn.clone());
            if let Some(ids) = self.by_conn.get_mut(&key) {
                ids.retain(|x| x != id);
                if ids.is_empty() {
                    self.by_conn.remove(&key);
                }
            }
        }
        if t.is_leak(now) {
            self.past_leaks_total += 1;
            if self.past_leaks.len() < MAX_REMEMBERED_LEAKS {
                self.past_leaks.push(PastLeak {
                    id: t.id.clone(),
                    kind: t.kind,
                });
            }
        }
        Some(t)
    }

    /// The connection closed: its timers start their grace period.
    pub fn conn_closed(&mut self, server: ServerId, conn: &str, at: Ts) {
        if let Some(ids) = self.by_conn.get(&(server, Str::from(conn))) {
            for id in ids {
                if let Some(t) = self.live.get_mut(&(server, id.clone())) {
                    t.conn_closed = at;
                }
            }
        }
    }

    /// A snapshot replaces what was known of `server`.
    pub fn remove_server(&mut self, server: ServerId) {
        self.live.retain(|(s, _), _| *s != server);
        self.by_conn.retain(|(s, _), _| *s != server);
    }

    pub fn live(&self) -> impl Iterator<Item = &TimerState> {
        self.live.values()
    }

    pub fn len(&self) -> usize {
        self.live.len()
    }

    pub fn is_empty(&self) -> bool {
        self.live.is_empty()
    }
}
