//! JSON <-> [`Event`]: one flat wire struct in each direction.
//!
//! Reading goes through a flat struct of optional, borrowed fields rather than a tagged enum:
//! serde's internally tagged enums buffer every field first, which is several times slower, and
//! logs hold millions of events. The struct is then checked per kind (required fields present).

use super::*;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::fmt;

/// Why a line or frame is not a valid event.
#[derive(Debug, Clone, PartialEq)]
pub enum ParseError {
    Json(String),
    Missing(&'static str),
    BadTime(String),
    BadValue(&'static str, String),
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::Json(e) => write!(f, "not a JSON event: {e}"),
            ParseError::Missing(field) => write!(f, "missing required field `{field}`"),
            ParseError::BadTime(v) => write!(f, "`ts` is not an RFC 3339 time: {v:?}"),
            ParseError::BadValue(field, v) => write!(f, "bad value for `{field}`: {v:?}"),
        }
    }
}

impl std::error::Error for ParseError {}

pub(super) type S<'a> = Option<Cow<'a, str>>;

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct WireIn<'a> {
    #[serde(rename = "type", borrow)]
    pub(super) ty: S<'a>,
    #[serde(borrow)]
    pub(super) ts: S<'a>,
    #[serde(borrow)]
    pub(super) server: S<'a>,
    #[serde(borrow)]
    pub(super) conn: S<'a>,
    #[serde(borrow)]
    pub(super) remote: S<'a>,
    #[serde(borrow)]
    pub(super) user_agent: S<'a>,
    #[serde(borrow)]
    pub(super) path: S<'a>,
    #[serde(borrow)]
    pub(super) forwarded_for: S<'a>,
    #[serde(borrow)]
    pub(super) client: S<'a>,
    #[serde(borrow)]
    pub(super) subprotocol: S<'a>,
    pub(super) protocol: Option<u32>,
    #[serde(borrow)]
    pub(super) software: S<'a>,
    pub(super) heartbeat: Option<HeartbeatWire>,
    pub(super) history: Option<HistoryWire>,
    #[serde(borrow)]
    pub(super) connections: Option<Vec<SnapConnIn<'a>>>,
    #[serde(borrow)]
    pub(super) timers: Option<Vec<SnapTimerIn<'a>>>,
    pub(super) status: Option<u16>,
    #[serde(borrow)]
    pub(super) reason: S<'a>,
    pub(super) rtt_ms: Option<f64>,
    #[serde(borrow)]
    pub(super) dir: S<'a>,
    pub(super) count: Option<u64>,
    pub(super) bytes: Option<u64>,
    pub(super) code: Option<u16>,
    #[serde(borrow)]
    pub(super) initiator: S<'a>,
    #[serde(borrow)]
    pub(super) message: S<'a>,
    #[serde(borrow)]
    pub(super) timer: S<'a>,
    #[serde(borrow)]
    pub(super) op: S<'a>,
    #[serde(borrow)]
    pub(super) kind: S<'a>,
    pub(super) interval_ms: Option<u64>,
    #[serde(borrow)]
    pub(super) state: S<'a>,
    pub(super) rss_bytes: Option<u64>,
    pub(super) open_fds: Option<u64>,
}

#[derive(Deserialize)]
pub(super) struct HistoryWire {
    from: String,
    events: u64,
}

#[derive(Deserialize, Serialize, Clone, Copy)]
pub(super) struct HeartbeatWire {
    ping_interval_ms: u64,
    #[serde(default)]
    pong_timeout_ms: u64,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct SnapConnIn<'a> {
    #[serde(borrow)]
    conn: S<'a>,
    #[serde(borrow)]
    remote: S<'a>,
    #[serde(borrow)]
    user_agent: S<'a>,
    #[serde(borrow)]
    path: S<'a>,
    #[serde(borrow)]
    forwarded_for: S<'a>,
    #[serde(borrow)]
    client: S<'a>,
    #[serde(borrow)]
    subprotocol: S<'a>,
    #[serde(borrow)]
    opened: S<'a>,
    #[serde(borrow)]
    last_activity: S<'a>,
    #[serde(borrow)]
    last_ping: S<'a>,
    #[serde(borrow)]
    last_pong: S<'a>,
    msgs_in: Option<u64>,
    msgs_out: Option<u64>,
    bytes_in: Option<u64>,
    bytes_out: Option<u64>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct SnapTimerIn<'a> {
    #[serde(borrow)]
    conn: S<'a>,
    #[serde(borrow)]
    timer: S<'a>,
    #[serde(borrow)]
    kind: S<'a>,
    interval_ms: Option<u64>,
    #[serde(borrow)]
    started: S<'a>,
}

