//! `mobile-background`: mobile apps losing their sockets when the OS suspends them.

use super::{Finding, Rule, Rules, Severity, round2, thresholds};
use crate::model::Model;
use serde::Serialize;

thresholds! {
    /// Mobile connections closing far more than the others, or cut soon after backgrounding.
    pub struct MobileBackground {
        /// At least this many mobile closes.
        min_closes: u64 = 10,
        /// Mobile closes ÷ opens at least this multiple of the others'...
        ratio: f64 = 2.0,
        /// ...compared only with at least this many other opens.
        min_other_opens: u64 = 10,
        /// Or: at least this share of mobile cuts...
        after_background_share: f64 = 0.5,
        /// ...within this many seconds of that connection's `background`.
        after_background_secs: f64 = 120.0,
    }
}

#[derive(Serialize)]
struct Evidence {
    mobile_close_ratio: f64,
    other_close_ratio: f64,
    after_background: u64,
    mobile_cuts: u64,
    mobile_closes: u64,
}

impl Rule for MobileBackground {
    const ID: &'static str = "mobile-background";

    fn check(&self, m: &Model, _: &Rules) -> Option<Finding> {
        let s = m.mobile;
        if s.mobile_closes < self.min_closes {
            return None;
        }
        let ratio = |closes: u64, opens: u64| {
            if opens == 0 {
                0.0
            } else {
                closes as f64 / opens as f64
            }
        };
        let mobile_ratio = ratio(s.mobile_closes_of_opens, s.mobile_opens);
        let other_ratio = ratio(s.other_closes_of_opens, s.other_opens);
        // With too few other connections there is nothing to compare with (DESIGN.md).
        let by_ratio =
            s.other_opens >= self.min_other_opens && mobile_ratio >= self.ratio * other_ratio;
        let by_background = s.mobile_cuts > 0
            && s.cuts_after_background as f64 >= s.mobile_cuts as f64 * self.after_background_share;
        if !(by_ratio || by_background) {
            return None;
        }
        let summary = if by_background {
            format!(
                "{} of {} mobile connections cut came within {:.0} s of the app going to the background",
                s.cuts_after_background, s.mobile_cuts, self.after_background_secs
            )
        } else {
            format!(
                "Mobile connections close {mobile_ratio:.2} per open against {other_ratio:.2} for the others ({} mobile closes)",
                s.mobile_closes
            )
        };
        let evidence = Evidence {
            mobile_close_ratio: round2(mobile_ratio),
            other_close_ratio: round2(other_ratio),
            after_background: s.cuts_after_background,
            mobile_cuts: s.mobile_cuts,
            mobile_closes: s.mobile_closes,
        };
        Some(Finding::new(
            Self::ID,
            Severity::Warning,
            summary,
            &evidence,
            "Mobile OSes suspend backgrounded apps and their sockets: close the socket cleanly on background (1000/1001), reconnect and resync on foreground with backoff, and deliver what matters while away by push notifications; server-side, expire such sessions quickly instead of holding zombies.",
        ))
    }
}
