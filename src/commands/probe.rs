//! `wscope probe URL`: the handshake and idle test of `crate::probe`, from the command line.
//!
//! Exit status: 0 when the probe ran, whatever it found (the findings say what is wrong);
//! 2 when there was nothing to probe: a bad URL or option, a host that does not resolve, a
//! port that refuses the connection. A port that accepts and then answers badly (not HTTP,
//! no answer, TLS failure, a refused upgrade) is an `upgrade-rejected` finding instead.

use clap::ValueEnum;
use color_eyre::{Result, eyre::eyre};
use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

use super::parse_duration;
use crate::probe::handshake::RequestOptions;
use crate::probe::target::{HeaderArg, parse_header_arg, parse_header_value};
use crate::probe::{ProbeOptions, Target, output, probe};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ProbeFormat {
    Text,
    Json,
}

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
const MAX_DURATION: Duration = Duration::from_secs(24 * 3600);

#[derive(clap::Args, Debug)]
#[command(after_help = "\
Exit status: 0 when the probe ran, whatever it found; 2 when there was nothing to probe \
(a bad URL or option, a host that does not resolve, a port that refuses connections).
A port that accepts but answers badly (not HTTP, silence, TLS failure, a refused upgrade) \
gives an upgrade-rejected finding. A cut idle connection gives an idle-timeout finding.
Example nginx configuration for WebSockets: assets/nginx/websocket.conf")]
pub struct ProbeArgs {
    /// The endpoint: ws://host[:port]/path or wss://host[:port]/path.
    #[arg(value_name = "URL")]
    pub url: String,
    /// An extra request header, e.g. -H 'Authorization: Bearer abc'. Repeatable.
    #[arg(long = "header", short = 'H', value_name = "K:V", value_parser = parse_header_arg)]
    pub headers: Vec<HeaderArg>,
    /// The Origin header to send (servers often check it).
    #[arg(long, value_name = "ORIGIN", value_parser = parse_header_value)]
    pub origin: Option<String>,
    /// A subprotocol to offer in Sec-WebSocket-Protocol. Repeatable.
    #[arg(long = "subprotocol", value_name = "P", value_parser = parse_header_value)]
    pub subprotocols: Vec<String>,
    /// How long to hold the idle connection: 130s catches the common 100-120 s limits.
    /// 0 skips the idle test.
    #[arg(long, value_name = "DUR", default_value = "130s", value_parser = parse_duration)]
    pub idle_max: Duration,
    /// After an idle cut after D seconds, open a second connection that pings every D/2 and
    /// report whether that keeps it alive.
    #[arg(long)]
    pub verify_heartbeat: bool,
    /// Accept any TLS certificate (self-signed, expired, wrong name). For testing only.
    #[arg(long, short = 'k')]
    pub insecure: bool,
    /// Limit for each of DNS, TCP connect, TLS and waiting for the upgrade answer
    /// [default: 10s, or --idle-max when that is shorter].
    #[arg(long, value_name = "DUR", value_parser = parse_duration)]
    pub timeout: Option<Duration>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ProbeFormat::Text)]
    pub format: ProbeFormat,
}

pub fn run(args: ProbeArgs) -> Result<ExitCode> {
    let target = Target::parse(&args.url)?;
    // Longer than a day is a typo, and would overflow clock arithmetic at the extreme.
    for (name, value) in [
        ("--idle-max", Some(args.idle_max)),
        ("--timeout", args.timeout),
    ] {
        if value.is_some_and(|v| v > MAX_DURATION) {
            return Err(eyre!("{name} must be at most 24h"));
        }
    }
    let timeout = match args.timeout {
        Some(t) if t.is_zero() => return Err(eyre!("--timeout must be more than 0")),
        Some(t) => t,
        // A short --idle-max asks for a quick answer: no phase waits longer than it.
        None if !args.idle_max.is_zero() => DEFAULT_TIMEOUT.min(args.idle_max),
        None => DEFAULT_TIMEOUT,
    };
    let opts = ProbeOptions {
        target,
        request: RequestOptions {
            headers: args.headers,
            origin: args.origin,
            subprotocols: args.subprotocols,
        },
        idle_max: args.idle_max,
        timeout,
        insecure: args.insecure,
        verify_heartbeat: args.verify_heartbeat,
        progress: std::io::stderr().is_terminal(),
    };
    let runtime = super::runtime(super::Threads::One)?;
    let report = runtime.block_on(probe(&opts))?;
    let rendered = match args.format {
        ProbeFormat::Text => output::text(&report),
        ProbeFormat::Json => output::json(&report),
    };
    super::print_out(&format!("{}\n", rendered.trim_end()), false)?;
    Ok(ExitCode::SUCCESS)
}
