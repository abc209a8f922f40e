//! The admin feed over real sockets: tokens, hello + snapshot, resync, slow subscribers,
//! garbage, TLS and /metrics.

mod common;

use common::tap::*;
use futures_util::{SinkExt, StreamExt};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpSocket;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use wscope::event::{
    Dir, Event, EventKind, Snapshot, SnapshotConn, SnapshotTimer, TimerOp, parse_event,
};
use wscope::tap::{Tap, TapGuard};

const TOKEN: &str = "correct-horse-battery";

fn loopback() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

async fn setup(queue: usize) -> (Tap, SocketAddr, TapGuard) {
    let admin = Tap::builder()
        .heartbeat(None)
        .process_interval(None)
        .flush_interval(Duration::from_millis(50))
        .subscriber_queue(queue)
        .admin_addr(loopback())
        .token(TOKEN)
        .spawn()
        .await
        .unwrap();
    let tap = admin.tap();
    let server = echo_server(tap.clone()).await;
    (tap, server, admin)
}

type Feed = WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

async fn attach(admin: &TapGuard) -> Feed {
    attach_with(admin, "").await
}

/// Attaches with `query` (e.g. `history=0`) in the URL.
async fn attach_with(admin: &TapGuard, query: &str) -> Feed {
    let url = format!("{}?{query}", admin.admin_url().unwrap());
    let mut req = url.into_client_request().unwrap();
    req.headers_mut()
        .insert("Authorization", format!("Bearer {TOKEN}").parse().unwrap());
    tokio_tungstenite::connect_async(req).await.unwrap().0
}

async fn next_event(feed: &mut Feed) -> Event {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(5), feed.next())
            .await
            .expect("an event in time")
            .expect("feed open")
            .unwrap();
        if let Message::Text(t) = msg {
            return parse_event(t.as_bytes()).unwrap();
        }
    }
}

/// Hundreds of idle connections that never send a request (or send a wrong token) hold no
/// slot: every viewer with the right token still gets in. Slots stay bounded for good tokens,
/// and a wrong token is answered only after a delay.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strangers_cannot_lock_viewers_out() {
    let admin = Tap::builder()
        .heartbeat(None)
        .process_interval(None)
        .admin_addr(loopback())
        .token(TOKEN)
        .max_admin_connections(8)
        .spawn()
        .await
        .unwrap();
    let addr = admin.admin_addr().unwrap();
    let mut idle = Vec::new();
    for _ in 0..300 {
        idle.push(tokio::net::TcpStream::connect(addr).await.unwrap());
    }
    let mut viewers = Vec::new();
    for i in 0..8 {
        let mut feed = tokio::time::timeout(Duration::from_secs(5), attach(&admin))
            .await
            .unwrap_or_else(|_| panic!("viewer {i} kept out by idle connections"));
        assert!(matches!(
            next_event(&mut feed).await.kind,
            EventKind::Hello(_)
        ));
        viewers.push(feed);
    }
    // The ninth good token finds the slots full: 503, not a wait.
    let mut req = admin.admin_url().unwrap().into_client_request().unwrap();
    req.headers_mut()
        .insert("Authorization", format!("Bearer {TOKEN}").parse().unwrap());
    match tokio_tungstenite::connect_async(req).await {
        Err(WsError::Http(resp)) => assert_eq!(resp.status().as_u16(), 503),
        other => panic!("expected 503, got {other:?}"),
    }
    // A wrong token waits before its 401.
    let started = Instant::now();
    let resp = http(addr, "GET /metrics?token=guess HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert!(resp.starts_with("HTTP/1.1 401"), "{resp}");
    assert!(
        started.elapsed() >= Duration::from_millis(200),
        "{:?}",
        started.elapsed()
    );
    drop(viewers);
    // The idle ones are timed out with 408 within seconds.
    let mut first = idle.swap_remove(0);
    let mut out = Vec::new();
    use tokio::io::AsyncReadExt;
    tokio::time::timeout(Duration::from_secs(6), first.read_to_end(&mut out))
        .await
        .expect("the idle connection is answered")
        .unwrap();
    assert!(String::from_utf8_lossy(&out).starts_with("HTTP/1.1 408"));
}

