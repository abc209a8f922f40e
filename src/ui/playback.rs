//! Replay of a recorded log: applies events to the dashboard as the [`Player`] clock passes
//! them, and seeks. The log is read a window at a time ([`IndexedLog`]), so a log of any
//! size holds a few windows of events. Seeking back rebuilds the model from the latest
//! checkpoint before the target (or the start), a tight loop of `Model::apply` with nothing
//! drawn in between.

use super::dashboard::{Dashboard, PlayStatus};
use super::player::{Player, Speed};
use super::recent::SHARED_CAPACITY;
use super::view::Action;
use crate::event::{Event, Ts};
use crate::model::Model;
use crate::model::fleet::ServerSplit;
use crate::source::log_index::IndexedLog;
use crate::source::{SourceMsg, SourceState};
use std::time::{Duration, Instant};

/// How long one step may apply events before input and drawing get a turn (a fast replay
/// of a busy log has more events due than that).
const STEP_SLICE: Duration = Duration::from_millis(5);
/// The shortest sleep between replay steps at a finite speed.
const MIN_STEP: Duration = Duration::from_millis(50);
/// A copy of the model is kept every this many events, so seeking back replays at most this
/// many events instead of the whole log...
const CHECKPOINT_EVERY: u64 = 500_000;
/// ...unless the model is this large (a copy per checkpoint would cost too much memory)...
const CHECKPOINT_MAX_OPEN: usize = 200_000;
/// ...and there are at most this many copies, holding at most this many connections
/// together: past either, every second copy goes and the spacing doubles, so memory stays
/// bounded however long the log.
const CHECKPOINT_MAX: usize = 32;
const CHECKPOINT_BUDGET_OPEN: usize = 1_000_000;
/// Windows of events held at once: the one playing, one looked ahead, one spare.
const LOADED_WINDOWS: usize = 3;

struct Checkpoint {
    /// Events applied before it.
    cursor: u64,
    /// Time of the last of them.
    applied: Ts,
    model: Model,
    split: ServerSplit,
}

pub struct Playback {
    log: IndexedLog,
    /// Windows read, least recently used first.
    loaded: Vec<(usize, Vec<Event>)>,
    /// Index of the next event to apply.
    cursor: u64,
    /// Time of the last event applied (the start before any).
    applied: Ts,
    player: Player,
    /// Whether the dashboard's current model has been told about the skipped lines.
    skipped_noted: bool,
    checkpoints: Vec<Checkpoint>,
    checkpoint_every: u64,
    /// Why the log could not be read again; playback ends where it stopped.
    failed: Option<String>,
    failure_shown: bool,
    /// Whether the model was told the log is over ([`Model::finish`]).
    model_finished: bool,
}

impl Playback {
    /// `from` starts the clock there (events before it are applied at once).
    pub fn new(
        log: IndexedLog,
        speed: Speed,
        paused: bool,
        from: Option<Ts>,
        now: Instant,
    ) -> Playback {
        let start = log.start().unwrap_or_default();
        // Logs tolerate small reordering, so the end is the latest time, not the last line's.
        let end = log.end().unwrap_or(start);
        let mut player = Player::new(start, end, speed, paused, now);
        if let Some(from) = from {
            player.seek_to(from, now);
        }
        Playback {
            log,
            loaded: Vec::new(),
            cursor: 0,
            applied: start,
            player,
            skipped_noted: false,
            checkpoints: Vec::new(),
            checkpoint_every: CHECKPOINT_EVERY,
            failed: None,
            failure_shown: false,
            model_finished: false,
        }
    }

    pub fn start(&self) -> Ts {
        self.player.start()
    }

    pub fn len(&self) -> u64 {
        self.log.len()
    }

    pub fn is_empty(&self) -> bool {
        self.log.is_empty()
    }

    /// Event `index` of the log, reading its window if need be.
    fn event(&mut self, index: u64) -> Option<&Event> {
        if index >= self.log.len() || self.failed.is_some() {
            return None;
        }
        // Nearly always the window being played: no search.
        let first_of = |w: usize| self.log.windows()[w].first_event;
        let playing = self.loaded.last().is_some_and(|(w, events)| {
            (first_of(*w)..first_of(*w) + events.len() as u64).contains(&index)
        });
        if playing {
            let (w, events) = self.loaded.last()?;
            return events.get((index - self.log.windows()[*w].first_event) as usize);
        }
        let w = self.log.window_of(index);
        let slot = match self.loaded.iter().position(|(i, _)| *i == w) {
            Some(slot) if slot + 1 == self.loaded.len() => slot,
            Some(slot) => {
                let entry = self.loaded.remove(slot);
                self.loaded.push(entry);
                self.loaded.len() - 1
            }
            None => match self.log.load(w) {
                Ok(events) => {
                    if self.loaded.len() == LOADED_WINDOWS {
                        self.loaded.remove(0);
                    }
                    self.loaded.push((w, events));
                    self.loaded.len() - 1
                }
                Err(e) => {
                    self.failed = Some(e.to_string());
                    return None;
                }
            },
        };
        let first = self.log.windows()[w].first_event;
        self.loaded[slot].1.get((index - first) as usize)
    }