/// The fields of an `open` from a wire struct that has them (an event's or a snapshot
/// entry's); `$conn` names the required `conn` in the error.
macro_rules! open_from {
    ($w:expr, $conn:literal) => {
        Open {
            conn: req(&$w.conn, $conn)?,
            remote: s(&$w.remote),
            user_agent: s(&$w.user_agent),
            path: s(&$w.path),
            forwarded_for: s(&$w.forwarded_for),
            client: s(&$w.client),
            subprotocol: s(&$w.subprotocol),
        }
    };
}

pub(super) fn s(v: &S<'_>) -> Option<Str> {
    v.as_deref().map(Str::from)
}

fn req(v: &S<'_>, field: &'static str) -> Result<Str, ParseError> {
    s(v).ok_or(ParseError::Missing(field))
}

fn time(v: &S<'_>) -> Result<Option<Ts>, ParseError> {
    match v.as_deref() {
        None => Ok(None),
        Some(t) => Ts::parse(t)
            .map(Some)
            .ok_or_else(|| ParseError::BadTime(t.to_string())),
    }
}

/// Parses one event (a log line or a feed frame, without its newline).
pub fn parse_event(bytes: &[u8]) -> Result<Event, ParseError> {
    match std::str::from_utf8(bytes) {
        Ok(text) => parse_event_str(text),
        Err(e) => Err(ParseError::Json(format!("invalid UTF-8: {e}"))),
    }
}

/// [`parse_event`] for text already known to be UTF-8 (a log reader validates whole chunks
/// at once, which is much cheaper than serde_json checking every string).
pub fn parse_event_str(text: &str) -> Result<Event, ParseError> {
    // Nearly every line is a flat object without escapes, which the scanner reads several
    // times faster than serde_json; anything else takes the general path.
    if text.len() >= super::snapshot::RAW_MIN
        && super::snapshot::starts_a_snapshot(&text.as_bytes()[..256])
    {
        return super::snapshot::parse_raw(text);
    }
    // The scanner stores only borrowed strings and plain values, so there is nothing to drop:
    // skipping the drop glue of two dozen fields is measurable at millions of lines.
    let mut w = std::mem::ManuallyDrop::new(WireIn::default());
    match super::scan::scan(text, &mut w) {
        Some(()) => convert(&w),
        None => parse_with_serde(text),
    }
}

/// The general path: serde_json reads any line and gives the precise error.
pub(super) fn parse_with_serde(text: &str) -> Result<Event, ParseError> {
    let w: WireIn<'_> = serde_json::from_str(text).map_err(|e| ParseError::Json(e.to_string()))?;
    convert(&w)
}

