//! Findings: rules over the model that name a root cause (`shared/spec/findings.md`).
//!
//! Each finding is one module holding one type: its id ([`Rule::ID`]), its thresholds (the
//! type's fields, with the defaults of findings.md, settable by name), its check, its evidence
//! type and its texts (summary and remedy). [`Rules`] holds one of each, in the order of
//! findings.md; adding a diagnosis is adding one module and one line to the catalogue below.

pub mod culprits;
mod finding;
pub mod fleet;
pub mod params;

pub use finding::{Finding, Severity, sort};
pub use params::Tunable;

use crate::model::{Model, Params};
use params::thresholds;

/// How many items (ids, clients) an evidence list holds at most.
pub const LIST_MAX: usize = 20;

/// One finding: its id, and its check over the model. Its thresholds are `Self`'s fields.
pub trait Rule: Tunable {
    /// The stable id of findings.md.
    const ID: &'static str;
    /// The finding, if the model shows it. `rules` gives the other findings' thresholds, for
    /// a finding that must not count what another one explains.
    fn check(&self, m: &Model, rules: &Rules) -> Option<Finding>;
}

macro_rules! catalogue {
    ($( $field:ident : $ty:ident, )*) => {
        $( pub mod $field; )*
        $( pub use $field::$ty; )*

        /// Every finding with its thresholds, in the order of findings.md (root causes before
        /// symptoms). `Rules::default()` has the defaults of findings.md.
        #[derive(Clone, Debug, Default, PartialEq)]
        pub struct Rules {
            $( pub $field: $ty, )*
        }

        impl Rules {
            /// Every id, in catalogue order.
            pub const IDS: &'static [&'static str] = &[$( <$ty as Rule>::ID, )*];

            fn check_each(&self, m: &Model) -> Vec<Finding> {
                let mut out = Vec::new();
                $(
                    if let Some(f) = self.$field.check(m, self) {
                        out.push(f);
                    }
                )*
                out
            }

            fn tunable_mut(&mut self, id: &str) -> Option<&mut dyn Tunable> {
                $(
                    if id == <$ty as Rule>::ID {
                        return Some(&mut self.$field);
                    }
                )*
                None
            }

            fn tunable(&self, id: &str) -> Option<&dyn Tunable> {
                $(
                    if id == <$ty as Rule>::ID {
                        return Some(&self.$field);
                    }
                )*
                None
            }
        }
    };
}

catalogue! {
    idle_timeout: IdleTimeout,
    lifetime_cap: LifetimeCap,
    upgrade_rejected: UpgradeRejected,
    heartbeat_missing: HeartbeatMissing,
    zombie_connections: ZombieConnections,
    timer_leak: TimerLeak,
    memory_growth: MemoryGrowth,
    fd_leak: FdLeak,
    reconnect_loop: ReconnectLoop,
    no_backoff: NoBackoff,
    mobile_background: MobileBackground,
    high_disconnect_rate: HighDisconnectRate,
    server_restart: ServerRestart,
    server_errors: ServerErrors,
    message_too_big: MessageTooBig,
    feed_incomplete: FeedIncomplete,
}

impl Rules {
    /// All findings for the model at its current event time, critical first.
    pub fn evaluate(&self, m: &Model) -> Vec<Finding> {
        let mut out = self.check_each(m);
        sort(&mut out);
        out
    }

    /// The windows the model needs while folding events, from the findings that use them.
    pub fn model_params(&self) -> Params {
        Params {
            short_lived_secs: self.reconnect_loop.short_lived_secs,
            loop_min_opens: self.reconnect_loop.min_opens,
            loop_window_secs: self.reconnect_loop.window_secs,
            restart_window_secs: self.server_restart.window_secs,
            restart_min_closes: self.server_restart.min_closes,
            after_background_secs: self.mobile_background.after_background_secs,
            timer_grace_secs: self.timer_leak.grace_secs,
        }
    }

    /// An empty model that folds events as these findings need.
    pub fn model(&self) -> Model {
        Model::new(self.model_params())
    }

