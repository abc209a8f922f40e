//! The admin feed: one listener (loopback by default, optionally TLS) that serves the event
//! feed over WebSocket to token holders, and `/metrics` in the Prometheus text format.
//!
//! - `GET /metrics` with the token → the Prometheus text (scrape it with
//!   `authorization: {credentials: TOKEN}` in the scrape config).
//! - Any other path: a WebSocket upgrade with `Authorization: Bearer TOKEN` or `?token=TOKEN`.
//!   A missing or wrong token gets 401 before any upgrade. On attach: `hello`, `snapshot`,
//!   then live events, one per text frame. The text frame `{"type":"resync"}` is answered with
//!   a `snapshot`; anything else gets an `error` event.

use super::handshake::{self, HeadError, RequestInfo};
use super::{Tap, now};
use futures_util::{SinkExt, StreamExt};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use subtle::ConstantTimeEq;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::{CloseFrame, coding::CloseCode};
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use wscope_protocol::{Event, EventKind, Str, Ts, to_json_line};

/// A connection must finish its TLS handshake and send its request head within this:
/// until its token is checked it holds no slot, only a place among the pending.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(3);
/// Connections whose token is not checked yet, at most (each is a socket and a small task).
/// Past this a new connection is refused at once; slots are never at stake.
const PENDING_MAX: usize = 1024;
/// A wrong token is answered after this, so guessing goes at a few per second per
/// connection rather than thousands.
const WRONG_TOKEN_DELAY: Duration = Duration::from_millis(250);
/// Subscribers only ever send `{"type":"resync"}`; anything much bigger is garbage.
const MAX_INCOMING: usize = 64 * 1024;
/// Events written per flush when a subscriber has a backlog.
const BATCH: usize = 256;
/// A subscriber whose socket accepts nothing for this long is disconnected: a peer gone
/// without a FIN would otherwise hold its connection slot until TCP gives up.
const STALL_LIMIT: Duration = Duration::from_secs(120);

/// PEM files for `wss://`: the certificate chain and its private key.
#[derive(Clone, Debug)]
pub struct TlsFiles {
    pub cert_pem: PathBuf,
    pub key_pem: PathBuf,
}

#[derive(Clone, Debug)]
pub struct AdminConfig {
    /// Where to listen; keep it on loopback unless TLS is on.
    pub addr: SocketAddr,
    /// Required from every viewer and scraper.
    pub token: String,
    pub tls: Option<TlsFiles>,
    /// Connections served at once (feed viewers and scrapes); more get 503.
    pub max_connections: usize,
}

impl AdminConfig {
    /// Where the feed listens unless told otherwise: loopback only.
    pub const DEFAULT_ADDR: SocketAddr =
        SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 9300);

    pub fn new(addr: SocketAddr, token: impl Into<String>) -> AdminConfig {
        AdminConfig {
            addr,
            token: token.into(),
            tls: None,
            max_connections: 64,
        }
    }
}

/// The running admin listener; dropping it stops the listener and every feed it serves.
pub struct AdminServer {
    local_addr: SocketAddr,
    tls: bool,
    task: tokio::task::JoinHandle<()>,
}

impl AdminServer {
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// `ws://ADDR/` or `wss://ADDR/`.
    pub fn url(&self) -> String {
        let scheme = if self.tls { "wss" } else { "ws" };
        format!("{scheme}://{}/", self.local_addr)
    }
}

impl Drop for AdminServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

