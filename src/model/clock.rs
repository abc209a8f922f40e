//! Timestamps that contradict their neighbours: one line dated 1970 or 2200 in a healthy
//! log, or a day ahead in the middle of it. Let through, such a line moves "now", starts the
//! rate buckets decades early, and makes false findings. Each source's events pass a guard:
//!
//! - an event within [`CLOCK_JUMP`] of the source's clock (the latest time let through) goes
//!   on at once: nearly every event, with no copy;
//! - one that jumps further is held (copied), at most two at a time, until a neighbour
//!   decides: a next event that agrees with the clock sets the held ones aside as outliers; one
//!   that agrees with a held event confirms a real jump (a clock fixed, a day's gap), and both
//!   go on;
//! - a source's first event is held until a second agrees with it, so a first line from 1970
//!   cannot start the log's span;
//! - at the end of a log ([`ClockGuard::finish`]) held events are outliers, unless the clock
//!   was never confirmed (a log of one event, say), when they go on in order.
//!
//! Set-aside events are counted (`feed-incomplete` shows them) and change nothing else. A
//! jump under [`CLOCK_JUMP`] is not judged: a quiet night between two events is no outlier.

use crate::event::{Event, SECOND, Ts};

/// A gap between an event and its source's clock beyond which the event needs a neighbour
/// to agree. Far beyond the protocol's 1 s reordering window and the quiet hours of a log.
pub const CLOCK_JUMP: i64 = 12 * 3600 * SECOND;

/// Held events at most, per source.
const HELD_MAX: usize = 2;

#[derive(Clone, Debug, Default)]
pub struct ClockGuard {
    /// The latest time let through; `None` until two events agreed.
    clock: Option<Ts>,
    held: Vec<Event>,
}

/// What to do with an event and those held before it.
#[derive(Debug, Default, PartialEq)]
pub struct Admission {
    /// Held events found to be outliers.
    pub set_aside: u64,
    /// Held events to apply now, in order, before the event itself.
    pub release: Vec<Event>,
    /// Whether the event itself is applied now (else it is held).
    pub apply: bool,
}

fn agree(a: Ts, b: Ts) -> bool {
    a.0.abs_diff(b.0) <= CLOCK_JUMP as u64
}

impl ClockGuard {
    pub fn admit(&mut self, ev: &Event) -> Admission {
        if let Some(clock) = self.clock
            && agree(ev.ts, clock)
        {
            self.clock = Some(clock.max(ev.ts));
            let set_aside = std::mem::take(&mut self.held).len() as u64;
            return Admission {
                set_aside,
                release: Vec::new(),
                apply: true,
            };
        }
        if let Some(i) = self.held.iter().position(|h| agree(h.ts, ev.ts)) {
            let confirmed = self.held.remove(i);
            let set_aside = std::mem::take(&mut self.held).len() as u64;
            self.clock = Some(confirmed.ts.max(ev.ts));
            return Admission {
                set_aside,
                release: vec![confirmed],
                apply: true,
            };
        }
        self.held.push(ev.clone());
        let mut set_aside = 0;
        if self.held.len() > HELD_MAX {
            self.held.remove(0);
            set_aside = 1;
        }
        Admission {
            set_aside,
            release: Vec::new(),
            apply: false,
        }
    }

    /// The end of the source: what is still held.
    pub fn finish(&mut self) -> Admission {
        let held = std::mem::take(&mut self.held);
        if self.clock.is_some() {
            Admission {
                set_aside: held.len() as u64,
                ..Admission::default()
            }
        } else {
            if let Some(last) = held.iter().map(|e| e.ts).max() {
                self.clock = Some(last);
            }
            Admission {
                release: held,
                ..Admission::default()
            }
        }
    }

    /// Events waiting for a neighbour to judge them.
    pub fn held(&self) -> usize {
        self.held.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::EventKind;

    const HOUR: i64 = 3600 * SECOND;
    const T: i64 = 1_796_000_400 * SECOND;

    fn ev(ts: i64) -> Event {
        Event::new(Ts(ts), EventKind::Ping { conn: "c".into() })
    }

    /// Feeds times through a guard; returns the times applied and the count set aside.
    fn run(times: &[i64]) -> (Vec<i64>, u64) {
        let mut g = ClockGuard::default();
        let (mut applied, mut aside) = (Vec::new(), 0);
        let mut take = |a: Admission, current: Option<i64>| {
            aside += a.set_aside;
            applied.extend(a.release.iter().map(|e| e.ts.0));
            if a.apply {
                applied.extend(current);
            }
        };
        for &t in times {
            let a = g.admit(&ev(t));
            take(a, Some(t));
        }
        take(g.finish(), None);
        (applied, aside)
    }

    #[test]
    fn ordinary_times_pass_in_order() {
        let times: Vec<i64> = (0..10).map(|i| T + i * SECOND).collect();
        assert_eq!(run(&times), (times.clone(), 0));
        // Hours of quiet and slight reordering are no outliers.
        let times = [
            T,
            T + SECOND,
            T + 11 * HOUR,
            T + 11 * HOUR - SECOND,
            T + 20 * HOUR,
        ];
        assert_eq!(run(&times), (times.to_vec(), 0));
    }

    #[test]
    fn a_stray_time_anywhere_is_set_aside() {
        let stray = [0, T + 24 * HOUR, 7_258_118_400 * SECOND];
        for s in stray {
            for at in 0..5 {
                let mut times: Vec<i64> = (0..4).map(|i| T + i * SECOND).collect();
                times.insert(at, s);
                let expected: Vec<i64> = (0..4).map(|i| T + i * SECOND).collect();
                assert_eq!(run(&times), (expected, 1), "stray {s} at {at}");
            }
        }
    }

    #[test]
    fn a_jump_two_events_agree_on_is_real() {
        let times = [
            T,
            T + SECOND,
            T + 48 * HOUR,
            T + 48 * HOUR + SECOND,
            T + 49 * HOUR,
        ];
        assert_eq!(run(&times), (times.to_vec(), 0));
    }

    #[test]
    fn a_lone_event_goes_on() {
        assert_eq!(run(&[T]), (vec![T], 0));
        assert_eq!(run(&[0, T]), (vec![0, T], 0));
    }
}
