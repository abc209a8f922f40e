//! `zombie-connections`: connections whose peer stopped answering pings, still held open.

use super::{Finding, LIST_MAX, Rule, Rules, Severity, round1, thresholds};
use crate::model::{Conn, Model};
use crate::sanitize::inert;
use serde::Serialize;

thresholds! {
    /// A ping unanswered for longer than the pong timeout plus a margin.
    pub struct ZombieConnections {
        /// The pong timeout when the server did not announce one.
        default_pong_timeout_secs: f64 = 5.0,
        /// Added to the pong timeout before a connection counts as a zombie.
        margin_secs: f64 = 1.0,
    }
}

#[derive(Serialize)]
struct Evidence {
    count: u64,
    conns: Vec<String>,
    max_pong_age_seconds: f64,
    max_unanswered_seconds: f64,
    /// Open connections that have been pinged: the population the zombies come from.
    pinged: u64,
    pong_timeout_seconds: f64,
}

impl ZombieConnections {
    /// How long a ping of `c` may go unanswered: its server's pong timeout plus the margin.
    fn limit(&self, m: &Model, c: &Conn) -> f64 {
        let timeout = m
            .server(c.server)
            .heartbeat
            .map_or(self.default_pong_timeout_secs, |h| h.pong_timeout_ms as f64 / 1000.0);
        timeout + self.margin_secs
    }

    /// Open connections with a ping unanswered past the limit, with how long it has been
    /// unanswered (seconds). A connection that is not being pinged is never one: that is
    /// `heartbeat-missing`.
    pub fn zombies<'a>(&'a self, m: &'a Model) -> impl Iterator<Item = (&'a Conn, f64)> + 'a {
        let now = m.now();
        m.conns.iter().filter_map(move |c| {
            let unanswered = now.secs_since(c.unanswered_ping()?);
            (unanswered > self.limit(m, c)).then_some((c, unanswered))
        })
    }
}

impl Rule for ZombieConnections {
    const ID: &'static str = "zombie-connections";

    fn check(&self, m: &Model, _: &Rules) -> Option<Finding> {
        let now = m.now();
        let mut zombies: Vec<(&Conn, f64)> = self.zombies(m).collect();
        if zombies.is_empty() {
            return None;
        }
        zombies.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.id.cmp(&b.0.id)));
        let max_unanswered = zombies[0].1;
        let max_pong_age = zombies
            .iter()
            .filter_map(|(c, _)| c.pong_age(now))
            .fold(0.0, f64::max);
        let pinged = m.conns.iter().filter(|c| c.last_ping().is_some()).count() as u64;
        let limit = self.limit(m, zombies[0].0);
        let evidence = Evidence {
            count: zombies.len() as u64,
            conns: zombies
                .iter()
                .take(LIST_MAX)
                .map(|(c, _)| inert(&c.id).into_owned())
                .collect(),
            max_pong_age_seconds: round1(max_pong_age),
            max_unanswered_seconds: round1(max_unanswered),
            pinged,
            pong_timeout_seconds: round1(limit - self.margin_secs),
        };
        Some(Finding::new(
            Self::ID,
            Severity::Warning,
            format!(
                "{} of {pinged} pinged open connections left a ping unanswered for over {limit:.0} s (longest {max_unanswered:.0} s) and are still held open",
                zombies.len()
            ),
            &evidence,
            "Terminate a connection when its pong is overdue (ping interval + pong timeout), as the `ws` documentation's heartbeat example does; each zombie holds memory, a file descriptor and any timers until then.",
        ))
    }
}
