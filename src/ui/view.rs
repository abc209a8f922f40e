//! The dashboard's own state (focus, selections, sort, filter, overlays), apart from the model
//! and from the widgets. Only input handling changes it; rendering reads it.
//!
//! Keys that concern the event source (pause, speed, seek, quit) come back as [`Action`]s for
//! the event loop, which owns the source.

use super::keymap::{self, Command};
use super::layout;
use super::servers_view::ServersView;
use crate::findings::Finding;
use crate::model::ServerId;
use ratatui::crossterm::event::{
    Event as TermEvent, KeyCode, KeyEvent, KeyEventKind, KeyModifiers,
};
use ratatui::layout::Rect;

/// A connection as the model keys it: its server and its id.
pub type ConnKey = (ServerId, String);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Panel {
    Connections,
    CloseCodes,
    DisconnectRate,
    Leaks,
    Findings,
}

impl Panel {
    pub const ALL: [Panel; 5] = [
        Panel::Connections,
        Panel::CloseCodes,
        Panel::DisconnectRate,
        Panel::Leaks,
        Panel::Findings,
    ];

    /// The names on screen (people, the help and the tests look for these).
    pub fn title(self) -> &'static str {
        match self {
            Panel::Connections => "Connections",
            Panel::CloseCodes => "Close codes",
            Panel::DisconnectRate => "Disconnect rate",
            Panel::Leaks => "Leak suspects",
            Panel::Findings => "Findings",
        }
    }

    fn step(self, forward: bool) -> Panel {
        let i = Panel::ALL.iter().position(|p| *p == self).unwrap_or(0);
        let n = Panel::ALL.len();
        Panel::ALL[if forward {
            (i + 1) % n
        } else {
            (i + n - 1) % n
        }]
    }
}

/// Columns of the Connections table, each sortable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ConnColumn {
    Id,
    Server,
    Address,
    Agent,
    Path,
    Age,
    LastPong,
    Rtt,
    MsgsIn,
    MsgsOut,
}

impl ConnColumn {
    pub const ALL: [ConnColumn; 10] = [
        ConnColumn::Id,
        ConnColumn::Server,
        ConnColumn::Address,
        ConnColumn::Agent,
        ConnColumn::Path,
        ConnColumn::Age,
        ConnColumn::LastPong,
        ConnColumn::Rtt,
        ConnColumn::MsgsIn,
        ConnColumn::MsgsOut,
    ];

    pub fn title(self) -> &'static str {
        match self {
            ConnColumn::Id => "id",
            ConnColumn::Server => "server",
            ConnColumn::Address => "client",
            ConnColumn::Agent => "agent",
            ConnColumn::Path => "path",
            ConnColumn::Age => "age",
            ConnColumn::LastPong => "pong",
            ConnColumn::Rtt => "rtt",
            ConnColumn::MsgsIn => "in",
            ConnColumn::MsgsOut => "out",
        }
    }

    /// Numbers read best largest first; text A to Z.
    pub fn default_descending(self) -> bool {
        matches!(
            self,
            ConnColumn::Age
                | ConnColumn::LastPong
                | ConnColumn::Rtt
                | ConnColumn::MsgsIn
                | ConnColumn::MsgsOut
        )
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodesWindow {
    AllTime,
    Last5Min,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Overlay {
    None,
    Help,
    /// Detail of one connection: its server and its id.
    Connection {
        server: ServerId,
        conn: String,
    },
    /// Evidence and remedy of one finding, by its stable id.
    Finding {
        id: String,
    },
    /// One row per server.
    Servers,
}

/// What the event loop must do after a key.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Action {
    Quit,
    TogglePause,
    Faster,
    Slower,
    /// Seek by this many seconds of event time (negative: back).
    Seek(i64),
    JumpStart,
    JumpEnd,
}

/// A list's selection and scroll position.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ListPos {
    pub selected: usize,
    pub offset: usize,
}

impl ListPos {
    /// Rows moved under the selection (new data): it stays on its connection, now at `rank`,
    /// and the scroll position moves with it, so the row stays where it was on screen.
    pub fn kept_at(self, rank: usize) -> ListPos {
        let shift = rank as isize - self.selected as isize;
        ListPos {
            offset: (self.offset as isize + shift).max(0) as usize,
            selected: rank,
        }
    }

