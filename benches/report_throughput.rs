//! `cargo bench --bench report_throughput`: how fast `report` reads, and its memory.
//!
//! 1. A ~100 MB, ~1 M-event log of busy traffic: `wscope report` throughput (MB/s, best of 5),
//!    side by side with `jq -c 'select(.type=="close")|.code' FILE | sort | uniq -c` on the
//!    same file (best of 3), and the ratio. This machine's speed drifts by a third over
//!    minutes: compare figures of one run, not across runs.
//! 2. A log that opens 1,000,000 connections and closes none, and one with a single snapshot
//!    line of 1,000,000 connections: peak RSS of `wscope report`, by `/usr/bin/time -v`.
//!
//! Both run the release binary (built by `cargo bench`) as a person would.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    // target/release/deps/report_throughput-xxxx -> target/release
    exe.parent().and_then(Path::parent).unwrap().to_path_buf()
}

fn ts(ms: u64) -> String {
    let t = wscope::event::Ts(wscope::scenario::START.0 + ms as i64 * 1_000_000);
    t.to_rfc3339()
}

/// Busy chat traffic: 2,000 connections at a time, messages, heartbeats, churn.
fn write_busy_log(path: &Path, events: usize) -> u64 {
    let mut w = BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(w, r#"{{"type":"hello","ts":"{}","protocol":1,"server":"bench-1","software":"bench/1","heartbeat":{{"ping_interval_ms":30000,"pong_timeout_ms":5000}}}}"#, ts(0)).unwrap();
    let mut rng = fastrand::Rng::with_seed(7);
    let mut open: Vec<u64> = Vec::new();
    let mut next = 0u64;
    let mut ms = 0u64;
    for _ in 0..events {
        ms += rng.u64(0..4);
        let r = rng.u32(0..100);
        if open.len() < 2000 || r < 2 {
            let id = next;
            next += 1;
            open.push(id);
            writeln!(w, r#"{{"type":"open","ts":"{}","conn":"c{id}","remote":"203.0.{}.{}:{}","user_agent":"Mozilla/5.0 (X11; Linux x86_64)","path":"/ws"}}"#, ts(ms), id % 200, id % 250, 1024 + id % 60000).unwrap();
        } else if r < 4 {
            let id = open.swap_remove(rng.usize(0..open.len()));
            let (code, who) = if r == 2 {
                (1000, "client")
            } else {
                (1006, "none")
            };
            writeln!(w, r#"{{"type":"close","ts":"{}","conn":"c{id}","code":{code},"reason":"","initiator":"{who}"}}"#, ts(ms)).unwrap();
        } else if r < 14 {
            let id = open[rng.usize(0..open.len())];
            writeln!(w, r#"{{"type":"ping","ts":"{}","conn":"c{id}"}}"#, ts(ms)).unwrap();
            writeln!(
                w,
                r#"{{"type":"pong","ts":"{}","conn":"c{id}","rtt_ms":{}.5}}"#,
                ts(ms + 20),
                rng.u32(5..90)
            )
            .unwrap();
        } else {
            let id = open[rng.usize(0..open.len())];
            let dir = if r.is_multiple_of(2) { "in" } else { "out" };
            writeln!(w, r#"{{"type":"message","ts":"{}","conn":"c{id}","dir":"{dir}","count":{},"bytes":{}}}"#, ts(ms), rng.u32(1..9), rng.u32(20..4000)).unwrap();
        }
    }
    w.flush().unwrap();
    std::fs::metadata(path).unwrap().len()
}

fn write_open_only_log(path: &Path, conns: u64) {
    let mut w = BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(w, r#"{{"type":"hello","ts":"{}","protocol":1,"server":"bench-2","heartbeat":{{"ping_interval_ms":30000,"pong_timeout_ms":5000}}}}"#, ts(0)).unwrap();
    for id in 0..conns {
        writeln!(w, r#"{{"type":"open","ts":"{}","conn":"conn-{id}","remote":"10.{}.{}.{}:{}","user_agent":"Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X)","path":"/ws"}}"#, ts(id / 10), id >> 16 & 255, id >> 8 & 255, id & 255, 1024 + id % 60000).unwrap();
    }
    w.flush().unwrap();
}

fn best_of<F: FnMut()>(runs: usize, mut f: F) -> f64 {
    (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` passes nothing: run only for real.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let dir = target_dir().join("bench-data");
    std::fs::create_dir_all(&dir).unwrap();
    let bin = target_dir().join("wscope");
    assert!(
        bin.exists(),
        "build the binary first: cargo build --release"
    );

    let busy = dir.join("busy.jsonl");
    let size = write_busy_log(&busy, 1_000_000);
    let mb = size as f64 / 1e6;
    let lines = std::fs::read_to_string(&busy).unwrap().lines().count();
    println!("busy log: {mb:.1} MB, {lines} events");

    let report = best_of(5, || {
        let out = Command::new(&bin)
            .args(["report", "--format", "json"])
            .arg(&busy)
            .output()
            .unwrap();
        assert!(out.status.success());
    });
    let jq = best_of(3, || {
        let out = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "jq -c 'select(.type==\"close\")|.code' {} | sort | uniq -c",
                busy.display()
            ))
            .output()
            .unwrap();
        assert!(out.status.success(), "jq is needed for the comparison");
    });
    println!(
        "wscope report: {report:.3} s = {:.0} MB/s   jq|sort|uniq: {jq:.3} s = {:.0} MB/s   speed-up {:.1}x",
        mb / report,
        mb / jq,
        jq / report
    );

    let opens = dir.join("open-1m.jsonl");
    write_open_only_log(&opens, 1_000_000);
    let rss_kb = peak_rss_kb(&bin, &opens);
    println!(
        "1,000,000 open connections: peak RSS {:.1} MiB = {:.0} bytes per open connection",
        rss_kb as f64 / 1024.0,
        rss_kb as f64 * 1024.0 / 1e6
    );

    let snap = dir.join("snapshot-1m.jsonl");
    let size = write_snapshot_log(&snap, 1_000_000);
    let rss_kb = peak_rss_kb(&bin, &snap);
    println!(
        "one snapshot of 1,000,000 connections ({:.1} MB line): peak RSS {:.1} MiB",
        size as f64 / 1e6,
        rss_kb as f64 / 1024.0
    );
}

/// Peak RSS of `wscope report --format json LOG`, by `/usr/bin/time -v`.
fn peak_rss_kb(bin: &Path, log: &Path) -> u64 {
    let out = Command::new("/usr/bin/time")
        .arg("-v")
        .arg(bin)
        .args(["report", "--format", "json"])
        .arg(log)
        .output()
        .expect("/usr/bin/time");
    let stderr = String::from_utf8_lossy(&out.stderr);
    stderr
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("Maximum resident set size (kbytes): ")
        })
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

/// A `hello`, one snapshot line listing `conns` connections, and a ping.
fn write_snapshot_log(path: &Path, conns: u64) -> u64 {
    let mut w = BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(
        w,
        r#"{{"type":"hello","ts":"{}","protocol":1,"server":"bench-3"}}"#,
        ts(0)
    )
    .unwrap();
    write!(w, r#"{{"type":"snapshot","ts":"{}","connections":["#, ts(1)).unwrap();
    for id in 0..conns {
        let sep = if id == 0 { "" } else { "," };
        write!(w, r#"{sep}{{"conn":"c{id}"}}"#).unwrap();
    }
    writeln!(w, r#"],"timers":[]}}"#).unwrap();
    writeln!(w, r#"{{"type":"ping","ts":"{}","conn":"c5"}}"#, ts(2)).unwrap();
    w.flush().unwrap();
    std::fs::metadata(path).unwrap().len()
}
