//! Turns what the probe saw into findings (findings.md ids), each with a remedy that fits it.

use serde_json::{Map, Value, json};

use super::handshake::{Failure, Response};
use super::idle::{ClosedBy, Watch};
use crate::findings::culprits::idle_culprits;
use crate::findings::upgrade_rejected::{self, NGINX_UPGRADE_LINES};
use crate::findings::{Finding, IdleTimeout, Rule, Severity, UpgradeRejected, idle_timeout};

/// Shortest cut the probe calls an idle timeout: anything quicker is not about idleness.
const MIN_IDLE_TIMEOUT_SECS: f64 = 1.0;

/// `upgrade-rejected` for a handshake that did not give a WebSocket.
pub fn upgrade_rejected(failure: &Failure, response: Option<&Response>) -> Finding {
    let status = response.map(|r| r.status);
    let mut by_status = Map::new();
    if let Some(s) = status {
        by_status.insert(s.to_string(), json!(1));
    }
    let (summary, remedy) = explain(failure, response);
    let evidence = json!({
        "count": 1,
        "by_status": Value::Object(by_status),
        "rejected_pct": 100.0,
        "status": status,
        "reason": failure.kind(),
    });
    let mut finding = Finding::new(
        UpgradeRejected::ID,
        Severity::Critical,
        summary,
        &evidence,
        remedy,
    );
    if let Some(detail) = detail(failure) {
        finding = finding.with("detail", detail);
    }
    if let Some(r) = response {
        for name in ["server", "via"] {
            if let Some(v) = r.header(name) {
                finding = finding.with(name, v);
            }
        }
        if !r.body_excerpt.is_empty() {
            finding = finding.with("body", r.body_excerpt.as_str());
        }
    }
    finding
}

fn detail(failure: &Failure) -> Option<String> {
    match failure {
        Failure::NoAnswer(s) | Failure::NotHttp(s) | Failure::Tls(s) => Some(s.clone()),
        Failure::BadAccept { expected, got } => Some(format!(
            "expected Sec-WebSocket-Accept {expected}, got {}",
            got.as_deref().unwrap_or("none")
        )),
        Failure::BadSubprotocol(p) => Some(format!(
            "the server chose subprotocol {p:?}, which was not offered"
        )),
        Failure::Status | Failure::NotWebSocket => None,
    }
}

fn explain(failure: &Failure, response: Option<&Response>) -> (String, String) {
    match failure {
        Failure::Status => match response {
            Some(r) => explain_status(r),
            None => (
                "The upgrade was refused".to_string(),
                "The server answered with something other than 101 Switching Protocols.".to_string(),
            ),
        },
        Failure::NoAnswer(why) => (
            format!("No HTTP answer to the upgrade: {why}"),
            "Nothing on this port answered in HTTP. Check the port is the web server's or the proxy's \
             (a TLS port needs wss://), and whether a firewall or load balancer drops the connection \
             (its listener, target health and security rules)."
                .to_string(),
        ),
        Failure::NotHttp(first) => {
            let tls = first.starts_with("bytes 15 03") || first.starts_with("bytes 16 03");
            let remedy = if tls {
                "This port speaks TLS: use wss:// instead of ws://.".to_string()
            } else if first.starts_with("HTTP/") {
                "The answer looks like HTTP but breaks its rules (control characters, bad header \
                 lines): clients will refuse it too. Find which server or proxy writes it."
                    .to_string()
            } else {
                "This port runs another service, not HTTP: use the port of the proxy or the WebSocket \
                 server."
                    .to_string()
            };
            (format!("The port answered with something that is not HTTP: {first}"), remedy)
        }
        Failure::Tls(error) => {
            let remedy = if error.contains("version") || error.contains("corrupt message") {
                "The port does not seem to speak TLS: if it serves plain HTTP, use ws://.".to_string()
            } else {
                "Clients will fail the same way. Serve a certificate valid for this host name, with its \
                 full chain (intermediates included), from a CA clients trust, and not expired. \
                 --insecure skips the check, to probe the rest while it is fixed."
                    .to_string()
            };
            (format!("The TLS handshake failed: {error}"), remedy)
        }
        Failure::BadAccept { .. } => (
            "The 101 answer carries a wrong Sec-WebSocket-Accept: clients will drop it".to_string(),
            "A cache or proxy replayed a stored response, or the server computes the accept value \
             wrongly. Exclude the WebSocket path from caching and check what answers the upgrade."
                .to_string(),
        ),
        Failure::NotWebSocket => (
            "The 101 answer lacks Upgrade: websocket / Connection: upgrade: clients will drop it".to_string(),
            format!(
                "An intermediary rewrote the hop-by-hop headers of the answer. It must pass them on; \
                 for nginx:\n{NGINX_UPGRADE_LINES}"
            ),
        ),
        Failure::BadSubprotocol(p) => (
            format!("The server chose subprotocol {p:?}, which the probe did not offer: clients will drop it"),
            "Offer the subprotocol the server expects (--subprotocol), or make the server answer only \
             with one the client offered (RFC 6455 4.2.2)."
                .to_string(),
        ),
    }
}

