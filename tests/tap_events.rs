//! Every event kind the tap emits, from real WebSocket connections on loopback.

mod common;

use common::tap::*;
use futures_util::{SinkExt, StreamExt};
use std::time::Duration;
use tokio::io::AsyncReadExt;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use wscope::event::{AppState, Dir, EventKind, Initiator, TimerOp};
use wscope::tap::{HeartbeatPolicy, Tap};

async fn tap(heartbeat: Option<HeartbeatPolicy>) -> Tap {
    Tap::builder()
        .server("test-1")
        .heartbeat(heartbeat)
        .flush_interval(Duration::from_millis(50))
        .process_interval(None)
        // These tests subscribe again and again and read what comes next; the history
        // (tests/tap_admin.rs) would replay what came before.
        .history(None)
        .without_admin()
        .spawn()
        .await
        .unwrap()
        .tap()
}

#[tokio::test]
async fn hello_then_snapshot_then_open_with_request_fields() {
    let tap = tap(Some(HeartbeatPolicy::new(
        Duration::from_secs(30),
        Duration::from_secs(5),
    )))
    .await;
    let addr = echo_server(tap.clone()).await;
    let mut sub = tap.subscribe();
    let hello = sub.recv().await.unwrap();
    let EventKind::Hello(h) = &hello.kind else {
        panic!("{hello:?}")
    };
    assert_eq!(hello.server.as_deref(), Some("test-1"));
    assert_eq!(h.protocol, Some(1));
    let hb = h.heartbeat.unwrap();
    assert_eq!((hb.ping_interval_ms, hb.pong_timeout_ms), (30_000, 5_000));
    assert!(matches!(
        sub.recv().await.unwrap().kind,
        EventKind::Snapshot(_)
    ));

    let mut req = format!("ws://{addr}/ws?token=secret")
        .into_client_request()
        .unwrap();
    req.headers_mut()
        .insert("User-Agent", "Mozilla/5.0 (iPhone)".parse().unwrap());
    req.headers_mut().insert(
        "X-Forwarded-For",
        "198.51.100.23, 10.0.0.1".parse().unwrap(),
    );
    let (ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    let local = ws.get_ref().get_ref().local_addr().unwrap();
    let open = wait_for(&mut sub, |e| matches!(e.kind, EventKind::Open(_))).await;
    let EventKind::Open(o) = open.kind else {
        unreachable!()
    };
    assert_eq!(o.remote.as_deref(), Some(local.to_string().as_str()));
    assert_eq!(o.user_agent.as_deref(), Some("Mozilla/5.0 (iPhone)"));
    assert_eq!(
        o.path.as_deref(),
        Some("/ws"),
        "the query (a token) is left out"
    );
    assert_eq!(o.forwarded_for.as_deref(), Some("198.51.100.23, 10.0.0.1"));
    // `<boot>-<n>`: another run's ids are others.
    let (boot, n) = o.conn.split_once('-').unwrap();
    assert!(boot.len() >= 8 && n.parse::<u64>().is_ok(), "{}", o.conn);
}

#[tokio::test]
async fn refused_upgrades_get_a_status_and_an_event() {
    let tap = tap(None).await;
    let addr = echo_server(tap.clone()).await;
    let mut sub = tap.subscribe();
    // What a proxy that strips Upgrade forwards: a plain GET.
    let resp = http(
        addr,
        "GET /ws HTTP/1.1\r\nHost: x\r\nUser-Agent: okhttp/4.12\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(resp.starts_with("HTTP/1.1 426"), "{resp}");
    let ev = wait_for(&mut sub, |e| {
        matches!(e.kind, EventKind::UpgradeRejected(_))
    })
    .await;
    let EventKind::UpgradeRejected(r) = ev.kind else {
        unreachable!()
    };
    assert_eq!(r.status, Some(426));
    assert_eq!(r.user_agent.as_deref(), Some("okhttp/4.12"));
    assert_eq!(r.path.as_deref(), Some("/ws"));
    assert!(r.remote.unwrap().starts_with("127.0.0.1:"));

    let resp = http(addr, "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n").await;
    assert!(resp.starts_with("HTTP/1.1 400"), "{resp}");
    let ev = wait_for(&mut sub, |e| {
        matches!(e.kind, EventKind::UpgradeRejected(_))
    })
    .await;
    let EventKind::UpgradeRejected(r) = ev.kind else {
        unreachable!()
    };
    assert_eq!(
        (r.status, r.reason.as_deref()),
        (Some(400), Some("missing Sec-WebSocket-Key"))
    );

    let resp = http(addr, "\x16\x03\x01garbage\r\n\r\n").await;
    assert!(resp.starts_with("HTTP/1.1 400"), "{resp}");
}

#[tokio::test]
async fn heartbeat_pings_and_pongs_carry_rtt() {
    let tap = tap(Some(HeartbeatPolicy::new(
        Duration::from_millis(100),
        Duration::from_millis(500),
    )))
    .await;
    let addr = echo_server(tap.clone()).await;
    let mut sub = tap.subscribe();
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/"))
        .await
        .unwrap();
    // The client answers pings while it reads.
    tokio::spawn(async move { while let Some(Ok(_)) = ws.next().await {} });
    let conn = next_open(&mut sub).await;
    let ping = wait_for(&mut sub, |e| matches!(e.kind, EventKind::Ping { .. })).await;
    assert_eq!(ping.kind.conn(), Some(conn.as_str()));
    let pong = wait_for(&mut sub, |e| matches!(e.kind, EventKind::Pong { .. })).await;
    let EventKind::Pong { rtt_ms, .. } = pong.kind else {
        unreachable!()
    };
    let rtt = rtt_ms.expect("rtt measured");
    assert!((0.0..500.0).contains(&rtt), "{rtt}");
    // And again: the heartbeat keeps going while pongs come back.
    wait_for(&mut sub, |e| matches!(e.kind, EventKind::Pong { .. })).await;
}

#[tokio::test]
async fn messages_are_aggregated_with_counts_and_bytes() {
    let tap = tap(None).await;
    let addr = echo_server(tap.clone()).await;
    let mut sub = tap.subscribe();
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/"))
        .await
        .unwrap();
    let conn = next_open(&mut sub).await;
    for _ in 0..20 {
        ws.send(Message::text("0123456789")).await.unwrap();
        assert_eq!(
            ws.next().await.unwrap().unwrap(),
            Message::text("0123456789")
        );
    }
    let (mut got_in, mut got_out, mut events) = ((0, 0), (0, 0), 0);
    while got_in.0 < 20 || got_out.0 < 20 {
        let ev = wait_for(&mut sub, |e| matches!(e.kind, EventKind::Message(_))).await;
        let EventKind::Message(m) = ev.kind else {
            unreachable!()
        };
        assert_eq!(m.conn, conn.as_str());
        let slot = if m.dir == Dir::In {
            &mut got_in
        } else {
            &mut got_out
        };
        slot.0 += m.count;
        slot.1 += m.bytes;
        events += 1;
    }
    assert_eq!((got_in, got_out), ((20, 200), (20, 200)));
    assert!(
        events < 40,
        "aggregated, not one event per message ({events})"
    );
}

async fn client_close(addr: std::net::SocketAddr, tap: &Tap, code: u16) -> wscope::event::Close {
    let mut sub = tap.subscribe();
    let mut client = RawClient::connect(addr, "/").await;
    let conn = next_open(&mut sub).await;
    client.close(code, "as sent").await;
    let ev = wait_for(&mut sub, |e| is_close_of(e, &conn)).await;
    let EventKind::Close(c) = ev.kind else {
        unreachable!()
    };
    c
}

#[tokio::test]
async fn client_close_codes_survive_as_sent_including_reserved_ones() {
    let tap = tap(None).await;
    let addr = echo_server(tap.clone()).await;
    // 1014 and 1016 are reserved: tungstenite itself reports them as 1002.
    for code in [1000, 1001, 1011, 4001, 3000, 1014, 1016] {
        let c = client_close(addr, &tap, code).await;
        assert_eq!(c.code, Some(code));
        assert_eq!(c.initiator, Some(Initiator::Client));
        assert_eq!(c.reason.as_deref(), Some("as sent"));
    }
    // A close frame with no status at all.
    let mut sub = tap.subscribe();
    let mut client = RawClient::connect(addr, "/").await;
    let conn = next_open(&mut sub).await;
    client.frame(0x88, b"").await;
    let ev = wait_for(&mut sub, |e| is_close_of(e, &conn)).await;
    let EventKind::Close(c) = ev.kind else {
        unreachable!()
    };
    assert_eq!((c.code, c.initiator), (None, Some(Initiator::Client)));
}

#[tokio::test]
async fn server_close_codes_and_a_vanished_client() {
    let tap = tap(None).await;
    let addr = echo_server(tap.clone()).await;
    let mut sub = tap.subscribe();
    for code in [1000u16, 1001, 1011, 4001] {
        let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/"))
            .await
            .unwrap();
        let conn = next_open(&mut sub).await;
        ws.send(Message::text(format!("close:{code}")))
            .await
            .unwrap();
        // The client reads the close and answers it.
        while let Some(Ok(_)) = ws.next().await {}
        let ev = wait_for(&mut sub, |e| is_close_of(e, &conn)).await;
        let EventKind::Close(c) = ev.kind else {
            unreachable!()
        };
        assert_eq!(
            (c.code, c.initiator),
            (Some(code), Some(Initiator::Server)),
            "{code}"
        );
        assert_eq!(c.reason.as_deref(), Some("server says bye"));
    }
    // `SinkExt::close`: a close frame without a status, sent by the server.
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/"))
        .await
        .unwrap();
    let conn = next_open(&mut sub).await;
    ws.send(Message::text("close")).await.unwrap();
    while let Some(Ok(_)) = ws.next().await {}
    let ev = wait_for(&mut sub, |e| is_close_of(e, &conn)).await;
    let EventKind::Close(c) = ev.kind else {
        unreachable!()
    };
    assert_eq!((c.code, c.initiator), (None, Some(Initiator::Server)));
    // The client process dies: no close frame, the transport ends.
    let client = RawClient::connect(addr, "/").await;
    let conn = next_open(&mut sub).await;
    drop(client);
    let ev = wait_for(&mut sub, |e| is_close_of(e, &conn)).await;
    let EventKind::Close(c) = ev.kind else {
        unreachable!()
    };
    assert_eq!((c.code, c.initiator), (Some(1006), Some(Initiator::None)));
}

#[tokio::test]
async fn a_missed_pong_terminates_the_connection() {
    let tap = tap(Some(HeartbeatPolicy::new(
        Duration::from_millis(100),
        Duration::from_millis(200),
    )))
    .await;
    let addr = echo_server(tap.clone()).await;
    let mut sub = tap.subscribe();
    // Handshakes, then never reads again: pings go unanswered.
    let mut client = RawClient::connect(addr, "/").await;
    let conn = next_open(&mut sub).await;
    wait_for(&mut sub, |e| matches!(e.kind, EventKind::Ping { .. })).await;
    let ev = wait_for(&mut sub, |e| is_close_of(e, &conn)).await;
    let EventKind::Close(c) = ev.kind else {
        unreachable!()
    };
    assert_eq!((c.code, c.initiator), (Some(1006), Some(Initiator::Server)));
    // The transport really is gone: after the unread pings, the socket reaches its end.
    let mut rest = Vec::new();
    let read =
        tokio::time::timeout(Duration::from_secs(5), client.tcp.read_to_end(&mut rest)).await;
    assert!(read.expect("socket closed by the server").is_ok() || rest.is_empty());
    // No close frame (0x88) among what the server sent: it terminated.
    assert!(!rest.contains(&0x88), "{rest:?}");
}

#[tokio::test]
async fn timers_start_fire_and_clear_when_dropped_and_leaks_outlive_the_socket() {
    let tap = tap(None).await;
    let addr = echo_server(tap.clone()).await;
    let mut sub = tap.subscribe();
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/"))
        .await
        .unwrap();
    let conn = next_open(&mut sub).await;
    ws.send(Message::text("timer")).await.unwrap();
    let mut ops = Vec::new();
    while ops.len() < 3 {
        let ev = wait_for(&mut sub, |e| matches!(e.kind, EventKind::Timer(_))).await;
        let EventKind::Timer(t) = ev.kind else {
            unreachable!()
        };
        assert_eq!(t.conn.as_deref(), Some(conn.as_str()));
        ops.push(t.op);
    }
    assert_eq!(ops, [TimerOp::Start, TimerOp::Fire, TimerOp::Clear]);

    ws.send(Message::text("leak")).await.unwrap();
    wait_for(
        &mut sub,
        |e| matches!(&e.kind, EventKind::Timer(t) if t.op == TimerOp::Start),
    )
    .await;
    ws.close(None).await.unwrap();
    wait_for(&mut sub, |e| is_close_of(e, &conn)).await;
    let fire = wait_for(
        &mut sub,
        |e| matches!(&e.kind, EventKind::Timer(t) if t.op == TimerOp::Fire),
    )
    .await;
    assert_eq!(
        fire.kind.conn(),
        Some(conn.as_str()),
        "a timer firing after its socket closed"
    );
    let mut now = tap.subscribe_with(false);
    now.recv().await;
    let EventKind::Snapshot(snap) = now.recv().await.unwrap().kind else {
        unreachable!()
    };
    assert_eq!(snap.timers.len(), 1);
    assert!(snap.connections.is_empty());
}

#[tokio::test]
async fn app_state_errors_and_process_figures() {
    let tap = Tap::builder()
        .heartbeat(None)
        .process_interval(Some(Duration::from_millis(100)))
        .without_admin()
        .spawn()
        .await
        .unwrap()
        .tap();
    let addr = echo_server(tap.clone()).await;
    let mut sub = tap.subscribe();
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/"))
        .await
        .unwrap();
    let conn = next_open(&mut sub).await;
    ws.send(Message::text("bg")).await.unwrap();
    let ev = wait_for(&mut sub, |e| matches!(e.kind, EventKind::AppState { .. })).await;
    assert_eq!(
        ev.kind,
        EventKind::AppState {
            conn: conn.as_str().into(),
            state: AppState::Background
        }
    );

    let ev = wait_for(&mut sub, |e| matches!(e.kind, EventKind::Process { .. })).await;
    let EventKind::Process {
        rss_bytes,
        open_fds,
    } = ev.kind
    else {
        unreachable!()
    };
    assert!(rss_bytes.unwrap() > 1_000_000);
    assert!(open_fds.unwrap() >= 3);

    // A frame with reserved bits set is a protocol error on the server's side.
    let mut raw = RawClient::connect(addr, "/").await;
    let conn = next_open(&mut sub).await;
    raw.frame(0xC1, b"x").await;
    let ev = wait_for(&mut sub, |e| matches!(e.kind, EventKind::Error { .. })).await;
    assert_eq!(ev.kind.conn(), Some(conn.as_str()));
    let ev = wait_for(&mut sub, |e| is_close_of(e, &conn)).await;
    let EventKind::Close(c) = ev.kind else {
        unreachable!()
    };
    assert_eq!(c.code, Some(1006));
}

#[tokio::test]
async fn a_server_close_to_a_silent_client_still_reports_the_servers_code() {
    let tap = tap(None).await;
    let addr = echo_server(tap.clone()).await;
    let mut sub = tap.subscribe();
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/"))
        .await
        .unwrap();
    let conn = next_open(&mut sub).await;
    ws.send(Message::text("close:1001")).await.unwrap();
    // The server's close frame arrives; the client never answers it and just goes away
    // (tungstenite queues its answer for the next read, which never comes).
    let frame = ws.next().await.unwrap().unwrap();
    assert!(matches!(frame, Message::Close(Some(_))), "{frame:?}");
    drop(ws);
    let ev = wait_for(&mut sub, |e| is_close_of(e, &conn)).await;
    let EventKind::Close(c) = ev.kind else {
        unreachable!()
    };
    assert_eq!((c.code, c.initiator), (Some(1001), Some(Initiator::Server)));
}

#[tokio::test]
async fn the_application_can_refuse_an_upgrade_or_name_the_client() {
    let tap = tap(None).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server_tap = tap.clone();
    tokio::spawn(async move {
        loop {
            let (tcp, peer) = listener.accept().await.unwrap();
            let tap = server_tap.clone();
            tokio::spawn(async move {
                let decided = tap
                    .accept_with(tcp, Some(peer), |req| match req.query_param("user") {
                        Some(user) => Ok(wscope::tap::Accept {
                            client: Some(user),
                            headers: vec![("X-Served-By".into(), "tap".into())],
                            ..Default::default()
                        }),
                        None => Err(wscope::tap::Reject::new(429, "no user yet")
                            .header("Retry-After", "30")),
                    })
                    .await;
                if let Ok(mut ws) = decided {
                    while let Some(Ok(_)) = ws.next().await {}
                }
            });
        }
    });
    let mut sub = tap.subscribe();
    let err = tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
        .await
        .unwrap_err();
    let tokio_tungstenite::tungstenite::Error::Http(answer) = err else {
        panic!("{err:?}")
    };
    assert_eq!(answer.status(), 429);
    assert_eq!(answer.headers()["retry-after"], "30");
    let ev = wait_for(&mut sub, |e| {
        matches!(e.kind, EventKind::UpgradeRejected(_))
    })
    .await;
    let EventKind::UpgradeRejected(r) = ev.kind else {
        unreachable!()
    };
    assert_eq!(
        (r.status, r.reason.as_deref()),
        (Some(429), Some("no user yet"))
    );
    // The status line has the status's own reason phrase.
    let mut raw = tokio::net::TcpStream::connect(addr).await.unwrap();
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    raw.write_all(
        b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    )
    .await
    .unwrap();
    let mut answer = String::new();
    raw.read_to_string(&mut answer).await.unwrap();
    assert!(
        answer.starts_with("HTTP/1.1 429 Too Many Requests\r\n"),
        "{answer}"
    );

    let (_ws, answer) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws?user=user-4411"))
        .await
        .unwrap();
    assert_eq!(answer.headers()["x-served-by"], "tap");
    let ev = wait_for(&mut sub, |e| matches!(e.kind, EventKind::Open(_))).await;
    let EventKind::Open(o) = ev.kind else {
        unreachable!()
    };
    assert_eq!(o.client.as_deref(), Some("user-4411"));
}

#[tokio::test]
async fn resyncs_without_reading_queue_one_snapshot_at_most() {
    let tap = tap(None).await;
    let mut sub = tap.subscribe();
    for _ in 0..1000 {
        sub.resync();
    }
    let mut kinds = Vec::new();
    while let Some(ev) = sub.try_recv() {
        kinds.push(ev.kind.type_name().to_string());
    }
    assert_eq!(kinds, ["hello", "snapshot"]);
    // Once read, a resync is answered again.
    sub.resync();
    assert!(matches!(
        sub.try_recv().map(|e| e.kind),
        Some(EventKind::Snapshot(_))
    ));
}
