//! `cargo bench --bench capture_throughput`: how fast `wscope report` reads a packet capture.
//!
//! A pcap of about 600 MB: 4,000 busy WebSocket connections (messages mostly of 20 to 300 B,
//! one in ten up to 4 KiB, in both directions, client frames masked, pings and pongs, some messages split over segments,
//! churn with close handshakes and resets), written with the project's synthetic packets.
//! `wscope report FILE` (the release binary) is timed, best of 3, beside `wc -l` and
//! `tshark -r FILE -q -z io,stat,0` when tshark is there (one run: it is slow).

use std::io::BufWriter;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;
use wscope::event::Ts;
use wscope::source::capture::synth::{PcapWriter, Wire, close_payload, frame};

const TARGET_BYTES: u64 = 600_000_000;
const CONNECTIONS: usize = 4_000;

fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().and_then(Path::parent).unwrap().to_path_buf()
}

fn write_capture(path: &Path) -> u64 {
    let file = BufWriter::with_capacity(1 << 20, std::fs::File::create(path).unwrap());
    let mut out = PcapWriter::new(file).unwrap();
    let mut rng = fastrand::Rng::with_seed(9);
    let server: SocketAddr = "10.1.0.1:8080".parse().unwrap();
    let start = Ts(1_780_000_000_000_000_000);
    let mut next_client = 0u32;
    let mut new_wire = |ts: Ts, out: &mut PcapWriter<_>| {
        next_client += 1;
        let client = SocketAddr::new(
            std::net::Ipv4Addr::from(0x0a02_0000 + next_client / 50_000).into(),
            (10_000 + next_client % 50_000) as u16,
        );
        let mut w = Wire::new(client, server, ts);
        for p in w.handshake("/ws", 101) {
            out.write(&p).unwrap();
        }
        w
    };
    let mut wires: Vec<Wire> = (0..CONNECTIONS)
        .map(|_| new_wire(start, &mut out))
        .collect();
    let mut written = 0u64;
    let mut now = start;
    let payload = vec![b'x'; 4096];
    while written < TARGET_BYTES {
        now = now.plus_nanos(20_000);
        let i = rng.usize(0..wires.len());
        let w = &mut wires[i];
        w.ts = now;
        let r = rng.u32(0..1000);
        let packet = if r < 2 {
            // Churn: a close handshake or a reset, and a new connection in its place.
            let code = if r == 0 { 1000 } else { 1001 };
            let c = frame(8, true, Some([1, 2, 3, 4]), &close_payload(code, ""));
            out.write(&w.send(true, &c)).unwrap();
            out.write(&w.send(false, &frame(8, true, None, &close_payload(code, ""))))
                .unwrap();
            let last = w.fin(false);
            wires[i] = new_wire(now, &mut out);
            last
        } else if r < 3 {
            let last = w.rst(false);
            wires[i] = new_wire(now, &mut out);
            last
        } else if r < 40 {
            out.write(&w.send(false, &frame(9, true, None, b"hb")))
                .unwrap();
            w.send(true, &frame(10, true, Some([5, 6, 7, 8]), b"hb"))
        } else {
            // Mostly chat-sized messages, some large ones.
            let len = if rng.u32(0..10) == 0 {
                300 + rng.usize(0..3796)
            } else {
                20 + rng.usize(0..280)
            };
            let from_client = rng.bool();
            let mask = from_client.then_some([rng.u8(..), 7, 1, 3]);
            let f = frame(if rng.bool() { 1 } else { 2 }, true, mask, &payload[..len]);
            if len > 1400 {
                // Split over two segments, as a 1,500-byte MTU would.
                let (a, b) = f.split_at(1400);
                out.write(&w.send(from_client, a)).unwrap();
                w.send(from_client, b)
            } else {
                w.send(from_client, &f)
            }
        };
        out.write(&packet).unwrap();
        written = out.bytes();
    }
    drop(out.into_inner());
    std::fs::metadata(path).unwrap().len()
}

fn time(cmd: &mut Command) -> f64 {
    let t = Instant::now();
    let out = cmd.output().expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    t.elapsed().as_secs_f64()
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` passes nothing: run only for real.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let dir = tempfile::tempdir_in(target_dir()).unwrap();
    // WSCOPE_BENCH_KEEP=FILE keeps the capture there (to profile against it).
    let path = std::env::var_os("WSCOPE_BENCH_KEEP")
        .map(PathBuf::from)
        .unwrap_or_else(|| dir.path().join("busy.pcap"));
    let t = Instant::now();
    let size = write_capture(&path);
    let mb = size as f64 / 1e6;
    println!(
        "capture: {mb:.0} MB, {CONNECTIONS} connections at a time, written in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let wscope = target_dir().join("wscope");
    let best = (0..3)
        .map(|_| time(Command::new(&wscope).arg("report").arg(&path)))
        .fold(f64::INFINITY, f64::min);
    println!(
        "wscope report: {:.2} s best of 3 = {:.0} MB/s (target: 300 MB/s)",
        best,
        mb / best
    );
    let wc = time(Command::new("wc").arg("-l").arg(&path));
    println!("wc -l: {wc:.2} s = {:.0} MB/s", mb / wc);
    if Command::new("tshark").arg("--version").output().is_ok() {
        let shark =
            time(
                Command::new("tshark")
                    .args(["-r"])
                    .arg(&path)
                    .args(["-q", "-z", "io,stat,0"]),
            );
        println!(
            "tshark -q -z io,stat,0 (no dissection output): {shark:.2} s = {:.0} MB/s",
            mb / shark
        );
    }
    // Peak memory: a capture is read a buffer at a time, whatever its size.
    let out = Command::new("/usr/bin/time")
        .arg("-v")
        .arg(&wscope)
        .arg("report")
        .arg(&path)
        .output();
    match out {
        Ok(out) => {
            let err = String::from_utf8_lossy(&out.stderr);
            for line in err.lines() {
                if line.starts_with("capture:") {
                    println!("{line}");
                }
                if let Some(kb) = line
                    .trim()
                    .strip_prefix("Maximum resident set size (kbytes): ")
                {
                    println!(
                        "peak RSS of wscope report: {:.0} MiB",
                        kb.parse::<f64>().unwrap_or(0.0) / 1024.0
                    );
                }
            }
        }
        Err(_) => println!("peak RSS: not measured (/usr/bin/time missing: apt-get install time)"),
    }
}
