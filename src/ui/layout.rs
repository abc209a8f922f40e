//! Where each panel goes for a given terminal size. A pure function of the size (and of the
//! focused panel on small screens), so input handling can know how many table rows are visible
//! without rendering.
//!
//! - 80x24 and up: two-line header, Connections on top, then Close codes | Disconnect rate and
//!   Leak suspects | Findings, one-line key hint at the bottom.
//! - Smaller, down to [`MIN_WIDTH`]x[`MIN_HEIGHT`]: one-line header, only the focused panel
//!   (Tab still cycles), the hint.
//! - Below that: a "terminal too small" message and nothing else.

use super::view::Panel;
use ratatui::layout::{Constraint, Layout, Rect};

pub const FULL_WIDTH: u16 = 80;
pub const FULL_HEIGHT: u16 = 24;
pub const MIN_WIDTH: u16 = 40;
pub const MIN_HEIGHT: u16 = 8;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Screen {
    pub header: Rect,
    pub hint: Rect,
    /// The panels shown, in drawing order.
    pub panels: Vec<(Panel, Rect)>,
    /// Set when the terminal is below the minimum: only this message is drawn.
    pub too_small: Option<Rect>,
}

impl Screen {
    pub fn rect_of(&self, panel: Panel) -> Option<Rect> {
        self.panels
            .iter()
            .find(|(p, _)| *p == panel)
            .map(|(_, r)| *r)
    }

    /// True when every panel fits; false in the degraded one-panel layout.
    pub fn is_full(&self) -> bool {
        self.panels.len() > 1
    }
}

/// Below this height, a screen with findings gives their panel more rows (from Connections
/// and the middle row) so the most important one can be read without a key.
const ROOMY_HEIGHT: u16 = 34;

pub fn screen(area: Rect, focus: Panel, findings: usize) -> Screen {
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        return Screen {
            header: Rect::default(),
            hint: Rect::default(),
            panels: Vec::new(),
            too_small: Some(area),
        };
    }
    let full = area.width >= FULL_WIDTH && area.height >= FULL_HEIGHT;
    let header_height = if full { 2 } else { 1 };
    let [header, body, hint] = Layout::vertical([
        Constraint::Length(header_height),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(area);
    let panels = if full {
        let (conns_pct, upper_pct) = if findings > 0 && area.height < ROOMY_HEIGHT {
            (36, 24)
        } else {
            (44, 28)
        };
        let [conns, upper, lower] = Layout::vertical([
            Constraint::Percentage(conns_pct),
            Constraint::Percentage(upper_pct),
            Constraint::Min(0),
        ])
        .areas(body);
        let halves = Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]);
        let [codes, rate] = halves.areas(upper);
        let [leaks, findings] = halves.areas(lower);
        vec![
            (Panel::Connections, conns),
            (Panel::CloseCodes, codes),
            (Panel::DisconnectRate, rate),
            (Panel::Leaks, leaks),
            (Panel::Findings, findings),
        ]
    } else {
        vec![(focus, body)]
    };
    Screen {
        header,
        hint,
        panels,
        too_small: None,
    }
}

/// Rows of data the Connections table shows at this size (borders and column header taken off).
pub fn connection_rows(area: Rect, focus: Panel, findings: usize) -> usize {
    screen(area, focus, findings)
        .rect_of(Panel::Connections)
        .map(|r| r.height.saturating_sub(3) as usize)
        .unwrap_or(0)
}

/// A rectangle of at most `width` x `height` centred in `area` (for overlays).
pub fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let w = width.min(area.width);
    let h = height.min(area.height);
    Rect {
        x: area.x.saturating_add((area.width.saturating_sub(w)) / 2),
        y: area.y.saturating_add((area.height.saturating_sub(h)) / 2),
        width: w,
        height: h,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_layout_at_80x24_has_every_panel_inside_the_screen() {
        let area = Rect::new(0, 0, 80, 24);
        let s = screen(area, Panel::Connections, 0);
        assert!(s.is_full());
        assert_eq!(s.panels.len(), 5);
        for (_, r) in &s.panels {
            assert!(r.height >= 4, "{r:?}");
            assert!(area.contains(r.as_position()));
            assert!(r.right() <= 80 && r.bottom() <= 24);
        }
        assert!(connection_rows(area, Panel::Connections, 0) >= 5);
        assert!(connection_rows(area, Panel::Connections, 3) >= 4);
        let grown = screen(area, Panel::Connections, 3)
            .rect_of(Panel::Findings)
            .unwrap();
        let before = screen(area, Panel::Connections, 0)
            .rect_of(Panel::Findings)
            .unwrap();
        assert!(grown.height >= before.height + 2, "{grown:?} {before:?}");
    }

    #[test]
    fn small_screens_degrade_without_panicking() {
        for w in 0..100u16 {
            for h in 0..30u16 {
                let s = screen(Rect::new(0, 0, w, h), Panel::Findings, (w % 3) as usize);
                if w < MIN_WIDTH || h < MIN_HEIGHT {
                    assert!(s.too_small.is_some());
                } else if w < FULL_WIDTH || h < FULL_HEIGHT {
                    assert_eq!(s.panels, vec![(Panel::Findings, s.panels[0].1)]);
                }
            }
        }
        assert_eq!(
            centered(Rect::new(0, 0, 5, 3), 60, 20),
            Rect::new(0, 0, 5, 3)
        );
    }
}
