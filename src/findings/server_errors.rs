//! `server-errors`: connections closed with 1011, an exception in the server's handler.

use super::{Finding, Rule, Rules, Severity, thresholds};
use crate::model::{CloseStats, Model};
use serde::Serialize;

thresholds! {
    /// Closes with 1011 (internal error).
    pub struct ServerErrors {
        /// At least this many.
        min_closes: u64 = 5,
    }
}

#[derive(Serialize)]
struct Evidence {
    count: u64,
    errors: u64,
}

/// Closes with `code`, whoever initiated them.
pub(crate) fn closes_with(m: &Model, code: u16) -> u64 {
    CloseStats::by_code(&m.closes.all_time)
        .get(&code)
        .copied()
        .unwrap_or(0)
}

impl Rule for ServerErrors {
    const ID: &'static str = "server-errors";

    fn check(&self, m: &Model, _: &Rules) -> Option<Finding> {
        let count = closes_with(m, 1011);
        if count < self.min_closes {
            return None;
        }
        let evidence = Evidence {
            count,
            errors: m.counters.errors,
        };
        Some(Finding::new(
            Self::ID,
            Severity::Warning,
            format!(
                "{count} of {} closes were 1011 (internal error): the server's handler failed",
                m.closed()
            ),
            &evidence,
            "Check the server's logs and `error` events around these closes: 1011 means an exception in the connection handler.",
        ))
    }
}
