//! The live feed source against real loopback feeds: a small tokio-tungstenite server per test.

use futures_util::{SinkExt, StreamExt};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::StatusCode;
use tokio_tungstenite::{WebSocketStream, accept_hdr_async};
use wscope::event::EventKind;
use wscope::source::feed::{self, FeedOptions};
use wscope::source::{SourceMsg, SourceState};

const TOKEN: &str = "t0ken-for-tests";

fn fast_options() -> FeedOptions {
    FeedOptions {
        token: Some(TOKEN.into()),
        connect_timeout: Duration::from_secs(2),
        ping_interval: Duration::from_millis(200),
        read_timeout: Duration::from_secs(2),
        backoff_base: Duration::from_millis(50),
        backoff_cap: Duration::from_millis(300),
        ..FeedOptions::default()
    }
}

fn hello(n: u32) -> String {
    format!(
        r#"{{"type":"hello","ts":"2026-11-30T01:00:0{n}Z","protocol":1,"server":"test-{n}","heartbeat":null}}"#
    )
}

fn snapshot(conns: &[&str]) -> String {
    let list: Vec<String> = conns
        .iter()
        .map(|c| format!(r#"{{"conn":"{c}","opened":"2026-11-30T00:59:00Z"}}"#))
        .collect();
    format!(
        r#"{{"type":"snapshot","ts":"2026-11-30T01:00:00.5Z","connections":[{}],"timers":[]}}"#,
        list.join(",")
    )
}

/// Accepts upgrades that carry the test token; 401 otherwise.
#[allow(clippy::result_large_err)] // the shape tungstenite's callback requires
async fn accept(tcp: TcpStream) -> Option<WebSocketStream<TcpStream>> {
    let check = |req: &Request, resp: Response| -> Result<Response, ErrorResponse> {
        let ok = req
            .headers()
            .get("authorization")
            .is_some_and(|v| v == format!("Bearer {TOKEN}").as_str());
        if ok {
            Ok(resp)
        } else {
            let mut e = ErrorResponse::new(Some("bad token".into()));
            *e.status_mut() = StatusCode::UNAUTHORIZED;
            Err(e)
        }
    };
    accept_hdr_async(tcp, check).await.ok()
}

/// A feed server: every subscriber gets `frames`, then the server echoes a snapshot on resync
/// and otherwise waits. Dropping (aborting) the returned task kills every connection.
fn serve(listener: TcpListener, frames: Vec<Message>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut conns = JoinSet::new();
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let frames = frames.clone();
            conns.spawn(async move {
                let Some(mut ws) = accept(tcp).await else {
                    return;
                };
                for f in frames {
                    if ws.send(f).await.is_err() {
                        return;
                    }
                }
                while let Some(Ok(msg)) = ws.next().await {
                    if let Message::Text(t) = msg
                        && t.as_str() == r#"{"type":"resync"}"#
                    {
                        let _ = ws.send(Message::text(snapshot(&["resynced"]))).await;
                    }
                }
            });
        }
    })
}

async fn next(rx: &mut mpsc::Receiver<SourceMsg>) -> SourceMsg {
    timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("the feed went quiet")
        .expect("the feed channel closed")
}

/// Reads until an item matches, returning what came before it.
async fn until(
    rx: &mut mpsc::Receiver<SourceMsg>,
    mut want: impl FnMut(&SourceMsg) -> bool,
) -> Vec<SourceMsg> {
    let mut seen = Vec::new();
    loop {
        let item = next(rx).await;
        if want(&item) {
            seen.push(item);
            return seen;
        }
        seen.push(item);
    }
}

fn event_type(item: &SourceMsg) -> Option<String> {
    event_of(item).map(|(e, _)| e.kind.type_name().to_string())
}

/// The event of a message and its frame as received, if it is an event.
fn event_of(item: &SourceMsg) -> Option<(&wscope::event::Event, &str)> {
    match item {
        SourceMsg::Event { event, raw, .. } => Some((event, raw.as_deref().unwrap_or(""))),
        _ => None,
    }
}

fn state_of(item: &SourceMsg) -> Option<&SourceState> {
    match item {
        SourceMsg::State { state, .. } => Some(state),
        _ => None,
    }
}

fn is_retrying(item: &SourceMsg) -> bool {
    matches!(state_of(item), Some(SourceState::Retrying { .. }))
}