    /// Moves by `delta` within `len` rows and keeps the selection within the `visible` window.
    pub fn moved(self, delta: isize, len: usize, visible: usize) -> ListPos {
        let last = len.saturating_sub(1);
        let selected = self.selected.saturating_add_signed(delta).min(last);
        ListPos {
            selected,
            offset: self.offset,
        }
        .clamped(len, visible)
    }

    pub fn clamped(self, len: usize, visible: usize) -> ListPos {
        let selected = self.selected.min(len.saturating_sub(1));
        let visible = visible.max(1);
        let mut offset = self.offset.min(selected);
        if selected >= offset + visible {
            offset = selected + 1 - visible;
        }
        offset = offset.min(len.saturating_sub(visible));
        ListPos { selected, offset }
    }
}

/// What the dashboard last derived from the model about the rows on screen. Keys read it to
/// page, clamp and open details; the view state keeps none of it.
#[derive(Clone, Copy, Debug, Default)]
pub struct Rows<'a> {
    /// Connections that pass the filter.
    pub conns: usize,
    /// The connection of each Connections row on screen, from `conns.offset` on; `None`
    /// where one closed since the order was computed.
    pub visible_conns: &'a [Option<ConnKey>],
    /// The connection of each Leak suspects row.
    pub leak_conns: &'a [Option<ConnKey>],
    /// The Findings rows, in order.
    pub findings: &'a [Finding],
    pub servers: usize,
    /// The servers in the servers view's order.
    pub server_order: &'a [ServerId],
    /// How far the open detail view can scroll.
    pub detail_max: usize,
}

/// The list a `/` filter line applies to: the one it was opened over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FilterOf {
    Connections,
    Servers,
}

#[derive(Clone, Debug)]
pub struct ViewState {
    pub focus: Panel,
    pub overlay: Overlay,
    pub size: Rect,
    pub conns: ListPos,
    pub sort: ConnColumn,
    pub descending: bool,
    /// The applied `/` filter (address, agent, id, path); empty for none.
    pub filter: String,
    /// Text being typed after `/`, when the filter line is open (it applies as typed).
    pub filter_input: Option<String>,
    /// What the open filter line filters.
    filter_of: FilterOf,
    /// The filter before `/`, put back by Esc.
    filter_before: String,
    /// A line for the key hint's place, until the next key (why a key did nothing).
    pub notice: Option<&'static str>,
    /// Show only this server's connections (`f` cycles) when there are several.
    pub server_filter: Option<usize>,
    pub servers: ServersView,
    pub codes_window: CodesWindow,
    pub leaks: ListPos,
    pub findings: ListPos,
    pub detail_scroll: usize,
    /// The connection the selection is on: rows that move under it take it along.
    pub followed: Option<ConnKey>,
    /// The selection was moved by a key since the last frame: follow the row it is on now.
    pub selection_moved: bool,
    /// The followed connection closed (or left the filter): said in the title.
    pub followed_gone: Option<String>,
    pub replay: bool,
    /// Something the screen shows changed since the last frame.
    pub dirty: bool,
}

impl ViewState {
    pub fn new(replay: bool, size: Rect) -> ViewState {
        ViewState {
            focus: Panel::Connections,
            overlay: Overlay::None,
            size,
            conns: ListPos::default(),
            sort: ConnColumn::LastPong,
            descending: true,
            filter: String::new(),
            filter_input: None,
            filter_of: FilterOf::Connections,
            filter_before: String::new(),
            notice: None,
            server_filter: None,
            servers: ServersView::default(),
            codes_window: CodesWindow::AllTime,
            leaks: ListPos::default(),
            findings: ListPos::default(),
            detail_scroll: 0,
            followed: None,
            selection_moved: false,
            followed_gone: None,
            replay,
            dirty: true,
        }
    }

