//! The Node.js `ws` adapter (assets/adapters/node), run for real: a `ws` server with the
//! adapter and misbehaving `ws` clients (test/scenario.js says exactly what they do).

mod common;

use common::conformance::{Summary, assert_conforms};
use common::node::{Scenario, node_available};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::process::Command;
use std::time::Duration;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};

type Ws = WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

async fn subscribe(url: &str, token: Option<&str>) -> Result<Ws, tungstenite::Error> {
    let mut req = url.into_client_request().unwrap();
    if let Some(t) = token {
        req.headers_mut()
            .insert("authorization", format!("Bearer {t}").parse().unwrap());
    }
    connect_async(req).await.map(|(ws, _)| ws)
}

/// Reads text frames until `done` says so (checked after each frame) or `limit` passes.
async fn read_until(
    ws: &mut Ws,
    frames: &mut Vec<String>,
    limit: Duration,
    done: impl Fn(&[String]) -> bool,
) {
    let end = Instant::now() + limit;
    while !done(frames) {
        match tokio::time::timeout_at(end, ws.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => frames.push(t.as_str().to_string()),
            Ok(Some(Ok(_))) => {}
            Ok(other) => panic!("the feed ended: {other:?}"),
            Err(_) => return,
        }
    }
}

/// The feed's URL with history turned off (`?history=0`): what these tests count is the live
/// feed a first subscriber sees, whatever the scenario emitted before it attached.
fn live(feed: &str) -> String {
    format!("{feed}?history=0")
}

fn count_type(frames: &[String], ty: &str) -> usize {
    let needle = format!("\"type\":\"{ty}\"");
    frames.iter().filter(|f| f.contains(&needle)).count()
}

fn s<'a>(o: &'a Map<String, Value>, k: &str) -> &'a str {
    o.get(k).and_then(Value::as_str).unwrap_or_default()
}

/// conn id -> the scenario's user name (the `client` of its open).
fn users(summary: &Summary) -> HashMap<String, String> {
    summary
        .of_type("open")
        .map(|o| (s(o, "conn").to_string(), s(o, "client").to_string()))
        .collect()
}

