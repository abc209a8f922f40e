//! End to end in a real terminal: the `wscope` binary replays logs in a tmux pane; the tests
//! type keys, read the screen, resize, quit, and check the terminal was handed back.

mod common;

use common::scenario::{Scenario, busy_server};
use common::tmux::{self, Tmux};
use std::path::Path;
use wscope::event::{Initiator, TimerOp};
use wscope::ui::view::Panel;

const BIN: &str = env!("CARGO_BIN_EXE_wscope");

/// Runs `args` in a shell that reports the exit status and the terminal modes afterwards.
fn replay_command(args: &str) -> String {
    format!("stty sane; {BIN} replay {args}; echo EXITED $?; stty -a")
}

/// After `q` (or a signal): the shell saw the exit, echo and canonical mode are back, and the
/// alternate screen is gone.
fn assert_restored(t: &Tmux) {
    assert_restored_with(t, 0);
}

fn assert_restored_with(t: &Tmux, code: i32) -> String {
    let s = t.wait_for("exit and terminal modes", |s| {
        s.contains("EXITED") && s.contains("icanon")
    });
    assert!(s.contains(&format!("EXITED {code}")), "{s}");
    let modes: Vec<&str> = s.split_whitespace().collect();
    for m in ["echo", "icanon", "isig", "icrnl", "opost"] {
        assert!(modes.contains(&m), "{m} not restored:\n{s}");
        assert!(!modes.contains(&format!("-{m}").as_str()), "-{m}:\n{s}");
    }
    assert_eq!(t.display("#{alternate_on}"), "0");
    assert_eq!(t.display("#{cursor_flag}"), "1", "cursor shown again");
    s
}

fn write(s: &Scenario, dir: &Path, name: &str) -> String {
    let p = dir.join(name);
    s.write_log(&p);
    p.display().to_string()
}

#[test]
fn replay_panels_keys_resize_and_quit() {
    if !tmux::available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let log = write(&busy_server(), dir.path(), "busy.jsonl");
    let t = Tmux::start(&replay_command(&format!("--speed max {log}")), 120, 40);
    // Everything of the log's end on one screen: panels, and what is in them.
    let expected = [
        "REPLAY max END",
        "open 38",
        "1006 abnormal",
        "hb-41",
        "zombie-connections",
        "12 events dropped",
    ];
    t.wait_for("the end of the log", |s| {
        expected.iter().all(|e| s.contains(e)) && Panel::ALL.iter().all(|p| s.contains(p.title()))
    });

    // Findings: focus it, open the first, see its evidence, close it.
    t.keys(&["Tab", "Tab", "Tab", "Tab", "Enter"]);
    t.wait_text("remedy");
    t.keys(&["Escape"]);
    t.wait_for("details closed", |s| !s.contains("remedy"));

    // Connections: filter, then the detail of the first match.
    t.keys(&["Tab", "/"]);
    t.type_text("okhttp");
    t.keys(&["Enter"]);
    t.wait_text("9 of 38 open");
    t.keys(&["Enter"]);
    let s = t.wait_text("recent events");
    assert!(s.contains("okhttp/4.12"), "{s}");
    t.keys(&["Escape"]);
    t.wait_for("detail closed", |s| !s.contains("recent events"));
    t.keys(&["Escape"]);
    t.wait_text("38 open ");

    t.resize(80, 24);
    let s = t.wait_for("80x24 layout", |s| {
        s.lines().count() <= 24 && Panel::ALL.iter().all(|p| s.contains(p.title()))
    });
    assert!(s.lines().all(|l| l.chars().count() <= 80), "{s}");

    t.resize(20, 6);
    t.wait_text("terminal too small");
    t.resize(60, 20);
    t.wait_for("one panel", |s| {
        s.contains("Connections") && !s.contains("Findings")
    });
    t.keys(&["Tab"]);
    t.wait_text("Close codes");
    t.resize(120, 40);
    t.wait_text("Disconnect rate");

    t.keys(&["q"]);
    assert_restored(&t);
}

