//! `message-too-big`: connections closed with 1009, a message over a size limit.

use super::server_errors::closes_with;
use super::{Finding, Rule, Rules, Severity, thresholds};
use crate::model::Model;
use serde::Serialize;

thresholds! {
    /// Closes with 1009 (message too big).
    pub struct MessageTooBig {
        /// At least this many.
        min_closes: u64 = 1,
    }
}

#[derive(Serialize)]
struct Evidence {
    count: u64,
}

impl Rule for MessageTooBig {
    const ID: &'static str = "message-too-big";

    fn check(&self, m: &Model, _: &Rules) -> Option<Finding> {
        let count = closes_with(m, 1009);
        if count == 0 || count < self.min_closes {
            return None;
        }
        let what = if count == 1 {
            "1 connection closed".to_string()
        } else {
            format!("{count} connections closed")
        };
        Some(Finding::new(
            Self::ID,
            Severity::Warning,
            format!("{what} with 1009: a message exceeded the size limit"),
            &Evidence { count },
            "Raise the maximum message size where it is too small (ws: maxPayload, tungstenite: max_message_size, proxies' buffer limits) or split large payloads into smaller messages.",
        ))
    }
}
