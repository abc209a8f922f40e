//! The demo's clients: real WebSocket clients on loopback, each with one bad habit (and a
//! well-behaved majority). Identities differ by `X-Forwarded-For` and `User-Agent`, as real
//! clients behind a proxy do.

use futures_util::{SinkExt, StreamExt};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::task::JoinSet;
use tokio::time::sleep;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Client = WebSocketStream<MaybeTlsStream<TcpStream>>;

const DESKTOP: &str =
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36";
const IPHONE: &str =
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148";
const ANDROID: &str =
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/131.0 Mobile Safari/537.36";

/// Where the clients connect.
#[derive(Clone, Copy)]
pub(crate) struct Targets {
    pub backend: SocketAddr,
    pub idle_proxy: SocketAddr,
    pub strip_proxy: SocketAddr,
}

async fn connect(
    addr: SocketAddr,
    path: &str,
    user_agent: &str,
    forwarded_for: &str,
) -> Option<Client> {
    let mut req = format!("ws://{addr}{path}").into_client_request().ok()?;
    req.headers_mut()
        .insert("User-Agent", user_agent.parse().ok()?);
    req.headers_mut()
        .insert("X-Forwarded-For", forwarded_for.parse().ok()?);
    let (ws, _) = tokio::time::timeout(
        Duration::from_secs(5),
        tokio_tungstenite::connect_async(req),
    )
    .await
    .ok()?
    .ok()?;
    Some(ws)
}

fn jitter(base: Duration, spread: f64) -> Duration {
    base.mul_f64(1.0 + spread * (fastrand::f64() * 2.0 - 1.0))
}

/// Reads (so pings are answered) and chats now and then until the server ends it or
/// `limit` passes. Returns whether the connection ended.
async fn chat(ws: &mut Client, limit: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let next_line = jitter(Duration::from_millis(1500), 0.5);
        tokio::select! {
            msg = ws.next() => match msg {
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return true,
                Some(Ok(_)) => {}
            },
            _ = sleep(next_line) => {
                if ws.send(Message::text("hello everyone")).await.is_err() {
                    return true;
                }
            }
            _ = tokio::time::sleep_until(deadline) => return false,
        }
    }
}

/// Reads until the connection ends (answering pings), or `limit`.
async fn read_until_end(ws: &mut Client, limit: Duration) {
    let _ = tokio::time::timeout(limit, async { while let Some(Ok(_)) = ws.next().await {} }).await;
}

/// The demo's clients: well-behaved users beside one group for each kind of trouble.
pub(crate) fn spawn_all(t: Targets, tasks: &mut JoinSet<()>) {
    chat_users(t, tasks);
    idle_behind_proxy(t, tasks);
    unpinged_users(t, tasks);
    refused_by_proxy(t, tasks);
    frozen_clients(t, tasks);
    feed_readers(t, tasks);
    expired_sessions(t, tasks);
    phones(t, tasks);
    failing_jobs(t, tasks);
}

/// Well-behaved chat users: answer pings, reconnect with exponential backoff and jitter.
fn chat_users(t: Targets, tasks: &mut JoinSet<()>) {
    for i in 0..24 {
        tasks.spawn(async move {
            sleep(Duration::from_millis(40 * i)).await;
            let xff = format!("198.51.100.{}", 10 + i);
            let mut backoff = Duration::from_millis(500);
            loop {
                if let Some(mut ws) = connect(t.backend, "/chat", DESKTOP, &xff).await {
                    let _ = chat(&mut ws, Duration::from_secs(3600)).await;
                }
                sleep(jitter(backoff, 0.3)).await;
                backoff = (backoff * 2).min(Duration::from_secs(30));
            }
        });
    }
}

/// Users idling behind a proxy that cuts idle connections after 3 s, on a path with no
/// heartbeat: every one of them is cut at the same idle time.
fn idle_behind_proxy(t: Targets, tasks: &mut JoinSet<()>) {
    for i in 0..4u32 {
        tasks.spawn(async move {
            sleep(Duration::from_millis(300 * i as u64)).await;
            for n in 0u32.. {
                let xff = format!("203.0.113.{}", (i * 60 + n) % 250 + 1);
                if let Some(mut ws) = connect(t.idle_proxy, "/quiet", DESKTOP, &xff).await {
                    let _ = ws.send(Message::text("hi")).await;
                    read_until_end(&mut ws, Duration::from_secs(60)).await;
                }
                sleep(jitter(Duration::from_millis(800), 0.3)).await;
            }
        });
    }
}

/// Users of /quiet straight to the server, no proxy: nothing cuts them, and nothing pings
/// them either (after 60 s of that: `heartbeat-missing`).
fn unpinged_users(t: Targets, tasks: &mut JoinSet<()>) {
    for i in 0..2 {
        tasks.spawn(async move {
            let xff = format!("203.0.113.{}", 251 + i);
            let mut backoff = Duration::from_secs(1);
            loop {
                if let Some(mut ws) = connect(t.backend, "/quiet", DESKTOP, &xff).await {
                    chat(&mut ws, Duration::from_secs(3600)).await;
                }
                sleep(jitter(backoff, 0.3)).await;
                backoff = (backoff * 2).min(Duration::from_secs(30));
            }
        });
    }
}