fn explain_status(r: &Response) -> (String, String) {
    let summary = format!(
        "The upgrade was refused with {} {}{}",
        r.status,
        r.reason,
        r.header("server")
            .map(|s| format!(" (server: {s})"))
            .unwrap_or_default()
    );
    // The advice a report gives for this status, and what the probe can add to check it.
    let mut remedy = upgrade_rejected::remedy(Some(r.status));
    match r.status {
        401 => remedy.push_str(
            " To probe as the real client, send its credentials (--header 'Authorization: Bearer …' or --header 'Cookie: …').",
        ),
        403 => remedy.push_str(" Probe with --origin set to the site's origin to confirm."),
        300..=399 => {
            if let Some(l) = r.header("location") {
                remedy.push_str(&format!(" The redirect points to {l}."));
            }
        }
        _ => {}
    }
    (summary, remedy)
}

/// What the `--verify-heartbeat` connection showed.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct HeartbeatCheck {
    pub ping_interval_seconds: f64,
    pub kept_alive: bool,
    #[serde(flatten)]
    pub watch: Watch,
}

/// Whether the connection was cut (no close frame) after a quiet spell: an idle timeout.
pub fn is_idle_cut(idle: &Watch) -> bool {
    idle.closed_by == ClosedBy::None && idle.idle_seconds >= MIN_IDLE_TIMEOUT_SECS
}

/// `idle-timeout` for an idle cut, with what the heartbeat check (if any) showed.
pub fn idle_timeout(idle: &Watch, heartbeat: Option<&HeartbeatCheck>) -> Option<Finding> {
    if !is_idle_cut(idle) {
        return None;
    }
    let d = idle.idle_seconds;
    let likely = idle_culprits(d);
    let mut summary = format!("An idle connection was cut after {d:.1} s, without a close frame");
    if let Some(first) = likely.first() {
        summary.push_str(&format!(": likely {first}"));
    }
    let mut remedy = idle_timeout::remedy(d, idle.server_ping_interval_seconds);
    match heartbeat {
        Some(h) if h.kept_alive => remedy.push_str(&format!(
            " Verified: a connection pinging every {:.1} s lived {:.1} s.",
            h.ping_interval_seconds, h.watch.survived_seconds
        )),
        Some(h) => remedy.push_str(&format!(
            " Caution: a connection pinging every {:.1} s ended too, after {:.1} s: pings alone may not \
             be enough here (a lifetime cap, or pongs that do not pass).",
            h.ping_interval_seconds, h.watch.survived_seconds
        )),
        None => {}
    }
    let evidence = json!({
        "idle_seconds": d,
        "count": 1,
        "ping_interval_seconds": idle.server_ping_interval_seconds,
        "survived_seconds": idle.survived_seconds,
        "likely": likely,
    });
    Some(Finding::new(
        IdleTimeout::ID,
        Severity::Critical,
        summary,
        &evidence,
        remedy,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn refused(status: u16, server: &str) -> Response {
        Response {
            status,
            reason: "Whatever".into(),
            headers: BTreeMap::from([("server".to_string(), server.to_string())]),
            body_excerpt: String::new(),
        }
    }

    #[test]
    fn remedies_fit_the_status() {
        let cases: &[(u16, &str)] = &[
            (400, "proxy_set_header Upgrade $http_upgrade;"),
            (426, "proxy_http_version 1.1;"),
            (403, "--origin"),
            (404, "path"),
            (401, "Authorization"),
            (502, "backend"),
            (503, "backend"),
            (504, "backend"),
        ];
        for (status, needle) in cases {
            let r = refused(*status, "nginx");
            let f = upgrade_rejected(&Failure::Status, Some(&r));
            assert_eq!(f.id, "upgrade-rejected");
            assert!(f.remedy.contains(needle), "{status}: {}", f.remedy);
            assert_eq!(f.evidence["status"], json!(status));
            assert_eq!(f.evidence["by_status"][status.to_string()], json!(1));
        }
        let f = upgrade_rejected(&Failure::NoAnswer("closed".into()), None);
        assert_eq!(f.evidence["status"], Value::Null);
        assert_eq!(f.evidence["reason"], "no-answer");
        let f = upgrade_rejected(&Failure::NotHttp("bytes 15 03 01".into()), None);
        assert!(f.remedy.contains("wss://"));
        let f = upgrade_rejected(
            &Failure::Tls("invalid peer certificate: UnknownIssuer".into()),
            None,
        );
        assert!(f.remedy.contains("--insecure"));
    }

    fn cut_after(idle: f64) -> Watch {
        Watch {
            survived_seconds: idle,
            closed_by: ClosedBy::None,
            close_code: Some(1006),
            idle_seconds: idle,
            ..Watch::starting(std::time::Duration::from_secs(130))
        }
    }

    #[test]
    fn idle_timeout_only_for_cuts() {
        let f = idle_timeout(&cut_after(60.1), None).unwrap();
        assert_eq!(f.evidence["idle_seconds"], json!(60.1));
        assert_eq!(f.evidence["ping_interval_seconds"], Value::Null);
        assert!(f.evidence["likely"][0].as_str().unwrap().contains("nginx"));
        assert!(f.summary.contains("nginx"));

        let mut closed = cut_after(60.0);
        closed.closed_by = ClosedBy::Server;
        assert!(idle_timeout(&closed, None).is_none());
        assert!(idle_timeout(&cut_after(0.2), None).is_none());
    }
}
