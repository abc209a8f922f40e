//! Heartbeats that are missing, or that go unanswered.

use super::round1;
use crate::findings::{Finding, Severity, Thresholds};
use crate::model::Model;
use crate::sanitize::inert;

pub fn heartbeat_missing(m: &Model, t: &Thresholds) -> Option<Finding> {
    let now = m.now();
    let pings_seen: u64 = m.servers.iter().map(|s| s.pings).sum();
    let mut worst: Option<(f64, bool)> = None; // (seconds unpinged, server has a heartbeat)
    for (id, s) in m.servers.iter().enumerate() {
        let open = m.conns.iter().filter(|c| c.server as usize == id);
        match s.heartbeat {
            None if s.pings == 0 => {
                let longest = open
                    .map(|c| now.secs_since(c.opened))
                    .fold(s.longest_lived, f64::max);
                if longest >= t.unpinged_min_secs {
                    worst = Some((longest.max(worst.map_or(0.0, |w| w.0)), false));
                }
            }
            None => {}
            Some(hb) => {
                let limit = (2.0 * hb.ping_interval_ms as f64 / 1000.0).max(t.unpinged_min_secs);
                let longest = open
                    .map(|c| now.secs_since(c.unpinged_since()))
                    .fold(s.longest_unpinged, f64::max);
                if longest > limit && worst.is_none_or(|w| longest > w.0) {
                    worst = Some((longest, true));
                }
            }
        }
    }
    let (longest, configured) = worst?;
    let summary = if configured {
        format!(
            "A connection went {longest:.0} s without a ping although the server announces a heartbeat: pings stopped or are not sent to every connection"
        )
    } else {
        format!(
            "No heartbeat: connections stayed open up to {longest:.0} s and no ping was ever sent, so dead peers go unnoticed"
        )
    };
    Some(
        Finding::new("heartbeat-missing", Severity::Warning, summary)
            .evidence("pings_seen", pings_seen)
            .evidence("longest_unpinged_seconds", round1(longest))
            .evidence("heartbeat_configured", configured)
            .remedy(
                "Have the server ping every connection on a fixed interval (e.g. 25-30 s, shorter than every proxy's idle timeout) and terminate connections whose pong does not arrive within a timeout. Prefer server-sent pings: browsers throttle timers in hidden tabs, which breaks client-sent heartbeats.",
            ),
    )
}

pub fn zombie_connections(m: &Model, t: &Thresholds) -> Option<Finding> {
    let mut zombies: Vec<(&str, f64)> = m.zombies().map(|(c, age)| (c.id.as_str(), age)).collect();
    if zombies.is_empty() {
        return None;
    }
    zombies.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(b.0)));
    let max_age = zombies[0].1;
    let conns: Vec<String> = zombies
        .iter()
        .take(t.evidence_list_max)
        .map(|(id, _)| inert(id).into_owned())
        .collect();
    Some(
        Finding::new(
            "zombie-connections",
            Severity::Warning,
            format!(
                "{} open connections stopped answering pings (oldest pong {max_age:.0} s ago) and are still held open",
                zombies.len()
            ),
        )
        .evidence("count", zombies.len())
        .evidence("conns", conns)
        .evidence("max_pong_age_seconds", round1(max_age))
        .remedy(
            "Terminate a connection when its pong is overdue (ping interval + pong timeout), as the `ws` documentation's heartbeat example does; each zombie holds memory, a file descriptor and any timers until then.",
        ),
    )
}
