//! `timer-leak`: per-connection timers that outlive their socket, a memory leak.

use super::{Finding, LIST_MAX, Rule, Rules, Severity, thresholds};
use crate::model::Model;
use crate::sanitize::inert;
use serde::Serialize;
use std::collections::BTreeMap;

thresholds! {
    /// Timers still running (or firing) after their connection closed.
    pub struct TimerLeak {
        /// A timer may run max(its interval, this many seconds) after the close.
        grace_secs: f64 = 5.0,
        /// Critical from this many leaked timers.
        critical_count: u64 = 100,
    }
}

#[derive(Serialize)]
struct Evidence {
    count: u64,
    timers: Vec<String>,
    by_kind: BTreeMap<String, u64>,
    still_running: u64,
    fired_after_close: u64,
}

impl Rule for TimerLeak {
    const ID: &'static str = "timer-leak";

    fn check(&self, m: &Model, _: &Rules) -> Option<Finding> {
        let mut live: Vec<_> = m.leaked_timers().collect();
        live.sort_by(|a, b| a.conn_closed.cmp(&b.conn_closed).then(a.id.cmp(&b.id)));
        let count = live.len() as u64 + m.timers.past_leaks_total;
        if count == 0 {
            return None;
        }
        let mut by_kind: BTreeMap<String, u64> = BTreeMap::new();
        let kinds = live
            .iter()
            .map(|t| t.kind)
            .chain(m.timers.past_leaks.iter().map(|p| p.kind));
        for kind in kinds {
            let name = kind.map_or("unknown", |k| m.strings.get(k));
            *by_kind.entry(inert(name).into_owned()).or_default() += 1;
        }
        let timers: Vec<String> = live
            .iter()
            .map(|t| &t.id)
            .chain(m.timers.past_leaks.iter().map(|p| &p.id))
            .take(LIST_MAX)
            .map(|id| inert(id).into_owned())
            .collect();
        let fired = live.iter().filter(|t| t.fires_after_close > 0).count() as u64;
        let severity = if count >= self.critical_count {
            Severity::Critical
        } else {
            Severity::Warning
        };
        let evidence = Evidence {
            count,
            timers,
            by_kind,
            still_running: live.len() as u64,
            fired_after_close: fired,
        };
        Some(Finding::new(
            Self::ID,
            severity,
            format!(
                "{count} {} outlived {} connection ({} still running, {fired} fired after the close): a memory leak",
                if count == 1 { "timer" } else { "timers" },
                if count == 1 { "its" } else { "their" },
                live.len()
            ),
            &evidence,
            "Clear every per-connection timer and listener in the socket's close handler (clearInterval / AbortController in Node, drop the task handle or guard in Rust); a timer that keeps a socket reachable keeps its buffers alive too.",
        ))
    }
}