    /// The Connections columns on screen now, in order.
    pub fn visible_columns(&self, rows: &Rows) -> Vec<ConnColumn> {
        let width = layout::screen(self.size, self.focus, rows.findings.len())
            .rect_of(Panel::Connections)
            .map_or(self.size.width, |r| r.width);
        crate::ui::panels::connections::columns(width, rows.servers > 1)
    }

    /// Rows of the Connections table visible at the current size, beside `findings` findings.
    pub fn visible_conn_rows(&self, findings: usize) -> usize {
        layout::connection_rows(self.size, self.focus, findings)
    }

    fn visible_rows(&self, panel: Panel, rows: &Rows) -> usize {
        layout::screen(self.size, self.focus, rows.findings.len())
            .rect_of(panel)
            .map(|r| r.height.saturating_sub(3) as usize)
            .unwrap_or(1)
            .max(1)
    }

    /// Re-clamps selections after the data changed (rows vanish when connections close).
    pub fn clamp(&mut self, rows: &Rows) {
        self.conns = self
            .conns
            .clamped(rows.conns, self.visible_conn_rows(rows.findings.len()));
        self.leaks = self
            .leaks
            .clamped(rows.leak_conns.len(), self.visible_rows(Panel::Leaks, rows));
        self.findings = self.findings.clamped(
            rows.findings.len(),
            self.visible_rows(Panel::Findings, rows),
        );
    }

