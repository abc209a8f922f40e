//! One WebSocket connection as the capture sees it: frames in both directions become the
//! events a tap would have emitted (pings and pongs with RTT, aggregated messages, the close).

use super::frames::{Frame, FrameParser, Kind, close_payload};
use super::stream::Piece;
use crate::event::{Dir, EventKind, Initiator, Message, Open, SnapshotConn, Str, Ts};
use std::collections::VecDeque;

/// Pings awaiting their pong, per connection: enough to match the pong of a late answer.
const OUTSTANDING_PINGS: usize = 4;

/// How a connection ended.
#[derive(Clone, Debug, PartialEq)]
pub struct End {
    pub ts: Ts,
    pub code: Option<u16>,
    pub reason: String,
    pub initiator: Initiator,
}

/// What a connection tells its server while its frames are read.
#[derive(Default)]
pub struct Said {
    pub events: Vec<(Ts, EventKind)>,
    /// Seconds between two pings the server sent on one connection.
    pub ping_gaps: Vec<f64>,
    /// The first frame of a connection joined in its middle was found.
    pub discovered: bool,
    pub damaged_closes: u64,
    /// Holes in a connection's stream.
    pub gaps: u64,
    frames: Vec<Frame>,
    /// Every frame, when asked for ([`super::trace_frames`]).
    pub trace: Option<Vec<TracedFrame>>,
}

/// A frame as a protocol analyser lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TracedFrame {
    /// The client's address: which connection.
    pub client: String,
    /// `In`: from the client.
    pub dir: Dir,
    /// RFC 6455 opcode.
    pub opcode: u8,
    pub fin: bool,
    pub len: u64,
    /// A close frame's status code.
    pub close_code: Option<u16>,
}

pub struct WsConn {
    pub open: Open,
    pub opened: Ts,
    /// `open` (or a snapshot listing it) was emitted: its events may follow.
    pub announced: bool,
    /// Joined in its middle, and no frame found yet.
    pub undiscovered: bool,
    /// Engine.IO: heartbeats are text packets `2` and `3`.
    socketio: bool,
    up: FrameParser,
    down: FrameParser,
    first_close: Option<(Initiator, Option<u16>, String)>,
    pings: VecDeque<(Ts, super::frames::Head)>,
    /// Engine.IO pings awaiting their pong, by the side that sent them.
    sio_ping: [Option<Ts>; 2],
    last_server_ping: Option<Ts>,
    pub last_activity: Ts,
    pub last_ping: Option<Ts>,
    pub last_pong: Option<Ts>,
    /// Messages and bytes so far, by direction (in, out): what a snapshot lists.
    totals: [(u64, u64); 2],
    /// Messages not yet reported, by direction: count, bytes, time of the last.
    pending: [Option<(u64, u64, Ts)>; 2],
    fragments: [u64; 2],
    /// In the list of connections with pending messages.
    pub dirty: bool,
    pub ended: Option<End>,
}

fn side(d: Dir) -> usize {
    match d {
        Dir::In => 0,
        Dir::Out => 1,
    }
}

impl WsConn {
    /// A connection whose upgrade the capture saw.
    pub fn upgraded(open: Open, ts: Ts) -> WsConn {
        let socketio = open
            .path
            .as_deref()
            .is_some_and(|p| p.contains("/socket.io/"));
        WsConn {
            open,
            opened: ts,
            announced: false,
            undiscovered: false,
            socketio,
            up: FrameParser::new(true),
            down: FrameParser::new(false),
            first_close: None,
            pings: VecDeque::new(),
            sio_ping: [None; 2],
            last_server_ping: None,
            last_activity: ts,
            last_ping: None,
            last_pong: None,
            totals: [(0, 0); 2],
            pending: [None; 2],
            fragments: [0; 2],
            dirty: false,
            ended: None,
        }
    }

    /// A connection already open when the capture started: its frames are looked for.
    pub fn joined(open: Open, ts: Ts) -> WsConn {
        WsConn {
            undiscovered: true,
            up: FrameParser::unsynced(true),
            down: FrameParser::unsynced(false),
            ..WsConn::upgraded(open, ts)
        }
    }

    /// Bytes passed over while looking for frame boundaries.
    pub fn unsynced_bytes(&self) -> u64 {
        self.up.unsynced_bytes + self.down.unsynced_bytes
    }

    /// A piece of the stream from the client (`Dir::In`) or the server (`Dir::Out`).
    pub fn piece(&mut self, dir: Dir, piece: Piece<'_>, ts: Ts, said: &mut Said) {
        if self.ended.is_some() {
            return;
        }
        let parser = match dir {
            Dir::In => &mut self.up,
            Dir::Out => &mut self.down,
        };
        match piece {
            Piece::Gap(n) => parser.gap(n),
            Piece::Data(d) => {
                // Frames are handled after the parser is done with the bytes; the list is
                // kept between calls, so a packet costs no allocation.
                let mut found = std::mem::take(&mut said.frames);
                parser.push(d, &mut |f| found.push(f));
                for f in found.drain(..) {
                    if self.ended.is_none() {
                        self.frame(dir, f, ts, said);
                    }
                }
                said.frames = found;
            }
        }
    }

