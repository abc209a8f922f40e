//! NATS as the bus of a fleet. A relay (`wscope relay`) publishes each server's events, one
//! feed-protocol line a message, to `SUBJECT.<server>`; `attach nats://HOST:PORT/SUBJECT.>`
//! subscribes to a wildcard and gets every server's stream.
//!
//! What NATS does not give, the messages carry in headers (the payload stays a protocol line):
//! - `Wscope-Seq`: a per-server count from 1. Core NATS is at-most-once: a gap in it is
//!   events lost (a slow consumer, a NATS restart), counted as `dropped` for that server,
//!   and the attach asks that server's relay for a snapshot.
//! - `Wscope-Part: K/N`: a snapshot larger than the server's `max_payload` is cut into `N`
//!   snapshots of some connections each; the attach joins them before the model sees one.
//!
//! Snapshots are asked for on `_WSCOPE.resync.SUBJECT.<server>` (outside the events'
//! wildcard); the relay passes the request to the server's admin feed as a `resync`.

use super::{SourceMsg, SourceState};
use crate::event::{Event, EventKind, Snapshot, parse_event};
use crate::sanitize::inert;
use async_nats::{ConnectOptions, HeaderMap};
use futures_util::StreamExt;
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

pub const SEQ_HEADER: &str = "Wscope-Seq";
pub const PART_HEADER: &str = "Wscope-Part";
/// How often a relay repeats each server's `hello`: an attach that joins late learns every
/// server within this time, and one whose `hello`s stop has gone quiet.
pub const HELLO_EVERY: Duration = Duration::from_secs(5);
/// At most one snapshot request per server in this time.
const RESYNC_EVERY: Duration = Duration::from_secs(5);

/// The token of a snapshot request for every server of a relay: an attach that starts asks
/// so, to know the fleet at once rather than within [`HELLO_EVERY`]. `%` followed by
/// letters beyond `F` is no token [`subject_token`] makes, so no server is called this.
pub const ALL_SERVERS: &str = "%all";

/// The subject a relay listens on for snapshot requests for the servers under `subject`.
pub fn resync_subject(subject: &str, token: &str) -> String {
    format!("_WSCOPE.resync.{subject}.{token}")
}