/// The reason and the wait of a `Retrying` state.
fn retrying(item: &SourceMsg) -> (String, Duration) {
    match state_of(item) {
        Some(SourceState::Retrying {
            reason, retry_in, ..
        }) => (reason.clone(), *retry_in),
        other => panic!("not retrying: {other:?}"),
    }
}

#[tokio::test]
async fn reconnects_after_the_server_dies_and_resyncs_from_a_new_snapshot() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let first = vec![
        Message::text(hello(1)),
        Message::text(snapshot(&["c1", "c2"])),
        Message::text(r#"{"type":"open","ts":"2026-11-30T01:00:02Z","conn":"c3"}"#),
    ];
    let server = serve(listener, first);
    let url = format!("ws://{addr}/feed");
    let (feeds, mut rx) = feed::spawn(std::slice::from_ref(&url), fast_options()).unwrap();

    let before = until(&mut rx, |i| event_type(i).as_deref() == Some("open")).await;
    let statuses: Vec<_> = before
        .iter()
        .filter_map(|i| match i {
            SourceMsg::State { state, .. } => Some(state.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        statuses,
        [
            SourceState::Connecting { attempt: 1 },
            SourceState::Connected
        ]
    );
    let types: Vec<_> = before.iter().filter_map(event_type).collect();
    assert_eq!(types, ["hello", "snapshot", "open"]);
    if let Some((_, raw)) = event_of(&before[2]) {
        assert_eq!(raw, hello(1), "the raw frame is kept for recording");
    }

    // Kill the server: listener and connections go away.
    server.abort();
    let _ = server.await;
    let gone = until(&mut rx, is_retrying).await;
    let (reason, retry_in) = retrying(gone.last().unwrap());
    assert!(!reason.is_empty());
    assert!(
        retry_in <= Duration::from_millis(50),
        "first retry within the base"
    );

    // While it is down, attempts fail and back off.
    let failed = until(&mut rx, is_retrying).await;
    assert!(matches!(
        failed[0],
        SourceMsg::State {
            state: SourceState::Connecting { attempt: 2 },
            ..
        }
    ));

    // Restart on the same port: the source reconnects and the new snapshot arrives.
    let listener = TcpListener::bind(addr).await.unwrap();
    let second = vec![
        Message::text(hello(2)),
        Message::text(snapshot(&["c3", "c4"])),
    ];
    let _server = serve(listener, second);
    let after = until(&mut rx, |i| event_type(i).as_deref() == Some("snapshot")).await;
    assert!(
        after
            .iter()
            .any(|i| matches!(state_of(i), Some(SourceState::Connected)))
    );
    let (snap, _) = event_of(after.last().unwrap()).unwrap();
    let EventKind::Snapshot(s) = &snap.kind else {
        panic!("not a snapshot")
    };
    let conns: Vec<_> = s.connections.iter().map(|c| c.open.conn.as_str()).collect();
    assert_eq!(conns, ["c3", "c4"]);
    let hellos: Vec<_> = after
        .iter()
        .filter(|i| event_type(i).as_deref() == Some("hello"))
        .collect();
    assert_eq!(hellos.len(), 1, "hello precedes the new snapshot");

    // A resync request gets a snapshot back.
    feeds.request_resync(0);
    let resync = until(&mut rx, |i| event_type(i).as_deref() == Some("snapshot")).await;
    let (_, raw) = event_of(resync.last().unwrap()).unwrap();
    assert!(raw.contains("resynced"));
}

#[tokio::test]
async fn a_refused_token_is_final_with_a_clear_message() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepts = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = accepts.clone();
    tokio::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            tokio::spawn(accept(tcp));
        }
    });
    for (token, expect) in [
        (Some("wrong"), "refused the token"),
        (None, "none was given"),
    ] {
        let opts = FeedOptions {
            token: token.map(str::to_string),
            ..fast_options()
        };
        let (_feeds, mut rx) = feed::spawn(&[format!("ws://{addr}/")], opts).unwrap();
        let items = until(&mut rx, |i| {
            matches!(state_of(i), Some(SourceState::Unauthorized { .. }))
        })
        .await;
        let Some(SourceState::Unauthorized { message }) = state_of(items.last().unwrap()) else {
            unreachable!()
        };
        assert!(message.contains("401"), "{message}");
        assert!(message.contains(expect), "{message}");
        // Final: the task ends and the channel closes, with no retry.
        let end = timeout(Duration::from_secs(2), rx.recv()).await.unwrap();
        assert!(end.is_none(), "no retry after a 401: {end:?}");
    }
    assert_eq!(accepts.load(std::sync::atomic::Ordering::SeqCst), 2);
}

