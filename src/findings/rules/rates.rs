//! Rates and counts: disconnect spikes, restarts, server errors, oversized messages, gaps.

use super::round1;
use crate::findings::{Finding, Severity, Thresholds};
use crate::model::{CloseStats, Model};

pub fn high_disconnect_rate(m: &Model, t: &Thresholds) -> Option<Finding> {
    let buckets = m.closes.buckets();
    let origin = m.closes.origin()?;
    let mut peak: Option<(usize, u64, f64)> = None;
    for i in 0..buckets.len() {
        let (closes, pct) = m.closes.window(i);
        if closes >= t.rate_min_closes
            && pct > t.rate_alarm_pct
            && peak.is_none_or(|(_, _, p)| pct > p)
        {
            peak = Some((i, closes, pct));
        }
    }
    let (i, closes, pct) = peak?;
    // The window is 60 s wide; point at its first bucket that has closes.
    let first = (i..buckets.len())
        .find(|&b| buckets[b].closes > 0)
        .unwrap_or(i);
    let at = origin.plus_nanos(first as i64 * crate::model::closes::BUCKET);
    let severity = if pct > t.rate_critical_pct {
        Severity::Critical
    } else {
        Severity::Warning
    };
    Some(
        Finding::new(
            "high-disconnect-rate",
            severity,
            format!("{closes} disconnects in one minute from {}: {pct:.1} % of open connections (alarm at 5 %/min)", at.clock()),
        )
        .evidence("peak_pct_per_min", round1(pct))
        .evidence("at", at.to_rfc3339())
        .evidence("closes", closes)
        .remedy("Look at what else fired in that minute (close codes, idle timeouts, restarts, reconnect loops): a disconnect spike is a symptom; the other findings name its cause."),
    )
}

pub fn server_restart(m: &Model, t: &Thresholds) -> Option<Finding> {
    let w = &m.restart;
    if w.peak < t.restart_min_closes {
        return None;
    }
    let at = w.peak_at?;
    Some(
        Finding::new(
            "server-restart",
            Severity::Info,
            format!("{} connections closed by the server with 1001 (going away) within 10 s at {}: a restart or deploy", w.peak, at.clock()),
        )
        .evidence("count", w.peak)
        .evidence("at", at.to_rfc3339())
        .remedy("Expected during deploys. Drain gracefully: stop accepting, close with 1001 spread over some seconds, and make sure clients reconnect with jitter so the restart does not become a reconnect storm."),
    )
}

fn code_count(m: &Model, code: u16) -> u64 {
    CloseStats::by_code(&m.closes.all_time)
        .get(&code)
        .copied()
        .unwrap_or(0)
}

pub fn server_errors(m: &Model, t: &Thresholds) -> Option<Finding> {
    let count = code_count(m, 1011);
    if count < t.server_errors_min {
        return None;
    }
    Some(
        Finding::new(
            "server-errors",
            Severity::Warning,
            format!("{count} connections closed with 1011 (internal error): the server's handler failed"),
        )
        .evidence("count", count)
        .evidence("errors", m.counters.errors)
        .remedy("Check the server's logs and `error` events around these closes: 1011 means an exception in the connection handler."),
    )
}

pub fn message_too_big(m: &Model, _t: &Thresholds) -> Option<Finding> {
    let count = code_count(m, 1009);
    if count == 0 {
        return None;
    }
    Some(
        Finding::new(
            "message-too-big",
            Severity::Warning,
            format!("{count} connections closed with 1009: a message exceeded the size limit"),
        )
        .evidence("count", count)
        .remedy("Raise the maximum message size where it is too small (ws: maxPayload, tungstenite: max_message_size, proxies' buffer limits) or split large payloads into smaller messages."),
    )
}

pub fn feed_incomplete(m: &Model, _t: &Thresholds) -> Option<Finding> {
    let dropped = m.dropped();
    let skipped = m.counters.skipped_lines;
    if dropped == 0 && skipped == 0 {
        return None;
    }
    Some(
        Finding::new(
            "feed-incomplete",
            Severity::Info,
            format!("The data is incomplete: {dropped} events dropped by the feed, {skipped} log lines skipped; counts may be low"),
        )
        .evidence("dropped_events", dropped)
        .evidence("skipped_lines", skipped)
        .remedy("A viewer that cannot keep up loses events (the server never waits): attach closer to the server, or record with `wscope attach --headless --record` and analyse the log. Skipped lines are listed by `wscope report --verbose`."),
    )
}
