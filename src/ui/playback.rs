//! Replay of a log held in memory: applies events to the dashboard as the [`Player`] clock
//! passes them, and seeks. Seeking back rebuilds the model from the start of the log, which
//! is a tight loop of `Model::apply` with nothing drawn in between.

use super::app::Action;
use super::dashboard::{Dashboard, PlayStatus};
use super::player::{Player, Speed};
use crate::event::{Event, Ts};
use std::time::{Duration, Instant};

/// At `max` speed, how long one step may apply events before input and drawing get a turn.
const MAX_SPEED_SLICE: Duration = Duration::from_millis(30);

pub struct Playback {
    events: Vec<Event>,
    skipped: u64,
    /// Index of the next event to apply.
    cursor: usize,
    player: Player,
    /// Whether the dashboard's current model has been told about the skipped lines.
    skipped_noted: bool,
}

impl Playback {
    /// `events` in log order; `from` starts the clock there (events before it are applied
    /// at once).
    pub fn new(
        events: Vec<Event>,
        skipped: u64,
        speed: Speed,
        paused: bool,
        from: Option<Ts>,
        now: Instant,
    ) -> Playback {
        let start = events.first().map(|e| e.ts).unwrap_or_default();
        // Logs tolerate small reordering, so the end is the latest time, not the last line's.
        let end = events.iter().map(|e| e.ts).max().unwrap_or(start);
        let mut player = Player::new(start, end, speed, paused, now);
        if let Some(from) = from {
            player.seek_to(from, now);
        }
        Playback {
            events,
            skipped,
            cursor: 0,
            player,
            skipped_noted: false,
        }
    }

    pub fn start(&self) -> Ts {
        self.player.start()
    }

    pub fn len(&self) -> usize {
        self.events.len()
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// Time of the last event applied (the start before any).
    fn applied(&self) -> Ts {
        self.cursor
            .checked_sub(1)
            .map(|i| self.events[i].ts)
            .unwrap_or(self.player.start())
    }

    /// Applies every event up to the clock's position (within a time slice at `max`).
    pub fn advance(&mut self, now: Instant, dash: &mut Dashboard) {
        if !self.skipped_noted {
            dash.note_skipped(self.skipped);
            self.skipped_noted = true;
        }
        let target = self.player.position(now);
        let max = self.player.speed() == Speed::Max && !self.player.is_paused();
        let started = Instant::now();
        let mut applied_any = false;
        while self.cursor < self.events.len() && self.events[self.cursor].ts <= target {
            dash.apply(0, &self.events[self.cursor]);
            self.cursor += 1;
            applied_any = true;
            if max && self.cursor % 4096 == 0 && started.elapsed() >= MAX_SPEED_SLICE {
                break;
            }
        }
        let position = if max { self.applied() } else { target };
        let status = PlayStatus {
            position,
            speed: self.player.speed(),
            paused: self.player.is_paused(),
            at_end: self.cursor >= self.events.len(),
            start: self.player.start(),
            end: self.player.end(),
        };
        if applied_any || dash.play_status() != Some(&status) {
            dash.set_play_status(status);
        }
    }

    /// How long the loop may sleep before the replay needs another step.
    pub fn next_wake(&self, now: Instant) -> Duration {
        let Some(next) = self.events.get(self.cursor) else {
            return Duration::from_secs(1);
        };
        if self.player.is_paused() {
            return Duration::from_secs(1);
        }
        match self.player.speed() {
            Speed::Max => Duration::ZERO,
            Speed::Times(v) => {
                let gap = next.ts.secs_since(self.player.position(now)).max(0.0) / v;
                Duration::from_secs_f64(gap.min(1.0)).min(self.player.until_next_second(now))
            }
        }
    }

    pub fn act(&mut self, action: Action, now: Instant, dash: &mut Dashboard) {
        let applied = self.applied();
        match action {
            Action::TogglePause => self.player.toggle_pause(now, applied),
            Action::Faster => self.player.step_speed(true, now, applied),
            Action::Slower => self.player.step_speed(false, now, applied),
            Action::Seek(secs) => {
                let target = self.player.seek_by(secs, now, applied);
                self.rewind_if_needed(target, dash);
            }
            Action::JumpStart => {
                let target = self.player.seek_to(self.player.start(), now);
                self.rewind_if_needed(target, dash);
            }
            Action::JumpEnd => {
                self.player.seek_to(self.player.end(), now);
            }
            Action::Quit => {}
        }
        self.advance(now, dash);
    }

    /// Going back means rebuilding from the first event: the model only moves forward.
    fn rewind_if_needed(&mut self, target: Ts, dash: &mut Dashboard) {
        if target < self.applied() {
            dash.reset();
            self.skipped_noted = false;
            self.cursor = 0;
        }
    }
}
