//! The subcommands of the `wscope` binary; each module holds its arguments and its `run`.

pub mod attach;
pub mod capture;
pub mod demo;
mod forward;
pub mod probe;
pub mod relay;
mod relay_batch;
mod relay_sources;
pub mod replay;
pub mod report;
mod report_many;

use clap::{Parser, Subcommand};
use color_eyre::Result;
use std::process::ExitCode;

/// wscope: find out why your production WebSocket connections keep dropping.
///
/// Attach to a server's admin feed, watch any server from its traffic, replay or report on a
/// recorded event log or a packet capture, or probe an endpoint through its proxies. With no server of your own, `wscope demo` shows it all.
#[derive(Parser, Debug)]
#[command(name = "wscope", version, about, long_about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run a real instrumented server with misbehaving clients on loopback and watch it.
    Demo(demo::DemoArgs),
    /// Watch one or several servers live through their admin feeds.
    Attach(attach::AttachArgs),
    /// Watch any WebSocket server live from its traffic (tcpdump), with no change to it.
    Capture(capture::CaptureArgs),
    /// Play a recorded event log in the dashboard (pause, speed, seek).
    Replay(replay::ReplayArgs),
    /// Analyse an event log headless and print the findings.
    Report(report::ReportArgs),
    /// Check an endpoint through its proxies: the handshake, and how long idle connections live.
    Probe(probe::ProbeArgs),
    /// Publish servers' admin feeds to NATS, so one `attach nats://…` watches a fleet.
    Relay(relay::RelayArgs),
}

static STDOUT_CLOSED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// The binary found standard output closed at start (its runtime then put /dev/null there):
/// commands that print a report say so rather than print it nowhere.
pub fn stdout_was_closed() {
    STDOUT_CLOSED.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// An error when standard output was closed at start.
pub(crate) fn check_stdout() -> Result<()> {
    if STDOUT_CLOSED.load(std::sync::atomic::Ordering::Relaxed) {
        color_eyre::eyre::bail!("standard output is closed: nowhere to write the report");
    }
    Ok(())
}

/// How many threads a command's async runtime has.
pub(crate) enum Threads {
    /// One source and the dashboard or a report: all on one thread.
    One,
    /// Feeds, a server or clients beside the dashboard: both cores.
    Two,
}

/// The async runtime a command runs in.
pub(crate) fn runtime(threads: Threads) -> Result<tokio::runtime::Runtime> {
    use color_eyre::eyre::WrapErr;
    let mut builder = match threads {
        Threads::One => tokio::runtime::Builder::new_current_thread(),
        Threads::Two => {
            let mut b = tokio::runtime::Builder::new_multi_thread();
            b.worker_threads(2);
            b
        }
    };
    builder
        .enable_all()
        .build()
        .wrap_err("cannot start the async runtime")
}

pub fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Demo(a) => demo::run(a),
        Command::Attach(a) => attach::run(a),
        Command::Capture(a) => capture::run(a),
        Command::Replay(a) => replay::run(a),
        Command::Report(a) => report::run(a),
        Command::Probe(a) => probe::run(a),
        Command::Relay(a) => relay::run(a),
    }
}

/// Writes a report (or any text) to standard output. A closed pipe (`| head`) is no error,
/// nor, with `hung_up`, a terminal that went away: what else the command wrote (a recording)
/// is what matters then.
pub(crate) fn print_out(text: &str, hung_up: bool) -> Result<()> {
    use color_eyre::eyre::WrapErr;
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|_| stdout.flush())
    {
        Ok(()) => Ok(()),
        Err(e) if hung_up || e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(e).wrap_err("cannot write the report"),
    }
}

/// How a command that watches shows what it sees: the dashboard, or one report at the end.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct ShowArgs {
    /// No dashboard: collect until --duration (or Ctrl-C), then print a report on standard
    /// output.
    #[arg(long)]
    pub headless: bool,
    /// With --headless: the report's format.
    #[arg(long, short, value_enum, default_value_t)]
    pub format: report::FormatArg,
    /// Draw with ASCII characters only (for terminals without Unicode line drawing).
    #[arg(long)]
    pub ascii: bool,
}

/// The findings' thresholds, as every command that diagnoses takes them.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct ThresholdArgs {
    /// Change a finding's threshold, e.g. `--threshold idle-timeout.min_cuts=20` (repeatable).
    /// `--threshold list` prints every threshold with its default.
    #[arg(long = "threshold", value_name = "ID.NAME=VALUE")]
    pub thresholds: Vec<String>,
}

impl ThresholdArgs {
    /// The rules with these thresholds; `Ok(None)` when the user asked for the list (printed).
    pub fn rules(&self) -> Result<Option<crate::findings::Rules>> {
        if self.thresholds.iter().any(|t| t == "list") {
            for (name, value) in crate::findings::Rules::default().thresholds() {
                println!("{name}={value}");
            }
            return Ok(None);
        }
        crate::findings::Rules::with_overrides(&self.thresholds)
            .map(Some)
            .map_err(|e| color_eyre::eyre::eyre!("--threshold {e}"))
    }
}

pub use crate::duration::parse_duration;
