//! Packets to events: TCP flows, the HTTP upgrade, one server per listening address, and
//! snapshots for connections that were open before the capture began.
//!
//! A connection joined in its middle is not an `open` (that would count as a new connection,
//! and a capture started at a busy moment would look like a reconnect storm): once its first
//! frame is found it is listed in a `snapshot` of its server, as a feed lists the connections
//! open when a viewer attaches. Such snapshots come at most every [`SNAPSHOT_EVERY`] seconds of
//! capture time, so joining ten thousand connections costs a handful of them.

use super::conn::{Said, WsConn};
use super::frames::starts_frame;
use super::http::{self, Head, Request};
use super::link::{Decoded, Segment, decode};
use super::packets::{Packet, PacketSink};
use super::stream::{Piece, Stream};
use crate::event::{
    Close, Dir, Event, EventKind, Heartbeat, Hello, Open, PROTOCOL, SECOND, Snapshot, Str, Ts,
    UpgradeRejected,
};
use foldhash::fast::FixedState;
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;

/// Aggregated `message` counts are reported this often, as the tap does.
const FLUSH_EVERY: i64 = SECOND;
/// Joined connections wait at most this long (capture time) for the snapshot that lists them.
const SNAPSHOT_EVERY: i64 = 2 * SECOND;
/// An ended connection's address pair is remembered this long, so its last ACKs and
/// retransmissions do not look like a new connection joined in its middle.
const REMEMBER_ENDED: i64 = 60 * SECOND;
/// A connection that is not (or not yet) a WebSocket is forgotten after this long without
/// packets.
const FORGET_IDLE: i64 = 300 * SECOND;
/// Connections followed at once; more are counted, not followed.
const MAX_FLOWS: usize = 2_000_000;
/// A joined connection in which no frame is found within this many bytes is not a WebSocket.
const GIVE_UP_UNSYNCED: u64 = 64 * 1024;
/// Server pings seen before the heartbeat is inferred from their spacing.
const PINGS_TO_INFER: usize = 8;

/// What the capture held besides events; shown beside the report and the dashboard.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CaptureStats {
    pub packets: u64,
    pub tcp_segments: u64,
    /// Not TCP (ARP, UDP...).
    pub other_packets: u64,
    /// Headers cut short or malformed.
    pub unreadable: u64,
    /// Link types this reader does not know, by number.
    pub unknown_links: Vec<i32>,
    pub websockets: u64,
    /// WebSockets already open when the capture began.
    pub joined: u64,
    pub rejected: u64,
    /// Holes in a WebSocket's byte stream (lost by the capture).
    pub gaps: u64,
    /// Bytes passed over while looking for frame boundaries.
    pub unsynced_bytes: u64,
    /// Servers whose traffic is encrypted.
    pub tls_servers: Vec<String>,
    pub kernel_drops: u64,
    /// Connections beyond [`MAX_FLOWS`].
    pub untracked: u64,
    /// Close frames whose payload fell in a gap (their code is not known).
    pub damaged_closes: u64,
    /// Connections joined midway whose ends the port numbers had the wrong way round.
    pub roles_swapped: u64,
}

type Key = (SocketAddr, SocketAddr);

fn key(a: SocketAddr, b: SocketAddr) -> Key {
    if a <= b { (a, b) } else { (b, a) }
}

enum Slot {
    Live(Box<Flow>),
    Ended(Ts),
}

struct Flow {
    client: SocketAddr,
    server: SocketAddr,
    up: Stream,
    down: Stream,
    phase: Phase,
    last_seen: Ts,
    /// Which end is the server was guessed from port numbers alone: the first payload's
    /// masking may still say otherwise.
    roles_guessed: bool,
}

enum Phase {
    /// Joined in its middle: the first bytes tell what it is.
    Unknown,
    Request(Vec<u8>),
    Response {
        request: Request,
        head: Vec<u8>,
        /// Client bytes after the request (frames sent before the answer arrived).
        early: Vec<u8>,
    },
    Ws(Box<WsConn>),
    /// Not a WebSocket (plain HTTP, TLS, a refused upgrade): followed only to its end.
    Ignored,
}

