//! Findings: severity, id, summary; `Enter` opens the evidence and remedy.

use super::block;
use crate::findings::Severity;
use crate::sanitize::inert;
use crate::ui::dashboard::Dashboard;
use crate::ui::theme::{Level, Theme};
use crate::ui::view::Panel;
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table};

pub fn severity_style(theme: &Theme, s: Severity) -> Style {
    theme.level(match s {
        Severity::Critical => Level::Bad,
        Severity::Warning => Level::Warn,
        Severity::Info => Level::Ok,
    })
}

pub fn render(frame: &mut Frame, area: Rect, dash: &Dashboard, focused: bool) {
    if area.width < 60 && !dash.findings.is_empty() {
        return render_narrow(frame, area, dash, focused);
    }
    let theme = &dash.theme;
    let view = &dash.view;
    let visible = area.height.saturating_sub(3) as usize;
    let wide = area.width >= 60;
    // What is left of the width for the summary: borders, severity, id and the gaps.
    let summary_width =
        (area.width as usize).saturating_sub(2 + if wide { 8 } else { 4 } + 1 + 20 + 1);
    let rows: Vec<Row> = dash
        .findings
        .iter()
        .enumerate()
        .skip(view.findings.offset)
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
            if focused && i == view.findings.selected {
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

/// A narrow panel (half of an 80-column screen): a line per finding (severity and id), then
/// the selected finding's summary (the most important one until another is chosen) wrapped
/// over the rows left, so it can be read without a key.
fn render_narrow(frame: &mut Frame, area: Rect, dash: &Dashboard, focused: bool) {
    let theme = &dash.theme;
    let view = &dash.view;
    let inner_width = area.width.saturating_sub(2) as usize;
    let inner_height = area.height.saturating_sub(2) as usize;
    let n = dash.findings.len();
    // Room for three lines of summary when there is room at all.
    let list_rows = n.min(inner_height.saturating_sub(3).max(1));
    let selected = view.findings.selected.min(n - 1);
    let first = selected.saturating_sub(list_rows.saturating_sub(1));
    let mut lines: Vec<Line> = Vec::new();
    for (i, f) in dash.findings.iter().enumerate().skip(first).take(list_rows) {
        let sev = Span::styled(&f.severity.as_str()[..4], severity_style(theme, f.severity));
        let mut line = Line::from(vec![sev, Span::raw(" "), Span::raw(f.id)]);
        if i == selected && (focused || n > 1) {
            line = line.style(theme.selected());
        }
        lines.push(line);
    }
    let summary_rows = inner_height.saturating_sub(lines.len());
    let summary = inert(&dash.findings[selected].summary).into_owned();
    for l in wrap_words(&summary, inner_width, summary_rows, theme.ellipsis()) {
        lines.push(Line::from(l));
    }
    let extra = format!("{n}");
    frame.render_widget(
        Paragraph::new(lines).block(block(theme, Panel::Findings.title(), extra, focused)),
        area,
    );
}

/// `text` wrapped at spaces into at most `rows` lines of `width` columns; what does not fit
/// ends the last line with `ellipsis`.
fn wrap_words(text: &str, width: usize, rows: usize, ellipsis: &str) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut current = String::new();
    for word in text.split_whitespace() {
        let need =
            current.chars().count() + usize::from(!current.is_empty()) + word.chars().count();
        if need > width && !current.is_empty() {
            lines.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push(' ');
        }
        current.push_str(word);
    }
    if !current.is_empty() {
        lines.push(current);
    }
    let cut = lines.len() > rows;
    lines.truncate(rows);
    if let Some(last) = lines.last_mut()
        && (cut || last.chars().count() > width)
    {
        let room = width.saturating_sub(ellipsis.chars().count());
        let kept: String = last.chars().take(room).collect();
        *last = format!("{}{ellipsis}", kept.trim_end());
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::wrap_words;

    #[test]
    fn words_wrap_and_what_does_not_fit_ends_with_an_ellipsis() {
        let t = "20 unexpected disconnects in the last minute (2.5 %/min of open connections)";
        let lines = wrap_words(t, 20, 10, "…");
        assert!(lines.iter().all(|l| l.chars().count() <= 20), "{lines:?}");
        assert_eq!(lines.join(" "), t);
        let short = wrap_words(t, 20, 2, "…");
        assert_eq!(short.len(), 2);
        assert!(
            short[1].ends_with('…') && short[1].chars().count() <= 20,
            "{short:?}"
        );
        assert!(wrap_words(t, 20, 0, "…").is_empty());
    }
}