/// Clients behind a proxy that strips Upgrade: every attempt is refused; they retry.
fn refused_by_proxy(t: Targets, tasks: &mut JoinSet<()>) {
    for i in 0..3 {
        tasks.spawn(async move {
            sleep(Duration::from_millis(200 * i)).await;
            let xff = format!("198.18.0.{}", i + 1);
            loop {
                let _ = connect(t.strip_proxy, "/chat", "okhttp/4.12", &xff).await;
                sleep(jitter(Duration::from_secs(1), 0.2)).await;
            }
        });
    }
}

/// Clients that stop answering pings (a frozen tab, a stuck event loop): a new one every
/// 3 s, each chatting for 3 s, then holding its socket for 40 s without reading. On /chat
/// the heartbeat terminates them; on /legacy, which never acts on a missing pong, they
/// linger as zombies.
fn frozen_clients(t: Targets, tasks: &mut JoinSet<()>) {
    tasks.spawn(async move {
        let mut frozen = JoinSet::new();
        for n in 0u32.. {
            let path = if n % 2 == 0 { "/legacy" } else { "/chat" };
            let xff = format!("192.0.2.{}", n % 250 + 1);
            frozen.spawn(async move {
                if let Some(mut ws) = connect(t.backend, path, DESKTOP, &xff).await
                    && !chat(&mut ws, Duration::from_secs(3)).await
                {
                    sleep(Duration::from_secs(40)).await;
                }
            });
            while frozen.try_join_next().is_some() {}
            sleep(Duration::from_secs(3)).await;
        }
    });
}

/// Readers of /feed, whose handler forgets its timer: they come and go cleanly.
fn feed_readers(t: Targets, tasks: &mut JoinSet<()>) {
    for i in 0..3 {
        tasks.spawn(async move {
            sleep(Duration::from_millis(500 * i)).await;
            let xff = format!("198.51.100.{}", 200 + i);
            loop {
                if let Some(mut ws) = connect(t.backend, "/feed", DESKTOP, &xff).await {
                    chat(&mut ws, jitter(Duration::from_secs(12), 0.2)).await;
                    let bye = CloseFrame {
                        code: CloseCode::Normal,
                        reason: "bye".into(),
                    };
                    let _ = ws.close(Some(bye)).await;
                    read_until_end(&mut ws, Duration::from_secs(2)).await;
                }
                sleep(jitter(Duration::from_secs(2), 0.3)).await;
            }
        });
    }
}

/// An app whose session expired: closed with 4001, it retries every second, no backoff.
fn expired_sessions(t: Targets, tasks: &mut JoinSet<()>) {
    for i in 0..8 {
        tasks.spawn(async move {
            sleep(Duration::from_millis(100 * i)).await;
            let xff = format!("100.64.1.{}", i + 1);
            loop {
                if let Some(mut ws) =
                    connect(t.backend, "/auth", "chat-app/3.1 (okhttp)", &xff).await
                {
                    read_until_end(&mut ws, Duration::from_secs(5)).await;
                }
                sleep(Duration::from_secs(1)).await;
            }
        });
    }
}

/// Phones: chat, go to the background, and vanish when the OS suspends the app.
fn phones(t: Targets, tasks: &mut JoinSet<()>) {
    for i in 0..6 {
        tasks.spawn(async move {
            sleep(Duration::from_millis(700 * i)).await;
            let ua = if i % 2 == 0 { IPHONE } else { ANDROID };
            let xff = format!("100.64.0.{}", i + 1);
            loop {
                if let Some(mut ws) = connect(t.backend, "/mobile", ua, &xff).await
                    && !chat(&mut ws, jitter(Duration::from_secs(3), 0.3)).await
                {
                    let _ = ws.send(Message::text("background")).await;
                    sleep(jitter(Duration::from_secs(2), 0.3)).await;
                    // Suspended: the socket goes away without a close frame.
                    drop(ws);
                }
                sleep(jitter(Duration::from_secs(6), 0.3)).await;
            }
        });
    }
}

/// Jobs that make the server's handler fail (1011).
fn failing_jobs(t: Targets, tasks: &mut JoinSet<()>) {
    for i in 0..6 {
        tasks.spawn(async move {
            sleep(Duration::from_secs(2 + 2 * i)).await;
            let xff = format!("198.51.100.{}", 150 + i);
            if let Some(mut ws) = connect(t.backend, "/work", DESKTOP, &xff).await {
                let _ = ws.send(Message::text("job")).await;
                read_until_end(&mut ws, Duration::from_secs(5)).await;
            }
        });
    }
}