    /// Sets one threshold from `id.name=value` (as `--threshold` takes it).
    pub fn set(&mut self, assignment: &str) -> Result<(), String> {
        let (key, value) = assignment
            .split_once('=')
            .ok_or_else(|| format!("{assignment:?}: expected ID.NAME=VALUE"))?;
        let (id, name) = key
            .trim()
            .split_once('.')
            .ok_or_else(|| format!("{key:?}: expected ID.NAME (e.g. idle-timeout.min_cuts)"))?;
        let Some(t) = self.tunable_mut(id) else {
            return Err(format!(
                "no finding {id:?}; the ids are: {}",
                Self::IDS.join(", ")
            ));
        };
        let names = t.names();
        t.set(name, value).map_err(|e| {
            let known = if names.is_empty() {
                format!("{id} has no thresholds")
            } else {
                format!("{id}'s thresholds are: {}", names.join(", "))
            };
            format!("{key}: {e} ({known})")
        })
    }

    /// These rules with every `id.name=value` of `assignments` applied.
    pub fn with_overrides<S: AsRef<str>>(assignments: &[S]) -> Result<Rules, String> {
        let mut rules = Rules::default();
        for a in assignments {
            rules.set(a.as_ref())?;
        }
        Ok(rules)
    }

    /// Every threshold as (`id.name`, value), in catalogue order.
    pub fn thresholds(&self) -> Vec<(String, String)> {
        Self::IDS
            .iter()
            .filter_map(|id| self.tunable(id).map(|t| (id, t)))
            .flat_map(|(id, t)| {
                t.names()
                    .iter()
                    .map(move |name| (format!("{id}.{name}"), t.get(name).unwrap_or_default()))
            })
            .collect()
    }
}

/// Rounds for evidence: people read 60.0, not 59.99999.
/// For the findings read from `process` events: each server's first and latest reading of
/// one figure (and the minutes between) go to `judge`, which scores them or passes; the
/// evidence of the highest score is returned.
pub(crate) fn worst_server<E>(
    m: &Model,
    figure: impl Fn(&crate::model::ProcessFigures) -> &crate::model::Figure,
    mut judge: impl FnMut(&str, &crate::model::Reading, &crate::model::Reading, f64) -> Option<(f64, E)>,
) -> Option<E> {
    let mut worst: Option<(f64, E)> = None;
    for s in &m.servers {
        let f = figure(&s.process);
        let (Some(first), Some(last)) = (f.first, f.last) else {
            continue;
        };
        let minutes = last.ts.secs_since(first.ts) / 60.0;
        if let Some((score, e)) = judge(&s.name, &first, &last, minutes)
            && worst.as_ref().is_none_or(|(w, _)| score > *w)
        {
            worst = Some((score, e));
        }
    }
    worst.map(|(_, e)| e)
}

/// " on NAME" for a summary, or nothing for the unnamed server.
pub(crate) fn on_server(name: &str) -> String {
    if name.is_empty() {
        String::new()
    } else {
        format!(" on {name}")
    }
}

pub(crate) fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

pub(crate) fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// "1 connection", "2 connections".
pub(crate) fn count(n: impl Into<u64>, noun: &str) -> String {
    let n = n.into();
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_are_set_by_name_with_clear_errors() {
        let mut r = Rules::default();
        r.set("idle-timeout.min_cuts=12").unwrap();
        assert_eq!(r.idle_timeout.min_cuts, 12);
        r.set(" lifetime-cap.tolerance = 0.05").unwrap();
        assert_eq!(r.lifetime_cap.tolerance, 0.05);
        let e = r.set("idle-timeout.nope=1").unwrap_err();
        assert!(e.contains("min_cuts"), "{e}");
        let e = r.set("nope.x=1").unwrap_err();
        assert!(e.contains("fd-leak"), "{e}");
        assert!(r.set("idle-timeout.min_cuts=-1").is_err());
        assert!(r.set("idle-timeout.min_secs=NaN").is_err());
        assert!(r.set("idle-timeout").is_err());
        let all = r.thresholds();
        assert!(all.contains(&("idle-timeout.min_cuts".into(), "12".into())));
        assert_eq!(Rules::IDS.len(), 16);
    }

    #[test]
    fn counts_read_as_english() {
        assert_eq!(count(1u64, "restart"), "1 restart");
        assert_eq!(count(3u64, "restart"), "3 restarts");
    }
}
