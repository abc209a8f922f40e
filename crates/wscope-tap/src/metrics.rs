//! `/metrics` in the Prometheus text exposition format (version 0.0.4).

use super::state::TapState;
use std::fmt::Write;
use wscope_protocol::Ts;

/// Upper bounds (seconds) of the `ws_pong_age_seconds` buckets.
const PONG_AGE_BUCKETS: [f64; 9] = [1.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0];

pub(crate) fn render(state: &TapState, now: Ts, feed_dropped: u64) -> String {
    let mut out = String::with_capacity(2048);
    let _ = write_all(&mut out, state, now, feed_dropped);
    out
}

fn write_all(out: &mut String, state: &TapState, now: Ts, feed_dropped: u64) -> std::fmt::Result {
    writeln!(
        out,
        "# HELP ws_connections_active WebSocket connections open now."
    )?;
    writeln!(out, "# TYPE ws_connections_active gauge")?;
    writeln!(out, "ws_connections_active {}", state.feed.conns.len())?;

    writeln!(
        out,
        "# HELP ws_disconnects_total Closed connections by close code (as received) and initiator."
    )?;
    writeln!(out, "# TYPE ws_disconnects_total counter")?;
    let mut disconnects: Vec<_> = state.disconnects.iter().collect();
    disconnects.sort_by_key(|((code, init), _)| (*code, *init));
    for ((code, initiator), n) in disconnects {
        let code = code.map_or("none".to_string(), |c| c.to_string());
        let initiator = initiator.map_or("unknown", |i| i.as_str());
        writeln!(
            out,
            "ws_disconnects_total{{code=\"{code}\",initiator=\"{initiator}\"}} {n}"
        )?;
    }

    writeln!(
        out,
        "# HELP ws_upgrade_rejected_total Upgrade requests refused before a WebSocket existed."
    )?;
    writeln!(out, "# TYPE ws_upgrade_rejected_total counter")?;
    let mut rejected: Vec<_> = state.rejected.iter().collect();
    rejected.sort();
    for (status, n) in rejected {
        let status = status.map_or("none".to_string(), |s| s.to_string());
        writeln!(out, "ws_upgrade_rejected_total{{status=\"{status}\"}} {n}")?;
    }

    // Computed at scrape time over the open connections: how long since each last answered
    // a ping (or, never having answered, since it opened).
    writeln!(
        out,
        "# HELP ws_pong_age_seconds Time since the last pong of each open connection (since open when none yet), at scrape time."
    )?;
    writeln!(out, "# TYPE ws_pong_age_seconds histogram")?;
    let mut buckets = [0u64; PONG_AGE_BUCKETS.len()];
    let mut sum = 0.0;
    for c in state.feed.conns.values() {
        let age = now.secs_since(c.last_pong.unwrap_or(c.opened)).max(0.0);
        sum += age;
        for (i, le) in PONG_AGE_BUCKETS.iter().enumerate() {
            if age <= *le {
                buckets[i] += 1;
            }
        }
    }
    for (le, n) in PONG_AGE_BUCKETS.iter().zip(buckets) {
        writeln!(out, "ws_pong_age_seconds_bucket{{le=\"{le}\"}} {n}")?;
    }
    let count = state.feed.conns.len();
    writeln!(out, "ws_pong_age_seconds_bucket{{le=\"+Inf\"}} {count}")?;
    writeln!(out, "ws_pong_age_seconds_sum {sum}")?;
    writeln!(out, "ws_pong_age_seconds_count {count}")?;

    writeln!(
        out,
        "# HELP ws_timers_active Per-connection timers started and not cleared."
    )?;
    writeln!(out, "# TYPE ws_timers_active gauge")?;
    writeln!(out, "ws_timers_active {}", state.feed.timers.len())?;

    writeln!(
        out,
        "# HELP wscope_feed_dropped_total Events left out for feed subscribers that could not keep up."
    )?;
    writeln!(out, "# TYPE wscope_feed_dropped_total counter")?;
    writeln!(out, "wscope_feed_dropped_total {feed_dropped}")?;
    Ok(())
}