    /// Index of the first event from `self.cursor` on that is later than `target` (the
    /// log's length if none). Whole windows no later than `target` are passed over unread.
    fn end_of(&mut self, target: Ts) -> u64 {
        let mut w = self.log.window_of(self.cursor);
        while let Some(window) = self.log.windows().get(w) {
            if window.max_ts > target {
                let (first, len) = (window.first_event, window.events);
                let mut i = first.max(self.cursor);
                while i < first + len {
                    match self.event(i) {
                        Some(e) if e.ts > target => return i,
                        Some(_) => i += 1,
                        None => return i,
                    }
                }
            }
            w += 1;
        }
        self.log.len()
    }

    fn at_end(&self) -> bool {
        self.cursor >= self.log.len() || self.failed.is_some()
    }

    /// Applies the events up to the clock's position, within a time slice: what is left is
    /// applied at the next step, which comes at once.
    pub fn advance(&mut self, now: Instant, dash: &mut Dashboard) {
        if !self.skipped_noted {
            dash.note_skipped(self.log.skipped().count);
            self.skipped_noted = true;
        }
        let target = self.player.position(now);
        let max = self.player.speed() == Speed::Max && !self.player.is_paused();
        let started = Instant::now();
        let mut applied_any = false;
        // A long jump: events that the recent-events ring would drop again skip it.
        let quiet_until = if max {
            0
        } else {
            self.end_of(target).saturating_sub(SHARED_CAPACITY as u64)
        };
        let quiet_until = quiet_until.max(self.cursor);
        let mut cursor = self.cursor;
        let mut out_of_time = false;
        while let Some(event) = self.event(cursor) {
            if event.ts > target {
                break;
            }
            let ts = event.ts;
            if cursor < quiet_until {
                dash.apply_quietly(0, event);
            } else {
                dash.apply(0, event);
            }
            cursor += 1;
            self.cursor = cursor;
            self.applied = ts;
            applied_any = true;
            if self.cursor.is_multiple_of(self.checkpoint_every) {
                self.checkpoint(dash);
            }
            if self.cursor.is_multiple_of(1024) && started.elapsed() >= STEP_SLICE {
                out_of_time = true;
                break;
            }
        }
        if self.at_end() && !self.model_finished {
            // The whole log is read: what its clock guards still hold is judged now.
            dash.finish_sources();
            self.model_finished = true;
        }
        if let (Some(message), false) = (&self.failed, self.failure_shown) {
            dash.apply_msg(SourceMsg::State {
                source: 0,
                state: SourceState::Unreadable {
                    message: message.clone(),
                },
            });
            self.failure_shown = true;
        }
        // Behind the clock, the model's time stays at the last event applied: events still
        // due must not arrive in its past.
        let caught_up = !max && !out_of_time;
        let position = if caught_up { target } else { self.applied };
        if caught_up {
            dash.advance_clock(target);
        }
        let status = self.status(position);
        if applied_any || dash.play_status() != Some(&status) {
            dash.set_play_status(status);
        }
    }

    fn status(&self, position: Ts) -> PlayStatus {
        PlayStatus {
            position,
            speed: self.player.speed(),
            paused: self.player.is_paused(),
            at_end: self.at_end(),
            start: self.player.start(),
            end: self.player.end(),
        }
    }

    /// How long the loop may sleep before the replay needs another step.
    pub fn next_wake(&mut self, now: Instant) -> Duration {
        let Some(next) = self.event(self.cursor).map(|e| e.ts) else {
            return Duration::from_secs(1);
        };
        if next <= self.player.position(now) {
            // Behind the clock (a step ran out of time, or a seek): go on at once.
            return Duration::ZERO;
        }
        if self.player.is_paused() {
            return Duration::from_secs(1);
        }
        match self.player.speed() {
            Speed::Max => Duration::ZERO,
            Speed::Times(v) => {
                let gap = next.secs_since(self.player.position(now)).max(0.0) / v;
                // Dense logs are applied in batches: a frame shows them together anyway.
                Duration::from_secs_f64(gap.clamp(MIN_STEP.as_secs_f64(), 1.0))
                    .min(self.player.until_next_second(now).max(MIN_STEP))
            }
        }
    }

