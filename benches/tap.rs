//! The tap's costs, printed as figures (`cargo bench --bench tap`):
//!
//! 1. An echo server with N clients, without the tap and with the tap plus one subscriber
//!    attached over the admin feed, measured side by side in rotating rounds: messages per
//!    second, and the server threads' CPU time per message (less sensitive to other load
//!    on the machine; "capacity" is the no-tap CPU per message over this one's).
//! 2. The cost of one emitted event (with no subscriber, with one, with one whose queue is
//!    full) and of counting one message on the hot path.
//! 3. Memory per open connection in the tap, counted by the allocator.
//!
//! Environment: `TAP_BENCH_CLIENTS` (default 64), `TAP_BENCH_SECS` per round (default 3),
//! `TAP_BENCH_ROUNDS` (default 3).

use futures_util::{SinkExt, StreamExt};
use std::alloc::{GlobalAlloc, Layout, System};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;
use wscope::event::{Open, Str};
use wscope::tap::{HeartbeatPolicy, HistoryLimits, Tap, TapBuilder};

/// Counts live heap bytes, for the memory figure.
struct Counting;
static LIVE: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LIVE.fetch_add(l.size(), Ordering::Relaxed);
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size(), Ordering::Relaxed);
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        LIVE.fetch_add(new, Ordering::Relaxed);
        LIVE.fetch_sub(l.size(), Ordering::Relaxed);
        unsafe { System.realloc(p, l, new) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// An echo server; with `tap`, through the tap (heartbeat on, as a real server would run it).
async fn echo_server(tap: Option<Tap>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (tcp, peer) = listener.accept().await.unwrap();
            tcp.set_nodelay(true).unwrap();
            let tap = tap.clone();
            tokio::spawn(async move {
                match tap {
                    Some(tap) => {
                        let Ok(ws) = tap.accept(tcp, Some(peer)).await else {
                            return;
                        };
                        echo(ws).await;
                    }
                    None => {
                        let Ok(ws) = tokio_tungstenite::accept_async(tcp).await else {
                            return;
                        };
                        echo(ws).await;
                    }
                }
            });
        }
    });
    addr
}

async fn echo<S>(ws: S)
where
    S: futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>>
        + futures_util::Sink<Message>
        + Unpin,
{
    let (mut tx, mut rx) = ws.split();
    while let Some(Ok(msg)) = rx.next().await {
        if (msg.is_text() || msg.is_binary()) && tx.send(msg).await.is_err() {
            break;
        }
    }
}

/// The name of the server runtime's threads, whose CPU time is measured.
const SERVER_THREADS: &str = "bench-server";

/// CPU seconds (user + system) used so far by this process's threads named `name`, from
/// /proc (clock ticks of 10 ms; rounds of seconds make that fine enough).
fn threads_cpu_secs(name: &str) -> f64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return f64::NAN;
    };
    let mut ticks = 0u64;
    for task in tasks.flatten() {
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        if comm.trim() != name {
            continue;
        }
        let stat = std::fs::read_to_string(task.path().join("stat")).unwrap_or_default();
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .map(|(_, r)| r.split_whitespace().collect())
            .unwrap_or_default();
        ticks += fields
            .get(11)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
        ticks += fields
            .get(12)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
    }
    ticks as f64 / 100.0
}