#[derive(Default)]
struct Server {
    name: Str,
    said_hello: bool,
    /// Seen accepting connections (SYN-ACK, 101).
    listening: bool,
    tls_noted: bool,
    /// A joined connection waits for a snapshot since then.
    snapshot_due: Option<Ts>,
    ping_gaps: Vec<f64>,
    heartbeat_inferred: bool,
}

/// Everything but the flow table, so a flow and the rest can be borrowed at once.
struct Context {
    servers: HashMap<SocketAddr, Server, FixedState>,
    out: Vec<Event>,
    said: Said,
    stats: CaptureStats,
    next_conn: u64,
}

pub struct Decoder {
    flows: HashMap<Key, Slot, FixedState>,
    cx: Context,
    /// Connections with messages not yet reported.
    dirty: Vec<Key>,
    ended: VecDeque<(Ts, Key)>,
    next_flush: Ts,
    next_forget: Ts,
    /// Ports known to be servers' (`capture --port`).
    ports: Vec<u16>,
}

impl Default for Decoder {
    fn default() -> Decoder {
        Decoder::new(Vec::new())
    }
}

impl Decoder {
    /// A decoder; `ports` are known server ports, a hint for connections joined midway.
    pub fn new(ports: Vec<u16>) -> Decoder {
        Decoder {
            flows: HashMap::default(),
            cx: Context {
                servers: HashMap::default(),
                out: Vec::new(),
                said: Said::default(),
                stats: CaptureStats::default(),
                next_conn: 1,
            },
            dirty: Vec::new(),
            ended: VecDeque::new(),
            next_flush: Ts::MIN,
            next_forget: Ts::MIN,
            ports,
        }
    }

    /// Keeps every frame seen, for [`Decoder::take_trace`].
    pub fn trace_frames(&mut self) {
        self.cx.said.trace = Some(Vec::new());
    }

    pub fn take_trace(&mut self) -> Vec<super::conn::TracedFrame> {
        self.cx.said.trace.take().unwrap_or_default()
    }

    /// Connections followed or remembered now.
    pub fn connections_held(&self) -> usize {
        self.flows.len()
    }

    /// Events decoded and not yet taken.
    pub fn pending_events(&self) -> usize {
        self.cx.out.len()
    }

    pub fn stats(&self) -> &CaptureStats {
        &self.cx.stats
    }

    /// Events decoded so far, in order; taken out.
    pub fn take_events(&mut self, into: &mut Vec<Event>) {
        into.append(&mut self.cx.out);
    }

    /// The end of the capture: held bytes delivered, pending messages and snapshots said.
    /// Connections still open stay open.
    pub fn finish(&mut self) {
        let keys: Vec<Key> = self.flows.keys().copied().collect();
        for k in keys {
            let Some(Slot::Live(flow)) = self.flows.get_mut(&k) else {
                continue;
            };
            let Flow {
                client,
                server,
                up,
                down,
                phase,
                last_seen,
                ..
            } = &mut **flow;
            let ts = *last_seen;
            up.flush(&mut |p| feed(phase, *client, *server, Dir::In, p, ts, &mut self.cx));
            down.flush(&mut |p| feed(phase, *client, *server, Dir::Out, p, ts, &mut self.cx));
            let server = *server;
            self.cx.absorb(server, ts);
            self.after_flow(k, ts);
        }
        let due: Vec<SocketAddr> = self
            .cx
            .servers
            .iter()
            .filter(|(_, s)| s.snapshot_due.is_some())
            .map(|(a, _)| *a)
            .collect();
        let ts = self.cx.out.last().map_or(Ts::default(), |e| e.ts);
        for server in due {
            self.snapshot(server, ts, None);
        }
        self.flush_messages();
    }

