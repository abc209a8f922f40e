//! What the tap knows about the server right now: open connections, live timers and the
//! counters behind `/metrics`. It is folded from the very events the tap emits, so a
//! snapshot equals what a subscriber that saw every event has built.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use wscope_protocol::state::FeedState;
use wscope_protocol::{Close, Dir, EventKind, Initiator, Snapshot, Str, Ts};

/// Message counts not yet reported, bumped with relaxed atomics on the hot path and turned
/// into `message` events by the flusher (every flush interval, and before a ping or close).
#[derive(Default)]
pub(crate) struct PendingTraffic {
    pub(crate) dirs: [PendingDir; 2],
}

#[derive(Default)]
pub(crate) struct PendingDir {
    count: AtomicU64,
    bytes: AtomicU64,
    /// Event time of the latest message, in nanoseconds.
    last: AtomicI64,
}

impl PendingDir {
    pub(crate) fn record(&self, bytes: usize, now: Ts) {
        self.count.fetch_add(1, Ordering::Relaxed);
        self.bytes.fetch_add(bytes as u64, Ordering::Relaxed);
        self.last.store(now.0, Ordering::Relaxed);
    }

    /// Takes what accumulated since the last call: (count, bytes, time of the last).
    pub(crate) fn take(&self) -> Option<(u64, u64, Ts)> {
        if self.count.load(Ordering::Relaxed) == 0 {
            return None;
        }
        let count = self.count.swap(0, Ordering::Relaxed);
        let bytes = self.bytes.swap(0, Ordering::Relaxed);
        Some((count, bytes, Ts(self.last.load(Ordering::Relaxed))))
    }
}

pub(crate) fn dir_index(dir: Dir) -> usize {
    match dir {
        Dir::In => 0,
        Dir::Out => 1,
    }
}

/// What the tap keeps: what is open, the traffic not yet reported per connection, and the
/// cumulative counters behind `/metrics`.
#[derive(Default)]
pub(crate) struct TapState {
    pub(crate) feed: FeedState,
    pub(crate) pending: HashMap<Str, Arc<PendingTraffic>>,
    /// `(code, initiator)` → closes; `None` code is a close frame without status.
    pub(crate) disconnects: HashMap<(Option<u16>, Option<Initiator>), u64>,
    /// status → rejected upgrades (`None`: the request ended before any status was sent).
    pub(crate) rejected: HashMap<Option<u16>, u64>,
}

impl TapState {
    /// Folds one emitted event in.
    pub(crate) fn apply(&mut self, ts: Ts, kind: &EventKind) {
        self.feed.apply(ts, kind);
        match kind {
            EventKind::UpgradeRejected(r) => *self.rejected.entry(r.status).or_default() += 1,
            EventKind::Close(Close {
                conn,
                code,
                initiator,
                ..
            }) => {
                self.pending.remove(conn);
                *self.disconnects.entry((*code, *initiator)).or_default() += 1;
            }
            _ => {}
        }
    }

    pub(crate) fn snapshot(&self) -> Snapshot {
        self.feed.snapshot()
    }
}
