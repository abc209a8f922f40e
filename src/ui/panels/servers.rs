//! The servers view: a table of every server, the worst first by default.

use super::age;
use crate::event::codes::close_code_name;
use crate::ui::dashboard::Dashboard;
use crate::ui::servers_view::{ServerRow, ServerSort};
use crate::ui::theme::Level;
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::Span;
use ratatui::widgets::{Block, Borders, Cell, Clear, Row, Table};

pub fn render(frame: &mut Frame, area: Rect, dash: &Dashboard) {
    let theme = &dash.theme;
    let view = &dash.view.servers;
    let arrow = match (theme.ascii, view.descending) {
        (false, true) => "↓",
        (false, false) => "↑",
        (true, true) => "v",
        (true, false) => "^",
    };
    let header = ServerSort::ALL
        .iter()
        .map(|s| {
            let t = s.title();
            Cell::from(if *s == view.sort {
                format!("{t}{arrow}")
            } else {
                t.to_string()
            })
        })
        .chain(std::iter::once(Cell::from("quiet")));
    let total_open: usize = dash.server_rows.iter().map(|r| r.open).sum();
    let all = Row::new([
        Cell::from(format!("(all {})", dash.server_rows.len())),
        Cell::from(total_open.to_string()),
        Cell::from(""),
        Cell::from(""),
        Cell::from(""),
        Cell::from(""),
        Cell::from(""),
    ]);
    // Enough rows for the selection to stay on screen.
    let visible = area.height.saturating_sub(3) as usize;
    let first = view.selected.saturating_sub(visible.saturating_sub(1));
    let rows = std::iter::once(all)
        .chain(dash.server_rows.iter().map(|r| server_row(dash, r)))
        .enumerate()
        .skip(first)
        .take(visible)
        .map(|(i, row)| {
            if i == view.selected {
                row.style(theme.selected())
            } else {
                row
            }
        });
    let filtered = match view.filter.as_str() {
        "" => String::new(),
        f => format!(" /{} ", crate::sanitize::inert(f)),
    };
    let shown = match dash.view.server_filter {
        Some(i) => dash
            .model
            .servers
            .get(i)
            .map(|s| format!(" showing {} ", crate::sanitize::inert(&s.name)))
            .unwrap_or_default(),
        None => String::new(),
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .border_set(theme.border_set())
        .border_style(theme.border(true))
        .title(Span::styled(" Servers ", theme.title(true)))
        .title(Span::styled(shown, theme.dim()))
        .title(Span::styled(filtered, theme.key()))
        .title_bottom(Span::styled(
            " Enter show  / filter  s sort  r reverse  Esc close ",
            theme.dim(),
        ));
    let widths = [
        Constraint::Min(10),
        Constraint::Length(6),
        Constraint::Length(11),
        Constraint::Length(15),
        Constraint::Length(8),
        Constraint::Min(11),
        Constraint::Length(11),
    ];
    frame.render_widget(Clear, area);
    frame.render_widget(
        Table::new(rows, widths)
            .header(Row::new(header).style(theme.header_row()))
            .block(block),
        area,
    );
}

fn server_row<'a>(dash: &Dashboard, r: &'a ServerRow) -> Row<'a> {
    let theme = &dash.theme;
    let worst = match r.worst_code {
        Some((code, n)) => {
            let short: String = close_code_name(code).chars().take(8).collect();
            format!("{code} {short} {n}")
        }
        None => "-".into(),
    };
    let worst_style = match r.worst_code {
        Some((1000 | 1001, _)) | None => theme.dim(),
        Some(_) => theme.level(Level::Bad),
    };
    let dropped_style = if r.dropped > 0 {
        theme.level(Level::Warn)
    } else {
        theme.dim()
    };
    Row::new([
        Cell::from(r.name.as_str()),
        Cell::from(r.open.to_string()),
        Cell::from(r.closes_per_min.to_string()),
        Cell::from(Span::styled(worst, worst_style)),
        Cell::from(Span::styled(r.dropped.to_string(), dropped_style)),
        findings_cell(dash, &r.findings),
        quiet_cell(dash, r.quiet_secs),
    ])
}

/// How many findings, then the most severe one's id: the count survives a narrow column.
fn findings_cell(dash: &Dashboard, ids: &[&'static str]) -> Cell<'static> {
    match ids.first() {
        Some(first) => Cell::from(Span::styled(
            format!("{} {first}", ids.len()),
            dash.theme.level(Level::Bad),
        )),
        None => Cell::from(Span::styled("-", dash.theme.dim())),
    }
}

/// How long the server has said nothing, in event time; past three of a relay's `hello`
/// intervals it is marked stale.
fn quiet_cell(dash: &Dashboard, quiet: Option<f64>) -> Cell<'static> {
    let stale = crate::source::nats::HELLO_EVERY.as_secs_f64() * 3.0;
    match quiet {
        Some(q) if q > stale => Cell::from(Span::styled(
            format!("stale {}", age(q)),
            dash.theme.level(Level::Warn),
        )),
        Some(q) => Cell::from(age(q)),
        None => Cell::from("-"),
    }
}
