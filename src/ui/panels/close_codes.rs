//! Close codes: one stacked bar per code, named as RFC 6455 names it (4000-4999 are the
//! application's own), split by who initiated the close; over all time or the last 5 minutes.

use super::{block, count};
use crate::event::Initiator;
use crate::event::codes::short_name as code_name;
use crate::model::CodeCounts;
use crate::ui::dashboard::Dashboard;
use crate::ui::theme::{InitiatorMark, Theme};
use crate::ui::view::{CodesWindow, Panel};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use std::collections::BTreeMap;

const MARKS: [InitiatorMark; 4] = [
    InitiatorMark::Client,
    InitiatorMark::Server,
    InitiatorMark::None,
    InitiatorMark::Unknown,
];

fn mark_of(i: Option<Initiator>) -> usize {
    match i {
        Some(Initiator::Client) => 0,
        Some(Initiator::Server) => 1,
        Some(Initiator::None) => 2,
        None => 3,
    }
}

/// Per code: counts by initiator (client, server, none, unknown).
fn split(counts: &CodeCounts) -> Vec<(u16, [u64; 4])> {
    let mut by: BTreeMap<u16, [u64; 4]> = BTreeMap::new();
    for ((code, init), n) in counts {
        by.entry(*code).or_default()[mark_of(*init)] += n;
    }
    let mut v: Vec<_> = by.into_iter().collect();
    v.sort_by(|a, b| {
        let (sa, sb) = (a.1.iter().sum::<u64>(), b.1.iter().sum::<u64>());
        sb.cmp(&sa).then(a.0.cmp(&b.0))
    });
    v
}

/// Splits `width` cells among the parts in proportion, so the bar length reflects the total.
fn bar_spans(theme: &Theme, parts: [u64; 4], max: u64, width: usize) -> Vec<Span<'static>> {
    let total: u64 = parts.iter().sum();
    if max == 0 || width == 0 {
        return Vec::new();
    }
    let len = ((total as f64 / max as f64) * width as f64).ceil() as usize;
    let len = len.clamp(usize::from(total > 0), width);
    let mut spans = Vec::new();
    let mut used = 0usize;
    let mut acc = 0u64;
    for (i, n) in parts.iter().enumerate() {
        if *n == 0 {
            continue;
        }
        acc += n;
        // Cumulative rounding keeps the parts summing to `len`; a non-zero part gets a cell.
        let end = ((acc as f64 / total as f64) * len as f64).round() as usize;
        let end = end.max(used + 1).min(len);
        if end > used {
            let (style, ch) = theme.initiator_bar(MARKS[i]);
            spans.push(Span::styled(ch.repeat(end - used), style));
            used = end;
        }
    }
    spans
}

pub fn render(frame: &mut Frame, area: Rect, dash: &Dashboard, focused: bool) {
    let theme = &dash.theme;
    let counts = match dash.view.codes_window {
        CodesWindow::AllTime => dash.shown_model().closes.all_time.clone(),
        CodesWindow::Last5Min => dash.shown_model().closes.recent(dash.shown_model().now()),
    };
    let rows = split(&counts);
    let total: u64 = rows.iter().map(|(_, p)| p.iter().sum::<u64>()).sum();
    let window = match dash.view.codes_window {
        CodesWindow::AllTime => "all time",
        CodesWindow::Last5Min => "last 5 min",
    };
    let b = block(
        theme,
        Panel::CloseCodes.title(),
        format!(
            "{window}, {} closes{}",
            count(total),
            dash.shown_server_suffix()
        ),
        focused,
    );
    let inner = b.inner(area);
    frame.render_widget(b, area);
    let height = inner.height as usize;
    if height == 0 {
        return;
    }
    let mut lines: Vec<Line> = Vec::new();
    // The legend takes the last line when there is room for it and a bar.
    let legend = height >= 2;
    let bars = if legend { height - 1 } else { height };
    let max = rows
        .first()
        .map(|(_, p)| p.iter().sum::<u64>())
        .unwrap_or(0);
    let name_w = if inner.width >= 50 { 17 } else { 11 };
    let label_w = name_w + 5;
    let num_w = 7usize;
    let bar_w = (inner.width as usize).saturating_sub(label_w + num_w + 1);
    let shown = if rows.len() > bars {
        bars.saturating_sub(1)
    } else {
        rows.len()
    };
    for (code, parts) in rows.iter().take(shown) {
        let mut spans = vec![Span::raw(format!(
            "{code} {:<name_w$.name_w$}",
            code_name(*code)
        ))];
        let sum: u64 = parts.iter().sum();
        spans.push(Span::raw(format!("{:>num_w$} ", count(sum))));
        spans.extend(bar_spans(theme, *parts, max, bar_w));
        lines.push(Line::from(spans));
    }
    if rows.len() > shown {
        lines.push(Line::from(Span::styled(
            format!("+{} more codes", rows.len() - shown),
            theme.dim(),
        )));
    }
    if rows.is_empty() {
        lines.push(Line::from(Span::styled("no closes yet", theme.dim())));
    }
    if legend {
        while lines.len() < bars {
            lines.push(Line::default());
        }
        let mut l = Vec::new();
        for (m, name) in MARKS.iter().zip(["client", "server", "none", "?"]) {
            let (style, ch) = theme.initiator_bar(*m);
            l.push(Span::styled(ch, style));
            l.push(Span::styled(format!("{name} "), theme.dim()));
        }
        l.push(Span::styled(" w: 5 min/all", theme.dim()));
        lines.push(Line::from(l));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_bars() {
        assert_eq!(code_name(1006), "abnormal");
        assert_eq!(code_name(4001), "application");
        assert_eq!(code_name(999), "invalid");
        let t = Theme {
            color: false,
            ascii: true,
        };
        let spans = bar_spans(&t, [1, 0, 9, 0], 10, 20);
        let text: String = spans.iter().map(|s| s.content.as_ref()).collect();
        assert_eq!(text.len(), 20);
        assert!(text.starts_with("##") && text.ends_with("::"));
        let half: String = bar_spans(&t, [0, 5, 0, 0], 10, 20)
            .iter()
            .map(|s| s.content.to_string())
            .collect();
        assert_eq!(half, "=".repeat(10));
    }
}
