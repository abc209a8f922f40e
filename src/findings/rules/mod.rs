//! One function per finding id, grouped by the kind of cause.

pub mod clients;
pub mod heartbeat;
pub mod leaks;
pub mod proxy;
pub mod rates;

/// Rounds for evidence: people read 60.0, not 59.99999.
pub(crate) fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

pub(crate) fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}
