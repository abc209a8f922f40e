//! A fleet through NATS, with real parts: `nats-server`, demos (real servers with the tap and
//! their admin feeds), a `wscope relay` and a `wscope attach nats://…`, each its own process.

mod common;

use common::nats::NatsServer;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const TOKEN: &str = "fleet-token";

fn wscope() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_wscope"));
    c.env("WSCOPE_TOKEN", TOKEN);
    c
}

/// A headless demo named `name` serving its admin feed; returns it and the feed's URL.
fn demo(name: &str, duration: &str) -> (Child, String) {
    let mut child = wscope()
        .args([
            "demo",
            "--headless",
            "--format",
            "json",
            "--admin",
            "127.0.0.1:0",
        ])
        .args(["--name", name, "--duration", duration])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    while stderr.read_line(&mut line).unwrap() > 0 {
        if let Some(url) = line.split_whitespace().find(|w| w.starts_with("ws://"))
            && line.contains("admin feed")
        {
            let url = url.to_string();
            // Keep draining stderr so the demo never blocks on it.
            std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
            return (child, url);
        }
        line.clear();
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("the demo printed no admin feed URL");
}

fn report_of(child: Child) -> Value {
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn opened(report: &Value, server: &str) -> u64 {
    report["servers"][server]["connections"]["opened"]
        .as_u64()
        .unwrap_or_else(|| panic!("no {server} in {}", report["servers"]))
}

/// Standard error of a child, read on a thread, for what it says while running.
fn stderr_lines(child: &mut Child) -> std::sync::mpsc::Receiver<String> {
    let (tx, rx) = std::sync::mpsc::channel();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    std::thread::spawn(move || {
        let mut line = String::new();
        while stderr.read_line(&mut line).unwrap_or(0) > 0 {
            let _ = tx.send(std::mem::take(&mut line));
        }
    });
    rx
}

fn wait_for_line(rx: &std::sync::mpsc::Receiver<String>, what: &str, seen: &mut Vec<String>) {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
        match rx.recv_timeout(left) {
            Ok(line) => {
                let found = line.contains(what);
                seen.push(line);
                if found {
                    return;
                }
            }
            Err(_) => break,
        }
    }
    panic!("no line with {what:?} in {seen:?}");
}

/// Two demos, one relay, one attach over NATS: each server under its own name, every event
/// the relay published, none lost.
#[test]
fn a_fleet_of_two_servers_is_one_attach_through_nats() {
    let Some(nats) = NatsServer::start() else {
        return;
    };
    let subject = "wscope.test";
    let mut attach = wscope()
        .args(["attach", &format!("{}/{subject}.>", nats.url())])
        .args(["--headless", "--duration", "12s", "--format", "json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let attach_said = stderr_lines(&mut attach);
    let mut said = Vec::new();
    wait_for_line(&attach_said, "connected", &mut said);
    let (edge1, url1) = demo("edge-1", "8s");
    let (edge2, url2) = demo("edge 2.eu", "8s");
    let relay = wscope()
        .args([
            "relay",
            &url1,
            &url2,
            "--to",
            &nats.url(),
            "--subject",
            subject,
        ])
        .args(["--duration", "10s"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let own = [report_of(edge1), report_of(edge2)];
    let relay_out = relay.wait_with_output().unwrap();
    assert!(
        relay_out.status.success(),
        "{}",
        String::from_utf8_lossy(&relay_out.stderr)
    );
    let seen = report_of(attach);

    let servers = seen["servers"].as_object().unwrap();
    assert_eq!(
        servers.keys().collect::<Vec<_>>(),
        ["edge 2.eu", "edge-1"],
        "{servers:?}"
    );
    assert_eq!(seen["dropped_events"], 0, "{seen}");
    for (name, own) in ["edge-1", "edge 2.eu"].iter().zip(&own) {
        // What opened before the relay joined came in its snapshot: never counted twice.
        let theirs = own["connections"]["opened"].as_u64().unwrap();
        let ours = opened(&seen, name);
        assert!(
            ours <= theirs && ours * 2 >= theirs,
            "{name}: {ours} of {theirs}"
        );
        assert!(
            servers[*name]["findings"]
                .as_array()
                .is_some_and(|f| !f.is_empty())
        );
    }
}

/// NATS going away mid-run: the attach says so, reconnects, and counts nothing twice.
#[test]
fn a_nats_restart_is_said_survived_and_double_counts_nothing() {
    let Some(mut nats) = NatsServer::start() else {
        return;
    };
    let subject = "wscope.restart";
    let mut attach = wscope()
        .args(["attach", &format!("{}/{subject}.>", nats.url())])
        .args(["--headless", "--duration", "14s", "--format", "json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let attach_said = stderr_lines(&mut attach);
    let mut said = Vec::new();
    wait_for_line(&attach_said, "connected", &mut said);
    let (edge, url) = demo("edge-r", "10s");
    let mut relay = wscope()
        .args(["relay", &url, "--to", &nats.url(), "--subject", subject])
        .args(["--duration", "12s"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let relay_said = stderr_lines(&mut relay);
    let mut relay_lines = Vec::new();
    wait_for_line(&relay_said, "connected", &mut relay_lines);
    std::thread::sleep(Duration::from_secs(3));
    nats.kill();
    wait_for_line(&attach_said, "lost the NATS server", &mut said);
    std::thread::sleep(Duration::from_secs(1));
    nats.resume();
    wait_for_line(&attach_said, "connected", &mut said);

    let own = report_of(edge);
    let _ = relay.wait();
    let seen = report_of(attach);
    let theirs = own["connections"]["opened"].as_u64().unwrap();
    let ours = opened(&seen, "edge-r");
    assert!(ours <= theirs, "{ours} opened seen of {theirs}");
    for (code, n) in seen["close_codes"].as_object().unwrap() {
        let theirs = own["close_codes"][code].as_u64().unwrap_or(0);
        assert!(
            n.as_u64().unwrap() <= theirs,
            "{code}: {n} seen of {theirs}"
        );
    }
    assert!(seen["servers"]["edge-r"]["events"].as_u64().unwrap() > 0);
}

/// `attach nats://… --record` writes the merged stream with every server named: a report of
/// the recording has the servers the attach had.
#[test]
fn a_recorded_fleet_reports_with_its_servers() {
    let Some(nats) = NatsServer::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let record = dir.path().join("fleet.jsonl");
    let subject = "wscope.rec";
    let mut attach = wscope()
        .args(["attach", &format!("{}/{subject}.>", nats.url())])
        .args([
            "--headless",
            "--duration",
            "8s",
            "--format",
            "json",
            "--record",
        ])
        .arg(&record)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let said = stderr_lines(&mut attach);
    wait_for_line(&said, "connected", &mut Vec::new());
    let (a, url_a) = demo("rec-a", "5s");
    let (b, url_b) = demo("rec-b", "5s");
    let relay = wscope()
        .args([
            "relay",
            &url_a,
            &url_b,
            "--to",
            &nats.url(),
            "--subject",
            subject,
        ])
        .args(["--duration", "6s"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    report_of(a);
    report_of(b);
    let _ = relay.wait_with_output();
    let live = report_of(attach);
    let out = wscope()
        .args(["report", "--format", "json"])
        .arg(&record)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let again: Value = serde_json::from_slice(&out.stdout).unwrap();
    let names = |r: &Value| {
        r["servers"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&again), ["rec-a", "rec-b"]);
    assert_eq!(names(&live), names(&again));
    assert_eq!(again["connections"], live["connections"]);
    assert_eq!(again["close_codes"], live["close_codes"]);
}

/// A NATS server that wants a token: the right one gets the fleet, a wrong one is said once
/// and ends the attach.
#[test]
fn nats_tokens_are_sent_and_a_wrong_one_is_said() {
    let Some(nats) = NatsServer::start_with(&["--auth", "s3cret"]) else {
        return;
    };
    let target = format!("{}/wscope.auth.>", nats.url());
    let out = wscope()
        .args(["attach", &target, "--headless", "--duration", "5s"])
        .env("WSCOPE_NATS_TOKEN", "wrong")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.to_lowercase().contains("authorization"), "{err}");

    let mut attach = wscope()
        .args([
            "attach",
            &target,
            "--headless",
            "--duration",
            "2s",
            "--format",
            "json",
        ])
        .env("WSCOPE_NATS_TOKEN", "s3cret")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let said = stderr_lines(&mut attach);
    wait_for_line(&said, "connected", &mut Vec::new());
    report_of(attach);
}
