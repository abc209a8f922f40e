//! The examples in `examples/` are real servers with the tap: each is started, real clients
//! talk to it, and `wscope attach --headless` reads its admin feed.

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

const TOKEN: &str = "example-token";

/// The example's executable. `cargo test` compiles examples but leaves them under hashed names
/// only, so cargo is asked for it (a no-op when it is fresh) and names the file it built.
fn example(name: &str) -> PathBuf {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut build = Command::new(cargo);
    // What cargo set for this test (the package's CARGO_* variables, the library path) would
    // make the inner build look changed and compile again.
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        if (key.starts_with("CARGO_") && key != "CARGO_HOME" && key != "CARGO_TARGET_DIR")
            || key == "LD_LIBRARY_PATH"
            || key == "OUT_DIR"
        {
            build.env_remove(&*key);
        }
    }
    let out = build
        .args([
            "build",
            "--profile",
            "test",
            "--example",
            name,
            "--message-format=json",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stderr(Stdio::inherit())
        .output()
        .unwrap();
    assert!(out.status.success(), "cargo build --example {name} failed");
    let built = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|msg| msg["reason"] == "compiler-artifact" && msg["target"]["name"] == name)
        .find_map(|msg| msg["executable"].as_str().map(PathBuf::from));
    built.unwrap_or_else(|| panic!("cargo build --example {name} named no executable"))
}

/// Starts the example; its server URL and its feed URL, from its first line.
fn start(name: &str) -> (Child, String, String) {
    let mut child = Command::new(example(name))
        .arg("127.0.0.1:0")
        .env("WSCOPE_TOKEN", TOKEN)
        .env("WSCOPE_ADMIN_ADDR", "127.0.0.1:0")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let words: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(
        (words.first(), words.get(2)),
        (Some(&"server"), Some(&"feed")),
        "{line}"
    );
    (child, words[1].to_string(), words[3].to_string())
}

/// Three clients: two echo a message and close with 4001 and 1000, one just vanishes.
async fn talk(server: &str) {
    for code in [4001u16, 1000] {
        let (mut ws, _) = tokio_tungstenite::connect_async(server).await.unwrap();
        ws.send(Message::text("hello")).await.unwrap();
        assert_eq!(ws.next().await.unwrap().unwrap(), Message::text("hello"));
        ws.close(Some(CloseFrame {
            code: CloseCode::from(code),
            reason: "bye".into(),
        }))
        .await
        .unwrap();
        while let Some(Ok(_)) = ws.next().await {}
    }
    let (ws, _) = tokio_tungstenite::connect_async(server).await.unwrap();
    drop(ws);
}

fn attached_report(feed: &str) -> std::thread::JoinHandle<Value> {
    let feed = feed.to_string();
    std::thread::spawn(move || {
        let out = Command::new(env!("CARGO_BIN_EXE_wscope"))
            .args([
                "attach",
                &feed,
                "--headless",
                "--duration",
                "4s",
                "--format",
                "json",
            ])
            .env("WSCOPE_TOKEN", TOKEN)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    })
}

fn check(name: &str, server_name: &str) {
    let (mut child, server, feed) = start(name);
    let report = attached_report(&feed);
    std::thread::sleep(std::time::Duration::from_millis(800));
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(talk(&server));
    let r = report.join().unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(r["connections"]["opened"], 3, "{r}");
    assert_eq!(r["close_codes"]["4001"], 1, "{r}");
    assert_eq!(r["close_codes"]["1000"], 1, "{r}");
    // The one that vanished: no close frame, 1006.
    assert_eq!(r["close_codes"]["1006"], 1, "{r}");
    assert_eq!(r["close_codes_by_initiator"]["4001"]["client"], 1, "{r}");
    assert_eq!(r["contradictions"], 0, "{r}");
    assert!(r["servers"][server_name].is_object(), "{r}");
}

#[test]
fn the_tokio_tungstenite_example_is_seen_by_wscope_attach() {
    check("tungstenite_echo", "echo-1");
}

#[test]
fn the_axum_example_is_seen_by_wscope_attach() {
    check("axum_echo", "axum-1");
}