    fn segment(&mut self, ts: Ts, seg: Segment<'_>) {
        self.cx.stats.tcp_segments += 1;
        if ts >= self.next_flush {
            self.periodic(ts);
        }
        let k = key(seg.src, seg.dst);
        let slot = self.flows.get(&k);
        let fresh = match slot {
            None => true,
            // A new connection on the same address pair.
            Some(Slot::Ended(_)) => seg.syn && !seg.ack,
            Some(Slot::Live(_)) => false,
        };
        if fresh {
            // The teardown of a connection never seen is nothing to follow.
            if seg.rst || (seg.fin && seg.payload.is_empty()) {
                return;
            }
            if slot.is_none() && self.flows.len() >= MAX_FLOWS {
                self.cx.stats.untracked += 1;
                return;
            }
            let flow = self.new_flow(ts, &seg);
            self.flows.insert(k, Slot::Live(Box::new(flow)));
        }
        let Some(Slot::Live(flow)) = self.flows.get_mut(&k) else {
            return;
        };
        flow.last_seen = ts;
        if flow_roles_settle(flow, &seg) {
            self.cx.stats.roles_swapped += 1;
        }
        let Flow {
            client,
            server,
            up,
            down,
            phase,
            ..
        } = &mut **flow;
        let (client, server) = (*client, *server);
        let dir = if seg.src == client { Dir::In } else { Dir::Out };
        if seg.syn {
            self.cx.server(server).listening |= seg.ack;
        }
        let (stream, other) = match dir {
            Dir::In => (up, down),
            Dir::Out => (down, up),
        };
        let cx = &mut self.cx;
        stream.segment(ts, seg.seq, seg.syn, seg.payload, &mut |p| {
            feed(phase, client, server, dir, p, ts, cx)
        });
        if seg.fin || seg.rst {
            stream.flush(&mut |p| feed(phase, client, server, dir, p, ts, cx));
            if seg.rst {
                let odir = if dir == Dir::In { Dir::Out } else { Dir::In };
                other.flush(&mut |p| feed(phase, client, server, odir, p, ts, cx));
            }
            match phase {
                Phase::Ws(conn) => conn.end(ts),
                _ => *phase = Phase::Ignored,
            }
        }
        cx.absorb(server, ts);
        let ended_plain = (seg.fin || seg.rst) && matches!(phase, Phase::Ignored);
        self.after_flow(k, ts);
        if ended_plain {
            self.flows.insert(k, Slot::Ended(ts));
            self.ended.push_back((ts, k));
        }
    }

    fn new_flow(&mut self, ts: Ts, seg: &Segment<'_>) -> Flow {
        let (dst_serves, roles_guessed) = self.dst_is_server(seg);
        let (client, server) = if dst_serves {
            (seg.src, seg.dst)
        } else {
            (seg.dst, seg.src)
        };
        Flow {
            client,
            server,
            up: Stream::default(),
            down: Stream::default(),
            phase: if seg.syn {
                Phase::Request(Vec::new())
            } else {
                Phase::Unknown
            },
            last_seen: ts,
            roles_guessed,
        }
    }

    /// Which end of a connection first seen in this segment is the server, and whether that
    /// is only a guess from the port numbers.
    fn dst_is_server(&self, seg: &Segment<'_>) -> (bool, bool) {
        if seg.syn {
            return (!seg.ack, false);
        }
        let (src, dst) = (seg.src.port(), seg.dst.port());
        if self.ports.contains(&dst) != self.ports.contains(&src) {
            return (self.ports.contains(&dst), false);
        }
        let listening = |a: &SocketAddr| self.cx.servers.get(a).is_some_and(|s| s.listening);
        if listening(&seg.dst) != listening(&seg.src) {
            return (listening(&seg.dst), false);
        }
        if let Some(from_client) = sender_is_client(seg.payload) {
            return (from_client, false);
        }
        // Clients use ephemeral ports, above those servers listen on.
        (dst < src, true)
    }

