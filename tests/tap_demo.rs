//! `wscope demo --headless`: the real server, proxies and clients for 40 s, then the report.

mod common;

use futures_util::StreamExt;
use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use tokio_tungstenite::tungstenite::Message;
use wscope::event::parse_event;

#[test]
fn a_headless_demo_shows_at_least_six_findings_and_records_the_feed() {
    let dir = tempfile::tempdir().unwrap();
    let record = dir.path().join("demo.jsonl");
    let mut child = Command::new(env!("CARGO_BIN_EXE_wscope"))
        .args([
            "demo",
            "--headless",
            "--duration",
            "40s",
            "--format",
            "json",
        ])
        .args(["--admin", "127.0.0.1:0", "--record"])
        .arg(&record)
        .env("WSCOPE_TOKEN", "demo-token")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // While it runs, the feed is also served to other viewers.
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut admin_url = None;
    let mut line = String::new();
    while admin_url.is_none() && stderr.read_line(&mut line).unwrap() > 0 {
        if line.contains("admin feed on") {
            admin_url = line
                .split_whitespace()
                .find(|w| w.starts_with("ws://"))
                .map(str::to_string);
        }
        line.clear();
    }
    let admin_url = admin_url.expect("the admin feed's URL on stderr");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let url = format!("{admin_url}?token=demo-token");
        let (mut feed, _) = tokio_tungstenite::connect_async(url).await.unwrap();
        let mut first = Vec::new();
        while first.len() < 3 {
            if let Some(Ok(Message::Text(t))) = feed.next().await {
                first.push(
                    parse_event(t.as_bytes())
                        .unwrap()
                        .kind
                        .type_name()
                        .to_string(),
                );
            }
        }
        assert_eq!(first[..2], ["hello", "snapshot"]);
        let wrong = tokio_tungstenite::connect_async(format!("{admin_url}?token=nope")).await;
        assert!(wrong.is_err());
    });
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let ids: BTreeSet<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert!(ids.len() >= 6, "{ids:?}");
    for id in [
        "idle-timeout",
        "upgrade-rejected",
        "zombie-connections",
        "timer-leak",
        "reconnect-loop",
        "server-restart",
    ] {
        assert!(ids.contains(id), "{id} missing from {ids:?}");
    }
    assert_eq!(
        report["close_codes"]["4001"].as_u64().map(|n| n > 20),
        Some(true),
        "{report}"
    );

    // The recording is the feed: it passes the same conformance check as the Node adapter's
    // feed (hello, snapshot, then valid events), with events of every main kind.
    let text = std::fs::read_to_string(&record).unwrap();
    let frames: Vec<String> = text.lines().map(str::to_string).collect();
    let summary = common::conformance::assert_conforms(&frames);
    for kind in [
        "open",
        "upgrade_rejected",
        "ping",
        "pong",
        "message",
        "close",
        "error",
        "timer",
        "app_state",
        "process",
    ] {
        assert!(
            summary.count(kind) > 0,
            "{kind} missing from {:?}",
            summary.by_type
        );
    }
}

#[test]
fn bad_demo_arguments_are_one_line_errors() {
    let out = Command::new(env!("CARGO_BIN_EXE_wscope"))
        .args([
            "demo",
            "--headless",
            "--record",
            "/nonexistent-dir/x.jsonl",
            "--duration",
            "1s",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("wscope: error: cannot create /nonexistent-dir/x.jsonl"),
        "{err}"
    );
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
}

/// A fleet on one machine: two demos named apart, recorded, then one report over both logs
/// with each server under its name.
#[test]
fn named_demos_are_servers_of_one_report() {
    let dir = tempfile::tempdir().unwrap();
    let demos: Vec<_> = ["edge-1", "edge-2"]
        .iter()
        .map(|name| {
            let record = dir.path().join(format!("rec-{name}.jsonl"));
            let child = Command::new(env!("CARGO_BIN_EXE_wscope"))
                .args(["demo", "--headless", "--duration", "4s", "--format", "json"])
                .args(["--name", name, "--record"])
                .arg(&record)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            (name, record, child)
        })
        .collect();
    let mut logs = Vec::new();
    for (name, record, child) in demos {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let own: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let servers = own["servers"].as_object().unwrap();
        assert_eq!(servers.keys().collect::<Vec<_>>(), [name], "{servers:?}");
        logs.push(record);
    }
    let out = Command::new(env!("CARGO_BIN_EXE_wscope"))
        .args(["report", "--format", "json"])
        .args(&logs)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let both: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let servers = both["servers"].as_object().unwrap();
    assert_eq!(servers.keys().collect::<Vec<_>>(), ["edge-1", "edge-2"]);
    let opened = |s: &str| servers[s]["connections"]["opened"].as_u64().unwrap();
    assert!(opened("edge-1") > 0 && opened("edge-2") > 0, "{servers:?}");
    assert_eq!(
        both["connections"]["opened"].as_u64().unwrap(),
        opened("edge-1") + opened("edge-2")
    );

    let bad = Command::new(env!("CARGO_BIN_EXE_wscope"))
        .args(["demo", "--headless", "--name", "evil\u{1b}[2J"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("without control characters"));
}
