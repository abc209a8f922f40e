//! Conformance of an admin feed to feed-protocol.md, shared by every emitter's tests (the Node
//! adapter, the Rust tap): give it the raw text frames of one subscription, in order.
//!
//! Beyond `wscope::event::parse_event` (which is lenient, as a reader must be), an emitter is
//! held to what the spec says it writes: no unknown `type`, canonical UTC times, every field a
//! kind requires present and of the right type, `hello` first then `snapshot`, and events that
//! agree with the connections they are about.

use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashSet};
use wscope::event::{EventKind, Ts, parse_event};

/// What a conforming feed contained.
#[derive(Debug, Default)]
pub struct Summary {
    /// Events by `type`.
    pub by_type: BTreeMap<String, usize>,
    /// The parsed JSON objects, in order.
    pub objects: Vec<Map<String, Value>>,
}

impl Summary {
    pub fn count(&self, ty: &str) -> usize {
        self.by_type.get(ty).copied().unwrap_or(0)
    }

    /// The events of one type.
    pub fn of_type<'a>(&'a self, ty: &'a str) -> impl Iterator<Item = &'a Map<String, Value>> {
        self.objects.iter().filter(move |o| o["type"] == ty)
    }
}

const ALL_TYPES: [&str; 13] = [
    "hello",
    "snapshot",
    "open",
    "upgrade_rejected",
    "ping",
    "pong",
    "message",
    "close",
    "error",
    "timer",
    "app_state",
    "dropped",
    "process",
];

/// `2026-11-30T01:30:29.123Z`: UTC, `Z`, 0 to 9 fractional digits.
fn is_canonical_time(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 20 || b[b.len() - 1] != b'Z' || Ts::parse(s).is_none() {
        return false;
    }
    let shape = |i: usize, c: u8| b.get(i) == Some(&c);
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    let base = digits(0..4)
        && shape(4, b'-')
        && digits(5..7)
        && shape(7, b'-')
        && digits(8..10)
        && shape(10, b'T')
        && digits(11..13)
        && shape(13, b':')
        && digits(14..16)
        && shape(16, b':')
        && digits(17..19);
    let frac = &b[19..b.len() - 1];
    let frac_ok = frac.is_empty()
        || (frac[0] == b'.'
            && (2..=10).contains(&frac.len())
            && frac[1..].iter().all(u8::is_ascii_digit));
    base && frac_ok
}

struct Checker<'a> {
    obj: &'a Map<String, Value>,
    at: String,
    errors: &'a mut Vec<String>,
}

impl Checker<'_> {
    fn fail(&mut self, msg: String) {
        self.errors.push(format!("{}: {msg}", self.at));
    }

    fn string(&mut self, field: &str, required: bool) {
        match self.obj.get(field) {
            None if !required => {}
            Some(Value::String(s)) if !s.is_empty() || field == "reason" => {}
            other => self.fail(format!(
                "`{field}` must be a non-empty string, is {other:?}"
            )),
        }
    }

    fn uint(&mut self, field: &str, required: bool) {
        match self.obj.get(field) {
            None if !required => {}
            Some(v) if v.as_u64().is_some() => {}
            other => self.fail(format!(
                "`{field}` must be an unsigned integer, is {other:?}"
            )),
        }
    }

    fn one_of(&mut self, field: &str, allowed: &[&str]) {
        match self.obj.get(field).and_then(Value::as_str) {
            Some(v) if allowed.contains(&v) => {}
            other => self.fail(format!(
                "`{field}` must be one of {allowed:?}, is {other:?}"
            )),
        }
    }

    fn time(&mut self, field: &str, required: bool) {
        match self.obj.get(field) {
            None if !required => {}
            Some(Value::String(s)) if is_canonical_time(s) => {}
            other => self.fail(format!(
                "`{field}` must be an RFC 3339 UTC time, is {other:?}"
            )),
        }
    }

    fn open_fields(&mut self) {
        self.string("conn", true);
        for f in [
            "remote",
            "user_agent",
            "path",
            "forwarded_for",
            "client",
            "subprotocol",
        ] {
            self.string(f, false);
        }
    }
}

