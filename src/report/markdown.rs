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

pub fn render(r: &Report) -> String {
    let mut out = String::from("# WebSocket disconnect report\n\n");
    if let Some(s) = &r.span {
        let _ = writeln!(
            out,
            "- **Span:** {} → {} ({})",
            s.from,
            s.to,
            r.duration_text()
        );
    }
    let c = &r.connections;
    let _ = writeln!(
        out,
        "- **Events:** {} ({} skipped lines, {} dropped by the feed)\n- **Connections:** opened {}, closed {}, open at end {}, peak {}\n",
        r.events, r.skipped_lines, r.dropped_events, c.opened, c.closed, c.open_at_end, c.peak_open
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
                md(&f.summary)
            );
        }
        out.push('\n');
        for f in &r.findings {
            let _ = writeln!(
                out,
                "### `{}` ({})\n\n{}\n",
                f.id,
                f.severity.as_str(),
                md(&f.summary)
            );
            out.push_str("Evidence:\n\n");
            for (k, v) in evidence_pairs(f) {
                let _ = writeln!(out, "- {}: {}", md(&k), md(&v));
            }
            let _ = writeln!(out, "\n**Remedy:** {}\n", md(&f.remedy));
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
