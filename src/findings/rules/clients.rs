//! Client behaviour: reconnect loops, missing backoff, mobile apps losing their sockets.

use super::round2;
use crate::findings::{Finding, Severity, Thresholds};
use crate::model::{LoopingClient, Model};
use crate::sanitize::inert;
use serde_json::{Value, json};

fn client_list(clients: &[&LoopingClient], max: usize) -> Vec<Value> {
    clients
        .iter()
        .take(max)
        .map(|c| json!({"identity": inert(c.identity.trim()), "opens": c.opens}))
        .collect()
}

fn by_opens(m: &Model) -> Vec<&LoopingClient> {
    let mut v: Vec<_> = m.clients.looping().collect();
    v.sort_by(|a, b| b.opens.cmp(&a.opens).then(a.identity.cmp(&b.identity)));
    v
}

pub fn reconnect_loop(m: &Model, t: &Thresholds) -> Option<Finding> {
    let clients = by_opens(m);
    let count = m.clients.looping_count();
    if count == 0 {
        return None;
    }
    let severity = if count >= t.loop_critical_clients {
        Severity::Critical
    } else {
        Severity::Warning
    };
    Some(
        Finding::new(
            "reconnect-loop",
            severity,
            format!("{count} clients reconnect in a loop: 5 or more connections within 60 s, each lasting under 10 s"),
        )
        .evidence("clients", client_list(&clients, t.evidence_list_max))
        .evidence("count", count)
        .remedy(
            "Find why these connections end right after opening (the close codes and reasons of these clients, an auth or protocol error, a server that closes with 4xxx) and fix it; make clients back off exponentially with jitter and stop retrying on errors that will not go away.",
        ),
    )
}

fn median(v: &mut [f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

pub fn no_backoff(m: &Model, t: &Thresholds) -> Option<Finding> {
    let flat: Vec<&LoopingClient> = by_opens(m)
        .into_iter()
        .filter(|c| {
            c.gaps.len() >= t.backoff_min_reconnects
                && c.gaps.last().copied().unwrap_or(0.0) < t.backoff_growth * c.gaps[0]
        })
        .collect();
    if flat.is_empty() {
        return None;
    }
    let mut gaps: Vec<f64> = flat.iter().flat_map(|c| c.gaps.iter().copied()).collect();
    let median_gap = median(&mut gaps).unwrap_or(0.0);
    Some(
        Finding::new(
            "no-backoff",
            Severity::Warning,
            format!(
                "{} looping clients reconnect at a steady {median_gap:.1} s with no backoff, hammering the server",
                flat.len()
            ),
        )
        .evidence("clients", client_list(&flat, t.evidence_list_max))
        .evidence("count", flat.len())
        .evidence("median_gap_seconds", round2(median_gap))
        .remedy(
            "Reconnect with exponential backoff and full jitter (e.g. wait random(0, min(30 s, 0.5 s × 2^attempt))), reset only after a connection has stayed up for a while; a fixed retry interval turns every outage into a thundering herd.",
        ),
    )
}

pub fn mobile_background(m: &Model, t: &Thresholds) -> Option<Finding> {
    let s = m.mobile;
    if s.mobile_closes < t.mobile_min_closes {
        return None;
    }
    let ratio = |closes: u64, opens: u64| {
        if opens == 0 {
            0.0
        } else {
            closes as f64 / opens as f64
        }
    };
    let mobile_ratio = ratio(s.mobile_closes, s.mobile_opens);
    let other_ratio = ratio(s.other_closes, s.other_opens);
    // With too few other connections there is nothing to compare with (see DESIGN.md).
    let by_ratio =
        s.other_opens >= t.mobile_min_closes && mobile_ratio >= t.mobile_ratio * other_ratio;
    let by_background = s.mobile_cuts > 0
        && s.cuts_after_background as f64 >= s.mobile_cuts as f64 * t.mobile_after_background_share;
    if !(by_ratio || by_background) {
        return None;
    }
    let summary = if by_background {
        format!(
            "{} of {} mobile connections cut came within 120 s of the app going to the background",
            s.cuts_after_background, s.mobile_cuts
        )
    } else {
        format!(
            "Mobile connections close {mobile_ratio:.2} per open against {other_ratio:.2} for the others"
        )
    };
    Some(
        Finding::new("mobile-background", Severity::Warning, summary)
            .evidence("mobile_close_ratio", round2(mobile_ratio))
            .evidence("other_close_ratio", round2(other_ratio))
            .evidence("after_background", s.cuts_after_background)
            .evidence("mobile_cuts", s.mobile_cuts)
            .evidence("mobile_closes", s.mobile_closes)
            .remedy(
                "Mobile OSes suspend backgrounded apps and their sockets: close the socket cleanly on background (1000/1001), reconnect and resync on foreground with backoff, and deliver what matters while away by push notifications; server-side, expire such sessions quickly instead of holding zombies.",
            ),
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn median_works() {
        assert_eq!(super::median(&mut [3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(super::median(&mut [4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(super::median(&mut []), None);
    }
}
