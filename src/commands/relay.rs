//! `wscope relay SOURCE... --to nats://HOST:PORT`: a sidecar that publishes what it reads
//! (admin feeds, logs being written, captures) to NATS, one subject per server, so one
//! `attach nats://…` watches a fleet (see [`crate::source::nats`] for what the messages
//! carry). Servers read from a file or a capture cannot be asked for a snapshot: the relay
//! keeps their open connections and timers itself and answers for them.

use super::relay_batch::MessageBatcher;
use super::relay_sources::{self, Origin};
use crate::event::state::FeedState;
use crate::event::{Event, EventKind, Str, to_json_line};
use crate::sanitize::inert;
use crate::source::feed::FeedOptions;
use crate::source::nats::{
    self, HELLO_EVERY, NatsAuth, headers, parse_target, resync_subject, split_snapshot,
    subject_token,
};
use crate::source::{SourceMsg, SourceState};
use color_eyre::{Result, eyre::eyre};
use futures_util::StreamExt;
use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;
use tokio::signal::unix::{SignalKind, signal};

/// How to log in to NATS (shared by `relay` and `attach nats://`).
#[derive(clap::Args, Debug, Clone, Default)]
pub struct NatsAuthArgs {
    /// NATS token. Prefer the environment variable: a command line shows in `ps`.
    #[arg(
        long,
        env = "WSCOPE_NATS_TOKEN",
        hide_env_values = true,
        value_name = "T"
    )]
    pub nats_token: Option<String>,
    #[arg(long, value_name = "USER", requires = "nats_password")]
    pub nats_user: Option<String>,
    #[arg(
        long,
        env = "WSCOPE_NATS_PASSWORD",
        hide_env_values = true,
        value_name = "P"
    )]
    pub nats_password: Option<String>,
    /// A NATS credentials file (.creds: JWT and NKey seed).
    #[arg(long, value_name = "FILE")]
    pub nats_creds: Option<PathBuf>,
    /// CA certificates (PEM) for a tls:// NATS server with a private CA.
    #[arg(long, value_name = "FILE")]
    pub nats_ca: Option<PathBuf>,
}

impl NatsAuthArgs {
    pub fn auth(&self) -> NatsAuth {
        NatsAuth {
            token: self.nats_token.clone(),
            user: self.nats_user.clone(),
            password: self.nats_password.clone(),
            creds: self.nats_creds.clone(),
            ca: self.nats_ca.clone(),
        }
    }
}

#[derive(clap::Args, Debug)]
pub struct RelayArgs {
    /// What to relay: admin feed URLs (ws://, wss://); logs, followed as they are written
    /// (truncation and rotation included); capture files (pcap, pcapng); `-` for a capture
    /// stream or log lines on standard input (`tcpdump -U -w - port 8080 | wscope relay -`).
    #[arg(required = true, value_name = "SOURCE")]
    pub sources: Vec<String>,
    /// In a capture, the servers' port (repeatable): taken as the server's side.
    #[arg(long, short, value_name = "PORT")]
    pub port: Vec<u16>,
    /// The NATS server: nats://HOST:PORT (or tls://HOST:PORT).
    #[arg(long, value_name = "URL")]
    pub to: String,
    /// Events of server S go to SUBJECT.S (S escaped into one subject token).
    #[arg(long, value_name = "SUBJECT", default_value = "wscope.default")]
    pub subject: String,
    /// The admin feeds' token, sent as `Authorization: Bearer`.
    #[arg(long, env = "WSCOPE_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Stop after this long (default: until Ctrl-C, SIGTERM or SIGHUP).
    #[arg(long, value_parser = super::parse_duration)]
    pub duration: Option<Duration>,
    #[command(flatten)]
    pub nats: NatsAuthArgs,
}

/// One server as the relay publishes it.
struct Server {
    /// Its name, set on every event published for it.
    name: Str,
    /// Its name as a subject token, and the subject its events go to.
    token: String,
    subject: String,
    /// The source it came from, to ask for a snapshot.
    source: usize,
    /// What is open, for a server of a source that cannot be asked (a file, a capture).
    state: Option<FeedState>,
    seq: u64,
    hello: Option<Event>,
    last_ts: crate::event::Ts,
}

