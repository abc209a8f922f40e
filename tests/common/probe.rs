//! Shared by the probe tests: run the real `wscope` binary with a wall-clock guard, and a real
//! WebSocket backend (axum) on loopback.
#![allow(dead_code)] // each test binary uses its own part of this module

use axum::Router;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::Value;
use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Run {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr: {}",
                self.stdout, self.stderr
            )
        })
    }

    /// The finding with this id, if any.
    pub fn finding(&self, id: &str) -> Option<Value> {
        self.json()["findings"]
            .as_array()
            .expect("findings is an array")
            .iter()
            .find(|f| f["id"] == id)
            .cloned()
    }
}

/// Runs `wscope probe ARGS…`; fails the test if it runs longer than `limit` (a hang).
pub fn probe(args: &[&str], limit: Duration) -> Run {
    let start = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_wscope"))
        .arg("probe")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("wscope starts");
    // Drain the pipes on threads so a large output cannot block the child.
    let mut out = child.stdout.take().expect("stdout piped");
    let mut err = child.stderr.take().expect("stderr piped");
    let out_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for wscope") {
            break status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("wscope probe {args:?} still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let run = Run {
        code: status.code(),
        stdout: out_reader.join().expect("stdout reader"),
        stderr: err_reader.join().expect("stderr reader"),
        elapsed: start.elapsed(),
    };
    assert!(
        !run.stderr.contains("panicked"),
        "wscope panicked:\n{}",
        run.stderr
    );
    run
}

/// A real WebSocket server (axum 0.8) on 127.0.0.1, on its own runtime.
///
/// - `/ws`: reads and drops messages (answering pings, as axum does while reading).
/// - `/close-soon`: sends a close frame 1001 "going away" after 1 s.
/// - `/pinging`: pings every 300 ms and drops the connection when two pings in a row went
///   unanswered.
/// - `/chat`: agrees to subprotocol `chat.v1` when offered.
/// - `/origin-checked`: 403 unless `Origin: https://app.example`.
/// - `/auth`: 401 unless `Authorization: Bearer t0ken`.
/// - `/lifetime-3s`: drops the TCP connection, with no close frame, 3 s after the upgrade
///   whatever the traffic (a lifetime cap somewhere behind the proxy).
pub struct Backend {
    pub port: u16,
    _runtime: tokio::runtime::Runtime,
}

pub fn start_backend() -> Backend {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("backend runtime");
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("backend binds");
    let port = listener.local_addr().expect("backend address").port();
    let app = Router::new()
        .route(
            "/ws",
            get(|up: WebSocketUpgrade| async { upgrade(up, sink) }),
        )
        .route(
            "/close-soon",
            get(|up: WebSocketUpgrade| async { upgrade(up, close_soon) }),
        )
        .route(
            "/pinging",
            get(|up: WebSocketUpgrade| async { upgrade(up, pinging) }),
        )
        .route(
            "/chat",
            get(|up: WebSocketUpgrade| async { up.protocols(["chat.v1"]).on_upgrade(sink) }),
        )
        .route(
            "/origin-checked",
            get(|headers: HeaderMap, up: WebSocketUpgrade| async move {
                only_with(
                    &headers,
                    "origin",
                    "https://app.example",
                    StatusCode::FORBIDDEN,
                    up,
                )
            }),
        )
        .route(
            "/auth",
            get(|headers: HeaderMap, up: WebSocketUpgrade| async move {
                only_with(
                    &headers,
                    "authorization",
                    "Bearer t0ken",
                    StatusCode::UNAUTHORIZED,
                    up,
                )
            }),
        )
        .route(
            "/lifetime-3s",
            get(|up: WebSocketUpgrade| async { upgrade(up, lifetime_3s) }),
        );
    runtime.spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Backend {
        port,
        _runtime: runtime,
    }
}

/// Upgrades when the request has `name: value`, else answers `refusal`.
fn only_with(
    headers: &HeaderMap,
    name: &str,
    value: &str,
    refusal: StatusCode,
    up: WebSocketUpgrade,
) -> Response {
    if headers.get(name).and_then(|v| v.to_str().ok()) == Some(value) {
        up.on_upgrade(sink)
    } else {
        (refusal, format!("{name} not allowed")).into_response()
    }
}

fn upgrade<F, Fut>(up: WebSocketUpgrade, handler: F) -> Response
where
    F: FnOnce(WebSocket) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    up.on_upgrade(handler)
}

async fn sink(mut socket: WebSocket) {
    while let Some(Ok(_)) = socket.recv().await {}
}

async fn lifetime_3s(mut socket: WebSocket) {
    let _ = tokio::time::timeout(Duration::from_secs(3), async {
        while let Some(Ok(_)) = socket.recv().await {}
    })
    .await;
    drop(socket);
}

async fn close_soon(mut socket: WebSocket) {
    tokio::time::sleep(Duration::from_secs(1)).await;
    let _ = socket
        .send(Message::Close(Some(CloseFrame {
            code: 1001,
            reason: "going away".into(),
        })))
        .await;
    while let Some(Ok(_)) = socket.recv().await {}
}

async fn pinging(mut socket: WebSocket) {
    let mut tick = tokio::time::interval(Duration::from_millis(300));
    let mut unanswered = 0;
    loop {
        tokio::select! {
            _ = tick.tick() => {
                // Two pings in a row without a pong (some slack for a loaded machine): a client
                // that does not answer pings is dropped, as servers do.
                if unanswered >= 2 {
                    return;
                }
                if socket.send(Message::Ping("hb".into())).await.is_err() {
                    return;
                }
                unanswered += 1;
            }
            msg = socket.recv() => match msg {
                Some(Ok(Message::Pong(_))) => unanswered = 0,
                Some(Ok(_)) => {}
                _ => return,
            },
        }
    }
}

pub fn num(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("{v} is not a number"))
}
