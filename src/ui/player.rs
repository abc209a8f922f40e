//! The replay clock: maps wall-clock time to event time at a speed, with pause and seek.
//!
//! Pure arithmetic over `Instant`s handed in by the caller, so it is tested without sleeping.
//! At speed `max` the clock does not lead: the driver applies events as fast as it can and the
//! position is simply the last event applied; at the end it holds.

use crate::event::{SECOND, Ts};
use std::time::{Duration, Instant};

/// The speeds `+` and `-` step through.
pub const SPEEDS: [f64; 12] = [
    0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 3600.0,
];

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Speed {
    Times(f64),
    Max,
}

impl Speed {
    /// `1`, `2.5`, `10x`, or `max`.
    pub fn parse(s: &str) -> Result<Speed, String> {
        let t = s.trim();
        if t.eq_ignore_ascii_case("max") {
            return Ok(Speed::Max);
        }
        let n = t.strip_suffix(['x', 'X']).unwrap_or(t);
        match n.parse::<f64>() {
            Ok(v) if v.is_finite() && v > 0.0 && v <= 1e6 => Ok(Speed::Times(v)),
            _ => Err(format!(
                "speed must be a positive number (e.g. 1, 10, 0.5) or `max`, not {s:?}"
            )),
        }
    }

    pub fn label(self) -> String {
        match self {
            Speed::Max => "max".to_string(),
            Speed::Times(v) if v.fract() == 0.0 => format!("{v:.0}x"),
            Speed::Times(v) => format!("{v}x"),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Player {
    start: Ts,
    end: Ts,
    /// Event time at `anchor`.
    position: Ts,
    anchor: Instant,
    speed: Speed,
    paused: bool,
}

impl Player {
    pub fn new(start: Ts, end: Ts, speed: Speed, paused: bool, now: Instant) -> Player {
        Player {
            start,
            end: end.max(start),
            position: start,
            anchor: now,
            speed,
            paused,
        }
    }

    pub fn start(&self) -> Ts {
        self.start
    }

    pub fn end(&self) -> Ts {
        self.end
    }

    pub fn speed(&self) -> Speed {
        self.speed
    }

    pub fn is_paused(&self) -> bool {
        self.paused
    }

    /// The event time to show at wall time `now`. At `max` speed this is the end (the driver
    /// limits how much it applies per step) unless paused.
    pub fn position(&self, now: Instant) -> Ts {
        if self.paused {
            return self.position;
        }
        match self.speed {
            Speed::Max => self.end,
            Speed::Times(v) => {
                let wall = now.saturating_duration_since(self.anchor);
                let nanos = (wall.as_secs_f64() * v * SECOND as f64).min(i64::MAX as f64) as i64;
                self.position.plus_nanos(nanos).min(self.end)
            }
        }
    }

    pub fn at_end(&self, now: Instant) -> bool {
        self.position(now) >= self.end
    }

    /// Re-anchors at `now` so that later changes apply from the current position. `applied`
    /// is the time of the last event applied, which is where `max` really is.
    fn rebase(&mut self, now: Instant, applied: Ts) {
        // Running at `max`, the clock says "the end": the screen is where the events are.
        // Paused (as a seek at `max` leaves it), the clock is where the screen is, also in a
        // stretch without events, so every seek moves on from there.
        self.position = match (self.speed, self.paused) {
            (Speed::Max, false) => applied.clamp(self.start, self.end),
            _ => self.position(now),
        };
        self.anchor = now;
    }

    pub fn toggle_pause(&mut self, now: Instant, applied: Ts) {
        self.rebase(now, applied);
        self.paused = !self.paused;
    }

    pub fn set_speed(&mut self, speed: Speed, now: Instant, applied: Ts) {
        self.rebase(now, applied);
        self.speed = speed;
    }

    /// One step up or down [`SPEEDS`]; above the top is `max`, below `max` is the top.
    pub fn step_speed(&mut self, faster: bool, now: Instant, applied: Ts) {
        let next = match (self.speed, faster) {
            (Speed::Max, true) => Speed::Max,
            (Speed::Max, false) => Speed::Times(SPEEDS[SPEEDS.len() - 1]),
            (Speed::Times(v), true) => SPEEDS
                .iter()
                .find(|s| **s > v)
                .map(|s| Speed::Times(*s))
                .unwrap_or(Speed::Max),
            (Speed::Times(v), false) => Speed::Times(
                SPEEDS
                    .iter()
                    .rev()
                    .find(|s| **s < v)
                    .copied()
                    .unwrap_or(SPEEDS[0]),
            ),
        };
        self.set_speed(next, now, applied);
    }

    /// Moves the clock to `target` (clamped to the log) and returns it. At `max` speed a seek
    /// pauses, since `max` would otherwise run straight to the end again.
    pub fn seek_to(&mut self, target: Ts, now: Instant) -> Ts {
        let target = target.clamp(self.start, self.end);
        self.position = target;
        self.anchor = now;
        if self.speed == Speed::Max && target < self.end {
            self.paused = true;
        }
        target
    }

    pub fn seek_by(&mut self, secs: i64, now: Instant, applied: Ts) -> Ts {
        self.rebase(now, applied);
        let target = self.position.plus_nanos(secs.saturating_mul(SECOND));
        self.seek_to(target, now)
    }

    /// How long until the shown event time reaches the next whole second; the loop sleeps at
    /// most this long so the clock in the header ticks evenly without polling fast.
    pub fn until_next_second(&self, now: Instant) -> Duration {
        match (self.paused, self.speed) {
            (true, _) | (_, Speed::Max) => Duration::from_secs(1),
            (false, Speed::Times(v)) => {
                let pos = self.position(now).0.rem_euclid(SECOND);
                let left = (SECOND - pos) as f64 / v;
                Duration::from_nanos(left.clamp(1e6, 1e9) as u64)
            }
        }
    }
}

/// A `--from` that is neither a time nor a duration: the text given.
#[derive(Debug, Clone, PartialEq)]
pub struct BadFrom(pub String);

impl std::fmt::Display for BadFrom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "--from must be an RFC 3339 time or a duration from the start (90s, 5m), not {:?}",
            self.0
        )
    }
}

