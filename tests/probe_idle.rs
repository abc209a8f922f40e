//! The idle phase against a real axum backend, directly: a close frame is reported with its
//! code and reason (and is no idle timeout), the server's pings are answered, and the progress
//! line appears only on a terminal.

mod common;

use common::probe::{num, probe, start_backend};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(20);

#[test]
fn a_close_frame_is_reported_with_code_and_reason() {
    let backend = start_backend();
    let url = format!("ws://127.0.0.1:{}/close-soon", backend.port);
    let run = probe(&[&url, "--idle-max", "5s", "--format", "json"], LIMIT);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let report = run.json();
    let idle = &report["idle"];
    assert_eq!(idle["closed_by"], "server", "{idle}");
    assert_eq!(idle["close_code"], 1001);
    assert_eq!(idle["close_reason"], "going away");
    let survived = num(&idle["survived_seconds"]);
    assert!((0.8..=2.0).contains(&survived), "{survived}");
    assert_eq!(
        report["findings"],
        serde_json::json!([]),
        "a close frame is not a cut"
    );

    let text = probe(&[&url, "--idle-max", "5s"], LIMIT);
    assert!(
        text.stdout.contains("with 1001 \"going away\""),
        "{}",
        text.stdout
    );
    assert!(
        text.stdout.contains("No findings: the upgrade works."),
        "{}",
        text.stdout
    );
}

#[test]
fn the_servers_pings_are_answered() {
    // /pinging drops a client that leaves two pings in a row (300 ms apart) unanswered.
    let backend = start_backend();
    let url = format!("ws://127.0.0.1:{}/pinging", backend.port);
    let run = probe(&[&url, "--idle-max", "3s", "--format", "json"], LIMIT);
    let report = run.json();
    let idle = &report["idle"];
    assert_eq!(
        idle["closed_by"], "client",
        "the probe must survive: {idle}"
    );
    assert!(num(&idle["pings_received"]) >= 8.0, "{idle}");
    let interval = num(&idle["server_ping_interval_seconds"]);
    assert!((0.2..=0.4).contains(&interval), "{interval}");
    assert_eq!(report["findings"], serde_json::json!([]));
}

#[test]
fn progress_line_only_on_a_terminal() {
    let backend = start_backend();
    let url = format!("ws://127.0.0.1:{}/ws", backend.port);
    // `script` gives the probe a real pseudo-terminal (util-linux, on every Debian).
    let wscope = env!("CARGO_BIN_EXE_wscope");
    let out = std::process::Command::new("script")
        .args(["-q", "-e", "-c"])
        .arg(format!("{wscope} probe {url} --idle-max 2s"))
        .arg("/dev/null")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("script (util-linux) runs");
    let screen = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{screen}");
    assert!(
        screen.contains("idle connection open, waiting for it to be cut: 1 s of 2 s"),
        "{screen}"
    );
    assert!(screen.contains("still open after 2.0 s"), "{screen}");
}