#[tokio::test]
async fn garbage_and_huge_frames_are_counted_and_the_feed_goes_on() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let huge_agent = "x".repeat(2 << 20);
    let big_valid = format!(
        r#"{{"type":"open","ts":"2026-11-30T01:00:01Z","conn":"big","user_agent":"{huge_agent}"}}"#
    );
    let big_garbage = format!("{{\"type\":\"open\",\"ts\":\"{huge_agent}");
    let frames = vec![
        Message::text(hello(1)),
        Message::text("this is not json"),
        Message::binary(vec![0u8, 159, 146, 150]),
        Message::text(r#"{"type":"open","ts":"2026-11-30T01:00:01Z"}"#),
        Message::text(r#"{"type":"close","ts":"yesterday","conn":"c1"}"#),
        Message::text(big_garbage),
        Message::text(big_valid),
        Message::text(r#"{"type":"future_kind","ts":"2026-11-30T01:00:02Z"}"#),
        Message::text(r#"{"type":"ping","ts":"2026-11-30T01:00:03Z","conn":"c1"}"#),
    ];
    let _server = serve(listener, frames);
    let (_feeds, mut rx) = feed::spawn(&[format!("ws://{addr}/")], fast_options()).unwrap();
    let items = until(&mut rx, |i| event_type(i).as_deref() == Some("ping")).await;
    let invalid: Vec<_> = items
        .iter()
        .filter_map(|i| match i {
            SourceMsg::Skipped { why, .. } => Some(why.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(invalid.len(), 5, "{invalid:?}");
    assert!(invalid[0].contains("JSON"), "{}", invalid[0]);
    assert!(invalid[1].contains("binary"));
    assert!(invalid[2].contains("conn"), "{}", invalid[2]);
    assert!(invalid[3].contains("ts"));
    let bytes: usize = invalid[4]
        .strip_prefix("a frame of ")
        .and_then(|w| w.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    assert!(bytes > 2 << 20, "{}", invalid[4]);
    let types: Vec<_> = items.iter().filter_map(event_type).collect();
    assert_eq!(types, ["hello", "open", "future_kind", "ping"]);
    // No disconnect happened along the way.
    assert!(!items.iter().any(is_retrying));
}

#[tokio::test]
async fn a_server_that_never_answers_the_upgrade_times_out_and_retries() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    // Accepts TCP, reads nothing, answers nothing.
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((tcp, _)) = listener.accept().await {
            held.push(tcp);
        }
    });
    let opts = FeedOptions {
        connect_timeout: Duration::from_millis(300),
        ..fast_options()
    };
    let (_feeds, mut rx) = feed::spawn(&[format!("ws://{addr}/")], opts).unwrap();
    for attempt in 1..=2 {
        let items = until(&mut rx, is_retrying).await;
        assert!(matches!(
            items[0],
            SourceMsg::State { state: SourceState::Connecting { attempt: a }, .. } if a == attempt
        ));
        let (reason, _) = retrying(items.last().unwrap());
        assert!(reason.contains("no answer"), "{reason}");
    }
}

/// The waits before the first `n` retries.
async fn retry_waits(rx: &mut mpsc::Receiver<SourceMsg>, n: usize) -> Vec<Duration> {
    let mut waits = Vec::new();
    while waits.len() < n {
        let items = until(rx, is_retrying).await;
        if let Some(last) = items.last() {
            waits.push(retrying(last).1);
        }
    }
    waits
}

/// Backs off from a server that takes TCP connections and never answers, and from one that
/// goes silent after its `hello`: time spent waiting on them is not a connection that lived.
/// (Waits are drawn at random below a ceiling that doubles from 20 ms; had the backoff been
/// reset each time, every wait would stay under 20 ms.)
#[tokio::test]
async fn silent_servers_get_a_growing_backoff() {
    for hello_first in [false, true] {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let mut held = Vec::new();
            let mut sockets = Vec::new();
            while let Ok((tcp, _)) = listener.accept().await {
                if !hello_first {
                    sockets.push(tcp);
                } else if let Some(mut ws) = accept(tcp).await {
                    ws.send(Message::text(hello(1))).await.unwrap();
                    held.push(ws);
                }
            }
        });
        let opts = FeedOptions {
            connect_timeout: Duration::from_millis(100),
            read_timeout: Duration::from_millis(100),
            backoff_base: Duration::from_millis(20),
            backoff_cap: Duration::from_secs(10),
            backoff_reset_after: Duration::from_millis(50),
            ..fast_options()
        };
        let (_feeds, mut rx) = feed::spawn(&[format!("ws://{addr}/")], opts).unwrap();
        let waits = retry_waits(&mut rx, 7).await;
        assert!(
            waits[4..].iter().any(|w| *w > Duration::from_millis(20)),
            "hello first: {hello_first}; waits {waits:?}"
        );
    }
}

/// A consumer that does not keep up with large frames: what waits for it stays within the
/// byte budget (the feed stops reading its socket), and nothing is lost once it reads again.
#[tokio::test]
async fn frames_waiting_for_the_consumer_stay_within_the_byte_budget() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let pad = "x".repeat(600 << 10);
    let mut frames = vec![Message::text(hello(1))];
    for i in 0..40 {
        frames.push(Message::text(format!(
            r#"{{"type":"error","ts":"2026-11-30T01:00:{:02}Z","message":"{pad}"}}"#,
            i % 60
        )));
    }
    let _server = serve(listener, frames);
    let opts = FeedOptions {
        queue_bytes: 2 << 20,
        ..fast_options()
    };
    let (_feeds, mut rx) = feed::spawn(&[format!("ws://{addr}/")], opts).unwrap();
    // The consumer looks away (the scenario itself, not a wait for something) while the
    // server sends 24 MB.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let waiting = rx.len();
    let mut errors = 0;
    let mut held = Vec::new();
    while let Ok(item) = rx.try_recv() {
        if event_type(&item).as_deref() == Some("error") {
            held.push(item);
        }
    }
    // 2 MiB hold three of the 600 KiB frames (and the small ones around them).
    assert!(
        held.len() <= 4,
        "{} large frames waited ({waiting} items)",
        held.len()
    );
    errors += held.len();
    drop(held);
    while errors < 40 {
        if event_type(&next(&mut rx).await).as_deref() == Some("error") {
            errors += 1;
        }
    }
}

#[tokio::test]
async fn a_feed_that_goes_silent_is_dropped_after_the_read_timeout() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    // Upgrades, sends hello, then never reads again: wscope's pings get no pong.
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((tcp, _)) = listener.accept().await {
            if let Some(mut ws) = accept(tcp).await {
                ws.send(Message::text(hello(1))).await.unwrap();
                held.push(ws);
            }
        }
    });
    let opts = FeedOptions {
        read_timeout: Duration::from_millis(700),
        ..fast_options()
    };
    let (_feeds, mut rx) = feed::spawn(&[format!("ws://{addr}/")], opts).unwrap();
    let started = std::time::Instant::now();
    let items = until(&mut rx, is_retrying).await;
    assert!(
        items
            .iter()
            .any(|i| event_type(i).as_deref() == Some("hello"))
    );
    let (reason, _) = retrying(items.last().unwrap());
    assert!(reason.contains("nothing received"), "{reason}");
    assert!(started.elapsed() >= Duration::from_millis(700));
}

