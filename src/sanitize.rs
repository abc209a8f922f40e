//! Untrusted strings (user agents, close reasons, paths, ids, server names) come from the
//! internet. Before one reaches a terminal or a report it is made inert: control characters,
//! escape sequences, format characters (bidirectional overrides, zero-width characters) and
//! line and paragraph separators become visible `\u{..}` escapes.

use std::borrow::Cow;
use std::fmt::Write;
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

fn is_dangerous(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_control();
    }
    // Controls (C1); format characters: bidi overrides reorder what an operator reads, and
    // zero-width ones (U+200B, U+200D, U+2060, U+FEFF) hide a difference (`c1` and `c1\u{200b}`
    // look the same); separators (U+2028, U+2029) break lines where terminals disagree on
    // their width.
    matches!(
        c.general_category(),
        GeneralCategory::Control
            | GeneralCategory::Format
            | GeneralCategory::LineSeparator
            | GeneralCategory::ParagraphSeparator
    )
}

/// The string with every control, format and separator character escaped.
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
        assert_eq!(inert("café ñ"), "café ñ");
    }

    #[test]
    fn escapes_invisible_characters() {
        for (raw, shown) in [
            ("c1\u{200b}", "c1\\u{200b}"),
            ("a\u{200d}b", "a\\u{200d}b"),
            ("\u{feff}id", "\\u{feff}id"),
            ("x\u{2060}", "x\\u{2060}"),
            ("line\u{2028}break\u{2029}", "line\\u{2028}break\\u{2029}"),
            ("soft\u{ad}hyphen", "soft\\u{ad}hyphen"),
        ] {
            assert_eq!(inert(raw), shown, "{raw:?}");
        }
    }
}
