//! An echo server on tokio-tungstenite with the wscope tap: every connection accepted
//! through the tap, its admin feed where `WSCOPE_ADMIN_ADDR` says (127.0.0.1:9300 by
//! default) with the token `WSCOPE_TOKEN`.
//!
//! ```sh
//! WSCOPE_TOKEN=s3cret cargo run --example tungstenite_echo -- 127.0.0.1:8080
//! WSCOPE_TOKEN=s3cret wscope attach ws://127.0.0.1:9300/
//! ```

use futures_util::{SinkExt, StreamExt};
use std::time::Duration;
use wscope_tap::{HeartbeatPolicy, Tap};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8080".into());
    let guard = Tap::builder()
        .server("echo-1")
        .heartbeat(Some(HeartbeatPolicy::new(
            Duration::from_secs(30),
            Duration::from_secs(10),
        )))
        .with_default_env()
        .spawn()
        .await?;
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    // One line for whoever started us: where the server and its feed are.
    println!(
        "server ws://{} feed {}",
        listener.local_addr()?,
        guard.admin_url().unwrap_or_default()
    );
    let tap = guard.tap();
    loop {
        let (tcp, peer) = listener.accept().await?;
        let tap = tap.clone();
        tokio::spawn(async move {
            let Ok(mut ws) = tap.accept(tcp, Some(peer)).await else {
                return;
            };
            while let Some(Ok(msg)) = ws.next().await {
                if (msg.is_text() || msg.is_binary()) && ws.send(msg).await.is_err() {
                    break;
                }
            }
        });
    }
}
