//! `memory-growth`: a process whose memory rises while its open connections do not (leaked
//! buffers, listeners, timers), from `process` events.

use super::{Finding, Rule, Rules, Severity, on_server, round1, thresholds, worst_server};
use crate::model::{Model, Reading};
use crate::sanitize::inert;
use serde::Serialize;

const MIB: f64 = 1024.0 * 1024.0;

thresholds! {
    /// RSS rising apart from the open connections.
    pub struct MemoryGrowth {
        /// Over at least this many minutes of `process` events...
        min_minutes: f64 = 10.0,
        /// ...RSS rises by at least this share...
        min_rise_share: f64 = 0.20,
        /// ...and at least this many MiB...
        min_rise_mib: f64 = 64.0,
        /// ...while the open connections rise by less than this share.
        max_open_rise_share: f64 = 0.05,
    }
}

#[derive(Serialize)]
struct Evidence {
    server: String,
    rss_start_bytes: u64,
    rss_end_bytes: u64,
    mib_per_hour: f64,
    open_start: u64,
    open_end: u64,
    minutes: f64,
}

/// Whether the open connections rose by `max_share` or more between two readings.
fn opens_rose(first: &Reading, last: &Reading, max_share: f64) -> bool {
    last.open_conns > first.open_conns
        && (last.open_conns - first.open_conns) as f64 >= first.open_conns as f64 * max_share
}

impl Rule for MemoryGrowth {
    const ID: &'static str = "memory-growth";

    fn check(&self, m: &Model, _: &Rules) -> Option<Finding> {
        let e = worst_server(m, |p| &p.rss_bytes, |name, first, last, minutes| {
            let rise = last.value.saturating_sub(first.value) as f64;
            if minutes < self.min_minutes
                || rise < first.value as f64 * self.min_rise_share
                || rise < self.min_rise_mib * MIB
                || opens_rose(first, last, self.max_open_rise_share)
            {
                return None;
            }
            let per_hour = rise / MIB / (minutes / 60.0);
            let e = Evidence {
                server: inert(name).into_owned(),
                rss_start_bytes: first.value,
                rss_end_bytes: last.value,
                mib_per_hour: round1(per_hour),
                open_start: first.open_conns,
                open_end: last.open_conns,
                minutes: round1(minutes),
            };
            Some((per_hour, e))
        })?;
        let on = on_server(&e.server);
        let summary = format!(
            "Memory{on} rose from {:.0} to {:.0} MiB over {:.0} min ({:.0} MiB/h) while open connections went from {} to {}: memory that does not follow the sockets",
            e.rss_start_bytes as f64 / MIB,
            e.rss_end_bytes as f64 / MIB,
            e.minutes,
            e.mib_per_hour,
            e.open_start,
            e.open_end
        );
        Some(Finding::new(
            Self::ID,
            Severity::Warning,
            summary,
            &e,
            "Something per connection is kept after the socket is gone: listeners added on every connection and never removed, per-connection buffers or maps keyed by connection that are never deleted, timers holding closures. Take two heap snapshots some minutes apart (Node: --inspect and the Memory tab, or heapdump; Rust: heaptrack or dhat) and compare what grew; remove per-connection state in the close handler.",
        ))
    }
}
