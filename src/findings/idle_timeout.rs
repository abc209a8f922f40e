//! `idle-timeout`: connections cut after the same time without traffic, the mark of an
//! intermediary's idle timeout (nginx `proxy_read_timeout`, a load balancer's idle timeout).

use super::culprits::idle_culprits;
use super::{Finding, Rule, Rules, Severity, count, round1, thresholds};
use crate::model::{Cluster, Model};
use serde::Serialize;

thresholds! {
    /// Cuts (1006, initiator `none`) clustered around one idle time D.
    pub struct IdleTimeout {
        /// The cluster holds at least this many cuts...
        min_cuts: u64 = 10,
        /// ...and at least this share of all cuts.
        min_share: f64 = 0.5,
        /// The cluster is D ± this fraction of D...
        tolerance: f64 = 0.10,
        /// ...and at least ± this many seconds.
        tolerance_min_secs: f64 = 1.0,
        /// D is at least this many seconds.
        min_secs: f64 = 2.0,
        /// Critical when the cluster is at least this share of all closes.
        critical_share: f64 = 0.20,
    }
}

#[derive(Serialize)]
struct Evidence {
    idle_seconds: f64,
    count: u64,
    /// Every cut, in the cluster or not: how strong the cluster is.
    cuts: u64,
    /// The cluster's half width: the cuts came within D ± this.
    spread_seconds: f64,
    ping_interval_seconds: Option<f64>,
    likely: Vec<&'static str>,
}

impl IdleTimeout {
    /// The cluster of cut idle times this finding fires on, if it fires.
    pub fn cluster(&self, m: &Model) -> Option<Cluster> {
        let cuts = m.cut_idle.total();
        let c = m
            .cut_idle
            .densest(self.tolerance, self.tolerance_min_secs, self.min_secs)?;
        (c.count >= self.min_cuts && c.count as f64 >= cuts as f64 * self.min_share).then_some(c)
    }
}

/// The ping interval of the first server that announced one, in seconds.
fn ping_interval(m: &Model) -> Option<f64> {
    m.servers
        .iter()
        .find_map(|s| s.heartbeat)
        .map(|h| h.ping_interval_ms as f64 / 1000.0)
}

impl Rule for IdleTimeout {
    const ID: &'static str = "idle-timeout";

    fn check(&self, m: &Model, _: &Rules) -> Option<Finding> {
        let cluster = self.cluster(m)?;
        let cuts = m.cut_idle.total();
        let d = cluster.center;
        let share_of_closes = cluster.count as f64 / m.closed().max(1) as f64;
        let severity = if share_of_closes >= self.critical_share {
            Severity::Critical
        } else {
            Severity::Warning
        };
        let interval = ping_interval(m);
        let likely = idle_culprits(d);
        let spread = round1(cluster.half_width);
        let mut summary = format!(
            "{} of {} came after {d:.1} s (± {spread:.1} s) without traffic: an idle timeout between client and server",
            cluster.count,
            count(cuts, "cut"),
        );
        if let Some(first) = likely.first() {
            summary.push_str(&format!(" (likely {first})"));
        }
        let evidence = Evidence {
            idle_seconds: d,
            count: cluster.count,
            cuts,
            spread_seconds: spread,
            ping_interval_seconds: interval,
            likely,
        };
        Some(Finding::new(
            Self::ID,
            severity,
            summary,
            &evidence,
            remedy(d, interval),
        ))
    }
}

/// What to do about an idle timeout of `d` seconds, given the server's ping interval (if it
/// announced one). `probe` gives the same advice for the cut it saw.
pub fn remedy(d: f64, ping_interval: Option<f64>) -> String {
    let every = (d / 2.0).floor().max(1.0);
    let heartbeat = match ping_interval {
        Some(i) if i >= d => format!(
            "The server pings every {i:.0} s, longer than the {d:.0} s idle limit: ping every {every:.0} s or less."
        ),
        Some(i) => format!(
            "The server pings every {i:.0} s, but pings do not reach the intermediary that cuts at {d:.0} s: check that pings are really sent (and on every path), or count application messages as activity."
        ),
        None => format!("The server sends no pings: send WebSocket pings every {every:.0} s or less."),
    };
    format!(
        "{heartbeat} Or raise the intermediary's idle timeout above the heartbeat interval (nginx: proxy_read_timeout / proxy_send_timeout; AWS ALB: idle_timeout.timeout_seconds; Cloudflare: cannot be raised, so the heartbeat must be shorter than 100 s)."
    )
}
