//! `cargo bench --bench feed_throughput`: how many events a live feed can carry into wscope.
//!
//! A loopback tokio-tungstenite server sends 500,000 typical event frames (~110 bytes: messages,
//! pings, pongs, opens and closes) as fast as the socket takes them. Measured: the feed source
//! alone (frames parsed into events, delivered through the channel), and the source feeding the
//! model as `wscope attach --headless` does. Best of three runs each.

use futures_util::SinkExt;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;
use wscope::source::SourceMsg;
use wscope::source::feed::{self, FeedOptions};

const EVENTS: usize = 500_000;

fn frames() -> Vec<String> {
    let mut out = Vec::with_capacity(EVENTS + 2);
    out.push(r#"{"type":"hello","ts":"2026-11-30T01:00:00Z","protocol":1,"server":"bench","heartbeat":{"ping_interval_ms":30000,"pong_timeout_ms":5000}}"#.to_string());
    out.push(
        r#"{"type":"snapshot","ts":"2026-11-30T01:00:00Z","connections":[],"timers":[]}"#
            .to_string(),
    );
    let mut rng = fastrand::Rng::with_seed(3);
    let mut open: Vec<u64> = Vec::new();
    let mut next = 0u64;
    for i in 0..EVENTS {
        let ts = wscope::event::Ts(1_795_996_800_000_000_000 + i as i64 * 100_000);
        let r = rng.u32(0..100);
        let frame = if open.len() < 1000 || r < 3 {
            next += 1;
            open.push(next);
            format!(
                r#"{{"type":"open","ts":"{ts}","conn":"c{next}","remote":"203.0.113.7:51234","path":"/ws"}}"#
            )
        } else if r < 6 {
            let c = open.swap_remove(rng.usize(..open.len()));
            format!(
                r#"{{"type":"close","ts":"{ts}","conn":"c{c}","code":1000,"reason":"","initiator":"client"}}"#
            )
        } else {
            let c = open[rng.usize(..open.len())];
            match r % 3 {
                0 => format!(r#"{{"type":"ping","ts":"{ts}","conn":"c{c}"}}"#),
                1 => format!(r#"{{"type":"pong","ts":"{ts}","conn":"c{c}","rtt_ms":12.5}}"#),
                _ => format!(
                    r#"{{"type":"message","ts":"{ts}","conn":"c{c}","dir":"in","count":3,"bytes":412}}"#
                ),
            }
        };
        out.push(frame);
    }
    out
}

/// Serves `frames` to one subscriber; returns its URL.
async fn serve(frames: Vec<String>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
        for f in frames {
            ws.feed(Message::text(f)).await.unwrap();
        }
        ws.flush().await.unwrap();
        // Stay up until the reader is done.
        tokio::time::sleep(Duration::from_secs(60)).await;
    });
    url
}

async fn run(frames: Vec<String>, with_model: bool) -> (Duration, usize) {
    let bytes: usize = frames.iter().map(String::len).sum();
    let want = frames.len();
    let url = serve(frames).await;
    let (_feeds, mut rx) = feed::spawn(&[url], FeedOptions::default()).unwrap();
    let mut model = wscope::findings::Rules::default().model();
    let mut got = 0;
    let mut started = None;
    while got < want {
        match rx.recv().await.unwrap() {
            SourceMsg::Event { source, event, .. } => {
                started.get_or_insert_with(Instant::now);
                if with_model {
                    model.apply(source, &event);
                }
                got += 1;
            }
            SourceMsg::Skipped { why, .. } => panic!("{why}"),
            SourceMsg::State { .. } => {}
        }
    }
    (started.unwrap().elapsed(), bytes)
}

fn main() {
    // `cargo test --benches` runs this with --bench absent: keep that quick.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let frames = frames();
    for (name, with_model) in [("feed source", false), ("feed source + model", true)] {
        let mut best = Duration::MAX;
        let mut bytes = 0;
        for _ in 0..3 {
            let (took, b) = rt.block_on(run(frames.clone(), with_model));
            best = best.min(took);
            bytes = b;
        }
        let secs = best.as_secs_f64();
        println!(
            "{name}: {} events ({:.1} MB) in {:.3} s: {:.0} events/s, {:.1} MB/s",
            frames.len(),
            bytes as f64 / 1e6,
            secs,
            frames.len() as f64 / secs,
            bytes as f64 / 1e6 / secs
        );
    }
}
