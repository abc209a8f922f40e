//! [`TapBuilder`]: how a tap is set up, each setting with its default, and
//! [`TapBuilder::spawn`], which starts it and its admin feed.

use crate::admin::{AdminConfig, AdminServer, TlsFiles, serve_admin};
use crate::{HeartbeatPolicy, HistoryLimits, Tap, TapConfig};
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Sets up a [`Tap`]. Start from [`Tap::builder`], change what differs, then
/// [`spawn`](TapBuilder::spawn):
///
/// ```no_run
/// # async fn run() -> std::io::Result<()> {
/// let guard = wscope_tap::Tap::builder()
///     .server("chat-1")
///     .with_default_env() // WSCOPE_TOKEN, WSCOPE_ADMIN_ADDR, ...
///     .spawn()
///     .await?;
/// let tap = guard.tap(); // clone it into every connection task
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
#[must_use = "a builder does nothing until spawned"]
pub struct TapBuilder {
    config: TapConfig,
    admin: Option<AdminConfig>,
    /// A malformed environment variable, said by `spawn`.
    env_error: Option<String>,
}

impl Default for TapBuilder {
    fn default() -> TapBuilder {
        TapBuilder {
            config: TapConfig {
                server: None,
                software: Some(concat!("wscope-tap/", env!("CARGO_PKG_VERSION")).into()),
                heartbeat: Some(HeartbeatPolicy::new(
                    Duration::from_secs(30),
                    Duration::from_secs(10),
                )),
                path_heartbeats: Vec::new(),
                subscriber_queue: 8192,
                flush_interval: Duration::from_millis(250),
                process_interval: Some(Duration::from_secs(10)),
                handshake_timeout: Duration::from_secs(10),
                history: Some(HistoryLimits::default()),
            },
            admin: Some(AdminConfig::new(AdminConfig::DEFAULT_ADDR, String::new())),
            env_error: None,
        }
    }
}

impl TapBuilder {
    /// The server's name in `hello`, so a fleet's viewers tell instances apart. Default:
    /// none (a viewer names it after its feed).
    pub fn server(mut self, name: impl Into<String>) -> Self {
        self.config.server = Some(name.into());
        self
    }

    /// What the server is, e.g. `chat/2.3.1`. Default: `wscope-tap/VERSION`.
    pub fn software(mut self, software: impl Into<String>) -> Self {
        self.config.software = Some(software.into());
        self
    }

    /// The heartbeat every accepted connection runs, announced in `hello` (`None`: no pings,
    /// for a server whose clients ping). Default: a ping every 30 s, terminate after 10 s
    /// without a pong.
    pub fn heartbeat(mut self, policy: Option<HeartbeatPolicy>) -> Self {
        self.config.heartbeat = policy;
        self
    }

    /// Another heartbeat for connections whose path starts with `prefix` (the longest
    /// matching prefix wins), e.g. longer intervals for `/mobile`.
    pub fn heartbeat_for_path(
        mut self,
        prefix: impl Into<String>,
        policy: Option<HeartbeatPolicy>,
    ) -> Self {
        self.config.path_heartbeats.push((prefix.into(), policy));
        self
    }

    /// Events a subscriber may fall behind before it loses some (counted and told).
    /// Default: 8192.
    pub fn subscriber_queue(mut self, events: usize) -> Self {
        self.config.subscriber_queue = events;
        self
    }

    /// How often message counts are reported, per connection. Default: 250 ms.
    pub fn flush_interval(mut self, every: Duration) -> Self {
        self.config.flush_interval = every;
        self
    }

    /// How often the process's memory and descriptors are reported (`None`: never).
    /// Default: 10 s.
    pub fn process_interval(mut self, every: Option<Duration>) -> Self {
        self.config.process_interval = every;
        self
    }

    /// How long a client has to send its upgrade request. Default: 10 s.
    pub fn handshake_timeout(mut self, timeout: Duration) -> Self {
        self.config.handshake_timeout = timeout;
        self
    }

