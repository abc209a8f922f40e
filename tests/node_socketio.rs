//! The Node adapter on a Socket.IO 4 server, run for real: test/sio-scenario.js (a Socket.IO
//! server with wscope-node and misbehaving socket.io-client clients; it says what they do),
//! read raw and through `wscope attach --headless`.

mod common;

use common::conformance::assert_conforms;
use common::node::{Scenario, socketio_available};
use futures_util::StreamExt;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::process::Command;
use std::time::Duration;
use tokio::time::Instant;
use tokio_tungstenite::connect_async;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

#[tokio::test]
async fn the_socketio_feed_conforms_and_reports_real_and_mapped_close_codes() {
    let Some(()) = socketio_available() else {
        return;
    };
    let scenario = Scenario::start_script("test/sio-scenario.js", &[]);
    let mut req = format!("{}?history=0", scenario.feed)
        .into_client_request()
        .unwrap();
    req.headers_mut().insert(
        "authorization",
        format!("Bearer {}", scenario.token).parse().unwrap(),
    );
    let (mut ws, _) = connect_async(req).await.unwrap();
    let mut frames: Vec<String> = Vec::new();
    let end = Instant::now() + Duration::from_secs(20);
    let closes = |f: &[String]| f.iter().filter(|f| f.contains(r#""type":"close""#)).count();
    while closes(&frames) < 16 {
        match tokio::time::timeout_at(end, ws.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => frames.push(t.as_str().to_string()),
            Ok(Some(Ok(_))) => {}
            other => panic!("the feed ended or timed out: {other:?}"),
        }
    }
    let summary = assert_conforms(&frames);
    let hello = summary.of_type("hello").next().unwrap();
    assert_eq!(hello["heartbeat"]["ping_interval_ms"], 500);
    assert_eq!(hello["heartbeat"]["pong_timeout_ms"], 500);
    assert_eq!(summary.count("open"), 22);
    let users: HashMap<String, String> = summary
        .of_type("open")
        .map(|o| {
            assert_eq!(o["path"], "/socket.io/");
            assert_eq!(o["user_agent"], "sio-scenario-client/1.0");
            assert_eq!(o["forwarded_for"], "198.51.100.23");
            (
                o["conn"].as_str().unwrap().to_string(),
                o["client"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let mut got: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for c in summary.of_type("close") {
        let u = &users[c["conn"].as_str().unwrap()];
        // The user name without its number.
        let kind = u.trim_end_matches(|ch: char| ch.is_ascii_digit() || ch == '-');
        got.entry((
            c["code"].to_string(),
            c["initiator"].as_str().unwrap().to_string(),
        ))
        .or_default()
        .push(kind.to_string());
    }
    for v in got.values_mut() {
        v.dedup();
    }
    let key = |c: &str, i: &str| (c.to_string(), i.to_string());
    assert_eq!(
        got,
        BTreeMap::from([
            (key("1000", "client"), vec!["clean".to_string()]),
            (key("1000", "server"), vec!["kicked".to_string()]),
            (key("1006", "none"), vec!["cut".to_string()]),
            (key("1006", "server"), vec!["frozen".to_string()]),
        ])
    );
    // Engine.IO's heartbeat shows as ping/pong.
    assert!(summary.count("ping") > 20);
    assert!(summary.count("pong") > 20);
    assert!(summary.of_type("pong").all(|p| p["rtt_ms"].is_number()));
}

#[test]
fn wscope_attach_headless_explains_the_socketio_closes() {
    let Some(()) = socketio_available() else {
        return;
    };
    let scenario = Scenario::start_script("test/sio-scenario.js", &[]);
    let out = Command::new(env!("CARGO_BIN_EXE_wscope"))
        .args([
            "attach",
            "--headless",
            "--duration",
            "5s",
            "--format",
            "json",
        ])
        .arg(&scenario.feed)
        .env("WSCOPE_TOKEN", &scenario.token)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "attach failed: {stderr}");
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)));
    assert_eq!(report["connections"]["opened"], 22, "{report:#}");
    assert_eq!(report["connections"]["closed"], 16);
    assert_eq!(report["close_codes"]["1006"], 13);
    assert_eq!(report["close_codes"]["1000"], 3);
    assert_eq!(report["skipped_lines"], 0);
    let findings = common::findings_by_id(&report);
    eprintln!("findings: {:?}", findings.keys().collect::<Vec<_>>());
    // Engine.IO pings everyone: no heartbeat finding; 13 abnormal closes in a minute are.
    assert!(!findings.contains_key("heartbeat-missing"), "{report:#}");
    assert!(!findings.contains_key("feed-incomplete"), "{report:#}");
    assert!(
        findings.contains_key("high-disconnect-rate"),
        "13 transport losses in a minute: {report:#}"
    );
}