/// The wire struct, checked per kind (required fields present, known values).
pub(super) fn convert(w: &WireIn<'_>) -> Result<Event, ParseError> {
    let ty = w.ty.as_deref().ok_or(ParseError::Missing("type"))?;
    let ts_str = w.ts.as_deref().ok_or(ParseError::Missing("ts"))?;
    let ts = Ts::parse(ts_str).ok_or_else(|| ParseError::BadTime(ts_str.to_string()))?;
    let open = |w: &WireIn<'_>| -> Result<Open, ParseError> { Ok(open_from!(w, "conn")) };
    let kind = match ty {
        "hello" => EventKind::Hello(Hello {
            protocol: w.protocol,
            software: s(&w.software),
            heartbeat: w.heartbeat.map(|h| Heartbeat {
                ping_interval_ms: h.ping_interval_ms,
                pong_timeout_ms: h.pong_timeout_ms,
            }),
            history: w.history.as_ref().and_then(|h| {
                Some(HistoryInfo {
                    from: Ts::parse(&h.from)?,
                    events: h.events,
                })
            }),
        }),
        "snapshot" => EventKind::Snapshot(snapshot(w)?),
        "open" => EventKind::Open(Box::new(open(w)?)),
        "upgrade_rejected" => EventKind::UpgradeRejected(Box::new(UpgradeRejected {
            remote: s(&w.remote),
            user_agent: s(&w.user_agent),
            path: s(&w.path),
            status: w.status,
            reason: s(&w.reason),
        })),
        "ping" => EventKind::Ping {
            conn: req(&w.conn, "conn")?,
        },
        "pong" => EventKind::Pong {
            conn: req(&w.conn, "conn")?,
            rtt_ms: w.rtt_ms,
        },
        "message" => EventKind::Message(Message {
            conn: req(&w.conn, "conn")?,
            dir: match w.dir.as_deref() {
                Some("in") => Dir::In,
                Some("out") => Dir::Out,
                Some(other) => return Err(ParseError::BadValue("dir", other.to_string())),
                None => return Err(ParseError::Missing("dir")),
            },
            count: w.count.unwrap_or(1),
            bytes: w.bytes.unwrap_or(0),
        }),
        "close" => EventKind::Close(Close {
            conn: req(&w.conn, "conn")?,
            code: w.code,
            reason: s(&w.reason),
            // An unknown initiator is not worth losing the close for.
            initiator: w.initiator.as_deref().and_then(Initiator::parse),
        }),
        "error" => EventKind::Error {
            conn: s(&w.conn),
            message: s(&w.message).unwrap_or_default(),
        },
        "timer" => EventKind::Timer(Box::new(Timer {
            conn: s(&w.conn),
            timer: req(&w.timer, "timer")?,
            op: match w.op.as_deref() {
                Some("start") => TimerOp::Start,
                Some("fire") => TimerOp::Fire,
                Some("clear") | Some("stop") => TimerOp::Clear,
                Some(other) => return Err(ParseError::BadValue("op", other.to_string())),
                None => return Err(ParseError::Missing("op")),
            },
            kind: s(&w.kind),
            interval_ms: w.interval_ms,
        })),
        "app_state" => EventKind::AppState {
            conn: req(&w.conn, "conn")?,
            state: match w.state.as_deref() {
                Some("background") => AppState::Background,
                Some("foreground") => AppState::Foreground,
                Some(other) => return Err(ParseError::BadValue("state", other.to_string())),
                None => return Err(ParseError::Missing("state")),
            },
        },
        "dropped" => EventKind::Dropped {
            count: w.count.unwrap_or(0),
        },
        "process" => EventKind::Process {
            rss_bytes: w.rss_bytes,
            open_fds: w.open_fds,
        },
        other => EventKind::Unknown {
            type_name: Str::from(other),
        },
    };
    Ok(Event {
        ts,
        server: s(&w.server),
        kind,
    })
}

fn snapshot(w: &WireIn<'_>) -> Result<Snapshot, ParseError> {
    let mut snap = Snapshot::default();
    for c in w.connections.iter().flatten() {
        snap.connections.push(snap_conn(c)?);
    }
    for t in w.timers.iter().flatten() {
        snap.timers.push(snap_timer(t)?);
    }
    Ok(snap)
}

pub(super) fn snap_conn(c: &SnapConnIn<'_>) -> Result<SnapshotConn, ParseError> {
    Ok(SnapshotConn {
        open: open_from!(c, "connections[].conn"),
        opened: time(&c.opened)?,
        last_activity: time(&c.last_activity)?,
        last_ping: time(&c.last_ping)?,
        last_pong: time(&c.last_pong)?,
        msgs_in: c.msgs_in.unwrap_or(0),
        msgs_out: c.msgs_out.unwrap_or(0),
        bytes_in: c.bytes_in.unwrap_or(0),
        bytes_out: c.bytes_out.unwrap_or(0),
    })
}

pub(super) fn snap_timer(t: &SnapTimerIn<'_>) -> Result<SnapshotTimer, ParseError> {
    Ok(SnapshotTimer {
        conn: s(&t.conn),
        timer: req(&t.timer, "timers[].timer")?,
        kind: s(&t.kind),
        interval_ms: t.interval_ms,
        started: time(&t.started)?,
    })
}

// ---- writing -------------------------------------------------------------------------------

#[derive(Serialize)]
struct WireOut<'a> {
    #[serde(rename = "type")]
    ty: &'a str,
    ts: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    server: Option<&'a str>,
    #[serde(flatten)]
    body: serde_json::Map<String, serde_json::Value>,
}

fn put<T: Serialize>(m: &mut serde_json::Map<String, serde_json::Value>, k: &str, v: T) {
    let v = serde_json::to_value(v).unwrap_or(serde_json::Value::Null);
    m.insert(k.to_string(), v);
}

