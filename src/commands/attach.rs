//! `wscope attach URL...`: watch servers live through their admin feeds.
//!
//! Headless, it collects for `--duration` (or until Ctrl-C, SIGTERM or SIGHUP) and prints a
//! report; `--record FILE` writes what it received as a log. The dashboard consumes the same
//! channel from [`crate::source::feed`].

use super::parse_duration;
use crate::event::{EventKind, to_json_line};
use crate::findings::Rules;
use crate::model::Model;
use crate::report::render;
use crate::sanitize::inert;
use crate::source::feed::{self, FeedEvent, FeedOptions, FeedStatus, SourceItem};
use crate::source::record::{Recorder, frame_with_server};
use crate::ui::{self, SourceMsg, UiConfig};
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
    /// Admin feed URLs (ws:// or wss://), one per server, e.g. ws://127.0.0.1:9750/
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
    #[command(flatten)]
    pub show: super::ShowArgs,
    #[command(flatten)]
    pub thresholds: super::ThresholdArgs,
}

pub fn run(args: AttachArgs) -> Result<ExitCode> {
    let Some(rules) = args.thresholds.rules()? else {
        return Ok(ExitCode::SUCCESS);
    };
    for url in &args.urls {
        feed::check_url(url)?;
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

/// `--record`: writes what the feeds sent, frame by frame.
struct FeedRecorder {
    recorder: Option<Recorder>,
    /// Per source: the server name to stamp on recorded events when several feeds share a file.
    names: Vec<String>,
}

impl FeedRecorder {
    fn new(urls: &[String], recorder: Option<Recorder>) -> FeedRecorder {
        FeedRecorder {
            recorder,
            names: urls.iter().map(|u| inert(u).into_owned()).collect(),
        }
    }

    fn write(&mut self, index: usize, fe: &FeedEvent) -> Result<()> {
        let event = &fe.event;
        if let EventKind::Hello(_) = &event.kind
            && let Some(name) = &event.server
        {
            self.names[index] = name.to_string();
        }
        let several = self.names.len() > 1;
        let Some(rec) = self.recorder.as_mut() else {
            return Ok(());
        };
        // One feed: the frame as received. Several in one file: every event names its
        // server, since "the latest hello" no longer tells which feed it came from.
        let written = if several && event.server.is_none() {
            let name = &self.names[index];
            match frame_with_server(&fe.raw, name) {
                Some(frame) => rec.write_frame(&frame),
                None => {
                    let mut stamped = event.clone();
                    stamped.server = Some(name.as_str().into());
                    rec.write_frame(&to_json_line(&stamped))
                }
            }
        } else {
            rec.write_frame(&fe.raw)
        };
        written.wrap_err_with(|| format!("cannot write {}", rec.path().display()))
    }

    fn tick(&mut self) -> Result<()> {
        if let Some(rec) = self.recorder.as_mut() {
            rec.tick()
                .wrap_err_with(|| format!("cannot write {}", rec.path().display()))?;
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<()> {
        if let Some(rec) = self.recorder.as_mut() {
            rec.finish()
                .wrap_err_with(|| format!("cannot write {}", rec.path().display()))?;
            eprintln!(
                "wscope: recorded {} events to {}",
                rec.lines(),
                rec.path().display()
            );
        }
        Ok(())
    }
}

/// What the headless run collects.
struct Collector {
    urls: Vec<String>,
    model: Model,
    recorder: FeedRecorder,
    invalid: u64,
    ever_connected: bool,
    last_problem: Option<String>,
}

/// Invalid frames reported one by one before going quiet about them.
const INVALID_SHOWN: u64 = 5;

impl Collector {
    fn new(urls: Vec<String>, recorder: Option<Recorder>, rules: &Rules) -> Collector {
        Collector {
            recorder: FeedRecorder::new(&urls, recorder),
            urls,
            model: rules.model(),
            invalid: 0,
            ever_connected: false,
            last_problem: None,
        }
    }

    fn handle(&mut self, index: usize, item: SourceItem) -> Result<()> {
        let url = inert(&self.urls[index]).into_owned();
        match item {
            SourceItem::Event(ev) => self.event(index, *ev)?,
            SourceItem::Invalid { error, bytes } => {
                self.invalid += 1;
                if self.invalid <= INVALID_SHOWN {
                    eprintln!("wscope: {url}: skipped a frame of {bytes} bytes: {error}");
                }
                if self.invalid == INVALID_SHOWN {
                    eprintln!("wscope: further invalid frames are only counted");
                }
            }
            SourceItem::Status(status) => match status {
                FeedStatus::Connecting { attempt: 1 } => {
                    eprintln!("wscope: {url}: connecting")
                }
                FeedStatus::Connecting { .. } => {}
                FeedStatus::Connected => {
                    self.ever_connected = true;
                    eprintln!("wscope: {url}: connected");
                }
                FeedStatus::Disconnected { reason, retry_in } => {
                    eprintln!(
                        "wscope: {url}: {reason}; retrying in {:.1} s",
                        retry_in.as_secs_f64()
                    );
                    self.last_problem = Some(reason);
                }
                FeedStatus::Unauthorized { message } => {
                    bail!("{url}: {message} (check --token or WSCOPE_TOKEN)");
                }
            },
        }
        Ok(())
    }

    fn event(&mut self, index: usize, fe: FeedEvent) -> Result<()> {
        self.recorder.write(index, &fe)?;
        self.model.apply(index, &fe.event);
        Ok(())
    }

    fn tick(&mut self) -> Result<()> {
        self.recorder.tick()
    }

    fn finish_recording(&mut self) -> Result<()> {
        self.recorder.finish()
    }
}

fn open_recorder(path: Option<&PathBuf>) -> Result<Option<Recorder>> {
    path.map(|p| Recorder::create(p).wrap_err("--record"))
        .transpose()
}

/// The dashboard on live feeds. A forwarding task records every frame (before the dashboard
/// sees it, so a slow screen never loses recorded events) and hands items to the dashboard;
/// when the dashboard ends (q, a signal, a dead terminal), the feeds stop and the task
/// writes what was already received and closes the file.
async fn live(args: AttachArgs, rules: Rules) -> Result<ExitCode> {
    let mut recorder = FeedRecorder::new(&args.urls, open_recorder(args.record.as_ref())?);
    let options = FeedOptions {
        token: args.token.clone(),
        ..FeedOptions::default()
    };
    let (feeds, mut items) = feed::spawn(&args.urls, options)?;
    let (tx, rx) = tokio::sync::mpsc::channel(4096);
    let forward = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(500));
        let mut dashboard_open = true;
        loop {
            tokio::select! {
                item = items.recv() => {
                    let Some((index, item)) = item else { break };
                    if let SourceItem::Event(fe) = &item {
                        recorder.write(index, fe)?;
                    }
                    if dashboard_open {
                        let msg = dashboard_msg(index, item, std::time::Instant::now());
                        dashboard_open = tx.send(msg).await.is_ok();
                    }
                }
                _ = tick.tick() => recorder.tick()?,
            }
        }
        recorder.finish()
    });
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
    drop(feeds);
    let recorded = forward.await.wrap_err("the recorder stopped")?;
    shown?;
    recorded?;
    Ok(ExitCode::SUCCESS)
}

async fn headless(args: AttachArgs, rules: Rules) -> Result<ExitCode> {
    let recorder = open_recorder(args.record.as_ref())?;
    let options = FeedOptions {
        token: args.token.clone(),
        ..FeedOptions::default()
    };
    let (feeds, mut rx) = feed::spawn(&args.urls, options)?;
    let mut c = Collector::new(args.urls.clone(), recorder, &rules);
    let mut sigint = signal(SignalKind::interrupt()).wrap_err("cannot watch Ctrl-C")?;
    let mut sigterm = signal(SignalKind::terminate()).wrap_err("cannot watch SIGTERM")?;
    let mut sighup = signal(SignalKind::hangup()).wrap_err("cannot watch SIGHUP")?;
    let deadline = args.duration.map(|d| Instant::now() + d);
    let mut tick = tokio::time::interval(Duration::from_millis(250));

    let mut hung_up = false;
    let outcome: Result<()> = loop {
        tokio::select! {
            item = rx.recv() => match item {
                Some((index, item)) => {
                    if let Err(e) = c.handle(index, item) {
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
            Ok((index, item)) => outcome = c.handle(index, item),
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
    let report = render(&c.model, &rules, args.show.format.into());
    super::print_out(&report, hung_up)?;
    Ok(ExitCode::SUCCESS)
}

/// What a live admin feed (`source::feed`) reports, as the dashboard takes it: a
/// `Disconnected` becomes a countdown to `retry_in` from `now`; an invalid frame counts as
/// skipped.
fn dashboard_msg(source: usize, item: feed::SourceItem, now: std::time::Instant) -> SourceMsg {
    use feed::{FeedStatus, SourceItem};
    use ui::SourceState;
    let state = match item {
        SourceItem::Event(e) => {
            let e = *e;
            return SourceMsg::Event {
                source,
                event: e.event,
                queued: e.queued,
            };
        }
        SourceItem::Invalid { .. } => return SourceMsg::Skipped { source, count: 1 },
        SourceItem::Status(FeedStatus::Connecting { .. }) => SourceState::Connecting,
        SourceItem::Status(FeedStatus::Connected) => SourceState::Connected,
        SourceItem::Status(FeedStatus::Disconnected { reason, retry_in }) => {
            SourceState::Retrying {
                retry_at: now + retry_in,
                reason,
            }
        }
        SourceItem::Status(FeedStatus::Unauthorized { message }) => {
            SourceState::Unauthorized { message }
        }
    };
    SourceMsg::State { source, state }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_in_clear_is_noticed_only_off_loopback() {
        assert!(!sends_token_in_clear("ws://127.0.0.1:9750/"));
        assert!(!sends_token_in_clear("ws://[::1]:9750/"));
        assert!(!sends_token_in_clear("ws://localhost/feed"));
        assert!(!sends_token_in_clear("wss://feed.example.net/"));
        assert!(sends_token_in_clear("ws://10.1.2.3:9750/"));
        assert!(sends_token_in_clear("ws://feed.example.net/x?y"));
    }

    #[test]
    fn feed_items_become_dashboard_messages() {
        use crate::event::{Event, EventKind, Ts};
        use crate::ui::SourceState;
        use feed::{FeedEvent, FeedStatus, SourceItem};
        use std::time::{Duration, Instant};
        let now = Instant::now();
        let retry = dashboard_msg(
            2,
            SourceItem::Status(FeedStatus::Disconnected {
                reason: "refused".into(),
                retry_in: Duration::from_secs(4),
            }),
            now,
        );
        match retry {
            SourceMsg::State {
                source: 2,
                state: SourceState::Retrying { retry_at, reason },
            } => {
                assert_eq!(retry_at, now + Duration::from_secs(4));
                assert_eq!(reason, "refused");
            }
            other => panic!("{other:?}"),
        }
        let event = Event::new(Ts(1), EventKind::Dropped { count: 3 });
        let item = SourceItem::Event(Box::new(FeedEvent {
            event: event.clone(),
            raw: String::new(),
            queued: Default::default(),
        }));
        assert!(matches!(
            dashboard_msg(0, item, now),
            SourceMsg::Event { source: 0, event: e, .. } if e == event
        ));
        let bad = SourceItem::Invalid {
            error: "x".into(),
            bytes: 1,
        };
        assert!(matches!(
            dashboard_msg(1, bad, now),
            SourceMsg::Skipped {
                source: 1,
                count: 1
            }
        ));
        let denied = SourceItem::Status(FeedStatus::Unauthorized {
            message: "401".into(),
        });
        assert!(matches!(
            dashboard_msg(1, denied, now),
            SourceMsg::State {
                state: SourceState::Unauthorized { .. },
                ..
            }
        ));
    }
}
