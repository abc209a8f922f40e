//! Live admin feeds (feed-protocol.md, "The live admin feed"): connect, authenticate, read
//! events, and reconnect with backoff, one task per feed, all into one channel.
//!
//! The consumer (headless attach, the TUI, a recorder) reads [`SourceMsg`]s from one bounded
//! channel. When it falls behind, the feed tasks stop reading their sockets, and the
//! server, not wscope, drops events for this slow subscriber and says so with `dropped`. After a
//! reconnect the server sends `hello` and `snapshot` again; the model replaces that server's
//! state on `snapshot`, so nothing is counted twice.

use super::{SourceMsg, SourceState};
use crate::event::{EventKind, parse_event};
use crate::sanitize::inert;
use futures_util::{SinkExt, StreamExt};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, Semaphore, mpsc};
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep, timeout, timeout_at};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::client::Request;
use tokio_tungstenite::tungstenite::http::{HeaderValue, StatusCode, header};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{Connector, connect_async_tls_with_config};

/// Bytes of received frames not yet applied, held by the frame on its way to the consumer
/// and given back when it is dropped. While the budget is spent the feed stops reading its
/// socket: the server's queue for this viewer fills and drops events (counted), and memory
/// here stays bounded whatever the frames' size.
#[derive(Debug, Default)]
pub struct QueuedBytes {
    _permit: Option<tokio::sync::OwnedSemaphorePermit>,
}

/// How feeds connect and when they give up on a silent server.
#[derive(Clone, Debug)]
pub struct FeedOptions {
    /// Sent as `Authorization: Bearer TOKEN`.
    pub token: Option<String>,
    /// TCP connect, TLS and the upgrade together.
    pub connect_timeout: Duration,
    /// wscope pings the feed this often, so that an idle server still answers with pongs.
    pub ping_interval: Duration,
    /// Nothing at all received (no event, no pong) for this long: the feed is dead; reconnect.
    pub read_timeout: Duration,
    /// Backoff before reconnecting: full jitter over `base * 2^attempt`, capped.
    pub backoff_base: Duration,
    pub backoff_cap: Duration,
    /// A connection that kept talking this long (from its upgrade to the last frame heard)
    /// resets the backoff. Time spent waiting on a silent server does not count.
    pub backoff_reset_after: Duration,
    /// Largest frame accepted; a big server's `snapshot` can take several MiB.
    pub max_frame_bytes: usize,
    /// Ask for a fresh `snapshot` after a `dropped` event, at most once per this interval.
    pub resync_after_dropped: Option<Duration>,
    /// TLS client settings for `wss://`; `None` uses the system and webpki roots.
    pub tls: Option<Arc<rustls::ClientConfig>>,
    /// Items buffered between the feed tasks and the consumer.
    pub channel_capacity: usize,
    /// Bytes of frames received and not yet applied, at most (a frame larger than this
    /// takes the whole budget alone).
    pub queue_bytes: usize,
    /// Ask a feed that keeps one for its history on the first connection (feed-protocol
    /// extensions). A reconnection always asks only for what came after the last event
    /// heard, so nothing is counted twice.
    pub history: bool,
}

impl Default for FeedOptions {
    fn default() -> Self {
        FeedOptions {
            token: None,
            connect_timeout: Duration::from_secs(10),
            ping_interval: Duration::from_secs(5),
            read_timeout: Duration::from_secs(20),
            backoff_base: Duration::from_millis(500),
            backoff_cap: Duration::from_secs(30),
            backoff_reset_after: Duration::from_secs(10),
            max_frame_bytes: 64 << 20,
            resync_after_dropped: Some(Duration::from_secs(10)),
            tls: None,
            channel_capacity: 4096,
            queue_bytes: 256 << 20,
            history: true,
        }
    }
}

/// A URL or token that cannot work: reported before anything connects.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedError(pub String);

impl std::fmt::Display for FeedError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for FeedError {}

/// The running feed tasks. Dropping it stops them.
pub struct Feeds {
    feeds: Vec<(JoinHandle<()>, Arc<Notify>)>,
}

impl Feeds {
    /// Asks feed `index` for a fresh `snapshot` (`{"type":"resync"}`).
    pub fn request_resync(&self, index: usize) {
        if let Some((_, notify)) = self.feeds.get(index) {
            notify.notify_one();
        }
    }

