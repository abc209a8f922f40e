//! A count per second of event time over the last minute: a server's closes per minute,
//! without a timer (the model is advanced by events only) and in fixed space.

use crate::event::{SECOND, Ts};

const SECONDS: usize = 60;

#[derive(Clone, Debug)]
pub struct PerSecond {
    /// By second modulo 60: which second it holds, and its count.
    buckets: [(i64, u32); SECONDS],
}

impl Default for PerSecond {
    fn default() -> Self {
        PerSecond {
            buckets: [(i64::MIN, 0); SECONDS],
        }
    }
}

impl PerSecond {
    pub fn record(&mut self, ts: Ts) {
        let sec = ts.0.div_euclid(SECOND);
        let slot = &mut self.buckets[sec.rem_euclid(SECONDS as i64) as usize];
        if slot.0 == sec {
            slot.1 = slot.1.saturating_add(1);
        } else if slot.0 < sec {
            *slot = (sec, 1);
        }
    }

    /// The count over the minute up to `now`.
    pub fn last_minute(&self, now: Ts) -> u64 {
        let now = now.0.div_euclid(SECOND);
        self.buckets
            .iter()
            .filter(|(sec, _)| *sec <= now && *sec > now - SECONDS as i64)
            .map(|(_, n)| *n as u64)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_the_last_minute_only() {
        let mut p = PerSecond::default();
        let at = |s: i64| Ts(s * SECOND);
        for s in [0, 0, 1, 59] {
            p.record(at(s));
        }
        assert_eq!(p.last_minute(at(59)), 4);
        p.record(at(60));
        p.record(at(61));
        assert_eq!(p.last_minute(at(61)), 3);
        p.record(at(119));
        assert_eq!(p.last_minute(at(119)), 3);
        assert_eq!(p.last_minute(at(200)), 0);
        // A late event for a second already reused is not counted into the newer one.
        p.record(at(1));
        assert_eq!(p.last_minute(at(119)), 3);
    }
}
