//! The dashboard's state as a whole: the model, the view state (what the user chose to see),
//! what the header shows about sources and playback, and what is derived from the model for
//! display (findings, the Connections window, leak rows).
//!
//! Changes happen in `apply*` (data), `handle_input` (keys), `install` (derived state from a
//! [`Refresh`]) and `prepare_view` (before a frame); [`Dashboard::render`] only reads.

use super::conn_view::{self, ConnView, ViewKey};
use super::player::Speed;
use super::recent::RecentEvents;
use super::refresh::{Refresh, Refreshed};
use super::servers_view::{self, ServerRow};
use super::theme::Theme;
use super::view::{Action, ConnKey, Overlay, Panel, Rows, ViewState};
use super::{SourceInfo, UiConfig, layout, panels};
use crate::event::{Event, Ts};
use crate::findings::{Finding, Rules};
use crate::model::fleet::ServerSplit;
use crate::model::{Model, ServerId};
use crate::source::{SourceMsg, SourceState};
use ratatui::Frame;
use ratatui::crossterm::event::Event as TermEvent;
use ratatui::layout::Rect;
use std::sync::Arc;
use std::time::Instant;

/// The model of server `filter` (an index into `whole.servers`) in `split`, else `whole`.
pub(super) fn shown<'a>(
    whole: &'a Model,
    split: &'a ServerSplit,
    filter: Option<usize>,
) -> &'a Model {
    filter
        .and_then(|i| whole.servers.get(i))
        .and_then(|s| split.model_named(&s.name))
        .unwrap_or(whole)
}

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
        /// Its server's name, inert.
        server: String,
        timer: String,
        kind: String,
        conn: String,
        closed_for: f64,
        fires: u32,
    },
    Zombie {
        server: String,
        conn: String,
        pong_age: f64,
    },
}

/// The [`Rows`] of a dashboard, borrowed field by field.
macro_rules! rows_of {
    ($d:expr) => {
        Rows {
            conns: $d.conn_count,
            visible_conns: &$d.visible_conns,
            leak_conns: &$d.leak_conns,
            findings: &$d.findings,
            servers: $d.model.servers.len(),
            server_order: &$d.server_order,
            detail_max: $d.detail_max,
        }
    };
}

pub struct Dashboard {
    /// Shared with a [`Refresh`] running on a worker thread; changed only when it is not
    /// (else `Arc::make_mut` would copy it).
    pub model: Arc<Model>,
    /// A model per server beside the whole, once several speak: findings of one server are
    /// judged on its events. Shared and changed as `model` is.
    pub split: Arc<ServerSplit>,
    pub rules: Arc<Rules>,
    pub view: ViewState,
    pub theme: Theme,
    pub sources: Vec<SourceInfo>,
    pub recent: RecentEvents,
    pub findings: Vec<Finding>,
    pub conn_view: ConnView,
    /// Connections that pass the view's filter.
    pub conn_count: usize,
    /// The connection of each Connections row on screen, from `view.conns.offset` on; `None`
    /// where one closed since the order was computed.
    pub visible_conns: Vec<Option<ConnKey>>,
    pub leak_rows: Vec<LeakRow>,
    /// The connection of each of `leak_rows`.
    pub leak_conns: Vec<Option<ConnKey>>,
    /// How far the open detail view can scroll, from its content.
    pub detail_max: usize,
    /// The servers view's rows, in its order, and their servers.
    pub server_rows: Vec<ServerRow>,
    pub server_order: Vec<ServerId>,
    /// Each server's finding ids, by [`ServerId`], from the latest recomputation.
    pub server_findings: Vec<Vec<&'static str>>,
    pub leak_total: usize,
    pub zombie_total: usize,
    pub play: Option<PlayStatus>,
    pub sources_ended: bool,
    /// Lines shown atop the `?` help ([`UiConfig::about`]).
    pub about: Vec<String>,
    /// The model changed since derived data was last computed.
    data_changed: bool,
    /// Counts changes of the model, so a recomputation knows whether it is still current.
    generation: u64,
}

