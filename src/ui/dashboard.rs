//! The dashboard's state as a whole: the model, the app state, what the header shows about
//! sources and playback, and what is derived from the model for display (findings, the
//! Connections window, leak rows).
//!
//! Changes happen in `apply*` (data), `handle_input` (keys) and `prepare` (derived state,
//! before a frame); [`Dashboard::render`] only reads.

use super::app::{Action, App, ConnKey, Overlay, Panel};
use super::conn_view::{self, ConnView, ViewKey};
use super::player::Speed;
use super::recent::RecentEvents;
use super::theme::Theme;
use super::{SourceInfo, SourceMsg, SourceState, UiConfig, layout, panels};
use crate::event::{Event, Ts};
use crate::findings::{Finding, Rules, ZombieConnections};
use crate::model::{Model, ServerId};
use crate::sanitize::inert;
use ratatui::Frame;
use ratatui::crossterm::event::Event as TermEvent;
use ratatui::layout::Rect;
use std::time::Instant;

/// Leak-suspect rows kept for the panel; the total is shown beside.
const MAX_LEAK_ROWS: usize = 1000;

#[derive(Clone, Debug, PartialEq)]
pub struct PlayStatus {
    pub position: Ts,
    pub speed: Speed,
    pub paused: bool,
    pub at_end: bool,
    pub start: Ts,
    pub end: Ts,
}

/// One row of the Leak suspects panel, already made inert.
#[derive(Clone, Debug, PartialEq)]
pub enum LeakRow {
    Timer {
        timer: String,
        kind: String,
        conn: String,
        closed_for: f64,
        fires: u32,
    },
    Zombie {
        conn: String,
        pong_age: f64,
    },
}

pub struct Dashboard {
    pub model: Model,
    pub rules: Rules,
    pub app: App,
    pub theme: Theme,
    pub sources: Vec<SourceInfo>,
    pub recent: RecentEvents,
    pub findings: Vec<Finding>,
    pub conn_view: ConnView,
    pub leak_rows: Vec<LeakRow>,
    pub leak_total: usize,
    pub zombie_total: usize,
    pub play: Option<PlayStatus>,
    pub sources_ended: bool,
    /// Lines shown atop the `?` help ([`UiConfig::about`]).
    pub about: Vec<String>,
    /// The model changed since derived data was last computed.
    data_changed: bool,
}

impl Dashboard {
    pub fn new(config: &UiConfig, replay: bool, size: Rect) -> Dashboard {
        let state = if replay {
            SourceState::Log
        } else {
            SourceState::Connecting
        };
        let sources = config
            .sources
            .iter()
            .map(|label| SourceInfo {
                label: label.clone(),
                state: state.clone(),
                since: None,
                last_event: None,
            })
            .collect::<Vec<_>>();
        Dashboard {
            model: config.rules.model(),
            rules: config.rules.clone(),
            app: App::new(replay, size),
            theme: Theme::from_env(config.ascii),
            sources,
            about: config.about.clone(),
            recent: RecentEvents::new(),
            findings: Vec::new(),
            conn_view: ConnView::default(),
            leak_rows: Vec::new(),
            leak_total: 0,
            zombie_total: 0,
            play: None,
            sources_ended: false,
            data_changed: true,
        }
    }

    pub fn apply(&mut self, source: usize, event: &Event) {
        self.model.apply(source, event);
        if let Some(server) = self.model.server_for(source, event.server.as_deref()) {
            self.recent.push(server, event);
        }
        self.data_changed = true;
        self.app.dirty = true;
    }

    pub fn apply_msg(&mut self, msg: SourceMsg) {
        match msg {
            SourceMsg::Event { source, event, .. } => {
                if let Some(s) = self.sources.get_mut(source) {
                    s.last_event = Some(Instant::now());
                }
                self.apply(source, &event)
            }
            SourceMsg::State { source, state } => {
                if let Some(s) = self.sources.get_mut(source) {
                    s.state = state;
                    s.since = Some(Instant::now());
                }
                self.app.dirty = true;
            }
            SourceMsg::Skipped { count, .. } => self.note_skipped(count),
        }
    }

    pub fn note_skipped(&mut self, lines: u64) {
        if lines > 0 {
            self.model.note_skipped(lines);
            self.data_changed = true;
            self.app.dirty = true;
        }
    }

    /// Forgets all data (a replay seeking back rebuilds from the start).
    pub fn reset(&mut self) {
        self.restore(self.rules.model());
    }

