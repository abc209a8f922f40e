//! What `wscope relay` reads, as one stream of [`SourceMsg`]s: admin feeds (ws://, wss://),
//! logs being written (followed as they grow), capture files, and standard input (a capture
//! stream from `tcpdump -U -w -`, or log lines). Sources are numbered in command-line order.

use crate::event::Event;
use crate::source::capture::is_capture;
use crate::source::feed::{self, FeedOptions, Feeds};
use crate::source::follow::follow_log;
use crate::source::log::{LogReader, parse_chunk, read_head};
use crate::source::{SourceMsg, SourceState};
use color_eyre::{Result, eyre::eyre};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use tokio::sync::mpsc;

/// One source of the command line.
#[derive(Clone, Debug, PartialEq)]
pub enum Origin {
    /// An admin feed: its index among the feeds (to ask it for a snapshot).
    Feed { url: String, feed: usize },
    /// A file (a log followed as it grows, or a capture read once) or `-`.
    Local(PathBuf),
}

impl Origin {
    pub fn label(&self) -> String {
        match self {
            Origin::Feed { url, .. } => url.clone(),
            Origin::Local(p) if p.as_os_str() == "-" => "stdin".into(),
            Origin::Local(p) => p.display().to_string(),
        }
    }
}

/// Sorts the command line's sources; a URL is checked, a file must exist.
pub fn origins(sources: &[String]) -> Result<Vec<Origin>> {
    let mut feeds = 0;
    let mut stdin = false;
    sources
        .iter()
        .map(|s| {
            if s.contains("://") {
                feed::check_url(s)?;
                feeds += 1;
                return Ok(Origin::Feed {
                    url: s.clone(),
                    feed: feeds - 1,
                });
            }
            if s == "-" {
                if std::mem::replace(&mut stdin, true) {
                    return Err(eyre!("`-` (standard input) can be given once"));
                }
            } else if let Err(e) = std::fs::metadata(s) {
                return Err(eyre!("{}: {e}", crate::sanitize::inert(s)));
            }
            Ok(Origin::Local(PathBuf::from(s)))
        })
        .collect()
}

/// Starts reading every source; their messages arrive on the receiver. The feeds' handle
/// asks a feed for a snapshot; `stop` ends the followed logs.
pub fn spawn(
    origins: &[Origin],
    options: FeedOptions,
    ports: &[u16],
    stop: Arc<AtomicBool>,
) -> Result<(Option<Feeds>, mpsc::Receiver<SourceMsg>)> {
    let (tx, rx) = mpsc::channel::<SourceMsg>(4096);
    let urls: Vec<String> = origins
        .iter()
        .filter_map(|o| match o {
            Origin::Feed { url, .. } => Some(url.clone()),
            Origin::Local(_) => None,
        })
        .collect();
    let feeds = if urls.is_empty() {
        None
    } else {
        let (feeds, mut items) = feed::spawn(&urls, options).map_err(|e| eyre!(e))?;
        // The feeds count among themselves; the relay counts every source.
        let index_of: Vec<usize> = origins
            .iter()
            .enumerate()
            .filter(|(_, o)| matches!(o, Origin::Feed { .. }))
            .map(|(i, _)| i)
            .collect();
        let tx = tx.clone();
        tokio::spawn(async move {
            while let Some(mut msg) = items.recv().await {
                match &mut msg {
                    SourceMsg::Event { source, .. }
                    | SourceMsg::State { source, .. }
                    | SourceMsg::Skipped { source, .. } => *source = index_of[*source],
                }
                if tx.send(msg).await.is_err() {
                    return;
                }
            }
        });
        Some(feeds)
    };
    for (source, origin) in origins.iter().enumerate() {
        if let Origin::Local(path) = origin {
            let (path, tx, stop, ports) = (path.clone(), tx.clone(), stop.clone(), ports.to_vec());
            std::thread::Builder::new()
                .name(format!("wscope-relay-{source}"))
                .spawn(move || read_local(source, &path, &ports, stop, &tx))?;
        }
    }
    Ok((feeds, rx))
}

/// Reads one file or standard input to its end (a followed log: until `stop`), then says how
/// it ended as [`SourceState::Unreadable`].
fn read_local(
    source: usize,
    path: &Path,
    ports: &[u16],
    stop: Arc<AtomicBool>,
    tx: &mpsc::Sender<SourceMsg>,
) {
    // The relay gone: the process is ending.
    let send = |msg| drop(tx.blocking_send(msg));
    let mut on_events = |events: Vec<Event>| {
        for event in events {
            send(SourceMsg::event(source, event));
        }
    };
    let mut on_skipped = |count, why| send(SourceMsg::Skipped { source, count, why });
    send(SourceMsg::State {
        source,
        state: SourceState::Connected,
    });
    let ended = (|| -> Result<String, String> {
        let mut input: Box<dyn Read + Send> = if path.as_os_str() == "-" {
            Box::new(std::io::stdin())
        } else {
            Box::new(std::fs::File::open(path).map_err(|e| e.to_string())?)
        };
        let head = read_head(&mut input).map_err(|e| e.to_string())?;
        let input: Box<dyn Read + Send> = Box::new(std::io::Cursor::new(head.clone()).chain(input));
        if is_capture(&head) {
            let said =
                crate::source::capture::read_live(input, ports.to_vec(), None, &mut on_events)?;
            return Ok(format!("capture ended: {said}"));
        }
        if path.as_os_str() != "-" {
            follow_log(path, stop, &mut on_events, &mut on_skipped).map_err(|e| e.to_string())?;
            return Ok("stopped".into());
        }
        let mut reader = LogReader::from_reader(input)
            .map_err(|e| e.to_string())?
            .following();
        while let Some(chunk) = reader.next_chunk().map_err(|e| e.to_string())? {
            let parsed = parse_chunk(chunk);
            if parsed.skipped.count > 0 {
                let why = parsed.skipped.first.first();
                let why = why.map(|l| format!("line {}: {}", l.line, l.reason));
                on_skipped(parsed.skipped.count, why.unwrap_or_default());
            }
            on_events(parsed.events);
            reader.recycle(parsed.spent);
        }
        Ok("standard input ended".into())
    })();
    let message = ended.unwrap_or_else(|e| crate::sanitize::inert(&e).into_owned());
    send(SourceMsg::State {
        source,
        state: SourceState::Unreadable { message },
    });
}
