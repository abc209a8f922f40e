//! Accepting through the tap, and the WebSocket it hands back: a `Stream` + `Sink` of
//! `Message` like tokio-tungstenite's, which reports traffic, pings, pongs and the close,
//! and runs the heartbeat.

use super::handshake::{self, HeadError, RequestInfo};
use super::sniff::CloseSniffer;
use super::{ConnHandle, Tap};
use futures_util::{Sink, Stream};
use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::{Instant, Sleep};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::tungstenite::{Bytes, Error as WsError, Message};
use wscope_protocol::{Initiator, Open, Str, UpgradeRejected};

/// How connections are kept alive: a ping every `interval`; a connection whose pong has not
/// come `pong_timeout` after a ping is terminated (the practice `ws` recommends), unless
/// [`HeartbeatPolicy::keep_silent_peers`] says otherwise. Set tap-wide with
/// [`TapBuilder::heartbeat`](crate::TapBuilder::heartbeat), per path with
/// [`TapBuilder::heartbeat_for_path`](crate::TapBuilder::heartbeat_for_path).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeartbeatPolicy {
    pub(crate) interval: Duration,
    pub(crate) pong_timeout: Duration,
    pub(crate) terminate: bool,
}

impl HeartbeatPolicy {
    /// Ping every `interval`, terminate a connection silent `pong_timeout` after a ping.
    pub fn new(interval: Duration, pong_timeout: Duration) -> HeartbeatPolicy {
        HeartbeatPolicy {
            interval,
            pong_timeout,
            terminate: true,
        }
    }

    /// Keep pinging, but never act on a silent peer (wscope then lists it as a zombie).
    pub fn keep_silent_peers(mut self) -> HeartbeatPolicy {
        self.terminate = false;
        self
    }

    pub fn interval(&self) -> Duration {
        self.interval
    }

    pub fn pong_timeout(&self) -> Duration {
        self.pong_timeout
    }
}

/// An upgrade request refused by the application: a status (any, with its standard reason
/// phrase on the status line), a reason for wscope and the response body, and headers (a
/// `Retry-After` with a 429, a `WWW-Authenticate` with a 401).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reject {
    pub(crate) status: u16,
    pub(crate) reason: String,
    pub(crate) headers: Vec<(String, String)>,
}

impl Reject {
    /// Refuses with `status` (400 to 599; others become 500) and `reason`.
    pub fn new(status: u16, reason: impl Into<String>) -> Reject {
        let status = if (400..600).contains(&status) {
            status
        } else {
            500
        };
        Reject {
            status,
            reason: reason.into(),
            headers: Vec::new(),
        }
    }

    /// Adds a response header (names and values with line breaks are left out).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Reject {
        let (name, value) = (name.into(), value.into());
        let clean = |s: &str| !s.contains(['\r', '\n']);
        if clean(&name) && clean(&value) && !name.is_empty() {
            self.headers.push((name, value));
        }
        self
    }
}

/// What the application decides about an upgrade request it has seen.
#[derive(Clone, Debug, Default)]
pub struct Accept {
    /// The application-level identity of the client (user or device id), if known.
    pub client: Option<String>,
    /// The subprotocol chosen from `Sec-WebSocket-Protocol`, if any.
    pub subprotocol: Option<String>,
    /// More headers for the `101 Switching Protocols` answer (a `Set-Cookie`...); names and
    /// values with line breaks are left out.
    pub headers: Vec<(String, String)>,
}

/// Why an upgrade did not happen. Every variant but `Closed` was reported as
/// `upgrade_rejected`.
#[derive(Debug)]
pub enum AcceptError {
    Io(std::io::Error),
    /// The request was answered with this status instead of 101.
    Rejected {
        status: u16,
        reason: String,
    },
    /// The peer closed before sending a request.
    Closed,
}

impl fmt::Display for AcceptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AcceptError::Io(e) => write!(f, "upgrade failed: {e}"),
            AcceptError::Rejected { status, reason } => {
                write!(f, "upgrade rejected ({status}): {reason}")
            }
            AcceptError::Closed => f.write_str("peer closed before sending a request"),
        }
    }
}

impl std::error::Error for AcceptError {}