    /// After a flow took a segment: its connection's messages wait for the next report, and
    /// an ended connection is reported and forgotten.
    fn after_flow(&mut self, k: Key, ts: Ts) {
        let Some(Slot::Live(flow)) = self.flows.get_mut(&k) else {
            return;
        };
        let server = flow.server;
        let Phase::Ws(conn) = &mut flow.phase else {
            return;
        };
        if conn.undiscovered {
            if conn.unsynced_bytes() > GIVE_UP_UNSYNCED || conn.ended.is_some() {
                self.cx.stats.unsynced_bytes += conn.unsynced_bytes();
                flow.phase = Phase::Ignored;
            }
            return;
        }
        if conn.has_pending() && !conn.dirty {
            conn.dirty = true;
            self.dirty.push(k);
        }
        if conn.ended.is_none() {
            return;
        }
        let Some(Slot::Live(mut flow)) = self.flows.insert(k, Slot::Ended(ts)) else {
            unreachable!("looked up above")
        };
        self.ended.push_back((ts, k));
        let Phase::Ws(conn) = &mut flow.phase else {
            unreachable!("matched above")
        };
        if !conn.announced {
            self.snapshot(server, ts, Some(conn));
        }
        let mut events = Vec::new();
        conn.flush(&mut events);
        let end = conn.ended.take().expect("checked above");
        self.cx.stats.unsynced_bytes += conn.unsynced_bytes();
        events.push((
            end.ts,
            EventKind::Close(Close {
                conn: conn.open.conn.clone(),
                code: end.code,
                reason: Some(Str::from(end.reason)),
                initiator: Some(end.initiator),
            }),
        ));
        for (ts, kind) in events {
            self.cx.emit(server, ts, kind);
        }
    }

    /// Once a second of capture time: aggregated messages reported, due snapshots emitted,
    /// ended and idle connections forgotten.
    fn periodic(&mut self, now: Ts) {
        self.next_flush = Ts(now.0 + FLUSH_EVERY);
        self.flush_messages();
        let due: Vec<SocketAddr> = self
            .cx
            .servers
            .iter()
            .filter(|(_, s)| {
                s.snapshot_due
                    .is_some_and(|t| now.0 - t.0 >= SNAPSHOT_EVERY)
            })
            .map(|(a, _)| *a)
            .collect();
        for server in due {
            self.snapshot(server, now, None);
        }
        while let Some(&(since, k)) = self.ended.front() {
            if now.0 - since.0 < REMEMBER_ENDED {
                break;
            }
            self.ended.pop_front();
            if matches!(self.flows.get(&k), Some(Slot::Ended(t)) if *t == since) {
                self.flows.remove(&k);
            }
        }
        if now >= self.next_forget {
            self.next_forget = Ts(now.0 + 30 * SECOND);
            // A WebSocket may idle for hours; anything else (a handshake that never finished,
            // a port scan's SYN, plain HTTP, a stream where no frame was found) may not.
            self.flows.retain(|_, slot| match slot {
                Slot::Live(f) => {
                    matches!(&f.phase, Phase::Ws(c) if !c.undiscovered)
                        || now.0 - f.last_seen.0 < FORGET_IDLE
                }
                Slot::Ended(_) => true,
            });
        }
    }

    fn flush_messages(&mut self) {
        let mut events = Vec::new();
        for k in std::mem::take(&mut self.dirty) {
            if let Some(Slot::Live(flow)) = self.flows.get_mut(&k)
                && let Phase::Ws(conn) = &mut flow.phase
                && conn.dirty
            {
                conn.flush(&mut events);
                for (ts, kind) in events.drain(..) {
                    self.cx.emit(flow.server, ts, kind);
                }
            }
        }
    }