/// A server name as one subject token: bytes other than ASCII letters, digits, `-` and `_`
/// become `%XX` (a `.` would split the token, `*` and `>` are wildcards, spaces end it).
pub fn subject_token(name: &str) -> String {
    if name.is_empty() {
        return "%".into();
    }
    let mut out = String::with_capacity(name.len());
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// How to reach and log in to a NATS server.
#[derive(Clone, Debug, Default)]
pub struct NatsAuth {
    pub token: Option<String>,
    pub user: Option<String>,
    pub password: Option<String>,
    /// A `.creds` file (JWT and NKey seed).
    pub creds: Option<PathBuf>,
    /// CA certificates (PEM) to trust beyond the system's, for `tls://` servers.
    pub ca: Option<PathBuf>,
}

/// `nats://HOST:PORT/SUBJECT` (or `tls://`) split into the server and the subject.
#[derive(Clone, Debug, PartialEq)]
pub struct NatsTarget {
    pub server: String,
    pub subject: String,
}

pub fn is_nats_url(url: &str) -> bool {
    url.starts_with("nats://") || url.starts_with("tls://")
}

/// Parses `nats://HOST[:PORT][/SUBJECT]`; `default_subject` when no subject is given.
pub fn parse_target(url: &str, default_subject: &str) -> Result<NatsTarget, String> {
    let shown = inert(url);
    let (scheme, rest) = url
        .split_once("://")
        .filter(|(s, _)| matches!(*s, "nats" | "tls"))
        .ok_or_else(|| format!("{shown}: not a NATS URL (nats://HOST:PORT/SUBJECT)"))?;
    let (authority, subject) = rest.split_once('/').unwrap_or((rest, ""));
    if authority.is_empty() || authority.contains('@') {
        return Err(format!(
            "{shown}: give HOST:PORT (credentials go in --nats-user, --nats-password, \
             --nats-token or --nats-creds, not in the URL)"
        ));
    }
    let subject = if subject.is_empty() {
        default_subject
    } else {
        subject
    };
    check_subject(subject).map_err(|e| format!("{shown}: {e}"))?;
    let port = if authority.contains(':') { "" } else { ":4222" };
    Ok(NatsTarget {
        server: format!("{scheme}://{authority}{port}"),
        subject: subject.to_string(),
    })
}

fn check_subject(subject: &str) -> Result<(), String> {
    let tokens: Vec<&str> = subject.split('.').collect();
    let bad = tokens.iter().enumerate().any(|(i, t)| {
        t.is_empty()
            || t.chars().any(|c| c.is_whitespace() || c.is_control())
            || (*t == ">" && i + 1 != tokens.len())
            || (t.len() > 1 && t.contains(['*', '>']))
    });
    if bad {
        Err(format!(
            "`{}` is not a NATS subject (tokens separated by dots, `>` only last)",
            inert(subject)
        ))
    } else {
        Ok(())
    }
}

/// Connects (and keeps reconnecting, as async-nats does), reporting its state changes to
/// `on_event`. A NATS server not up yet is waited for, like a feed that is not up.
pub async fn connect(
    target: &NatsTarget,
    auth: &NatsAuth,
    name: &str,
    on_event: impl Fn(async_nats::Event) + Send + Sync + Clone + 'static,
) -> Result<async_nats::Client, String> {
    let mut options = match &auth.creds {
        Some(path) => ConnectOptions::new()
            .credentials_file(path)
            .await
            .map_err(|e| format!("cannot read {}: {e}", inert(&path.display().to_string())))?,
        None => ConnectOptions::new(),
    };
    if let Some(token) = &auth.token {
        options = options.token(token.clone());
    }
    if let (Some(user), Some(password)) = (&auth.user, &auth.password) {
        options = options.user_and_password(user.clone(), password.clone());
    }
    if let Some(ca) = &auth.ca {
        options = options.add_root_certificates(ca.clone()).require_tls(true);
    }
    if target.server.starts_with("tls://") {
        options = options.require_tls(true);
    }
    if target.server.starts_with("tls://") || auth.ca.is_some() {
        check_tls(&target.server, auth.ca.as_deref()).await?;
    }
    options
        .name(name)
        .retry_on_initial_connect()
        .max_reconnects(None)
        .subscription_capacity(65_536)
        .event_callback(move |event| {
            let on_event = on_event.clone();
            async move { on_event(event) }
        })
        .connect(target.server.as_str())
        .await
        .map_err(|e| format!("{}: {e}", inert(&target.server)))
}

/// Tries one TLS handshake with the NATS server before the client does: async-nats keeps
/// retrying an untrusted certificate and says only "IO error", so the reason is found here
/// and said once. A server that is not up, or speaks otherwise, is left to the client.
async fn check_tls(server: &str, ca: Option<&std::path::Path>) -> Result<(), String> {
    use tokio::io::AsyncBufReadExt;
    let addr = server.split_once("://").map_or(server, |(_, a)| a);
    let host = addr.rsplit_once(':').map_or(addr, |(h, _)| h);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let Ok(Ok(tcp)) =
        tokio::time::timeout(Duration::from_secs(3), tokio::net::TcpStream::connect(addr)).await
    else {
        return Ok(());
    };
    // NATS says INFO in the clear, then the client starts TLS.
    let mut reader = tokio::io::BufReader::new(tcp);
    let mut info = String::new();
    let read = tokio::time::timeout(Duration::from_secs(3), reader.read_line(&mut info)).await;
    if !matches!(read, Ok(Ok(_))) || !info.starts_with("INFO ") {
        return Ok(());
    }
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
    if let Some(ca) = ca {
        use rustls_pki_types::pem::PemObject;
        let shown = inert(&ca.display().to_string()).into_owned();
        let certs = rustls_pki_types::CertificateDer::pem_file_iter(ca)
            .map_err(|e| format!("cannot read {shown}: {e}"))?;
        for cert in certs {
            let cert = cert.map_err(|e| format!("{shown}: {e}"))?;
            roots.add(cert).map_err(|e| format!("{shown}: {e}"))?;
        }
    }
    let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| format!("TLS setup: {e}"))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    let Ok(name) = rustls_pki_types::ServerName::try_from(host.to_string()) else {
        return Ok(());
    };
    let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config));
    match connector.connect(name, reader.into_inner()).await {
        Err(e) if e.to_string().to_lowercase().contains("certificate") => Err(format!(
            "{}: the NATS server's TLS certificate is not trusted ({}): give its CA with \
             --nats-ca",
            inert(server),
            inert(&e.to_string())
        )),
        _ => Ok(()),
    }
}

