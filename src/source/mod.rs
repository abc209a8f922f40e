//! Where events come from: recorded logs, packet captures, live admin feeds (and the
//! in-process tap), and where they go when recorded.

pub mod capture;
pub mod feed;
pub mod follow;
pub mod log;
pub mod log_index;
pub mod merge;
pub mod nats;
mod parallel;
pub mod record;

use crate::event::Event;
use std::io::{self, Read};
use std::path::Path;
use std::time::{Duration, Instant};

/// What a live source (an admin feed, the in-process tap, a capture) tells its consumer: the
/// dashboard, a headless run, a recorder. `source` is the source's index in the command line.
#[derive(Debug)]
pub enum SourceMsg {
    Event {
        source: usize,
        event: Event,
        /// The line as received, when the source had one (a feed's text frame): recorded as
        /// is. Without it the event is written out again.
        raw: Option<String>,
        /// A live feed's budget for frames not yet applied, given back once this is.
        queued: feed::QueuedBytes,
    },
    State {
        source: usize,
        state: SourceState,
    },
    /// Frames or lines that were not valid events: counted (shown as skipped), never fatal.
    Skipped {
        source: usize,
        count: u64,
        /// What was wrong with the last of them, already made inert.
        why: String,
    },
}

impl SourceMsg {
    /// An event with no line of its own and no queue budget (the tap, a capture).
    pub fn event(source: usize, event: Event) -> SourceMsg {
        SourceMsg::Event {
            source,
            event,
            raw: None,
            queued: feed::QueuedBytes::default(),
        }
    }
}

/// The connection state of one source, as the header shows it.
#[derive(Clone, Debug, PartialEq)]
pub enum SourceState {
    /// A feed's attempt `attempt` (from 1) is under way.
    Connecting {
        attempt: u32,
    },
    Connected,
    /// Lost: the next attempt starts `retry_in` after `since` (the header counts down).
    Retrying {
        reason: String,
        retry_in: Duration,
        since: Instant,
    },
    /// The feed answered 401 or 403: the token is wrong or missing; no retry.
    Unauthorized {
        message: String,
    },
    /// A recorded log being replayed.
    Log,
    /// A source that can no longer be read (a replayed log changed or removed, a capture
    /// that ended): nothing more comes from it.
    Unreadable {
        message: String,
    },
}

/// A file (or `-`, standard input) as its first bytes say it is.
pub enum Input {
    Log(log::LogReader),
    /// A pcap or pcapng capture, from its first byte.
    Capture(Box<dyn Read + Send>),
}

/// Opens a log or a capture, whatever it is called.
pub fn open_input(path: &Path) -> io::Result<Input> {
    let mut input: Box<dyn Read + Send> = if path.as_os_str() == "-" {
        Box::new(io::stdin())
    } else {
        if std::fs::metadata(path)?.is_dir() {
            return Err(io::Error::other("is a directory, not a log file"));
        }
        Box::new(std::fs::File::open(path)?)
    };
    let head = log::read_head(&mut input)?;
    let chained: Box<dyn Read + Send> = Box::new(io::Cursor::new(head.clone()).chain(input));
    if capture::is_capture(&head) {
        Ok(Input::Capture(chained))
    } else {
        log::LogReader::from_reader(chained).map(Input::Log)
    }
}
