//! Detail views over the panels: one connection with its recent events, and one finding with
//! its evidence and remedy.

use super::{age, count, findings::severity_style};
use crate::event::{Event, EventKind, TimerOp};
use crate::model::ServerId;
use crate::sanitize::inert;
use crate::ui::dashboard::Dashboard;
use crate::ui::theme::Theme;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

fn frame_block<'a>(theme: &Theme, title: String) -> Block<'a> {
    Block::default()
        .borders(Borders::ALL)
        .border_set(theme.border_set())
        .border_style(theme.border(true))
        .title(Span::styled(format!(" {title} "), theme.title(true)))
        .title_bottom(Span::styled(" Esc closes  j/k scroll ", theme.dim()))
}

fn field(theme: &Theme, name: &str, value: String) -> Line<'static> {
    Line::from(vec![
        Span::styled(format!("{name:>18}  "), theme.header_row()),
        Span::raw(value),
    ])
}

/// Lists in evidence show this many items, then "and N more".
const LIST_ITEMS: usize = 5;

/// An evidence field as a person reads it: `longest_unpinged_seconds: 269.0` becomes
/// `longest unpinged: 269.0 s (4 min 29 s)`, bytes become KiB, MiB or GiB, timestamps a date
/// and a clock time; lists are cut to a few items and "and N more"; objects are `key value`
/// pairs. The JSON of `report` keeps the fields as they are.
pub fn evidence_for_a_person(key: &str, value: &serde_json::Value) -> (String, String) {
    use serde_json::Value;
    let (stem, unit) = split_unit(key);
    let name = match stem.trim_end_matches('_') {
        // `mib_per_hour` is all unit: it is the growth of memory.
        "" => "growth".to_string(),
        stem => stem.replace('_', " "),
    };
    let text = match value {
        Value::Array(items) if items.is_empty() => "none".to_string(),
        Value::Array(items) => {
            let shown: Vec<String> = items
                .iter()
                .take(LIST_ITEMS)
                .map(|v| match v {
                    Value::Object(map) => pairs(map, " "),
                    other => plain(other),
                })
                .collect();
            let objects = items.iter().any(Value::is_object);
            let more = items.len().saturating_sub(LIST_ITEMS);
            let mut t = shown.join(if objects { "; " } else { ", " });
            if more > 0 {
                t.push_str(&format!(" and {more} more"));
            }
            t
        }
        Value::Object(map) => pairs(map, ", "),
        other => with_unit(other, unit),
    };
    (name, text)
}

/// An object's fields as `name value`, each with its unit.
fn pairs(map: &serde_json::Map<String, serde_json::Value>, between: &str) -> String {
    map.iter()
        .map(|(k, v)| {
            let (stem, unit) = split_unit(k);
            format!("{} {}", stem.replace('_', " "), with_unit(v, unit))
        })
        .collect::<Vec<_>>()
        .join(between)
}

/// What a field's name says of its unit.
#[derive(Clone, Copy, PartialEq)]
enum Unit {
    Seconds,
    Millis,
    Percent,
    PercentPerMinute,
    MibPerHour,
    Mib,
    Bytes,
    PerMinute,
    None,
}

fn split_unit(key: &str) -> (&str, Unit) {
    const SUFFIXES: [(&str, Unit); 9] = [
        ("_pct_per_min", Unit::PercentPerMinute),
        ("mib_per_hour", Unit::MibPerHour),
        ("_seconds", Unit::Seconds),
        ("_secs", Unit::Seconds),
        ("_ms", Unit::Millis),
        ("_pct", Unit::Percent),
        ("_mib", Unit::Mib),
        ("_bytes", Unit::Bytes),
        ("_per_min", Unit::PerMinute),
    ];
    SUFFIXES
        .iter()
        .find_map(|(suffix, unit)| key.strip_suffix(suffix).map(|stem| (stem, *unit)))
        .unwrap_or((key, Unit::None))
}

fn with_unit(v: &serde_json::Value, unit: Unit) -> String {
    let Some(x) = v.as_f64() else {
        return plain(v);
    };
    let n = plain(v);
    match unit {
        Unit::Seconds if x >= 90.0 => format!("{n} s ({})", spoken_duration(x)),
        Unit::Seconds => format!("{n} s"),
        Unit::Millis => format!("{n} ms"),
        Unit::Percent => format!("{n} %"),
        Unit::PercentPerMinute => format!("{n} %/min"),
        Unit::MibPerHour => format!("{n} MiB/h"),
        Unit::Mib => format!("{n} MiB"),
        Unit::Bytes => size(x),
        Unit::PerMinute => format!("{n}/min"),
        Unit::None => n,
    }
}

