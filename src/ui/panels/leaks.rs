//! Leak suspects: timers alive without an open socket (timer, kind, connection, closed for,
//! fires since close), connections that stopped answering pings but are still open, and, where
//! the server sends `process` events, its memory and the descriptors beyond its open sockets.

use super::{age, block};
use crate::model::{Figure, Model, Server};
use crate::ui::dashboard::{Dashboard, LeakRow};
use crate::ui::theme::Level;
use crate::ui::theme::Theme;
use crate::ui::view::Panel;
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table};

/// The server whose process figures are shown: the first of `model` that sent any.
fn process_server(model: &Model) -> Option<&Server> {
    model
        .servers
        .iter()
        .find(|s| s.process.rss_bytes.last.is_some() || s.process.open_fds.last.is_some())
}

/// `values` as a sparkline of `width` cells (the latest on the right), scaled to their range.
fn spark(theme: &Theme, values: &[u64], width: usize) -> String {
    let levels = theme.spark_levels();
    let top = levels.len() - 1;
    let shown = &values[values.len().saturating_sub(width)..];
    let lo = shown.iter().copied().min().unwrap_or(0);
    let hi = shown.iter().copied().max().unwrap_or(0);
    shown
        .iter()
        .map(|v| {
            let u = if hi == lo {
                top / 2
            } else {
                1 + ((v - lo) as f64 / (hi - lo) as f64 * (top - 1) as f64).round() as usize
            };
            levels[u.min(top)]
        })
        .collect()
}

/// One line: a label, the latest figure, and its sparkline.
fn figure_line<'a>(
    theme: &Theme,
    label: &str,
    latest: String,
    values: &[u64],
    width: u16,
) -> Line<'a> {
    let head = format!("{label} {latest:>9} ");
    let room = (width as usize).saturating_sub(head.chars().count());
    Line::from(vec![
        Span::styled(head, theme.dim()),
        Span::styled(spark(theme, values, room), theme.spark()),
    ])
}

/// RSS and excess descriptors of the server, two lines, where `process` events came; among
/// several servers, the lines name theirs.
fn process_lines<'a>(theme: &Theme, model: &Model, width: u16) -> Option<Vec<Line<'a>>> {
    let s = process_server(model)?;
    let of = if model.servers.len() > 1 {
        let name: String = crate::sanitize::inert(&s.name).chars().take(12).collect();
        format!(" {name}")
    } else {
        String::new()
    };
    let mib = |b: u64| b / (1024 * 1024);
    let rss: Vec<u64> = s
        .process
        .rss_bytes
        .points()
        .iter()
        .map(|r| mib(r.value))
        .collect();
    let excess = |f: &Figure| -> Vec<u64> {
        f.points()
            .iter()
            .map(|r| r.value.saturating_sub(r.open_conns))
            .collect()
    };
    let fds = excess(&s.process.open_fds);
    let mut lines = Vec::new();
    if let Some(last) = s.process.rss_bytes.last {
        lines.push(figure_line(
            theme,
            &format!("rss{of}"),
            format!("{} MiB", mib(last.value)),
            &rss,
            width,
        ));
    }
    if let Some(last) = s.process.open_fds.last {
        let extra = last.value.saturating_sub(last.open_conns);
        lines.push(figure_line(
            theme,
            &format!("fds{of}"),
            format!("+{extra}"),
            &fds,
            width,
        ));
    }
    Some(lines)
}

pub fn render(frame: &mut Frame, area: Rect, dash: &Dashboard, focused: bool) {
    let theme = &dash.theme;
    let view = &dash.view;
    let extra = format!("{} timers, {} no pong", dash.leak_total, dash.zombie_total);
    // Narrow panels (80 columns split in two) drop the kind and the fire count; the server
    // shows while several are shown at once (their connection ids may be alike).
    let wide = area.width >= 60;
    let many =
        dash.shown_model().servers.len() > 1 && std::ptr::eq(dash.shown_model(), &*dash.model);
    let keep = |i: usize| (wide || !matches!(i, 2 | 5)) && (many || i != 6);
    let pick = |cells: [Cell<'static>; 7]| -> Row<'static> {
        Row::new(
            cells
                .into_iter()
                .enumerate()
                .filter(|(i, _)| keep(*i))
                .map(|(_, c)| c),
        )
    };
    let header = pick(
        [
            "what",
            "timer",
            "kind",
            "conn",
            "closed for",
            "fires",
            "server",
        ]
        .map(Cell::from),
    )
    .style(theme.header_row());
    let b = block(theme, Panel::Leaks.title(), extra, focused);
    let inner = b.inner(area);
    frame.render_widget(b, area);
    // Process figures take the bottom lines when there is room for the table as well.
    let process =
        process_lines(theme, dash.shown_model(), inner.width).filter(|_| inner.height >= 5);
    let process_height = process.as_ref().map_or(0, |l| l.len() as u16);
    let table_area = Rect {
        height: inner.height.saturating_sub(process_height),
        ..inner
    };
    if let Some(lines) = process {
        let at = Rect {
            y: table_area.y.saturating_add(table_area.height),
            height: process_height,
            ..inner
        };
        frame.render_widget(Paragraph::new(lines), at);
    }
    let visible = table_area.height.saturating_sub(1) as usize;
    // The timer and conn columns share what the others leave (ids keep their ends).
    let fixed: usize = 7 + 10 + if wide { 9 + 5 } else { 0 } + if many { 8 } else { 0 };
    let gaps = if wide { 5 } else { 3 } + usize::from(many);
    let ids = ((inner.width as usize).saturating_sub(fixed + gaps) / 2).clamp(4, 24);
    let rows: Vec<Row> = dash
        .leak_rows
        .iter()
        .enumerate()
        .skip(view.leaks.offset)
        .take(visible)
        .map(|(i, r)| {
            let row = pick(cells(theme, r, ids));
            if focused && i == view.leaks.selected {
                row.style(theme.selected())
            } else {
                row
            }
        })
        .collect();
    let widths = [
        Constraint::Length(7),
        Constraint::Length(ids as u16),
        Constraint::Length(9),
        Constraint::Length(ids as u16),
        Constraint::Length(10),
        Constraint::Length(5),
        Constraint::Min(6),
    ];
    let widths: Vec<Constraint> = widths
        .into_iter()
        .enumerate()
        .filter(|(i, _)| keep(*i))
        .map(|(_, w)| w)
        .collect();
    let table = Table::new(rows, widths).header(header);
    frame.render_widget(table, table_area);
}

/// A suspect's cells: what, timer, kind, conn, closed for, fires, server.
fn cells(theme: &Theme, row: &LeakRow, ids: usize) -> [Cell<'static>; 7] {
    let id = |s: &str| super::fit_tail(s, ids, theme.ellipsis());
    match row {
        LeakRow::Timer {
            server,
            timer,
            kind,
            conn,
            closed_for,
            fires,
        } => [
            Cell::from(Span::styled("timer", theme.level(Level::Warn))),
            Cell::from(id(timer)),
            Cell::from(kind.clone()),
            Cell::from(id(conn)),
            Cell::from(age(*closed_for)),
            Cell::from(fires.to_string()),
            Cell::from(server.clone()),
        ],
        LeakRow::Zombie {
            server,
            conn,
            pong_age,
        } => [
            Cell::from(Span::styled("no pong", theme.level(Level::Bad))),
            Cell::from("-"),
            Cell::from("open"),
            Cell::from(id(conn)),
            Cell::from(format!("pong {}", age(*pong_age))),
            Cell::from("-"),
            Cell::from(server.clone()),
        ],
    }
}
