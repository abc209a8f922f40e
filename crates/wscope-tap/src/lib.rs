//! Instrument a Rust WebSocket server so that the `wscope` dashboard can watch it: why do
//! its connections drop?
//!
//! The tap reports what happens to every connection (opens, messages, pings and pongs with
//! their round trip, closes with the code as sent and who sent it, rejected upgrades,
//! per-connection timers, the process's memory and descriptors) as the events of the wscope
//! feed protocol, and serves them on an *admin feed*: a WebSocket on loopback, token
//! required, that `wscope attach ws://127.0.0.1:9300/` reads. It never slows the server: a
//! viewer that reads too slowly loses events, counted and told.
//!
//! # Quick start (tokio-tungstenite)
//!
//! ```no_run
//! use futures_util::{SinkExt, StreamExt};
//! use wscope_tap::Tap;
//!
//! # async fn run() -> std::io::Result<()> {
//! // Defaults below; WSCOPE_TOKEN and the other variables override them.
//! let guard = Tap::builder().server("chat-1").with_default_env().spawn().await?;
//! let tap = guard.tap();
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! loop {
//!     let (tcp, peer) = listener.accept().await?;
//!     let tap = tap.clone();
//!     tokio::spawn(async move {
//!         // A `Stream` + `Sink` of `Message`, as tokio-tungstenite's own: the heartbeat
//!         // runs while it is read.
//!         let Ok(mut ws) = tap.accept(tcp, Some(peer)).await else { return };
//!         while let Some(Ok(msg)) = ws.next().await {
//!             if msg.is_text() && ws.send(msg).await.is_err() { break; }
//!         }
//!     });
//! }
//! # }
//! ```
//!
//! Keep the [`TapGuard`]: dropping it stops the admin feed (it is `#[must_use]`).
//!
//! # Defaults
//!
//! | setting | default | builder | environment |
//! |---|---|---|---|
//! | admin feed address | `127.0.0.1:9300` | [`TapBuilder::admin_addr`] | `WSCOPE_ADMIN_ADDR` |
//! | token (required) | none | [`TapBuilder::token`] | `WSCOPE_TOKEN` |
//! | TLS for the feed | off | [`TapBuilder::tls`] | `WSCOPE_TLS_CERT`, `WSCOPE_TLS_KEY` |
//! | server name | none | [`TapBuilder::server`] | `WSCOPE_SERVER` |
//! | heartbeat | ping 30 s, terminate 10 s after | [`TapBuilder::heartbeat`], [`TapBuilder::heartbeat_for_path`] | |
//! | history for late viewers | 10 min, 64 MiB | [`TapBuilder::history`] | `WSCOPE_HISTORY` (`0`, `90s`, `10m`) |
//! | viewer queue | 8192 events | [`TapBuilder::subscriber_queue`] | |
//! | message counts flushed | every 250 ms | [`TapBuilder::flush_interval`] | |
//! | process figures | every 10 s | [`TapBuilder::process_interval`] | |
//! | upgrade request within | 10 s | [`TapBuilder::handshake_timeout`] | |
//!
//! The feed serves `/metrics` (Prometheus text) beside it, with the same token.
//!
//! # Heartbeats
//!
//! One [`HeartbeatPolicy`] runs on every accepted connection and is announced to viewers,
//! so wscope can tell a missing heartbeat from a dead network. Paths may differ:
//!
//! ```
//! # use std::time::Duration;
//! use wscope_tap::{HeartbeatPolicy, Tap};
//! let every_30s = HeartbeatPolicy::new(Duration::from_secs(30), Duration::from_secs(10));
//! let builder = Tap::builder()
//!     .heartbeat(Some(every_30s))
//!     // Phones sleep: ping less often, never terminate (wscope lists silent ones).
//!     .heartbeat_for_path("/mobile", Some(HeartbeatPolicy::new(
//!         Duration::from_secs(120), Duration::from_secs(30)).keep_silent_peers()));
//! ```
//!
//! # Refusing an upgrade
//!
//! [`Tap::accept_with`] lets the application decide on the request; a [`Reject`] is
//! answered with its status (with the status's standard reason phrase) and headers, and
//! reported as `upgrade_rejected`:
//!
//! ```no_run
//! # async fn run(tap: wscope_tap::Tap, tcp: tokio::net::TcpStream) {
//! use wscope_tap::{Accept, Reject};
//! let ws = tap.accept_with(tcp, None, |req| match req.query_param("user") {
//!     Some(user) => Ok(Accept { client: Some(user), ..Accept::default() }),
//!     None => Err(Reject::new(401, "log in first").header("WWW-Authenticate", "Bearer")),
//! }).await;
//! # }
//! ```
//!
//! # axum, actix and other stacks
//!
//! A socket upgraded elsewhere is wrapped with [`Tap::observe`] (any `Stream` + `Sink` of a
//! [`TapMessage`]: tungstenite's `Message`, and axum's with the `axum` feature); it reports
//! the same events, but the application runs its own pings (announce them with
//! [`TapBuilder::heartbeat`], or `None`). See `examples/axum_echo.rs`. For anything else,
//! [`Tap::open`] gives a [`ConnHandle`] to report through by hand.
//!
//! # Timers
//!
//! Per-connection work (a heartbeat of the application's own, a session refresh) made with
//! [`ConnHandle::timer`] is reported when it starts, fires and is cleared (when the
//! [`TimerGuard`] drops): a timer that outlives its socket is a leak suspect in wscope.
//!
//! # In process
//!
//! [`Tap::subscribe`] yields the feed without a socket: `hello`, the history, a `snapshot`,
//! then live events.

mod admin;
mod builder;
mod conn;
pub(crate) mod handshake;
mod history;
mod metrics;
mod observe;
mod process;
mod sniff;
pub(crate) mod state;
mod subscriber;
mod ws;

pub use builder::{TapBuilder, TapGuard};
pub use conn::{ConnHandle, TimerGuard};
pub use handshake::RequestInfo;
pub use history::HistoryLimits;
pub use observe::{MessageKind, Observed, TapMessage};
pub use subscriber::Subscription;
pub use ws::{Accept, AcceptError, HeartbeatPolicy, Reject, TappedWebSocket};
pub use wscope_protocol as protocol;

use state::{PendingTraffic, TapState};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use subscriber::{Push, SubQueue};
use wscope_protocol::{
    Event, EventKind, Heartbeat, Hello, Open, PROTOCOL, Str, Ts, UpgradeRejected,
};

/// The current wall-clock time as event time. The tap stamps events; the model never calls it.
pub(crate) fn now() -> Ts {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    Ts(d.as_nanos().min(i64::MAX as u128) as i64)
}

/// A tap's settings, as [`TapBuilder`] made them.
#[derive(Clone, Debug)]
pub(crate) struct TapConfig {
    /// The `server` of `hello`: which instance this is.
    pub(crate) server: Option<String>,
    pub(crate) software: Option<String>,
    /// Announced in `hello` and run by every [`TappedWebSocket`] (`None`: no pings)...
    pub(crate) heartbeat: Option<HeartbeatPolicy>,
    /// ...except on paths starting with one of these (the longest prefix wins).
    pub(crate) path_heartbeats: Vec<(String, Option<HeartbeatPolicy>)>,
    /// Events a subscriber may fall behind before it loses some.
    pub(crate) subscriber_queue: usize,
    /// How often aggregated `message` counts are flushed.
    pub(crate) flush_interval: Duration,
    /// How often a `process` event is emitted (`None`: never).
    pub(crate) process_interval: Option<Duration>,
    /// A client must finish its upgrade request within this time.
    pub(crate) handshake_timeout: Duration,
    /// What a new subscriber is sent of the past (`None`: nothing).
    pub(crate) history: Option<HistoryLimits>,
}

impl TapConfig {
    /// The heartbeat of a connection on `path`.
    pub(crate) fn heartbeat_for(&self, path: &str) -> Option<HeartbeatPolicy> {
        self.path_heartbeats
            .iter()
            .filter(|(prefix, _)| path.starts_with(prefix.as_str()))
            .max_by_key(|(prefix, _)| prefix.len())
            .map_or(self.heartbeat, |(_, policy)| *policy)
    }
}

/// A handle to the tap; cheap to clone, shared by every connection task.
#[derive(Clone)]
pub struct Tap {
    inner: Arc<Inner>,
}

struct Inner {
    config: TapConfig,
    core: Mutex<Core>,
    /// Ids are `<boot>-<n>`: another run under the same server name uses other ids.
    boot: String,
    next_conn: AtomicU64,
    next_timer: AtomicU64,
    feed_dropped_total: AtomicU64,
}

/// Guarded by one lock so that a snapshot and the events after it are never out of order.
struct Core {
    state: TapState,
    subscribers: Vec<Arc<SubQueue>>,
    history: Option<history::History>,
}

impl Tap {
    /// How to set up a tap, every setting's default written beside it.
    pub fn builder() -> TapBuilder {
        TapBuilder::default()
    }

    /// Creates a tap and starts its flusher and, when configured, the `process` sampler;
    /// both end when the last `Tap` clone is dropped. Inside a tokio runtime only.
    pub(crate) fn new(config: TapConfig) -> Tap {
        let boot = boot_tag();
        let history = config.history.map(history::History::new);
        let tap = Tap {
            inner: Arc::new(Inner {
                config,
                core: Mutex::new(Core {
                    state: TapState::default(),
                    subscribers: Vec::new(),
                    history,
                }),
                boot,
                next_conn: AtomicU64::new(1),
                next_timer: AtomicU64::new(1),
                feed_dropped_total: AtomicU64::new(0),
            }),
        };
        tokio::spawn(background(
            Arc::downgrade(&tap.inner),
            tap.inner.config.flush_interval,
            tap.inner.config.process_interval,
        ));
        tap
    }

    pub(crate) fn config(&self) -> &TapConfig {
        &self.inner.config
    }

    fn core(&self) -> std::sync::MutexGuard<'_, Core> {
        self.inner.core.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Emits one event now: folds it into the state and queues it for every subscriber.
    /// Never waits for a subscriber.
    pub(crate) fn emit(&self, kind: EventKind) {
        let mut core = self.core();
        let ts = now();
        self.emit_locked(&mut core, ts, kind);
    }

    fn emit_locked(&self, core: &mut Core, ts: Ts, kind: EventKind) {
        core.state.apply(ts, &kind);
        if core.subscribers.is_empty() && core.history.is_none() {
            return;
        }
        let ev = Event::new(ts, kind);
        if let Some(history) = core.history.as_mut() {
            history.push(&ev);
        }
        let mut any_closed = false;
        for sub in &core.subscribers {
            match sub.push(&ev, false) {
                Push::Queued => {}
                Push::Dropped => {
                    self.inner
                        .feed_dropped_total
                        .fetch_add(1, Ordering::Relaxed);
                }
                Push::Closed => any_closed = true,
            }
        }
        if any_closed {
            core.subscribers
                .retain(|s| !matches!(s.push_probe(), Push::Closed));
        }
    }

    /// Reports aggregated traffic of one connection as `message` events (lock held).
    fn flush_locked(&self, core: &mut Core, conn: &str, pending: &PendingTraffic) {
        for dir in [wscope_protocol::Dir::In, wscope_protocol::Dir::Out] {
            if let Some((count, bytes, last)) = pending.dirs[state::dir_index(dir)].take() {
                let kind = EventKind::Message(wscope_protocol::Message {
                    conn: Str::from(conn),
                    dir,
                    count,
                    bytes,
                });
                self.emit_locked(core, last, kind);
            }
        }
    }

    fn flush_all(&self) {
        let mut core = self.core();
        let pending: Vec<(Str, Arc<PendingTraffic>)> = core
            .state
            .pending
            .iter()
            .map(|(id, p)| (id.clone(), p.clone()))
            .collect();
        for (id, p) in pending {
            self.flush_locked(&mut core, &id, &p);
        }
    }

    /// Registers a new connection (emits `open`). `open.conn` is replaced by a fresh id when
    /// empty. Use this when not accepting through [`Tap::accept`].
    pub fn open(&self, mut open: Open) -> ConnHandle {
        if open.conn.is_empty() {
            let n = self.inner.next_conn.fetch_add(1, Ordering::Relaxed);
            open.conn = Str::from(format!("{}-{n}", self.inner.boot));
        }
        let pending = Arc::new(PendingTraffic::default());
        let id = open.conn.clone();
        {
            let mut core = self.core();
            let ts = now();
            self.emit_locked(&mut core, ts, EventKind::Open(Box::new(open)));
            if core.state.feed.conns.contains_key(&id) {
                core.state.pending.insert(id.clone(), pending.clone());
            }
        }
        ConnHandle::new(self.clone(), id, pending)
    }

    /// Reports an upgrade that failed before a WebSocket existed.
    pub fn upgrade_rejected(&self, rejected: UpgradeRejected) {
        self.emit(EventKind::UpgradeRejected(Box::new(rejected)));
    }

    /// Starts a timer not tied to a connection (or tied to one by id).
    pub fn timer(&self, conn: Option<&str>, kind: &str, interval: Option<Duration>) -> TimerGuard {
        let n = self.inner.next_timer.fetch_add(1, Ordering::Relaxed);
        let id = Str::from(format!("{}-t{n}", self.inner.boot));
        TimerGuard::start(self.clone(), id, conn.map(Str::from), kind, interval)
    }

    pub(crate) fn hello(&self, history: Option<wscope_protocol::HistoryInfo>) -> Event {
        let cfg = &self.inner.config;
        Event {
            ts: history.map_or_else(now, |h| h.from),
            server: cfg.server.as_deref().map(Str::from),
            kind: EventKind::Hello(Hello {
                protocol: Some(PROTOCOL),
                software: cfg.software.as_deref().map(Str::from),
                heartbeat: cfg.heartbeat.map(|h| Heartbeat {
                    ping_interval_ms: h.interval.as_millis() as u64,
                    pong_timeout_ms: h.pong_timeout.as_millis() as u64,
                }),
                history,
            }),
        }
    }

    /// Subscribes in process: `hello`, the history (when the tap keeps one: a `snapshot` of
    /// what was open when it starts, then its events), a `snapshot` of now, then live
    /// events.
    pub fn subscribe(&self) -> Subscription {
        self.subscribe_with(true)
    }

    /// [`Tap::subscribe`], with or without the history.
    pub fn subscribe_with(&self, history: bool) -> Subscription {
        self.subscribe_from(history.then_some(None))
    }

    /// [`Tap::subscribe`], with the history after `since` only: a viewer that reconnects
    /// after hearing an event of that time gets what it missed, not what it has.
    pub fn subscribe_since(&self, since: Ts) -> Subscription {
        self.subscribe_from(Some(Some(since)))
    }

    /// `None`: no history; `Some(since)`: the history (after `since`, when given).
    pub(crate) fn subscribe_from(&self, history: Option<Option<Ts>>) -> Subscription {
        let queue = Arc::new(SubQueue::new(self.inner.config.subscriber_queue));
        let mut core = self.core();
        let ts = now();
        let past = match (core.history.as_mut(), history) {
            (Some(h), Some(since)) => h.past(ts, since),
            _ => None,
        };
        let mut before = std::collections::VecDeque::new();
        match past {
            Some(past) => {
                let info = wscope_protocol::HistoryInfo {
                    from: past.from,
                    events: past.events.len() as u64,
                };
                before.push_back(Arc::new(self.hello(Some(info))));
                let base = Event::new(past.from, EventKind::Snapshot(past.base.snapshot()));
                before.push_back(Arc::new(base));
                before.extend(past.events);
            }
            None => before.push_back(Arc::new(self.hello(None))),
        }
        let snap = Event::new(ts, EventKind::Snapshot(core.state.snapshot()));
        queue.push(&snap, true);
        core.subscribers.push(queue.clone());
        drop(core);
        Subscription {
            before,
            queue,
            tap: self.clone(),
        }
    }

    fn push_snapshot(&self, queue: &SubQueue) {
        let core = self.core();
        let snap = Event::new(now(), EventKind::Snapshot(core.state.snapshot()));
        queue.push(&snap, true);
    }

    /// Events lost by all subscribers so far (`wscope_feed_dropped_total`).
    pub fn feed_dropped_total(&self) -> u64 {
        self.inner.feed_dropped_total.load(Ordering::Relaxed)
    }

    /// Number of subscribers currently attached (in process and over the admin feed).
    pub fn subscriber_count(&self) -> usize {
        self.core().subscribers.len()
    }

    /// `/metrics` in the Prometheus text format.
    pub fn render_metrics(&self) -> String {
        let core = self.core();
        metrics::render(&core.state, now(), self.feed_dropped_total())
    }

    /// Emits a `process` event with this process's RSS and open file descriptors.
    pub(crate) fn sample_process(&self) {
        let (rss_bytes, open_fds) = process::sample();
        if rss_bytes.is_some() || open_fds.is_some() {
            self.emit(EventKind::Process {
                rss_bytes,
                open_fds,
            });
        }
    }
}

impl SubQueue {
    /// Whether the subscriber is gone, without queueing anything.
    fn push_probe(&self) -> Push {
        if self.is_closed() {
            Push::Closed
        } else {
            Push::Queued
        }
    }
}

/// This run's tag for ids: its start time in milliseconds, base 36.
fn boot_tag() -> String {
    let mut ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis();
    let mut out = Vec::new();
    while ms > 0 || out.is_empty() {
        out.push(b"0123456789abcdefghijklmnopqrstuvwxyz"[(ms % 36) as usize]);
        ms /= 36;
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

async fn background(tap: Weak<Inner>, flush: Duration, process: Option<Duration>) {
    let mut flush_tick = tokio::time::interval(flush.max(Duration::from_millis(10)));
    flush_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut process_tick = tokio::time::interval(
        process
            .unwrap_or(Duration::from_secs(3600))
            .max(Duration::from_millis(100)),
    );
    process_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = flush_tick.tick() => {
                let Some(inner) = tap.upgrade() else { return };
                Tap { inner }.flush_all();
            }
            _ = process_tick.tick() => {
                let Some(inner) = tap.upgrade() else { return };
                if process.is_some() {
                    Tap { inner }.sample_process();
                }
            }
        }
    }
}