#[tokio::test]
async fn the_adapter_feed_conforms_and_reports_what_the_clients_did() {
    let Some(()) = node_available() else { return };
    let scenario = Scenario::start(&[]);
    let mut ws = subscribe(&live(&scenario.feed), Some(&scenario.token))
        .await
        .unwrap();
    let mut frames = Vec::new();
    // All 17 closes, then a little more so that the leaked timer fires after its close.
    read_until(&mut ws, &mut frames, Duration::from_secs(20), |f| {
        count_type(f, "close") >= 17
    })
    .await;
    let closes_at = frames.len();
    read_until(&mut ws, &mut frames, Duration::from_millis(1200), |_| false).await;
    assert!(frames.len() > closes_at);
    // Resync: the feed answers with a snapshot.
    ws.send(Message::text(r#"{"type":"resync"}"#))
        .await
        .unwrap();
    let before = count_type(&frames, "snapshot");
    read_until(&mut ws, &mut frames, Duration::from_secs(5), |f| {
        count_type(f, "snapshot") > before
    })
    .await;

    let summary = assert_conforms(&frames);
    assert_eq!(summary.count("hello"), 1);
    assert_eq!(summary.count("snapshot"), 2, "the first and the resync");
    assert_eq!(summary.count("open"), 24);
    let users = users(&summary);

    // Opens carry what the request said; the path has no query string (tokens live there).
    // Ids are `<boot>-<n>` (assets/spec/feed-protocol-extensions.md).
    for o in summary.of_type("open") {
        assert!(is_boot_id(s(o, "conn")), "{o:?}");
        assert_eq!(s(o, "path"), "/ws");
        assert_eq!(s(o, "user_agent"), "scenario-client/1.0");
        assert_eq!(s(o, "forwarded_for"), "198.51.100.23");
        assert!(s(o, "remote").starts_with("127.0.0.1:"), "{o:?}");
    }

    // Rejected upgrades: 6 bad keys (400), and 1 request whose Upgrade a "proxy" stripped (426).
    let by_status = rejected_by_status(&summary);
    assert_eq!(by_status, BTreeMap::from([(400, 6), (426, 1)]));
    for r in summary.of_type("upgrade_rejected") {
        assert_eq!(s(r, "user_agent"), "okhttp/4.12");
    }

    assert_closes(&summary, &users);

    // The protocol errors are reported as `error`s of their connections.
    let mut errors: Vec<_> = summary
        .of_type("error")
        .map(|e| (users[s(e, "conn")].as_str(), s(e, "message")))
        .collect();
    errors.sort();
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert_eq!(errors[0].0, "bad-frames");
    assert!(errors[0].1.contains("RSV"), "{errors:?}");
    assert_eq!(errors[1].0, "too-big");
    assert!(errors[1].1.contains("Max payload"), "{errors:?}");

    // The server pings everyone; zombies never answer.
    let pinged: Vec<_> = summary
        .of_type("ping")
        .map(|p| users[s(p, "conn")].clone())
        .collect();
    assert!(pinged.iter().any(|u| u.starts_with("zombie")));
    for p in summary.of_type("pong") {
        assert!(
            !users[s(p, "conn")].starts_with("zombie"),
            "a zombie answered"
        );
        assert!(p["rtt_ms"].as_f64().is_some());
    }
    assert!(summary.count("pong") > 0);

    // Messages: each healthy client sent 3 and got 3 echoes, aggregated.
    let mut msgs: HashMap<(String, String), (u64, u64)> = HashMap::new();
    for m in summary.of_type("message") {
        let e = msgs
            .entry((users[s(m, "conn")].clone(), s(m, "dir").to_string()))
            .or_default();
        e.0 += m["count"].as_u64().unwrap();
        e.1 += m["bytes"].as_u64().unwrap();
    }
    for i in 1..=4 {
        let u = format!("healthy-{i}");
        assert_eq!(msgs[&(u.clone(), "in".into())], (3, 21), "{u}"); // "hello 0".."hello 2"
        assert_eq!(msgs[&(u, "out".into())], (3, 36));
    }

    // Timers: the leaky connection's presence timer keeps firing after its close and is never
    // cleared; every other closed connection's timers are cleared (one through the global
    // clearInterval, which the adapter notices).
    let leaky_conn = users
        .iter()
        .find(|(_, u)| *u == "leaky-1")
        .unwrap()
        .0
        .clone();
    let close_index = |conn: &str| {
        summary
            .objects
            .iter()
            .position(|o| o["type"] == "close" && s(o, "conn") == conn)
            .unwrap()
    };
    let leaky_close = close_index(&leaky_conn);
    let mut leaked = Vec::new();
    let mut cleared: HashMap<String, usize> = HashMap::new();
    for (i, t) in summary
        .objects
        .iter()
        .enumerate()
        .filter(|(_, o)| o["type"] == "timer")
    {
        let conn = s(t, "conn");
        if s(t, "op") == "clear" {
            *cleared.entry(conn.to_string()).or_default() += 1;
        }
        if conn == leaky_conn && s(t, "op") == "fire" && i > leaky_close {
            leaked.push(s(t, "timer").to_string());
        }
    }
    assert!(!leaked.is_empty(), "the leaked timer fires after the close");
    assert!(
        leaked.iter().all(|t| t.starts_with("presence-")),
        "{leaked:?}"
    );
    assert_eq!(
        cleared.get(&leaky_conn),
        Some(&1),
        "only its heartbeat is cleared"
    );
    for c in summary.of_type("close") {
        let conn = s(c, "conn");
        if conn != leaky_conn {
            assert_eq!(cleared.get(conn), Some(&2), "both timers of {conn} cleared");
        }
    }

    // The resync snapshot: the 7 connections still open, and the leaked timer still running.
    let snap = summary.of_type("snapshot").last().unwrap();
    let mut open: Vec<_> = snap["connections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| users[c["conn"].as_str().unwrap()].clone())
        .collect();
    open.sort();
    assert_eq!(
        open,
        [
            "healthy-1",
            "healthy-2",
            "healthy-3",
            "healthy-4",
            "zombie-1",
            "zombie-2",
            "zombie-3"
        ]
    );
    let healthy = snap["connections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| users[c["conn"].as_str().unwrap()] == "healthy-1")
        .unwrap();
    assert_eq!(healthy["msgs_in"], 3);
    assert_eq!(healthy["bytes_out"], 36);
    assert!(healthy["last_pong"].is_string());
    let timers = snap["timers"].as_array().unwrap();
    assert!(
        timers
            .iter()
            .any(|t| t["conn"] == leaky_conn.as_str() && t["kind"] == "presence")
    );
    assert_eq!(timers.len(), 7 * 2 + 1);
}

/// `<boot>-<n>`: 8 base-36 digits of the process start in ms, a dash, a count from 1.
fn is_boot_id(id: &str) -> bool {
    let Some((boot, n)) = id.split_once('-') else {
        return false;
    };
    boot.len() == 8
        && boot
            .bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
        && n.parse::<u64>().is_ok_and(|n| n >= 1)
}

/// The scenario's 17 closes, each with its code and initiator.
fn assert_closes(summary: &Summary, users: &HashMap<String, String>) {
    let mut closes: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for c in summary.of_type("close") {
        let code = c["code"].to_string();
        closes
            .entry((code, s(c, "initiator").to_string()))
            .or_default()
            .push(users[s(c, "conn")].clone());
    }
    let mut expect: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    let key = |code: &str, who: &str| (code.to_string(), who.to_string());
    expect.insert(
        key("1000", "client"),
        vec!["leaky-1".into(), "clean-1".into(), "clean-2".into()],
    );
    expect.insert(
        key("1006", "none"),
        (1..=10).map(|i| format!("cut-{i}")).collect(),
    );
    expect.insert(key("4000", "server"), vec!["close-me".into()]);
    expect.insert(key("1006", "server"), vec!["terminate-me".into()]);
    expect.insert(key("1002", "server"), vec!["bad-frames".into()]);
    expect.insert(key("1009", "server"), vec!["too-big".into()]);
    for v in closes.values_mut().chain(expect.values_mut()) {
        v.sort();
    }
    assert_eq!(closes, expect);
}

fn rejected_by_status(summary: &Summary) -> BTreeMap<u64, u32> {
    let mut by_status = BTreeMap::new();
    for r in summary.of_type("upgrade_rejected") {
        *by_status.entry(r["status"].as_u64().unwrap()).or_insert(0) += 1;
        assert!(!s(r, "reason").is_empty());
        assert_eq!(s(r, "path"), "/ws");
    }
    by_status
}

/// Subscribes and reads until the scenario's 17 closes (and a little after).
async fn watch_scenario(scenario: &Scenario) -> Vec<String> {
    let mut ws = subscribe(&live(&scenario.feed), Some(&scenario.token))
        .await
        .unwrap();
    let mut frames = Vec::new();
    read_until(&mut ws, &mut frames, Duration::from_secs(20), |f| {
        count_type(f, "close") >= 17
    })
    .await;
    read_until(&mut ws, &mut frames, Duration::from_millis(1200), |_| false).await;
    frames
}

#[tokio::test]
async fn the_adapter_sees_the_same_through_a_noserver_wss_or_the_http_server_alone() {
    let Some(()) = node_available() else { return };
    for mode in ["noServer", "http"] {
        let scenario = Scenario::start(&[("WSCOPE_SCENARIO_MODE", mode)]);
        let frames = watch_scenario(&scenario).await;
        let summary = assert_conforms(&frames);
        assert_eq!(summary.count("open"), 24, "{mode}");
        let users = users(&summary);
        assert_closes(&summary, &users);
        // Here the application rejects one upgrade itself (401), and its own http.Server
        // answers the request without Upgrade (426).
        assert_eq!(
            rejected_by_status(&summary),
            BTreeMap::from([(400, 6), (401, 1), (426, 1)]),
            "{mode}"
        );
        let healthy_in: u64 = summary
            .of_type("message")
            .filter(|m| users[s(m, "conn")].starts_with("healthy") && s(m, "dir") == "in")
            .map(|m| m["count"].as_u64().unwrap())
            .sum();
        assert_eq!(healthy_in, 12, "{mode}");
        let starts = summary
            .of_type("timer")
            .filter(|t| s(t, "op") == "start")
            .count();
        assert_eq!(starts, 48, "{mode}: two timers per connection");
    }
}

#[tokio::test]
async fn the_adapter_feed_needs_the_token() {
    let Some(()) = node_available() else { return };
    let scenario = Scenario::start(&[]);
    for token in [None, Some("wrong"), Some("")] {
        match subscribe(&scenario.feed, token).await {
            Err(tungstenite::Error::Http(resp)) => assert_eq!(resp.status(), 401, "{token:?}"),
            other => panic!("{token:?}: expected HTTP 401, got {:?}", other.map(|_| ())),
        }
    }
    // `?token=` for clients that cannot set headers.
    let url = format!("{}?token={}", scenario.feed, scenario.token);
    let mut ws = subscribe(&url, None).await.unwrap();
    let mut frames = Vec::new();
    read_until(&mut ws, &mut frames, Duration::from_secs(5), |f| {
        f.len() >= 2
    })
    .await;
    assert!(frames[0].contains("\"hello\""));
}

#[tokio::test]
async fn a_slow_subscriber_gets_a_dropped_count_not_a_slow_server() {
    let Some(()) = node_available() else { return };
    // One frame in flight and 5 queued: a burst of 400 events cannot all fit.
    let scenario = Scenario::start(&[
        ("WSCOPE_SCENARIO_QUEUE_LIMIT", "5"),
        ("WSCOPE_SCENARIO_MAX_IN_FLIGHT", "1"),
        ("WSCOPE_SCENARIO_BURST", "200"),
    ]);
    let mut ws = subscribe(&live(&scenario.feed), Some(&scenario.token))
        .await
        .unwrap();
    let mut frames = Vec::new();
    read_until(&mut ws, &mut frames, Duration::from_secs(10), |f| {
        count_type(f, "open") >= 24
    })
    .await;
    let summary = assert_conforms(&frames);
    let dropped: u64 = summary
        .of_type("dropped")
        .map(|d| d["count"].as_u64().unwrap())
        .sum();
    let burst_seen = summary
        .of_type("timer")
        .filter(|t| s(t, "kind") == "burst" || t.get("conn").is_none())
        .count() as u64;
    assert!(dropped > 0, "nothing dropped");
    assert!(burst_seen < 400);
    // Every event is either delivered or counted.
    assert!(
        burst_seen + dropped >= 400,
        "seen {burst_seen} + dropped {dropped}"
    );
    // The feed goes on afterwards: the scenario's clients all show up.
    assert_eq!(summary.count("open"), 24);
}

#[tokio::test]
async fn a_late_subscriber_gets_the_history_then_the_present() {
    let Some(()) = node_available() else { return };
    let scenario = Scenario::start(&[]);
    // The first subscriber starts the scenario's clients and sees them live.
    let early = watch_scenario(&scenario).await;
    let early = assert_conforms(&early);
    assert_eq!(early.count("close"), 17);

    // One that attaches afterwards gets hello (with `history`), the state at the history's
    // start, the history (all 24 opens and 17 closes), then the present.
    let mut ws = subscribe(&scenario.feed, Some(&scenario.token))
        .await
        .unwrap();
    let mut frames = Vec::new();
    read_until(&mut ws, &mut frames, Duration::from_secs(10), |f| {
        count_type(f, "snapshot") >= 2
    })
    .await;
    let late = assert_conforms(&frames);
    let hello = late.of_type("hello").next().unwrap();
    let history = hello["history"].as_object().expect("hello.history");
    let n = history["events"].as_u64().unwrap() as usize;
    assert_eq!(hello["ts"], history["from"]);
    let first = &late.objects[1];
    assert_eq!(first["type"], "snapshot");
    assert_eq!(first["ts"], history["from"]);
    assert_eq!(
        late.objects[2 + n]["type"],
        "snapshot",
        "the present follows the {n} events"
    );
    assert_eq!(late.count("open"), 24);
    assert_eq!(late.count("close"), 17);
    let users = users(&late);
    assert_closes(&late, &users);
    // The closes have their original times: those the early subscriber saw live.
    let times = |s: &Summary| {
        let mut t: Vec<String> = s.of_type("close").map(|c| c["ts"].to_string()).collect();
        t.sort();
        t
    };
    assert_eq!(times(&late), times(&early));
    let present = late.of_type("snapshot").last().unwrap();
    assert_eq!(present["connections"].as_array().unwrap().len(), 7);
}

#[test]
fn wscope_attach_headless_reports_the_findings_and_records_the_feed() {
    let Some(()) = node_available() else { return };
    let scenario = Scenario::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let rec = dir.path().join("feed.jsonl.zst");
    let out = Command::new(env!("CARGO_BIN_EXE_wscope"))
        .args([
            "attach",
            "--headless",
            "--duration",
            "6s",
            "--format",
            "json",
            "--record",
        ])
        .arg(&rec)
        .arg(&scenario.feed)
        .env("WSCOPE_TOKEN", &scenario.token)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "attach failed: {stderr}");
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)));

    assert_eq!(report["connections"]["opened"], 24);
    assert_eq!(report["connections"]["closed"], 17);
    assert_eq!(report["connections"]["open_at_end"], 7);
    assert_eq!(report["close_codes"]["1000"], 3);
    assert_eq!(report["close_codes"]["1006"], 11);
    assert_eq!(report["close_codes"]["4000"], 1);
    assert_eq!(report["close_codes"]["1002"], 1);
    assert_eq!(report["close_codes"]["1009"], 1);
    assert_eq!(report["upgrade_rejected"]["400"], 6);
    assert_eq!(report["upgrade_rejected"]["426"], 1);
    assert_eq!(report["skipped_lines"], 0);
    let findings = common::findings_by_id(&report);
    let too_big = findings.get("message-too-big").expect("message-too-big");
    assert_eq!(too_big["evidence"]["count"], 1);
    let leak = findings.get("timer-leak").expect("timer-leak");
    assert_eq!(leak["evidence"]["count"], 1);
    assert_eq!(leak["evidence"]["by_kind"]["presence"], 1);
    let zombies = findings
        .get("zombie-connections")
        .expect("zombie-connections");
    assert_eq!(zombies["evidence"]["count"], 3);
    let rejected = findings.get("upgrade-rejected").expect("upgrade-rejected");
    assert_eq!(rejected["evidence"]["count"], 7);
    // The server pings everyone: no heartbeat finding; no restart, no 1011s, no 1009s.
    for absent in [
        "heartbeat-missing",
        "server-restart",
        "server-errors",
        "feed-incomplete",
    ] {
        assert!(!findings.contains_key(absent), "{absent} fired: {report:#}");
    }

    // The recording gives the same report.
    let replay = Command::new(env!("CARGO_BIN_EXE_wscope"))
        .args(["report", "--format", "json"])
        .arg(&rec)
        .output()
        .unwrap();
    assert!(
        replay.status.success(),
        "{}",
        String::from_utf8_lossy(&replay.stderr)
    );
    let replayed: Value = serde_json::from_slice(&replay.stdout).unwrap();
    for field in [
        "connections",
        "close_codes",
        "upgrade_rejected",
        "events",
        "findings",
    ] {
        assert_eq!(replayed[field], report[field], "{field}");
    }
    let raw = std::fs::read(&rec).unwrap();
    let text = String::from_utf8(zstd::decode_all(&raw[..]).unwrap()).unwrap();
    let lines: Vec<String> = text.lines().map(String::from).collect();
    assert_eq!(lines.len() as u64, report["events"].as_u64().unwrap());
    assert_conforms(&lines);
}
