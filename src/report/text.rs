//! `report --format text`: for a person at a terminal; the findings first.

use super::{Report, code_label, count_of, evidence_pairs};
use std::fmt::Write;

pub fn render(r: &Report) -> String {
    let mut out = String::new();
    heading(&mut out, r);
    out.push('\n');
    findings(&mut out, r);
    out.push('\n');
    connections(&mut out, r);
    out
}

/// What was read: the time span, the counts, the servers.
fn heading(out: &mut String, r: &Report) {
    let span = r
        .span_text()
        .map(|(from, to)| format!("{from} → {to} ({})", r.duration_text()))
        .unwrap_or_else(|| "no events".into());
    let _ = writeln!(out, "wscope report  {span}");
    let _ = writeln!(
        out,
        "{}, {}, {} dropped by the feed",
        count_of(r.events, "event", "events"),
        count_of(r.skipped_lines, "skipped line", "skipped lines"),
        r.dropped_events
    );
    let servers = r.server_lines();
    if servers.len() == 1 {
        let _ = writeln!(out, "server {}", servers[0]);
    } else if !servers.is_empty() {
        out.push_str("SERVERS\n");
        for s in servers {
            let _ = writeln!(out, "  {s}");
        }
    }
}

fn findings(out: &mut String, r: &Report) {
    if r.findings.is_empty() {
        out.push_str("FINDINGS  none: nothing explains disconnects in this data\n");
    } else {
        let _ = writeln!(out, "FINDINGS ({})", r.findings.len());
        for f in &r.findings {
            let _ = writeln!(
                out,
                "  {:<8} {}\n           {}",
                f.severity.as_str().to_uppercase(),
                f.id,
                f.summary
            );
            if let Some(holds) = r.where_it_holds(f.id) {
                let _ = writeln!(out, "           where:    {holds}");
            }
            let evidence = evidence_pairs(f)
                .into_iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("  ");
            let _ = writeln!(out, "           evidence: {evidence}");
            let _ = writeln!(out, "           remedy:   {}", f.remedy);
        }
    }
}

/// Connections, close codes, refused upgrades and what did not fit the state.
fn connections(out: &mut String, r: &Report) {
    let c = &r.connections;
    let from_snapshot = if c.open_from_snapshot > 0 {
        format!(
            " ({} listed by a snapshot, opened before the log)",
            c.open_from_snapshot
        )
    } else {
        String::new()
    };
    let _ = writeln!(
        out,
        "CONNECTIONS  opened {}  closed {}  open at end {}{from_snapshot}  peak open {}",
        c.opened, c.closed, c.open_at_end, c.peak_open
    );
    let codes = r.codes_by_count();
    if codes.is_empty() {
        out.push_str("CLOSE CODES  none\n");
    } else {
        out.push_str("CLOSE CODES\n");
        for (code, n) in codes {
            let _ = writeln!(
                out,
                "  {:<40} {:>9}  ({})",
                code_label(code),
                n,
                r.initiators(code)
            );
        }
    }
    if !r.upgrade_rejected.is_empty() {
        let parts: Vec<String> = r
            .upgrade_rejected
            .iter()
            .map(|(s, n)| format!("{s}: {n}"))
            .collect();
        let _ = writeln!(out, "UPGRADE REJECTED  {}", parts.join("  "));
    }
    if r.unknown_types > 0 || r.contradictions > 0 {
        let _ = writeln!(
            out,
            "NOTES  {} events of unknown type skipped, {} events contradicted the state",
            r.unknown_types, r.contradictions
        );
    }
}