#[tokio::test]
async fn several_feeds_share_one_channel_with_their_index() {
    let mut urls = Vec::new();
    let mut servers = Vec::new();
    for n in 1..=2 {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        urls.push(format!("ws://{}/", listener.local_addr().unwrap()));
        servers.push(serve(listener, vec![Message::text(hello(n))]));
    }
    let (feeds, mut rx) = feed::spawn(&urls, fast_options()).unwrap();
    assert_eq!(feeds.len(), 2);
    let mut hello_from = std::collections::BTreeMap::new();
    while hello_from.len() < 2 {
        if let SourceMsg::Event {
            source,
            raw: Some(raw),
            ..
        } = next(&mut rx).await
        {
            hello_from.insert(source, raw);
        }
    }
    assert_eq!(hello_from[&0], hello(1));
    assert_eq!(hello_from[&1], hello(2));
}

#[tokio::test]
async fn a_bad_url_fails_before_connecting() {
    let err = match feed::spawn(&["http://127.0.0.1:1/".into()], fast_options()) {
        Err(e) => e,
        Ok(_) => panic!("http:// accepted"),
    };
    assert!(err.to_string().contains("ws://"), "{err}");
}

/// A `wss://` feed with a self-signed certificate for `localhost`; returns its port and the
/// certificate.
async fn tls_feed() -> (u16, rustls_pki_types::CertificateDer<'static>) {
    use rustls_pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
    use std::sync::Arc;
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let cert = certified.cert.der().clone();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        certified.signing_key.serialize_der(),
    ));
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![cert.clone()], key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let Ok(mut ws) = tokio_tungstenite::accept_async(tls).await else {
                    return;
                };
                let _ = ws.send(Message::text(hello(7))).await;
                while let Some(Ok(_)) = ws.next().await {}
            });
        }
    });
    (port, cert)
}

