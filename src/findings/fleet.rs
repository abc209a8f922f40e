//! Findings of several servers at once: the whole's, and what holds on some servers only.

use super::{Finding, Rules, sort};
use crate::model::Model;
use crate::sanitize::inert;

/// What a fleet's models show.
#[derive(Clone, Debug, Default)]
pub struct FleetFindings {
    /// The whole's findings, then, for an id the whole does not have, the first server's
    /// finding with it (its summary led by the server's name): a finding of a few servers
    /// that the whole's averages hide is still shown.
    pub findings: Vec<Finding>,
    /// Per server, in the order given: its name and its findings.
    pub servers: Vec<(String, Vec<Finding>)>,
}

impl FleetFindings {
    /// "on 3 of 100 servers" for a finding's id, when there are several servers.
    pub fn where_it_holds(&self, id: &str) -> Option<String> {
        if self.servers.len() < 2 {
            return None;
        }
        let holds = self
            .servers
            .iter()
            .filter(|(_, fs)| fs.iter().any(|f| f.id == id))
            .count();
        Some(format!("on {holds} of {} servers", self.servers.len()))
    }
}

/// Judges the whole and, when there are several, each of `servers` (name, model).
pub fn judge(rules: &Rules, whole: &Model, servers: &[(&str, &Model)]) -> FleetFindings {
    let mut findings = rules.evaluate(whole);
    if servers.len() < 2 {
        let servers = servers
            .iter()
            .map(|(name, _)| (inert(name).into_owned(), findings.clone()))
            .collect();
        return FleetFindings { findings, servers };
    }
    let mut judged = Vec::with_capacity(servers.len());
    for (name, model) in servers {
        let name = inert(name).into_owned();
        let own = rules.evaluate(model);
        for f in &own {
            if !findings.iter().any(|g| g.id == f.id) {
                let mut f = f.clone();
                f.summary = format!("{}: {}", name.replace('`', "'"), f.summary);
                findings.push(f);
            }
        }
        judged.push((name, own));
    }
    sort(&mut findings);
    FleetFindings {
        findings,
        servers: judged,
    }
}
