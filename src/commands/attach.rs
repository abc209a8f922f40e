//! `wscope attach URL...`: watch servers live through their admin feeds.
//!
//! Headless, it collects for `--duration` (or until Ctrl-C, SIGTERM or SIGHUP) and prints a
//! report; `--record FILE` writes what it received as a log. The dashboard consumes the same
//! channel from [`crate::source::feed`].

use super::forward::{Recording, forward};
use super::parse_duration;
use crate::findings::Rules;
use crate::model::fleet::Fleet;
use crate::report::Report;
use crate::sanitize::inert;
use crate::source::feed::{self, FeedOptions};
use crate::source::nats;
use crate::source::{SourceMsg, SourceState};
use crate::ui::{self, UiConfig};
use color_eyre::{
    Result,
    eyre::{WrapErr, bail},
};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use tokio::signal::unix::{SignalKind, signal};
use tokio::time::Instant;

#[derive(clap::Args, Debug)]
pub struct AttachArgs {
    /// Admin feed URLs (ws:// or wss://), one per server, e.g. ws://127.0.0.1:9300/; or one
    /// NATS subject that relays publish to, e.g. nats://127.0.0.1:4222/wscope.prod.>
    #[arg(required = true, value_name = "URL")]
    pub urls: Vec<String>,
    /// The feed's token, sent as `Authorization: Bearer`. Prefer the environment variable:
    /// a command line shows in `ps`.
    #[arg(long, env = "WSCOPE_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Write every event received to FILE as a log (JSON Lines; zstd if FILE ends in .zst).
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,
    /// With --headless: how long to collect (30s, 2m, 1h). Without it: until Ctrl-C.
    #[arg(long, value_parser = parse_duration, requires = "headless")]
    pub duration: Option<Duration>,
    /// Only the present: do not ask the feeds for the minutes they keep of the past.
    #[arg(long)]
    pub no_history: bool,
    #[command(flatten)]
    pub nats: super::relay::NatsAuthArgs,
    #[command(flatten)]
    pub show: super::ShowArgs,
    #[command(flatten)]
    pub thresholds: super::ThresholdArgs,
}

/// Where an attach's events come from.
enum Sources {
    Feeds(feed::Feeds),
    /// One NATS subscription (a fleet's relays), source 0.
    Nats(tokio::task::JoinHandle<()>),
}

impl Sources {
    fn stop(self) {
        match self {
            Sources::Feeds(feeds) => feeds.stop(),
            Sources::Nats(task) => task.abort(),
        }
    }
}

/// The NATS target when the URLs are one `nats://` URL; an error when they mix kinds.
fn nats_target(urls: &[String]) -> Result<Option<nats::NatsTarget>> {
    match urls {
        [url] if nats::is_nats_url(url) => nats::parse_target(url, "wscope.default.>")
            .map(Some)
            .map_err(|e| color_eyre::eyre::eyre!(e)),
        _ if urls.iter().any(|u| nats::is_nats_url(u)) => {
            bail!("attach takes admin feed URLs, or one nats:// URL, not both")
        }
        _ => Ok(None),
    }
}

fn spawn_sources(args: &AttachArgs) -> Result<(Sources, tokio::sync::mpsc::Receiver<SourceMsg>)> {
    if let Some(target) = nats_target(&args.urls)? {
        let (tx, rx) = tokio::sync::mpsc::channel(4096);
        let task = tokio::spawn(nats::subscribe(target, args.nats.auth(), 0, tx));
        return Ok((Sources::Nats(task), rx));
    }
    let options = FeedOptions {
        token: args.token.clone(),
        history: !args.no_history,
        ..FeedOptions::default()
    };
    let (feeds, rx) = feed::spawn(&args.urls, options)?;
    Ok((Sources::Feeds(feeds), rx))
}