#[test]
fn replay_clock_pause_speed_seek() {
    if !tmux::available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let log = write(&busy_server(), dir.path(), "busy.jsonl");
    let t = Tmux::start(
        &replay_command(&format!("--paused --from 30s {log}")),
        120,
        40,
    );
    let s = t.wait_text("REPLAY 1x PAUSED");
    assert!(s.contains("01:00:30"), "{s}");
    t.keys(&["]"]);
    t.wait_text("01:00:40");
    t.keys(&["["]);
    t.keys(&["["]);
    t.wait_text("01:00:20");
    t.keys(&["End"]);
    t.wait_text("01:03:00");
    t.wait_text("open 38");
    // Back to the start rebuilds the model: only the first connections are open again.
    t.keys(&["Home"]);
    let s = t.wait_text("01:00:00");
    assert!(s.contains("open 1 "), "{s}");
    t.keys(&["+", "+", "+"]);
    t.wait_text("REPLAY 10x PAUSED");
    t.keys(&["Space"]);
    t.wait_text("REPLAY 10x PLAYING");
    // At 10x the 30 s mark comes within ~3 s.
    t.wait_text("open 60");
    t.keys(&["-", "Space"]);
    t.wait_text("REPLAY 5x PAUSED");
    t.keys(&["q"]);
    assert_restored(&t);
}

/// A sparse log at `max` speed: events at the start and 10 minutes later, nothing between.
/// Every seek moves 10 s (or 1 min) on from where the screen is, and playback goes on.
#[test]
fn seeking_in_a_sparse_log_moves_every_press() {
    if !tmux::available() {
        return;
    }
    let mut s = Scenario::new("2026-11-30T01:00:00Z");
    s.hello("sparse-1", Some((30_000, 5_000)));
    s.open("c1", "203.0.113.1:40001", "okhttp/4.12", "/ws");
    s.at(600.0)
        .open("c2", "203.0.113.2:40002", "okhttp/4.12", "/ws");
    let dir = tempfile::tempdir().unwrap();
    let log = write(&s, dir.path(), "sparse.jsonl");
    let t = Tmux::start(
        &replay_command(&format!("--speed max --paused {log}")),
        120,
        40,
    );
    t.wait_text("01:00:00");
    for expect in ["01:00:10", "01:00:20", "01:00:30"] {
        t.keys(&["]"]);
        t.wait_text(expect);
    }
    t.keys(&["}"]);
    t.wait_text("01:01:30");
    t.keys(&["["]);
    t.wait_text("01:01:20");
    t.keys(&["{", "{"]);
    t.wait_text("01:00:00");
    // Playing on from there reaches the second connection and the end.
    t.keys(&["End"]);
    t.wait_text("open 2");
    t.keys(&["q"]);
    assert_restored(&t);
}

/// At 1x the end of the log is said too, and the timeline has its mark at the end.
#[test]
fn the_end_is_said_at_any_speed_with_the_timeline() {
    if !tmux::available() {
        return;
    }
    let mut s = Scenario::new("2026-11-30T01:00:00Z");
    s.hello("short-1", None);
    s.open("c1", "203.0.113.1:40001", "okhttp/4.12", "/ws");
    s.at(2.0)
        .open("c2", "203.0.113.2:40002", "okhttp/4.12", "/ws");
    let dir = tempfile::tempdir().unwrap();
    let log = write(&s, dir.path(), "short.jsonl");
    let t = Tmux::start(&replay_command(&format!("--speed 1 {log}")), 120, 40);
    let screen = t.wait_text("REPLAY 1x END");
    assert!(screen.contains("●┤"), "{screen}");
    t.keys(&["Home"]);
    let screen = t.wait_text("01:00:00");
    assert!(screen.contains("├●"), "{screen}");
    t.keys(&["q"]);
    assert_restored(&t);
}

#[test]
fn signals_restore_the_terminal() {
    if !tmux::available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let log = write(&busy_server(), dir.path(), "busy.jsonl");
    for signal in ["TERM", "HUP", "INT"] {
        let pidfile = dir.path().join(format!("pid-{signal}"));
        let cmd = format!(
            "stty sane; sh -c 'echo $$ > {}; exec {BIN} replay {log}'; echo EXITED $?; stty -a",
            pidfile.display()
        );
        let t = Tmux::start(&cmd, 100, 30);
        t.wait_text("Connections");
        let pid = std::fs::read_to_string(&pidfile)
            .unwrap()
            .trim()
            .to_string();
        let ok = std::process::Command::new("kill")
            .args([&format!("-{signal}"), &pid])
            .status()
            .unwrap();
        assert!(ok.success());
        assert_restored(&t);
    }
}

