//! What a server has open, folded from its events: the state a `snapshot` carries. An
//! emitter keeps it to answer a new subscriber; a relay keeps it for sources that cannot be
//! asked for a snapshot (a log, a capture).

use crate::{Dir, EventKind, Open, Snapshot, SnapshotConn, SnapshotTimer, Str, TimerOp, Ts};
use std::collections::HashMap;

/// One open connection.
#[derive(Clone, Debug)]
pub struct ConnRecord {
    pub open: Open,
    pub opened: Ts,
    pub last_activity: Ts,
    pub last_ping: Option<Ts>,
    pub last_pong: Option<Ts>,
    /// In, out.
    pub msgs: [u64; 2],
    pub bytes: [u64; 2],
}

/// One running timer.
#[derive(Clone, Debug)]
pub struct TimerRecord {
    pub conn: Option<Str>,
    pub kind: Option<Str>,
    pub interval_ms: Option<u64>,
    pub started: Ts,
}

/// What a server has open: connections and running timers.
#[derive(Clone, Debug, Default)]
pub struct FeedState {
    pub conns: HashMap<Str, ConnRecord>,
    pub timers: HashMap<Str, TimerRecord>,
}

impl FeedState {
    /// Folds one event in (a `snapshot` replaces what was known).
    pub fn apply(&mut self, ts: Ts, kind: &EventKind) {
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
                    },
                );
            }
            EventKind::Snapshot(snap) => self.replace_with(ts, snap),
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
                    let i = usize::from(m.dir == Dir::Out);
                    c.msgs[i] += m.count;
                    c.bytes[i] += m.bytes;
                    c.last_activity = c.last_activity.max(ts);
                }
            }
            EventKind::Close(close) => {
                self.conns.remove(&close.conn);
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

    /// What a snapshot says is open replaces what was known.
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

    /// What is open, as a snapshot's entries (oldest first).
    pub fn snapshot(&self) -> Snapshot {
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