    /// Lists every open connection of `server` that the capture knows of (and `extra`, one
    /// taken out of the table), as a feed's snapshot does.
    fn snapshot(&mut self, server: SocketAddr, ts: Ts, extra: Option<&mut WsConn>) {
        let mut before = Vec::new();
        let mut entries = Vec::new();
        let mut take = |conn: &mut WsConn| {
            if conn.undiscovered {
                return;
            }
            if conn.announced && conn.has_pending() {
                conn.flush(&mut before);
            }
            entries.push(conn.snapshot_entry());
            conn.announced = true;
        };
        for slot in self.flows.values_mut() {
            if let Slot::Live(flow) = slot
                && flow.server == server
                && let Phase::Ws(conn) = &mut flow.phase
                && conn.ended.is_none()
            {
                take(conn);
            }
        }
        if let Some(conn) = extra {
            take(conn);
        }
        for (ts, kind) in before {
            self.cx.emit(server, ts, kind);
        }
        if let Some(s) = self.cx.servers.get_mut(&server) {
            s.snapshot_due = None;
        }
        self.cx.emit(
            server,
            ts,
            EventKind::Snapshot(Snapshot {
                connections: entries,
                timers: Vec::new(),
                raw: None,
            }),
        );
    }
}

impl PacketSink for Decoder {
    fn packet(&mut self, p: Packet<'_>) {
        self.cx.stats.packets += 1;
        match decode(p.link, p.data) {
            Decoded::Tcp(seg) => self.segment(p.ts, seg),
            Decoded::Other => self.cx.stats.other_packets += 1,
            Decoded::Unreadable => self.cx.stats.unreadable += 1,
            Decoded::UnknownLink => {
                if !self.cx.stats.unknown_links.contains(&p.link.0) {
                    self.cx.stats.unknown_links.push(p.link.0);
                }
            }
        }
    }

    fn kernel_drops(&mut self, ts: Ts, total: u64) {
        let new = total.saturating_sub(self.cx.stats.kernel_drops);
        if new == 0 {
            return;
        }
        self.cx.stats.kernel_drops = total;
        self.cx.out.push(Event {
            ts,
            server: None,
            kind: EventKind::Dropped { count: new },
        });
    }
}

impl Context {
    fn server(&mut self, addr: SocketAddr) -> &mut Server {
        let s = self.servers.entry(addr).or_default();
        if s.name.is_empty() {
            s.name = Str::from(addr.to_string());
        }
        s
    }

    /// An event of `server`, after its `hello` if this is its first.
    fn emit(&mut self, server: SocketAddr, ts: Ts, kind: EventKind) {
        let s = self.server(server);
        let name = Some(s.name.clone());
        if !s.said_hello {
            s.said_hello = true;
            self.out.push(Event {
                ts,
                server: name.clone(),
                kind: hello(None),
            });
        }
        self.out.push(Event {
            ts,
            server: name,
            kind,
        });
    }

    /// What a connection said while it took bytes, passed on as events of its server.
    fn absorb(&mut self, server: SocketAddr, ts: Ts) {
        let mut said = std::mem::take(&mut self.said);
        for (ts, kind) in said.events.drain(..) {
            self.emit(server, ts, kind);
        }
        self.stats.damaged_closes += std::mem::take(&mut said.damaged_closes);
        if std::mem::take(&mut said.discovered) {
            self.stats.joined += 1;
            let s = self.server(server);
            s.snapshot_due.get_or_insert(ts);
            // Its frames showed which end serves: other joined connections follow.
            s.listening = true;
        }
        let gaps = std::mem::take(&mut said.gaps);
        if gaps > 0 {
            self.stats.gaps += gaps;
            self.emit(server, ts, EventKind::Dropped { count: gaps });
        }
        if !said.ping_gaps.is_empty() {
            let s = self.server(server);
            if !s.heartbeat_inferred {
                s.ping_gaps.append(&mut said.ping_gaps);
                if s.ping_gaps.len() >= PINGS_TO_INFER {
                    s.heartbeat_inferred = true;
                    let mut gaps = std::mem::take(&mut s.ping_gaps);
                    gaps.sort_by(f64::total_cmp);
                    let interval_ms = ((gaps[gaps.len() / 2] * 10.0).round() * 100.0) as u64;
                    if interval_ms > 0 {
                        let hb = Heartbeat {
                            ping_interval_ms: interval_ms,
                            // A pong is due by the next ping, as `ws` servers enforce it.
                            pong_timeout_ms: interval_ms,
                        };
                        self.emit(server, ts, hello(Some(hb)));
                    }
                }
            }
            said.ping_gaps.clear();
        }
        self.said = said;
    }

