//! The fast path of [`super::parse_event_str`]: a scanner for flat JSON objects (scalar
//! values, strings without escapes), which is what nearly every line of a log is. It fills the
//! same [`WireIn`] serde would, borrowing from the line, so the conversion to an [`Event`] is
//! one piece of code for both paths.
//!
//! The scanner accepts only what it can decide exactly as serde_json would; anything else
//! (an escape, a nested value, a duplicate or wrongly typed field, a malformed number, trailing
//! bytes) returns `None`, and the caller hands the line to serde_json, which gives the result
//! or the precise error. `tests::agrees_with_serde` checks the two paths agree.
//!
//! [`Event`]: super::Event

use super::wire::WireIn;
use std::borrow::Cow;

/// A scalar value as written in the line.
#[derive(Clone, Copy)]
enum Scalar<'a> {
    Str(&'a str),
    /// A number token, already checked against JSON's grammar.
    Num(&'a str),
    Null,
    Bool,
}

struct Cursor<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Cursor<'a> {
    fn bytes(&self) -> &'a [u8] {
        self.text.as_bytes()
    }

    fn peek(&self) -> Option<u8> {
        self.bytes().get(self.at).copied()
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.at += 1;
        }
    }

    fn eat(&mut self, b: u8) -> Option<()> {
        self.skip_ws();
        (self.peek()? == b).then(|| self.at += 1)
    }

    /// A string's contents, the opening quote already taken. Escapes and control characters
    /// (invalid unescaped in JSON) are left to serde.
    #[inline(always)]
    fn string(&mut self) -> Option<&'a str> {
        let start = self.at;
        let rest = &self.bytes()[start..];
        let len = find_special(rest)?;
        (rest[len] == b'"').then_some(())?;
        self.at = start + len + 1;
        // `start` and `start + len` sit next to ASCII bytes, so both are char boundaries.
        Some(&self.text[start..start + len])
    }

    fn digits(&mut self) -> usize {
        let start = self.at;
        while let Some(b'0'..=b'9') = self.peek() {
            self.at += 1;
        }
        self.at - start
    }

    /// A number token: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
    fn number(&mut self) -> Option<&'a str> {
        let start = self.at;
        if self.peek() == Some(b'-') {
            self.at += 1;
        }
        let first = self.peek()?;
        let int = self.digits();
        if int == 0 || (first == b'0' && int > 1) {
            return None;
        }
        if self.peek() == Some(b'.') {
            self.at += 1;
            (self.digits() > 0).then_some(())?;
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.at += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.at += 1;
            }
            (self.digits() > 0).then_some(())?;
        }
        Some(&self.text[start..self.at])
    }

    fn literal(&mut self, word: &str) -> Option<()> {
        self.bytes()[self.at..]
            .starts_with(word.as_bytes())
            .then(|| self.at += word.len())
    }

    #[inline(always)]
    fn scalar(&mut self) -> Option<Scalar<'a>> {
        self.skip_ws();
        match self.peek()? {
            b'"' => {
                self.at += 1;
                self.string().map(Scalar::Str)
            }
            b'-' | b'0'..=b'9' => self.number().map(Scalar::Num),
            b'n' => self.literal("null").map(|_| Scalar::Null),
            b't' => self.literal("true").map(|_| Scalar::Bool),
            b'f' => self.literal("false").map(|_| Scalar::Bool),
            _ => None,
        }
    }
}