/// What to tell the user when NATS refused the login (async-nats reports it as a client or
/// a server error, by its text); `None` for any other event.
pub fn refused_login(event: &async_nats::Event) -> Option<String> {
    let text = match event {
        async_nats::Event::ServerError(e) => e.to_string(),
        async_nats::Event::ClientError(e) => e.to_string(),
        _ => return None,
    };
    text.to_lowercase().contains("authorization").then(|| {
        format!(
            "NATS refused the login ({}): check --nats-token, --nats-user and \
             --nats-password, or --nats-creds",
            inert(&text)
        )
    })
}

/// The headers of one message of a server's stream.
pub fn headers(seq: u64, part: Option<(usize, usize)>) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(SEQ_HEADER, seq.to_string().as_str());
    if let Some((k, n)) = part {
        h.insert(PART_HEADER, format!("{k}/{n}").as_str());
    }
    h
}

/// A snapshot's line cut into lines of at most `max` bytes, each a snapshot of some of its
/// connections (the timers ride with the first). One line when it fits.
pub fn split_snapshot(ev: &Event, snap: &Snapshot, line: String, max: usize) -> Vec<String> {
    if line.len() <= max {
        return vec![line];
    }
    let (mut conns, mut timers) = (Vec::new(), Vec::new());
    snap.each_entry(&mut |c| conns.push(c.clone()), &mut |t| {
        timers.push(t.clone())
    });
    let mut parts = line.len().div_ceil(max.max(1)) + 1;
    loop {
        let per = conns.len().div_ceil(parts).max(1);
        let lines: Vec<String> = conns
            .chunks(per)
            .enumerate()
            .map(|(i, chunk)| {
                let part = Snapshot {
                    connections: chunk.to_vec(),
                    timers: if i == 0 { timers.clone() } else { Vec::new() },
                    raw: None,
                };
                let mut e = ev.clone();
                e.kind = EventKind::Snapshot(part);
                crate::event::to_json_line(&e)
            })
            .collect();
        // One entry larger than `max` cannot be cut: it goes as it is.
        if per == 1 || lines.iter().all(|l| l.len() <= max) {
            return lines;
        }
        parts *= 2;
    }
}

/// What the attach knows of one server's stream.
#[derive(Default)]
struct Stream {
    last_seq: u64,
    parts: Vec<Snapshot>,
    last_resync: Option<Instant>,
}

/// Subscribes to `target` and sends its events, as source `source`, down `tx`; the server
/// states (connected, lost) as the source's state. Ends when `tx` closes.
pub async fn subscribe(
    target: NatsTarget,
    auth: NatsAuth,
    source: usize,
    tx: mpsc::Sender<SourceMsg>,
) {
    let state_tx = tx.clone();
    let on_event = move |event: async_nats::Event| {
        let state = match event {
            async_nats::Event::Connected => SourceState::Connected,
            async_nats::Event::Disconnected => SourceState::Retrying {
                reason: "lost the NATS server".into(),
                retry_in: Duration::from_secs(1),
                since: Instant::now(),
            },
            other => match refused_login(&other) {
                Some(message) => SourceState::Unauthorized { message },
                None => return,
            },
        };
        let _ = state_tx.try_send(SourceMsg::State { source, state });
    };
    let _ = tx
        .send(SourceMsg::State {
            source,
            state: SourceState::Connecting { attempt: 1 },
        })
        .await;
    let client = match connect(&target, &auth, "wscope attach", on_event).await {
        Ok(c) => c,
        Err(message) => {
            let state = SourceState::Unreadable { message };
            let _ = tx.send(SourceMsg::State { source, state }).await;
            return;
        }
    };
    let mut sub = match client.subscribe(target.subject.clone()).await {
        Ok(sub) => sub,
        Err(e) => {
            let message = format!("cannot subscribe to {}: {e}", inert(&target.subject));
            let state = SourceState::Unreadable { message };
            let _ = tx.send(SourceMsg::State { source, state }).await;
            return;
        }
    };
    let resync_root = target.subject.trim_end_matches(".>").trim_end_matches(".*");
    let _ = client
        .publish(resync_subject(resync_root, ALL_SERVERS), "resync".into())
        .await;
    let mut streams: HashMap<String, Stream> = HashMap::new();
    while let Some(msg) = sub.next().await {
        let subject = msg.subject.as_str();
        let header = |name: &str| {
            let h = msg.headers.as_ref()?.get(name)?;
            Some(h.as_str().to_owned())
        };
        let seq: Option<u64> = header(SEQ_HEADER).and_then(|v| v.parse().ok());
        let part = header(PART_HEADER).and_then(|v| {
            let (k, n) = v.split_once('/')?;
            Some((k.parse::<usize>().ok()?, n.parse::<usize>().ok()?))
        });
        let event = match parse_event(&msg.payload) {
            Ok(ev) => ev,
            Err(e) => {
                let why = inert(&format!("{subject}: {e}")).into_owned();
                let skipped = SourceMsg::Skipped {
                    source,
                    count: 1,
                    why,
                };
                if tx.send(skipped).await.is_err() {
                    return;
                }
                continue;
            }
        };
        // One lookup per message; the subject is copied once, for a new stream.
        let stream = match streams.get_mut(subject) {
            Some(stream) => stream,
            None => streams.entry(subject.to_owned()).or_default(),
        };
        let (out, resync) = stream.take(event, seq, part);
        if resync {
            let token = subject.rsplit('.').next().unwrap_or_default();
            let _ = client
                .publish(resync_subject(resync_root, token), "resync".into())
                .await;
        }
        for ev in out {
            if tx.send(SourceMsg::event(source, ev)).await.is_err() {
                return;
            }
        }
    }
}

