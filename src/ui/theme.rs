//! Every colour, emphasis and drawing character of the dashboard, in one place.
//!
//! Two switches change how things look, never what is shown: `NO_COLOR` (colours become
//! `Color::Reset`; emphasis comes from reversed and bold, which survive on any terminal) and
//! `--ascii` (borders, bars and marks from plain ASCII, for terminals and fonts without box
//! drawing). Terminals that have neither (`TERM=dumb`, `vt100`) get both.

use ratatui::style::{Color, Modifier, Style};
use ratatui::symbols::border;

/// How a value compares with its limit; decides the colour of ages, rates and severities.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Ok,
    Warn,
    Bad,
}

#[derive(Clone, Copy, Debug)]
pub struct Theme {
    pub color: bool,
    pub ascii: bool,
}

const ASCII_BORDER: border::Set = border::Set {
    top_left: "+",
    top_right: "+",
    bottom_left: "+",
    bottom_right: "+",
    vertical_left: "|",
    vertical_right: "|",
    horizontal_top: "-",
    horizontal_bottom: "-",
};

impl Theme {
    /// `NO_COLOR` set to anything non-empty turns colour off (no-color.org); a terminal that
    /// has neither colours nor line drawing (`TERM=dumb`, `vt100` and its kin) gets what
    /// `--ascii` and `NO_COLOR` give.
    pub fn from_env(ascii: bool) -> Theme {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let term = std::env::var("TERM").unwrap_or_default();
        Theme::for_terminal(&term, no_color, ascii)
    }

    pub fn for_terminal(term: &str, no_color: bool, ascii: bool) -> Theme {
        let basic = term == "dumb" || (term.starts_with("vt") && !term.contains("color"));
        Theme {
            color: !no_color && !basic,
            ascii: ascii || basic,
        }
    }

    fn fg(&self, c: Color) -> Style {
        if self.color {
            Style::new().fg(c)
        } else {
            Style::new().fg(Color::Reset)
        }
    }

    pub fn border_set(&self) -> border::Set<'static> {
        if self.ascii {
            ASCII_BORDER
        } else {
            border::PLAIN
        }
    }

    pub fn border(&self, focused: bool) -> Style {
        match (focused, self.color) {
            (true, true) => Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD),
            (true, false) => Style::new().add_modifier(Modifier::BOLD),
            (false, true) => Style::new().fg(Color::DarkGray),
            (false, false) => Style::new(),
        }
    }

    pub fn title(&self, focused: bool) -> Style {
        if focused {
            Style::new().add_modifier(Modifier::BOLD | Modifier::REVERSED)
        } else {
            Style::new().add_modifier(Modifier::BOLD)
        }
    }

    /// The selected row of a table or list: reversed reads on every terminal.
    pub fn selected(&self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }

    pub fn header_row(&self) -> Style {
        self.fg(Color::Yellow).add_modifier(Modifier::BOLD)
    }

    pub fn dim(&self) -> Style {
        if self.color {
            Style::new().fg(Color::DarkGray)
        } else {
            Style::new()
        }
    }

    pub fn key(&self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }

    pub fn level(&self, level: Level) -> Style {
        match (level, self.color) {
            (Level::Ok, true) => Style::new().fg(Color::Green),
            (Level::Warn, true) => Style::new().fg(Color::Yellow),
            (Level::Bad, true) => Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
            (Level::Ok, false) => Style::new(),
            (Level::Warn, false) => Style::new().add_modifier(Modifier::BOLD),
            (Level::Bad, false) => Style::new().add_modifier(Modifier::BOLD | Modifier::REVERSED),
        }
    }

    /// Warnings in the header (dropped events, skipped lines, lost feeds).
    pub fn alert(&self) -> Style {
        self.level(Level::Bad)
    }

    /// Stacked close-code bars: one style and one fill character per initiator, so the split
    /// stays readable without colour.
    pub fn initiator_bar(&self, i: InitiatorMark) -> (Style, &'static str) {
        let ch = match (i, self.ascii) {
            (InitiatorMark::Client, false) => "█",
            (InitiatorMark::Server, false) => "▓",
            (InitiatorMark::None, false) => "░",
            (InitiatorMark::Unknown, false) => "·",
            (InitiatorMark::Client, true) => "#",
            (InitiatorMark::Server, true) => "=",
            (InitiatorMark::None, true) => ":",
            (InitiatorMark::Unknown, true) => ".",
        };
        let style = match i {
            InitiatorMark::Client => self.fg(Color::Green),
            InitiatorMark::Server => self.fg(Color::Blue),
            InitiatorMark::None => self.fg(Color::Red),
            InitiatorMark::Unknown => self.dim(),
        };
        (style, ch)
    }

    /// Vertical bar pieces, empty to full, for the disconnect-rate sparkline.
    pub fn spark_levels(&self) -> &'static [&'static str] {
        if self.ascii {
            &[" ", ".", ":", "|"]
        } else {
            &[" ", "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"]
        }
    }

    /// The alarm line across the sparkline.
    pub fn alarm_mark(&self) -> (&'static str, Style) {
        let ch = if self.ascii { "-" } else { "┄" };
        (ch, self.fg(Color::Red))
    }

    pub fn spark(&self) -> Style {
        self.fg(Color::Cyan)
    }

    /// The mark after a mobile user agent.
    pub fn mobile_mark(&self) -> &'static str {
        if self.ascii { "m" } else { "▯" }
    }

    pub fn sort_mark(&self, descending: bool) -> &'static str {
        match (self.ascii, descending) {
            (true, false) => "^",
            (true, true) => "v",
            (false, false) => "▲",
            (false, true) => "▼",
        }
    }

    pub fn ellipsis(&self) -> &'static str {
        if self.ascii { "~" } else { "…" }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InitiatorMark {
    Client,
    Server,
    None,
    Unknown,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_terminals_get_ascii_without_colour() {
        for term in ["dumb", "vt100", "vt220"] {
            let t = Theme::for_terminal(term, false, false);
            assert!(t.ascii && !t.color, "{term}");
        }
        for term in ["xterm-256color", "screen", "tmux-256color", "linux", ""] {
            let t = Theme::for_terminal(term, false, false);
            assert!(!t.ascii && t.color, "{term}");
        }
        assert!(!Theme::for_terminal("xterm", true, false).color);
        assert!(Theme::for_terminal("xterm", false, true).ascii);
    }

    #[test]
    fn no_color_keeps_emphasis_and_drops_colours() {
        let t = Theme {
            color: false,
            ascii: false,
        };
        assert_eq!(t.header_row().fg, Some(Color::Reset));
        assert!(t.selected().add_modifier.contains(Modifier::REVERSED));
        assert!(
            t.level(Level::Bad)
                .add_modifier
                .contains(Modifier::REVERSED)
        );
        for i in [InitiatorMark::Client, InitiatorMark::None] {
            let fg = t.initiator_bar(i).0.fg;
            assert!(fg.is_none() || fg == Some(Color::Reset));
        }
    }

    #[test]
    fn ascii_uses_only_ascii() {
        let t = Theme {
            color: true,
            ascii: true,
        };
        let b = t.border_set();
        for s in [b.top_left, b.horizontal_top, b.vertical_left] {
            assert!(s.is_ascii());
        }
        assert!(t.spark_levels().iter().all(|s| s.is_ascii()));
        assert!(t.mobile_mark().is_ascii() && t.alarm_mark().0.is_ascii());
        assert!(t.sort_mark(true).is_ascii() && t.ellipsis().is_ascii());
    }
}
