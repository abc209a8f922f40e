//! Restarts: bursts of server-initiated 1001 (going away) and 1012 (service restart) closes.
//!
//! Whether one such close belongs to a restart is known only once enough others follow within
//! the window, so each waits here (per server) for its verdict: part of a burst (a deploy, which
//! explains it) or not (an ordinary server close, which may still point at a lifetime cap).
//! What waits is always fewer than the burst size, so memory stays bounded.

use super::conns::ServerId;
use crate::event::Ts;
use std::collections::VecDeque;

/// Restarts remembered one by one; beyond this they are only counted.
const MAX_LISTED: usize = 1_000;

/// One restart: a burst of going-away closes on one server.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Restart {
    pub server: ServerId,
    /// The first close of the burst.
    pub at: Ts,
    pub count: u64,
}

/// What a going-away close turned out to be.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Verdict<S> {
    /// Part of a restart: the deploy explains it.
    Restart(Ts),
    /// Not part of any burst: an ordinary server close, with what was noted of it.
    Ordinary(S),
}

#[derive(Clone, Debug)]
struct ServerBursts<S> {
    waiting: VecDeque<(Ts, S)>,
    /// The restart under way (index into the list, or `None` past its cap) and its last close.
    current: Option<(Option<usize>, Ts)>,
}

impl<S> Default for ServerBursts<S> {
    fn default() -> Self {
        ServerBursts {
            waiting: VecDeque::new(),
            current: None,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Restarts<S> {
    window: i64,
    min_closes: usize,
    per_server: Vec<ServerBursts<S>>,
    listed: Vec<Restart>,
    total: u64,
}

impl<S: Copy> Restarts<S> {
    /// Bursts are `min_closes` going-away closes within `window` nanoseconds.
    pub fn new(window: i64, min_closes: usize) -> Restarts<S> {
        Restarts {
            window,
            min_closes: min_closes.max(1),
            per_server: Vec::new(),
            listed: Vec::new(),
            total: 0,
        }
    }

    /// A going-away close of `server` at `ts`; `verdict` hears of every close whose fate this
    /// decides (this one, or earlier ones now known to be in a burst or out of one).
    pub fn close(
        &mut self,
        server: ServerId,
        ts: Ts,
        sample: S,
        mut verdict: impl FnMut(Verdict<S>),
    ) {
        let i = server as usize;
        if self.per_server.len() <= i {
            self.per_server.resize_with(i + 1, ServerBursts::default);
        }
        let s = &mut self.per_server[i];
        let horizon = ts.0.saturating_sub(self.window);
        while s.waiting.front().is_some_and(|(t, _)| t.0 < horizon) {
            if let Some((_, old)) = s.waiting.pop_front() {
                verdict(Verdict::Ordinary(old));
            }
        }
        if let Some((index, last)) = s.current {
            if ts.0 <= last.0.saturating_add(self.window) {
                s.current = Some((index, last.max(ts)));
                if let Some(r) = index.and_then(|i| self.listed.get_mut(i)) {
                    r.count += 1;
                }
                verdict(Verdict::Restart(ts));
                return;
            }
            s.current = None;
        }
        let pos = s.waiting.partition_point(|(t, _)| *t <= ts);
        s.waiting.insert(pos, (ts, sample));
        if s.waiting.len() < self.min_closes {
            return;
        }
        let at = s.waiting.front().map_or(ts, |(t, _)| *t);
        let last = s.waiting.back().map_or(ts, |(t, _)| *t);
        let count = s.waiting.len() as u64;
        for (t, _) in s.waiting.drain(..) {
            verdict(Verdict::Restart(t));
        }
        self.total += 1;
        let index = (self.listed.len() < MAX_LISTED).then(|| {
            self.listed.push(Restart { server, at, count });
            self.listed.len() - 1
        });
        s.current = Some((index, last));
    }

    /// Going-away closes still waiting for their verdict (too few so far for a burst).
    pub fn waiting(&self) -> impl Iterator<Item = &S> + '_ {
        self.per_server
            .iter()
            .flat_map(|s| s.waiting.iter().map(|(_, sample)| sample))
    }

    /// Every restart, in the order they began (at most [`MAX_LISTED`]).
    pub fn listed(&self) -> &[Restart] {
        &self.listed
    }

    /// How many restarts there were, listed or not.
    pub fn total(&self) -> u64 {
        self.total
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::SECOND;

    fn run(closes: &[(ServerId, i64)]) -> (Restarts<()>, u64, u64) {
        let mut r = Restarts::new(10 * SECOND, 3);
        let (mut restart, mut ordinary) = (0, 0);
        for &(server, secs) in closes {
            r.close(server, Ts(secs * SECOND), (), |v| match v {
                Verdict::Restart(_) => restart += 1,
                Verdict::Ordinary(()) => ordinary += 1,
            });
        }
        (r, restart, ordinary)
    }

    #[test]
    fn a_burst_takes_its_waiting_closes_and_those_that_follow() {
        let (r, restart, ordinary) = run(&[(0, 0), (0, 1), (0, 2), (0, 5), (0, 14), (0, 40)]);
        assert_eq!(r.total(), 1);
        assert_eq!(r.listed()[0].count, 5);
        assert_eq!(r.listed()[0].at, Ts(0));
        assert_eq!((restart, ordinary), (5, 0));
        assert_eq!(r.waiting().count(), 1, "the close at 40 s waits");
    }

    #[test]
    fn two_servers_restarting_are_two_restarts_and_stragglers_are_ordinary() {
        let (r, restart, ordinary) = run(&[
            (0, 0),
            (1, 30),
            (0, 1),
            (1, 31),
            (0, 2),
            (1, 32),
            (2, 50),
            (2, 70),
        ]);
        assert_eq!(r.total(), 2);
        assert_eq!(r.listed()[1].server, 1);
        assert_eq!((restart, ordinary), (6, 1));
    }
}