/// Messages echoed per second by `clients` clients, each keeping a window of messages in
/// flight, and the server's CPU time per message in microseconds.
async fn load(addr: SocketAddr, clients: u64, secs: u64) -> (f64, f64) {
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (stop, done) = (stop.clone(), done.clone());
        let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/"))
            .await
            .unwrap();
        tasks.push(tokio::spawn(async move {
            let (mut tx, mut rx) = ws.split();
            let window = 8;
            let payload = "x".repeat(64);
            while !stop.load(Ordering::Relaxed) {
                for _ in 0..window {
                    tx.feed(Message::text(payload.clone())).await.unwrap();
                }
                tx.flush().await.unwrap();
                for _ in 0..window {
                    rx.next().await.unwrap().unwrap();
                }
                done.fetch_add(window, Ordering::Relaxed);
            }
            let _ = tx.close().await;
        }));
    }
    // Warm up, then measure.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let start_count = done.load(Ordering::Relaxed);
    let start_cpu = threads_cpu_secs(SERVER_THREADS);
    let start = Instant::now();
    tokio::time::sleep(Duration::from_secs(secs)).await;
    let n = done.load(Ordering::Relaxed) - start_count;
    let cpu = threads_cpu_secs(SERVER_THREADS) - start_cpu;
    let rate = n as f64 / start.elapsed().as_secs_f64();
    let cpu_us_per_msg = cpu * 1e6 / n.max(1) as f64;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        let _ = t.await;
    }
    (rate, cpu_us_per_msg)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn echo_benchmark() {
    let clients = env("TAP_BENCH_CLIENTS", 64);
    let secs = env("TAP_BENCH_SECS", 3);
    let rounds = env("TAP_BENCH_ROUNDS", 3);
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name(SERVER_THREADS)
        .enable_all()
        .build()
        .unwrap();
    let client_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let heartbeat = HeartbeatPolicy::new(Duration::from_secs(30), Duration::from_secs(10));
    let admin = server_rt.block_on(async {
        Tap::builder()
            .heartbeat(Some(heartbeat))
            .admin_addr("127.0.0.1:0".parse().unwrap())
            .token("bench")
            .spawn()
            .await
            .unwrap()
    });
    let tap = admin.tap();
    let bare_tap = server_rt.block_on(async {
        Tap::builder()
            .heartbeat(None)
            .without_admin()
            .spawn()
            .await
            .unwrap()
            .tap()
    });
    let (plain, tapped, bare) = server_rt.block_on(async {
        (
            echo_server(None).await,
            echo_server(Some(tap.clone())).await,
            echo_server(Some(bare_tap.clone())).await,
        )
    });
    // One subscriber on the admin feed, reading everything.
    let received = Arc::new(AtomicU64::new(0));
    let url = format!("{}?token=bench", admin.admin_url().unwrap());
    let r = received.clone();
    client_rt.spawn(async move {
        let (mut feed, _) = tokio_tungstenite::connect_async(url).await.unwrap();
        while let Some(Ok(_)) = feed.next().await {
            r.fetch_add(1, Ordering::Relaxed);
        }
    });
    let variants = [
        ("no tap", plain),
        ("tap + 1 subscriber", tapped),
        ("tap, no heartbeat, no subscriber", bare),
    ];
    let mut rates: Vec<Vec<f64>> = vec![Vec::new(); variants.len()];
    let mut cpu: Vec<Vec<f64>> = vec![Vec::new(); variants.len()];
    for round in 0..rounds as usize {
        // Rotate the order so drift in the machine's load hits every variant alike.
        for k in 0..variants.len() {
            let v = (round + k) % variants.len();
            let (name, addr) = variants[v];
            let (rate, us) = client_rt.block_on(load(addr, clients, secs));
            rates[v].push(rate);
            cpu[v].push(us);
            println!("  round {round}: {name:<34} {rate:>10.0} msg/s  {us:>6.2} us server CPU/msg");
        }
    }
    let (base_rate, base_cpu) = (median(rates[0].clone()), median(cpu[0].clone()));
    println!("echo, {clients} clients, {secs} s x {rounds} rounds (medians):");
    println!(
        "  {:<34} {:>10}  {:>8}  {:>12}  {:>16}",
        "", "msg/s", "% of no tap", "server CPU/msg", "capacity vs no tap"
    );
    for (v, (name, _)) in variants.iter().enumerate() {
        let (m, c) = (median(rates[v].clone()), median(cpu[v].clone()));
        println!(
            "  {name:<34} {m:>10.0}  {:>10.1} %  {c:>11.2} us  {:>15.1} %",
            m * 100.0 / base_rate,
            base_cpu * 100.0 / c
        );
    }
    // Each round's pair, so that load drift between rounds cancels out.
    let mut ratios: Vec<f64> = rates[1].iter().zip(&rates[0]).map(|(t, p)| t / p).collect();
    ratios.sort_by(|a, b| a.total_cmp(b));
    println!(
        "  tap + 1 subscriber / no tap, paired per round: median {:.1} % of msg/s",
        ratios[ratios.len() / 2] * 100.0
    );
    println!(
        "  feed events received by the subscriber: {}, dropped: {}",
        received.load(Ordering::Relaxed),
        tap.feed_dropped_total()
    );
    drop(admin);
    client_rt.shutdown_background();
    server_rt.shutdown_background();
}

