//! The probe's report: JSON for scripts, and text a person reads in five seconds (verdict first,
//! then the evidence, then what to do). Every string in the report is already inert.

use std::fmt::Write;

use super::ProbeReport;
use super::idle::{ClosedBy, Watch};

pub fn json(report: &ProbeReport) -> String {
    // Serialising plain structs and maps cannot fail; fall back to an error object regardless.
    serde_json::to_string_pretty(report)
        .unwrap_or_else(|e| format!("{{\"error\": {:?}}}", e.to_string()))
}

pub fn text(report: &ProbeReport) -> String {
    let mut out = String::new();
    let h = &report.handshake;
    let _ = writeln!(out, "wscope probe {}", report.url);

    let status = h
        .status
        .map(|s| format!("{s} {}", h.status_text.as_deref().unwrap_or_default()));
    let verdict = match (status, h.ok) {
        (Some(s), true) => format!("upgrade OK: {}", s.trim_end()),
        (Some(s), false) => format!(
            "upgrade FAILED: {} ({})",
            s.trim_end(),
            h.failure.unwrap_or("refused")
        ),
        (None, _) => format!(
            "upgrade FAILED: no HTTP answer ({})",
            h.failure.unwrap_or("no-answer")
        ),
    };
    let _ = writeln!(out, "  handshake  {verdict}");
    let t = &h.timings_ms;
    let ms = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v} ms"));
    let peer = if h.peer.is_empty() {
        String::new()
    } else {
        format!("  ({})", h.peer)
    };
    let _ = writeln!(
        out,
        "  timings    dns {} · tcp {} · tls {} · upgrade {}{peer}",
        ms(t.dns),
        ms(t.tcp),
        ms(t.tls),
        ms(t.upgrade)
    );
    if !h.headers.is_empty() {
        let headers: Vec<String> = h.headers.iter().map(|(k, v)| format!("{k}: {v}")).collect();
        let _ = writeln!(out, "  headers    {}", headers.join(" · "));
    }
    if let Some(idle) = &report.idle {
        let _ = writeln!(out, "  idle       {}", describe_idle(idle));
    }
    if let Some(hb) = &report.heartbeat {
        let (w, every) = (&hb.watch, hb.ping_interval_seconds);
        let answered = format!("{} of {} pings answered", w.pongs_received, w.pings_sent);
        let verdict = if hb.kept_alive {
            format!(
                "pinging every {every:.1} s kept a second connection open {:.1} s ({answered})",
                w.survived_seconds
            )
        } else {
            format!(
                "pinging every {every:.1} s did NOT keep a second connection open ({answered}): {}",
                describe_idle(w)
            )
        };
        let _ = writeln!(out, "  heartbeat  {verdict}");
    }

    out.push('\n');
    if report.findings.is_empty() {
        let _ = writeln!(out, "{}", no_findings(report));
        return out;
    }
    for f in &report.findings {
        let _ = writeln!(
            out,
            "{} {}: {}",
            f.severity.as_str().to_uppercase(),
            f.id,
            f.summary
        );
        if let Some(likely) = f.evidence.get("likely").and_then(|v| v.as_array()) {
            let names: Vec<&str> = likely.iter().filter_map(|v| v.as_str()).collect();
            if names.len() > 1 {
                let _ = writeln!(out, "  likely: {}", names.join("; "));
            }
        }
        if let Some(body) = f.evidence.get("body").and_then(|v| v.as_str()) {
            let _ = writeln!(out, "  body: {body}");
        }
        for (i, line) in f.remedy.lines().flat_map(|l| wrap(l, WIDTH)).enumerate() {
            let _ = writeln!(out, "{}{line}", if i == 0 { "  fix: " } else { "       " });
        }
    }
    out
}

fn no_findings(report: &ProbeReport) -> String {
    match &report.idle {
        Some(w) if w.interrupted => format!(
            "No findings so far: the idle test was stopped after {:.1} s of {:.1} s.",
            w.survived_seconds, w.max_seconds
        ),
        Some(w) if w.closed_by == ClosedBy::Client => format!(
            "No findings: the upgrade works, and an idle connection stayed open {:.1} s.",
            w.survived_seconds
        ),
        Some(_) => "No findings: the upgrade works.".to_string(),
        None => "No findings: the upgrade works (idle test skipped).".to_string(),
    }
}

/// Remedy lines are wrapped to fit an 80-column terminal with the indent.
const WIDTH: usize = 72;

/// Greedy word wrap; a word longer than `width` gets a line of its own.
fn wrap(line: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut current = String::new();
    for word in line.split_whitespace() {
        if !current.is_empty() && current.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push(' ');
        }
        current.push_str(word);
    }
    lines.push(current);
    lines
}

fn describe_idle(w: &Watch) -> String {
    let activity = match (w.pings_received, w.messages_received) {
        (0, 0) => String::new(),
        (p, m) => format!(" ({p} pings and {m} messages from the server)"),
    };
    match w.closed_by {
        ClosedBy::Client if w.interrupted => format!(
            "still open after {:.1} s, stopped with Ctrl-C{activity}",
            w.survived_seconds
        ),
        ClosedBy::Client => format!(
            "still open after {:.1} s, closed by the probe{activity}",
            w.survived_seconds
        ),
        ClosedBy::Server => format!(
            "the server closed it after {:.1} s with {}{}{activity}",
            w.survived_seconds,
            w.close_code
                .map_or("no code".to_string(), |c| c.to_string()),
            w.close_reason
                .as_ref()
                .map(|r| format!(" {r:?}"))
                .unwrap_or_default()
        ),
        ClosedBy::None => format!(
            "CUT after {:.1} s, {:.1} s idle, without a close frame{activity}",
            w.survived_seconds, w.idle_seconds
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::wrap;

    #[test]
    fn wraps_at_word_boundaries() {
        assert_eq!(wrap("aa bb cc", 5), ["aa bb", "cc"]);
        assert_eq!(
            wrap("proxy_set_header Upgrade $http_upgrade;", 10)[0],
            "proxy_set_header"
        );
        assert_eq!(wrap("", 10), [""]);
    }
}
