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
    let extra = format!(
        "{} timers, {} not answering pings",
        dash.leak_total, dash.zombie_total
    );
    let header = Row::new(["what", "timer", "kind", "conn", "closed for", "fires"])
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
                } => Row::new([
                    Cell::from(Span::styled("timer", theme.level(Level::Warn))),
                    Cell::from(timer.clone()),
                    Cell::from(kind.clone()),
                    Cell::from(conn.clone()),
                    Cell::from(age(*closed_for)),
                    Cell::from(fires.to_string()),
                ]),
                LeakRow::Zombie { conn, pong_age } => Row::new([
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
    let table = Table::new(
        rows,
        [
            Constraint::Length(7),
            Constraint::Min(6),
            Constraint::Length(9),
            Constraint::Min(5),
            Constraint::Length(10),
            Constraint::Length(5),
        ],
    )
    .header(header)
    .block(block(theme, Panel::Leaks.title(), extra, focused));
    frame.render_widget(table, area);
}
