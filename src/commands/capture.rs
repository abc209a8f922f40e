//! `wscope capture --port P`: watch any WebSocket server live from its traffic, with no change
//! to it. wscope starts `tcpdump -U -w -` itself (the default build links no capture library),
//! or reads such a stream on standard input (`tcpdump -U -w - port 8080 | wscope capture -`).
//!
//! Packets are decoded on a thread of their own; the dashboard, the recorder and the headless
//! report take the same events. Packets the kernel dropped are asked of tcpdump every two
//! seconds (SIGUSR1 makes it print its counts) and shown as `dropped`.

use super::forward::{Recording, forward};
use super::parse_duration;
use crate::event::Event;
use crate::findings::Rules;
use crate::report::render;
use crate::sanitize::inert;
use crate::source::{SourceMsg, SourceState};
use crate::ui::{self, UiConfig};
use color_eyre::{
    Result,
    eyre::{WrapErr, bail, eyre},
};
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, ExitCode, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

#[derive(clap::Args, Debug)]
pub struct CaptureArgs {
    /// `-` reads a capture stream (pcap or pcapng) from standard input instead of starting
    /// tcpdump, e.g. `ssh host sudo tcpdump -U -w - port 8080 | wscope capture -`.
    #[arg(value_name = "SOURCE")]
    pub source: Option<PathBuf>,
    /// The server's port (repeatable): captured, and taken as the server's side.
    #[arg(long, short, value_name = "PORT", required_unless_present = "source")]
    pub port: Vec<u16>,
    /// The interface to capture on (tcpdump's `-i`).
    #[arg(long, short, default_value = "any")]
    pub iface: String,
    /// Write the decoded events to FILE as a log (JSON Lines; zstd if FILE ends in .zst).
    /// The packets themselves are never written.
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,
    /// With --headless: how long to collect (30s, 2m). Without it: until Ctrl-C.
    #[arg(long, value_parser = parse_duration, requires = "headless")]
    pub duration: Option<Duration>,
    #[command(flatten)]
    pub show: super::ShowArgs,
    #[command(flatten)]
    pub thresholds: super::ThresholdArgs,
}

pub fn run(args: CaptureArgs) -> Result<ExitCode> {
    let Some(rules) = args.thresholds.rules()? else {
        return Ok(ExitCode::SUCCESS);
    };
    if args.show.headless {
        super::check_stdout()?;
    }
    let (input, tcpdump, label) = open_stream(&args)?;
    let recording = Recording::create(args.record.as_ref(), std::slice::from_ref(&label))?;
    let drops = tcpdump.as_ref().map(|t| t.drops.clone());
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Pumped>(256);
    let ports = args.port.clone();
    let pump = std::thread::Builder::new()
        .name("wscope-capture".into())
        .spawn(move || pump(input, ports, drops, tx))?;
    let runtime = super::runtime(super::Threads::One)?;
    let outcome = if args.show.headless {
        runtime.block_on(headless(&args, &rules, &mut rx, recording))
    } else {
        runtime.block_on(dashboard(&args, rules, label, rx, recording))
    };
    let why = tcpdump.map(Tcpdump::stop);
    drop(pump);
    match outcome {
        Err(e) => match why.flatten() {
            Some(why) => Err(e.wrap_err(why)),
            None => Err(e),
        },
        Ok(()) => Ok(ExitCode::SUCCESS),
    }
}

/// What the decoding thread hands on.
enum Pumped {
    Events(Vec<Event>),
    /// The stream ended: how, and what the capture could not show.
    End(std::result::Result<String, String>),
}

fn pump(
    input: Box<dyn Read + Send>,
    ports: Vec<u16>,
    drops: Option<Arc<AtomicU64>>,
    tx: tokio::sync::mpsc::Sender<Pumped>,
) {
    // The viewer gone: the process is ending.
    let mut hand_on = |events| drop(tx.blocking_send(Pumped::Events(events)));
    let said = crate::source::capture::read_live(input, ports, drops, &mut hand_on);
    let _ = tx.blocking_send(Pumped::End(said));
}

