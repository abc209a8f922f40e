//! One bounded queue per subscriber. Emitting never waits: when a queue is full the event is
//! counted as dropped, and the count reaches the subscriber as a `dropped` event as soon as
//! there is room (or when it has read everything else).

use super::Tap;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;
use wscope_protocol::{Event, EventKind};

pub(crate) struct SubQueue {
    inner: Mutex<QueueInner>,
    notify: Notify,
    capacity: usize,
    dropped_total: AtomicU64,
}

#[derive(Default)]
struct QueueInner {
    events: VecDeque<Event>,
    /// Events left out since the last `dropped` was queued.
    dropped: u64,
    /// `snapshot`s queued and not yet received: a resync while one waits adds nothing.
    snapshots: usize,
    closed: bool,
}

pub(crate) enum Push {
    Queued,
    Dropped,
    Closed,
}

impl SubQueue {
    pub(crate) fn new(capacity: usize) -> SubQueue {
        SubQueue {
            inner: Mutex::new(QueueInner::default()),
            notify: Notify::new(),
            capacity: capacity.max(2),
            dropped_total: AtomicU64::new(0),
        }
    }

    /// Queues `ev` unless the queue is full. `hello` and `snapshot` (`force`) always go in:
    /// they are what makes the feed whole again. A snapshot while another one waits in the
    /// queue is left out: the waiting one and the events behind it say the same, and a
    /// subscriber asking for resyncs without reading cannot grow the queue.
    pub(crate) fn push(&self, ev: &Event, force: bool) -> Push {
        let mut q = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if q.closed {
            return Push::Closed;
        }
        let is_snapshot = matches!(ev.kind, EventKind::Snapshot(_));
        if is_snapshot {
            if q.snapshots > 0 {
                return Push::Queued;
            }
            q.snapshots += 1;
        }
        if !force && q.events.len() >= self.capacity {
            q.dropped += 1;
            self.dropped_total.fetch_add(1, Ordering::Relaxed);
            return Push::Dropped;
        }
        if q.dropped > 0 {
            let count = std::mem::take(&mut q.dropped);
            q.events
                .push_back(Event::new(ev.ts, EventKind::Dropped { count }));
        }
        q.events.push_back(ev.clone());
        drop(q);
        self.notify.notify_one();
        Push::Queued
    }

    fn pop(&self) -> Result<Option<Event>, ()> {
        let mut q = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(ev) = q.events.pop_front() {
            if matches!(ev.kind, EventKind::Snapshot(_)) {
                q.snapshots -= 1;
            }
            return Ok(Some(ev));
        }
        if q.dropped > 0 {
            let count = std::mem::take(&mut q.dropped);
            return Ok(Some(Event::new(super::now(), EventKind::Dropped { count })));
        }
        if q.closed { Err(()) } else { Ok(None) }
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).closed
    }

    pub(crate) fn close(&self) {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).closed = true;
        self.notify.notify_one();
    }
}

/// An in-process subscriber of a [`Tap`]: the feed of feed-protocol.md without a socket.
///
/// The first events are `hello`, the history if asked for, and `snapshot`, then live
/// events in order. When this
/// subscriber falls more than the tap's queue size behind, events are left out and a
/// `dropped` event says how many; the server is never slowed down.
pub struct Subscription {
    /// `hello` and the history, shared with the tap's own copy, sent before the queue.
    pub(crate) before: VecDeque<Arc<Event>>,
    pub(crate) queue: Arc<SubQueue>,
    pub(crate) tap: Tap,
}

impl Subscription {
    /// The next event; `None` once the subscription is closed.
    pub async fn recv(&mut self) -> Option<Event> {
        if let Some(ev) = self.before.pop_front() {
            return Some(Arc::unwrap_or_clone(ev));
        }
        loop {
            match self.queue.pop() {
                Ok(Some(ev)) => return Some(ev),
                Err(()) => return None,
                Ok(None) => self.queue.notify.notified().await,
            }
        }
    }

    /// The next event if one is waiting, without waiting (for a UI's draw loop).
    pub fn try_recv(&mut self) -> Option<Event> {
        if let Some(ev) = self.before.pop_front() {
            return Some(Arc::unwrap_or_clone(ev));
        }
        self.queue.pop().ok().flatten()
    }

    /// Queues a fresh `snapshot` (the answer to `{"type":"resync"}`).
    pub fn resync(&self) {
        self.tap.push_snapshot(&self.queue);
    }

    /// How many events this subscriber has lost so far.
    pub fn dropped_total(&self) -> u64 {
        self.queue.dropped_total.load(Ordering::Relaxed)
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.queue.close();
    }
}
