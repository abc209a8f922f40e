//! Every key of the dashboard as data: what it does, how the `?` help names it, and the hint
//! it gives on the bottom line and when. The key handler, the help and the hint line all read
//! these tables, so they cannot disagree.

use super::view::Panel;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// What a key asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    Quit,
    Help,
    NextPanel,
    PreviousPanel,
    Down,
    Up,
    PageDown,
    PageUp,
    HalfPageDown,
    HalfPageUp,
    Top,
    Bottom,
    /// Details of the selected row.
    Open,
    /// Leaves a detail view or the help.
    Back,
    ClearFilter,
    Filter,
    SortNext,
    Reverse,
    /// Sort by the n-th column on screen (0-based).
    SortColumn(usize),
    CodesWindow,
    NextServer,
    /// The servers view.
    Servers,
    Pause,
    Faster,
    Slower,
    /// Seek by this many seconds of event time (negative: back).
    Seek(i64),
    JumpStart,
    JumpEnd,
}

/// A key as the tables write it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Key {
    Char(char),
    Ctrl(char),
    Code(KeyCode),
}

impl Key {
    fn matches(self, key: &KeyEvent) -> bool {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match self {
            Key::Char(c) => !ctrl && key.code == KeyCode::Char(c),
            Key::Ctrl(c) => ctrl && key.code == KeyCode::Char(c),
            Key::Code(code) => !ctrl && key.code == code,
        }
    }
}

/// One line of the help: the keys as people read them, what they do, and the keys each
/// command is bound to.
pub struct Row {
    pub keys: &'static str,
    pub what: &'static str,
    pub bindings: &'static [(Key, Command)],
}

/// Where a hint shows on the bottom line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum When {
    Always,
    Focus(Panel),
    Replay,
}

/// A hint of the bottom line, in the order shown (most needed first: the line is cut at a
/// whole hint on narrow screens).
pub struct Hint {
    pub when: When,
    pub keys: &'static str,
    pub what: &'static str,
}

use Command as C;
use Key::{Char, Code, Ctrl};

/// The dashboard's keys.
pub const MAIN: &[Row] = &[
    Row {
        keys: "?",
        what: "this help",
        bindings: &[(Char('?'), C::Help)],
    },
    Row {
        keys: "q  Ctrl-C",
        what: "quit",
        bindings: &[(Char('q'), C::Quit), (Ctrl('c'), C::Quit)],
    },
    Row {
        keys: "Tab  Shift-Tab",
        what: "next / previous panel",
        bindings: &[
            (Code(KeyCode::Tab), C::NextPanel),
            (Code(KeyCode::BackTab), C::PreviousPanel),
        ],
    },
    Row {
        keys: "Up Down  j k",
        what: "move the selection",
        bindings: &[
            (Code(KeyCode::Down), C::Down),
            (Char('j'), C::Down),
            (Code(KeyCode::Up), C::Up),
            (Char('k'), C::Up),
        ],
    },
    Row {
        keys: "PgUp PgDn  g G",
        what: "page, top, bottom",
        bindings: &[
            (Code(KeyCode::PageDown), C::PageDown),
            (Code(KeyCode::PageUp), C::PageUp),
            (Char('g'), C::Top),
            (Char('G'), C::Bottom),
        ],
    },
    Row {
        keys: "Ctrl-D  Ctrl-U",
        what: "half a page down / up",
        bindings: &[(Ctrl('d'), C::HalfPageDown), (Ctrl('u'), C::HalfPageUp)],
    },
    Row {
        keys: "Enter",
        what: "details: connection's recent events, finding's evidence",
        bindings: &[(Code(KeyCode::Enter), C::Open)],
    },
    Row {
        keys: "Esc",
        what: "clear the filter",
        bindings: &[(Code(KeyCode::Esc), C::ClearFilter)],
    },
    Row {
        keys: "/",
        what: "filter connections as you type (address, agent, id, path)",
        bindings: &[(Char('/'), C::Filter)],
    },
    Row {
        keys: "1-9 0  s  r",
        what: "sort by column n, next column, reverse",
        bindings: &[
            (Char('1'), C::SortColumn(0)),
            (Char('2'), C::SortColumn(1)),
            (Char('3'), C::SortColumn(2)),
            (Char('4'), C::SortColumn(3)),
            (Char('5'), C::SortColumn(4)),
            (Char('6'), C::SortColumn(5)),
            (Char('7'), C::SortColumn(6)),
            (Char('8'), C::SortColumn(7)),
            (Char('9'), C::SortColumn(8)),
            (Char('0'), C::SortColumn(9)),
            (Char('s'), C::SortNext),
            (Char('r'), C::Reverse),
        ],
    },
    Row {
        keys: "f",
        what: "show one server in every panel (several servers)",
        bindings: &[(Char('f'), C::NextServer)],
    },
    Row {
        keys: "S",
        what: "servers: open, closes/min, worst code each; Enter shows one",
        bindings: &[(Char('S'), C::Servers)],
    },
    Row {
        keys: "w",
        what: "close codes: all time / last 5 minutes",
        bindings: &[(Char('w'), C::CodesWindow)],
    },
    Row {
        keys: "space",
        what: "pause / play (replay)",
        bindings: &[(Char(' '), C::Pause)],
    },
    Row {
        keys: "+  -",
        what: "faster / slower (replay)",
        bindings: &[
            (Char('+'), C::Faster),
            (Char('='), C::Faster),
            (Char('-'), C::Slower),
            (Char('_'), C::Slower),
        ],
    },
    Row {
        keys: "[  ]",
        what: "seek back / forward 10 s (replay)",
        bindings: &[(Char('['), C::Seek(-10)), (Char(']'), C::Seek(10))],
    },
    Row {
        keys: "{  }",
        what: "seek back / forward 1 min (replay)",
        bindings: &[(Char('{'), C::Seek(-60)), (Char('}'), C::Seek(60))],
    },
    Row {
        keys: "Home  End",
        what: "jump to start / end (replay)",
        bindings: &[
            (Code(KeyCode::Home), C::JumpStart),
            (Code(KeyCode::End), C::JumpEnd),
        ],
    },
];