    pub fn handle(&mut self, event: &TermEvent, rows: &Rows) -> Option<Action> {
        match event {
            TermEvent::Resize(w, h) => {
                self.size = Rect::new(0, 0, *w, *h);
                self.clamp(rows);
                self.dirty = true;
                None
            }
            TermEvent::Key(key) if key.kind != KeyEventKind::Release => {
                self.dirty = true;
                if key.modifiers.contains(KeyModifiers::ALT) {
                    // Esc and the next key in one read reach us as Alt+key (over SSH, a
                    // quick `Esc q`): no key here means Alt, so they are the two keys.
                    let esc = KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE);
                    if let Some(action) = self.key(esc, rows) {
                        return Some(action);
                    }
                    let mut key = *key;
                    key.modifiers.remove(KeyModifiers::ALT);
                    return self.key(key, rows);
                }
                self.key(*key, rows)
            }
            _ => None,
        }
    }

    fn key(&mut self, key: KeyEvent, rows: &Rows) -> Option<Action> {
        // A notice is for the key that caused it; the next key takes it away.
        self.notice = None;
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        // Ctrl-C quits from anywhere, the filter line too.
        if ctrl && key.code == KeyCode::Char('c') {
            return Some(Action::Quit);
        }
        if self.filter_input.is_some() {
            self.filter_key(key);
            return None;
        }
        match &self.overlay {
            // Keys other than those that close it work behind the help.
            Overlay::Help if keymap::lookup(keymap::HELP, &key) == Some(Command::Back) => {
                self.overlay = Overlay::None;
                return None;
            }
            Overlay::Connection { .. } | Overlay::Finding { .. } => {
                if let Some(command) = keymap::lookup(keymap::DETAIL, &key) {
                    self.scroll_detail(command, rows.detail_max);
                    return None;
                }
            }
            Overlay::Servers => {
                if let Some(command) = keymap::lookup(keymap::SERVERS, &key) {
                    self.servers_key(command, rows);
                    return None;
                }
            }
            _ => {}
        }
        self.run(keymap::lookup(keymap::MAIN, &key)?, rows)
    }

    /// A key on the open filter line: the filter applies as it is typed; Enter keeps it,
    /// Esc puts back the one before.
    fn filter_key(&mut self, key: KeyEvent) {
        let Some(input) = self.filter_input.as_mut() else {
            return;
        };
        let text = match key.code {
            KeyCode::Enter => {
                self.filter_input = None;
                return;
            }
            KeyCode::Esc => {
                self.filter_input = None;
                std::mem::take(&mut self.filter_before)
            }
            KeyCode::Backspace => {
                input.pop();
                input.clone()
            }
            KeyCode::Char(c) if !c.is_control() && input.chars().count() < 64 => {
                input.push(c);
                input.clone()
            }
            _ => return,
        };
        match self.filter_of {
            FilterOf::Connections => self.reset_conns(),
            // On the first server that matches (Enter shows it), not on "all".
            FilterOf::Servers => self.servers.selected = usize::from(!text.is_empty()),
        }
        *self.filter_target() = text;
    }

    fn filter_target(&mut self) -> &mut String {
        match self.filter_of {
            FilterOf::Connections => &mut self.filter,
            FilterOf::Servers => &mut self.servers.filter,
        }
    }

    /// Opens the filter line over `of`, starting from its current filter.
    fn open_filter(&mut self, of: FilterOf) {
        self.filter_of = of;
        let current = self.filter_target().clone();
        self.filter_before.clone_from(&current);
        self.filter_input = Some(current);
    }

    /// The servers view's keys: move, sort, filter, and Enter to show one server (or all).
    fn servers_key(&mut self, command: Command, rows: &Rows) {
        let n = rows.server_order.len();
        match command {
            // Esc takes away the filter first, as on the dashboard.
            Command::Back if !self.servers.filter.is_empty() => {
                self.servers.filter.clear();
                self.servers.selected = 0;
            }
            Command::Back => self.overlay = Overlay::None,
            Command::Filter => self.open_filter(FilterOf::Servers),
            Command::Down => self.servers.move_by(1, n),
            Command::Up => self.servers.move_by(-1, n),
            Command::Top => self.servers.move_by(isize::MIN / 2, n),
            Command::Bottom => self.servers.move_by(isize::MAX / 2, n),
            Command::SortNext => self.servers.sort_next(),
            Command::Reverse => self.servers.descending = !self.servers.descending,
            Command::Open => {
                self.server_filter = match self.servers.selected {
                    0 => None,
                    i => rows.server_order.get(i - 1).map(|s| *s as usize),
                };
                self.overlay = Overlay::None;
                self.focus = Panel::Connections;
                self.reset_conns();
            }
            _ => {}
        }
    }

    /// A detail view scrolls like `less`; `q` and Esc go back to the dashboard.
    fn scroll_detail(&mut self, command: Command, max: usize) {
        let page = self.size.height.saturating_sub(4).max(1) as usize;
        let scroll = &mut self.detail_scroll;
        *scroll = match command {
            Command::Back => {
                self.overlay = Overlay::None;
                return;
            }
            Command::Down => *scroll + 1,
            Command::Up => scroll.saturating_sub(1),
            Command::PageDown => *scroll + page,
            Command::PageUp => scroll.saturating_sub(page),
            Command::HalfPageDown => *scroll + page / 2,
            Command::HalfPageUp => scroll.saturating_sub(page / 2),
            Command::Top => 0,
            Command::Bottom => max,
            _ => *scroll,
        }
        .min(max);
    }

    /// What a command of the dashboard's keymap does.
    fn run(&mut self, command: Command, rows: &Rows) -> Option<Action> {
        let page = self.visible_rows(self.focus, rows) as isize;
        let half = (page / 2).max(1);
        match command {
            Command::Quit => return Some(Action::Quit),
            Command::Help => self.overlay = Overlay::Help,
            Command::Back => self.overlay = Overlay::None,
            Command::NextPanel => self.focus = self.focus.step(true),
            Command::PreviousPanel => self.focus = self.focus.step(false),
            Command::Down => self.move_selection(1, rows),
            Command::Up => self.move_selection(-1, rows),
            Command::PageDown => self.move_selection(page, rows),
            Command::PageUp => self.move_selection(-page, rows),
            Command::HalfPageDown => self.move_selection(half, rows),
            Command::HalfPageUp => self.move_selection(-half, rows),
            Command::Top => self.move_selection(isize::MIN / 2, rows),
            Command::Bottom => self.move_selection(isize::MAX / 2, rows),
            Command::Open => self.open_detail_request(rows),
            Command::ClearFilter if !self.filter.is_empty() => {
                self.filter.clear();
                self.reset_conns();
            }
            Command::ClearFilter => {}
            Command::Filter => {
                self.focus = Panel::Connections;
                self.open_filter(FilterOf::Connections);
            }
            Command::SortNext => self.cycle_sort(),
            Command::Reverse => self.descending = !self.descending,
            // The n-th column on screen, whatever the width left out.
            Command::SortColumn(i) => {
                if let Some(col) = self.visible_columns(rows).get(i) {
                    self.sort_by(*col);
                }
            }
            Command::CodesWindow => {
                self.codes_window = match self.codes_window {
                    CodesWindow::AllTime => CodesWindow::Last5Min,
                    CodesWindow::Last5Min => CodesWindow::AllTime,
                }
            }
            Command::NextServer if rows.servers > 1 => {
                self.server_filter = match self.server_filter {
                    None => Some(0),
                    Some(i) if i + 1 < rows.servers => Some(i + 1),
                    Some(_) => None,
                };
                self.reset_conns();
            }
            Command::NextServer => self.notice = Some("f: one server only, nothing to filter"),
            Command::Servers => {
                // The selection starts on the server shown, or on "all".
                self.servers.selected = self
                    .server_filter
                    .and_then(|f| rows.server_order.iter().position(|s| *s as usize == f))
                    .map_or(0, |i| i + 1);
                self.overlay = Overlay::Servers;
            }
            Command::Pause => return Some(Action::TogglePause),
            Command::Faster => return Some(Action::Faster),
            Command::Slower => return Some(Action::Slower),
            Command::Seek(secs) => return Some(Action::Seek(secs)),
            Command::JumpStart => return Some(Action::JumpStart),
            Command::JumpEnd => return Some(Action::JumpEnd),
        }
        None
    }

    /// Picks a sort column; picking the current one again reverses the order.
    pub fn sort_by(&mut self, column: ConnColumn) {
        if self.sort == column {
            self.descending = !self.descending;
        } else {
            self.sort = column;
            self.descending = column.default_descending();
        }
        self.reset_conns();
    }

    fn cycle_sort(&mut self) {
        let i = ConnColumn::ALL
            .iter()
            .position(|c| *c == self.sort)
            .unwrap_or(0);
        let next = ConnColumn::ALL[(i + 1) % ConnColumn::ALL.len()];
        self.sort_by(next);
    }

    /// The connection list back to its top (a new order or filter): the selection follows
    /// whatever row is there now.
    fn reset_conns(&mut self) {
        self.conns = ListPos::default();
        self.selection_moved = true;
        self.followed_gone = None;
    }

    fn move_selection(&mut self, delta: isize, rows: &Rows) {
        match self.focus {
            Panel::Connections => {
                let visible = self.visible_conn_rows(rows.findings.len());
                self.conns = self.conns.moved(delta, rows.conns, visible);
                self.selection_moved = true;
                self.followed_gone = None;
            }
            Panel::Leaks => {
                let visible = self.visible_rows(Panel::Leaks, rows);
                self.leaks = self.leaks.moved(delta, rows.leak_conns.len(), visible)
            }
            Panel::Findings => {
                let visible = self.visible_rows(Panel::Findings, rows);
                self.findings = self.findings.moved(delta, rows.findings.len(), visible)
            }
            Panel::CloseCodes | Panel::DisconnectRate => {}
        }
    }

    /// `Enter` on Connections, Leak suspects or Findings: the detail of the selected row.
    fn open_detail_request(&mut self, rows: &Rows) {
        self.detail_scroll = 0;
        match self.focus {
            Panel::Findings => {
                if let Some(f) = rows.findings.get(self.findings.selected) {
                    self.overlay = Overlay::Finding {
                        id: f.id.to_string(),
                    };
                }
            }
            Panel::Leaks => {
                if let Some(Some((server, conn))) = rows.leak_conns.get(self.leaks.selected) {
                    self.overlay = Overlay::Connection {
                        server: *server,
                        conn: conn.clone(),
                    };
                }
            }
            Panel::Connections => {
                let row = self.conns.selected.saturating_sub(self.conns.offset);
                if let Some(Some((server, conn))) = rows.visible_conns.get(row) {
                    self.overlay = Overlay::Connection {
                        server: *server,
                        conn: conn.clone(),
                    };
                }
            }
            _ => {}
        }
    }
}
