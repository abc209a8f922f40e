//! `lifetime-cap`: busy connections ended at the same age, whatever they were doing: a
//! maximum connection duration somewhere (a gateway, a load balancer's backend timeout).

use super::culprits::lifetime_culprits;
use super::{Finding, Rule, Rules, Severity, count, round1, thresholds};
use crate::model::histogram::center_of;
use crate::model::{CloseKind, DurationHistogram, Model};
use serde::Serialize;

thresholds! {
    /// Cuts and server closes clustered around one age L, while the connections were in use.
    pub struct LifetimeCap {
        /// At least this many cuts or server closes (not explained otherwise)...
        min_closes: u64 = 10,
        /// ...this share of which ended within the cluster.
        min_share: f64 = 0.5,
        /// The cluster is L ± this fraction of L...
        tolerance: f64 = 0.02,
        /// ...and at least ± this many seconds.
        tolerance_min_secs: f64 = 1.0,
        /// L is at least this many seconds.
        min_secs: f64 = 10.0,
        /// "Not idle": idle at the end for at most this share of the connection's age.
        max_idle_share: f64 = 0.5,
    }
}

#[derive(Serialize)]
struct Evidence {
    lifetime_seconds: f64,
    count: u64,
    /// Cuts and server closes considered (those not explained by an idle timeout or a restart).
    closes: u64,
    spread_seconds: f64,
    /// Cuts left out because `idle-timeout` explains them.
    explained_by_idle_timeout: u64,
    likely: Vec<&'static str>,
}

impl Rule for LifetimeCap {
    const ID: &'static str = "lifetime-cap";

    fn check(&self, m: &Model, rules: &Rules) -> Option<Finding> {
        // Cuts in idle-timeout's cluster ended for idleness, not for their age.
        let idle = rules.idle_timeout.cluster(m);
        let explained = |kind, idle_bucket: usize| {
            kind == CloseKind::Cut
                && idle.is_some_and(|c| (c.first_bucket..=c.last_bucket).contains(&idle_bucket))
        };
        let mut busy = DurationHistogram::default();
        let mut closes = m.close_ages.overflow;
        let mut explained_count = 0;
        for (kind, idle_bucket, age_bucket, cell) in m.close_ages.cells() {
            if explained(kind, idle_bucket) {
                explained_count += cell.count;
                continue;
            }
            closes += cell.count;
            let (idle_secs, age_secs) = (cell.idle_sum / cell.count as f64, center_of(age_bucket));
            if idle_secs <= age_secs * self.max_idle_share {
                busy.add_to_bucket(age_bucket, cell.count, cell.age_sum);
            }
        }
        // Server going-away closes still waiting to learn whether a restart explains them.
        for s in m.restarts.waiting().filter(|s| !s.age_secs.is_nan()) {
            closes += 1;
            if s.idle_secs <= s.age_secs * self.max_idle_share {
                busy.add(s.age_secs);
            }
        }
        if closes < self.min_closes {
            return None;
        }
        let cluster = busy.densest(self.tolerance, self.tolerance_min_secs, self.min_secs)?;
        if (cluster.count as f64) < closes as f64 * self.min_share {
            return None;
        }
        let l = round1(cluster.center);
        let spread = round1(cluster.half_width);
        let likely = lifetime_culprits(l);
        let mut summary = format!(
            "{} of {} (cuts and server closes) ended in use at the same age, {l:.1} s (± {spread:.1} s): something caps connection lifetime",
            cluster.count,
            count(closes, "close"),
        );
        if let Some(first) = likely.first() {
            summary.push_str(&format!(" (likely {first})"));
        }
        let evidence = Evidence {
            lifetime_seconds: l,
            count: cluster.count,
            closes,
            spread_seconds: spread,
            explained_by_idle_timeout: explained_count,
            likely,
        };
        Some(Finding::new(
            Self::ID,
            Severity::Warning,
            summary,
            &evidence,
            "Find the component that ends connections at this age (load balancer or gateway maximum connection duration, backend timeout, a server-side session limit) and raise it, or make clients reconnect gracefully before it (close with 1000/1001 and reconnect without losing state).",
        ))
    }
}