#[tokio::test]
async fn wss_feeds_work_with_a_trusted_certificate_and_retry_on_an_untrusted_one() {
    let (port, cert) = tls_feed().await;
    let url = format!("wss://localhost:{port}/");

    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert).unwrap();
    let tls = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let opts = FeedOptions {
        tls: Some(std::sync::Arc::new(tls)),
        ..fast_options()
    };
    let (_feeds, mut rx) = feed::spawn(std::slice::from_ref(&url), opts).unwrap();
    let items = until(&mut rx, |i| event_type(i).as_deref() == Some("hello")).await;
    let (_, raw) = event_of(items.last().unwrap()).unwrap();
    assert_eq!(raw, hello(7));

    // With the default roots the self-signed certificate is refused: a clear reason and a
    // retry, never a panic (no process-wide crypto provider is needed).
    let (_feeds, mut rx) = feed::spawn(std::slice::from_ref(&url), fast_options()).unwrap();
    let items = until(&mut rx, is_retrying).await;
    let (reason, _) = retrying(items.last().unwrap());
    assert!(reason.to_lowercase().contains("certificate"), "{reason}");
}

#[tokio::test]
async fn a_dropped_event_asks_for_a_fresh_snapshot_at_most_once_per_interval() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let dropped = |n: u32| {
        Message::text(format!(
            r#"{{"type":"dropped","ts":"2026-11-30T01:00:0{n}Z","count":10}}"#
        ))
    };
    let frames = vec![
        Message::text(hello(1)),
        Message::text(snapshot(&["c1"])),
        dropped(2),
        dropped(3),
        Message::text(r#"{"type":"ping","ts":"2026-11-30T01:00:04Z","conn":"c1"}"#),
    ];
    let _server = serve(listener, frames);
    let (_feeds, mut rx) = feed::spawn(&[format!("ws://{addr}/")], fast_options()).unwrap();
    let mut resynced = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_millis(1500);
    while let Ok(Some(item)) = tokio::time::timeout_at(deadline, rx.recv()).await {
        if let Some((_, raw)) = event_of(&item)
            && raw.contains("resynced")
        {
            resynced += 1;
        }
    }
    assert_eq!(resynced, 1, "one resync for two dropped events in a row");
}

#[tokio::test]
async fn the_model_resyncs_from_the_snapshot_after_a_reconnect_without_double_counting() {
    use wscope::model::Model;
    let hello = r#"{"type":"hello","ts":"2026-11-30T01:00:00Z","protocol":1,"server":"same","heartbeat":null}"#;
    let open = |c: &str, s: u32| {
        Message::text(format!(
            r#"{{"type":"open","ts":"2026-11-30T01:00:{s:02}Z","conn":"{c}"}}"#
        ))
    };
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = serve(
        listener,
        vec![
            Message::text(hello),
            Message::text(snapshot(&["c1", "c2"])),
            open("c3", 1),
        ],
    );
    let (_feeds, mut rx) = feed::spawn(&[format!("ws://{addr}/")], fast_options()).unwrap();
    let mut model = wscope::findings::Rules::default().model();
    let mut apply_until = async |model: &mut Model, conn: &str| loop {
        let item = next(&mut rx).await;
        if let SourceMsg::Event { source, event, .. } = &item {
            model.apply(*source, event);
            if event.kind.conn() == Some(conn) {
                return;
            }
        }
    };
    apply_until(&mut model, "c3").await;
    assert_eq!(model.open_count(), 3);

    // While wscope was away, c1 closed and c4 opened; the new snapshot says so.
    server.abort();
    let _ = server.await;
    let listener = TcpListener::bind(addr).await.unwrap();
    let _server = serve(
        listener,
        vec![
            Message::text(hello.replace("01:00:00", "01:00:10")),
            Message::text(snapshot(&["c2", "c3", "c4"])),
            open("c5", 11),
        ],
    );
    apply_until(&mut model, "c5").await;
    assert_eq!(model.open_count(), 4, "c2 c3 c4 c5, nothing twice");
    assert_eq!(model.servers.len(), 1);
    assert_eq!(model.counters.contradictions, 0);
    assert_eq!(model.opened, 2, "only live opens count as opens");
}
