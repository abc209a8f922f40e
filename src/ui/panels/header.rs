//! The header: sources and their state, live or replay (speed, paused), event time, open
//! connections, and a warning when events were dropped or lines skipped.

use crate::event::Ts;
use crate::sanitize::inert;
use crate::source::SourceState;
use crate::ui::dashboard::Dashboard;
use crate::ui::theme::Level;
use crate::ui::{SILENT_AFTER, SourceInfo};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use std::time::Instant;

pub fn render(frame: &mut Frame, area: Rect, dash: &Dashboard, wall: Instant) {
    let theme = &dash.theme;
    let first = status(dash, wall);
    let sources = sources(dash, wall);
    let warn = warnings(dash);
    // Line one: mode, time, open connections and the alerts (dropped, skipped), which must
    // not be pushed off the edge; line two: the sources and servers. One line: all in a row.
    let (alerts, rest): (Vec<Span>, Vec<Span>) =
        warn.into_iter().partition(|s| s.style == theme.alert());
    let lines = if area.height >= 2 {
        let mut l1 = first;
        l1.push(Span::raw("  "));
        l1.extend(alerts);
        let mut l2 = sources;
        l2.push(Span::raw("  "));
        l2.extend(rest);
        vec![Line::from(l1), Line::from(l2)]
    } else {
        let mut l = first;
        l.push(Span::raw(" "));
        l.extend(alerts);
        l.extend(sources);
        vec![Line::from(l)]
    };
    frame.render_widget(Paragraph::new(lines), area);
}

/// Live or replay (speed, paused, end), the event time, open connections, how far in.
fn status(dash: &Dashboard, wall: Instant) -> Vec<Span<'static>> {
    let theme = &dash.theme;
    let model = &dash.model;
    let mut first: Vec<Span> = vec![Span::styled("wscope ", theme.title(false))];
    match &dash.play {
        Some(p) => {
            // The end is said at every speed, paused or not: nothing more will come.
            let state = if p.at_end {
                "END"
            } else if p.paused {
                "PAUSED"
            } else {
                "PLAYING"
            };
            first.push(Span::styled(
                format!("REPLAY {} {state}", p.speed.label()),
                theme.key(),
            ));
        }
        None => {
            let (mode, level) = live_mode(&dash.sources, wall);
            first.push(Span::styled(mode, theme.level(level)));
        }
    }
    let time = dash.event_time();
    let clock = if model.span().is_some() || dash.play.is_some() {
        time.to_datetime().format("%Y-%m-%d %H:%M:%S").to_string()
    } else {
        "waiting for events".to_string()
    };
    first.push(Span::raw(format!("  {clock}  ")));
    first.push(Span::styled(
        format!("open {}", model.open_count()),
        theme.header_row(),
    ));
    if let Some(p) = &dash.play {
        let total = p.end.secs_since(p.start).max(0.0);
        let done = time.secs_since(p.start).clamp(0.0, total);
        first.push(Span::styled(
            format!("  {}/{}", super::age(done), super::age(total)),
            theme.dim(),
        ));
    }
    first
}

/// The replay's timeline, then each source with its state.
fn sources(dash: &Dashboard, wall: Instant) -> Vec<Span<'static>> {
    let theme = &dash.theme;
    let time = dash.event_time();
    let mut sources: Vec<Span> = Vec::new();
    if let Some(p) = &dash.play {
        sources.push(Span::styled(
            timeline(p.start, p.end, time, 24, theme.ascii),
            theme.key(),
        ));
        sources.push(Span::raw("  "));
    }
    for (i, s) in dash.sources.iter().enumerate() {
        if i > 0 {
            sources.push(Span::raw("  "));
        }
        let (text, level) = match &s.state {
            SourceState::Connecting { .. } => ("connecting".to_string(), Level::Warn),
            SourceState::Connected => ("live".to_string(), Level::Ok),
            SourceState::Log => ("log".to_string(), Level::Ok),
            SourceState::Unreadable { message } => {
                (format!("unreadable: {}", inert(message)), Level::Bad)
            }
            SourceState::Retrying {
                reason,
                retry_in,
                since,
            } => {
                let secs = (*since + *retry_in)
                    .saturating_duration_since(wall)
                    .as_secs_f64()
                    .ceil();
                (
                    format!("disconnected, retrying in {secs:.0} s ({})", inert(reason)),
                    Level::Bad,
                )
            }
            SourceState::Unauthorized { message } => (
                format!(
                    "401 unauthorized: check --token or WSCOPE_TOKEN ({})",
                    inert(message)
                ),
                Level::Bad,
            ),
        };
        sources.push(Span::raw(format!("{}: ", inert(short_label(&s.label)))));
        sources.push(Span::styled(text, theme.level(level)));
    }
    if dash.sources_ended {
        sources.push(Span::styled("  (feeds ended)", theme.alert()));
    }
    sources
}

