//! `fd-leak`: descriptors beyond the open sockets that keep rising (sockets closed in the
//! protocol but never in the process), from `process` events.

use super::{Finding, Rule, Rules, Severity, on_server, round1, thresholds, worst_server};
use crate::model::{Model, Reading};
use crate::sanitize::inert;
use serde::Serialize;

thresholds! {
    /// Descriptors beyond the open connections, rising.
    pub struct FdLeak {
        /// Over at least this many minutes of `process` events...
        min_minutes: f64 = 10.0,
        /// ...the excess descriptors rise by at least this many...
        min_rise: u64 = 100,
        /// ...and at least this share.
        min_rise_share: f64 = 0.20,
    }
}

#[derive(Serialize)]
struct Evidence {
    server: String,
    excess_start: u64,
    excess_end: u64,
    per_hour: f64,
    minutes: f64,
    open_fds_end: u64,
    open_end: u64,
}

/// Descriptors held beyond one per open connection.
fn excess(r: &Reading) -> u64 {
    r.value.saturating_sub(r.open_conns)
}

impl Rule for FdLeak {
    const ID: &'static str = "fd-leak";

    fn check(&self, m: &Model, _: &Rules) -> Option<Finding> {
        let e = worst_server(m, |p| &p.open_fds, |name, first, last, minutes| {
            let (start, end) = (excess(first), excess(last));
            let rise = end.saturating_sub(start);
            if minutes < self.min_minutes
                || rise < self.min_rise
                || (rise as f64) < start as f64 * self.min_rise_share
            {
                return None;
            }
            let per_hour = rise as f64 / (minutes / 60.0);
            let e = Evidence {
                server: inert(name).into_owned(),
                excess_start: start,
                excess_end: end,
                per_hour: round1(per_hour),
                minutes: round1(minutes),
                open_fds_end: last.value,
                open_end: last.open_conns,
            };
            Some((per_hour, e))
        })?;
        let on = on_server(&e.server);
        let summary = format!(
            "Descriptors beyond the open connections{on} rose from {} to {} over {:.0} min ({:.0}/h): sockets or files that are never closed",
            e.excess_start, e.excess_end, e.minutes, e.per_hour
        );
        Some(Finding::new(
            Self::ID,
            Severity::Warning,
            summary,
            &e,
            "Connections end in the protocol but their descriptors stay open: make sure the socket is destroyed on close and on error (Node: socket.destroy() / ws.terminate() in error handlers; Rust: drop the stream, do not park it in a map). `ls -l /proc/PID/fd` or `lsof -p PID` shows what the extra descriptors are. Until fixed, raise `ulimit -n` so the process does not hit EMFILE.",
        ))
    }
}
