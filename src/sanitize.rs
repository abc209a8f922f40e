//! Untrusted strings (user agents, close reasons, paths, ids, server names) come from the
//! internet. Before one reaches a terminal or a report it is made inert: control characters,
//! escape sequences and bidirectional overrides become visible `\u{..}` escapes.

use std::borrow::Cow;
use std::fmt::Write;

fn is_dangerous(c: char) -> bool {
    c.is_control()
        // Bidi embeddings, overrides and isolates can reorder what an operator reads.
        || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

/// The string with every control character (C0, DEL, C1) and bidi control escaped.
/// Borrowed, with no copy, in the common case where there is nothing to escape.
pub fn inert(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_dangerous) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if is_dangerous(c) {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_controls_and_keeps_text() {
        assert_eq!(inert("Mozilla/5.0 (iPhone)"), "Mozilla/5.0 (iPhone)");
        assert_eq!(inert("a\x1b[2Jb"), "a\\u{1b}[2Jb");
        assert_eq!(inert("x\u{9b}y\u{7f}\n"), "x\\u{9b}y\\u{7f}\\u{a}");
        assert_eq!(inert("evil\u{202e}txt"), "evil\\u{202e}txt");
        assert_eq!(inert("日本語"), "日本語");
    }
}