/// A detail view (a connection's events, a finding's evidence) scrolls like `less`; keys
/// not here mean what they mean on the dashboard.
pub const DETAIL: &[Row] = &[
    Row {
        keys: "Esc  q  Enter",
        what: "close details (q quits from the dashboard)",
        bindings: &[
            (Code(KeyCode::Esc), C::Back),
            (Char('q'), C::Back),
            (Code(KeyCode::Enter), C::Back),
        ],
    },
    Row {
        keys: "j k  space  g G",
        what: "scroll details: line, page, top, bottom",
        bindings: &[
            (Code(KeyCode::Down), C::Down),
            (Char('j'), C::Down),
            (Code(KeyCode::Up), C::Up),
            (Char('k'), C::Up),
            (Char(' '), C::PageDown),
            (Code(KeyCode::PageDown), C::PageDown),
            (Code(KeyCode::PageUp), C::PageUp),
            (Ctrl('d'), C::HalfPageDown),
            (Ctrl('u'), C::HalfPageUp),
            (Char('g'), C::Top),
            (Code(KeyCode::Home), C::Top),
            (Char('G'), C::Bottom),
            (Code(KeyCode::End), C::Bottom),
        ],
    },
];

/// The help closes with these; every other key is ignored while it is open.
pub const HELP: &[Row] = &[Row {
    keys: "Esc  q  ?",
    what: "close this help",
    bindings: &[
        (Code(KeyCode::Esc), C::Back),
        (Char('q'), C::Back),
        (Char('?'), C::Back),
        (Code(KeyCode::Enter), C::Back),
    ],
}];

/// The servers view; keys not here mean what they mean on the dashboard.
pub const SERVERS: &[Row] = &[
    Row {
        keys: "Esc  q  S",
        what: "close the servers view",
        bindings: &[
            (Code(KeyCode::Esc), C::Back),
            (Char('q'), C::Back),
            (Char('S'), C::Back),
        ],
    },
    Row {
        keys: "j k  Up Down  g G",
        what: "move the selection",
        bindings: &[
            (Code(KeyCode::Down), C::Down),
            (Char('j'), C::Down),
            (Code(KeyCode::Up), C::Up),
            (Char('k'), C::Up),
            (Char('g'), C::Top),
            (Char('G'), C::Bottom),
        ],
    },
    Row {
        keys: "Enter",
        what: "show only this server, in every panel (the first row: all)",
        bindings: &[(Code(KeyCode::Enter), C::Open)],
    },
    Row {
        keys: "s  r",
        what: "sort by the next column, reverse",
        bindings: &[(Char('s'), C::SortNext), (Char('r'), C::Reverse)],
    },
    Row {
        keys: "/",
        what: "filter servers by name as you type (Esc clears it)",
        bindings: &[(Char('/'), C::Filter)],
    },
];

