//! `reconnect-loop`: clients that reconnect again and again, each connection short-lived.

use super::{Finding, LIST_MAX, Rule, Rules, Severity, thresholds};
use crate::model::{LoopingClient, Model};
use crate::sanitize::inert;
use serde::Serialize;

thresholds! {
    /// A client identity opening many short-lived connections in a short time.
    pub struct ReconnectLoop {
        /// A connection shorter than this many seconds counts...
        short_lived_secs: f64 = 10.0,
        /// ...and a loop is this many of them...
        min_opens: usize = 5,
        /// ...within this many seconds.
        window_secs: f64 = 60.0,
        /// Critical from this many looping clients.
        critical_clients: u64 = 10,
    }
}

/// One looping client, as evidence lists it.
#[derive(Serialize)]
pub(crate) struct ClientEntry {
    identity: String,
    opens: u64,
}

/// Looping clients as evidence lists them: most opens first, at most [`LIST_MAX`].
pub(crate) fn client_list(clients: &[&LoopingClient]) -> Vec<ClientEntry> {
    clients
        .iter()
        .take(LIST_MAX)
        .map(|c| ClientEntry {
            identity: inert(c.identity.trim()).into_owned(),
            opens: c.opens,
        })
        .collect()
}

/// Looping clients, most opens first (then by identity, so the order is stable).
pub(crate) fn by_opens(m: &Model) -> Vec<&LoopingClient> {
    let mut v: Vec<_> = m.clients.looping().collect();
    v.sort_by(|a, b| b.opens.cmp(&a.opens).then(a.identity.cmp(&b.identity)));
    v
}

#[derive(Serialize)]
struct Evidence {
    clients: Vec<ClientEntry>,
    count: u64,
}

impl Rule for ReconnectLoop {
    const ID: &'static str = "reconnect-loop";

    fn check(&self, m: &Model, _: &Rules) -> Option<Finding> {
        let count = m.clients.looping_count();
        if count == 0 {
            return None;
        }
        let severity = if count >= self.critical_clients {
            Severity::Critical
        } else {
            Severity::Warning
        };
        let clients = by_opens(m);
        let most = clients.first().map_or(0, |c| c.opens);
        let evidence = Evidence {
            clients: client_list(&clients),
            count,
        };
        let who = if count == 1 {
            "1 client reconnects".to_string()
        } else {
            format!("{count} clients reconnect")
        };
        Some(Finding::new(
            Self::ID,
            severity,
            format!(
                "{who} in a loop: {} or more connections within {:.0} s, each lasting under {:.0} s (up to {most} in a row)",
                self.min_opens, self.window_secs, self.short_lived_secs
            ),
            &evidence,
            "Find why these connections end right after opening (the close codes and reasons of these clients, an auth or protocol error, a server that closes with 4xxx) and fix it; make clients back off exponentially with jitter and stop retrying on errors that will not go away.",
        ))
    }
}