    /// What a new subscriber is sent of the past (`None`: nothing). Default: the last
    /// 10 minutes, at most 64 MiB.
    pub fn history(mut self, limits: Option<HistoryLimits>) -> Self {
        self.config.history = limits;
        self
    }

    /// Where the admin feed (and `/metrics`) listens. Default: 127.0.0.1:9300, loopback
    /// only; listen elsewhere only with [`TapBuilder::tls`].
    pub fn admin_addr(mut self, addr: SocketAddr) -> Self {
        if let Some(admin) = self.admin.as_mut() {
            admin.addr = addr;
        }
        self
    }

    /// The token every viewer and scraper must send. Required unless
    /// [`TapBuilder::without_admin`].
    pub fn token(mut self, token: impl Into<String>) -> Self {
        if let Some(admin) = self.admin.as_mut() {
            admin.token = token.into();
        }
        self
    }

    /// Serves the admin feed over TLS (`wss://`) with this certificate chain and key (PEM).
    pub fn tls(mut self, cert_pem: impl Into<PathBuf>, key_pem: impl Into<PathBuf>) -> Self {
        if let Some(admin) = self.admin.as_mut() {
            admin.tls = Some(TlsFiles {
                cert_pem: cert_pem.into(),
                key_pem: key_pem.into(),
            });
        }
        self
    }

    /// Admin connections served at once (viewers and scrapes); more get 503. Default: 64.
    pub fn max_admin_connections(mut self, n: usize) -> Self {
        if let Some(admin) = self.admin.as_mut() {
            admin.max_connections = n;
        }
        self
    }

    /// No admin feed: events reach only in-process subscribers ([`Tap::subscribe`]).
    pub fn without_admin(mut self) -> Self {
        self.admin = None;
        self
    }

    /// Takes what the environment sets: `WSCOPE_TOKEN`, `WSCOPE_ADMIN_ADDR` (`HOST:PORT`),
    /// `WSCOPE_SERVER`, `WSCOPE_TLS_CERT` with `WSCOPE_TLS_KEY`, and `WSCOPE_HISTORY` (`0`
    /// for none, or how far back: `90s`, `10m`, `1h`). Unset variables change nothing; a
    /// malformed one is an error from [`spawn`](TapBuilder::spawn).
    pub fn with_default_env(self) -> Self {
        self.with_env(|name| std::env::var(name).ok())
    }

    fn with_env(mut self, var: impl Fn(&str) -> Option<String>) -> Self {
        if let Some(token) = var("WSCOPE_TOKEN") {
            self = self.token(token);
        }
        if let Some(addr) = var("WSCOPE_ADMIN_ADDR") {
            match addr.parse() {
                Ok(addr) => self = self.admin_addr(addr),
                Err(_) => {
                    self.env_error = Some(format!("WSCOPE_ADMIN_ADDR={addr:?} is not IP:PORT"));
                }
            }
        }
        if let Some(server) = var("WSCOPE_SERVER") {
            self = self.server(server);
        }
        if let (Some(cert), Some(key)) = (var("WSCOPE_TLS_CERT"), var("WSCOPE_TLS_KEY")) {
            self = self.tls(cert, key);
        }
        if let Some(history) = var("WSCOPE_HISTORY") {
            match parse_age(&history) {
                Some(age) if age.is_zero() => self = self.history(None),
                Some(age) => {
                    let bytes = self.config.history.unwrap_or_default().max_bytes;
                    self = self.history(Some(HistoryLimits::new(age, bytes)));
                }
                None => {
                    self.env_error = Some(format!(
                        "WSCOPE_HISTORY={history:?} is not 0, 90s, 10m or 1h"
                    ));
                }
            }
        }
        self
    }