/// The SGR parameters of every `ESC [ ... m` in `s`.
fn sgr_params(s: &str) -> Vec<u32> {
    let mut out = Vec::new();
    for part in s.split("\u{1b}[").skip(1) {
        if let Some(end) = part.find(|c: char| !(c.is_ascii_digit() || c == ';'))
            && part[end..].starts_with('m')
        {
            out.extend(part[..end].split(';').filter_map(|p| p.parse::<u32>().ok()));
        }
    }
    out
}

#[test]
fn no_color_and_ascii_in_a_real_terminal() {
    if !tmux::available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let log = write(&busy_server(), dir.path(), "busy.jsonl");
    let with = |env: &str, flags: &str| {
        let t = Tmux::start(
            &replay_command(&format!("{flags} --speed max {log}"))
                .replace(BIN, &format!("{env} {BIN}")),
            120,
            40,
        );
        t.wait_for("the end of the log", |s| {
            s.contains("END") && s.contains("timer-leak")
        });
        let styled = t.screen_with_styles();
        t.keys(&["q"]);
        assert_restored(&t);
        styled
    };
    let coloured = with("", "");
    let is_colour = |p: &u32| matches!(p, 30..=38 | 40..=48 | 90..=97 | 100..=107);
    assert!(
        sgr_params(&coloured).iter().any(is_colour),
        "colours by default"
    );

    let plain = with("NO_COLOR=1", "--ascii");
    let params = sgr_params(&plain);
    assert!(
        !params.iter().any(is_colour),
        "colour under NO_COLOR: {params:?}"
    );
    assert!(params.contains(&7), "reverse video marks the selection");
    assert!(params.contains(&1), "bold emphasis");
    let text: String = plain
        .split('\u{1b}')
        .map(|p| {
            p.trim_start_matches(|c: char| c == '[' || c.is_ascii_digit() || c == ';')
                .trim_start_matches('m')
        })
        .collect();
    assert!(text.is_ascii(), "non-ASCII with --ascii:\n{text}");
}

#[test]
fn a_panic_in_a_background_task_restores_the_terminal_and_exits() {
    if !tmux::available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let log = write(&busy_server(), dir.path(), "busy.jsonl");
    let cmd = format!(
        "stty sane; RUST_BACKTRACE=0 WSCOPE_DEBUG_PANIC=1 {BIN} replay {log}; echo EXITED $?; stty -a"
    );
    let t = Tmux::start(&cmd, 120, 40);
    let s = assert_restored_with(&t, 101);
    assert!(s.contains("a panic in a background task"), "{s}");
}

/// The SSH session or the tmux pane dies under a running dashboard: it must end, not linger
/// (or spin) on a dead terminal.
#[test]
fn a_lost_terminal_ends_the_program() {
    if !tmux::available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let log = write(&busy_server(), dir.path(), "busy.jsonl");
    let stderr = dir.path().join("stderr.txt");
    let t = Tmux::start(
        &format!("exec {BIN} replay {log} 2>{}", stderr.display()),
        100,
        30,
    );
    t.wait_text("Connections");
    let pid = t.display("#{pane_pid}");
    let alive = || {
        std::path::Path::new(&format!("/proc/{pid}")).exists()
            && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .unwrap_or_default()
                .contains(") Z ")
    };
    assert!(alive());
    t.kill_server();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while alive() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(
        !alive(),
        "wscope (pid {pid}) still running after its terminal went away"
    );
    // Nothing to say about a terminal that is gone (ratatui's "Failed to show the cursor").
    let said = std::fs::read_to_string(&stderr).unwrap_or_default();
    assert!(
        !said.contains("cursor"),
        "stderr after the hangup: {said:?}"
    );
}

