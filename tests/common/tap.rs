//! Shared by the tap tests: a real tokio-tungstenite echo server behind the tap, a raw
//! WebSocket client for what tungstenite's client refuses to send, and event collection.
#![allow(dead_code)]

use futures_util::{SinkExt, StreamExt};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use wscope::event::{AppState, Event, EventKind};
use wscope::tap::{Subscription, Tap};

/// An echo server. Text commands: `close:CODE` (server closes with CODE), `close` (`SinkExt::close`), `bg` (app went to
/// the background), `timer` (a timer that fires once and is dropped), `burst:N` (a timer firing N times at once), `leak` (a timer kept
/// firing by a task that outlives the socket).
pub async fn echo_server(tap: Tap) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, peer)) = listener.accept().await else {
                return;
            };
            let tap = tap.clone();
            tokio::spawn(async move {
                let Ok(mut ws) = tap.accept(tcp, Some(peer)).await else {
                    return;
                };
                while let Some(Ok(msg)) = ws.next().await {
                    let Message::Text(text) = &msg else {
                        if msg.is_binary() && ws.send(msg).await.is_err() {
                            break;
                        }
                        continue;
                    };
                    if let Some(code) = text.strip_prefix("close:") {
                        let code: u16 = code.parse().unwrap();
                        let frame = CloseFrame {
                            code: CloseCode::from(code),
                            reason: "server says bye".into(),
                        };
                        let _ = ws.send(Message::Close(Some(frame))).await;
                    } else if text.as_str() == "close" {
                        let _ = ws.close().await;
                    } else if text.as_str() == "bg" {
                        ws.conn().app_state(AppState::Background);
                    } else if text.as_str() == "timer" {
                        let t = ws.conn().timer("presence", Some(Duration::from_millis(50)));
                        t.fire();
                        drop(t);
                    } else if let Some(n) = text.strip_prefix("burst:") {
                        let t = ws.conn().timer("burst", None);
                        for _ in 0..n.parse::<usize>().unwrap() {
                            t.fire();
                        }
                    } else if text.as_str() == "leak" {
                        let t = ws.conn().timer("presence", Some(Duration::from_millis(50)));
                        tokio::spawn(async move {
                            for _ in 0..40 {
                                tokio::time::sleep(Duration::from_millis(50)).await;
                                t.fire();
                            }
                            // The forgotten timer is never cleared.
                            std::future::pending::<()>().await;
                            drop(t);
                        });
                    } else if ws.send(msg).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    addr
}

/// Receives events until one matches, failing after 5 s.
pub async fn wait_for(sub: &mut Subscription, mut pred: impl FnMut(&Event) -> bool) -> Event {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let ev = tokio::time::timeout_at(deadline, sub.recv())
            .await
            .expect("timed out waiting for an event")
            .expect("subscription ended");
        if pred(&ev) {
            return ev;
        }
    }
}

pub fn is_close_of(ev: &Event, conn: &str) -> bool {
    matches!(&ev.kind, EventKind::Close(c) if c.conn == conn)
}

/// The conn id of the next `open`.
pub async fn next_open(sub: &mut Subscription) -> String {
    let ev = wait_for(sub, |e| matches!(e.kind, EventKind::Open(_))).await;
    ev.kind.conn().unwrap().to_string()
}

/// A WebSocket client speaking raw bytes after a real handshake.
pub struct RawClient {
    pub tcp: TcpStream,
}

impl RawClient {
    pub async fn connect(addr: SocketAddr, path: &str) -> RawClient {
        let mut tcp = TcpStream::connect(addr).await.unwrap();
        let req = format!(
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nUser-Agent: raw-test\r\n\r\n"
        );
        tcp.write_all(req.as_bytes()).await.unwrap();
        let head = read_head(&mut tcp).await;
        assert!(head.starts_with("HTTP/1.1 101"), "{head}");
        assert!(head.contains("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="), "{head}");
        RawClient { tcp }
    }

    /// Sends one masked frame.
    pub async fn frame(&mut self, first_byte: u8, payload: &[u8]) {
        let mask = [0x37, 0xfa, 0x21, 0x3d];
        assert!(payload.len() < 126);
        let mut f = vec![first_byte, 0x80 | payload.len() as u8];
        f.extend_from_slice(&mask);
        f.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        self.tcp.write_all(&f).await.unwrap();
    }

    pub async fn close(&mut self, code: u16, reason: &str) {
        let mut p = code.to_be_bytes().to_vec();
        p.extend_from_slice(reason.as_bytes());
        self.frame(0x88, &p).await;
    }
}

/// Reads an HTTP response head (and whatever arrived with it).
pub async fn read_head(tcp: &mut TcpStream) -> String {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = tokio::time::timeout(Duration::from_secs(5), tcp.read(&mut chunk))
            .await
            .expect("response in time")
            .unwrap();
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    String::from_utf8_lossy(&buf).into_owned()
}

/// Sends a raw HTTP request and returns the whole response.
pub async fn http(addr: SocketAddr, request: &str) -> String {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), tcp.read_to_end(&mut out))
        .await
        .expect("response in time")
        .unwrap();
    String::from_utf8_lossy(&out).into_owned()
}