    /// Starts the tap (its flusher and process sampler) and, unless
    /// [`without_admin`](TapBuilder::without_admin), its admin feed. Inside a tokio runtime
    /// only. The feed stops when the returned guard is dropped.
    pub async fn spawn(self) -> io::Result<TapGuard> {
        let invalid = |m: String| io::Error::new(io::ErrorKind::InvalidInput, m);
        if let Some(e) = self.env_error {
            return Err(invalid(e));
        }
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(invalid(
                "TapBuilder::spawn must run inside a tokio runtime".into(),
            ));
        }
        let tap = Tap::new(self.config);
        let admin = match self.admin {
            Some(admin) if admin.token.is_empty() => {
                return Err(invalid(
                    "the admin feed needs a token: .token(...) or WSCOPE_TOKEN (or .without_admin())"
                        .into(),
                ));
            }
            Some(admin) => Some(serve_admin(&tap, admin).await?),
            None => None,
        };
        Ok(TapGuard { tap, admin })
    }
}

/// How far back, from `0`, `90s`, `10m`, `1h` or plain seconds.
fn parse_age(s: &str) -> Option<Duration> {
    let s = s.trim();
    let (digits, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = digits.parse().ok()?;
    let secs = match unit {
        "" | "s" => n,
        "m" => n.checked_mul(60)?,
        "h" => n.checked_mul(3600)?,
        _ => return None,
    };
    Some(Duration::from_secs(secs))
}

/// A running tap and its admin feed; dropping it stops the feed (the tap's own work ends
/// with its last clone).
#[must_use = "dropping the guard stops the admin feed at once"]
pub struct TapGuard {
    tap: Tap,
    admin: Option<AdminServer>,
}

impl TapGuard {
    /// The tap, to clone into every connection task.
    pub fn tap(&self) -> Tap {
        self.tap.clone()
    }

    /// Where the admin feed listens (its port, when bound to port 0).
    pub fn admin_addr(&self) -> Option<SocketAddr> {
        self.admin.as_ref().map(AdminServer::local_addr)
    }

    /// `ws://ADDR/` or `wss://ADDR/`, for `wscope attach`.
    pub fn admin_url(&self) -> Option<String> {
        self.admin.as_ref().map(AdminServer::url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_environment_sets_what_it_names() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        let b = TapBuilder::default().with_env(env(&[
            ("WSCOPE_TOKEN", "t0k"),
            ("WSCOPE_ADMIN_ADDR", "127.0.0.1:0"),
            ("WSCOPE_SERVER", "edge-9"),
            ("WSCOPE_HISTORY", "5m"),
        ]));
        let admin = b.admin.as_ref().unwrap();
        assert_eq!(admin.token, "t0k");
        assert_eq!(admin.addr.port(), 0);
        assert_eq!(b.config.server.as_deref(), Some("edge-9"));
        assert_eq!(b.config.history.unwrap().max_age, Duration::from_secs(300));
        assert!(b.env_error.is_none());
        let b = TapBuilder::default().with_env(env(&[("WSCOPE_HISTORY", "0")]));
        assert!(b.config.history.is_none());
        let b = TapBuilder::default().with_env(env(&[("WSCOPE_ADMIN_ADDR", "localhost")]));
        assert!(b.env_error.unwrap().contains("WSCOPE_ADMIN_ADDR"));
        let b = TapBuilder::default().with_env(env(&[("WSCOPE_HISTORY", "soon")]));
        assert!(b.env_error.is_some());
    }

    #[test]
    fn spawning_outside_a_runtime_is_an_error_not_a_silent_tap() {
        let mut spawn = std::pin::pin!(TapBuilder::default().token("x").spawn());
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        match spawn.as_mut().poll(&mut cx) {
            std::task::Poll::Ready(Err(e)) => assert!(e.to_string().contains("runtime"), "{e}"),
            _ => panic!("spawned outside a runtime"),
        }
    }

    #[tokio::test]
    async fn a_feed_without_a_token_is_refused() {
        let e = TapBuilder::default().spawn().await.err().unwrap();
        assert!(e.to_string().contains("token"), "{e}");
        let g = TapBuilder::default()
            .token("x")
            .admin_addr("127.0.0.1:0".parse().unwrap())
            .spawn()
            .await
            .unwrap();
        assert!(g.admin_url().unwrap().starts_with("ws://127.0.0.1:"));
    }
}
