//! One module per panel, plus what they share: the framed block, number and age formats, and
//! the short form of a user agent. Every string from a client or a feed passes through
//! [`crate::sanitize::inert`] before it is put in a cell.

pub mod close_codes;
pub mod connections;
pub mod detail;
pub mod disconnect_rate;
pub mod findings;
pub mod header;
pub mod help;
pub mod leaks;
pub mod servers;

use super::theme::Theme;
use ratatui::text::Span;
use ratatui::widgets::{Block, Borders};

/// The framed block of a panel: its name on the border, emphasised when focused.
pub fn block<'a>(theme: &Theme, title: &'a str, extra: String, focused: bool) -> Block<'a> {
    let mut b = Block::default()
        .borders(Borders::ALL)
        .border_set(theme.border_set())
        .border_style(theme.border(focused))
        .title(Span::styled(format!(" {title} "), theme.title(focused)));
    if !extra.is_empty() {
        b = b.title(Span::styled(format!(" {extra} "), theme.dim()));
    }
    b
}

/// `42s`, `3m05s`, `2h01m`, `3d04h`: short and sortable by eye. Negative ages (reordered
/// events) show as `0s`.
pub fn age(secs: f64) -> String {
    let s = if secs.is_finite() && secs > 0.0 {
        secs as u64
    } else {
        0
    };
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        3600..86_400 => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
        _ => format!("{}d{:02}h", s / 86_400, (s % 86_400) / 3600),
    }
}

/// `999`, `12.3k`, `4.5M`.
pub fn count(n: u64) -> String {
    match n {
        0..10_000 => n.to_string(),
        10_000..1_000_000 => format!("{:.1}k", n as f64 / 1e3),
        1_000_000..1_000_000_000 => format!("{:.1}M", n as f64 / 1e6),
        _ => format!("{:.1}G", n as f64 / 1e9),
    }
}

/// `text` in at most `width` columns: cut short with `ellipsis` at the end when it does not
/// fit, so a reader knows there is more (Enter shows it whole).
pub fn fit(text: &str, width: usize, ellipsis: &str) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    let keep = width.saturating_sub(ellipsis.chars().count());
    let mut out: String = text.chars().take(keep).collect();
    out.truncate(out.trim_end().len());
    out.push_str(ellipsis);
    out
}

/// An id in at most `width` columns, keeping its end: ids of one run share their start (the
/// run's tag in `<boot>-<n>`) and differ in their end.
pub fn fit_tail(id: &str, width: usize, ellipsis: &str) -> String {
    let n = id.chars().count();
    if n <= width {
        return id.to_string();
    }
    let keep = width.saturating_sub(ellipsis.chars().count());
    let tail: String = id.chars().skip(n - keep).collect();
    format!("{ellipsis}{tail}")
}

/// A short, recognisable form of a user agent: browser and platform for browsers
/// (`Chrome 131 Android`, `Safari iPhone`), the first product token otherwise (`okhttp/4.12`).
pub fn short_agent(ua: &str) -> String {
    let platform = [
        "iPhone", "iPad", "Android", "Windows", "Mac OS X", "Linux", "CrOS",
    ]
    .into_iter()
    .find(|p| ua.contains(p))
    .map(|p| if p == "Mac OS X" { "macOS" } else { p });
    let version = |name: &str| -> Option<String> {
        let at = ua.find(name)? + name.len();
        let major: String = ua[at..]
            .chars()
            .take_while(|c| c.is_ascii_digit())
            .collect();
        Some(major)
    };
    let browser = [
        ("Firefox/", "Firefox"),
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("Chrome/", "Chrome"),
        ("CriOS/", "Chrome"),
        ("Version/", "Safari"),
    ]
    .into_iter()
    .find_map(|(token, name)| version(token).map(|v| format!("{name} {v}")));
    match (ua.starts_with("Mozilla/"), browser, platform) {
        (true, Some(b), Some(p)) => format!("{} {p}", b.trim_end()),
        (true, Some(b), None) => b.trim_end().to_string(),
        (true, None, Some(p)) => p.to_string(),
        _ => ua.split_whitespace().next().unwrap_or("").to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(age(-3.0), "0s");
        assert_eq!(age(59.9), "59s");
        assert_eq!(age(185.0), "3m05s");
        assert_eq!(age(7260.0), "2h01m");
        assert_eq!(age(f64::NAN), "0s");
        assert_eq!(count(12_345), "12.3k");
        assert_eq!(
            short_agent(
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) Version/17.1 Mobile Safari/604.1"
            ),
            "Safari 17 iPhone"
        );
        assert_eq!(
            short_agent("Mozilla/5.0 (Linux; Android 14; Pixel 8) Chrome/131.0 Mobile"),
            "Chrome 131 Android"
        );
        assert_eq!(short_agent("okhttp/4.12"), "okhttp/4.12");
        assert_eq!(short_agent(""), "");
    }
}

#[cfg(test)]
mod fit_tests {
    use super::*;

    #[test]
    fn long_ids_keep_their_ends() {
        assert_eq!(fit_tail("c17", 10, "…"), "c17");
        assert_eq!(fit_tail("mx7m5dif-1234", 10, "…"), "…5dif-1234");
        assert_eq!(fit_tail("mx7m5dif-1234", 6, "~"), "~-1234");
        assert_eq!(fit_tail("abc", 0, "~"), "~");
    }
}