/// Checks one subscription's frames; all problems are listed, not just the first.
pub fn check_feed(frames: &[String]) -> Result<Summary, Vec<String>> {
    let mut errors = Vec::new();
    let mut summary = Summary::default();
    let mut open: HashSet<String> = HashSet::new();
    let mut ever: HashSet<String> = HashSet::new();
    let mut latest: Option<Ts> = None;
    for (i, frame) in frames.iter().enumerate() {
        let at = format!("frame {i} {}", frame.chars().take(160).collect::<String>());
        let event = match parse_event(frame.as_bytes()) {
            Ok(e) => e,
            Err(e) => {
                errors.push(format!("{at}: parse_event: {e}"));
                continue;
            }
        };
        let obj = match serde_json::from_str::<Value>(frame) {
            Ok(Value::Object(o)) => o,
            _ => {
                errors.push(format!("{at}: not a JSON object"));
                continue;
            }
        };
        let ty = obj["type"].as_str().unwrap_or_default().to_string();
        if matches!(event.kind, EventKind::Unknown { .. }) || !ALL_TYPES.contains(&ty.as_str()) {
            errors.push(format!("{at}: unknown type {ty:?}"));
        }
        if i == 0 && ty != "hello" {
            errors.push(format!("{at}: the first event must be hello"));
        }
        if i == 1 && ty != "snapshot" {
            errors.push(format!("{at}: the second event must be snapshot"));
        }
        if ty == "hello" && i != 0 {
            errors.push(format!("{at}: hello only comes first"));
        }
        // Small reordering is tolerated by readers; an emitter stays within it.
        if let Some(prev) = latest
            && event.ts.secs_since(prev) < -1.0
        {
            errors.push(format!("{at}: more than 1 s older than an earlier event"));
        }
        latest = Some(latest.map_or(event.ts, |l| l.max(event.ts)));

        let mut c = Checker {
            obj: &obj,
            at: at.clone(),
            errors: &mut errors,
        };
        c.time("ts", true);
        c.string("server", false);
        match ty.as_str() {
            "hello" => {
                match obj.get("protocol") {
                    Some(v) if v.as_u64() == Some(1) => {}
                    other => c.fail(format!("hello: `protocol` must be 1, is {other:?}")),
                }
                c.string("server", true);
                c.string("software", false);
                match obj.get("heartbeat") {
                    None | Some(Value::Null) => {}
                    Some(Value::Object(hb)) => {
                        if hb.get("ping_interval_ms").and_then(Value::as_u64).is_none()
                            || hb.get("pong_timeout_ms").and_then(Value::as_u64).is_none()
                        {
                            c.fail(format!("hello: heartbeat fields missing: {hb:?}"));
                        }
                    }
                    other => c.fail(format!("hello: bad heartbeat {other:?}")),
                }
            }
            "snapshot" => {
                open.clear();
                match obj.get("connections") {
                    Some(Value::Array(conns)) => {
                        for conn in conns {
                            let Some(co) = conn.as_object() else {
                                c.fail("snapshot: a connection is not an object".into());
                                continue;
                            };
                            let mut cc = Checker {
                                obj: co,
                                at: format!("{at} connections[]"),
                                errors: c.errors,
                            };
                            cc.open_fields();
                            cc.time("opened", true);
                            for f in ["last_activity", "last_ping", "last_pong"] {
                                cc.time(f, false);
                            }
                            for f in ["msgs_in", "msgs_out", "bytes_in", "bytes_out"] {
                                cc.uint(f, false);
                            }
                            if let Some(id) = co.get("conn").and_then(Value::as_str) {
                                open.insert(id.to_string());
                                ever.insert(id.to_string());
                            }
                        }
                    }
                    other => c.fail(format!(
                        "snapshot: `connections` must be an array, is {other:?}"
                    )),
                }
                match obj.get("timers") {
                    Some(Value::Array(timers)) => {
                        for t in timers {
                            let Some(to) = t.as_object() else {
                                c.fail("snapshot: a timer is not an object".into());
                                continue;
                            };
                            let mut tc = Checker {
                                obj: to,
                                at: format!("{at} timers[]"),
                                errors: c.errors,
                            };
                            tc.string("timer", true);
                            tc.string("conn", false);
                            tc.string("kind", false);
                            tc.uint("interval_ms", false);
                            tc.time("started", false);
                        }
                    }
                    None => {}
                    other => c.fail(format!("snapshot: `timers` must be an array, is {other:?}")),
                }
            }
            "open" => {
                c.open_fields();
                if let Some(id) = obj.get("conn").and_then(Value::as_str) {
                    if !ever.insert(id.to_string()) {
                        c.fail(format!("open: conn {id} was already used"));
                    }
                    open.insert(id.to_string());
                }
            }
            "upgrade_rejected" => {
                for f in ["remote", "user_agent", "path", "reason"] {
                    c.string(f, false);
                }
                match obj.get("status").and_then(Value::as_u64) {
                    Some(s) if (100..600).contains(&s) && s != 101 => {}
                    None if !obj.contains_key("status") => {}
                    other => c.fail(format!("upgrade_rejected: bad status {other:?}")),
                }
            }
            "ping" | "pong" | "message" | "close" | "app_state" => {
                c.string("conn", true);
                let id = obj.get("conn").and_then(Value::as_str).unwrap_or_default();
                if !open.contains(id) {
                    c.fail(format!("{ty}: conn {id:?} is not open"));
                }
                match ty.as_str() {
                    "pong" => match obj.get("rtt_ms") {
                        None => {}
                        Some(v) if v.as_f64().is_some_and(|r| r >= 0.0) => {}
                        other => c.fail(format!("pong: bad rtt_ms {other:?}")),
                    },
                    "message" => {
                        c.one_of("dir", &["in", "out"]);
                        c.uint("count", true);
                        c.uint("bytes", true);
                        if obj.get("count").and_then(Value::as_u64) == Some(0) {
                            c.fail("message: count 0".into());
                        }
                    }
                    "close" => {
                        match obj.get("code") {
                            Some(Value::Null) => {}
                            Some(v) if v.as_u64().is_some_and(|n| (1000..5000).contains(&n)) => {}
                            other => c.fail(format!(
                                "close: `code` must be a status or null, is {other:?}"
                            )),
                        }
                        c.one_of("initiator", &["client", "server", "none"]);
                        c.string("reason", false);
                        open.remove(id);
                    }
                    "app_state" => c.one_of("state", &["background", "foreground"]),
                    _ => {}
                }
            }
            "error" => {
                c.string("message", true);
                c.string("conn", false);
            }
            "timer" => {
                c.string("timer", true);
                c.string("conn", false);
                c.one_of("op", &["start", "fire", "clear"]);
                c.string("kind", false);
                c.uint("interval_ms", false);
                if obj.get("op").and_then(Value::as_str) == Some("start")
                    && let Some(id) = obj.get("conn").and_then(Value::as_str)
                    && !ever.contains(id)
                {
                    c.fail(format!("timer start for unknown conn {id}"));
                }
            }
            "dropped" => {
                c.uint("count", true);
                if obj.get("count").and_then(Value::as_u64) == Some(0) {
                    c.fail("dropped: count 0".into());
                }
            }
            "process" => {
                c.uint("rss_bytes", false);
                c.uint("open_fds", false);
            }
            _ => {}
        }
        *summary.by_type.entry(ty).or_default() += 1;
        summary.objects.push(obj);
    }
    if frames.is_empty() {
        errors.push("no frames at all".into());
    }
    if errors.is_empty() {
        Ok(summary)
    } else {
        Err(errors)
    }
}

/// Panics with every problem listed.
pub fn assert_conforms(frames: &[String]) -> Summary {
    match check_feed(frames) {
        Ok(s) => s,
        Err(errors) => panic!(
            "{} of {} frames break feed-protocol.md:\n{}",
            errors.len(),
            frames.len(),
            errors.join("\n")
        ),
    }
}
