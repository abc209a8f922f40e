//! The live dashboard end to end, in tmux: `wscope attach` on a real admin feed (a headless
//! `wscope demo --admin` process) that is killed and restarted, a wrong token, and the
//! interactive `wscope demo`.

mod common;

use common::free_port;
use common::tmux::{self, Tmux};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_wscope");
const TOKEN: &str = "tui-live-test-token";

/// A real instrumented server with its admin feed on `port`.
fn feed_server(port: u16) -> Child {
    let child = Command::new(BIN)
        .args(["demo", "--headless", "--duration", "120s", "--admin"])
        .arg(format!("127.0.0.1:{port}"))
        .env("WSCOPE_TOKEN", TOKEN)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the feed server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    child
}

fn stop(mut child: Child) {
    let _ = child.kill();
    let _ = child.wait();
}

fn restored(t: &Tmux) -> String {
    let s = t.wait_for("exit", |s| s.contains("EXITED") && s.contains("icanon"));
    assert!(s.contains("EXITED 0"), "{s}");
    assert!(!s.contains("-icanon") && !s.contains("-echo "), "{s}");
    s
}

#[test]
fn attach_shows_a_lost_feed_retrying_then_resyncs() {
    if !tmux::available() {
        return;
    }
    let port = free_port();
    let server = feed_server(port);
    let dir = tempfile::tempdir().unwrap();
    let rec = dir.path().join("live.jsonl");
    let t = Tmux::start(
        &format!(
            "stty sane; WSCOPE_TOKEN={TOKEN} {BIN} attach ws://127.0.0.1:{port}/ --record {}; echo EXITED $?; stty -a",
            rec.display()
        ),
        120,
        40,
    );
    t.wait_text(&format!("127.0.0.1:{port}: live"));
    t.wait_for("connections from the snapshot", |s| {
        s.contains("Connections") && !s.contains(" 0 open")
    });
    stop(server);
    let s = t.wait_text("disconnected, retrying in");
    assert!(
        s.contains("Connection refused") || s.contains("closed"),
        "{s}"
    );

    let server = feed_server(port);
    let s = t.wait_text(&format!("127.0.0.1:{port}: live"));
    assert!(!s.contains("retrying"), "{s}");
    t.wait_for("findings from the new server", |s| {
        s.contains("upgrade-rejected")
    });
    t.keys(&["q"]);
    restored(&t);
    stop(server);

    // The recording holds both sessions, each starting with hello and snapshot, every line
    // whole, and reads back without a skipped line.
    let log = std::fs::read_to_string(&rec).unwrap();
    assert!(log.ends_with('\n'));
    assert_eq!(
        log.matches(r#""type":"hello""#).count(),
        2,
        "two sessions recorded"
    );
    let out = Command::new(BIN)
        .args(["report", "--format", "json"])
        .arg(&rec)
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["skipped_lines"], 0);
    assert_eq!(v["events"].as_u64().unwrap() as usize, log.lines().count());
}

#[test]
fn attach_with_a_wrong_token_says_so_and_does_not_retry() {
    if !tmux::available() {
        return;
    }
    let port = free_port();
    let server = feed_server(port);
    let t = Tmux::start(
        &format!(
            "stty sane; WSCOPE_TOKEN=wrong {BIN} attach ws://127.0.0.1:{port}/; echo EXITED $?; stty -a"
        ),
        100,
        30,
    );
    let s = t.wait_text("401");
    assert!(s.contains("token"), "{s}");
    std::thread::sleep(Duration::from_secs(2));
    assert!(!t.screen().contains("retrying"), "a 401 is final");
    t.keys(&["q"]);
    restored(&t);
    stop(server);
}

#[test]
fn demo_dashboard_shows_every_panel_at_80x24_and_quits_cleanly() {
    if !tmux::available() {
        return;
    }
    let t = Tmux::start(
        &format!("stty sane; {BIN} demo; echo EXITED $?; stty -a"),
        120,
        40,
    );
    for panel in [
        "Connections",
        "Close codes",
        "Disconnect rate",
        "Leak suspects",
        "Findings",
    ] {
        t.wait_text(panel);
    }
    t.wait_text("(in-process): live");
    t.wait_for("findings of the demo", |s| {
        ["upgrade-rejected", "idle-timeout", "timer-leak"]
            .iter()
            .all(|id| s.contains(id))
    });
    t.resize(80, 24);
    t.wait_for("80x24 layout", |s| {
        s.lines().all(|l| l.chars().count() <= 80) && s.contains("Findings")
    });
    t.keys(&["q"]);
    let s = restored(&t);
    assert!(s.contains("wscope demo: server on ws://127.0.0.1:"), "{s}");
}
