//! Large `snapshot` lines, read entry by entry. A server with a million open connections
//! writes a snapshot of tens of MiB; parsed whole, its entries cost ~30 times the line
//! (serde's borrowed struct per entry, then the event's), on top of the model that takes them.
//! A snapshot line of [`RAW_MIN`] or more is therefore checked once, entry by entry, without
//! keeping any, and the event holds the line itself ([`Snapshot::raw`]); the model reads its
//! entries one at a time again, in one pass, when it applies it. Memory: the line, and the model.

use super::wire::{ParseError, SnapConnIn, SnapTimerIn, snap_conn, snap_timer};
use super::{Event, EventKind, Snapshot, SnapshotConn, SnapshotTimer, Str, Ts};
use serde::Deserialize;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::fmt;
use std::sync::Arc;

/// Snapshot lines at least this long are kept as text and read entry by entry.
pub const RAW_MIN: usize = 1 << 20;

/// Whether `head` starts an object whose own `type` is `snapshot`. The same words nested in
/// a value (`{"type":"error","x":{"type":"snapshot"}}`) or in a string do not count: they
/// must not lift the line limit.
pub fn starts_a_snapshot(head: &[u8]) -> bool {
    let ws = |b: &u8| matches!(b, b' ' | b'\t' | b'\r');
    let Some(open) = head.iter().position(|b| !ws(b)) else {
        return false;
    };
    if head[open] != b'{' {
        return false;
    }
    let (mut depth, mut in_string, mut escaped) = (1u32, false, false);
    for (i, &b) in head.iter().enumerate().skip(open + 1) {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                depth -= 1;
                if depth == 0 {
                    return false;
                }
            }
            b'"' => {
                if depth == 1 && is_type_snapshot(&head[i..]) {
                    return true;
                }
                in_string = true;
            }
            _ => {}
        }
    }
    false
}

/// `"type"`, a colon and `"snapshot"`, with JSON's whitespace between.
fn is_type_snapshot(at: &[u8]) -> bool {
    let skip_ws = |s: &[u8]| -> usize {
        s.iter()
            .take_while(|b| matches!(b, b' ' | b'\t' | b'\r'))
            .count()
    };
    let Some(rest) = at.strip_prefix(br#""type""#) else {
        return false;
    };
    let rest = &rest[skip_ws(rest)..];
    let Some(rest) = rest.strip_prefix(b":") else {
        return false;
    };
    rest[skip_ws(rest)..].starts_with(br#""snapshot""#)
}
#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "snake_case")]
enum Key {
    Type,
    Ts,
    Server,
    Connections,
    Timers,
    #[serde(other)]
    Other,
}

/// What each entry goes to; the first entry that is not valid stops the calls.
struct Sinks<'f> {
    conn: &'f mut dyn FnMut(&SnapshotConn),
    timer: &'f mut dyn FnMut(&SnapshotTimer),
    error: Option<ParseError>,
}

struct Head {
    ty: Option<String>,
    ts: Option<String>,
    server: Option<String>,
}

struct Top<'s, 'f>(&'s mut Sinks<'f>);

impl<'de> Visitor<'de> for Top<'_, '_> {
    type Value = Head;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a snapshot object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Head, A::Error> {
        let mut head = Head {
            ty: None,
            ts: None,
            server: None,
        };
        let mut seen = [false; 5];
        while let Some(key) = map.next_key::<Key>()? {
            let slot = match key {
                Key::Type => 0,
                Key::Ts => 1,
                Key::Server => 2,
                Key::Connections => 3,
                Key::Timers => 4,
                Key::Other => {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
            };
            // As serde's derived structs do, a field given twice is an error.
            if std::mem::replace(&mut seen[slot], true) {
                return Err(de::Error::custom("a snapshot field is given twice"));
            }
            match key {
                Key::Type => head.ty = map.next_value()?,
                Key::Ts => head.ts = map.next_value()?,
                Key::Server => head.server = map.next_value()?,
                Key::Connections => map.next_value_seed(Entries::<Conns>(self.0, Conns))?,
                Key::Timers => map.next_value_seed(Entries::<Timers>(self.0, Timers))?,
                Key::Other => unreachable!("handled above"),
            }
        }
        Ok(head)
    }
}

/// How one kind of entry is read and handed on.
trait Kind {
    fn take<'de, A: SeqAccess<'de>>(seq: &mut A, sinks: &mut Sinks<'_>) -> Result<bool, A::Error>;
}

struct Conns;
struct Timers;

/// Reads the next entry of `seq` as `In`, converts it and hands it to `sink`; after the first
/// entry that does not convert, entries are only read. `false` at the end of the array.
fn take_entry<'de, A, In, Out>(
    seq: &mut A,
    error: &mut Option<ParseError>,
    convert: fn(&In) -> Result<Out, ParseError>,
    sink: &mut dyn FnMut(&Out),
) -> Result<bool, A::Error>
where
    A: SeqAccess<'de>,
    In: Deserialize<'de>,
{
    let Some(entry) = seq.next_element::<In>()? else {
        return Ok(false);
    };
    if error.is_none() {
        match convert(&entry) {
            Ok(out) => sink(&out),
            Err(e) => *error = Some(e),
        }
    }
    Ok(true)
}

impl Kind for Conns {
    fn take<'de, A: SeqAccess<'de>>(seq: &mut A, sinks: &mut Sinks<'_>) -> Result<bool, A::Error> {
        take_entry::<A, SnapConnIn<'de>, _>(seq, &mut sinks.error, snap_conn, &mut *sinks.conn)
    }
}

impl Kind for Timers {
    fn take<'de, A: SeqAccess<'de>>(seq: &mut A, sinks: &mut Sinks<'_>) -> Result<bool, A::Error> {
        take_entry::<A, SnapTimerIn<'de>, _>(seq, &mut sinks.error, snap_timer, &mut *sinks.timer)
    }
}

/// An array of entries (or `null`), each handed on as it is read.
struct Entries<'s, 'f, K>(&'s mut Sinks<'f>, K);

impl<'de, K: Kind> DeserializeSeed<'de> for Entries<'_, '_, K> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de, K: Kind> Visitor<'de> for Entries<'_, '_, K> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of snapshot entries")
    }

    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while K::take(&mut seq, self.0)? {}
        Ok(())
    }
}

