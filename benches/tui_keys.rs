//! Keypress to screen in a real terminal (tmux, 120x40) with 1,000,000 open connections:
//! the release binary replays a log that opens a million connections and then keeps them
//! busy (pings, pongs, messages, churn: 10,000 events a second of log time).
//!
//! 1. paused;
//! 2. playing at 10x (100,000 events a second applied, findings and the sorted table
//!    recomputed up to four times a second);
//! 3. `wscope attach` to a live feed (a loopback WebSocket server of this bench) that opens
//!    a million connections, then sends 50,000 events a second.
//!
//! Each press opens or closes the help overlay (`?`, `Esc`), at irregular moments so presses
//! meet every phase of the data frames; the time is from `tmux send-keys` returning to the
//! first `capture-pane` that shows the change. The polling costs a few milliseconds itself,
//! so the figures are upper bounds. Target: median <= 30 ms, worst <= 50 ms.
//!
//! `cargo bench --bench tui_keys` (needs tmux). With `TUI_KEYS_LOG=PATH` the log is written
//! there and kept (to profile the binary on it).

#[path = "../tests/common/require.rs"]
mod require;
#[path = "../tests/common/tmux.rs"]
mod tmux;

use futures_util::SinkExt;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_wscope");
const CONNS: u64 = 1_000_000;
/// Log time of busy traffic after the opens, and its rate.
const TRAFFIC_SECS: u64 = 300;
const EVENTS_PER_SEC: u64 = 10_000;
const PRESSES: usize = 40;

fn ts(ms: u64) -> String {
    let t = wscope::event::Ts(wscope::scenario::START.0 + ms as i64 * 1_000_000);
    t.to_rfc3339()
}