/// A value without unit; a timestamp as a date and clock time (UTC).
fn plain(v: &serde_json::Value) -> String {
    use serde_json::Value;
    match v {
        Value::String(s) => match chrono::DateTime::parse_from_rfc3339(s) {
            Ok(t) if s.len() >= 20 => {
                let t = t.with_timezone(&chrono::Utc);
                if t.timestamp_subsec_millis() == 0 {
                    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
                } else {
                    t.format("%Y-%m-%d %H:%M:%S%.3f UTC").to_string()
                }
            }
            _ => s.clone(),
        },
        Value::Null => "-".to_string(),
        other => other.to_string(),
    }
}

/// 269 s as "4 min 29 s", 3,900 s as "1 h 5 min", 90,000 s as "1 d 1 h".
fn spoken_duration(secs: f64) -> String {
    let s = secs.round() as u64;
    let (d, h, m, s) = (s / 86_400, s / 3_600 % 24, s / 60 % 60, s % 60);
    match (d, h) {
        (0, 0) => format!("{m} min {s} s"),
        (0, _) => format!("{h} h {m} min"),
        _ => format!("{d} d {h} h"),
    }
}

/// Bytes in the largest binary unit that keeps a figure of at least one.
fn size(bytes: f64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024.0 {
        return format!("{bytes} B");
    }
    let mut v = bytes / 1024.0;
    let mut unit = UNITS[0];
    for u in &UNITS[1..] {
        if v < 1024.0 {
            break;
        }
        v /= 1024.0;
        unit = u;
    }
    format!("{v:.1} {unit}")
}

/// One event as a line of the detail view; every string in it made inert.
pub fn describe(e: &Event) -> String {
    let s = |v: &Option<crate::event::Str>| {
        v.as_deref()
            .map(|x| inert(x).into_owned())
            .unwrap_or_default()
    };
    let what = match &e.kind {
        EventKind::Open(o) => format!("open from {} path {}", s(&o.remote), s(&o.path)),
        EventKind::Ping { .. } => "ping".to_string(),
        EventKind::Pong { rtt_ms, .. } => match rtt_ms {
            Some(r) => format!("pong rtt {r:.0} ms"),
            None => "pong".to_string(),
        },
        EventKind::Message(m) => format!(
            "{} {} messages, {} bytes",
            if m.dir == crate::event::Dir::In {
                "in"
            } else {
                "out"
            },
            m.count,
            m.bytes
        ),
        EventKind::Close(c) => format!(
            "close {} ({}) by {} reason {:?}",
            c.effective_code(),
            crate::event::codes::short_name(c.effective_code()),
            c.initiator.map(|i| i.as_str()).unwrap_or("?"),
            s(&c.reason)
        ),
        EventKind::Error { message, .. } => format!("error {}", inert(message)),
        EventKind::Timer(t) => format!(
            "timer {} {}{}",
            inert(&t.timer),
            match t.op {
                TimerOp::Start => "start",
                TimerOp::Fire => "fire",
                TimerOp::Clear => "clear",
            },
            t.kind
                .as_deref()
                .map(|k| format!(" ({})", inert(k)))
                .unwrap_or_default()
        ),
        EventKind::AppState { state, .. } => format!("app {state:?}").to_lowercase(),
        other => inert(other.type_name()).into_owned(),
    };
    format!("{}  {what}", e.ts.to_datetime().format("%H:%M:%S%.3f"))
}

pub fn render_connection(
    frame: &mut Frame,
    area: Rect,
    dash: &Dashboard,
    server: ServerId,
    conn: &str,
) {
    let theme = &dash.theme;
    let lines = connection_lines(dash, server, conn);
    let scroll = scroll_within(&lines, area, dash.view.detail_scroll, false);
    frame.render_widget(Clear, area);
    frame.render_widget(
        Paragraph::new(lines)
            .block(frame_block(theme, format!("Connection {}", inert(conn))))
            .scroll((scroll, 0)),
        area,
    );
}