    /// Replaces the model (a replay seeking back to a checkpoint); recent events start over.
    pub fn restore(&mut self, model: Model) {
        self.model = model;
        self.recent.clear();
        self.data_changed = true;
        self.app.dirty = true;
    }

    /// Moves event time to `ts` with no event (a replay's clock in a quiet stretch).
    pub fn advance_clock(&mut self, ts: Ts) {
        if self.model.span().is_some() && ts > self.model.now() {
            self.model.advance_to(ts);
            self.data_changed = true;
            self.app.dirty = true;
        }
    }

    /// Applies an event to the model only: for events a replay skips over, whose place in the
    /// recent-events ring would be taken by later ones anyway.
    /// Every source has ended (a replayed log read to its end): see [`Model::finish`].
    pub fn finish_sources(&mut self) {
        self.model.finish();
        self.data_changed = true;
        self.app.dirty = true;
    }

    pub fn apply_quietly(&mut self, source: usize, event: &Event) {
        self.model.apply(source, event);
        self.data_changed = true;
        self.app.dirty = true;
    }

    pub fn play_status(&self) -> Option<&PlayStatus> {
        self.play.as_ref()
    }

    pub fn set_play_status(&mut self, status: PlayStatus) {
        self.play = Some(status);
        self.app.dirty = true;
    }

    pub fn sources_ended(&mut self) {
        self.sources_ended = true;
        self.app.dirty = true;
    }

    /// The event time the screen shows: the replay clock, else the latest event.
    pub fn event_time(&self) -> Ts {
        match &self.play {
            Some(p) if self.model.span().is_none() => p.position,
            _ => self.model.now(),
        }
    }

    pub fn handle_input(&mut self, ev: &TermEvent) -> Option<Action> {
        let action = self.app.handle(ev);
        match &self.app.overlay {
            Overlay::Connection { server, conn } => {
                let (server, conn) = (*server, conn.clone());
                self.recent.watch(server, &conn);
            }
            _ => self.recent.unwatch(),
        }
        action
    }

    /// Where detail views go: between the header and the key hint.
    fn body(&self, area: Rect) -> Rect {
        let screen = layout::screen(area, self.app.focus, self.app.finding_rows);
        Rect {
            y: screen.header.bottom(),
            height: screen.hint.y.saturating_sub(screen.header.bottom()),
            ..area
        }
    }

    /// Recomputes what frames read: findings, the Connections window, leak rows, all from
    /// the model as it is now, so every panel, the header and the titles show one instant.
    /// Cheap when nothing changed; data-driven frames come at most every
    /// [`super::FRAME_INTERVAL`], so neither does the expensive part.
    pub fn prepare(&mut self, _now: Instant) {
        let app = &mut self.app;
        app.server_count = self.model.servers.len();
        let server_filter = app
            .server_filter
            .filter(|i| *i < self.model.servers.len())
            .map(|i| i as ServerId);
        if app.server_filter.is_some() && server_filter.is_none() {
            app.server_filter = None;
        }
        let data_due = self.data_changed;
        if data_due {
            self.findings = self.rules.evaluate(&self.model);
            self.refresh_leaks();
            self.data_changed = false;
        }
        // The layout depends on whether there are findings: count them first.
        self.app.finding_rows = self.findings.len();
        self.app.detail_max = panels::detail::max_scroll(self, self.body(self.app.size));
        self.app.detail_scroll = self.app.detail_scroll.min(self.app.detail_max);
        self.app.finding_ids = self.findings.iter().map(|f| f.id.to_string()).collect();
        self.app.leak_rows = self.leak_rows.len();

        // The Connections window: its count first (selection clamps to it), then the rows.
        let rows = self.app.visible_conn_rows();
        let base = ViewKey {
            sort: Some(self.app.sort),
            descending: self.app.descending,
            filter: self.app.filter.clone(),
            server: server_filter,
            offset: 0,
            rows: 0,
        };
        // New data moves rows: the selection goes with its connection, unless a key just
        // moved it.
        if data_due && !self.app.selection_moved {
            if let Some((server, id)) = self.app.followed.clone() {
                match conn_view::rank_of(&self.model, &base, server, &id) {
                    Some(rank) => self.app.keep_selection_at(rank),
                    None => self.app.followed_gone = Some(id),
                }
            }
        }
        self.app.selection_moved = false;
        let key = ConnView::key_for(base.clone(), self.app.conns.offset, rows);
        if data_due || key != self.conn_view.key || self.conn_view.key.rows == 0 {
            self.conn_view = conn_view::build(&self.model, key);
            self.app.conn_rows = self.conn_view.matching;
            self.app.clamp();
            // Fewer rows than before can move the scroll position out of this window.
            let key = ConnView::key_for(base, self.app.conns.offset, rows);
            if key != self.conn_view.key {
                self.conn_view = conn_view::build(&self.model, key);
            }
        }
        self.app.clamp();
        self.app.visible_conns = self
            .conn_view
            .visible(self.app.conns.offset, rows)
            .iter()
            .map(|s| {
                self.model
                    .conns
                    .at_slot(*s)
                    .map(|c| (c.server, c.id.to_string()))
            })
            .collect();
        let row = self.app.conns.selected.checked_sub(self.app.conns.offset);
        self.app.followed = row.and_then(|r| self.app.visible_conns.get(r).cloned().flatten());
    }

