//! Connections: id, client address, short user agent with a mobile mark, path, age, last-pong
//! age (coloured against ping interval + pong timeout), RTT, messages in/out. Only the rows on
//! screen are built (see `conn_view`).

use super::{age, block, count, short_agent};
use crate::model::Conn;
use crate::sanitize::inert;
use crate::ui::dashboard::Dashboard;
use crate::ui::theme::Level;
use crate::ui::view::{ConnColumn, Panel};
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Row, Table};

/// Columns of the id: `c17`, or the end of `mx7m5dif-1234`.
const ID_WIDTH: usize = 10;

fn width(col: ConnColumn) -> Constraint {
    match col {
        ConnColumn::Id => Constraint::Length(ID_WIDTH as u16),
        ConnColumn::Server => Constraint::Length(10),
        ConnColumn::Address => Constraint::Length(21),
        ConnColumn::Agent => Constraint::Min(12),
        ConnColumn::Path => Constraint::Length(10),
        ConnColumn::Age => Constraint::Length(6),
        ConnColumn::LastPong => Constraint::Length(6),
        ConnColumn::Rtt => Constraint::Length(5),
        ConnColumn::MsgsIn | ConnColumn::MsgsOut => Constraint::Length(5),
    }
}

/// The columns that fit: the server column only with several servers; at narrow widths the
/// path and address go first. The number keys sort by these, in this order.
pub fn columns(width_available: u16, several_servers: bool) -> Vec<ConnColumn> {
    ConnColumn::ALL
        .into_iter()
        .filter(|c| *c != ConnColumn::Server || several_servers)
        .filter(|c| match c {
            ConnColumn::Path => width_available >= 100,
            ConnColumn::Address => width_available >= 76,
            ConnColumn::MsgsOut | ConnColumn::MsgsIn => width_available >= 60,
            ConnColumn::Server => width_available >= 90,
            _ => true,
        })
        .collect()
}

fn pong_level(dash: &Dashboard, c: &Conn, pong_age: f64) -> Option<Level> {
    let hb = dash.model.server(c.server).heartbeat?;
    let interval = hb.ping_interval_ms as f64 / 1000.0;
    let limit = interval + hb.pong_timeout_ms as f64 / 1000.0;
    Some(if pong_age <= interval {
        Level::Ok
    } else if pong_age <= limit {
        Level::Warn
    } else {
        Level::Bad
    })
}

fn cell(dash: &Dashboard, c: &Conn, col: ConnColumn) -> Cell<'static> {
    let model = &dash.model;
    let theme = &dash.theme;
    let now = model.now();
    let sym = |s: Option<crate::model::Sym>| s.map(|s| model.strings.get(s)).unwrap_or("");
    match col {
        ConnColumn::Id => Cell::from(super::fit_tail(&inert(&c.id), ID_WIDTH, theme.ellipsis())),
        ConnColumn::Server => Cell::from(inert(&model.server(c.server).name).into_owned()),
        ConnColumn::Address => Cell::from(inert(c.remote.as_deref().unwrap_or("-")).into_owned()),
        ConnColumn::Agent => {
            let short = inert(&short_agent(sym(c.user_agent))).into_owned();
            if c.mobile {
                Cell::from(Line::from(vec![
                    Span::styled(theme.mobile_mark(), theme.key()),
                    Span::raw(" "),
                    Span::raw(short),
                ]))
            } else {
                Cell::from(short)
            }
        }
        ConnColumn::Path => Cell::from(inert(sym(c.path)).into_owned()),
        ConnColumn::Age => Cell::from(age(now.secs_since(c.opened))),
        ConnColumn::LastPong => match c.pong_age(now) {
            Some(a) => {
                let style = pong_level(dash, c, a)
                    .map(|l| theme.level(l))
                    .unwrap_or_default();
                Cell::from(Span::styled(age(a), style))
            }
            None => Cell::from(Span::styled("-", theme.dim())),
        },
        ConnColumn::Rtt => match c.rtt_ms() {
            Some(ms) if ms >= 1000.0 => Cell::from(format!("{:.1}s", ms / 1000.0)),
            Some(ms) => Cell::from(format!("{ms:.0}ms")),
            None => Cell::from(Span::styled("-", theme.dim())),
        },
        ConnColumn::MsgsIn => Cell::from(count(c.msgs_in.into())),
        ConnColumn::MsgsOut => Cell::from(count(c.msgs_out.into())),
    }
}

pub fn render(frame: &mut Frame, area: Rect, dash: &Dashboard, focused: bool) {
    let view = &dash.view;
    let theme = &dash.theme;
    let cols = columns(area.width, dash.model.servers.len() > 1);
    let header = Row::new(cols.iter().map(|c| {
        let mut t = c.title().to_string();
        if *c == view.sort {
            t.push_str(theme.sort_mark(view.descending));
        }
        Cell::from(t)
    }))
    .style(theme.header_row());
    let visible = area.height.saturating_sub(3) as usize;
    let rows: Vec<Row> = dash
        .conn_view
        .visible(view.conns.offset, visible)
        .iter()
        .enumerate()
        .filter_map(|(i, slot)| Some((i, dash.model.conns.at_slot(*slot)?)))
        .map(|(i, c)| {
            let row = Row::new(cols.iter().map(|col| cell(dash, c, *col)));
            if focused && view.conns.offset + i == view.conns.selected {
                row.style(theme.selected())
            } else {
                row
            }
        })
        .collect();
    let mut extra = format!("{} open", dash.model.open_count());
    let filtered = !view.filter.is_empty() || view.server_filter.is_some();
    if filtered && dash.conn_view.matching != dash.model.open_count() {
        extra = format!("{} of {extra}", dash.conn_view.matching);
    }
    if !view.filter.is_empty() {
        extra.push_str(&format!("  filter /{}", inert(&view.filter)));
    }
    if let Some(i) = view.server_filter
        && let Some(s) = dash.model.servers.get(i)
    {
        extra.push_str(&format!("  server {}", inert(&s.name)));
    }
    if let Some(id) = &view.followed_gone {
        extra.push_str(&format!("  {} closed", inert(id)));
    }
    if !cols.contains(&view.sort) {
        // Sorted by a column the width leaves out: say which, or the order looks random.
        extra.push_str(&format!("  sorted by {} (hidden)", view.sort.title()));
    }
    let title_block = block(theme, Panel::Connections.title(), extra, focused);
    let table = Table::new(rows, cols.iter().map(|c| width(*c)))
        .header(header)
        .column_spacing(1)
        .style(Style::default())
        .block(title_block);
    frame.render_widget(table, area);
}