impl std::error::Error for BadFrom {}

/// `--from`: an RFC 3339 time, or a duration from the start of the log (`90s`, `5m`).
pub fn parse_from(s: &str, start: Ts) -> Result<Ts, BadFrom> {
    if let Some(t) = Ts::parse(s.trim()) {
        return Ok(t);
    }
    crate::duration::parse_duration(s)
        .map(|d| start.plus_nanos(d.as_nanos().min(i64::MAX as u128) as i64))
        .map_err(|_| BadFrom(s.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> Ts {
        Ts(s * SECOND)
    }

    #[test]
    fn clock_runs_at_speed_pauses_and_holds_at_end() {
        let w = Instant::now();
        let mut p = Player::new(t(100), t(200), Speed::Times(2.0), false, w);
        assert_eq!(p.position(w + Duration::from_secs(10)), t(120));
        p.toggle_pause(w + Duration::from_secs(10), t(0));
        assert!(p.is_paused());
        assert_eq!(p.position(w + Duration::from_secs(50)), t(120));
        p.toggle_pause(w + Duration::from_secs(50), t(0));
        assert_eq!(p.position(w + Duration::from_secs(55)), t(130));
        assert_eq!(p.position(w + Duration::from_secs(500)), t(200));
        assert!(p.at_end(w + Duration::from_secs(500)));
    }

    #[test]
    fn speed_steps_and_seek_clamps() {
        let w = Instant::now();
        let mut p = Player::new(t(0), t(1000), Speed::Times(1.0), true, w);
        p.step_speed(true, w, t(0));
        assert_eq!(p.speed(), Speed::Times(2.0));
        p.step_speed(false, w, t(0));
        p.step_speed(false, w, t(0));
        assert_eq!(p.speed(), Speed::Times(0.5));
        for _ in 0..20 {
            p.step_speed(true, w, t(0));
        }
        assert_eq!(p.speed(), Speed::Max);
        p.step_speed(false, w, t(0));
        assert_eq!(p.speed(), Speed::Times(3600.0));
        assert_eq!(p.seek_by(-10, w, t(0)), t(0));
        assert_eq!(p.seek_by(5000, w, t(0)), t(1000));
        assert_eq!(p.seek_by(-60, w, t(0)), t(940));
    }

    #[test]
    fn max_speed_position_is_what_was_applied() {
        let w = Instant::now();
        let mut p = Player::new(t(0), t(100), Speed::Max, false, w);
        assert_eq!(p.position(w), t(100));
        p.toggle_pause(w, t(40));
        assert_eq!(p.position(w + Duration::from_secs(9)), t(40));
        assert_eq!(p.seek_by(-10, w, t(40)), t(30));
    }

    #[test]
    fn every_seek_moves_on_also_where_there_are_no_events() {
        let w = Instant::now();
        let mut p = Player::new(t(0), t(1000), Speed::Max, false, w);
        // At max, the last event applied was at 100 s, the next is far away: each seek
        // forward moves 10 s on from the last, none is lost to the event at 100 s.
        let applied = t(100);
        assert_eq!(p.seek_by(10, w, applied), t(110));
        assert_eq!(p.seek_by(10, w, applied), t(120));
        assert_eq!(p.seek_by(-60, w, applied), t(60));
        assert_eq!(p.seek_by(-10, w, t(50)), t(50));
    }

    #[test]
    fn parses_speed_and_from() {
        assert_eq!(Speed::parse("max"), Ok(Speed::Max));
        assert_eq!(Speed::parse("10x"), Ok(Speed::Times(10.0)));
        assert_eq!(Speed::parse("0.5"), Ok(Speed::Times(0.5)));
        for bad in ["0", "-1", "fast", "nan", "inf"] {
            assert!(Speed::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_from("90s", t(10)), Ok(t(100)));
        assert_eq!(
            parse_from("2026-11-30T01:00:00Z", t(0)),
            Ok(Ts::parse("2026-11-30T01:00:00Z").unwrap())
        );
        assert!(parse_from("yesterday", t(0)).is_err());
    }
}