async fn dashboard(
    args: &CaptureArgs,
    rules: Rules,
    label: String,
    mut rx: tokio::sync::mpsc::Receiver<Pumped>,
    recording: Recording,
) -> Result<()> {
    let (to_forward, from_capture) = tokio::sync::mpsc::channel(4096);
    let capture = tokio::spawn(async move {
        let state = |state| SourceMsg::State { source: 0, state };
        let _ = to_forward.send(state(SourceState::Connected)).await;
        while let Some(pumped) = rx.recv().await {
            match pumped {
                Pumped::Events(events) => {
                    for event in events {
                        if to_forward.send(SourceMsg::event(0, event)).await.is_err() {
                            return;
                        }
                    }
                }
                Pumped::End(said) => {
                    let message = match said {
                        Ok(summary) => format!("capture ended ({summary})"),
                        Err(e) => format!("capture failed: {e}"),
                    };
                    let _ = to_forward
                        .send(state(SourceState::Unreadable { message }))
                        .await;
                }
            }
        }
    });
    let (to_ui, ui_rx) = tokio::sync::mpsc::channel(4096);
    let forward = tokio::spawn(forward(from_capture, to_ui, recording));
    let config = UiConfig {
        sources: vec![label],
        ascii: args.show.ascii,
        rules,
        about: Vec::new(),
    };
    let shown = ui::run_live(config, ui_rx).await;
    // The capture's events stop here, which ends the forwarding and closes the recording.
    capture.abort();
    let recorded = forward.await.wrap_err("the recorder stopped")?;
    shown?;
    recorded
}

async fn headless(
    args: &CaptureArgs,
    rules: &Rules,
    rx: &mut tokio::sync::mpsc::Receiver<Pumped>,
    mut recording: Recording,
) -> Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut model = rules.model();
    let mut sigint = signal(SignalKind::interrupt())?;
    let mut sigterm = signal(SignalKind::terminate())?;
    let deadline = args.duration.map(|d| tokio::time::Instant::now() + d);
    let mut end = None;
    loop {
        tokio::select! {
            pumped = rx.recv() => match pumped {
                Some(Pumped::Events(events)) => {
                    for ev in &events {
                        recording.write_event(0, ev, None)?;
                        model.apply(0, ev);
                    }
                }
                Some(Pumped::End(said)) => {
                    end = Some(said);
                    break;
                }
                None => break,
            },
            _ = async { tokio::time::sleep_until(deadline.unwrap_or_else(tokio::time::Instant::now)).await },
                if deadline.is_some() => break,
            _ = sigint.recv() => break,
            _ = sigterm.recv() => break,
        }
    }
    // What was decoded is in the file, whatever ended the capture.
    let recorded = recording.finish();
    if let Some(Err(e)) = &end {
        bail!("{}", inert(e));
    }
    recorded?;
    model.finish();
    super::print_out(&render(&model, rules, args.show.format.into()), false)?;
    if let Some(Ok(summary)) = end {
        eprintln!("{}", inert(&summary));
    }
    Ok(())
}

/// A running `tcpdump -U -w -`: its stdout is the capture; its stderr gives its kernel drop
/// counts (asked for with SIGUSR1) and, when it fails, why.
struct Tcpdump {
    child: Child,
    drops: Arc<AtomicU64>,
    said: Arc<std::sync::Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
}

impl Tcpdump {
    /// Stops tcpdump; when it had failed, what it said, with the way out.
    fn stop(mut self) -> Option<String> {
        let failed = matches!(self.child.try_wait(), Ok(Some(s)) if !s.success());
        if !failed {
            self.stop.store(true, Ordering::Relaxed);
            let _ = self.child.kill();
            let _ = self.child.wait();
            return None;
        }
        self.stop_failed()
    }

    /// Why tcpdump failed, with the way out.
    fn stop_failed(mut self) -> Option<String> {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.child.kill();
        let _ = self.child.wait();
        // Its last words arrive on the stderr thread.
        std::thread::sleep(Duration::from_millis(100));
        let said = self.said.lock().map(|s| s.join(" ")).unwrap_or_default();
        let fix = if said.contains("ermission") || said.contains("not permitted") {
            "capturing needs root or CAP_NET_RAW: run wscope with sudo, or give tcpdump the \
             capability (sudo setcap cap_net_raw,cap_net_admin=eip $(command -v tcpdump))"
        } else {
            "check --iface (tcpdump -D lists the interfaces)"
        };
        Some(format!("tcpdump failed: {}; {fix}", inert(&said)))
    }
}

