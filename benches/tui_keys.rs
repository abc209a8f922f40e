//! Keypress to screen in a real terminal (tmux, 120x40) with 1,000,000 open connections:
//! the release binary replays a log that opens a million connections and then keeps them
//! busy (pings, pongs, messages, churn: 10,000 events a second of log time).
//!
//! 1. paused;
//! 2. playing at 10x (100,000 events a second applied, findings and the sorted table
//!    recomputed up to four times a second).
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
    for (what, args) in [
        ("paused at 1M connections", "--paused --from 5s"),
        ("10x replay at 1M connections", "--speed 10 --from 5s"),
    ] {
        let t = tmux::Tmux::start(&format!("{BIN} replay {args} {}", log.display()), 120, 40);
        let loaded = Instant::now();
        t.wait_for("a million connections open", |s| {
            s.contains(" 1000000 open")
        });
        println!("{what}: loaded in {:.1?}", loaded.elapsed());
        summary(what, presses(&t, &mut rng));
        t.keys(&["q"]);
    }
}