pub fn run(args: RelayArgs) -> Result<ExitCode> {
    let origins = relay_sources::origins(&args.sources)?;
    if args.subject.contains(['*', '>']) {
        return Err(eyre!("--subject is where events go: no wildcards"));
    }
    let target = parse_target(
        &format!("{}/{}", args.to.trim_end_matches('/'), args.subject),
        "",
    )
    .map_err(|e| eyre!(e))?;
    let runtime = super::runtime(super::Threads::Two)?;
    runtime.block_on(relay(args, origins, target))
}

async fn relay(
    args: RelayArgs,
    origins: Vec<Origin>,
    target: nats::NatsTarget,
) -> Result<ExitCode> {
    let shown = inert(&target.server).into_owned();
    // A refused login is not retried: it ends the relay with the reason.
    let (refused_tx, mut refused_rx) = tokio::sync::mpsc::channel::<String>(1);
    let on_event = {
        let shown = shown.clone();
        // Reconnecting fails every few hundred milliseconds while NATS is away: the first
        // failure is said, the rest until the next connection are not.
        let said_error = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let refused = refused_tx.clone();
        move |event: async_nats::Event| {
            use std::sync::atomic::Ordering::Relaxed;
            if let Some(message) = nats::refused_login(&event) {
                let _ = refused.try_send(message);
                return;
            }
            match event {
                async_nats::Event::Connected => {
                    said_error.store(false, Relaxed);
                    eprintln!("wscope relay: {shown}: connected")
                }
                async_nats::Event::Disconnected => {
                    eprintln!("wscope relay: {shown}: lost; reconnecting")
                }
                async_nats::Event::ClientError(_) if said_error.swap(true, Relaxed) => {}
                other => eprintln!("wscope relay: {shown}: {}", inert(&other.to_string())),
            }
        }
    };
    let client = nats::connect(&target, &args.nats.auth(), "wscope relay", on_event)
        .await
        .map_err(|e| eyre!(e))?;
    let options = FeedOptions {
        token: args.token.clone(),
        ..FeedOptions::default()
    };
    let stop = Arc::new(AtomicBool::new(false));
    let (feeds, mut items) = relay_sources::spawn(&origins, options, &args.port, stop.clone())?;
    let mut ended = 0;
    let mut resyncs = client
        .subscribe(resync_subject(&target.subject, "*"))
        .await
        .map_err(|e| eyre!("{shown}: cannot subscribe: {e}"))?;

    let mut servers: HashMap<Str, Server> = HashMap::new();
    // Per source: the server its latest `hello` named.
    let mut current: Vec<Option<Str>> = vec![None; origins.len()];
    let mut messages = MessageBatcher::default();
    let mut flush_tick = tokio::time::interval(MessageBatcher::EVERY);
    let mut hello_tick = tokio::time::interval(HELLO_EVERY);
    let (mut hangup, mut terminate, mut interrupt) = (
        signal(SignalKind::hangup())?,
        signal(SignalKind::terminate())?,
        signal(SignalKind::interrupt())?,
    );
    let deadline = tokio::time::sleep(args.duration.unwrap_or(Duration::from_secs(u64::MAX / 4)));
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            Some(message) = refused_rx.recv() => return Err(eyre!("{shown}: {message}")),
            _ = &mut deadline => break,
            _ = hangup.recv() => break,
            _ = terminate.recv() => break,
            _ = interrupt.recv() => break,
            item = items.recv() => match item {
                Some(SourceMsg::Event { source, mut event, .. }) => {
                    let name = event
                        .server
                        .clone()
                        .or_else(|| current[source].clone())
                        .unwrap_or_else(|| format!("feed-{}", source + 1).into());
                    if let EventKind::Hello(_) = event.kind {
                        current[source] = Some(name.clone());
                    }
                    event.server = Some(name.clone());
                    let local = matches!(origins[source], Origin::Local(_));
                    let server = servers.entry(name.clone()).or_insert_with(|| Server {
                        name: name.clone(),
                        token: subject_token(&name),
                        subject: format!("{}.{}", target.subject, subject_token(&name)),
                        source,
                        state: None,
                        seq: 0,
                        hello: None,
                        last_ts: event.ts,
                    });
                    server.source = source;
                    server.last_ts = server.last_ts.max(event.ts);
                    if let EventKind::Hello(_) = event.kind {
                        server.hello = Some(event.clone());
                    }
                    if local {
                        server.state.get_or_insert_with(FeedState::default).apply(event.ts, &event.kind);
                    }
                    for earlier in messages.take(&event) {
                        publish(&client, server, &earlier).await;
                    }
                    if !messages.hold(&name, &event) {
                        publish(&client, server, &event).await;
                    }
                }
                Some(SourceMsg::State { source, state }) => {
                    let label = inert(&origins[source].label()).into_owned();
                    match state {
                        SourceState::Connected => eprintln!("wscope relay: {label}: connected"),
                        SourceState::Retrying { reason, .. } => {
                            eprintln!("wscope relay: {label}: {}", inert(&reason))
                        }
                        SourceState::Unauthorized { message } => {
                            return Err(eyre!("{label}: {message} (check --token or WSCOPE_TOKEN)"));
                        }
                        SourceState::Unreadable { message } => {
                            eprintln!("wscope relay: {label}: {message}");
                            ended += 1;
                            if ended == origins.len() {
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                Some(SourceMsg::Skipped { source, count, why }) => {
                    let label = inert(&origins[source].label()).into_owned();
                    eprintln!("wscope relay: {label}: skipped {count} lines that are no events ({why})");
                }
                None => break,
            },
            _ = flush_tick.tick() => {
                for (name, event) in messages.drain() {
                    if let Some(server) = servers.get_mut(&name) {
                        publish(&client, server, &event).await;
                    }
                }
            }
            _ = hello_tick.tick() => {
                // Every server's `hello` again, at its latest event time: an attach that
                // joins late learns each server, and one whose hellos stop has gone quiet.
                for server in servers.values_mut() {
                    if let Some(mut hello) = server.hello.clone() {
                        hello.ts = server.last_ts;
                        publish(&client, server, &hello).await;
                    }
                }
            }
            Some(request) = resyncs.next() => {
                let token = request.subject.rsplit('.').next().unwrap_or_default();
                for server in servers.values_mut() {
                    if token == nats::ALL_SERVERS || server.token == token {
                        resync(&client, server, &origins, feeds.as_ref()).await;
                    }
                }
            }
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for (name, event) in messages.drain() {
        if let Some(server) = servers.get_mut(&name) {
            publish(&client, server, &event).await;
        }
    }
    // What is buffered goes out, unless NATS is away: a relay told to stop does not wait for it.
    let _ = tokio::time::timeout(Duration::from_secs(2), client.flush()).await;
    Ok(ExitCode::SUCCESS)
}

/// Answers a snapshot request for `server`: a feed is asked for one (it comes back as its
/// next event); a file's or capture's server gets the relay's own, then its `hello`.
async fn resync(
    client: &async_nats::Client,
    server: &mut Server,
    origins: &[Origin],
    feeds: Option<&crate::source::feed::Feeds>,
) {
    match (&origins[server.source], &server.state, feeds) {
        (Origin::Feed { feed, .. }, _, Some(feeds)) => feeds.request_resync(*feed),
        (_, Some(state), _) => {
            let mut snapshot = Event::new(server.last_ts, EventKind::Snapshot(state.snapshot()));
            snapshot.server = Some(server.name.clone());
            publish(client, server, &snapshot).await;
            if let Some(mut hello) = server.hello.clone() {
                hello.ts = server.last_ts;
                publish(client, server, &hello).await;
            }
        }
        _ => {}
    }
}

/// Publishes one event of `server`, cut into parts when it is a snapshot over the NATS
/// server's `max_payload`. Publishing waits only for room in the client's buffer; while NATS
/// is away the relay's feeds back up and their servers drop events (counted), never wait.
async fn publish(client: &async_nats::Client, server: &mut Server, ev: &Event) {
    let line = to_json_line(ev);
    let lines = match &ev.kind {
        EventKind::Snapshot(snap) => {
            // The NATS server's limit, with room for the headers and the protocol's framing.
            let max = match client.server_info().max_payload {
                0 => 1 << 20,
                n => n,
            };
            split_snapshot(ev, snap, line, max.saturating_sub(4096))
        }
        _ => vec![line],
    };
    let n = lines.len();
    for (i, line) in lines.into_iter().enumerate() {
        server.seq += 1;
        let part = (n > 1).then_some((i + 1, n));
        let _ = client
            .publish_with_headers(
                server.subject.clone(),
                headers(server.seq, part),
                line.into(),
            )
            .await;
    }
}