/// What the figures may be missing (dropped events, skipped lines: alerts) and what to know
/// about the servers (shared names, unknown events, their names).
fn warnings(dash: &Dashboard) -> Vec<Span<'static>> {
    let theme = &dash.theme;
    let model = &dash.model;
    let mut warn: Vec<Span> = Vec::new();
    let dropped = model.dropped();
    if dropped > 0 {
        warn.push(Span::styled(
            format!(" ! {} events dropped by the feed ", dropped),
            theme.alert(),
        ));
        warn.push(Span::raw(" "));
    }
    let c = &model.counters;
    if c.skipped_lines > 0 {
        warn.push(Span::styled(
            format!(" ! {} lines skipped ", c.skipped_lines),
            theme.alert(),
        ));
        warn.push(Span::raw(" "));
    }
    if c.duplicate_server_names > 0 {
        warn.push(Span::styled(
            format!(
                "{} feeds share a server name (told apart as \"(feed N)\") ",
                c.duplicate_server_names + 1
            ),
            theme.level(Level::Warn),
        ));
    }
    if c.unknown_types > 0 {
        warn.push(Span::styled(
            format!("{} unknown events ", c.unknown_types),
            theme.level(Level::Warn),
        ));
    }
    if model.servers.len() > 1 || !model.servers.is_empty() && dash.play.is_some() {
        let names: Vec<String> = model
            .servers
            .iter()
            .map(|s| {
                if s.name.is_empty() {
                    "(unnamed)".to_string()
                } else {
                    inert(&s.name).into_owned()
                }
            })
            .collect();
        warn.push(Span::styled(
            format!("servers: {}", names.join(", ")),
            theme.dim(),
        ));
    }
    warn
}

/// LIVE only while some feed is connected and speaking; otherwise what it is, and for how
/// long: SILENT (connected, no event for [`SILENT_AFTER`]), DISCONNECTED, CONNECTING.
fn live_mode(sources: &[SourceInfo], wall: Instant) -> (String, Level) {
    let for_how_long = |t: Option<Instant>| {
        t.map(|t| {
            format!(
                " {}",
                super::age(wall.saturating_duration_since(t).as_secs_f64())
            )
        })
        .unwrap_or_default()
    };
    let connected: Vec<&SourceInfo> = sources
        .iter()
        .filter(|s| matches!(s.state, SourceState::Connected))
        .collect();
    if connected.is_empty() {
        let connecting = sources
            .iter()
            .any(|s| matches!(s.state, SourceState::Connecting { .. }));
        let since = sources.iter().filter_map(|s| s.since).min();
        return if connecting && since.is_none() {
            ("CONNECTING".into(), Level::Warn)
        } else {
            (format!("DISCONNECTED{}", for_how_long(since)), Level::Bad)
        };
    }
    let heard = |s: &&SourceInfo| s.last_event.or(s.since);
    let latest = connected.iter().filter_map(heard).max();
    match latest {
        Some(t) if wall.saturating_duration_since(t) >= SILENT_AFTER => {
            (format!("SILENT{}", for_how_long(Some(t))), Level::Warn)
        }
        _ => ("LIVE".into(), Level::Ok),
    }
}

/// Where in the log the screen is: a bar of `width` cells from start to end, with a mark
/// at each step a seek key takes (1 min, or 10 min and 1 h for longer logs, so at most a
/// dozen) and the position on it.
fn timeline(start: Ts, end: Ts, at: Ts, width: usize, ascii: bool) -> String {
    let (line, tick, here) = if ascii {
        ('-', '+', 'o')
    } else {
        ('─', '┼', '●')
    };
    let span = end.secs_since(start).max(0.0);
    let cells = width.max(2);
    let cell_of = |secs: f64| {
        if span <= 0.0 {
            cells - 1
        } else {
            ((secs / span) * (cells - 1) as f64)
                .round()
                .clamp(0.0, (cells - 1) as f64) as usize
        }
    };
    let mut bar: Vec<char> = vec![line; cells];
    let step = [60.0, 600.0, 3600.0, 6.0 * 3600.0, 86_400.0]
        .into_iter()
        .find(|s| span / s <= 12.0)
        .unwrap_or(86_400.0 * 7.0);
    let mut mark = step;
    while mark < span {
        bar[cell_of(mark)] = tick;
        mark += step;
    }
    bar[cell_of(at.secs_since(start).clamp(0.0, span))] = here;
    let (open, close) = if ascii { ('[', ']') } else { ('├', '┤') };
    format!("{open}{}{close}", bar.into_iter().collect::<String>())
}

/// `ws://127.0.0.1:9001/feed?token=x` → `127.0.0.1:9001`: the host says which feed it is; the
/// rest (and any token in the query) stays off the screen.
fn short_label(label: &str) -> &str {
    match label.split_once("://") {
        Some((_, rest)) => rest.split(['/', '?']).next().unwrap_or(rest),
        None => label,
    }
}

#[cfg(test)]
mod tests {
    use super::timeline;
    use crate::event::{SECOND, Ts};

    #[test]
    fn the_timeline_marks_minutes_and_the_position() {
        let t = |s: i64| Ts(s * SECOND);
        assert_eq!(timeline(t(0), t(300), t(0), 11, true), "[o-+-+-+-+--]");
        assert_eq!(timeline(t(0), t(300), t(300), 11, true), "[--+-+-+-+-o]");
        assert_eq!(timeline(t(0), t(300), t(125), 11, true), "[--+-o-+-+--]");
        assert!(timeline(t(0), t(300), t(150), 11, false).contains('●'));
        // A day of log: hour marks are too many, 6 h marks are not.
        assert_eq!(
            timeline(t(0), t(86_400), t(0), 24, true)
                .matches('+')
                .count(),
            3
        );
        // An empty span draws the position at the end, never panics.
        assert!(timeline(t(5), t(5), t(5), 2, true).ends_with("o]"));
    }
}
