//! The capture source against real traffic: a plain Node.js `ws` server and clients (no wscope
//! code) on loopback, captured by tcpdump (pcap) and dumpcap (pcapng) at once; wscope's frames
//! compared with tshark's WebSocket dissector, its close codes with what the peer saw.

mod common;

use common::capture::{Capturer, run_peer, run_peer_via, tools_available, tshark_frames, wscope};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::OnceLock;
use wscope::event::Dir;
use wscope::source::capture::trace_frames;

struct Captured {
    _dir: tempfile::TempDir,
    pcap: PathBuf,
    pcapng: PathBuf,
    port: u16,
    truth: Value,
}

/// One run of the peer, captured twice; shared by the tests of this file.
fn captured() -> Option<&'static Captured> {
    tools_available()?;
    static CAPTURED: OnceLock<Captured> = OnceLock::new();
    Some(CAPTURED.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let port = common::free_port();
        let pcap = dir.path().join("peer.pcap");
        let pcapng = dir.path().join("peer.pcapng");
        let tcpdump = Capturer::tcpdump(port, &pcap);
        let dumpcap = Capturer::dumpcap(port, &pcapng);
        let truth = run_peer(port);
        tcpdump.stop();
        dumpcap.stop();
        Captured {
            _dir: dir,
            pcap,
            pcapng,
            port,
            truth,
        }
    }))
}