impl Tap {
    /// Accepts a WebSocket on `stream`, the tap's heartbeat running on it.
    pub async fn accept<S>(
        &self,
        stream: S,
        remote: Option<SocketAddr>,
    ) -> Result<TappedWebSocket<S>, AcceptError>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        self.accept_with(stream, remote, |_| Ok(Accept::default()))
            .await
    }

    /// Like [`Tap::accept`], with the application's say on the request: `Err(Reject)`
    /// refuses it (answered with that status and headers, reported as `upgrade_rejected`).
    pub async fn accept_with<S, F>(
        &self,
        mut stream: S,
        remote: Option<SocketAddr>,
        decide: F,
    ) -> Result<TappedWebSocket<S>, AcceptError>
    where
        S: AsyncRead + AsyncWrite + Unpin,
        F: FnOnce(&RequestInfo) -> Result<Accept, Reject>,
    {
        let remote_str = remote.map(|r| Str::from(r.to_string()));
        let timeout = self.config().handshake_timeout;
        let head = tokio::time::timeout(timeout, handshake::read_head(&mut stream)).await;
        let (request, leftover) = match head {
            Ok(Ok(h)) => h,
            Ok(Err(HeadError::Eof)) => return Err(AcceptError::Closed),
            Ok(Err(HeadError::Io(e))) => return Err(AcceptError::Io(e)),
            Ok(Err(HeadError::Malformed(why))) => {
                let reject = Reject::new(400, why);
                return Err(self.reject(&mut stream, remote_str, None, reject).await);
            }
            Err(_) => {
                let reject = Reject::new(408, "request head not received in time");
                return Err(self.reject(&mut stream, remote_str, None, reject).await);
            }
        };
        let key = match handshake::check_upgrade(&request) {
            Ok(key) => key,
            Err((status, why)) => {
                let mut reject = Reject::new(status, why);
                if status == 426 {
                    reject = reject
                        .header("Upgrade", "websocket")
                        .header("Sec-WebSocket-Version", "13");
                }
                return Err(self
                    .reject(&mut stream, remote_str, Some(&request), reject)
                    .await);
            }
        };
        let accept = match decide(&request) {
            Ok(a) => a,
            Err(reject) => {
                return Err(self
                    .reject(&mut stream, remote_str, Some(&request), reject)
                    .await);
            }
        };
        handshake::accept_upgrade(
            &mut stream,
            &key,
            accept.subprotocol.as_deref(),
            &accept.headers,
        )
        .await
        .map_err(AcceptError::Io)?;
        let conn = self.open(Open {
            conn: Str::default(),
            remote: remote_str,
            user_agent: request.header("User-Agent").map(Str::from),
            // Without the query, which may carry tokens.
            path: Some(Str::from(request.path())),
            forwarded_for: request.header("X-Forwarded-For").map(Str::from),
            client: accept.client.map(Str::from),
            subprotocol: accept.subprotocol.map(Str::from),
        });
        let inner = WebSocketStream::from_partially_read(
            CloseSniffer::new(stream, &leftover),
            leftover,
            Role::Server,
            None,
        )
        .await;
        let heartbeat = self
            .config()
            .heartbeat_for(request.path())
            .map(HeartbeatRun::new);
        Ok(TappedWebSocket {
            inner: Some(inner),
            conn: Arc::new(conn),
            request,
            heartbeat,
            server_close: None,
        })
    }

    async fn reject<S: AsyncWrite + Unpin>(
        &self,
        stream: &mut S,
        remote: Option<Str>,
        request: Option<&RequestInfo>,
        reject: Reject,
    ) -> AcceptError {
        let Reject {
            status,
            reason,
            headers,
        } = reject;
        let headers: Vec<(&str, &str)> = headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        // The peer may be gone already; the rejection is reported either way.
        let body = format!("{reason}\n");
        let _ = handshake::respond(stream, status, &headers, "text/plain", &body).await;
        self.upgrade_rejected(UpgradeRejected {
            remote,
            user_agent: request.and_then(|r| r.header("User-Agent")).map(Str::from),
            path: request.map(|r| Str::from(r.path())),
            status: Some(status),
            reason: Some(Str::from(reason.as_str())),
        });
        AcceptError::Rejected { status, reason }
    }
}

struct HeartbeatRun {
    policy: HeartbeatPolicy,
    sleep: Pin<Box<Sleep>>,
    /// When `sleep` ends.
    deadline: Instant,
    /// The waker `sleep` was last polled with. Polling a `Sleep` costs a unit of tokio's
    /// cooperative budget, so on the hot path it is polled only when the deadline has come
    /// or the task's waker changed.
    armed: Option<Waker>,
    ping_due: bool,
    /// When the first unanswered ping went out.
    awaiting: Option<Instant>,
    /// When the latest ping (number `seq`) went out.
    last_sent: Instant,
    seq: u64,
}

impl HeartbeatRun {
    fn reset(&mut self, at: Instant) {
        self.sleep.as_mut().reset(at);
        self.deadline = at;
        self.armed = None;
    }

