//! Reconnect history per client identity: who reconnects in a loop, and with what gaps.
//!
//! Only short-lived connections (< 10 s) are remembered, and a client is forgotten once it has
//! been quiet for a while, so memory follows the clients currently misbehaving, not every
//! client ever seen. Clients found looping are kept (up to a cap) for the findings.

use super::params::{Params, nanos};
use crate::event::{SECOND, Ts};
use std::collections::{BTreeMap, HashMap, VecDeque};

/// Quiet clients are dropped from tracking after this long.
const FORGET_AFTER: i64 = 5 * 60 * SECOND;
/// How many open times one client keeps (enough for the gap statistics).
const HISTORY: usize = 64;
const MAX_LOOPING: usize = 10_000;

#[derive(Clone, Debug, Default)]
struct Run {
    /// Open times of the current run of consecutive short-lived connections.
    opens: VecDeque<Ts>,
    last_seen: Ts,
}

/// A client seen reconnecting in a loop.
#[derive(Clone, Debug, PartialEq)]
pub struct LoopingClient {
    pub identity: String,
    /// Short-lived connections opened in its longest run.
    pub opens: u64,
    /// Gaps between successive opens of that run, in seconds (at most 63 kept).
    pub gaps: Vec<f64>,
}

#[derive(Clone, Debug, Default)]
pub struct Clients {
    /// A connection shorter than this (ns) counts toward a loop...
    short_lived: i64,
    /// ...and a loop is this many of them within `loop_window` (ns).
    loop_opens: usize,
    loop_window: i64,
    runs: HashMap<String, Run>,
    looping: BTreeMap<String, LoopingClient>,
    looping_overflow: u64,
    last_sweep: Ts,
}

impl Clients {
    pub fn new(params: &Params) -> Clients {
        Clients {
            short_lived: nanos(params.short_lived_secs),
            loop_opens: params.loop_min_opens.max(1),
            loop_window: nanos(params.loop_window_secs),
            ..Clients::default()
        }
    }

    /// A connection of `identity`, opened at `opened`, closed at `closed`.
    pub fn closed(&mut self, identity: &str, opened: Ts, closed: Ts) {
        if closed.0.saturating_sub(opened.0) >= self.short_lived {
            // A healthy connection ends any run.
            self.runs.remove(identity);
            return;
        }
        let run = self.runs.entry(identity.to_string()).or_default();
        run.last_seen = closed;
        let pos = run.opens.partition_point(|t| *t <= opened);
        run.opens.insert(pos, opened);
        if run.opens.len() > HISTORY {
            run.opens.pop_front();
        }
        let n = run.opens.len();
        let in_window = n >= self.loop_opens && {
            let last = run.opens[n - 1];
            let first = run.opens[n - self.loop_opens];
            last.0.saturating_sub(first.0) <= self.loop_window
        };
        if !in_window {
            return;
        }
        let gaps: Vec<f64> = run
            .opens
            .iter()
            .zip(run.opens.iter().skip(1))
            .map(|(a, b)| b.secs_since(*a))
            .collect();
        let opens = n as u64;
        let room = self.looping.len() < MAX_LOOPING;
        match self.looping.get_mut(identity) {
            Some(l) => {
                if opens >= l.opens {
                    l.opens = opens;
                    l.gaps = gaps;
                }
            }
            None if room => {
                self.looping.insert(
                    identity.to_string(),
                    LoopingClient {
                        identity: identity.to_string(),
                        opens,
                        gaps,
                    },
                );
            }
            None => self.looping_overflow += 1,
        }
    }

    /// Forgets clients quiet for a while; call as event time advances.
    pub fn sweep(&mut self, now: Ts) {
        if now.0.saturating_sub(self.last_sweep.0) < 60 * SECOND {
            return;
        }
        self.last_sweep = now;
        self.runs
            .retain(|_, run| now.0.saturating_sub(run.last_seen.0) < FORGET_AFTER);
    }

    pub fn looping(&self) -> impl Iterator<Item = &LoopingClient> {
        self.looping.values()
    }

    /// Looping clients, including those past the memory cap.
    pub fn looping_count(&self) -> u64 {
        self.looping.len() as u64 + self.looping_overflow
    }

    /// Clients currently tracked (for memory tests).
    pub fn tracked(&self) -> usize {
        self.runs.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_a_loop_and_its_gaps() {
        let mut c = Clients::new(&crate::findings::Rules::default().model_params());
        for i in 0..6 {
            let open = Ts(i * 2 * SECOND);
            c.closed("10.0.0.1 curl", open, open.plus_secs(1.0));
        }
        let l: Vec<_> = c.looping().collect();
        assert_eq!(l.len(), 1);
        assert_eq!(l[0].opens, 6);
        assert_eq!(l[0].gaps, vec![2.0; 5]);
    }

    #[test]
    fn long_connections_break_runs_and_slow_loops_are_not_loops() {
        let mut c = Clients::new(&crate::findings::Rules::default().model_params());
        for i in 0..6 {
            let open = Ts(i * 20 * SECOND);
            c.closed("a", open, open.plus_secs(1.0));
        }
        assert_eq!(c.looping_count(), 0, "5 opens over 80 s is not within 60 s");
        for i in 0..4 {
            let open = Ts(1000 * SECOND + i * SECOND);
            c.closed("b", open, open.plus_secs(0.5));
        }
        c.closed("b", Ts(1005 * SECOND), Ts(1100 * SECOND));
        c.closed("b", Ts(1101 * SECOND), Ts(1101 * SECOND + 1));
        assert_eq!(c.looping_count(), 0);
        c.sweep(Ts(2000 * SECOND));
        assert_eq!(c.tracked(), 0);
    }
}
