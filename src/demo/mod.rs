//! `wscope demo`: a real tokio-tungstenite server with the tap on loopback, proxies in front
//! of part of it, and clients that misbehave the way production clients do, time-compressed
//! so that each problem shows within 30 s:
//!
//! | habit | what makes it | finding |
//! |---|---|---|
//! | a proxy idle timeout (3 s) on a path with no heartbeat | `/quiet` via the idle proxy | `idle-timeout` |
//! | a path with no heartbeat | `/quiet` directly | `heartbeat-missing` (its threshold is 60 s: ~75 s in) |
//! | a proxy that strips `Upgrade` | the strip proxy answers 426 | `upgrade-rejected` |
//! | clients that stop answering pings | `/chat` terminates them; `/legacy` does not | `zombie-connections` |
//! | a handler that forgets its timer | `/feed` | `timer-leak` |
//! | retry every second after 4001 | `/auth` | `reconnect-loop`, `no-backoff` |
//! | mobile apps backgrounded, then gone | `/mobile` | `mobile-background` |
//! | a failing handler | `/work` closes with 1011 | `server-errors` |
//! | a server restart | everything closed with 1001 at 15 s | `server-restart` |
//!
//! [`start`] returns a [`DemoHandle`] holding the [`Tap`]: the dashboard subscribes to it in
//! process; with `admin` set the same feed is served to other viewers.

mod clients;
mod proxy;
mod server;

use crate::tap::{HeartbeatPolicy, Subscription, Tap, TapGuard};
use std::io;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::task::JoinSet;

/// The idle timeout of the demo's proxy.
pub const PROXY_IDLE: Duration = Duration::from_secs(3);

/// The demo server's name unless told otherwise.
pub const DEFAULT_NAME: &str = "demo-1";

/// Where the demo serves its admin feed, and the token it wants.
#[derive(Clone, Debug)]
pub struct DemoAdmin {
    pub addr: SocketAddr,
    pub token: String,
}

#[derive(Clone, Debug)]
pub struct DemoConfig {
    /// Also serve the feed (and /metrics) here.
    pub admin: Option<DemoAdmin>,
    /// When the server "restarts" (closes everything with 1001); `None`: never.
    pub restart_after: Option<Duration>,
    /// The server's name in its `hello` (several demos simulate a fleet).
    pub name: String,
}

impl Default for DemoConfig {
    fn default() -> DemoConfig {
        DemoConfig {
            admin: None,
            restart_after: Some(Duration::from_secs(15)),
            name: DEFAULT_NAME.to_string(),
        }
    }
}

/// The running demo. Dropping it stops the server, the proxies and the clients.
pub struct DemoHandle {
    tap: Tap,
    backend: SocketAddr,
    guard: TapGuard,
    first: Option<Subscription>,
    _tasks: JoinSet<()>,
}

impl DemoHandle {
    pub fn tap(&self) -> &Tap {
        &self.tap
    }

    /// The subscription opened before the first client started: it sees every event.
    /// `None` once taken.
    pub fn take_subscription(&mut self) -> Option<Subscription> {
        self.first.take()
    }

    /// An in-process subscription: `hello`, `snapshot`, then live events.
    pub fn subscribe(&self) -> Subscription {
        self.tap.subscribe()
    }

    /// The demo WebSocket server (loopback).
    pub fn server_addr(&self) -> SocketAddr {
        self.backend
    }

    /// The admin feed's URL, when one is served.
    pub fn admin_url(&self) -> Option<String> {
        self.guard.admin_url()
    }
}

/// Starts the demo on the current tokio runtime. Subscribe right away to see every event.
pub async fn start(config: DemoConfig) -> io::Result<DemoHandle> {
    let heartbeat = HeartbeatPolicy::new(Duration::from_secs(2), Duration::from_secs(1));
    let builder = Tap::builder()
        .server(config.name.as_str())
        .software(concat!("wscope-demo/", env!("CARGO_PKG_VERSION")))
        .heartbeat(Some(heartbeat))
        // The misbehaving servers the demo shows: one that never pings, one that pings but
        // never drops a silent peer.
        .heartbeat_for_path("/quiet", None)
        .heartbeat_for_path("/legacy", Some(heartbeat.keep_silent_peers()))
        .process_interval(Some(Duration::from_secs(2)));
    let guard = match config.admin {
        Some(admin) => builder.admin_addr(admin.addr).token(admin.token),
        None => builder.without_admin(),
    }
    .spawn()
    .await?;
    let tap = guard.tap();
    let first = tap.subscribe();
    let mut tasks = JoinSet::new();
    let backend = server::spawn(tap.clone(), config.restart_after, &mut tasks).await?;
    let targets = clients::Targets {
        backend,
        idle_proxy: proxy::idle_cut(backend, PROXY_IDLE, &mut tasks).await?,
        strip_proxy: proxy::strip_upgrade(backend, &mut tasks).await?,
    };
    clients::spawn_all(targets, &mut tasks);
    Ok(DemoHandle {
        tap,
        backend,
        guard,
        first: Some(first),
        _tasks: tasks,
    })
}