impl Dashboard {
    pub fn new(config: &UiConfig, replay: bool, size: Rect) -> Dashboard {
        let state = if replay {
            SourceState::Log
        } else {
            SourceState::Connecting { attempt: 1 }
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
            model: Arc::new(config.rules.model()),
            split: Arc::new(ServerSplit::new(config.rules.model())),
            rules: Arc::new(config.rules.clone()),
            view: ViewState::new(replay, size),
            theme: Theme::from_env(config.ascii),
            sources,
            about: config.about.clone(),
            recent: RecentEvents::new(),
            findings: Vec::new(),
            conn_view: ConnView::default(),
            conn_count: 0,
            visible_conns: Vec::new(),
            leak_rows: Vec::new(),
            leak_conns: Vec::new(),
            detail_max: 0,
            server_rows: Vec::new(),
            server_order: Vec::new(),
            server_findings: Vec::new(),
            leak_total: 0,
            zombie_total: 0,
            play: None,
            sources_ended: false,
            data_changed: true,
            generation: 0,
        }
    }

    /// The model, to change it; everything that changes it goes through here.
    pub fn model_mut(&mut self) -> &mut Model {
        self.data_changed = true;
        self.generation += 1;
        self.view.dirty = true;
        Arc::make_mut(&mut self.model)
    }

