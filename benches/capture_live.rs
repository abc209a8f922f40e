//! `cargo bench --bench capture_live`: `wscope capture` keeping up with live traffic while the
//! dashboard draws.
//!
//! The dashboard runs in a real terminal (tmux, 120x40) on `wscope capture --port P --iface lo
//! --record FILE` (it starts tcpdump itself); a plain Node.js `ws` peer sends 20,000 frames/s
//! from 50 clients for 10 s. Then the recording is read back: the messages it counts against
//! those sent, and the packets the kernel dropped (tcpdump's own counts, as `dropped`). Needs
//! root (to capture), tcpdump, tmux and the Node adapter's `ws`; says so and stops otherwise.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

const SECONDS: u32 = 10;

fn have(tool: &str) -> bool {
    Command::new(tool).arg("-V").output().is_ok()
        || Command::new(tool).arg("--version").output().is_ok()
}

fn tmux(socket: &str, args: &[&str]) -> String {
    let out = Command::new("tmux")
        .arg("-L")
        .arg(socket)
        .args(args)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` passes nothing: run only for real.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    // WSCOPE_BENCH_RATE=N tries another rate.
    let rate: u32 = std::env::var("WSCOPE_BENCH_RATE")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(20_000);
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let ws = root.join("assets/adapters/node/node_modules/ws");
    for (ok, what) in [
        (have("tcpdump"), "tcpdump"),
        (have("tmux"), "tmux"),
        (
            have("node") && ws.is_dir(),
            "Node.js and `npm install` in assets/adapters/node",
        ),
    ] {
        if !ok {
            println!("capture_live: NOT RUN: needs {what}");
            return;
        }
    }
    let exe = std::env::current_exe().unwrap();
    let wscope = exe
        .parent()
        .and_then(|p| p.parent())
        .unwrap()
        .join("wscope");
    let dir = tempfile::tempdir().unwrap();
    let record = dir.path().join("live.jsonl");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let socket = format!("wscope-bench-{}", std::process::id());
    let cmd = format!(
        "{} capture --port {port} --iface lo --record {}; echo wscope-exited; sleep 60",
        wscope.display(),
        record.display()
    );
    tmux(
        &socket,
        &[
            "-f",
            "/dev/null",
            "new-session",
            "-d",
            "-s",
            "b",
            "-x",
            "120",
            "-y",
            "40",
            "sh",
            "-c",
            &cmd,
        ],
    );
    let deadline = Instant::now() + Duration::from_secs(15);
    while !tmux(&socket, &["capture-pane", "-p", "-t", "b"]).contains(": live") {
        assert!(Instant::now() < deadline, "the capture did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(500));
    let started = Instant::now();
    let out = Command::new("node")
        .arg(root.join("tests/peers/blast.js"))
        .args([port.to_string(), rate.to_string(), SECONDS.to_string()])
        .env("NODE_PATH", root.join("assets/adapters/node/node_modules"))
        .output()
        .unwrap();
    let took = started.elapsed().as_secs_f64();
    let sent: u64 = serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()["sent"]
        .as_u64()
        .unwrap();
    std::thread::sleep(Duration::from_secs(2));
    let screen = tmux(&socket, &["capture-pane", "-p", "-t", "b"]);
    tmux(&socket, &["send-keys", "-t", "b", "q"]);
    while !tmux(&socket, &["capture-pane", "-p", "-t", "b"]).contains("wscope-exited") {
        std::thread::sleep(Duration::from_millis(100));
    }
    tmux(&socket, &["kill-server"]);
    let (mut counted, mut dropped, mut closes) = (0u64, 0u64, 0u64);
    for line in std::fs::read_to_string(&record).unwrap().lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        match v["type"].as_str() {
            Some("message") if v["dir"] == "in" => counted += v["count"].as_u64().unwrap(),
            Some("dropped") => dropped += v["count"].as_u64().unwrap(),
            Some("close") => closes += 1,
            _ => {}
        }
    }
    println!(
        "sent {sent} frames over {SECONDS} s ({:.0} frames/s; {took:.1} s with connecting) from 50 clients, the dashboard drawing at 120x40",
        sent as f64 / SECONDS as f64
    );
    println!(
        "counted {counted} messages ({:.2} %), {closes} closes; dropped (kernel and stream gaps): {dropped}",
        counted as f64 * 100.0 / sent as f64
    );
    println!(
        "last screen header: {}",
        screen.lines().take(2).collect::<Vec<_>>().join(" | ")
    );
}