    fn refresh_leaks(&mut self) {
        let now = self.model.now();
        let model = &self.model;
        // (how long, the row, the connection it is about)
        let mut rows: Vec<(f64, LeakRow, Option<ConnKey>)> = Vec::new();
        let mut timers = 0;
        for t in model.leaked_timers() {
            timers += 1;
            let closed_for = t.conn_closed().map(|c| now.secs_since(c)).unwrap_or(0.0);
            rows.push((
                closed_for,
                LeakRow::Timer {
                    timer: inert(&t.id).into_owned(),
                    kind: t
                        .kind
                        .map(|k| inert(model.strings.get(k)).into_owned())
                        .unwrap_or_default(),
                    conn: t
                        .conn
                        .as_deref()
                        .map(|c| inert(c).into_owned())
                        .unwrap_or_default(),
                    closed_for,
                    fires: t.fires_after_close,
                },
                t.conn.as_ref().map(|c| (t.server, c.to_string())),
            ));
        }
        let mut zombies = 0;
        let zombie_rule: &ZombieConnections = &self.rules.zombie_connections;
        for (c, _) in zombie_rule.zombies(model) {
            let age = c.pong_age(now).unwrap_or(0.0);
            zombies += 1;
            rows.push((
                age,
                LeakRow::Zombie {
                    conn: inert(&c.id).into_owned(),
                    pong_age: age,
                },
                Some((c.server, c.id.to_string())),
            ));
        }
        // Longest-standing first; ties by text so the order does not flicker.
        let key = |r: &LeakRow| match r {
            LeakRow::Timer { timer, .. } => timer.clone(),
            LeakRow::Zombie { conn, .. } => conn.clone(),
        };
        if rows.len() > MAX_LEAK_ROWS {
            rows.select_nth_unstable_by(MAX_LEAK_ROWS, |a, b| b.0.total_cmp(&a.0));
            rows.truncate(MAX_LEAK_ROWS);
        }
        rows.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| key(&a.1).cmp(&key(&b.1))));
        self.app.leak_conns = rows.iter().map(|(_, _, c)| c.clone()).collect();
        self.leak_rows = rows.into_iter().map(|(_, r, _)| r).collect();
        self.leak_total = timers;
        self.zombie_total = zombies;
    }

    /// Draws the whole screen from the state; changes nothing.
    pub fn render(&self, frame: &mut Frame, wall: Instant) {
        let area = frame.area();
        let screen = layout::screen(area, self.app.focus, self.app.finding_rows);
        if let Some(r) = screen.too_small {
            panels::help::render_too_small(frame, r);
            return;
        }
        panels::header::render(frame, screen.header, self, wall);
        for (panel, rect) in &screen.panels {
            let focused = *panel == self.app.focus;
            match panel {
                Panel::Connections => panels::connections::render(frame, *rect, self, focused),
                Panel::CloseCodes => panels::close_codes::render(frame, *rect, self, focused),
                Panel::DisconnectRate => {
                    panels::disconnect_rate::render(frame, *rect, self, focused)
                }
                Panel::Leaks => panels::leaks::render(frame, *rect, self, focused),
                Panel::Findings => panels::findings::render(frame, *rect, self, focused),
            }
        }
        panels::help::render_hint(frame, screen.hint, &self.app, &self.theme);
        let body = self.body(area);
        match &self.app.overlay {
            Overlay::None => {}
            Overlay::Help => panels::help::render_help(frame, area, &self.theme, &self.about),
            Overlay::Connection { server, conn } => {
                panels::detail::render_connection(frame, body, self, *server, conn)
            }
            Overlay::Finding { id } => panels::detail::render_finding(frame, body, self, id),
        }
    }
}
