//! Per-connection timers and their lifecycle: which outlive their socket (leak suspects).

use super::conns::ServerId;
use super::interner::Sym;
use crate::event::{Str, Ts};
use std::collections::HashMap;

/// How many leaked timers are remembered by id (for the panel and the evidence); beyond this
/// they are only counted, so a server that leaks forever cannot grow our memory forever.
const MAX_REMEMBERED_LEAKS: usize = 10_000;
/// Live timers beyond which leaked ones (judged, past their grace) are forgotten and only
/// counted; the next sweep waits until the table has doubled, so sweeps cost O(1) amortised.
const SWEEP_LIVE_AT: usize = 200_000;

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
    /// max(interval, `min_grace`) (findings.md: max(interval, 5 s)).
    pub fn grace(&self, min_grace: i64) -> i64 {
        i64::try_from(self.interval_ms.unwrap_or(0))
            .unwrap_or(i64::MAX)
            .saturating_mul(1_000_000)
            .max(min_grace)
    }

    pub fn conn_closed(&self) -> Option<Ts> {
        (self.conn_closed != Ts::MIN).then_some(self.conn_closed)
    }

    /// A leak suspect at `now`: fired after its connection closed, or still running past the grace.
    pub fn is_leak(&self, now: Ts, min_grace: i64) -> bool {
        self.conn_closed().is_some_and(|closed| {
            self.fires_after_close > 0 || now.0 >= closed.0.saturating_add(self.grace(min_grace))
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
    /// Live timers at which the next sweep of leaks happens (0: [`SWEEP_LIVE_AT`]).
    next_sweep: usize,
    /// The shortest grace after a close, in nanoseconds (see [`TimerState::grace`]).
    pub min_grace: i64,
}

impl Timers {
    pub fn with_min_grace(min_grace: i64) -> Timers {
        Timers {
            min_grace,
            ..Timers::default()
        }
    }

    /// Starts (or restarts) a timer; false when that id was already running.
    pub fn start(&mut self, mut t: TimerState) -> bool {
        let key = (t.server, t.id.clone());
        let fresh = !self.live.contains_key(&key);
        if let Some(old) = self.live.get(&key)
            && old.conn_closed != Ts::MIN
            && old.conn == t.conn
        {
            // Re-armed after its connection closed (a setTimeout chain): the same leak runs on.
            t.conn_closed = old.conn_closed;
            t.fires_after_close = old.fires_after_close;
            self.live.remove(&key);
            if let Some(conn) = &t.conn
                && let Some(ids) = self.by_conn.get_mut(&(t.server, conn.clone()))
            {
                ids.retain(|x| *x != t.id);
            }
        } else if !fresh {
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
        if t.is_leak(now, self.min_grace) {
            self.note_past_leak(&t);
        }
        Some(t)
    }

    fn note_past_leak(&mut self, t: &TimerState) {
        self.past_leaks_total += 1;
        if self.past_leaks.len() < MAX_REMEMBERED_LEAKS {
            self.past_leaks.push(PastLeak {
                id: t.id.clone(),
                kind: t.kind,
            });
        }
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
        if self.live.len() >= self.next_sweep.max(SWEEP_LIVE_AT) {
            self.forget_leaks(at);
        }
    }

    /// A server that leaks a timer per connection must not grow our memory per connection:
    /// timers already judged leaks at `now` become counted past leaks. A later fire or clear
    /// of one is then an unknown timer (a contradiction).
    fn forget_leaks(&mut self, now: Ts) {
        let mut leaked: Vec<TimerState> = Vec::new();
        self.live.retain(|_, t| {
            let leak = t.is_leak(now, self.min_grace);
            if leak {
                leaked.push(t.clone());
            }
            !leak
        });
        leaked.sort_by(|a, b| a.conn_closed.cmp(&b.conn_closed).then(a.id.cmp(&b.id)));
        for t in &leaked {
            if let Some(conn) = &t.conn {
                let key = (t.server, conn.clone());
                if let Some(ids) = self.by_conn.get_mut(&key) {
                    ids.retain(|x| *x != t.id);
                    if ids.is_empty() {
                        self.by_conn.remove(&key);
                    }
                }
            }
            self.note_past_leak(t);
        }
        self.next_sweep = 2 * self.live.len();
    }

    /// A snapshot replaces what was known of `server`: returns its timers whose connection
    /// had closed, for [`Timers::resync_closed`].
    pub fn remove_server(&mut self, server: ServerId) -> HashMap<Str, TimerState> {
        let mut closed = HashMap::new();
        self.live.retain(|(s, id), t| {
            if *s != server {
                return true;
            }
            if t.conn_closed != Ts::MIN {
                closed.insert(id.clone(), t.clone());
            }
            false
        });
        self.by_conn.retain(|(s, _), _| *s != server);
        closed
    }

    /// After a snapshot of `server` at `at`: its timer `id` runs for a connection the snapshot
    /// does not list, so that connection is closed. It keeps what was known of it before the
    /// snapshot (`before`, from [`Timers::remove_server`]), else counts as closed at `at`.
    pub fn resync_closed(
        &mut self,
        server: ServerId,
        id: &str,
        at: Ts,
        before: &mut HashMap<Str, TimerState>,
    ) {
        let prev = before.remove(id);
        if let Some(t) = self.live.get_mut(&(server, Str::from(id))) {
            match prev {
                Some(p) => {
                    t.conn_closed = p.conn_closed;
                    t.fires_after_close = p.fires_after_close;
                }
                None => t.conn_closed = at,
            }
        }
    }

    /// Timers of closed connections that a snapshot no longer lists: they were cleared while
    /// we were not looking; those that had already leaked when last seen, at `at`, are
    /// remembered as past leaks.
    pub fn resync_gone(&mut self, before: HashMap<Str, TimerState>, at: Ts) {
        let mut gone: Vec<TimerState> = before
            .into_values()
            .filter(|t| t.is_leak(at, self.min_grace))
            .collect();
        gone.sort_by(|a, b| a.id.cmp(&b.id));
        for t in &gone {
            self.note_past_leak(t);
        }
    }

    /// Timers running for `conn` (started before its `open` arrived, when events are reordered).
    pub fn running_for(&self, server: ServerId, conn: &str) -> usize {
        self.by_conn
            .get(&(server, Str::from(conn)))
            .map_or(0, Vec::len)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::SECOND;

    #[test]
    fn leaks_of_a_server_leaking_forever_are_counted_not_kept() {
        let mut timers = Timers::with_min_grace(5 * SECOND);
        let total = 3 * SWEEP_LIVE_AT as u64;
        for i in 0..total {
            let t = Ts(i as i64 * SECOND / 100);
            let id = Str::from(format!("t{i}"));
            let conn = Str::from(format!("c{i}"));
            timers.start(TimerState {
                id,
                server: 0,
                conn: Some(conn.clone()),
                kind: None,
                interval_ms: None,
                started: t,
                conn_closed: Ts::MIN,
                fires_after_close: 0,
            });
            timers.conn_closed(0, &conn, t);
        }
        assert_eq!(
            timers.len() as u64 + timers.past_leaks_total,
            total,
            "every timer live or counted, once"
        );
        assert!(timers.len() <= SWEEP_LIVE_AT, "{}", timers.len());
        assert!(timers.by_conn.len() <= SWEEP_LIVE_AT);
        assert_eq!(timers.past_leaks.len(), MAX_REMEMBERED_LEAKS);
    }
}