    /// A key's action, and the events it makes due applied.
    pub fn act(&mut self, action: Action, now: Instant, dash: &mut Dashboard) {
        self.steer(action, now, dash);
        self.advance(now, dash);
    }

    /// What a key does to the player (pause, speed, seek), shown in the status at once; the
    /// events it makes due wait for the next [`Self::advance`]. A seek back rebuilds the
    /// model here.
    pub fn steer(&mut self, action: Action, now: Instant, dash: &mut Dashboard) {
        let applied = self.applied;
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
        let target = self.player.position(now);
        let behind = self.event(self.cursor).is_some_and(|e| e.ts <= target);
        let status = self.status(if behind { self.applied } else { target });
        if dash.play_status() != Some(&status) {
            dash.set_play_status(status);
        }
    }

    fn checkpoint(&mut self, dash: &Dashboard) {
        let fresh = self
            .checkpoints
            .last()
            .is_none_or(|c| c.cursor < self.cursor);
        if !fresh || dash.model.open_count() > CHECKPOINT_MAX_OPEN {
            return;
        }
        self.checkpoints.push(Checkpoint {
            cursor: self.cursor,
            applied: self.applied,
            model: Model::clone(&dash.model),
            split: ServerSplit::clone(&dash.split),
        });
        let held: usize = self.checkpoints.iter().map(|c| c.model.open_count()).sum();
        if held > CHECKPOINT_BUDGET_OPEN || self.checkpoints.len() > CHECKPOINT_MAX {
            let mut i = 0;
            self.checkpoints.retain(|_| {
                i += 1;
                i % 2 == 0
            });
            self.checkpoint_every *= 2;
        }
    }

