//! The events of feed protocol 1 (`shared/spec/feed-protocol.md`).
//!
//! One owned value type serves the three places the protocol names: the admin feed, recorded
//! logs and the in-process tap. [`wire`] turns JSON into [`Event`] and back.

pub mod codes;
mod scan;
pub mod snapshot;
pub mod state;
pub mod time;
pub mod wire;

pub use time::{SECOND, Ts};
pub use wire::{ParseError, parse_event, parse_event_str, to_json_line};

/// Strings from the network are short (ids, addresses); `CompactString` keeps those up to
/// 24 bytes inline, with no allocation per event.
pub type Str = compact_str::CompactString;

/// The protocol version this crate reads and writes.
pub const PROTOCOL: u32 = 1;

#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    pub ts: Ts,
    /// The emitting server; `None` means "the server of this source's latest `hello`".
    pub server: Option<Str>,
    pub kind: EventKind,
}

#[derive(Clone, Debug, PartialEq)]
pub enum EventKind {
    Hello(Hello),
    Snapshot(Snapshot),
    // The larger kinds are boxed: they are rare, and a small `Event` keeps a log's millions of
    // messages and pings cheap to move (88 bytes instead of 200).
    Open(Box<Open>),
    UpgradeRejected(Box<UpgradeRejected>),
    Ping {
        conn: Str,
    },
    Pong {
        conn: Str,
        rtt_ms: Option<f64>,
    },
    Message(Message),
    Close(Close),
    Error {
        conn: Option<Str>,
        message: Str,
    },
    Timer(Box<Timer>),
    AppState {
        conn: Str,
        state: AppState,
    },
    Dropped {
        count: u64,
    },
    Process {
        rss_bytes: Option<u64>,
        open_fds: Option<u64>,
    },
    /// A `type` this reader does not know: counted and skipped, never fatal.
    Unknown {
        type_name: Str,
    },
}

#[derive(Clone, Debug, PartialEq, Default)]
pub struct Hello {
    pub protocol: Option<u32>,
    pub software: Option<Str>,
    pub heartbeat: Option<Heartbeat>,
    /// The history that follows (feed-protocol extensions): written by emitters, not read
    /// back (a reader learns nothing from it that the events do not say).
    pub history: Option<HistoryInfo>,
}

/// `hello.history`: where the history sent after it starts, and how many events it holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HistoryInfo {
    pub from: Ts,
    pub events: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Heartbeat {
    pub ping_interval_ms: u64,
    pub pong_timeout_ms: u64,
}

#[derive(Clone, Debug, PartialEq, Default)]
pub struct Snapshot {
    pub connections: Vec<SnapshotConn>,
    pub timers: Vec<SnapshotTimer>,
    /// A large snapshot as read: its JSON line, whose entries [`Snapshot::each_entry`]
    /// reads one at a time (the vectors are then empty). See [`snapshot`].
    pub raw: Option<std::sync::Arc<str>>,
}

/// The fields of an `open`, as carried by `open` events and snapshot entries.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Open {
    pub conn: Str,
    pub remote: Option<Str>,
    pub user_agent: Option<Str>,
    pub path: Option<Str>,
    pub forwarded_for: Option<Str>,
    pub client: Option<Str>,
    pub subprotocol: Option<Str>,
}

#[derive(Clone, Debug, PartialEq, Default)]
pub struct SnapshotConn {
    pub open: Open,
    pub opened: Option<Ts>,
    pub last_activity: Option<Ts>,
    pub last_ping: Option<Ts>,
    pub last_pong: Option<Ts>,
    pub msgs_in: u64,
    pub msgs_out: u64,
    pub bytes_in: u64,
    pub bytes_out: u64,
}

#[derive(Clone, Debug, PartialEq, Default)]
pub struct SnapshotTimer {
    pub conn: Option<Str>,
    pub timer: Str,
    pub kind: Option<Str>,
    pub interval_ms: Option<u64>,
    pub started: Option<Ts>,
}

#[derive(Clone, Debug, PartialEq, Default)]
pub struct UpgradeRejected {
    pub remote: Option<Str>,
    pub user_agent: Option<Str>,
    pub path: Option<Str>,
    pub status: Option<u16>,
    pub reason: Option<Str>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dir {
    In,
    Out,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    pub conn: Str,
    pub dir: Dir,
    pub count: u64,
    pub bytes: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Initiator {
    Client,
    Server,
    None,
}

impl Initiator {
    /// `client`, `server` or `none`; anything else is unknown.
    pub fn parse(s: &str) -> Option<Initiator> {
        match s {
            "client" => Some(Initiator::Client),
            "server" => Some(Initiator::Server),
            "none" => Some(Initiator::None),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Initiator::Client => "client",
            Initiator::Server => "server",
            Initiator::None => "none",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Close {
    pub conn: Str,
    /// As received; `None` is a close frame without a status (counted as 1005).
    pub code: Option<u16>,
    pub reason: Option<Str>,
    /// `None` when the event did not say; the model then treats it as unknown.
    pub initiator: Option<Initiator>,
}

impl Close {
    /// The code to count: a missing status is 1005, as the spec says.
    pub fn effective_code(&self) -> u16 {
        self.code.unwrap_or(1005)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TimerOp {
    Start,
    Fire,
    Clear,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Timer {
    pub conn: Option<Str>,
    pub timer: Str,
    pub op: TimerOp,
    pub kind: Option<Str>,
    pub interval_ms: Option<u64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AppState {
    Background,
    Foreground,
}

impl EventKind {
    /// The `type` string of the protocol.
    pub fn type_name(&self) -> &str {
        match self {
            EventKind::Hello(_) => "hello",
            EventKind::Snapshot(_) => "snapshot",
            EventKind::Open(_) => "open",
            EventKind::UpgradeRejected(_) => "upgrade_rejected",
            EventKind::Ping { .. } => "ping",
            EventKind::Pong { .. } => "pong",
            EventKind::Message(_) => "message",
            EventKind::Close(_) => "close",
            EventKind::Error { .. } => "error",
            EventKind::Timer(_) => "timer",
            EventKind::AppState { .. } => "app_state",
            EventKind::Dropped { .. } => "dropped",
            EventKind::Process { .. } => "process",
            EventKind::Unknown { type_name } => type_name,
        }
    }

    /// The connection this event is about, if any.
    pub fn conn(&self) -> Option<&str> {
        match self {
            EventKind::Open(o) => Some(&o.conn),
            EventKind::Ping { conn }
            | EventKind::Pong { conn, .. }
            | EventKind::AppState { conn, .. } => Some(conn),
            EventKind::Message(m) => Some(&m.conn),
            EventKind::Close(c) => Some(&c.conn),
            EventKind::Error { conn, .. } => conn.as_deref(),
            EventKind::Timer(t) => t.conn.as_deref(),
            _ => None,
        }
    }
}

impl Event {
    pub fn new(ts: Ts, kind: EventKind) -> Event {
        Event {
            ts,
            server: None,
            kind,
        }
    }
}
