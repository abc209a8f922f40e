//! `cargo bench --bench replay_memory`: replaying a 1 GB log holds a few windows of it, not
//! every event. Writes a ~1 GB busy log (10.3 M events), opens it for replay (indexing it on
//! every core), plays it to the end, seeks back 10 minutes and to the start, and prints the
//! time of each step and this process's peak RSS.

use ratatui::layout::Rect;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;
use wscope::source::log_index::IndexedLog;
use wscope::ui::playback::Playback;
use wscope::ui::player::Speed;
use wscope::ui::view::Action;
use wscope::ui::{Dashboard, UiConfig};

fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().and_then(Path::parent).unwrap().to_path_buf()
}

fn ts(ms: u64) -> String {
    wscope::event::Ts(wscope::scenario::START.0 + ms as i64 * 1_000_000).to_rfc3339()
}

/// Busy chat traffic, 2,000 connections open at a time, about 100 bytes an event.
fn write_log(path: &Path, events: usize) -> u64 {
    let mut w = BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(w, r#"{{"type":"hello","ts":"{}","protocol":1,"server":"bench","heartbeat":{{"ping_interval_ms":30000,"pong_timeout_ms":5000}}}}"#, ts(0)).unwrap();
    let mut rng = fastrand::Rng::with_seed(11);
    let (mut open, mut next, mut ms) = (Vec::new(), 0u64, 0u64);
    for _ in 0..events {
        ms += rng.u64(0..2);
        let r = rng.u32(0..100);
        if open.len() < 2000 || r < 2 {
            open.push(next);
            writeln!(w, r#"{{"type":"open","ts":"{}","conn":"c{next}","remote":"203.0.113.{}:{}","path":"/ws"}}"#, ts(ms), next % 250, 1024 + next % 60000).unwrap();
            next += 1;
        } else if r < 4 {
            let id = open.swap_remove(rng.usize(0..open.len()));
            writeln!(w, r#"{{"type":"close","ts":"{}","conn":"c{id}","code":1006,"reason":"","initiator":"none"}}"#, ts(ms)).unwrap();
        } else if r < 14 {
            let id = open[rng.usize(0..open.len())];
            writeln!(
                w,
                r#"{{"type":"pong","ts":"{}","conn":"c{id}","rtt_ms":{}.5}}"#,
                ts(ms),
                rng.u32(5..90)
            )
            .unwrap();
        } else {
            let id = open[rng.usize(0..open.len())];
            writeln!(
                w,
                r#"{{"type":"message","ts":"{}","conn":"c{id}","dir":"in","count":{},"bytes":{}}}"#,
                ts(ms),
                rng.u32(1..9),
                rng.u32(20..4000)
            )
            .unwrap();
        }
    }
    w.flush().unwrap();
    std::fs::metadata(path).unwrap().len()
}

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0.0);
    kb / 1024.0
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let dir = target_dir().join("bench-data");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("replay-1g.jsonl");
    let size = match std::fs::metadata(&path) {
        Ok(m) if m.len() > 1_000_000_000 => m.len(),
        _ => write_log(&path, 10_300_000),
    };
    let mb = size as f64 / 1e6;
    println!(
        "log: {mb:.0} MB; peak RSS before opening {:.0} MiB",
        peak_rss_mib()
    );

    let t = Instant::now();
    let log = IndexedLog::open(&path, &mut |_| {}).unwrap();
    let secs = t.elapsed().as_secs_f64();
    println!(
        "opened (indexed) in {secs:.2} s = {:.0} MB/s: {} events in {} windows",
        mb / secs,
        log.len(),
        log.windows().len()
    );
    let config = UiConfig {
        sources: vec!["replay-1g.jsonl".into()],
        ascii: false,
        rules: wscope::findings::Rules::default(),
        about: Vec::new(),
    };
    let mut dash = Dashboard::new(&config, true, Rect::new(0, 0, 120, 40));
    let now = Instant::now();
    let mut playback = Playback::new(log, Speed::Times(1.0), true, None, now);
    let t = Instant::now();
    playback.act(Action::JumpEnd, now, &mut dash);
    println!(
        "jump to the end: {:.2?}, {} open; peak RSS {:.0} MiB",
        t.elapsed(),
        dash.model.open_count(),
        peak_rss_mib()
    );
    let t = Instant::now();
    playback.act(Action::Seek(-600), now, &mut dash);
    println!("seek back 10 min: {:.2?}", t.elapsed());
    let t = Instant::now();
    playback.act(Action::JumpStart, now, &mut dash);
    println!("jump to the start: {:.2?}", t.elapsed());
    let peak = peak_rss_mib();
    println!(
        "peak RSS {peak:.0} MiB for a {mb:.0} MB log ({:.1} % of its size)",
        peak * 1.048_576 * 100.0 / mb
    );
}
