//! The demo's WebSocket server: tokio-tungstenite with the tap, one path per habit.
//!
//! - `/chat`: echo, heartbeat that terminates silent peers, a presence timer cleaned up on close.
//! - `/quiet`: no heartbeat (behind the idle-cutting proxy).
//! - `/legacy`: pings but never acts on a missing pong, so silent peers linger as zombies.
//! - `/feed`: a handler that forgets to clear its refresh timer.
//! - `/auth`: every session "expired": closed with 4001 at once.
//! - `/mobile`: apps report `background` / `foreground`.
//! - `/work`: a handler that fails on `job` and closes with 1011.
//!
//! A restart closes everything with 1001 and pauses accepting for a moment.

use crate::event::AppState;
use crate::tap::{Tap, TappedWebSocket};
use futures_util::{SinkExt, StreamExt};
use std::io;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

/// How long the forgotten `/feed` timer keeps firing after its socket is gone.
const LEAK_LIFETIME: Duration = Duration::from_secs(30);

pub(crate) async fn spawn(
    tap: Tap,
    restart_at: Option<Duration>,
    tasks: &mut JoinSet<()>,
) -> io::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (restart_tx, restart_rx) = watch::channel(0u32);
    if let Some(after) = restart_at {
        tasks.spawn(async move {
            tokio::time::sleep(after).await;
            let _ = restart_tx.send(1);
            // Keep the sender, or every handler would see the channel close as a restart.
            std::future::pending::<()>().await;
        });
    }
    tasks.spawn(async move {
        let mut handlers = JoinSet::new();
        let mut restarts = restart_rx.clone();
        loop {
            tokio::select! {
                Ok((tcp, peer)) = listener.accept() => {
                    let (tap, restart) = (tap.clone(), restart_rx.clone());
                    handlers.spawn(handle(tap, tcp, peer, restart));
                }
                Ok(()) = restarts.changed() => {
                    // The "new process" takes a moment to start listening.
                    tokio::time::sleep(Duration::from_millis(1500)).await;
                }
                Some(_) = handlers.join_next(), if !handlers.is_empty() => {}
            }
        }
    });
    Ok(addr)
}

fn close_frame(code: u16, reason: &'static str) -> Message {
    Message::Close(Some(CloseFrame {
        code: CloseCode::from(code),
        reason: reason.into(),
    }))
}

/// Sends a close and waits a little for the peer's answer before dropping the socket.
async fn close_and_drain(ws: &mut TappedWebSocket<TcpStream>, code: u16, reason: &'static str) {
    if ws.send(close_frame(code, reason)).await.is_err() {
        return;
    }
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        while let Some(Ok(_)) = ws.next().await {}
    })
    .await;
}

async fn handle(tap: Tap, tcp: TcpStream, peer: SocketAddr, mut restart: watch::Receiver<u32>) {
    let _ = tcp.set_nodelay(true);
    // Only a restart after this connection began concerns it.
    restart.borrow_and_update();
    let Ok(mut ws) = tap.accept(tcp, Some(peer)).await else {
        return;
    };
    let path = ws.request().path().to_string();
    if path == "/auth" {
        return close_and_drain(&mut ws, 4001, "token expired").await;
    }
    // Per-connection timers: /chat holds its guard in a task it stops on close; /feed
    // forgets its task, which keeps firing after the socket is gone.
    let mut presence = None;
    if path == "/chat" {
        let timer = ws.conn().timer("presence", Some(Duration::from_secs(1)));
        presence = Some(tokio::spawn(fire_every(
            timer,
            Duration::from_secs(1),
            None,
        )));
    } else if path == "/feed" {
        let timer = ws
            .conn()
            .timer("feed-refresh", Some(Duration::from_secs(1)));
        tokio::spawn(fire_every(
            timer,
            Duration::from_secs(1),
            Some(LEAK_LIFETIME),
        ));
    }
    loop {
        tokio::select! {
            msg = ws.next() => match msg {
                Some(Ok(Message::Text(text))) => match text.as_str() {
                    "background" => ws.conn().app_state(AppState::Background),
                    "foreground" => ws.conn().app_state(AppState::Foreground),
                    "job" if path == "/work" => {
                        close_and_drain(&mut ws, 1011, "internal error").await;
                        break;
                    }
                    _ => {
                        if ws.send(Message::Text(text)).await.is_err() {
                            break;
                        }
                    }
                },
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
                Some(Ok(_)) => {}
            },
            Ok(()) = restart.changed() => {
                close_and_drain(&mut ws, 1001, "server restarting").await;
                break;
            }
        }
    }
    if let Some(task) = presence {
        task.abort();
    }
}

async fn fire_every(timer: crate::tap::TimerGuard, every: Duration, lifetime: Option<Duration>) {
    let started = tokio::time::Instant::now();
    loop {
        tokio::time::sleep(every).await;
        timer.fire();
        if lifetime.is_some_and(|l| started.elapsed() >= l) {
            return;
        }
    }
}
