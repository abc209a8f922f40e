//! A fleet through NATS at scale: a simulator publishes as 100 servers (each a relay's
//! stream: `hello`, 200 connections, then pings, pongs, messages and churn) at 1,000 events a
//! second each, 100,000 events a second in all, into a real `nats-server`.
//!
//! 1. `wscope attach nats://…` headless for the whole run: events received against those
//!    published, events counted lost (`dropped`), peak RSS (`/usr/bin/time -v`).
//! 2. The dashboard (`wscope attach nats://…` in tmux at 120x40) while the traffic flows:
//!    keypress to screen (the help overlay opened and closed 40 times). Target: <= 50 ms.
//!
//! `cargo bench --bench nats_fleet` (needs nats-server and tmux).

#[path = "../tests/common/mod.rs"]
#[allow(unused_imports)]
mod common;

use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_wscope");
const SERVERS: usize = 100;
const CONNS: usize = 200;
const PER_SERVER_PER_SEC: usize = 1_000;
const SECS: usize = 10;
const SUBJECT: &str = "wscope.bench";

fn ts(ms: u64) -> String {
    wscope::event::Ts(wscope::scenario::START.0 + ms as i64 * 1_000_000).to_rfc3339()
}

/// Server `s`'s `n`-th event at event time `ms`.
fn line(s: usize, n: usize, ms: u64, rng: &mut fastrand::Rng) -> String {
    let server = format!("edge-{s:03}");
    let t = ts(ms);
    if n == 0 {
        return format!(
            r#"{{"type":"hello","ts":"{t}","server":"{server}","protocol":1,"heartbeat":{{"ping_interval_ms":30000,"pong_timeout_ms":5000}}}}"#
        );
    }
    if n <= CONNS {
        let c = n - 1;
        return format!(
            r#"{{"type":"open","ts":"{t}","conn":"c{c}","server":"{server}","remote":"10.0.{s}.{}:4000","user_agent":"okhttp/4.12","path":"/ws"}}"#,
            c % 250
        );
    }
    let c = rng.usize(0..CONNS);
    match rng.u32(0..10) {
        0..=2 => format!(r#"{{"type":"ping","ts":"{t}","conn":"c{c}","server":"{server}"}}"#),
        3..=5 => format!(
            r#"{{"type":"pong","ts":"{t}","conn":"c{c}","server":"{server}","rtt_ms":{}.5}}"#,
            rng.u32(5..90)
        ),
        _ => format!(
            r#"{{"type":"message","ts":"{t}","conn":"c{c}","server":"{server}","dir":"in","count":{},"bytes":{}}}"#,
            rng.u32(1..9),
            rng.u32(20..4000)
        ),
    }
}

/// Publishes every server's stream for `SECS` seconds at the target rate; returns how many
/// messages went out.
fn simulate(url: &str) -> u64 {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let mut clients = Vec::new();
        for _ in 0..4 {
            clients.push(
                async_nats::connect(url)
                    .await
                    .expect("connect to nats-server"),
            );
        }
        let mut rng = fastrand::Rng::with_seed(3);
        let mut seq = vec![0u64; SERVERS];
        let start = Instant::now();
        let tick = Duration::from_millis(10);
        let per_tick = PER_SERVER_PER_SEC / 100;
        let mut sent = 0u64;
        for step in 0..(SECS * 100) {
            for s in 0..SERVERS {
                let client = &clients[s % clients.len()];
                for _ in 0..per_tick {
                    let n = seq[s] as usize;
                    let ms = (step * 10) as u64;
                    let body = line(s, n, ms, &mut rng);
                    seq[s] += 1;
                    let headers = wscope::source::nats::headers(seq[s], None);
                    let subject = format!("{SUBJECT}.edge-{s:03}");
                    client
                        .publish_with_headers(subject, headers, body.into())
                        .await
                        .unwrap();
                    sent += 1;
                }
            }
            let due = start + tick * (step as u32 + 1);
            tokio::time::sleep_until(due.into()).await;
        }
        for c in &clients {
            c.flush().await.unwrap();
        }
        println!(
            "published {sent} events as {SERVERS} servers in {:.1?} ({:.0} events/s)",
            start.elapsed(),
            sent as f64 / start.elapsed().as_secs_f64()
        );
        sent
    })
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let Some(nats) = common::nats::NatsServer::start() else {
        eprintln!("nats_fleet: nats-server is not installed; nothing measured");
        std::process::exit(1);
    };
    let target = format!("{}/{SUBJECT}.>", nats.url());

    // 1. Headless: every event accounted for.
    let attach = std::process::Command::new("/usr/bin/time")
        .arg("-v")
        .arg(BIN)
        .args(["attach", &target, "--headless", "--format", "json"])
        .args(["--duration", &format!("{}s", SECS + 6)])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(2));
    let sent = simulate(&nats.url());
    let out = attach.wait_with_output().unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let rss = stderr
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("Maximum resident set size (kbytes): ")
        })
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(0);
    println!(
        "headless attach: {} events of {sent} received, {} counted lost, {} servers, {} open; peak RSS {:.1} MiB",
        report["events"],
        report["dropped_events"],
        report["servers"].as_object().map_or(0, |s| s.len()),
        report["connections"]["open_at_end"],
        rss as f64 / 1024.0
    );

    // 2. The dashboard while the fleet publishes.
    if !common::tmux::available() {
        eprintln!("nats_fleet: tmux is not installed; keypresses not measured");
        std::process::exit(1);
    }
    let t = common::tmux::Tmux::start(&format!("{BIN} attach '{target}'"), 120, 40);
    std::thread::sleep(Duration::from_secs(1));
    let url = nats.url();
    let publisher = std::thread::spawn(move || simulate(&url));
    t.wait_for("the fleet's connections", |s| s.contains(" 20000 open"));
    let mut rng = fastrand::Rng::with_seed(9);
    let mut ms = Vec::new();
    for i in 0..40 {
        std::thread::sleep(Duration::from_millis(rng.u64(40..150)));
        let open = i % 2 == 0;
        let start = Instant::now();
        t.keys(&[if open { "?" } else { "Escape" }]);
        while t.screen().contains("┌ Help ") != open {
            assert!(start.elapsed() < Duration::from_secs(10), "no redraw");
        }
        ms.push(start.elapsed().as_secs_f64() * 1000.0);
    }
    ms.sort_by(f64::total_cmp);
    println!(
        "dashboard at {} events/s: keypress to screen median {:.1} ms, worst {:.1} ms ({} presses; target 50 ms)",
        SERVERS * PER_SERVER_PER_SEC,
        ms[ms.len() / 2],
        ms[ms.len() - 1],
        ms.len()
    );
    let _ = publisher.join();
    std::thread::sleep(Duration::from_secs(1));
    // After the whole run: the header names any events lost (it shows `dropped N` then).
    let screen = t.screen();
    println!(
        "dashboard after {} events: {}",
        SERVERS * PER_SERVER_PER_SEC * SECS,
        if screen.contains("dropped") {
            "events were lost (see the header)"
        } else {
            "none lost"
        }
    );
    for line in screen.lines().take(2) {
        println!("  | {line}");
    }
    t.keys(&["q"]);
}
