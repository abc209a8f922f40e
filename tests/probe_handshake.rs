//! What the upgrade request carries (--origin, --header, --subprotocol) reaches a real axum
//! server, and its refusals (401, 403, 404) get the remedy that fits.

mod common;

use common::probe::{probe, start_backend};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(20);

#[test]
fn origin_refused_then_accepted() {
    let backend = start_backend();
    let url = format!("ws://127.0.0.1:{}/origin-checked", backend.port);
    let run = probe(&[&url, "--idle-max", "0", "--format", "json"], LIMIT);
    let finding = run
        .finding("upgrade-rejected")
        .expect("403 without the origin");
    assert_eq!(finding["evidence"]["status"], 403);
    assert!(
        finding["remedy"].as_str().unwrap().contains("Origin"),
        "{finding}"
    );

    let run = probe(
        &[
            &url,
            "--idle-max",
            "0",
            "--origin",
            "https://app.example",
            "--format",
            "json",
        ],
        LIMIT,
    );
    let report = run.json();
    assert_eq!(report["handshake"]["status"], 101, "{report}");
    assert_eq!(report["findings"], serde_json::json!([]));
    assert_eq!(
        report["idle"],
        serde_json::Value::Null,
        "--idle-max 0 skips the idle test"
    );
}

#[test]
fn auth_header_refused_then_accepted() {
    let backend = start_backend();
    let url = format!("ws://127.0.0.1:{}/auth", backend.port);
    let run = probe(&[&url, "--idle-max", "0", "--format", "json"], LIMIT);
    let finding = run
        .finding("upgrade-rejected")
        .expect("401 without credentials");
    assert_eq!(finding["evidence"]["status"], 401);
    assert!(
        finding["remedy"]
            .as_str()
            .unwrap()
            .contains("Authorization")
    );

    let run = probe(
        &[
            &url,
            "--idle-max",
            "0",
            "-H",
            "Authorization: Bearer t0ken",
            "--format",
            "json",
        ],
        LIMIT,
    );
    assert_eq!(run.json()["handshake"]["ok"], true, "{}", run.stdout);
}

#[test]
fn subprotocol_agreed_shows_in_the_headers() {
    let backend = start_backend();
    let url = format!("ws://127.0.0.1:{}/chat", backend.port);
    let run = probe(
        &[
            &url,
            "--idle-max",
            "0",
            "--subprotocol",
            "chat.v2",
            "--subprotocol",
            "chat.v1",
            "--format",
            "json",
        ],
        LIMIT,
    );
    let report = run.json();
    assert_eq!(report["handshake"]["ok"], true, "{report}");
    assert_eq!(
        report["handshake"]["headers"]["sec-websocket-protocol"],
        "chat.v1"
    );
    assert_eq!(report["handshake"]["headers"]["upgrade"], "websocket");
}

#[test]
fn wrong_path_is_a_404_with_a_path_remedy() {
    let backend = start_backend();
    let url = format!("ws://127.0.0.1:{}/nowhere", backend.port);
    let run = probe(&[&url, "--format", "json"], LIMIT);
    let finding = run.finding("upgrade-rejected").expect("404");
    assert_eq!(finding["evidence"]["status"], 404);
    assert!(finding["remedy"].as_str().unwrap().contains("path"));
}