/// The bottom line's hints.
pub const HINTS: &[Hint] = &[
    Hint {
        when: When::Always,
        keys: "?",
        what: "help",
    },
    Hint {
        when: When::Always,
        keys: "q",
        what: "quit",
    },
    Hint {
        when: When::Always,
        keys: "Tab",
        what: "panel",
    },
    Hint {
        when: When::Focus(Panel::Connections),
        keys: "Enter",
        what: "detail",
    },
    Hint {
        when: When::Focus(Panel::Connections),
        keys: "/",
        what: "filter",
    },
    Hint {
        when: When::Focus(Panel::Connections),
        keys: "1-0",
        what: "sort",
    },
    Hint {
        when: When::Focus(Panel::Findings),
        keys: "Enter",
        what: "evidence",
    },
    Hint {
        when: When::Focus(Panel::Leaks),
        keys: "Enter",
        what: "connection",
    },
    Hint {
        when: When::Focus(Panel::CloseCodes),
        keys: "w",
        what: "5 min/all",
    },
    Hint {
        when: When::Replay,
        keys: "space",
        what: "pause",
    },
    Hint {
        when: When::Replay,
        keys: "+/-",
        what: "speed",
    },
    Hint {
        when: When::Replay,
        keys: "[/]",
        what: "seek",
    },
];

/// The command `key` is bound to in `table`.
pub fn lookup(table: &[Row], key: &KeyEvent) -> Option<Command> {
    table
        .iter()
        .flat_map(|row| row.bindings)
        .find(|(k, _)| k.matches(key))
        .map(|(_, c)| *c)
}

/// The hints that apply with this focus, in order.
pub fn hints(focus: Panel, replay: bool) -> impl Iterator<Item = &'static Hint> {
    HINTS.iter().filter(move |h| match h.when {
        When::Always => true,
        When::Focus(p) => p == focus,
        When::Replay => replay,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A key bound twice in one table would do only its first command, silently.
    #[test]
    fn no_key_is_bound_twice_in_a_table() {
        for table in [MAIN, DETAIL, HELP] {
            let keys: Vec<Key> = table
                .iter()
                .flat_map(|r| r.bindings.iter().map(|(k, _)| *k))
                .collect();
            for (i, k) in keys.iter().enumerate() {
                assert!(!keys[..i].contains(k), "{k:?} bound twice");
            }
        }
    }

    #[test]
    fn ctrl_keys_are_not_their_plain_letters() {
        let ctrl_d = KeyEvent::new(KeyCode::Char('d'), KeyModifiers::CONTROL);
        assert_eq!(lookup(MAIN, &ctrl_d), Some(Command::HalfPageDown));
        let d = KeyEvent::new(KeyCode::Char('d'), KeyModifiers::NONE);
        assert_eq!(lookup(MAIN, &d), None);
        let shift_g = KeyEvent::new(KeyCode::Char('G'), KeyModifiers::SHIFT);
        assert_eq!(lookup(MAIN, &shift_g), Some(Command::Bottom));
    }

    /// Every hint names keys of the help's rows ("1-0" is "1" and "0", "+/-" is "+" and "-").
    #[test]
    fn hints_name_keys_of_the_help() {
        for h in HINTS {
            let parts: Vec<&str> = if h.keys.len() > 1 && h.keys.contains(['/', '-']) {
                h.keys.split(['/', '-']).collect()
            } else {
                vec![h.keys]
            };
            for part in parts {
                assert!(
                    MAIN.iter().any(|r| r.keys.contains(part)),
                    "hint {:?}: {part:?} is no key of the help",
                    h.keys
                );
            }
        }
    }
}