fn put_opt<T: Serialize>(
    m: &mut serde_json::Map<String, serde_json::Value>,
    k: &str,
    v: &Option<T>,
) {
    if let Some(v) = v {
        put(m, k, v);
    }
}

fn put_open(m: &mut serde_json::Map<String, serde_json::Value>, o: &Open) {
    put(m, "conn", &o.conn);
    put_opt(m, "remote", &o.remote);
    put_opt(m, "user_agent", &o.user_agent);
    put_opt(m, "path", &o.path);
    put_opt(m, "forwarded_for", &o.forwarded_for);
    put_opt(m, "client", &o.client);
    put_opt(m, "subprotocol", &o.subprotocol);
}

/// A snapshot's connections and timers, each field as the spec names it.
fn put_snapshot(m: &mut serde_json::Map<String, serde_json::Value>, snap: &Snapshot) {
    use serde_json::{Map, Value};
    let time = |v: Option<Ts>| v.map(|t| t.to_rfc3339());
    let conns: Vec<Value> = snap
        .connections
        .iter()
        .map(|c| {
            let mut cm = Map::new();
            put_open(&mut cm, &c.open);
            put_opt(&mut cm, "opened", &time(c.opened));
            put_opt(&mut cm, "last_activity", &time(c.last_activity));
            put_opt(&mut cm, "last_ping", &time(c.last_ping));
            put_opt(&mut cm, "last_pong", &time(c.last_pong));
            put(&mut cm, "msgs_in", c.msgs_in);
            put(&mut cm, "msgs_out", c.msgs_out);
            put(&mut cm, "bytes_in", c.bytes_in);
            put(&mut cm, "bytes_out", c.bytes_out);
            Value::Object(cm)
        })
        .collect();
    let timers: Vec<Value> = snap
        .timers
        .iter()
        .map(|t| {
            let mut tm = Map::new();
            put_opt(&mut tm, "conn", &t.conn);
            put(&mut tm, "timer", &t.timer);
            put_opt(&mut tm, "kind", &t.kind);
            put_opt(&mut tm, "interval_ms", &t.interval_ms);
            put_opt(&mut tm, "started", &time(t.started));
            Value::Object(tm)
        })
        .collect();
    put(m, "connections", conns);
    put(m, "timers", timers);
}

/// The JSON value of an event, as the spec shows it.
pub fn to_json_value(ev: &Event) -> serde_json::Value {
    use serde_json::{Map, Value};
    let mut m = Map::new();
    match &ev.kind {
        EventKind::Hello(h) => {
            put(&mut m, "protocol", h.protocol.unwrap_or(PROTOCOL));
            put_opt(&mut m, "software", &h.software);
            put(
                &mut m,
                "heartbeat",
                h.heartbeat.map(|h| HeartbeatWire {
                    ping_interval_ms: h.ping_interval_ms,
                    pong_timeout_ms: h.pong_timeout_ms,
                }),
            );
            if let Some(history) = h.history {
                let mut o = Map::new();
                o.insert("from".into(), Value::String(history.from.to_rfc3339()));
                o.insert("events".into(), Value::from(history.events));
                m.insert("history".into(), Value::Object(o));
            }
        }
        // A snapshot kept as read is its own JSON (only written whole, by `to_json_line`).
        EventKind::Snapshot(Snapshot { raw: Some(raw), .. }) => {
            return serde_json::from_str(raw).unwrap_or(Value::Null);
        }
        EventKind::Snapshot(snap) => put_snapshot(&mut m, snap),
        EventKind::Open(o) => put_open(&mut m, o),
        EventKind::UpgradeRejected(u) => {
            put_opt(&mut m, "remote", &u.remote);
            put_opt(&mut m, "user_agent", &u.user_agent);
            put_opt(&mut m, "path", &u.path);
            put_opt(&mut m, "status", &u.status);
            put_opt(&mut m, "reason", &u.reason);
        }
        EventKind::Ping { conn } => put(&mut m, "conn", conn),
        EventKind::Pong { conn, rtt_ms } => {
            put(&mut m, "conn", conn);
            put_opt(&mut m, "rtt_ms", rtt_ms);
        }
        EventKind::Message(msg) => {
            put(&mut m, "conn", &msg.conn);
            put(&mut m, "dir", if msg.dir == Dir::In { "in" } else { "out" });
            put(&mut m, "count", msg.count);
            put(&mut m, "bytes", msg.bytes);
        }
        EventKind::Close(c) => {
            put(&mut m, "conn", &c.conn);
            put(&mut m, "code", c.code);
            put(&mut m, "reason", c.reason.as_deref().unwrap_or(""));
            put_opt(&mut m, "initiator", &c.initiator.map(|i| i.as_str()));
        }
        EventKind::Error { conn, message } => {
            put_opt(&mut m, "conn", conn);
            put(&mut m, "message", message);
        }
        EventKind::Timer(t) => {
            put_opt(&mut m, "conn", &t.conn);
            put(&mut m, "timer", &t.timer);
            let op = match t.op {
                TimerOp::Start => "start",
                TimerOp::Fire => "fire",
                TimerOp::Clear => "clear",
            };
            put(&mut m, "op", op);
            put_opt(&mut m, "kind", &t.kind);
            put_opt(&mut m, "interval_ms", &t.interval_ms);
        }
        EventKind::AppState { conn, state } => {
            put(&mut m, "conn", conn);
            let state = match state {
                AppState::Background => "background",
                AppState::Foreground => "foreground",
            };
            put(&mut m, "state", state);
        }
        EventKind::Dropped { count } => put(&mut m, "count", count),
        EventKind::Process {
            rss_bytes,
            open_fds,
        } => {
            put_opt(&mut m, "rss_bytes", rss_bytes);
            put_opt(&mut m, "open_fds", open_fds);
        }
        EventKind::Unknown { .. } => {}
    }
    let out = WireOut {
        ty: ev.kind.type_name(),
        ts: ev.ts.to_rfc3339(),
        server: ev.server.as_deref(),
        body: m,
    };
    serde_json::to_value(out).unwrap_or(serde_json::Value::Null)
}

