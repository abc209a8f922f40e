//! `upgrade-rejected`: upgrade requests refused before a WebSocket existed, most often by a
//! proxy that does not pass `Upgrade`/`Connection` on.

use super::{Finding, Rule, Rules, Severity, round1, thresholds};
use crate::model::Model;
use serde::Serialize;
use std::collections::BTreeMap;

thresholds! {
    /// Refused upgrades (`upgrade_rejected`), by number and share of attempts.
    pub struct UpgradeRejected {
        /// At least this many refusals...
        min_count: u64 = 5,
        /// ...and at least this percentage of upgrade attempts (opens + refusals).
        min_pct: f64 = 5.0,
        /// Critical from this percentage of attempts.
        critical_pct: f64 = 50.0,
    }
}

#[derive(Serialize)]
struct Evidence {
    count: u64,
    /// Upgrade attempts: opens and refusals.
    attempts: u64,
    by_status: BTreeMap<String, u64>,
    rejected_pct: f64,
}

/// The nginx lines that pass a WebSocket upgrade on.
pub const NGINX_UPGRADE_LINES: &str = "proxy_http_version 1.1;\n\
     proxy_set_header Upgrade $http_upgrade;\n\
     proxy_set_header Connection \"upgrade\";";

impl Rule for UpgradeRejected {
    const ID: &'static str = "upgrade-rejected";

    fn check(&self, m: &Model, _: &Rules) -> Option<Finding> {
        let count: u64 = m.rejected.values().sum();
        let attempts = count + m.opened;
        if count < self.min_count || attempts == 0 {
            return None;
        }
        let pct = count as f64 * 100.0 / attempts as f64;
        if pct < self.min_pct {
            return None;
        }
        let severity = if pct >= self.critical_pct {
            Severity::Critical
        } else {
            Severity::Warning
        };
        let top = m.rejected.iter().max_by_key(|(_, n)| **n).map(|(s, _)| *s);
        let statuses: Vec<String> = m
            .rejected
            .iter()
            .map(|(s, n)| match s {
                0 => format!("{n} with no status"),
                s => format!("{n} × {s}"),
            })
            .collect();
        let evidence = Evidence {
            count,
            attempts,
            by_status: m.rejected.iter().map(|(s, n)| (s.to_string(), *n)).collect(),
            rejected_pct: round1(pct),
        };
        Some(Finding::new(
            Self::ID,
            severity,
            format!(
                "{count} of {attempts} upgrade attempts ({pct:.1} %) were refused before a WebSocket existed ({})",
                statuses.join(", ")
            ),
            &evidence,
            remedy(top.filter(|s| *s != 0)),
        ))
    }
}

/// What to do about upgrades refused with `status` (`None`: no HTTP status). `probe` gives
/// the same advice for the refusal it saw.
pub fn remedy(status: Option<u16>) -> String {
    match status {
        Some(400) | Some(426) => format!(
            "The upgrade did not reach the WebSocket server intact: a proxy in front of it does not \
             forward the Upgrade and Connection headers over HTTP/1.1 (they are hop-by-hop, so a \
             proxy drops them unless told). For nginx, in the location:\n{NGINX_UPGRADE_LINES}\n\
             Load balancers: enable WebSocket/HTTP/1.1 upgrades on the listener. With no proxy in \
             between, the server refused the request itself: its response body says why."
        ),
        Some(401) => "Authentication is required on the upgrade: check token expiry, and that the \
                      credentials survive the proxy (headers, cookie or query string). Browsers \
                      cannot set headers on a WebSocket: they need a cookie or a token in the query string."
            .to_string(),
        Some(403) => "The server or a firewall refused the request, most often for its Origin: allow \
                      the site's origin in the server's origin check (or the WAF rule)."
            .to_string(),
        Some(404) => "No WebSocket endpoint at this path: check the path, and what the proxy does to \
                      it (nginx: the location's prefix, and a trailing slash on proxy_pass replaces \
                      the matched prefix)."
            .to_string(),
        Some(405) => "The server does not take GET on this path: the path is not the WebSocket endpoint.".to_string(),
        Some(s @ 502..=504) => format!(
            "The proxy reached no healthy backend ({}): check that the WebSocket server is up and \
             listening on the address the proxy uses, its health checks, and the proxy's error log.",
            match s {
                502 => "502: the backend refused or broke the connection",
                503 => "503: no backend available",
                _ => "504: the backend did not answer in time",
            }
        ),
        Some(s) if (500..600).contains(&s) => "The server failed while handling the upgrade: check its \
                                               logs, and the backend's health and capacity."
            .to_string(),
        Some(s) if (300..400).contains(&s) => "WebSocket clients do not follow redirects: use the final URL.".to_string(),
        Some(s) if (200..300).contains(&s) => "An ordinary HTTP handler answered: the path serves a page \
                                               (a CDN, a single-page app fallback, or a proxy that does \
                                               not know WebSockets), not the WebSocket server."
            .to_string(),
        _ => "The server answered with something other than 101 Switching Protocols: its response \
              body and logs say why."
            .to_string(),
    }
}