    pub fn apply(&mut self, source: usize, event: &Event) {
        // The split first: a server's model may start as a copy of the whole before it.
        Arc::make_mut(&mut self.split).apply(&self.model, source, event);
        self.model_mut().apply(source, event);
        if let Some(server) = self.model.server_for(source, event.server.as_deref()) {
            self.recent.push(server, event);
        }
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
                self.view.dirty = true;
            }
            SourceMsg::Skipped { count, .. } => self.note_skipped(count),
        }
    }

    pub fn note_skipped(&mut self, lines: u64) {
        if lines > 0 {
            self.model_mut().note_skipped(lines);
        }
    }

    /// Forgets all data (a replay seeking back rebuilds from the start).
    pub fn reset(&mut self) {
        self.restore(self.rules.model(), ServerSplit::new(self.rules.model()));
    }

    /// Replaces the model (a replay seeking back to a checkpoint); recent events start over.
    pub fn restore(&mut self, model: Model, split: ServerSplit) {
        // A new Arc: a recomputation still running keeps the old model to itself.
        self.model = Arc::new(model);
        self.split = Arc::new(split);
        self.model_mut();
        self.recent.clear();
    }

    /// Moves event time to `ts` with no event (a replay's clock in a quiet stretch).
    pub fn advance_clock(&mut self, ts: Ts) {
        if self.model.span().is_some() && ts > self.model.now() {
            self.model_mut().advance_to(ts);
            if self.split.is_split() {
                Arc::make_mut(&mut self.split).advance_to(ts);
            }
        }
    }

    /// Every source has ended (a replayed log read to its end): see [`Model::finish`].
    pub fn finish_sources(&mut self) {
        self.model_mut().finish();
        Arc::make_mut(&mut self.split).finish();
    }

    /// Applies an event to the model only: for events a replay skips over, whose place in the
    /// recent-events ring would be taken by later ones anyway.
    pub fn apply_quietly(&mut self, source: usize, event: &Event) {
        Arc::make_mut(&mut self.split).apply(&self.model, source, event);
        self.model_mut().apply(source, event);
    }

    pub fn play_status(&self) -> Option<&PlayStatus> {
        self.play.as_ref()
    }

    pub fn set_play_status(&mut self, status: PlayStatus) {
        self.play = Some(status);
        self.view.dirty = true;
    }

    pub fn sources_ended(&mut self) {
        self.sources_ended = true;
        self.view.dirty = true;
    }

    /// The event time the screen shows: the replay clock, else the latest event.
    pub fn event_time(&self) -> Ts {
        match &self.play {
            Some(p) if self.model.span().is_none() => p.position,
            _ => self.model.now(),
        }
    }

    /// What the rows on screen are, for the view state's questions.
    pub fn rows(&self) -> Rows<'_> {
        rows_of!(self)
    }

    /// The view state to change, beside the rows it is checked against.
    fn view_and_rows(&mut self) -> (&mut ViewState, Rows<'_>) {
        // Field by field (not `self.rows()`), so the view can be borrowed apart.
        let rows = rows_of!(self);
        (&mut self.view, rows)
    }

    pub fn handle_input(&mut self, ev: &TermEvent) -> Option<Action> {
        let server_before = self.view.server_filter;
        let (view, rows) = self.view_and_rows();
        let action = view.handle(ev, &rows);
        // Narrowed to another server: its findings and leak suspects are computed anew.
        if self.view.server_filter != server_before {
            self.data_changed = true;
        }
        match &self.view.overlay {
            Overlay::Connection { server, conn } => {
                let (server, conn) = (*server, conn.clone());
                self.recent.watch(server, &conn);
            }
            _ => self.recent.unwatch(),
        }
        action
    }

    /// The model the panels show: the server chosen (`f`, the servers view) when servers
    /// have models of their own, else the whole.
    pub fn shown_model(&self) -> &Model {
        shown(&self.model, &self.split, self.view.server_filter)
    }

    /// `" · edge-3"` when the panels show one server's model, for their titles.
    pub fn shown_server_suffix(&self) -> String {
        let narrowed = !std::ptr::eq(self.shown_model(), &*self.model);
        match self
            .view
            .server_filter
            .and_then(|i| self.model.servers.get(i))
        {
            Some(s) if narrowed => format!(" · {}", crate::sanitize::inert(&s.name)),
            _ => String::new(),
        }
    }

    /// Where detail views go: between the header and the key hint.
    fn body(&self, area: Rect) -> Rect {
        let screen = layout::screen(area, self.view.focus, self.findings.len());
        Rect {
            y: screen.header.bottom(),
            height: screen.hint.y.saturating_sub(screen.header.bottom()),
            ..area
        }
    }

    /// Recomputes what frames read: findings, the Connections window, leak rows, all from
    /// the model as it is now, so every panel, the header and the titles show one instant.
    /// Cheap when nothing changed. The event loop instead runs [`Self::refresh`] on a worker
    /// and then [`Self::prepare_view`].
    pub fn prepare(&mut self) {
        if let Some(refresh) = self.refresh() {
            let done = refresh.run();
            self.install(done);
        }
        self.prepare_view();
    }

    /// Whether the model changed since derived data was last computed.
    pub fn data_pending(&self) -> bool {
        self.data_changed
    }

    /// The recomputation the model's changes call for, if any; from here on the changes
    /// count as handled.
    pub fn refresh(&mut self) -> Option<Refresh> {
        if !self.data_changed {
            return None;
        }
        self.data_changed = false;
        self.clamp_server_filter();
        Some(Refresh {
            model: Arc::clone(&self.model),
            split: Arc::clone(&self.split),
            rules: Arc::clone(&self.rules),
            generation: self.generation,
            view: self.view_key(),
            rows: self.view.visible_conn_rows(self.findings.len()),
            selection: self.view.conns,
            // New data moves rows: the selection goes with its connection, unless a key just
            // moved it.
            follow: self
                .view
                .followed
                .clone()
                .filter(|_| !self.view.selection_moved),
        })
    }

    /// Takes in what a recomputation found. A key that changed the view or moved the
    /// selection meanwhile wins over where the recomputation would have put them.
    pub fn install(&mut self, done: Refreshed) {
        if done.generation != self.generation {
            // The model moved on (a seek): computed again for the next frame.
            self.data_changed = true;
        }
        self.findings = done.findings;
        self.server_findings = done.server_findings;
        self.leak_rows = done.leaks.rows;
        self.leak_conns = done.leaks.conns;
        self.leak_total = done.leaks.timers;
        self.zombie_total = done.leaks.zombies;
        if done.view == self.view_key() && done.selection == self.view.conns {
            let conns = done.conns;
            self.view.conns = conns.selection;
            self.conn_count = conns.matching;
            if conns.gone.is_some() {
                self.view.followed_gone = conns.gone;
            }
            self.conn_view = conns.window;
        } else {
            // Its window is of the old data: the next frame builds one for the new.
            self.conn_view.key.rows = 0;
        }
        self.view.dirty = true;
    }

    /// The Connections view as the view's sort, filter and server choose it.
    fn view_key(&self) -> ViewKey {
        ViewKey {
            sort: Some(self.view.sort),
            descending: self.view.descending,
            filter: self.view.filter.clone(),
            server: self.view.server_filter.map(|i| i as ServerId),
            offset: 0,
            rows: 0,
        }
    }

    fn clamp_server_filter(&mut self) {
        if self
            .view
            .server_filter
            .is_some_and(|i| i >= self.model.servers.len())
        {
            self.view.server_filter = None;
        }
    }

    /// What a frame reads besides the recomputed data: counts and positions of the lists,
    /// and the Connections window again if a key moved it to other ranks.
    pub fn prepare_view(&mut self) {
        self.clamp_server_filter();
        if self.view.overlay == Overlay::Servers
            || self.server_order.len() != self.model.servers.len()
        {
            self.server_rows =
                servers_view::rows(&self.model, &self.view.servers, &self.server_findings);
            self.server_order = self.server_rows.iter().map(|r| r.server).collect();
            let servers = &mut self.view.servers;
            servers.selected = servers.selected.min(self.server_order.len());
        }
        self.detail_max = panels::detail::max_scroll(self, self.body(self.view.size));
        self.view.detail_scroll = self.view.detail_scroll.min(self.detail_max);

        let rows = self.view.visible_conn_rows(self.findings.len());
        let base = self.view_key();
        let key = ConnView::key_for(base.clone(), self.view.conns.offset, rows);
        if key != self.conn_view.key || self.conn_view.key.rows == 0 {
            // A second handle on the model, so the selection can be clamped meanwhile.
            let model = Arc::clone(&self.model);
            let ordered = conn_view::Ordered::new(&model, &base);
            self.conn_count = ordered.len();
            self.clamp();
            let key = ConnView::key_for(base, self.view.conns.offset, rows);
            self.conn_view = ordered.window(key);
        }
        self.view.selection_moved = false;
        self.clamp();
        self.visible_conns = self
            .conn_view
            .visible(self.view.conns.offset, rows)
            .iter()
            .map(|s| {
                self.model
                    .conns
                    .at_slot(*s)
                    .map(|c| (c.server, c.id.to_string()))
            })
            .collect();
        let row = self.view.conns.selected.checked_sub(self.view.conns.offset);
        self.view.followed = row.and_then(|r| self.visible_conns.get(r).cloned().flatten());
    }

    /// Selections back within the rows there are.
    fn clamp(&mut self) {
        let (view, rows) = self.view_and_rows();
        view.clamp(&rows);
    }

    /// Draws the whole screen from the state; changes nothing.
    pub fn render(&self, frame: &mut Frame, wall: Instant) {
        let area = frame.area();
        let screen = layout::screen(area, self.view.focus, self.findings.len());
        if let Some(r) = screen.too_small {
            panels::help::render_too_small(frame, r);
            return;
        }
        panels::header::render(frame, screen.header, self, wall);
        for (panel, rect) in &screen.panels {
            let focused = *panel == self.view.focus;
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
        panels::help::render_hint(
            frame,
            screen.hint,
            &self.view,
            self.findings.len(),
            &self.theme,
        );
        let body = self.body(area);
        match &self.view.overlay {
            Overlay::None => {}
            Overlay::Help => panels::help::render_help(frame, area, &self.theme, &self.about),
            Overlay::Connection { server, conn } => {
                panels::detail::render_connection(frame, body, self, *server, conn)
            }
            Overlay::Finding { id } => panels::detail::render_finding(frame, body, self, id),
            Overlay::Servers => panels::servers::render(frame, body, self),
        }
    }
}