fn write_log(path: &Path) {
    let mut w = BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(w, r#"{{"type":"hello","ts":"{}","protocol":1,"server":"keys-1","heartbeat":{{"ping_interval_ms":30000,"pong_timeout_ms":5000}}}}"#, ts(0)).unwrap();
    // A million opens in the first second.
    for id in 0..CONNS {
        writeln!(w, r#"{{"type":"open","ts":"{}","conn":"c{id}","remote":"10.{}.{}.{}:{}","user_agent":"Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0","path":"/ws"}}"#, ts(id / 1000), id >> 16 & 255, id >> 8 & 255, id & 255, 1024 + id % 60000).unwrap();
    }
    let mut rng = fastrand::Rng::with_seed(5);
    let mut next = CONNS;
    let mut live: Vec<u64> = (0..CONNS).collect();
    let step_us = 1_000_000 / EVENTS_PER_SEC;
    for n in 0..TRAFFIC_SECS * EVENTS_PER_SEC {
        let ms = 1_000 + n * step_us / 1000;
        let at = rng.usize(0..live.len());
        let id = live[at];
        match rng.u32(0..100) {
            0 => {
                writeln!(w, r#"{{"type":"close","ts":"{}","conn":"c{id}","code":1006,"reason":"","initiator":"none"}}"#, ts(ms)).unwrap();
                live[at] = next;
                writeln!(w, r#"{{"type":"open","ts":"{}","conn":"c{next}","remote":"10.9.{}.{}:4000","user_agent":"okhttp/4.12","path":"/ws"}}"#, ts(ms), next >> 8 & 255, next & 255).unwrap();
                next += 1;
            }
            1..=40 => {
                writeln!(w, r#"{{"type":"ping","ts":"{}","conn":"c{id}"}}"#, ts(ms)).unwrap();
                writeln!(
                    w,
                    r#"{{"type":"pong","ts":"{}","conn":"c{id}","rtt_ms":{}.5}}"#,
                    ts(ms),
                    rng.u32(5..90)
                )
                .unwrap();
            }
            _ => {
                let dir = if rng.bool() { "in" } else { "out" };
                writeln!(w, r#"{{"type":"message","ts":"{}","conn":"c{id}","dir":"{dir}","count":1,"bytes":{}}}"#, ts(ms), rng.u32(20..4000)).unwrap();
            }
        }
    }
    w.flush().unwrap();
}

/// The milliseconds from each press to the screen showing it.
fn presses(t: &tmux::Tmux, rng: &mut fastrand::Rng) -> Vec<f64> {
    let mut out = Vec::with_capacity(PRESSES);
    for i in 0..PRESSES {
        std::thread::sleep(Duration::from_millis(rng.u64(40..400)));
        let open = i % 2 == 0;
        let start = Instant::now();
        t.keys(&[if open { "?" } else { "Escape" }]);
        loop {
            let shown = t.screen().contains("┌ Help ");
            if shown == open {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "no redraw after a key in 10 s:\n{}",
                t.screen()
            );
        }
        out.push(start.elapsed().as_secs_f64() * 1000.0);
    }
    out
}

fn summary(what: &str, mut ms: Vec<f64>) {
    ms.sort_by(f64::total_cmp);
    let median = ms[ms.len() / 2];
    let worst = ms[ms.len() - 1];
    let p90 = ms[ms.len() * 9 / 10];
    let slowest: Vec<String> = ms.iter().rev().take(5).map(|m| format!("{m:.0}")).collect();
    println!(
        "{what}: median {median:.1} ms, p90 {p90:.1} ms, worst {worst:.1} ms ({} presses; \
         slowest {} ms){}",
        ms.len(),
        slowest.join(", "),
        if median <= 30.0 && worst <= 50.0 {
            ""
        } else {
            "  ABOVE TARGET (30 / 50 ms)"
        }
    );
}

/// A live feed on loopback: hello, a million opens, then busy traffic at 50,000 events a
/// second of wall time until the bench ends. Returns its URL.
fn serve_feed() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            listener.set_nonblocking(true).unwrap();
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            let (tcp, _) = listener.accept().await.unwrap();
            let mut ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
            let t0 = Instant::now();
            let wall = chrono::Utc::now().timestamp_nanos_opt().unwrap();
            let ts = || wscope::event::Ts(wall + t0.elapsed().as_nanos() as i64).to_rfc3339();
            let text = tokio_tungstenite::tungstenite::Message::text;
            ws.feed(text(format!(r#"{{"type":"hello","ts":"{}","protocol":1,"server":"live-1","heartbeat":{{"ping_interval_ms":30000,"pong_timeout_ms":5000}}}}"#, ts()))).await.unwrap();
            for id in 0..CONNS {
                ws.feed(text(format!(r#"{{"type":"open","ts":"{}","conn":"c{id}","remote":"10.{}.{}.{}:4000","user_agent":"okhttp/4.12","path":"/ws"}}"#, ts(), id >> 16 & 255, id >> 8 & 255, id & 255))).await.unwrap();
            }
            ws.flush().await.unwrap();
            let mut rng = fastrand::Rng::with_seed(8);
            let mut tick = tokio::time::interval(Duration::from_millis(10));
            loop {
                tick.tick().await;
                for _ in 0..500 {
                    let id = rng.u64(0..CONNS);
                    let frame = match rng.u32(0..3) {
                        0 => format!(r#"{{"type":"ping","ts":"{}","conn":"c{id}"}}"#, ts()),
                        1 => format!(r#"{{"type":"pong","ts":"{}","conn":"c{id}","rtt_ms":21.5}}"#, ts()),
                        _ => format!(r#"{{"type":"message","ts":"{}","conn":"c{id}","dir":"in","count":1,"bytes":300}}"#, ts()),
                    };
                    if ws.feed(text(frame)).await.is_err() {
                        return;
                    }
                }
                if ws.flush().await.is_err() {
                    return;
                }
            }
        });
    });
    url
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --all-targets` does not: run only for real.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    if !tmux::available() {
        eprintln!("tui_keys: tmux is not installed (apt-get install tmux); nothing measured");
        std::process::exit(1);
    }
    let dir = tempfile::tempdir().unwrap();
    let log = std::env::var_os("TUI_KEYS_LOG")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| dir.path().join("million.jsonl"));
    let t0 = Instant::now();
    write_log(&log);
    println!(
        "log: {} MB, {CONNS} opens then {TRAFFIC_SECS} s at {EVENTS_PER_SEC} events/s (written in {:.1?})",
        std::fs::metadata(&log).unwrap().len() / 1_000_000,
        t0.elapsed()
    );
    let mut rng = fastrand::Rng::with_seed(11);
    let replay = |args: &str| format!("{BIN} replay {args} {}", log.display());
    for (what, command) in [
        ("paused at 1M connections", replay("--paused --from 5s")),
        (
            "10x replay at 1M connections",
            replay("--speed 10 --from 5s"),
        ),
        ("live feed at 1M connections, 50,000 events/s", {
            format!("{BIN} attach {}", serve_feed())
        }),
    ] {
        let t = tmux::Tmux::start(&command, 120, 40);
        let loaded = Instant::now();
        t.wait_for("a million connections open", |s| {
            s.contains(" 1000000 open")
        });
        println!("{what}: loaded in {:.1?}", loaded.elapsed());
        summary(what, presses(&t, &mut rng));
        // The header, so the figure can be judged against what was going on.
        for line in t.screen().lines().take(2) {
            println!("  | {line}");
        }
        t.keys(&["q"]);
    }
}