/// The first `"`, `\\` or control character, eight bytes at a time: strings are most of a
/// line, and this is the scanner's inner loop.
#[inline(always)]
fn find_special(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // A byte of `x` is zero (or, for `below`, under n) where the result has its high bit set;
    // the lowest such bit is exact, which is all `trailing_zeros` needs.
    let zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    let below = |x: u64, n: u64| x.wrapping_sub(ONES * n) & !x & HIGH;
    let mut at = 0;
    while let Some(word) = bytes.get(at..at + 8) {
        let x = u64::from_le_bytes(word.try_into().ok()?);
        let hit = zero(x ^ (ONES * b'"' as u64)) | zero(x ^ (ONES * b'\\' as u64)) | below(x, 0x20);
        if hit != 0 {
            return Some(at + (hit.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    bytes[at..]
        .iter()
        .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
        .map(|i| at + i)
}

fn string(v: Scalar<'_>) -> Option<Option<Cow<'_, str>>> {
    match v {
        Scalar::Str(s) => Some(Some(Cow::Borrowed(s))),
        Scalar::Null => Some(None),
        _ => None,
    }
}

/// An unsigned integer field: serde_json takes plain digits only (no sign, fraction or
/// exponent), and fails on values out of range.
fn unsigned<T: TryFrom<u64>>(v: Scalar<'_>) -> Option<Option<T>> {
    match v {
        Scalar::Num(n) if n.bytes().all(|b| b.is_ascii_digit()) => {
            let n: u64 = n.parse().ok()?;
            T::try_from(n).ok().map(Some)
        }
        Scalar::Null => Some(None),
        _ => None,
    }
}

/// A float field. Negative numbers go to serde, whose `-0` is an integer zero.
fn float(v: Scalar<'_>) -> Option<Option<f64>> {
    match v {
        // serde_json fails on numbers beyond f64's range; `parse` gives infinity.
        Scalar::Num(n) if !n.starts_with('-') => {
            n.parse::<f64>().ok().filter(|f| f.is_finite()).map(Some)
        }
        Scalar::Null => Some(None),
        _ => None,
    }
}

/// A field that holds an object or array when present: only `null` is flat.
fn nested<T>(v: Scalar<'_>) -> Option<Option<T>> {
    matches!(v, Scalar::Null).then_some(None)
}

/// The head every writer of the protocol puts first, `{"type":"…","ts":"…","conn":"…"`, read
/// as fixed text around three strings: it spares the key scanning and dispatch of the fields
/// nearly every line starts with. Returns how far it got; `w` and `seen` hold what it read.
/// A line written otherwise (another order, spaces) is read by the general loop, from the
/// start, with nothing skipped.
fn head<'a>(c: &mut Cursor<'a>, w: &mut WireIn<'a>, seen: &mut u64) -> bool {
    const HEAD: [(&[u8], Field); 3] = [
        (b"{\"type\":\"", Field::ty),
        (b",\"ts\":\"", Field::ts),
        (b",\"conn\":\"", Field::conn),
    ];
    let mut read = false;
    for (text, field) in HEAD {
        if !c.bytes()[c.at..].starts_with(text) {
            break;
        }
        let at = c.at;
        c.at += text.len();
        let Some(value) = c.string() else {
            c.at = at;
            break;
        };
        let slot = match field {
            Field::ty => &mut w.ty,
            Field::ts => &mut w.ts,
            _ => &mut w.conn,
        };
        *slot = Some(Cow::Borrowed(value));
        *seen |= 1 << field as u32;
        read = true;
    }
    read
}

/// Scans one line into `w` (fresh), or `None` when serde_json must decide.
pub(super) fn scan<'a>(text: &'a str, w: &mut WireIn<'a>) -> Option<()> {
    let mut c = Cursor { text, at: 0 };
    // serde rejects a field given twice: so does this, by sending the line to serde.
    let mut seen = 0u64;
    // After the head, a `,` or the `}` comes next; otherwise the `{` and a key or the `}`.
    let mut after_value = head(&mut c, w, &mut seen);
    if !after_value {
        c.eat(b'{')?;
    }
    loop {
        c.skip_ws();
        match c.peek()? {
            b'}' => {
                c.at += 1;
                break;
            }
            b',' if after_value => c.at += 1,
            _ if !after_value => {}
            _ => return None,
        }
        c.eat(b'"')?;
        let key = c.string()?;
        c.eat(b':')?;
        let v = c.scalar()?;
        if let Some(bit) = set(w, key, v)? {
            let mask = 1u64 << bit;
            (seen & mask == 0).then_some(())?;
            seen |= mask;
        }
        after_value = true;
    }
    c.skip_ws();
    (c.at == text.len()).then_some(())
}

// One `match` on the key: the compiler dispatches on its length first, so a key costs one or
// two comparisons, not one per field before it.
macro_rules! fields {
    ($($name:literal => $field:ident : $how:ident,)*) => {
        /// The fields of [`WireIn`] the scanner fills, numbered for the duplicate check.
        #[allow(non_camel_case_types, clippy::upper_case_acronyms)]
        #[derive(Clone, Copy)]
        #[repr(u32)]
        enum Field { $($field,)* }

        /// Stores `v` in the field named `key`; returns the field's number (for the
        /// duplicate check), `Some(None)` for a key the struct does not have (ignored, as
        /// serde ignores it), and `None` when the value's type is not the field's.
        fn set<'a>(w: &mut WireIn<'a>, key: &str, v: Scalar<'a>) -> Option<Option<u32>> {
            match key {
                $($name => {
                    w.$field = $how(v)?;
                    Some(Some(Field::$field as u32))
                })*
                _ => Some(None),
            }
        }
    };
}

fields! {
    "type" => ty: string,
    "ts" => ts: string,
    "conn" => conn: string,
    "server" => server: string,
    "dir" => dir: string,
    "count" => count: unsigned,
    "bytes" => bytes: unsigned,
    "rtt_ms" => rtt_ms: float,
    "code" => code: unsigned,
    "reason" => reason: string,
    "initiator" => initiator: string,
    "remote" => remote: string,
    "user_agent" => user_agent: string,
    "path" => path: string,
    "forwarded_for" => forwarded_for: string,
    "client" => client: string,
    "subprotocol" => subprotocol: string,
    "protocol" => protocol: unsigned,
    "software" => software: string,
    "heartbeat" => heartbeat: nested,
    "history" => history: nested,
    "connections" => connections: nested,
    "timers" => timers: nested,
    "status" => status: unsigned,
    "message" => message: string,
    "timer" => timer: string,
    "op" => op: string,
    "kind" => kind: string,
    "interval_ms" => interval_ms: unsigned,
    "state" => state: string,
    "rss_bytes" => rss_bytes: unsigned,
    "open_fds" => open_fds: unsigned,
}

#[cfg(test)]
mod tests {
    use super::super::wire::parse_with_serde;
    use super::*;
    use proptest::prelude::*;

    fn agree(line: &str) {
        let mut w = WireIn::default();
        let fast = scan(line, &mut w).map(|_| super::super::wire::convert(&w));
        if let Some(fast) = fast {
            let slow = parse_with_serde(line);
            assert_eq!(fast, slow, "{line}");
        }
    }

    #[test]
    fn takes_the_lines_of_a_busy_log() {
        for line in [
            r#"{"type":"ping","ts":"2026-11-30T01:00:30Z","conn":"c18"}"#,
            r#"{"type":"pong","ts":"2026-11-30T01:00:30.020Z","conn":"c18","rtt_ms":20.5}"#,
            r#"{"type":"message","ts":"2026-11-30T01:00:30Z","conn":"c1","dir":"in","count":3,"bytes":400}"#,
            r#"{"type":"close","ts":"2026-11-30T01:00:30Z","conn":"c1","code":1006,"reason":"","initiator":"none"}"#,
            r#"{"type":"ping" , "ts":"2026-11-30T01:00:30Z" ,"conn":"c1" }"#,
            r#"{"ts":"2026-11-30T01:00:30Z","type":"ping","conn":"c1"}"#,
            r#" { "type" : "open" , "ts":"2026-11-30T01:00:30Z","conn":"c1","remote":"203.0.113.9:4000","user_agent":"Mozilla/5.0 (X11)","path":"/ws","extra":[] } "#,
        ] {
            let is_open = line.contains("open");
            assert_eq!(
                scan(line, &mut WireIn::default()).is_some(),
                !is_open,
                "{line}"
            );
            agree(line);
        }
    }

    #[test]
    fn leaves_what_it_cannot_decide_to_serde() {
        for line in [
            r#"{"type":"ping","ts":"2026-11-30T01:00:30Z","conn":"c\u0031"}"#,
            r#"{"type":"ping","ts":"2026-11-30T01:00:30Z","conn":"c1","conn":"c2"}"#,
            r#"{"type":"ping","ts":"2026-11-30T01:00:30Z","conn":"c1","type":"pong"}"#,
            r#"{"type":"ping","ts":"2026-11-30T01:00:30Z","ts":"2026-11-30T01:00:31Z"}"#,
            r#"{"type":"ping","ts":"2026-11-30T01:00:30\u005a","conn":"c1"}"#,
            r#"{"type":"ping""ts":"2026-11-30T01:00:30Z","conn":"c1"}"#,
            r#"{"type":"ping","ts":"2026-11-30T01:00:30Z","conn":"c1"} x"#,
            r#"{"type":"close","ts":"2026-11-30T01:00:30Z","conn":"c1","code":70000}"#,
            r#"{"type":"close","ts":"2026-11-30T01:00:30Z","conn":"c1","code":1000.0}"#,
            r#"{"type":"close","ts":"2026-11-30T01:00:30Z","conn":"c1","code":01000}"#,
            r#"{"type":"pong","ts":"2026-11-30T01:00:30Z","conn":"c1","rtt_ms":-0}"#,
            r#"{"type":"pong","ts":"2026-11-30T01:00:30Z","conn":"c1","rtt_ms":"5"}"#,
            r#"{"type":"hello","ts":"2026-11-30T01:00:30Z","heartbeat":{"ping_interval_ms":1}}"#,
            "{\"type\":\"ping\",\"ts\":\"2026-11-30T01:00:30Z\",\"conn\":\"c\u{1}\"}",
            r#"["ping","2026-11-30T01:00:30Z"]"#,
            r#"{"type":"ping","ts":"2026-11-30T01:00:30Z","conn":"c1",}"#,
            r#"{"type":"ping","ts":"2026-11-30T01:00:30Z","conn":"c1""#,
        ] {
            assert!(scan(line, &mut WireIn::default()).is_none(), "{line}");
        }
    }

    /// Pieces of lines, good and bad, glued at random: whatever the scanner accepts, serde
    /// must read the same way.
    fn piece() -> impl Strategy<Value = String> {
        prop_oneof![
            Just(r#""type":"ping""#.to_string()),
            Just(r#""type":"pong""#.to_string()),
            Just(r#""type":"message""#.to_string()),
            Just(r#""type":"close""#.to_string()),
            Just(r#""type":"open""#.to_string()),
            Just(r#""type":"process""#.to_string()),
            Just(r#""ts":"2026-11-30T01:00:30.5Z""#.to_string()),
            Just(r#""ts":"yesterday""#.to_string()),
            Just(r#""conn":null"#.to_string()),
            Just(r#""dir":"in""#.to_string()),
            Just(r#""dir":"sideways""#.to_string()),
            Just(r#""initiator":"server""#.to_string()),
            Just(r#""heartbeat":null"#.to_string()),
            Just(r#""extra":true"#.to_string()),
            "[a-z0-9 ]{0,12}".prop_map(|s| format!(r#""conn":"{s}""#)),
            "[a-zA-Z0-9_ /.:;()-]{0,40}".prop_map(|s| format!(r#""user_agent":"{s}""#)),
            "[a-z_]{1,12}".prop_map(|k| format!(r#""{k}":"v""#)),
            (0u64..100_000).prop_map(|n| format!(r#""code":{n}"#)),
            (0u64..u64::MAX).prop_map(|n| format!(r#""bytes":{n}"#)),
            "-?[0-9]{1,4}(\\.[0-9]{1,3})?([eE][+-]?[0-9]{1,3})?"
                .prop_map(|n| format!(r#""rtt_ms":{n}"#)),
            "-?[0-9]{1,3}(\\.[0-9]{0,2})?".prop_map(|n| format!(r#""count":{n}"#)),
            "[ \t]{0,2}".prop_map(|w| format!(r#""rss_bytes"{w}:{w}1"#)),
        ]
    }

    proptest! {
        // 256 cases in the suite; `scripts/fuzz` runs many more (WSCOPE_FUZZ_CASES).
        #![proptest_config(ProptestConfig::with_cases(
            std::env::var("WSCOPE_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(256)
        ))]
        #[test]
        fn agrees_with_serde(pieces in proptest::collection::vec(piece(), 0..8), tail in "[ }x]{0,2}") {
            let line = format!("{{{}}}{tail}", pieces.join(","));
            agree(&line);
        }
    }
}