#[tokio::test]
async fn no_token_or_a_wrong_token_gets_401() {
    let (_tap, _server, admin) = setup(1024).await;
    let status = |e: WsError| match e {
        WsError::Http(resp) => resp.status().as_u16(),
        other => panic!("{other:?}"),
    };
    let err = tokio_tungstenite::connect_async(admin.admin_url().unwrap())
        .await
        .unwrap_err();
    assert_eq!(status(err), 401);
    let err =
        tokio_tungstenite::connect_async(format!("{}?token=wrong", admin.admin_url().unwrap()))
            .await
            .unwrap_err();
    assert_eq!(status(err), 401);
    let mut req = admin.admin_url().unwrap().into_client_request().unwrap();
    req.headers_mut().insert(
        "Authorization",
        "Bearer correct-horse-batterx".parse().unwrap(),
    );
    assert_eq!(
        status(tokio_tungstenite::connect_async(req).await.unwrap_err()),
        401
    );
    let addr = admin.admin_addr().unwrap();
    let resp = http(addr, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert!(resp.starts_with("HTTP/1.1 401"), "{resp}");

    // The query form works for clients that cannot set headers.
    let (mut feed, _) =
        tokio_tungstenite::connect_async(format!("{}?token={TOKEN}", admin.admin_url().unwrap()))
            .await
            .unwrap();
    assert!(matches!(
        next_event(&mut feed).await.kind,
        EventKind::Hello(_)
    ));
    assert!(matches!(
        next_event(&mut feed).await.kind,
        EventKind::Snapshot(_)
    ));
}

/// What a reader builds from events: the independent twin of the tap's own state.
#[derive(Default)]
struct Folded {
    conns: BTreeMap<String, SnapshotConn>,
    timers: BTreeMap<String, SnapshotTimer>,
    /// Closes and messages of connections it did not know.
    contradictions: usize,
}

impl Folded {
    fn apply(&mut self, ev: &Event) {
        match &ev.kind {
            EventKind::Snapshot(s) => {
                self.conns = s
                    .connections
                    .iter()
                    .map(|c| (c.open.conn.to_string(), c.clone()))
                    .collect();
                self.timers = s
                    .timers
                    .iter()
                    .map(|t| (t.timer.to_string(), t.clone()))
                    .collect();
            }
            EventKind::Open(o) => {
                self.conns.insert(
                    o.conn.to_string(),
                    SnapshotConn {
                        open: (**o).clone(),
                        opened: Some(ev.ts),
                        last_activity: Some(ev.ts),
                        ..Default::default()
                    },
                );
            }
            EventKind::Message(m) => {
                let Some(c) = self.conns.get_mut(m.conn.as_str()) else {
                    self.contradictions += 1;
                    return;
                };
                c.last_activity = c.last_activity.max(Some(ev.ts));
                match m.dir {
                    Dir::In => (c.msgs_in += m.count, c.bytes_in += m.bytes),
                    Dir::Out => (c.msgs_out += m.count, c.bytes_out += m.bytes),
                };
            }
            EventKind::Close(c) if self.conns.remove(c.conn.as_str()).is_none() => {
                self.contradictions += 1;
            }
            EventKind::Timer(t) => match t.op {
                TimerOp::Start => {
                    self.timers.insert(
                        t.timer.to_string(),
                        SnapshotTimer {
                            conn: t.conn.clone(),
                            timer: t.timer.clone(),
                            kind: t.kind.clone(),
                            interval_ms: t.interval_ms,
                            started: Some(ev.ts),
                        },
                    );
                }
                TimerOp::Clear => {
                    self.timers.remove(t.timer.as_str());
                }
                TimerOp::Fire => {}
            },
            _ => {}
        }
    }
}

#[tokio::test]
async fn a_late_subscribers_snapshot_equals_what_an_early_one_built_and_resync_answers() {
    let (_tap, server, admin) = setup(100_000).await;
    let mut early = attach(&admin).await;
    let mut folded = Folded::default();
    let mut clients = Vec::new();
    for i in 0..6 {
        let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{server}/room/{i}"))
            .await
            .unwrap();
        for _ in 0..i {
            ws.send(Message::text("hi")).await.unwrap();
            ws.next().await.unwrap().unwrap();
        }
        if i % 2 == 0 {
            ws.send(Message::text("leak")).await.unwrap();
        } else {
            ws.send(Message::text("timer")).await.unwrap();
        }
        clients.push(ws);
    }
    // Two leave: one says goodbye, one vanishes.
    let mut first = clients.remove(0);
    first.close(None).await.unwrap();
    while let Some(Ok(_)) = first.next().await {}
    drop(clients.remove(0));
    // Until all is quiet, as the early subscriber sees it: both closes in, the four left
    // with their message counts flushed (clients 2 to 5 sent i + 1 and got i back), and
    // every fire seen: 40 from each of the three leaked timers, one from each `timer`.
    let mut fires = 0;
    loop {
        let ev = next_event(&mut early).await;
        if let EventKind::Timer(t) = &ev.kind
            && t.op == TimerOp::Fire
        {
            fires += 1;
        }
        folded.apply(&ev);
        let (sent, got) = folded
            .conns
            .values()
            .fold((0, 0), |(i, o), c| (i + c.msgs_in, o + c.msgs_out));
        if fires == 3 * 40 + 3 && folded.conns.len() == 4 && (sent, got) == (18, 14) {
            break;
        }
    }
    // Without history: the present only.
    let mut late = attach_with(&admin, "history=0").await;
    let (hello, late_snap) = (next_event(&mut late).await, next_event(&mut late).await);
    assert!(matches!(&hello.kind, EventKind::Hello(h) if h.history.is_none()));
    let EventKind::Snapshot(late_snap) = late_snap.kind else {
        panic!("{late_snap:?}")
    };
    // Everything the early subscriber received up to now.
    while let Ok(Some(Ok(Message::Text(t)))) =
        tokio::time::timeout(Duration::from_millis(300), early.next()).await
    {
        folded.apply(&parse_event(t.as_bytes()).unwrap());
    }
    assert_eq!(late_snap.connections.len(), 4);
    assert_eq!(late_snap.timers.len(), 3, "the leaked timers only");
    let late_conns: BTreeMap<_, _> = late_snap
        .connections
        .iter()
        .map(|c| (c.open.conn.to_string(), c.clone()))
        .collect();
    let late_timers: BTreeMap<_, _> = late_snap
        .timers
        .iter()
        .map(|t| (t.timer.to_string(), t.clone()))
        .collect();
    // last_ping/pong are not carried by this fold (no heartbeat here), both sides None.
    assert_eq!(late_conns, folded.conns);
    assert_eq!(late_timers, folded.timers);
    // Client 5: five echoed "hi" and the "timer" command.
    assert!(
        late_conns
            .values()
            .any(|c| (c.msgs_in, c.bytes_in, c.msgs_out, c.bytes_out) == (6, 15, 5, 10))
    );

    // Resync: a snapshot again, equal to the one before (nothing happened since).
    late.send(Message::text(r#"{"type":"resync"}"#))
        .await
        .unwrap();
    let again = next_event(&mut late).await;
    let EventKind::Snapshot(again) = again.kind else {
        panic!("{again:?}")
    };
    assert_eq!(again, Snapshot { ..late_snap });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_subscriber_loses_events_gets_dropped_and_does_not_slow_the_server() {
    let (tap, server, admin) = setup(64).await;
    // A subscriber with a tiny receive buffer that stops reading after the handshake.
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let tcp = socket.connect(admin.admin_addr().unwrap()).await.unwrap();
    let url = format!("{}?token={TOKEN}", admin.admin_url().unwrap());
    let (mut stalled, _) = tokio_tungstenite::client_async(url, tcp).await.unwrap();

    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{server}/"))
        .await
        .unwrap();
    let mut echo = async |n: usize| {
        let mut rtts = Vec::new();
        for _ in 0..n {
            let t = Instant::now();
            ws.send(Message::text("ping?")).await.unwrap();
            ws.next().await.unwrap().unwrap();
            rtts.push(t.elapsed());
        }
        rtts.sort();
        rtts[n / 2]
    };
    let before = echo(200).await;
    // Tens of thousands of events through the tap while the subscriber does not read.
    let (mut burster, _) = tokio_tungstenite::connect_async(format!("ws://{server}/"))
        .await
        .unwrap();
    for _ in 0..10 {
        burster.send(Message::text("burst:5000")).await.unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while tap.feed_dropped_total() < 10_000 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let during = echo(200).await;
    assert!(
        tap.feed_dropped_total() > 10_000,
        "{}",
        tap.feed_dropped_total()
    );
    // Generous: the echo must not have waited on the stalled subscriber.
    assert!(
        during < before * 5 + Duration::from_millis(5),
        "before {before:?}, during {during:?}"
    );

    // The subscriber reads again: what it lost is announced.
    let mut dropped = 0;
    while dropped == 0 {
        let msg = tokio::time::timeout(Duration::from_secs(10), stalled.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        if let Message::Text(t) = msg
            && let EventKind::Dropped { count } = parse_event(t.as_bytes()).unwrap().kind
        {
            dropped = count;
        }
    }
    assert!(dropped > 1000, "{dropped}");
    let metrics = http(
        admin.admin_addr().unwrap(),
        &format!("GET /metrics HTTP/1.1\r\nAuthorization: Bearer {TOKEN}\r\n\r\n"),
    )
    .await;
    let line = metrics
        .lines()
        .find(|l| l.starts_with("wscope_feed_dropped_total "))
        .unwrap();
    assert!(line[26..].trim().parse::<u64>().unwrap() > 10_000, "{line}");
}

#[tokio::test]
async fn garbage_requests_and_frames_get_errors_not_a_crash() {
    let (_tap, _server, admin) = setup(1024).await;
    let addr = admin.admin_addr().unwrap();
    let resp = http(addr, "\x00\x01\x02 not http\r\n\r\n").await;
    assert!(resp.starts_with("HTTP/1.1 400"), "{resp}");
    let resp = http(
        addr,
        &format!("GET /?token={TOKEN} HTTP/1.1\r\nHost: x\r\n\r\n"),
    )
    .await;
    assert!(resp.starts_with("HTTP/1.1 426"), "{resp}");
    let resp = http(
        addr,
        &format!("POST /metrics?token={TOKEN} HTTP/1.1\r\nContent-Length: 0\r\n\r\n"),
    )
    .await;
    assert!(resp.starts_with("HTTP/1.1 405"), "{resp}");
    let huge = format!("GET / HTTP/1.1\r\nX: {}\r\n\r\n", "a".repeat(40_000));
    let resp = http(addr, &huge).await;
    assert!(resp.starts_with("HTTP/1.1 400"), "{resp}");

    let mut feed = attach(&admin).await;
    next_event(&mut feed).await;
    next_event(&mut feed).await;
    for bad in [
        Message::text("{not json"),
        Message::text(r#"{"type":"shutdown"}"#),
        Message::binary(vec![0u8, 159, 146]),
    ] {
        feed.send(bad).await.unwrap();
        let ev = next_event(&mut feed).await;
        let EventKind::Error { conn, message } = ev.kind else {
            panic!("{ev:?}")
        };
        assert!(conn.is_none());
        assert!(message.contains("resync"), "{message}");
    }
    // Still serving.
    feed.send(Message::text(r#"{"type":"resync"}"#))
        .await
        .unwrap();
    assert!(matches!(
        next_event(&mut feed).await.kind,
        EventKind::Snapshot(_)
    ));
    // A frame over the limit ends that feed only, with 1009 (message too big) and why.
    let _ = feed.send(Message::text("x".repeat(200_000))).await;
    let close = loop {
        let msg = tokio::time::timeout(Duration::from_secs(5), feed.next())
            .await
            .expect("a close in time");
        match msg {
            Some(Ok(Message::Close(frame))) => break frame,
            Some(Ok(_)) => continue,
            other => panic!("no close frame: {other:?}"),
        }
    };
    let close = close.expect("a close frame with a code");
    assert_eq!(u16::from(close.code), 1009, "{close:?}");
    assert!(close.reason.contains("64 KiB"), "{close:?}");
    let mut other = attach(&admin).await;
    assert!(matches!(
        next_event(&mut other).await.kind,
        EventKind::Hello(_)
    ));
}

#[tokio::test]
async fn metrics_in_prometheus_text() {
    let (_tap, server, admin) = setup(1024).await;
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{server}/"))
        .await
        .unwrap();
    ws.send(Message::text("close:4001")).await.unwrap();
    while let Some(Ok(_)) = ws.next().await {}
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{server}/"))
        .await
        .unwrap();
    ws.send(Message::text("leak")).await.unwrap();
    let _ = http(server, "GET /ws HTTP/1.1\r\n\r\n").await;
    // The tap counts as the events pass: ask until the last of them (the refused upgrade)
    // shows.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let resp = loop {
        let resp = http(
            admin.admin_addr().unwrap(),
            &format!("GET /metrics HTTP/1.1\r\nAuthorization: Bearer {TOKEN}\r\n\r\n"),
        )
        .await;
        if resp.contains("ws_upgrade_rejected_total{status=\"426\"} 1")
            || tokio::time::Instant::now() > deadline
        {
            break resp;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    assert!(
        resp.contains("Content-Type: text/plain; version=0.0.4"),
        "{resp}"
    );
    for line in [
        "ws_connections_active 1",
        "ws_disconnects_total{code=\"4001\",initiator=\"server\"} 1",
        "ws_upgrade_rejected_total{status=\"426\"} 1",
        "ws_timers_active 1",
        "ws_pong_age_seconds_bucket{le=\"+Inf\"} 1",
        "ws_pong_age_seconds_count 1",
        "# TYPE ws_pong_age_seconds histogram",
        "wscope_feed_dropped_total 0",
    ] {
        assert!(
            resp.lines().any(|l| l == line),
            "missing {line:?} in\n{resp}"
        );
    }
}

#[tokio::test]
async fn tls_with_pem_files() {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.signing_key.serialize_pem()).unwrap();
    let builder = Tap::builder()
        .admin_addr(loopback())
        .token(TOKEN)
        .tls(&cert_path, &key_path);
    let admin = builder.clone().spawn().await.unwrap();
    assert!(admin.admin_url().unwrap().starts_with("wss://"));

    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.cert.der().clone()).unwrap();
    let client = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let url = format!(
        "wss://localhost:{}/?token={TOKEN}",
        admin.admin_addr().unwrap().port()
    );
    let tcp = tokio::net::TcpStream::connect(admin.admin_addr().unwrap())
        .await
        .unwrap();
    let connector = tokio_tungstenite::Connector::Rustls(Arc::new(client));
    let (mut feed, _) =
        tokio_tungstenite::client_async_tls_with_config(url, tcp, None, Some(connector))
            .await
            .unwrap();
    assert!(matches!(
        next_event(&mut feed).await.kind,
        EventKind::Hello(_)
    ));

    // A key file that is not a key: a clear error, not a panic.
    std::fs::write(&key_path, "not a key").unwrap();
    let err = builder.spawn().await.err().unwrap();
    assert!(err.to_string().contains("key.pem"), "{err}");
    let err = Tap::builder()
        .admin_addr(loopback())
        .spawn()
        .await
        .err()
        .unwrap();
    assert!(err.to_string().contains("token"), "{err}");
}

/// A subscriber that attaches late gets the history: `hello` dated at its start, what was
/// open then, every event since in order (the closes it missed among them), then the
/// present. Folded, it is what an early subscriber folded, with nothing contradictory.
#[tokio::test]
async fn a_late_subscriber_gets_the_history_then_the_present() {
    let (_tap, server, admin) = setup(100_000).await;
    let mut early = attach(&admin).await;
    let mut clients = Vec::new();
    for i in 0..4 {
        let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{server}/room/{i}"))
            .await
            .unwrap();
        clients.push(ws);
    }
    let mut gone = clients.remove(0);
    gone.close(None).await.unwrap();
    while let Some(Ok(_)) = gone.next().await {}
    drop(clients.remove(0));
    let mut folded = Folded::default();
    let mut closes = 0;
    while closes < 2 {
        let ev = next_event(&mut early).await;
        closes += usize::from(matches!(ev.kind, EventKind::Close(_)));
        folded.apply(&ev);
    }
    let mut late = attach(&admin).await;
    let hello = next_event(&mut late).await;
    let EventKind::Hello(h) = &hello.kind else {
        panic!("{hello:?}")
    };
    let info = h.history.expect("hello announces the history");
    assert_eq!(hello.ts, info.from);
    let base = next_event(&mut late).await;
    assert!(matches!(base.kind, EventKind::Snapshot(_)));
    assert_eq!(base.ts, info.from);
    let mut replayed = Folded::default();
    replayed.apply(&base);
    let mut seen = Vec::new();
    for _ in 0..info.events {
        let ev = next_event(&mut late).await;
        assert!(ev.ts >= info.from);
        seen.push(ev.kind.type_name().to_string());
        replayed.apply(&ev);
    }
    assert_eq!(seen.iter().filter(|t| *t == "open").count(), 4, "{seen:?}");
    assert_eq!(seen.iter().filter(|t| *t == "close").count(), 2, "{seen:?}");
    assert_eq!(replayed.contradictions, 0);
    let now = next_event(&mut late).await;
    let EventKind::Snapshot(now) = now.kind else {
        panic!("{now:?}")
    };
    assert_eq!(now.connections.len(), 2);
    let ids = |f: &Folded| f.conns.keys().cloned().collect::<Vec<_>>();
    assert_eq!(ids(&replayed), ids(&folded));
    drop(clients);
}

/// A viewer reconnecting says the time of the last event it heard
/// (`X-Wscope-History-Since`): it gets only what came after, so nothing is counted twice,
/// and what it heard is in the snapshot the history starts from.
#[tokio::test]
async fn a_reconnecting_viewer_gets_only_what_it_missed() {
    let (_tap, server, admin) = setup(100_000).await;
    let mut first = attach(&admin).await;
    let mut clients = Vec::new();
    for i in 0..3 {
        let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{server}/r/{i}"))
            .await
            .unwrap();
        clients.push(ws);
    }
    let mut opens = Vec::new();
    while opens.len() < 3 {
        let ev = next_event(&mut first).await;
        if matches!(ev.kind, EventKind::Open(_)) {
            opens.push(ev);
        }
    }
    // Heard up to the second open; the third and a close came after.
    let heard = opens[1].ts;
    drop(first);
    drop(clients.remove(0));
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut req = admin.admin_url().unwrap().into_client_request().unwrap();
    let h = req.headers_mut();
    h.insert("Authorization", format!("Bearer {TOKEN}").parse().unwrap());
    h.insert(
        "X-Wscope-History-Since",
        heard.to_rfc3339().parse().unwrap(),
    );
    let mut again = tokio_tungstenite::connect_async(req).await.unwrap().0;
    let hello = next_event(&mut again).await;
    let EventKind::Hello(h) = &hello.kind else {
        panic!("{hello:?}")
    };
    let info = h.history.expect("a history after `since`");
    let base = next_event(&mut again).await;
    let EventKind::Snapshot(base) = base.kind else {
        panic!("{base:?}")
    };
    assert_eq!(base.connections.len(), 2, "the two opens already heard");
    let mut kinds = Vec::new();
    for _ in 0..info.events {
        let ev = next_event(&mut again).await;
        assert!(ev.ts > heard);
        kinds.push(ev.kind.type_name().to_string());
    }
    assert_eq!(
        kinds.iter().filter(|k| *k == "open").count(),
        1,
        "{kinds:?}"
    );
    assert_eq!(
        kinds.iter().filter(|k| *k == "close").count(),
        1,
        "{kinds:?}"
    );
}
