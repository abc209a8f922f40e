//! `wscope attach` as a process: recording until a signal, and clear errors for bad input.
//! The feed is a real loopback server written here, streaming events without pause.

mod common;

use futures_util::SinkExt;
use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;
use wscope::event::{EventKind, parse_event};

const TOKEN: &str = "cli-test-token";

/// Streams hello, snapshot, then `open` c0, c1, ... about every 200 µs, to every subscriber
/// with the right token.
#[allow(clippy::result_large_err)] // the handshake callback's shape is tungstenite's
fn streaming_feed(rt: &tokio::runtime::Runtime) -> String {
    let listener = rt.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    rt.spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            tokio::spawn(async move {
                let check = |req: &tokio_tungstenite::tungstenite::handshake::server::Request,
                             resp| {
                    let ok = req
                        .headers()
                        .get("authorization")
                        .is_some_and(|v| v == format!("Bearer {TOKEN}").as_str());
                    if ok {
                        Ok(resp)
                    } else {
                        let mut e = tokio_tungstenite::tungstenite::handshake::server::ErrorResponse::new(None);
                        *e.status_mut() = tokio_tungstenite::tungstenite::http::StatusCode::UNAUTHORIZED;
                        Err(e)
                    }
                };
                let Ok(mut ws) = tokio_tungstenite::accept_hdr_async(tcp, check).await else {
                    return;
                };
                let hello = r#"{"type":"hello","ts":"2026-11-30T01:00:00Z","protocol":1,"server":"stream","heartbeat":null}"#;
                let snap = r#"{"type":"snapshot","ts":"2026-11-30T01:00:00Z","connections":[],"timers":[]}"#;
                if ws.send(Message::text(hello)).await.is_err()
                    || ws.send(Message::text(snap)).await.is_err()
                {
                    return;
                }
                for n in 0u64.. {
                    let ts = wscope::event::Ts(1_795_997_000_000_000_000 + n as i64 * 1_000_000);
                    let frame = format!(r#"{{"type":"open","ts":"{ts}","conn":"c{n}"}}"#);
                    if ws.send(Message::text(frame)).await.is_err() {
                        return;
                    }
                    if n % 16 == 0 {
                        tokio::time::sleep(Duration::from_millis(3)).await;
                    }
                }
            });
        }
    });
    url
}

fn wscope() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wscope"));
    cmd.env_remove("WSCOPE_TOKEN");
    cmd
}

fn wait_with_timeout(mut child: Child, limit: Duration) -> Output {
    let end = Instant::now() + limit;
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if Instant::now() > end {
            let _ = child.kill();
            panic!("wscope did not stop within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Checks a recording: whole lines only, hello then snapshot, then c0, c1, ... with no gap.
fn check_recording(text: &str) -> usize {
    assert!(text.ends_with('\n'), "the last line is not complete");
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines.len() > 50, "only {} lines", lines.len());
    for (i, line) in lines.iter().enumerate() {
        let ev = parse_event(line.as_bytes()).unwrap_or_else(|e| panic!("line {i}: {e}: {line}"));
        match (i, &ev.kind) {
            (0, EventKind::Hello(_)) | (1, EventKind::Snapshot(_)) => {}
            (i, EventKind::Open(o)) if i >= 2 => assert_eq!(o.conn, format!("c{}", i - 2)),
            (i, k) => panic!("line {i}: unexpected {k:?}"),
        }
    }
    lines.len()
}

fn record_until(signal: &str, file: &Path) -> (Output, String) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let url = streaming_feed(&rt);
    let child = wscope()
        .args(["attach", "--headless", "--format", "json", "--record"])
        .arg(file)
        .arg(&url)
        .env("WSCOPE_TOKEN", TOKEN)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Connected and recording: the hello, the snapshot and some opens are on disk.
    common::wait_until("the recording to start", Duration::from_secs(10), || {
        std::fs::read(file).is_ok_and(|b| b.iter().filter(|c| **c == b'\n').count() > 50)
    });
    let status = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = wait_with_timeout(child, Duration::from_secs(10));
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{signal}: {stderr}");
    (out, stderr)
}

#[test]
fn recording_until_a_signal_leaves_whole_lines_and_every_event() {
    for signal in ["-TERM", "-INT", "-HUP"] {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("rec.jsonl");
        let (out, stderr) = record_until(signal, &file);
        let text = std::fs::read_to_string(&file).unwrap();
        let lines = check_recording(&text);
        // Every event received went into the file, and into the report.
        assert!(
            stderr.contains(&format!("recorded {lines} events")),
            "{signal}: {stderr}"
        );
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(report["events"], lines as u64, "{signal}");
        assert_eq!(report["connections"]["opened"], (lines - 2) as u64);
    }
}

#[test]
fn recording_to_zst_is_a_complete_zstd_stream() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("rec.jsonl.zst");
    let (_, stderr) = record_until("-TERM", &file);
    let mut text = String::new();
    zstd::stream::read::Decoder::new(std::fs::File::open(&file).unwrap())
        .unwrap()
        .read_to_string(&mut text)
        .expect("a complete zstd stream");
    let lines = check_recording(&text);
    assert!(
        stderr.contains(&format!("recorded {lines} events")),
        "{stderr}"
    );
}

#[test]
fn recording_is_flushed_while_running() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let url = streaming_feed(&rt);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("live.jsonl");
    let mut child = wscope()
        .args(["attach", "--headless", "--record"])
        .arg(&file)
        .arg(&url)
        .env("WSCOPE_TOKEN", TOKEN)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // While it runs (it is killed only after), the recording reaches the disk.
    let flushed = || std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
    common::wait_until("a flushed recording", Duration::from_secs(10), || {
        flushed() > 1000
    });
    assert!(child.try_wait().unwrap().is_none(), "still running");
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn bad_input_gets_one_clear_line_and_exit_2() {
    let cases: [(&[&str], &str); 4] = [
        (
            &[
                "attach",
                "--headless",
                "--duration",
                "1s",
                "http://127.0.0.1:1/",
            ],
            "ws://",
        ),
        (&["attach", "ws://127.0.0.1:1/"], "needs a terminal"),
        (
            &[
                "attach",
                "--headless",
                "--duration",
                "soon",
                "ws://127.0.0.1:1/",
            ],
            "soon",
        ),
        (
            &[
                "attach",
                "--headless",
                "--duration",
                "1s",
                "ws://127.0.0.1:1/",
            ],
            "could not reach",
        ),
    ];
    for (args, expect) in cases {
        let started = Instant::now();
        let out = wscope().args(args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(expect), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(started.elapsed() < Duration::from_secs(10));
    }
}

#[test]
fn a_refused_token_stops_at_once_with_exit_2() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let url = streaming_feed(&rt);
    for token in [Some("wrong"), None] {
        let mut cmd = wscope();
        cmd.args(["attach", "--headless", "--duration", "30s", &url]);
        if let Some(t) = token {
            cmd.env("WSCOPE_TOKEN", t);
        }
        let started = Instant::now();
        let out = cmd.output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains("401") && stderr.contains("token"),
            "{stderr}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "a 401 is not retried"
        );
    }
}