pub fn run(args: AttachArgs) -> Result<ExitCode> {
    let Some(rules) = args.thresholds.rules()? else {
        return Ok(ExitCode::SUCCESS);
    };
    if nats_target(&args.urls)?.is_none() {
        for url in &args.urls {
            feed::check_url(url)?;
        }
    }
    if args.token.is_some() {
        for url in args.urls.iter().filter(|u| sends_token_in_clear(u)) {
            eprintln!(
                "wscope: warning: {} is not loopback and not wss://: the token crosses the \
                 network in clear (use an SSH tunnel or wss://)",
                inert(url)
            );
        }
    }
    let runtime = super::runtime(super::Threads::Two)?;
    if !args.show.headless && !std::io::stdout().is_terminal() {
        bail!(
            "the dashboard needs a terminal; without one use --headless (with --duration D, \
             or --record FILE and Ctrl-C to stop)"
        );
    }
    if args.show.headless {
        runtime.block_on(headless(args, rules))
    } else {
        runtime.block_on(live(args, rules))
    }
}

/// A plain `ws://` URL whose host is not loopback.
fn sends_token_in_clear(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("ws://") else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit('@').next().unwrap_or("");
    let host = if let Some(v6) = host_port.strip_prefix('[') {
        v6.split(']').next().unwrap_or("")
    } else {
        host_port.split(':').next().unwrap_or("")
    };
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    !loopback
}

/// What the headless run collects.
struct Collector {
    urls: Vec<String>,
    model: Fleet,
    recording: Recording,
    invalid: u64,
    ever_connected: bool,
    last_problem: Option<String>,
}

/// Invalid frames reported one by one before going quiet about them.
const INVALID_SHOWN: u64 = 5;

impl Collector {
    fn new(urls: Vec<String>, recording: Recording, rules: &Rules) -> Collector {
        Collector {
            recording,
            urls,
            model: Fleet::new(rules.model()),
            invalid: 0,
            ever_connected: false,
            last_problem: None,
        }
    }

    fn handle(&mut self, msg: SourceMsg) -> Result<()> {
        match msg {
            SourceMsg::Event {
                source, event, raw, ..
            } => {
                self.recording.write_event(source, &event, raw.as_deref())?;
                self.model.apply(source, &event);
            }
            SourceMsg::Skipped { source, count, why } => {
                self.invalid += count;
                let url = self.url(source);
                if self.invalid <= INVALID_SHOWN {
                    eprintln!("wscope: {url}: skipped {why}");
                }
                if self.invalid == INVALID_SHOWN {
                    eprintln!("wscope: further invalid frames are only counted");
                }
            }
            SourceMsg::State { source, state } => {
                let url = self.url(source);
                match state {
                    SourceState::Connecting { attempt: 1 } => {
                        eprintln!("wscope: {url}: connecting")
                    }
                    SourceState::Connected => {
                        self.ever_connected = true;
                        eprintln!("wscope: {url}: connected");
                    }
                    SourceState::Retrying {
                        reason, retry_in, ..
                    } => {
                        eprintln!(
                            "wscope: {url}: {reason}; retrying in {:.1} s",
                            retry_in.as_secs_f64()
                        );
                        self.last_problem = Some(reason);
                    }
                    SourceState::Unauthorized { message } if nats::is_nats_url(&url) => {
                        bail!("{url}: {message}");
                    }
                    SourceState::Unauthorized { message } => {
                        bail!("{url}: {message} (check --token or WSCOPE_TOKEN)");
                    }
                    // A NATS subscription is the attach's one source: without it, nothing.
                    SourceState::Unreadable { message } if nats::is_nats_url(&url) => {
                        bail!("{message}");
                    }
                    SourceState::Unreadable { message } => {
                        eprintln!("wscope: {url}: {message}");
                        self.last_problem = Some(message);
                    }
                    _ => {}
                }
            }
        }
        Ok(())
    }

    fn url(&self, source: usize) -> String {
        self.urls
            .get(source)
            .map_or_else(String::new, |u| inert(u).into_owned())
    }

    fn tick(&mut self) -> Result<()> {
        self.recording.tick()
    }

