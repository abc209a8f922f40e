//! One dashboard frame at 120x40 with 1,000,000 open connections sorted by last-pong age.
//!
//! - `frame`: what every redraw costs (rows on screen are built from the cached window).
//! - `frame_after_refresh`: a redraw that also recomputes the sorted window over all
//!   connections (scrolling into another page of 128 ranks, or a sort change).
//! - `data_frame`: a frame with new data: findings, leak rows and the window recomputed
//!   (the event loop runs that part on a worker thread; `tui_keys` measures keys meanwhile).
//! - `conn_window`: the window's recomputation alone.
//! - `rank`: finding the selected connection's rank, which a frame with new data adds so the
//!   selection stays on its connection.
//!
//! `cargo bench --bench tui_frame`

use criterion::{Criterion, criterion_group};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::layout::Rect;
use std::hint::black_box;
use std::time::{Duration, Instant};
use wscope::event::{Event, EventKind, Heartbeat, Hello, Open, Ts};
use wscope::ui::conn_view::{self, ViewKey};
use wscope::ui::view::ConnColumn;
use wscope::ui::{Dashboard, UiConfig};

const CONNS: usize = 1_000_000;

fn dashboard() -> Dashboard {
    let config = UiConfig {
        sources: vec!["bench".into()],
        ascii: false,
        rules: wscope::findings::Rules::default(),
        about: Vec::new(),
    };
    let mut d = Dashboard::new(&config, false, Rect::new(0, 0, 120, 40));
    let t0 = Ts::parse("2026-11-30T01:00:00Z").unwrap();
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
    d.apply_quietly(0, &hello);
    let agents = [
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) Version/17.1 Mobile",
        "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0",
        "okhttp/4.12",
    ];
    let mut rng = fastrand::Rng::with_seed(1);
    let start = Instant::now();
    for i in 0..CONNS {
        let ts = t0.plus_nanos(i as i64 * 1_000);
        d.apply_quietly(
            0,
            &Event::new(
                ts,
                EventKind::Open(Box::new(Open {
                    conn: format!("c{i}").into(),
                    remote: Some(
                        format!("10.{}.{}.{}:4000", i >> 16 & 255, i >> 8 & 255, i & 255).into(),
                    ),
                    user_agent: Some(agents[i % 3].into()),
                    path: Some("/ws".into()),
                    ..Open::default()
                })),
            ),
        );
    }
    // Pongs spread over the last two minutes so the sort has work to do.
    let t1 = t0.plus_secs(120.0);
    for i in 0..CONNS {
        let ts = t1.plus_nanos(i as i64 * 60);
        let conn = format!("c{}", rng.usize(0..CONNS)).into();
        d.apply_quietly(
            0,
            &Event::new(
                ts,
                EventKind::Pong {
                    conn,
                    rtt_ms: Some(rng.f64() * 100.0),
                },
            ),
        );
    }
    eprintln!(
        "built {} open connections in {:.1?}",
        d.model.open_count(),
        start.elapsed()
    );
    assert_eq!(d.view.sort, ConnColumn::LastPong);
    // The once-a-second refresh while data changes: findings, leak rows and the window.
    let t = Instant::now();
    d.prepare();
    eprintln!(
        "data refresh (findings, leaks, window) at 1M: {:.1?}",
        t.elapsed()
    );
    d
}

fn bench(c: &mut Criterion) {
    let mut d = dashboard();
    let mut term = Terminal::new(TestBackend::new(120, 40)).unwrap();
    let now = Instant::now();
    // Same frame twice so the first draw's full paint is not what is measured.
    term.draw(|f| d.render(f, now)).unwrap();

    c.bench_function("frame 120x40, 1M connections by pong age", |b| {
        b.iter(|| {
            term.draw(|f| d.render(f, now)).unwrap();
        })
    });

    // Scrolling into another page of ranks forces a new window: the worst case of a frame.
    let mut down = true;
    c.bench_function("frame after refresh 120x40, 1M connections", |b| {
        b.iter(|| {
            let at = if down { 2 * conn_view::PAGE } else { 0 };
            d.view.conns.offset = at;
            d.view.conns.selected = at;
            down = !down;
            d.prepare();
            term.draw(|f| d.render(f, now)).unwrap();
        })
    });

    let key = ViewKey {
        sort: Some(ConnColumn::LastPong),
        descending: true,
        filter: String::new(),
        server: None,
        offset: 0,
        rows: 15,
    };
    c.bench_function("sorted window of 1M connections", |b| {
        b.iter(|| black_box(conn_view::build(&d.model, key.clone())))
    });

    // A frame with new data: findings, leak rows and the window recomputed from the model.
    let mut t = d.model.now();
    c.bench_function(
        "data frame 120x40, 1M connections (findings, leaks, window)",
        |b| {
            b.iter(|| {
                t = t.plus_nanos(1_000_000);
                d.advance_clock(t);
                d.prepare();
                term.draw(|f| d.render(f, now)).unwrap();
            })
        },
    );

    // What a data frame adds to keep the selection on its connection: its rank.
    let followed = d
        .model
        .conns
        .iter()
        .nth(CONNS / 2)
        .map(|c| (c.server, c.id.to_string()));
    let (server, id) = followed.expect("connections");
    c.bench_function("rank of the selected connection among 1M", |b| {
        b.iter(|| black_box(conn_view::rank_of(&d.model, &key, server, &id)))
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(Duration::from_secs(5));
    targets = bench
}
fn main() {
    // `cargo test --all-targets` runs benches without --bench: building a million connections
    // in a debug build there is not worth it.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
