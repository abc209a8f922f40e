//! The report's servers: what each announced and, when the report judged each on its own
//! events (a [`Fleet`]), its counts, close codes and findings.

use super::{Connections, Report, close_codes_of, ms_text};
use crate::findings::fleet::FleetFindings;
use crate::findings::{Finding, Rules};
use crate::model::fleet::Fleet;
use crate::model::{Model, Server};
use crate::sanitize::inert;
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// One server of the report, keyed by its name in the report's `servers` object. The
/// counts are present when the report judged each server on its own events (`report` does;
/// a headless dashboard with several feeds does not).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ServerReport {
    pub software: Option<String>,
    pub ping_interval_ms: Option<u64>,
    pub pong_timeout_ms: Option<u64>,
    pub dropped_events: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub events: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connections: Option<Connections>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub close_codes: Option<Map<String, Value>>,
    /// The ids of the findings that hold on this server.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub findings: Option<Vec<String>>,
}

impl ServerReport {
    fn announced(s: &Server) -> ServerReport {
        ServerReport {
            software: s.software.as_deref().map(|v| inert(v).into_owned()),
            ping_interval_ms: s.heartbeat.map(|h| h.ping_interval_ms),
            pong_timeout_ms: s.heartbeat.map(|h| h.pong_timeout_ms),
            dropped_events: s.dropped,
            events: None,
            connections: None,
            close_codes: None,
            findings: None,
        }
    }
}

/// The servers of a model as they announced themselves.
pub(super) fn announced(model: &Model) -> BTreeMap<String, ServerReport> {
    model
        .servers
        .iter()
        .map(|s| (inert(&s.name).into_owned(), ServerReport::announced(s)))
        .collect()
}

/// Every server of a fleet, judged on its own events, and the fleet's findings.
pub(super) fn judged(
    fleet: &Fleet,
    rules: &Rules,
    whole_findings: Vec<Finding>,
) -> (BTreeMap<String, ServerReport>, FleetFindings) {
    let whole = fleet.whole();
    let servers = fleet.servers();
    let judged = crate::findings::fleet::judge(rules, whole_findings, &servers);
    let mut out = BTreeMap::new();
    for ((name, model), (shown, findings)) in servers.iter().zip(&judged.servers) {
        let announced = whole.servers.iter().find(|s| s.name == *name);
        let mut r = announced.map_or_else(
            || ServerReport::announced(&Server::default()),
            ServerReport::announced,
        );
        r.events = Some(model.counters.events);
        r.connections = Some(Connections::of(model));
        r.close_codes = Some(close_codes_of(model));
        r.findings = Some(findings.iter().map(|f| f.id.to_string()).collect());
        out.insert(shown.clone(), r);
    }
    (out, judged)
}

impl Report {
    /// One line per server: its name, software and heartbeat as announced, then its counts
    /// and findings when each was judged on its own.
    pub(crate) fn server_lines(&self) -> Vec<String> {
        self.servers
            .iter()
            .map(|(name, s)| {
                let name = if name.is_empty() { "(unnamed)" } else { name };
                let heartbeat = match (s.ping_interval_ms, s.pong_timeout_ms) {
                    (Some(p), Some(t)) => {
                        format!("ping every {}, pong within {}", ms_text(p), ms_text(t))
                    }
                    _ => "no heartbeat announced".to_string(),
                };
                let software = s.software.as_deref().unwrap_or("software unknown");
                let mut line = format!("{name}  {software}  {heartbeat}");
                if self.servers.len() > 1 {
                    if let Some(c) = &s.connections {
                        line += &format!("  opened {} closed {}", c.opened, c.closed);
                    }
                    if let Some(f) = s.findings.as_ref().filter(|f| !f.is_empty()) {
                        line += &format!("  findings: {}", f.join(", "));
                    }
                }
                line
            })
            .collect()
    }

    /// For a finding of the whole, how many servers it holds on, when there are several
    /// and each was judged: "on 3 of 100 servers".
    pub(crate) fn where_it_holds(&self, id: &str) -> Option<String> {
        let judged: Vec<&Vec<String>> = self
            .servers
            .values()
            .filter_map(|s| s.findings.as_ref())
            .collect();
        let holds = judged.iter().filter(|f| f.iter().any(|i| i == id)).count();
        crate::findings::fleet::where_text(holds, judged.len())
    }
}
