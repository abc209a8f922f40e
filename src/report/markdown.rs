//! `report --format markdown`: to paste into an incident document.

use super::{Report, code_label, evidence_pairs};
use std::fmt::Write;

/// Escapes what Markdown would interpret (tables, code, HTML), so untrusted text stays text.
fn md(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(
            c,
            '|' | '`' | '<' | '>' | '*' | '_' | '[' | ']' | '\\' | '#'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// [`md`] for our own texts (summaries, remedies), whose `code` spans stay code: a remedy's
/// `proxy_read_timeout 3600s;` is meant to be copied. Text outside them is escaped; an
/// unpaired backtick is text. In a table cell a `|` inside code is escaped too (GFM splits
/// cells on it even there).
fn md_keeping_code(s: &str, in_table: bool) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(open) = rest.find('`') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('`') else {
            break;
        };
        out.push_str(&md(&rest[..open]));
        let code = after[..close].replace(['\n', '\r'], " ");
        out.push('`');
        out.push_str(&if in_table {
            code.replace('|', "\\|")
        } else {
            code
        });
        out.push('`');
        rest = &after[close + 1..];
    }
    out.push_str(&md(rest));
    out
}

pub fn render(r: &Report) -> String {
    let mut out = String::from("# WebSocket disconnect report\n\n");
    if let Some((from, to)) = r.span_text() {
        let _ = writeln!(out, "- **Span:** {from} → {to} ({})", r.duration_text());
    }
    for s in r.server_lines() {
        let _ = writeln!(out, "- **Server:** {}", md(&s));
    }
    let c = &r.connections;
    let _ = writeln!(
        out,
        "- **Events:** {} ({} skipped lines, {} dropped by the feed)\n- **Connections:** opened {}, closed {}, open at end {}{}, peak {}\n",
        r.events,
        r.skipped_lines,
        r.dropped_events,
        c.opened,
        c.closed,
        c.open_at_end,
        if c.open_from_snapshot > 0 {
            format!(" ({} listed by a snapshot)", c.open_from_snapshot)
        } else {
            String::new()
        },
        c.peak_open
    );

    out.push_str("## Findings\n\n");
    if r.findings.is_empty() {
        out.push_str("No finding: nothing in this data explains disconnects.\n\n");
    } else {
        out.push_str("| Severity | Finding | Summary |\n|---|---|---|\n");
        for f in &r.findings {
            let _ = writeln!(
                out,
                "| {} | `{}` | {} |",
                f.severity.as_str(),
                f.id,
                md_keeping_code(&f.summary, true)
            );
        }
        out.push('\n');
        for f in &r.findings {
            let _ = writeln!(
                out,
                "### `{}` ({})\n\n{}\n",
                f.id,
                f.severity.as_str(),
                md_keeping_code(&f.summary, false)
            );
            out.push_str("Evidence:\n\n");
            for (k, v) in evidence_pairs(f) {
                let _ = writeln!(out, "- {}: {}", md(&k), md(&v));
            }
            let _ = writeln!(out, "\n**Remedy:** {}\n", md_keeping_code(&f.remedy, false));
        }
    }

    out.push_str("## Close codes\n\n");
    let codes = r.codes_by_count();
    if codes.is_empty() {
        out.push_str("No closes.\n");
    } else {
        out.push_str("| Code | Count | Initiated by |\n|---|---:|---|\n");
        for (code, n) in codes {
            let _ = writeln!(
                out,
                "| {} | {n} | {} |",
                code_label(code),
                r.initiators(code)
            );
        }
    }
    if !r.upgrade_rejected.is_empty() {
        out.push_str("\n## Rejected upgrades\n\n| Status | Count |\n|---|---:|\n");
        for (s, n) in &r.upgrade_rejected {
            let _ = writeln!(out, "| {s} | {n} |");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::md_keeping_code;

    #[test]
    fn code_spans_stay_code_and_the_rest_is_escaped() {
        assert_eq!(
            md_keeping_code("set `proxy_read_timeout 3600s;` in <nginx> *now*", false),
            "set `proxy_read_timeout 3600s;` in \\<nginx\\> \\*now\\*"
        );
        assert_eq!(md_keeping_code("a ` b", false), "a \\` b");
        assert_eq!(md_keeping_code("`a|b`", true), "`a\\|b`");
    }
}