    fn frame(&mut self, dir: Dir, f: Frame, ts: Ts, said: &mut Said) {
        if self.undiscovered {
            self.undiscovered = false;
            said.discovered = true;
        }
        self.last_activity = ts;
        if let Some(trace) = &mut said.trace {
            trace.push(TracedFrame {
                client: self.open.remote.as_deref().unwrap_or_default().to_string(),
                dir,
                opcode: match f.kind {
                    Kind::Continuation => 0,
                    Kind::Text => 1,
                    Kind::Binary => 2,
                    Kind::Close => 8,
                    Kind::Ping => 9,
                    Kind::Pong => 10,
                },
                fin: f.fin,
                len: f.len,
                close_code: (f.kind == Kind::Close)
                    .then(|| close_payload(&f.head).0)
                    .flatten(),
            });
        }
        let d = side(dir);
        match f.kind {
            Kind::Text | Kind::Binary | Kind::Continuation => {
                if self.socketio && f.kind == Kind::Text && f.fin && f.len == 1 {
                    match f.head.first() {
                        Some(b'2') => return self.ping(dir, ts, None, said),
                        Some(b'3') => return self.pong(dir, ts, None, said),
                        _ => {}
                    }
                }
                self.fragments[d] += f.len;
                if f.fin {
                    let bytes = std::mem::take(&mut self.fragments[d]);
                    self.totals[d].0 += 1;
                    self.totals[d].1 += bytes;
                    if self.announced {
                        let p = self.pending[d].get_or_insert((0, 0, ts));
                        p.0 += 1;
                        p.1 += bytes;
                        p.2 = ts;
                    }
                }
            }
            Kind::Ping => self.ping(dir, ts, Some(f.head), said),
            Kind::Pong => self.pong(dir, ts, Some(f.head), said),
            Kind::Close => {
                let (code, reason) = if f.damaged {
                    said.damaged_closes += 1;
                    (None, String::new())
                } else {
                    close_payload(&f.head)
                };
                match &self.first_close {
                    None => {
                        let by = match dir {
                            Dir::In => Initiator::Client,
                            Dir::Out => Initiator::Server,
                        };
                        self.first_close = Some((by, code, reason));
                    }
                    // The answer to the first close: the handshake is done.
                    Some(_) => self.end(ts),
                }
            }
        }
    }

    /// A heartbeat ping: a ping frame from the server, or an Engine.IO `2` from either side.
    fn ping(&mut self, dir: Dir, ts: Ts, payload: Option<super::frames::Head>, said: &mut Said) {
        match payload {
            Some(head) => {
                if dir == Dir::In {
                    // A client's own keep-alive: traffic, not the server's heartbeat.
                    return;
                }
                if self.pings.len() == OUTSTANDING_PINGS {
                    self.pings.pop_front();
                }
                self.pings.push_back((ts, head));
            }
            None => self.sio_ping[side(dir)] = Some(ts),
        }
        if dir == Dir::Out {
            if let Some(prev) = self.last_server_ping {
                said.ping_gaps.push(ts.secs_since(prev));
            }
            self.last_server_ping = Some(ts);
        }
        self.last_ping = Some(ts);
        self.say(said, ts, || EventKind::Ping {
            conn: Str::default(),
        });
    }

    fn pong(&mut self, dir: Dir, ts: Ts, payload: Option<super::frames::Head>, said: &mut Said) {
        let sent = match payload {
            Some(head) => {
                if dir == Dir::Out {
                    return;
                }
                let at = self.pings.iter().position(|(_, p)| *p == head);
                at.map(|i| {
                    let sent = self.pings[i].0;
                    self.pings.drain(..=i);
                    sent
                })
            }
            None => self.sio_ping[1 - side(dir)].take(),
        };
        self.last_pong = Some(ts);
        let rtt_ms = sent.map(|s| (ts.secs_since(s) * 1000.0).max(0.0));
        self.say(said, ts, || EventKind::Pong {
            conn: Str::default(),
            rtt_ms,
        });
    }

    /// The transport ended (FIN or RST), or both close frames were seen.
    pub fn end(&mut self, ts: Ts) {
        if self.ended.is_some() {
            return;
        }
        let (initiator, code, reason) = match self.first_close.take() {
            Some(close) => close,
            None => (Initiator::None, Some(1006), String::new()),
        };
        self.ended = Some(End {
            ts,
            code,
            reason,
            initiator,
        });
    }

    /// Pending messages as `message` events (one per direction).
    pub fn flush(&mut self, out: &mut Vec<(Ts, EventKind)>) {
        for dir in [Dir::In, Dir::Out] {
            if let Some((count, bytes, last)) = self.pending[side(dir)].take() {
                out.push((
                    last,
                    EventKind::Message(Message {
                        conn: self.open.conn.clone(),
                        dir,
                        count,
                        bytes,
                    }),
                ));
            }
        }
        self.dirty = false;
    }

    pub fn has_pending(&self) -> bool {
        self.pending.iter().any(Option::is_some)
    }

    /// The connection as a snapshot lists it. Pending messages are in its totals, so they
    /// are dropped, not reported again.
    pub fn snapshot_entry(&mut self) -> SnapshotConn {
        self.pending = [None; 2];
        SnapshotConn {
            open: self.open.clone(),
            opened: Some(self.opened),
            last_activity: Some(self.last_activity),
            last_ping: self.last_ping,
            last_pong: self.last_pong,
            msgs_in: self.totals[0].0,
            bytes_in: self.totals[0].1,
            msgs_out: self.totals[1].0,
            bytes_out: self.totals[1].1,
        }
    }

    fn say(&self, said: &mut Said, ts: Ts, kind: impl FnOnce() -> EventKind) {
        if self.announced {
            let mut kind = kind();
            match &mut kind {
                EventKind::Ping { conn } | EventKind::Pong { conn, .. } => {
                    conn.clone_from(&self.open.conn)
                }
                _ => {}
            }
            said.events.push((ts, kind));
        }
    }
}