fn tls_acceptor(files: &TlsFiles) -> io::Result<TlsAcceptor> {
    let cert_path = files.cert_pem.display();
    let certs = CertificateDer::pem_file_iter(&files.cert_pem)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| invalid(format!("cannot read certificates from {cert_path}: {e}")))?;
    if certs.is_empty() {
        return Err(invalid(format!("no certificate in {cert_path}")));
    }
    let key = PrivateKeyDer::from_pem_file(&files.key_pem).map_err(|e| {
        invalid(format!(
            "cannot read a private key from {}: {e}",
            files.key_pem.display()
        ))
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|b| b.with_no_client_auth().with_single_cert(certs, key))
        .map_err(|e| invalid(format!("TLS setup failed: {e}")))?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Starts the admin listener for `tap`.
pub async fn serve_admin(tap: &Tap, config: AdminConfig) -> io::Result<AdminServer> {
    if config.token.is_empty() {
        return Err(invalid("the admin token must not be empty".into()));
    }
    let tls = config.tls.as_ref().map(tls_acceptor).transpose()?;
    let listener = TcpListener::bind(config.addr).await?;
    let local_addr = listener.local_addr()?;
    let is_tls = tls.is_some();
    let token = Arc::new(TokenDigest::of(&config.token));
    let slots = Arc::new(Semaphore::new(config.max_connections.max(1)));
    let pending = Arc::new(Semaphore::new(PENDING_MAX));
    let tap = tap.clone();
    let task = tokio::spawn(async move {
        // Owned here so that aborting this task ends every connection it serves.
        let mut conns = JoinSet::new();
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    let Ok((tcp, _)) = accepted else {
                        // Out of file descriptors and the like: back off rather than spin.
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    };
                    // Too many strangers at once: this one is dropped, nobody else waits.
                    let Ok(pending) = pending.clone().try_acquire_owned() else {
                        continue;
                    };
                    let _ = tcp.set_nodelay(true);
                    let gate = Gate { token: token.clone(), slots: slots.clone(), pending };
                    let (tap, tls) = (tap.clone(), tls.clone());
                    conns.spawn(async move {
                        match tls {
                            Some(acceptor) => {
                                let Ok(Ok(stream)) = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await else {
                                    return;
                                };
                                serve_conn(tap, stream, gate).await;
                            }
                            None => serve_conn(tap, tcp, gate).await,
                        }
                    });
                }
                Some(_) = conns.join_next(), if !conns.is_empty() => {}
            }
        }
    });
    Ok(AdminServer {
        local_addr,
        tls: is_tls,
        task,
    })
}

/// The token as a SHA-256 digest: comparing digests in constant time tells a guesser
/// nothing, not even the token's length.
struct TokenDigest([u8; 32]);

impl TokenDigest {
    fn of(token: &str) -> TokenDigest {
        let d = ring::digest::digest(&ring::digest::SHA256, token.as_bytes());
        let mut out = [0u8; 32];
        out.copy_from_slice(d.as_ref());
        TokenDigest(out)
    }

    fn matches(&self, offered: &str) -> bool {
        bool::from(TokenDigest::of(offered).0.ct_eq(&self.0))
    }
}

/// What a connection needs to get in: the token to show, the slots a good token may take,
/// and its place among the pending (given back once it is judged).
struct Gate {
    token: Arc<TokenDigest>,
    slots: Arc<Semaphore>,
    pending: tokio::sync::OwnedSemaphorePermit,
}

fn authorized(req: &RequestInfo, token: &TokenDigest) -> bool {
    let offered = req
        .header("Authorization")
        .and_then(|v| {
            let (scheme, rest) = v.trim().split_once(' ')?;
            scheme
                .eq_ignore_ascii_case("bearer")
                .then(|| rest.trim().to_string())
        })
        .or_else(|| req.query_param("token"));
    offered.is_some_and(|t| token.matches(&t))
}

async fn serve_conn<S>(tap: Tap, mut s: S, gate: Gate)
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    let respond = |status: u16, body: &'static str| (status, body);
    let head = tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake::read_head(&mut s)).await;
    let (req, leftover) = match head {
        Ok(Ok(h)) => h,
        Ok(Err(HeadError::Malformed(why))) => {
            let _ = handshake::respond(&mut s, 400, &[], "text/plain", &format!("{why}\n")).await;
            return;
        }
        Ok(Err(_)) => return,
        Err(_) => {
            let _ = handshake::respond(&mut s, 408, &[], "text/plain", "request timed out\n").await;
            return;
        }
    };
    // Only a good token takes a slot: strangers, however many, cannot lock viewers out.
    let authorized = authorized(&req, &gate.token);
    let slot = if authorized {
        gate.slots.clone().try_acquire_owned().ok()
    } else {
        None
    };
    drop(gate.pending);
    let failure = if !authorized {
        tokio::time::sleep(WRONG_TOKEN_DELAY).await;
        Some(respond(
            401,
            "a valid token is required (Authorization: Bearer or ?token=)\n",
        ))
    } else if slot.is_none() {
        Some(respond(503, "too many admin connections\n"))
    } else if req.path() == "/metrics" {
        if req.method != "GET" {
            Some(respond(405, "GET only\n"))
        } else {
            let body = tap.render_metrics();
            let ctype = "text/plain; version=0.0.4; charset=utf-8";
            let _ = handshake::respond(&mut s, 200, &[], ctype, &body).await;
            return;
        }
    } else {
        None
    };
    if let Some((status, body)) = failure {
        let extra: &[(&str, &str)] = if status == 401 {
            &[("WWW-Authenticate", "Bearer")]
        } else {
            &[]
        };
        let _ = handshake::respond(&mut s, status, extra, "text/plain", body).await;
        return;
    }
    let key = match handshake::check_upgrade(&req) {
        Ok(k) => k,
        Err((status, why)) => {
            let _ =
                handshake::respond(&mut s, status, &[], "text/plain", &format!("{why}\n")).await;
            return;
        }
    };
    if handshake::accept_upgrade(&mut s, &key, None, &[])
        .await
        .is_err()
    {
        return;
    }
    let config = WebSocketConfig::default()
        .max_message_size(Some(MAX_INCOMING))
        .max_frame_size(Some(MAX_INCOMING));
    let ws = WebSocketStream::from_partially_read(s, leftover, Role::Server, Some(config)).await;
    feed(tap, ws, history_asked(&req)).await;
}

