//! What the real binary costs in a real terminal (tmux, 120x40):
//! - bytes written to the terminal per second during a 1x replay of a busy log (target
//!   <= 16 KB/s, what matters over SSH);
//! - CPU while nothing changes (a paused replay; target <= 2 %).
//!
//! `cargo bench --bench tui_terminal` (needs tmux).

#[path = "../tests/common/require.rs"]
mod require;
#[path = "../tests/common/scenario.rs"]
mod scenario;
#[path = "../tests/common/tmux.rs"]
mod tmux;

use scenario::Scenario;
use std::time::{Duration, Instant};
use wscope::event::{Dir, Initiator};

const BIN: &str = env!("CARGO_BIN_EXE_wscope");
/// Clock ticks per second of /proc/PID/stat on Linux.
const USER_HZ: f64 = 100.0;

/// 5,000 connections over 6 minutes, pinged every 30 s, chatty, with steady churn and a burst
/// of cuts: about 1,000 events per second.
fn busy_log() -> Scenario {
    let mut s = Scenario::new("2026-11-30T01:00:00Z");
    s.hello("chat-1", Some((30_000, 5_000)));
    let agents = [
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) Version/17.1 Mobile",
        "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0",
        "okhttp/4.12",
    ];
    let mut rng = fastrand::Rng::with_seed(9);
    let mut next = 0usize;
    let mut live: Vec<usize> = Vec::new();
    let mut open = |s: &mut Scenario, live: &mut Vec<usize>| {
        let id = next;
        next += 1;
        s.open(
            &format!("c{id}"),
            &format!(
                "198.51.{}.{}:{}",
                (id >> 8) & 255,
                id & 255,
                30_000 + id % 30_000
            ),
            agents[id % 3],
            "/ws",
        );
        live.push(id);
    };
    for _ in 0..5000 {
        open(&mut s, &mut live);
    }
    // 100 ms steps: each connection is pinged once per 30 s, so 1/300 of them per step.
    for step in 0..3600 {
        s.at(step as f64 * 0.1);
        for _ in 0..(live.len() / 300).max(1) {
            let c = format!("c{}", live[rng.usize(0..live.len())]);
            s.ping(&c).pong(&c, 15.0 + rng.f64() * 40.0);
        }
        for _ in 0..60 {
            let c = format!("c{}", live[rng.usize(0..live.len())]);
            s.message(&c, if rng.bool() { Dir::In } else { Dir::Out }, 1);
        }
        if step % 10 == 0 {
            let i = rng.usize(0..live.len());
            let c = format!("c{}", live.swap_remove(i));
            s.close(&c, 1000, "bye", Initiator::Client);
            open(&mut s, &mut live);
        }
        if step == 2000 {
            for _ in 0..300 {
                let i = rng.usize(0..live.len());
                let c = format!("c{}", live.swap_remove(i));
                s.close(&c, 1006, "", Initiator::None);
            }
        }
    }
    s
}

fn cpu_ticks(pid: &str) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name: utime and stime are the 14th and 15th overall.
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = after.split_whitespace().collect();
    f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --all-targets` does not: run only for real.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    if !tmux::available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("busy.jsonl");
    let s = busy_log();
    s.write_log(&log);
    let events = s.events().len();
    println!(
        "busy log: {events} events over 360 s ({:.0}/s)",
        events as f64 / 360.0
    );

    // Output during a 1x replay, from the 60 s mark (the table is full by then).
    let raw = dir.path().join("raw.out");
    let t = tmux::Tmux::start(
        &format!("read go; exec {BIN} replay --from 60s {}", log.display()),
        120,
        40,
    );
    t.pipe_raw_output(&raw);
    t.keys(&["Enter"]);
    t.wait_text("REPLAY 1x PLAYING");
    std::thread::sleep(Duration::from_secs(3));
    let pid = t.display("#{pane_pid}");
    let window = Duration::from_secs(20);
    let before = std::fs::metadata(&raw).map(|m| m.len()).unwrap_or(0);
    let c0 = cpu_ticks(&pid);
    let start = Instant::now();
    std::thread::sleep(window);
    let after = std::fs::metadata(&raw).unwrap().len();
    let c1 = cpu_ticks(&pid);
    let secs = start.elapsed().as_secs_f64();
    println!(
        "1x replay at 120x40: {:.1} KB/s written to the terminal ({} bytes in {secs:.0} s), \
         {:.1} % CPU",
        (after - before) as f64 / secs / 1024.0,
        after - before,
        (c1 - c0) as f64 / USER_HZ / secs * 100.0
    );
    // What was on screen, so the figure can be judged against what was drawn.
    for line in t.screen().lines().take(14) {
        println!("  | {line}");
    }
    t.keys(&["q"]);
    drop(t);

    // Idle: paused, nothing changes.
    let t = tmux::Tmux::start(
        &format!("exec {BIN} replay --paused {}", log.display()),
        120,
        40,
    );
    t.wait_text("PAUSED");
    let pid = t.display("#{pane_pid}");
    std::thread::sleep(Duration::from_secs(2));
    let c0 = cpu_ticks(&pid);
    let start = Instant::now();
    std::thread::sleep(Duration::from_secs(20));
    let c1 = cpu_ticks(&pid);
    let pct = (c1 - c0) as f64 / USER_HZ / start.elapsed().as_secs_f64() * 100.0;
    println!(
        "idle (paused replay, 120x40): {pct:.2} % CPU ({} ticks in {:.0?})",
        c1 - c0,
        start.elapsed()
    );
    t.keys(&["q"]);
}