    pub fn len(&self) -> usize {
        self.feeds.len()
    }

    pub fn is_empty(&self) -> bool {
        self.feeds.is_empty()
    }

    /// Stops every feed task now; items already in the channel stay readable.
    pub fn stop(&self) {
        for (task, _) in &self.feeds {
            task.abort();
        }
    }
}

impl Drop for Feeds {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Checks a feed URL: `ws://` or `wss://`, with a host.
pub fn check_url(url: &str) -> Result<(), FeedError> {
    let req = url
        .into_client_request()
        .map_err(|e| FeedError(format!("{}: not a WebSocket URL ({e})", inert(url))))?;
    match req.uri().scheme_str() {
        Some("ws") | Some("wss") => {}
        _ => {
            return Err(FeedError(format!(
                "{}: the feed URL must start with ws:// or wss://",
                inert(url)
            )));
        }
    }
    if req.uri().host().is_none_or(str::is_empty) {
        return Err(FeedError(format!("{}: the URL has no host", inert(url))));
    }
    Ok(())
}

fn build_request(url: &str, token: Option<&str>) -> Result<Request, FeedError> {
    check_url(url)?;
    let mut req = url
        .into_client_request()
        .map_err(|e| FeedError(format!("{}: {e}", inert(url))))?;
    if let Some(token) = token {
        let value = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| {
            FeedError("the token holds characters an HTTP header cannot carry".into())
        })?;
        req.headers_mut().insert(header::AUTHORIZATION, value);
    }
    Ok(req)
}

/// TLS client settings with the ring provider (no process-wide provider needed) and the
/// webpki roots, plus the system's roots in the binary.
pub fn default_tls() -> Result<Arc<rustls::ClientConfig>, FeedError> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    #[cfg(feature = "cli")]
    {
        let native = rustls_native_certs::load_native_certs();
        roots.add_parsable_certificates(native.certs);
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| FeedError(format!("TLS setup: {e}")))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(Arc::new(config))
}

/// Starts one task per URL. Must be called inside a tokio runtime. Every URL and the token are
/// checked first, so a typo fails at once rather than in a retry loop.
pub fn spawn(
    urls: &[String],
    options: FeedOptions,
) -> Result<(Feeds, mpsc::Receiver<SourceMsg>), FeedError> {
    if urls.is_empty() {
        return Err(FeedError("no feed URL given".into()));
    }
    let mut requests = Vec::with_capacity(urls.len());
    for url in urls {
        requests.push(build_request(url, options.token.as_deref())?);
    }
    let tls = match &options.tls {
        Some(tls) => tls.clone(),
        None if urls.iter().any(|u| u.starts_with("wss:")) => default_tls()?,
        None => Arc::new(plain_only_tls()),
    };
    let (tx, rx) = mpsc::channel(options.channel_capacity.max(1));
    let budget = Arc::new(Semaphore::new(kib(options.queue_bytes).max(1) as usize));
    let options = Arc::new(options);
    let feeds = requests
        .into_iter()
        .enumerate()
        .map(|(index, request)| {
            let notify = Arc::new(Notify::new());
            let feed = Feed {
                index,
                request,
                options: options.clone(),
                tls: tls.clone(),
                tx: tx.clone(),
                budget: budget.clone(),
                last_heard_ts: std::sync::atomic::AtomicI64::new(0),
                resync: notify.clone(),
            };
            (tokio::spawn(feed.run()), notify)
        })
        .collect();
    Ok((Feeds { feeds }, rx))
}

/// A TLS config for the case where no URL uses TLS: never used to connect.
fn plain_only_tls() -> rustls::ClientConfig {
    rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions")
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth()
}

/// Capped exponential backoff with full jitter: the n-th wait is uniform in
/// `[0, min(cap, base * 2^n)]`, so many wscope instances do not reconnect in step.
#[derive(Clone, Debug)]
pub struct Backoff {
    base: Duration,
    cap: Duration,
    attempt: u32,
}

impl Backoff {
    pub fn new(base: Duration, cap: Duration) -> Backoff {
        Backoff {
            base,
            cap,
            attempt: 0,
        }
    }