    fn finish_recording(&mut self) -> Result<()> {
        self.recording.finish()
    }
}

/// The dashboard on live feeds. A forwarding task records every frame (before the dashboard
/// sees it, so a slow screen never loses recorded events) and hands items to the dashboard;
/// when the dashboard ends (q, a signal, a dead terminal), the feeds stop and the task
/// writes what was already received and closes the file.
async fn live(args: AttachArgs, rules: Rules) -> Result<ExitCode> {
    let recording = Recording::create(args.record.as_ref(), &args.urls)?;
    let (feeds, items) = spawn_sources(&args)?;
    let (tx, rx) = tokio::sync::mpsc::channel(4096);
    let forward = tokio::spawn(forward(items, tx, recording));
    let labels = args.urls.iter().map(|u| inert(u).into_owned()).collect();
    let shown = ui::run_live(
        UiConfig {
            sources: labels,
            ascii: args.show.ascii,
            rules,
            about: Vec::new(),
        },
        rx,
    )
    .await;
    feeds.stop();
    let recorded = forward.await.wrap_err("the recorder stopped")?;
    shown?;
    recorded?;
    Ok(ExitCode::SUCCESS)
}

async fn headless(args: AttachArgs, rules: Rules) -> Result<ExitCode> {
    let recording = Recording::create(args.record.as_ref(), &args.urls)?;
    let (feeds, mut rx) = spawn_sources(&args)?;
    let mut c = Collector::new(args.urls.clone(), recording, &rules);
    let mut sigint = signal(SignalKind::interrupt()).wrap_err("cannot watch Ctrl-C")?;
    let mut sigterm = signal(SignalKind::terminate()).wrap_err("cannot watch SIGTERM")?;
    let mut sighup = signal(SignalKind::hangup()).wrap_err("cannot watch SIGHUP")?;
    let deadline = args.duration.map(|d| Instant::now() + d);
    let mut tick = tokio::time::interval(Duration::from_millis(250));

    let mut hung_up = false;
    let outcome: Result<()> = loop {
        tokio::select! {
            item = rx.recv() => match item {
                Some(msg) => {
                    if let Err(e) = c.handle(msg) {
                        break Err(e);
                    }
                }
                None => break Ok(()),
            },
            _ = tick.tick() => {
                if let Err(e) = c.tick() {
                    break Err(e);
                }
            }
            _ = async { tokio::time::sleep_until(deadline.unwrap_or_else(Instant::now)).await },
                if deadline.is_some() => break Ok(()),
            _ = sigint.recv() => break Ok(()),
            _ = sigterm.recv() => break Ok(()),
            _ = sighup.recv() => {
                hung_up = true;
                break Ok(());
            }
        }
    };
    feeds.stop();
    // Every event already received goes into the file and the model.
    let mut outcome = outcome;
    while outcome.is_ok() {
        match rx.try_recv() {
            Ok(msg) => outcome = c.handle(msg),
            Err(_) => break,
        }
    }
    let finished = c.finish_recording();
    outcome?;
    finished?;
    if !c.ever_connected {
        let why = c.last_problem.as_deref().unwrap_or("no answer");
        bail!("could not reach any feed ({why})");
    }
    c.model.finish();
    c.model.note_skipped(c.invalid);
    let report = Report::from_fleet(&c.model, &rules, &[]).render(args.show.format.into());
    super::print_out(&report, hung_up)?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_in_clear_is_noticed_only_off_loopback() {
        assert!(!sends_token_in_clear("ws://127.0.0.1:9300/"));
        assert!(!sends_token_in_clear("ws://[::1]:9750/"));
        assert!(!sends_token_in_clear("ws://localhost/feed"));
        assert!(!sends_token_in_clear("wss://feed.example.net/"));
        assert!(sends_token_in_clear("ws://10.1.2.3:9750/"));
        assert!(sends_token_in_clear("ws://feed.example.net/x?y"));
    }
}
