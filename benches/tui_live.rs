//! The live path with the dashboard drawing: events arrive over the same tokio channel a
//! feed uses, the consumer drains them as the event loop does (`ui::drain`) and draws a
//! 120x40 frame every `FRAME_INTERVAL`. Prints events per second; the target is 200,000.
//!
//! `cargo bench --bench tui_live`

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::layout::Rect;
use std::time::Instant;
use tokio::sync::mpsc;
use wscope::event::{Close, Dir, Event, EventKind, Heartbeat, Hello, Initiator, Message, Open, Ts};
use wscope::source::SourceMsg;
use wscope::source::log_index::IndexedLog;
use wscope::ui::playback::Playback;
use wscope::ui::player::Speed;
use wscope::ui::view::Action;
use wscope::ui::{self, Dashboard, UiConfig};

const OPEN: usize = 100_000;
const EVENTS: usize = 4_000_000;

fn open(i: usize, ts: Ts) -> Event {
    Event::new(
        ts,
        EventKind::Open(Box::new(Open {
            conn: format!("c{i}").into(),
            remote: Some(format!("10.0.{}.{}:5000", (i >> 8) & 255, i & 255).into()),
            user_agent: Some("Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0".into()),
            path: Some("/ws".into()),
            ..Open::default()
        })),
    )
}

/// A busy server's traffic: pings, pongs and messages on open connections, and some churn.
fn traffic(t0: Ts) -> Vec<Event> {
    let mut rng = fastrand::Rng::with_seed(3);
    let mut next_id = OPEN;
    let mut live: Vec<usize> = (0..OPEN).collect();
    let mut out = Vec::with_capacity(EVENTS);
    for n in 0..EVENTS {
        // 200,000 events per second of event time.
        let ts = t0.plus_nanos(n as i64 * 5_000);
        let slot = rng.usize(0..live.len());
        let conn = format!("c{}", live[slot]).into();
        let kind = match rng.u32(0..100) {
            0 => {
                let ev = EventKind::Close(Close {
                    conn,
                    code: Some(1006),
                    reason: None,
                    initiator: Some(Initiator::None),
                });
                live[slot] = next_id;
                out.push(Event::new(ts, ev));
                out.push(open(next_id, ts));
                next_id += 1;
                continue;
            }
            1..=30 => EventKind::Ping { conn },
            31..=60 => EventKind::Pong {
                conn,
                rtt_ms: Some(20.0),
            },
            _ => EventKind::Message(Message {
                conn,
                dir: if rng.bool() { Dir::In } else { Dir::Out },
                count: 1,
                bytes: 200,
            }),
        };
        out.push(Event::new(ts, kind));
    }
    out
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --all-targets` does not: run only for real.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let t0 = Ts::parse("2026-11-30T01:00:00Z").unwrap();
    let config = UiConfig {
        sources: vec!["bench".into()],
        ascii: false,
        rules: wscope::findings::Rules::default(),
        about: Vec::new(),
    };
    let mut dash = Dashboard::new(&config, false, Rect::new(0, 0, 120, 40));
    let mut hello = Event::new(
        t0,
        EventKind::Hello(Hello {
            protocol: Some(1),
            software: None,
            heartbeat: Some(Heartbeat {
                ping_interval_ms: 30_000,
                pong_timeout_ms: 5_000,
            }),
            history: None,
        }),
    );
    hello.server = Some("bench-1".into());
    dash.apply(0, &hello);
    for i in 0..OPEN {
        dash.apply(0, &open(i, t0));
    }
    let events = traffic(t0.plus_secs(1.0));
    let total = events.len();
    let mut log: Vec<Event> = vec![hello.clone()];
    log.extend((0..OPEN).map(|i| open(i, t0)));
    log.extend(events.iter().cloned());
    let mut term = Terminal::new(TestBackend::new(120, 40)).unwrap();

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (tx, mut rx) = mpsc::channel::<SourceMsg>(65_536);
    let producer = std::thread::spawn(move || {
        for event in events {
            if tx.blocking_send(SourceMsg::event(0, event)).is_err() {
                return;
            }
        }
    });
    let start = Instant::now();
    let mut frames = 0u32;
    let mut last_draw = start;
    let mut draw_time = std::time::Duration::ZERO;
    rt.block_on(async {
        while let Some(msg) = rx.recv().await {
            dash.apply_msg(msg);
            ui::drain(&mut rx, &mut dash);
            let now = Instant::now();
            if now.duration_since(last_draw) >= ui::FRAME_INTERVAL {
                dash.prepare();
                term.draw(|f| dash.render(f, now)).unwrap();
                draw_time += now.elapsed();
                frames += 1;
                last_draw = now;
            }
        }
    });
    producer.join().unwrap();
    let secs = start.elapsed().as_secs_f64();
    println!(
        "live path: {total} events in {secs:.2} s = {:.0} events/s with {frames} frames drawn \
         ({:.1} ms per frame incl. prepare); {} open at the end",
        total as f64 / secs,
        draw_time.as_secs_f64() * 1e3 / frames.max(1) as f64,
        dash.model.open_count()
    );

    // Replay seeking over the same traffic as a log: to the end (every event applied once,
    // checkpoints taken on the way), then 10 s back (from the nearest checkpoint).
    let n = log.len();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("live.jsonl");
    let mut text = String::new();
    for ev in &log {
        text.push_str(&wscope::event::to_json_line(ev));
        text.push('\n');
    }
    std::fs::write(&path, text).unwrap();
    let indexed = IndexedLog::open(&path, &mut |_| {}).unwrap();
    let mut replay = Dashboard::new(&config, true, Rect::new(0, 0, 120, 40));
    let now = Instant::now();
    let mut playback = Playback::new(indexed, Speed::Times(1.0), true, None, now);
    let t = Instant::now();
    playback.act(Action::JumpEnd, now, &mut replay);
    let forward = t.elapsed();
    let t = Instant::now();
    playback.act(Action::Seek(-10), now, &mut replay);
    let back = t.elapsed();
    println!(
        "replay of {n} events: jump to end {forward:.2?} ({:.1} M events/s), \
         seek back 10 s {back:.2?}",
        n as f64 / forward.as_secs_f64() / 1e6
    );
}
