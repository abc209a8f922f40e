//! What the tap knows about the server right now: open connections, live timers and the
//! counters behind `/metrics`. It is folded from the very events the tap emits, so a
//! snapshot equals what a subscriber that saw every event has built.

use crate::event::{
    Close, Dir, EventKind, Initiator, Open, Snapshot, SnapshotConn, SnapshotTimer, Str, TimerOp, Ts,
};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

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

pub(crate) struct ConnRecord {
    pub(crate) open: Open,
    pub(crate) opened: Ts,
    pub(crate) last_activity: Ts,
    pub(crate) last_ping: Option<Ts>,
    pub(crate) last_pong: Option<Ts>,
    pub(crate) msgs: [u64; 2],
    pub(crate) bytes: [u64; 2],
    pub(crate) pending: Option<Arc<PendingTraffic>>,
}

pub(crate) struct TimerRecord {
    pub(crate) conn: Option<Str>,
    pub(crate) kind: Option<Str>,
    pub(crate) interval_ms: Option<u64>,
    pub(crate) started: Ts,
}

/// Connections, timers and cumulative counters.
#[derive(Default)]
pub(crate) struct TapState {
    pub(crate) conns: HashMap<Str, ConnRecord>,
    pub(crate) timers: HashMap<Str, TimerRecord>,
    /// `(code, initiator)` → closes; `None` code is a close frame without status.
    pub(crate) disconnects: HashMap<(Option<u16>, Option<Initiator>), u64>,
    /// status → rejected upgrades (`None`: the request ended before any status was sent).
    pub(crate) rejected: HashMap<Option<u16>, u64>,
}

impl TapState {
    /// Folds one emitted event in. `pending` is attached to a new connection's record.
    pub(crate) fn apply(&mut self, ts: Ts, kind: &EventKind) {
        match kind {
            EventKind::Open(open) => {
                self.conns.insert(
                    open.conn.clone(),
                    ConnRecord {
                        open: (**open).clone(),
                        opened: ts,
                        last_activity: ts,
                        last_ping: None,
                        last_pong: None,
                        msgs: [0; 2],
                        bytes: [0; 2],
                        pending: None,
                    },
                );
            }
            EventKind::Snapshot(snap) => self.replace_with(ts, snap),
            EventKind::UpgradeRejected(r) => *self.rejected.entry(r.status).or_default() += 1,
            EventKind::Ping { conn } => {
                if let Some(c) = self.conns.get_mut(conn) {
                    c.last_ping = Some(ts);
                    c.last_activity = c.last_activity.max(ts);
                }
            }
            EventKind::Pong { conn, .. } => {
                if let Some(c) = self.conns.get_mut(conn) {
                    c.last_pong = Some(ts);
                    c.last_activity = c.last_activity.max(ts);
                }
            }
            EventKind::Message(m) => {
                if let Some(c) = self.conns.get_mut(&m.conn) {
                    let i = dir_index(m.dir);
                    c.msgs[i] += m.count;
                    c.bytes[i] += m.bytes;
                    c.last_activity = c.last_activity.max(ts);
                }
            }
            EventKind::Close(Close {
                conn,
                code,
                initiator,
                ..
            }) => {
                self.conns.remove(conn);
                *self.disconnects.entry((*code, *initiator)).or_default() += 1;
            }
            EventKind::Timer(t) => match &t.op {
                TimerOp::Start => {
                    self.timers.insert(
                        t.timer.clone(),
                        TimerRecord {
                            conn: t.conn.clone(),
                            kind: t.kind.clone(),
                            interval_ms: t.interval_ms,
                            started: ts,
                        },
                    );
                }
                TimerOp::Clear => {
                    self.timers.remove(&t.timer);
                }
                TimerOp::Fire => {}
            },
            _ => {}
        }
    }

    /// What a snapshot (read from a log or a feed being relayed) says is open now replaces
    /// what was known; counters stay.
    fn replace_with(&mut self, ts: Ts, snap: &Snapshot) {
        self.conns.clear();
        self.timers.clear();
        let (conns, timers) = (&mut self.conns, &mut self.timers);
        snap.each_entry(
            &mut |c| {
                let opened = c.opened.unwrap_or(ts);
                conns.insert(
                    c.open.conn.clone(),
                    ConnRecord {
                        open: c.open.clone(),
                        opened,
                        last_activity: c.last_activity.unwrap_or(opened),
                        last_ping: c.last_ping,
                        last_pong: c.last_pong,
                        msgs: [c.msgs_in, c.msgs_out],
                        bytes: [c.bytes_in, c.bytes_out],
                        pending: None,
                    },
                );
            },
            &mut |t| {
                timers.insert(
                    t.timer.clone(),
                    TimerRecord {
                        conn: t.conn.clone(),
                        kind: t.kind.clone(),
                        interval_ms: t.interval_ms,
                        started: t.started.unwrap_or(ts),
                    },
                );
            },
        );
    }

    pub(crate) fn snapshot(&self) -> Snapshot {
        let mut connections: Vec<SnapshotConn> = self
            .conns
            .values()
            .map(|c| SnapshotConn {
                open: c.open.clone(),
                opened: Some(c.opened),
                last_activity: Some(c.last_activity),
                last_ping: c.last_ping,
                last_pong: c.last_pong,
                msgs_in: c.msgs[0],
                msgs_out: c.msgs[1],
                bytes_in: c.bytes[0],
                bytes_out: c.bytes[1],
            })
            .collect();
        connections.sort_by(|a, b| (a.opened, &a.open.conn).cmp(&(b.opened, &b.open.conn)));
        let mut timers: Vec<SnapshotTimer> = self
            .timers
            .iter()
            .map(|(id, t)| SnapshotTimer {
                conn: t.conn.clone(),
                timer: id.clone(),
                kind: t.kind.clone(),
                interval_ms: t.interval_ms,
                started: Some(t.started),
            })
            .collect();
        timers.sort_by(|a, b| (a.started, &a.timer).cmp(&(b.started, &b.timer)));
        Snapshot {
            connections,
            timers,
            raw: None,
        }
    }
}