    /// Whether the deadline passed; registers for a wake-up at the deadline otherwise.
    fn poll_due(&mut self, cx: &mut Context<'_>) -> bool {
        let armed = self.armed.as_ref().is_some_and(|w| w.will_wake(cx.waker()));
        if armed && Instant::now() < self.deadline {
            return false;
        }
        if self.sleep.as_mut().poll(cx).is_pending() {
            self.armed = Some(cx.waker().clone());
            return false;
        }
        self.armed = None;
        true
    }

    fn new(policy: HeartbeatPolicy) -> HeartbeatRun {
        HeartbeatRun {
            policy,
            sleep: Box::pin(tokio::time::sleep(policy.interval)),
            deadline: Instant::now() + policy.interval,
            armed: None,
            ping_due: false,
            awaiting: None,
            last_sent: Instant::now(),
            seq: 0,
        }
    }
}

/// A WebSocket accepted through the tap. Use it as a `Stream` and `Sink` of `Message`.
///
/// To close, send `Message::Close(Some(frame))` (the code is reported as sent) or call
/// `SinkExt::close` (a close frame without status); [`TappedWebSocket::terminate`] drops the
/// transport without one.
///
/// The heartbeat runs while the stream is being read (as a server's read loop does): pings
/// go out every interval, and with `terminate` a connection whose pong is late is dropped
/// (reported as closed by the server with 1006) and the stream ends.
pub struct TappedWebSocket<S> {
    inner: Option<WebSocketStream<CloseSniffer<S>>>,
    conn: Arc<ConnHandle>,
    request: RequestInfo,
    heartbeat: Option<HeartbeatRun>,
    /// The close frame this server sent first, if it did: (code, reason).
    server_close: Option<(Option<u16>, String)>,
}

impl<S> TappedWebSocket<S> {
    /// The connection as the tap knows it: for timers, `app_state`, errors.
    pub fn conn(&self) -> &Arc<ConnHandle> {
        &self.conn
    }

    pub fn request(&self) -> &RequestInfo {
        &self.request
    }

    /// Changes this connection's heartbeat (`None`: no pings).
    pub fn set_heartbeat(&mut self, policy: Option<HeartbeatPolicy>) {
        self.heartbeat = policy.map(HeartbeatRun::new);
    }

    /// Drops the transport without a close frame (reported: server, 1006).
    pub fn terminate(&mut self, reason: &str) {
        self.conn.close(Some(1006), Some(reason), Initiator::Server);
        self.inner = None;
    }

