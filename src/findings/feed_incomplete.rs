//! `feed-incomplete`: events the feed dropped or log lines that could not be read, so every
//! count may be low.

use super::{Finding, Rule, Rules, Severity, thresholds};
use crate::model::Model;
use serde::Serialize;

thresholds! {
    /// Any dropped event or skipped line.
    pub struct FeedIncomplete {}
}

#[derive(Serialize)]
struct Evidence {
    dropped_events: u64,
    skipped_lines: u64,
}

impl Rule for FeedIncomplete {
    const ID: &'static str = "feed-incomplete";

    fn check(&self, m: &Model, _: &Rules) -> Option<Finding> {
        let dropped = m.dropped();
        let skipped = m.counters.skipped_lines;
        if dropped == 0 && skipped == 0 {
            return None;
        }
        Some(Finding::new(
            Self::ID,
            Severity::Info,
            format!(
                "The data is incomplete: {dropped} events dropped by the feed, {skipped} log lines skipped; counts may be low"
            ),
            &Evidence {
                dropped_events: dropped,
                skipped_lines: skipped,
            },
            "A viewer that cannot keep up loses events (the server never waits): attach closer to the server, or record with `wscope attach --headless --record` and analyse the log. Skipped lines are listed by `wscope report --verbose`.",
        ))
    }
}