    /// Going back means rebuilding: the model only moves forward. It restarts from the
    /// latest checkpoint before `target`, or from the first event.
    fn rewind_if_needed(&mut self, target: Ts, dash: &mut Dashboard) {
        // The model's clock may have run past the last event (a quiet stretch played): it
        // only goes forward, so an earlier time is a rebuild even with no event between.
        if target >= self.applied && target >= dash.model.now() {
            return;
        }
        self.model_finished = false;
        match self.checkpoints.iter().rev().find(|c| c.applied < target) {
            Some(c) => {
                dash.restore(c.model.clone(), c.split.clone());
                self.skipped_noted = true;
                self.cursor = c.cursor;
                self.applied = c.applied;
            }
            None => {
                dash.reset();
                self.skipped_noted = false;
                self.cursor = 0;
                self.applied = self.player.start();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Close, EventKind, Initiator, Open, SECOND};
    use crate::ui::UiConfig;
    use ratatui::layout::Rect;

    /// Opens and closes spread over 100 s: one event every 100 ms.
    fn log() -> Vec<Event> {
        (0..1000)
            .map(|i| {
                let ts = Ts(i * SECOND / 10);
                let conn = format!("c{}", i / 2).into();
                let kind = if i % 4 == 3 {
                    EventKind::Close(Close {
                        conn,
                        code: Some(1006),
                        reason: None,
                        initiator: Some(Initiator::None),
                    })
                } else if i % 2 == 0 {
                    EventKind::Open(Box::new(Open {
                        conn,
                        ..Open::default()
                    }))
                } else {
                    EventKind::Ping { conn }
                };
                Event::new(ts, kind)
            })
            .collect()
    }

    /// `events` as a log file with `bad` invalid lines after the first, read back in windows
    /// of about 2 KiB (so seeking crosses many of them).
    fn indexed(events: &[Event], bad: usize) -> (tempfile::TempDir, IndexedLog) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("replay.jsonl");
        let mut text = String::new();
        for (i, ev) in events.iter().enumerate() {
            text.push_str(&crate::event::to_json_line(ev));
            text.push('\n');
            if i == 0 {
                text.push_str(&"not an event\n".repeat(bad));
            }
        }
        std::fs::write(&path, text).unwrap();
        let log = IndexedLog::open_with(&path, Some(2048), &mut |_| {}).unwrap();
        (dir, log)
    }

    fn dash() -> Dashboard {
        let config = UiConfig {
            sources: vec!["t".into()],
            ascii: true,
            rules: crate::findings::Rules::default(),
            about: Vec::new(),
        };
        Dashboard::new(&config, true, Rect::new(0, 0, 80, 24))
    }

    fn fingerprint(d: &Dashboard) -> (usize, u64, u64, Ts) {
        (
            d.model.open_count(),
            d.model.opened,
            d.model.closed(),
            d.model.now(),
        )
    }

    /// What a key does while the model is lent to a refresh: the player and the status
    /// change at once, the events wait for the next step.
    #[test]
    fn steering_shows_the_key_at_once_and_applies_nothing() {
        let now = Instant::now();
        let (_dir, log) = indexed(&log(), 3);
        let mut p = Playback::new(log, Speed::Times(1.0), false, None, now);
        let mut d = dash();
        p.advance(now, &mut d);
        let applied = p.cursor;
        p.steer(Action::TogglePause, now, &mut d);
        assert!(d.play_status().unwrap().paused);
        p.steer(Action::JumpEnd, now, &mut d);
        assert_eq!(p.cursor, applied, "no event applied by steering");
        let status = d.play_status().unwrap();
        assert_eq!(
            status.position, p.applied,
            "behind the clock: shows what is applied"
        );
        p.advance(now, &mut d);
        assert_eq!(p.cursor, 1000);
        assert!(d.play_status().unwrap().at_end);
    }

    #[test]
    fn seeking_back_through_checkpoints_gives_the_same_model_as_playing_forward() {
        let now = Instant::now();
        let (_dir_p, log_p) = indexed(&log(), 3);
        let mut p = Playback::new(log_p, Speed::Times(1.0), true, None, now);
        p.checkpoint_every = 128;
        let mut d = dash();
        p.act(Action::JumpEnd, now, &mut d);
        assert_eq!(p.cursor, 1000);
        assert_eq!(p.checkpoints.len(), 7);
        for back in [10, 30, 55, 99] {
            p.act(Action::JumpEnd, now, &mut d);
            p.act(Action::Seek(-back), now, &mut d);
            let target = Ts((99 - back) * SECOND + 9 * SECOND / 10);
            let mut fresh = dash();
            let (_dir_q, log_q) = indexed(&log(), 3);
            let mut q = Playback::new(log_q, Speed::Times(1.0), true, None, now);
            q.act(Action::Seek(0), now, &mut fresh);
            q.player.seek_to(target, now);
            q.advance(now, &mut fresh);
            assert_eq!(p.cursor, q.cursor, "back {back}");
            assert_eq!(fingerprint(&d), fingerprint(&fresh), "back {back}");
            assert_eq!(d.model.counters, fresh.model.counters, "back {back}");
            assert_eq!(d.model.counters.skipped_lines, 3);
        }
        p.act(Action::JumpStart, now, &mut d);
        assert_eq!(p.cursor, 1, "only the first event, at the start time");
    }

    #[test]
    fn the_clock_moves_event_time_through_quiet_stretches() {
        use crate::event::{Heartbeat, Hello};
        let hello = EventKind::Hello(Hello {
            heartbeat: Some(Heartbeat {
                ping_interval_ms: 10_000,
                pong_timeout_ms: 1_000,
            }),
            ..Hello::default()
        });
        let open = EventKind::Open(Box::new(Open {
            conn: "c".into(),
            ..Open::default()
        }));
        let events = vec![
            Event::new(Ts(0), hello),
            Event::new(Ts(0), open),
            Event::new(Ts(0), EventKind::Ping { conn: "c".into() }),
            Event::new(Ts(100 * SECOND), EventKind::Ping { conn: "c".into() }),
        ];
        let now = Instant::now();
        let (_dir_p, log_p) = indexed(&events, 0);
        let mut p = Playback::new(log_p, Speed::Times(1.0), true, None, now);
        let mut d = dash();
        p.act(Action::Seek(5), now, &mut d);
        let unanswered = |d: &Dashboard| -> Vec<f64> {
            let rule = &d.rules.zombie_connections;
            rule.zombies(&d.model).map(|(_, secs)| secs).collect()
        };
        assert_eq!(unanswered(&d), vec![5.0]);
        p.act(Action::Seek(55), now, &mut d);
        assert_eq!(p.cursor, 3, "no event between 0 and 100 s");
        assert_eq!(d.model.now(), Ts(60 * SECOND));
        assert_eq!(d.event_time(), Ts(60 * SECOND));
        assert_eq!(unanswered(&d), vec![60.0]);
    }

    #[test]
    fn max_speed_runs_to_the_end_and_holds() {
        let now = Instant::now();
        let (_dir_p, log_p) = indexed(&log(), 0);
        let mut p = Playback::new(log_p, Speed::Max, false, None, now);
        let mut d = dash();
        for _ in 0..10 {
            p.advance(now, &mut d);
        }
        assert_eq!(p.cursor, 1000);
        let status = d.play_status().unwrap();
        assert!(status.at_end && !status.paused);
        assert_eq!(status.position, Ts(999 * SECOND / 10));
        assert_eq!(
            p.next_wake(now),
            Duration::from_secs(1),
            "holds without spinning"
        );
    }
}