    fn tls(&mut self, server: SocketAddr, ts: Ts) {
        let s = self.server(server);
        if s.tls_noted {
            return;
        }
        s.tls_noted = true;
        let name = s.name.to_string();
        self.stats.tls_servers.push(name.clone());
        self.emit(
            server,
            ts,
            EventKind::Error {
                conn: None,
                message: Str::from(format!(
                    "encrypted traffic on {name}: capture behind the TLS terminator"
                )),
            },
        );
    }

    fn new_open(&mut self, client: SocketAddr, request: Option<&Request>) -> Open {
        let conn = Str::from(format!("c{}", self.next_conn));
        self.next_conn += 1;
        let text = |v: &Option<String>| v.as_deref().map(Str::from);
        Open {
            conn,
            remote: Some(Str::from(client.to_string())),
            user_agent: request.and_then(|r| text(&r.user_agent)),
            path: request.and_then(|r| text(&r.path)),
            forwarded_for: request.and_then(|r| text(&r.forwarded_for)),
            client: None,
            subprotocol: None,
        }
    }
}

/// Whether the sender of these first bytes is the client, when they tell: an HTTP request or
/// response, or a frame masked (a client's) or not (a server's).
fn sender_is_client(payload: &[u8]) -> Option<bool> {
    if payload.is_empty() {
        return None;
    }
    if payload.starts_with(b"HTTP/") {
        return Some(false);
    }
    if http::looks_like_request(payload) {
        return Some(true);
    }
    match (starts_frame(payload, true), starts_frame(payload, false)) {
        (true, false) => Some(true),
        (false, true) => Some(false),
        _ => None,
    }
}

/// A flow whose ends were guessed from port numbers takes its first payload's word for
/// them; `true` when that swapped them.
fn flow_roles_settle(flow: &mut Flow, seg: &Segment<'_>) -> bool {
    if !flow.roles_guessed || !matches!(flow.phase, Phase::Unknown) {
        return false;
    }
    let Some(from_client) = sender_is_client(seg.payload) else {
        return false;
    };
    flow.roles_guessed = false;
    if from_client == (seg.src == flow.client) {
        return false;
    }
    std::mem::swap(&mut flow.client, &mut flow.server);
    std::mem::swap(&mut flow.up, &mut flow.down);
    true
}

fn hello(heartbeat: Option<Heartbeat>) -> EventKind {
    EventKind::Hello(Hello {
        protocol: Some(PROTOCOL),
        software: Some(Str::from("wscope capture")),
        heartbeat,
        history: None,
    })
}

/// Where a piece of stream was seen: its connection's ends and its time.
#[derive(Clone, Copy)]
struct At {
    client: SocketAddr,
    server: SocketAddr,
    ts: Ts,
}

/// Takes a piece of one direction's stream, by what the connection is so far.
fn feed(
    phase: &mut Phase,
    client: SocketAddr,
    server: SocketAddr,
    dir: Dir,
    piece: Piece<'_>,
    ts: Ts,
    cx: &mut Context,
) {
    if let Phase::Ws(conn) = phase {
        if matches!(piece, Piece::Gap(_)) && !conn.undiscovered {
            cx.said.gaps += 1;
        }
        return conn.piece(dir, piece, ts, &mut cx.said);
    }
    let Piece::Data(data) = piece else {
        // A hole before the upgrade is understood: nothing to follow.
        *phase = Phase::Ignored;
        return;
    };
    let at = At { client, server, ts };
    *phase = match std::mem::replace(phase, Phase::Ignored) {
        Phase::Unknown => first_bytes(at, dir, data, cx),
        Phase::Request(buf) if dir == Dir::In => request_bytes(at, buf, data, cx),
        Phase::Response {
            request,
            head,
            early,
        } => response_bytes(at, request, head, early, dir, data, cx),
        // The server speaking before the request, or anything after a refusal.
        Phase::Request(_) | Phase::Ignored | Phase::Ws(_) => Phase::Ignored,
    };
}

