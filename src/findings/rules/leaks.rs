//! Memory leaks: per-connection timers that outlive their socket.

use crate::findings::{Finding, Severity, Thresholds};
use crate::model::Model;
use crate::sanitize::inert;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

pub fn timer_leak(m: &Model, t: &Thresholds) -> Option<Finding> {
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
        .take(t.evidence_list_max)
        .map(|id| inert(id).into_owned())
        .collect();
    let fired = live.iter().filter(|t| t.fires_after_close > 0).count();
    let severity = if count >= t.leak_critical {
        Severity::Critical
    } else {
        Severity::Warning
    };
    let by_kind: Map<String, Value> = by_kind.into_iter().map(|(k, n)| (k, json!(n))).collect();
    Some(
        Finding::new(
            "timer-leak",
            severity,
            format!(
                "{count} timers outlived their connection ({} still running, {fired} fired after the close): a memory leak",
                live.len()
            ),
        )
        .evidence("count", count)
        .evidence("timers", timers)
        .evidence("by_kind", by_kind)
        .evidence("still_running", live.len())
        .remedy(
            "Clear every per-connection timer and listener in the socket's close handler (clearInterval / AbortController in Node, drop the task handle or guard in Rust); a timer that keeps a socket reachable keeps its buffers alive too.",
        ),
    )
}