/// Reads the snapshot line `text` entry by entry; returns its time and server.
fn stream(
    text: &str,
    conn: &mut dyn FnMut(&SnapshotConn),
    timer: &mut dyn FnMut(&SnapshotTimer),
) -> Result<(Ts, Option<Str>), ParseError> {
    let mut sinks = Sinks {
        conn,
        timer,
        error: None,
    };
    let mut de = serde_json::Deserializer::from_str(text);
    let head = de::Deserializer::deserialize_map(&mut de, Top(&mut sinks))
        .and_then(|h| de.end().map(|()| h))
        .map_err(|e| ParseError::Json(e.to_string()))?;
    if let Some(e) = sinks.error {
        return Err(e);
    }
    if head.ty.as_deref() != Some("snapshot") {
        return Err(ParseError::BadValue("type", head.ty.unwrap_or_default()));
    }
    let ts_text = head.ts.ok_or(ParseError::Missing("ts"))?;
    let ts = Ts::parse(&ts_text).ok_or(ParseError::BadTime(ts_text))?;
    Ok((ts, head.server.map(Str::from)))
}

/// A large snapshot line as an event holding the line (checked entry by entry here).
pub(super) fn parse_raw(text: &str) -> Result<Event, ParseError> {
    let (ts, server) = stream(text, &mut |_| {}, &mut |_| {})?;
    Ok(Event {
        ts,
        server,
        kind: EventKind::Snapshot(Snapshot {
            raw: Some(Arc::from(text.trim())),
            ..Snapshot::default()
        }),
    })
}

impl Snapshot {
    /// Calls `conn` with each connection entry and `timer` with each timer entry, in the
    /// order of the line: a snapshot kept as read is read once.
    pub fn each_entry(
        &self,
        conn: &mut dyn FnMut(&SnapshotConn),
        timer: &mut dyn FnMut(&SnapshotTimer),
    ) {
        match &self.raw {
            // Checked when the line was read: it cannot fail now.
            Some(raw) => drop(stream(raw, conn, timer)),
            None => {
                self.connections.iter().for_each(conn);
                self.timers.iter().for_each(timer);
            }
        }
    }

    /// Connection entries.
    pub fn conn_count(&self) -> usize {
        let mut n = 0;
        self.each_entry(&mut |_| n += 1, &mut |_| {});
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn big(n: usize, extra: &str) -> String {
        let conns: Vec<String> = (0..n)
            .map(|i| format!(r#"{{"conn":"c{i}","opened":"2026-11-30T00:41:02Z","msgs_in":{i}}}"#))
            .collect();
        format!(
            r#"{{"type":"snapshot","ts":"2026-11-30T01:00:00Z","server":"eu-1"{extra},"connections":[{}],"timers":[{{"conn":"c1","timer":"hb","interval_ms":30000}}]}}"#,
            conns.join(",")
        )
    }

    #[test]
    fn a_raw_snapshot_reads_the_same_as_a_parsed_one() {
        let line = big(2000, r#","note":{"nested":[1,2]}"#);
        let parsed = super::super::wire::parse_with_serde(&line).unwrap();
        let raw = parse_raw(&line).unwrap();
        assert_eq!((raw.ts, &raw.server), (parsed.ts, &parsed.server));
        let (EventKind::Snapshot(a), EventKind::Snapshot(b)) = (&parsed.kind, &raw.kind) else {
            panic!()
        };
        let (mut ca, mut cb) = (Vec::new(), Vec::new());
        let (mut ta, mut tb) = (Vec::new(), Vec::new());
        a.each_entry(&mut |c| ca.push(c.clone()), &mut |t| ta.push(t.clone()));
        b.each_entry(&mut |c| cb.push(c.clone()), &mut |t| tb.push(t.clone()));
        assert_eq!(ca, cb);
        assert_eq!(b.conn_count(), 2000);
        assert_eq!((ta.len(), ta), (1, tb));
    }

    #[test]
    fn a_bad_raw_snapshot_is_the_same_error() {
        for line in [
            big(10, "").replace(r#"{"conn":"c3","#, r#"{"#),
            big(10, "").replace("2026-11-30T01:00:00Z", "yesterday"),
            big(10, r#","ts":"2026-11-30T01:00:00Z""#),
            format!("{} trailing", big(10, "")),
            big(10, "")[..200].to_string(),
        ] {
            let raw = parse_raw(&line);
            let parsed = super::super::wire::parse_with_serde(&line);
            assert!(raw.is_err() && parsed.is_err(), "{raw:?} {parsed:?}");
            if let (Err(ParseError::Missing(a)), Err(ParseError::Missing(b))) = (&raw, &parsed) {
                assert_eq!(a, b);
            }
        }
    }
}