/// Every string field of every event carries escape sequences; none reaches the terminal.
#[test]
fn escape_sequences_in_a_log_never_reach_the_terminal() {
    if !tmux::available() {
        return;
    }
    let evil =
        "E\u{1b}]0;PWNED\u{7}\u{1b}]52;c;Y2xpcA==\u{1b}\\\u{1b}[5n\u{9b}6n\u{1b}P+q\u{1b}\\\r\n";
    let mut s = Scenario::new("2026-11-30T01:00:00Z");
    s.hello(evil, Some((30_000, 5_000)));
    s.open(evil, evil, evil, evil);
    s.timer(evil, evil, TimerOp::Start, evil);
    s.at(40.0).ping(evil);
    s.close(evil, 4000, evil, Initiator::Server);
    s.open(&format!("{evil}2"), evil, evil, evil);
    s.at(100.0).timer(evil, evil, TimerOp::Fire, evil);
    let dir = tempfile::tempdir().unwrap();
    let log = write(&s, dir.path(), "evil.jsonl");
    let raw = dir.path().join("raw.out");
    // The shell waits for Enter so the raw copy starts before wscope writes anything.
    let t = Tmux::start(
        &format!("read go; {BIN} replay --speed max {log}; echo EXITED $?"),
        120,
        40,
    );
    t.pipe_raw_output(&raw);
    t.keys(&["Enter"]);
    t.wait_text("REPLAY max END");
    // The detail view shows the agent, path, address and id in full.
    t.keys(&["Enter"]);
    t.wait_text("recent events");
    // A lone Escape, then a pause: Escape followed at once by a key reads as Alt+key.
    t.keys(&["Escape"]);
    t.wait_for("detail closed", |s| !s.contains("recent events"));
    t.keys(&["Tab", "Tab", "Tab", "Tab", "Enter"]);
    t.wait_text("remedy");
    // q in a detail view goes back, as Esc does; q again quits.
    t.keys(&["q"]);
    t.wait_for("evidence closed", |s| !s.contains("remedy"));
    t.keys(&["q"]);
    t.wait_text("EXITED 0");
    // tmux writes the pane's output to the pipe as it goes: wait for the exit line there.
    common::wait_until("the raw output", std::time::Duration::from_secs(10), || {
        std::fs::read(&raw).is_ok_and(|b| String::from_utf8_lossy(&b).contains("EXITED"))
    });
    let bytes = std::fs::read(&raw).unwrap();
    let out = String::from_utf8_lossy(&bytes);
    assert!(out.contains("\\u{1b}]0;PWNED"), "the inert form is shown");
    for bad in [
        "\u{1b}]",
        "\u{1b}P",
        "\u{1b}[5n",
        "\u{7}",
        "\u{9b}",
        "\u{1b}\\",
    ] {
        assert!(!out.contains(bad), "{bad:?} reached the terminal");
    }
    // No terminal query either (a cursor-position request hangs 2 s where nothing answers).
    assert!(!out.contains("\u{1b}[6n"), "cursor position query sent");
    // Every PWNED on the wire is part of an escaped, visible sequence.
    assert_eq!(
        out.matches("PWNED").count(),
        out.matches("\\u{1b}]0;PWNED").count()
    );
}

/// `demo --admin` without `--token` generates one; stderr is behind the dashboard, so `?`
/// shows the feed's address and the token, and the token opens the feed.
#[test]
fn the_demos_generated_token_is_shown_in_help() {
    if !tmux::available() {
        return;
    }
    let port = common::free_port();
    let t = Tmux::start(
        &format!("env -u WSCOPE_TOKEN {BIN} demo --admin 127.0.0.1:{port}; echo EXITED $?"),
        120,
        40,
    );
    t.wait_text("wscope LIVE");
    t.keys(&["?"]);
    let s = t.wait_text("token: ");
    let line = s.lines().find(|l| l.contains("token: ")).unwrap();
    assert!(
        line.contains(&format!("admin feed: ws://127.0.0.1:{port}")),
        "{line}"
    );
    let token: String = line
        .split("token: ")
        .nth(1)
        .unwrap()
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect();
    assert_eq!(token.len(), 32, "{line}");
    // The shown token is the one the feed takes.
    let out = std::process::Command::new(BIN)
        .args([
            "attach",
            "--headless",
            "--duration",
            "2s",
            "--format",
            "json",
        ])
        .arg(format!("ws://127.0.0.1:{port}/"))
        .env("WSCOPE_TOKEN", &token)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    t.keys(&["Escape", "q"]);
    t.wait_text("EXITED 0");
}
