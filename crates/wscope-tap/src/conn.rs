//! The per-connection API: what a server reports about one WebSocket, and timer guards.

use super::{Tap, now, state::PendingTraffic, state::dir_index};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use wscope_protocol::{AppState, Close, Dir, EventKind, Initiator, Str, Timer, TimerOp};

/// One open connection as the tap sees it. Dropping it without [`ConnHandle::close`] reports
/// a close by the server with code 1006 (the server dropped the transport).
pub struct ConnHandle {
    tap: Tap,
    id: Str,
    pending: Arc<PendingTraffic>,
    closed: AtomicBool,
}

impl ConnHandle {
    pub(crate) fn new(tap: Tap, id: Str, pending: Arc<PendingTraffic>) -> ConnHandle {
        ConnHandle {
            tap,
            id,
            pending,
            closed: AtomicBool::new(false),
        }
    }

    /// The connection id of the feed (`conn`).
    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn tap(&self) -> &Tap {
        &self.tap
    }

    /// A message arrived (counted; reported in the next aggregated `message`).
    #[inline]
    pub fn message_in(&self, bytes: usize) {
        self.pending.dirs[dir_index(Dir::In)].record(bytes, now());
    }

    /// A message was sent (counted; reported in the next aggregated `message`).
    #[inline]
    pub fn message_out(&self, bytes: usize) {
        self.pending.dirs[dir_index(Dir::Out)].record(bytes, now());
    }

    /// Emits pending `message` counts, then `kind`, under one lock so they stay in order.
    fn flush_then(&self, kind: EventKind) {
        let mut core = self.tap.core();
        self.tap.flush_locked(&mut core, &self.id, &self.pending);
        self.tap.emit_locked(&mut core, now(), kind);
    }

    pub fn ping_sent(&self) {
        self.flush_then(EventKind::Ping {
            conn: self.id.clone(),
        });
    }

    pub fn pong_received(&self, rtt: Option<Duration>) {
        self.flush_then(EventKind::Pong {
            conn: self.id.clone(),
            rtt_ms: rtt.map(|d| d.as_secs_f64() * 1000.0),
        });
    }

    /// The client reported its app went to the background or came back.
    pub fn app_state(&self, state: AppState) {
        self.tap.emit(EventKind::AppState {
            conn: self.id.clone(),
            state,
        });
    }

    pub fn error(&self, message: &str) {
        self.tap.emit(EventKind::Error {
            conn: Some(self.id.clone()),
            message: Str::from(message),
        });
    }

    /// Starts a per-connection timer; it clears when the guard is dropped.
    pub fn timer(&self, kind: &str, interval: Option<Duration>) -> TimerGuard {
        self.tap.timer(Some(&self.id), kind, interval)
    }

    /// Emits `close` (once; later calls do nothing). `code` as received or sent, `None` for a
    /// close frame without status.
    pub fn close(&self, code: Option<u16>, reason: Option<&str>, initiator: Initiator) {
        if self.closed.swap(true, Ordering::AcqRel) {
            return;
        }
        self.flush_then(EventKind::Close(Close {
            conn: self.id.clone(),
            code,
            reason: reason.map(Str::from),
            initiator: Some(initiator),
        }));
    }

    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }
}

impl Drop for ConnHandle {
    fn drop(&mut self) {
        self.close(Some(1006), None, Initiator::Server);
    }
}

/// A per-connection timer: `start` when made, [`TimerGuard::fire`] on each run, `clear` when
/// dropped. Hold it in the task that does the work; if that task outlives the connection
/// the tap sees the timer still alive (or firing) after the close.
pub struct TimerGuard {
    tap: Tap,
    id: Str,
    conn: Option<Str>,
}

impl TimerGuard {
    pub(crate) fn start(
        tap: Tap,
        id: Str,
        conn: Option<Str>,
        kind: &str,
        interval: Option<Duration>,
    ) -> TimerGuard {
        tap.emit(EventKind::Timer(Box::new(Timer {
            conn: conn.clone(),
            timer: id.clone(),
            op: TimerOp::Start,
            kind: Some(Str::from(kind)),
            interval_ms: interval.map(|d| d.as_millis() as u64),
        })));
        TimerGuard { tap, id, conn }
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// The timer ran once.
    pub fn fire(&self) {
        self.op(TimerOp::Fire);
    }

    fn op(&self, op: TimerOp) {
        self.tap.emit(EventKind::Timer(Box::new(Timer {
            conn: self.conn.clone(),
            timer: self.id.clone(),
            op,
            kind: None,
            interval_ms: None,
        })));
    }
}

impl Drop for TimerGuard {
    fn drop(&mut self) {
        self.op(TimerOp::Clear);
    }
}