/// What a viewer asks of the history (feed-protocol extensions, "History"): `None` for none
/// (`?history=0`, `X-Wscope-History: 0`), else all of it or what came after
/// `X-Wscope-History-Since`.
fn history_asked(req: &RequestInfo) -> Option<Option<Ts>> {
    let no = |v: Option<&str>| v.is_some_and(|v| matches!(v.trim(), "0" | "false" | "no"));
    if no(req.query_param("history").as_deref()) || no(req.header("X-Wscope-History")) {
        return None;
    }
    Some(
        req.header("X-Wscope-History-Since")
            .and_then(|t| Ts::parse(t.trim())),
    )
}

fn error_event(message: &str) -> Message {
    let ev = Event::new(
        now(),
        EventKind::Error {
            conn: None,
            message: Str::from(message),
        },
    );
    Message::text(to_json_line(&ev))
}

/// The `type` of a subscriber's request, if it is a JSON object with one.
fn request_type(text: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(text).ok()?;
    v.get("type")?.as_str().map(str::to_string)
}

/// Writes `first` and whatever else is waiting (up to [`BATCH`]), then flushes once.
async fn send_batch<S>(
    ws: &mut WebSocketStream<S>,
    sub: &mut super::Subscription,
    first: Event,
) -> Result<(), tokio_tungstenite::tungstenite::Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    ws.feed(Message::text(to_json_line(&first))).await?;
    for _ in 1..BATCH {
        let Some(ev) = sub.try_recv() else { break };
        ws.feed(Message::text(to_json_line(&ev))).await?;
    }
    ws.flush().await
}

async fn feed<S>(tap: Tap, mut ws: WebSocketStream<S>, history: Option<Option<Ts>>)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut sub = tap.subscribe_from(history);
    loop {
        tokio::select! {
            ev = sub.recv() => {
                let Some(ev) = ev else { break };
                let sent = tokio::time::timeout(STALL_LIMIT, send_batch(&mut ws, &mut sub, ev)).await;
                if !matches!(sent, Ok(Ok(()))) {
                    break;
                }
            }
            msg = ws.next() => match msg {
                Some(Ok(Message::Text(text))) => {
                    let reply = match request_type(&text).as_deref() {
                        Some("resync") => {
                            sub.resync();
                            continue;
                        }
                        Some(_) => error_event("unknown request type; the feed accepts {\"type\":\"resync\"}"),
                        None => error_event("not a JSON request; the feed accepts {\"type\":\"resync\"}"),
                    };
                    if ws.send(reply).await.is_err() {
                        break;
                    }
                }
                Some(Ok(Message::Binary(_))) => {
                    if ws.send(error_event("binary frames are not understood; send {\"type\":\"resync\"}")).await.is_err() {
                        break;
                    }
                }
                Some(Err(tokio_tungstenite::tungstenite::Error::Capacity(_))) => {
                    // Say why, as RFC 6455 does for a message too big to process.
                    let frame = CloseFrame {
                        code: CloseCode::Size,
                        reason: format!("requests are at most {} KiB", MAX_INCOMING / 1024).into(),
                    };
                    let _ = tokio::time::timeout(STALL_LIMIT, ws.close(Some(frame))).await;
                    break;
                }
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
                Some(Ok(_)) => {}
            }
        }
    }
}