fn connection_lines<'a>(dash: &'a Dashboard, server: ServerId, conn: &str) -> Vec<Line<'a>> {
    let theme = &dash.theme;
    let model = &dash.model;
    let now = model.now();
    let mut lines: Vec<Line> = Vec::new();
    let server_name = model
        .servers
        .get(server as usize)
        .map(|s| inert(&s.name).into_owned())
        .unwrap_or_default();
    match model.conns.get(server, conn) {
        Some(c) => {
            let sym = |s: Option<crate::model::Sym>| s.map(|s| model.strings.get(s)).unwrap_or("");
            let t = |ts: Option<crate::event::Ts>| match ts {
                Some(ts) => format!("{} ago", age(now.secs_since(ts))),
                None => "never".to_string(),
            };
            lines.push(field(theme, "server", server_name));
            lines.push(field(
                theme,
                "client",
                inert(c.remote.as_deref().unwrap_or("-")).into_owned(),
            ));
            if let Some(k) = &c.client_key {
                lines.push(field(theme, "identity", inert(k).into_owned()));
            }
            let mobile = if c.mobile { " (mobile)" } else { "" };
            lines.push(field(
                theme,
                "agent",
                format!("{}{mobile}", inert(sym(c.user_agent))),
            ));
            lines.push(field(theme, "path", inert(sym(c.path)).into_owned()));
            lines.push(field(theme, "age", age(now.secs_since(c.opened))));
            lines.push(field(theme, "last ping", t(c.last_ping())));
            lines.push(field(theme, "last pong", t(c.last_pong())));
            lines.push(field(
                theme,
                "rtt",
                c.rtt_ms()
                    .map(|r| format!("{r:.0} ms"))
                    .unwrap_or("-".into()),
            ));
            lines.push(field(
                theme,
                "messages",
                format!(
                    "in {} ({} B), out {} ({} B)",
                    count(c.msgs_in.into()),
                    count(c.bytes_in),
                    count(c.msgs_out.into()),
                    count(c.bytes_out)
                ),
            ));
            let timers = model.timers.running_for(c.server, &c.id);
            lines.push(field(theme, "timers", timers.to_string()));
            if c.in_background() {
                lines.push(field(theme, "app", "in background".into()));
            }
        }
        None => lines.push(Line::from(Span::styled(
            "closed (no longer open); its recent events:",
            theme.dim(),
        ))),
    }
    lines.push(Line::from(Span::styled(
        "recent events, newest first",
        theme.header_row(),
    )));
    let events: Vec<&Event> = dash.recent.watched().rev().collect();
    if events.is_empty() {
        lines.push(Line::from(Span::styled(
            "none seen since the dashboard started",
            theme.dim(),
        )));
    }
    for e in events {
        lines.push(Line::from(describe(e)));
    }
    lines
}

pub fn render_finding(frame: &mut Frame, area: Rect, dash: &Dashboard, id: &str) {
    let lines = finding_lines(dash, id);
    let scroll = scroll_within(&lines, area, dash.view.detail_scroll, true);
    frame.render_widget(Clear, area);
    frame.render_widget(
        Paragraph::new(lines)
            .block(frame_block(&dash.theme, format!("Finding {}", inert(id))))
            .wrap(Wrap { trim: false })
            .scroll((scroll, 0)),
        area,
    );
}

/// How far the open detail view can scroll in `body`: what keeps key presses within it.
pub fn max_scroll(dash: &Dashboard, body: Rect) -> usize {
    use crate::ui::view::Overlay;
    let (lines, wrapped) = match &dash.view.overlay {
        Overlay::Connection { server, conn } => (connection_lines(dash, *server, conn), false),
        Overlay::Finding { id } => (finding_lines(dash, id), true),
        _ => return 0,
    };
    scroll_within(&lines, body, usize::MAX, wrapped) as usize
}

fn finding_lines<'a>(dash: &'a Dashboard, id: &str) -> Vec<Line<'a>> {
    let theme = &dash.theme;
    let mut lines: Vec<Line> = Vec::new();
    match dash.findings.iter().find(|f| f.id == id) {
        Some(f) => {
            lines.push(Line::from(vec![
                Span::styled(f.severity.as_str(), severity_style(theme, f.severity)),
                Span::raw("  "),
                Span::raw(inert(&f.summary).into_owned()),
            ]));
            // The remedy first: what to do must be in view without scrolling.
            lines.push(Line::default());
            lines.push(Line::from(Span::styled("remedy", theme.header_row())));
            for l in f.remedy.lines() {
                lines.push(Line::from(inert(l).into_owned()));
            }
            lines.push(Line::default());
            lines.push(Line::from(Span::styled("evidence", theme.header_row())));
            for (k, v) in &f.evidence {
                let (name, value) = evidence_for_a_person(k, v);
                lines.push(field(theme, &inert(&name), inert(&value).into_owned()));
            }
        }
        None => lines.push(Line::from("this finding no longer applies")),
    }
    lines
}

/// The scroll offset asked for, kept within the content: the last line stays at the bottom
/// of the view, never scrolled past. `wrapped` lines take as many rows as their width needs.
fn scroll_within(lines: &[Line], area: Rect, asked: usize, wrapped: bool) -> u16 {
    let (width, height) = (
        area.width.saturating_sub(2).max(1) as usize,
        area.height.saturating_sub(2) as usize,
    );
    let rows: usize = lines
        .iter()
        .map(|l| {
            if wrapped {
                l.width().div_ceil(width).max(1)
            } else {
                1
            }
        })
        .sum();
    asked
        .min(rows.saturating_sub(height))
        .min(u16::MAX as usize) as u16
}
