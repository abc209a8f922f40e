//! Findings: severity, id, summary; `Enter` opens the evidence and remedy.

use super::block;
use crate::findings::Severity;
use crate::sanitize::inert;
use crate::ui::app::Panel;
use crate::ui::dashboard::Dashboard;
use crate::ui::theme::{Level, Theme};
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::Span;
use ratatui::widgets::{Cell, Row, Table};

pub fn severity_style(theme: &Theme, s: Severity) -> Style {
    theme.level(match s {
        Severity::Critical => Level::Bad,
        Severity::Warning => Level::Warn,
        Severity::Info => Level::Ok,
    })
}

pub fn render(frame: &mut Frame, area: Rect, dash: &Dashboard, focused: bool) {
    let theme = &dash.theme;
    let app = &dash.app;
    let visible = area.height.saturating_sub(3) as usize;
    let wide = area.width >= 60;
    // What is left of the width for the summary: borders, severity, id and the gaps.
    let summary_width =
        (area.width as usize).saturating_sub(2 + if wide { 8 } else { 4 } + 1 + 20 + 1);
    let rows: Vec<Row> = dash
        .findings
        .iter()
        .enumerate()
        .skip(app.findings.offset)
        .take(visible)
        .map(|(i, f)| {
            let severity = if wide {
                f.severity.as_str()
            } else {
                &f.severity.as_str()[..4]
            };
            let row = Row::new([
                Cell::from(Span::styled(severity, severity_style(theme, f.severity))),
                Cell::from(f.id),
                Cell::from(super::fit(
                    &inert(&f.summary),
                    summary_width,
                    theme.ellipsis(),
                )),
            ]);
            if focused && i == app.findings.selected {
                row.style(theme.selected())
            } else {
                row
            }
        })
        .collect();
    let extra = if dash.findings.is_empty() {
        "none".to_string()
    } else {
        format!("{}", dash.findings.len())
    };
    let table = Table::new(
        rows,
        [
            Constraint::Length(if wide { 8 } else { 4 }),
            Constraint::Length(20),
            Constraint::Min(10),
        ],
    )
    .header(
        Row::new([if wide { "severity" } else { "sev" }, "id", "summary"])
            .style(theme.header_row()),
    )
    .block(block(theme, Panel::Findings.title(), extra, focused));
    frame.render_widget(table, area);
}
