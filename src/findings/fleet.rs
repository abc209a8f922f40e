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
        let holds = self
            .servers
            .iter()
            .filter(|(_, fs)| fs.iter().any(|f| f.id == id));
        where_text(holds.count(), self.servers.len())
    }
}

/// "on 3 of 100 servers", when there are several.
pub fn where_text(holds: usize, servers: usize) -> Option<String> {
    (servers > 1).then(|| format!("on {holds} of {servers} servers"))
}

/// Judges each of `servers` (name, model) when there are several; `findings` are the whole
/// model's (`Rules::evaluate`), which one server alone shares.
pub fn judge(
    rules: &Rules,
    mut findings: Vec<Finding>,
    servers: &[(&str, &Model)],
) -> FleetFindings {
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