    fn finish(&mut self, error: Option<&WsError>) {
        if self.conn.is_closed() {
            return;
        }
        if let Some((code, reason)) = &self.server_close {
            self.conn.close(*code, Some(reason), Initiator::Server);
            return;
        }
        if let Some(e) = error {
            self.conn.error(&e.to_string());
        }
        self.conn.close(Some(1006), None, Initiator::None);
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> TappedWebSocket<S> {
    /// The transport underneath.
    pub fn get_ref(&self) -> Option<&S> {
        self.inner.as_ref().map(|ws| ws.get_ref().get_ref())
    }

    /// Runs the heartbeat: sends a due ping, terminates on a missed pong. `false` when the
    /// connection was terminated.
    fn drive_heartbeat(&mut self, cx: &mut Context<'_>) -> bool {
        let (Some(hb), Some(ws)) = (self.heartbeat.as_mut(), self.inner.as_mut()) else {
            return true;
        };
        loop {
            if hb.ping_due {
                match Pin::new(&mut *ws).poll_ready(cx) {
                    Poll::Ready(Ok(())) => {
                        hb.seq += 1;
                        let payload = Bytes::copy_from_slice(&hb.seq.to_be_bytes());
                        if Pin::new(&mut *ws)
                            .start_send(Message::Ping(payload))
                            .is_ok()
                        {
                            self.conn.ping_sent();
                            let now = Instant::now();
                            hb.last_sent = now;
                            hb.ping_due = false;
                            if hb.awaiting.is_none() {
                                hb.awaiting = Some(now);
                            }
                            let wait = if hb.policy.terminate {
                                hb.policy.pong_timeout
                            } else {
                                hb.policy.interval
                            };
                            hb.reset(now + wait);
                            let _ = Pin::new(&mut *ws).poll_flush(cx);
                        }
                    }
                    // A broken sink shows up on the read side too.
                    Poll::Ready(Err(_)) => hb.ping_due = false,
                    Poll::Pending => {}
                }
            }
            if !hb.poll_due(cx) {
                return true;
            }
            if hb.awaiting.is_some() && hb.policy.terminate {
                let timeout = hb.policy.pong_timeout;
                self.terminate(&format!("no pong within {} ms", timeout.as_millis()));
                return false;
            }
            hb.ping_due = true;
            let next = Instant::now() + hb.policy.interval;
            hb.reset(next);
        }
    }

    fn on_pong(&mut self, payload: &[u8]) {
        let mut rtt = None;
        if let Some(hb) = self.heartbeat.as_mut()
            && hb.awaiting.is_some()
            && payload == hb.seq.to_be_bytes()
        {
            rtt = Some(hb.last_sent.elapsed());
            hb.awaiting = None;
            if hb.policy.terminate {
                let next = hb.last_sent + hb.policy.interval;
                hb.reset(next);
            }
        }
        self.conn.pong_received(rtt);
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Stream for TappedWebSocket<S> {
    type Item = Result<Message, WsError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.inner.is_none() || !this.drive_heartbeat(cx) {
            return Poll::Ready(None);
        }
        let Some(ws) = this.inner.as_mut() else {
            return Poll::Ready(None);
        };
        let polled = Pin::new(&mut *ws).poll_next(cx);
        let raw_close = match &polled {
            Poll::Ready(Some(Ok(Message::Close(_)))) => ws.get_ref().scanner.close().cloned(),
            _ => None,
        };
        match polled {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Some(Ok(msg))) => {
                match &msg {
                    Message::Text(_) | Message::Binary(_) => this.conn.message_in(msg.len()),
                    Message::Pong(p) => {
                        let p = p.clone();
                        this.on_pong(&p);
                    }
                    Message::Close(frame) => {
                        if this.server_close.is_none() {
                            // tungstenite may have rewritten the code; the sniffer saw the original.
                            let (code, reason) = match raw_close {
                                Some(raw) => (raw.code, raw.reason),
                                None => (
                                    frame.as_ref().map(|f| u16::from(f.code)),
                                    frame
                                        .as_ref()
                                        .map(|f| f.reason.to_string())
                                        .unwrap_or_default(),
                                ),
                            };
                            this.conn.close(code, Some(&reason), Initiator::Client);
                        } else {
                            this.finish(None);
                        }
                    }
                    _ => {}
                }
                Poll::Ready(Some(Ok(msg)))
            }
            Poll::Ready(Some(Err(e))) => {
                this.finish(Some(&e));
                Poll::Ready(Some(Err(e)))
            }
            Poll::Ready(None) => {
                this.finish(None);
                Poll::Ready(None)
            }
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Sink<Message> for TappedWebSocket<S> {
    type Error = WsError;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), WsError>> {
        match self.get_mut().inner.as_mut() {
            Some(ws) => Pin::new(ws).poll_ready(cx),
            None => Poll::Ready(Err(WsError::AlreadyClosed)),
        }
    }

    fn start_send(self: Pin<&mut Self>, msg: Message) -> Result<(), WsError> {
        let this = self.get_mut();
        let Some(ws) = this.inner.as_mut() else {
            return Err(WsError::AlreadyClosed);
        };
        match &msg {
            Message::Text(_) | Message::Binary(_) => this.conn.message_out(msg.len()),
            Message::Ping(_) => this.conn.ping_sent(),
            Message::Close(frame) if this.server_close.is_none() && !this.conn.is_closed() => {
                this.server_close = Some((
                    frame.as_ref().map(|f| u16::from(f.code)),
                    frame
                        .as_ref()
                        .map(|f| f.reason.to_string())
                        .unwrap_or_default(),
                ));
            }
            _ => {}
        }
        Pin::new(ws).start_send(msg)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), WsError>> {
        match self.get_mut().inner.as_mut() {
            Some(ws) => Pin::new(ws).poll_flush(cx),
            None => Poll::Ready(Ok(())),
        }
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), WsError>> {
        let this = self.get_mut();
        // `SinkExt::close` sends a close frame without a status unless one went out already.
        if this.server_close.is_none() && !this.conn.is_closed() && this.inner.is_some() {
            this.server_close = Some((None, String::new()));
        }
        match this.inner.as_mut() {
            Some(ws) => Pin::new(ws).poll_close(cx),
            None => Poll::Ready(Ok(())),
        }
    }
}

impl<S> Drop for TappedWebSocket<S> {
    fn drop(&mut self) {
        // Dropped by the server: a close it sent counts, otherwise it cut the transport.
        if !self.conn.is_closed() {
            let (code, reason) = self
                .server_close
                .clone()
                .unwrap_or((Some(1006), String::new()));
            self.conn.close(code, Some(&reason), Initiator::Server);
        }
    }
}
