//! `heartbeat-missing`: connections left unpinged, so dead peers and idle cuts go unnoticed.

use super::{Finding, Rule, Rules, Severity, round1, thresholds};
use crate::model::Model;
use serde::Serialize;

thresholds! {
    /// Connections open (or unpinged) this long with no ping.
    pub struct HeartbeatMissing {
        /// Unpinged for at least this many seconds (and, with a heartbeat announced, over
        /// `interval_multiple` × its interval).
        min_secs: f64 = 60.0,
        interval_multiple: f64 = 2.0,
    }
}

#[derive(Serialize)]
struct Evidence {
    pings_seen: u64,
    longest_unpinged_seconds: f64,
    heartbeat_configured: bool,
    /// The connection unpinged longest (open or closed).
    conn: Option<String>,
}

impl Rule for HeartbeatMissing {
    const ID: &'static str = "heartbeat-missing";

    fn check(&self, m: &Model, _: &Rules) -> Option<Finding> {
        let now = m.now();
        let pings_seen: u64 = m.servers.iter().map(|s| s.pings).sum();
        // (seconds unpinged, heartbeat announced, the connection it was)
        let mut worst: Option<(f64, bool, Option<&str>)> = None;
        for (id, s) in m.servers.iter().enumerate() {
            let open = m.conns.iter().filter(|c| c.server as usize == id);
            let (longest, conn, configured) = match s.heartbeat {
                None if s.pings == 0 => {
                    let (secs, conn) = longest(open.map(|c| (now.secs_since(c.opened), &*c.id)));
                    let conn = if secs >= s.longest_lived { conn } else { s.longest_lived_conn.as_deref() };
                    (secs.max(s.longest_lived), conn, false)
                }
                None => continue,
                Some(hb) => {
                    let open = open.map(|c| (now.secs_since(c.unpinged_since()), &*c.id));
                    let (secs, conn) = longest(open);
                    let intervals = self.interval_multiple * hb.ping_interval_ms as f64 / 1000.0;
                    if secs.max(s.longest_unpinged) <= intervals {
                        continue;
                    }
                    let conn = if secs >= s.longest_unpinged {
                        conn
                    } else {
                        s.longest_unpinged_conn.as_deref()
                    };
                    (secs.max(s.longest_unpinged), conn, true)
                }
            };
            if longest >= self.min_secs && worst.is_none_or(|w| longest > w.0) {
                worst = Some((longest, configured, conn));
            }
        }
        let (longest, configured, conn) = worst?;
        let which = conn.map_or(String::new(), |c| format!(" ({})", crate::sanitize::inert(c)));
        let summary = if configured {
            format!(
                "A connection{which} went {longest:.0} s without a ping although the server announces a heartbeat: pings stopped or are not sent to every connection"
            )
        } else {
            format!(
                "No heartbeat: connections stayed open up to {longest:.0} s{which} and no ping was ever sent, so dead peers go unnoticed"
            )
        };
        let evidence = Evidence {
            pings_seen,
            longest_unpinged_seconds: round1(longest),
            heartbeat_configured: configured,
            conn: conn.map(|c| crate::sanitize::inert(c).into_owned()),
        };
        Some(Finding::new(
            Self::ID,
            Severity::Warning,
            summary,
            &evidence,
            "Have the server ping every connection on a fixed interval (e.g. 25-30 s, shorter than every proxy's idle timeout) and terminate connections whose pong does not arrive within a timeout. Prefer server-sent pings: browsers throttle timers in hidden tabs, which breaks client-sent heartbeats.",
        ))
    }
}

/// The largest of (seconds, id) pairs; ties go to the smaller id, so the result is stable.
fn longest<'a>(it: impl Iterator<Item = (f64, &'a str)>) -> (f64, Option<&'a str>) {
    it.fold((0.0, None), |best, (secs, id)| match best {
        (b, Some(bid)) if b > secs || (b == secs && bid <= id) => best,
        _ => (secs, Some(id)),
    })
}