impl Stream {
    /// One message of this server's stream: the events it gives the model (a `dropped` for a
    /// gap before it, nothing for a snapshot part until the last), and whether to ask the
    /// relay for a snapshot now.
    fn take(
        &mut self,
        event: Event,
        seq: Option<u64>,
        part: Option<(usize, usize)>,
    ) -> (Vec<Event>, bool) {
        let mut out = Vec::new();
        let mut resync = false;
        if let Some(seq) = seq {
            // Joining a stream already under way: what came before is asked for as a
            // snapshot, not counted as lost (unless the stream starts with one).
            let starts_state =
                matches!(event.kind, EventKind::Snapshot(_)) && part.is_none_or(|(k, _)| k == 1);
            let late = self.last_seq == 0 && seq > 1 && !starts_state;
            let lost = match self.last_seq {
                0 => 0,
                last if seq > last + 1 => seq - last - 1,
                // A relay that started again counts from 1: a new stream, nothing lost.
                last if seq <= last => {
                    self.parts.clear();
                    0
                }
                _ => 0,
            };
            self.last_seq = seq;
            if lost > 0 {
                self.parts.clear();
                let mut dropped = Event::new(event.ts, EventKind::Dropped { count: lost });
                dropped.server.clone_from(&event.server);
                out.push(dropped);
            }
            if (lost > 0 || late) && self.last_resync.is_none_or(|t| t.elapsed() >= RESYNC_EVERY) {
                self.last_resync = Some(Instant::now());
                resync = true;
            }
        }
        match (part, event.kind) {
            (Some((k, n)), EventKind::Snapshot(snap)) if n > 1 => {
                if k == 1 {
                    self.parts.clear();
                }
                if self.parts.len() + 1 == k {
                    self.parts.push(snap);
                }
                if k == n && self.parts.len() == n {
                    let whole = join_parts(std::mem::take(&mut self.parts));
                    out.push(Event {
                        ts: event.ts,
                        server: event.server,
                        kind: EventKind::Snapshot(whole),
                    });
                }
            }
            (_, kind) => out.push(Event {
                ts: event.ts,
                server: event.server,
                kind,
            }),
        }
        (out, resync)
    }
}

