//! The `?` overlay and the one-line key hint at the bottom.

use crate::ui::keymap;
use crate::ui::layout;
use crate::ui::theme::Theme;
use crate::ui::view::{Panel, ViewState};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

pub fn render_help(frame: &mut Frame, area: Rect, theme: &Theme, about: &[String]) {
    let rows = keymap::MAIN.iter().chain(keymap::DETAIL);
    let rect = layout::centered(area, 78, (rows.clone().count() + about.len()) as u16 + 3);
    let mut lines: Vec<Line> = about
        .iter()
        .map(|l| {
            Line::from(Span::styled(
                format!(" {}", crate::sanitize::inert(l)),
                theme.key(),
            ))
        })
        .collect();
    lines.extend(rows.map(|row| {
        Line::from(vec![
            Span::styled(format!(" {:<16}", row.keys), theme.key()),
            Span::raw(row.what),
        ])
    }));
    let close = &keymap::HELP[0];
    lines.push(Line::from(Span::styled(
        format!(" {}: {}", close.keys, close.what),
        theme.dim(),
    )));
    let block = Block::default()
        .borders(Borders::ALL)
        .border_set(theme.border_set())
        .border_style(theme.border(true))
        .title(Span::styled(" Help ", theme.title(true)));
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false }),
        rect,
    );
}

/// The key hint: what the keys do in the current context, shortest first so it survives
/// narrow screens; the open `/` filter line takes its place while typing.
pub fn render_hint(
    frame: &mut Frame,
    area: Rect,
    view: &ViewState,
    findings: usize,
    theme: &Theme,
) {
    if let Some(input) = &view.filter_input {
        let line = Line::from(vec![
            Span::styled("filter: /", theme.key()),
            Span::raw(crate::sanitize::inert(input).into_owned()),
            Span::styled(if theme.ascii { "_" } else { "▏" }, theme.key()),
            Span::styled("  Enter keep  Esc cancel", theme.dim()),
        ]);
        frame.render_widget(Paragraph::new(line), area);
        return;
    }
    if let Some(notice) = view.notice {
        frame.render_widget(Paragraph::new(Span::styled(notice, theme.key())), area);
        return;
    }
    let items = keymap::hints(view.focus, view.replay).map(|h| (h.keys, h.what));
    // Below 80x24 one panel fills the screen: say so, and name the next one.
    let mut spans = Vec::new();
    let mut width = 0usize;
    if !layout::screen(view.size, view.focus, findings).is_full() {
        let i = Panel::ALL
            .iter()
            .position(|p| *p == view.focus)
            .unwrap_or(0);
        let next = Panel::ALL[(i + 1) % Panel::ALL.len()];
        let findings = if findings > 0 && view.focus != Panel::Findings {
            format!(", {findings} findings")
        } else {
            String::new()
        };
        let note = format!(
            "{}/{} shown; Tab: {}{findings}  ",
            i + 1,
            Panel::ALL.len(),
            next.title()
        );
        width += note.chars().count();
        spans.push(Span::styled(note, theme.alert()));
    }
    // Whole hints only: one that does not fit is left out, never cut mid-word.
    for (k, what) in items {
        let hint = format!(" {what}  ");
        let w = k.chars().count() + hint.chars().count();
        if width + w.saturating_sub(2) > area.width as usize {
            break;
        }
        width += w;
        spans.push(Span::styled(k, theme.key()));
        spans.push(Span::styled(hint, theme.dim()));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// Below the minimum size: say so, and how big it needs to be.
pub fn render_too_small(frame: &mut Frame, area: Rect) {
    let text = format!(
        "terminal too small: {}x{}, need {}x{} (80x24 for every panel)",
        area.width,
        area.height,
        layout::MIN_WIDTH,
        layout::MIN_HEIGHT
    );
    frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }), area);
}