fn per_event_benchmark(n: u32) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let _guard = rt.enter();
    let quiet = || {
        Tap::builder()
            .process_interval(None)
            .heartbeat(None)
            .subscriber_queue(2_000_000)
            .history(None)
            .without_admin()
    };
    let spawn = |b: TapBuilder| rt.block_on(b.spawn()).unwrap().tap();
    let time = |tap: &Tap| {
        let conn = tap.open(Open::default());
        let t = Instant::now();
        for _ in 0..n {
            conn.ping_sent();
        }
        t.elapsed().as_nanos() as f64 / n as f64
    };
    let tap = spawn(quiet());
    // Warm-up: first-touch page faults and lazy initialisation would otherwise land on the
    // first figure.
    time(&spawn(quiet()));
    let none = time(&tap);
    let kept = time(&spawn(quiet().history(Some(HistoryLimits::default()))));
    let mut sub = tap.subscribe();
    let one = time(&tap);
    let mut drained = 0;
    while sub.try_recv().is_some() {
        drained += 1;
    }
    assert!(drained >= n);
    let full_tap = spawn(quiet().subscriber_queue(16));
    let _stalled = full_tap.subscribe();
    let full = time(&full_tap);
    let handle = tap.open(Open {
        conn: Str::default(),
        ..Open::default()
    });
    let t = Instant::now();
    for _ in 0..n {
        handle.message_in(64);
    }
    let msg = t.elapsed().as_nanos() as f64 / n as f64;
    println!("cost per emitted event ({n} pings):");
    println!("  no subscriber          {none:>7.0} ns");
    println!(
        "  no subscriber, history {kept:>7.0} ns  (kept for late subscribers, 10 min / 64 MiB)"
    );
    println!("  1 subscriber           {one:>7.0} ns");
    println!(
        "  1 stalled subscriber   {full:>7.0} ns  (queue full: the event is counted as dropped)"
    );
    println!(
        "  message_in (hot path)  {msg:>7.1} ns  (counted; flushed as one `message` event per 250 ms)"
    );
}

/// Heap bytes per open connection (and per timer), without and with the history of what
/// they emitted.
fn memory_benchmark() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let _guard = rt.enter();
    println!("memory in the tap per open connection (10000 connections, heap bytes):");
    for (label, history) in [
        ("", None),
        (", history kept", Some(HistoryLimits::default())),
    ] {
        let builder = Tap::builder()
            .process_interval(None)
            .history(history)
            .without_admin();
        let tap = rt.block_on(builder.spawn()).unwrap().tap();
        let n = 10_000;
        let before = LIVE.load(Ordering::Relaxed);
        let handles: Vec<_> = (0..n)
            .map(|i| {
                tap.open(Open {
                    conn: Str::default(),
                    remote: Some(Str::from(format!(
                        "203.0.113.{}:{}",
                        i % 250,
                        40000 + i % 20000
                    ))),
                    user_agent: Some(Str::from(
                        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15",
                    )),
                    path: Some(Str::from("/ws")),
                    forwarded_for: Some(Str::from(format!("198.51.100.{}", i % 250))),
                    client: None,
                    subprotocol: None,
                })
            })
            .collect();
        let after = LIVE.load(Ordering::Relaxed);
        let timers: Vec<_> = handles
            .iter()
            .map(|h| h.timer("heartbeat", Some(Duration::from_secs(30))))
            .collect();
        let with_timers = LIVE.load(Ordering::Relaxed);
        println!(
            "  connection (state + handle{label})   {:>6} B",
            (after - before) / n
        );
        println!(
            "  plus one timer each{label}           {:>6} B",
            (with_timers - after) / n
        );
        drop(timers);
        drop(handles);
    }
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs it with no flag, as a
    // smoke test: keep that short.
    let full = std::env::args().any(|a| a == "--bench");
    per_event_benchmark(if full { 1_000_000 } else { 10_000 });
    memory_benchmark();
    if full {
        echo_benchmark();
    }
}
