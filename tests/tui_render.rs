//! Render tests: the dashboard drawn into ratatui's `TestBackend` from models built by the
//! scenario builder, at several sizes; text by insta snapshots, styles by buffer assertions.

mod common;

use common::scenario::{Scenario, busy_server};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::crossterm::event::{Event as TermEvent, KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier};
use std::time::Instant;
use wscope::event::{Initiator, TimerOp};
use wscope::ui::theme::Theme;
use wscope::ui::view::{ConnColumn, Overlay, Panel};
use wscope::ui::{Dashboard, UiConfig};

fn dashboard(s: &Scenario, w: u16, h: u16, color: bool, ascii: bool) -> Dashboard {
    let config = UiConfig {
        sources: vec!["busy.jsonl".into()],
        ascii,
        rules: wscope::findings::Rules::default(),
        about: Vec::new(),
    };
    let mut d = Dashboard::new(&config, false, Rect::new(0, 0, w, h));
    d.theme = Theme { color, ascii };
    // A live feed, connected and speaking.
    d.apply_msg(wscope::source::SourceMsg::State {
        source: 0,
        state: wscope::source::SourceState::Connected,
    });
    for e in s.events() {
        d.apply(0, e);
    }
    d.prepare();
    d
}

fn draw(d: &Dashboard, w: u16, h: u16) -> Buffer {
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    term.draw(|f| d.render(f, Instant::now())).unwrap();
    term.backend().buffer().clone()
}

