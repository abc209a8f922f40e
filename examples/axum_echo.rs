//! An axum echo server with the wscope tap: the upgraded `WebSocket` is wrapped with
//! `Tap::observe`, so wscope sees it as it sees sockets accepted by the tap. axum runs no
//! heartbeat of its own; this server announces none.
//!
//! ```sh
//! WSCOPE_TOKEN=s3cret cargo run --example axum_echo -- 127.0.0.1:8080
//! WSCOPE_TOKEN=s3cret wscope attach ws://127.0.0.1:9300/
//! ```

use axum::Router;
use axum::extract::ws::{WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use futures_util::{SinkExt, StreamExt};
use std::net::SocketAddr;
use wscope_tap::Tap;
use wscope_tap::protocol::Open;

async fn upgrade(
    ws: WebSocketUpgrade,
    State(tap): State<Tap>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(Into::into)
    };
    let open = Open {
        remote: Some(peer.to_string().into()),
        user_agent: header("user-agent"),
        forwarded_for: header("x-forwarded-for"),
        path: Some("/ws".into()),
        ..Open::default()
    };
    ws.on_upgrade(move |socket: WebSocket| async move {
        let mut socket = tap.observe(socket, open);
        while let Some(Ok(msg)) = socket.next().await {
            let data = matches!(
                msg,
                axum::extract::ws::Message::Text(_) | axum::extract::ws::Message::Binary(_)
            );
            if data && socket.send(msg).await.is_err() {
                break;
            }
        }
    })
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8080".into());
    let guard = Tap::builder()
        .server("axum-1")
        .heartbeat(None)
        .with_default_env()
        .spawn()
        .await?;
    let app = Router::new()
        .route("/ws", get(upgrade))
        .with_state(guard.tap());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!(
        "server ws://{}/ws feed {}",
        listener.local_addr()?,
        guard.admin_url().unwrap_or_default()
    );
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await
}