    /// The ceiling of the next wait, before jitter.
    pub fn ceiling(&self) -> Duration {
        let factor = 1u32.checked_shl(self.attempt.min(31)).unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.cap)
    }

    pub fn next_delay(&mut self) -> Duration {
        let ceiling = self.ceiling();
        self.attempt = self.attempt.saturating_add(1);
        ceiling.mul_f64(fastrand::f64())
    }

    pub fn reset(&mut self) {
        self.attempt = 0;
    }
}

/// Why the consumer went away: the feed task stops.
struct ConsumerGone;

struct Feed {
    index: usize,
    request: Request,
    options: Arc<FeedOptions>,
    tls: Arc<rustls::ClientConfig>,
    tx: mpsc::Sender<SourceMsg>,
    resync: Arc<Notify>,
    /// Shared by the feeds of one consumer: see [`QueuedBytes`].
    budget: Arc<Semaphore>,
    /// The time of the latest event heard, in nanoseconds (0: none yet).
    last_heard_ts: std::sync::atomic::AtomicI64,
}

/// A size in KiB, rounded up, as semaphore permits.
fn kib(bytes: usize) -> u32 {
    u32::try_from(bytes.div_ceil(1024)).unwrap_or(u32::MAX)
}

impl Feed {
    /// Waits until `bytes` fit in the budget (all of it, for a frame larger than it).
    async fn reserve(&self, bytes: usize) -> QueuedBytes {
        let total = kib(self.options.queue_bytes).max(1);
        let want = kib(bytes).clamp(1, total);
        QueuedBytes {
            _permit: self.budget.clone().acquire_many_owned(want).await.ok(),
        }
    }

    async fn send(&self, msg: SourceMsg) -> Result<(), ConsumerGone> {
        self.tx.send(msg).await.map_err(|_| ConsumerGone)
    }

    async fn status(&self, state: SourceState) -> Result<(), ConsumerGone> {
        let source = self.index;
        self.send(SourceMsg::State { source, state }).await
    }

    /// A frame that is not an event: counted and skipped.
    async fn skipped(&self, why: String) -> Result<(), ConsumerGone> {
        let (source, count) = (self.index, 1);
        self.send(SourceMsg::Skipped { source, count, why }).await
    }

    async fn run(self) {
        let _ = self.run_until_gone().await;
    }

    async fn run_until_gone(&self) -> Result<(), ConsumerGone> {
        let opts = &self.options;
        let mut backoff = Backoff::new(opts.backoff_base, opts.backoff_cap);
        let mut attempt = 0u32;
        loop {
            attempt = attempt.saturating_add(1);
            self.status(SourceState::Connecting { attempt }).await?;
            let config = WebSocketConfig::default()
                .max_message_size(Some(opts.max_frame_bytes))
                .max_frame_size(Some(opts.max_frame_bytes));
            let connect = connect_async_tls_with_config(
                self.request_now(),
                Some(config),
                true,
                Some(Connector::Rustls(self.tls.clone())),
            );
            // How long the connection kept talking: a server that accepts and never answers,
            // or goes silent after its `hello`, must not reset the backoff.
            let (reason, talked) = match timeout(opts.connect_timeout, connect).await {
                Err(_) => (
                    format!(
                        "no answer within {:.0?} (connect, TLS and upgrade)",
                        opts.connect_timeout
                    ),
                    Duration::ZERO,
                ),
                Ok(Err(tungstenite::Error::Http(resp)))
                    if matches!(
                        resp.status(),
                        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN
                    ) =>
                {
                    let status = resp.status().as_u16();
                    let message = match &self.options.token {
                        None => format!("HTTP {status}: the feed needs a token and none was given"),
                        Some(_) => format!("HTTP {status}: the feed refused the token"),
                    };
                    self.status(SourceState::Unauthorized { message }).await?;
                    return Ok(());
                }
                Ok(Err(e)) => (describe_error(&e), Duration::ZERO),
                Ok(Ok((ws, _response))) => {
                    self.status(SourceState::Connected).await?;
                    self.read(ws).await?
                }
            };
            if talked >= opts.backoff_reset_after {
                backoff.reset();
            }
            let retry_in = backoff.next_delay();
            let since = std::time::Instant::now();
            self.status(SourceState::Retrying {
                reason,
                retry_in,
                since,
            })
            .await?;
            sleep(retry_in).await;
        }
    }