/// One event as a single JSON line, without the trailing newline.
pub fn to_json_line(ev: &Event) -> String {
    // A snapshot kept as read is already its line: written as it came, never rebuilt.
    if let EventKind::Snapshot(Snapshot { raw: Some(raw), .. }) = &ev.kind {
        return raw.to_string();
    }
    to_json_value(ev).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every example of feed-protocol.md, verbatim.
    pub const SPEC_EXAMPLES: &[&str] = &[
        r#"{"type":"hello","ts":"2026-11-30T01:00:00Z","protocol":1,"server":"chat-1","software":"chat-server/2.3.1","heartbeat":{"ping_interval_ms":30000,"pong_timeout_ms":5000}}"#,
        r#"{"type":"snapshot","ts":"2026-11-30T01:00:00.5Z","connections":[{"conn":"c17","opened":"2026-11-30T00:41:02Z","remote":"203.0.113.7:51234","user_agent":"Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X)","path":"/ws","last_activity":"2026-11-30T00:59:58Z","last_ping":"2026-11-30T00:59:50Z","last_pong":"2026-11-30T00:59:50.04Z","msgs_in":120,"msgs_out":340,"bytes_in":9000,"bytes_out":51000}],"timers":[{"conn":"c17","timer":"hb-17","kind":"heartbeat","interval_ms":30000,"started":"2026-11-30T00:41:02Z"}]}"#,
        r#"{"type":"open","ts":"2026-11-30T01:00:01Z","conn":"c18","remote":"203.0.113.9:40112","user_agent":"Mozilla/5.0 (X11; Linux x86_64)","path":"/ws","forwarded_for":"198.51.100.23","client":"user-4411","subprotocol":"chat.v2"}"#,
        r#"{"type":"upgrade_rejected","ts":"2026-11-30T01:00:02Z","remote":"203.0.113.10:40200","user_agent":"okhttp/4.12","path":"/ws","status":400,"reason":"missing Sec-WebSocket-Key"}"#,
        r#"{"type":"ping","ts":"2026-11-30T01:00:30Z","conn":"c18"}"#,
        r#"{"type":"pong","ts":"2026-11-30T01:00:30.031Z","conn":"c18","rtt_ms":31.0}"#,
        r#"{"type":"message","ts":"2026-11-30T01:00:03Z","conn":"c18","dir":"in","count":3,"bytes":412}"#,
        r#"{"type":"close","ts":"2026-11-30T01:05:00Z","conn":"c18","code":1000,"reason":"bye","initiator":"client"}"#,
        r#"{"type":"close","ts":"2026-11-30T01:05:09Z","conn":"c19","code":1006,"reason":"","initiator":"none"}"#,
        r#"{"type":"error","ts":"2026-11-30T01:05:08Z","conn":"c19","message":"read ECONNRESET"}"#,
        r#"{"type":"timer","ts":"2026-11-30T01:00:01Z","conn":"c18","timer":"hb-18","op":"start","kind":"heartbeat","interval_ms":30000}"#,
        r#"{"type":"timer","ts":"2026-11-30T01:00:31Z","conn":"c18","timer":"hb-18","op":"fire"}"#,
        r#"{"type":"timer","ts":"2026-11-30T01:05:00Z","conn":"c18","timer":"hb-18","op":"clear"}"#,
        r#"{"type":"app_state","ts":"2026-11-30T01:02:00Z","conn":"c17","state":"background"}"#,
        r#"{"type":"dropped","ts":"2026-11-30T01:02:00Z","count":1532}"#,
        r#"{"type":"process","ts":"2026-11-30T01:02:00Z","rss_bytes":734003200,"open_fds":10422}"#,
    ];

    #[test]
    fn reads_every_spec_example_and_round_trips() {
        for line in SPEC_EXAMPLES {
            let ev = parse_event(line.as_bytes()).unwrap_or_else(|e| panic!("{line}: {e}"));
            assert!(!matches!(ev.kind, EventKind::Unknown { .. }), "{line}");
            let again = parse_event(to_json_line(&ev).as_bytes()).unwrap();
            assert_eq!(ev, again, "{line}");
        }
    }

    #[test]
    fn fast_path_agrees_with_the_general_one() {
        let extra = [
            r#"{"conn":"c\u0031","type":"ping","ts":"2026-11-30T01:00:30Z","server":"s"}"#,
            r#"{"type":"close","ts":"2026-11-30T01:05:00Z","conn":"a","code":null,"initiator":"weird"}"#,
            r#"{"meta":{"type":"open"},"type":"message","ts":"2026-11-30T01:00:03Z","conn":"c","dir":"out"}"#,
            r#"{"type":"message","ts":"2026-11-30T01:00:03Z","conn":"c","dir":"sideways"}"#,
            r#"{"type":"open","ts":"2026-11-30T01:00:03Z"}"#,
            r#"{"type":"pong","ts":"bad","conn":"c"}"#,
        ];
        for line in SPEC_EXAMPLES.iter().chain(extra.iter()) {
            assert_eq!(
                parse_event(line.as_bytes()),
                parse_with_serde(line),
                "{line}"
            );
        }
    }

    #[test]
    fn null_code_and_heartbeat() {
        let ev =
            parse_event(br#"{"type":"close","ts":"2026-11-30T01:05:00Z","conn":"a","code":null}"#)
                .unwrap();
        match ev.kind {
            EventKind::Close(c) => assert_eq!(c.effective_code(), 1005),
            _ => panic!(),
        }
        let ev = parse_event(br#"{"type":"hello","ts":"2026-11-30T01:05:00Z","heartbeat":null}"#)
            .unwrap();
        assert_eq!(ev.kind, EventKind::Hello(Hello::default()));
    }

    #[test]
    fn invalid_events() {
        assert!(matches!(
            parse_event(b"{}"),
            Err(ParseError::Missing("type"))
        ));
        assert!(matches!(
            parse_event(br#"{"type":"open"}"#),
            Err(ParseError::Missing("ts"))
        ));
        assert!(matches!(
            parse_event(br#"{"type":"open","ts":"2026-11-30T01:05:00Z"}"#),
            Err(ParseError::Missing("conn"))
        ));
        assert!(matches!(
            parse_event(br#"{"type":"ping","ts":"yesterday","conn":"a"}"#),
            Err(ParseError::BadTime(_))
        ));
        assert!(matches!(parse_event(b"garbage"), Err(ParseError::Json(_))));
        assert!(matches!(
            parse_event(br#"{"type":"close","ts":"2026-11-30T01:05:00Z","conn":"a","code":"x"}"#),
            Err(ParseError::Json(_))
        ));
        let unknown =
            parse_event(br#"{"type":"future","ts":"2026-11-30T01:05:00Z","x":1}"#).unwrap();
        assert_eq!(unknown.kind.type_name(), "future");
    }
}