fn report_json(file: &str) -> Value {
    let out = wscope(&["report", file, "--format", "json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Close codes the peer's server saw, counted.
fn true_codes(truth: &Value) -> BTreeMap<String, u64> {
    let mut codes = BTreeMap::new();
    for c in truth["closes"].as_array().unwrap() {
        *codes.entry(c["code"].to_string()).or_default() += 1;
    }
    codes
}

fn codes_of(report: &Value) -> BTreeMap<String, u64> {
    report["close_codes"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_u64().unwrap()))
        .collect()
}

#[test]
fn the_report_of_a_capture_says_what_the_server_saw() {
    let Some(c) = captured() else { return };
    let r = report_json(c.pcap.to_str().unwrap());
    assert_eq!(r["connections"]["opened"], c.truth["opens"]);
    assert_eq!(r["connections"]["closed"], c.truth["opens"]);
    assert_eq!(codes_of(&r), true_codes(&c.truth));
    assert_eq!(r["upgrade_rejected"]["403"], c.truth["rejected"]);
    let by = &r["close_codes_by_initiator"];
    assert_eq!(by["4001"]["server"], 1, "{by}");
    assert_eq!(by["1000"]["client"], 1, "{by}");
    assert_eq!(by["1001"]["client"], 1, "{by}");
    assert_eq!(by["1006"]["none"], 2, "{by}");
    assert_eq!(r["contradictions"], 0);
    let servers = r["servers"].as_object().expect("servers by name");
    let name = format!("127.0.0.1:{}", c.port);
    assert_eq!(servers.keys().collect::<Vec<_>>(), [&name], "{servers:?}");
    assert_eq!(servers[&name]["connections"], r["connections"]);
}

#[test]
fn frames_are_the_ones_tshark_sees() {
    let Some(c) = captured() else { return };
    type Key = (u16, bool);
    let mut ours: BTreeMap<Key, Vec<(u8, bool, u64)>> = BTreeMap::new();
    let file = std::fs::File::open(&c.pcap).unwrap();
    for f in trace_frames(file).unwrap() {
        let port: u16 = f.client.rsplit(':').next().unwrap().parse().unwrap();
        ours.entry((port, f.dir == Dir::In))
            .or_default()
            .push((f.opcode, f.fin, f.len));
    }
    let mut theirs: BTreeMap<Key, Vec<(u8, bool, u64)>> = BTreeMap::new();
    for f in tshark_frames(&c.pcap, c.port, false) {
        theirs
            .entry((f.client_port, f.from_client))
            .or_default()
            .push((f.opcode, f.fin, f.len));
    }
    assert!(theirs.len() >= 10, "tshark saw too little: {theirs:?}");
    for (key, frames) in &theirs {
        let mine = ours.get(key).map(Vec::as_slice).unwrap_or_default();
        let first_difference = mine.iter().zip(frames).position(|(a, b)| a != b);
        assert!(
            mine.len() == frames.len() && first_difference.is_none(),
            "connection {key:?}: {} frames against tshark's {}, first difference at {first_difference:?}",
            mine.len(),
            frames.len()
        );
    }
    assert_eq!(ours.len(), theirs.len());
}

#[test]
fn pcapng_from_dumpcap_gives_the_same_report() {
    let Some(c) = captured() else { return };
    let a = report_json(c.pcap.to_str().unwrap());
    let b = report_json(c.pcapng.to_str().unwrap());
    for field in [
        "connections",
        "close_codes",
        "upgrade_rejected",
        "close_codes_by_initiator",
    ] {
        assert_eq!(a[field], b[field], "{field}");
    }
}

#[test]
fn a_capture_is_known_by_its_bytes_on_stdin_and_under_any_name() {
    let Some(c) = captured() else { return };
    let dir = tempfile::tempdir().unwrap();
    let renamed = dir.path().join("traffic.jsonl");
    std::fs::copy(&c.pcap, &renamed).unwrap();
    let a = report_json(renamed.to_str().unwrap());
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_wscope"))
        .args(["report", "-", "--format", "json"])
        .stdin(std::fs::File::open(&c.pcapng).unwrap())
        .output()
        .unwrap();
    assert!(out.status.success());
    let b: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(a["close_codes"], b["close_codes"]);
    assert_eq!(codes_of(&a), true_codes(&c.truth));
}

#[test]
fn a_capture_started_mid_connection_lists_them_as_open_and_closes_them_right() {
    let Some(c) = captured() else { return };
    // The frame number of the last 101: everything up to it is cut off.
    let out = std::process::Command::new("tshark")
        .args([
            "-r",
            c.pcap.to_str().unwrap(),
            "-Y",
            "http.response.code == 101",
        ])
        .args(["-T", "fields", "-e", "frame.number"])
        .stderr(std::process::Stdio::null())
        .output()
        .unwrap();
    let last_101: u64 = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .max()
        .expect("a 101 in the capture");
    let dir = tempfile::tempdir().unwrap();
    let cut = dir.path().join("joined.pcap");
    let status = std::process::Command::new("editcap")
        .args(["-r", c.pcap.to_str().unwrap(), cut.to_str().unwrap()])
        .arg(format!("{}-{}", last_101 + 1, u32::MAX))
        .status()
        .expect("editcap (part of tshark's packages)");
    assert!(status.success());
    let r = report_json(cut.to_str().unwrap());
    // None of them is a new connection, yet every close is known and right.
    let brief = format!(
        "{} {} {}",
        r["connections"], r["close_codes"], r["contradictions"]
    );
    assert_eq!(r["connections"]["opened"], 0, "{brief}");
    assert_eq!(codes_of(&r), true_codes(&c.truth), "{brief}");
    assert_eq!(r["contradictions"], 0, "{brief}");
}

#[test]
fn truncated_and_corrupt_captures_say_so_and_keep_what_came_before() {
    let Some(c) = captured() else { return };
    let bytes = std::fs::read(&c.pcap).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let short = dir.path().join("short.pcap");
    std::fs::write(&short, &bytes[..bytes.len() - 7]).unwrap();
    let out = wscope(&["report", short.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("cut short"), "{err}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("CLOSE CODES"));

    // A record header claiming 2 GiB, a third of the way in.
    let mut corrupt = bytes.clone();
    let mut at = 24;
    while at < bytes.len() / 3 {
        at += 16 + u32::from_le_bytes(bytes[at + 8..at + 12].try_into().unwrap()) as usize;
    }
    corrupt[at + 8..at + 12].copy_from_slice(&0x8000_0000u32.to_le_bytes());
    let bad = dir.path().join("corrupt.pcap");
    std::fs::write(&bad, &corrupt).unwrap();
    let out = wscope(&["report", bad.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("corrupt"), "{err}");
    assert!(!err.contains("panick"), "{err}");
}

#[test]
fn behind_nginx_the_backend_capture_sees_the_proxy_and_its_missing_upgrade_header() {
    if tools_available().is_none() {
        return;
    }
    let backend = common::free_port();
    let front = common::free_port();
    let servers = |_: &std::path::Path| {
        format!(
            r#"
    server {{
        listen 127.0.0.1:{front};
        location /ws {{
            proxy_pass http://127.0.0.1:{backend};
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection "upgrade";
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        }}
        location /bad/ {{
            proxy_pass http://127.0.0.1:{backend}/;
            proxy_http_version 1.1;
        }}
    }}
"#
        )
    };
    let Some(_nginx) = common::nginx::Nginx::start(servers, &[front]) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("backend.pcap");
    // On the backend's side of the proxy, where the traffic is plain.
    let capture = Capturer::tcpdump(backend, &pcap);
    let truth = run_peer_via(backend, front);
    capture.stop();
    let r = report_json(pcap.to_str().unwrap());
    let brief = format!(
        "{} {} {}",
        r["connections"], r["close_codes"], r["upgrade_rejected"]
    );
    assert_eq!(r["connections"]["opened"], truth["opens"], "{brief}");
    assert_eq!(codes_of(&r), true_codes(&truth), "{brief}");
    // The server refused the request nginx passed on without its Upgrade header.
    assert_eq!(r["upgrade_rejected"]["426"], 1, "{brief}");
    assert_eq!(r["upgrade_rejected"]["403"], 1, "{brief}");
    assert_eq!(r["contradictions"], 0);
    let servers = r["servers"].as_object().expect("servers by name");
    assert!(
        servers.contains_key(&format!("127.0.0.1:{backend}")),
        "{servers:?}"
    );
}

/// The dashboard on live traffic: `wscope capture` starts tcpdump itself, and the peer's close
/// codes appear on the screen while it runs; `--record` keeps the decoded events.
#[test]
fn the_live_dashboard_shows_captured_traffic_and_records_it() {
    if tools_available().is_none() || !common::tmux::available() {
        return;
    }
    let port = common::free_port();
    let dir = tempfile::tempdir().unwrap();
    let record = dir.path().join("live.jsonl");
    let cmd = format!(
        "{} capture --port {port} --iface lo --record {}; echo wscope-exited",
        env!("CARGO_BIN_EXE_wscope"),
        record.display()
    );
    let t = common::tmux::Tmux::start(&cmd, 120, 40);
    // The dashboard opens once tcpdump said it is listening: from here it sees every packet.
    t.wait_for("the capture running", |s| s.contains("capture: lo"));
    let truth = run_peer(port);
    let screen = t.wait_for("the close codes of the peer", |s| {
        s.contains("4001") && s.contains("1006") && s.contains("1000")
    });
    assert!(
        screen.contains(&format!("tcp port {port}: live")),
        "{screen}"
    );
    t.keys(&["q"]);
    // The recording is complete once the process has exited.
    t.wait_text("wscope-exited");
    let r = report_json(record.to_str().unwrap());
    assert_eq!(codes_of(&r), true_codes(&truth));
}

/// A capture replayed from standard input: the same close codes, and the end said. Then the
/// capture turned into a log by `capture -` (a stream on stdin, headless, recorded), and that
/// log replayed from standard input too.
#[test]
fn a_capture_replays_in_the_dashboard() {
    let Some(c) = captured() else { return };
    if !common::tmux::available() {
        return;
    }
    let bin = env!("CARGO_BIN_EXE_wscope");
    let cmd = format!("cat {} | {bin} replay --speed max -", c.pcapng.display());
    let t = common::tmux::Tmux::start(&cmd, 100, 30);
    t.wait_for("the end of the capture and its close codes", |s| {
        s.contains("END") && s.contains("4001") && s.contains("1006")
    });
    t.keys(&["q"]);

    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("from-capture.jsonl");
    let out = std::process::Command::new(bin)
        .args(["capture", "-", "--headless", "--format", "json", "--record"])
        .arg(&log)
        .stdin(std::fs::File::open(&c.pcap).unwrap())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let headless: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(codes_of(&headless), true_codes(&c.truth));
    let cmd = format!("cat {} | {bin} replay --speed max -", log.display());
    let t = common::tmux::Tmux::start(&cmd, 100, 30);
    t.wait_for("the end of the log and its close codes", |s| {
        s.contains("END") && s.contains("4001") && s.contains("1006")
    });
    t.keys(&["q"]);
}

/// Without the right to capture, one line says why and what fixes it (run as `nobody` when
/// the tests run as root, who may capture).
#[test]
fn without_permission_the_capture_says_how_to_get_it() {
    if tools_available().is_none() {
        return;
    }
    let bin = env!("CARGO_BIN_EXE_wscope");
    let args = [
        "capture",
        "--port",
        "1",
        "--iface",
        "lo",
        "--headless",
        "--duration",
        "1s",
    ];
    let root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
    let mut cmd = if root {
        let mut c = std::process::Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups", bin]);
        c
    } else {
        std::process::Command::new(bin)
    };
    let out = cmd.args(args).output().expect("setpriv (util-linux)");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("CAP_NET_RAW") && err.contains("sudo"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}

/// A capture relayed through NATS (`wscope relay FILE`): an attach on the subject counts
/// what the server saw, as a report of the file does.
#[test]
fn a_capture_relayed_through_nats_reports_what_the_server_saw() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let Some(c) = captured() else { return };
    let Some(nats) = common::nats::NatsServer::start() else {
        return;
    };
    let subject = "wscope.captured";
    let mut attach = Command::new(env!("CARGO_BIN_EXE_wscope"))
        .args(["attach", &format!("{}/{subject}.>", nats.url())])
        .args(["--headless", "--duration", "6s", "--format", "json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut said = BufReader::new(attach.stderr.take().unwrap());
    let mut line = String::new();
    while !line.contains("connected") {
        line.clear();
        assert!(said.read_line(&mut line).unwrap() > 0, "the attach ended");
    }
    std::thread::spawn(move || std::io::copy(&mut said, &mut std::io::sink()));
    let relay = Command::new(env!("CARGO_BIN_EXE_wscope"))
        .arg("relay")
        .arg(&c.pcap)
        .args(["--to", &nats.url(), "--subject", subject])
        .args(["--port", &c.port.to_string()])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&relay.stderr);
    assert!(relay.status.success(), "{err}");
    assert!(err.contains("capture ended"), "{err}");
    let out = attach.wait_with_output().unwrap();
    assert!(out.status.success());
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["connections"]["opened"], c.truth["opens"], "{r}");
    assert_eq!(codes_of(&r), true_codes(&c.truth));
    assert_eq!(r["dropped_events"], 0);
    let name = format!("127.0.0.1:{}", c.port);
    assert!(r["servers"][&name].is_object(), "{r}");
}