    /// The upgrade request of the next attempt: the first asks for the history (unless told
    /// not to); later ones only for what came after the last event heard.
    fn request_now(&self) -> Request {
        use std::sync::atomic::Ordering::Relaxed;
        let mut request = self.request.clone();
        let heard = self.last_heard_ts.load(Relaxed);
        let headers = request.headers_mut();
        if heard != 0 {
            let since = crate::event::Ts(heard).to_rfc3339();
            if let Ok(v) = HeaderValue::from_str(&since) {
                headers.insert("X-Wscope-History-Since", v);
            }
        } else if !self.options.history {
            headers.insert("X-Wscope-History", HeaderValue::from_static("0"));
        }
        request
    }

    /// Reads one connection until it ends; returns why it ended, and how long it kept
    /// talking (from the upgrade to the last frame heard).
    async fn read<S>(
        &self,
        ws: tokio_tungstenite::WebSocketStream<S>,
    ) -> Result<(String, Duration), ConsumerGone>
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    {
        let connected = Instant::now();
        let mut last_heard = connected;
        let reason = self.read_frames(ws, &mut last_heard).await?;
        Ok((reason, last_heard - connected))
    }

    async fn read_frames<S>(
        &self,
        ws: tokio_tungstenite::WebSocketStream<S>,
        last_heard: &mut Instant,
    ) -> Result<String, ConsumerGone>
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    {
        let opts = &self.options;
        let (mut sink, mut stream) = ws.split();
        let mut ping =
            tokio::time::interval_at(Instant::now() + opts.ping_interval, opts.ping_interval);
        ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_resync: Option<Instant> = None;
        // Writes are tiny; one that does not finish within the read timeout means a dead peer.
        let write_timeout = opts.read_timeout;
        loop {
            let mut want_resync = false;
            tokio::select! {
                next = timeout_at(*last_heard + opts.read_timeout, stream.next()) => {
                    let msg = match next {
                        Err(_) => return Ok(format!(
                            "nothing received for {:.0?}: the feed or the network is stuck",
                            opts.read_timeout
                        )),
                        Ok(None) => return Ok("the connection ended".into()),
                        Ok(Some(Err(e))) => return Ok(describe_error(&e)),
                        Ok(Some(Ok(msg))) => msg,
                    };
                    *last_heard = Instant::now();
                    match self.on_frame(msg, last_resync).await? {
                        Frame::Ended(reason) => return Ok(reason),
                        Frame::Read { resync } => want_resync = resync,
                    }
                }
                _ = ping.tick() => {
                    match timeout(write_timeout, sink.send(Message::Ping(Default::default()))).await {
                        Ok(Ok(())) => {}
                        Ok(Err(e)) => return Ok(describe_error(&e)),
                        Err(_) => return Ok("the feed stopped accepting data".into()),
                    }
                }
                _ = self.resync.notified() => want_resync = true,
            }
            if want_resync {
                last_resync = Some(Instant::now());
                let frame = Message::text(r#"{"type":"resync"}"#);
                match timeout(write_timeout, sink.send(frame)).await {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => return Ok(describe_error(&e)),
                    Err(_) => return Ok("the feed stopped accepting data".into()),
                }
            }
        }
    }

    /// One frame of the feed, passed on. A `dropped` event asks for a resync (at most every
    /// `resync_after_dropped`); a close frame ends the feed.
    async fn on_frame(
        &self,
        msg: Message,
        last_resync: Option<Instant>,
    ) -> Result<Frame, ConsumerGone> {
        let opts = &self.options;
        match msg {
            Message::Text(text) => {
                let bytes = text.len();
                match parse_event(text.as_bytes()) {
                    Ok(event) => {
                        self.last_heard_ts
                            .fetch_max(event.ts.0, std::sync::atomic::Ordering::Relaxed);
                        let resync = matches!(event.kind, EventKind::Dropped { .. })
                            && opts.resync_after_dropped.is_some_and(|every| {
                                last_resync.is_none_or(|t| t.elapsed() >= every)
                            });
                        // Reserved before reading on: a consumer that falls behind slows
                        // this socket, not memory.
                        let queued = self.reserve(bytes).await;
                        let raw = Some(text.as_str().to_owned());
                        let source = self.index;
                        let msg = SourceMsg::Event {
                            source,
                            event,
                            raw,
                            queued,
                        };
                        self.send(msg).await?;
                        return Ok(Frame::Read { resync });
                    }
                    Err(e) => {
                        let error = inert(&e.to_string()).into_owned();
                        self.skipped(format!("a frame of {bytes} bytes: {error}"))
                            .await?;
                    }
                }
            }
            Message::Binary(b) => {
                let bytes = b.len();
                self.skipped(format!(
                    "a binary frame of {bytes} bytes (events are text frames)"
                ))
                .await?;
            }
            Message::Close(frame) => {
                return Ok(Frame::Ended(match frame {
                    Some(f) => format!(
                        "the server closed the feed ({} {})",
                        u16::from(f.code),
                        inert(f.reason.as_str())
                    ),
                    None => "the server closed the feed".into(),
                }));
            }
            Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => {}
        }
        Ok(Frame::Read { resync: false })
    }
}

/// What one frame did to the feed.
enum Frame {
    /// Passed on; `resync` when it asks for one.
    Read { resync: bool },
    /// The feed ended, for this reason.
    Ended(String),
}

/// A short reason for a person, with anything from the network made inert.
fn describe_error(e: &tungstenite::Error) -> String {
    use tungstenite::error::ProtocolError;
    match e {
        tungstenite::Error::Http(resp) => {
            let status = resp.status();
            format!(
                "HTTP {} {} instead of a WebSocket upgrade",
                status.as_u16(),
                status.canonical_reason().unwrap_or("")
            )
        }
        tungstenite::Error::Protocol(ProtocolError::ResetWithoutClosingHandshake) => {
            "the connection was cut without a close frame".into()
        }
        tungstenite::Error::Io(io) => inert(&io.to_string()).into_owned(),
        tungstenite::Error::Capacity(c) => format!("a frame over the size limit ({c})"),
        other => inert(&other.to_string()).into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_with_jitter_below_the_ceiling() {
        let mut b = Backoff::new(Duration::from_millis(500), Duration::from_secs(30));
        let mut ceilings = Vec::new();
        for _ in 0..10 {
            let ceiling = b.ceiling();
            let d = b.next_delay();
            assert!(d <= ceiling, "{d:?} over {ceiling:?}");
            ceilings.push(ceiling.as_millis());
        }
        assert_eq!(
            ceilings,
            [
                500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000, 30000
            ]
        );
        b.reset();
        assert_eq!(b.ceiling(), Duration::from_millis(500));
        // Many attempts must not overflow.
        for _ in 0..100 {
            b.next_delay();
        }
        assert_eq!(b.ceiling(), Duration::from_secs(30));
    }

    #[test]
    fn jitter_spreads_the_delays() {
        let mut b = Backoff::new(Duration::from_secs(30), Duration::from_secs(30));
        let delays: Vec<_> = (0..50).map(|_| b.next_delay()).collect();
        let distinct: std::collections::HashSet<_> = delays.iter().collect();
        assert!(distinct.len() > 40);
        assert!(delays.iter().any(|d| *d < Duration::from_secs(15)));
        assert!(delays.iter().any(|d| *d > Duration::from_secs(15)));
    }

    #[test]
    fn urls_are_checked_before_connecting() {
        assert!(check_url("ws://127.0.0.1:9000/feed").is_ok());
        assert!(check_url("wss://example.net/feed").is_ok());
        for bad in [
            "http://127.0.0.1/",
            "127.0.0.1:9000",
            "",
            "ws://",
            "ftp://x/",
        ] {
            let err = check_url(bad).unwrap_err();
            assert!(!err.0.is_empty(), "{bad}");
        }
        assert!(build_request("ws://127.0.0.1/", Some("bad\ntoken")).is_err());
        let req = build_request("ws://127.0.0.1/", Some("s3cret")).unwrap();
        assert_eq!(req.headers()[header::AUTHORIZATION], "Bearer s3cret");
    }
}
