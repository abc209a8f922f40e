//! Real captures for the capture tests: `tcpdump` (or `dumpcap`) on loopback while a plain
//! Node.js `ws` peer (tests/peers/plain_ws.js, no wscope code) plays its script.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn installed(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

/// `Some(())` when tcpdump, tshark (with dumpcap), Node.js and `ws` are all there.
pub fn tools_available() -> Option<()> {
    let test = super::require::this_test();
    let found = super::require::require(
        &test,
        installed("tcpdump"),
        "tcpdump",
        "apt-get install tcpdump",
    ) && super::require::require(
        &test,
        installed("tshark"),
        "tshark",
        "apt-get install tshark",
    );
    found.then_some(())?;
    super::node::node_available()
}

/// A capture in progress; stopped (and its file complete) by [`Capturer::stop`].
pub struct Capturer {
    child: Child,
    file: PathBuf,
}

impl Capturer {
    /// `tcpdump -i lo` on `port`, writing classic pcap to `file`.
    pub fn tcpdump(port: u16, file: &Path) -> Capturer {
        let args = [
            "-i",
            "lo",
            "-U",
            "-s",
            "0",
            "-w",
            file.to_str().unwrap(),
            &format!("tcp port {port}"),
        ];
        Capturer::start("tcpdump", &args.map(String::from), "listening on", file)
    }

    /// `dumpcap -i lo` on `port`, writing pcapng to `file`.
    pub fn dumpcap(port: u16, file: &Path) -> Capturer {
        let args = [
            "-i",
            "lo",
            "-q",
            "-f",
            &format!("tcp port {port}"),
            "-w",
            file.to_str().unwrap(),
        ];
        Capturer::start("dumpcap", &args.map(String::from), "Capturing on", file)
    }

    fn start(tool: &str, args: &[String], ready: &str, file: &Path) -> Capturer {
        let mut child = Command::new(tool)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {tool}: {e}"));
        let mut err = BufReader::new(child.stderr.take().unwrap());
        let mut line = String::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            line.clear();
            let n = err.read_line(&mut line).unwrap_or(0);
            assert!(
                n > 0 && Instant::now() < deadline,
                "{tool} did not start: {line}"
            );
            if line.contains(ready) {
                break;
            }
        }
        // Keep draining stderr so the capturer never blocks on it.
        std::thread::spawn(move || std::io::copy(&mut err, &mut std::io::sink()));
        Capturer {
            child,
            file: file.to_path_buf(),
        }
    }

    /// Ends the capture as Ctrl-C would, so the file is whole.
    pub fn stop(mut self) {
        // The last packets are in the file once the capturer has read them: its size stays
        // the same for longer than the capturer waits before handing on what it holds.
        let size = || std::fs::metadata(&self.file).map_or(0, |m| m.len());
        let deadline = Instant::now() + Duration::from_secs(5);
        let (mut last, mut same) = (size(), 0);
        while same < 10 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
            let now = size();
            same = if now == last { same + 1 } else { 0 };
            last = now;
        }
        let _ = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

impl Drop for Capturer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs the plain `ws` peer on `port` to its end; returns its truth line.
pub fn run_peer(port: u16) -> serde_json::Value {
    run_peer_via(port, port)
}

/// [`run_peer`] with the clients connecting to `client_port` (a proxy in front of `port`).
pub fn run_peer_via(port: u16, client_port: u16) -> serde_json::Value {
    let node_modules = super::node::adapter_dir().join("node_modules");
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/peers/plain_ws.js");
    let out = Command::new("node")
        .arg(script)
        .arg(port.to_string())
        .arg(client_port.to_string())
        .env("NODE_PATH", node_modules)
        .stderr(Stdio::inherit())
        .output()
        .expect("node");
    assert!(out.status.success(), "the peer failed");
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("peer said {text:?}: {e}"))
}

/// One WebSocket frame as tshark's dissector lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SharkFrame {
    pub client_port: u16,
    pub from_client: bool,
    pub opcode: u8,
    pub fin: bool,
    pub len: u64,
}

/// tshark's WebSocket frames of `file`, the server being on `port`. tshark follows a
/// WebSocket from its upgrade; `joined` makes it take the port's traffic as frames from the
/// first byte, for a capture started mid-connection.
pub fn tshark_frames(file: &Path, port: u16, joined: bool) -> Vec<SharkFrame> {
    let decode_as = format!("tcp.port=={port},websocket");
    let mut cmd = Command::new("tshark");
    cmd.args(["-r", file.to_str().unwrap(), "-2"])
        .args(["-o", "tcp.reassemble_out_of_order:TRUE"]);
    if joined {
        cmd.args(["-d", &decode_as]);
    }
    let out = cmd
        .args([
            "-Y",
            "websocket",
            "-T",
            "fields",
            "-E",
            "occurrence=a",
            "-E",
            "aggregator=,",
        ])
        .args([
            "-e",
            "tcp.srcport",
            "-e",
            "tcp.dstport",
            "-e",
            "websocket.opcode",
        ])
        .args(["-e", "websocket.fin", "-e", "websocket.payload_length"])
        .args([
            "-e",
            "websocket.payload_length_ext_16",
            "-e",
            "websocket.payload_length_ext_64",
        ])
        .stderr(Stdio::null())
        .output()
        .expect("tshark");
    assert!(out.status.success(), "tshark failed");
    let mut frames = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let cols: Vec<&str> = line.split('\t').collect();
        let list = |i: usize| -> Vec<&str> {
            cols.get(i)
                .map(|c| c.split(',').filter(|s| !s.is_empty()).collect())
                .unwrap_or_default()
        };
        let src: u16 = cols[0].parse().unwrap();
        let dst: u16 = cols[1].parse().unwrap();
        let (opcodes, fins, lens) = (list(2), list(3), list(4));
        let (mut ext16, mut ext64) = (list(5).into_iter(), list(6).into_iter());
        for i in 0..opcodes.len() {
            let short: u64 = lens[i].parse().unwrap();
            let len = match short {
                126 => ext16.next().unwrap().parse().unwrap(),
                127 => ext64.next().unwrap().parse().unwrap(),
                n => n,
            };
            frames.push(SharkFrame {
                client_port: if src == port { dst } else { src },
                from_client: dst == port,
                opcode: opcodes[i].parse().unwrap(),
                fin: fins[i] == "1" || fins[i] == "True",
                len,
            });
        }
    }
    frames
}

/// Runs the release-or-debug `wscope` binary of this build.
pub fn wscope(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_wscope"))
        .args(args)
        .output()
        .expect("wscope")
}
