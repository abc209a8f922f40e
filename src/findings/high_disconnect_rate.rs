//! `high-disconnect-rate`: a minute in which many connections ended unexpectedly. A symptom:
//! the other findings name its cause.

use super::{Finding, Rule, Rules, Severity, round1, thresholds};
use crate::model::Model;
use crate::model::closes::BUCKET;
use serde::Serialize;

thresholds! {
    /// Unexpected closes in a 60 s window: every close but a user leaving (the client's own
    /// 1000/1001) and a restart's.
    pub struct HighDisconnectRate {
        /// At least this many unexpected closes in the window...
        min_closes: u64 = 10,
        /// ...and more than this percentage of the connections open.
        alarm_pct: f64 = 5.0,
        /// Critical above this percentage.
        critical_pct: f64 = 20.0,
    }
}

#[derive(Serialize)]
struct Evidence {
    peak_pct_per_min: f64,
    at: String,
    closes: u64,
}

impl Rule for HighDisconnectRate {
    const ID: &'static str = "high-disconnect-rate";

    fn check(&self, m: &Model, _: &Rules) -> Option<Finding> {
        let buckets = m.closes.buckets();
        let origin = m.closes.origin()?;
        let mut peak: Option<(usize, u64, f64)> = None;
        for i in 0..buckets.len() {
            let (closes, pct) = m.closes.window(i);
            if closes >= self.min_closes
                && pct > self.alarm_pct
                && peak.is_none_or(|(_, _, p)| pct > p)
            {
                peak = Some((i, closes, pct));
            }
        }
        let (i, closes, pct) = peak?;
        // The window is 60 s wide; point at its first bucket that has closes.
        let first = (i..buckets.len())
            .find(|&b| buckets[b].closes > 0)
            .unwrap_or(i);
        let at = origin.plus_nanos(first as i64 * BUCKET);
        let severity = if pct > self.critical_pct {
            Severity::Critical
        } else {
            Severity::Warning
        };
        let evidence = Evidence {
            peak_pct_per_min: round1(pct),
            at: at.to_rfc3339(),
            closes,
        };
        Some(Finding::new(
            Self::ID,
            severity,
            format!(
                "{closes} unexpected disconnects in one minute from {}: {pct:.1} % of open connections (alarm at {:.0} %/min; users leaving and restarts not counted)",
                at.clock(),
                self.alarm_pct
            ),
            &evidence,
            "Look at what else fired in that minute (close codes, idle timeouts, reconnect loops, server errors): a disconnect spike is a symptom; the other findings name its cause.",
        ))
    }
}
