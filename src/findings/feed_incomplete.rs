//! `feed-incomplete`: events the feed dropped, log lines that could not be read, or events set
//! aside because their time contradicted their neighbours' (a clock 50 years off), so every
//! count may be low.

use super::{Finding, Rule, Rules, Severity, thresholds};
use crate::model::Model;
use serde::Serialize;

thresholds! {
    /// Any dropped event, skipped line or event set aside for its time.
    pub struct FeedIncomplete {}
}

#[derive(Serialize)]
struct Evidence {
    dropped_events: u64,
    skipped_lines: u64,
    /// An extension of findings.md (DESIGN.md): events whose `ts` contradicted their
    /// neighbours, set aside.
    clock_outliers: u64,
}

impl Rule for FeedIncomplete {
    const ID: &'static str = "feed-incomplete";

    fn check(&self, m: &Model, _: &Rules) -> Option<Finding> {
        let dropped = m.dropped();
        let skipped = m.counters.skipped_lines;
        let outliers = m.counters.clock_outliers;
        if dropped == 0 && skipped == 0 && outliers == 0 {
            return None;
        }
        let outliers_text = if outliers > 0 {
            format!(", {outliers} events set aside for a time that contradicts their neighbours")
        } else {
            String::new()
        };
        Some(Finding::new(
            Self::ID,
            Severity::Info,
            format!(
                "The data is incomplete: {dropped} events dropped by the feed, {skipped} log lines skipped{outliers_text}; counts may be low"
            ),
            &Evidence {
                dropped_events: dropped,
                skipped_lines: skipped,
                clock_outliers: outliers,
            },
            "A viewer that cannot keep up loses events (the server never waits): attach closer to the server, or record with `wscope attach --headless --record` and analyse the log. Skipped lines are listed by `wscope report --verbose`. An event dated decades or days away from its neighbours comes from a wrong clock or a corrupted line: check the server's clock (NTP).",
        ))
    }
}