/// A connection's first bytes: a request, TLS, or frames of a WebSocket already open.
fn first_bytes(at: At, dir: Dir, data: &[u8], cx: &mut Context) -> Phase {
    if http::looks_like_tls(data) {
        cx.tls(at.server, at.ts);
        Phase::Ignored
    } else if dir == Dir::In && http::looks_like_request(data) {
        request_bytes(at, Vec::new(), data, cx)
    } else if data.starts_with(b"HTTP/") {
        Phase::Ignored
    } else {
        let mut conn = Box::new(WsConn::joined(cx.new_open(at.client, None), at.ts));
        conn.piece(dir, Piece::Data(data), at.ts, &mut cx.said);
        Phase::Ws(conn)
    }
}

/// More of the client's request head, `buf` so far.
fn request_bytes(at: At, mut buf: Vec<u8>, data: &[u8], cx: &mut Context) -> Phase {
    if buf.is_empty() && http::looks_like_tls(data) {
        cx.tls(at.server, at.ts);
        return Phase::Ignored;
    }
    if buf.is_empty() && !http::looks_like_request(data) {
        return Phase::Ignored;
    }
    buf.extend_from_slice(data);
    match http::parse_request(&buf) {
        Head::Complete(request, n) if request.wants_websocket => Phase::Response {
            request,
            early: buf[n..].to_vec(),
            head: Vec::new(),
        },
        Head::Partial => Phase::Request(buf),
        _ => Phase::Ignored,
    }
}

/// Bytes while the upgrade's answer is awaited: the server's go to its response head
/// (`head` so far), the client's are kept (`early`) for when it is upgraded.
fn response_bytes(
    at: At,
    request: http::Request,
    mut head: Vec<u8>,
    mut early: Vec<u8>,
    dir: Dir,
    data: &[u8],
    cx: &mut Context,
) -> Phase {
    if dir == Dir::In {
        if early.len() + data.len() > http::MAX_HEAD {
            return Phase::Ignored;
        }
        early.extend_from_slice(data);
        return Phase::Response {
            request,
            head,
            early,
        };
    }
    head.extend_from_slice(data);
    let ts = at.ts;
    match http::parse_response(&head) {
        Head::Partial => Phase::Response {
            request,
            head,
            early,
        },
        Head::Invalid => Phase::Ignored,
        Head::Complete(resp, _) if resp.status != 101 => {
            cx.stats.rejected += 1;
            let text = |v: Option<String>| v.map(Str::from);
            let rejected = UpgradeRejected {
                remote: Some(Str::from(at.client.to_string())),
                user_agent: text(request.user_agent),
                path: text(request.path),
                status: Some(resp.status),
                reason: Some(Str::from(resp.reason)),
            };
            cx.emit(
                at.server,
                ts,
                EventKind::UpgradeRejected(Box::new(rejected)),
            );
            Phase::Ignored
        }
        Head::Complete(resp, n) => {
            cx.stats.websockets += 1;
            cx.server(at.server).listening = true;
            let mut open = cx.new_open(at.client, Some(&request));
            open.subprotocol = resp.subprotocol.map(Str::from);
            let mut conn = Box::new(WsConn::upgraded(open, ts));
            conn.announced = true;
            cx.emit(at.server, ts, EventKind::Open(Box::new(conn.open.clone())));
            conn.piece(Dir::Out, Piece::Data(&head[n..]), ts, &mut cx.said);
            conn.piece(Dir::In, Piece::Data(&early), ts, &mut cx.said);
            Phase::Ws(conn)
        }
    }
}