fn open_stream(args: &CaptureArgs) -> Result<(Box<dyn Read + Send>, Option<Tcpdump>, String)> {
    if let Some(source) = &args.source {
        if source.as_os_str() != "-" {
            bail!(
                "to read a capture file use `wscope report {0}` or `wscope replay {0}`; \
                 `capture -` reads a stream on standard input",
                source.display()
            );
        }
        return Ok((Box::new(std::io::stdin()), None, "capture: stdin".into()));
    }
    let filter = args
        .port
        .iter()
        .map(|p| format!("tcp port {p}"))
        .collect::<Vec<_>>()
        .join(" or ");
    let mut child = std::process::Command::new("tcpdump")
        .args(["-i", &args.iface, "-U", "-s", "0", "-w", "-", &filter])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => eyre!(
                "tcpdump is not installed: install it (apt-get install tcpdump), or pipe a \
                 capture in: tcpdump -U -w - port {} | wscope capture -",
                args.port[0]
            ),
            _ => eyre!("cannot start tcpdump: {e}"),
        })?;
    let stdout = child.stdout.take().expect("piped");
    let stderr = child.stderr.take().expect("piped");
    let drops = Arc::new(AtomicU64::new(0));
    let said = Arc::new(std::sync::Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let (ready_tx, ready) = std::sync::mpsc::channel();
    {
        let (drops, said) = (drops.clone(), said.clone());
        std::thread::Builder::new()
            .name("wscope-tcpdump".into())
            .spawn(move || read_tcpdump_stderr(stderr, &drops, &said, ready_tx))?;
    }
    // tcpdump says "listening on" once capturing; it fails at once without permission.
    if ready.recv_timeout(Duration::from_secs(10)) != Ok(true) {
        let tcpdump = Tcpdump {
            child,
            drops,
            said,
            stop,
        };
        return Err(eyre!(
            "{}",
            tcpdump
                .stop_failed()
                .unwrap_or_else(|| "tcpdump did not start capturing within 10 s".into())
        ));
    }
    {
        let (pid, stop) = (child.id(), stop.clone());
        std::thread::Builder::new()
            .name("wscope-drops".into())
            .spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_secs(2));
                    if !stop.load(Ordering::Relaxed) {
                        // SAFETY: kill(2) with a pid this process started and still owns.
                        unsafe { libc::kill(pid as libc::pid_t, libc::SIGUSR1) };
                    }
                }
            })?;
    }
    let label = format!("capture: {} {}", inert(&args.iface), inert(&filter));
    let tcpdump = Tcpdump {
        child,
        drops,
        said,
        stop,
    };
    Ok((Box::new(stdout), Some(tcpdump), label))
}

/// Takes tcpdump's `N packets dropped by kernel` counts; keeps its other lines (the last few)
/// to say why it failed.
fn read_tcpdump_stderr(
    stderr: impl Read,
    drops: &AtomicU64,
    said: &std::sync::Mutex<Vec<String>>,
    ready: std::sync::mpsc::Sender<bool>,
) {
    for line in BufReader::new(stderr).lines() {
        let Ok(line) = line else { break };
        if let Some(n) = dropped_by_kernel(&line) {
            drops.fetch_max(n, Ordering::Relaxed);
            continue;
        }
        if line.contains("listening on") {
            let _ = ready.send(true);
            continue;
        }
        if line.contains("packets") {
            continue;
        }
        if let Ok(mut said) = said.lock() {
            if said.len() == 4 {
                said.remove(0);
            }
            said.push(line);
        }
    }
    let _ = ready.send(false);
}

fn dropped_by_kernel(line: &str) -> Option<u64> {
    let at = line.find(" packets dropped by kernel")?;
    let digits = line[..at].rsplit(|c: char| !c.is_ascii_digit()).next()?;
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn kernel_drops_from_either_form_of_the_count() {
        use super::dropped_by_kernel as d;
        assert_eq!(
            d(
                "tcpdump: 10 packets captured, 12 packets received by filter, 3 packets dropped by kernel"
            ),
            Some(3)
        );
        assert_eq!(d("41 packets dropped by kernel"), Some(41));
        assert_eq!(d("12 packets received by filter"), None);
    }
}
