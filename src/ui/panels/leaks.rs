//! Leak suspects: timers alive without an open socket (timer, kind, connection, closed for,
//! fires since close), and connections that stopped answering pings but are still open.

use super::{age, block};
use crate::ui::app::Panel;
use crate::ui::dashboard::{Dashboard, LeakRow};
use crate::ui::theme::Level;
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::Span;
use ratatui::widgets::{Cell, Row, Table};

pub fn render(frame: &mut Frame, area: Rect, dash: &Dashboard, focused: bool) {
    let theme = &dash.theme;
    let app = &dash.app;
    let extra = format!("{} timers, {} no pong", dash.leak_total, dash.zombie_total);
    // Narrow panels (80 columns split in two) drop the kind and the fire count.
    let wide = area.width >= 60;
    let keep = |i: usize| wide || !matches!(i, 2 | 5);
    let pick = |cells: [Cell<'static>; 6]| -> Row<'static> {
        Row::new(
            cells
                .into_iter()
                .enumerate()
                .filter(|(i, _)| keep(*i))
                .map(|(_, c)| c),
        )
    };
    let header = pick(["what", "timer", "kind", "conn", "closed for", "fires"].map(Cell::from))
        .style(theme.header_row());
    let visible = area.height.saturating_sub(3) as usize;
    let rows: Vec<Row> = dash
        .leak_rows
        .iter()
        .enumerate()
        .skip(app.leaks.offset)
        .take(visible)
        .map(|(i, r)| {
            let row = match r {
                LeakRow::Timer {
                    timer,
                    kind,
                    conn,
                    closed_for,
                    fires,
                } => pick([
                    Cell::from(Span::styled("timer", theme.level(Level::Warn))),
                    Cell::from(timer.clone()),
                    Cell::from(kind.clone()),
                    Cell::from(conn.clone()),
                    Cell::from(age(*closed_for)),
                    Cell::from(fires.to_string()),
                ]),
                LeakRow::Zombie { conn, pong_age } => pick([
                    Cell::from(Span::styled("no pong", theme.level(Level::Bad))),
                    Cell::from("-"),
                    Cell::from("open"),
                    Cell::from(conn.clone()),
                    Cell::from(format!("pong {}", age(*pong_age))),
                    Cell::from("-"),
                ]),
            };
            if focused && i == app.leaks.selected {
                row.style(theme.selected())
            } else {
                row
            }
        })
        .collect();
    let widths = [
        Constraint::Length(7),
        Constraint::Min(6),
        Constraint::Length(9),
        Constraint::Min(5),
        Constraint::Length(10),
        Constraint::Length(5),
    ];
    let widths: Vec<Constraint> = widths
        .into_iter()
        .enumerate()
        .filter(|(i, _)| keep(*i))
        .map(|(_, w)| w)
        .collect();
    let table = Table::new(rows, widths).header(header).block(block(
        theme,
        Panel::Leaks.title(),
        extra,
        focused,
    ));
    frame.render_widget(table, area);
}
