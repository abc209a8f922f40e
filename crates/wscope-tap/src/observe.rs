//! [`Observed`]: any WebSocket that is a `Stream` and `Sink` of messages (axum's
//! `WebSocket` after `on_upgrade`, actix-ws, a tokio-tungstenite stream accepted elsewhere),
//! reported as [`TappedWebSocket`](crate::TappedWebSocket) reports its own: `open` when
//! wrapped, messages counted, pings and pongs (with the round trip of the server's pings),
//! and `close` with the code and who sent it first; a stream that ends without a close is
//! 1006. The application keeps running its own heartbeat: announce it with
//! [`TapBuilder::heartbeat`](crate::TapBuilder::heartbeat).

use crate::{ConnHandle, Tap};
use futures_util::{Sink, Stream};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;
use wscope_protocol::{Initiator, Open};

/// What the tap needs to know of one message of a WebSocket library.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MessageKind {
    /// A text or binary message of this many bytes.
    Data(usize),
    Ping,
    Pong,
    /// A close frame: its code (none when it had no status) and reason.
    Close(Option<u16>, String),
}

/// A message type of a WebSocket library, as the tap sees it.
pub trait TapMessage {
    fn kind(&self) -> MessageKind;
}

impl TapMessage for tokio_tungstenite::tungstenite::Message {
    fn kind(&self) -> MessageKind {
        use tokio_tungstenite::tungstenite::Message as M;
        match self {
            M::Text(t) => MessageKind::Data(t.len()),
            M::Binary(b) => MessageKind::Data(b.len()),
            M::Ping(_) => MessageKind::Ping,
            M::Pong(_) => MessageKind::Pong,
            M::Close(frame) => MessageKind::Close(
                frame.as_ref().map(|f| u16::from(f.code)),
                frame
                    .as_ref()
                    .map(|f| f.reason.to_string())
                    .unwrap_or_default(),
            ),
            M::Frame(_) => MessageKind::Data(0),
        }
    }
}

#[cfg(feature = "axum")]
impl TapMessage for axum::extract::ws::Message {
    fn kind(&self) -> MessageKind {
        use axum::extract::ws::Message as M;
        match self {
            M::Text(t) => MessageKind::Data(t.len()),
            M::Binary(b) => MessageKind::Data(b.len()),
            M::Ping(_) => MessageKind::Ping,
            M::Pong(_) => MessageKind::Pong,
            M::Close(frame) => MessageKind::Close(
                frame.as_ref().map(|f| f.code),
                frame
                    .as_ref()
                    .map(|f| f.reason.to_string())
                    .unwrap_or_default(),
            ),
        }
    }
}

/// A WebSocket of another library, reported to the tap. Use it as the socket it wraps.
/// Dropped without a close frame either way, it is reported as the server dropping the
/// transport (1006).
pub struct Observed<S> {
    inner: S,
    conn: ConnHandle,
    /// When the latest ping the server sent went out, for the pong's round trip.
    ping_sent: Option<Instant>,
    /// Who sent the first close frame, once one was.
    closing: Option<Initiator>,
}

impl Tap {
    /// Reports `socket` as a new connection (`open` with what the upgrade request said:
    /// `remote`, `user_agent`, `path`, `forwarded_for`, `client`...) and returns it wrapped.
    pub fn observe<S>(&self, socket: S, open: Open) -> Observed<S> {
        Observed {
            inner: socket,
            conn: self.open(open),
            ping_sent: None,
            closing: None,
        }
    }
}

impl<S> Observed<S> {
    /// This connection's handle: its id, timers, `app_state` and `error` reports.
    pub fn conn(&self) -> &ConnHandle {
        &self.conn
    }

    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    fn closed(&mut self, code: Option<u16>, reason: &str, by: Initiator) {
        if self.closing.is_none() {
            self.closing = Some(by);
            self.conn.close(code, Some(reason), by);
        }
    }
}

impl<S, M, E> Stream for Observed<S>
where
    S: Stream<Item = Result<M, E>> + Unpin,
    M: TapMessage,
{
    type Item = Result<M, E>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_next(cx);
        match &polled {
            Poll::Ready(Some(Ok(msg))) => match msg.kind() {
                MessageKind::Data(n) => this.conn.message_in(n),
                MessageKind::Pong => {
                    let rtt = this.ping_sent.take().map(|t| t.elapsed());
                    this.conn.pong_received(rtt);
                }
                MessageKind::Ping => {}
                MessageKind::Close(code, reason) => this.closed(code, &reason, Initiator::Client),
            },
            Poll::Ready(Some(Err(_))) | Poll::Ready(None) => {
                // Ended without a close frame of the client's: the transport went away.
                this.closed(Some(1006), "", Initiator::None);
            }
            Poll::Pending => {}
        }
        polled
    }
}

impl<S, M> Sink<M> for Observed<S>
where
    S: Sink<M> + Unpin,
    M: TapMessage,
{
    type Error = S::Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Pin::new(&mut self.get_mut().inner).poll_ready(cx)
    }

    fn start_send(self: Pin<&mut Self>, msg: M) -> Result<(), Self::Error> {
        let this = self.get_mut();
        match msg.kind() {
            MessageKind::Data(n) => this.conn.message_out(n),
            MessageKind::Ping => {
                this.ping_sent.get_or_insert_with(Instant::now);
                this.conn.ping_sent();
            }
            MessageKind::Pong => {}
            MessageKind::Close(code, reason) => this.closed(code, &reason, Initiator::Server),
        }
        Pin::new(&mut this.inner).start_send(msg)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Pin::new(&mut self.get_mut().inner).poll_close(cx)
    }
}
