//! Close statistics over time: counts by code and initiator (all time and recent), and the
//! disconnect rate in 10-second buckets.

use crate::event::{Initiator, SECOND, Ts};
use std::collections::{BTreeMap, VecDeque};

/// Width of one rate bucket. Six of them make the 60 s window of findings.md slide in 10 s steps.
pub const BUCKET: i64 = 10 * SECOND;
/// How far back "recent" close codes reach.
pub const RECENT: i64 = 5 * 60 * SECOND;
/// Past this many buckets (115 days) the series stops growing: later closes land in the last one.
const MAX_BUCKETS: usize = 1_000_000;

/// Close counts keyed by (code, initiator); `None` initiator when the event did not say.
pub type CodeCounts = BTreeMap<(u16, Option<Initiator>), u64>;

#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct RateBucket {
    /// Unexpected closes (findings.md: every close but a user leaving and a restart's).
    pub closes: u32,
    /// Open connections when the bucket began.
    pub open_at_start: u32,
    /// The most connections open at once during the bucket.
    pub max_open: u32,
}

#[derive(Clone, Debug, Default)]
pub struct CloseStats {
    pub all_time: CodeCounts,
    /// (bucket start, counts) for the last [`RECENT`] of event time.
    recent: VecDeque<(Ts, CodeCounts)>,
    origin: Option<Ts>,
    buckets: Vec<RateBucket>,
}

impl CloseStats {
    /// Keeps the rate series up to `now` with `open` connections; call on every event.
    pub fn advance(&mut self, now: Ts, open: usize) {
        let open = open.min(u32::MAX as usize) as u32;
        let origin = *self
            .origin
            .get_or_insert(Ts(now.0 - now.0.rem_euclid(BUCKET)));
        let idx = ((now.0.saturating_sub(origin.0).max(0) / BUCKET) as usize).min(MAX_BUCKETS - 1);
        while self.buckets.len() <= idx {
            self.buckets.push(RateBucket {
                closes: 0,
                open_at_start: open,
                max_open: open,
            });
        }
        let last = self.buckets.len() - 1;
        let b = &mut self.buckets[last];
        b.max_open = b.max_open.max(open);
    }

    /// Counts a close; `unexpected` ones also count in the rate series.
    pub fn record(&mut self, ts: Ts, code: u16, initiator: Option<Initiator>, unexpected: bool) {
        *self.all_time.entry((code, initiator)).or_default() += 1;
        if unexpected && let Some(b) = self.bucket_mut(ts) {
            b.closes = b.closes.saturating_add(1);
        }
        let start = Ts(ts.0 - ts.0.rem_euclid(BUCKET));
        match self.recent.iter_mut().rev().find(|(s, _)| *s == start) {
            Some((_, counts)) => *counts.entry((code, initiator)).or_default() += 1,
            None => {
                let mut counts = CodeCounts::new();
                counts.insert((code, initiator), 1);
                // Keep buckets in time order even when events arrive slightly out of order.
                let pos = self.recent.partition_point(|(s, _)| *s < start);
                self.recent.insert(pos, (start, counts));
            }
        }
        while self
            .recent
            .front()
            .is_some_and(|(s, _)| s.0.saturating_add(RECENT + BUCKET) <= ts.0)
        {
            self.recent.pop_front();
        }
    }

    /// An unexpected close at `ts` turned out to be part of a restart: it leaves the rate series.
    pub fn expected_after_all(&mut self, ts: Ts) {
        if let Some(b) = self.bucket_mut(ts) {
            b.closes = b.closes.saturating_sub(1);
        }
    }

    fn bucket_mut(&mut self, ts: Ts) -> Option<&mut RateBucket> {
        let origin = self.origin?;
        let idx = ((ts.0.saturating_sub(origin.0).max(0) / BUCKET) as usize)
            .min(self.buckets.len().saturating_sub(1));
        self.buckets.get_mut(idx)
    }

    /// Close counts over the last five minutes before `now`.
    pub fn recent(&self, now: Ts) -> CodeCounts {
        let mut out = CodeCounts::new();
        for (start, counts) in &self.recent {
            if start.0.saturating_add(BUCKET) > now.0.saturating_sub(RECENT) {
                for (k, v) in counts {
                    *out.entry(*k).or_default() += v;
                }
            }
        }
        out
    }

    /// Close counts by code alone (initiators summed).
    pub fn by_code(counts: &CodeCounts) -> BTreeMap<u16, u64> {
        let mut out = BTreeMap::new();
        for ((code, _), n) in counts {
            *out.entry(*code).or_default() += n;
        }
        out
    }

    pub fn origin(&self) -> Option<Ts> {
        self.origin
    }

    /// The 10 s buckets from the first event on.
    pub fn buckets(&self) -> &[RateBucket] {
        &self.buckets
    }

    /// Closes per minute as a percentage of the connections open, for the 60 s window that
    /// starts at bucket `i`: `(closes, percent)`. The base is the connections open at the start
    /// of the window, or the most open during it when that is larger (so a burst of
    /// connections that open and close inside one window has a base; see DESIGN.md).
    pub fn window(&self, i: usize) -> (u64, f64) {
        let end = (i + 6).min(self.buckets.len());
        let slice = &self.buckets[i.min(end)..end];
        let closes: u64 = slice.iter().map(|b| b.closes as u64).sum();
        let base = slice
            .first()
            .map(|b| b.open_at_start)
            .unwrap_or(0)
            .max(slice.iter().map(|b| b.max_open).max().unwrap_or(0))
            .max(1);
        (closes, closes as f64 * 100.0 / base as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recent_window_and_rate() {
        let mut s = CloseStats::default();
        let t0 = Ts(1_000 * SECOND);
        s.advance(t0, 100);
        for i in 0..12 {
            let t = t0.plus_secs(i as f64 * 5.0);
            s.advance(t, 100 - i);
            s.record(t, 1006, Some(Initiator::None), true);
        }
        let (closes, pct) = s.window(0);
        assert_eq!(closes, 12);
        assert!((pct - 12.0).abs() < 1e-9);
        let later = t0.plus_secs(400.0);
        s.advance(later, 88);
        s.record(later, 1000, Some(Initiator::Client), true);
        let recent = s.recent(later);
        assert_eq!(recent.get(&(1000, Some(Initiator::Client))), Some(&1));
        assert_eq!(recent.get(&(1006, Some(Initiator::None))), None);
        assert_eq!(s.all_time.values().sum::<u64>(), 13);
    }
}