fn join_parts(parts: Vec<Snapshot>) -> Snapshot {
    let mut whole = Snapshot::default();
    for part in &parts {
        part.each_entry(&mut |c| whole.connections.push(c.clone()), &mut |t| {
            whole.timers.push(t.clone())
        });
    }
    whole
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gap_is_counted_for_its_server_and_a_restart_is_not() {
        let ping = || {
            let mut ev = Event::new(
                crate::scenario::START,
                EventKind::Ping { conn: "c1".into() },
            );
            ev.server = Some("edge-1".into());
            ev
        };
        let mut s = Stream::default();
        let kinds = |out: &[Event]| -> Vec<String> {
            out.iter().map(|e| e.kind.type_name().to_string()).collect()
        };
        // Joining late: a snapshot is asked for, nothing counted lost.
        let (out, resync) = s.take(ping(), Some(7), None);
        assert_eq!(kinds(&out), ["ping"]);
        assert!(resync);
        let (out, resync) = s.take(ping(), Some(8), None);
        assert_eq!(kinds(&out), ["ping"]);
        assert!(!resync);
        // Three lost: counted for edge-1; the snapshot was asked for too recently to ask again.
        let (out, resync) = s.take(ping(), Some(12), None);
        assert_eq!(kinds(&out), ["dropped", "ping"]);
        assert!(matches!(out[0].kind, EventKind::Dropped { count: 3 }));
        assert_eq!(out[0].server.as_deref(), Some("edge-1"));
        assert!(!resync);
        // The relay started again: a new stream.
        let (out, _) = s.take(ping(), Some(1), None);
        assert_eq!(kinds(&out), ["ping"]);
        // A stream that starts with a snapshot (a relay answering a new attach) is not late.
        let mut s = Stream::default();
        let mut snap = Event::new(
            crate::scenario::START,
            EventKind::Snapshot(Snapshot::default()),
        );
        snap.server = Some("edge-1".into());
        let (out, resync) = s.take(snap, Some(40), None);
        assert_eq!(kinds(&out), ["snapshot"]);
        assert!(!resync);
    }

    #[test]
    fn no_server_is_called_all() {
        for name in ["%all", "all", "%ALL"] {
            assert_ne!(subject_token(name), ALL_SERVERS, "{name}");
        }
    }

    #[test]
    fn names_become_single_tokens() {
        assert_eq!(subject_token("chat-1"), "chat-1");
        assert_eq!(subject_token("eu.west 1>*"), "eu%2Ewest%201%3E%2A");
        assert_eq!(subject_token("100%"), "100%25");
        assert_eq!(subject_token(""), "%");
    }

    #[test]
    fn targets_split_into_server_and_subject() {
        let t = parse_target("nats://127.0.0.1:4222/wscope.prod.>", "x").unwrap();
        assert_eq!(t.server, "nats://127.0.0.1:4222");
        assert_eq!(t.subject, "wscope.prod.>");
        let t = parse_target("tls://nats.example", "wscope.default").unwrap();
        assert_eq!(t.server, "tls://nats.example:4222");
        assert_eq!(t.subject, "wscope.default");
        for bad in [
            "ws://x/y",
            "nats://u:p@host/wscope",
            "nats://host/wscope..x",
            "nats://host/a.>.b",
            "nats://host/a b",
        ] {
            assert!(parse_target(bad, "s").is_err(), "{bad}");
        }
    }

    #[test]
    fn a_large_snapshot_is_cut_into_parts_that_join_again() {
        use crate::event::{Open, SnapshotConn};
        let connections: Vec<SnapshotConn> = (0..5000)
            .map(|i| SnapshotConn {
                open: Open {
                    conn: format!("conn-{i}").into(),
                    user_agent: Some("Mozilla/5.0 (X11; Linux x86_64)".into()),
                    ..Open::default()
                },
                msgs_in: i,
                ..SnapshotConn::default()
            })
            .collect();
        let snap = Snapshot {
            connections,
            ..Snapshot::default()
        };
        let ev = Event::new(crate::scenario::START, EventKind::Snapshot(snap.clone()));
        let line = crate::event::to_json_line(&ev);
        let lines = split_snapshot(&ev, &snap, line.clone(), 64 * 1024);
        assert!(lines.len() > 1 && lines.iter().all(|l| l.len() <= 64 * 1024));
        let parts: Vec<Snapshot> = lines
            .iter()
            .map(|l| match parse_event(l.as_bytes()).unwrap().kind {
                EventKind::Snapshot(s) => s,
                _ => unreachable!(),
            })
            .collect();
        assert_eq!(join_parts(parts), snap);
        assert_eq!(split_snapshot(&ev, &snap, line.clone(), line.len()), [line]);
    }
}
