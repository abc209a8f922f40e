//! `server-restart`: bursts of server going-away closes, a deploy or restart. Information, not
//! an incident: it explains the closes it holds, which no other finding then counts.

use super::{Finding, LIST_MAX, Rule, Rules, Severity, count, thresholds};
use crate::model::Model;
use crate::sanitize::inert;
use serde::Serialize;

thresholds! {
    /// Server-initiated 1001/1012 closes close together in time.
    pub struct ServerRestart {
        /// At least this many such closes...
        min_closes: usize = 20,
        /// ...within this many seconds make one restart.
        window_secs: f64 = 10.0,
    }
}

#[derive(Serialize)]
struct RestartEntry {
    server: String,
    at: String,
    count: u64,
}

#[derive(Serialize)]
struct Evidence {
    count: u64,
    at: String,
    restarts: Vec<RestartEntry>,
}

impl Rule for ServerRestart {
    const ID: &'static str = "server-restart";

    fn check(&self, m: &Model, _: &Rules) -> Option<Finding> {
        let listed = m.restarts.listed();
        let first = listed.first()?;
        let total = m.restarts.total();
        let name = |server| inert(&m.server(server).name).into_owned();
        let restarts: Vec<RestartEntry> = listed
            .iter()
            .map(|r| RestartEntry {
                server: name(r.server),
                at: r.at.to_rfc3339(),
                count: r.count,
            })
            .collect();
        let each: Vec<String> = listed
            .iter()
            .take(LIST_MAX.min(5))
            .map(|r| {
                let on = match name(r.server) {
                    s if s.is_empty() => String::new(),
                    s => format!(" on {s}"),
                };
                format!("{} closes at {}{on}", r.count, r.at.clock())
            })
            .collect();
        let more = if listed.len() > each.len() {
            format!(" and {} more", total - each.len() as u64)
        } else {
            String::new()
        };
        let evidence = Evidence {
            count: total,
            at: first.at.to_rfc3339(),
            restarts,
        };
        Some(Finding::new(
            Self::ID,
            Severity::Info,
            format!(
                "{}: the server closed connections with 1001/1012 in bursts ({}{more}), a restart or deploy",
                count(total, "restart"),
                each.join(", ")
            ),
            &evidence,
            "Expected during deploys. Drain gracefully: stop accepting, close with 1001 spread over some seconds, and make sure clients reconnect with jitter so the restart does not become a reconnect storm.",
        ))
    }
}
