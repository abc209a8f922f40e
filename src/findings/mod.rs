//! Findings: rules over the model that name a root cause (`shared/spec/findings.md`).
//!
//! Each rule is one function `fn(&Model, &Thresholds) -> Option<Finding>` in [`rules`],
//! registered in [`RULES`]; adding a diagnosis is adding one function and one line.

pub mod culprits;
mod finding;
pub mod rules;
mod thresholds;

pub use finding::{Finding, Severity, sort};
pub use thresholds::Thresholds;

use crate::model::Model;

/// A rule: looks at the model and maybe names a root cause.
pub type Rule = fn(&Model, &Thresholds) -> Option<Finding>;

/// Every rule, in the order of findings.md.
pub const RULES: &[(&str, Rule)] = &[
    ("idle-timeout", rules::proxy::idle_timeout),
    ("lifetime-cap", rules::proxy::lifetime_cap),
    ("upgrade-rejected", rules::proxy::upgrade_rejected),
    ("heartbeat-missing", rules::heartbeat::heartbeat_missing),
    ("zombie-connections", rules::heartbeat::zombie_connections),
    ("timer-leak", rules::leaks::timer_leak),
    ("reconnect-loop", rules::clients::reconnect_loop),
    ("no-backoff", rules::clients::no_backoff),
    ("mobile-background", rules::clients::mobile_background),
    ("high-disconnect-rate", rules::rates::high_disconnect_rate),
    ("server-restart", rules::rates::server_restart),
    ("server-errors", rules::rates::server_errors),
    ("message-too-big", rules::rates::message_too_big),
    ("feed-incomplete", rules::rates::feed_incomplete),
];

/// All findings for the model at its current event time, critical first.
pub fn evaluate(model: &Model) -> Vec<Finding> {
    evaluate_with(model, &Thresholds::default())
}

pub fn evaluate_with(model: &Model, thresholds: &Thresholds) -> Vec<Finding> {
    let mut out: Vec<Finding> = RULES
        .iter()
        .filter_map(|(_, rule)| rule(model, thresholds))
        .collect();
    sort(&mut out);
    out
}