fn text(b: &Buffer) -> String {
    let mut out = String::new();
    for y in 0..b.area.height {
        let mut line = String::new();
        for x in 0..b.area.width {
            line.push_str(b[(x, y)].symbol());
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn key(d: &mut Dashboard, code: KeyCode) {
    d.handle_input(&TermEvent::Key(KeyEvent::new(code, KeyModifiers::NONE)));
    d.prepare();
}

/// The (x, y) of the first occurrence of `needle` on a row.
fn find(b: &Buffer, needle: &str) -> Option<(u16, u16)> {
    for y in 0..b.area.height {
        let row: Vec<&str> = (0..b.area.width).map(|x| b[(x, y)].symbol()).collect();
        let line: String = row.concat();
        if let Some(byte) = line.find(needle) {
            // Columns, not bytes: count the symbols before the match.
            let mut acc = 0;
            for (x, s) in row.iter().enumerate() {
                if acc == byte {
                    return Some((x as u16, y));
                }
                acc += s.len();
            }
        }
    }
    None
}

#[test]
fn full_screen_120x40() {
    let d = dashboard(&busy_server(), 120, 40, true, false);
    let b = draw(&d, 120, 40);
    insta::assert_snapshot!(text(&b));
}

#[test]
fn full_screen_80x24_shows_every_panel() {
    let d = dashboard(&busy_server(), 80, 24, true, false);
    let b = draw(&d, 80, 24);
    let t = text(&b);
    for name in Panel::ALL.map(Panel::title) {
        assert!(t.contains(name), "{name} missing:\n{t}");
    }
    insta::assert_snapshot!(t);
}

#[test]
fn each_panel_alone_on_a_small_screen() {
    let mut d = dashboard(&busy_server(), 60, 18, true, false);
    for panel in Panel::ALL {
        assert_eq!(d.view.focus, panel);
        let t = text(&draw(&d, 60, 18));
        assert!(t.contains(panel.title()), "{t}");
        // The key hint (last line) names the next panel; the panels above show one only.
        let panels: String = t.lines().take(17).collect::<Vec<_>>().join("\n");
        for other in Panel::ALL.iter().filter(|p| **p != panel) {
            assert!(
                !panels.contains(&format!(" {} ", other.title())),
                "{other:?} in\n{t}"
            );
        }
        assert!(t.lines().last().unwrap().contains("shown; Tab: "), "{t}");
        insta::assert_snapshot!(format!("alone_{panel:?}"), t);
        key(&mut d, KeyCode::Tab);
    }
}

#[test]
fn too_small_and_tiny_sizes_never_panic() {
    let d = dashboard(&busy_server(), 20, 6, true, false);
    let t = text(&draw(&d, 20, 6));
    assert!(t.contains("terminal too small"), "{t}");
    let mut d = dashboard(&busy_server(), 1, 1, true, true);
    for w in (0..130).step_by(7) {
        for h in 0..45 {
            d.handle_input(&TermEvent::Resize(w, h));
            d.prepare();
            draw(&d, w, h);
        }
    }
}

#[test]
fn pong_age_is_coloured_against_the_heartbeat() {
    let mut d = dashboard(&busy_server(), 120, 40, true, false);
    // Sorted by pong age, oldest first: c7 stopped answering 150 s ago (limit 35 s).
    assert_eq!(d.view.sort, ConnColumn::LastPong);
    let b = draw(&d, 120, 40);
    let (_, y) = find(&b, "│c7 ").expect("c7 on screen");
    let first_row = find(&b, "│id").unwrap().1 + 1;
    assert_eq!(y, first_row, "zombie c7 sorts first");
    let (x, _) = find(&b, "pong").unwrap();
    assert_eq!(b[(x, y)].fg, Color::Red, "{:?}", b[(x, y)]);
    // A healthy connection answered its last ping just now: green.
    let (x2, y2) = (x, y + 1);
    assert_eq!(b[(x2, y2)].fg, Color::Green, "{:?}", b[(x2, y2)]);
    // The selected row is reversed, not only coloured.
    assert!(b[(2, y)].modifier.contains(Modifier::REVERSED));
    key(&mut d, KeyCode::Down);
    let b = draw(&d, 120, 40);
    assert!(!b[(2, y)].modifier.contains(Modifier::REVERSED));
    assert!(b[(2, y + 1)].modifier.contains(Modifier::REVERSED));
}

#[test]
fn no_color_has_no_colours_but_keeps_emphasis() {
    let d = dashboard(&busy_server(), 120, 40, false, false);
    let b = draw(&d, 120, 40);
    for cell in b.content() {
        assert!(matches!(cell.fg, Color::Reset), "{cell:?}");
        assert!(matches!(cell.bg, Color::Reset), "{cell:?}");
    }
    let first_row = find(&b, "│id").unwrap().1 + 1;
    assert!(b[(2, first_row)].modifier.contains(Modifier::REVERSED));
    // The zombie's pong age still stands out.
    let (x, _) = find(&b, "pong").unwrap();
    assert!(b[(x, first_row)].modifier.contains(Modifier::BOLD));
}

#[test]
fn ascii_mode_draws_only_ascii() {
    let mut d = dashboard(&busy_server(), 120, 40, true, true);
    for overlay in [None, Some(KeyCode::Char('?'))] {
        if let Some(k) = overlay {
            key(&mut d, k);
        }
        let b = draw(&d, 120, 40);
        for cell in b.content() {
            assert!(
                cell.symbol().is_ascii(),
                "{:?} in\n{}",
                cell.symbol(),
                text(&b)
            );
        }
    }
}

#[test]
fn close_codes_split_by_initiator_and_window() {
    let mut d = dashboard(&busy_server(), 120, 40, true, true);
    let t = text(&draw(&d, 120, 40));
    assert!(t.contains("1006 abnormal"), "{t}");
    assert!(t.contains("4001 application"), "{t}");
    assert!(t.contains("1000 normal"), "{t}");
    assert!(t.contains("all time, 22 closes"), "{t}");
    d.view.focus = Panel::CloseCodes;
    key(&mut d, KeyCode::Char('w'));
    let t = text(&draw(&d, 120, 40));
    // The 1006 burst was at 90 s, the scenario ends at 180 s: still in the last 5 minutes.
    assert!(t.contains("last 5 min, 22 closes"), "{t}");
}

#[test]
fn disconnect_rate_marks_the_alarm_and_shows_the_peak() {
    let d = dashboard(&busy_server(), 120, 40, true, true);
    let t = text(&draw(&d, 120, 40));
    // 20 of 60 open connections closed within one minute: 33 %.
    assert!(t.contains("peak 33.3 %"), "{t}");
    assert!(t.contains("alarm 5 %"), "{t}");
    assert!(t.contains("----"), "alarm line drawn:\n{t}");
}

/// The first minutes have columns of 10 s, so a burst shows its shape; once the history no
/// longer fits, a column is a minute. The axis says how far back the left edge is.
#[test]
fn the_rate_chart_shows_the_first_minutes_in_10_s_columns() {
    use wscope::ui::panels::disconnect_rate::rate_columns;
    let mut s = Scenario::new("2026-11-30T01:00:00Z");
    s.hello("chat-1", Some((30_000, 5_000)));
    for i in 0..100 {
        s.open(&format!("c{i}"), "198.51.100.7:4000", "okhttp/4.12", "/ws");
    }
    // A burst of 20 cuts at 95 s, then quiet until 150 s.
    s.at(95.0);
    for i in 0..20 {
        s.close(&format!("c{i}"), 1006, "", Initiator::None);
    }
    s.at(150.0).ping("c50");
    let d = dashboard(&s, 120, 40, true, false);
    let fine = rate_columns(&d.model, 50);
    assert_eq!(fine.step_secs, 10);
    assert_eq!(fine.values.len(), 16, "{:?}", fine.values);
    // Zero before the burst's bucket, 20 % for the six columns whose minute holds it.
    let burst: Vec<usize> = (0..fine.values.len())
        .filter(|i| fine.values[*i] > 0.0)
        .collect();
    assert_eq!(burst, (9..15).collect::<Vec<_>>(), "{:?}", fine.values);
    assert!((fine.values[9] - 20.0).abs() < 0.01, "{:?}", fine.values);
    let coarse = rate_columns(&d.model, 5);
    assert_eq!(coarse.step_secs, 60);
    assert_eq!(coarse.values.len(), 3, "{:?}", coarse.values);
    let t = text(&draw(&d, 120, 40));
    // 53 columns of 10 s at 120x40.
    assert!(t.contains("-8m50s"), "{t}");
}

#[test]
fn leak_suspects_list_timers_and_silent_connections() {
    let d = dashboard(&busy_server(), 120, 40, true, false);
    let t = text(&draw(&d, 120, 40));
    assert!(t.contains("1 timers, 1 no pong"), "{t}");
    let timer_line = t
        .lines()
        .find(|l| l.contains("hb-41"))
        .expect("leaked timer");
    assert!(
        timer_line.contains("heartbeat") && timer_line.contains("c41"),
        "{timer_line}"
    );
    assert!(
        t.lines().any(|l| l.contains("no pong") && l.contains("c7")),
        "{t}"
    );
    // Enter on a leaked timer shows its (closed) connection's last events.
    let mut d = d;
    d.view.focus = Panel::Leaks;
    key(&mut d, KeyCode::Down);
    key(&mut d, KeyCode::Enter);
    let t = text(&draw(&d, 120, 40));
    assert!(t.contains("Connection c41"), "{t}");
    assert!(t.contains("closed (no longer open)"), "{t}");
    assert!(t.contains("timer hb-41 fire"), "{t}");
}

/// Where `process` events come, the leak panel shows memory and excess descriptors as
/// sparklines with their latest figures; without them, nothing takes the panel's room.
#[test]
fn leak_panel_shows_process_figures_where_they_exist() {
    let t = text(&draw(
        &dashboard(&busy_server(), 120, 40, true, false),
        120,
        40,
    ));
    assert!(!t.contains("rss "), "no process events: {t}");
    let mut s = busy_server();
    for k in 0..20u64 {
        s.at(k as f64 * 10.0)
            .push(wscope::event::EventKind::Process {
                rss_bytes: Some((100 + 10 * k) << 20),
                open_fds: Some(500 + k),
            });
    }
    let t = text(&draw(&dashboard(&s, 120, 40, true, true), 120, 40));
    let rss = t.lines().find(|l| l.contains("rss")).expect("an rss line");
    assert!(rss.contains("290 MiB") && rss.contains('|'), "{rss}");
    let fds = t.lines().find(|l| l.contains("fds")).expect("an fds line");
    assert!(fds.contains('+'), "{fds}");
}

/// Two servers both leak a timer of a connection `c1`: the rows name their servers; narrowed
/// to one, its rows alone, without the column, and its own process figures.
#[test]
fn leak_suspects_of_several_servers_name_their_server() {
    use wscope::event::{EventKind, Open, Timer};
    let mut s = Scenario::new("2026-11-30T01:00:00Z");
    for server in ["edge-a", "edge-b"] {
        s.hello(server, Some((30_000, 5_000)));
    }
    for server in ["edge-a", "edge-b"] {
        s.push_on(
            server,
            EventKind::Open(Box::new(Open {
                conn: "c1".into(),
                remote: Some("192.0.2.1:1".into()),
                ..Default::default()
            })),
        );
        s.push_on(
            server,
            EventKind::Timer(Box::new(Timer {
                conn: Some("c1".into()),
                timer: "hb-1".into(),
                op: TimerOp::Start,
                kind: Some("heartbeat".into()),
                interval_ms: Some(30_000),
            })),
        );
    }
    s.wait(1.0);
    for server in ["edge-a", "edge-b"] {
        s.push_on(
            server,
            EventKind::Close(wscope::event::Close {
                conn: "c1".into(),
                code: Some(1006),
                reason: None,
                initiator: Some(Initiator::None),
            }),
        );
    }
    for k in 0..5u64 {
        s.wait(10.0).push_on(
            "edge-b",
            EventKind::Process {
                rss_bytes: Some((200 + k) << 20),
                open_fds: Some(50),
            },
        );
    }
    let mut d = dashboard(&s, 120, 40, true, false);
    let t = text(&draw(&d, 120, 40));
    let rows: Vec<&str> = t.lines().filter(|l| l.contains("hb-1")).collect();
    assert_eq!(rows.len(), 2, "{t}");
    assert!(rows.iter().any(|l| l.contains("edge-a")), "{t}");
    assert!(rows.iter().any(|l| l.contains("edge-b")), "{t}");
    assert!(t.contains("rss edge-b"), "{t}");
    // Narrowed to edge-a (f): one row, no server column, and edge-a sent no process figures.
    key(&mut d, KeyCode::Char('f'));
    let t = text(&draw(&d, 120, 40));
    let rows: Vec<&str> = t.lines().filter(|l| l.contains("hb-1")).collect();
    assert_eq!(rows.len(), 1, "{t}");
    assert!(!rows[0].contains("edge-"), "{t}");
    assert!(!t.contains("rss "), "{t}");
    key(&mut d, KeyCode::Char('f'));
    let t = text(&draw(&d, 120, 40));
    assert!(t.contains("rss ") && !t.contains("rss edge-b"), "{t}");
}

#[test]
fn findings_and_their_evidence() {
    let mut d = dashboard(&busy_server(), 120, 40, true, false);
    let t = text(&draw(&d, 120, 40));
    assert!(t.contains("timer-leak"), "{t}");
    assert!(t.contains("zombie-connections"), "{t}");
    d.view.focus = Panel::Findings;
    let idx = d
        .findings
        .iter()
        .position(|f| f.id == "timer-leak")
        .unwrap();
    for _ in 0..idx {
        key(&mut d, KeyCode::Down);
    }
    key(&mut d, KeyCode::Enter);
    assert_eq!(
        d.view.overlay,
        Overlay::Finding {
            id: "timer-leak".into()
        }
    );
    let t = text(&draw(&d, 120, 40));
    assert!(t.contains("evidence") && t.contains("remedy"), "{t}");
    assert!(t.contains("hb-41"), "{t}");
    key(&mut d, KeyCode::Esc);
    assert_eq!(d.view.overlay, Overlay::None);
}

#[test]
fn connection_detail_shows_recent_events() {
    let mut d = dashboard(&busy_server(), 120, 40, true, false);
    key(&mut d, KeyCode::Enter);
    match &d.view.overlay {
        Overlay::Connection { conn, .. } => assert_eq!(conn, "c7"),
        other => panic!("{other:?}"),
    }
    let t = text(&draw(&d, 120, 40));
    assert!(t.contains("Connection c7"), "{t}");
    assert!(t.contains("recent events"), "{t}");
    assert!(t.contains("01:03:00.007  ping"), "{t}");
    assert!(t.contains("open from 203.0.113.7:40007"), "{t}");
}

#[test]
fn sort_keys_and_filter() {
    let mut d = dashboard(&busy_server(), 120, 40, true, false);
    key(&mut d, KeyCode::Char('1'));
    assert_eq!(d.view.sort, ConnColumn::Id);
    assert!(!d.view.descending);
    let ids: Vec<&str> = d
        .visible_conns
        .iter()
        .map(|c| c.as_ref().unwrap().1.as_str())
        .collect();
    assert_eq!(&ids[..4], ["c0", "c1", "c2", "c3"]);
    key(&mut d, KeyCode::Char('1'));
    assert!(d.view.descending);
    assert_eq!(d.visible_conns[0].as_ref().unwrap().1, "c39");

    key(&mut d, KeyCode::Char('/'));
    for c in "OKHTTP".chars() {
        key(&mut d, KeyCode::Char(c));
    }
    let t = text(&draw(&d, 120, 40));
    assert!(t.contains("filter: /OKHTTP"), "{t}");
    key(&mut d, KeyCode::Enter);
    // Open okhttp connections: i % 4 == 2 for i < 40, minus c10 (closed).
    assert_eq!(d.conn_count, 9);
    let t = text(&draw(&d, 120, 40));
    assert!(t.contains("9 of 38 open"), "{t}");
    let rows = t.lines().filter(|l| l.contains("okhttp/4.12")).count();
    assert_eq!(rows, 9, "{t}");
    key(&mut d, KeyCode::Esc);
    assert_eq!(d.conn_count, 38);
}

#[test]
fn strings_from_clients_are_inert() {
    let evil = "x\u{1b}]0;PWNED\u{7}\u{1b}[2J\u{9b}31m\r\n\u{202e}";
    let mut s = Scenario::new("2026-11-30T01:00:00Z");
    s.hello(evil, Some((30_000, 5_000)));
    s.open(evil, evil, evil, evil);
    s.timer(evil, evil, TimerOp::Start, evil);
    s.at(40.0).ping(evil);
    s.close(evil, 4000, evil, Initiator::Server);
    s.at(100.0).timer(evil, evil, TimerOp::Fire, evil);
    s.open("c2", evil, evil, evil);
    let mut d = dashboard(&s, 120, 40, true, false);
    let mut screens = vec![text(&draw(&d, 120, 40))];
    key(&mut d, KeyCode::Enter);
    screens.push(text(&draw(&d, 120, 40)));
    for screen in screens {
        assert!(screen.contains("\\u{1b}]0;PWNED"), "{screen}");
        for c in screen.chars() {
            assert!(
                !c.is_control() || c == '\n',
                "control {:?} reached the screen:\n{screen}",
                c
            );
            assert!(
                !matches!(c, '\u{202a}'..='\u{202e}'),
                "bidi override on screen"
            );
        }
    }
}

#[test]
fn live_header_shows_each_source_state() {
    use std::time::Duration;
    use wscope::source::{SourceMsg, SourceState};
    let config = UiConfig {
        sources: vec![
            "ws://127.0.0.1:9001/feed".into(),
            "ws://127.0.0.1:9002/feed".into(),
            "ws://127.0.0.1:9003/feed".into(),
        ],
        ascii: false,
        rules: wscope::findings::Rules::default(),
        about: Vec::new(),
    };
    let mut d = Dashboard::new(&config, false, Rect::new(0, 0, 160, 40));
    d.theme = Theme {
        color: true,
        ascii: false,
    };
    let now = Instant::now();
    d.apply_msg(SourceMsg::State {
        source: 0,
        state: SourceState::Connected,
    });
    d.apply_msg(SourceMsg::State {
        source: 1,
        state: SourceState::Retrying {
            reason: "connection refused".into(),
            retry_in: Duration::from_millis(4_500),
            since: now,
        },
    });
    d.apply_msg(SourceMsg::State {
        source: 2,
        state: SourceState::Unauthorized {
            message: "HTTP 401".into(),
        },
    });
    d.prepare();
    let mut term = Terminal::new(TestBackend::new(160, 40)).unwrap();
    term.draw(|f| d.render(f, now)).unwrap();
    let b = term.backend().buffer().clone();
    let header: String = text(&b).lines().take(2).collect::<Vec<_>>().join("\n");
    assert!(header.starts_with("wscope LIVE"), "{header}");
    assert!(header.contains("127.0.0.1:9001: live"), "{header}");
    assert!(
        header.contains("127.0.0.1:9002: disconnected, retrying in 5 s (connection refused)"),
        "{header}"
    );
    assert!(
        header.contains("127.0.0.1:9003: 401 unauthorized: check --token or WSCOPE_TOKEN"),
        "{header}"
    );
    assert!(!header.contains("/feed"), "{header}");
    let (x, y) = find(&b, "disconnected").unwrap();
    assert_eq!(b[(x, y)].fg, Color::Red);
    // The countdown follows the wall clock handed to render.
    term.draw(|f| d.render(f, now + Duration::from_secs(3)))
        .unwrap();
    let header = text(term.backend().buffer())
        .lines()
        .nth(1)
        .unwrap()
        .to_string();
    assert!(header.contains("retrying in 2 s"), "{header}");
}

#[test]
fn several_servers_get_a_server_column_and_a_filter() {
    use wscope::event::EventKind;
    let mut s = Scenario::new("2026-11-30T01:00:00Z");
    s.hello("eu-1", Some((30_000, 5_000)));
    s.hello("us-1", Some((30_000, 5_000)));
    for i in 0..6 {
        let server = if i % 2 == 0 { "eu-1" } else { "us-1" };
        s.push_on(
            server,
            EventKind::Open(Box::new(wscope::event::Open {
                conn: format!("k{i}").into(),
                remote: Some("192.0.2.1:1".into()),
                ..Default::default()
            })),
        );
    }
    let mut d = dashboard(&s, 120, 40, true, false);
    let t = text(&draw(&d, 120, 40));
    assert!(t.contains("server"), "{t}");
    assert!(t.contains("eu-1") && t.contains("us-1"), "{t}");
    assert_eq!(d.conn_count, 6);
    key(&mut d, KeyCode::Char('f'));
    let shown = d.model.servers[d.view.server_filter.unwrap()]
        .name
        .to_string();
    assert_eq!(d.conn_count, 3);
    let t = text(&draw(&d, 120, 40));
    assert!(t.contains(&format!("server {shown}")), "{t}");
    key(&mut d, KeyCode::Char('f'));
    key(&mut d, KeyCode::Char('f'));
    assert_eq!(d.view.server_filter, None);
    assert_eq!(d.conn_count, 6);
}

#[test]
fn scrolling_across_pages_matches_a_full_sort() {
    let mut s = Scenario::new("2026-11-30T01:00:00Z");
    s.hello("chat-1", Some((30_000, 5_000)));
    for i in 0..300 {
        s.at(i as f64)
            .open(&format!("c{i:03}"), "192.0.2.1:1", "okhttp/4.12", "/ws");
    }
    let mut d = dashboard(&s, 120, 40, true, false);
    key(&mut d, KeyCode::Char('1'));
    let rows = d.view.visible_conn_rows(d.findings.len());
    let check = |d: &Dashboard| {
        let ids: Vec<String> = d
            .visible_conns
            .iter()
            .map(|c| c.as_ref().unwrap().1.clone())
            .collect();
        let start = d.view.conns.offset;
        let want: Vec<String> = (start..(start + rows).min(300))
            .map(|i| format!("c{i:03}"))
            .collect();
        assert_eq!(ids, want, "offset {start}");
        assert!(d.view.conns.selected >= start && d.view.conns.selected < start + rows);
        let t = text(&draw(d, 120, 40));
        assert!(
            t.contains(&format!("│c{:03} ", d.view.conns.selected)),
            "{t}"
        );
    };
    for _ in 0..299 {
        key(&mut d, KeyCode::Char('j'));
        check(&d);
    }
    assert_eq!(d.view.conns.selected, 299);
    for code in [
        KeyCode::PageUp,
        KeyCode::Char('g'),
        KeyCode::PageDown,
        KeyCode::Char('G'),
    ] {
        key(&mut d, code);
        check(&d);
    }
    assert_eq!(d.view.conns.selected, 299);
}

mod any_events {
    use super::*;
    use proptest::prelude::*;
    use wscope::event::Dir;

    /// One step of a random scenario: (kind, connection, seconds later, code, text).
    type Step = (u8, u8, u16, u16, String);

    fn scenario(steps: &[Step]) -> Scenario {
        let mut s = Scenario::new("2026-11-30T01:00:00Z");
        for (kind, conn, later, code, text) in steps {
            s.wait(*later as f64 / 10.0);
            let c = format!("c{conn}");
            match kind % 9 {
                0 => s.hello(
                    text,
                    if code % 2 == 0 {
                        Some((30_000, 5_000))
                    } else {
                        None
                    },
                ),
                1 => s.open(&c, text, text, text),
                2 => s.ping(&c),
                3 => s.pong(&c, *code as f64),
                4 => s.message(&c, Dir::In, *code as u64),
                5 => s.close(&c, *code, text, Initiator::None),
                6 => s.timer(&c, text, TimerOp::Start, text),
                7 => s.timer(&c, text, TimerOp::Fire, text),
                _ => s.dropped(*code as u64),
            };
        }
        s
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn any_events_any_size_any_keys_never_panic(
            steps in prop::collection::vec((any::<u8>(), 0u8..8, 0u16..3000, any::<u16>(), "\\PC{0,12}"), 0..60),
            sizes in prop::collection::vec((0u16..140, 0u16..50), 1..4),
            keys in prop::collection::vec(prop::sample::select(vec![
                KeyCode::Tab, KeyCode::Enter, KeyCode::Esc, KeyCode::Down, KeyCode::Up,
                KeyCode::PageDown, KeyCode::Char('G'), KeyCode::Char('s'), KeyCode::Char('w'),
                KeyCode::Char('f'), KeyCode::Char('?'), KeyCode::Char('/'), KeyCode::Char('x'),
            ]), 0..20),
        ) {
            let s = scenario(&steps);
            let mut d = dashboard(&s, 120, 40, true, false);
            for (w, h) in sizes {
                d.handle_input(&TermEvent::Resize(w, h));
                d.prepare();
                draw(&d, w, h);
                for k in &keys {
                    key(&mut d, *k);
                    let t = text(&draw(&d, w, h));
                    prop_assert!(!t.chars().any(|c| c.is_control() && c != '\n'));
                }
            }
        }
    }
}

fn ctrl(d: &mut Dashboard, c: char) -> Option<wscope::ui::view::Action> {
    let a = d.handle_input(&TermEvent::Key(KeyEvent::new(
        KeyCode::Char(c),
        KeyModifiers::CONTROL,
    )));
    d.prepare();
    a
}

#[test]
fn half_pages_and_going_back_follow_less_and_vim() {
    let mut d = dashboard(&busy_server(), 120, 40, true, false);
    assert!(
        ctrl(&mut d, 'd').is_none(),
        "Ctrl-D is half a page, not quit"
    );
    let half = d.view.conns.selected;
    assert!(half >= 3, "{half}");
    ctrl(&mut d, 'd');
    assert_eq!(d.view.conns.selected, 2 * half);
    ctrl(&mut d, 'u');
    assert_eq!(d.view.conns.selected, half);
    assert!(matches!(
        ctrl(&mut d, 'c'),
        Some(wscope::ui::view::Action::Quit)
    ));

    // A detail view: scrolls within its content, and q goes back (not quit).
    key(&mut d, KeyCode::Enter);
    assert!(matches!(d.view.overlay, Overlay::Connection { .. }));
    key(&mut d, KeyCode::Char('G'));
    let end = d.view.detail_scroll;
    assert_eq!(end, d.detail_max);
    key(&mut d, KeyCode::Char('j'));
    assert_eq!(d.view.detail_scroll, end, "no scrolling past the end");
    if end > 0 {
        key(&mut d, KeyCode::Char('k'));
        assert_eq!(d.view.detail_scroll, end - 1);
    }
    key(&mut d, KeyCode::Char('g'));
    assert_eq!(d.view.detail_scroll, 0);
    let a = d.handle_input(&TermEvent::Key(KeyEvent::new(
        KeyCode::Char('q'),
        KeyModifiers::NONE,
    )));
    assert!(a.is_none() && matches!(d.view.overlay, Overlay::None));
}

#[test]
fn the_filter_applies_as_it_is_typed_and_esc_puts_the_old_one_back() {
    let mut d = dashboard(&busy_server(), 120, 40, true, false);
    key(&mut d, KeyCode::Char('/'));
    for c in "okhttp".chars() {
        key(&mut d, KeyCode::Char(c));
    }
    // Not applied by Enter: already there.
    assert_eq!(d.conn_count, 9);
    key(&mut d, KeyCode::Esc);
    assert_eq!(d.conn_count, 38);
    key(&mut d, KeyCode::Char('/'));
    key(&mut d, KeyCode::Char('c'));
    key(&mut d, KeyCode::Char('7'));
    key(&mut d, KeyCode::Enter);
    let kept = d.conn_count;
    assert!((1..38).contains(&kept), "{kept}");
    // Editing it again and giving up keeps the one applied before.
    key(&mut d, KeyCode::Char('/'));
    key(&mut d, KeyCode::Backspace);
    key(&mut d, KeyCode::Backspace);
    assert_eq!(d.conn_count, 38);
    key(&mut d, KeyCode::Esc);
    assert_eq!(d.conn_count, kept);
}

#[test]
fn ids_sort_naturally_and_f_with_one_server_says_so() {
    let mut d = dashboard(&busy_server(), 120, 40, true, false);
    key(&mut d, KeyCode::Char('1'));
    let ids: Vec<&str> = d
        .visible_conns
        .iter()
        .map(|c| c.as_ref().unwrap().1.as_str())
        .collect();
    assert_eq!(&ids[..4], ["c0", "c1", "c2", "c3"]);
    key(&mut d, KeyCode::Char('f'));
    let t = text(&draw(&d, 120, 40));
    assert!(t.contains("one server only"), "{t}");
    key(&mut d, KeyCode::Char('j'));
    let t = text(&draw(&d, 120, 40));
    assert!(!t.contains("one server only"));
}

/// The help is the keymap: every row of it is on screen, and each key it names does what
/// the row says (checked for a few that change visible state).
#[test]
fn the_help_lists_the_keymap_and_its_keys_do_it() {
    use wscope::ui::keymap;
    let mut d = dashboard(&busy_server(), 120, 40, true, false);
    key(&mut d, KeyCode::Char('?'));
    let t = text(&draw(&d, 120, 40));
    for row in keymap::MAIN.iter().chain(keymap::DETAIL) {
        assert!(
            t.contains(row.keys) && t.contains(row.what),
            "{:?}\n{t}",
            row.keys
        );
    }
    // Keys work behind the help; Esc closes it.
    key(&mut d, KeyCode::Tab);
    assert_eq!(d.view.focus, Panel::CloseCodes);
    key(&mut d, KeyCode::Esc);
    assert!(matches!(d.view.overlay, Overlay::None));
    key(&mut d, KeyCode::Char('w'));
    let t = text(&draw(&d, 120, 40));
    assert!(t.contains("last 5 min"), "{t}");
    let hint = t.lines().last().unwrap_or_default().to_string();
    let t = text(&draw(&d, 120, 40));
    for h in keymap::hints(Panel::CloseCodes, false) {
        assert!(
            hint.contains(h.what),
            "{:?} not in the hint line: {hint}\n{t}",
            h.what
        );
    }
}

#[test]
fn esc_and_a_key_in_one_read_are_two_keys() {
    let mut d = dashboard(&busy_server(), 120, 40, true, false);
    key(&mut d, KeyCode::Char('?'));
    assert!(matches!(d.view.overlay, Overlay::Help));
    // What crossterm makes of "\x1bq" read at once.
    let a = d.handle_input(&TermEvent::Key(KeyEvent::new(
        KeyCode::Char('q'),
        KeyModifiers::ALT,
    )));
    assert!(matches!(d.view.overlay, Overlay::None));
    assert!(
        matches!(a, Some(wscope::ui::view::Action::Quit)),
        "Esc closed help, q quits"
    );
}

#[test]
fn the_key_hint_at_80_columns_ends_at_a_whole_hint() {
    let mut d = dashboard(&busy_server(), 80, 24, true, false);
    d.view.replay = true;
    d.prepare();
    let t = text(&draw(&d, 80, 24));
    let hint = t.lines().nth(23).unwrap().trim_end();
    let known = [
        "help", "quit", "panel", "detail", "filter", "sort", "pause", "speed", "seek",
    ];
    let last = hint.split_whitespace().last().unwrap();
    assert!(known.contains(&last), "cut mid-word: {hint:?}");
}

/// New events show in every panel at the next frame, not a second later: the header, the
/// titles and the rows come from one instant.
#[test]
fn every_panel_shows_the_same_instant() {
    let mut s = busy_server();
    let mut d = dashboard(&s, 120, 40, true, false);
    let before = d.conn_count;
    let n = s.events().len();
    s.wait(0.5)
        .open("c999", "203.0.113.99:40999", "late/1", "/ws");
    for e in &s.events()[n..] {
        d.apply(0, e);
    }
    // At once (the wall clock has not moved a second).
    d.prepare();
    assert_eq!(d.conn_count, before + 1);
    let t = text(&draw(&d, 120, 40));
    let open = d.model.open_count();
    assert!(t.contains(&format!("open {open}")), "{t}");
    assert!(t.contains(&format!("{open} open")), "{t}");
}

/// LIVE only while a feed speaks: a silent one says SILENT and for how long, a lost one
/// DISCONNECTED and for how long.
#[test]
fn a_silent_or_lost_feed_is_not_called_live() {
    use wscope::source::{SourceMsg, SourceState};
    let mut d = dashboard(&busy_server(), 120, 40, true, false);
    let header = |d: &Dashboard, wall: Instant| {
        let mut term = Terminal::new(TestBackend::new(120, 40)).unwrap();
        term.draw(|f| d.render(f, wall)).unwrap();
        text(term.backend().buffer())
            .lines()
            .next()
            .unwrap()
            .to_string()
    };
    let now = Instant::now();
    assert!(header(&d, now).starts_with("wscope LIVE"));
    let later = now + std::time::Duration::from_secs(40);
    let h = header(&d, later);
    assert!(h.starts_with("wscope SILENT 40s"), "{h}");
    d.apply_msg(SourceMsg::State {
        source: 0,
        state: SourceState::Retrying {
            reason: "connection refused".into(),
            retry_in: std::time::Duration::from_secs(5),
            since: now,
        },
    });
    let h = header(&d, Instant::now() + std::time::Duration::from_secs(12));
    assert!(h.starts_with("wscope DISCONNECTED 12s"), "{h}");
}

/// Two feeds that both say they are `chat-1` (a copied config) are two servers: a server
/// column, `f` between them, and a warning in the header.
#[test]
fn two_feeds_with_one_server_name_stay_two_servers() {
    use wscope::event::{EventKind, Hello, Open};
    let config = UiConfig {
        sources: vec!["ws://10.0.0.1:9300/".into(), "ws://10.0.0.2:9300/".into()],
        ascii: false,
        rules: wscope::findings::Rules::default(),
        about: Vec::new(),
    };
    let mut d = Dashboard::new(&config, false, Rect::new(0, 0, 120, 40));
    let ts = wscope::event::Ts::parse("2026-11-30T01:00:00Z").unwrap();
    for source in 0..2 {
        let ev = |kind| wscope::event::Event {
            ts,
            server: Some("chat-1".into()),
            kind,
        };
        d.apply(source, &ev(EventKind::Hello(Hello::default())));
        for i in 0..(source + 2) {
            let open = Open {
                conn: format!("c{i}").into(),
                ..Default::default()
            };
            d.apply(source, &ev(EventKind::Open(Box::new(open))));
        }
    }
    d.prepare();
    assert_eq!(d.model.servers.len(), 2);
    assert_eq!(
        d.model.open_count(),
        5,
        "c0 and c1 of each feed are different connections"
    );
    let t = text(&draw(&d, 120, 40));
    assert!(t.contains("2 feeds share a server name"), "{t}");
    assert_eq!(d.model.servers[1].name, "chat-1 (feed 2)");
    assert!(t.contains("chat-1 (fe"), "{t}");
    key(&mut d, KeyCode::Char('f'));
    assert_eq!(d.conn_count, 2);
    key(&mut d, KeyCode::Char('f'));
    assert_eq!(d.conn_count, 3);
}

/// The number keys sort by the columns on screen, in their order; a sort by a column the
/// width has left out is named in the title.
#[test]
fn number_keys_sort_by_the_visible_columns() {
    let mut d = dashboard(&busy_server(), 80, 24, true, false);
    let visible = d.view.visible_columns(&d.rows());
    assert!(!visible.contains(&ConnColumn::Path), "{visible:?}");
    key(&mut d, KeyCode::Char('2'));
    assert_eq!(d.view.sort, visible[1]);
    // Sorted by path (hidden at 80 columns) by a wider screen before.
    d.view.sort_by(ConnColumn::Path);
    d.prepare();
    let t = text(&draw(&d, 80, 24));
    assert!(t.contains("sorted by path (hidden)"), "{t}");
}

/// At 80x24 the most important finding can be read without a key: its summary wraps in the
/// Findings panel, which takes more rows when there are findings; what is cut ends with "…".
#[test]
fn the_top_finding_is_readable_at_80x24() {
    let d = dashboard(&busy_server(), 80, 24, true, false);
    let t = text(&draw(&d, 80, 24));
    let top = &d.findings[0];
    let words: Vec<&str> = top.summary.split_whitespace().take(12).collect();
    let joined: String = t
        .lines()
        .filter_map(|l| l.split("││").nth(1))
        .map(|l| l.trim_end_matches('│').trim())
        .collect::<Vec<_>>()
        .join(" ");
    assert!(joined.contains(&words.join(" ")), "{joined}\n{t}");
    assert!(t.contains('…'), "{t}");
}

/// The selection stays on its connection while new data moves the rows, and a selected
/// connection that closes is said, not silently swapped for its neighbour.
#[test]
fn the_selection_follows_its_connection() {
    use wscope::event::Dir;
    let mut s = busy_server();
    let mut d = dashboard(&s, 120, 40, true, false);
    // Sorted by messages in, most first; select the third row.
    key(&mut d, KeyCode::Char('8'));
    assert_eq!(d.view.sort, ConnColumn::MsgsIn);
    key(&mut d, KeyCode::Char('j'));
    key(&mut d, KeyCode::Char('j'));
    let picked = d.view.followed.clone().expect("a selected connection");
    let rank_before = d.view.conns.selected;
    // Ten connections that were below it get more messages than any: they move above it.
    let n = s.events().len();
    let below: Vec<String> = d.visible_conns[rank_before + 1..]
        .iter()
        .filter_map(|c| c.as_ref().map(|c| c.1.clone()))
        .take(10)
        .collect();
    for id in &below {
        s.wait(0.1).message(id, Dir::In, 500);
    }
    for e in &s.events()[n..] {
        d.apply(0, e);
    }
    d.prepare();
    assert_eq!(d.view.followed.as_ref(), Some(&picked));
    assert_eq!(d.view.conns.selected, rank_before + below.len());
    // It closes: the title says so.
    let n = s.events().len();
    s.wait(0.1).close(&picked.1, 1006, "", Initiator::None);
    for e in &s.events()[n..] {
        d.apply(0, e);
    }
    d.prepare();
    let t = text(&draw(&d, 120, 40));
    assert!(t.contains(&format!("{} closed", picked.1)), "{t}");
}

/// The event loop computes a frame's new data on a worker while keys are answered: a key
/// that moves the selection meanwhile wins over where the computation would put it, and data
/// that changes meanwhile is computed again.
#[test]
fn a_refresh_raced_by_a_key_or_new_data() {
    use wscope::event::Dir;
    let mut s = busy_server();
    let mut d = dashboard(&s, 120, 40, true, false);
    key(&mut d, KeyCode::Char('8'));
    let n = s.events().len();
    let first = d.visible_conns[0].clone().unwrap().1;
    s.wait(0.1).message(&first, Dir::In, 1);
    for e in &s.events()[n..] {
        d.apply(0, e);
    }
    assert!(d.data_pending());
    let job = d.refresh().expect("new data to compute");
    assert!(!d.data_pending());
    // Two rows down while the job runs; its result comes after.
    d.handle_input(&TermEvent::Key(KeyEvent::new(
        KeyCode::Char('j'),
        KeyModifiers::NONE,
    )));
    d.handle_input(&TermEvent::Key(KeyEvent::new(
        KeyCode::Char('j'),
        KeyModifiers::NONE,
    )));
    d.prepare_view();
    let moved = d.view.conns;
    d.install(job.run());
    d.prepare_view();
    assert_eq!(d.view.conns, moved, "the key's selection stays");
    assert!(!d.data_pending());
    // New data while a job runs: its result is stale on arrival and computed again.
    let job = d.refresh();
    assert!(job.is_none(), "nothing changed since");
    let n = s.events().len();
    s.wait(0.1).message(&first, Dir::In, 1);
    d.apply(0, &s.events()[n]);
    let job = d.refresh().expect("new data to compute");
    d.apply(
        0,
        &s.wait(0.1).message(&first, Dir::Out, 1).events()[n + 1].clone(),
    );
    d.install(job.run());
    assert!(
        d.data_pending(),
        "a result for an older model asks for another"
    );
    d.prepare();
    assert!(!d.data_pending());
}

/// A finding's detail at 80x24: the remedy is in view without scrolling, and the evidence
/// reads as names with units, long lists cut to "and N more".
#[test]
fn a_findings_detail_puts_the_remedy_in_view_and_evidence_in_words() {
    use wscope::ui::panels::detail::evidence_for_a_person;
    let mut d = dashboard(&busy_server(), 80, 24, true, false);
    d.view.focus = Panel::Findings;
    key(&mut d, KeyCode::Enter);
    assert!(matches!(d.view.overlay, Overlay::Finding { .. }));
    let t = text(&draw(&d, 80, 24));
    assert!(t.contains("remedy"), "{t}");
    let v = serde_json::json!(["a", "b", "c", "d", "e", "f", "g"]);
    assert_eq!(
        evidence_for_a_person("timers", &v),
        ("timers".to_string(), "a, b, c, d, e and 2 more".to_string())
    );
    assert_eq!(
        evidence_for_a_person("longest_unpinged_seconds", &serde_json::json!(269.0)),
        (
            "longest unpinged".to_string(),
            "269.0 s (4 min 29 s)".to_string()
        )
    );
    assert_eq!(
        evidence_for_a_person("conn", &serde_json::Value::Null).1,
        "-"
    );
    let person = |k: &str, v: serde_json::Value| evidence_for_a_person(k, &v).1;
    assert_eq!(person("idle_seconds", serde_json::json!(60.2)), "60.2 s");
    assert_eq!(
        evidence_for_a_person("peak_pct_per_min", &serde_json::json!(222.0)),
        ("peak".to_string(), "222.0 %/min".to_string())
    );
    assert_eq!(
        evidence_for_a_person("mib_per_hour", &serde_json::json!(12.5)),
        ("growth".to_string(), "12.5 MiB/h".to_string())
    );
    assert_eq!(
        person("lifetime_seconds", serde_json::json!(3900.0)),
        "3900.0 s (1 h 5 min)"
    );
    assert_eq!(person("rss_end_bytes", serde_json::json!(512)), "512 B");
    assert_eq!(
        person("rss_end_bytes", serde_json::json!(734_003_200u64)),
        "700.0 MiB"
    );
    assert_eq!(
        person("at", serde_json::json!("2026-11-30T01:02:03.450Z")),
        "2026-11-30 01:02:03.450 UTC"
    );
    let restarts = serde_json::json!([
        {"server": "chat-1", "at": "2026-11-30T01:02:03Z", "count": 40},
        {"server": "chat-2", "at": "2026-11-30T02:00:00.5Z", "count": 7}
    ]);
    assert_eq!(
        person("restarts", restarts),
        "at 2026-11-30 01:02:03 UTC count 40 server chat-1; \
         at 2026-11-30 02:00:00.500 UTC count 7 server chat-2"
    );
    assert_eq!(
        person(
            "first",
            serde_json::json!({"server": "chat-1", "at": "2026-11-30T01:02:03Z", "rss_bytes": 2048})
        ),
        "at 2026-11-30 01:02:03 UTC, rss 2.0 KiB, server chat-1"
    );
    assert_eq!(
        person("note", serde_json::json!("2026 plans")),
        "2026 plans"
    );
}

/// `S` lists the servers, the one closing most first; Enter on one shows its connections.
#[test]
fn the_servers_view_puts_the_worst_server_first_and_enter_shows_it() {
    use wscope::event::{Close, EventKind, Initiator};
    let mut s = Scenario::new("2026-11-30T01:00:00Z");
    for server in ["ap-1", "eu-1", "us-1"] {
        s.hello(server, Some((30_000, 5_000)));
    }
    let opens = [("eu-1", 5), ("us-1", 3), ("ap-1", 1)];
    for (server, n) in opens {
        for i in 0..n {
            s.push_on(
                server,
                EventKind::Open(Box::new(wscope::event::Open {
                    conn: format!("{server}-{i}").into(),
                    remote: Some("192.0.2.1:1".into()),
                    ..Default::default()
                })),
            );
        }
    }
    let close = |conn: &str, code: u16, initiator: Initiator| {
        EventKind::Close(Close {
            conn: conn.into(),
            code: Some(code),
            reason: Some(String::new().into()),
            initiator: Some(initiator),
        })
    };
    s.wait(5.0);
    for i in 0..3 {
        s.push_on("eu-1", close(&format!("eu-1-{i}"), 1006, Initiator::None));
    }
    s.push_on("us-1", close("us-1-0", 1000, Initiator::Client));
    let mut d = dashboard(&s, 100, 30, true, false);
    assert_eq!(d.conn_count, 5);
    key(&mut d, KeyCode::Char('S'));
    let t = text(&draw(&d, 100, 30));
    assert!(t.contains("Servers") && t.contains("closes/min↓"), "{t}");
    let at = |name: &str| {
        t.find(&format!("│{name} "))
            .unwrap_or_else(|| panic!("{name}: {t}"))
    };
    assert!(
        at("(all 3)") < at("eu-1") && at("eu-1") < at("us-1") && at("us-1") < at("ap-1"),
        "{t}"
    );
    assert!(t.contains("1006 Abnormal 3"), "{t}");
    // ap-1 said nothing since its open, 5 s of event time before the closes: quiet, not stale.
    assert!(t.contains("5s") && !t.contains("stale"), "{t}");
    // The first server, then Enter: its 2 open connections, and the panel says which.
    key(&mut d, KeyCode::Char('j'));
    key(&mut d, KeyCode::Enter);
    assert_eq!(d.conn_count, 2);
    let t = text(&draw(&d, 100, 30));
    assert!(t.contains("server eu-1"), "{t}");
    assert!(!t.contains("Servers"), "{t}");
    // Back in the view the selection is on the server shown; the first row shows all again.
    key(&mut d, KeyCode::Char('S'));
    assert_eq!(d.view.servers.selected, 1);
    key(&mut d, KeyCode::Char('s'));
    let t = text(&draw(&d, 100, 30));
    assert!(t.contains("worst code↓"), "{t}");
    key(&mut d, KeyCode::Char('g'));
    key(&mut d, KeyCode::Enter);
    assert_eq!(d.view.server_filter, None);
    assert_eq!(d.conn_count, 5);
    // Small terminals: drawn, not a panic.
    key(&mut d, KeyCode::Char('S'));
    for (w, h) in [(80, 24), (40, 10), (10, 5)] {
        draw(&d, w, h);
    }
    key(&mut d, KeyCode::Esc);
    assert_eq!(d.view.overlay, wscope::ui::view::Overlay::None);

    // 20 s more of eu-1 alone: the others went quiet past three hello intervals.
    s.wait(20.0);
    s.push_on("eu-1", close("eu-1-3", 1006, Initiator::None));
    let mut d = dashboard(&s, 100, 30, true, false);
    key(&mut d, KeyCode::Char('S'));
    let t = text(&draw(&d, 100, 30));
    assert!(t.contains("stale 25s") && t.contains("stale 20s"), "{t}");
}

/// With several servers, a finding of one is judged on its events and says where it holds:
/// eu-1's proxy cuts at 60 s idle, hidden in the sum by the others' scattered cuts.
#[test]
fn a_finding_of_one_server_among_several_says_where_it_holds() {
    use wscope::event::{Close, EventKind, Initiator, Open};
    let mut s = Scenario::new("2026-11-30T01:00:00Z");
    for server in ["ap-1", "eu-1", "us-1"] {
        s.hello(server, Some((90_000, 5_000)));
    }
    let open = |conn: &str| {
        EventKind::Open(Box::new(Open {
            conn: conn.into(),
            remote: Some("192.0.2.1:1".into()),
            ..Default::default()
        }))
    };
    let cut = |conn: &str| {
        EventKind::Close(Close {
            conn: conn.into(),
            code: Some(1006),
            reason: None,
            initiator: Some(Initiator::None),
        })
    };
    // Opens and cuts in time order: (when, server, conn, open?).
    let mut plan: Vec<(f64, &str, String, bool)> = Vec::new();
    for i in 0..20 {
        let id = format!("e{i}");
        plan.push((i as f64 * 3.0, "eu-1", id.clone(), true));
        plan.push((i as f64 * 3.0 + 60.0, "eu-1", id, false));
    }
    for (k, server) in ["ap-1", "us-1"].iter().enumerate() {
        for i in 0..40u32 {
            let id = format!("{server}-{i}");
            let t = (i * 2 + k as u32) as f64;
            plan.push((t, server, id.clone(), true));
            plan.push((t + 3.0 + (i * i * 7 % 300) as f64, server, id, false));
        }
    }
    plan.sort_by(|a, b| a.0.total_cmp(&b.0));
    for (t, server, id, is_open) in &plan {
        s.at(*t);
        s.push_on(server, if *is_open { open(id) } else { cut(id) });
    }
    let d = dashboard(&s, 120, 40, true, false);
    let idle = d.findings.iter().find(|f| f.id == "idle-timeout");
    let idle =
        idle.unwrap_or_else(|| panic!("{:?}", d.findings.iter().map(|f| f.id).collect::<Vec<_>>()));
    assert!(idle.summary.starts_with("eu-1: "), "{}", idle.summary);
    assert!(
        idle.summary.ends_with("(on 1 of 3 servers)"),
        "{}",
        idle.summary
    );
    let t = text(&draw(&d, 120, 40));
    assert!(t.contains("eu-1: "), "{t}");

    // The servers view says which servers have which findings; `/` filters it by name.
    let mut d = d;
    key(&mut d, KeyCode::Char('S'));
    let own = |d: &Dashboard, name: &str| {
        let row = d.server_rows.iter().find(|r| r.name == name);
        row.map(|r| r.findings.clone())
    };
    assert!(own(&d, "eu-1").unwrap().contains(&"idle-timeout"));
    assert!(!own(&d, "us-1").unwrap().contains(&"idle-timeout"));
    let t = text(&draw(&d, 120, 40));
    assert!(t.contains("findings") && t.contains("idle-timeout"), "{t}");
    for c in "/EU".chars() {
        key(&mut d, KeyCode::Char(c));
    }
    let names: Vec<_> = d.server_rows.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["eu-1"]);
    let t = text(&draw(&d, 120, 40));
    assert!(
        t.contains("/EU") && t.contains("(all 1)") && !t.contains("│us-1"),
        "{t}"
    );
    // The selection is on the first server that matches.
    assert_eq!(d.view.servers.selected, 1);
    // Enter keeps the filter; Esc then takes it away, a second Esc closes the view.
    key(&mut d, KeyCode::Enter);
    key(&mut d, KeyCode::Esc);
    assert_eq!(d.server_rows.len(), 3);
    key(&mut d, KeyCode::Char('/'));
    key(&mut d, KeyCode::Char('x'));
    assert!(d.server_rows.is_empty());
    key(&mut d, KeyCode::Esc);
    assert_eq!(d.server_rows.len(), 3);
    assert_eq!(d.view.overlay, wscope::ui::view::Overlay::Servers);
    for (w, h) in [(80, 24), (10, 5)] {
        draw(&d, w, h);
    }

    // Narrowed to eu-1 (servers view, Enter): every panel shows eu-1 alone.
    let row = d.server_rows.iter().position(|r| r.name == "eu-1").unwrap();
    for _ in 0..=row {
        key(&mut d, KeyCode::Char('j'));
    }
    key(&mut d, KeyCode::Enter);
    let idle = d
        .findings
        .iter()
        .find(|f| f.id == "idle-timeout")
        .expect("eu-1's own");
    assert!(
        idle.summary.starts_with("20 of 20 cuts"),
        "{}",
        idle.summary
    );
    let t = text(&draw(&d, 120, 40));
    assert!(t.contains("all time, 20 closes · eu-1"), "{t}");
    assert!(t.contains("per minute · eu-1"), "{t}");
    // ap-1 has no idle timeout of its own.
    key(&mut d, KeyCode::Char('S'));
    let row = d.server_rows.iter().position(|r| r.name == "ap-1").unwrap();
    key(&mut d, KeyCode::Char('g'));
    for _ in 0..=row {
        key(&mut d, KeyCode::Char('j'));
    }
    key(&mut d, KeyCode::Enter);
    assert!(
        d.findings.iter().all(|f| f.id != "idle-timeout"),
        "{:?}",
        d.findings
    );
    let t = text(&draw(&d, 120, 40));
    assert!(t.contains("all time, 40 closes · ap-1"), "{t}");
}
