//! Findings: rules over the model that name a root cause (`shared/spec/findings.md`).

pub mod culprits;
mod finding;

pub use finding::{Finding, Severity, sort};
