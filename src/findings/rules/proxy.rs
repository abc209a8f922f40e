//! Causes in the proxies and load balancers in front of the server.

use super::round1;
use crate::findings::culprits::{idle_culprits, lifetime_culprits};
use crate::findings::{Finding, Severity, Thresholds};
use crate::model::Model;
use serde_json::{Value, json};

/// The ping interval of the first server that announced one, in seconds.
fn ping_interval(m: &Model) -> Option<f64> {
    m.servers
        .iter()
        .find_map(|s| s.heartbeat)
        .map(|h| h.ping_interval_ms as f64 / 1000.0)
}

pub fn idle_timeout(m: &Model, t: &Thresholds) -> Option<Finding> {
    let cuts = m.cut_idle.total();
    if cuts < t.idle_min_cuts {
        return None;
    }
    let cluster =
        m.cut_idle
            .densest(t.idle_tolerance, t.idle_tolerance_min_secs, t.idle_min_secs)?;
    if (cluster.count as f64) < cuts as f64 * t.idle_cluster_share {
        return None;
    }
    let d = cluster.center;
    let share_of_closes = cluster.count as f64 / m.closed.max(1) as f64;
    let severity = if share_of_closes >= t.idle_critical_share_of_closes {
        Severity::Critical
    } else {
        Severity::Warning
    };
    let interval = ping_interval(m);
    let likely = idle_culprits(d);
    let mut summary = format!(
        "{} connections were cut after {d:.1} s without traffic: an idle timeout between client and server",
        cluster.count
    );
    if let Some(first) = likely.first() {
        summary.push_str(&format!(" (likely {first})"));
    }
    let heartbeat_advice = match interval {
        Some(i) if i >= d => format!(
            "The server pings every {i:.0} s, longer than the {d:.0} s idle limit: ping every {:.0} s or less.",
            (d / 2.0).floor().max(1.0)
        ),
        Some(i) => format!(
            "The server pings every {i:.0} s, but pings do not reach the intermediary that cuts at {d:.0} s: check that pings are really sent (and on every path), or count application messages as activity."
        ),
        None => format!(
            "The server sends no pings: send WebSocket pings every {:.0} s or less.",
            (d / 2.0).floor().max(1.0)
        ),
    };
    Some(
        Finding::new("idle-timeout", severity, summary)
            .evidence("idle_seconds", d)
            .evidence("count", cluster.count)
            .evidence("cuts", cuts)
            .evidence("ping_interval_seconds", interval.map_or(Value::Null, |i| json!(i)))
            .evidence("likely", likely)
            .remedy(format!(
                "{heartbeat_advice} Or raise the intermediary's idle timeout above the heartbeat interval (nginx: proxy_read_timeout / proxy_send_timeout; AWS ALB: idle_timeout.timeout_seconds; Cloudflare: cannot be raised, so the heartbeat must be shorter than 100 s)."
            )),
    )
}

pub fn lifetime_cap(m: &Model, t: &Thresholds) -> Option<Finding> {
    let n = m.cap_candidates;
    if n < t.cap_min_closes {
        return None;
    }
    let cluster = m
        .busy_close_age
        .densest(t.cap_tolerance, 1.0, t.cap_min_secs)?;
    if (cluster.count as f64) < n as f64 * 0.5 {
        return None;
    }
    let l = round1(cluster.center);
    let likely = lifetime_culprits(l);
    let mut summary = format!(
        "{} busy connections ended at the same age, {l:.1} s: something caps connection lifetime",
        cluster.count
    );
    if let Some(first) = likely.first() {
        summary.push_str(&format!(" (likely {first})"));
    }
    Some(
        Finding::new("lifetime-cap", Severity::Warning, summary)
            .evidence("lifetime_seconds", l)
            .evidence("count", cluster.count)
            .evidence("likely", likely)
            .remedy(
                "Find the component that ends connections at this age (load balancer or gateway maximum connection duration, backend timeout, a server-side session limit) and raise it, or make clients reconnect gracefully before it (close with 1000/1001 and reconnect without losing state).",
            ),
    )
}

fn reject_remedy(by_status: &std::collections::BTreeMap<u16, u64>) -> String {
    let top = by_status.iter().max_by_key(|(_, n)| **n).map(|(s, _)| *s);
    match top {
        Some(400) | Some(426) => "The upgrade reaches the backend without its Upgrade/Connection headers: a proxy does not forward them. nginx: `proxy_http_version 1.1; proxy_set_header Upgrade $http_upgrade; proxy_set_header Connection \"upgrade\";` (see assets/nginx/). Load balancers: enable WebSocket/HTTP/1.1 upgrades on the listener.".into(),
        Some(401) => "Clients are refused for authentication: check token expiry and that the token survives the proxy (headers or query string).".into(),
        Some(403) => "Upgrades are forbidden, usually an Origin check: add the page's origin to the server's allowed origins.".into(),
        Some(404) => "The WebSocket path is not routed: check the proxy's location/route for the path and the server's mount point.".into(),
        Some(s) if (500..600).contains(&s) => "The proxy cannot reach a healthy backend for upgrades: check backend health, upstream timeouts and capacity.".into(),
        _ => "Look at the statuses and reasons in the evidence: the request never became a WebSocket.".into(),
    }
}

pub fn upgrade_rejected(m: &Model, t: &Thresholds) -> Option<Finding> {
    let count: u64 = m.rejected.values().sum();
    let attempts = count + m.opened;
    if count < t.reject_min || attempts == 0 {
        return None;
    }
    let pct = count as f64 * 100.0 / attempts as f64;
    if pct < t.reject_min_pct {
        return None;
    }
    let severity = if pct >= t.reject_critical_pct {
        Severity::Critical
    } else {
        Severity::Warning
    };
    let by_status: serde_json::Map<String, Value> = m
        .rejected
        .iter()
        .map(|(s, n)| (s.to_string(), json!(n)))
        .collect();
    Some(
        Finding::new(
            "upgrade-rejected",
            severity,
            format!("{count} of {attempts} upgrade attempts ({pct:.1} %) were rejected before a WebSocket existed"),
        )
        .evidence("count", count)
        .evidence("by_status", by_status)
        .evidence("rejected_pct", round1(pct))
        .remedy(reject_remedy(&m.rejected)),
    )
}
