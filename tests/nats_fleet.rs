//! A fleet through NATS, with real parts: `nats-server`, demos (real servers with the tap and
//! their admin feeds), a `wscope relay` and a `wscope attach nats://…`, each its own process.

mod common;

use common::nats::NatsServer;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const TOKEN: &str = "fleet-token";

/// A headless demo reports at the end of its duration, but its clients run on until the
/// process exits: its feed (and so a relay) may carry a few events more than its own report
/// counted. Anything counted twice would be far more (a feed's history holds every open).
const TAIL: u64 = 3;

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

/// Waits for `child` and checks it succeeded; its standard output.
fn succeeded(child: Child) -> Vec<u8> {
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn report_of(child: Child) -> Value {
    serde_json::from_slice(&succeeded(child)).unwrap()
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

/// `wscope attach` headless on `subject.>` of `nats` for `duration`, with `extra` arguments
/// and environment, once it says it is connected; its stderr lines keep coming on the
/// receiver.
fn attach(
    nats: &NatsServer,
    subject: &str,
    duration: &str,
    extra: &[&std::ffi::OsStr],
    env: &[(&str, &str)],
) -> (Child, std::sync::mpsc::Receiver<String>) {
    let mut child = wscope()
        .args(["attach", &format!("{}/{subject}.>", nats.url())])
        .args(["--headless", "--duration", duration, "--format", "json"])
        .args(extra)
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let said = stderr_lines(&mut child);
    wait_for_line(&said, "connected", &mut Vec::new());
    (child, said)
}

/// `wscope relay` of the feeds at `urls` to `subject` for `duration`.
fn relay(urls: &[&str], nats: &NatsServer, subject: &str, duration: &str) -> Child {
    wscope()
        .arg("relay")
        .args(urls)
        .args([
            "--to",
            &nats.url(),
            "--subject",
            subject,
            "--duration",
            duration,
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Two demos, one relay, one attach over NATS: each server under its own name, every event
/// the relay published, none lost.
#[test]
fn a_fleet_of_two_servers_is_one_attach_through_nats() {
    let Some(nats) = NatsServer::start() else {
        return;
    };
    let subject = "wscope.test";
    let (seen, _said) = attach(&nats, subject, "12s", &[], &[]);
    let (edge1, url1) = demo("edge-1", "8s");
    let (edge2, url2) = demo("edge 2.eu", "8s");
    let relay = relay(&[&url1, &url2], &nats, subject, "10s");
    let own = [report_of(edge1), report_of(edge2)];
    succeeded(relay);
    let seen = report_of(seen);

    let servers = seen["servers"].as_object().unwrap();
    assert_eq!(
        servers.keys().collect::<Vec<_>>(),
        ["edge 2.eu", "edge-1"],
        "{servers:?}"
    );
    assert_eq!(seen["dropped_events"], 0, "{seen}");
    for (name, own) in ["edge-1", "edge 2.eu"].iter().zip(&own) {
        // What opened before the relay joined came in the feed's history: every open, once.
        let theirs = own["connections"]["opened"].as_u64().unwrap();
        let ours = opened(&seen, name);
        assert!(
            ours <= theirs + TAIL && ours * 10 >= theirs * 9,
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
    let (seen, said) = attach(&nats, subject, "14s", &[], &[]);
    let (edge, url) = demo("edge-r", "10s");
    let mut relay = relay(&[&url], &nats, subject, "12s");
    let relay_said = stderr_lines(&mut relay);
    wait_for_line(&relay_said, "connected", &mut Vec::new());
    std::thread::sleep(Duration::from_secs(3));
    nats.kill();
    let mut lines = Vec::new();
    wait_for_line(&said, "lost the NATS server", &mut lines);
    std::thread::sleep(Duration::from_secs(1));
    nats.resume();
    wait_for_line(&said, "connected", &mut lines);

    let own = report_of(edge);
    let _ = relay.wait();
    let seen = report_of(seen);
    let theirs = own["connections"]["opened"].as_u64().unwrap();
    let ours = opened(&seen, "edge-r");
    assert!(ours <= theirs + TAIL, "{ours} opened seen of {theirs}");
    for (code, n) in seen["close_codes"].as_object().unwrap() {
        let theirs = own["close_codes"][code].as_u64().unwrap_or(0);
        assert!(
            n.as_u64().unwrap() <= theirs + TAIL,
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
    let (live, _said) = attach(
        &nats,
        subject,
        "8s",
        &["--record".as_ref(), record.as_ref()],
        &[],
    );
    let (a, url_a) = demo("rec-a", "5s");
    let (b, url_b) = demo("rec-b", "5s");
    let relay = relay(&[&url_a, &url_b], &nats, subject, "6s");
    report_of(a);
    report_of(b);
    succeeded(relay);
    let live = report_of(live);
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

/// A NATS server that wants a token: a wrong one is said once and ends the attach; the
/// right one connects.
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
    assert!(
        err.contains("NATS refused the login") && err.contains("--nats-token"),
        "{err}"
    );

    let env = [("WSCOPE_NATS_TOKEN", "s3cret")];
    let (right, _said) = attach(&nats, "wscope.auth", "2s", &[], &env);
    report_of(right);
}

/// A log being written, relayed: what it held and each line appended reach the attach, and
/// an attach that joins late gets the open connections from the relay itself (a file cannot
/// be asked for a snapshot).
#[test]
fn a_log_being_written_is_relayed_as_it_grows_and_a_late_attach_gets_its_state() {
    use std::io::Write;
    let Some(nats) = NatsServer::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("live.jsonl");
    let line = |s: &str| format!("{s}\n");
    let mut file = std::fs::File::create(&log).unwrap();
    file.write_all(line(r#"{"type":"hello","ts":"2026-11-30T01:00:00Z","protocol":1,"server":"logged","heartbeat":null}"#).as_bytes()).unwrap();
    for i in 1..=3 {
        let open = format!(
            r#"{{"type":"open","ts":"2026-11-30T01:00:0{i}Z","conn":"c{i}","remote":"192.0.2.{i}:5000"}}"#
        );
        file.write_all(line(&open).as_bytes()).unwrap();
    }
    file.flush().unwrap();
    let subject = "wscope.logged";
    let (first, _said) = attach(&nats, subject, "9s", &[], &[]);
    let mut relay = wscope()
        .arg("relay")
        .arg(&log)
        .args([
            "--to",
            &nats.url(),
            "--subject",
            subject,
            "--duration",
            "8s",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let relay_said = stderr_lines(&mut relay);
    let mut seen_lines = Vec::new();
    wait_for_line(&relay_said, "live.jsonl: connected", &mut seen_lines);
    std::thread::sleep(Duration::from_secs(1));
    // The late one joins before the appends: it learns c1..c3 from the relay's snapshot.
    let (late, late_said) = attach(&nats, subject, "6s", &[], &[]);
    let mut late_lines = Vec::new();
    // Half a line, then the rest: one event, once.
    let close1 = line(
        r#"{"type":"close","ts":"2026-11-30T01:00:10Z","conn":"c1","code":1006,"reason":"","initiator":"none"}"#,
    );
    file.write_all(&close1.as_bytes()[..20]).unwrap();
    file.flush().unwrap();
    std::thread::sleep(Duration::from_millis(500));
    file.write_all(&close1.as_bytes()[20..]).unwrap();
    for k in 0..50 {
        let m = format!(
            r#"{{"type":"message","ts":"2026-11-30T01:00:11.{k:02}Z","conn":"c2","dir":"in","bytes":10}}"#
        );
        file.write_all(line(&m).as_bytes()).unwrap();
    }
    file.write_all(line(r#"{"type":"close","ts":"2026-11-30T01:00:12Z","conn":"c2","code":1000,"reason":"bye","initiator":"client"}"#).as_bytes()).unwrap();
    file.write_all(b"not an event\n").unwrap();
    file.flush().unwrap();
    wait_for_line(&relay_said, "skipped 1 lines", &mut seen_lines);

    let first = report_of(first);
    let late = report_of(late);
    succeeded(relay);
    while let Ok(l) = late_said.try_recv() {
        late_lines.push(l);
    }
    for r in [&first, &late] {
        assert_eq!(r["close_codes"]["1006"], 1, "{r}");
        assert_eq!(r["close_codes"]["1000"], 1, "{r}");
        assert_eq!(r["contradictions"], 0, "{r} {late_lines:?}");
        assert!(r["servers"]["logged"].is_object(), "{r}");
    }
    assert_eq!(opened(&first, "logged"), 3);
    // The late attach saw no open: its three came in the relay's snapshot, c3 still open.
    assert_eq!(late["connections"]["open_at_end"], 1, "{late}");
    assert_eq!(late["connections"]["peak_open"], 3, "{late}");
    assert_eq!(first["connections"]["open_at_end"], 1, "{first}");
}

/// NATS over TLS with a private CA and a user and password: a relay and an attach that trust
/// the CA (`--nats-ca`) meet through it; without the CA the attach refuses the server.
#[test]
fn nats_over_tls_with_a_private_ca_and_a_password() {
    let dir = tempfile::tempdir().unwrap();
    let cert =
        rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    let (cert_file, key_file) = (dir.path().join("nats.pem"), dir.path().join("nats.key"));
    std::fs::write(&cert_file, cert.cert.pem()).unwrap();
    std::fs::write(&key_file, cert.signing_key.serialize_pem()).unwrap();
    let args = [
        "--tls",
        "--tlscert",
        cert_file.to_str().unwrap(),
        "--tlskey",
        key_file.to_str().unwrap(),
        "--user",
        "ops",
        "--pass",
        "hunter2",
    ];
    let Some(nats) = NatsServer::start_with(&args) else {
        return;
    };
    let url = format!("tls://127.0.0.1:{}", nats.port);
    let login = |c: &mut Command| {
        c.args(["--nats-user", "ops"])
            .env("WSCOPE_NATS_PASSWORD", "hunter2");
    };
    // Without the CA: the server's certificate is not trusted, and that is said.
    let mut untrusted = wscope();
    untrusted.args([
        "attach",
        &format!("{url}/wscope.tls.>"),
        "--headless",
        "--duration",
        "3s",
    ]);
    login(&mut untrusted);
    let out = untrusted.output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("TLS certificate is not trusted") && err.contains("--nats-ca"),
        "{err}"
    );

    let mut attach = wscope();
    attach
        .args(["attach", &format!("{url}/wscope.tls.>")])
        .args(["--headless", "--duration", "8s", "--format", "json"])
        .arg("--nats-ca")
        .arg(&cert_file)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    login(&mut attach);
    let mut attach = attach.spawn().unwrap();
    let said = stderr_lines(&mut attach);
    wait_for_line(&said, "connected", &mut Vec::new());
    let (edge, feed) = demo("edge-tls", "4s");
    let mut relay = wscope();
    relay
        .args(["relay", &feed, "--to", &url, "--subject", "wscope.tls"])
        .args(["--duration", "5s", "--nats-ca"])
        .arg(&cert_file)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    login(&mut relay);
    succeeded(relay.spawn().unwrap());
    report_of(edge);
    let seen = report_of(attach);
    assert!(opened(&seen, "edge-tls") > 0, "{seen}");
}
