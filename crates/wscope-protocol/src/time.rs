//! Event time: nanoseconds since the Unix epoch, UTC.
//!
//! Everything inside the model measures time with [`Ts`], taken from the events themselves,
//! never from the wall clock, so that a replayed log and a live feed agree.

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use std::fmt;

/// A point in event time, in nanoseconds since 1970-01-01T00:00:00Z.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ts(pub i64);

/// One second in [`Ts`] units.
pub const SECOND: i64 = 1_000_000_000;

impl Ts {
    pub const MIN: Ts = Ts(i64::MIN);

    pub fn from_secs_f64(secs: f64) -> Ts {
        Ts((secs * SECOND as f64) as i64)
    }

    pub fn from_millis(ms: i64) -> Ts {
        Ts(ms.saturating_mul(1_000_000))
    }

    /// Seconds from `earlier` to `self` (negative when `earlier` is later).
    pub fn secs_since(self, earlier: Ts) -> f64 {
        self.0.saturating_sub(earlier.0) as f64 / SECOND as f64
    }

    pub fn plus_secs(self, secs: f64) -> Ts {
        Ts(self.0.saturating_add((secs * SECOND as f64) as i64))
    }

    pub fn plus_nanos(self, nanos: i64) -> Ts {
        Ts(self.0.saturating_add(nanos))
    }

    /// Parses RFC 3339. The canonical form the feed uses (`2026-11-30T01:30:29.123Z`, 0 to 9
    /// fractional digits) takes a fast path, since logs hold millions of these; any other
    /// offset goes through chrono's full parser.
    pub fn parse(s: &str) -> Option<Ts> {
        parse_utc_fast(s.as_bytes()).or_else(|| {
            DateTime::parse_from_rfc3339(s)
                .ok()
                .and_then(|t| t.timestamp_nanos_opt())
                .map(Ts)
        })
    }

    pub fn to_datetime(self) -> DateTime<Utc> {
        DateTime::from_timestamp_nanos(self.0)
    }

    /// RFC 3339 with as many fractional digits as needed (none, 3, 6 or 9).
    pub fn to_rfc3339(self) -> String {
        self.to_datetime()
            .to_rfc3339_opts(SecondsFormat::AutoSi, true)
    }

    /// `HH:MM:SS` for narrow screens.
    pub fn clock(self) -> String {
        self.to_datetime().format("%H:%M:%S").to_string()
    }
}

impl fmt::Display for Ts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

fn digits(b: &[u8]) -> Option<u32> {
    let mut v = 0u32;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + (c - b'0') as u32;
    }
    Some(v)
}

/// Days from 1970-01-01 to a date. Consecutive events nearly always share their date, so the
/// last answer is kept per thread and chrono is asked only when the date changes.
fn days_since_epoch(year: i32, month: u32, day: u32) -> Option<i64> {
    thread_local! {
        static LAST: std::cell::Cell<(i32, u32, u32, i64)> = const { std::cell::Cell::new((0, 0, 0, 0)) };
    }
    let (y, m, d, days) = LAST.get();
    if (y, m, d) == (year, month, day) {
        return Some(days);
    }
    let days = NaiveDate::from_ymd_opt(year, month, day)?
        .signed_duration_since(NaiveDate::from_ymd_opt(1970, 1, 1)?)
        .num_days();
    LAST.set((year, month, day, days));
    Some(days)
}

/// `YYYY-MM-DDTHH:MM:SS[.f{1,9}]Z` only; `None` sends the caller to the general parser.
fn parse_utc_fast(b: &[u8]) -> Option<Ts> {
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' || !matches!(b[b.len() - 1], b'Z' | b'z') {
        return None;
    }
    let year = digits(&b[0..4])? as i32;
    let month = digits(&b[5..7])?;
    let day = digits(&b[8..10])?;
    let (h, m, s) = (
        digits(&b[11..13])?,
        digits(&b[14..16])?,
        digits(&b[17..19])?,
    );
    if h > 23 || m > 59 || s > 60 {
        return None;
    }
    let frac = &b[19..b.len() - 1];
    let nanos = match frac {
        [] => 0,
        [b'.', rest @ ..] if !rest.is_empty() && rest.len() <= 9 => {
            digits(rest)? * 10u32.pow(9 - rest.len() as u32)
        }
        _ => return None,
    };
    let days = days_since_epoch(year, month, day)?;
    let secs = days * 86_400 + (h * 3600 + m * 60 + s) as i64;
    secs.checked_mul(SECOND)?.checked_add(nanos as i64).map(Ts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_path_agrees_with_chrono() {
        for s in [
            "2026-11-30T01:30:29Z",
            "2026-11-30T01:30:29.1Z",
            "2026-11-30T01:30:29.123Z",
            "2026-11-30T01:30:29.123456789Z",
            "1999-02-28T23:59:59.5Z",
        ] {
            let chrono = DateTime::parse_from_rfc3339(s)
                .unwrap()
                .timestamp_nanos_opt();
            assert_eq!(parse_utc_fast(s.as_bytes()).map(|t| t.0), chrono, "{s}");
        }
    }

    #[test]
    fn offsets_and_garbage() {
        assert_eq!(
            Ts::parse("2026-11-30T02:30:29+01:00"),
            Ts::parse("2026-11-30T01:30:29Z")
        );
        for bad in [
            "",
            "2026-13-30T01:30:29Z",
            "2026-11-30 01:30",
            "2026-11-30T01:30:29.Z",
        ] {
            assert_eq!(Ts::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn round_trip() {
        let t = Ts::parse("2026-11-30T01:30:29.123Z").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-11-30T01:30:29.123Z");
        assert_eq!(Ts::parse(&t.to_rfc3339()), Some(t));
    }
}
